package reconcile

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// Group starts runtimes in the order they were added and closes them in the reverse order, so
// an engine that feeds another's keys stops before the one it feeds.
type Group struct {
	mu       sync.Mutex
	runtimes []*Runtime
	ctx      context.Context // set once started: runtimes added later start at once
}

// Add adds a runtime; if the group runs already, the runtime starts now.
func (g *Group) Add(rt *Runtime) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.runtimes = append(g.runtimes, rt)
	if g.ctx != nil {
		rt.Start(g.ctx)
	}
}

// Runtimes returns the runtimes in start order.
func (g *Group) Runtimes() []*Runtime {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]*Runtime(nil), g.runtimes...)
}

// Start starts every runtime, in order.
func (g *Group) Start(ctx context.Context) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ctx = ctx
	for _, rt := range g.runtimes {
		rt.Start(ctx)
	}
}

// Close closes every runtime, last added first, each waiting for its reconciles to return.
func (g *Group) Close(ctx context.Context) error {
	var err error
	rts := g.Runtimes()
	slices.Reverse(rts)
	for _, rt := range rts {
		err = errors.Join(err, rt.Close(ctx))
	}
	return err
}
