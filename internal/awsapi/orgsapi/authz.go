package orgsapi

import "github.com/slipway-ml/slipway/internal/awsapi"

// The resources of Organizations' operations, as AWS names them.
const (
	orgARN     = "arn:aws:organizations::{Management}:organization/{OrgId}"
	parentARN  = "{ParentArn}" // a root or an OU
	ouARN      = "arn:aws:organizations::{Management}:ou/{OrgId}/{OrganizationalUnitId}"
	accountARN = "arn:aws:organizations::{Management}:account/{OrgId}/{AccountId}"
	policyARN  = "arn:aws:organizations::{Management}:policy/{OrgId}/service_control_policy/{PolicyId}"
	targetARN  = "{TargetArn}"
	childARN   = "{ChildArn}"
)

// Operations declares the action and resources each Organizations operation is authorized on.
func Operations() []awsapi.Authz {
	op := func(name string, resources ...string) awsapi.Authz {
		return awsapi.Authz{Operation: name, Action: "organizations:" + name, Resources: resources}
	}
	return []awsapi.Authz{
		op("DescribeOrganization", orgARN),
		op("ListRoots", "*"),
		op("CreateOrganizationalUnit", parentARN),
		op("DescribeOrganizationalUnit", ouARN),
		op("ListOrganizationalUnitsForParent", parentARN),
		op("CreateAccount", "*"),
		op("DescribeCreateAccountStatus", "*"),
		op("ListAccounts", "*"),
		op("ListAccountsForParent", parentARN),
		op("DescribeAccount", accountARN),
		op("MoveAccount", accountARN, "{SourceParentArn}", "{DestinationParentArn}"),
		op("CreatePolicy", "*"),
		op("DescribePolicy", policyARN),
		op("ListPolicies", "*"),
		op("AttachPolicy", policyARN, targetARN),
		op("DetachPolicy", policyARN, targetARN),
		op("ListTargetsForPolicy", policyARN),
		op("ListParents", childARN),
	}
}
