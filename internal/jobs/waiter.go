package jobs

import "context"

// Waiter names the work item (of the reconcile runtime) that waits for a job to end: the
// pipeline execution whose step runs it. The job records its waiter when it is created, and
// the transaction that ends the job enqueues the waiter's item, so the waiter learns of the
// end as it commits instead of on its next poll. The enqueue commits with the end or not at
// all: no wake-up is lost in a crash.
type Waiter struct {
	Kind string `json:",omitempty"`
	Key  string `json:",omitempty"`
}

type waiterKey struct{}

// WithWaiter returns a context whose Create calls record w as the created job's waiter. The
// composition root sets it for the calls a background engine makes through the API, which
// carries no member for it.
func WithWaiter(ctx context.Context, w Waiter) context.Context {
	return context.WithValue(ctx, waiterKey{}, w)
}

func waiterFrom(ctx context.Context) *Waiter {
	w, ok := ctx.Value(waiterKey{}).(Waiter)
	if !ok || w.Kind == "" || w.Key == "" {
		return nil
	}
	return &w
}

// wakeWaiter enqueues the job's waiter, in the transaction that ends the job.
func wakeWaiter(ctx context.Context, tx Tx, j Job, before Secondary, s *Service) error {
	if j.Waiter == nil || before.Terminal() || !j.Secondary.Terminal() {
		return nil
	}
	return tx.Enqueue(ctx, j.Waiter.Kind, j.Waiter.Key, s.now())
}
