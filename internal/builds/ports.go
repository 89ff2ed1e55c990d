package builds

import (
	"context"
	"io"
	"time"

	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// Store persists build projects and builds. Reads stand alone; every change goes through
// Update, so a change's rows, its work item and the call's audit record commit together.
type Store interface {
	GetProject(ctx context.Context, account, name string) (Project, error)
	ListProjects(ctx context.Context, account string) ([]Project, error)
	GetBuild(ctx context.Context, account, id string) (Build, error)
	// ListBuilds lists a project's build ids, newest first.
	ListBuilds(ctx context.Context, account, project string) ([]string, error)
	// ActiveBuilds lists the work keys of the builds not yet ended.
	ActiveBuilds(ctx context.Context) ([]string, error)
	// Update runs fn in one transaction; it may run again when the transaction loses a race.
	Update(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is builds' view of a store transaction. Inserts fail with errs.Conflict when the row
// exists; locks and deletes with errs.NotFound when it does not.
type Tx interface {
	InsertProject(ctx context.Context, p Project) error
	LockProject(ctx context.Context, account, name string) (Project, error)
	UpdateProject(ctx context.Context, p Project) error
	DeleteProject(ctx context.Context, account, name string) error
	InsertBuild(ctx context.Context, b Build) error
	LockBuild(ctx context.Context, account, id string) (Build, error)
	UpdateBuild(ctx context.Context, b Build) error
	// NextNumber returns the number of a project's next build.
	NextNumber(ctx context.Context, account, project string) (int64, error)
	// BuildByToken finds the build started for a project with an idempotency token.
	BuildByToken(ctx context.Context, account, project, token string) (Build, error)
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

// Sessions lets the engine act as a project's service role.
type Sessions interface {
	EngineSession(ctx context.Context, roleARN, engine string) (identity.Caller, error)
}

// Artifacts reads and writes objects as a caller (the artifact store authorizes each call).
type Artifacts interface {
	GetObject(ctx context.Context, caller identity.Caller, bucket, key string) (io.ReadCloser, error)
	PutObject(ctx context.Context, caller identity.Caller, bucket, key string, body io.Reader) error
}

// ExecSpec is one phase's process.
type ExecSpec struct {
	ID      string
	Dir     string
	Command []string
	Env     map[string]string
	WorkDir string
}

// Exit is how a phase's process ended.
type Exit struct {
	Code   int
	Signal string
	Reason string // "" | stopped
}

// Executor runs a phase's process. Start with an ID already running re-attaches to it; the
// handle is serializable.
type Executor interface {
	Start(ctx context.Context, s ExecSpec) (string, error)
	Wait(ctx context.Context, h string) (Exit, error)
	Stop(ctx context.Context, h string, grace time.Duration) error
	Logs(ctx context.Context, h string, follow bool) (io.ReadCloser, error)
}

// LogEvent is a line of a build's log.
type LogEvent struct {
	Timestamp time.Time
	Message   string
}

// Logs stores a build's log lines (CloudWatch Logs).
type Logs interface {
	// AppendLines appends events as lines first, first+1, … of source (numbered from 0) to the
	// stream, skipping those the stream holds already, in the transaction that records how far
	// source has come: a copier that starts again from an older position appends each line once.
	AppendLines(ctx context.Context, account, group, stream, source string, first int, events []LogEvent) error
}

// Grant is what a build's credentials stand for.
type Grant struct {
	Account     string
	RoleARN     string
	SessionName string
	Source      string
	Expires     time.Time
}

// Credentials hands a build its service role's credentials and Slipway's endpoints.
type Credentials interface {
	Issue(ctx context.Context, g Grant) (string, error)
	Revoke(ctx context.Context, token string) error
	Env(token string) map[string]string
}
