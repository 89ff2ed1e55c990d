package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
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

// dprojEnv is a project of the built-in template multi-account-deployment on a server whose
// staging OU holds two accounts (staging, staging-2) and whose production OU holds one, with
// its versions registered by hand: a linear model (y = x0 + 2·x1 + 1) and held-out rows it
// predicts exactly, laid out as the model-build pipeline lays them, so the staging test passes
// in milliseconds instead of after a training run. A rule of its own logs every state change of
// the project's group, so a test knows when the deploy rule has seen an event.
type dprojEnv struct {
	t                 *testing.T
	s                 *server
	ds                clients
	cp                *codepipeline.Client
	cf                *cloudformation.Client
	project, bucket   string
	deploy, stagingOU string
	acct              map[string]string  // account name → id (staging, staging-2, production)
	in                map[string]clients // account name → its OrganizationAccountAccessRole
	logs              *cloudwatchlogs.Client
	changes           string // the log group of the group's state changes
	modelURL, evalURI string
}

// dprojStart makes the organization, the project and the versions' artifacts; before, when
// set, runs once the member accounts exist and before the project is created.
func dprojStart(t *testing.T, before func(e *dprojEnv)) *dprojEnv {
	t.Helper()
	return dprojOn(t, start(t, ""), "abalone", before)
}

// dprojOn is dprojStart on a running server, with a project of that name (the console's
// browser test has its own server, whose data-science account has a group named abalone).
func dprojOn(t *testing.T, s *server, project string, before func(e *dprojEnv)) *dprojEnv {
	t.Helper()
	ctx := context.Background()
	ds := clientsOf(s.cfg("data-science"))
	e := &dprojEnv{t: t, s: s, ds: ds, cp: cpOf(ds.sm), cf: cfnOf(ds.sm), project: project, deploy: "sagemaker-" + project + "-deploy",
		logs: cloudwatchlogs.NewFromConfig(s.cfg("data-science")), changes: "/dproj/model-states"}
	root, stagingOU := orgUnit(t, ds, "staging")
	e.stagingOU = stagingOU
	_, prodOU := orgUnit(t, ds, "production")
	e.acct = map[string]string{"staging": s.account["staging"], "production": s.account["production"],
		"staging-2": memberAccount(t, ds, "staging-2", root, stagingOU)}
	e.in = map[string]clients{}
	for name, id := range e.acct {
		e.in[name] = s.inAccount(t, ds, id)
	}
	if before != nil {
		before(e)
	}
	out, err := ds.sm.CreateProject(ctx, &sagemaker.CreateProjectInput{ProjectName: &e.project,
		ServiceCatalogProvisioningDetails: provisioning("multi-account-deployment", "StagingOrganizationalUnitIds", stagingOU, "ProductionOrganizationalUnitIds", prodOU)})
	mustDo(t, err)
	if p := waitProject(t, ds.sm, e.project, smtypes.ProjectStatusCreateCompleted, smtypes.ProjectStatusCreateFailed); p.ProjectStatus != smtypes.ProjectStatusCreateCompleted {
		t.Fatalf("project: %s %s", p.ProjectStatus, aws.ToString(p.ServiceCatalogProvisionedProductDetails.ProvisionedProductStatusMessage))
	}
	e.bucket = "sagemaker-project-" + aws.ToString(out.ProjectId)
	put := func(key string, body []byte) {
		_, err := ds.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &e.bucket, Key: aws.String(key), Body: bytes.NewReader(body)})
		mustDo(t, err)
	}
	put("model-build/x1/model/model.tar.gz", linearModelTarGz(t))
	put("model-build/x1/prepared/test.csv", []byte("4,1,1\n8,3,2\n1.5,0.5,0\n"))
	e.modelURL, e.evalURI = "s3://"+e.bucket+"/model-build/x1/model/model.tar.gz", "s3://"+e.bucket+"/model-build/x1/evaluation/evaluation.json"

	_, err = e.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &e.changes})
	mustDo(t, err)
	eb := eventbridge.NewFromConfig(s.cfg("data-science"))
	// Named to sort after the project's rule: a matched event's rules are delivered in name order.
	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("zz-dproj-model-states"),
		EventPattern: aws.String(`{"source":["aws.sagemaker"],"detail-type":["SageMaker Model Package State Change"],"detail":{"ModelPackageGroupName":["` + project + `"]}}`)})
	mustDo(t, err)
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("zz-dproj-model-states"), Targets: []ebtypes.Target{{Id: aws.String("log"),
		Arn: aws.String("arn:aws:logs:us-east-1:" + s.account["data-science"] + ":log-group:" + e.changes)}}})
	mustDo(t, err)
	return e
}

// register registers a PendingManualApproval version of the linear model.
func (e *dprojEnv) register() string {
	out, err := e.ds.sm.CreateModelPackage(context.Background(), &sagemaker.CreateModelPackageInput{ModelPackageGroupName: &e.project,
		ModelApprovalStatus: smtypes.ModelApprovalStatusPendingManualApproval,
		InferenceSpecification: &smtypes.InferenceSpecification{Containers: []smtypes.ModelPackageContainerDefinition{{Image: aws.String("slipway/linear:latest"),
			ModelDataUrl: &e.modelURL}}, SupportedContentTypes: []string{"text/csv"}, SupportedResponseMIMETypes: []string{"text/csv"}},
		ModelMetrics: &smtypes.ModelMetrics{ModelQuality: &smtypes.ModelQuality{Statistics: &smtypes.MetricsSource{ContentType: aws.String("application/json"), S3Uri: &e.evalURI}}}})
	mustDo(e.t, err)
	return aws.ToString(out.ModelPackageArn)
}

// decide sets version's approval status and waits until the project's rule has seen the
// change (the logging rule, delivered after it, has logged the n-th state change); it returns
// the event's id.
func (e *dprojEnv) decide(version string, status smtypes.ModelApprovalStatus, n int) string {
	e.t.Helper()
	_, err := e.ds.sm.UpdateModelPackage(context.Background(), &sagemaker.UpdateModelPackageInput{ModelPackageArn: &version, ModelApprovalStatus: status})
	mustDo(e.t, err)
	return e.seen(n, status)
}

// seen waits for the n-th logged state change of the group, which must have status; it
// returns the event's id.
func (e *dprojEnv) seen(n int, status smtypes.ModelApprovalStatus) string {
	e.t.Helper()
	msgs := waitLogs(e.t, e.logs, e.changes, n)
	var ev struct {
		ID     string `json:"id"`
		Detail struct{ ModelApprovalStatus string }
	}
	if err := json.Unmarshal([]byte(msgs[n-1]), &ev); err != nil {
		e.t.Fatalf("state change %d: %v: %q", n, err, msgs)
	}
	if ev.Detail.ModelApprovalStatus != string(status) {
		e.t.Fatalf("state change %d is %s, want %s", n, ev.Detail.ModelApprovalStatus, status)
	}
	return ev.ID
}

// executions lists the deploy pipeline's executions, newest first.
func (e *dprojEnv) executions() []cptypes.PipelineExecutionSummary {
	out, err := e.cp.ListPipelineExecutions(context.Background(), &codepipeline.ListPipelineExecutionsInput{PipelineName: &e.deploy})
	mustDo(e.t, err)
	return out.PipelineExecutionSummaries
}

// action waits until execution id's action stage/action ends (or, with want InProgress, until
// it is InProgress) and returns its detail.
func (e *dprojEnv) action(id, stage string, want cptypes.ActionExecutionStatus) cptypes.ActionExecutionDetail {
	e.t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		acts, err := e.cp.ListActionExecutions(context.Background(), &codepipeline.ListActionExecutionsInput{PipelineName: &e.deploy,
			Filter: &cptypes.ActionExecutionFilter{PipelineExecutionId: &id}})
		mustDo(e.t, err)
		for _, a := range acts.ActionExecutionDetails { // newest first
			if aws.ToString(a.StageName) != stage {
				continue
			}
			if a.Status == want || (want != cptypes.ActionExecutionStatusInProgress && a.Status != cptypes.ActionExecutionStatusInProgress) {
				return a
			}
			break
		}
		x, err := e.cp.GetPipelineExecution(context.Background(), &codepipeline.GetPipelineExecutionInput{PipelineName: &e.deploy, PipelineExecutionId: &id})
		mustDo(e.t, err)
		if st := x.PipelineExecution.Status; st != cptypes.PipelineExecutionStatusInProgress && st != cptypes.PipelineExecutionStatusStopping {
			e.t.Fatalf("execution %s ended %s (%s) before %s was %s", id, st, aws.ToString(x.PipelineExecution.StatusSummary), stage, want)
		}
	}
	e.t.Fatalf("execution %s: %s never became %s", id, stage, want)
	return cptypes.ActionExecutionDetail{}
}

// source is the version execution id's ApprovedModel source action named (its
// model-package.json, the action's output artifact).
func (e *dprojEnv) source(id string) app.ModelPackageSource {
	e.t.Helper()
	ctx := context.Background()
	a := e.action(id, "Source", cptypes.ActionExecutionStatusSucceeded)
	acts, err := e.cp.ListActionExecutions(ctx, &codepipeline.ListActionExecutionsInput{PipelineName: &e.deploy,
		Filter: &cptypes.ActionExecutionFilter{PipelineExecutionId: &id}})
	mustDo(e.t, err)
	var src app.ModelPackageSource
	for _, a = range acts.ActionExecutionDetails {
		if aws.ToString(a.ActionName) != "ApprovedModel" {
			continue
		}
		if a.Status != cptypes.ActionExecutionStatusSucceeded {
			e.t.Fatalf("the ApprovedModel source of %s: %s", id, a.Status)
		}
		loc := a.Output.OutputArtifacts[0].S3location
		obj, err := e.ds.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: loc.Bucket, Key: loc.Key})
		mustDo(e.t, err)
		defer obj.Body.Close()
		mustDo(e.t, json.NewDecoder(obj.Body).Decode(&src))
		return src
	}
	e.t.Fatalf("execution %s ran no ApprovedModel source", id)
	return src
}

// served is the model package version the stage's endpoint in account serves ("" when there
// is no such endpoint).
func (e *dprojEnv) served(stage, account string) string {
	e.t.Helper()
	ctx := context.Background()
	sm := e.in[account].sm
	ep, err := sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(e.project + "-" + stage)})
	if code(err) == "ValidationException" {
		return ""
	}
	mustDo(e.t, err)
	if ep.EndpointStatus != smtypes.EndpointStatusInService {
		e.t.Errorf("the %s endpoint in %s is %s", stage, account, ep.EndpointStatus)
	}
	ec, err := sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: ep.EndpointConfigName})
	mustDo(e.t, err)
	m, err := sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: ec.ProductionVariants[0].ModelName})
	mustDo(e.t, err)
	return aws.ToString(m.PrimaryContainer.ModelPackageName)
}

// operations counts the stack set's operations (0 when the set does not exist).
func (e *dprojEnv) operations(set string) int {
	out, err := e.cf.ListStackSetOperations(context.Background(), &cloudformation.ListStackSetOperationsInput{StackSetName: &set})
	if code(err) == "StackSetNotFoundException" {
		return 0
	}
	mustDo(e.t, err)
	return len(out.Summaries)
}

// stacks lists an account's stacks that are not deleted, as "NAME STATUS".
func (e *dprojEnv) stacks(account string) []string {
	out, err := cloudformation.NewFromConfig(e.s.cfgFor(e.in[account].sm.Options().Credentials)).ListStacks(context.Background(), &cloudformation.ListStacksInput{})
	mustDo(e.t, err)
	var live []string
	for _, st := range out.StackSummaries {
		if st.StackStatus != cfntypes.StackStatusDeleteComplete {
			live = append(live, aws.ToString(st.StackName)+" "+string(st.StackStatus))
		}
	}
	return live
}

// TestDeployProjectApprovalSequence: a version of a multi-account-deployment project goes
// PendingManualApproval → Approved → Rejected → Approved through the SageMaker API. Its
// registration starts nothing; the first approval starts exactly one execution of the deploy
// pipeline, which deploys that version to both staging accounts and waits for the production
// approval; the rejection starts nothing and deploys nothing; the second approval starts one
// more execution, which deploys the version again.
func TestDeployProjectApprovalSequence(t *testing.T) {
	e := dprojStart(t, nil)
	staging := "sagemaker-abalone-staging"
	initial := e.executions() // the one CreatePipeline started (no Approved version: its source fails)

	v := e.register()
	e.seen(1, smtypes.ModelApprovalStatusPendingManualApproval)
	if got := len(e.executions()); got != len(initial) {
		t.Fatalf("a PendingManualApproval version started %d executions", got-len(initial))
	}

	approved := e.decide(v, smtypes.ModelApprovalStatusApproved, 2)
	execs := e.executions()
	if len(execs) != len(initial)+1 {
		t.Fatalf("the approval started %d executions, want 1", len(execs)-len(initial))
	}
	x1 := aws.ToString(execs[0].PipelineExecutionId)
	if tr := execs[0].Trigger; tr == nil || tr.TriggerType != cptypes.TriggerTypeCloudWatchEvent {
		t.Errorf("the approval's execution was triggered by %+v, want the event rule", tr)
	}
	if src := e.source(x1); src.ModelPackageArn != v || src.EventId != approved || src.ModelApprovalStatus != "Approved" {
		t.Errorf("the approval's execution deploys %+v, want %s from event %s", src, v, approved)
	}
	e.action(x1, "ApproveDeployment", cptypes.ActionExecutionStatusInProgress)
	for _, acct := range []string{"staging", "staging-2"} {
		if got := e.served("staging", acct); got != v {
			t.Errorf("after the approval %s serves %q, want %s", acct, got, v)
		}
	}
	if got := e.served("prod", "production"); got != "" {
		t.Errorf("production serves %s before the production approval", got)
	}
	// staging-config.json enables data capture: the staging test's requests land in the
	// project's bucket, written by each staging account's model role.
	for _, acct := range []string{"staging", "staging-2"} {
		prefix := "data-capture/staging/" + e.acct[acct] + "/"
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			list, err := e.ds.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &e.bucket, Prefix: &prefix})
			mustDo(t, err)
			if len(list.Contents) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("no captured data under s3://%s/%s", e.bucket, prefix)
				break
			}
		}
	}
	ops := e.operations(staging)

	e.decide(v, smtypes.ModelApprovalStatusRejected, 3)
	if got := len(e.executions()); got != len(initial)+1 {
		t.Errorf("the rejection started %d executions, want none", got-len(initial)-1)
	}
	if got := e.operations(staging); got != ops {
		t.Errorf("the rejection ran %d stack set operations, want none", got-ops)
	}
	if got := e.operations("sagemaker-abalone-prod"); got != 0 {
		t.Errorf("production's stack set has run %d operations after the rejection", got)
	}
	// The first execution still waits for the production approval; approved now, it must not
	// deploy the rejected version: DeployProd's CheckApproval fails before its stack set runs.
	token := waitApproval(t, e.cp, e.deploy, "ApproveDeployment", "ApproveDeployment", x1)
	_, err := e.cp.PutApprovalResult(context.Background(), &codepipeline.PutApprovalResultInput{PipelineName: &e.deploy, StageName: aws.String("ApproveDeployment"),
		ActionName: aws.String("ApproveDeployment"), Token: &token, Result: &cptypes.ApprovalResult{Status: cptypes.ApprovalStatusApproved, Summary: aws.String("approved after the version's rejection")}})
	mustDo(t, err)
	if x := waitDeployExecution(t, e.cp, e.deploy, x1); x.Status != cptypes.PipelineExecutionStatusFailed {
		t.Errorf("the execution approved after its version's rejection ended %s, want Failed", x.Status)
	}
	if a := e.action(x1, "DeployProd", cptypes.ActionExecutionStatusFailed); aws.ToString(a.ActionName) != "CheckApproval" || a.Status != cptypes.ActionExecutionStatusFailed {
		t.Errorf("DeployProd's last action: %s %s, want CheckApproval Failed", aws.ToString(a.ActionName), a.Status)
	}
	st, err := e.cp.GetPipelineState(context.Background(), &codepipeline.GetPipelineStateInput{Name: &e.deploy})
	mustDo(t, err)
	for _, stage := range st.StageStates {
		for _, a := range stage.ActionStates {
			if aws.ToString(a.ActionName) == "CheckApproval" && (a.LatestExecution == nil || a.LatestExecution.ErrorDetails == nil ||
				!strings.Contains(aws.ToString(a.LatestExecution.ErrorDetails.Message), "slipway build check-approved")) {
				t.Errorf("CheckApproval's state does not name the failing command: %+v", a.LatestExecution)
			}
		}
	}
	if got := e.operations("sagemaker-abalone-prod"); got != 0 {
		t.Errorf("production's stack set ran %d operations for a rejected version", got)
	}
	if got := e.stacks("production"); len(got) != 0 {
		t.Errorf("production holds stacks %v for a rejected version", got)
	}

	again := e.decide(v, smtypes.ModelApprovalStatusApproved, 4)
	execs = e.executions()
	if len(execs) != len(initial)+2 {
		t.Fatalf("the second approval started %d executions, want 1", len(execs)-len(initial)-1)
	}
	x2 := aws.ToString(execs[0].PipelineExecutionId)
	if x2 == x1 {
		t.Fatalf("the second approval's execution is the first's")
	}
	if src := e.source(x2); src.ModelPackageArn != v || src.EventId != again {
		t.Errorf("the second approval's execution deploys %+v, want %s from event %s", src, v, again)
	}
	if a := e.action(x2, "DeployStaging", cptypes.ActionExecutionStatusSucceeded); a.Status != cptypes.ActionExecutionStatusSucceeded {
		t.Fatalf("the second approval's DeployStaging: %s", a.Status)
	}
	if got := e.operations(staging); got <= ops {
		t.Errorf("the second approval ran no stack set operation (%d, %d before)", got, ops)
	}
	for _, acct := range []string{"staging", "staging-2"} {
		if got := e.served("staging", acct); got != v {
			t.Errorf("after the second approval %s serves %q, want %s", acct, got, v)
		}
	}
}

// TestDeployProjectStagingFailsInOneAccount: the staging deploy fails in one of the two staging
// accounts (a role of the stage's template already exists there, so that account's stack
// cannot be created). The DeployStaging stage fails naming the account and its reason, and the
// execution ends Failed: no staging test, no approval, and production untouched (no stack set
// instance, no stack, no endpoint). The failed stack rolls back: it is ROLLBACK_COMPLETE and
// holds nothing, and the role it collided with is the account's own, untouched. The other
// staging account keeps what the operation deployed there: its instance CURRENT, its endpoint
// InService serving the version (stack set operations do not undo the accounts that
// succeeded). The collision removed, RetryStageExecution deploys the stage to both: the retried
// operation replaces staging-2's ROLLBACK_COMPLETE stack (deletes it, creates it again).
func TestDeployProjectStagingFailsInOneAccount(t *testing.T) {
	ctx := context.Background()
	const taken = "sagemaker-abalone-staging-model"
	e := dprojStart(t, func(e *dprojEnv) {
		_, err := e.in["staging-2"].iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(taken), AssumeRolePolicyDocument: aws.String(sagemakerTrust),
			Description: aws.String("the account's own")})
		mustDo(t, err)
	})
	initial := len(e.executions())
	v := e.register()
	e.seen(1, smtypes.ModelApprovalStatusPendingManualApproval)
	e.decide(v, smtypes.ModelApprovalStatusApproved, 2)
	execs := e.executions()
	if len(execs) != initial+1 {
		t.Fatalf("the approval started %d executions, want 1", len(execs)-initial)
	}
	id := aws.ToString(execs[0].PipelineExecutionId)
	x := waitDeployExecution(t, e.cp, e.deploy, id)
	if x.Status != cptypes.PipelineExecutionStatusFailed {
		t.Fatalf("execution %s: %s (%s), want Failed", id, x.Status, aws.ToString(x.StatusSummary))
	}
	a := e.action(id, "DeployStaging", cptypes.ActionExecutionStatusFailed)
	msg := ""
	if a.Output != nil && a.Output.ExecutionResult != nil && a.Output.ExecutionResult.ErrorDetails != nil {
		msg = aws.ToString(a.Output.ExecutionResult.ErrorDetails.Message)
	}
	if a.Status != cptypes.ActionExecutionStatusFailed || !strings.Contains(msg, e.acct["staging-2"]) || !strings.Contains(msg, "[ModelExecutionRole]") {
		t.Errorf("DeployStaging: %s %q, want Failed naming account %s and its resource ModelExecutionRole", a.Status, msg, e.acct["staging-2"])
	}
	t.Logf("DeployStaging failed: %s", msg)
	st, err := e.cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: &e.deploy})
	mustDo(t, err)
	for _, s := range st.StageStates {
		name := aws.ToString(s.StageName)
		if (name == "TestStaging" || name == "ApproveDeployment" || name == "DeployProd") && s.LatestExecution != nil && aws.ToString(s.LatestExecution.PipelineExecutionId) == id {
			t.Errorf("stage %s ran after DeployStaging failed: %s", name, s.LatestExecution.Status)
		}
	}

	// Production untouched.
	if n := e.operations("sagemaker-abalone-prod"); n != 0 {
		t.Errorf("production's stack set ran %d operations", n)
	}
	if got := e.stacks("production"); len(got) != 0 {
		t.Errorf("production holds stacks %v", got)
	}
	if got := e.served("prod", "production"); got != "" {
		t.Errorf("production serves %s", got)
	}

	// The failing account: its stack rolled back, its own role untouched.
	inst := instances(t, e.cf, "sagemaker-abalone-staging")
	if got := inst[e.acct["staging-2"]]; got.Status != "OUTDATED" {
		t.Errorf("staging-2's instance: %+v, want OUTDATED", got)
	}
	stacks := e.stacks("staging-2")
	if len(stacks) != 1 || !strings.HasSuffix(stacks[0], " "+string(cfntypes.StackStatusRollbackComplete)) {
		t.Errorf("staging-2 holds stacks %v, want the instance's stack ROLLBACK_COMPLETE", stacks)
	}
	if got := e.served("staging", "staging-2"); got != "" {
		t.Errorf("staging-2 serves %s from a stack that failed", got)
	}
	role, err := e.in["staging-2"].iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(taken)})
	if err != nil || aws.ToString(role.Role.Description) != "the account's own" {
		t.Errorf("the account's own role after the rollback: %+v, %v", role, err)
	}
	for _, r := range []string{"sagemaker-abalone-endpoint-test"} {
		if _, err := e.in["staging-2"].iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(r)}); code(err) != "NoSuchEntity" {
			t.Errorf("the rolled-back stack left role %s behind: %v", r, err)
		}
	}

	// The other staging account keeps what the operation deployed there.
	if got := inst[e.acct["staging"]]; got.Status != "CURRENT" {
		t.Errorf("staging's instance: %+v, want CURRENT", got)
	}
	if got := e.served("staging", "staging"); got != v {
		t.Errorf("staging serves %q, want %s", got, v)
	}

	// The way back: the collision removed, a retry of the stage deploys to both accounts. The
	// retried operation finds staging-2's stack ROLLBACK_COMPLETE (it cannot be updated),
	// deletes it and creates it again, as StackSets does.
	before := e.stacks("staging-2")
	_, err = e.in["staging-2"].iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(taken)})
	mustDo(t, err)
	_, err = e.cp.RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{PipelineName: &e.deploy, StageName: aws.String("DeployStaging"),
		PipelineExecutionId: &id, RetryMode: cptypes.StageRetryModeFailedActions})
	mustDo(t, err)
	e.action(id, "ApproveDeployment", cptypes.ActionExecutionStatusInProgress)
	for _, acct := range []string{"staging", "staging-2"} {
		if got := e.served("staging", acct); got != v {
			t.Errorf("after the retry %s serves %q, want %s", acct, got, v)
		}
		if got := instances(t, e.cf, "sagemaker-abalone-staging")[e.acct[acct]]; got.Status != "CURRENT" {
			t.Errorf("after the retry %s's instance: %+v", acct, got)
		}
	}
	if got := e.stacks("staging-2"); len(got) != 1 || got[0] == before[0] || !strings.Contains(got[0], string(cfntypes.StackStatusCreateComplete)) {
		t.Errorf("after the retry staging-2 holds stacks %v (before %v), want a new stack CREATE_COMPLETE", got, before)
	}
	if got := e.stacks("production"); len(got) != 0 {
		t.Errorf("production holds stacks %v before its approval", got)
	}
}
