package store

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/slipway-ml/slipway/internal/events"
)

// EventStore is the outbox as its readers and consumers see it: a view of the shared database.
type EventStore Store

var _ events.Feed = (*EventStore)(nil)

// Events returns the outbox's store.
func (s *Store) Events() *EventStore { return (*EventStore)(s) }

// eventRow is the stored body of an event.
type eventRow struct {
	Region    string          `json:"region"`
	Resources []string        `json:"resources"`
	Detail    json.RawMessage `json:"detail"`
	Bus       string          `json:"bus,omitempty"`
}

// insertEvents writes a transaction's events, numbered after every event committed before.
func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, evs []pendingEvent) error {
	if len(evs) == 0 {
		return nil
	}
	// The caller holds the commit-order lock (lockCommitOrder): numbers are drawn in commit
	// order, so a reader that has seen seq n never later sees an event below n commit.
	q := `INSERT INTO events (id, account, source, detail_type, time, body) VALUES ($1,$2,$3,$4,$5,$6)`
	if s.dialect == Postgres {
		// A sequence alone would not do: a transaction that drew a lower number could commit
		// after one that drew a higher number, and a reader would skip it.
		q = `INSERT INTO events (seq, id, account, source, detail_type, time, body) VALUES (nextval('events_seq'),$1,$2,$3,$4,$5,$6)`
	}
	// SQLite needs nothing more: one writer at a time, and seq is the rowid.
	for _, p := range evs {
		if _, err := tx.ExecContext(ctx, q, p.ev.ID, p.ev.Account, p.ev.Source, p.ev.DetailType, micros(p.ev.Time), p.body); err != nil {
			return err
		}
	}
	return nil
}

// notifyCommitted wakes this process's subscribers after a transaction with events committed.
// (Other servers on PostgreSQL are woken by the transaction's own pg_notify.)
func (s *Store) notifyCommitted() { s.hub.broadcast() }

// EventsAfter returns up to limit events after seq, in order.
func (s *EventStore) EventsAfter(ctx context.Context, after int64, limit int) ([]events.Event, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq, id, account, source, detail_type, time, body FROM events WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, internal("store.EventsAfter", err)
	}
	defer rows.Close()
	var out []events.Event
	for rows.Next() {
		var ev events.Event
		var t int64
		var body string
		if err := rows.Scan(&ev.Seq, &ev.ID, &ev.Account, &ev.Source, &ev.DetailType, &t, &body); err != nil {
			return nil, internal("store.EventsAfter", err)
		}
		var row eventRow
		if err := json.Unmarshal([]byte(body), &row); err != nil {
			return nil, internal("store.EventsAfter", err)
		}
		ev.Time, ev.Region, ev.Resources, ev.Detail, ev.Bus = fromMicros(t), row.Region, row.Resources, row.Detail, row.Bus
		out = append(out, ev)
	}
	return out, internal("store.EventsAfter", rows.Err())
}
