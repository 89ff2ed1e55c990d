package app_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// TestJobsAdversarial: a role the caller may not pass creates nothing; another account sees
// none of the jobs; an explicit Deny on a job wins over Allow *; bad input changes nothing.
func TestJobsAdversarial(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	ds := clientsOf(s.cfg("data-science"))
	e := &authzEnv{t: t, admin: ds, account: s.account["data-science"]}
	roleARN := e.jobRole()
	if _, err := ds.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("actor")}); err != nil {
		t.Fatal(err)
	}
	key, err := ds.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("actor")})
	if err != nil {
		t.Fatal(err)
	}
	e.actor = clientsOf(s.cfgFor(credentials.NewStaticCredentialsProvider(*key.AccessKey.AccessKeyId, *key.AccessKey.SecretAccessKey, "")))

	// PassRole denied: AccessDenied, and no job.
	e.policy(allowEverything, `{"Effect":"Deny","Action":"iam:PassRole","Resource":"`+roleARN+`"}`)
	if _, err := e.actor.sm.CreateTrainingJob(ctx, trainingInput("nopass", roleARN)); !strings.Contains(code(err), "AccessDenied") {
		t.Fatalf("create without iam:PassRole: %v", err)
	}
	if _, err := ds.sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String("nopass")}); code(err) != "ResourceNotFound" {
		t.Errorf("the refused job exists: %v", err)
	}
	// PassRole granted only to another service: still denied.
	e.policy(`{"Effect":"Allow","Action":"sagemaker:*","Resource":"*"}`,
		`{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"glue.amazonaws.com"}}}`)
	if _, err := e.actor.sm.CreateProcessingJob(ctx, processingInput("glueonly", roleARN)); !strings.Contains(code(err), "AccessDenied") {
		t.Errorf("create with PassRole for glue only: %v", err)
	}
	// A role of another account cannot be passed.
	other := "arn:aws:iam::" + s.account["staging"] + ":role/" + strings.TrimPrefix(roleARN[strings.LastIndex(roleARN, ":")+1:], "role/")
	if _, err := ds.sm.CreateTrainingJob(ctx, trainingInput("otherrole", other)); !strings.Contains(code(err), "AccessDenied") {
		t.Errorf("create with another account's role: %v", err)
	}

	// Explicit Deny on one job wins over Allow *.
	if _, err := ds.sm.CreateTrainingJob(ctx, trainingInput("guarded", roleARN)); err != nil {
		t.Fatal(err)
	}
	jobARN := "arn:aws:sagemaker:us-east-1:" + s.account["data-science"] + ":training-job/guarded"
	e.policy(allowEverything, `{"Effect":"Deny","Action":["sagemaker:DescribeTrainingJob","sagemaker:StopTrainingJob"],"Resource":"`+jobARN+`"}`)
	if _, err := e.actor.sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String("guarded")}); !strings.Contains(code(err), "AccessDenied") {
		t.Errorf("describe under Deny: %v", err)
	}
	if _, err := e.actor.sm.StopTrainingJob(ctx, &sagemaker.StopTrainingJobInput{TrainingJobName: aws.String("guarded")}); !strings.Contains(code(err), "AccessDenied") {
		t.Errorf("stop under Deny: %v", err)
	}

	// Another account: no such job, whatever its policies.
	st := clientsOf(s.cfg("staging"))
	if _, err := st.sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String("guarded")}); code(err) != "ResourceNotFound" {
		t.Errorf("another account describes the job: %v", err)
	}
	if _, err := st.sm.StopTrainingJob(ctx, &sagemaker.StopTrainingJobInput{TrainingJobName: aws.String("guarded")}); code(err) != "ResourceNotFound" {
		t.Errorf("another account stops the job: %v", err)
	}
	if out, err := st.sm.ListTrainingJobs(ctx, &sagemaker.ListTrainingJobsInput{}); err != nil || len(out.TrainingJobSummaries) != 0 {
		t.Errorf("another account lists %v, %v", out, err)
	}

	// Bad input: ValidationException naming the member, nothing stored.
	bad := trainingInput("bad", roleARN)
	bad.HyperParameters = map[string]string{"eta": strings.Repeat("1", 2501)}
	if _, err := ds.sm.CreateTrainingJob(ctx, bad); code(err) != "ValidationException" {
		t.Errorf("a 2501-character hyperparameter: %v", err)
	}
	bad = trainingInput("bad", roleARN)
	bad.OutputDataConfig.S3OutputPath = aws.String("s3://Not_A_Bucket/x")
	if _, err := ds.sm.CreateTrainingJob(ctx, bad); code(err) != "ValidationException" || !strings.Contains(err.Error(), "bucket") {
		t.Errorf("a bad output bucket: %v", err)
	}
	if _, err := ds.sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String("bad")}); code(err) != "ResourceNotFound" {
		t.Errorf("a refused job exists: %v", err)
	}
}

// TestJobsWithBoto3AndTheCLI drives the API with boto3 (Debian's /usr/bin/python3) and the
// CLI's waiter (Debian's /usr/bin/aws, v2), clients nobody here wrote.
func TestJobsWithBoto3AndTheCLI(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	roleARN := e.jobRole()
	c := s.profile["data-science"]
	env := append(os.Environ(), "AWS_ACCESS_KEY_ID="+c.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "testdata/jobs_boto3.py", s.url, roleARN, "b3")
	cmd.Env = env
	began := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("boto3 took %v", time.Since(began))
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	for _, want := range []string{"ended Failed Failed | ClientError: ",
		"duplicate ResourceInUse", "stop ValidationException", "missing ResourceNotFound", "listed 1"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("boto3 output lacks %q:\n%s", want, out)
		}
	}
	// The CLI's waiter ends on the failed job with its failure.
	cmd = exec.CommandContext(ctx, "/usr/bin/aws", "--endpoint-url", s.url, "sagemaker", "wait", "training-job-completed-or-stopped", "--training-job-name", "b3-train")
	cmd.Env = env
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Waiter TrainingJobCompletedOrStopped failed") {
		t.Errorf("aws sagemaker wait: %v\n%s", err, out)
	}
	cmd = exec.CommandContext(ctx, "/usr/bin/aws", "--endpoint-url", s.url, "sagemaker", "wait", "processing-job-completed-or-stopped", "--processing-job-name", "b3-prep")
	cmd.Env = env
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Waiter ProcessingJobCompletedOrStopped failed") {
		t.Errorf("aws sagemaker wait processing: %v\n%s", err, out)
	}
}
