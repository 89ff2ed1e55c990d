package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/clock"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/registry"
)

// TestEnqueueInTransaction writes a registry group and enqueues the work it starts in one
// transaction. Rolled back, neither exists. Committed, the work is reconciled by this process's
// runtime although its clock never moves and its poll interval is an hour: the commit woke it.
func TestEnqueueInTransaction(t *testing.T) {
	for name, dsn := range map[string]string{"SQLite": t.TempDir() + "/enqueue.db", "Postgres": postgresDSN(t)} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := Open(ctx, dsn, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			const kind, account = "group-setup", "111111111111"
			fc := clock.NewFake(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
			reconciled := make(chan string, 10)
			rt := reconcile.New(s.Work(), kind, reconcile.Func(func(ctx context.Context, key string) (reconcile.Result, error) {
				reconciled <- key
				return reconcile.Result{Forget: true}, nil
			}), reconcile.Options{Clock: fc, Poll: time.Hour, Resync: 24 * time.Hour})
			rt.Start(ctx)
			defer rt.Close(context.Background())
			if err := rt.Idle(ctx); err != nil { // asleep until the next poll, an hour of fake time away
				t.Fatal(err)
			}

			createAndEnqueue := func(name string, fail error) error {
				return s.update(ctx, func(tx *Tx) error {
					g := registry.Group{Account: account, Name: name, ARN: "arn:group/" + name, Status: "Completed", CreatedAt: fc.Now()}
					if err := (registryTx{tx}).CreateGroup(ctx, g); err != nil {
						return err
					}
					if err := tx.Enqueue(ctx, kind, name, fc.Now()); err != nil {
						return err
					}
					return fail
				})
			}

			boom := errors.New("the change fails after it enqueued its work")
			if err := createAndEnqueue("rolled-back", boom); !errors.Is(err, boom) {
				t.Fatalf("update = %v, want %v", err, boom)
			}
			if it, err := s.Work().Get(ctx, kind, "rolled-back"); !errs.Is(err, errs.NotFound) {
				t.Fatalf("the rolled-back transaction's work item: %+v, %v; want NotFound", it, err)
			}
			if _, err := s.Registry().GetGroup(ctx, account, "rolled-back"); !errs.Is(err, errs.NotFound) {
				t.Fatalf("the rolled-back transaction's group: err = %v, want NotFound", err)
			}

			began := time.Now()
			if err := createAndEnqueue("committed", nil); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Registry().GetGroup(ctx, account, "committed"); err != nil {
				t.Fatalf("the committed group: %v", err)
			}
			select {
			case key := <-reconciled:
				if key != "committed" {
					t.Fatalf("reconciled %q, want committed", key)
				}
				t.Logf("reconciled %s after the commit", time.Since(began).Round(time.Millisecond))
			case <-time.After(10 * time.Second):
				t.Fatal("the committed work was not reconciled within 10 s: the commit did not wake the runtime")
			}
			if err := rt.Idle(ctx); err != nil {
				t.Fatal(err)
			}
			select {
			case key := <-reconciled:
				t.Fatalf("reconciled %q too; only the committed work exists", key)
			default:
			}
		})
	}
}
