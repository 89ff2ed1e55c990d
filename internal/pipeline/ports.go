package pipeline

import (
	"context"
	"encoding/json"
	"time"

	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// The service's and the engine's collaborators, declared here by their consumer. The
// composition root adapts the real ones (internal/store, internal/identity, the SageMaker API
// served in process, internal/artifacts) to them.

// Store persists pipelines, their versions, executions and their steps. Reads stand alone;
// every change goes through Update, so a change's rows, its events, its work item and the
// call's audit record commit together.
type Store interface {
	GetPipeline(ctx context.Context, account, name string) (Pipeline, error)
	ListPipelines(ctx context.Context, account string, q Query) ([]Pipeline, error)
	GetVersion(ctx context.Context, pipelineARN string, version int64) (Version, error)
	// ListVersions lists a pipeline's versions, newest first unless q asks otherwise.
	ListVersions(ctx context.Context, pipelineARN string, q Query) ([]Version, error)
	GetExecution(ctx context.Context, arn string) (Execution, error)
	// ExecutionDefinition returns the definition an execution runs.
	ExecutionDefinition(ctx context.Context, arn string) (string, error)
	ListExecutions(ctx context.Context, pipelineARN string, q Query) ([]Execution, error)
	// ListSteps lists an execution's steps in the order they started.
	ListSteps(ctx context.Context, executionARN string) ([]Step, error)
	// CacheHit finds the latest step of a pipeline that succeeded with this cache key at or
	// after notBefore: its execution and name (errs.NotFound when there is none).
	CacheHit(ctx context.Context, pipelineARN, key string, notBefore time.Time) (executionARN, step string, err error)
	// StepByCallbackToken finds the Callback step, of an execution not yet ended, that
	// published token (Step.CallbackToken); errs.NotFound when there is none.
	StepByCallbackToken(ctx context.Context, token string) (Step, error)
	// ActiveExecutions lists the ARNs of every execution not yet ended (the engine's work at start).
	ActiveExecutions(ctx context.Context) ([]string, error)
	// Update runs fn in one transaction; when the transaction loses a race it runs again, so
	// fn must have no effects outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is the pipelines' view of a store transaction. Inserts fail with errs.Conflict when the
// row exists; locks and deletes with errs.NotFound when it does not.
type Tx interface {
	InsertPipeline(ctx context.Context, p Pipeline) error
	// LockPipeline reads a pipeline for a change.
	LockPipeline(ctx context.Context, account, name string) (Pipeline, error)
	UpdatePipeline(ctx context.Context, p Pipeline) error
	// DeletePipeline deletes a pipeline and its versions; its executions stay.
	DeletePipeline(ctx context.Context, account, name string) error
	InsertVersion(ctx context.Context, v Version) error
	InsertExecution(ctx context.Context, e Execution, definition string) error
	// ExecutionByToken finds the execution a pipeline started for a ClientRequestToken.
	ExecutionByToken(ctx context.Context, pipelineARN, token string) (Execution, error)
	// LockExecution reads an execution for a change.
	LockExecution(ctx context.Context, arn string) (Execution, error)
	UpdateExecution(ctx context.Context, e Execution) error
	// ExecutionsOf lists the ARNs of a pipeline's executions not yet ended.
	ExecutionsOf(ctx context.Context, pipelineARN string) ([]string, error)
	// PutStep inserts or replaces a step of an execution.
	PutStep(ctx context.Context, s Step) error
	// PutCacheEntry records that a step of an execution of a pipeline succeeded with a cache key.
	PutCacheEntry(ctx context.Context, pipelineARN, key, executionARN, step string, at time.Time) error
	AppendEvent(ctx context.Context, ev events.Event) error
	reconcile.Enqueuer
	// CheckFence fails with errs.Conflict unless f's lease is still the work item's latest.
	CheckFence(ctx context.Context, f reconcile.Fence) error
}

// Authorizer decides whether a caller may act (package identity implements it).
type Authorizer interface {
	Authorize(ctx context.Context, caller identity.Caller, a identity.Action) (string, error)
}

// RolePasser decides whether a caller may pass a role to a service (iam:PassRole).
type RolePasser interface {
	PassRole(ctx context.Context, c identity.Call, roleARN, service string) (identity.Principal, error)
}

// Sessions lets the engine act as a pipeline's role (identity.Service.EngineSession).
type Sessions interface {
	EngineSession(ctx context.Context, roleARN, engine string) (identity.Caller, error)
}

// Objects reads an object of the artifact store as a caller (a definition given as
// PipelineDefinitionS3Location; a property file written by a processing step).
type Objects interface {
	ReadObject(ctx context.Context, caller identity.Caller, bucket, key string, limit int64) ([]byte, error)
}

// Jobs reads the status of jobs from their store (package jobs' Status: InProgress, Completed,
// Failed, Stopping, Stopped), by job name, for jobs of one kind (noun: "ProcessingJob",
// "TrainingJob", "TransformJob") in one account; a name with no job is absent. The engine
// reads back the state of the jobs it made: its own bookkeeping, which needs no authorization.
type Jobs interface {
	JobStatuses(ctx context.Context, account, noun string, names []string) (map[string]string, error)
}

// SageMaker calls a SageMaker operation as caller, exactly as a client would (the input is the
// operation's JSON request; the output its JSON response): a step's job, model or model
// package is made by the service that owns it, authorized as the pipeline's role.
type SageMaker interface {
	Call(ctx context.Context, caller identity.Caller, operation string, input any) (json.RawMessage, error)
}

// JobBatch makes several steps' jobs at once. Each call is a job's Create operation
// (CreateProcessingJob, CreateTrainingJob or CreateTransformJob) with its JSON request, made as
// caller exactly as SageMaker.Call would make it — validated, authorized (iam:PassRole
// included) and audited one by one, one record each — and the jobs allowed are stored in one
// transaction with their events. results[i] is what Call would have returned for calls[i]
// (a refusal fails only that call; a job that exists already is a Conflict, ResourceInUse);
// err means no job was made.
type JobBatch interface {
	CreateJobs(ctx context.Context, caller identity.Caller, calls []JobCall) (results []error, err error)
}

// JobCall is one job to create (JobBatch).
type JobCall struct {
	Operation string
	Input     map[string]any
}
