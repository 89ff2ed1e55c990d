package fleet

import (
	"context"
	"sort"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Scale changes the instance counts of the named variants of endpoint's live fleet in place
// (UpdateEndpointWeightsAndCapacities' DesiredInstanceCount): the instances it adds are started
// and must answer Ping before they join the pool — if any cannot, nothing changes and the error
// names it; the instances it removes (the last ones) take no new request at once and are closed
// once their requests in flight have ended (up to Drain). Variants not named keep theirs.
func (f *Fleet) Scale(ctx context.Context, endpoint string, counts map[string]int) error {
	names := make([]string, 0, len(counts))
	for name, n := range counts {
		if n < 1 {
			return errs.E(errs.Invalid, "endpoint %s: variant %s: instance count %d must be at least 1", endpoint, name, n)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	f.mu.Lock()
	ep := f.endpoints[endpoint]
	if f.closed || ep == nil {
		f.mu.Unlock()
		return errs.E(errs.NotFound, "endpoint %s has no running fleet", endpoint)
	}
	f.deploying.Add(1)
	f.mu.Unlock()
	defer f.deploying.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(f.ctx, cancel)()

	ep.deploy.Lock() // the live fleet stays the same until Scale ends
	defer ep.deploy.Unlock()
	r := ep.r.Load()
	if r == nil {
		return errs.E(errs.NotFound, "endpoint %s has no running fleet", endpoint)
	}
	g := r.live
	var wants []want
	var grow []*variant
	for _, name := range names {
		i := g.index(name)
		if i < 0 {
			return errs.E(errs.Invalid, "endpoint %s has no variant %s", endpoint, name)
		}
		v := g.variants[i]
		if have := len(v.instances()); counts[name] > have {
			wants = append(wants, want{variant: name, model: v.model, from: have, to: counts[name]})
			grow = append(grow, v)
		}
	}
	started, err := f.startInstances(ctx, endpoint, wants)
	if err != nil {
		return err
	}
	var all []*instance
	for _, l := range started {
		all = append(all, l...)
	}
	f.mu.Lock()
	ep.mu.Lock()
	if f.closed || f.endpoints[endpoint] != ep || ep.r.Load() == nil || ep.r.Load().live != g {
		ep.mu.Unlock()
		f.mu.Unlock()
		closeInstances(f.log, endpoint, all)
		return errs.E(errs.Conflict, "endpoint %s changed (removed or redeployed) while it was being scaled", endpoint)
	}
	for i, v := range grow {
		next := append(append([]*instance(nil), v.instances()...), started[i]...)
		v.insts.Store(&next)
	}
	var shed []*instance
	for _, name := range names {
		v := g.variants[g.index(name)]
		if insts := v.instances(); counts[name] < len(insts) {
			next := append([]*instance(nil), insts[:counts[name]]...)
			v.insts.Store(&next)
			shed = append(shed, insts[counts[name]:]...)
		}
	}
	for _, inst := range shed {
		inst.removed.Store(true)
	}
	if len(shed) > 0 {
		f.retiring.Add(1)
		go func() {
			defer f.retiring.Done()
			deadline := time.Now().Add(f.o.Drain)
			for _, inst := range shed {
				for inst.outstanding.Load() > 0 && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
			}
			closeInstances(f.log, endpoint, shed)
		}()
	}
	ep.mu.Unlock()
	f.mu.Unlock()
	f.log.Info("scaled", "endpoint", endpoint, "counts", counts, "started", len(all), "stopped", len(shed))
	return nil
}
