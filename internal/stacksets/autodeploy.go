package stacksets

import (
	"context"

	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/org"
)

// AutoDeployConsumer names the outbox subscription through which automatic deployment learns
// that an OU's accounts changed.
const AutoDeployConsumer = "stacksets-autodeploy"

// Waker makes stack sets' work items due now (the engine's reconcile runtime).
type Waker interface {
	Enqueue(ctx context.Context, keys ...string) error
}

// OrgEvents returns the handler of the organization's events: an account created or moved
// (org.AccountsChanged) makes every set with automatic deployment compare its OUs' accounts
// with its instances at once, instead of at its next poll (EngineConfig.AutoPoll, a safety net
// for a missed event). Waking a set twice is harmless, so the handler is idempotent.
func (e *Engine) OrgEvents(w Waker) events.Handler {
	return func(ctx context.Context, ev events.Event) error {
		if !org.AccountsChanged(ev) {
			return nil
		}
		keys, err := e.c.Store.ActiveStackSetARNs(ctx)
		if err != nil || len(keys) == 0 {
			return err
		}
		return w.Enqueue(ctx, keys...)
	}
}
