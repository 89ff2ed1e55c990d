// Package reconciletest is the conformance suite of the reconcile runtime: every reconcile.Store
// (SQLite and PostgreSQL through internal/store) runs it. Time is a clock.Fake, so timers,
// backoff, resync and lease expiry happen exactly when a test moves the clock.
package reconciletest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/clock"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// Harness is what the suite needs from a backend.
type Harness struct {
	Store reconcile.Store
	// FencedInsert records note for f's key in a side table, in a transaction that first checks
	// the fence (errs.Conflict when it no longer holds).
	FencedInsert func(ctx context.Context, f reconcile.Fence, note string) error
	// Notes returns the notes recorded for (kind, key), in the order they were recorded.
	Notes func(ctx context.Context, kind, key string) ([]string, error)
}

// Run runs the suite. open returns a backend for each subtest; it may be shared, since each
// subtest works items of its own kind.
func Run(t *testing.T, open func(t testing.TB) Harness) {
	t.Run("EveryKeyCompletes", func(t *testing.T) { testEveryKeyCompletes(t, open(t)) })
	t.Run("BackoffBounded", func(t *testing.T) { testBackoffBounded(t, open(t)) })
	t.Run("RequeueAfterTimer", func(t *testing.T) { testRequeueAfter(t, open(t)) })
	t.Run("Resync", func(t *testing.T) { testResync(t, open(t)) })
	t.Run("WakeDuringReconcile", func(t *testing.T) { testWakeDuringReconcile(t, open(t)) })
	t.Run("Forget", func(t *testing.T) { testForget(t, open(t)) })
	t.Run("PanicIsAFailure", func(t *testing.T) { testPanic(t, open(t)) })
	t.Run("TakeoverAfterExpiry", func(t *testing.T) { testTakeover(t, open(t)) })
	t.Run("RenewalKeepsLease", func(t *testing.T) { testRenewal(t, open(t)) })
	t.Run("LeaseLostFencesWrites", func(t *testing.T) { testLeaseLost(t, open(t)) })
	t.Run("ShutdownReleases", func(t *testing.T) { testShutdown(t, open(t)) })
	t.Run("TwoOwnersNeverOverlap", func(t *testing.T) { testTwoOwners(t, open(t)) })
}

// kindOf names the kind of work items of a subtest.
func kindOf(t *testing.T) string { return strings.ReplaceAll(t.Name(), "/", ".") }

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func options(fc *clock.Fake, owner string) reconcile.Options {
	return reconcile.Options{
		Owner: owner, Workers: 4, LeaseTTL: 30 * time.Second, RenewEvery: 10 * time.Second, Poll: time.Second,
		Resync: 10 * time.Minute, Backoff: reconcile.Backoff{Base: time.Second, Max: 8 * time.Second, Jitter: 0.5},
		Clock: fc,
	}
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func start(t *testing.T, h Harness, r reconcile.Reconciler, o reconcile.Options) *reconcile.Runtime {
	rt := reconcile.New(h.Store, kindOf(t), r, o)
	rt.Start(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rt.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return rt
}

// settle makes the runtime look at the store afresh and waits until it has nothing to do.
func settle(t *testing.T, ctx context.Context, rt *reconcile.Runtime) {
	t.Helper()
	rt.Wake()
	if err := rt.Idle(ctx); err != nil {
		t.Fatalf("Idle: %v", err)
	}
}

// calls counts reconciles per key and lets a test wait for a count.
type calls struct {
	mu      sync.Mutex
	n       map[string]int
	active  map[string]int
	overlap []string
	changed chan struct{}
}

func newCalls() *calls {
	return &calls{n: map[string]int{}, active: map[string]int{}, changed: make(chan struct{})}
}

func (c *calls) begin(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.active[key]++
	if c.active[key] > 1 {
		c.overlap = append(c.overlap, key)
	}
	c.n[key]++
	return c.n[key]
}

func (c *calls) end(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.active[key]--
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *calls) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// waitFor waits until cond holds over the counts.
func (c *calls) waitFor(t *testing.T, ctx context.Context, what string, cond func(n map[string]int) bool) {
	t.Helper()
	for {
		c.mu.Lock()
		ok, ch := cond(c.n), c.changed
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (c *calls) wrap(f func(ctx context.Context, key string, n int) (reconcile.Result, error)) reconcile.Reconciler {
	return reconcile.Func(func(ctx context.Context, key string) (reconcile.Result, error) {
		n := c.begin(key)
		defer c.end(key)
		return f(ctx, key, n)
	})
}

func done(reconcile.Result) func(context.Context, string, int) (reconcile.Result, error) {
	return func(context.Context, string, int) (reconcile.Result, error) { return reconcile.Result{}, nil }
}

func testEveryKeyCompletes(t *testing.T, h Harness) {
	ctx := timeout(t)
	kind := kindOf(t)
	fc := clock.NewFake(t0)
	c := newCalls()
	rt := start(t, h, c.wrap(done(reconcile.Result{})), options(fc, "a"))
	keys := make([]string, 300)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%03d", i)
	}
	if err := rt.Enqueue(ctx, keys[:100]...); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys[100:] {
		if err := rt.Enqueue(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	c.waitFor(t, ctx, "every key", func(n map[string]int) bool { return len(n) == len(keys) })
	settle(t, ctx, rt)
	for _, k := range keys {
		if n := c.get(k); n != 1 {
			t.Errorf("%s reconciled %d times, want 1", k, n)
		}
		it, err := h.Store.Get(ctx, kind, k)
		if err != nil {
			t.Fatal(err)
		}
		if it.Owner != "" || !it.LeaseUntil.IsZero() || it.Attempts != 0 || it.Token != 1 {
			t.Errorf("%s after its reconcile: %+v; want released, token 1, no attempts", k, it)
		}
		if lo, hi := t0.Add(5*time.Minute), t0.Add(10*time.Minute); it.Due.Before(lo) || it.Due.After(hi) {
			t.Errorf("%s due %v, want the resync, in [%v, %v]", k, it.Due, lo, hi)
		}
	}
}

func testBackoffBounded(t *testing.T, h Harness) {
	ctx := timeout(t)
	kind := kindOf(t)
	fc := clock.NewFake(t0)
	c := newCalls()
	const failures = 6
	rt := start(t, h, c.wrap(func(_ context.Context, _ string, n int) (reconcile.Result, error) {
		if n <= failures {
			return reconcile.Result{}, fmt.Errorf("failure %d", n)
		}
		return reconcile.Result{}, nil
	}), options(fc, "a"))
	b := options(fc, "a").Backoff
	if err := rt.Enqueue(ctx, "flaky"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= failures; i++ {
		c.waitFor(t, ctx, fmt.Sprintf("attempt %d", i), func(n map[string]int) bool { return n["flaky"] >= i })
		settle(t, ctx, rt)
		if n := c.get("flaky"); n != i {
			t.Fatalf("after failure %d and no time passing, %d reconciles; want %d", i, n, i)
		}
		it, err := h.Store.Get(ctx, kind, "flaky")
		if err != nil {
			t.Fatal(err)
		}
		want := min(b.Base<<(i-1), b.Max)
		got := it.Due.Sub(fc.Now())
		if got > want || got < time.Duration(float64(want)*(1-b.Jitter)) {
			t.Errorf("delay after failure %d = %v, want in [%v, %v]", i, got, time.Duration(float64(want)*(1-b.Jitter)), want)
		}
		if it.Attempts != i || it.LastError != fmt.Sprintf("failure %d", i) {
			t.Errorf("after failure %d: attempts %d, last error %q", i, it.Attempts, it.LastError)
		}
		fc.Set(it.Due.Add(-time.Microsecond))
		settle(t, ctx, rt)
		if n := c.get("flaky"); n != i {
			t.Fatalf("retried %v before its backoff ended", time.Microsecond)
		}
		fc.Set(it.Due)
	}
	c.waitFor(t, ctx, "the success", func(n map[string]int) bool { return n["flaky"] == failures+1 })
	settle(t, ctx, rt)
	if it, err := h.Store.Get(ctx, kind, "flaky"); err != nil || it.Attempts != 0 || it.LastError != "" {
		t.Errorf("after the success: %+v, %v; want attempts and error cleared", it, err)
	}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
		if d := b.Delay(i+1, 0.999999); d > want || d < want/2 {
			t.Errorf("Delay(%d) = %v, want in [%v, %v]", i+1, d, want/2, want)
		}
	}
	if d := b.Delay(1000, 0); d != b.Max {
		t.Errorf("Delay(1000) = %v, want the cap %v", d, b.Max)
	}
}

func testRequeueAfter(t *testing.T, h Harness) {
	ctx := timeout(t)
	fc := clock.NewFake(t0)
	c := newCalls()
	rt := start(t, h, c.wrap(func(context.Context, string, int) (reconcile.Result, error) {
		return reconcile.Result{RequeueAfter: 5 * time.Minute}, nil
	}), options(fc, "a"))
	if err := rt.Enqueue(ctx, "timer"); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, ctx, "the first reconcile", func(n map[string]int) bool { return n["timer"] == 1 })
	settle(t, ctx, rt)
	fc.Advance(5*time.Minute - time.Second)
	settle(t, ctx, rt)
	if n := c.get("timer"); n != 1 {
		t.Fatalf("reconciled %d times before the timer, want 1", n)
	}
	fc.Advance(time.Second)
	c.waitFor(t, ctx, "the timer's reconcile", func(n map[string]int) bool { return n["timer"] == 2 })
	settle(t, ctx, rt)
	if n := c.get("timer"); n != 2 {
		t.Errorf("reconciled %d times after one timer, want 2", n)
	}
}

func testResync(t *testing.T, h Harness) {
	ctx := timeout(t)
	fc := clock.NewFake(t0)
	c := newCalls()
	rt := start(t, h, c.wrap(done(reconcile.Result{})), options(fc, "a"))
	if err := rt.Enqueue(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, ctx, "the first reconciles", func(n map[string]int) bool { return n["a"] == 1 && n["b"] == 1 })
	settle(t, ctx, rt)
	fc.Advance(5*time.Minute - time.Second) // resync is 10 min less up to half of it
	settle(t, ctx, rt)
	if c.get("a") != 1 || c.get("b") != 1 {
		t.Fatal("resync came early")
	}
	fc.Advance(5*time.Minute + time.Second)
	c.waitFor(t, ctx, "the resync", func(n map[string]int) bool { return n["a"] == 2 && n["b"] == 2 })
}

func testWakeDuringReconcile(t *testing.T, h Harness) {
	ctx := timeout(t)
	fc := clock.NewFake(t0)
	c := newCalls()
	inside, release := make(chan struct{}), make(chan struct{})
	rt := start(t, h, c.wrap(func(_ context.Context, _ string, n int) (reconcile.Result, error) {
		if n == 1 {
			close(inside)
			<-release
		}
		return reconcile.Result{}, nil
	}), options(fc, "a"))
	if err := rt.Enqueue(ctx, "w"); err != nil {
		t.Fatal(err)
	}
	<-inside
	if err := rt.Enqueue(ctx, "w"); err != nil { // the state changed after the reconcile read it
		t.Fatal(err)
	}
	close(release)
	c.waitFor(t, ctx, "the reconcile the wake-up asked for", func(n map[string]int) bool { return n["w"] == 2 })
	settle(t, ctx, rt)
	if n := c.get("w"); n != 2 {
		t.Errorf("reconciled %d times, want 2", n)
	}
	if len(c.overlap) > 0 {
		t.Errorf("keys reconciled twice at once: %v", c.overlap)
	}
}

func testForget(t *testing.T, h Harness) {
	ctx := timeout(t)
	kind := kindOf(t)
	fc := clock.NewFake(t0)
	c := newCalls()
	rt := start(t, h, c.wrap(func(context.Context, string, int) (reconcile.Result, error) {
		return reconcile.Result{Forget: true}, nil
	}), options(fc, "a"))
	if err := rt.Enqueue(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, ctx, "the reconcile", func(n map[string]int) bool { return n["gone"] == 1 })
	settle(t, ctx, rt)
	if _, err := h.Store.Get(ctx, kind, "gone"); !errs.Is(err, errs.NotFound) {
		t.Errorf("Get of a forgotten item: %v, want NotFound", err)
	}
}

func testPanic(t *testing.T, h Harness) {
	ctx := timeout(t)
	kind := kindOf(t)
	fc := clock.NewFake(t0)
	c := newCalls()
	rt := start(t, h, c.wrap(func(_ context.Context, _ string, n int) (reconcile.Result, error) {
		if n == 1 {
			panic("boom")
		}
		return reconcile.Result{}, nil
	}), options(fc, "a"))
	if err := rt.Enqueue(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, ctx, "the panic", func(n map[string]int) bool { return n["p"] == 1 })
	settle(t, ctx, rt)
	it, err := h.Store.Get(ctx, kind, "p")
	if err != nil || it.Attempts != 1 || it.Owner != "" {
		t.Fatalf("after a panic: %+v, %v; want one failed attempt, released", it, err)
	}
	fc.Set(it.Due)
	c.waitFor(t, ctx, "the retry", func(n map[string]int) bool { return n["p"] == 2 })
}

func testTakeover(t *testing.T, h Harness) {
	ctx := timeout(t)
	kind := kindOf(t)
	fc := clock.NewFake(t0)
	if err := h.Store.Enqueue(ctx, kind, []string{"orphan", "free"}, t0); err != nil {
		t.Fatal(err)
	}
	// A server claims a key and dies without renewing or releasing it.
	dead, err := h.Store.Claim(ctx, kind, "dead-server", t0, 30*time.Second, 1)
	if err != nil || len(dead) != 1 {
		t.Fatalf("Claim = %v, %v; want one lease", dead, err)
	}
	orphan, free := dead[0].Key, map[string]string{"orphan": "free", "free": "orphan"}[dead[0].Key]
	c := newCalls()
	rt := start(t, h, c.wrap(done(reconcile.Result{})), options(fc, "b"))
	c.waitFor(t, ctx, "the free key", func(n map[string]int) bool { return n[free] == 1 })
	settle(t, ctx, rt)
	fc.Advance(30*time.Second - time.Microsecond)
	settle(t, ctx, rt)
	if n := c.get(orphan); n != 0 {
		t.Fatalf("a live lease was taken over: %d reconciles", n)
	}
	fc.Advance(time.Second) // the next poll finds the lease expired
	c.waitFor(t, ctx, "the takeover", func(n map[string]int) bool { return n[orphan] == 1 })
	settle(t, ctx, rt)
	it, err := h.Store.Get(ctx, kind, orphan)
	if err != nil || it.Token != 2 || it.Owner != "" {
		t.Errorf("after the takeover: %+v, %v; want token 2, released", it, err)
	}
	if ok, err := h.Store.Release(ctx, dead[0], reconcile.Release{Next: fc.Now()}); ok || err != nil {
		t.Errorf("the dead server's late Release = %v, %v; want false (fenced off)", ok, err)
	}
}

func testLeaseLost(t *testing.T, h Harness) {
	ctx := timeout(t)
	kind := kindOf(t)
	fc := clock.NewFake(t0)
	o := options(fc, "a")
	inside := make(chan reconcile.Fence, 1)
	after := make(chan error, 1)
	var cause error
	rt := start(t, h, reconcile.Func(func(rctx context.Context, key string) (reconcile.Result, error) {
		f, ok := reconcile.FenceFrom(rctx)
		if !ok {
			return reconcile.Result{}, errors.New("no fence in the context")
		}
		if err := h.FencedInsert(rctx, f, "before"); err != nil {
			return reconcile.Result{}, err
		}
		inside <- f
		<-rctx.Done()
		cause = context.Cause(rctx)
		// A worker that carries on regardless: its write must be refused.
		after <- h.FencedInsert(context.WithoutCancel(rctx), f, "after")
		return reconcile.Result{}, nil
	}), o)
	if err := rt.Enqueue(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	f := <-inside
	it, err := h.Store.Get(ctx, kind, "x")
	if err != nil {
		t.Fatal(err)
	}
	// Another server takes the key over, as it would once the lease had expired unrenewed.
	thief, err := h.Store.Claim(ctx, kind, "thief", it.LeaseUntil, o.LeaseTTL, 1)
	if err != nil || len(thief) != 1 || thief[0].Token != f.Token+1 {
		t.Fatalf("takeover Claim = %+v, %v; want token %d", thief, err, f.Token+1)
	}
	if err := fc.BlockUntil(ctx, 2); err != nil { // the dispatcher's and the renewer's timers
		t.Fatal(err)
	}
	fc.Advance(o.RenewEvery) // the renewal finds the lease gone and cancels the reconcile
	var stale error
	select {
	case stale = <-after:
	case <-ctx.Done():
		t.Fatal("the reconcile's context was not cancelled after its lease was lost")
	}
	if !errors.Is(cause, reconcile.ErrLeaseLost) {
		t.Errorf("context cause = %v, want ErrLeaseLost", cause)
	}
	if !errs.Is(stale, errs.Conflict) {
		t.Errorf("the stale worker's write: %v, want Conflict", stale)
	}
	if err := h.FencedInsert(ctx, thief[0].Fence(), "thief"); err != nil {
		t.Errorf("the new owner's write: %v", err)
	}
	settle(t, ctx, rt)
	notes, err := h.Notes(ctx, kind, "x")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(notes) != "[before thief]" {
		t.Errorf("notes = %v, want [before thief]", notes)
	}
	if it, err := h.Store.Get(ctx, kind, "x"); err != nil || it.Owner != "thief" {
		t.Errorf("item after the stale worker returned: %+v, %v; want it still leased by thief", it, err)
	}
}

func testShutdown(t *testing.T, h Harness) {
	ctx := timeout(t)
	kind := kindOf(t)
	fc := clock.NewFake(t0)
	inside := make(chan struct{})
	rt := reconcile.New(h.Store, kind, reconcile.Func(func(rctx context.Context, key string) (reconcile.Result, error) {
		close(inside)
		<-rctx.Done()
		return reconcile.Result{}, context.Cause(rctx)
	}), options(fc, "a"))
	rt.Start(context.Background())
	if err := rt.Enqueue(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	<-inside
	if err := rt.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	it, err := h.Store.Get(ctx, kind, "s")
	if err != nil || it.Owner != "" || it.Attempts != 0 || it.Due.After(fc.Now()) {
		t.Fatalf("after shutdown: %+v, %v; want released, due now, no failed attempt", it, err)
	}
	// The next server takes it at once, without waiting for a lease to expire.
	c := newCalls()
	start(t, h, c.wrap(done(reconcile.Result{})), options(fc, "b"))
	c.waitFor(t, ctx, "the next server's reconcile", func(n map[string]int) bool { return n["s"] == 1 })
}

func testTwoOwners(t *testing.T, h Harness) {
	ctx := timeout(t)
	fc := clock.NewFake(t0)
	c := newCalls()
	r := c.wrap(func(context.Context, string, int) (reconcile.Result, error) {
		time.Sleep(100 * time.Microsecond)
		return reconcile.Result{}, nil
	})
	a, b := start(t, h, r, options(fc, "a")), start(t, h, r, options(fc, "b"))
	var keys []string
	for i := range 100 {
		keys = append(keys, fmt.Sprintf("k%d", i))
	}
	var wg sync.WaitGroup
	for i := range 3 { // wake every key three times, from both sides, while they are worked
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, k := range keys {
				rt := a
				if (i+len(k))%2 == 0 {
					rt = b
				}
				if err := rt.Enqueue(ctx, k); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	c.waitFor(t, ctx, "every key", func(n map[string]int) bool { return len(n) == len(keys) })
	settle(t, ctx, a)
	settle(t, ctx, b)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.overlap) > 0 {
		t.Errorf("keys reconciled by both owners at once: %v", c.overlap)
	}
}

func testRenewal(t *testing.T, h Harness) {
	ctx := timeout(t)
	kind := kindOf(t)
	fc := clock.NewFake(t0)
	o := options(fc, "a")
	inside, release := make(chan struct{}), make(chan struct{})
	var cause error
	a := start(t, h, reconcile.Func(func(rctx context.Context, key string) (reconcile.Result, error) {
		close(inside)
		select {
		case <-release:
		case <-rctx.Done():
			cause = context.Cause(rctx)
		}
		return reconcile.Result{}, nil
	}), o)
	if err := a.Enqueue(ctx, "long"); err != nil {
		t.Fatal(err)
	}
	<-inside
	c := newCalls()
	start(t, h, c.wrap(done(reconcile.Result{})), options(fc, "b"))
	// Five renewal periods, 50 s, well past the 30 s TTL: a's renewals keep b away.
	for range 5 {
		// Each runtime's dispatcher and renewer sleep on one timer each: four means all asleep.
		if err := fc.BlockUntil(ctx, 4); err != nil {
			t.Fatal(err)
		}
		fc.Advance(o.RenewEvery)
	}
	if err := fc.BlockUntil(ctx, 4); err != nil {
		t.Fatal(err)
	}
	if n := c.get("long"); n != 0 {
		t.Fatalf("another owner reconciled a key whose lease was being renewed (%d times)", n)
	}
	close(release)
	settle(t, ctx, a)
	if cause != nil {
		t.Errorf("the long reconcile was cancelled: %v", cause)
	}
	if it, err := h.Store.Get(ctx, kind, "long"); err != nil || it.Token != 1 || it.Owner != "" {
		t.Errorf("after the long reconcile: %+v, %v; want token 1 (never taken over), released", it, err)
	}
}
