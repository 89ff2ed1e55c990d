package reconcile_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

// BenchmarkNoop measures the runtime's own cost per reconcile: 10,000 keys enqueued, a
// reconciler that does nothing; ms/reconcile is the wall time of working them all over their
// number (claim, lease, release: every store round trip the runtime makes). writes/reconcile
// compares it with one durable single-row write measured in the same run.
func BenchmarkNoop(b *testing.B) {
	b.Run("SQLite", func(b *testing.B) { benchNoop(b, storetest.OpenSQLite(b)) })
	b.Run("Postgres", func(b *testing.B) { benchNoop(b, storetest.OpenPostgres(b)) })
}

func benchNoop(b *testing.B, st *store.Store) {
	const n = 10000
	ctx := context.Background()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("model-package-%05d", i)
	}
	var count atomic.Int64
	all := make(chan struct{}, 1)
	rt := reconcile.New(st.Work(), "bench", reconcile.Func(func(context.Context, string) (reconcile.Result, error) {
		if count.Add(1) == n {
			all <- struct{}{}
		}
		return reconcile.Result{}, nil
	}), reconcile.Options{Resync: time.Hour})
	rt.Start(ctx)
	defer rt.Close(ctx)
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		count.Store(0)
		if err := st.Work().Enqueue(ctx, "bench", keys, time.Now()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		rt.Wake()
		<-all
		total += time.Since(start)
	}
	b.StopTimer()
	// The reference, measured in the same run: one durable single-row write (an Enqueue of one
	// key) after another, the least any per-item durable step costs on this store.
	ref := time.Now()
	for _, k := range keys[:n/4] {
		if err := st.Work().Enqueue(ctx, "reference", []string{k}, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	perWrite := time.Since(ref).Seconds() * 1000 / float64(n/4)
	perReconcile := total.Seconds() * 1000 / float64(b.N*n)
	b.ReportMetric(perReconcile, "ms/reconcile")
	b.ReportMetric(perWrite, "ms/write")
	b.ReportMetric(perReconcile/perWrite, "writes/reconcile")
	b.ReportMetric(0, "ns/op")
}
