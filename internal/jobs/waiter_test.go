package jobs_test

import (
	"context"
	"testing"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/jobs"
)

// A job created with a waiter enqueues the waiter's work item in the transaction that ends it;
// a job without one enqueues nothing of that kind.
func TestJobEndWakesItsWaiter(t *testing.T) {
	e := newEnv(t)
	e.img["trainer:1"] = trainScript
	e.art.put("data", "train/a.csv", "1,2\n")
	e.art.put("data", "train/sub/b.csv", "3,4\n")
	e.start()
	ctx := context.Background()
	w := jobs.Waiter{Kind: "waiter-test", Key: "execution-1"}
	j, err := e.svc.Create(jobs.WithWaiter(ctx, w), e.calls, training("w1", "trainer:1"))
	if err != nil {
		t.Fatal(err)
	}
	if j.Waiter == nil || *j.Waiter != w {
		t.Fatalf("the job records waiter %v, want %v", j.Waiter, w)
	}
	if _, err := e.st.Work().Get(ctx, w.Kind, w.Key); !errs.Is(err, errs.NotFound) {
		t.Fatalf("the waiter's item exists before the job ended: %v", err)
	}
	if got := e.ended(j); got.Status != jobs.Completed {
		t.Fatalf("status %s, failure %q", got.Status, got.FailureReason)
	}
	if _, err := e.st.Work().Get(ctx, w.Kind, w.Key); err != nil {
		t.Errorf("the job ended and its waiter's item is not enqueued: %v", err)
	}
	other := e.create(training("w2", "trainer:1"))
	if other.Waiter != nil {
		t.Errorf("a job created without a waiter records %v", other.Waiter)
	}
	e.ended(other)
	if _, err := e.st.Work().Get(ctx, w.Kind, "w2"); !errs.Is(err, errs.NotFound) {
		t.Errorf("a job without a waiter enqueued something: %v", err)
	}
}
