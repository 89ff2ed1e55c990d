package serving

import (
	"context"
	"io"

	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/inference"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// The service's and the engine's collaborators, declared here by their consumer. The
// composition root adapts the real ones (internal/store, internal/identity,
// internal/artifacts, internal/registry, internal/serving/fleet) to them.

// Store persists models, endpoint configurations and endpoints. Reads stand alone; every
// change goes through Update, so a change's rows, its event, its work item and the call's
// audit record commit together.
type Store interface {
	GetModel(ctx context.Context, account, name string) (Model, error)
	ListModels(ctx context.Context, account string, q Query) ([]Model, error)
	GetConfig(ctx context.Context, account, name string) (Config, error)
	ListConfigs(ctx context.Context, account string, q Query) ([]Config, error)
	GetEndpoint(ctx context.Context, account, name string) (Endpoint, error)
	ListEndpoints(ctx context.Context, account string, q Query) ([]Endpoint, error)
	// EndpointARNs lists every endpoint of every account (the engine's work at start).
	EndpointARNs(ctx context.Context) ([]string, error)
	// Update runs fn in one transaction; when the transaction loses a race it runs again, so
	// fn must have no effects outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is serving's view of a store transaction. Inserts fail with errs.Conflict when the
// account has a resource of that kind and name; deletes and locks with errs.NotFound when it
// has none.
type Tx interface {
	InsertModel(ctx context.Context, m Model) error
	DeleteModel(ctx context.Context, account, name string) error
	InsertConfig(ctx context.Context, c Config) error
	DeleteConfig(ctx context.Context, account, name string) error
	InsertEndpoint(ctx context.Context, e Endpoint) error
	// LockEndpoint reads an endpoint for a change: no other transaction changes it until this
	// one ends.
	LockEndpoint(ctx context.Context, account, name string) (Endpoint, error)
	UpdateEndpoint(ctx context.Context, e Endpoint) error
	DeleteEndpoint(ctx context.Context, account, name string) error
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

// Sessions lets the service and the engine act as a model's execution role
// (identity.Service.EngineSession).
type Sessions interface {
	EngineSession(ctx context.Context, roleARN, engine string) (identity.Caller, error)
}

// Artifacts reads objects as a caller, authorized as that caller.
type Artifacts interface {
	GetObject(ctx context.Context, caller identity.Caller, bucket, key string) (io.ReadCloser, error)
}

// Packages reads a model package (by name or ARN, possibly of another account) as the caller,
// authorized as sagemaker:DescribeModelPackage with the package group's policy: it returns the
// package's first inference container (Image, ModelDataURL, Environment).
type Packages interface {
	PackageContainer(ctx context.Context, c identity.Call, nameOrARN string) (Container, error)
}

// ModelSpec is what one instance of a variant loads.
type ModelSpec struct {
	Image       string
	ModelDir    string // the extracted artifact
	Environment map[string]string
}

// VariantSpec is a variant to deploy.
type VariantSpec struct {
	Name      string
	Weight    float64
	Instances int
	Model     ModelSpec
}

// VariantStatus is what runs of a deployed variant.
type VariantStatus struct {
	Name               string
	Weight             float64
	Instances, Healthy int
}

// Fleet runs endpoints' model instances and routes invocations to them (package
// serving/fleet implements it). Endpoints are named by ARN.
type Fleet interface {
	// Deploy starts every instance of vs, waits until they are healthy, then swaps them in
	// atomically for what served the endpoint; on failure what served keeps serving and the
	// error says why.
	Deploy(ctx context.Context, endpoint string, vs []VariantSpec) error
	SetWeights(endpoint string, w map[string]float64) error
	// Scale changes the instance counts of the named variants of the live deployment in
	// place: new instances join once healthy, removed ones drain first.
	Scale(ctx context.Context, endpoint string, counts map[string]int) error
	Invoke(ctx context.Context, endpoint, targetVariant string, req inference.Request) (variant string, resp inference.Response, err error)
	Remove(endpoint string) error
	Status(endpoint string) []VariantStatus
	// Stage starts vs beside the live fleet (replacing a fleet staged before) and waits until
	// every instance is healthy; it takes no request until Shift. Shift sends share (0 to 1)
	// of the requests to it; Promote makes it the live fleet, Discard drops it (errs.Conflict
	// when nothing is staged). Staged reports it, ok false when there is none.
	Stage(ctx context.Context, endpoint string, vs []VariantSpec) error
	Shift(endpoint string, share float64) error
	Promote(endpoint string) error
	Discard(endpoint string) error
	Staged(endpoint string) (share float64, variants []VariantStatus, ok bool)
}
