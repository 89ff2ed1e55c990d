package app_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
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

// TestStackSetResumesAfterRestart: a server stopped right after CreateStackInstances (its
// operation RUNNING, stacks being made) is followed by one on the same data directory that
// ends the operation with every instance CURRENT and every endpoint serving.
func TestStackSetResumesAfterRestart(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var srv *server
	open := func() (*app.App, *httptest.Server, clients) {
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
		srv = &server{app: a, url: hs.URL, account: map[string]string{"staging": profiles["staging"].Account}}
		return a, hs, clientsOf(srv.cfgFor(credentials.NewStaticCredentialsProvider(p.AccessKeyID, p.SecretAccessKey, "")))
	}
	a1, hs1, admin := open()
	_, staging, second := endpointSet(t, admin)
	op, err := cfnOf(admin.sm).CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{StackSetName: aws.String("abalone-endpoint"),
		DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: []string{staging}}, Regions: []string{"us-east-1"},
		OperationPreferences: &cfntypes.StackSetOperationPreferences{MaxConcurrentCount: aws.Int32(1)}})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := cfnOf(admin.sm).DescribeStackSetOperation(ctx, &cloudformation.DescribeStackSetOperationInput{StackSetName: aws.String("abalone-endpoint"), OperationId: op.OperationId}); err == nil {
		t.Logf("stopping the first server with the operation %s", d.StackSetOperation.Status)
	}
	hs1.Close()
	if err := a1.Close(); err != nil {
		t.Fatal(err)
	}

	a2, hs2, admin2 := open()
	t.Cleanup(func() { hs2.Close(); a2.Close() })
	cf := cfnOf(admin2.sm)
	if d := waitOperation(t, cf, "abalone-endpoint", *op.OperationId); d.Status != cfntypes.StackSetOperationStatusSucceeded {
		t.Fatalf("after the restart: %s (%s)", d.Status, aws.ToString(d.StatusReason))
	}
	got := instances(t, cf, "abalone-endpoint")
	for _, a := range []string{srv.account["staging"], second} {
		if got[a].Status != cfntypes.StackInstanceStatusCurrent {
			t.Errorf("instance in %s: %+v", a, got[a])
			continue
		}
		member := srv.inAccount(t, admin2, a)
		sts, err := cfnOf(member.sm).ListStacks(ctx, &cloudformation.ListStacksInput{})
		if err != nil || len(sts.StackSummaries) != 1 {
			t.Errorf("stacks in %s: %+v, %v; want exactly the instance's", a, sts, err)
		}
		if _, err := member.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("abalone-staging"),
			ContentType: aws.String("text/csv"), Body: []byte("1,2\n")}); err != nil {
			t.Errorf("InvokeEndpoint in %s after the restart: %v", a, err)
		}
	}
	if len(got) != 2 {
		t.Errorf("%d instances, want 2 (a restart must not make a second stack)", len(got))
	}
}
