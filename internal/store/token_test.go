package store

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/randid"
	"github.com/slipway-ml/slipway/internal/registry"
)

// TestClientTokenRace holds a package creation with a client token between its inserts and its
// commit, starts a second creation with the same token meanwhile, and checks that the second
// returns the first's package. On PostgreSQL the second provably races: it finds no package for
// the token, inserts, hits the token's unique index once the first commits, and runs again.
func TestClientTokenRace(t *testing.T) {
	for name, dsn := range map[string]string{"SQLite": t.TempDir() + "/token.db", "Postgres": postgresDSN(t)} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(ctx, dsn, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			r := s.Registry()
			g := registry.Group{Account: "111111111111", Name: "g", ARN: "arn:g", Status: "Completed"}
			if err := r.Update(ctx, func(tx registry.Tx) error { return tx.CreateGroup(ctx, g) }); err != nil {
				t.Fatal(err)
			}
			create := func(runs *atomic.Int32) (registry.Package, error) {
				var out registry.Package
				err := r.Update(ctx, func(tx registry.Tx) error {
					runs.Add(1)
					if p, err := tx.PackageByClientToken(ctx, g.Account, g.Name, "tok"); err == nil {
						out = p
						return nil
					} else if !errs.Is(err, errs.NotFound) {
						return err
					}
					v, err := tx.NextVersion(ctx, g.Account, g.Name)
					if err != nil {
						return err
					}
					out = registry.Package{Account: g.Account, GroupName: g.Name, Version: v, ARN: "arn:p/" + string(rune('0'+v)),
						Status: "Completed", ApprovalStatus: registry.Pending, ClientToken: "tok"}
					if err := tx.InsertPackage(ctx, out); err != nil {
						return err
					}
					return tx.AppendEvent(ctx, events.Event{ID: randid.UUID(), Account: g.Account, Source: "test", DetailType: "x", Time: time.Now()})
				})
				return out, err
			}
			held, release := make(chan struct{}), make(chan struct{})
			var holding atomic.Bool
			holding.Store(true)
			s.afterFlush = func(tx *Tx) {
				if holding.CompareAndSwap(true, false) {
					close(held)
					<-release
				}
			}
			var firstRuns, secondRuns atomic.Int32
			type result struct {
				p   registry.Package
				err error
			}
			first := make(chan result, 1)
			go func() { p, err := create(&firstRuns); first <- result{p, err} }()
			<-held
			second := make(chan result, 1)
			go func() { p, err := create(&secondRuns); second <- result{p, err} }()
			if name == "Postgres" {
				// Wait until the second has found no package for the token and is blocked
				// behind the first (on the group's version counter).
				for deadline := time.Now().Add(10 * time.Second); secondRuns.Load() == 0; time.Sleep(time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("the second creation never started")
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
			close(release)
			a, b := <-first, <-second
			if a.err != nil || b.err != nil {
				t.Fatalf("creations: %v, %v", a.err, b.err)
			}
			if a.p.Version != 1 || b.p.Version != 1 || b.p.ARN != a.p.ARN {
				t.Fatalf("first made %d (%s), the retry returned %d (%s); want the same package", a.p.Version, a.p.ARN, b.p.Version, b.p.ARN)
			}
			if name == "Postgres" && secondRuns.Load() < 2 {
				t.Errorf("the second creation ran %d time(s): it never raced the first", secondRuns.Load())
			}
			evs, err := s.Events().EventsAfter(ctx, 0, 10)
			if err != nil {
				t.Fatalf("EventsAfter: %v", err)
			}
			if len(evs) != 1 {
				t.Errorf("%d events, want 1 (the retry writes nothing)", len(evs))
			}
		})
	}
}
