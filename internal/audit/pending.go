package audit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/randid"
)

// Pending is the audit record of a call in progress. The transport puts it in the call's
// context (an engine puts its own, ForEngine); every store transaction that commits a change
// during the call appends the record to the chain in that same transaction, so no change
// commits without its record, and a record that cannot be appended fails the change. A call
// that changed nothing (a read, a refusal) is recorded when it ends, by group commit.
type Pending struct {
	build     func() Record
	committed atomic.Bool

	engine *engineRecord // an engine's record (ForEngine); nil for an API call's
}

// engineRecord is an engine's record as its decisions fill it in.
type engineRecord struct {
	mu  sync.Mutex
	rec Record
}

type pendingKey struct{}

// WithPending returns ctx carrying the record of the call under way; build returns the record
// as it stands (it may be called at each commit, from the call's goroutine).
func WithPending(ctx context.Context, build func() Record) (context.Context, *Pending) {
	p := &Pending{build: build}
	return context.WithValue(ctx, pendingKey{}, p), p
}

// ForEngine returns ctx carrying rec as the pending record of an engine's change. An engine
// acting as a role session (identity.EngineSession) names the session in rec.PrincipalARN and
// rec.Account, itself in rec.UserAgent (CloudTrail's invokedBy), the operation in rec.Service
// and rec.Operation, and the time it acted (from its clock) in rec.Time.
//
// As for an API call, a store transaction that commits a change under ctx appends the record
// in that transaction, and a record that cannot be appended fails the change. The
// authorization decisions made for the session under ctx are noted in the record (Decide)
// instead of being recorded apart, so the call leaves one record. When no change commits it
// (a read, a refusal, a failure), the engine must record it: Log.Engine does both.
func ForEngine(ctx context.Context, rec Record) (context.Context, *Pending) {
	if rec.RequestID == "" {
		rec.RequestID = "engine-" + randid.String(20, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
	}
	e := &engineRecord{rec: rec}
	ctx, p := WithPending(ctx, func() Record {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.rec
	})
	p.engine = e
	return ctx, p
}

// Decide notes an authorization decision made for principal in an engine's pending record:
// the resource, the decision (allow | deny), its reason and, for a denial, the error code. It
// reports whether it noted it: false when p is nil, an API call's record (the transport notes
// those decisions), or an engine's record about another principal (e.g. the engine assuming
// the role, which is recorded apart).
func (p *Pending) Decide(principal, resource, decision, reason, errorCode string) bool {
	if p == nil || p.engine == nil {
		return false
	}
	e := p.engine
	e.mu.Lock()
	defer e.mu.Unlock()
	if principal != e.rec.PrincipalARN {
		return false
	}
	e.rec.Resource, e.rec.Decision, e.rec.Reason, e.rec.ErrorCode = resource, decision, reason, errorCode
	return true
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

// Engine runs fn, an engine's change, under its pending record (ForEngine: rec names the
// session, the engine, the operation and the time). When fn succeeded and a transaction
// committed the record, that is the call's one record; otherwise (a read, a refusal, a
// failure, with fn's error code) Engine records it by group commit. It returns fn's error, or
// an error when the record could not be committed: a decision that cannot be recorded does
// not stand, so the engine's call fails.
func (l *Log) Engine(ctx context.Context, rec Record, fn func(ctx context.Context) error) error {
	if rec.Time.IsZero() || rec.UserAgent == "" || rec.PrincipalARN == "" {
		return errs.E(errs.Internal, "an engine's audit record needs its time, engine (UserAgent) and principal")
	}
	ctx, p := ForEngine(ctx, rec)
	return l.EngineDone(ctx, p, fn(ctx))
}

// EngineDone ends an engine's call made under p (ForEngine) that ended with err, as Engine
// does: when err is nil and a transaction committed the record, that is the call's one
// record; otherwise it records it by group commit (with err's code). An engine that commits
// the changes of several calls in one transaction (each under its own record, the records
// appended together: the store's AppendAudit) ends each call with it.
func (l *Log) EngineDone(ctx context.Context, p *Pending, err error) error {
	if err == nil && p.WasCommitted() {
		return nil
	}
	final := p.build()
	if err != nil && final.ErrorCode == "" {
		final.ErrorCode = errs.CodeOf(err)
		if final.ErrorCode == "" {
			final.ErrorCode = errs.KindOf(err).String()
		}
	}
	if rerr := l.RecordCall(context.WithoutCancel(ctx), final); rerr != nil {
		return errors.Join(err, errs.E(errs.Internal, "cannot record %s by %s for the audit trail", final.Operation, final.UserAgent, rerr))
	}
	return err
}
