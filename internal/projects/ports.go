package projects

import (
	"context"

	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/stacks"
)

// Store persists projects and an account's own templates. Every change goes through Update.
type Store interface {
	// GetProject finds an account's project by name or ARN.
	GetProject(ctx context.Context, account, nameOrARN string) (Project, error)
	// ListProjects lists an account's projects, oldest first.
	ListProjects(ctx context.Context, account string) ([]Project, error)
	// GetTemplate finds an account's own template by name.
	GetTemplate(ctx context.Context, account, name string) (Template, error)
	// ListTemplates lists an account's own templates by name.
	ListTemplates(ctx context.Context, account string) ([]Template, error)
	Update(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is projects' view of a store transaction.
type Tx interface {
	// InsertProject fails with errs.Conflict when the account has a project of that name.
	InsertProject(ctx context.Context, p Project) error
	// LockProject reads a project (by ARN) for a change.
	LockProject(ctx context.Context, arn string) (Project, error)
	UpdateProject(ctx context.Context, p Project) error
	DeleteProject(ctx context.Context, arn string) error
	// InsertTemplate fails with errs.Conflict when the account has a template of that name.
	InsertTemplate(ctx context.Context, t Template) error
	DeleteTemplate(ctx context.Context, account, name string) error
	reconcile.Enqueuer
	CheckFence(ctx context.Context, f reconcile.Fence) error
}

// Authorizer decides whether a caller may act (package identity implements it).
type Authorizer interface {
	Authorize(ctx context.Context, caller identity.Caller, a identity.Action) (string, error)
}

// Stacks is what projects use of CloudFormation (package stacks' Service).
type Stacks interface {
	CreateStack(ctx context.Context, c identity.Call, in stacks.CreateStackInput) (stacks.Stack, error)
	UpdateStack(ctx context.Context, c identity.Call, in stacks.UpdateStackInput) (stacks.Stack, error)
	DeleteStack(ctx context.Context, c identity.Call, name, role string, retain []string, token string) error
}

// StackReader reads a stack without authorization (the engine following its own stack).
type StackReader interface {
	GetStack(ctx context.Context, account, nameOrID string) (stacks.Stack, error)
}

// SeedWriter writes one seed code file to a bucket, as the caller (s3:PutObject decides),
// and deletes it again when the project is deleted (s3:DeleteObject; a missing object is
// deleted).
type SeedWriter interface {
	PutSeed(ctx context.Context, c identity.Call, bucket, key string, body []byte) error
	DeleteSeed(ctx context.Context, c identity.Call, bucket, key string) error
}
