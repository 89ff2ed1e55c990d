package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/slipway-ml/slipway/internal/store/pgtest"
)

const sklearnImage = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:0.23-1-cpu-py3"

// pipelineRole makes (once per env) a role SageMaker may assume that may run a pipeline's
// steps (jobs, model packages, models; passing itself) and use bucket; it returns its ARN.
func (e *authzEnv) pipelineRole(bucket string) string {
	ctx := context.Background()
	name := e.name("piperole")
	out, err := e.admin.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(sagemakerTrust)})
	e.must(err)
	_, err = e.admin.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("run"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":["sagemaker:*"],"Resource":"*"},
			{"Effect":"Allow","Action":"iam:PassRole","Resource":"` + *out.Role.Arn + `"},
			{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::` + bucket + `","arn:aws:s3:::` + bucket + `/*"]}]}`)})
	e.must(err)
	if _, err := e.admin.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		_, err = e.admin.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
		e.must(err)
	}
	return *out.Role.Arn
}

// evalDefinition is a small pipeline of every kind of step the engine runs without a model:
// a processing job writes evaluation.json (its mse a parameter) as a property file; a
// condition on it (Std:JsonGet) registers a model package with the file as its metrics, or
// fails with a message. code runs in the job after it wrote the file.
func evalDefinition(role, bucket, group, code string) string {
	script := "import json,os\nd='/opt/ml/processing/evaluation'\nos.makedirs(d,exist_ok=True)\n" +
		"json.dump({'regression_metrics':{'mse':{'value':float(os.environ['MSE'])}}},open(d+'/evaluation.json','w'))\n" + code
	def := map[string]any{
		"Version": "2020-12-01",
		"Parameters": []any{
			map[string]any{"Name": "Mse", "Type": "String", "DefaultValue": "3.5"},
			map[string]any{"Name": "Threshold", "Type": "Float", "DefaultValue": 6.0},
			map[string]any{"Name": "ModelApprovalStatus", "Type": "String", "DefaultValue": "PendingManualApproval"},
		},
		"Steps": []any{
			map[string]any{"Name": "Evaluate", "Type": "Processing",
				"Arguments": map[string]any{
					"RoleArn":          role,
					"AppSpecification": map[string]any{"ImageUri": sklearnImage, "ContainerEntrypoint": []string{"python3", "-c", script}},
					"ProcessingResources": map[string]any{"ClusterConfig": map[string]any{
						"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 1}},
					"Environment": map[string]any{"MSE": map[string]any{"Get": "Parameters.Mse"}},
					"ProcessingOutputConfig": map[string]any{"Outputs": []any{map[string]any{"OutputName": "evaluation",
						"S3Output": map[string]any{"S3Uri": "s3://" + bucket + "/evaluation", "LocalPath": "/opt/ml/processing/evaluation", "S3UploadMode": "EndOfJob"}}}},
				},
				"PropertyFiles": []any{map[string]any{"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}},
			},
			map[string]any{"Name": "CheckMSE", "Type": "Condition",
				"Arguments": map[string]any{
					"Conditions": []any{map[string]any{"Type": "LessThanOrEqualTo",
						"LeftValue": map[string]any{"Std:JsonGet": map[string]any{
							"PropertyFile": map[string]any{"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"},
							"Path":         "regression_metrics.mse.value"}},
						"RightValue": map[string]any{"Get": "Parameters.Threshold"}}},
					"IfSteps": []any{map[string]any{"Name": "Register", "Type": "RegisterModel", "Arguments": map[string]any{
						"ModelPackageGroupName": group,
						"ModelApprovalStatus":   map[string]any{"Get": "Parameters.ModelApprovalStatus"},
						"InferenceSpecification": map[string]any{
							"Containers":                 []any{map[string]any{"Image": "slipway/linear", "ModelDataUrl": "s3://" + bucket + "/model.tar.gz"}},
							"SupportedContentTypes":      []string{"text/csv"},
							"SupportedResponseMIMETypes": []string{"text/csv"},
						},
						"ModelMetrics": map[string]any{"ModelQuality": map[string]any{"Statistics": map[string]any{
							"ContentType": "application/json",
							"S3Uri": map[string]any{"Std:Join": map[string]any{"On": "/", "Values": []any{
								map[string]any{"Get": "Steps.Evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"},
								"evaluation.json"}}},
						}}},
					}}},
					"ElseSteps": []any{map[string]any{"Name": "MseTooHigh", "Type": "Fail", "Arguments": map[string]any{
						"ErrorMessage": map[string]any{"Std:Join": map[string]any{"On": " ", "Values": []any{"MSE above", map[string]any{"Get": "Parameters.Threshold"}}}}}}},
				},
			},
		},
	}
	b, _ := json.Marshal(def)
	return string(b)
}

// waitExecution polls an execution until it ends.
func waitExecution(t testing.TB, sm *sagemaker.Client, arn string, within time.Duration) *sagemaker.DescribePipelineExecutionOutput {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		d, err := sm.DescribePipelineExecution(ctx, &sagemaker.DescribePipelineExecutionInput{PipelineExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		switch d.PipelineExecutionStatus {
		case smtypes.PipelineExecutionStatusSucceeded, smtypes.PipelineExecutionStatusFailed, smtypes.PipelineExecutionStatusStopped:
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s still %s after %v", arn, d.PipelineExecutionStatus, within)
		}
	}
}

func stepsOf(t testing.TB, sm *sagemaker.Client, arn string) map[string]smtypes.PipelineExecutionStep {
	t.Helper()
	out, err := sm.ListPipelineExecutionSteps(context.Background(), &sagemaker.ListPipelineExecutionStepsInput{PipelineExecutionArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]smtypes.PipelineExecutionStep{}
	for _, s := range out.PipelineExecutionSteps {
		m[aws.ToString(s.StepName)] = s
	}
	return m
}

// TestPipelineRuns runs a pipeline through the Go SDK: a processing job, a condition on its
// property file, a registered model package whose metrics are the job's evaluation.json and
// whose GeneratedBy is the execution; then the other branch's Fail step, the execution
// events, and Stop of an execution whose job is running.
func TestPipelineRuns(t *testing.T) { pipelineRuns(t, "") }

// TestPipelineRunsOnPostgres is TestPipelineRuns with the store on PostgreSQL.
func TestPipelineRunsOnPostgres(t *testing.T) { pipelineRuns(t, pgtest.Database(t)) }

func pipelineRuns(t *testing.T, database string) {
	ctx := context.Background()
	s := start(t, database)
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	sm := e.admin.sm
	role := e.pipelineRole("pipes")
	_, err := sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("evals")})
	e.must(err)
	def := evalDefinition(role, "pipes", "evals", "")
	_, err = sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("eval"), RoleArn: aws.String(role),
		PipelineDefinition: aws.String(def), ClientRequestToken: aws.String("create-eval-1-xxxxxxxxxxxxxxxxxxxxxxxxxx")})
	e.must(err)

	// The good branch.
	start1, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("eval"),
		ClientRequestToken: aws.String("run-1-token-xxxxxxxxxxxxxxxxxxxxxxxx"), PipelineParameters: []smtypes.Parameter{{Name: aws.String("Mse"), Value: aws.String("2.25")}}})
	e.must(err)
	again, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("eval"),
		ClientRequestToken: aws.String("run-1-token-xxxxxxxxxxxxxxxxxxxxxxxx"), PipelineParameters: []smtypes.Parameter{{Name: aws.String("Mse"), Value: aws.String("2.25")}}})
	e.must(err)
	if *again.PipelineExecutionArn != *start1.PipelineExecutionArn {
		t.Errorf("a retried start with one ClientRequestToken started %s, then %s", *start1.PipelineExecutionArn, *again.PipelineExecutionArn)
	}
	d := waitExecution(t, sm, *start1.PipelineExecutionArn, 60*time.Second)
	steps := stepsOf(t, sm, *start1.PipelineExecutionArn)
	steps1 := steps
	if d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusSucceeded {
		t.Fatalf("execution %s: %s; steps %+v", d.PipelineExecutionStatus, aws.ToString(d.FailureReason), steps)
	}
	if len(steps) != 3 {
		t.Errorf("steps %v, want Evaluate, CheckMSE, Register", keys(steps))
	}
	ev := steps["Evaluate"]
	if ev.Metadata == nil || ev.Metadata.ProcessingJob == nil || !strings.Contains(aws.ToString(ev.Metadata.ProcessingJob.Arn), ":processing-job/pipelines-") || aws.ToInt32(ev.AttemptCount) != 1 {
		t.Errorf("Evaluate step: %+v", ev)
	}
	if c := steps["CheckMSE"].Metadata; c == nil || c.Condition == nil || c.Condition.Outcome != "True" {
		t.Errorf("CheckMSE metadata: %+v", c)
	}
	reg := steps["Register"].Metadata
	if reg == nil || reg.RegisterModel == nil {
		t.Fatalf("Register metadata: %+v", reg)
	}
	pkg, err := sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: reg.RegisterModel.Arn})
	e.must(err)
	if pkg.MetadataProperties == nil || aws.ToString(pkg.MetadataProperties.GeneratedBy) != *start1.PipelineExecutionArn {
		t.Errorf("the package's MetadataProperties = %+v, want GeneratedBy %s", pkg.MetadataProperties, *start1.PipelineExecutionArn)
	}
	if pkg.ModelApprovalStatus != smtypes.ModelApprovalStatusPendingManualApproval {
		t.Errorf("approval %s", pkg.ModelApprovalStatus)
	}
	stats := pkg.ModelMetrics.ModelQuality.Statistics
	obj, err := e.admin.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("pipes"), Key: aws.String("evaluation/evaluation.json")})
	e.must(err)
	var report struct {
		RegressionMetrics struct {
			MSE struct{ Value float64 } `json:"mse"`
		} `json:"regression_metrics"`
	}
	e.must(json.NewDecoder(obj.Body).Decode(&report))
	if aws.ToString(stats.S3Uri) != "s3://pipes/evaluation/evaluation.json" || report.RegressionMetrics.MSE.Value != 2.25 {
		t.Errorf("metrics at %s, mse %v; want s3://pipes/evaluation/evaluation.json holding 2.25", aws.ToString(stats.S3Uri), report.RegressionMetrics.MSE.Value)
	}
	params, err := sm.ListPipelineParametersForExecution(ctx, &sagemaker.ListPipelineParametersForExecutionInput{PipelineExecutionArn: start1.PipelineExecutionArn})
	e.must(err)
	got := map[string]string{}
	for _, p := range params.PipelineParameters {
		got[*p.Name] = *p.Value
	}
	if got["Mse"] != "2.25" || got["Threshold"] != "6" && got["Threshold"] != "6.0" || got["ModelApprovalStatus"] != "PendingManualApproval" {
		t.Errorf("parameters %v", got)
	}

	// The other branch: the Fail step's message is the execution's failure reason.
	start2, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("eval"),
		ClientRequestToken: aws.String("run-2-token-xxxxxxxxxxxxxxxxxxxxxxxx"), PipelineParameters: []smtypes.Parameter{{Name: aws.String("Mse"), Value: aws.String("9")}}})
	e.must(err)
	d = waitExecution(t, sm, *start2.PipelineExecutionArn, 60*time.Second)
	steps = stepsOf(t, sm, *start2.PipelineExecutionArn)
	if d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusFailed || !strings.HasPrefix(aws.ToString(d.FailureReason), "MSE above 6") {
		t.Errorf("execution %s (%s), want Failed with the Fail step's message", d.PipelineExecutionStatus, aws.ToString(d.FailureReason))
	}
	if f := steps["MseTooHigh"]; f.StepStatus != smtypes.StepStatusFailed || f.Metadata == nil || f.Metadata.Fail == nil || !strings.HasPrefix(aws.ToString(f.Metadata.Fail.ErrorMessage), "MSE above 6") {
		t.Errorf("MseTooHigh step: %+v", f)
	}
	if _, ok := steps["Register"]; ok {
		t.Errorf("the Register step ran on the else branch")
	}
	pkgs, err := sm.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String("evals")})
	e.must(err)
	if len(pkgs.ModelPackageSummaryList) != 1 {
		t.Errorf("%d model packages, want the first execution's only", len(pkgs.ModelPackageSummaryList))
	}

	// Stop: a version whose job sleeps; the job is stopped and the execution ends Stopped.
	_, err = sm.UpdatePipeline(ctx, &sagemaker.UpdatePipelineInput{PipelineName: aws.String("eval"),
		PipelineDefinition: aws.String(evalDefinition(role, "pipes", "evals", "import time;time.sleep(600)\n"))})
	e.must(err)
	start3, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("eval"), ClientRequestToken: aws.String("run-3-token-xxxxxxxxxxxxxxxxxxxxxxxx")})
	e.must(err)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if st := stepsOf(t, sm, *start3.PipelineExecutionArn)["Evaluate"]; st.StepStatus == smtypes.StepStatusExecuting {
			break
		}
		if time.Now().After(deadline) {
			d := waitExecution(t, sm, *start3.PipelineExecutionArn, time.Second)
			t.Fatalf("the sleeping step never executed: %s %s %s", aws.ToString(stepsOf(t, sm, *start3.PipelineExecutionArn)["Evaluate"].FailureReason), d.PipelineExecutionStatus, aws.ToString(d.FailureReason))
		}
	}
	_, err = sm.StopPipelineExecution(ctx, &sagemaker.StopPipelineExecutionInput{PipelineExecutionArn: start3.PipelineExecutionArn, ClientRequestToken: aws.String("stop-3-token-xxxxxxxxxxxxxxxxxxxxxxx")})
	e.must(err)
	d = waitExecution(t, sm, *start3.PipelineExecutionArn, 60*time.Second)
	if d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusStopped {
		t.Errorf("a stopped execution is %s (%s)", d.PipelineExecutionStatus, aws.ToString(d.FailureReason))
	}
	job := stepsOf(t, sm, *start3.PipelineExecutionArn)["Evaluate"]
	name := aws.ToString(job.Metadata.ProcessingJob.Arn)
	name = name[strings.LastIndex(name, "/")+1:]
	pj, err := sm.DescribeProcessingJob(ctx, &sagemaker.DescribeProcessingJobInput{ProcessingJobName: aws.String(name)})
	e.must(err)
	if pj.ProcessingJobStatus != smtypes.ProcessingJobStatusStopped || job.StepStatus != smtypes.StepStatusStopped {
		t.Errorf("after Stop: job %s, step %s; want both Stopped", pj.ProcessingJobStatus, job.StepStatus)
	}
	// The first execution keeps version 1's definition.
	def1, err := sm.DescribePipelineDefinitionForExecution(ctx, &sagemaker.DescribePipelineDefinitionForExecutionInput{PipelineExecutionArn: start1.PipelineExecutionArn})
	e.must(err)
	if aws.ToString(def1.PipelineDefinition) != def {
		t.Errorf("the first execution's definition changed with the update")
	}
	if d1, err := sm.DescribePipelineExecution(ctx, &sagemaker.DescribePipelineExecutionInput{PipelineExecutionArn: start1.PipelineExecutionArn}); err != nil {
		t.Errorf("DescribePipelineExecution of the first execution: %v", err)
	} else if aws.ToInt64(d1.PipelineVersionId) != 1 {
		t.Errorf("the first execution's version: %v", aws.ToInt64(d1.PipelineVersionId))
	}

	// Events: each execution's status changes, with the previous status, and its steps'.
	evs, err := s.app.Store.Events().EventsAfter(ctx, 0, 10000)
	e.must(err)
	var seen []string
	for _, ev := range evs {
		if ev.DetailType != "SageMaker Model Building Pipeline Execution Status Change" {
			continue
		}
		var detail map[string]any
		e.must(json.Unmarshal(ev.Detail, &detail))
		if detail["pipelineExecutionArn"] == *start1.PipelineExecutionArn {
			seen = append(seen, fmt.Sprintf("%v>%v", detail["previousPipelineExecutionStatus"], detail["currentPipelineExecutionStatus"]))
		}
	}
	if strings.Join(seen, " ") != "<nil>>Executing Executing>Succeeded" {
		t.Errorf("execution events %v", seen)
	}
	seen = nil
	for _, ev := range evs {
		if ev.DetailType != "SageMaker Model Building Pipeline Execution Step Status Change" {
			continue
		}
		var detail struct {
			StepName, PreviousStepStatus, CurrentStepStatus, PipelineExecutionArn string
			Metadata                                                              map[string]map[string]string
		}
		e.must(json.Unmarshal(ev.Detail, &detail))
		if detail.PipelineExecutionArn == *start1.PipelineExecutionArn && detail.StepName == "Evaluate" {
			seen = append(seen, fmt.Sprintf("%s>%s", detail.PreviousStepStatus, detail.CurrentStepStatus))
			if detail.Metadata["processingJob"]["arn"] != aws.ToString(steps1["Evaluate"].Metadata.ProcessingJob.Arn) {
				t.Errorf("step event metadata %v", detail.Metadata)
			}
		}
	}
	if strings.Join(seen, " ") != ">Starting Starting>Executing Executing>Succeeded" {
		t.Errorf("Evaluate's step events %v", seen)
	}

	// A selective execution of Register alone reuses Evaluate's and CheckMSE's results from the
	// first execution (on version 1, which has them), and runs no job.
	jobsBefore, err := sm.ListProcessingJobs(ctx, &sagemaker.ListProcessingJobsInput{MaxResults: aws.Int32(100)})
	e.must(err)
	sel, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("eval"), ClientRequestToken: token(),
		PipelineVersionId: aws.Int64(1),
		SelectiveExecutionConfig: &smtypes.SelectiveExecutionConfig{SourcePipelineExecutionArn: start1.PipelineExecutionArn,
			SelectedSteps: []smtypes.SelectedStep{{StepName: aws.String("Register")}}}})
	e.must(err)
	if d := waitExecution(t, sm, *sel.PipelineExecutionArn, 30*time.Second); d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusSucceeded {
		t.Fatalf("the selective execution: %s (%s)", d.PipelineExecutionStatus, aws.ToString(d.FailureReason))
	}
	ss := stepsOf(t, sm, *sel.PipelineExecutionArn)
	for _, n := range []string{"Evaluate", "CheckMSE"} {
		if r := ss[n].SelectiveExecutionResult; r == nil || aws.ToString(r.SourcePipelineExecutionArn) != *start1.PipelineExecutionArn {
			t.Errorf("%s in the selective execution: %+v, want reused from %s", n, ss[n], *start1.PipelineExecutionArn)
		}
	}
	if r := ss["Register"]; r.StepStatus != smtypes.StepStatusSucceeded || r.SelectiveExecutionResult != nil || len(ss) != 3 {
		t.Errorf("the selective execution's steps: %v; Register %+v", keys(ss), r)
	}
	jobsAfter, err := sm.ListProcessingJobs(ctx, &sagemaker.ListProcessingJobsInput{MaxResults: aws.Int32(100)})
	e.must(err)
	if len(jobsAfter.ProcessingJobSummaries) != len(jobsBefore.ProcessingJobSummaries) {
		t.Errorf("the selective execution ran %d jobs, want none", len(jobsAfter.ProcessingJobSummaries)-len(jobsBefore.ProcessingJobSummaries))
	}
}

func ev0(m map[string]smtypes.PipelineExecutionStep) map[string]smtypes.PipelineExecutionStep {
	return m
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestPipelineCacheAndRetry: a step with CacheConfig enabled runs once for equal arguments
// (the second execution shows CacheHitResult naming the first, and no second job); a changed
// parameter in its arguments misses. A step whose job is refused for a resource limit is
// retried as its RetryPolicy says, then fails with AttemptCount 1 + MaxAttempts.
func TestPipelineCacheAndRetry(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	sm := e.admin.sm
	role := e.pipelineRole("cached")
	def := `{"Version":"2020-12-01","Parameters":[{"Name":"Word","Type":"String","DefaultValue":"a"},{"Name":"Workers","Type":"Integer","DefaultValue":1}],
"Steps":[{"Name":"Work","Type":"Processing","CacheConfig":{"Enabled":true,"ExpireAfter":"PT1H"},
 "RetryPolicies":[{"ExceptionType":["SageMaker.RESOURCE_LIMIT"],"IntervalSeconds":1,"BackoffRate":1.0,"MaxAttempts":2}],
 "Arguments":{"RoleArn":"` + role + `",
  "AppSpecification":{"ImageUri":"` + sklearnImage + `","ContainerEntrypoint":["python3","-c","print('working')"]},
  "Environment":{"WORD":{"Get":"Parameters.Word"},"RUN":{"Get":"Execution.PipelineExecutionId"}},
  "ProcessingResources":{"ClusterConfig":{"InstanceCount":{"Get":"Parameters.Workers"},"InstanceType":"ml.m5.large","VolumeSizeInGB":1}}}}]}`
	_, err := sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("cached"), RoleArn: aws.String(role),
		PipelineDefinition: aws.String(def), ClientRequestToken: token()})
	e.must(err)
	run := func(params ...smtypes.Parameter) (string, smtypes.PipelineExecutionStep) {
		t.Helper()
		out, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("cached"), ClientRequestToken: token(), PipelineParameters: params})
		e.must(err)
		waitExecution(t, sm, *out.PipelineExecutionArn, 60*time.Second)
		return *out.PipelineExecutionArn, stepsOf(t, sm, *out.PipelineExecutionArn)["Work"]
	}
	first, s1 := run()
	if s1.StepStatus != smtypes.StepStatusSucceeded || s1.CacheHitResult != nil {
		t.Fatalf("first run: %s (%s), cache %+v", s1.StepStatus, aws.ToString(s1.FailureReason), s1.CacheHitResult)
	}
	_, s2 := run()
	if s2.StepStatus != smtypes.StepStatusSucceeded || s2.CacheHitResult == nil || aws.ToString(s2.CacheHitResult.SourcePipelineExecutionArn) != first {
		t.Errorf("second run: %s, cache %+v; want a hit on %s", s2.StepStatus, s2.CacheHitResult, first)
	}
	if aws.ToString(s2.Metadata.ProcessingJob.Arn) != aws.ToString(s1.Metadata.ProcessingJob.Arn) {
		t.Errorf("the cached step names job %s, want the first run's %s", aws.ToString(s2.Metadata.ProcessingJob.Arn), aws.ToString(s1.Metadata.ProcessingJob.Arn))
	}
	_, s3 := run(smtypes.Parameter{Name: aws.String("Word"), Value: aws.String("b")})
	if s3.StepStatus != smtypes.StepStatusSucceeded || s3.CacheHitResult != nil {
		t.Errorf("a changed argument: %s, cache %+v; want a miss", s3.StepStatus, s3.CacheHitResult)
	}
	jobs, err := sm.ListProcessingJobs(ctx, &sagemaker.ListProcessingJobsInput{MaxResults: aws.Int32(100)})
	e.must(err)
	if len(jobs.ProcessingJobSummaries) != 2 {
		t.Errorf("%d processing jobs, want 2 (the hit ran none)", len(jobs.ProcessingJobSummaries))
	}

	began := time.Now()
	_, s4 := run(smtypes.Parameter{Name: aws.String("Workers"), Value: aws.String("9")})
	if s4.StepStatus != smtypes.StepStatusFailed || aws.ToInt32(s4.AttemptCount) != 3 || !strings.Contains(aws.ToString(s4.FailureReason), "InstanceCount 9") {
		t.Errorf("a refused job: %s after %d attempts (%s); want Failed after 3", s4.StepStatus, aws.ToInt32(s4.AttemptCount), aws.ToString(s4.FailureReason))
	}
	if took := time.Since(began); took < 2*time.Second {
		t.Errorf("three attempts 1 s apart took %v", took)
	}
}

// TestAbalonePipelineWithBoto3 runs examples/abalone/pipeline.json end to end with Debian's
// boto3: preprocessing, XGBoost training, evaluation, the condition on evaluation.json and the
// registration of a version whose metrics are that file.
func TestAbalonePipelineWithBoto3(t *testing.T) {
	out := runAbalone(t, "../../examples/abalone/pipeline.json")
	for _, want := range []string{
		"step PreprocessAbaloneData Succeeded 1 ['ProcessingJob']",
		"step TrainAbaloneModel Succeeded 1 ['TrainingJob']",
		"step EvaluateAbaloneModel Succeeded 1 ['ProcessingJob']",
		"step RegisterAbaloneModel Succeeded 1 ['RegisterModel']",
		"parameters PendingManualApproval s3://ds-data/abalone/abalone.csv",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("boto3 output lacks %q", want)
		}
	}
}

// TestAbaloneSDKPipelineWithBoto3 runs examples/abalone-sdk/pipeline.json, the definition the
// SageMaker Python SDK v2 writes for the Projects template, with processing scripts that keep the
// template's scripts' interfaces (testdata/abalone-sdk: preprocess.py on the scikit-learn image,
// fetching its input with boto3; evaluate.py unpickling the XGBoost Booster) and the XGBoost
// 1.0-1 image in algorithm mode.
func TestAbaloneSDKPipelineWithBoto3(t *testing.T) {
	out := runAbalone(t, "../../examples/abalone-sdk/pipeline.json", "testdata/abalone-sdk")
	for _, want := range []string{
		"step RegisterAbaloneModel-RegisterModel Succeeded 1 ['RegisterModel']",
		"parameters PendingManualApproval s3://sagemaker-us-east-1-ACCOUNT/abalone/abalone-dataset.csv",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("boto3 output lacks %q", want)
		}
	}
}

// runAbalone runs testdata/pipeline_abalone.py on a definition and checks what both abalone
// pipelines must show; it returns the script's output.
func runAbalone(t *testing.T, definition string, extra ...string) string {
	ctx := context.Background()
	s := start(t, "")
	c := s.profile["data-science"]
	args := append([]string{"testdata/pipeline_abalone.py", s.url, definition, "../algorithms/sample/abalone.csv"}, extra...)
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", args...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+c.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	t.Logf("boto3:\n%s", out)
	if err != nil {
		t.Fatalf("boto3: %v", err)
	}
	for _, want := range []string{
		"execution Succeeded",
		"step CheckMSEAbaloneEvaluation Succeeded 1 ['Condition']",
		"condition True",
		"package abalone 1 PendingManualApproval",
		"generated by execution True",
		"metrics equal evaluation.json True True",
		"mse at most 6 True",
		"model data is the training job's True",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("boto3 output lacks %q", want)
		}
	}
	if strings.HasSuffix(definition, "examples/abalone/pipeline.json") {
		checkLineage(t, s.url, c.AccessKeyID, c.SecretAccessKey)
	}
	return string(out)
}

// TestPipelineParallelismAndDelete: MaxParallelExecutionSteps 1 runs three independent steps
// one after another; DeletePipeline stops the execution still running and keeps its record.
func TestPipelineParallelismAndDelete(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	sm := e.admin.sm
	role := e.pipelineRole("parallel")
	step := func(name, seconds string) string {
		return `{"Name":"` + name + `","Type":"Processing","Arguments":{"RoleArn":"` + role + `",
  "AppSpecification":{"ImageUri":"` + sklearnImage + `","ContainerEntrypoint":["python3","-c","import time; time.sleep(` + seconds + `)"]},
  "ProcessingResources":{"ClusterConfig":{"InstanceCount":1,"InstanceType":"ml.m5.large","VolumeSizeInGB":1}}}}`
	}
	def := `{"Version":"2020-12-01","Steps":[` + step("A", "0.3") + `,` + step("B", "0.3") + `,` + step("C", "0.3") + `]}`
	_, err := sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("parallel"), RoleArn: aws.String(role),
		PipelineDefinition: aws.String(def), ClientRequestToken: token(),
		ParallelismConfiguration: &smtypes.ParallelismConfiguration{MaxParallelExecutionSteps: aws.Int32(1)}})
	e.must(err)
	out, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("parallel"), ClientRequestToken: token()})
	e.must(err)
	if d := waitExecution(t, sm, *out.PipelineExecutionArn, 60*time.Second); d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusSucceeded {
		t.Fatalf("execution %s (%s)", d.PipelineExecutionStatus, aws.ToString(d.FailureReason))
	}
	steps := stepsOf(t, sm, *out.PipelineExecutionArn)
	for _, a := range steps {
		for _, b := range steps {
			if a.StepName != b.StepName && a.StartTime.Before(*b.StartTime) && b.StartTime.Before(*a.EndTime) {
				t.Errorf("steps %s [%v, %v] and %s [%v, …] ran at once under MaxParallelExecutionSteps 1",
					*a.StepName, a.StartTime, a.EndTime, *b.StepName, b.StartTime)
			}
		}
	}

	// Delete while running: the execution stops; its record stays readable.
	_, err = sm.UpdatePipeline(ctx, &sagemaker.UpdatePipelineInput{PipelineName: aws.String("parallel"),
		PipelineDefinition: aws.String(`{"Version":"2020-12-01","Steps":[` + step("Long", "600") + `]}`)})
	e.must(err)
	out, err = sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("parallel"), ClientRequestToken: token()})
	e.must(err)
	for deadline := time.Now().Add(30 * time.Second); stepsOf(t, sm, *out.PipelineExecutionArn)["Long"].StepStatus != smtypes.StepStatusExecuting; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the long step never executed")
		}
	}
	_, err = sm.DeletePipeline(ctx, &sagemaker.DeletePipelineInput{PipelineName: aws.String("parallel"), ClientRequestToken: token()})
	e.must(err)
	if d := waitExecution(t, sm, *out.PipelineExecutionArn, 30*time.Second); d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusStopped {
		t.Errorf("an execution of a deleted pipeline is %s, want Stopped", d.PipelineExecutionStatus)
	}
	if _, err := sm.DescribePipeline(ctx, &sagemaker.DescribePipelineInput{PipelineName: aws.String("parallel")}); !strings.Contains(code(err), "ResourceNotFound") {
		t.Errorf("DescribePipeline of a deleted pipeline: %v", err)
	}
}

// TestPipelineModelAndTransform: a Model step (the SDK's ModelStep) creates a model from an
// artifact; a Transform step scores a CSV file with it, naming it by the first step's ModelName.
func TestPipelineModelAndTransform(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	sm := e.admin.sm
	role := e.pipelineRole("batch")
	_, err := e.admin.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("batch"), Key: aws.String("model/model.tar.gz"), Body: bytes.NewReader(linearModelTarGz(t))})
	e.must(err)
	_, err = e.admin.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("batch"), Key: aws.String("in/rows.csv"), Body: strings.NewReader("1,2\n0,0\n")})
	e.must(err)
	def := `{"Version":"2020-12-01","Steps":[
 {"Name":"MakeModel","Type":"Model","Arguments":{"ExecutionRoleArn":"` + role + `",
   "PrimaryContainer":{"Image":"slipway/linear","ModelDataUrl":"s3://batch/model/model.tar.gz"}}},
 {"Name":"Score","Type":"Transform","Arguments":{"ModelName":{"Get":"Steps.MakeModel.ModelName"},
   "TransformInput":{"DataSource":{"S3DataSource":{"S3DataType":"S3Prefix","S3Uri":"s3://batch/in"}},"ContentType":"text/csv","SplitType":"Line"},
   "TransformOutput":{"S3OutputPath":"s3://batch/out"},
   "TransformResources":{"InstanceCount":1,"InstanceType":"ml.m5.large"}}}]}`
	_, err = sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("batch"), RoleArn: aws.String(role),
		PipelineDefinition: aws.String(def), ClientRequestToken: token()})
	e.must(err)
	out, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("batch"), ClientRequestToken: token()})
	e.must(err)
	d := waitExecution(t, sm, *out.PipelineExecutionArn, 60*time.Second)
	steps := stepsOf(t, sm, *out.PipelineExecutionArn)
	if d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusSucceeded {
		arn := aws.ToString(steps["Score"].Metadata.TransformJob.Arn)
		input := "unknown"
		if tj, err := sm.DescribeTransformJob(ctx, &sagemaker.DescribeTransformJobInput{TransformJobName: aws.String(arn[strings.LastIndex(arn, "/")+1:])}); err != nil {
			input = fmt.Sprintf("unknown (DescribeTransformJob %s: %v)", arn, err)
		} else if tj.TransformInput != nil {
			input = aws.ToString(tj.TransformInput.ContentType)
		}
		t.Fatalf("execution %s (%s); Score: %s; input %+v", d.PipelineExecutionStatus, aws.ToString(d.FailureReason), aws.ToString(steps["Score"].FailureReason), input)
	}
	m := steps["MakeModel"].Metadata
	if m == nil || m.Model == nil || !strings.Contains(aws.ToString(m.Model.Arn), ":model/pipelines-") {
		t.Errorf("MakeModel metadata %+v", m)
	}
	if tj := steps["Score"].Metadata; tj == nil || tj.TransformJob == nil {
		t.Errorf("Score metadata %+v", tj)
	}
	list, err := e.admin.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("batch"), Prefix: aws.String("out/")})
	e.must(err)
	if len(list.Contents) != 1 {
		t.Fatalf("the transform wrote %d objects under out/, want 1", len(list.Contents))
	}
	obj, err := e.admin.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("batch"), Key: list.Contents[0].Key})
	e.must(err)
	body, _ := io.ReadAll(obj.Body)
	if got := strings.Fields(string(body)); len(got) != 2 || got[0] != "6" && !strings.HasPrefix(got[0], "6.") || got[1] != "1" && !strings.HasPrefix(got[1], "1.") {
		t.Errorf("the transform wrote %q, want 6 and 1 (y = x0 + 2·x1 + 1)", body)
	}
}
