package delivery

import (
	"context"

	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// Store persists deploy pipelines and their executions. Reads stand alone; every change goes
// through Update, so a change's rows, its events, its work item and the call's audit record
// commit together.
type Store interface {
	GetPipeline(ctx context.Context, account, name string) (Pipeline, error)
	// ListPipelines lists an account's pipelines by name.
	ListPipelines(ctx context.Context, account string) ([]Pipeline, error)
	GetExecution(ctx context.Context, account, id string) (Execution, error)
	// ListExecutions lists a pipeline's executions, newest first.
	ListExecutions(ctx context.Context, account, pipeline string) ([]Execution, error)
	// ActiveExecutions lists the work keys of every execution not yet ended.
	ActiveExecutions(ctx context.Context) ([]string, error)
	// Update runs fn in one transaction; when the transaction loses a race it runs again, so
	// fn must have no effects outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is delivery's view of a store transaction. Inserts fail with errs.Conflict when the row
// exists; locks and deletes with errs.NotFound when it does not.
type Tx interface {
	InsertPipeline(ctx context.Context, p Pipeline) error
	// LockPipeline reads a pipeline for a change; it also serializes the pipeline's executions.
	LockPipeline(ctx context.Context, account, name string) (Pipeline, error)
	UpdatePipeline(ctx context.Context, p Pipeline) error
	DeletePipeline(ctx context.Context, account, name string) error
	InsertExecution(ctx context.Context, e Execution) error
	LockExecution(ctx context.Context, account, id string) (Execution, error)
	UpdateExecution(ctx context.Context, e Execution) error
	// ActiveExecutionsOf lists a pipeline's executions not yet ended, oldest first.
	ActiveExecutionsOf(ctx context.Context, account, pipeline string) ([]Execution, error)
	// NextSeq returns the sequence number of a pipeline's next execution.
	NextSeq(ctx context.Context, account, pipeline string) (int64, error)
	// ExecutionByToken finds the execution a pipeline started for a ClientRequestToken.
	ExecutionByToken(ctx context.Context, account, pipeline, token string) (Execution, error)
	AppendEvent(ctx context.Context, ev events.Event) error
	reconcile.Enqueuer
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

// Sessions lets the engine act as a pipeline's role and, from it, as an action's role.
type Sessions interface {
	// EngineSession is a session of the pipeline's role (its trust policy must allow the
	// engine's service principal).
	EngineSession(ctx context.Context, roleARN, engine string) (identity.Caller, error)
	// AssumeAs is a session of role assumed by caller (sts:AssumeRole, judged by caller's
	// policies and role's trust policy), for an action's cross-account role.
	AssumeAs(ctx context.Context, caller identity.Caller, role, session string) (identity.Caller, error)
}

// ActionRequest is one call of an action's provider.
type ActionRequest struct {
	// Call is the session the action acts as: the action's role, or the pipeline's.
	Call          identity.Call
	PipelineName  string
	PipelineARN   string
	ExecutionID   string
	Stage         string
	Action        Action
	ActionID      string // the action execution id: providers are idempotent by it
	ArtifactStore ArtifactStore
	Inputs        []Artifact
	// State is what the provider returned on its previous call of this action execution.
	State map[string]string
	// Trigger is what started the execution (with the event, for CloudWatchEvent).
	Trigger Trigger
}

// ActionResult is where a provider's action stands.
type ActionResult struct {
	// Done ends the action: Succeeded, or Failed when Error is set.
	Done      bool
	Error     string
	ErrorCode string
	Summary   string
	URL       string
	State     map[string]string
	Outputs   []Artifact
}

// ActionProvider runs actions of one category and provider (Source/S3, Deploy/CloudFormation,
// later Build/CodeBuild …). Run is called first when the action starts and again, with the
// state it returned, until it is Done; after a crash it may be called again with an older
// state, and must then find what its earlier call made (by ActionID). An error is a failure
// to reach a decision (retried with backoff when errs.Internal/Unavailable, the action fails
// otherwise).
type ActionProvider interface {
	Run(ctx context.Context, r ActionRequest) (ActionResult, error)
}

// ActionSchema is what a provider may declare of its configuration: the keys it knows, and
// which are required. CreatePipeline refuses other keys before anything is stored.
type ActionSchema interface {
	Configuration() (known, required []string)
}

// ActionValidator is what a provider may check of an action's declaration beyond its keys
// (values, combinations, artifacts named): CreatePipeline and UpdatePipeline refuse a
// declaration it rejects, before anything is stored. It must not do I/O.
type ActionValidator interface {
	Validate(a Action) error
}

// ProviderKey names a provider: Category/Provider.
func ProviderKey(category, provider string) string { return category + "/" + provider }
