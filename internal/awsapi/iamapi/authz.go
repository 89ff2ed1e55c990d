package iamapi

import "github.com/slipway-ml/slipway/internal/awsapi"

// The resources of IAM's operations: a user's or role's real ARN, its path included.
const (
	userARN    = "arn:aws:iam::{Account}:user{Path}{UserName}"
	roleARN    = "arn:aws:iam::{Account}:role{Path}{RoleName}"
	managedARN = "{PolicyArn}"
)

// IAMOperations declares the action and resources each IAM operation is authorized on.
func IAMOperations() []awsapi.Authz {
	op := func(name string, resources ...string) awsapi.Authz {
		return awsapi.Authz{Operation: name, Action: "iam:" + name, Resources: resources}
	}
	return []awsapi.Authz{
		op("CreateUser", userARN),
		op("GetUser", userARN),
		op("ListUsers", "*"),
		op("DeleteUser", userARN),
		op("CreateRole", roleARN),
		op("GetRole", roleARN),
		op("ListRoles", "*"),
		op("DeleteRole", roleARN),
		op("PutRolePolicy", roleARN),
		op("GetRolePolicy", roleARN),
		op("DeleteRolePolicy", roleARN),
		op("ListRolePolicies", roleARN),
		op("PutUserPolicy", userARN),
		op("GetUserPolicy", userARN),
		op("DeleteUserPolicy", userARN),
		op("ListUserPolicies", userARN),
		op("CreateAccessKey", userARN),
		op("ListAccessKeys", userARN),
		op("DeleteAccessKey", userARN),
		op("CreatePolicy", "arn:aws:iam::{Account}:policy{Path}{PolicyName}"),
		op("GetPolicy", managedARN),
		op("DeletePolicy", managedARN),
		op("ListPolicies", "*"),
		op("AttachRolePolicy", roleARN),
		op("DetachRolePolicy", roleARN),
		op("ListAttachedRolePolicies", roleARN),
		op("AttachUserPolicy", userARN),
		op("DetachUserPolicy", userARN),
		op("ListAttachedUserPolicies", userARN),
		// A service-linked role's ARN: its path is /aws-service-role/SERVICE/, and
		// CreateServiceLinkedRole names the service (iam:AWSServiceName), not the role.
		op("CreateServiceLinkedRole", "arn:aws:iam::{Account}:role/aws-service-role/{AWSServiceName}/*"),
		op("DeleteServiceLinkedRole", roleARN),
		op("GetServiceLinkedRoleDeletionStatus", "arn:aws:iam::{Account}:role/aws-service-role/{AWSServiceName}/{RoleName}"),
	}
}

// STSOperations declares the action and resources each STS operation is authorized on.
func STSOperations() []awsapi.Authz {
	return []awsapi.Authz{
		{Operation: "AssumeRole", Action: "sts:AssumeRole", Resources: []string{roleARN}},
		// AWS answers GetCallerIdentity to every authenticated caller, whatever the policies say.
		{Operation: "GetCallerIdentity"},
	}
}
