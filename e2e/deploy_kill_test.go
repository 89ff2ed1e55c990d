package e2e

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
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
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"

	_ "modernc.org/sqlite" // to rewind event delivery's cursor in a stopped server's database

	"github.com/slipway-ml/slipway/internal/algorithms/sample"
	"github.com/slipway-ml/slipway/internal/events/rules"
)

// deployOrg is the story's organization: a staging OU of two accounts, a production OU of one.
const deployOrg = `management: {name: data-science}
units:
  - name: staging
    accounts: [{name: staging}, {name: staging-2}]
  - name: production
    accounts: [{name: production}]
`

// deployStory is a project of the built-in template multi-account-deployment on a server a
// test SIGKILLs: its names, and the steps of the story up to the approval of a version.
type deployStory struct {
	t                 *testing.T
	s                 *crashing
	project           string
	bucket            string
	buildPipe, deploy string
}

// deployStoryStart starts a crashing server with deployOrg on a fixed address (builds the
// deploy pipeline runs call back to it, before and after a kill) and creates the project.
func deployStoryStart(t *testing.T, ctx context.Context) *deployStory {
	t.Helper()
	dir := t.TempDir()
	orgFile := writeFile(t, filepath.Join(dir, "org.yaml"), deployOrg)
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	s := launchCrashing(t, filepath.Join(dir, "data"), launchOptions{listen: addr, env: []string{"SLIPWAY_TEST_RECONCILE_LEASE_TTL=2s"}}, "--org", orgFile)
	d := &deployStory{t: t, s: s, project: "abalone"}
	oc := organizations.NewFromConfig(s.config("data-science"))
	roots, err := oc.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	ous, err := oc.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: roots.Roots[0].Id})
	if err != nil {
		t.Fatal(err)
	}
	ouIDs := map[string]string{}
	for _, ou := range ous.OrganizationalUnits {
		ouIDs[aws.ToString(ou.Name)] = aws.ToString(ou.Id)
	}
	sm := sagemaker.NewFromConfig(s.config("data-science"))
	out, err := sm.CreateProject(ctx, &sagemaker.CreateProjectInput{ProjectName: &d.project,
		ServiceCatalogProvisioningDetails: &smtypes.ServiceCatalogProvisioningDetails{ProductId: aws.String("multi-account-deployment"),
			ProvisioningParameters: []smtypes.ProvisioningParameter{
				{Key: aws.String("StagingOrganizationalUnitIds"), Value: aws.String(ouIDs["staging"])},
				{Key: aws.String("ProductionOrganizationalUnitIds"), Value: aws.String(ouIDs["production"])}}}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, func() bool {
		p, err := sm.DescribeProject(ctx, &sagemaker.DescribeProjectInput{ProjectName: &d.project})
		if err != nil {
			t.Fatal(err)
		}
		if p.ProjectStatus == smtypes.ProjectStatusCreateFailed {
			t.Fatalf("the project was not created: %+v", p.ServiceCatalogProvisionedProductDetails)
		}
		return p.ProjectStatus == smtypes.ProjectStatusCreateCompleted
	})
	d.bucket = "sagemaker-project-" + aws.ToString(out.ProjectId)
	d.buildPipe, d.deploy = d.project+"-model-build", "sagemaker-"+d.project+"-deploy"
	return d
}

// build runs the model-build pipeline on abalone and returns the version it registered.
func (d *deployStory) build(ctx context.Context) string {
	t := d.t
	t.Helper()
	cfg := d.s.config("data-science")
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).PutObject(ctx, &s3.PutObjectInput{Bucket: &d.bucket,
		Key: aws.String("data/abalone.csv"), Body: bytes.NewReader(sample.Abalone())}); err != nil {
		t.Fatal(err)
	}
	sm := sagemaker.NewFromConfig(cfg)
	x, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: &d.buildPipe,
		ClientRequestToken: aws.String(fmt.Sprintf("e2e-deploy-story-build-%032d", time.Now().UnixNano()))})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, func() bool {
		out, err := sm.DescribePipelineExecution(ctx, &sagemaker.DescribePipelineExecutionInput{PipelineExecutionArn: x.PipelineExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		switch out.PipelineExecutionStatus {
		case smtypes.PipelineExecutionStatusFailed, smtypes.PipelineExecutionStatusStopped:
			t.Fatalf("the model-build pipeline %s: %s", out.PipelineExecutionStatus, aws.ToString(out.FailureReason))
		}
		return out.PipelineExecutionStatus == smtypes.PipelineExecutionStatusSucceeded
	})
	list, err := sm.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: &d.project,
		SortBy: smtypes.ModelPackageSortByCreationTime, SortOrder: smtypes.SortOrderDescending})
	if err != nil || len(list.ModelPackageSummaryList) == 0 {
		t.Fatalf("ListModelPackages = %+v, %v", list, err)
	}
	return aws.ToString(list.ModelPackageSummaryList[0].ModelPackageArn)
}

// heldOutRow is the features of the first row of the test split the model-build pipeline
// wrote (its first column is the label).
func (d *deployStory) heldOutRow(ctx context.Context) string {
	t := d.t
	t.Helper()
	s3c := s3.NewFromConfig(d.s.config("data-science"), func(o *s3.Options) { o.UsePathStyle = true })
	list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &d.bucket, Prefix: aws.String("model-build/")})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list.Contents {
		if !strings.HasSuffix(aws.ToString(o.Key), "test.csv") {
			continue
		}
		obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: &d.bucket, Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Body.Close()
		line, _ := bufio.NewReader(obj.Body).ReadString('\n')
		_, features, _ := strings.Cut(strings.TrimSpace(line), ",")
		return features
	}
	t.Fatalf("no test split under s3://%s/model-build/", d.bucket)
	return ""
}

// allAtOnce rewrites the project's seed code so that production, too, is updated all at
// once: a second production deployment then takes seconds, not the canary's two minutes of
// waits (the seed is the team's to change, as on AWS).
func (d *deployStory) allAtOnce(ctx context.Context) {
	t := d.t
	t.Helper()
	s3c := s3.NewFromConfig(d.s.config("data-science"), func(o *s3.Options) { o.UsePathStyle = true })
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: &d.bucket, Key: aws.String("seed/seed.zip")})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(obj.Body)
	obj.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	in, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := zip.NewWriter(&out)
	changed := false
	for _, f := range in.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f.Name, "prod-config.json") && bytes.Contains(body, []byte(`"CANARY"`)) {
			body, changed = bytes.ReplaceAll(body, []byte(`"CANARY"`), []byte(`"ALL_AT_ONCE"`)), true
		}
		fw, err := w.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(body)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !changed {
		t.Fatal("the seed code has no prod-config.json with a CANARY deployment strategy")
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: &d.bucket, Key: aws.String("seed/seed.zip"), Body: bytes.NewReader(out.Bytes())}); err != nil {
		t.Fatal(err)
	}
}

// register registers another version of the project's group with from's inference
// specification (as another run of the model-build pipeline would, without its time).
func (d *deployStory) register(ctx context.Context, from string) string {
	t := d.t
	t.Helper()
	sm := sagemaker.NewFromConfig(d.s.config("data-science"))
	pkg, err := sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: &from})
	if err != nil {
		t.Fatal(err)
	}
	out, err := sm.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: &d.project,
		InferenceSpecification: pkg.InferenceSpecification, ModelMetrics: pkg.ModelMetrics, CustomerMetadataProperties: pkg.CustomerMetadataProperties,
		ModelApprovalStatus: smtypes.ModelApprovalStatusPendingManualApproval})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ModelPackageArn)
}

// executions lists the deploy pipeline's executions, newest first.
func (d *deployStory) executions(ctx context.Context) []cptypes.PipelineExecutionSummary {
	d.t.Helper()
	var out *codepipeline.ListPipelineExecutionsOutput
	waitFor(d.t, ctx, func() bool { // a read the kill cut off is asked again
		var err error
		out, err = codepipeline.NewFromConfig(d.s.config("data-science")).ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: &d.deploy})
		return err == nil
	})
	return out.PipelineExecutionSummaries
}

// approve approves version and returns the deploy pipeline's execution the approval started.
func (d *deployStory) approve(ctx context.Context, version string) string {
	t := d.t
	t.Helper()
	before := map[string]bool{}
	for _, x := range d.executions(ctx) {
		before[aws.ToString(x.PipelineExecutionId)] = true
	}
	if _, err := sagemaker.NewFromConfig(d.s.config("data-science")).UpdateModelPackage(ctx, &sagemaker.UpdateModelPackageInput{ModelPackageArn: &version,
		ModelApprovalStatus: smtypes.ModelApprovalStatusApproved}); err != nil {
		t.Fatal(err)
	}
	var id string
	waitFor(t, ctx, func() bool {
		for _, x := range d.executions(ctx) {
			if !before[aws.ToString(x.PipelineExecutionId)] {
				id = aws.ToString(x.PipelineExecutionId)
				return true
			}
		}
		return false
	})
	return id
}

// action returns the latest execution of a deploy pipeline's action if it belongs to the
// execution id (nil otherwise, or while the server does not answer).
func (d *deployStory) action(ctx context.Context, id, stage, action string) *cptypes.ActionExecution {
	st, err := codepipeline.NewFromConfig(d.s.config("data-science")).GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: &d.deploy})
	if err != nil {
		return nil
	}
	for _, s := range st.StageStates {
		if aws.ToString(s.StageName) != stage || s.LatestExecution == nil || aws.ToString(s.LatestExecution.PipelineExecutionId) != id {
			continue
		}
		for _, a := range s.ActionStates {
			if aws.ToString(a.ActionName) == action {
				return a.LatestExecution
			}
		}
	}
	return nil
}

// status is the status of the deploy pipeline's execution id ("" while the server does not answer).
func (d *deployStory) status(ctx context.Context, id string) cptypes.PipelineExecutionStatus {
	out, err := codepipeline.NewFromConfig(d.s.config("data-science")).GetPipelineExecution(ctx, &codepipeline.GetPipelineExecutionInput{PipelineName: &d.deploy, PipelineExecutionId: &id})
	if err != nil {
		return ""
	}
	return out.PipelineExecution.Status
}

// until waits for an action of execution id to reach want, failing if the execution ends
// otherwise first.
func (d *deployStory) until(ctx context.Context, id, stage, action string, want cptypes.ActionExecutionStatus) *cptypes.ActionExecution {
	t := d.t
	t.Helper()
	var a *cptypes.ActionExecution
	waitFor(t, ctx, func() bool {
		if a = d.action(ctx, id, stage, action); a != nil && a.Status == want {
			return true
		}
		switch st := d.status(ctx, id); st {
		case cptypes.PipelineExecutionStatusFailed, cptypes.PipelineExecutionStatusStopped, cptypes.PipelineExecutionStatusSuperseded, cptypes.PipelineExecutionStatusSucceeded:
			why := ""
			if a != nil && a.ErrorDetails != nil {
				why = aws.ToString(a.ErrorDetails.Message)
			}
			t.Fatalf("execution %s ended %s before %s/%s was %s (%s)", id, st, stage, action, want, why)
		}
		return false
	})
	return a
}

// endpoints checks that the stage's endpoint is InService in each account (as its admin) and
// that the account holds the stage's stack once; it returns the endpoint's name.
func (d *deployStory) endpoints(ctx context.Context, stage string, accounts ...string) string {
	t := d.t
	t.Helper()
	name := d.project + "-" + stage
	for _, acct := range accounts {
		cfg := d.s.config(acct)
		waitFor(t, ctx, func() bool {
			ep, err := sagemaker.NewFromConfig(cfg).DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: &name})
			if err == nil && ep.EndpointStatus == smtypes.EndpointStatusFailed {
				t.Fatalf("endpoint %s in %s: Failed (%s)", name, acct, aws.ToString(ep.FailureReason))
			}
			return err == nil && ep.EndpointStatus == smtypes.EndpointStatusInService
		})
		sts, err := cloudformation.NewFromConfig(cfg).ListStacks(ctx, &cloudformation.ListStacksInput{})
		if err != nil {
			t.Fatal(err)
		}
		var live []string
		for _, st := range sts.StackSummaries {
			if st.StackStatus != cfntypes.StackStatusDeleteComplete {
				live = append(live, aws.ToString(st.StackName)+" "+string(st.StackStatus))
			}
		}
		if len(live) != 1 || !(strings.HasSuffix(live[0], " "+string(cfntypes.StackStatusCreateComplete)) || strings.HasSuffix(live[0], " "+string(cfntypes.StackStatusUpdateComplete))) {
			t.Errorf("%s holds stacks %v, want exactly the %s stack set's instance, CREATE_COMPLETE or UPDATE_COMPLETE", acct, live, stage)
		}
	}
	set := "sagemaker-" + d.project + "-" + stage
	list, err := cloudformation.NewFromConfig(d.s.config("data-science")).ListStackInstances(ctx, &cloudformation.ListStackInstancesInput{StackSetName: &set})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Summaries) != len(accounts) {
		t.Errorf("stack set %s has %d instances, want %d (one per account)", set, len(list.Summaries), len(accounts))
	}
	for _, i := range list.Summaries {
		if i.Status != cfntypes.StackInstanceStatusCurrent {
			t.Errorf("stack set %s: instance in %s %s (%s)", set, aws.ToString(i.Account), i.Status, aws.ToString(i.StatusReason))
		}
	}
	return name
}

// TestDeployPipelineSurvivesKills tells the story of the multi-account-deployment project on a
// server it SIGKILLs twice while the approval's deploy pipeline runs:
//
//  1. while DeployStaging's stack-set operation is under way: after the restart the execution
//     goes on, the staging stage completes, and each staging account serves the endpoint from
//     exactly one stack (the stack set has one instance per account);
//  2. while the manual approval waits: after the restart GetPipelineState still shows the
//     approval pending with the same token, PutApprovalResult with it is accepted, DeployProd
//     completes and the production endpoint answers.
func TestDeployPipelineSurvivesKills(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	d := deployStoryStart(t, ctx)
	id := d.approve(ctx, d.build(ctx))

	// 1. SIGKILL with the staging stack set's operation under way (polled closely: the stage
	// takes about a second).
	for {
		a := d.action(ctx, id, "DeployStaging", "DeployStagingStackSet")
		if a != nil && a.Status == cptypes.ActionExecutionStatusInProgress {
			break
		}
		if a != nil {
			t.Fatalf("DeployStaging was never seen InProgress (now %s): the kill would not land mid-flight", a.Status)
		}
		if st := d.status(ctx, id); st != "" && st != cptypes.PipelineExecutionStatusInProgress {
			t.Fatalf("execution %s ended %s before DeployStaging", id, st)
		}
		if ctx.Err() != nil {
			t.Fatal(ctx.Err())
		}
		time.Sleep(10 * time.Millisecond)
	}
	set := "sagemaker-" + d.project + "-staging"
	if ops, err := cloudformation.NewFromConfig(d.s.config("data-science")).ListStackSetOperations(ctx, &cloudformation.ListStackSetOperationsInput{StackSetName: &set}); err == nil && len(ops.Summaries) > 0 {
		t.Logf("killing the server with DeployStaging InProgress, its stack-set operation %s", ops.Summaries[0].Status)
	} else {
		t.Logf("killing the server with DeployStaging InProgress, the stack set not yet operating (%v)", err)
	}
	d.s.crash()
	d.until(ctx, id, "DeployStaging", "DeployStagingStackSet", cptypes.ActionExecutionStatusSucceeded)
	d.endpoints(ctx, "staging", "staging", "staging-2")

	// 2. SIGKILL while the manual approval waits.
	pending := d.until(ctx, id, "ApproveDeployment", "ApproveDeployment", cptypes.ActionExecutionStatusInProgress)
	waitFor(t, ctx, func() bool {
		pending = d.action(ctx, id, "ApproveDeployment", "ApproveDeployment")
		return pending != nil && pending.Token != nil
	})
	d.s.crash()
	var after *cptypes.ActionExecution
	waitFor(t, ctx, func() bool { after = d.action(ctx, id, "ApproveDeployment", "ApproveDeployment"); return after != nil })
	if after.Status != cptypes.ActionExecutionStatusInProgress || aws.ToString(after.Token) != aws.ToString(pending.Token) {
		t.Fatalf("after the restart the approval is %s with token %q; want InProgress with %q", after.Status, aws.ToString(after.Token), aws.ToString(pending.Token))
	}
	if _, err := codepipeline.NewFromConfig(d.s.config("data-science")).PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{PipelineName: &d.deploy,
		StageName: aws.String("ApproveDeployment"), ActionName: aws.String("ApproveDeployment"), Token: after.Token,
		Result: &cptypes.ApprovalResult{Status: cptypes.ApprovalStatusApproved, Summary: aws.String("approved after a crash")}}); err != nil {
		t.Fatalf("PutApprovalResult after the restart: %v", err)
	}
	waitFor(t, ctx, func() bool {
		switch st := d.status(ctx, id); st {
		case cptypes.PipelineExecutionStatusSucceeded:
			return true
		case cptypes.PipelineExecutionStatusFailed, cptypes.PipelineExecutionStatusStopped, cptypes.PipelineExecutionStatusSuperseded:
			t.Fatalf("execution %s ended %s after the approval", id, st)
		}
		return false
	})
	name := d.endpoints(ctx, "prod", "production")
	out, err := sagemakerruntime.NewFromConfig(d.s.config("production")).InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: &name,
		ContentType: aws.String("text/csv"), Body: []byte(d.heldOutRow(ctx) + "\n")})
	if err != nil {
		t.Fatalf("InvokeEndpoint %s in production: %v", name, err)
	}
	if _, err := strconv.ParseFloat(strings.TrimSpace(string(out.Body)), 64); err != nil {
		t.Errorf("production's prediction %q is no number", out.Body)
	}
	if n := len(d.executions(ctx)); n != 2 { // the one CreatePipeline started, the approval's
		t.Errorf("the deploy pipeline has %d executions, want 2 (no execution started twice)", n)
	}
}

// servedPackage is the model package version the stage's endpoint serves in account (its
// model's ModelPackageName).
func (d *deployStory) servedPackage(ctx context.Context, stage, account string) string {
	t := d.t
	t.Helper()
	sm := sagemaker.NewFromConfig(d.s.config(account))
	ep, err := sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(d.project + "-" + stage)})
	if err != nil {
		t.Fatalf("the %s endpoint in %s: %v", stage, account, err)
	}
	ec, err := sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: ep.EndpointConfigName})
	if err != nil || len(ec.ProductionVariants) == 0 {
		t.Fatalf("the %s endpoint config in %s: %+v, %v", stage, account, ec, err)
	}
	m, err := sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: ec.ProductionVariants[0].ModelName})
	if err != nil {
		t.Fatal(err)
	}
	if m.PrimaryContainer != nil && m.PrimaryContainer.ModelPackageName != nil {
		return aws.ToString(m.PrimaryContainer.ModelPackageName)
	}
	for _, c := range m.Containers {
		if c.ModelPackageName != nil {
			return aws.ToString(c.ModelPackageName)
		}
	}
	return ""
}

// approveProduction gives execution id's pending manual approval.
func (d *deployStory) approveProduction(ctx context.Context, id string) {
	t := d.t
	t.Helper()
	var a *cptypes.ActionExecution
	waitFor(t, ctx, func() bool {
		a = d.until(ctx, id, "ApproveDeployment", "ApproveDeployment", cptypes.ActionExecutionStatusInProgress)
		return a.Token != nil
	})
	if _, err := codepipeline.NewFromConfig(d.s.config("data-science")).PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{PipelineName: &d.deploy,
		StageName: aws.String("ApproveDeployment"), ActionName: aws.String("ApproveDeployment"), Token: a.Token,
		Result: &cptypes.ApprovalResult{Status: cptypes.ApprovalStatusApproved, Summary: aws.String("promote")}}); err != nil {
		t.Fatalf("PutApprovalResult for %s: %v", id, err)
	}
}

// ended waits for execution id to end and returns how.
func (d *deployStory) ended(ctx context.Context, id string) cptypes.PipelineExecutionStatus {
	d.t.Helper()
	var st cptypes.PipelineExecutionStatus
	waitFor(d.t, ctx, func() bool {
		st = d.status(ctx, id)
		return st != "" && st != cptypes.PipelineExecutionStatusInProgress && st != cptypes.PipelineExecutionStatusStopping
	})
	return st
}

// TestDeployPipelineSupersedesAndDeploysOnce: the deploy pipeline runs in SUPERSEDED mode.
// Version 1's execution waits for the production approval; version 2's catches up to wait
// at that stage's boundary; approving version 3 while version 2's deploy is mid-flight
// supersedes it (the newer execution overtakes it at the boundary). Once the operator has
// approved 1 and then 3, every account serves version 3. Then the server restarts having
// lost event delivery's cursor, so each approval event is handed to the rule again: no
// execution starts twice.
func TestDeployPipelineSupersedesAndDeploysOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	d := deployStoryStart(t, ctx)
	began := time.Now()
	d.allAtOnce(ctx)
	v1 := d.build(ctx)
	v := []string{v1, d.register(ctx, v1), d.register(ctx, v1)}
	t.Logf("%v: three versions registered", time.Since(began).Round(time.Millisecond))

	x1 := d.approve(ctx, v[0])
	d.until(ctx, x1, "ApproveDeployment", "ApproveDeployment", cptypes.ActionExecutionStatusInProgress)
	t.Logf("%v: version 1's approval waits", time.Since(began).Round(time.Millisecond))
	x2 := d.approve(ctx, v[1])
	d.until(ctx, x2, "TestStaging", "TestStagingEndpoints", cptypes.ActionExecutionStatusSucceeded) // x2 now waits at ApproveDeployment's boundary
	x3 := d.approve(ctx, v[2])
	if st := d.ended(ctx, x2); st != cptypes.PipelineExecutionStatusSuperseded {
		t.Fatalf("version 2's execution ended %s, want Superseded by version 3's", st)
	}
	t.Logf("%v: version 2's execution superseded", time.Since(began).Round(time.Millisecond))
	d.approveProduction(ctx, x1)
	if st := d.ended(ctx, x1); st != cptypes.PipelineExecutionStatusSucceeded {
		t.Fatalf("version 1's execution ended %s after its approval", st)
	}
	t.Logf("%v: version 1 deployed", time.Since(began).Round(time.Millisecond))
	d.approveProduction(ctx, x3)
	t.Logf("%v: version 3 approved for production", time.Since(began).Round(time.Millisecond))
	if st := d.ended(ctx, x3); st != cptypes.PipelineExecutionStatusSucceeded {
		t.Fatalf("version 3's execution ended %s after its approval", st)
	}
	d.endpoints(ctx, "staging", "staging", "staging-2")
	d.endpoints(ctx, "prod", "production")
	for _, acct := range []struct{ stage, name string }{{"staging", "staging"}, {"staging", "staging-2"}, {"prod", "production"}} {
		if got := d.servedPackage(ctx, acct.stage, acct.name); got != v[2] {
			t.Errorf("%s serves %s, want version 3 (%s)", acct.name, got, v[2])
		}
	}

	t.Logf("%v: versions 1 and 3 deployed", time.Since(began).Round(time.Millisecond))

	// Every event delivered again: no execution starts twice.
	n := len(d.executions(ctx))
	if n != 4 {
		t.Errorf("%d executions before the redelivery, want 4 (CreatePipeline's, one per approval)", n)
	}
	d.s.server.kill()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(d.s.dataDir, "slipway.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Exec(`UPDATE event_cursors SET seq = 0 WHERE consumer = $1`, rules.Consumer)
	if err != nil {
		t.Fatal(err)
	}
	if rows, _ := res.RowsAffected(); rows != 1 {
		t.Fatalf("event delivery's cursor: %d rows", rows)
	}
	db.Close()
	d.s.server = launch(t, d.s.dataDir, d.s.opts, d.s.args...)
	// A sentinel event on the same bus, delivered after every earlier one is handed over again.
	acct := readAccount(t, d.s.Creds, "data-science")
	cw := cloudwatchlogs.NewFromConfig(d.s.config("data-science"))
	if _, err := cw.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/e2e/sentinel")}); err != nil {
		t.Fatal(err)
	}
	eb := eventbridge.NewFromConfig(d.s.config("data-science"))
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("sentinel"), EventPattern: aws.String(`{"source":["e2e.sentinel"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("sentinel"), Targets: []ebtypes.Target{{Id: aws.String("log"),
		Arn: aws.String("arn:aws:logs:us-east-1:" + acct + ":log-group:/e2e/sentinel")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{Source: aws.String("e2e.sentinel"),
		DetailType: aws.String("sentinel"), Detail: aws.String(`{}`)}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, func() bool {
		out, err := cw.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/e2e/sentinel")})
		return err == nil && len(out.Events) > 0
	})
	if got := len(d.executions(ctx)); got != n {
		t.Errorf("%d executions after every approval event was delivered again, want %d (a duplicate deploys once)", got, n)
	}
}
