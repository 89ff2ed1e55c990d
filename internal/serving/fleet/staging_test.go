package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/inference"
)

func share(t *testing.T, f *Fleet, ep, prefix string, n int) float64 {
	t.Helper()
	hits := 0
	for range n {
		if _, body := invoke(t, f, ep, ""); strings.HasPrefix(body, prefix) {
			hits++
		}
	}
	return float64(hits) / float64(n)
}

func TestStageShiftPromoteDiscard(t *testing.T) {
	fs := newFakes()
	fs.make = func(name string) *fake {
		f := &fake{name: name}
		if strings.HasPrefix(name, "sick/") {
			bad := errors.New("503")
			f.pingErr.Store(&bad)
		}
		return f
	}
	f := newFleet(t, fs, Options{ReadyTimeout: 200 * time.Millisecond})
	ctx := context.Background()
	if err := f.Stage(ctx, "ep", variants(v("AllTraffic", 1, 1, "blue"))); errs.KindOf(err) != errs.NotFound {
		t.Errorf("Stage on an endpoint without a fleet: %v, want NotFound", err)
	}
	if err := f.Deploy(ctx, "ep", variants(v("AllTraffic", 1, 2, "blue"))); err != nil {
		t.Fatal(err)
	}
	for _, op := range []func() error{func() error { return f.Shift("ep", 0.5) }, func() error { return f.Promote("ep") }, func() error { return f.Discard("ep") }} {
		if err := op(); errs.KindOf(err) != errs.Conflict {
			t.Errorf("without a staged fleet: %v, want Conflict", err)
		}
	}
	// A staged fleet that cannot become healthy changes nothing.
	if err := f.Stage(ctx, "ep", variants(v("AllTraffic", 1, 1, "sick"))); errs.KindOf(err) != errs.Invalid {
		t.Errorf("staging a sick fleet: %v, want Invalid", err)
	}
	if _, _, ok := f.Staged("ep"); ok {
		t.Error("a failed Stage left a staged fleet")
	}

	if err := f.Stage(ctx, "ep", variants(v("AllTraffic", 1, 2, "green"))); err != nil {
		t.Fatal(err)
	}
	if got := share(t, f, "ep", "green/", 500); got != 0 {
		t.Errorf("a staged fleet took %.3f of the requests before Shift", got)
	}
	for _, want := range []float64{0.1, 0.5, 1} {
		if err := f.Shift("ep", want); err != nil {
			t.Fatal(err)
		}
		if got := share(t, f, "ep", "green/", 4000); got < want-0.03 || got > want+0.03 {
			t.Errorf("Shift(%v): the staged fleet took %.3f", want, got)
		}
	}
	if s, vs, ok := f.Staged("ep"); !ok || s != 1 || len(vs) != 1 || vs[0].Healthy != 2 {
		t.Errorf("Staged = %v %v %v", s, vs, ok)
	}
	if err := f.Shift("ep", 1.5); errs.KindOf(err) != errs.Invalid {
		t.Errorf("Shift(1.5): %v, want Invalid", err)
	}
	// Roll back: the live fleet takes everything again and the staged one closes.
	if err := f.Discard("ep"); err != nil {
		t.Fatal(err)
	}
	if got := share(t, f, "ep", "blue/", 200); got != 1 {
		t.Errorf("after Discard the live fleet took %.3f", got)
	}
	waitClosed(t, fs, "green/0", "green/1")

	// Forward: stage, shift half, promote.
	if err := f.Stage(ctx, "ep", variants(v("AllTraffic", 1, 1, "teal"))); err != nil {
		t.Fatal(err)
	}
	if err := f.Shift("ep", 0.5); err != nil {
		t.Fatal(err)
	}
	if err := f.Promote("ep"); err != nil {
		t.Fatal(err)
	}
	if got := share(t, f, "ep", "teal/", 200); got != 1 {
		t.Errorf("after Promote the promoted fleet took %.3f", got)
	}
	waitClosed(t, fs, "blue/0", "blue/1")
	if st := f.Status("ep"); len(st) != 1 || st[0].Instances != 1 {
		t.Errorf("Status after Promote = %v", st)
	}
	// Deploy replaces a staged fleet too.
	if err := f.Stage(ctx, "ep", variants(v("AllTraffic", 1, 1, "gray"))); err != nil {
		t.Fatal(err)
	}
	if err := f.Deploy(ctx, "ep", variants(v("AllTraffic", 1, 1, "plum"))); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, fs, "gray/0", "teal/0")
	if _, _, ok := f.Staged("ep"); ok {
		t.Error("Deploy left the staged fleet")
	}
}

func waitClosed(t *testing.T, fs *fakes, names ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, n := range names {
		for !fs.get(n).closed.Load() {
			if time.Now().After(deadline) {
				t.Fatalf("instance %s was never closed", n)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// TestRolloutsUnderLoad: canary, linear and rolled-back rollouts one after another while clients
// invoke without pause: no request fails and none reaches a closed instance (fake.Invoke panics).
func TestRolloutsUnderLoad(t *testing.T) {
	fs := newFakes()
	fs.make = func(name string) *fake { return &fake{name: name, hold: closedChan} }
	f := newFleet(t, fs, Options{})
	ctx := context.Background()
	if err := f.Deploy(ctx, "ep", variants(v("AllTraffic", 1, 2, "r0"))); err != nil {
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
	live := "r0"
	for i := 1; i <= 15; i++ {
		image := fmt.Sprintf("r%d", i)
		if err := f.Stage(ctx, "ep", variants(v("AllTraffic", 1, 2, image))); err != nil {
			t.Fatal(err)
		}
		steps := map[int][]float64{0: {0.1, 1}, 1: {0.25, 0.5, 0.75, 1}, 2: {0.1, 0.5}}[i%3]
		for _, s := range steps {
			if err := f.Shift("ep", s); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		if i%3 == 2 {
			if err := f.Discard("ep"); err != nil {
				t.Fatal(err)
			}
		} else {
			if err := f.Promote("ep"); err != nil {
				t.Fatal(err)
			}
			live = image
		}
		if _, body := invoke(t, f, "ep", ""); !strings.HasPrefix(body, live+"/") {
			t.Fatalf("after rollout %d, %s answered; want %s", i, body, live)
		}
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || served.Load() == 0 {
		t.Fatalf("%d of %d requests failed during 15 rollouts", failed.Load(), served.Load())
	}
	t.Logf("%d requests, none failed, during 15 rollouts", served.Load())
}

// TestSickStagedFleetLeavesItsShareToTheLiveOne: a staged fleet whose instances fail their
// health checks after it took its share fails no request: the live fleet answers them until
// the staged one is healthy again (or discarded).
func TestSickStagedFleetLeavesItsShareToTheLiveOne(t *testing.T) {
	fs := newFakes()
	f := newFleet(t, fs, Options{HealthEvery: 10 * time.Millisecond})
	ctx := context.Background()
	if err := f.Deploy(ctx, "ep", variants(v("AllTraffic", 1, 1, "blue"))); err != nil {
		t.Fatal(err)
	}
	if err := f.Stage(ctx, "ep", variants(v("AllTraffic", 1, 1, "green"))); err != nil {
		t.Fatal(err)
	}
	if err := f.Shift("ep", 1); err != nil {
		t.Fatal(err)
	}
	if got := share(t, f, "ep", "green/", 100); got != 1 {
		t.Fatalf("the staged fleet took %.2f of the requests at share 1", got)
	}
	bad := errors.New("503")
	fs.get("green/0").pingErr.Store(&bad)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		_, vs, ok := f.Staged("ep")
		if !ok || len(vs) == 0 {
			t.Fatalf("Staged(ep) = %v, %v; want the staged variant", vs, ok)
		}
		if vs[0].Healthy == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sick instance never left the pool")
		}
	}
	for i := range 200 {
		variant, resp, err := f.Invoke(ctx, "ep", "", inference.Request{ContentType: "text/csv", Body: []byte("1\n")})
		if err != nil || !strings.HasPrefix(string(resp.Body), "blue/") {
			t.Fatalf("request %d while the staged fleet is sick: %s %q %v; want the live fleet's answer", i, variant, resp.Body, err)
		}
	}
	fs.get("green/0").pingErr.Store(nil)
	for deadline := time.Now().Add(5 * time.Second); share(t, f, "ep", "green/", 20) != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the healed staged fleet never took its share back")
		}
	}
}
