package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
)

// Tx is one transaction on the shared database. A domain writes its rows through its own view
// of a Tx (registryTx, …), appends the events the change causes with AppendEvent, and the
// rows, the events and the call's audit record commit together or not at all.
//
// Events are buffered and inserted at the end, just before the commit: the statements that
// must follow commit order (event sequence numbers, the audit chain) run while the
// transaction holds the commit-order lock, and that lock is held as briefly as possible.
type Tx struct {
	s      *Store
	tx     *sql.Tx
	events []pendingEvent
	tables map[string]bool // tables this transaction wrote; their cache entries are dropped
	// enqueued holds the kinds of reconcile work the transaction enqueued; their runtimes in
	// this process are woken after the commit.
	enqueued map[string]bool
	audit    *audit.Pending // the record of the call this transaction belongs to, if any
	// more are the records of other calls whose changes this transaction commits too
	// (AppendAudit), appended after audit's.
	more []*audit.Pending

	auditHead chainHead // the audit chain's head after this transaction, when it appended
}

type pendingEvent struct {
	ev   events.Event
	body string
}

// AppendEvent adds an event to the transaction's outbox. The event commits with the
// transaction (and gets its sequence number then) or not at all.
func (t *Tx) AppendEvent(ctx context.Context, ev events.Event) error {
	if ev.ID == "" {
		return errs.E(errs.Internal, "an event needs an id")
	}
	body, err := json.Marshal(eventRow{Region: ev.Region, Resources: ev.Resources, Detail: ev.Detail, Bus: ev.Bus})
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the event", err)
	}
	t.events = append(t.events, pendingEvent{ev: ev, body: string(body)})
	return nil
}

// AppendAudit makes the transaction commit p's record too, after the record of the call it
// belongs to: an engine that commits the changes of several calls in one transaction (each
// authorized under its own record) keeps one record per call. p is marked committed when the
// transaction commits.
func (t *Tx) AppendAudit(p *audit.Pending) {
	if p != nil {
		t.more = append(t.more, p)
	}
}

// wrote records that the transaction changed table. Every write method calls it: it drops
// the table's cache entries and makes the transaction carry the call's audit record.
func (t *Tx) wrote(table string) {
	if t.tables == nil {
		t.tables = map[string]bool{}
	}
	t.tables[table] = true
}

// errRetry makes update run the whole transaction again (a race lost in a way the database
// reports as a plain constraint violation, e.g. two inserts of one client token).
var errRetry = errors.New("the transaction lost a race; run it again")

// update runs fn in a transaction, then writes the buffered events and commits. The whole
// transaction runs again when it lost a race to another writer, so fn must not have effects
// outside it. On success, the cache entries of the tables it wrote are dropped, subscribers
// are woken, and so are this process's runtimes of the work it enqueued.
func (s *Store) update(ctx context.Context, fn func(tx *Tx) error) error {
	var t *Tx
	pending := audit.PendingFrom(ctx)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		t = &Tx{s: s, tx: tx, audit: pending}
		if err := fn(t); err != nil {
			return err
		}
		if err := t.flush(ctx); err != nil {
			return err
		}
		if s.afterFlush != nil {
			s.afterFlush(t)
		}
		return nil
	})
	if t != nil && len(t.tables) > 0 {
		// Drop them whether or not the transaction committed: knowing costs more than a miss.
		// A read that loaded the old rows before the commit cannot store them afterwards:
		// invalidation moves the namespace's generation on.
		for table := range t.tables {
			s.cache.invalidate(table)
		}
	}
	if err != nil {
		if t != nil && t.auditHead.known {
			s.forgetAuditHead()
		}
		return err
	}
	if t.auditHead.known {
		s.rememberAuditHead(t.auditHead)
		if pending != nil {
			pending.MarkCommitted()
		}
		for _, p := range t.more {
			p.MarkCommitted()
		}
	}
	if len(t.events) > 0 {
		s.notifyCommitted()
	}
	for kind := range t.enqueued {
		s.wakers.wake(kind)
	}
	return nil
}

// flush ends the transaction's work: under the commit-order lock it inserts the buffered
// events, in the order they were appended, after every event committed before them, and
// appends the call's audit record when the transaction changed something.
func (t *Tx) flush(ctx context.Context) error {
	record := (t.audit != nil || len(t.more) > 0) && t.changed()
	if len(t.events) == 0 && !record {
		return nil
	}
	head, err := t.s.lockCommitOrder(ctx, t.tx, len(t.events) > 0)
	if err != nil {
		return err
	}
	if !record {
		return t.s.insertEvents(ctx, t.tx, t.events)
	}
	var (
		times  []time.Time
		bodies [][]byte
	)
	for _, p := range append([]*audit.Pending{t.audit}, t.more...) {
		if p == nil {
			continue
		}
		rec := p.Committed()
		body, err := json.Marshal(rec)
		if err != nil {
			return errs.E(errs.Internal, "cannot encode the audit record", err)
		}
		times, bodies = append(times, rec.Time), append(bodies, body)
	}
	t.auditHead, err = t.s.appendAudit(ctx, t.tx, head, t.events, times, bodies, audit.Hash)
	if err != nil {
		if errors.Is(err, errAuditHeadMoved) || retryable(err) {
			return err // run again: another writer appended first
		}
		return errs.E(errs.Internal, "cannot commit the change with its audit record; the change is not made", err)
	}
	return nil
}

// changed reports whether the transaction wrote anything (enqueued work included).
func (t *Tx) changed() bool { return len(t.tables) > 0 || len(t.events) > 0 || len(t.enqueued) > 0 }

// write runs fn as a transaction that writes tables (through update: the call's audit record
// commits with it, and the tables' cache entries are dropped).
func (s *Store) write(ctx context.Context, tables []string, fn func(tx *sql.Tx) error) error {
	return s.update(ctx, func(t *Tx) error {
		for _, table := range tables {
			t.wrote(table)
		}
		return fn(t.tx)
	})
}

// exec runs one statement that writes tables as a transaction of its own.
func (s *Store) exec(ctx context.Context, tables []string, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.write(ctx, tables, func(tx *sql.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}
