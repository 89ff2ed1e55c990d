package jobs

import (
	"context"
	"io"
	"time"

	"github.com/slipway-ml/slipway/internal/identity"
)

// The engine's collaborators, declared here by their consumer. The composition root adapts
// the real ones (internal/artifacts, internal/executor, internal/logs, internal/images, the
// job credentials service) to them.

// Sessions lets the engine act as a job's role (identity.Service.EngineSession).
type Sessions interface {
	EngineSession(ctx context.Context, roleARN, engine string) (identity.Caller, error)
}

// Artifacts reads and writes objects as a caller, authorized as that caller.
type Artifacts interface {
	GetObject(ctx context.Context, caller identity.Caller, bucket, key string) (io.ReadCloser, error)
	PutObject(ctx context.Context, caller identity.Caller, bucket, key string, body io.Reader) error
	// DeleteObject removes an object; a missing one is not an error.
	DeleteObject(ctx context.Context, caller identity.Caller, bucket, key string) error
	// ListObjects lists keys under prefix, a page at a time, from token ("" first).
	ListObjects(ctx context.Context, caller identity.Caller, bucket, prefix, token string) (ObjectPage, error)
}

// ObjectPage is a page of a listing.
type ObjectPage struct {
	Keys []string
	Next string // "" on the last page
}

// ExecSpec is one worker to start (the executor's Spec).
type ExecSpec struct {
	ID      string // unique per attempt and instance; starting an ID that runs already re-attaches to it
	Dir     string // the host directory that is /opt/ml inside the worker
	Command []string
	Env     map[string]string
	WorkDir string
	CPUs    float64
	Memory  int64
}

// Exit is how a worker ended.
type Exit struct {
	Code      int
	Signal    string
	OOMKilled bool
	Reason    string
}

// Executor runs workers. Handles are serializable: Wait, Stop and Logs work on a handle
// another process started. Wait fails (not a context error) when the worker is lost.
type Executor interface {
	Start(ctx context.Context, s ExecSpec) (handle string, err error)
	Wait(ctx context.Context, handle string) (Exit, error)
	Stop(ctx context.Context, handle string, grace time.Duration) error
	Logs(ctx context.Context, handle string, follow bool) (io.ReadCloser, error)
	Enforced() string
}

// LogEvent is one log line.
type LogEvent struct {
	Timestamp time.Time
	Message   string
}

// Logs stores the workers' log lines (creating the group and stream if missing).
type Logs interface {
	// AppendLines appends events as lines first, first+1, … of source (numbered from 0) to
	// the stream, skipping those the stream holds already, in the transaction that records how
	// far source has come: a copier that starts again from an older position appends each
	// line once.
	AppendLines(ctx context.Context, account, group, stream, source string, first int, events []LogEvent) error
}

// Runtime is what an image runs as.
type Runtime struct {
	Command []string
	Env     map[string]string
	Kind    string
	// Complete says Command already holds the job's ContainerEntrypoint and ContainerArguments
	// (with the interpreter mapped to this server's); otherwise the engine runs the
	// entrypoint as given, or Command followed by the arguments.
	Complete bool
}

// Images resolves an image URI to a runtime; an unknown image is an error whose message says
// which configuration key to set.
type Images interface {
	Resolve(image string, kind Kind, spec Spec) (Runtime, error)
}

// Grant is what job credentials are issued for.
type Grant struct {
	Account, RoleARN, SessionName, Source string
	Expires                               time.Time
}

// Credentials hands the workers credentials of the job's role (the container credentials
// provider); optional.
type Credentials interface {
	Issue(ctx context.Context, g Grant) (token string, err error)
	Revoke(ctx context.Context, token string) error
	Env(token string) map[string]string
}

// Model is what a transform job runs: a SageMaker model's primary container.
type Model struct {
	Image        string
	ModelDataURL string
	RoleARN      string
	Environment  map[string]string
}

// Models looks up a model of an account (for transform jobs); optional.
type Models interface {
	Model(ctx context.Context, account, name string) (Model, error)
}
