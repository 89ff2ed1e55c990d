package jobs

import (
	"context"
	"sync"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
)

// Batch holds jobs that Create validated and authorized under a context carrying it
// (WithBatch), for CreateBatch to store together in one transaction. An engine that starts
// many jobs at once (a layer of a pipeline's fan-out) makes each through the same API call a
// client would — the same validation, the same authorization as the caller, iam:PassRole
// included, the same audit record — and pays for one transaction instead of one per job.
type Batch struct {
	mu    sync.Mutex
	items []batchItem
}

type batchItem struct {
	j     Job
	ev    events.Event
	audit *audit.Pending // the record of the Create call, committed with the job
}

type batchKey struct{}

// WithBatch returns a context whose Create calls put their job in b instead of storing it:
// the call succeeds as far as its checks go, and the job exists once CreateBatch(b) commits.
func WithBatch(ctx context.Context, b *Batch) context.Context {
	return context.WithValue(ctx, batchKey{}, b)
}

func batchFrom(ctx context.Context) *Batch {
	b, _ := ctx.Value(batchKey{}).(*Batch)
	return b
}

// Len returns how many jobs b holds.
func (b *Batch) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items)
}

func (b *Batch) add(it batchItem) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.items = append(b.items, it)
}

// CreateBatch stores the jobs b holds in one transaction, each with its state change event,
// the work item that starts it and the audit record of the Create call that put it in b. A
// job whose name the account already has (a batch repeated after a crash) is left as it is:
// its result is the error Create would have returned (ResourceInUse), and its call's record
// is not committed. Results are in the order the jobs entered b; err means nothing was stored.
func (s *Service) CreateBatch(ctx context.Context, b *Batch) ([]error, error) {
	b.mu.Lock()
	items := append([]batchItem(nil), b.items...)
	b.mu.Unlock()
	res := make([]error, len(items))
	err := s.store.Update(ctx, func(tx Tx) error {
		clear(res)
		for i, it := range items {
			j := it.j
			_, err := tx.LockJob(ctx, j.Account, j.Kind, j.Name)
			if err == nil {
				res[i] = inUse(j)
				continue
			}
			if !errs.Is(err, errs.NotFound) {
				return err
			}
			if err := tx.InsertJob(ctx, j); err != nil {
				return err
			}
			if err := tx.AppendEvent(ctx, it.ev); err != nil {
				return err
			}
			if err := tx.Enqueue(ctx, WorkKind, j.ARN, j.CreatedAt); err != nil {
				return err
			}
			tx.AppendAudit(it.audit)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func inUse(j Job) error {
	return errs.E(errs.Conflict, "%s %s already exists in this account: job names must be unique.", j.Kind.title(), j.Name).WithCode("ResourceInUse")
}
