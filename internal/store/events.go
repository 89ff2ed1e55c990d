package store

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/slipway-ml/slipway/internal/events"
)

var _ events.Reader = (*Store)(nil)

// eventRow is the stored body of an event.
type eventRow struct {
	Region    string          `json:"region"`
	Resources []string        `json:"resources"`
	Detail    json.RawMessage `json:"detail"`
}

// insertEvent writes an event inside tx, taking the next sequence number from the counters row
// (whose lock orders concurrent writers, so sequence order is commit order).
func (s *Store) insertEvent(ctx context.Context, tx *sql.Tx, ev events.Event, body string) error {
	var seq int64
	if err := tx.QueryRowContext(ctx, `UPDATE counters SET value = value + 1 WHERE name = 'events' RETURNING value`).Scan(&seq); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO events (seq, id, account, source, detail_type, time, body) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		seq, ev.ID, ev.Account, ev.Source, ev.DetailType, micros(ev.Time), body)
	return err
}

// notifyCommitted wakes subscribers after a transaction with events committed.
func (s *Store) notifyCommitted() {}

// EventsAfter returns up to limit events after seq, in order.
func (s *Store) EventsAfter(ctx context.Context, after int64, limit int) ([]events.Event, error) {
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
		ev.Time, ev.Region, ev.Resources, ev.Detail = fromMicros(t), row.Region, row.Resources, row.Detail
		out = append(out, ev)
	}
	return out, internal("store.EventsAfter", rows.Err())
}
