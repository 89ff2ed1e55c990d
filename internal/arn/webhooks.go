package arn

import "strings"

// EventConnection returns the ARN of an EventBridge connection: connection/NAME/ID, where ID
// tells apart connections that reused a name.
func EventConnection(partition, region, account, name, id string) string {
	return ARN{Partition: partition, Service: "events", Region: region, Account: account, Resource: "connection/" + name + "/" + id}.String()
}

// APIDestination returns the ARN of an EventBridge API destination: api-destination/NAME/ID.
func APIDestination(partition, region, account, name, id string) string {
	return ARN{Partition: partition, Service: "events", Region: region, Account: account, Resource: "api-destination/" + name + "/" + id}.String()
}

// EventConnectionOf reads a connection's ARN; ok is false for anything else.
func EventConnectionOf(s string) (a ARN, name, id string, ok bool) {
	return namedWithID(s, "connection/")
}

// APIDestinationOf reads an API destination's ARN; ok is false for anything else.
func APIDestinationOf(s string) (a ARN, name, id string, ok bool) {
	return namedWithID(s, "api-destination/")
}

func namedWithID(s, prefix string) (ARN, string, string, bool) {
	a, err := Parse(s)
	if err != nil || a.Service != "events" || !ValidAccountID(a.Account) {
		return ARN{}, "", "", false
	}
	rest, found := strings.CutPrefix(a.Resource, prefix)
	name, id, two := strings.Cut(rest, "/")
	if !found || !two || name == "" || id == "" || strings.Contains(id, "/") {
		return ARN{}, "", "", false
	}
	return a, name, id, true
}
