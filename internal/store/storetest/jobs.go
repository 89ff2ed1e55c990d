package storetest

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/jobs"
	"github.com/slipway-ml/slipway/internal/randid"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/store"
)

// testJobs: a job's row, its event and its work item commit together; names are unique per
// account and kind; a change under a lost lease's fence is refused; listings filter and order.
func testJobs(t *testing.T, st *store.Store) {
	ctx := context.Background()
	js := st.Jobs()
	mk := func(kind jobs.Kind, name string, at time.Time) jobs.Job {
		return jobs.Job{Kind: kind, Account: "111111111111", Name: name, ARN: "arn:aws:sagemaker:us-east-1:111111111111:" + string(kind) + "-job/" + name,
			Status: jobs.InProgress, Secondary: jobs.Starting, CreatedAt: at, ModifiedAt: at,
			Spec: jobs.Spec{Image: "img", InstanceCount: 1, HyperParameters: map[string]string{"eta": "0.2"}}, Request: []byte(`{"X":1}`)}
	}
	insert := func(j jobs.Job) error {
		return js.Update(ctx, func(tx jobs.Tx) error {
			if err := tx.InsertJob(ctx, j); err != nil {
				return err
			}
			if err := tx.AppendEvent(ctx, events.Event{ID: randid.UUID(), Account: j.Account, DetailType: j.Kind.EventDetailType(), Time: j.CreatedAt}); err != nil {
				return err
			}
			return tx.Enqueue(ctx, jobs.WorkKind, j.ARN, j.CreatedAt)
		})
	}
	a := mk(jobs.TrainingJob, "a", t0)
	if err := insert(a); err != nil {
		t.Fatal(err)
	}
	got, err := js.GetJob(ctx, a.Account, a.Kind, a.Name)
	if err != nil || !cmp.Equal(got, a) {
		t.Fatalf("GetJob = %+v, %v; want %+v", got, err, a)
	}
	if _, err := st.Work().Get(ctx, jobs.WorkKind, a.ARN); err != nil {
		t.Errorf("the job's work item: %v", err)
	}
	evs, err := st.Events().EventsAfter(ctx, 0, 100)
	if err != nil || len(evs) != 1 {
		t.Errorf("events after the insert: %d, %v", len(evs), err)
	}
	if err := insert(a); !errs.Is(err, errs.Conflict) {
		t.Errorf("a second job a: %v, want Conflict", err)
	}
	if evs, _ := st.Events().EventsAfter(ctx, 0, 100); len(evs) != 1 {
		t.Errorf("the refused insert left %d events", len(evs))
	}
	if err := insert(mk(jobs.ProcessingJob, "a", t0)); err != nil {
		t.Errorf("a processing job named a: %v", err)
	}
	if err := insert(mk(jobs.TrainingJob, "b", t0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if _, err := js.GetJob(ctx, a.Account, jobs.TrainingJob, "nope"); !errs.Is(err, errs.NotFound) {
		t.Errorf("GetJob(nope) = %v", err)
	}
	// JobStatuses: the named jobs of one kind in one account that exist, by name (the
	// processing job a, another account's names and missing names are absent), in chunks
	// when there are many names.
	names := []string{"a", "b", "nope"}
	for i := range 1200 {
		names = append(names, "missing-"+strconv.Itoa(i))
	}
	sts, err := js.JobStatuses(ctx, a.Account, jobs.TrainingJob, names)
	if want := map[string]jobs.Status{"a": jobs.InProgress, "b": jobs.InProgress}; err != nil || !cmp.Equal(sts, want) {
		t.Errorf("JobStatuses = %v, %v; want %v", sts, err, want)
	}
	if sts, err := js.JobStatuses(ctx, "222222222222", jobs.TrainingJob, names); err != nil || len(sts) != 0 {
		t.Errorf("JobStatuses of another account = %v, %v; want none", sts, err)
	}

	// A change under the lease's fence commits; under a stale fence it is refused.
	leases, err := st.Work().Claim(ctx, jobs.WorkKind, "me", t0.Add(time.Hour), time.Minute, 10)
	if err != nil || len(leases) != 3 {
		t.Fatalf("Claim = %v, %v", leases, err)
	}
	var fence reconcile.Fence
	for _, l := range leases {
		if l.Key == a.ARN {
			fence = l.Fence()
		}
	}
	change := func(f reconcile.Fence, status jobs.Status) error {
		return js.Update(ctx, func(tx jobs.Tx) error {
			if err := tx.CheckFence(ctx, f); err != nil {
				return err
			}
			j, err := tx.LockJob(ctx, a.Account, a.Kind, a.Name)
			if err != nil {
				return err
			}
			j.Status, j.ModifiedAt = status, t0.Add(2*time.Hour)
			return tx.UpdateJob(ctx, j)
		})
	}
	if err := change(fence, jobs.Completed); err != nil {
		t.Fatal(err)
	}
	stale := fence
	stale.Token--
	if err := change(stale, jobs.Failed); !errs.Is(err, errs.Conflict) {
		t.Errorf("a change under a stale fence: %v, want Conflict", err)
	}
	if got, _ := js.GetJob(ctx, a.Account, a.Kind, a.Name); got.Status != jobs.Completed {
		t.Errorf("status %s after the fenced changes", got.Status)
	}

	list := func(q jobs.Query) []string {
		t.Helper()
		js, err := js.ListJobs(ctx, "111111111111", jobs.TrainingJob, q)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, j := range js {
			names = append(names, j.Name)
		}
		return names
	}
	for _, c := range []struct {
		q    jobs.Query
		want []string
	}{
		{jobs.Query{}, []string{"a", "b"}},
		{jobs.Query{Descending: true}, []string{"b", "a"}},
		{jobs.Query{Status: jobs.Completed}, []string{"a"}},
		{jobs.Query{NameContains: "b"}, []string{"b"}},
		{jobs.Query{CreatedAfter: t0.Add(time.Second)}, []string{"b"}},
		{jobs.Query{ModifiedAfter: t0.Add(time.Hour)}, []string{"a"}},
		{jobs.Query{SortBy: "Status"}, []string{"a", "b"}},
		{jobs.Query{Limit: 1, Offset: 1}, []string{"b"}},
	} {
		if got := list(c.q); !cmp.Equal(got, c.want) {
			t.Errorf("ListJobs(%+v) = %v, want %v", c.q, got, c.want)
		}
	}
	if got, _ := js.ListJobs(ctx, "222222222222", jobs.TrainingJob, jobs.Query{}); len(got) != 0 {
		t.Errorf("another account lists %d jobs", len(got))
	}

	// Concurrent creations of one name: exactly one wins.
	var wg sync.WaitGroup
	wins := make(chan bool, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := insert(mk(jobs.TransformJob, "race", t0))
			if err != nil && !errs.Is(err, errs.Conflict) {
				t.Errorf("insert: %v", err)
			}
			wins <- err == nil
		}()
	}
	wg.Wait()
	close(wins)
	n := 0
	for w := range wins {
		if w {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d concurrent creations of one job succeeded, want 1", n)
	}
}
