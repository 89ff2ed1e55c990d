package app_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// TestJobsRunWithBoto3 runs real jobs end to end, driven by Debian's boto3: the artifact
// store, the job's role session (the container credentials endpoint, and the proxy that
// brings Debian's boto3 1.26 inside the job to this server), the local executor with /opt/ml,
// the built-in XGBoost trainer writing what the 1.0-1 image writes (checked with the real
// xgboost), CloudWatch Logs, AccessDenied for a role that may not read, Stop and
// MaxRuntimeInSeconds.
func TestJobsRunWithBoto3(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	runner := e.jobRole()
	name := runner[strings.LastIndex(runner, "/")+1:]
	_, err := e.admin.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("data"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::jobs-run","arn:aws:s3:::jobs-run/*"]}]}`)})
	e.must(err)
	noread := e.jobRole()

	c := s.profile["data-science"]
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "testdata/jobs_run.py", s.url, runner, noread, "jobs-run")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+c.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	began := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("boto3 took %v:\n%s", time.Since(began), out)
	if err != nil {
		t.Fatalf("boto3: %v", err)
	}
	for _, want := range []string{
		"prep Completed",
		"prepared ['prepared/train/train.csv', 'prepared/validation/validation.csv']",
		"train Completed Completed",
		"log stream train/algo lines True",
		"noread Failed True",
		"sleeper Stopped",
		"slow Stopped",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("boto3 output lacks %q", want)
		}
	}
}
