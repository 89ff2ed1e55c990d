package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// pipelineStackTemplate is an AWS::CodePipeline::Pipeline of three stages (an S3 source, two
// manual approvals) with the given DisableInboundStageTransitions.
func pipelineStackTemplate(t *testing.T, d *deploySetup, disabled ...map[string]string) string {
	t.Helper()
	manual := func(name string) map[string]any {
		return map[string]any{"Name": name, "Actions": []any{map[string]any{"Name": "Approve",
			"ActionTypeId": map[string]any{"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"}}}}
	}
	props := map[string]any{"Name": "frozen", "RoleArn": d.pipelineRole,
		"ArtifactStore": map[string]any{"Type": "S3", "Location": d.artifacts},
		"Stages": []any{
			map[string]any{"Name": "Source", "Actions": []any{map[string]any{"Name": "Template",
				"ActionTypeId":    map[string]any{"Category": "Source", "Owner": "AWS", "Provider": "S3", "Version": "1"},
				"Configuration":   map[string]any{"S3Bucket": d.source, "S3ObjectKey": d.srcKey, "PollForSourceChanges": "false"},
				"OutputArtifacts": []any{map[string]any{"Name": "SourceOutput"}}}}},
			manual("Review"), manual("Release"),
		}}
	if disabled != nil {
		props["DisableInboundStageTransitions"] = disabled
	}
	b, err := json.Marshal(map[string]any{"Resources": map[string]any{"Pipeline": map[string]any{"Type": "AWS::CodePipeline::Pipeline", "Properties": props}}})
	mustDo(t, err)
	return string(b)
}

// TestPipelineStackDisablesInboundTransitions: a stack's pipeline has the inbound transitions
// its DisableInboundStageTransitions lists disabled with their reasons, on creation and on
// each update (a stage no longer listed is enabled again); an entry naming the first stage or
// no stage fails the update and changes nothing; a caller denied
// codepipeline:DisableStageTransition cannot create the stack and leaves no pipeline behind.
func TestPipelineStackDisablesInboundTransitions(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	d := newDeploySetup(t, s)
	cf, cp := cfnOf(d.ds.sm), cpOf(d.ds.sm)
	state := func() string {
		t.Helper()
		var out []string
		for _, st := range []string{"Review", "Release"} {
			in := stagesInbound(t, cp, "frozen", st)
			if in.Enabled {
				out = append(out, st+" enabled")
			} else {
				out = append(out, st+" disabled: "+aws.ToString(in.DisabledReason))
			}
		}
		return strings.Join(out, "; ")
	}
	deploy := func(update bool, body string) cfntypes.Stack {
		t.Helper()
		var err error
		if update {
			_, err = cf.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("frozen"), TemplateBody: aws.String(body)})
		} else {
			_, err = cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("frozen"), TemplateBody: aws.String(body)})
		}
		mustDo(t, err)
		return waitStack(t, cf, "frozen")
	}

	st := deploy(false, pipelineStackTemplate(t, d, map[string]string{"StageName": "Release", "Reason": "Release freeze until Monday"}))
	if st.StackStatus != cfntypes.StackStatusCreateComplete {
		t.Fatalf("create: %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	if got, want := state(), "Review enabled; Release disabled: Release freeze until Monday"; got != want {
		t.Errorf("after create: %s; want %s", got, want)
	}

	st = deploy(true, pipelineStackTemplate(t, d, map[string]string{"StageName": "Review", "Reason": "Reviewers away"}))
	if st.StackStatus != cfntypes.StackStatusUpdateComplete {
		t.Fatalf("update: %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	want := "Review disabled: Reviewers away; Release enabled"
	if got := state(); got != want {
		t.Errorf("after update: %s; want %s", got, want)
	}

	for _, bad := range []map[string]string{
		{"StageName": "Source", "Reason": "first"},
		{"StageName": "Nope", "Reason": "absent"},
		{"StageName": "Release", "Reason": "bad#reason"},
		{"StageName": "Release"},
	} {
		st = deploy(true, pipelineStackTemplate(t, d, bad))
		if why := pipelineStackFailure(t, cf, "frozen"); st.StackStatus != cfntypes.StackStatusUpdateRollbackComplete || !strings.Contains(why, "DisableInboundStageTransitions") {
			t.Errorf("update with %v: %s (%s); want UPDATE_ROLLBACK_COMPLETE naming DisableInboundStageTransitions", bad, st.StackStatus, why)
		}
		if got := state(); got != want {
			t.Errorf("after the update with %v: %s; want %s", bad, got, want)
		}
	}

	st = deploy(true, pipelineStackTemplate(t, d))
	if st.StackStatus != cfntypes.StackStatusUpdateComplete {
		t.Fatalf("update without the property: %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	if got, want := state(), "Review enabled; Release enabled"; got != want {
		t.Errorf("after the update without the property: %s; want %s", got, want)
	}
	_, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("frozen")})
	mustDo(t, err)

	// A Deny on DisableStageTransition wins: the stack fails and leaves no pipeline.
	_, err = d.ds.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("no-freeze")})
	mustDo(t, err)
	_, err = d.ds.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("no-freeze"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudformation:*","codepipeline:*","iam:PassRole"],"Resource":"*"},` +
			`{"Effect":"Deny","Action":"codepipeline:DisableStageTransition","Resource":"*"}]}`)})
	mustDo(t, err)
	k, err := d.ds.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("no-freeze")})
	mustDo(t, err)
	denied := cloudformation.NewFromConfig(s.cfgFor(credentials.NewStaticCredentialsProvider(*k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")))
	_, err = denied.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("frozen-denied"),
		TemplateBody: aws.String(pipelineStackTemplate(t, d, map[string]string{"StageName": "Release", "Reason": "freeze"}))})
	mustDo(t, err)
	st = waitStack(t, denied, "frozen-denied")
	if why := pipelineStackFailure(t, denied, "frozen-denied"); st.StackStatus != cfntypes.StackStatusRollbackComplete || !strings.Contains(why, "codepipeline:DisableStageTransition") {
		t.Errorf("create under a Deny of DisableStageTransition: %s (%s)", st.StackStatus, why)
	}
	if _, err := cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String("frozen")}); code(err) != "PipelineNotFoundException" {
		t.Errorf("the denied stack's pipeline: %v; want PipelineNotFoundException", err)
	}
}

// pipelineStackFailure is the reason of the newest failure of the stack's Pipeline resource.
func pipelineStackFailure(t *testing.T, cf *cloudformation.Client, stack string) string {
	t.Helper()
	evs, err := cf.DescribeStackEvents(context.Background(), &cloudformation.DescribeStackEventsInput{StackName: aws.String(stack)})
	mustDo(t, err)
	for _, e := range evs.StackEvents { // newest first
		if aws.ToString(e.LogicalResourceId) == "Pipeline" && strings.HasSuffix(string(e.ResourceStatus), "_FAILED") {
			return aws.ToString(e.ResourceStatusReason)
		}
	}
	return "no failure of Pipeline"
}
