package app_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/slipway-ml/slipway/internal/app"
)

// mpkgSource reads the model-package.json the source action of execution id wrote.
func mpkgSource(t *testing.T, c clients, cp *codepipeline.Client, pipeline, id string) (app.ModelPackageSource, cptypes.ActionExecutionDetail) {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		acts, err := cp.ListActionExecutions(ctx, &codepipeline.ListActionExecutionsInput{PipelineName: aws.String(pipeline), Filter: &cptypes.ActionExecutionFilter{PipelineExecutionId: aws.String(id)}})
		mustDo(t, err)
		for _, a := range acts.ActionExecutionDetails {
			if aws.ToString(a.StageName) != "Source" || a.Status == cptypes.ActionExecutionStatusInProgress {
				continue
			}
			var src app.ModelPackageSource
			if a.Status != cptypes.ActionExecutionStatusSucceeded {
				return src, a
			}
			loc := a.Output.OutputArtifacts[0].S3location
			obj, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: loc.Bucket, Key: loc.Key})
			mustDo(t, err)
			b, _ := io.ReadAll(obj.Body)
			obj.Body.Close()
			mustDo(t, json.Unmarshal(b, &src))
			return src, a
		}
	}
	t.Fatalf("the source action of %s never ended", id)
	return app.ModelPackageSource{}, cptypes.ActionExecutionDetail{}
}

// TestDeployModelPackageSource: a rule for approvals of a group starts the deploy pipeline, and
// its SlipwayModelPackage source action outputs exactly the version whose approval started it
// (its ARN, version, ModelDataUrl, trigger and event id), though a newer version was approved
// first; a manual start takes the newest Approved version; with none, the action fails; the
// action acts as the pipeline's role, whose explicit Deny of sagemaker:DescribeModelPackage
// fails it; declarations it cannot run are refused.
func TestDeployModelPackageSource(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	ds := clientsOf(s.cfg("data-science"))
	cp := cpOf(ds.sm)
	st := newStagesSetup(t, ds)
	_, err := ds.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("stages-role"), PolicyName: aws.String("registry"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:DescribeModelPackage","sagemaker:ListModelPackages"],"Resource":"*"}]}`)})
	mustDo(t, err)
	_, err = ds.sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("abalone")})
	mustDo(t, err)
	register := func(n string) string {
		out, err := ds.sm.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("abalone"),
			ModelApprovalStatus: smtypes.ModelApprovalStatusPendingManualApproval,
			InferenceSpecification: &smtypes.InferenceSpecification{Containers: []smtypes.ModelPackageContainerDefinition{{Image: aws.String("slipway/xgboost:latest"),
				ModelDataUrl: aws.String("s3://models/" + n + "/model.tar.gz")}}, SupportedContentTypes: []string{"text/csv"}, SupportedResponseMIMETypes: []string{"text/csv"}}})
		mustDo(t, err)
		return *out.ModelPackageArn
	}
	approve := func(arn string) {
		_, err := ds.sm.UpdateModelPackage(ctx, &sagemaker.UpdateModelPackageInput{ModelPackageArn: aws.String(arn), ModelApprovalStatus: smtypes.ModelApprovalStatusApproved})
		mustDo(t, err)
	}
	p := st.pipeline("model-deploy", cptypes.ExecutionModeQueued)
	p.Stages[0].Actions[0] = cptypes.ActionDeclaration{Name: aws.String("ApprovedModel"),
		ActionTypeId:    &cptypes.ActionTypeId{Category: cptypes.ActionCategorySource, Owner: cptypes.ActionOwnerAws, Provider: aws.String(app.ModelPackageProvider), Version: aws.String("1")},
		Configuration:   map[string]string{"ModelPackageGroupName": "abalone"},
		OutputArtifacts: []cptypes.OutputArtifact{{Name: aws.String("ModelPackage")}}}

	for name, mutate := range map[string]func(p *cptypes.PipelineDeclaration){
		"no group": func(p *cptypes.PipelineDeclaration) { p.Stages[0].Actions[0].Configuration = nil },
		"a bad group": func(p *cptypes.PipelineDeclaration) {
			p.Stages[0].Actions[0].Configuration = map[string]string{"ModelPackageGroupName": "a/b"}
		},
		"an unknown key": func(p *cptypes.PipelineDeclaration) { p.Stages[0].Actions[0].Configuration["S3Bucket"] = "x" },
		"two outputs": func(p *cptypes.PipelineDeclaration) {
			p.Stages[0].Actions[0].OutputArtifacts = append(p.Stages[0].Actions[0].OutputArtifacts, cptypes.OutputArtifact{Name: aws.String("Two")})
		},
	} {
		bad := st.pipeline("bad", cptypes.ExecutionModeQueued)
		bad.Stages[0].Actions[0] = p.Stages[0].Actions[0]
		bad.Stages[0].Actions[0].Configuration = map[string]string{"ModelPackageGroupName": "abalone"}
		mutate(bad)
		if _, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: bad}); code(err) != "InvalidActionDeclarationException" {
			t.Errorf("%s: %v, want InvalidActionDeclarationException", name, err)
		}
	}

	_, err = cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: p})
	mustDo(t, err)
	first := stagesFirst(t, cp, "model-deploy")
	if _, a := mpkgSource(t, ds, cp, "model-deploy", first); a.Status != cptypes.ActionExecutionStatusFailed || !strings.Contains(aws.ToString(a.Output.ExecutionResult.ErrorDetails.Message), "no Approved version") {
		t.Errorf("the first execution's source, before any approval: %s %+v", a.Status, a.Output.ExecutionResult.ErrorDetails)
	}

	acct := s.account["data-science"]
	role, err := ds.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("events-deploy"), AssumeRolePolicyDocument: aws.String(eventsTrust)})
	mustDo(t, err)
	_, err = ds.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("events-deploy"), PolicyName: aws.String("start"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codepipeline:StartPipelineExecution","Resource":"*"}]}`)})
	mustDo(t, err)
	eb := eventbridge.NewFromConfig(s.cfg("data-science"))
	rule, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("abalone-approved"),
		EventPattern: aws.String(`{"source":["aws.sagemaker"],"detail-type":["SageMaker Model Package State Change"],"detail":{"ModelPackageGroupName":["abalone"],"ModelApprovalStatus":["Approved"]}}`)})
	mustDo(t, err)
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("abalone-approved"), Targets: []ebtypes.Target{
		{Id: aws.String("deploy"), Arn: aws.String("arn:aws:codepipeline:us-east-1:" + acct + ":model-deploy"), RoleArn: role.Role.Arn}}})
	mustDo(t, err)

	// Version 2 is approved, then version 1: the second execution deploys version 1.
	v1, v2 := register("v1"), register("v2")
	approve(v2)
	approve(v1)
	var byEvent []cptypes.PipelineExecutionSummary
	for deadline := time.Now().Add(30 * time.Second); len(byEvent) < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("executions started by the rule: %d, want 2", len(byEvent))
		}
		out, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("model-deploy")})
		mustDo(t, err)
		byEvent = nil
		for _, x := range out.PipelineExecutionSummaries {
			if x.Trigger != nil && x.Trigger.TriggerType == cptypes.TriggerTypeCloudWatchEvent {
				byEvent = append(byEvent, x)
			}
		}
	}
	want := map[string]string{v1: "s3://models/v1/model.tar.gz", v2: "s3://models/v2/model.tar.gz"}
	seen := map[string]bool{}
	for _, x := range byEvent {
		if got := aws.ToString(x.Trigger.TriggerDetail); got != *rule.RuleArn {
			t.Errorf("trigger detail = %q, want the rule %s", got, *rule.RuleArn)
		}
		src, a := mpkgSource(t, ds, cp, "model-deploy", *x.PipelineExecutionId)
		if a.Status != cptypes.ActionExecutionStatusSucceeded {
			t.Fatalf("source action of %s: %s %+v", *x.PipelineExecutionId, a.Status, a.Output.ExecutionResult.ErrorDetails)
		}
		if src.Trigger != "CloudWatchEvent" || src.EventId == "" || src.ModelApprovalStatus != "Approved" || src.ModelPackageGroupName != "abalone" || want[src.ModelPackageArn] == "" || src.ModelDataUrl != want[src.ModelPackageArn] || src.Image != "slipway/xgboost:latest" {
			t.Errorf("source artifact of %s = %+v", *x.PipelineExecutionId, src)
		}
		seen[src.ModelPackageArn] = true
	}
	if !seen[v1] || !seen[v2] {
		t.Errorf("versions deployed by the rule's executions = %v, want both %s and %s", seen, v1, v2)
	}

	// A manual start takes the newest Approved version (v2, the newer by creation).
	manual := stagesStart(t, cp, "model-deploy")
	if src, a := mpkgSource(t, ds, cp, "model-deploy", manual); a.Status != cptypes.ActionExecutionStatusSucceeded || src.ModelPackageArn != v2 || src.Trigger != "NewestApproved" || src.ModelPackageVersion != 2 {
		t.Errorf("manual start's source = %s %+v", a.Status, src)
	}

	// The action acts as the pipeline's role: an explicit Deny fails it.
	_, err = ds.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("stages-role"), PolicyName: aws.String("deny"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sagemaker:*","Resource":"*"}]}`)})
	mustDo(t, err)
	time.Sleep(50 * time.Millisecond)
	denied := stagesStart(t, cp, "model-deploy")
	if _, a := mpkgSource(t, ds, cp, "model-deploy", denied); a.Status != cptypes.ActionExecutionStatusFailed {
		t.Errorf("source action under an explicit Deny: %s", a.Status)
	}
}
