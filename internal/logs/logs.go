// Package logs is a CloudWatch Logs subset: log groups, their streams and the events in them,
// read forward and backward with CloudWatch's tokens and searched with filter patterns. The jobs
// engine writes its jobs' output here (Append), in the groups SageMaker uses
// (/aws/sagemaker/TrainingJobs, …), and `slipway logs` and the SDKs read it back.
//
// Invariants:
//   - Every API call is authorized by this package on the log group, its streams' pattern or
//     the stream it touches (a Deny on any of them wins); a group of another account is never
//     readable (CloudWatch Logs has no resource policies in this subset).
//   - A change commits with the call's audit record; the platform's own ingestion (Append) is
//     not audited per call.
//   - Within a stream, events are ordered by (timestamp, sequence): the sequence is allocated
//     in the inserting transaction, so concurrent writers never collide or reorder each other's
//     batches, and a forward token names a position that stays valid as events arrive.
//   - A copier's lines land exactly once (AppendLines): the append of a batch and the record
//     of how far its source has been copied commit in one transaction, so a copier that
//     starts again from an older position (a server killed between the two) skips the lines
//     the stream already holds.
//   - Bad input (a batch out of order or too large, a bad name, an unknown token) changes
//     nothing.
package logs

import (
	"context"
	"time"

	"github.com/slipway-ml/slipway/internal/identity"
)

// The log groups SageMaker writes its jobs' output to.
const (
	TrainingJobsGroup   = "/aws/sagemaker/TrainingJobs"
	ProcessingJobsGroup = "/aws/sagemaker/ProcessingJobs"
	TransformJobsGroup  = "/aws/sagemaker/TransformJobs"
)

// Event is one line the platform appends (Append).
type Event struct {
	Timestamp time.Time
	Message   string
}

// Group is a log group.
type Group struct {
	Account   string
	Name      string
	CreatedAt time.Time
}

// Stream is a log stream. The event times are zero until its first event.
type Stream struct {
	ID            int64 // the store's key for its events
	Account       string
	Group         string
	Name          string
	CreatedAt     time.Time
	FirstEvent    int64 // ms since the epoch, 0 when none
	LastEvent     int64
	LastIngestion int64
	StoredBytes   int64
}

// StoredEvent is an event as stored: in a stream, at a position (Timestamp, Seq).
type StoredEvent struct {
	Stream    string // the stream's name (in group scans)
	StreamID  int64
	Seq       int64 // allocated in the inserting transaction, increasing per stream
	Timestamp int64 // ms since the epoch
	Ingested  int64 // ms since the epoch
	Message   string
}

// Key is an event's position in its stream.
type Key struct {
	Timestamp int64
	Seq       int64
}

// Less orders positions.
func (k Key) Less(o Key) bool {
	return k.Timestamp < o.Timestamp || k.Timestamp == o.Timestamp && k.Seq < o.Seq
}

// GroupQuery selects log groups of an account, ordered by name.
type GroupQuery struct {
	Prefix   string // names starting with it
	Contains string // names holding it
	After    string // names after it (the cursor)
	Limit    int
}

// StreamQuery selects the streams of a group.
type StreamQuery struct {
	Prefix      string
	ByLastEvent bool // order by last event time (then name), else by name
	Descending  bool
	AfterName   string // the cursor: the last stream of the previous page
	AfterLast   int64  // with ByLastEvent: the last stream's last event time
	HasCursor   bool
	Limit       int
}

// EventRange selects events of one stream by position and time: forward (ascending, after
// From) or backward (descending, before From).
type EventRange struct {
	From     Key
	Backward bool
	Start    int64 // ms, inclusive; 0: no bound
	End      int64 // ms, exclusive; 0: no bound
	Limit    int
}

// ScanQuery selects events across the streams of a group, ordered by (timestamp, stream id, seq).
type ScanQuery struct {
	Streams []string // only these streams (nil: every stream)
	Prefix  string   // only streams whose names start with it
	After   *ScanKey // the cursor: events after it
	Start   int64    // ms, inclusive; 0: no bound
	End     int64    // ms, inclusive; 0: no bound
	Limit   int
}

// ScanKey is an event's position in a group scan.
type ScanKey struct {
	Timestamp int64 `json:"t"`
	StreamID  int64 `json:"s"`
	Seq       int64 `json:"q"`
}

// Store persists log groups, streams and events. Reads stand alone; every change goes through
// Update (which commits the call's audit record with it) or Ingest (the platform's appends,
// which carry none).
type Store interface {
	GetGroup(ctx context.Context, account, name string) (Group, error)
	ListGroups(ctx context.Context, account string, q GroupQuery) ([]Group, error)
	GetStream(ctx context.Context, account, group, name string) (Stream, error)
	ListStreams(ctx context.Context, account, group string, q StreamQuery) ([]Stream, error)
	ReadEvents(ctx context.Context, streamID int64, r EventRange) ([]StoredEvent, error)
	ScanEvents(ctx context.Context, account, group string, q ScanQuery) ([]StoredEvent, error)
	// Update runs fn in one transaction, committing the call's audit record with its changes.
	// fn may run again when the transaction loses a race: it must have no effects outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Ingest is Update without an audit record, for the platform's own writes.
	Ingest(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is the logs' view of one store transaction.
type Tx interface {
	// CreateGroup inserts a group; errs.Conflict when it exists.
	CreateGroup(ctx context.Context, g Group) error
	// EnsureGroup inserts a group unless it exists.
	EnsureGroup(ctx context.Context, g Group) error
	// DeleteGroup deletes a group with its streams and events; errs.NotFound when missing.
	DeleteGroup(ctx context.Context, account, name string) error
	// CreateStream inserts a stream; errs.Conflict when it exists, errs.NotFound when its
	// group does not.
	CreateStream(ctx context.Context, s Stream) error
	// EnsureStream inserts a stream unless it exists.
	EnsureStream(ctx context.Context, s Stream) error
	// AppendEvents adds events to a stream, allocating their sequence numbers, and updates the
	// stream's first/last event times, last ingestion time and stored bytes; errs.NotFound
	// when the stream does not exist.
	AppendEvents(ctx context.Context, account, group, stream string, evs []StoredEvent) error
	// AppendLines is AppendEvents for numbered lines: evs are lines first, first+1, … of
	// source (a copier's name for the output it copies into the stream). The lines below the
	// source's count (how many of its lines the stream holds) are skipped, the rest appended
	// and the count moved to first+len(evs), in this transaction; it returns how many events
	// it appended. errs.NotFound when the stream does not exist.
	AppendLines(ctx context.Context, account, group, stream, source string, first int64, evs []StoredEvent) (int, error)
}

// Authorizer decides whether a caller may act (package identity implements it).
type Authorizer interface {
	Authorize(ctx context.Context, caller identity.Caller, a identity.Action) (string, error)
}

// Call is who asks, and the request facts authorization needs.
type Call struct {
	Caller  identity.Caller
	Context identity.RequestContext
}
