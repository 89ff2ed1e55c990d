package store

import (
	"context"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/randid"
	"github.com/slipway-ml/slipway/internal/store/pgtest"
)

// TestEventsCommitOrder holds a transaction between drawing its event's sequence number and
// committing, lets a second transaction try to commit an event meanwhile, and checks that the
// second cannot commit first: otherwise a reader would see the second's (higher) number, move
// its cursor past the first's, and never see the first when it commits.
func TestEventsCommitOrder(t *testing.T) {
	for name, dsn := range map[string]string{"SQLite": t.TempDir() + "/order.db", "Postgres": postgresDSN(t)} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(ctx, dsn, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			held, release := make(chan struct{}), make(chan struct{})
			s.afterFlush = func(tx *Tx) {
				if len(tx.events) > 0 && tx.events[0].ev.Account == "first" {
					close(held)
					<-release
				}
			}
			ev := func(account string) events.Event {
				return events.Event{ID: randid.UUID(), Account: account, Source: "test", DetailType: "x", Time: time.Now()}
			}
			firstDone := make(chan error, 1)
			go func() {
				firstDone <- s.update(ctx, func(tx *Tx) error { return tx.AppendEvent(ctx, ev("first")) })
			}()
			<-held
			secondDone := make(chan error, 1)
			go func() {
				secondDone <- s.update(ctx, func(tx *Tx) error { return tx.AppendEvent(ctx, ev("second")) })
			}()
			select {
			case err := <-secondDone:
				t.Fatalf("the second transaction committed (%v) while the first, holding a lower sequence number, had not", err)
			case <-time.After(300 * time.Millisecond):
			}
			if got, err := s.Events().EventsAfter(ctx, 0, 10); err != nil || len(got) != 0 {
				t.Fatalf("a reader sees %v, %v before anything committed", got, err)
			}
			close(release)
			if err := <-firstDone; err != nil {
				t.Fatal(err)
			}
			if err := <-secondDone; err != nil {
				t.Fatal(err)
			}
			got, err := s.Events().EventsAfter(ctx, 0, 10)
			if err != nil || len(got) != 2 || got[0].Account != "first" || got[1].Account != "second" || got[0].Seq >= got[1].Seq {
				t.Fatalf("events = %+v, %v; want first then second, increasing", got, err)
			}
		})
	}
}

// postgresDSN makes a fresh database on the test server.
func postgresDSN(t *testing.T) string { return pgtest.Database(t) }
