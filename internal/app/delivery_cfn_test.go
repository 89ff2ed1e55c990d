package app_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const outputsTemplate = `{"Parameters": {"Group": {"Type": "String"}}, "Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": {"Ref": "Group"}}}},
 "Outputs": {"GroupName": {"Value": {"Ref": "Logs"}}}}`

const copyTemplate = `{"Parameters": {"Prefix": {"Type": "String"}}, "Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": {"Fn::Join": ["", [{"Ref": "Prefix"}, "-copy"]]}}}}}`

// TestDeployPipelineCloudFormationModes: TemplateConfiguration and ParameterOverrides with
// Fn::GetParam feed a stack whose outputs (OutputFileName) feed the next action's
// Fn::GetParam; CHANGE_SET_REPLACE then CHANGE_SET_EXECUTE; REPLACE_ON_FAILURE replaces a
// stack left ROLLBACK_COMPLETE, which CREATE_UPDATE refuses; bad declarations are refused.
func TestDeployPipelineCloudFormationModes(t *testing.T) {
	s := start(t, "")
	d := newDeploySetup(t, s)
	ctx := context.Background()
	cp := cpOf(d.ds.sm)
	cf := cfnOf(d.ds.sm)
	_, err := d.ds.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d.source), Key: aws.String(d.srcKey), Body: bytes.NewReader(zipFiles(t, map[string]string{
		"template.json": outputsTemplate, "copy.json": copyTemplate, "config.json": `{"Parameters": {"Group": "/from/config"}, "Tags": {"team": "ml"}}`,
		"params.json": `{"group": "/from/getparam"}`}))})
	mustDo(t, err)
	// A stack left ROLLBACK_COMPLETE: its log group exists already.
	logs := cloudwatchlogs.NewFromConfig(s.cfgFor(d.ds.sm.Options().Credentials))
	_, err = logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/taken")})
	mustDo(t, err)
	_, err = cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("broken"), TemplateBody: aws.String(outputsTemplate),
		Parameters: []cfntypes.Parameter{{ParameterKey: aws.String("Group"), ParameterValue: aws.String("/taken")}}})
	mustDo(t, err)
	waitFor(t, "the broken stack to roll back", func() bool { return stackStatus(t, d.ds, "broken") == cfntypes.StackStatusRollbackComplete })

	cfn := func(name string, order int32, cfg map[string]string, in ...string) cptypes.ActionDeclaration {
		a := actionOf(name, "Deploy", "CloudFormation", cfg, in...)
		a.RunOrder = aws.Int32(order)
		return a
	}
	make1 := cfn("Make", 1, map[string]string{"ActionMode": "CREATE_UPDATE", "StackName": "first", "TemplatePath": "SourceOutput::template.json",
		"TemplateConfiguration": "SourceOutput::config.json", "ParameterOverrides": `{"Group": {"Fn::GetParam": ["SourceOutput", "params.json", "group"]}}`,
		"OutputFileName": "outputs.json"}, "SourceOutput")
	make1.OutputArtifacts = []cptypes.OutputArtifact{{Name: aws.String("FirstOut")}}
	copy1 := cfn("Copy", 2, map[string]string{"ActionMode": "CREATE_UPDATE", "StackName": "second", "TemplatePath": "SourceOutput::copy.json",
		"ParameterOverrides": `{"Prefix": {"Fn::GetParam": ["FirstOut", "outputs.json", "GroupName"]}}`}, "SourceOutput", "FirstOut")
	plan := cfn("Plan", 1, map[string]string{"ActionMode": "CHANGE_SET_REPLACE", "StackName": "third", "ChangeSetName": "cs1",
		"TemplatePath": "SourceOutput::template.json", "ParameterOverrides": `{"Group": "/third"}`}, "SourceOutput")
	apply := cfn("Apply", 2, map[string]string{"ActionMode": "CHANGE_SET_EXECUTE", "StackName": "third", "ChangeSetName": "cs1"})
	replace := cfn("Replace", 1, map[string]string{"ActionMode": "REPLACE_ON_FAILURE", "StackName": "broken", "TemplatePath": "SourceOutput::template.json",
		"ParameterOverrides": `{"Group": "/replaced"}`}, "SourceOutput")

	bad := map[string]cptypes.ActionDeclaration{
		"execute without a change set": cfn("X", 1, map[string]string{"ActionMode": "CHANGE_SET_EXECUTE", "StackName": "x"}),
		"unknown mode":                 cfn("X", 1, map[string]string{"ActionMode": "CREATE", "StackName": "x", "TemplatePath": "SourceOutput::t.json"}, "SourceOutput"),
		"output file without artifact": cfn("X", 1, map[string]string{"ActionMode": "CREATE_UPDATE", "StackName": "x", "TemplatePath": "SourceOutput::t.json", "OutputFileName": "o.json"}, "SourceOutput"),
		"GetParam of another artifact": cfn("X", 1, map[string]string{"ActionMode": "CREATE_UPDATE", "StackName": "x", "TemplatePath": "SourceOutput::t.json",
			"ParameterOverrides": `{"A": {"Fn::GetParam": ["Other", "f.json", "k"]}}`}, "SourceOutput"),
		"no template": cfn("X", 1, map[string]string{"ActionMode": "REPLACE_ON_FAILURE", "StackName": "x"}),
	}
	for name, a := range bad {
		_, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: d.stackSetPipeline("bad", a)})
		if code(err) != "InvalidActionDeclarationException" {
			t.Errorf("%s: CreatePipeline = %v, want InvalidActionDeclarationException", name, err)
		}
	}

	p := d.stackSetPipeline("modes")
	p.Stages = append(p.Stages,
		cptypes.StageDeclaration{Name: aws.String("Stacks"), Actions: []cptypes.ActionDeclaration{make1, copy1}},
		cptypes.StageDeclaration{Name: aws.String("ChangeSets"), Actions: []cptypes.ActionDeclaration{plan, apply}},
		cptypes.StageDeclaration{Name: aws.String("Replace"), Actions: []cptypes.ActionDeclaration{replace}})
	_, err = cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: p})
	mustDo(t, err)
	execs, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("modes")})
	mustDo(t, err)
	if x := waitDeployExecution(t, cp, "modes", *execs.PipelineExecutionSummaries[0].PipelineExecutionId); x.Status != cptypes.PipelineExecutionStatusSucceeded {
		t.Fatalf("execution: %s (%s)", x.Status, aws.ToString(x.StatusSummary))
	}
	groups := strings.Join(logGroups(t, s, d.ds), " ")
	for _, g := range []string{"/from/getparam", "/from/getparam-copy", "/third", "/replaced"} {
		if !strings.Contains(" "+groups+" ", " "+g+" ") {
			t.Errorf("log groups %s, want %s", groups, g)
		}
	}
	if strings.Contains(groups, "/from/config") {
		t.Errorf("ParameterOverrides did not override TemplateConfiguration: %s", groups)
	}
	out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("first")})
	mustDo(t, err)
	if len(out.Stacks[0].Tags) != 1 || aws.ToString(out.Stacks[0].Tags[0].Key) != "team" {
		t.Errorf("TemplateConfiguration's tags: %+v", out.Stacks[0].Tags)
	}
	if st := stackStatus(t, d.ds, "broken"); st != cfntypes.StackStatusCreateComplete {
		t.Errorf("replaced stack: %s", st)
	}

	// CREATE_UPDATE refuses a stack left ROLLBACK_COMPLETE and names REPLACE_ON_FAILURE.
	_, err = cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("broken2"), TemplateBody: aws.String(outputsTemplate),
		Parameters: []cfntypes.Parameter{{ParameterKey: aws.String("Group"), ParameterValue: aws.String("/taken")}}})
	mustDo(t, err)
	waitFor(t, "broken2 to roll back", func() bool { return stackStatus(t, d.ds, "broken2") == cfntypes.StackStatusRollbackComplete })
	_, err = cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: d.stackSetPipeline("refuse", cfn("Update", 1,
		map[string]string{"ActionMode": "CREATE_UPDATE", "StackName": "broken2", "TemplatePath": "SourceOutput::template.json"}, "SourceOutput"))})
	mustDo(t, err)
	execs, err = cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("refuse")})
	mustDo(t, err)
	if x := waitDeployExecution(t, cp, "refuse", *execs.PipelineExecutionSummaries[0].PipelineExecutionId); x.Status != cptypes.PipelineExecutionStatusFailed ||
		!strings.Contains(aws.ToString(x.StatusSummary), "REPLACE_ON_FAILURE") {
		t.Errorf("CREATE_UPDATE of a ROLLBACK_COMPLETE stack: %s (%s)", x.Status, aws.ToString(x.StatusSummary))
	}
}
