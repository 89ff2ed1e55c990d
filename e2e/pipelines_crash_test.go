package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
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

// TestPipelineSurvivesRepeatedKills SIGKILLs the server at least 20 times at random moments
// (while jobs run, between a step's transitions, while a registration commits) during
// consecutive executions of a chain of layers of two processing steps (a layer's two jobs are
// made in one batch, one transaction) that ends in a registration. Servers run with 2 s
// reconcile leases (SLIPWAY_TEST_RECONCILE_LEASE_TTL), so each restarted one takes the killed
// one's work over within seconds. Every execution must succeed with every
// job run exactly once (each job appends to a marker file outside the job directory, named
// for the execution and step) and exactly one model version registered per execution.
func TestPipelineSurvivesRepeatedKills(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a server 20 times")
	}
	const kills, chain = 20, 4
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dataDir := filepath.Join(t.TempDir(), "data")
	marks := t.TempDir()
	s := launchCrashing(t, dataDir, launchOptions{env: []string{"SLIPWAY_TEST_RECONCILE_LEASE_TTL=2s"}})
	cfg := s.config("data-science")
	ic := iam.NewFromConfig(cfg)
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("pipeline"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("pipeline"), PolicyName: aws.String("run"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:*","Resource":"*"},
			{"Effect":"Allow","Action":"iam:PassRole","Resource":"` + *role.Role.Arn + `"},
			{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::pipe-crash","arn:aws:s3:::pipe-crash/*"]}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("pipe-crash")}); err != nil {
		t.Fatal(err)
	}
	sm := sagemaker.NewFromConfig(cfg)
	if _, err := sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("crashed")}); err != nil {
		t.Fatal(err)
	}
	// Each job sleeps 0.2–0.8 s so kills land both inside jobs and between transitions.
	script := `import os, sys, time, random
with open(os.path.join(sys.argv[2], sys.argv[3] + "-" + sys.argv[1]), "a") as f:
    f.write("ran\n")
time.sleep(random.uniform(0.2, 0.8))
open("/opt/ml/processing/out/result.txt", "w").write(sys.argv[1])
`
	var steps []any
	for i := range chain {
		name := fmt.Sprintf("S%d", i)
		args := map[string]any{
			"RoleArn": *role.Role.Arn,
			"AppSpecification": map[string]any{"ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
				"ContainerEntrypoint": []any{"python3", "-c", script, name, marks, map[string]any{"Get": "Execution.PipelineExecutionId"}}},
			"ProcessingResources": map[string]any{"ClusterConfig": map[string]any{"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}},
			"ProcessingOutputConfig": map[string]any{"Outputs": []any{map[string]any{"OutputName": "out",
				"S3Output": map[string]any{"S3Uri": map[string]any{"Std:Join": map[string]any{"On": "/", "Values": []any{"s3://pipe-crash", map[string]any{"Get": "Execution.PipelineExecutionId"}, name}}},
					"LocalPath": "/opt/ml/processing/out", "S3UploadMode": "EndOfJob"}}}},
		}
		if i > 0 {
			// A data dependency on the previous step's output.
			args["Environment"] = map[string]any{"PREVIOUS": map[string]any{"Get": fmt.Sprintf("Steps.S%d.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri", i-1)}}
		}
		steps = append(steps, map[string]any{"Name": name, "Type": "Processing", "Arguments": args})
		// A sibling with the same dependencies: each layer's two jobs are made in one batch
		// (one transaction), so kills land around batches too.
		wide := map[string]any{}
		for k, v := range args {
			wide[k] = v
		}
		wname := fmt.Sprintf("W%d", i)
		wide["AppSpecification"] = map[string]any{"ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
			"ContainerEntrypoint": []any{"python3", "-c", script, wname, marks, map[string]any{"Get": "Execution.PipelineExecutionId"}}}
		wide["ProcessingOutputConfig"] = map[string]any{"Outputs": []any{map[string]any{"OutputName": "out",
			"S3Output": map[string]any{"S3Uri": map[string]any{"Std:Join": map[string]any{"On": "/", "Values": []any{"s3://pipe-crash", map[string]any{"Get": "Execution.PipelineExecutionId"}, wname}}},
				"LocalPath": "/opt/ml/processing/out", "S3UploadMode": "EndOfJob"}}}}
		steps = append(steps, map[string]any{"Name": wname, "Type": "Processing", "Arguments": wide})
	}
	last := fmt.Sprintf("Steps.S%d.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri", chain-1)
	steps = append(steps, map[string]any{"Name": "Register", "Type": "RegisterModel", "Arguments": map[string]any{
		"ModelPackageGroupName": "crashed",
		"InferenceSpecification": map[string]any{"Containers": []any{map[string]any{"Image": "slipway/linear",
			"ModelDataUrl": map[string]any{"Std:Join": map[string]any{"On": "/", "Values": []any{map[string]any{"Get": last}, "result.txt"}}}}},
			"SupportedContentTypes": []string{"text/csv"}, "SupportedResponseMIMETypes": []string{"text/csv"}},
	}})
	def, _ := json.Marshal(map[string]any{"Version": "2020-12-01", "Steps": steps})
	if _, err := sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("crashed"), RoleArn: role.Role.Arn,
		PipelineDefinition: aws.String(string(def)), ClientRequestToken: aws.String(strings.Repeat("c", 32))}); err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	var executions []string
	started := time.Now()
	// start starts execution n (its token makes a start retried after a kill the same one).
	start := func(n int) (string, error) {
		out, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("crashed"),
			ClientRequestToken: aws.String(fmt.Sprintf("crash-execution-%04d-%s", n, strings.Repeat("x", 20)))})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.PipelineExecutionArn), nil
	}
	status := func(arn string) smtypes.PipelineExecutionStatus {
		d, err := sm.DescribePipelineExecution(ctx, &sagemaker.DescribePipelineExecutionInput{PipelineExecutionArn: aws.String(arn)})
		if err != nil {
			return ""
		}
		return d.PipelineExecutionStatus
	}
	for k := 0; k < kills; k++ {
		// Keep an execution running: start the next one when the current one has ended.
		if len(executions) == 0 || status(executions[len(executions)-1]) != smtypes.PipelineExecutionStatusExecuting {
			if n := len(executions); n > 0 && status(executions[n-1]) != smtypes.PipelineExecutionStatusSucceeded {
				t.Fatalf("execution %s ended %s: %s", executions[n-1], status(executions[n-1]), stepFailures(ctx, sm, executions[n-1]))
			}
			arn, err := start(len(executions))
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			executions = append(executions, arn)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(1500 * time.Millisecond))))
		s.crash()
		sm = sagemaker.NewFromConfig(s.config("data-science"))
	}
	t.Logf("%d kills during %d executions in %v", s.kills, len(executions), time.Since(started).Round(time.Millisecond))
	for _, arn := range executions {
		var st smtypes.PipelineExecutionStatus
		waitFor(t, ctx, func() bool { st = status(arn); return st != "" && st != smtypes.PipelineExecutionStatusExecuting })
		if st != smtypes.PipelineExecutionStatusSucceeded {
			var reason string
			if d, err := sm.DescribePipelineExecution(ctx, &sagemaker.DescribePipelineExecutionInput{PipelineExecutionArn: aws.String(arn)}); err != nil {
				reason = fmt.Sprintf("DescribePipelineExecution: %v", err)
			} else {
				reason = aws.ToString(d.FailureReason)
			}
			t.Errorf("execution %s: %s (%s): %s", arn, st, reason, stepFailures(ctx, sm, arn))
			continue
		}
		id := arn[strings.LastIndex(arn, "/")+1:]
		for i := range chain {
			for _, p := range []string{"S", "W"} {
				raw, err := os.ReadFile(filepath.Join(marks, fmt.Sprintf("%s-%s%d", id, p, i)))
				if n := strings.Count(string(raw), "ran"); err != nil || n != 1 {
					t.Errorf("execution %s: step %s%d's job ran %d times, want exactly once", id, p, i, n)
				}
			}
		}
	}
	t.Logf("all executions ended %v after the first start", time.Since(started).Round(time.Millisecond))
	jobs, err := sm.ListProcessingJobs(ctx, &sagemaker.ListProcessingJobsInput{MaxResults: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * chain * len(executions); len(jobs.ProcessingJobSummaries) != want {
		t.Errorf("%d processing jobs, want %d (one per step and execution)", len(jobs.ProcessingJobSummaries), want)
	}
	pkgs, err := sm.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String("crashed"), MaxResults: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs.ModelPackageSummaryList) != len(executions) {
		t.Errorf("%d model versions registered, want %d (exactly one per execution)", len(pkgs.ModelPackageSummaryList), len(executions))
	}
}

// stepFailures lists the failed steps of an execution with their reasons.
func stepFailures(ctx context.Context, sm *sagemaker.Client, arn string) string {
	out, err := sm.ListPipelineExecutionSteps(ctx, &sagemaker.ListPipelineExecutionStepsInput{PipelineExecutionArn: aws.String(arn)})
	if err != nil {
		return err.Error()
	}
	var fs []string
	for _, st := range out.PipelineExecutionSteps {
		if st.StepStatus != smtypes.StepStatusSucceeded {
			fs = append(fs, fmt.Sprintf("%s %s attempt %d: %s", aws.ToString(st.StepName), st.StepStatus, aws.ToInt32(st.AttemptCount), aws.ToString(st.FailureReason)))
		}
	}
	return strings.Join(fs, "; ")
}
