package app_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/store"
)

// TestRuntimesStopBeforeTheStore starts a reconcile runtime with the app and closes the app while
// a reconcile is in flight: Close must cancel it, wait for it and release its key while the
// store is still open.
func TestRuntimesStopBeforeTheStore(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Start(ctx)
	inside := make(chan struct{})
	returned := false
	rt := reconcile.New(a.Store.Work(), "app-test", reconcile.Func(func(rctx context.Context, key string) (reconcile.Result, error) {
		close(inside)
		<-rctx.Done()
		time.Sleep(50 * time.Millisecond) // a slow return: Close must wait for it
		returned = true
		return reconcile.Result{}, context.Cause(rctx)
	}), reconcile.Options{})
	a.Runtimes.Add(rt) // the app runs already: the runtime starts now
	if err := rt.Enqueue(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	<-inside
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !returned {
		t.Fatal("Close returned before the reconcile did")
	}
	st, err := store.Open(ctx, cfg.DatabaseDSN(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	it, err := st.Work().Get(ctx, "app-test", "k")
	if err != nil || it.Owner != "" || it.Attempts != 0 {
		t.Errorf("after Close: %+v, %v; want the key released for the next start, no failure counted", it, err)
	}
}
