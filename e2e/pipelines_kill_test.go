package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// TestPipelineSurvivesServerKill SIGKILLs the server while a pipeline's first job runs,
// starts it again on the same data directory, and
// checks that the execution finishes with every job created and run exactly once (each worker
// appends a line to a marker file outside the job) and exactly one model package registered.
func TestPipelineSurvivesServerKill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dataDir := filepath.Join(t.TempDir(), "data")
	marks := t.TempDir()
	s := startServerAt(t, dataDir)
	ds := readProfile(t, s.Creds, "data-science")
	cfg := sdkConfig(s.URL, ds)
	ic := iam.NewFromConfig(cfg)
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("pipeline"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("pipeline"), PolicyName: aws.String("run"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:*","Resource":"*"},
			{"Effect":"Allow","Action":"iam:PassRole","Resource":"` + *role.Role.Arn + `"},
			{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::pipe-kill","arn:aws:s3:::pipe-kill/*"]}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("pipe-kill")}); err != nil {
		t.Fatal(err)
	}
	sm := sagemaker.NewFromConfig(cfg)
	if _, err := sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("killed")}); err != nil {
		t.Fatal(err)
	}
	script := `import os, sys, time
with open(os.path.join(sys.argv[2], sys.argv[1]), "a") as f:
    f.write("ran\n")
time.sleep(2)
open("/opt/ml/processing/out/result.txt", "w").write(sys.argv[1])
`
	job := func(name string, extra map[string]any) map[string]any {
		args := map[string]any{
			"RoleArn": *role.Role.Arn,
			"AppSpecification": map[string]any{"ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
				"ContainerEntrypoint": []string{"python3", "-c", script, name, marks}},
			"ProcessingResources": map[string]any{"ClusterConfig": map[string]any{"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}},
			"ProcessingOutputConfig": map[string]any{"Outputs": []any{map[string]any{"OutputName": "out",
				"S3Output": map[string]any{"S3Uri": "s3://pipe-kill/" + name, "LocalPath": "/opt/ml/processing/out", "S3UploadMode": "EndOfJob"}}}},
		}
		for k, v := range extra {
			args[k] = v
		}
		return map[string]any{"Name": name, "Type": "Processing", "Arguments": args}
	}
	def, _ := json.Marshal(map[string]any{"Version": "2020-12-01", "Steps": []any{
		job("First", nil),
		// Second reads First's output URI: a data dependency.
		job("Second", map[string]any{"Environment": map[string]any{"FIRST": map[string]any{"Get": "Steps.First.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"}}}),
		map[string]any{"Name": "Register", "Type": "RegisterModel", "DependsOn": []string{"Second"}, "Arguments": map[string]any{
			"ModelPackageGroupName": "killed",
			"InferenceSpecification": map[string]any{"Containers": []any{map[string]any{"Image": "slipway/linear",
				"ModelDataUrl": map[string]any{"Std:Join": map[string]any{"On": "/", "Values": []any{map[string]any{"Get": "Steps.Second.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"}, "result.txt"}}}}},
				"SupportedContentTypes": []string{"text/csv"}, "SupportedResponseMIMETypes": []string{"text/csv"}},
		}},
	}})
	if _, err := sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("killed"), RoleArn: role.Role.Arn,
		PipelineDefinition: aws.String(string(def)), ClientRequestToken: aws.String(strings.Repeat("c", 32))}); err != nil {
		t.Fatal(err)
	}
	started, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("killed"), ClientRequestToken: aws.String(strings.Repeat("s", 32))})
	if err != nil {
		t.Fatal(err)
	}
	// One kill while the first job runs: the restarted server must adopt that job, resolve the
	// second's reference to its output, and register once. (Each restart waits for the killed
	// server's reconcile leases to expire, about 30 s, so one kill keeps the test short.)
	waitFor(t, ctx, func() bool { _, err := os.Stat(filepath.Join(marks, "First")); return err == nil })
	s.kill()
	s = launch(t, dataDir, launchOptions{waitCredentials: true})
	sm = sagemaker.NewFromConfig(sdkConfig(s.URL, ds))
	var d *sagemaker.DescribePipelineExecutionOutput
	waitFor(t, ctx, func() bool {
		d, err = sm.DescribePipelineExecution(ctx, &sagemaker.DescribePipelineExecutionInput{PipelineExecutionArn: started.PipelineExecutionArn})
		return err == nil && d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusExecuting
	})
	steps, err := sm.ListPipelineExecutionSteps(ctx, &sagemaker.ListPipelineExecutionStepsInput{PipelineExecutionArn: started.PipelineExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	if d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusSucceeded || len(steps.PipelineExecutionSteps) != 3 {
		t.Fatalf("execution %s (%s), %d steps; want Succeeded with 3", d.PipelineExecutionStatus, aws.ToString(d.FailureReason), len(steps.PipelineExecutionSteps))
	}
	for _, st := range steps.PipelineExecutionSteps {
		if st.StepStatus != smtypes.StepStatusSucceeded || aws.ToInt32(st.AttemptCount) != 1 {
			t.Errorf("step %s: %s, attempt %d (%s)", aws.ToString(st.StepName), st.StepStatus, aws.ToInt32(st.AttemptCount), aws.ToString(st.FailureReason))
		}
	}
	for _, step := range []string{"First", "Second"} {
		raw, err := os.ReadFile(filepath.Join(marks, step))
		if err != nil || strings.Count(string(raw), "ran") != 1 {
			t.Errorf("%s's job ran %d times, want exactly once", step, strings.Count(string(raw), "ran"))
		}
	}
	jobs, err := sm.ListProcessingJobs(ctx, &sagemaker.ListProcessingJobsInput{MaxResults: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs.ProcessingJobSummaries) != 2 {
		t.Errorf("%d processing jobs, want 2 (one per step)", len(jobs.ProcessingJobSummaries))
	}
	pkgs, err := sm.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String("killed")})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs.ModelPackageSummaryList) != 1 {
		t.Errorf("%d model packages registered, want 1", len(pkgs.ModelPackageSummaryList))
	}
}
