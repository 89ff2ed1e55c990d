package app

import (
	"context"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/events/rules"
	"github.com/slipway-ml/slipway/internal/events/webhooks"
	"github.com/slipway-ml/slipway/internal/logs"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/store"
)

// EventBridge: the rules service, and the delivery of the outbox's events to the targets of
// the rules they match. Delivery is one subscription to the outbox (rules.Consumer): it
// resumes after its durable cursor at start, and stops before the audit log drains (its
// decisions for cross-account buses are audited).

// eventRulesParts is what the app keeps of EventBridge.
type eventRulesParts struct {
	dispatch *rules.Dispatcher
	sub      *events.Subscription
	others   []*events.Subscription // the outbox's other consumers (stack sets' automatic deployment)
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	hooks    *webhooks.Deliverer // API destinations (webhooks.go): its OAuth token fetches stop with delivery
}

// eventRules builds the rules service and its dispatcher. Log groups of the rule's account
// are targets here; other kinds plug in through rules.Deliverer (Deliverers below).
func (a *App) eventRules() error {
	st := a.Store.EventRules()
	deliverers := map[string]rules.Deliverer{"logs": logGroupTarget{st: st, region: a.cfg.Region, now: a.now}, "sagemaker": pipelineTarget{a}, "codepipeline": deployPipelineTarget{a}}
	hooks, err := a.webhooks(st)
	if err != nil {
		return err
	}
	deliverers[rules.APIDestinationKind] = hooks
	a.rules.hooks = hooks
	kinds := []string{"events"}
	for k := range deliverers {
		kinds = append(kinds, k)
	}
	a.Rules = rules.NewService(st, a.Identity, a.cfg.Region, a.now, kinds...)
	a.rules.dispatch = rules.NewDispatcher(rules.DispatcherConfig{
		Store: st, Service: a.Rules, Authz: a.Identity, Sessions: a.Identity, Deliverers: deliverers, Log: a.log, Now: a.now,
	})
	a.Runtimes.Add(reconcile.New(a.Store.Work(), rules.ScheduleKind, rules.NewScheduler(st, a.now, a.log), reconcile.Options{Workers: 4, Log: a.log}))
	a.rules.sub = events.Subscribe(a.Store.Events(), rules.Consumer, a.rules.dispatch.Handle, a.log)
	return nil
}

// startEventRules starts delivery, and the outbox's other consumers.
func (a *App) startEventRules(ctx context.Context) {
	ctx, a.rules.cancel = context.WithCancel(ctx)
	for _, sub := range append([]*events.Subscription{a.rules.sub}, a.rules.others...) {
		a.rules.wg.Add(1)
		go func() {
			defer a.rules.wg.Done()
			sub.Run(ctx)
		}()
	}
}

// stopEventRules stops delivery and waits for it; what it handled has its cursor saved.
func (a *App) stopEventRules() {
	if a.rules.cancel != nil {
		a.rules.cancel()
	}
	a.rules.wg.Wait()
	if a.rules.hooks != nil {
		a.rules.hooks.Close()
	}
}

// logGroupTarget delivers to a CloudWatch Logs log group of the rule's account: the event (or
// the target's input) is one log event in a stream named for the event id, appended with the
// delivery's key in one transaction, so a restart neither loses nor repeats it.
type logGroupTarget struct {
	st     *store.RulesStore
	region string
	now    func() time.Time
}

var _ rules.Deliverer = logGroupTarget{}

func (l logGroupTarget) Deliver(ctx context.Context, d rules.Delivery) error {
	a, group, ok := arn.LogGroupOf(d.Target.ARN)
	switch {
	case !ok:
		return errs.E(errs.Invalid, "%s is not a log group ARN", d.Target.ARN)
	case a.Account != d.Rule.Account:
		return errs.E(errs.AccessDenied, "log group %s belongs to another account than rule %s", d.Target.ARN, d.RuleARN)
	case a.Region != l.region:
		return errs.E(errs.Invalid, "log group %s is in another region", d.Target.ARN)
	}
	now := l.now()
	_, err := l.st.AppendLogOnce(ctx, d.Key,
		logs.Stream{Account: a.Account, Group: group, Name: d.Event.ID, CreatedAt: now},
		[]logs.StoredEvent{{Timestamp: d.Event.Time.UnixMilli(), Ingested: now.UnixMilli(), Message: string(d.Input)}})
	return err
}
