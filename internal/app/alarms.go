package app

import (
	"context"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/alarms"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/serving"
)

// alarmEvaluation is how often the evaluator looks at each alarm (at most: an alarm with a
// shorter period is evaluated once per period). PutMetricData wakes the alarms on its metrics
// at once.
const alarmEvaluation = 10 * time.Second

// alarmsRuntime builds the alarm evaluator's runtime: one work item per alarm, reconciled by
// evaluating it and requeued for its next evaluation; alarms resume after a restart.
func (a *App) alarmsRuntime() *reconcile.Runtime {
	eval := reconcile.Func(func(ctx context.Context, key string) (reconcile.Result, error) {
		account, name, ok := strings.Cut(key, "/")
		if !ok {
			return reconcile.Result{Forget: true}, nil
		}
		al, err := a.Alarms.Evaluate(ctx, account, name)
		if errs.Is(err, errs.NotFound) {
			return reconcile.Result{Forget: true}, nil
		}
		if err != nil {
			return reconcile.Result{}, err
		}
		return reconcile.Result{RequeueAfter: min(alarmEvaluation, time.Duration(al.Period)*time.Second)}, nil
	})
	return reconcile.New(a.Store.Work(), alarms.WorkKind, eval, reconcile.Options{Workers: 4, Log: a.log})
}

// The retention sweep of CloudWatch's stored datapoints: one durable item, due at every start
// of a server and every metricRetentionEvery after a sweep; on a shared PostgreSQL one server
// sweeps at a time (the item's lease).
const (
	metricRetentionKind  = "alarms-retention"
	metricRetentionKey   = "sweep"
	metricRetentionEvery = time.Hour
)

// metricRetentionSweeper returns the runtime that deletes the datapoints older than
// alarms.DataRetention (in batches of alarms.PruneBatch), with its item due now.
func (a *App) metricRetentionSweeper(ctx context.Context) (*reconcile.Runtime, error) {
	rt := reconcile.New(a.Store.Work(), metricRetentionKind, reconcile.Func(func(ctx context.Context, _ string) (reconcile.Result, error) {
		n, err := a.Alarms.PruneData(ctx, 0)
		if err != nil {
			return reconcile.Result{}, err
		}
		if n > 0 {
			a.log.Info("pruned old metric data", "datapoints", n)
		}
		return reconcile.Result{RequeueAfter: metricRetentionEvery}, nil
	}), reconcile.Options{Workers: 1, Resync: metricRetentionEvery, Log: a.log})
	if err := rt.Enqueue(ctx, metricRetentionKey); err != nil {
		return nil, err
	}
	return rt, nil
}

// alarmWatcher reads the alarms of endpoint updates' AutoRollbackConfiguration for the serving
// engine: each is evaluated at that moment (its transition, if any, committing with its event
// as the evaluator's would), so a rollout reacts to data as soon as it arrives. An alarm that
// does not exist never rolls an update back.
type alarmWatcher struct{ s *alarms.Service }

var _ serving.AlarmWatcher = alarmWatcher{}

func (w alarmWatcher) InAlarm(ctx context.Context, account string, names []string) (string, error) {
	for _, n := range names {
		al, err := w.s.Evaluate(ctx, account, n)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		if al.State == alarms.Alarming {
			return n, nil
		}
	}
	return "", nil
}
