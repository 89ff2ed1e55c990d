package cfnapi

import "github.com/slipway-ml/slipway/internal/awsapi"

// stackARN is the resource of the operations on one stack: a stack's ARN ends with its unique
// id, so policies name stacks as stack/NAME/*.
const stackARN = "arn:aws:cloudformation:{Region}:{Account}:stack/{StackName}/*"

// Operations declares the action and resources each operation is authorized on.
func Operations() []awsapi.Authz {
	op := func(name string, resources ...string) awsapi.Authz {
		return awsapi.Authz{Operation: name, Action: "cloudformation:" + name, Resources: resources}
	}
	return append([]awsapi.Authz{
		op("CreateStack", stackARN),
		op("UpdateStack", stackARN),
		op("DeleteStack", stackARN),
		op("DescribeStacks", stackARN),
		op("DescribeStackEvents", stackARN),
		op("DescribeStackResources", stackARN),
		op("DescribeStackResource", stackARN),
		op("ListStackResources", stackARN),
		op("GetTemplate", stackARN),
		op("GetTemplateSummary", stackARN),
		op("ListStacks", "*"),
		op("ValidateTemplate", "*"),
		op("ListExports", "*"),
		op("CreateChangeSet", stackARN),
		op("DescribeChangeSet", stackARN),
		op("ExecuteChangeSet", stackARN),
		op("DeleteChangeSet", stackARN),
		op("ListChangeSets", stackARN),
	}, setOperations()...)
}
