package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/randid"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/serving"
	"github.com/slipway-ml/slipway/internal/store"
)

// testServing: models, configurations and endpoints are unique per account, kind and name
// without regard to case; an endpoint's row, its event and its work item commit together; a
// change under a lost lease's fence is refused; listings filter and order; deletes report
// what is missing.
func testServing(t *testing.T, st *store.Store) {
	ctx := context.Background()
	sv := st.Serving()
	acct := "111111111111"
	model := serving.Model{Account: acct, Name: "Abalone", ARN: "arn:aws:sagemaker:us-east-1:" + acct + ":model/abalone",
		ExecutionRoleARN: "arn:aws:iam::" + acct + ":role/r", Primary: &serving.Container{Image: "img", ModelDataURL: "s3://b/k", Environment: map[string]string{"A": "1"}},
		Tags: map[string]string{"t": "v"}, CreatedAt: t0}
	cfg := serving.Config{Account: acct, Name: "cfg", ARN: "arn:cfg", Variants: []serving.Variant{{VariantName: "AllTraffic", ModelName: "Abalone", InitialInstanceCount: 2, InstanceType: "ml.m5.large", InitialVariantWeight: 1}}, CreatedAt: t0}
	if err := sv.Update(ctx, func(tx serving.Tx) error {
		if err := tx.InsertModel(ctx, model); err != nil {
			return err
		}
		return tx.InsertConfig(ctx, cfg)
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := sv.GetModel(ctx, acct, "abalone"); err != nil || !cmp.Equal(got, model) {
		t.Errorf("GetModel = %+v, %v; want %+v", got, err, model)
	}
	if got, err := sv.GetConfig(ctx, acct, "cfg"); err != nil || !cmp.Equal(got, cfg) {
		t.Errorf("GetConfig = %+v, %v", got, err)
	}
	if err := sv.Update(ctx, func(tx serving.Tx) error { return tx.InsertModel(ctx, model) }); !errs.Is(err, errs.Conflict) {
		t.Errorf("a second model Abalone: %v, want Conflict", err)
	}
	if _, err := sv.GetModel(ctx, "222222222222", "abalone"); !errs.Is(err, errs.NotFound) {
		t.Errorf("another account's GetModel: %v", err)
	}

	mkEndpoint := func(name string, at time.Time) serving.Endpoint {
		return serving.Endpoint{Account: acct, Name: name, ARN: "arn:aws:sagemaker:us-east-1:" + acct + ":endpoint/" + name,
			ConfigName: "cfg", Status: serving.Creating, CreatedAt: at, ModifiedAt: at, Deployment: 1}
	}
	insert := func(e serving.Endpoint) error {
		return sv.Update(ctx, func(tx serving.Tx) error {
			if err := tx.InsertEndpoint(ctx, e); err != nil {
				return err
			}
			if err := tx.AppendEvent(ctx, events.Event{ID: randid.UUID(), Account: acct, DetailType: serving.EventDetailType, Time: at(e)}); err != nil {
				return err
			}
			return tx.Enqueue(ctx, serving.WorkKind, e.ARN, e.CreatedAt)
		})
	}
	a := mkEndpoint("a", t0)
	if err := insert(a); err != nil {
		t.Fatal(err)
	}
	if err := insert(mkEndpoint("b", t0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Work().Get(ctx, serving.WorkKind, a.ARN); err != nil {
		t.Errorf("the endpoint's work item: %v", err)
	}
	if evs, err := st.Events().EventsAfter(ctx, 0, 100); err != nil || len(evs) != 2 {
		t.Errorf("events: %d, %v", len(evs), err)
	}
	if arns, err := sv.EndpointARNs(ctx); err != nil || len(arns) != 2 {
		t.Errorf("EndpointARNs = %v, %v", arns, err)
	}

	leases, err := st.Work().Claim(ctx, serving.WorkKind, "me", t0.Add(time.Hour), time.Minute, 10)
	if err != nil || len(leases) != 2 {
		t.Fatalf("Claim = %v, %v", leases, err)
	}
	var fence reconcile.Fence
	for _, l := range leases {
		if l.Key == a.ARN {
			fence = l.Fence()
		}
	}
	change := func(f reconcile.Fence, s serving.Status) error {
		return sv.Update(ctx, func(tx serving.Tx) error {
			if err := tx.CheckFence(ctx, f); err != nil {
				return err
			}
			e, err := tx.LockEndpoint(ctx, acct, "A")
			if err != nil {
				return err
			}
			e.Status, e.ModifiedAt = s, t0.Add(2*time.Hour)
			return tx.UpdateEndpoint(ctx, e)
		})
	}
	if err := change(fence, serving.InService); err != nil {
		t.Fatal(err)
	}
	stale := fence
	stale.Token--
	if err := change(stale, serving.Failed); !errs.Is(err, errs.Conflict) {
		t.Errorf("a change under a stale fence: %v, want Conflict", err)
	}
	if got, _ := sv.GetEndpoint(ctx, acct, "a"); got.Status != serving.InService {
		t.Errorf("status %s after the fenced changes", got.Status)
	}

	list := func(q serving.Query) []string {
		t.Helper()
		es, err := sv.ListEndpoints(ctx, acct, q)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range es {
			names = append(names, e.Name)
		}
		return names
	}
	for _, c := range []struct {
		q    serving.Query
		want []string
	}{
		{serving.Query{}, []string{"a", "b"}},
		{serving.Query{Descending: true}, []string{"b", "a"}},
		{serving.Query{Status: serving.InService}, []string{"a"}},
		{serving.Query{NameContains: "B"}, []string{"b"}},
		{serving.Query{CreatedAfter: t0.Add(time.Second)}, []string{"b"}},
		{serving.Query{ModifiedAfter: t0.Add(time.Hour)}, []string{"a"}},
		{serving.Query{SortBy: "Status"}, []string{"b", "a"}},
		{serving.Query{Limit: 1, Offset: 1}, []string{"b"}},
	} {
		if got := list(c.q); !cmp.Equal(got, c.want) {
			t.Errorf("ListEndpoints(%+v) = %v, want %v", c.q, got, c.want)
		}
	}
	if ms, err := sv.ListModels(ctx, acct, serving.Query{}); err != nil || len(ms) != 1 {
		t.Errorf("ListModels = %v, %v", ms, err)
	}
	if cs, err := sv.ListConfigs(ctx, "222222222222", serving.Query{}); err != nil || len(cs) != 0 {
		t.Errorf("another account's ListConfigs = %v, %v", cs, err)
	}

	for _, del := range []func(tx serving.Tx) error{
		func(tx serving.Tx) error { return tx.DeleteEndpoint(ctx, acct, "B") },
		func(tx serving.Tx) error { return tx.DeleteModel(ctx, acct, "abalone") },
		func(tx serving.Tx) error { return tx.DeleteConfig(ctx, acct, "cfg") },
	} {
		if err := sv.Update(ctx, del); err != nil {
			t.Errorf("delete: %v", err)
		}
		if err := sv.Update(ctx, del); !errs.Is(err, errs.NotFound) {
			t.Errorf("a second delete: %v, want NotFound", err)
		}
	}

	// Concurrent creations of one name: exactly one wins.
	var wg sync.WaitGroup
	wins := make(chan bool, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := insert(mkEndpoint("race", t0))
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
		t.Errorf("%d concurrent creations of one endpoint succeeded, want 1", n)
	}
}

func at(e serving.Endpoint) time.Time { return e.ModifiedAt }
