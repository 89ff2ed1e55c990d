package xgboost

import "sync"

// parallelRange splits [0, n) into at most nthread contiguous ranges of at least minChunk items
// and runs f on each, waiting for all. The split depends only on n, nthread and minChunk, so work
// that accumulates floating-point sums per range is deterministic for a given nthread.
func parallelRange(n, nthread, minChunk int, f func(lo, hi int)) {
	parts := nthread
	if minChunk > 0 && n/minChunk < parts {
		parts = n / minChunk
	}
	if parts <= 1 {
		if n > 0 {
			f(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	for t := 0; t < parts; t++ {
		lo, hi := n*t/parts, n*(t+1)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

// parallelFor runs f(t) for t in [0, parts) on parts goroutines and waits.
func parallelFor(parts int, f func(t int)) {
	if parts == 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	for t := 0; t < parts; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(t)
		}()
	}
	wg.Wait()
}
