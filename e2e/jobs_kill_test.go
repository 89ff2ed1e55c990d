package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// TestJobsSurviveServerKill SIGKILLs the server while processing jobs run, starts it again on
// the same data directory, and checks that every job completes exactly once: each worker
// appends a line to a marker file outside the job (so a second start would show) and writes an
// output that must be uploaded, and the line it printed before the kill is in its log once.
// Rounds × jobs per round = 20 jobs, each one through a crash.
func TestJobsSurviveServerKill(t *testing.T) {
	const rounds, perRound = 5, 4
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dataDir := filepath.Join(t.TempDir(), "data")
	marks := t.TempDir()
	s := startServerAt(t, dataDir)
	ds := readProfile(t, s.Creds, "data-science")
	cfg := sdkConfig(s.URL, ds)
	role, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("runner"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iam.NewFromConfig(cfg).PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("runner"), PolicyName: aws.String("out"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::kill-out","arn:aws:s3:::kill-out/*"]}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("kill-out")}); err != nil {
		t.Fatal(err)
	}
	script := `import os, sys, time
name = sys.argv[1]
with open(os.path.join(sys.argv[2], name), "a") as f:
    f.write("ran\n")
print("started", name, flush=True)
time.sleep(1.5)
with open("/opt/ml/processing/out/result.txt", "w") as f:
    f.write(name)
`
	var names []string
	for round := range rounds {
		sm := sagemaker.NewFromConfig(sdkConfig(s.URL, ds))
		for i := range perRound {
			name := fmt.Sprintf("kill-%d-%d", round, i)
			names = append(names, name)
			_, err := sm.CreateProcessingJob(ctx, &sagemaker.CreateProcessingJobInput{
				ProcessingJobName: aws.String(name), RoleArn: role.Role.Arn,
				AppSpecification: &smtypes.AppSpecification{
					ImageUri:            aws.String("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"),
					ContainerEntrypoint: []string{"python3", "-c", script, name, marks}},
				ProcessingOutputConfig: &smtypes.ProcessingOutputConfig{Outputs: []smtypes.ProcessingOutput{{OutputName: aws.String("out"),
					S3Output: &smtypes.ProcessingS3Output{S3Uri: aws.String("s3://kill-out/" + name), LocalPath: aws.String("/opt/ml/processing/out"),
						S3UploadMode: smtypes.ProcessingS3UploadModeEndOfJob}}}},
				ProcessingResources: &smtypes.ProcessingResources{ClusterConfig: &smtypes.ProcessingClusterConfig{
					InstanceType: smtypes.ProcessingInstanceTypeMlM5Large, InstanceCount: aws.Int32(1), VolumeSizeInGB: aws.Int32(1)}},
			})
			if err != nil {
				t.Fatalf("CreateProcessingJob %s: %v", name, err)
			}
		}
		// Kill the server once this round's workers have started (their marks exist).
		waitFor(t, ctx, func() bool {
			for _, n := range names[len(names)-perRound:] {
				if _, err := os.Stat(filepath.Join(marks, n)); err != nil {
					return false
				}
			}
			return true
		})
		s.kill()
		s = launch(t, dataDir, launchOptions{waitCredentials: true})
	}
	sm := sagemaker.NewFromConfig(sdkConfig(s.URL, ds))
	s3c := s3.NewFromConfig(sdkConfig(s.URL, ds), func(o *s3.Options) { o.UsePathStyle = true })
	for _, name := range names {
		var d *sagemaker.DescribeProcessingJobOutput
		waitFor(t, ctx, func() bool {
			d, err = sm.DescribeProcessingJob(ctx, &sagemaker.DescribeProcessingJobInput{ProcessingJobName: aws.String(name)})
			return err == nil && d.ProcessingJobStatus != smtypes.ProcessingJobStatusInProgress
		})
		if d.ProcessingJobStatus != smtypes.ProcessingJobStatusCompleted {
			t.Errorf("%s: %s (%s)", name, d.ProcessingJobStatus, aws.ToString(d.FailureReason))
			continue
		}
		raw, err := os.ReadFile(filepath.Join(marks, name))
		if err != nil || strings.Count(string(raw), "ran") != 1 {
			t.Errorf("%s ran %d times, want exactly once", name, strings.Count(string(raw), "ran"))
		}
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("kill-out"), Key: aws.String(name + "/result.txt")})
		if err != nil {
			t.Errorf("%s: output not uploaded: %v", name, err)
			continue
		}
		out.Body.Close()
		// The line the worker printed before the kill is in its log once: the restarted
		// server copies the worker's output again from its last saved offset, and the logs
		// skip the lines they hold.
		lg, err := cloudwatchlogs.NewFromConfig(sdkConfig(s.URL, ds)).FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{
			LogGroupName: aws.String("/aws/sagemaker/ProcessingJobs"), LogStreamNamePrefix: aws.String(name + "/")})
		if err != nil {
			t.Errorf("%s: logs: %v", name, err)
			continue
		}
		n := 0
		for _, e := range lg.Events {
			if aws.ToString(e.Message) == "started "+name {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %q is in its log %d times, want once", name, "started "+name, n)
		}
	}
}

// waitFor polls cond every 100 ms until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting: %v", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
