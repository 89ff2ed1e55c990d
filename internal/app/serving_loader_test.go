package app

import (
	"context"
	"sync"
	"testing"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/inference"
	"github.com/slipway-ml/slipway/internal/serving/fleet"
)

type fakeInstance struct{ n int }

func (fakeInstance) Invoke(context.Context, inference.Request) (inference.Response, error) {
	return inference.Response{}, nil
}
func (fakeInstance) Ping(context.Context) error { return nil }
func (fakeInstance) Close() error               { return nil }

// TestLateLoaderSetWhileLoading: the fleet's loader is installed while deploys already call it
// from other goroutines. Every reader has loaded at least once (seen Unavailable) before Set
// runs, and each keeps loading until it sees the installed loader, so reads and the write
// interleave; run with -race, the detector sees them.
func TestLateLoaderSetWhileLoading(t *testing.T) {
	var l lateLoader
	const readers = 8
	var first, done sync.WaitGroup
	first.Add(readers)
	done.Add(readers)
	errc := make(chan error, readers)
	for range readers {
		go func() {
			defer done.Done()
			once := false
			for {
				in, err := l.Load(context.Background(), fleet.ModelSpec{}, 7)
				if !once {
					once = true
					first.Done()
				}
				if err == nil {
					if got := in.(fakeInstance).n; got != 7 {
						errc <- errs.E(errs.Internal, "the loader got instance %d, want 7", got)
					}
					return
				}
				if !errs.Is(err, errs.Unavailable) {
					errc <- err
					return
				}
			}
		}()
	}
	first.Wait()
	l.Set(func(_ context.Context, _ fleet.ModelSpec, n int) (fleet.Instance, error) { return fakeInstance{n}, nil })
	done.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}
