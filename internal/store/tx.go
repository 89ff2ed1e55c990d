package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

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
	tables map[string]bool // cached tables this transaction wrote; invalidated on commit
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
	body, err := json.Marshal(eventRow{Region: ev.Region, Resources: ev.Resources, Detail: ev.Detail})
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the event", err)
	}
	t.events = append(t.events, pendingEvent{ev: ev, body: string(body)})
	return nil
}

// wrote records that the transaction changed a cached table.
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
// outside it. On success, the cache entries of the tables it wrote are dropped and
// subscribers are woken.
func (s *Store) update(ctx context.Context, fn func(tx *Tx) error) error {
	var t *Tx
	err := s.tx(ctx, func(tx *sql.Tx) error {
		t = &Tx{s: s, tx: tx}
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
		// Invalidate after a failure too: a read between a failed attempt's write and its
		// rollback may have cached what never committed.
		for table := range t.tables {
			s.cache.invalidate(table)
		}
	}
	if err == nil && t != nil && len(t.events) > 0 {
		s.notifyCommitted()
	}
	return err
}

// flush inserts the buffered events, in the order they were appended, after every event
// committed before them.
func (t *Tx) flush(ctx context.Context) error {
	if len(t.events) == 0 {
		return nil
	}
	return t.s.insertEvents(ctx, t.tx, t.events)
}
