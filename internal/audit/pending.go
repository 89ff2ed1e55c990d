package audit

import (
	"context"
	"sync/atomic"
)

// Pending is the audit record of a call in progress. The transport puts it in the call's
// context; every store transaction that commits a change during the call appends the record
// to the chain in that same transaction, so no change commits without its record, and a
// record that cannot be appended fails the change. A call that changed nothing (a read, a
// refusal) is recorded when it ends, by group commit.
type Pending struct {
	build     func() Record
	committed atomic.Bool
}

type pendingKey struct{}

// WithPending returns ctx carrying the record of the call under way; build returns the record
// as it stands (it may be called at each commit, from the call's goroutine).
func WithPending(ctx context.Context, build func() Record) (context.Context, *Pending) {
	p := &Pending{build: build}
	return context.WithValue(ctx, pendingKey{}, p), p
}

// PendingFrom returns the record of the call ctx belongs to, or nil outside a call (bootstrap,
// background work that records itself).
func PendingFrom(ctx context.Context) *Pending {
	p, _ := ctx.Value(pendingKey{}).(*Pending)
	return p
}

// Committed returns the record as it commits with a change: the change succeeded, so the call
// did as far as the store is concerned.
func (p *Pending) Committed() Record {
	r := p.build()
	r.ErrorCode = ""
	if r.HTTPStatus == 0 || r.HTTPStatus >= 300 {
		r.HTTPStatus = 200
	}
	return r
}

// MarkCommitted notes that a transaction committed the record.
func (p *Pending) MarkCommitted() { p.committed.Store(true) }

// WasCommitted reports whether a transaction of the call committed the record.
func (p *Pending) WasCommitted() bool { return p.committed.Load() }
