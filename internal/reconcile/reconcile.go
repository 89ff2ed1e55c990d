package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/internal/clock"
)

// Reconciler brings the resource named by key to its desired state. It must be idempotent: a
// key can be reconciled again after a crash, a lost lease or a spurious wake-up.
type Reconciler interface {
	Reconcile(ctx context.Context, key string) (Result, error)
}

// Func adapts a function to Reconciler.
type Func func(ctx context.Context, key string) (Result, error)

// Reconcile calls f.
func (f Func) Reconcile(ctx context.Context, key string) (Result, error) { return f(ctx, key) }

// Result says when a successfully reconciled key is due again.
type Result struct {
	// RequeueAfter > 0 reconciles the key again after this long (at most the resync period);
	// zero leaves it until a wake-up or the next resync.
	RequeueAfter time.Duration
	// Forget deletes the work item: the resource is gone. A later Enqueue creates it again.
	Forget bool
}

// The causes of a cancelled reconcile context (context.Cause).
var (
	ErrLeaseLost = errors.New("reconcile: the lease on this key was lost")
	ErrShutdown  = errors.New("reconcile: the runtime is shutting down")
)

// Backoff bounds the delays after failures.
type Backoff struct {
	Base   time.Duration // the delay after the first failure
	Max    time.Duration // no delay is longer
	Jitter float64       // each delay is shortened by a random fraction of itself in [0, Jitter)
}

// Delay returns the delay after the attempt-th consecutive failure (from 1), with r in [0, 1)
// choosing the jitter.
func (b Backoff) Delay(attempt int, r float64) time.Duration {
	d := b.Max
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 62 {
		if x := b.Base << (attempt - 1); x > 0 && x>>(attempt-1) == b.Base && x < b.Max {
			d = x
		}
	}
	return d - time.Duration(float64(d)*b.Jitter*r)
}

// Options configure a Runtime; zero fields take the defaults noted.
type Options struct {
	Owner      string        // this server's identity in leases (default: NewOwner())
	Workers    int           // reconciles run at once (4)
	LeaseTTL   time.Duration // how long a lease lasts unless renewed (30 s)
	RenewEvery time.Duration // how often held leases are renewed (LeaseTTL/3)
	Poll       time.Duration // the longest sleep between looks at the store, which finds other servers' work and expired leases (1 s)
	Resync     time.Duration // every key is reconciled again at least this often (10 min)
	Backoff    Backoff       // after failures (1 s doubling to 5 min, jitter 0.2)
	Clock      clock.Clock   // (clock.Real())
	Log        *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Owner == "" {
		o.Owner = NewOwner()
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 30 * time.Second
	}
	if o.RenewEvery <= 0 || o.RenewEvery >= o.LeaseTTL {
		o.RenewEvery = o.LeaseTTL / 3
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Resync <= 0 {
		o.Resync = 10 * time.Minute
	}
	if o.Backoff.Base <= 0 {
		o.Backoff.Base = time.Second
	}
	if o.Backoff.Max < o.Backoff.Base {
		o.Backoff.Max = max(5*time.Minute, o.Backoff.Base)
	}
	if o.Backoff.Jitter < 0 || o.Backoff.Jitter >= 1 {
		o.Backoff.Jitter = 0.2
	}
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// NewOwner returns an owner identity unique to this process: host, pid and a random suffix.
func NewOwner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%08x", host, os.Getpid(), rand.Uint32())
}

// SetLeaseTTL changes how long the runtime's leases last (and renews them every third of it).
// Call it before Start.
func (rt *Runtime) SetLeaseTTL(d time.Duration) {
	if d > 0 {
		rt.o.LeaseTTL, rt.o.RenewEvery = d, d/3
	}
}

// Runtime works the items of one kind with one Reconciler. It owns goroutines: Start them,
// Close to stop them.
type Runtime struct {
	kind string
	st   Store
	r    Reconciler
	o    Options
	clk  clock.Clock
	log  *slog.Logger

	mu       sync.Mutex
	held     map[string]*held // leases claimed and not yet released, by key
	woken    bool             // a wake-up or a release since the dispatcher last looked
	idle     bool
	idleC    chan struct{} // closed when idle becomes true
	started  bool
	stop     context.CancelCauseFunc
	wake     chan struct{}
	work     chan *held
	done     chan struct{}
	randMu   sync.Mutex
	randSrc  *rand.Rand
	inflight int
}

type held struct {
	lease  Lease
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// New returns a runtime for the items of kind, reconciled by r.
func New(st Store, kind string, r Reconciler, o Options) *Runtime {
	o = o.withDefaults()
	return &Runtime{
		kind: kind, st: st, r: r, o: o, clk: o.Clock,
		log:     o.Log.With("component", "reconcile", "kind", kind),
		held:    map[string]*held{},
		idleC:   make(chan struct{}),
		wake:    make(chan struct{}, 1),
		work:    make(chan *held, 2*o.Workers),
		done:    make(chan struct{}),
		randSrc: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
}

// Kind returns the kind of items the runtime works.
func (rt *Runtime) Kind() string { return rt.kind }

// Owner returns the runtime's identity in leases.
func (rt *Runtime) Owner() string { return rt.o.Owner }

// Enqueue makes keys due now and wakes the runtime. The items are stored when it returns.
func (rt *Runtime) Enqueue(ctx context.Context, keys ...string) error {
	return rt.EnqueueAfter(ctx, 0, keys...)
}

// EnqueueAfter makes keys due after d (or sooner, if they are due sooner already).
func (rt *Runtime) EnqueueAfter(ctx context.Context, d time.Duration, keys ...string) error {
	if err := rt.st.Enqueue(ctx, rt.kind, keys, rt.clk.Now().Add(d)); err != nil {
		return err
	}
	rt.Wake()
	return nil
}

// Wake makes the runtime look at the store now, e.g. after another server enqueued work.
func (rt *Runtime) Wake() {
	rt.mu.Lock()
	rt.woken, rt.idle = true, false
	rt.mu.Unlock()
	select {
	case rt.wake <- struct{}{}:
	default:
	}
}

// Idle waits until the runtime has nothing in flight and nothing due, and sleeps until the next
// due time (or the next poll).
func (rt *Runtime) Idle(ctx context.Context) error {
	for {
		rt.mu.Lock()
		idle, c := rt.idle, rt.idleC
		rt.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-c:
		case <-rt.done:
			return ErrShutdown
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Start starts the runtime's goroutines; they stop when ctx is done or at Close.
func (rt *Runtime) Start(ctx context.Context) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.started {
		return
	}
	rt.started = true
	ctx, rt.stop = context.WithCancelCause(ctx)
	// Work enqueued in this process's transactions wakes the dispatcher as they commit; the
	// poll is for other servers' work.
	unhook := rt.st.OnEnqueue(rt.kind, rt.Wake)
	renewCtx, stopRenew := context.WithCancel(context.WithoutCancel(ctx))
	var workers, renewer sync.WaitGroup
	renewer.Add(1)
	go func() { defer renewer.Done(); rt.renew(renewCtx) }()
	for range rt.o.Workers {
		workers.Add(1)
		go func() { defer workers.Done(); rt.worker(ctx) }()
	}
	go func() {
		rt.dispatch(ctx)
		unhook()
		close(rt.work)
		workers.Wait()
		// Leases are renewed until the last reconcile has returned and released its key.
		stopRenew()
		renewer.Wait()
		close(rt.done)
	}()
}

// Close stops the runtime: reconciles in flight see their context cancelled (ErrShutdown),
// keys not finished are released to be due at once, and Close waits for every goroutine, or
// until ctx is done.
func (rt *Runtime) Close(ctx context.Context) error {
	rt.mu.Lock()
	started, stop := rt.started, rt.stop
	rt.mu.Unlock()
	if !started {
		return nil
	}
	stop(ErrShutdown)
	select {
	case <-rt.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dispatch claims due items and hands them to the workers until ctx is done.
func (rt *Runtime) dispatch(ctx context.Context) {
	slots := 2 * rt.o.Workers // running plus waiting for a worker
	spins := 0
	for ctx.Err() == nil {
		rt.mu.Lock()
		rt.woken = false
		free := slots - rt.inflight
		rt.mu.Unlock()

		now := rt.clk.Now()
		wait := rt.o.Poll
		var claimed int
		if free > 0 {
			// A claim is not interrupted by shutdown: cut short, it could commit leases this
			// runtime never learns of, and those keys would wait out their TTL. What it claims
			// after the shutdown began, the workers release at once, due now.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rt.o.LeaseTTL)
			leases, err := rt.st.Claim(cctx, rt.kind, rt.o.Owner, now, rt.o.LeaseTTL, free)
			cancel()
			if err != nil && ctx.Err() == nil {
				rt.log.Warn("cannot claim work", "err", err)
			}
			for _, l := range leases {
				h := &held{lease: l}
				h.ctx, h.cancel = context.WithCancelCause(withFence(ctx, l.Fence()))
				rt.mu.Lock()
				rt.held[l.Key] = h
				rt.inflight++
				rt.mu.Unlock()
				rt.work <- h // never blocks: inflight ≤ cap(work)
			}
			claimed = len(leases)
			if err == nil && claimed == free {
				continue // there may be more
			}
			if err == nil && claimed < free {
				next, ok, err := rt.st.NextDue(ctx, rt.kind, now)
				if err != nil && ctx.Err() == nil {
					rt.log.Warn("cannot read the next due time", "err", err)
				}
				if ok && next.Sub(now) < wait {
					wait = next.Sub(now)
				}
				if ok && wait <= 0 {
					// Due meanwhile, or a row another transaction holds locked (an enqueue, a
					// fenced write), which the claim skipped: look again, but do not spin.
					if spins++; spins <= 3 {
						continue
					}
					wait = 10 * time.Millisecond
				}
			}
		}
		spins = 0
		// Sleep until now+wait as measured at the top of the loop: the clock may have moved
		// meanwhile (a fake clock set by a test between the claim and here), and a timer of
		// wait from the later time would sleep past the due time it was computed for.
		t := rt.clk.NewTimer(now.Add(wait).Sub(rt.clk.Now()))
		rt.mu.Lock()
		if !rt.woken && rt.inflight == 0 && claimed == 0 {
			rt.idle = true
			close(rt.idleC)
			rt.idleC = make(chan struct{})
		}
		rt.mu.Unlock()
		select {
		case <-t.C():
		case <-rt.wake:
		case <-ctx.Done():
		}
		t.Stop()
		rt.mu.Lock()
		rt.idle = false
		rt.mu.Unlock()
	}
}

// worker reconciles the leases it receives and releases them.
func (rt *Runtime) worker(ctx context.Context) {
	for h := range rt.work {
		if ctx.Err() != nil {
			// Claimed but not started: give it back, due at once, for whoever runs next.
			rt.finish(ctx, h, Result{}, ErrShutdown)
			continue
		}
		res, err := rt.call(h)
		rt.finish(ctx, h, res, err)
	}
}

func (rt *Runtime) call(h *held) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reconcile panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return rt.r.Reconcile(h.ctx, h.lease.Key)
}

// finish releases h's lease as the reconcile's outcome says, unless the lease was lost.
func (rt *Runtime) finish(ctx context.Context, h *held, res Result, err error) {
	defer func() {
		h.cancel(nil)
		rt.mu.Lock()
		delete(rt.held, h.lease.Key)
		rt.inflight--
		rt.mu.Unlock()
		rt.Wake()
	}()
	rt.mu.Lock()
	l := h.lease
	rt.mu.Unlock()
	if errors.Is(context.Cause(h.ctx), ErrLeaseLost) {
		rt.log.Warn("lease lost during reconcile; its writes are fenced off", "key", l.Key, "token", l.Token)
		return
	}
	now := rt.clk.Now()
	var r Release
	switch {
	case err != nil && ctx.Err() != nil:
		// Interrupted by shutdown: not the reconciler's failure.
		r = Release{Next: now, Attempts: l.Attempts, LastError: err.Error()}
	case err != nil:
		r = Release{Attempts: l.Attempts + 1, LastError: err.Error()}
		d := rt.o.Backoff.Delay(r.Attempts, rt.rand())
		r.Next = now.Add(d)
		rt.log.Info("reconcile failed; retrying", "key", l.Key, "attempt", r.Attempts, "after", d, "err", err)
	default:
		after := rt.o.Resync - time.Duration(float64(rt.o.Resync)*rt.o.Backoff.Jitter*rt.rand())
		if res.RequeueAfter > 0 && res.RequeueAfter < after {
			after = res.RequeueAfter
		}
		r = Release{Next: now.Add(after), Forget: res.Forget}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	ok, rerr := rt.st.Release(rctx, l, r)
	switch {
	case rerr != nil:
		rt.log.Warn("cannot release a lease; it expires by itself", "key", l.Key, "err", rerr)
	case !ok:
		rt.log.Warn("lease lost before its release", "key", l.Key, "token", l.Token)
	}
}

// renew extends the held leases every RenewEvery; a lease that is gone, or that could not be
// renewed before it expired, cancels its reconcile with ErrLeaseLost.
func (rt *Runtime) renew(ctx context.Context) {
	for {
		t := rt.clk.NewTimer(rt.o.RenewEvery)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			return
		}
		now := rt.clk.Now()
		rt.mu.Lock()
		hs := make([]*held, 0, len(rt.held))
		for _, h := range rt.held {
			hs = append(hs, h)
		}
		rt.mu.Unlock()
		for _, h := range hs {
			if errors.Is(context.Cause(h.ctx), ErrLeaseLost) {
				continue // cancelled by shutdown it is still renewed until it returns
			}
			until := now.Add(rt.o.LeaseTTL)
			ok, err := rt.st.Renew(ctx, h.lease, until)
			switch {
			case err == nil && ok:
				rt.mu.Lock()
				h.lease.Until = until
				rt.mu.Unlock()
			case err == nil:
				h.cancel(ErrLeaseLost)
			case !now.Before(h.lease.Until):
				rt.log.Warn("cannot renew a lease before it expired", "key", h.lease.Key, "err", err)
				h.cancel(ErrLeaseLost)
			default:
				rt.log.Warn("cannot renew a lease; will try again", "key", h.lease.Key, "err", err)
			}
		}
	}
}

func (rt *Runtime) rand() float64 {
	rt.randMu.Lock()
	defer rt.randMu.Unlock()
	return rt.randSrc.Float64()
}
