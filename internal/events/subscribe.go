package events

import (
	"context"
	"log/slog"
	"time"

	"github.com/slipway-ml/slipway/internal/clock"
)

// Feed is the outbox as its consumers see it.
type Feed interface {
	Reader
	// Changed returns a channel closed after the next commit of events, in this process or
	// (PostgreSQL) any server sharing the database. Taken before a read that finds nothing,
	// it cannot miss a commit that happens between the read and the wait.
	Changed(ctx context.Context) (<-chan struct{}, error)
	// Cursor returns the last seq the named consumer saved; 0 for a new consumer.
	Cursor(ctx context.Context, consumer string) (int64, error)
	// SaveCursor records that the consumer has handled every event up to seq.
	SaveCursor(ctx context.Context, consumer string, seq int64) error
}

// Handler handles one event. An event may be handed over more than once (after a crash, or
// when the handler or the cursor's save failed), so handlers must be idempotent by event ID.
// A handler that returns an error gets the same event again after a backoff; later events
// wait for it.
type Handler func(ctx context.Context, ev Event) error

// Subscription delivers the outbox's events, in sequence order and at least once, to one
// named consumer, resuming after the consumer's durable cursor.
type Subscription struct {
	feed   Feed
	name   string
	handle Handler
	log    *slog.Logger

	// Batch is how many events are read at a time (100 by default); the cursor is saved
	// after each batch, so a crash redelivers at most one batch.
	Batch int
	// Resync is how long an idle subscription waits for a wake-up before reading anyway
	// (30 s by default): a safety net, not the way events normally arrive.
	Resync time.Duration
	// MaxBackoff bounds the wait before a failed handler is tried again (10 s by default).
	MaxBackoff time.Duration
	// Clock times the resync and the backoff (clock.Real() by default; a test sets a
	// clock.Fake before Run).
	Clock clock.Clock
}

// Subscribe returns the subscription of the consumer named name; Run starts it.
func Subscribe(feed Feed, name string, handle Handler, log *slog.Logger) *Subscription {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Subscription{feed: feed, name: name, handle: handle, log: log.With("component", "events", "consumer", name),
		Batch: 100, Resync: 30 * time.Second, MaxBackoff: 10 * time.Second, Clock: clock.Real()}
}

// Run delivers events until ctx ends, and returns ctx's error then. Errors of the store are
// logged and retried; they do not stop the subscription.
func (s *Subscription) Run(ctx context.Context) error {
	cursor, err := s.loadCursor(ctx)
	if err != nil {
		return err
	}
	backoff := 10 * time.Millisecond
	for {
		changed, err := s.feed.Changed(ctx)
		if err == nil {
			var n int
			n, cursor, err = s.deliver(ctx, cursor)
			if err == nil {
				backoff = 10 * time.Millisecond
				if n == s.Batch {
					continue // more may be waiting
				}
				if err := s.wait(ctx, changed, s.Resync); err != nil {
					return err
				}
				continue
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("event delivery failed; retrying", "err", err, "in", backoff)
		if err := s.wait(ctx, nil, backoff); err != nil {
			return err
		}
		backoff = min(2*backoff, s.MaxBackoff)
	}
}

func (s *Subscription) loadCursor(ctx context.Context) (int64, error) {
	for backoff := 10 * time.Millisecond; ; backoff = min(2*backoff, s.MaxBackoff) {
		cursor, err := s.feed.Cursor(ctx, s.name)
		if err == nil {
			return cursor, nil
		}
		s.log.Warn("cannot read the consumer's cursor; retrying", "err", err)
		if err := s.wait(ctx, nil, backoff); err != nil {
			return 0, err
		}
	}
}

// deliver hands over one batch after cursor and saves the cursor past what was handled.
func (s *Subscription) deliver(ctx context.Context, cursor int64) (int, int64, error) {
	evs, err := s.feed.EventsAfter(ctx, cursor, s.Batch)
	if err != nil {
		return 0, cursor, err
	}
	handled := cursor
	for _, ev := range evs {
		if err := s.handle(ctx, ev); err != nil {
			// Save what was handled, then let Run back off and try this event again.
			if handled > cursor {
				if serr := s.feed.SaveCursor(ctx, s.name, handled); serr != nil {
					return 0, cursor, serr
				}
			}
			return 0, handled, err
		}
		handled = ev.Seq
	}
	if handled > cursor {
		// The events were handled: record that even when ctx ended meanwhile (a stopping
		// consumer), so a restart does not hand them over again.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.feed.SaveCursor(sctx, s.name, handled); err != nil {
			// Keep the cursor in memory: the events were handled; on a restart they come again.
			return len(evs), handled, err
		}
	}
	return len(evs), handled, nil
}

func (s *Subscription) wait(ctx context.Context, changed <-chan struct{}, d time.Duration) error {
	clk := s.Clock
	if clk == nil {
		clk = clock.Real()
	}
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-changed:
	case <-t.C():
	}
	return nil
}
