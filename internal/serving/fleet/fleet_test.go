package fleet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/inference"
)

// fake is an Instance of the tests: it answers with its name, may hold requests until released,
// and its health and availability are set by the test.
type fake struct {
	name     string
	hold     chan struct{} // when not nil, Invoke waits on it
	arrived  chan string   // when not nil, Invoke reports its arrival
	pingErr  atomic.Pointer[error]
	down     atomic.Bool // Invoke fails with ErrUnavailable
	closed   atomic.Bool
	served   atomic.Int64
	inflight atomic.Int64
}

func (f *fake) Invoke(ctx context.Context, req inference.Request) (inference.Response, error) {
	if f.closed.Load() {
		panic("request reached a closed instance " + f.name)
	}
	if f.down.Load() {
		return inference.Response{}, fmt.Errorf("%w: %s is down", ErrUnavailable, f.name)
	}
	f.inflight.Add(1)
	defer f.inflight.Add(-1)
	if f.arrived != nil {
		f.arrived <- f.name
	}
	if f.hold != nil {
		select {
		case <-f.hold:
		case <-ctx.Done():
			return inference.Response{}, ctx.Err()
		}
	}
	f.served.Add(1)
	return inference.Response{ContentType: "text/plain", Body: []byte(f.name)}, nil
}

func (f *fake) Ping(context.Context) error {
	if p := f.pingErr.Load(); p != nil {
		return *p
	}
	return nil
}

func (f *fake) Close() error {
	if f.inflight.Load() != 0 {
		panic("instance " + f.name + " closed with requests in flight")
	}
	f.closed.Store(true)
	return nil
}

// fakes is a Loader whose instances the test can reach by "<image>/<n>".
type fakes struct {
	mu   sync.Mutex
	all  map[string]*fake
	fail map[string]error // image → Load error
	make func(name string) *fake
}

func newFakes() *fakes { return &fakes{all: map[string]*fake{}, fail: map[string]error{}} }

func (fs *fakes) load(ctx context.Context, m ModelSpec, n int) (Instance, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.fail[m.Image]; err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s/%d", m.Image, n)
	f := &fake{name: name}
	if fs.make != nil {
		f = fs.make(name)
	}
	fs.all[name] = f
	return f, nil
}

func (fs *fakes) get(name string) *fake {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.all[name]
}

func newFleet(t *testing.T, fs *fakes, o Options) *Fleet {
	t.Helper()
	o.Load = fs.load
	if o.Rand == nil {
		r := rand.New(rand.NewPCG(1, 2))
		var mu sync.Mutex
		o.Rand = func() float64 { mu.Lock(); defer mu.Unlock(); return r.Float64() }
	}
	f := New(o)
	t.Cleanup(func() { f.Close() })
	return f
}

func variants(vs ...VariantSpec) []VariantSpec { return vs }

func v(name string, weight float64, n int, image string) VariantSpec {
	return VariantSpec{Name: name, Weight: weight, Instances: n, Model: ModelSpec{Image: image}}
}

func invoke(t *testing.T, f *Fleet, ep, target string) (string, string) {
	t.Helper()
	variant, resp, err := f.Invoke(context.Background(), ep, target, inference.Request{ContentType: "text/csv", Body: []byte("1")})
	if err != nil {
		t.Fatalf("Invoke(%s, %q): %v", ep, target, err)
	}
	return variant, string(resp.Body)
}

func TestWeightedRouting(t *testing.T) {
	fs := newFakes()
	f := newFleet(t, fs, Options{})
	ctx := context.Background()
	if err := f.Deploy(ctx, "ep", variants(v("A", 1, 1, "a"), v("B", 3, 2, "b"))); err != nil {
		t.Fatal(err)
	}
	const n = 8000
	count := map[string]int{}
	for range n {
		variant, _ := invoke(t, f, "ep", "")
		count[variant]++
	}
	if got := float64(count["B"]) / n; got < 0.73 || got > 0.77 {
		t.Errorf("variant B (weight 3 of 4) got %.3f of the requests (%v), want 0.75 ± 0.02", got, count)
	}
	// Within B both instances serve (ties of least-outstanding spread).
	if a, b := fs.get("b/0").served.Load(), fs.get("b/1").served.Load(); a < n/4 || b < n/4 {
		t.Errorf("B's instances served %d and %d requests, want both at least %d", a, b, n/4)
	}

	// SetWeights shifts everything at once; a variant not named keeps its weight.
	if err := f.SetWeights("ep", map[string]float64{"A": 0}); err != nil {
		t.Fatal(err)
	}
	for range 500 {
		if variant, _ := invoke(t, f, "ep", ""); variant != "B" {
			t.Fatalf("variant %s answered with weight 0", variant)
		}
	}
	want := []VariantStatus{{Name: "A", Weight: 0, Instances: 1, Healthy: 1}, {Name: "B", Weight: 3, Instances: 2, Healthy: 2}}
	if got := f.Status("ep"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Status = %v, want %v", got, want)
	}

	// TargetVariant reaches a variant whatever its weight.
	for range 50 {
		if variant, body := invoke(t, f, "ep", "A"); variant != "A" || body != "a/0" {
			t.Fatalf("TargetVariant A answered by %s (%s)", variant, body)
		}
	}
	// Every weight 0: only TargetVariant works.
	if err := f.SetWeights("ep", map[string]float64{"B": 0}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Invoke(ctx, "ep", "", inference.Request{}); errs.KindOf(err) != errs.Invalid || !strings.Contains(err.Error(), "TargetVariant") {
		t.Errorf("all weights 0: err = %v, want Invalid naming TargetVariant", err)
	}
	if variant, _ := invoke(t, f, "ep", "B"); variant != "B" {
		t.Errorf("TargetVariant B answered by %s", variant)
	}

	for _, c := range []struct {
		w    map[string]float64
		want string
	}{
		{map[string]float64{"C": 1}, "no variant C"},
		{map[string]float64{"A": -1}, "finite number >= 0"},
	} {
		if err := f.SetWeights("ep", c.w); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SetWeights(%v) = %v, want an error naming %q", c.w, err, c.want)
		}
	}
	if err := f.SetWeights("nope", map[string]float64{"A": 1}); errs.KindOf(err) != errs.NotFound {
		t.Errorf("SetWeights on an unknown endpoint: %v, want NotFound", err)
	}
	if _, _, err := f.Invoke(ctx, "ep", "C", inference.Request{}); errs.KindOf(err) != errs.Invalid || !strings.Contains(err.Error(), "no variant C") {
		t.Errorf("unknown TargetVariant: %v", err)
	}
	if _, _, err := f.Invoke(ctx, "nope", "", inference.Request{}); errs.KindOf(err) != errs.NotFound {
		t.Errorf("unknown endpoint: %v, want NotFound", err)
	}
}

func TestLeastOutstanding(t *testing.T) {
	fs := newFakes()
	holds := map[string]chan struct{}{}
	arrived := make(chan string, 100)
	fs.make = func(name string) *fake {
		holds[name] = make(chan struct{})
		return &fake{name: name, hold: holds[name], arrived: arrived}
	}
	f := newFleet(t, fs, Options{})
	if err := f.Deploy(context.Background(), "ep", variants(v("AllTraffic", 1, 3, "m"))); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	send := func() string {
		wg.Add(1)
		go func() {
			defer wg.Done()
			invoke(t, f, "ep", "")
		}()
		return <-arrived // the request holds its instance from here on
	}
	got := map[string]int{}
	for range 6 {
		got[send()]++
	}
	for _, name := range []string{"m/0", "m/1", "m/2"} {
		if got[name] != 2 {
			t.Fatalf("6 held requests over 3 instances went %v, want 2 each", got)
		}
	}
	// Free m/1: the next two go there (0 outstanding), then the spread is even again.
	close(holds["m/1"])
	for fs.get("m/1").inflight.Load() != 0 {
		time.Sleep(time.Millisecond)
	}
	holds["m/1"] = nil
	for range 2 {
		if name := send(); name != "m/1" {
			t.Fatalf("with m/1 idle and the others holding 2 each, a request went to %s", name)
		}
	}
	close(holds["m/0"])
	close(holds["m/2"])
	wg.Wait()
}

func TestUnhealthyInstancesLeaveThePool(t *testing.T) {
	fs := newFakes()
	f := newFleet(t, fs, Options{HealthEvery: 10 * time.Millisecond})
	if err := f.Deploy(context.Background(), "ep", variants(v("A", 1, 2, "a"), v("B", 1, 1, "b"))); err != nil {
		t.Fatal(err)
	}
	// A failed ping takes a/0 out until it answers again.
	bad := errors.New("not ready")
	fs.get("a/0").pingErr.Store(&bad)
	waitStatus(t, f, "ep", "A", 1)
	for range 200 {
		if _, body := invoke(t, f, "ep", "A"); body != "a/1" {
			t.Fatalf("a request reached %s, out of the pool", body)
		}
	}
	fs.get("a/0").pingErr.Store(nil)
	waitStatus(t, f, "ep", "A", 2)

	// An instance that refuses with ErrUnavailable is taken out at once and the request retried.
	fs.get("a/1").down.Store(true)
	fs.get("a/1").pingErr.Store(&bad)
	for range 200 {
		if _, body := invoke(t, f, "ep", "A"); body != "a/0" {
			t.Fatalf("a request reached %s", body)
		}
	}
	// A variant without a healthy instance gets no weighted traffic; targeted, it is unavailable.
	fs.get("b/0").pingErr.Store(&bad)
	waitStatus(t, f, "ep", "B", 0)
	for range 200 {
		if variant, _ := invoke(t, f, "ep", ""); variant != "A" {
			t.Fatalf("variant %s answered with no healthy instance", variant)
		}
	}
	if _, _, err := f.Invoke(context.Background(), "ep", "B", inference.Request{}); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("targeting a variant with no healthy instance: %v, want Unavailable", err)
	}
}

func waitStatus(t *testing.T, f *Fleet, ep, variant string, healthy int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, s := range f.Status(ep) {
			if s.Name == variant && s.Healthy == healthy {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("variant %s never had %d healthy instances: %v", variant, healthy, f.Status(ep))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDeployFailureKeepsTheOldFleet(t *testing.T) {
	fs := newFakes()
	fs.make = func(name string) *fake {
		f := &fake{name: name}
		if strings.HasPrefix(name, "sick/") {
			bad := errors.New("model server says 503")
			f.pingErr.Store(&bad)
		}
		return f
	}
	f := newFleet(t, fs, Options{ReadyTimeout: 300 * time.Millisecond})
	ctx := context.Background()
	if err := f.Deploy(ctx, "ep", variants(v("AllTraffic", 1, 2, "v1"))); err != nil {
		t.Fatal(err)
	}
	fs.fail["broken"] = errors.New("xgboost-model: not a Booster")
	cases := []struct {
		name string
		vs   []VariantSpec
		want []string
	}{
		{"load fails", variants(v("New", 1, 2, "broken")), []string{"variant New instance", "cannot start", "not a Booster"}},
		{"never healthy", variants(v("AllTraffic", 1, 1, "healthy"), v("Sick", 1, 1, "sick")), []string{"variant Sick instance 1", "did not become healthy", "503"}},
		{"invalid", variants(v("A", 1, 0, "v2")), []string{"instance count 0"}},
		{"duplicate", variants(v("A", 1, 1, "v2"), v("A", 1, 1, "v2")), []string{"appears twice"}},
		{"no variant", nil, []string{"at least one variant"}},
	}
	for _, c := range cases {
		err := f.Deploy(ctx, "ep", c.vs)
		if errs.KindOf(err) != errs.Invalid {
			t.Errorf("%s: err = %v, want Invalid", c.name, err)
		}
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: err = %v, want it to name %q", c.name, err, w)
			}
		}
		for range 20 {
			if variant, body := invoke(t, f, "ep", ""); variant != "AllTraffic" || !strings.HasPrefix(body, "v1/") {
				t.Fatalf("%s: after a failed deploy %s/%s answered", c.name, variant, body)
			}
		}
	}
	// What the failed deploys started is closed; the old fleet is not.
	for name, inst := range fs.all {
		if !strings.HasPrefix(name, "v1/") {
			if !inst.closed.Load() {
				t.Errorf("instance %s of a failed deploy is still open", name)
			}
		}
	}
	if fs.get("v1/0").closed.Load() || fs.get("v1/1").closed.Load() {
		t.Error("the serving fleet was closed by a failed deploy")
	}
}

// TestDeploySwapsUnderLoad: clients keep invoking while deploys replace the fleet; no request
// fails, none reaches a closed instance (fake.Invoke panics), and once Deploy returns only the
// new fleet answers.
func TestDeploySwapsUnderLoad(t *testing.T) {
	fs := newFakes()
	fs.make = func(name string) *fake { return &fake{name: name, hold: closedChan} }
	f := newFleet(t, fs, Options{Drain: 10 * time.Second})
	ctx := context.Background()
	if err := f.Deploy(ctx, "ep", variants(v("AllTraffic", 1, 2, "gen0"))); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var failed, served atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
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
	for gen := 1; gen <= 20; gen++ {
		image := fmt.Sprintf("gen%d", gen)
		if err := f.Deploy(ctx, "ep", variants(v("AllTraffic", 1, 2, image), v("Shadow", 0, 1, image))); err != nil {
			t.Fatal(err)
		}
		if _, body := invoke(t, f, "ep", ""); !strings.HasPrefix(body, image+"/") {
			t.Fatalf("after deploying %s, %s answered", image, body)
		}
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || served.Load() == 0 {
		t.Fatalf("%d of %d requests failed during 20 deploys", failed.Load(), served.Load())
	}
	t.Logf("%d requests, none failed, during 20 deploys", served.Load())
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// TestRetireDrains: a request in flight on the old fleet finishes after the swap; its instance
// is closed only then.
func TestRetireDrains(t *testing.T) {
	fs := newFakes()
	hold := make(chan struct{})
	arrived := make(chan string, 1)
	fs.make = func(name string) *fake {
		if name == "old/0" {
			return &fake{name: name, hold: hold, arrived: arrived}
		}
		return &fake{name: name}
	}
	f := newFleet(t, fs, Options{})
	ctx := context.Background()
	if err := f.Deploy(ctx, "ep", variants(v("AllTraffic", 1, 1, "old"))); err != nil {
		t.Fatal(err)
	}
	done := make(chan string)
	go func() {
		_, body := invoke(t, f, "ep", "")
		done <- body
	}()
	<-arrived
	if err := f.Deploy(ctx, "ep", variants(v("AllTraffic", 1, 1, "new"))); err != nil {
		t.Fatal(err)
	}
	if _, body := invoke(t, f, "ep", ""); body != "new/0" {
		t.Fatalf("after the swap %s answered", body)
	}
	time.Sleep(50 * time.Millisecond)
	if fs.get("old/0").closed.Load() {
		t.Fatal("the old instance was closed with a request in flight")
	}
	close(hold)
	if body := <-done; body != "old/0" {
		t.Fatalf("the request in flight was answered by %s", body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !fs.get("old/0").closed.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the drained old instance was never closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRemoveAndClose(t *testing.T) {
	fs := newFakes()
	f := New(Options{Load: fs.load})
	ctx := context.Background()
	for _, ep := range []string{"one", "two"} {
		if err := f.Deploy(ctx, ep, variants(v("A", 1, 2, ep))); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Remove("one"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Invoke(ctx, "one", "", inference.Request{}); errs.KindOf(err) != errs.NotFound {
		t.Errorf("Invoke after Remove: %v, want NotFound", err)
	}
	if f.Status("one") != nil || !fs.get("one/0").closed.Load() || !fs.get("one/1").closed.Load() {
		t.Errorf("Remove left %v, closed %v %v", f.Status("one"), fs.get("one/0").closed.Load(), fs.get("one/1").closed.Load())
	}
	if err := f.Remove("one"); err != nil {
		t.Errorf("removing again: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if !fs.get("two/0").closed.Load() || !fs.get("two/1").closed.Load() {
		t.Error("Close left instances open")
	}
	if err := f.Deploy(ctx, "three", variants(v("A", 1, 1, "three"))); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("Deploy after Close: %v, want Unavailable", err)
	}
}

func TestDeployCancelled(t *testing.T) {
	fs := newFakes()
	bad := errors.New("starting")
	fs.make = func(name string) *fake { f := &fake{name: name}; f.pingErr.Store(&bad); return f }
	f := newFleet(t, fs, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := f.Deploy(ctx, "ep", variants(v("A", 1, 2, "slow")))
	if err == nil || !fs.get("slow/0").closed.Load() || !fs.get("slow/1").closed.Load() {
		t.Fatalf("a cancelled deploy: err %v; its instances must be closed", err)
	}
}

func TestCloseCancelsADeployInProgress(t *testing.T) {
	fs := newFakes()
	bad := errors.New("starting")
	fs.make = func(name string) *fake { f := &fake{name: name}; f.pingErr.Store(&bad); return f }
	f := New(Options{Load: fs.load})
	errc := make(chan error, 1)
	go func() { errc <- f.Deploy(context.Background(), "ep", variants(v("A", 1, 2, "slow"))) }()
	for fs.get("slow/1") == nil || fs.get("slow/0") == nil {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err == nil {
		t.Error("a deploy cut short by Close succeeded")
	}
	if took := time.Since(start); took > 5*time.Second || !fs.get("slow/0").closed.Load() || !fs.get("slow/1").closed.Load() {
		t.Errorf("Close took %s; instances closed: %v %v", took, fs.get("slow/0").closed.Load(), fs.get("slow/1").closed.Load())
	}
}
