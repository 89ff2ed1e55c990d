package app_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
)

// gateSpec is a buildspec whose build phase says it started and waits for a release file.
const gateSpec = `version: 0.2
phases:
  build:
    commands:
      - echo before
      - touch "$GATE/started"
      - while [ ! -f "$GATE/release" ]; do sleep 0.05; done
      - echo after
`

// clockServer starts a server on cfg whose clock runs offset ahead of the wall clock.
func clockServer(t *testing.T, cfg config.Config, offset *atomic.Int64) (*server, func()) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(context.Background(), cfg, log, func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
	if err != nil {
		t.Fatal(err)
	}
	a.Start(context.Background())
	hs := httptest.NewServer(a.Handler())
	a.Listening(hs.URL)
	s := &server{app: a, url: hs.URL, profile: map[string]aws.Credentials{}, account: map[string]string{}}
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

func gateProject(t *testing.T, s *server) *codebuild.Client {
	t.Helper()
	ctx := context.Background()
	ic := iam.NewFromConfig(s.cfg("data-science"))
	r, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("gate"), AssumeRolePolicyDocument: aws.String(codebuildTrust)})
	must(t, err)
	cb := codebuild.NewFromConfig(s.cfg("data-science"))
	in := projectInput("gate", *r.Role.Arn)
	in.Source.Buildspec = aws.String(gateSpec)
	in.TimeoutInMinutes = aws.Int32(5)
	_, err = cb.CreateProject(ctx, in)
	must(t, err)
	return cb
}

func startGate(t *testing.T, cb *codebuild.Client, gate string) string {
	t.Helper()
	st, err := cb.StartBuild(context.Background(), &codebuild.StartBuildInput{ProjectName: aws.String("gate"),
		EnvironmentVariablesOverride: []cbtypes.EnvironmentVariable{{Name: aws.String("GATE"), Value: aws.String(gate)}}})
	must(t, err)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(gate, "started")); err == nil {
			return *st.Build.Id
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the build's phase never started")
	return ""
}

func waitBuild(t *testing.T, cb *codebuild.Client, id string) cbtypes.Build {
	t.Helper()
	e := &buildEnv{cb: cb}
	return e.wait(t, id)
}

func buildPhase(b cbtypes.Build, typ cbtypes.BuildPhaseType) cbtypes.BuildPhase {
	for _, p := range b.Phases {
		if p.PhaseType == typ {
			return p
		}
	}
	return cbtypes.BuildPhase{}
}

// TestBuildResumesAfterRestart: a server stopped while a build's phase runs leaves the phase
// running; the next server on the same data directory re-attaches to it, copies the log lines
// not yet copied (none twice), and ends the build SUCCEEDED.
func TestBuildResumesAfterRestart(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	var offset atomic.Int64
	s1, stop1 := clockServer(t, cfg, &offset)
	cb := gateProject(t, s1)
	gate := t.TempDir()
	id := startGate(t, cb, gate)
	stop1()

	s2, stop2 := clockServer(t, cfg, &offset)
	defer stop2()
	must(t, os.WriteFile(filepath.Join(gate, "release"), nil, 0o644))
	cb2 := codebuild.NewFromConfig(s2.cfg("data-science"))
	b := waitBuild(t, cb2, id)
	e := &buildEnv{s: s2, cb: cb2}
	logs := e.logs(t, b)
	if b.BuildStatus != cbtypes.StatusTypeSucceeded {
		t.Fatalf("after the restart the build ended %s; logs:\n%s", b.BuildStatus, logs)
	}
	if strings.Count(logs, "\nbefore\n") != 1 || strings.Count(logs, "\nafter\n") != 1 {
		t.Errorf("each output line once, in order; logs:\n%s", logs)
	}
}

// TestBuildStopAndTimeout: StopBuild ends a running build STOPPED; a build past its
// timeoutInMinutes (the server's clock moved on) ends TIMED_OUT; both stop the phase's
// process.
func TestBuildStopAndTimeout(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	var offset atomic.Int64
	s, stop := clockServer(t, cfg, &offset)
	defer stop()
	cb := gateProject(t, s)
	ctx := context.Background()

	id := startGate(t, cb, t.TempDir())
	out, err := cb.StopBuild(ctx, &codebuild.StopBuildInput{Id: aws.String(id)})
	must(t, err)
	if out.Build.BuildStatus != cbtypes.StatusTypeInProgress {
		t.Errorf("StopBuild answered %s", out.Build.BuildStatus)
	}
	b := waitBuild(t, cb, id)
	if b.BuildStatus != cbtypes.StatusTypeStopped || buildPhase(b, cbtypes.BuildPhaseTypeBuild).PhaseStatus != cbtypes.StatusTypeStopped {
		t.Errorf("a stopped build: %s, BUILD %s", b.BuildStatus, buildPhase(b, cbtypes.BuildPhaseTypeBuild).PhaseStatus)
	}

	id = startGate(t, cb, t.TempDir())
	offset.Store(int64(6 * time.Minute)) // past the project's 5 minutes
	b = waitBuild(t, cb, id)
	if b.BuildStatus != cbtypes.StatusTypeTimedOut {
		t.Errorf("a build past its timeout: %s %+v", b.BuildStatus, b.Phases)
	}
	p := buildPhase(b, cbtypes.BuildPhaseTypeBuild)
	if len(p.Contexts) == 0 || !strings.Contains(aws.ToString(p.Contexts[0].Message), "timeout of 5 minutes") {
		t.Errorf("the timed-out phase's context: %+v", p.Contexts)
	}

	// Another account's user cannot stop ours (and a bad id is InvalidInput).
	other := codebuild.NewFromConfig(s.cfgFor(credentials.NewStaticCredentialsProvider(s.profile["staging"].AccessKeyID, s.profile["staging"].SecretAccessKey, "")))
	if _, err := other.StopBuild(ctx, &codebuild.StopBuildInput{Id: aws.String(id)}); code(err) != "ResourceNotFoundException" {
		t.Errorf("another account's StopBuild: %v", err)
	}
	if _, err := cb.StopBuild(ctx, &codebuild.StopBuildInput{Id: aws.String("no-colon")}); code(err) != "InvalidInputException" {
		t.Errorf("StopBuild of a malformed id: %v", err)
	}
}
