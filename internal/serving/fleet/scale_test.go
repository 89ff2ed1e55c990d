package fleet

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/inference"
)

func TestScale(t *testing.T) {
	fs := newFakes()
	fs.make = func(name string) *fake { return &fake{name: name, hold: closedChan} }
	f := newFleet(t, fs, Options{ReadyTimeout: 200 * time.Millisecond})
	ctx := context.Background()
	if err := f.Deploy(ctx, "ep", variants(v("A", 1, 2, "a"), v("B", 1, 1, "b"))); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var failed, served atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := f.Invoke(ctx, "ep", "", inference.Request{Body: []byte("1")}); err != nil {
					failed.Add(1)
					t.Error(err)
				}
				served.Add(1)
			}
		}()
	}
	status := func() string { return fmt.Sprint(f.Status("ep")) }
	for _, step := range []struct {
		counts map[string]int
		want   string
	}{
		{map[string]int{"A": 4}, "[{A 1 4 4} {B 1 1 1}]"},
		{map[string]int{"A": 1, "B": 3}, "[{A 1 1 1} {B 1 3 3}]"},
		{map[string]int{"B": 1}, "[{A 1 1 1} {B 1 1 1}]"},
		{map[string]int{"A": 1}, "[{A 1 1 1} {B 1 1 1}]"},
	} {
		if err := f.Scale(ctx, "ep", step.counts); err != nil {
			t.Fatal(err)
		}
		if got := status(); got != step.want {
			t.Errorf("after Scale(%v): %s, want %s", step.counts, got, step.want)
		}
	}
	// The instances scaled in are closed (a/0 stayed; a/1..a/3 went).
	waitClosed(t, fs, "a/1", "a/2", "a/3", "b/1", "b/2")
	if fs.get("a/0").closed.Load() || fs.get("b/0").closed.Load() {
		t.Error("Scale closed an instance it kept")
	}
	// New instances serve.
	if err := f.Scale(ctx, "ep", map[string]int{"A": 3}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for fs.get("a/2").served.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("an instance added by Scale never served")
		}
		time.Sleep(time.Millisecond)
	}

	// Refusals change nothing.
	fs.mu.Lock()
	fs.fail["b"] = fmt.Errorf("out of memory")
	fs.mu.Unlock()
	before := status()
	for _, c := range []struct {
		counts map[string]int
		want   string
		kind   errs.Kind
	}{
		{map[string]int{"B": 2}, "variant B instance 2 cannot start: out of memory", errs.Invalid},
		{map[string]int{"C": 2}, "no variant C", errs.Invalid},
		{map[string]int{"A": 0}, "at least 1", errs.Invalid},
	} {
		err := f.Scale(ctx, "ep", c.counts)
		if errs.KindOf(err) != c.kind || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Scale(%v) = %v, want %v naming %q", c.counts, err, c.kind, c.want)
		}
		if got := status(); got != before {
			t.Errorf("a refused Scale(%v) changed the fleet: %s, was %s", c.counts, got, before)
		}
	}
	if err := f.Scale(ctx, "nope", map[string]int{"A": 1}); errs.KindOf(err) != errs.NotFound {
		t.Errorf("Scale of an unknown endpoint: %v", err)
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed while scaling", failed.Load(), served.Load())
	}
	t.Logf("%d requests while scaling, none failed", served.Load())
}
