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

	"github.com/slipway-ml/slipway/internal/algorithms/container"
	"github.com/slipway-ml/slipway/internal/jobs"
)

// TestSageMakerSDKRequests replays, with Debian's boto3, the requests the SageMaker Python SDK
// v2 sends (testdata/sdk_replay.py names the SDK code behind each): the default bucket,
// SKLearnProcessor.run with its uploaded code input, a scikit-learn Estimator in script mode
// (sourcedir.tar.gz uploaded with SSE, JSON-encoded hyperparameters), an XGBoost Estimator in
// algorithm mode, and its Transformer with a Line split, MultiRecord batches and the
// InputFilter/JoinSource/OutputFilter the SDK passes through. Every job runs for real.
func TestSageMakerSDKRequests(t *testing.T) {
	if jobs.TransformParamsEnv != container.EnvTransformParams {
		t.Fatalf("the engine hands transform settings in %s, the transform command reads %s", jobs.TransformParamsEnv, container.EnvTransformParams)
	}
	ctx := context.Background()
	s := start(t, "")
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	role := e.jobRole()
	bucket := "sagemaker-us-east-1-" + s.account["data-science"]
	_, err := e.admin.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role[strings.LastIndex(role, "/")+1:]), PolicyName: aws.String("data"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::` + bucket + `","arn:aws:s3:::` + bucket + `/*"]}]}`)})
	e.must(err)

	c := s.profile["data-science"]
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "testdata/sdk_replay.py", s.url, role)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+c.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "PYTHONDONTWRITEBYTECODE=1")
	began := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("boto3 took %v:\n%s", time.Since(began), out)
	if err != nil {
		t.Fatalf("boto3: %v", err)
	}
	for _, want := range []string{
		"/output/train/train.csv']",
		"script mode model 0.5 x 60 train 0.5",
		"script mode metric [('train:loss', 0.0083)]",
		"script mode log ['train-loss: 0.0083']",
		"transform lines 5",
		"SDK REPLAY OK",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("boto3 output lacks %q", want)
		}
	}
}
