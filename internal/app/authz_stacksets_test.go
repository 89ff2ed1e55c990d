package app_test

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
)

// stagingOU returns the id of the default organization's staging OU.
func (e *authzEnv) stagingOU() string {
	ous, err := e.admin.org.ListOrganizationalUnitsForParent(context.Background(), &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(e.org["RootId"])})
	e.must(err)
	for _, u := range ous.OrganizationalUnits {
		if *u.Name == "staging" {
			return *u.Id
		}
	}
	e.t.Fatal("no staging OU")
	return ""
}

// stackSet makes a SERVICE_MANAGED stack set (no instances) as the admin.
func (e *authzEnv) stackSet() map[string]string {
	name := e.name("set")
	_, err := cfnOf(e.admin.sm).CreateStackSet(context.Background(), &cloudformation.CreateStackSetInput{StackSetName: aws.String(name),
		TemplateBody: aws.String(logGroupTemplate), PermissionModel: cfntypes.PermissionModelsServiceManaged,
		AutoDeployment: &cfntypes.AutoDeployment{Enabled: aws.Bool(false)}})
	e.must(err)
	return map[string]string{"StackSetName": name, "OU": e.stagingOU()}
}

// stackSetWithInstances makes a stack set with an instance in each staging account.
func (e *authzEnv) stackSetWithInstances() map[string]string {
	v := e.stackSet()
	cf := cfnOf(e.admin.sm)
	op, err := cf.CreateStackInstances(context.Background(), &cloudformation.CreateStackInstancesInput{StackSetName: aws.String(v["StackSetName"]),
		DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: []string{v["OU"]}}, Regions: []string{"us-east-1"}})
	e.must(err)
	if d := waitOperation(e.t, cf, v["StackSetName"], *op.OperationId); d.Status != cfntypes.StackSetOperationStatusSucceeded {
		e.t.Fatalf("setup operation %s: %s", d.Status, aws.ToString(d.StatusReason))
	}
	for a := range instances(e.t, cf, v["StackSetName"]) {
		v["InstanceAccount"] = a
	}
	v["OperationId"] = *op.OperationId
	return v
}

func newStackSetName(e *authzEnv) map[string]string {
	return map[string]string{"StackSetName": e.name("newset")}
}

// withStackSetCases adds the stack-set operations' cases to the stacks'.
func withStackSetCases(m map[string]opCase) map[string]opCase {
	ss := func(v map[string]string) *string { return aws.String(v["StackSetName"]) }
	cf := func(e *authzEnv) *cloudformation.Client { return cfnOf(e.actor.sm) }
	targets := func(v map[string]string) *cfntypes.DeploymentTargets {
		return &cfntypes.DeploymentTargets{OrganizationalUnitIds: []string{v["OU"]}}
	}
	us := []string{"us-east-1"}
	for k, c := range map[string]opCase{
		"CreateStackSet": {newStackSetName, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).CreateStackSet(ctx, &cloudformation.CreateStackSetInput{StackSetName: ss(v), TemplateBody: aws.String(logGroupTemplate),
				PermissionModel: cfntypes.PermissionModelsServiceManaged, AutoDeployment: &cfntypes.AutoDeployment{Enabled: aws.Bool(true)}})
			return err
		}},
		"UpdateStackSet": {(*authzEnv).stackSetWithInstances, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).UpdateStackSet(ctx, &cloudformation.UpdateStackSetInput{StackSetName: ss(v), TemplateBody: aws.String(twoLogGroupsTemplate)})
			return err
		}},
		"DeleteStackSet": {(*authzEnv).stackSet, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).DeleteStackSet(ctx, &cloudformation.DeleteStackSetInput{StackSetName: ss(v)})
			return err
		}},
		"DescribeStackSet": {(*authzEnv).stackSet, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).DescribeStackSet(ctx, &cloudformation.DescribeStackSetInput{StackSetName: ss(v)})
			return err
		}},
		"ListStackSets": {noVars, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).ListStackSets(ctx, &cloudformation.ListStackSetsInput{})
			return err
		}},
		"CreateStackInstances": {(*authzEnv).stackSet, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{StackSetName: ss(v), DeploymentTargets: targets(v), Regions: us})
			return err
		}},
		"UpdateStackInstances": {(*authzEnv).stackSetWithInstances, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).UpdateStackInstances(ctx, &cloudformation.UpdateStackInstancesInput{StackSetName: ss(v), DeploymentTargets: targets(v), Regions: us})
			return err
		}},
		"DeleteStackInstances": {(*authzEnv).stackSetWithInstances, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).DeleteStackInstances(ctx, &cloudformation.DeleteStackInstancesInput{StackSetName: ss(v), DeploymentTargets: targets(v),
				Regions: us, RetainStacks: aws.Bool(true)})
			return err
		}},
		"DescribeStackSetOperation": {(*authzEnv).stackSetWithInstances, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).DescribeStackSetOperation(ctx, &cloudformation.DescribeStackSetOperationInput{StackSetName: ss(v), OperationId: aws.String(v["OperationId"])})
			return err
		}},
		"ListStackSetOperations": {(*authzEnv).stackSet, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).ListStackSetOperations(ctx, &cloudformation.ListStackSetOperationsInput{StackSetName: ss(v)})
			return err
		}},
		"ListStackSetOperationResults": {(*authzEnv).stackSetWithInstances, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).ListStackSetOperationResults(ctx, &cloudformation.ListStackSetOperationResultsInput{StackSetName: ss(v), OperationId: aws.String(v["OperationId"])})
			return err
		}},
		"ListStackInstances": {(*authzEnv).stackSet, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).ListStackInstances(ctx, &cloudformation.ListStackInstancesInput{StackSetName: ss(v)})
			return err
		}},
		"DescribeStackInstance": {(*authzEnv).stackSetWithInstances, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).DescribeStackInstance(ctx, &cloudformation.DescribeStackInstanceInput{StackSetName: ss(v),
				StackInstanceAccount: aws.String(v["InstanceAccount"]), StackInstanceRegion: aws.String("us-east-1")})
			return err
		}},
	} {
		m[k] = c
	}
	return m
}
