package eventsapi

import "github.com/slipway-ml/slipway/internal/awsapi"

// The resources of EventBridge's operations, as IAM names them: a rule (on the default bus
// here; …:rule/BUS/NAME on a custom bus), a bus, or the resource a tagging call names.
const (
	ruleARN  = "arn:aws:events:{Region}:{Account}:rule/{Name}"
	rulesARN = "arn:aws:events:{Region}:{Account}:rule/*"
	busARN   = "arn:aws:events:{Region}:{Account}:event-bus/{Name}"
	busesARN = "arn:aws:events:{Region}:{Account}:event-bus/*"
	defBus   = "arn:aws:events:{Region}:{Account}:event-bus/default"
	taggable = "{ResourceARN}"
	connARN  = "arn:aws:events:{Region}:{Account}:connection/{Name}/*"
	connsARN = "arn:aws:events:{Region}:{Account}:connection/*"
	destARN  = "arn:aws:events:{Region}:{Account}:api-destination/{Name}/*"
	destsARN = "arn:aws:events:{Region}:{Account}:api-destination/*"
)

// Operations declares the action and resources each operation is authorized on.
func Operations() []awsapi.Authz {
	op := func(name string, resources ...string) awsapi.Authz {
		return awsapi.Authz{Operation: name, Action: "events:" + name, Resources: resources}
	}
	return []awsapi.Authz{
		op("PutRule", ruleARN),
		op("DescribeRule", ruleARN),
		op("ListRules", rulesARN),
		op("DeleteRule", ruleARN),
		op("EnableRule", ruleARN),
		op("DisableRule", ruleARN),
		op("PutTargets", ruleARN),
		op("RemoveTargets", ruleARN),
		op("ListTargetsByRule", ruleARN),
		op("PutEvents", defBus),
		op("TestEventPattern", "*"),
		op("CreateEventBus", busARN),
		op("DescribeEventBus", busARN),
		op("ListEventBuses", busesARN),
		op("DeleteEventBus", busARN),
		op("PutPermission", busARN),
		op("RemovePermission", busARN),
		op("TagResource", taggable),
		op("UntagResource", taggable),
		op("ListTagsForResource", taggable),
		op("CreateConnection", connARN),
		op("DescribeConnection", connARN),
		op("ListConnections", connsARN),
		op("UpdateConnection", connARN),
		op("DeleteConnection", connARN),
		op("DeauthorizeConnection", connARN),
		op("CreateApiDestination", destARN),
		op("DescribeApiDestination", destARN),
		op("ListApiDestinations", destsARN),
		op("UpdateApiDestination", destARN),
		op("DeleteApiDestination", destARN),
	}
}
