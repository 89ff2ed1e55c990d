// Package registry is the model registry: model package groups, their numbered versions (model
// packages), the approval state machine, group resource policies and tags.
//
// Invariants:
//   - Versions within a group are 1, 2, 3 … with no gaps and no duplicates, even under
//     concurrent creation (the store allocates them in the inserting transaction).
//   - Every creation and every change of a package writes a "SageMaker Model Package State
//     Change" event in the same transaction (the outbox); every update of its approval status
//     or description also appends to its approval history (who, when, which status and
//     description), in the same row.
//   - Every call is authorized; calls on another account's group are allowed only when both the
//     caller's identity policy and the group's resource policy allow them.
//   - ClientToken makes CreateModelPackage idempotent: a retry returns the first package.
package registry

import (
	"context"
	"encoding/json"
	"time"

	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/identity"
)

// ApprovalStatus is a model package's approval state.
type ApprovalStatus string

// The approval states.
const (
	Pending  ApprovalStatus = "PendingManualApproval"
	Approved ApprovalStatus = "Approved"
	Rejected ApprovalStatus = "Rejected"
)

// Valid reports whether s is a known state.
func (s ApprovalStatus) Valid() bool { return s == Pending || s == Approved || s == Rejected }

// CanMoveTo reports whether a package may go from s to next. A package may be approved or
// rejected from any state and re-decided later; once decided it does not go back to pending.
// Staying in the same state is allowed (an update of the description only).
func (s ApprovalStatus) CanMoveTo(next ApprovalStatus) bool {
	if !s.Valid() || !next.Valid() {
		return false
	}
	if next == Pending {
		return s == Pending
	}
	return true
}

// Identity says who created or changed something, as SageMaker's UserContext.IamIdentity does.
type Identity struct {
	Arn         string `json:"Arn,omitempty"`
	PrincipalId string `json:"PrincipalId,omitempty"`
}

// UserContext is SageMaker's record of who did something.
type UserContext struct {
	IamIdentity *Identity `json:"IamIdentity,omitempty"`
}

// Group is a model package group.
type Group struct {
	Account     string
	Name        string
	ARN         string
	Description string
	Status      string // Completed
	CreatedAt   time.Time
	CreatedBy   UserContext
	Policy      string // the resource policy; "" when none
}

// Package is one version of a model in a group. Details holds the members the registry stores
// and returns but does not interpret (InferenceSpecification, ModelMetrics, MetadataProperties,
// CustomerMetadataProperties, …), keyed by their SageMaker member names.
type Package struct {
	Account             string
	GroupName           string
	Version             int
	ARN                 string
	Description         string
	Status              string // Completed
	ApprovalStatus      ApprovalStatus
	ApprovalDescription string
	ClientToken         string
	CreatedAt           time.Time
	CreatedBy           UserContext
	ModifiedAt          time.Time
	ModifiedBy          *UserContext
	Details             map[string]json.RawMessage
	// History is the package's approval history, oldest first: its status at creation and
	// every update that set its approval status or description (the newest MaxHistory kept).
	// SageMaker's API has no member for it; the console shows it.
	History []ApprovalChange
}

// ApprovalChange is one entry of a package's approval history.
type ApprovalChange struct {
	Status      ApprovalStatus
	Description string // the approval description the change left
	By          string // the principal's ARN
	At          time.Time
}

// MaxHistory bounds a package's approval history.
const MaxHistory = 100

// GroupQuery filters and orders ListModelPackageGroups.
type GroupQuery struct {
	NameContains  string
	CreatedAfter  time.Time
	CreatedBefore time.Time
	SortBy        string // Name | CreationTime
	Descending    bool
	Offset        int
	Limit         int
}

// PackageQuery filters and orders ListModelPackages.
type PackageQuery struct {
	GroupName      string
	NameContains   string
	ApprovalStatus ApprovalStatus
	CreatedAfter   time.Time
	CreatedBefore  time.Time
	SortBy         string // Name | CreationTime
	Descending     bool
	Offset         int
	Limit          int
}

// Store persists the registry. Reads stand alone; every change goes through Update, so a
// change's rows, the events it causes and its audit record commit together or not at all.
type Store interface {
	GetGroup(ctx context.Context, account, name string) (Group, error)
	ListGroups(ctx context.Context, account string, q GroupQuery) ([]Group, error)
	GetPackage(ctx context.Context, account, group string, version int) (Package, error)
	ListPackages(ctx context.Context, account string, q PackageQuery) ([]Package, error)
	ListTags(ctx context.Context, arn string) (map[string]string, error)
	// Update runs fn in one transaction and commits what it wrote. When the transaction loses
	// a race to another writer, fn runs again from the start: it must have no effects outside
	// tx, and must recompute everything it returns through closures.
	Update(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is the registry's view of one store transaction.
type Tx interface {
	CreateGroup(ctx context.Context, g Group) error
	// DeleteGroup deletes a group that holds no packages (errs.Conflict otherwise).
	DeleteGroup(ctx context.Context, account, name string) error
	SetGroupPolicy(ctx context.Context, account, name, policy string) error
	// NextVersion allocates the group's next version number; errs.NotFound when the group
	// does not exist.
	NextVersion(ctx context.Context, account, group string) (int, error)
	// PackageByClientToken returns the group's package created with token (errs.NotFound
	// when none).
	PackageByClientToken(ctx context.Context, account, group, token string) (Package, error)
	// InsertPackage inserts a new package; a concurrent insert of the same client token makes
	// the whole transaction run again, so that the retry finds the first package.
	InsertPackage(ctx context.Context, p Package) error
	// LockPackage reads a package for a change: no other transaction changes it until this
	// one ends.
	LockPackage(ctx context.Context, account, group string, version int) (Package, error)
	UpdatePackage(ctx context.Context, p Package) error
	DeletePackage(ctx context.Context, account, group string, version int) error
	// LockTags reads a resource's tags for a change: no other transaction changes that
	// resource's tags until this one ends, so a count made from them holds at commit.
	LockTags(ctx context.Context, arn string) (map[string]string, error)
	AddTags(ctx context.Context, arn string, tags map[string]string) error
	// DeleteTags deletes tags by key, or all of a resource's tags when keys is nil.
	DeleteTags(ctx context.Context, arn string, keys []string) error
	// AppendEvent adds an event to the transaction's outbox.
	AppendEvent(ctx context.Context, ev events.Event) error
}

// Authorizer decides whether a caller may act (package identity implements it).
type Authorizer interface {
	Authorize(ctx context.Context, caller identity.Caller, a identity.Action) (string, error)
}
