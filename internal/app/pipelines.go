package app

import (
	"context"
	"encoding/json"
	"io"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/jobs"
	"github.com/slipway-ml/slipway/internal/pipeline"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// Pipelines declare their collaborators in their own terms (package pipeline, ports.go); the
// adapters below translate them. The engine makes a step's job, model or model package through
// the SageMaker API served in this process, as a session of the pipeline's role: the owning
// service authorizes and audits it as it would any client's call.

// pipelineService builds the pipelines' API domain.
func (a *App) pipelineService() {
	a.Pipelines = pipeline.NewService(pipeline.ServiceConfig{
		Store: a.Store.Pipelines(), Authz: a.Identity, Roles: a.Identity, Objects: objectReader{jobArtifacts{a.Artifacts}},
		Region: a.cfg.Region, Now: a.now,
	})
}

// pipelineRuntime builds the execution engine's runtime; every execution not yet ended is
// enqueued, so a restarted server resumes them.
func (a *App) pipelineRuntime(ctx context.Context) (*reconcile.Runtime, error) {
	engine := pipeline.NewEngine(pipeline.EngineConfig{
		Service: a.Pipelines, Store: a.Store.Pipelines(), Sessions: a.Identity,
		SageMaker: inProcessSageMaker{a}, JobBatch: inProcessSageMaker{a}, Objects: objectReader{jobArtifacts{a.Artifacts}}, Jobs: jobStatuses{a}, Log: a.log,
		Lambdas: lambdaCommands(a.cfg.Lambdas), CallbackTimeout: a.cfg.CallbackTimeout,
	})
	rt := reconcile.New(a.Store.Work(), pipeline.WorkKind, engine, reconcile.Options{Workers: 16, Log: a.log})
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

// inProcessSageMaker calls the SageMaker API in process as a caller (an engine's session),
// each call audited as the engine acting for the session.
type inProcessSageMaker struct{ a *App }

var _ pipeline.SageMaker = inProcessSageMaker{}

var _ pipeline.JobBatch = inProcessSageMaker{}

func (s inProcessSageMaker) Call(ctx context.Context, caller identity.Caller, op string, input any) (json.RawMessage, error) {
	ctx = s.waiter(ctx)
	svc, err := s.api()
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	err = s.a.Audit.Engine(ctx, s.record(caller, op), func(ctx context.Context) error {
		var err error
		out, err = svc.Invoke(ctx, caller, s.a.cfg.Region, op, input)
		return err
	})
	return out, err
}

// CreateJobs makes each call as Call would, under its own audit record, with the jobs
// service holding the job back (jobs.WithBatch); then the jobs allowed commit together, each
// with its record. A call refused, or whose job exists already, is recorded by itself, as
// Call records it.
func (s inProcessSageMaker) CreateJobs(ctx context.Context, caller identity.Caller, calls []pipeline.JobCall) ([]error, error) {
	ctx = s.waiter(ctx)
	svc, err := s.api()
	if err != nil {
		return nil, err
	}
	b := new(jobs.Batch)
	results := make([]error, len(calls))
	records := make([]*audit.Pending, len(calls))
	held := make([]int, 0, len(calls)) // held[k]: the call whose job is the batch's k-th
	for i, c := range calls {
		cctx, p := audit.ForEngine(ctx, s.record(caller, c.Operation))
		records[i] = p
		before := b.Len()
		_, results[i] = svc.Invoke(jobs.WithBatch(cctx, b), caller, s.a.cfg.Region, c.Operation, c.Input)
		if results[i] == nil && b.Len() == before+1 {
			held = append(held, i)
		} else if results[i] == nil {
			results[i] = errs.E(errs.Internal, "%s held no job back for the batch", c.Operation)
		}
	}
	var stored []error
	if len(held) > 0 {
		if stored, err = s.a.Jobs.CreateBatch(ctx, b); err != nil {
			for _, i := range held {
				results[i] = err
			}
		}
		for k, i := range held {
			if err == nil {
				results[i] = stored[k]
			}
		}
	}
	for i, p := range records {
		if rerr := s.a.Audit.EngineDone(ctx, p, results[i]); rerr != nil && results[i] == nil {
			results[i] = rerr
		}
	}
	if err != nil {
		return nil, err
	}
	return results, nil
}

// waiter makes a job the engine makes record the execution as its waiter: the job's end
// enqueues the execution in the same transaction, so the engine need not poll.
func (s inProcessSageMaker) waiter(ctx context.Context) context.Context {
	if f, ok := reconcile.FenceFrom(ctx); ok && f.Kind == pipeline.WorkKind {
		ctx = jobs.WithWaiter(ctx, jobs.Waiter{Kind: f.Kind, Key: f.Key})
	}
	return ctx
}

func (s inProcessSageMaker) api() (*awsapi.Service, error) {
	for _, x := range s.a.svcs {
		if x.Name == "sagemaker" {
			return x, nil
		}
	}
	return nil, errs.E(errs.Unavailable, "the SageMaker API is not built yet")
}

// record is the audit record of a call the engine makes as caller.
func (s inProcessSageMaker) record(caller identity.Caller, op string) audit.Record {
	return audit.Record{
		Time: s.a.now(), Account: caller.Account, PrincipalARN: caller.ARN, UserAgent: pipeline.ServicePrincipal,
		Service: "sagemaker", Operation: op, Decision: "allow", Reason: "the pipelines engine runs a step as the pipeline's role",
	}
}

// jobStatuses reads the status of the jobs a pipeline made from the jobs' store.
type jobStatuses struct{ a *App }

var _ pipeline.Jobs = jobStatuses{}

func (j jobStatuses) JobStatuses(ctx context.Context, account, noun string, names []string) (map[string]string, error) {
	for _, k := range []jobs.Kind{jobs.TrainingJob, jobs.ProcessingJob, jobs.TransformJob} {
		if k.Noun() != noun {
			continue
		}
		st, err := j.a.Store.Jobs().JobStatuses(ctx, account, k, names)
		if err != nil {
			return nil, err
		}
		out := make(map[string]string, len(st))
		for n, s := range st {
			out[n] = string(s)
		}
		return out, nil
	}
	return nil, errs.E(errs.Internal, "no job kind is called %s", noun)
}

// objectReader reads whole objects, up to a limit.
type objectReader struct{ a jobArtifacts }

var _ pipeline.Objects = objectReader{}

func (r objectReader) ReadObject(ctx context.Context, caller identity.Caller, bucket, key string, limit int64) ([]byte, error) {
	body, err := r.a.GetObject(ctx, caller, bucket, key)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return io.ReadAll(io.LimitReader(body, limit))
}

// lambdaCommands is the engine's view of the server's --lambdas mappings.
func lambdaCommands(fns []config.LambdaFunction) map[string]pipeline.LambdaCommand {
	m := make(map[string]pipeline.LambdaCommand, len(fns))
	for _, f := range fns {
		m[f.FunctionArn] = pipeline.LambdaCommand{Command: f.Command, Env: f.Env}
	}
	return m
}
