package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/inference"
)

// Instance is one running copy of a model.
type Instance interface {
	Invoke(ctx context.Context, req inference.Request) (inference.Response, error)
	Ping(ctx context.Context) error // nil when the instance can take requests
	Close() error
}

// ModelSpec is the model a variant serves.
type ModelSpec struct {
	Image       string
	ModelDir    string // the extracted model artifact (model.tar.gz), read-only to the runtime
	Environment map[string]string
}

// VariantSpec is one production variant of an endpoint.
type VariantSpec struct {
	Name      string
	Weight    float64
	Instances int
	Model     ModelSpec
}

// VariantStatus is what Status reports of a variant.
type VariantStatus struct {
	Name      string
	Weight    float64
	Instances int
	Healthy   int
}

// Loader starts instance number instance (0-based) of a model. ctx bounds the start only: the
// instance lives until its Close. Load may return before the instance answers Ping; Deploy waits.
type Loader func(ctx context.Context, m ModelSpec, instance int) (Instance, error)

// ErrUnavailable marks an instance's error when it did not take the request (its process is
// down or restarting): the fleet takes the instance out of the pool and tries another.
var ErrUnavailable = errors.New("instance unavailable")

// Options configure a Fleet. Zero durations take the defaults.
type Options struct {
	Load Loader
	Log  *slog.Logger
	// HealthEvery is how often every instance is pinged (default 1s); PingTimeout bounds one
	// ping (default 2s).
	HealthEvery, PingTimeout time.Duration
	// ReadyTimeout is how long Deploy waits for a new instance to answer Ping (default 5m).
	ReadyTimeout time.Duration
	// Drain is how long a replaced fleet's requests in flight may run before its instances are
	// closed (default 60s, SageMaker's invocation timeout).
	Drain time.Duration
	// Rand returns a number in [0, 1) (default math/rand/v2); tests make it deterministic.
	Rand func() float64
	// Observe, when set, is called after every request an instance answered (or failed), from
	// the request's goroutine: it must be quick (e.g. add to a metric). It is where per-variant
	// Invocations, errors and ModelLatency come from.
	Observe func(Observation)
}

// Observation is one request as an instance served it.
type Observation struct {
	// Context is the request's: an observer attributes the observation to its request with it
	// (serving.AddModelTime).
	Context           context.Context
	Endpoint, Variant string
	Model             time.Duration // time spent in the instance (SageMaker's ModelLatency)
	Err               error         // the instance's error; an *inference.Error for the model's refusals
}

// Fleet holds the running instances of every endpoint. Its methods are safe for concurrent use.
type Fleet struct {
	o   Options
	log *slog.Logger

	mu        sync.RWMutex
	endpoints map[string]*served
	closed    bool
	deploying sync.WaitGroup  // Deploy calls in progress
	retiring  sync.WaitGroup  // retirements of replaced generations in the background
	ctx       context.Context // cancelled by Close: ends the starts of deploys in progress
	cancel    context.CancelFunc
}

// served is an endpoint of the fleet.
type served struct {
	name   string
	deploy sync.Mutex // one Deploy or Stage at a time
	mu     sync.Mutex // serialises changes of r and of its generations' weights
	r      atomic.Pointer[routes]
}

// routes is what an endpoint serves; it is replaced whole.
type routes struct {
	live   *generation
	staged *generation // a fleet beside live (blue/green), taking share of the requests
	share  float64
}

// generation is one deployed fleet of an endpoint: its variants and their instances.
type generation struct {
	endpoint string
	variants []*variant
	weights  atomic.Pointer[[]float64] // by variant index; replaced whole by SetWeights
	inflight atomic.Int64              // requests between choosing this generation and their end
	retired  atomic.Bool               // set after the swap: takes no new request
	stop     chan struct{}             // ends the health loop
	stopped  chan struct{}
}

type variant struct {
	name  string
	model ModelSpec
	insts atomic.Pointer[[]*instance] // replaced whole by Scale
}

// instances returns v's instances in the pool.
func (v *variant) instances() []*instance { return *v.insts.Load() }

type instance struct {
	Instance
	variant, label string
	outstanding    atomic.Int64
	healthy        atomic.Bool
	removed        atomic.Bool // scaled in: takes no new request
}

// New returns an empty fleet.
func New(o Options) *Fleet {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.HealthEvery, time.Second)
	def(&o.PingTimeout, 2*time.Second)
	def(&o.ReadyTimeout, 5*time.Minute)
	def(&o.Drain, 60*time.Second)
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Fleet{o: o, log: o.Log.With("component", "fleet"), endpoints: map[string]*served{}, ctx: ctx, cancel: cancel}
}

func validWeight(w float64) bool { return w >= 0 && !math.IsInf(w, 0) && !math.IsNaN(w) }

func validate(endpoint string, vs []VariantSpec) error {
	if endpoint == "" {
		return errs.E(errs.Invalid, "an endpoint needs a name")
	}
	if len(vs) == 0 {
		return errs.E(errs.Invalid, "endpoint %s: a deployment needs at least one variant", endpoint)
	}
	seen := map[string]bool{}
	for _, v := range vs {
		switch {
		case v.Name == "":
			return errs.E(errs.Invalid, "endpoint %s: every variant needs a name", endpoint)
		case seen[v.Name]:
			return errs.E(errs.Invalid, "endpoint %s: variant %s appears twice", endpoint, v.Name)
		case !validWeight(v.Weight):
			return errs.E(errs.Invalid, "endpoint %s: variant %s: weight %v must be a finite number >= 0", endpoint, v.Name, v.Weight)
		case v.Instances < 1:
			return errs.E(errs.Invalid, "endpoint %s: variant %s: instance count %d must be at least 1", endpoint, v.Name, v.Instances)
		}
		seen[v.Name] = true
	}
	return nil
}

// Deploy starts the fleet vs for endpoint, waits until every instance answers Ping, then makes
// it the endpoint's fleet in one step; the previous fleet (and a staged one, if any) serves until
// then and is closed once its requests in flight have ended. When the new fleet cannot start or
// become healthy, what it started is closed, the previous fleet stays, and the error
// (errs.Invalid) names the variant, the instance and why. Deploys of one endpoint run one at a
// time.
func (f *Fleet) Deploy(ctx context.Context, endpoint string, vs []VariantSpec) error {
	return f.launch(ctx, endpoint, vs, true, func(old *routes, g *generation) (*routes, []*generation, error) {
		if old == nil {
			return &routes{live: g}, nil, nil
		}
		return &routes{live: g}, []*generation{old.live, old.staged}, nil
	})
}

// launch starts the fleet vs and, once it is healthy, installs it: install returns the
// endpoint's new routes and the generations they drop. With create, a new endpoint is made.
func (f *Fleet) launch(ctx context.Context, endpoint string, vs []VariantSpec, create bool, install func(old *routes, g *generation) (*routes, []*generation, error)) error {
	if err := validate(endpoint, vs); err != nil {
		return err
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return errs.E(errs.Unavailable, "the fleet is closed")
	}
	ep := f.endpoints[endpoint]
	if ep == nil {
		if !create {
			f.mu.Unlock()
			return errs.E(errs.NotFound, "endpoint %s has no running fleet", endpoint)
		}
		ep = &served{name: endpoint}
		f.endpoints[endpoint] = ep
	}
	f.deploying.Add(1)
	f.mu.Unlock()
	defer f.deploying.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(f.ctx, cancel)()

	ep.deploy.Lock()
	defer ep.deploy.Unlock()
	start := time.Now()
	g, err := f.start(ctx, endpoint, vs)
	if err != nil {
		return err
	}
	f.mu.Lock()
	if f.closed || f.endpoints[endpoint] != ep {
		f.mu.Unlock()
		g.close(f.log)
		return errs.E(errs.Conflict, "endpoint %s was removed (or the fleet closed) while it was being deployed", endpoint)
	}
	ep.mu.Lock() // a SetWeights or Shift lands wholly before or after
	next, dropped, err := install(ep.r.Load(), g)
	if err == nil {
		ep.r.Store(next)
	}
	ep.mu.Unlock()
	if err != nil {
		f.mu.Unlock()
		g.close(f.log)
		return err
	}
	f.retireLater(dropped...)
	f.mu.Unlock()
	go f.health(g)
	f.log.Info("fleet started", "endpoint", endpoint, "variants", len(vs), "took", time.Since(start))
	return nil
}

// retireLater retires gens (nil ones skipped) in the background; f.mu is held.
func (f *Fleet) retireLater(gens ...*generation) {
	for _, g := range gens {
		if g == nil {
			continue
		}
		f.retiring.Add(1)
		go func() {
			defer f.retiring.Done()
			f.retire(g)
		}()
	}
}

// start loads every instance of vs at once and waits until each answers Ping. On failure it
// closes what it started and returns why.
func (f *Fleet) start(ctx context.Context, endpoint string, vs []VariantSpec) (*generation, error) {
	g := &generation{endpoint: endpoint, stop: make(chan struct{}), stopped: make(chan struct{})}
	weights := make([]float64, len(vs))
	wants := make([]want, len(vs))
	for i, v := range vs {
		weights[i] = v.Weight
		wants[i] = want{variant: v.Name, model: v.Model, from: 0, to: v.Instances}
	}
	started, err := f.startInstances(ctx, endpoint, wants)
	if err != nil {
		return nil, err
	}
	for i, v := range vs {
		vr := &variant{name: v.Name, model: v.Model}
		vr.insts.Store(&started[i])
		g.variants = append(g.variants, vr)
	}
	g.weights.Store(&weights)
	return g, nil
}

// want asks startInstances for instances from to to-1 of a variant.
type want struct {
	variant  string
	model    ModelSpec
	from, to int
}

// startInstances loads the instances wants name, all at once, and waits until each answers Ping
// (up to ReadyTimeout); they are healthy when it returns. On failure it closes what it started
// and returns why.
func (f *Fleet) startInstances(ctx context.Context, endpoint string, wants []want) ([][]*instance, error) {
	ctx, cancel := context.WithTimeout(ctx, f.o.ReadyTimeout)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel() // the others need not finish starting
		}
		errMu.Unlock()
	}
	out := make([][]*instance, len(wants))
	for i, w := range wants {
		out[i] = make([]*instance, w.to-w.from)
		for n := w.from; n < w.to; n++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				label := fmt.Sprintf("variant %s instance %d", w.variant, n+1)
				in, err := f.o.Load(ctx, w.model, n)
				if err != nil {
					fail(f.why(ctx, endpoint, label, "cannot start", err))
					return
				}
				inst := &instance{Instance: in, variant: w.variant, label: label}
				out[i][n-w.from] = inst
				if err := f.waitHealthy(ctx, inst); err != nil {
					fail(f.why(ctx, endpoint, label, "did not become healthy", err))
					return
				}
				inst.healthy.Store(true)
			}()
		}
	}
	wg.Wait()
	if firstErr != nil {
		var all []*instance
		for _, l := range out {
			all = append(all, l...)
		}
		closeInstances(f.log, endpoint, all)
		return nil, firstErr
	}
	return out, nil
}

// why builds a deploy failure: the caller's cancellation as such, else errs.Invalid naming what failed.
func (f *Fleet) why(ctx context.Context, endpoint, label, what string, err error) error {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return errs.E(errs.Unavailable, "endpoint %s: deployment cancelled", endpoint, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errs.E(errs.Invalid, "endpoint %s: %s %s within %s: %v", endpoint, label, what, f.o.ReadyTimeout, err)
	}
	return errs.E(errs.Invalid, "endpoint %s: %s %s: %v", endpoint, label, what, err)
}

// waitHealthy pings inst until it answers or ctx ends.
func (f *Fleet) waitHealthy(ctx context.Context, inst *instance) error {
	delay := 20 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, f.o.PingTimeout)
		err := inst.Ping(pctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last ping: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

// health pings g's instances every HealthEvery until g is retired, moving each in or out of the pool.
func (f *Fleet) health(g *generation) {
	defer close(g.stopped)
	t := time.NewTicker(f.o.HealthEvery)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
		var wg sync.WaitGroup
		for _, v := range g.variants {
			for _, inst := range v.instances() {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := context.WithTimeout(context.Background(), f.o.PingTimeout)
					err := inst.Ping(ctx)
					cancel()
					f.setHealthy(g, inst, err)
				}()
			}
		}
		wg.Wait()
	}
}

func (f *Fleet) setHealthy(g *generation, inst *instance, err error) {
	if was := inst.healthy.Swap(err == nil); was != (err == nil) && !g.retired.Load() {
		if err != nil {
			f.log.Warn("instance out of the pool", "endpoint", g.endpoint, "instance", inst.label, "err", err)
		} else {
			f.log.Info("instance back in the pool", "endpoint", g.endpoint, "instance", inst.label)
		}
	}
}

// retire waits (up to Drain) for g's requests in flight, then closes its instances. The caller
// has already made another generation (or none) current.
func (f *Fleet) retire(g *generation) error {
	g.retired.Store(true)
	close(g.stop)
	<-g.stopped
	deadline := time.Now().Add(f.o.Drain)
	for g.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := g.inflight.Load(); n > 0 {
		f.log.Warn("closing a replaced fleet with requests in flight", "endpoint", g.endpoint, "requests", n, "drain", f.o.Drain)
	}
	return g.close(f.log)
}

// close closes every instance of g.
func (g *generation) close(log *slog.Logger) error {
	var all []*instance
	for _, v := range g.variants {
		all = append(all, v.instances()...)
	}
	return closeInstances(log, g.endpoint, all)
}

// closeInstances closes insts (nil ones skipped) at once.
func closeInstances(log *slog.Logger, endpoint string, insts []*instance) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errl []error
	)
	for _, inst := range insts {
		if inst == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := inst.Close(); err != nil {
				log.Warn("cannot close instance", "endpoint", endpoint, "instance", inst.label, "err", err)
				mu.Lock()
				errl = append(errl, fmt.Errorf("%s: %w", inst.label, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errl...)
}

func (f *Fleet) lookup(endpoint string) *served {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.endpoints[endpoint]
}

// Invoke sends req to endpoint — to its staged fleet with the probability set by Shift, else to
// its live fleet —: to targetVariant when it is not "", else to a variant drawn by weight; within the variant to the healthy instance with the fewest outstanding requests. It
// returns the variant that answered. A refusal of the model is the instance's own error (an
// *inference.Error); routing failures are errs errors (NotFound: no such endpoint; Invalid: no
// such variant, or every weight is 0; Unavailable: no healthy instance).
func (f *Fleet) Invoke(ctx context.Context, endpoint, targetVariant string, req inference.Request) (string, inference.Response, error) {
	ep := f.lookup(endpoint)
	for {
		var r *routes
		if ep != nil {
			r = ep.r.Load()
		}
		if r == nil {
			return "", inference.Response{}, errs.E(errs.NotFound, "endpoint %s has no running fleet", endpoint)
		}
		g := r.live
		if r.staged != nil && r.share > 0 && (r.share >= 1 || f.o.Rand() < r.share) && r.staged.healthy(targetVariant) {
			g = r.staged
		}
		g.inflight.Add(1)
		if g.retired.Load() {
			// Swapped out between the load and the count: the current generation takes it.
			g.inflight.Add(-1)
			continue
		}
		v, resp, err := f.invoke(ctx, g, targetVariant, req)
		g.inflight.Add(-1)
		return v, resp, err
	}
}

func (f *Fleet) invoke(ctx context.Context, g *generation, target string, req inference.Request) (string, inference.Response, error) {
	var pinned *variant
	if target != "" {
		for _, v := range g.variants {
			if v.name == target {
				pinned = v
			}
		}
		if pinned == nil {
			return "", inference.Response{}, errs.E(errs.Invalid, "endpoint %s has no variant %s", g.endpoint, target).WithCode("ValidationError")
		}
	}
	attempts := 1
	for _, v := range g.variants {
		attempts += len(v.instances()) + 1
	}
	var lastErr error
	for range attempts {
		v := pinned
		if v == nil {
			var err error
			if v, err = f.pick(g); err != nil {
				return "", inference.Response{}, err
			}
		}
		inst := f.leastOutstanding(v)
		if inst == nil {
			if lastErr != nil {
				return v.name, inference.Response{}, errs.E(errs.Unavailable, "endpoint %s: variant %s has no healthy instance: %v", g.endpoint, v.name, lastErr)
			}
			return v.name, inference.Response{}, errs.E(errs.Unavailable, "endpoint %s: variant %s has no healthy instance", g.endpoint, v.name)
		}
		inst.outstanding.Add(1)
		if inst.removed.Load() {
			// Scaled in between the choice and the count: choose again.
			inst.outstanding.Add(-1)
			continue
		}
		began := time.Now()
		resp, err := inst.Invoke(ctx, req)
		inst.outstanding.Add(-1)
		if f.o.Observe != nil {
			f.o.Observe(Observation{Context: ctx, Endpoint: g.endpoint, Variant: v.name, Model: time.Since(began), Err: err})
		}
		if err != nil && errors.Is(err, ErrUnavailable) && ctx.Err() == nil {
			f.setHealthy(g, inst, err)
			lastErr = err
			continue
		}
		return v.name, resp, err
	}
	return "", inference.Response{}, errs.E(errs.Unavailable, "endpoint %s: no instance took the request: %v", g.endpoint, lastErr)
}

// pick draws a variant in proportion to the weights among those with a healthy instance.
func (f *Fleet) pick(g *generation) (*variant, error) {
	weights := *g.weights.Load()
	total, weighted := 0.0, false
	for i, v := range g.variants {
		if weights[i] > 0 {
			weighted = true
			if v.hasHealthy() {
				total += weights[i]
			}
		}
	}
	if !weighted {
		return nil, errs.E(errs.Invalid, "every variant of endpoint %s has weight 0: name a TargetVariant", g.endpoint).WithCode("ValidationError")
	}
	if total == 0 {
		return nil, errs.E(errs.Unavailable, "endpoint %s has no healthy instance", g.endpoint)
	}
	r := f.o.Rand() * total
	var last *variant
	for i, v := range g.variants {
		if weights[i] > 0 && v.hasHealthy() {
			last = v
			if r < weights[i] {
				return v, nil
			}
			r -= weights[i]
		}
	}
	return last, nil // rounding
}

// healthy says whether g can take a request for target ("": any variant): a staged fleet
// that cannot leaves its share to the live one rather than fail it, until its health checks
// bring it back or the rollout discards it.
func (g *generation) healthy(target string) bool {
	for _, v := range g.variants {
		if (target == "" || v.name == target) && v.hasHealthy() {
			return true
		}
	}
	return false
}

func (v *variant) hasHealthy() bool {
	for _, inst := range v.instances() {
		if inst.healthy.Load() {
			return true
		}
	}
	return false
}

// leastOutstanding returns the healthy instance of v with the fewest requests in flight,
// scanning from a random offset so that ties spread; nil when none is healthy.
func (f *Fleet) leastOutstanding(v *variant) *instance {
	insts := v.instances()
	n := len(insts)
	off := int(f.o.Rand() * float64(n))
	var best *instance
	var bestN int64
	for i := range n {
		inst := insts[(off+i)%n]
		if !inst.healthy.Load() {
			continue
		}
		if o := inst.outstanding.Load(); best == nil || o < bestN {
			best, bestN = inst, o
		}
	}
	return best
}

// SetWeights changes the weights of the named variants of endpoint's live fleet at once;
// variants not named keep theirs.
func (f *Fleet) SetWeights(endpoint string, w map[string]float64) error {
	ep := f.lookup(endpoint)
	if ep == nil {
		return errs.E(errs.NotFound, "endpoint %s has no running fleet", endpoint)
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	r := ep.r.Load()
	if r == nil {
		return errs.E(errs.NotFound, "endpoint %s has no running fleet", endpoint)
	}
	g := r.live
	next := append([]float64(nil), *g.weights.Load()...)
	for name, weight := range w {
		i := g.index(name)
		if i < 0 {
			return errs.E(errs.Invalid, "endpoint %s has no variant %s", endpoint, name)
		}
		if !validWeight(weight) {
			return errs.E(errs.Invalid, "endpoint %s: variant %s: weight %v must be a finite number >= 0", endpoint, name, weight)
		}
		next[i] = weight
	}
	g.weights.Store(&next)
	return nil
}

func (g *generation) index(name string) int {
	for i, v := range g.variants {
		if v.name == name {
			return i
		}
	}
	return -1
}

// Status reports the variants of endpoint's live fleet, in deployment order; nil when it has none.
func (f *Fleet) Status(endpoint string) []VariantStatus {
	ep := f.lookup(endpoint)
	if ep == nil {
		return nil
	}
	r := ep.r.Load()
	if r == nil {
		return nil
	}
	return r.live.status()
}

func (g *generation) status() []VariantStatus {
	weights := *g.weights.Load()
	out := make([]VariantStatus, len(g.variants))
	for i, v := range g.variants {
		insts := v.instances()
		out[i] = VariantStatus{Name: v.name, Weight: weights[i], Instances: len(insts)}
		for _, inst := range insts {
			if inst.healthy.Load() {
				out[i].Healthy++
			}
		}
	}
	return out
}

// Remove takes endpoint's fleets (live and staged) out of service: no new request reaches them,
// and their instances are closed once the requests in flight have ended (up to Drain); Remove
// returns then. Removing an endpoint without a fleet does nothing.
func (f *Fleet) Remove(endpoint string) error {
	f.mu.Lock()
	ep := f.endpoints[endpoint]
	delete(f.endpoints, endpoint)
	var r *routes
	if ep != nil {
		ep.mu.Lock()
		r = ep.r.Swap(nil)
		ep.mu.Unlock()
	}
	f.mu.Unlock()
	if r == nil {
		return nil
	}
	return f.retireAll(r.live, r.staged)
}

// retireAll retires gens (nil ones skipped) at once and waits.
func (f *Fleet) retireAll(gens ...*generation) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errl []error
	)
	for _, g := range gens {
		if g == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.retire(g); err != nil {
				mu.Lock()
				errl = append(errl, fmt.Errorf("endpoint %s: %w", g.endpoint, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errl...)
}

// Close removes every endpoint, cancels deploys in progress, and waits until every instance is closed.
func (f *Fleet) Close() error {
	f.mu.Lock()
	f.closed = true
	f.cancel()
	var gens []*generation
	for name, ep := range f.endpoints {
		ep.mu.Lock()
		if r := ep.r.Swap(nil); r != nil {
			gens = append(gens, r.live, r.staged)
		}
		ep.mu.Unlock()
		delete(f.endpoints, name)
	}
	f.mu.Unlock()
	err := f.retireAll(gens...)
	f.deploying.Wait()
	f.retiring.Wait()
	return err
}
