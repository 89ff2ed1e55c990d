package app_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
)

// openServer starts a server on cfg's data directory; stop closes it.
func openServer(t *testing.T, cfg config.Config) (s *server, stop func()) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(context.Background(), cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Start(context.Background())
	hs := httptest.NewServer(a.Handler())
	a.Listening(hs.URL)
	s = &server{app: a, url: hs.URL, profile: map[string]aws.Credentials{}, account: map[string]string{}}
	profiles, err := credfile.ReadFile(a.CredentialsPath())
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range profiles {
		s.profile[name] = aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}
		s.account[name] = p.Account
	}
	return s, func() { hs.Close(); a.Close() }
}

// TestDeployResumesAfterRestart: an execution waiting for approval when its server stops is
// approved on the next server (same data directory, same token) and deploys to production.
func TestDeployResumesAfterRestart(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	s1, stop1 := openServer(t, cfg)
	d := newDeploySetup(t, s1)
	cp := cpOf(d.ds.sm)
	_, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: d.pipeline("model-deploy")})
	mustDo(t, err)
	execs, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("model-deploy")})
	mustDo(t, err)
	id := *execs.PipelineExecutionSummaries[0].PipelineExecutionId
	token := waitApproval(t, cp, "model-deploy", "ApproveDeployment", "Approve", id)
	stop1()

	s2, stop2 := openServer(t, cfg)
	defer stop2()
	d.s = s2
	d.ds, d.prod = clientsOf(s2.cfg("data-science")), clientsOf(s2.cfg("production"))
	cp = cpOf(d.ds.sm)
	if got := waitApproval(t, cp, "model-deploy", "ApproveDeployment", "Approve", id); got != token {
		t.Fatalf("the approval's token after the restart = %s, want %s", got, token)
	}
	_, err = cp.PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{PipelineName: aws.String("model-deploy"), StageName: aws.String("ApproveDeployment"),
		ActionName: aws.String("Approve"), Token: aws.String(token), Result: &cptypes.ApprovalResult{Status: cptypes.ApprovalStatusApproved, Summary: aws.String("after the restart")}})
	mustDo(t, err)
	if x := waitDeployExecution(t, cp, "model-deploy", id); x.Status != cptypes.PipelineExecutionStatusSucceeded {
		t.Fatalf("execution after the restart: %s (%s)", x.Status, aws.ToString(x.StatusSummary))
	}
	if st := stackStatus(t, d.prod, "model-prod"); st != cfntypes.StackStatusCreateComplete {
		t.Errorf("production stack = %s", st)
	}
}

// TestDeployRejectedAndBadInput: a rejection fails the execution and deploys nothing to
// production; declarations the server cannot run are refused with CodePipeline's error codes
// and store nothing.
func TestDeployRejectedAndBadInput(t *testing.T) {
	s := start(t, "")
	d := newDeploySetup(t, s)
	ctx := context.Background()
	cp := cpOf(d.ds.sm)
	_, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: d.pipeline("model-deploy")})
	mustDo(t, err)
	execs, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String("model-deploy")})
	mustDo(t, err)
	id := *execs.PipelineExecutionSummaries[0].PipelineExecutionId
	token := waitApproval(t, cp, "model-deploy", "ApproveDeployment", "Approve", id)
	_, err = cp.PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{PipelineName: aws.String("model-deploy"), StageName: aws.String("ApproveDeployment"),
		ActionName: aws.String("Approve"), Token: aws.String(token), Result: &cptypes.ApprovalResult{Status: cptypes.ApprovalStatusRejected, Summary: aws.String("error too high")}})
	mustDo(t, err)
	if x := waitDeployExecution(t, cp, "model-deploy", id); x.Status != cptypes.PipelineExecutionStatusFailed {
		t.Errorf("a rejected execution: %s, want Failed", x.Status)
	}
	if st := stackStatus(t, d.prod, "model-prod"); st == cfntypes.StackStatusCreateComplete {
		t.Errorf("a rejected execution deployed to production")
	}

	bad := map[string]func(p *cptypes.PipelineDeclaration){
		"InvalidActionDeclarationException": func(p *cptypes.PipelineDeclaration) {
			p.Stages[1].Actions[0].ActionTypeId.Provider = aws.String("CodeDeployToECS")
		},
		"InvalidStructureException": func(p *cptypes.PipelineDeclaration) {
			p.Stages[1].Actions[0].InputArtifacts[0].Name = aws.String("Nowhere")
		},
		"ValidationException": func(p *cptypes.PipelineDeclaration) { p.ExecutionMode = cptypes.ExecutionModeParallel },
	}
	for want, mutate := range bad {
		p := d.pipeline("bad-" + want[:8])
		mutate(p)
		if _, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: p}); code(err) != want {
			t.Errorf("%s: %v", want, err)
		}
		if _, err := cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: p.Name}); code(err) != "PipelineNotFoundException" {
			t.Errorf("a refused pipeline was stored: %v", err)
		}
	}
	if _, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: d.pipeline("model-deploy")}); code(err) != "PipelineNameInUseException" {
		t.Errorf("a second model-deploy: %v", err)
	}
}
