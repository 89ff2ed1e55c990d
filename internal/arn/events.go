package arn

import "strings"

// EventBridge names an event bus arn:PARTITION:events:REGION:ACCOUNT:event-bus/NAME and a rule
// …:rule/NAME on the default bus or …:rule/BUS/NAME on a custom bus.

// EventBus returns the ARN of an event bus.
func EventBus(partition, region, account, bus string) string {
	return ARN{Partition: partition, Service: "events", Region: region, Account: account, Resource: "event-bus/" + bus}.String()
}

// EventRule returns the ARN of a rule on a bus.
func EventRule(partition, region, account, bus, rule string) string {
	res := "rule/" + rule
	if bus != "default" {
		res = "rule/" + bus + "/" + rule
	}
	return ARN{Partition: partition, Service: "events", Region: region, Account: account, Resource: res}.String()
}

// EventBusOf reads an event bus's ARN; ok is false for anything else.
func EventBusOf(s string) (a ARN, bus string, ok bool) {
	a, err := Parse(s)
	if err != nil || a.Service != "events" || !ValidAccountID(a.Account) {
		return ARN{}, "", false
	}
	name, found := strings.CutPrefix(a.Resource, "event-bus/")
	if !found || name == "" || strings.Contains(name, "/") {
		return ARN{}, "", false
	}
	return a, name, true
}

// EventRuleOf reads a rule's ARN: its bus ("default" when the ARN names none) and name.
func EventRuleOf(s string) (a ARN, bus, rule string, ok bool) {
	a, err := Parse(s)
	if err != nil || a.Service != "events" || !ValidAccountID(a.Account) {
		return ARN{}, "", "", false
	}
	rest, found := strings.CutPrefix(a.Resource, "rule/")
	if !found || rest == "" {
		return ARN{}, "", "", false
	}
	bus, rule, two := strings.Cut(rest, "/")
	if !two {
		return a, "default", rest, true
	}
	if bus == "" || rule == "" || strings.Contains(rule, "/") {
		return ARN{}, "", "", false
	}
	return a, bus, rule, true
}
