package app_test

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/store/pgtest"
)

// TestPipelineJobBatchAuthorization: a layer of four processing steps, whose jobs the engine
// makes in one batch, as the pipeline's role. The role's policy denies the job of step Denied,
// and step Foreign passes a role of another account: each of those two steps fails with its
// refusal, the two others' jobs are made and run, and each of the four calls leaves one audit
// record (two allowed, committed with the jobs; two refused).
func TestPipelineJobBatchAuthorization(t *testing.T) { fanbatchAuthorization(t, "") }

// TestPipelineJobBatchAuthorizationOnPostgres is TestPipelineJobBatchAuthorization with the
// store on PostgreSQL.
func TestPipelineJobBatchAuthorizationOnPostgres(t *testing.T) {
	fanbatchAuthorization(t, pgtest.Database(t))
}

func fanbatchAuthorization(t *testing.T, database string) {
	ctx := context.Background()
	s := start(t, database)
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	role, err := e.admin.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("fanbatch"), AssumeRolePolicyDocument: aws.String(sagemakerTrust)})
	e.must(err)
	_, err = e.admin.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("fanbatch"), PolicyName: aws.String("run"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":"sagemaker:*","Resource":"*"},
			{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"},
			{"Effect":"Deny","Action":"sagemaker:CreateProcessingJob","Resource":"arn:aws:sagemaker:*:*:processing-job/pipelines-*-denied-*"}]}`)})
	e.must(err)
	foreign, err := clientsOf(s.cfg("staging")).iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("fanbatch-foreign"), AssumeRolePolicyDocument: aws.String(sagemakerTrust)})
	e.must(err)

	step := func(name, roleARN string) map[string]any {
		args := map[string]any{
			"AppSpecification":    map[string]any{"ImageUri": sklearnImage, "ContainerEntrypoint": []string{"/bin/true"}},
			"ProcessingResources": map[string]any{"ClusterConfig": map[string]any{"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}},
		}
		if roleARN != "" {
			args["RoleArn"] = roleARN
		}
		return map[string]any{"Name": name, "Type": "Processing", "Arguments": args}
	}
	def, _ := json.Marshal(map[string]any{"Version": "2020-12-01", "Steps": []any{
		step("Fan0", ""), step("Fan1", ""), step("Denied", ""), step("Foreign", *foreign.Role.Arn)}})
	_, err = e.admin.sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("fanbatch"), RoleArn: role.Role.Arn,
		PipelineDefinition: aws.String(string(def)), ClientRequestToken: token()})
	e.must(err)
	x, err := e.admin.sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("fanbatch"), ClientRequestToken: token()})
	e.must(err)
	d := waitExecution(t, e.admin.sm, *x.PipelineExecutionArn, 60*time.Second)
	steps := stepsOf(t, e.admin.sm, *x.PipelineExecutionArn)
	if d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusFailed || len(steps) != 4 {
		t.Fatalf("execution %s (%s), steps %v; want Failed after the four steps", d.PipelineExecutionStatus, aws.ToString(d.FailureReason), keys(steps))
	}
	for name, want := range map[string]string{"Fan0": "", "Fan1": "", "Denied": "explicit deny", "Foreign": "iam:PassRole"} {
		st := steps[name]
		reason := aws.ToString(st.FailureReason)
		if want == "" && st.StepStatus != smtypes.StepStatusSucceeded {
			t.Errorf("step %s: %s (%s), want Succeeded", name, st.StepStatus, reason)
		}
		if want != "" && (st.StepStatus != smtypes.StepStatusFailed || !strings.Contains(reason, "CreateProcessingJob") || !strings.Contains(reason, want)) {
			t.Errorf("step %s: %s (%s), want Failed: CreateProcessingJob … %s", name, st.StepStatus, reason, want)
		}
	}
	list, err := e.admin.sm.ListProcessingJobs(ctx, &sagemaker.ListProcessingJobsInput{MaxResults: aws.Int32(100)})
	e.must(err)
	var made []string
	for _, j := range list.ProcessingJobSummaries {
		made = append(made, aws.ToString(j.ProcessingJobName))
	}
	if len(made) != 2 || !strings.Contains(made[0]+made[1], "-fan0-") || !strings.Contains(made[0]+made[1], "-fan1-") {
		t.Errorf("jobs %v, want Fan0's and Fan1's only", made)
	}

	recs, err := s.app.Store.Audit().AuditRecords(ctx, 0, 100000)
	e.must(err)
	var calls []string
	for _, r := range recs {
		var rec audit.Record
		e.must(json.Unmarshal(r.Body, &rec))
		if rec.Operation == "CreateProcessingJob" && strings.Contains(rec.PrincipalARN, ":assumed-role/fanbatch/") {
			calls = append(calls, rec.ErrorCode)
		}
	}
	sort.Strings(calls)
	if strings.Join(calls, ",") != ",,AccessDenied,AccessDenied" {
		t.Errorf("the CreateProcessingJob calls' audit records: %q; want one per call: 2 allowed, 2 refused", calls)
	}
}
