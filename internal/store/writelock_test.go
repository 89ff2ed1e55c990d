package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/randid"
)

// TestNestedWriteIsCaught opens a write transaction inside another on the same goroutine: on
// SQLite that would wait for itself for ever, so it must fail loudly (a panic under test), roll
// the outer transaction back and leave the lock free for the next writer.
func TestNestedWriteIsCaught(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir()+"/nested.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev := func() events.Event {
		return events.Event{ID: randid.UUID(), Account: "a", Source: "test", DetailType: "x", Time: time.Now()}
	}
	for name, inner := range map[string]func() error{
		"transaction": func() error { return s.update(ctx, func(tx *Tx) error { return tx.AppendEvent(ctx, ev()) }) },
		"autocommit":  func() error { return s.Events().SaveCursor(ctx, "c", 1) },
	} {
		t.Run(name, func(t *testing.T) {
			var recovered any
			func() {
				defer func() { recovered = recover() }()
				s.update(ctx, func(tx *Tx) error {
					if err := tx.AppendEvent(ctx, ev()); err != nil {
						return err
					}
					return inner()
				})
			}()
			if msg, _ := recovered.(string); !strings.Contains(msg, "nested write") {
				t.Fatalf("recovered %v; want the nested-write panic", recovered)
			}
			if got, err := s.Events().EventsAfter(ctx, 0, 10); err != nil || len(got) != 0 {
				t.Fatalf("events = %v, %v; want the outer transaction rolled back", got, err)
			}
			done := make(chan error, 1)
			go func() { done <- s.update(ctx, func(tx *Tx) error { return nil }) }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the write lock was not released after the panic")
			}
		})
	}
}

// TestWriteWaitHonoursContext holds the write lock and checks that a writer waiting for it
// returns when its context ends, and that writes proceed once the lock is free.
func TestWriteWaitHonoursContext(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir()+"/wait.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	held := make(chan func())
	go func() {
		release, err := s.writes.acquire(ctx)
		if err != nil {
			panic(err)
		}
		held <- release
	}()
	release := <-held
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.update(short, func(tx *Tx) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("update while the lock is held = %v; want the context's deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the waiter took %v to notice its context ended", d)
	}
	release()
	if err := s.SetState(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
}

// TestPostgresHasNoWriteLock: PostgreSQL's writers run concurrently; the lock is SQLite's.
func TestPostgresHasNoWriteLock(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, postgresDSN(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.writes.sem != nil {
		t.Fatal("a PostgreSQL store serializes its writes")
	}
}
