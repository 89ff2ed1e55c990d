package app

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/executor"
	"github.com/slipway-ml/slipway/internal/executor/local"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/images"
	"github.com/slipway-ml/slipway/internal/jobcreds"
	"github.com/slipway-ml/slipway/internal/jobs"
	"github.com/slipway-ml/slipway/internal/logs"
)

// The jobs engine declares small interfaces in its own terms (package jobs, ports.go); the
// adapters below translate them to the services that implement them. Nothing here decides
// anything: the artifact store authorizes every read and write as the job's role session.

// jobArtifacts reads and writes a job's inputs and outputs through the artifact store.
type jobArtifacts struct{ s *artifacts.Service }

var _ jobs.Artifacts = jobArtifacts{}

func (a jobArtifacts) GetObject(ctx context.Context, caller identity.Caller, bucket, key string) (io.ReadCloser, error) {
	_, body, err := a.s.GetObject(ctx, caller, bucket, key, nil)
	return body, err
}

func (a jobArtifacts) PutObject(ctx context.Context, caller identity.Caller, bucket, key string, body io.Reader) error {
	_, err := a.s.PutObject(ctx, caller, artifacts.PutInput{Bucket: bucket, Key: key, Body: body})
	return err
}

func (a jobArtifacts) DeleteObject(ctx context.Context, caller identity.Caller, bucket, key string) error {
	return a.s.DeleteObject(ctx, caller, bucket, key)
}

func (a jobArtifacts) ListObjects(ctx context.Context, caller identity.Caller, bucket, prefix, token string) (jobs.ObjectPage, error) {
	out, err := a.s.ListObjects(ctx, caller, artifacts.ListInput{Bucket: bucket, Prefix: prefix, ContinuationToken: token})
	if err != nil {
		return jobs.ObjectPage{}, err
	}
	page := jobs.ObjectPage{Keys: make([]string, 0, len(out.Objects))}
	for _, o := range out.Objects {
		page.Keys = append(page.Keys, o.Key)
	}
	if out.IsTruncated {
		page.Next = out.NextContinuationToken
	}
	return page, nil
}

// jobExecutor runs a job's workers on the local executor. Starting an attempt ID that is
// already running re-attaches to it (the engine relies on that after a restart), and a
// worker whose supervisor vanished is an error, not an exit.
type jobExecutor struct{ x *local.Local }

var _ jobs.Executor = jobExecutor{}

func (e jobExecutor) Start(ctx context.Context, s jobs.ExecSpec) (string, error) {
	h, err := e.x.Start(ctx, executor.Spec{ID: s.ID, Dir: s.Dir, Command: s.Command, Env: s.Env, WorkDir: s.WorkDir,
		Resources: executor.Resources{CPUs: s.CPUs, MemoryBytes: s.Memory}})
	if errs.Is(err, errs.Conflict) {
		h, err = e.x.HandleFor(s.ID)
	}
	return string(h), err
}

func (e jobExecutor) Wait(ctx context.Context, h string) (jobs.Exit, error) {
	x, err := e.x.Wait(ctx, executor.Handle(h))
	if err != nil {
		return jobs.Exit{}, err
	}
	if x.Reason == executor.ReasonLost {
		return jobs.Exit{}, errs.E(errs.Internal, "the worker's supervisor is gone (lost)")
	}
	return jobs.Exit{Code: x.Code, Signal: x.Signal, OOMKilled: x.OOMKilled, Reason: x.Reason}, nil
}

func (e jobExecutor) Stop(ctx context.Context, h string, grace time.Duration) error {
	return e.x.Stop(ctx, executor.Handle(h), grace)
}

func (e jobExecutor) Logs(ctx context.Context, h string, follow bool) (io.ReadCloser, error) {
	return e.x.Logs(ctx, executor.Handle(h), follow)
}

func (e jobExecutor) Enforced() string { return e.x.Enforced() }

// jobLogs copies workers' output into CloudWatch Logs.
type jobLogs struct{ s *logs.Service }

func (l jobLogs) AppendLines(ctx context.Context, account, group, stream, source string, first int, events []jobs.LogEvent) error {
	out := make([]logs.Event, len(events))
	for i, e := range events {
		out[i] = logs.Event{Timestamp: e.Timestamp, Message: e.Message}
	}
	return l.s.AppendLines(ctx, account, group, stream, source, int64(first), out)
}

// jobImages resolves a job's image through the image table.
type jobImages struct{ t *images.Table }

func (i jobImages) Resolve(image string, kind jobs.Kind, spec jobs.Spec) (jobs.Runtime, error) {
	mode := map[jobs.Kind]images.Mode{jobs.TrainingJob: images.Training, jobs.ProcessingJob: images.Processing, jobs.TransformJob: images.Transform}[kind]
	rt, err := i.t.ResolveJob(image, mode, images.Job{HyperParameters: spec.HyperParameters,
		ContainerEntrypoint: spec.Entrypoint, ContainerArguments: spec.Arguments})
	if err != nil {
		return jobs.Runtime{}, err
	}
	return jobs.Runtime{Command: rt.Command, Env: rt.Env, Kind: string(rt.Kind), Complete: mode == images.Processing}, nil
}

// jobCredentials hands workers their role's credentials.
type jobCredentials struct{ s *jobcreds.Service }

func (c jobCredentials) Issue(ctx context.Context, g jobs.Grant) (string, error) {
	return c.s.Issue(ctx, jobcreds.Grant{Account: g.Account, RoleARN: g.RoleARN, SessionName: g.SessionName, Source: g.Source, Expires: g.Expires})
}
func (c jobCredentials) Revoke(ctx context.Context, token string) error {
	return c.s.Revoke(ctx, token)
}
func (c jobCredentials) Env(token string) map[string]string { return c.s.Env(token) }

// jobsEngine builds the engine that runs jobs, with its collaborators.
func (a *App) jobsEngine(dataDir string) (*jobs.Engine, error) {
	self := a.cfg.SlipwayBinary
	if self == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, errs.E(errs.Internal, "cannot find the slipway binary for the built-in images: %v", err)
		}
		self = exe
	}
	shim := a.cfg.ExecutorShim
	if len(shim) == 0 && a.cfg.SlipwayBinary != "" {
		// As the executor's default does beside this executable: the small shim binary when
		// it is installed beside slipway (it starts faster), else slipway itself.
		shim = []string{a.cfg.SlipwayBinary, local.ShimArg}
		if fast := filepath.Join(filepath.Dir(a.cfg.SlipwayBinary), local.ShimBinary); fileExists(fast) {
			shim = []string{fast}
		}
	}
	table, err := images.New(images.Options{Slipway: self, Python: a.cfg.Python, Mappings: a.cfg.Images})
	if err != nil {
		return nil, err
	}
	x, err := local.New(local.Config{StateDir: filepath.Join(dataDir, "executor"), Shim: shim})
	if err != nil {
		return nil, err
	}
	a.Executor = x
	return jobs.NewEngine(jobs.EngineConfig{
		Service: a.Jobs, Store: a.Store.Jobs(), Sessions: a.Identity, DataDir: dataDir, Log: a.log,
		Artifacts: jobArtifacts{a.Artifacts}, Executor: jobExecutor{x}, Logs: jobLogs{a.Logs},
		Images: jobImages{table}, Credentials: jobCredentials{a.JobCreds}, Models: jobModels{a.Serving},
	}), nil
}

func fileExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
