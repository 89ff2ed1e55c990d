package app_test

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// logGroupTemplate is a stack that is quick to make: one log group.
const logGroupTemplate = `{"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup"}}, "Outputs": {"Group": {"Value": {"Ref": "Logs"}}}}`

const twoLogGroupsTemplate = `{"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup"}, "More": {"Type": "AWS::Logs::LogGroup"}}}`

// stack makes a stack (CREATE_COMPLETE) as the admin.
func (e *authzEnv) stack() map[string]string {
	ctx := context.Background()
	name := e.name("stack")
	cf := cfnOf(e.admin.sm)
	_, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(logGroupTemplate)})
	e.must(err)
	if st := waitStack(e.t, cf, name); st.StackStatus != cfntypes.StackStatusCreateComplete {
		e.t.Fatalf("stack %s: %s", name, st.StackStatus)
	}
	return map[string]string{"StackName": name}
}

// stackWithChangeSet makes a stack and an UPDATE change set of it named cs.
func (e *authzEnv) stackWithChangeSet() map[string]string {
	v := e.stack()
	_, err := cfnOf(e.admin.sm).CreateChangeSet(context.Background(), &cloudformation.CreateChangeSetInput{StackName: aws.String(v["StackName"]),
		ChangeSetName: aws.String("cs"), TemplateBody: aws.String(twoLogGroupsTemplate)})
	e.must(err)
	v["ChangeSetName"] = "cs"
	return v
}

func newStackName(e *authzEnv) map[string]string {
	return map[string]string{"StackName": e.name("new")}
}

func noVars(*authzEnv) map[string]string { return map[string]string{} }

func cfnCases() map[string]opCase {
	sn := func(v map[string]string) *string { return aws.String(v["StackName"]) }
	cf := func(e *authzEnv) *cloudformation.Client { return cfnOf(e.actor.sm) }
	return map[string]opCase{
		"CreateStack": {newStackName, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).CreateStack(ctx, &cloudformation.CreateStackInput{StackName: sn(v), TemplateBody: aws.String(logGroupTemplate)})
			return err
		}},
		"UpdateStack": {(*authzEnv).stack, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: sn(v), TemplateBody: aws.String(twoLogGroupsTemplate)})
			return err
		}},
		"DeleteStack": {(*authzEnv).stack, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: sn(v)})
			return err
		}},
		"DescribeStacks": {(*authzEnv).stack, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: sn(v)})
			return err
		}},
		"DescribeStackEvents": {(*authzEnv).stack, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: sn(v)})
			return err
		}},
		"DescribeStackResources": {(*authzEnv).stack, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: sn(v)})
			return err
		}},
		"DescribeStackResource": {(*authzEnv).stack, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).DescribeStackResource(ctx, &cloudformation.DescribeStackResourceInput{StackName: sn(v), LogicalResourceId: aws.String("Logs")})
			return err
		}},
		"ListStackResources": {(*authzEnv).stack, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).ListStackResources(ctx, &cloudformation.ListStackResourcesInput{StackName: sn(v)})
			return err
		}},
		"GetTemplate": {(*authzEnv).stack, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: sn(v)})
			return err
		}},
		"GetTemplateSummary": {(*authzEnv).stack, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).GetTemplateSummary(ctx, &cloudformation.GetTemplateSummaryInput{StackName: sn(v)})
			return err
		}},
		"ListStacks": {noVars, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).ListStacks(ctx, &cloudformation.ListStacksInput{})
			return err
		}},
		"ValidateTemplate": {noVars, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).ValidateTemplate(ctx, &cloudformation.ValidateTemplateInput{TemplateBody: aws.String(logGroupTemplate)})
			return err
		}},
		"ListExports": {noVars, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).ListExports(ctx, &cloudformation.ListExportsInput{})
			return err
		}},
		"CreateChangeSet": {newStackName, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: sn(v), ChangeSetName: aws.String("cs"),
				ChangeSetType: cfntypes.ChangeSetTypeCreate, TemplateBody: aws.String(logGroupTemplate)})
			return err
		}},
		"DescribeChangeSet": {(*authzEnv).stackWithChangeSet, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{StackName: sn(v), ChangeSetName: aws.String(v["ChangeSetName"])})
			return err
		}},
		"ExecuteChangeSet": {(*authzEnv).stackWithChangeSet, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{StackName: sn(v), ChangeSetName: aws.String(v["ChangeSetName"])})
			return err
		}},
		"DeleteChangeSet": {(*authzEnv).stackWithChangeSet, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{StackName: sn(v), ChangeSetName: aws.String(v["ChangeSetName"])})
			return err
		}},
		"ListChangeSets": {(*authzEnv).stack, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cf(e).ListChangeSets(ctx, &cloudformation.ListChangeSetsInput{StackName: sn(v)})
			return err
		}},
	}
}
