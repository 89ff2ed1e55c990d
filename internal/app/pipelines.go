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
		SageMaker: inProcessSageMaker{a}, Objects: objectReader{jobArtifacts{a.Artifacts}}, Jobs: jobStatuses{a}, Log: a.log,
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

func (s inProcessSageMaker) Call(ctx context.Context, caller identity.Caller, op string, input any) (json.RawMessage, error) {
	if f, ok := reconcile.FenceFrom(ctx); ok && f.Kind == pipeline.WorkKind {
		// A job the engine makes records the execution as its waiter: the job's end
		// enqueues the execution in the same transaction, so the engine need not poll.
		ctx = jobs.WithWaiter(ctx, jobs.Waiter{Kind: f.Kind, Key: f.Key})
	}
	var svc *awsapi.Service
	for _, x := range s.a.svcs {
		if x.Name == "sagemaker" {
			svc = x
		}
	}
	if svc == nil {
		return nil, errs.E(errs.Unavailable, "the SageMaker API is not built yet")
	}
	var out json.RawMessage
	err := s.a.Audit.Engine(ctx, audit.Record{
		Time: s.a.now(), Account: caller.Account, PrincipalARN: caller.ARN, UserAgent: pipeline.ServicePrincipal,
		Service: "sagemaker", Operation: op, Decision: "allow", Reason: "the pipelines engine runs a step as the pipeline's role",
	}, func(ctx context.Context) error {
		var err error
		out, err = svc.Invoke(ctx, caller, s.a.cfg.Region, op, input)
		return err
	})
	return out, err
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
