package arn

import "strings"

// CloudWatch Logs names a log group arn:PARTITION:logs:REGION:ACCOUNT:log-group:NAME and one of
// its streams …:log-group:NAME:log-stream:STREAM. Group names never hold a colon, so the two
// parse without ambiguity; DescribeLogGroups answers a group's ARN with a trailing ":*" (every
// stream of it), which LogGroupOf accepts too.

// LogGroup returns the ARN of a log group.
func LogGroup(partition, region, account, group string) string {
	return ARN{Partition: partition, Service: "logs", Region: region, Account: account, Resource: "log-group:" + group}.String()
}

// LogGroupStreams returns the ARN pattern of every stream of a log group (the group's ARN
// followed by ":*"), as CloudWatch Logs reports a group's arn and as policies grant its streams.
func LogGroupStreams(partition, region, account, group string) string {
	return LogGroup(partition, region, account, group) + ":*"
}

// LogStream returns the ARN of a log stream.
func LogStream(partition, region, account, group, stream string) string {
	return LogGroup(partition, region, account, group) + ":log-stream:" + stream
}

// LogGroupOf reads the ARN of a log group (with or without the trailing ":*"); ok is false for
// anything else, including a stream's ARN.
func LogGroupOf(s string) (a ARN, group string, ok bool) {
	a, err := Parse(s)
	if err != nil || a.Service != "logs" || a.Region == "" || !ValidAccountID(a.Account) {
		return ARN{}, "", false
	}
	name, found := strings.CutPrefix(a.Resource, "log-group:")
	if !found {
		return ARN{}, "", false
	}
	name = strings.TrimSuffix(name, ":*")
	if name == "" || strings.ContainsAny(name, ":*") {
		return ARN{}, "", false
	}
	return a, name, true
}
