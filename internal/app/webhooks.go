package app

import (
	"context"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/events/egress"
	"github.com/slipway-ml/slipway/internal/events/rules"
	"github.com/slipway-ml/slipway/internal/events/webhooks"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/store"
)

// EventBridge's connections and API destinations: the service (secrets sealed with the master
// key), and the deliverer of API destination targets, which calls only where the operator's
// --webhook-allow list lets it.

// webhooks builds the connections and API destinations service and returns the deliverer of
// API destination targets.
func (a *App) webhooks(rs *store.RulesStore) (*webhooks.Deliverer, error) {
	allow, err := egress.Parse(a.cfg.WebhookAllow)
	if err != nil {
		return nil, err
	}
	if allow.Empty() {
		a.log.Debug("API destinations may call nowhere: --webhook-allow is empty")
	} else {
		a.log.Info("API destinations may call", "allow", allow.String())
	}
	st := a.Store.Webhooks()
	a.Webhooks = webhooks.NewService(st, a.Identity, a.sealer, a.cfg.Region, a.now)
	d := webhooks.NewDeliverer(webhooks.DelivererConfig{
		Store: st, Seal: a.sealer, Authz: a.Identity, Sessions: a.Identity, Record: rs,
		Sender: egress.NewSender(allow, webhooks.Timeout), Region: a.cfg.Region, Log: a.log, Now: a.now,
		Audited: func(ctx context.Context, caller identity.Caller, dl rules.Delivery, fn func(context.Context) error) error {
			return a.Audit.Engine(ctx, audit.Record{
				Time: a.now(), Account: caller.Account, PrincipalARN: caller.ARN, UserAgent: rules.Engine,
				Service: "events", Operation: "InvokeApiDestination", Resource: dl.Target.ARN,
				Reason: "rule " + dl.RuleARN + " delivers event " + dl.Event.ID + " to target " + dl.Target.ID,
			}, fn)
		},
	})
	// An OAuth connection's first token is fetched once its creation or update commits.
	a.Webhooks.OnAuthorizing(d.Authorize)
	return d, nil
}
