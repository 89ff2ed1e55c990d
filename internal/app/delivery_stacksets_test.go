package app_test

import (
	"archive/zip"
	"bytes"
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// zipFiles is a zip archive of files (name → body).
func zipFiles(t testing.TB, files map[string]string) []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, err := z.Create(n)
		mustDo(t, err)
		w.Write([]byte(files[n]))
	}
	mustDo(t, z.Close())
	return b.Bytes()
}

// namedLogGroupTemplate makes one log group named by its Group parameter.
const namedLogGroupTemplate = `{"Parameters": {"Group": {"Type": "String"}}, "Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": {"Ref": "Group"}}}}}`

func actionOf(name, category, provider string, cfg map[string]string, in ...string) cptypes.ActionDeclaration {
	a := cptypes.ActionDeclaration{Name: aws.String(name), Configuration: cfg,
		ActionTypeId: &cptypes.ActionTypeId{Category: cptypes.ActionCategory(category), Owner: cptypes.ActionOwnerAws, Provider: aws.String(provider), Version: aws.String("1")}}
	for _, i := range in {
		a.InputArtifacts = append(a.InputArtifacts, cptypes.InputArtifact{Name: aws.String(i)})
	}
	return a
}

// stackSetPipeline is Source (the zipped source) → stages, one action each.
func (d *deploySetup) stackSetPipeline(name string, actions ...cptypes.ActionDeclaration) *cptypes.PipelineDeclaration {
	p := &cptypes.PipelineDeclaration{Name: aws.String(name), RoleArn: aws.String(d.pipelineRole),
		ArtifactStore: &cptypes.ArtifactStore{Type: cptypes.ArtifactStoreTypeS3, Location: aws.String(d.artifacts)},
		Stages: []cptypes.StageDeclaration{{Name: aws.String("Source"), Actions: []cptypes.ActionDeclaration{{Name: aws.String("Source"),
			ActionTypeId:    &cptypes.ActionTypeId{Category: cptypes.ActionCategorySource, Owner: cptypes.ActionOwnerAws, Provider: aws.String("S3"), Version: aws.String("1")},
			Configuration:   map[string]string{"S3Bucket": d.source, "S3ObjectKey": d.srcKey},
			OutputArtifacts: []cptypes.OutputArtifact{{Name: aws.String("SourceOutput")}}}}}}}
	for _, a := range actions {
		p.Stages = append(p.Stages, cptypes.StageDeclaration{Name: a.Name, Actions: []cptypes.ActionDeclaration{a}})
	}
	return p
}

// logGroups lists the log group names of an account.
func logGroups(t *testing.T, s *server, c clients) []string {
	out, err := cloudwatchlogs.NewFromConfig(s.cfgFor(c.sm.Options().Credentials)).DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{})
	mustDo(t, err)
	var names []string
	for _, g := range out.LogGroups {
		names = append(names, *g.LogGroupName)
	}
	return names
}

// TestDeployPipelineStackSets: a SERVICE_MANAGED stack set deployed by a
// CloudFormationStackSet action into both accounts of the staging OU (targets read from a file
// of the source artifact), then a CloudFormationStackInstances action adding the production OU
// with a parameter override; a second execution updates the set; a stack that fails in one
// account fails the action with that account's reason; an explicit Deny on the pipeline's
// role wins; bad configurations are refused at CreatePipeline and store nothing.
func TestDeployPipelineStackSets(t *testing.T) {
	s := start(t, "")
	d := newDeploySetup(t, s)
	ctx := context.Background()
	admin := d.ds
	root, stagingOU := orgUnit(t, admin, "staging")
	_, prodOU := orgUnit(t, admin, "production")
	second := memberAccount(t, admin, "staging-b", root, stagingOU)
	_, err := admin.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d.source), Key: aws.String(d.srcKey), Body: bytes.NewReader(zipFiles(t, map[string]string{
		"template.json": namedLogGroupTemplate, "targets.json": `["` + stagingOU + `"]`,
		"prod-params.json": `[{"ParameterKey": "Group", "ParameterValue": "/deploy/prod"}]`}))})
	mustDo(t, err)
	cp := cpOf(admin.sm)

	set := actionOf("DeployStaging", "Deploy", "CloudFormationStackSet", map[string]string{"StackSetName": "model-set",
		"TemplatePath": "SourceOutput::template.json", "Parameters": "ParameterKey=Group,ParameterValue=/deploy/staging",
		"PermissionModel": "SERVICE_MANAGED", "OrganizationsAutoDeployment": "Disabled", "DeploymentTargets": "SourceOutput::targets.json",
		"Regions": "us-east-1", "FailureToleranceCount": "0", "MaxConcurrentPercentage": "100", "Description": "the model's endpoint"}, "SourceOutput")
	prod := actionOf("DeployProd", "Deploy", "CloudFormationStackInstances", map[string]string{"StackSetName": "model-set",
		"DeploymentTargets": prodOU, "Regions": "us-east-1", "ParameterOverrides": "SourceOutput::prod-params.json"}, "SourceOutput")

	// Bad configurations: refused with a clear error, nothing stored.
	bad := map[string]func(a *cptypes.ActionDeclaration){
		"unknown key":              func(a *cptypes.ActionDeclaration) { a.Configuration["StackName"] = "x" },
		"bad set name":             func(a *cptypes.ActionDeclaration) { a.Configuration["StackSetName"] = "1-bad_name" },
		"template not an input":    func(a *cptypes.ActionDeclaration) { a.Configuration["TemplatePath"] = "Other::template.json" },
		"account for OUs":          func(a *cptypes.ActionDeclaration) { a.Configuration["DeploymentTargets"] = "123456789012" },
		"bad model":                func(a *cptypes.ActionDeclaration) { a.Configuration["PermissionModel"] = "MINE" },
		"count and percentage":     func(a *cptypes.ActionDeclaration) { a.Configuration["FailureTolerancePercentage"] = "10" },
		"bad number":               func(a *cptypes.ActionDeclaration) { a.Configuration["MaxConcurrentPercentage"] = "101" },
		"bad capability":           func(a *cptypes.ActionDeclaration) { a.Configuration["Capabilities"] = "CAPABILITY_ALL" },
		"bad parameters":           func(a *cptypes.ActionDeclaration) { a.Configuration["Parameters"] = "Group=/x" },
		"admin role with services": func(a *cptypes.ActionDeclaration) { a.Configuration["AdministrationRoleArn"] = d.pipelineRole },
		"no template":              func(a *cptypes.ActionDeclaration) { delete(a.Configuration, "TemplatePath") },
	}
	for name, spoil := range bad {
		a := set
		a.Configuration = map[string]string{}
		for k, v := range set.Configuration {
			a.Configuration[k] = v
		}
		spoil(&a)
		_, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: d.stackSetPipeline("bad", a)})
		if code(err) != "InvalidActionDeclarationException" {
			t.Errorf("%s: CreatePipeline = %v, want InvalidActionDeclarationException", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if _, err := cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String("bad")}); code(err) != "PipelineNotFoundException" {
		t.Fatalf("a refused pipeline was stored: %v", err)
	}

	_, err = cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: d.stackSetPipeline("sets", set, prod)})
	mustDo(t, err)
	execs, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("sets")})
	mustDo(t, err)
	if x := waitDeployExecution(t, cp, "sets", *execs.PipelineExecutionSummaries[0].PipelineExecutionId); x.Status != cptypes.PipelineExecutionStatusSucceeded {
		t.Fatalf("first execution: %s (%s)", x.Status, aws.ToString(x.StatusSummary))
	}
	want := map[string]string{s.account["staging"]: "/deploy/staging", second: "/deploy/staging", s.account["production"]: "/deploy/prod"}
	check := func(when string) {
		got := instances(t, cfnOf(admin.sm), "model-set")
		if len(got) != 3 {
			t.Errorf("%s: %d instances, want 3", when, len(got))
		}
		for acct, group := range want {
			if got[acct].Status != "CURRENT" {
				t.Errorf("%s: instance in %s is %s", when, acct, got[acct].Status)
			}
			if g := logGroups(t, s, s.inAccount(t, admin, acct)); !slicesContain(g, group) {
				t.Errorf("%s: account %s has log groups %v, want %s", when, acct, g, group)
			}
		}
		if g := logGroups(t, s, admin); slicesContain(g, "/deploy/staging") {
			t.Errorf("%s: the management account got a stack: %v", when, g)
		}
	}
	check("first execution")

	// Again: the set exists, so it is updated (one more operation), and instances stay current.
	run := func() cptypes.PipelineExecution {
		out, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String("sets")})
		mustDo(t, err)
		return waitDeployExecution(t, cp, "sets", *out.PipelineExecutionId)
	}
	if x := run(); x.Status != cptypes.PipelineExecutionStatusSucceeded {
		t.Fatalf("second execution: %s (%s)", x.Status, aws.ToString(x.StatusSummary))
	}
	check("second execution")

	// An explicit Deny on the pipeline's role wins over its Allow.
	_, err = admin.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("pipeline-role"), PolicyName: aws.String("deny"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"cloudformation:UpdateStackSet","Resource":"*"}]}`)})
	mustDo(t, err)
	if x := run(); x.Status != cptypes.PipelineExecutionStatusFailed || !strings.Contains(aws.ToString(x.StatusSummary), "UpdateStackSet") {
		t.Errorf("under a Deny: %s (%s), want Failed naming cloudformation:UpdateStackSet", x.Status, aws.ToString(x.StatusSummary))
	}
	_, err = admin.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("pipeline-role"), PolicyName: aws.String("deny")})
	mustDo(t, err)

	// A stack that fails in one account: the action fails with that account's reason.
	_, err = cloudwatchlogs.NewFromConfig(s.cfgFor(s.inAccount(t, admin, second).sm.Options().Credentials)).CreateLogGroup(ctx,
		&cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/deploy/taken")})
	mustDo(t, err)
	taken := set
	taken.Configuration = map[string]string{"StackSetName": "taken-set", "TemplatePath": "SourceOutput::template.json",
		"Parameters": "ParameterKey=Group,ParameterValue=/deploy/taken", "PermissionModel": "SERVICE_MANAGED", "DeploymentTargets": stagingOU}
	_, err = cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: d.stackSetPipeline("taken", taken)})
	mustDo(t, err)
	execs, err = cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("taken")})
	mustDo(t, err)
	x := waitDeployExecution(t, cp, "taken", *execs.PipelineExecutionSummaries[0].PipelineExecutionId)
	if x.Status != cptypes.PipelineExecutionStatusFailed || !strings.Contains(aws.ToString(x.StatusSummary), "account "+second) {
		t.Errorf("a failing account: %s (%s), want Failed naming account %s", x.Status, aws.ToString(x.StatusSummary), second)
	}
	t.Logf("failure summary: %s", aws.ToString(x.StatusSummary))

	// Another account's pipeline cannot reach the set: it does not exist there.
	stg := cpOf(d.staging.sm)
	r, err := d.staging.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("pipeline-role"), AssumeRolePolicyDocument: aws.String(codepipelineTrust)})
	mustDo(t, err)
	_, err = d.staging.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("pipeline-role"), PolicyName: aws.String("all"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)})
	mustDo(t, err)
	for _, b := range []string{"staging-artifacts", "staging-source"} {
		_, err = d.staging.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
		mustDo(t, err)
	}
	_, err = d.staging.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("staging-source"), Key: aws.String("src.zip"), Body: bytes.NewReader(zipOf(t, "template.json", logGroupTemplate))})
	mustDo(t, err)
	other := &cptypes.PipelineDeclaration{Name: aws.String("reach"), RoleArn: r.Role.Arn,
		ArtifactStore: &cptypes.ArtifactStore{Type: cptypes.ArtifactStoreTypeS3, Location: aws.String("staging-artifacts")},
		Stages: []cptypes.StageDeclaration{
			{Name: aws.String("Source"), Actions: []cptypes.ActionDeclaration{{Name: aws.String("Source"),
				ActionTypeId:    &cptypes.ActionTypeId{Category: cptypes.ActionCategorySource, Owner: cptypes.ActionOwnerAws, Provider: aws.String("S3"), Version: aws.String("1")},
				Configuration:   map[string]string{"S3Bucket": "staging-source", "S3ObjectKey": "src.zip"},
				OutputArtifacts: []cptypes.OutputArtifact{{Name: aws.String("SourceOutput")}}}}},
			{Name: aws.String("Add"), Actions: []cptypes.ActionDeclaration{actionOf("Add", "Deploy", "CloudFormationStackInstances",
				map[string]string{"StackSetName": "model-set", "DeploymentTargets": s.account["staging"], "Regions": "us-east-1"}, "SourceOutput")}}}}
	_, err = stg.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: other})
	mustDo(t, err)
	execs, err = stg.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("reach")})
	mustDo(t, err)
	if x := waitDeployExecution(t, stg, "reach", *execs.PipelineExecutionSummaries[0].PipelineExecutionId); x.Status != cptypes.PipelineExecutionStatusFailed || !strings.Contains(aws.ToString(x.StatusSummary), "does not exist") {
		t.Errorf("another account's pipeline: %s (%s), want Failed", x.Status, aws.ToString(x.StatusSummary))
	}
	if n := len(instances(t, cfnOf(admin.sm), "model-set")); n != 3 {
		t.Errorf("after another account's attempt: %d instances, want 3", n)
	}
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
