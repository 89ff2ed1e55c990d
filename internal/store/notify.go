package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slipway-ml/slipway/internal/errs"
)

// eventsChannel is the PostgreSQL notification channel a transaction with events notifies on
// commit (pg_notify inside the transaction is delivered only if, and when, it commits).
const eventsChannel = "slipway_events"

// hub wakes the consumers of this process when events commit: here, or (PostgreSQL) on any
// server sharing the database, through one LISTEN connection per store.
type hub struct {
	mu      sync.Mutex
	changed chan struct{} // closed at the next commit of events, then replaced

	dsn       string // PostgreSQL only
	log       func(msg string, args ...any)
	listening chan struct{} // closed once LISTEN runs; nil until the listener starts
	stop      context.CancelFunc
	done      chan struct{}
}

func newHub(dsn string, log func(string, ...any)) *hub {
	return &hub{changed: make(chan struct{}), dsn: dsn, log: log}
}

// broadcast wakes everyone waiting on the current channel.
func (h *hub) broadcast() {
	h.mu.Lock()
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

// wait returns the channel the next broadcast closes. On PostgreSQL it first makes sure this
// store listens for other servers' commits.
func (h *hub) wait(ctx context.Context) (<-chan struct{}, error) {
	if h.dsn != "" {
		h.mu.Lock()
		if h.listening == nil {
			lctx, cancel := context.WithCancel(context.Background())
			h.listening, h.stop, h.done = make(chan struct{}), cancel, make(chan struct{})
			go h.listen(lctx, h.listening)
		}
		listening := h.listening
		h.mu.Unlock()
		select {
		case <-listening:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changed, nil
}

// listen holds a LISTEN connection until ctx ends, reconnecting after failures. Every
// notification, and every reconnection (notifications may have been missed), wakes waiters.
func (h *hub) listen(ctx context.Context, listening chan struct{}) {
	defer close(h.done)
	first := true
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := func() error {
			conn, err := pgx.Connect(ctx, h.dsn)
			if err != nil {
				return err
			}
			defer conn.Close(context.WithoutCancel(ctx))
			if _, err := conn.Exec(ctx, "LISTEN "+eventsChannel); err != nil {
				return err
			}
			if first {
				close(listening)
				first = false
			} else {
				h.broadcast()
			}
			backoff = 100 * time.Millisecond
			for {
				if _, err := conn.WaitForNotification(ctx); err != nil {
					return err
				}
				h.broadcast()
			}
		}()
		if ctx.Err() != nil {
			return
		}
		h.log("event listener lost its connection; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// close stops the listener and waits for it.
func (h *hub) close() {
	h.mu.Lock()
	stop, done := h.stop, h.done
	h.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// Changed returns a channel closed after the next commit of events: in this process, or on
// PostgreSQL in any server sharing the database. Take it before reading, then wait on it
// when the read found nothing new, and no commit can slip between the two.
func (s *EventStore) Changed(ctx context.Context) (<-chan struct{}, error) {
	ch, err := s.hub.wait(ctx)
	if err != nil {
		return nil, errs.E(errs.Unavailable, "cannot listen for events", err)
	}
	return ch, nil
}

// Cursor returns the last seq the consumer saved (0 for a consumer never seen).
func (s *EventStore) Cursor(ctx context.Context, consumer string) (int64, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT seq FROM event_cursors WHERE consumer = $1`, consumer).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return seq, internal("store.Cursor", err)
}

// SaveCursor records that the consumer has handled every event up to seq. A cursor never
// moves back (two copies of one consumer may race).
func (s *EventStore) SaveCursor(ctx context.Context, consumer string, seq int64) error {
	err := (*Store)(s).autocommit(ctx, func() error {
		_, err := s.db.ExecContext(ctx, `INSERT INTO event_cursors (consumer, seq, updated_at) VALUES ($1,$2,$3)
		ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
		WHERE event_cursors.seq < excluded.seq`, consumer, seq, s.now().UnixMicro())
		return err
	})
	return internal("store.SaveCursor", err)
}
