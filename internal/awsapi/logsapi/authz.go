package logsapi

import "github.com/slipway-ml/slipway/internal/awsapi"

// The resources of CloudWatch Logs' operations. A group's operations are decided on the group
// and on the pattern of its streams (…:log-group:NAME:*), as policies name either; a Deny on
// either denies.
const (
	groupARN   = "arn:aws:logs:{Region}:{Account}:log-group:{logGroupName}"
	streamsARN = "arn:aws:logs:{Region}:{Account}:log-group:{logGroupName}:*"
	streamARN  = "arn:aws:logs:{Region}:{Account}:log-group:{logGroupName}:log-stream:{logStreamName}"
	groupsARN  = "arn:aws:logs:{Region}:{Account}:log-group:*"
)

// Operations declares the action and resources each operation is authorized on.
func Operations() []awsapi.Authz {
	op := func(name string, resources ...string) awsapi.Authz {
		return awsapi.Authz{Operation: name, Action: "logs:" + name, Resources: resources}
	}
	return []awsapi.Authz{
		op("CreateLogGroup", groupARN, streamsARN),
		op("DeleteLogGroup", groupARN, streamsARN),
		op("DescribeLogGroups", groupsARN),
		op("CreateLogStream", streamARN),
		op("DescribeLogStreams", groupARN, streamsARN),
		op("PutLogEvents", streamARN),
		op("GetLogEvents", streamARN),
		op("FilterLogEvents", groupARN, streamsARN),
	}
}
