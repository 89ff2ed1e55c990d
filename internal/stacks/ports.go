package stacks

import (
	"context"

	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// Store persists stacks and their events. Reads stand alone; every change goes through
// Update, so a change's rows, its events, its work item and the call's audit record commit
// together.
type Store interface {
	// GetStack finds a stack by ARN (any status, deleted ones included) or by name (the
	// account's stack of that name that is not deleted).
	GetStack(ctx context.Context, account, nameOrID string) (Stack, error)
	// ListStacks lists an account's stacks, deleted ones included, newest first.
	ListStacks(ctx context.Context, account string) ([]Stack, error)
	// StackEvents lists a stack's events, newest first.
	StackEvents(ctx context.Context, stackID string) ([]Event, error)
	// ActiveStackIDs lists the stacks of every account whose engine has work to do.
	ActiveStackIDs(ctx context.Context) ([]string, error)
	Update(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is stacks' view of a store transaction.
type Tx interface {
	// InsertStack fails with errs.Conflict when the account has a stack of that name that is
	// not deleted.
	InsertStack(ctx context.Context, s Stack) error
	// LockStack reads a stack (by ARN) for a change.
	LockStack(ctx context.Context, id string) (Stack, error)
	UpdateStack(ctx context.Context, s Stack) error
	AppendStackEvent(ctx context.Context, e Event) error
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

// Sessions lets the engine act as a stack's role (identity.Service.EngineSession).
type Sessions interface {
	EngineSession(ctx context.Context, roleARN, engine string) (identity.Caller, error)
}

// Request is one provider call: which resource, its evaluated properties, and as whom.
type Request struct {
	Call       identity.Call
	StackID    string
	StackName  string
	LogicalID  string
	Type       string
	Name       string // the physical name to use when the properties give none
	PhysicalID string // of the existing resource (Check, Update, Delete)
	Properties map[string]any
	Old        map[string]any // the properties before, for Update
	// Retry is set when Create is called again for a resource whose first call's outcome was
	// not recorded (the engine stopped): a resource of that name is the first call's, to adopt.
	Retry  bool
	Region string
}

// Result is what a provider made.
type Result struct {
	PhysicalID string
	Attributes map[string]any
	// Done is false while the resource stabilizes (an endpoint Creating): the engine calls
	// Check until it is.
	Done bool
}

// Provider creates, updates and deletes the resources of one type, through the domain
// services, as the request's caller.
type Provider interface {
	// Create makes the resource; when it exists already under r.Name (a retried creation)
	// it adopts it.
	Create(ctx context.Context, r Request) (Result, error)
	// Check reports whether a resource made or updated is ready, with its attributes; an
	// error is a resource that failed.
	Check(ctx context.Context, r Request) (Result, error)
	// Replaces reports whether changing old properties to new needs a new resource.
	Replaces(old, new map[string]any) bool
	// Update changes the resource in place.
	Update(ctx context.Context, r Request) (Result, error)
	// Delete deletes the resource; done is false while it is going. A resource that does not
	// exist is deleted.
	Delete(ctx context.Context, r Request) (done bool, err error)
}

// Schema is what a provider may declare of its type's properties: their names, and which are
// required. Templates naming other properties are refused before anything is made.
type Schema interface {
	Properties() (known, required []string)
}
