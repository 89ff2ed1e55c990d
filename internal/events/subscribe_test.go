package events_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/clock"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

// TestSubscriptionTimersUseTheClock runs a subscription on a fake clock over a real store. An
// event written behind the store's back (as another server on the same file would: no
// in-process wake-up) is delivered when the fake time reaches the resync, and a handler's
// failure is retried when the fake time passes the backoff: neither waits on the real clock.
func TestSubscriptionTimersUseTheClock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st := storetest.OpenSQLite(t)
	fc := clock.NewFake(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	got := make(chan events.Event, 10)
	var refused atomic.Bool
	sub := events.Subscribe(st.Events(), "resync", func(ctx context.Context, ev events.Event) error {
		got <- ev
		if ev.ID == "refused-once" && refused.CompareAndSwap(false, true) {
			return errs.E(errs.Unavailable, "refused once")
		}
		return nil
	}, nil)
	sub.Clock = fc
	sub.Resync = time.Hour
	sub.MaxBackoff = time.Minute
	runDone := make(chan error, 1)
	go func() { runDone <- sub.Run(ctx) }()
	defer func() {
		cancel()
		<-runDone
	}()

	sleeping := func(what string) {
		t.Helper()
		if err := fc.BlockUntil(ctx, 1); err != nil {
			t.Fatalf("the subscription never slept on the fake clock %s", what)
		}
	}
	none := func(what string) {
		t.Helper()
		select {
		case ev := <-got:
			t.Fatalf("event %s delivered %s", ev.ID, what)
		case <-time.After(200 * time.Millisecond):
		}
	}
	next := func(what string) events.Event {
		t.Helper()
		select {
		case ev := <-got:
			return ev
		case <-time.After(10 * time.Second):
			t.Fatalf("nothing delivered %s", what)
			return events.Event{}
		}
	}

	sleeping("with nothing to read")
	storetest.RawExec(t, st, `INSERT INTO events (id, account, source, detail_type, time, body) VALUES ($1, '111111111111', 'test', 'x', 0, '{}')`, "unannounced")
	none("before the resync, with no wake-up")
	fc.Advance(time.Hour)
	if ev := next("when the fake time reached the resync"); ev.ID != "unannounced" {
		t.Fatalf("delivered %s, want unannounced", ev.ID)
	}

	sleeping("after the first event")
	storetest.RawExec(t, st, `INSERT INTO events (id, account, source, detail_type, time, body) VALUES ($1, '111111111111', 'test', 'x', 0, '{}')`, "refused-once")
	fc.Advance(time.Hour)
	if ev := next("at the second resync"); ev.ID != "refused-once" {
		t.Fatalf("delivered %s, want refused-once", ev.ID)
	}
	sleeping("backing off after the handler's failure")
	none("again before the backoff passed")
	fc.Advance(time.Minute)
	if ev := next("when the fake time passed the backoff"); ev.ID != "refused-once" {
		t.Fatalf("redelivered %s, want refused-once", ev.ID)
	}
}
