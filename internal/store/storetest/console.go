package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/store"
)

// testConsole: sessions are found until they expire and after they are replaced, deleted
// by sign-out; a one-time link is used once, even by racing users, and never after it expires.
func testConsole(t *testing.T, st *store.Store) {
	ctx := context.Background()
	c := st.Console()
	now := time.Unix(1_800_000_000, 0)
	if err := c.PutSession(ctx, "h1", now.Add(time.Hour), []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Session(ctx, "h1", now); err != nil || string(got) != `{"a":1}` {
		t.Fatalf("Session = %s, %v", got, err)
	}
	if err := c.PutSession(ctx, "h1", now.Add(2*time.Hour), []byte(`{"a":2}`)); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Session(ctx, "h1", now.Add(90*time.Minute)); err != nil || string(got) != `{"a":2}` {
		t.Fatalf("replaced Session = %s, %v", got, err)
	}
	if _, err := c.Session(ctx, "h1", now.Add(2*time.Hour)); !errs.Is(err, errs.NotFound) {
		t.Errorf("an expired session: %v, want NotFound", err)
	}
	if _, err := c.Session(ctx, "nope", now); !errs.Is(err, errs.NotFound) {
		t.Errorf("an unknown session: %v", err)
	}
	if err := c.PutSession(ctx, "h2", now.Add(time.Hour), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteSession(ctx, "h2", now); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Session(ctx, "h2", now); !errs.Is(err, errs.NotFound) {
		t.Errorf("a deleted session: %v", err)
	}
	if err := c.DeleteSession(ctx, "h2", now); err != nil {
		t.Errorf("deleting again: %v", err)
	}

	if err := c.PutLink(ctx, "l1", "AKIAEXAMPLE", now.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := c.PutLink(ctx, "l1", "AKIAOTHER", now.Add(5*time.Minute)); err == nil {
		t.Errorf("a second link with the same token hash was accepted")
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won int
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key, err := c.UseLink(ctx, "l1", now.Add(time.Minute))
			if err == nil {
				mu.Lock()
				won++
				mu.Unlock()
				if key != "AKIAEXAMPLE" {
					t.Errorf("UseLink = %s", key)
				}
			} else if !errs.Is(err, errs.NotFound) {
				t.Errorf("UseLink: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d racing users used the link, want exactly 1", won)
	}
	if err := c.PutLink(ctx, "l2", "AKIAEXAMPLE", now.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UseLink(ctx, "l2", now.Add(5*time.Minute)); !errs.Is(err, errs.NotFound) {
		t.Errorf("an expired link: %v, want NotFound", err)
	}
}
