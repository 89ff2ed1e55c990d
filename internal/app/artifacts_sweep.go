package app

import (
	"context"
	"log/slog"

	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// orphanSweepKind is the work kind of the artifact store's orphan sweep: one durable item,
// due at every start of a server and every orphanSweepEvery after a sweep. On a shared
// PostgreSQL one server sweeps at a time (the item's lease).
const (
	orphanSweepKind  = "artifacts-orphans"
	orphanSweepKey   = "sweep"
	orphanSweepEvery = artifacts.OrphanAge / 4
)

// orphanSweeper returns the runtime that deletes the artifact store's orphaned blobs (see
// artifacts.SweepOrphans), with its item due now.
func (a *App) orphanSweeper(ctx context.Context, log *slog.Logger) (*reconcile.Runtime, error) {
	rt := reconcile.New(a.Store.Work(), orphanSweepKind, reconcile.Func(func(ctx context.Context, _ string) (reconcile.Result, error) {
		if _, err := a.Artifacts.SweepOrphans(ctx); err != nil {
			return reconcile.Result{}, err
		}
		return reconcile.Result{RequeueAfter: orphanSweepEvery}, nil
	}), reconcile.Options{Workers: 1, Resync: orphanSweepEvery, Log: log})
	if err := rt.Enqueue(ctx, orphanSweepKey); err != nil {
		return nil, err
	}
	return rt, nil
}
