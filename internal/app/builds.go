package app

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/slipway-ml/slipway/internal/builds"
	"github.com/slipway-ml/slipway/internal/delivery"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/executor"
	"github.com/slipway-ml/slipway/internal/executor/local"
	"github.com/slipway-ml/slipway/internal/jobcreds"
	"github.com/slipway-ml/slipway/internal/logs"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// Build projects (CodeBuild) declare their collaborators in their own terms (package builds,
// ports.go); the adapters below hand them the artifact store, the local executor, the logs
// service and the job-credentials mechanism, so a build's commands reach Slipway as the
// project's service role exactly as a job's code does as its role.

// buildsService builds the build projects' domain.
func (a *App) buildsService() {
	a.Builds = builds.NewService(builds.Config{Store: a.Store.Builds(), Authz: a.Identity, Roles: a.Identity, Region: a.cfg.Region, Now: a.now})
}

// buildsRuntime builds the build engine's runtime (after the jobs engine made the executor);
// builds not yet ended resume.
func (a *App) buildsRuntime(ctx context.Context) (*reconcile.Runtime, error) {
	self := a.cfg.SlipwayBinary
	if self == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, errs.E(errs.Internal, "cannot find the slipway binary for the builds' PATH: %v", err)
		}
		self = exe
	}
	// Builds call `slipway …` by that name whatever this binary is called: a directory of the
	// data directory holds a link named slipway to it, first on the builds' PATH.
	bin := filepath.Join(a.cfg.DataDir, "builds-bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return nil, errs.E(errs.Internal, "cannot make the builds' bin directory: %v", err)
	}
	link := filepath.Join(bin, "slipway")
	if cur, err := os.Readlink(link); err != nil || cur != self {
		os.Remove(link)
		if err := os.Symlink(self, link); err != nil {
			return nil, errs.E(errs.Internal, "cannot link the slipway binary into the builds' PATH: %v", err)
		}
	}
	engine := builds.NewEngine(builds.EngineConfig{Service: a.Builds, Store: a.Store.Builds(), Sessions: a.Identity,
		Artifacts: jobArtifacts{a.Artifacts}, Executor: buildExecutor{a.Executor}, Logs: buildLogs{a.Logs},
		Credentials: buildCredentials{a.JobCreds}, DataDir: a.cfg.DataDir, PathDirs: []string{bin, filepath.Dir(self)}, Log: a.log})
	rt := reconcile.New(a.Store.Work(), builds.WorkKind, engine, reconcile.Options{Workers: 16, Log: a.log})
	keys, err := engine.Resume(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) > 0 {
		if err := rt.Enqueue(ctx, keys...); err != nil {
			return nil, err
		}
	}
	return rt, nil
}

// buildExecutor runs a build's phases on the local executor; starting a phase already running
// re-attaches to it, and a phase whose supervisor vanished ends as lost (the build fails).
type buildExecutor struct{ x *local.Local }

var _ builds.Executor = buildExecutor{}

func (e buildExecutor) Start(ctx context.Context, s builds.ExecSpec) (string, error) {
	h, err := e.x.Start(ctx, executor.Spec{ID: s.ID, Dir: s.Dir, Command: s.Command, Env: s.Env, WorkDir: s.WorkDir})
	if errs.Is(err, errs.Conflict) {
		h, err = e.x.HandleFor(s.ID)
	}
	return string(h), err
}

func (e buildExecutor) Wait(ctx context.Context, h string) (builds.Exit, error) {
	x, err := e.x.Wait(ctx, executor.Handle(h))
	if err != nil {
		return builds.Exit{}, err
	}
	if x.Reason == executor.ReasonLost {
		return builds.Exit{Code: -1, Signal: "lost: the phase's supervisor is gone", Reason: x.Reason}, nil
	}
	return builds.Exit{Code: x.Code, Signal: x.Signal, Reason: x.Reason}, nil
}

func (e buildExecutor) Stop(ctx context.Context, h string, grace time.Duration) error {
	return e.x.Stop(ctx, executor.Handle(h), grace)
}

func (e buildExecutor) Logs(ctx context.Context, h string, follow bool) (io.ReadCloser, error) {
	return e.x.Logs(ctx, executor.Handle(h), follow)
}

// buildLogs copies builds' output into CloudWatch Logs.
type buildLogs struct{ s *logs.Service }

func (l buildLogs) AppendLines(ctx context.Context, account, group, stream, source string, first int, events []builds.LogEvent) error {
	out := make([]logs.Event, len(events))
	for i, e := range events {
		out[i] = logs.Event{Timestamp: e.Timestamp, Message: e.Message}
	}
	return l.s.AppendLines(ctx, account, group, stream, source, int64(first), out)
}

// buildCredentials hands builds their service role's credentials (grants whose source is the
// build's ARN are minted for codebuild.amazonaws.com).
type buildCredentials struct{ s *jobcreds.Service }

func (c buildCredentials) Issue(ctx context.Context, g builds.Grant) (string, error) {
	return c.s.Issue(ctx, jobcreds.Grant{Account: g.Account, RoleARN: g.RoleARN, SessionName: g.SessionName, Source: g.Source, Expires: g.Expires})
}
func (c buildCredentials) Revoke(ctx context.Context, token string) error {
	return c.s.Revoke(ctx, token)
}
func (c buildCredentials) Env(token string) map[string]string { return c.s.Env(token) }

// codeBuildAction is the Build and Test action of provider CodeBuild: it starts a build of
// ProjectName (a project whose source and artifacts are CODEPIPELINE) with the action's input
// artifacts as its sources and the pipeline's artifact store as where its output artifacts
// go, and waits for it. The build's idempotency token is the action execution id, so a
// restarted engine finds the build its first call started.
type codeBuildAction struct{ a *App }

var _ delivery.ActionSchema = codeBuildAction{}

func (codeBuildAction) Configuration() ([]string, []string) {
	return []string{"ProjectName", "PrimarySource", "EnvironmentVariables", "BatchEnabled", "CombineArtifacts"}, []string{"ProjectName"}
}

// pipelineEnv reads EnvironmentVariables: a JSON list of {name, value, type: PLAINTEXT}.
func pipelineEnv(s string) ([]builds.EnvVar, error) {
	if s == "" {
		return nil, nil
	}
	var vs []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
		Type  string `json:"type"`
	}
	if err := json.Unmarshal([]byte(s), &vs); err != nil {
		return nil, errs.E(errs.Invalid, "EnvironmentVariables must be a JSON list of {\"name\",\"value\",\"type\"}: %v", err)
	}
	out := make([]builds.EnvVar, 0, len(vs))
	for _, v := range vs {
		out = append(out, builds.EnvVar{Name: v.Name, Value: v.Value, Type: v.Type})
	}
	return out, nil
}

func (p codeBuildAction) Run(ctx context.Context, r delivery.ActionRequest) (delivery.ActionResult, error) {
	cfg := r.Action.Configuration
	if cfg["BatchEnabled"] == "true" {
		return failed("BatchEnabled (batch builds) is not supported by this server")
	}
	id := r.State["build"]
	if id == "" {
		env, err := pipelineEnv(cfg["EnvironmentVariables"])
		if err != nil {
			return delivery.ActionResult{}, err
		}
		pio := &builds.PipelineIO{PrimarySource: cfg["PrimarySource"]}
		for _, in := range r.Inputs {
			pio.Inputs = append(pio.Inputs, builds.ArtifactRef{Name: in.Name, Bucket: in.Bucket, Key: in.Key, File: in.File})
		}
		for _, name := range r.Action.OutputArtifacts {
			pio.Outputs = append(pio.Outputs, builds.ArtifactRef{Name: name, Bucket: r.ArtifactStore.Location, Key: artifactKey(r.PipelineName, name, r.ActionID)})
		}
		var b builds.Build
		err = p.a.asAction(ctx, r.Call, "codebuild", "StartBuild", func(ctx context.Context) error {
			b, err = p.a.Builds.StartBuild(ctx, r.Call, builds.StartInput{ProjectName: cfg["ProjectName"], EnvOverride: env,
				IdempotencyToken: r.ActionID, Pipeline: pio})
			return err
		})
		if err != nil {
			return delivery.ActionResult{}, err
		}
		return delivery.ActionResult{State: map[string]string{"build": b.ID}, Summary: "Build " + b.ID + " started"}, nil
	}
	var found []builds.Build
	err := p.a.asAction(ctx, r.Call, "codebuild", "BatchGetBuilds", func(ctx context.Context) error {
		var err error
		found, _, err = p.a.Builds.BatchGetBuilds(ctx, r.Call, []string{id})
		return err
	})
	if err != nil {
		return delivery.ActionResult{}, err
	}
	if len(found) != 1 {
		return delivery.ActionResult{Done: true, Error: "Build " + id + " cannot be found", ErrorCode: "JobFailed"}, nil
	}
	b := found[0]
	res := delivery.ActionResult{State: r.State, Summary: "Build " + b.ID + ": " + string(b.Status) + " (" + b.CurrentPhase + ")"}
	if !b.Status.Terminal() {
		return res, nil
	}
	res.Done = true
	if b.Status != builds.Succeeded {
		res.Error, res.ErrorCode = b.Failure()+" (logs: "+b.LogGroup+" "+b.LogStream+")", "JobFailed"
		return res, nil
	}
	if b.Pipeline != nil {
		for i, out := range b.Pipeline.Outputs {
			if i < len(r.Action.OutputArtifacts) {
				res.Outputs = append(res.Outputs, delivery.Artifact{Name: out.Name, Bucket: out.Bucket, Key: out.Key})
			}
		}
	}
	return res, nil
}
