package app_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
)

// TestStackResumesAfterRestart: a stack whose server stops right after CreateStack (its engine
// drains mid-operation: the endpoint is still Creating) is finished by the next server on the
// same data directory, endpoint included.
func TestStackResumesAfterRestart(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	open := func() (*app.App, *httptest.Server, aws.Config) {
		a, err := app.New(ctx, cfg, log, nil)
		if err != nil {
			t.Fatal(err)
		}
		a.Start(ctx)
		hs := httptest.NewServer(a.Handler())
		a.Listening(hs.URL)
		profiles, err := credfile.ReadFile(a.CredentialsPath())
		if err != nil {
			t.Fatal(err)
		}
		p := profiles["data-science"]
		return a, hs, aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), Retryer: connRetryer,
			Credentials: credentials.NewStaticCredentialsProvider(p.AccessKeyID, p.SecretAccessKey, "")}
	}
	a1, hs1, c1 := open()
	admin := clientsOf(c1)
	url, modelRole, stackRole := stackArtifact(t, admin, mustAccount(t, admin))
	body, err := os.ReadFile("testdata/stack-endpoint.yml")
	if err != nil {
		t.Fatal(err)
	}
	cf := cfnOf(admin.sm)
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("resumed"), TemplateBody: aws.String(string(body)),
		RoleARN: aws.String(stackRole), Parameters: []cfntypes.Parameter{{ParameterKey: aws.String("ModelDataUrl"), ParameterValue: aws.String(url)},
			{ParameterKey: aws.String("ExecutionRoleArn"), ParameterValue: aws.String(modelRole)},
			{ParameterKey: aws.String("StageName"), ParameterValue: aws.String("staging")}}}); err != nil {
		t.Fatal(err)
	}
	out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("resumed")})
	if err != nil || out.Stacks[0].StackStatus != cfntypes.StackStatusCreateInProgress {
		t.Fatalf("before the restart: %v, %v", out, err)
	}
	if out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("resumed")}); err == nil {
		t.Logf("stopping the first server with the stack %s", out.Stacks[0].StackStatus)
	}
	hs1.Close()
	if err := a1.Close(); err != nil {
		t.Fatal(err)
	}

	a2, hs2, c2 := open()
	t.Cleanup(func() { hs2.Close(); a2.Close() })
	admin2 := clientsOf(c2)
	if st := waitStack(t, cfnOf(admin2.sm), "resumed"); st.StackStatus != cfntypes.StackStatusCreateComplete {
		if evs, err := cfnOf(admin2.sm).DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String("resumed")}); err != nil {
			t.Logf("DescribeStackEvents resumed: %v", err)
		} else {
			for _, ev := range evs.StackEvents {
				t.Logf("event %s %s %s", *ev.LogicalResourceId, ev.ResourceStatus, aws.ToString(ev.ResourceStatusReason))
			}
		}
		t.Fatalf("after the restart: %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	if _, err := admin2.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("resumed-staging"),
		ContentType: aws.String("text/csv"), Body: []byte("1,2\n")}); err != nil {
		t.Errorf("InvokeEndpoint after the restart: %v", err)
	}
}

func mustAccount(t *testing.T, c clients) string {
	out, err := c.sts.GetCallerIdentity(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return *out.Account
}
