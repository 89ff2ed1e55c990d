package fleet

import (
	"context"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Blue/green: Stage starts a second fleet beside an endpoint's live one; Shift moves a share of
// the requests to it (canary, linear steps, all at once while the old fleet still stands);
// Promote makes it the live fleet; Discard drops it (a rollback). The rollout's timing and alarms
// belong to the caller; these are the data plane's steps, each atomic.

// Stage starts the fleet vs beside endpoint's live fleet and waits until every instance answers
// Ping; it then takes no request until Shift. A fleet staged before is replaced (and closed once
// drained). When the new fleet cannot become healthy nothing changes, as with Deploy.
func (f *Fleet) Stage(ctx context.Context, endpoint string, vs []VariantSpec) error {
	return f.launch(ctx, endpoint, vs, false, func(old *routes, g *generation) (*routes, []*generation, error) {
		if old == nil {
			return nil, nil, errs.E(errs.NotFound, "endpoint %s has no running fleet", endpoint)
		}
		return &routes{live: old.live, staged: g}, []*generation{old.staged}, nil
	})
}

// Shift sends share (0 to 1) of endpoint's requests to its staged fleet.
func (f *Fleet) Shift(endpoint string, share float64) error {
	if !(share >= 0 && share <= 1) {
		return errs.E(errs.Invalid, "endpoint %s: the staged fleet's share %v must be between 0 and 1", endpoint, share)
	}
	ep := f.lookup(endpoint)
	if ep == nil {
		return errs.E(errs.NotFound, "endpoint %s has no running fleet", endpoint)
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	r := ep.r.Load()
	if r == nil || r.staged == nil {
		return errs.E(errs.Conflict, "endpoint %s has no staged fleet", endpoint)
	}
	ep.r.Store(&routes{live: r.live, staged: r.staged, share: share})
	return nil
}

// Promote makes endpoint's staged fleet its live fleet, taking every request; the old live fleet
// is closed once its requests in flight have ended.
func (f *Fleet) Promote(endpoint string) error {
	return f.unstage(endpoint, func(r *routes) (*routes, *generation) { return &routes{live: r.staged}, r.live })
}

// Discard drops endpoint's staged fleet: every request goes to the live fleet again, and the
// staged one is closed once its requests in flight have ended.
func (f *Fleet) Discard(endpoint string) error {
	return f.unstage(endpoint, func(r *routes) (*routes, *generation) { return &routes{live: r.live}, r.staged })
}

func (f *Fleet) unstage(endpoint string, next func(*routes) (*routes, *generation)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ep := f.endpoints[endpoint]
	if ep == nil {
		return errs.E(errs.NotFound, "endpoint %s has no running fleet", endpoint)
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	r := ep.r.Load()
	if r == nil || r.staged == nil {
		return errs.E(errs.Conflict, "endpoint %s has no staged fleet", endpoint)
	}
	n, dropped := next(r)
	ep.r.Store(n)
	f.retireLater(dropped)
	return nil
}

// Staged reports endpoint's staged fleet: the share of requests it takes and its variants; ok is
// false when there is none.
func (f *Fleet) Staged(endpoint string) (share float64, variants []VariantStatus, ok bool) {
	ep := f.lookup(endpoint)
	if ep == nil {
		return 0, nil, false
	}
	r := ep.r.Load()
	if r == nil || r.staged == nil {
		return 0, nil, false
	}
	return r.share, r.staged.status(), true
}
