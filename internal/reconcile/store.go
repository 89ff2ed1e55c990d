package reconcile

import (
	"context"
	"time"
)

// Store keeps work items durable. internal/store implements it on SQLite and PostgreSQL; every
// time it takes comes from the caller's clock.
type Store interface {
	// Enqueue makes the items (kind, key) due at at, creating those that do not exist; an item
	// due earlier stays due earlier. Each call counts as a wake-up of a leased item.
	Enqueue(ctx context.Context, kind string, keys []string, at time.Time) error
	// Claim leases to owner, until now+ttl, up to n items of kind that are due at now and not
	// leased (or whose lease has expired), earliest first, incrementing each one's token.
	Claim(ctx context.Context, kind, owner string, now time.Time, ttl time.Duration, n int) ([]Lease, error)
	// Renew extends a lease to until; false means the lease is no longer held.
	Renew(ctx context.Context, l Lease, until time.Time) (bool, error)
	// Release ends a lease as r says; false means the lease was no longer held (nothing changed).
	Release(ctx context.Context, l Lease, r Release) (bool, error)
	// NextDue reports the earliest due time of the kind's items that are not leased at now.
	NextDue(ctx context.Context, kind string, now time.Time) (time.Time, bool, error)
	// Get returns an item's state (errs.NotFound if there is none).
	Get(ctx context.Context, kind, key string) (Item, error)
	// OnEnqueue calls wake after every commit through this store (this process's handle on
	// the database) that enqueued items of kind — through Enqueue, or an Enqueuer inside a
	// domain's transaction — until stop is called. wake must not block. Other servers'
	// enqueues are found by the runtime's poll.
	OnEnqueue(kind string, wake func()) (stop func())
}

// Enqueuer starts background work inside a store transaction: the work item commits with the
// transaction's other writes, or not at all, and the runtime of its kind in this process is
// woken once the transaction commits. A domain whose writes start work adds Enqueuer to the Tx
// interface it declares; internal/store's transactions implement it.
type Enqueuer interface {
	// Enqueue makes the item (kind, key) due at at, creating it if it does not exist; an item
	// due earlier stays due earlier. It counts as a wake-up of a leased item.
	Enqueue(ctx context.Context, kind, key string, at time.Time) error
}

// Item is a work item's stored state.
type Item struct {
	Kind, Key  string
	Due        time.Time
	Generation int64
	Owner      string    // empty when free
	LeaseUntil time.Time // zero when free
	Token      int64
	Attempts   int // failures since the last success
	LastError  string
}

// Lease is an item held by one owner.
type Lease struct {
	Kind, Key  string
	Owner      string
	Token      int64
	Generation int64 // the item's generation when claimed
	Attempts   int
	Until      time.Time
}

// Fence names the lease a write is made for; store.WorkStore.CheckFence verifies it.
type Fence struct {
	Kind, Key string
	Token     int64
}

// Fence returns the lease's fence.
func (l Lease) Fence() Fence { return Fence{Kind: l.Kind, Key: l.Key, Token: l.Token} }

// Release says how a lease ends.
type Release struct {
	Next      time.Time // when the item is due again (sooner if a wake-up came during the lease)
	Attempts  int
	LastError string
	// Forget deletes the item, unless a wake-up came during the lease (then it is due at Next).
	Forget bool
}

type fenceKey struct{}

// FenceFrom returns the fence of the lease a reconcile runs under; the context passed to
// Reconcile carries it.
func FenceFrom(ctx context.Context) (Fence, bool) {
	f, ok := ctx.Value(fenceKey{}).(Fence)
	return f, ok
}

func withFence(ctx context.Context, f Fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

// WithFence returns ctx carrying the fence of a lease taken outside a Runtime (Store.Claim),
// for a test that calls a Reconciler as the runtime would.
func WithFence(ctx context.Context, f Fence) context.Context { return withFence(ctx, f) }
