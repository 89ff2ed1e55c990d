package app_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/slipway-ml/slipway/internal/delivery"
)

func cpOf(sm *sagemaker.Client) *codepipeline.Client {
	o := sm.Options()
	return codepipeline.New(codepipeline.Options{Region: o.Region, Credentials: o.Credentials, BaseEndpoint: o.BaseEndpoint, Retryer: connRetryer()})
}

const codepipelineTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codepipeline.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// zipOf is a zip archive of one file.
func zipOf(t testing.TB, name, body string) []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	w, err := z.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(body))
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func mustDo(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// waitApproval polls the pipeline's state until action stage/action of execution id (any
// execution when "") waits for approval, and returns its token.
func waitApproval(t testing.TB, cp *codepipeline.Client, pipeline, stage, action, id string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st, err := cp.GetPipelineState(context.Background(), &codepipeline.GetPipelineStateInput{Name: aws.String(pipeline)})
		mustDo(t, err)
		for _, s := range st.StageStates {
			if aws.ToString(s.StageName) != stage || s.LatestExecution == nil || (id != "" && aws.ToString(s.LatestExecution.PipelineExecutionId) != id) {
				continue
			}
			for _, a := range s.ActionStates {
				if aws.ToString(a.ActionName) == action && a.LatestExecution != nil && a.LatestExecution.Status == cptypes.ActionExecutionStatusInProgress && a.LatestExecution.Token != nil {
					return *a.LatestExecution.Token
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s/%s/%s never waited for approval", pipeline, stage, action)
	return ""
}

// waitExecution polls an execution until it ends.
func waitDeployExecution(t testing.TB, cp *codepipeline.Client, pipeline, id string) cptypes.PipelineExecution {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		out, err := cp.GetPipelineExecution(context.Background(), &codepipeline.GetPipelineExecutionInput{PipelineName: aws.String(pipeline), PipelineExecutionId: aws.String(id)})
		mustDo(t, err)
		switch out.PipelineExecution.Status {
		case cptypes.PipelineExecutionStatusInProgress, cptypes.PipelineExecutionStatusStopping:
			time.Sleep(20 * time.Millisecond)
			continue
		}
		return *out.PipelineExecution
	}
	t.Fatalf("execution %s of %s never ended", id, pipeline)
	return cptypes.PipelineExecution{}
}

// deployRole makes, in a target account, the role a pipeline's cross-account deploy action
// assumes: trusted by the pipeline's role, allowed CloudFormation and log groups.
func deployRole(t testing.TB, c *iam.Client, pipelineRole string) string {
	ctx := context.Background()
	r, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("pipeline-deployer"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + pipelineRole + `"},"Action":"sts:AssumeRole"}]}`)})
	mustDo(t, err)
	_, err = c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("pipeline-deployer"), PolicyName: aws.String("deploy"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudformation:*","logs:*","s3:GetObject"],"Resource":"*"}]}`)})
	mustDo(t, err)
	return *r.Role.Arn
}

// deploySetup is a data-science account with an artifact bucket, a source bucket holding a
// zipped template, a pipeline role, and deploy roles in staging and production.
type deploySetup struct {
	s                         *server
	ds, staging, prod         clients
	pipelineRole              string
	stagingRole, prodRole     string
	artifacts, source, srcKey string
}

func newDeploySetup(t *testing.T, s *server) *deploySetup {
	ctx := context.Background()
	d := &deploySetup{s: s, ds: clientsOf(s.cfg("data-science")), staging: clientsOf(s.cfg("staging")), prod: clientsOf(s.cfg("production"))}
	acct := s.account["data-science"]
	d.artifacts, d.source, d.srcKey = "artifacts-"+acct, "source-"+acct, "deploy/template.zip"
	r, err := d.ds.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("pipeline-role"), AssumeRolePolicyDocument: aws.String(codepipelineTrust)})
	mustDo(t, err)
	d.pipelineRole = *r.Role.Arn
	_, err = d.ds.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("pipeline-role"), PolicyName: aws.String("pipeline"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","cloudformation:*","logs:*","sts:AssumeRole"],"Resource":"*"}]}`)})
	mustDo(t, err)
	d.stagingRole = deployRole(t, d.staging.iam, d.pipelineRole)
	d.prodRole = deployRole(t, d.prod.iam, d.pipelineRole)
	for _, b := range []string{d.artifacts, d.source} {
		_, err := d.ds.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
		mustDo(t, err)
	}
	// The target accounts' deploy roles read the artifacts (the template) across accounts.
	_, err = d.ds.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(d.artifacts), Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["` +
		d.stagingRole + `","` + d.prodRole + `"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::` + d.artifacts + `/*"}]}`)})
	mustDo(t, err)
	_, err = d.ds.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d.source), Key: aws.String(d.srcKey),
		Body: bytes.NewReader(zipOf(t, "template.json", logGroupTemplate))})
	mustDo(t, err)
	return d
}

func (d *deploySetup) pipeline(name string) *cptypes.PipelineDeclaration {
	deploy := func(name, stack, role string) cptypes.ActionDeclaration {
		return cptypes.ActionDeclaration{Name: aws.String(name), RoleArn: aws.String(role),
			ActionTypeId:   &cptypes.ActionTypeId{Category: cptypes.ActionCategoryDeploy, Owner: cptypes.ActionOwnerAws, Provider: aws.String("CloudFormation"), Version: aws.String("1")},
			Configuration:  map[string]string{"ActionMode": "CREATE_UPDATE", "StackName": stack, "TemplatePath": "SourceOutput::template.json"},
			InputArtifacts: []cptypes.InputArtifact{{Name: aws.String("SourceOutput")}}}
	}
	return &cptypes.PipelineDeclaration{Name: aws.String(name), RoleArn: aws.String(d.pipelineRole),
		ArtifactStore: &cptypes.ArtifactStore{Type: cptypes.ArtifactStoreTypeS3, Location: aws.String(d.artifacts)},
		Stages: []cptypes.StageDeclaration{
			{Name: aws.String("Source"), Actions: []cptypes.ActionDeclaration{{Name: aws.String("Template"),
				ActionTypeId:    &cptypes.ActionTypeId{Category: cptypes.ActionCategorySource, Owner: cptypes.ActionOwnerAws, Provider: aws.String("S3"), Version: aws.String("1")},
				Configuration:   map[string]string{"S3Bucket": d.source, "S3ObjectKey": d.srcKey, "PollForSourceChanges": "false"},
				OutputArtifacts: []cptypes.OutputArtifact{{Name: aws.String("SourceOutput")}}}}},
			{Name: aws.String("DeployStaging"), Actions: []cptypes.ActionDeclaration{deploy("Deploy", "model-staging", d.stagingRole)}},
			{Name: aws.String("ApproveDeployment"), Actions: []cptypes.ActionDeclaration{{Name: aws.String("Approve"),
				ActionTypeId:  &cptypes.ActionTypeId{Category: cptypes.ActionCategoryApproval, Owner: cptypes.ActionOwnerAws, Provider: aws.String("Manual"), Version: aws.String("1")},
				Configuration: map[string]string{"CustomData": "Check the staging endpoint before production", "ExternalEntityLink": "https://example.com/staging"}}}},
			{Name: aws.String("DeployProd"), Actions: []cptypes.ActionDeclaration{deploy("Deploy", "model-prod", d.prodRole)}},
		}}
}

// user makes a user of the data-science account with one inline policy and returns its
// CodePipeline client.
func (d *deploySetup) user(t *testing.T, name, policy string) *codepipeline.Client {
	ctx := context.Background()
	_, err := d.ds.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
	mustDo(t, err)
	_, err = d.ds.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)})
	mustDo(t, err)
	k, err := d.ds.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	mustDo(t, err)
	return codepipeline.NewFromConfig(d.s.cfgFor(credentials.NewStaticCredentialsProvider(*k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")))
}

func stackStatus(t *testing.T, c clients, name string) cfntypes.StackStatus {
	out, err := cfnOf(c.sm).DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		return cfntypes.StackStatus("absent: " + code(err))
	}
	return out.Stacks[0].StackStatus
}

// TestDeployPipelineThroughApproval is the story's deploy half with the Go SDK: Source (a
// zipped template in S3) → Deploy to staging (another account, through its role) → manual
// approval → Deploy to production. A data scientist without codepipeline:PutApprovalResult, an
// operator under an explicit Deny and another account's admin are refused and nothing is
// recorded; the operator approves; both stacks exist in their accounts.
func TestDeployPipelineThroughApproval(t *testing.T) {
	s := start(t, "")
	d := newDeploySetup(t, s)
	ctx := context.Background()
	cp := cpOf(d.ds.sm)
	created, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: d.pipeline("model-deploy")})
	mustDo(t, err)
	if v := aws.ToInt32(created.Pipeline.Version); v != 1 {
		t.Errorf("created version = %d", v)
	}
	execs, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("model-deploy")})
	mustDo(t, err)
	if len(execs.PipelineExecutionSummaries) != 1 {
		t.Fatalf("CreatePipeline started %d executions, want 1", len(execs.PipelineExecutionSummaries))
	}
	id := *execs.PipelineExecutionSummaries[0].PipelineExecutionId
	token := waitApproval(t, cp, "model-deploy", "ApproveDeployment", "Approve", id)
	if st := stackStatus(t, d.staging, "model-staging"); st != cfntypes.StackStatusCreateComplete {
		t.Errorf("staging stack = %s before the approval", st)
	}
	if st := stackStatus(t, d.prod, "model-prod"); !strings.HasPrefix(string(st), "absent") {
		t.Errorf("production stack = %s before the approval", st)
	}

	approve := func(c *codepipeline.Client, tok string) error {
		_, err := c.PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{PipelineName: aws.String("model-deploy"), StageName: aws.String("ApproveDeployment"),
			ActionName: aws.String("Approve"), Token: aws.String(tok), Result: &cptypes.ApprovalResult{Status: cptypes.ApprovalStatusApproved, Summary: aws.String("staging looks good")}})
		return err
	}
	scientist := d.user(t, "data-scientist", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["codepipeline:Get*","codepipeline:List*","codepipeline:StartPipelineExecution"],"Resource":"*"}]}`)
	denied := d.user(t, "denied-operator", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Deny","Action":"codepipeline:PutApprovalResult","Resource":"arn:aws:codepipeline:us-east-1:`+s.account["data-science"]+`:model-deploy/ApproveDeployment/*"}]}`)
	operator := d.user(t, "operator", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["codepipeline:PutApprovalResult","codepipeline:Get*"],"Resource":"arn:aws:codepipeline:us-east-1:`+s.account["data-science"]+`:model-deploy*"}]}`)
	for name, c := range map[string]*codepipeline.Client{"data scientist": scientist, "operator under a Deny": denied} {
		if err := approve(c, token); code(err) != "AccessDeniedException" {
			t.Errorf("%s approves: %v, want AccessDeniedException", name, err)
		}
	}
	if err := approve(cpOf(d.staging.sm), token); code(err) != "PipelineNotFoundException" {
		t.Errorf("the staging account approves: %v, want PipelineNotFoundException", err)
	}
	// Nothing was recorded: the approval still waits, with the same token.
	if got := waitApproval(t, cp, "model-deploy", "ApproveDeployment", "Approve", id); got != token {
		t.Errorf("token changed after refused approvals: %s → %s", token, got)
	}
	if err := approve(operator, "00000000-0000-0000-0000-000000000000"); code(err) != "InvalidApprovalTokenException" {
		t.Errorf("a wrong token: %v, want InvalidApprovalTokenException", err)
	}
	// Two more executions while the first waits: the newer one supersedes the older at the
	// approval's boundary.
	var later []string
	for range 2 {
		out, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String("model-deploy")})
		mustDo(t, err)
		later = append(later, *out.PipelineExecutionId)
	}
	if x := waitDeployExecution(t, cp, "model-deploy", later[0]); x.Status != cptypes.PipelineExecutionStatusSuperseded {
		t.Errorf("the older waiting execution: %s, want Superseded", x.Status)
	}
	waitInbound(t, cp, "model-deploy", "ApproveDeployment", later[1])
	mustDo(t, approve(operator, token))
	if err := approve(operator, token); code(err) != "InvalidApprovalTokenException" && code(err) != "ApprovalAlreadyCompletedException" {
		t.Errorf("approving again: %v, want a clear refusal", err)
	}
	if x := waitDeployExecution(t, cp, "model-deploy", id); x.Status != cptypes.PipelineExecutionStatusSucceeded {
		t.Fatalf("execution %s: %s (%s)", id, x.Status, aws.ToString(x.StatusSummary))
	}
	// The newest execution now enters the approval; approved, it deploys again (no changes).
	mustDo(t, approve(operator, waitApproval(t, cp, "model-deploy", "ApproveDeployment", "Approve", later[1])))
	if x := waitDeployExecution(t, cp, "model-deploy", later[1]); x.Status != cptypes.PipelineExecutionStatusSucceeded {
		t.Errorf("the newest execution: %s (%s)", x.Status, aws.ToString(x.StatusSummary))
	}
	if st := stackStatus(t, d.staging, "model-staging"); st != cfntypes.StackStatusCreateComplete {
		t.Errorf("staging stack = %s", st)
	}
	if st := stackStatus(t, d.prod, "model-prod"); st != cfntypes.StackStatusCreateComplete {
		t.Errorf("production stack = %s", st)
	}
	if st := stackStatus(t, d.ds, "model-prod"); !strings.HasPrefix(string(st), "absent") {
		t.Errorf("the production stack is in the data-science account too: %s", st)
	}

	// The approval's record: who, when, what.
	acts, err := cp.ListActionExecutions(ctx, &codepipeline.ListActionExecutionsInput{PipelineName: aws.String("model-deploy"),
		Filter: &cptypes.ActionExecutionFilter{PipelineExecutionId: aws.String(id)}})
	mustDo(t, err)
	var names []string
	for _, a := range acts.ActionExecutionDetails {
		names = append(names, aws.ToString(a.StageName)+"/"+aws.ToString(a.ActionName)+"="+string(a.Status))
		if aws.ToString(a.ActionName) == "Approve" {
			if by := aws.ToString(a.UpdatedBy); !strings.HasSuffix(by, ":user/operator") {
				t.Errorf("approval updatedBy = %q, want the operator", by)
			}
			if sum := aws.ToString(a.Output.ExecutionResult.ExternalExecutionSummary); sum != "staging looks good" {
				t.Errorf("approval summary = %q", sum)
			}
		}
	}
	if len(names) != 4 {
		t.Errorf("action executions = %v, want 4", names)
	}

	// Events on the outbox, as AWS shapes them.
	evs, err := s.app.Store.Events().EventsAfter(ctx, 0, 10000)
	mustDo(t, err)
	kinds := map[string][]string{}
	for _, ev := range evs {
		if ev.Source != "aws.codepipeline" {
			continue
		}
		var det map[string]any
		mustDo(t, json.Unmarshal(ev.Detail, &det))
		if det["pipeline"] != "model-deploy" || len(ev.Resources) != 1 || !strings.HasSuffix(ev.Resources[0], ":codepipeline:us-east-1:"+s.account["data-science"]+":model-deploy") {
			t.Errorf("event %s: detail %s", ev.Resources, ev.Detail)
		}
		if det["execution-id"] != id {
			continue
		}
		kinds[ev.DetailType] = append(kinds[ev.DetailType], fmtState(det))
	}
	want := map[string][]string{
		delivery.PipelineStateChange: {"STARTED", "SUCCEEDED"},
		delivery.StageStateChange:    {"Source STARTED", "Source SUCCEEDED", "DeployStaging STARTED", "DeployStaging SUCCEEDED", "ApproveDeployment STARTED", "ApproveDeployment SUCCEEDED", "DeployProd STARTED", "DeployProd SUCCEEDED"},
		delivery.ActionStateChange:   {"Source/Template STARTED", "Source/Template SUCCEEDED", "DeployStaging/Deploy STARTED", "DeployStaging/Deploy SUCCEEDED", "ApproveDeployment/Approve STARTED", "ApproveDeployment/Approve SUCCEEDED", "DeployProd/Deploy STARTED", "DeployProd/Deploy SUCCEEDED"},
	}
	for k, w := range want {
		if strings.Join(kinds[k], ",") != strings.Join(w, ",") {
			t.Errorf("%s events = %v, want %v", k, kinds[k], w)
		}
	}
}

func fmtState(det map[string]any) string {
	s, _ := det["state"].(string)
	switch {
	case det["action"] != nil:
		return det["stage"].(string) + "/" + det["action"].(string) + " " + s
	case det["stage"] != nil:
		return det["stage"].(string) + " " + s
	}
	return s
}

// waitInbound polls until execution id waits to enter stage.
func waitInbound(t testing.TB, cp *codepipeline.Client, pipeline, stage, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st, err := cp.GetPipelineState(context.Background(), &codepipeline.GetPipelineStateInput{Name: aws.String(pipeline)})
		mustDo(t, err)
		for _, s := range st.StageStates {
			if aws.ToString(s.StageName) == stage && s.InboundExecution != nil && aws.ToString(s.InboundExecution.PipelineExecutionId) == id {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("execution %s never waited to enter %s", id, stage)
}
