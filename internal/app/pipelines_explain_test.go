package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/cli"
	"github.com/slipway-ml/slipway/internal/slipwayclient"
)

// slipwayOf is a client of Slipway's own operations with an SDK client's endpoint and
// credentials.
func slipwayOf(sm *sagemaker.Client) *slipwayclient.Client {
	o := sm.Options()
	return slipwayclient.New(aws.Config{Region: o.Region, Credentials: o.Credentials, BaseEndpoint: o.BaseEndpoint})
}

// explainCacheCase is the authorization case of SlipwayExplainPipelineStepCache (declared
// with sagemaker:DescribePipelineExecution on the execution).
func explainCacheCase() opCase {
	return opCase{(*authzEnv).execution, func(ctx context.Context, e *authzEnv, v map[string]string) error {
		_, err := slipwayOf(e.actor.sm).ExplainPipelineStepCache(ctx, v["PipelineExecutionArn"], "Check")
		return err
	}}
}

// TestExplainCache: a miss after a parameter change names exactly the argument path the
// parameter feeds, with both values; a hit compares with the execution it reused and shows no
// difference; a step without caching has no key. Bad input, another account and an explicit
// Deny are refused in SageMaker's error shape.
func TestExplainCache(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"], org: map[string]string{}}
	sm := e.admin.sm
	role := e.pipelineRole("explained")
	def := `{"Version":"2020-12-01","Parameters":[{"Name":"Word","Type":"String","DefaultValue":"a"}],
"Steps":[{"Name":"Work","Type":"Processing","CacheConfig":{"Enabled":true,"ExpireAfter":"PT1H"},
 "Arguments":{"RoleArn":"` + role + `",
  "AppSpecification":{"ImageUri":"` + sklearnImage + `","ContainerEntrypoint":["python3","-c","print('working')"]},
  "Environment":{"WORD":{"Get":"Parameters.Word"},"RUN":{"Get":"Execution.PipelineExecutionId"}},
  "ProcessingResources":{"ClusterConfig":{"InstanceCount":1,"InstanceType":"ml.m5.large","VolumeSizeInGB":1}}}},
 {"Name":"Check","Type":"Condition","DependsOn":["Work"],"Arguments":{"Conditions":[{"Type":"Equals","LeftValue":1,"RightValue":1}],"IfSteps":[],"ElseSteps":[]}}]}`
	_, err := sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String("explained"), RoleArn: aws.String(role),
		PipelineDefinition: aws.String(def), ClientRequestToken: token()})
	e.must(err)
	run := func(word string) string {
		t.Helper()
		out, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("explained"), ClientRequestToken: token(),
			PipelineParameters: []smtypes.Parameter{{Name: aws.String("Word"), Value: aws.String(word)}}})
		e.must(err)
		if d := waitExecution(t, sm, *out.PipelineExecutionArn, 60*time.Second); d.PipelineExecutionStatus != smtypes.PipelineExecutionStatusSucceeded {
			t.Fatalf("execution %s: %s", *out.PipelineExecutionArn, d.PipelineExecutionStatus)
		}
		return *out.PipelineExecutionArn
	}
	first := run("a")
	second := run("b")
	third := run("b")
	sc := slipwayOf(sm)

	x, err := sc.ExplainPipelineStepCache(ctx, first, "Work")
	e.must(err)
	if x.CacheKey == "" || x.CacheHitResult != nil || x.ComparedPipelineExecutionArn != "" || len(x.Differences) != 0 {
		t.Errorf("first execution: %+v; want a key, a miss and nothing to compare with", x)
	}
	x, err = sc.ExplainPipelineStepCache(ctx, second, "Work")
	e.must(err)
	want := []slipwayclient.Difference{{Path: "$.Environment.WORD", Before: `"a"`, After: `"b"`}}
	if x.CacheHitResult != nil || x.ComparedPipelineExecutionArn != first || x.Expired {
		t.Errorf("second execution: %+v; want a miss compared with %s", x, first)
	}
	if diff := cmp.Diff(want, x.Differences); diff != "" {
		t.Errorf("second execution's differences (-want +got):\n%s", diff)
	}
	x, err = sc.ExplainPipelineStepCache(ctx, third, "Work")
	e.must(err)
	if x.CacheHitResult == nil || x.CacheHitResult.SourcePipelineExecutionArn != second || x.ComparedPipelineExecutionArn != second || len(x.Differences) != 0 {
		t.Errorf("third execution: %+v; want a hit on %s with no differences", x, second)
	}
	x, err = sc.ExplainPipelineStepCache(ctx, third, "Check")
	e.must(err)
	if x.CacheKey != "" || x.ComparedPipelineExecutionArn != "" {
		t.Errorf("a Condition step: %+v; want no key", x)
	}

	code := func(err error) string {
		var se *slipwayclient.Error
		if errors.As(err, &se) {
			return se.Code
		}
		return "not a server error: " + err.Error()
	}
	for _, c := range []struct{ arn, step, code string }{
		{"not-an-arn", "Work", "ValidationException"},
		{third, "", "ValidationException"},
		{third, "Nope", "ResourceNotFound"},
		{strings.Replace(third, "/execution/", "/execution/x", 1), "Work", "ResourceNotFound"},
	} {
		if _, err := sc.ExplainPipelineStepCache(ctx, c.arn, c.step); err == nil || code(err) != c.code {
			t.Errorf("explain %q %q: %v; want %s", c.arn, c.step, err, c.code)
		}
	}

	// A user allowed everything but denied DescribePipelineExecution on the execution.
	_, err = e.admin.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("actor")})
	e.must(err)
	key, err := e.admin.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("actor")})
	e.must(err)
	e.actor = clientsOf(s.cfgFor(credentials.NewStaticCredentialsProvider(*key.AccessKey.AccessKeyId, *key.AccessKey.SecretAccessKey, "")))
	e.policy(`{"Effect":"Allow","Action":"*","Resource":"*"}`, `{"Effect":"Deny","Action":"sagemaker:DescribePipelineExecution","Resource":"`+third+`"}`)
	if _, err := slipwayOf(e.actor.sm).ExplainPipelineStepCache(ctx, third, "Work"); err == nil || code(err) != "AccessDeniedException" {
		t.Errorf("under an explicit Deny: %v; want AccessDeniedException", err)
	}
	if _, err := slipwayOf(e.actor.sm).ExplainPipelineStepCache(ctx, second, "Work"); err != nil {
		t.Errorf("another execution, not denied: %v", err)
	}
	// Another account's execution.
	other := clientsOf(s.cfg("staging"))
	if _, err := slipwayOf(other.sm).ExplainPipelineStepCache(ctx, third, "Work"); err == nil || code(err) != "AccessDeniedException" {
		t.Errorf("another account: %v; want AccessDeniedException", err)
	}
}

// checkLineage runs `slipway models lineage abalone/1` against the server at url: the
// version names its execution, the RegisterModel step, the training step and job, and the
// training job's input channels.
func checkLineage(t *testing.T, url, key, secret string) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", key)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	var out, errOut strings.Builder
	if code := cli.Run(context.Background(), []string{"models", "lineage", "abalone/1", "--endpoint", url}, &out, &errOut); code != 0 {
		t.Fatalf("slipway models lineage: exit %d: %s", code, errOut.String())
	}
	t.Logf("lineage:\n%s", out.String())
	for _, want := range []string{
		"model package  arn:aws:sagemaker:us-east-1:",
		"execution      arn:aws:sagemaker:us-east-1:",
		"step           RegisterAbaloneModel (Succeeded)",
		"training step  TrainAbaloneModel (Succeeded)",
		"training job   arn:aws:sagemaker:us-east-1:",
		"  input train  s3://",
		"  input validation s3://",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("lineage lacks %q", want)
		}
	}
}
