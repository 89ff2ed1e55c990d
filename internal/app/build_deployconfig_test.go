package app_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/slipway-ml/slipway/internal/cli"
)

// TestBuildDeployConfig: slipway build deploy-config, as a build would run it (the SDK's
// default chain from the environment), picks the newest Approved version — not a newer pending
// one — and writes each stage's stack-set parameters and the held-out rows' location; a group
// without an Approved version fails.
func TestBuildDeployConfig(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	ds := clientsOf(s.cfg("data-science"))
	if _, err := ds.sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("abalone")}); err != nil {
		t.Fatal(err)
	}
	register := func(exec string, status smtypes.ModelApprovalStatus) string {
		out, err := ds.sm.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("abalone"), ModelApprovalStatus: status,
			ModelMetrics: &smtypes.ModelMetrics{ModelQuality: &smtypes.ModelQuality{Statistics: &smtypes.MetricsSource{ContentType: aws.String("application/json"),
				S3Uri: aws.String("s3://b/model-build/" + exec + "/evaluation/evaluation.json")}}}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.ModelPackageArn)
	}
	c := s.profile["data-science"]
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": c.AccessKeyID, "AWS_SECRET_ACCESS_KEY": c.SecretAccessKey, "AWS_SESSION_TOKEN": c.SessionToken,
		"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": s.url, "AWS_PROFILE": "", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull} {
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	for stage, count := range map[string]string{"staging": "1", "prod": "2"} {
		cfg := `{"Parameters": {"StageName": "` + stage + `", "EndpointInstanceCount": "` + count + `"}}`
		if err := os.WriteFile(filepath.Join(dir, stage+"-config.json"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(extra ...string) (int, string) {
		var out, errOut strings.Builder
		code := cli.Run(ctx, append([]string{"build", "deploy-config", "--model-package-group", "abalone", "--artifact-bucket", "bkt",
			"--staging-config", filepath.Join(dir, "staging-config.json"), "--prod-config", filepath.Join(dir, "prod-config.json"), "--out-dir", filepath.Join(dir, "out")}, extra...), &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, out := run(); code != 1 || !strings.Contains(out, "no Approved version") {
		t.Errorf("without an Approved version: exit %d, %s", code, out)
	}
	older := register("x1", smtypes.ModelApprovalStatusApproved)
	approved := register("x2", smtypes.ModelApprovalStatusApproved)
	pending := register("x3", smtypes.ModelApprovalStatusPendingManualApproval)
	if code, out := run(); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var params []struct{ ParameterKey, ParameterValue string }
	b, _ := os.ReadFile(filepath.Join(dir, "out", "prod-params.json"))
	if err := json.Unmarshal(b, &params); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range params {
		got[p.ParameterKey] = p.ParameterValue
	}
	want := map[string]string{"StageName": "prod", "EndpointInstanceCount": "2", "ModelPackageName": approved, "SageMakerProjectName": "abalone",
		"ArtifactBucket": "bkt", "DataScienceAccountId": s.account["data-science"]}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("prod-params %s = %q, want %q", k, got[k], v)
		}
	}
	var info struct{ ModelPackageArn, TestDataUri string }
	b, _ = os.ReadFile(filepath.Join(dir, "out", "deploy-info.json"))
	if err := json.Unmarshal(b, &info); err != nil || info.ModelPackageArn != approved || info.TestDataUri != "s3://b/model-build/x2/prepared/test.csv" {
		t.Errorf("deploy-info = %+v, %v", info, err)
	}

	// A source artifact naming a version: exactly that one, though a newer one is Approved.
	src := filepath.Join(dir, "model-package.json")
	name := func(arn string) {
		if err := os.WriteFile(src, []byte(`{"ModelPackageGroupName":"abalone","ModelPackageArn":"`+arn+`","ModelPackageVersion":1}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	name(older)
	if code, out := run("--model-package-file", src); code != 0 || !strings.Contains(out, "version 1 ") {
		t.Fatalf("with the source artifact: exit %d: %s", code, out)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "out", "deploy-info.json"))
	if err := json.Unmarshal(b, &info); err != nil || info.ModelPackageArn != older || info.TestDataUri != "s3://b/model-build/x1/prepared/test.csv" {
		t.Errorf("deploy-info from the source artifact = %+v, %v", info, err)
	}
	name(pending)
	if code, out := run("--model-package-file", src); code != 1 || !strings.Contains(out, "not Approved") {
		t.Errorf("a source artifact naming a pending version: exit %d, %s", code, out)
	}
	if _, err := ds.sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	o, err := ds.sm.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("other"), ModelApprovalStatus: smtypes.ModelApprovalStatusApproved})
	if err != nil {
		t.Fatal(err)
	}
	name(aws.ToString(o.ModelPackageArn))
	if code, out := run("--model-package-file", src); code != 1 || !strings.Contains(out, "not abalone") {
		t.Errorf("a source artifact naming another group's version: exit %d, %s", code, out)
	}
	if code, out := run("--model-package-file", filepath.Join(dir, "absent.json")); code != 1 {
		t.Errorf("a missing source artifact: exit %d, %s", code, out)
	}
}
