package storetest

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/delivery"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/store"
)

// testDelivery: a deploy pipeline's name is unique in its account; an execution's row, its
// events and its work item commit together or not at all; executions are numbered per
// pipeline without gaps or duplicates even when started concurrently; the active ones are
// listed for the engine and its waiters; a change under a lost lease's fence is refused.
func testDelivery(t *testing.T, st *store.Store) {
	ctx := context.Background()
	dv := st.Delivery()
	acct := "111111111111"
	p := delivery.Pipeline{Account: acct, Region: "us-east-1", Name: "deploy", ARN: "arn:aws:codepipeline:us-east-1:" + acct + ":deploy",
		RoleARN: "arn:aws:iam::" + acct + ":role/r", ArtifactStore: delivery.ArtifactStore{Type: "S3", Location: "b"},
		Stages: []delivery.Stage{{Name: "Source", Actions: []delivery.Action{{Name: "S", Category: "Source", Provider: "S3", RunOrder: 1,
			Configuration: map[string]string{"S3Bucket": "b", "S3ObjectKey": "k"}, OutputArtifacts: []string{"src"}}}},
			{Name: "Approve", Actions: []delivery.Action{{Name: "A", Category: "Approval", Provider: "Manual", RunOrder: 1}}}},
		Version: 1, ExecutionMode: delivery.ModeSuperseded, CreatedAt: t0, UpdatedAt: t0}
	if err := dv.Update(ctx, func(tx delivery.Tx) error { return tx.InsertPipeline(ctx, p) }); err != nil {
		t.Fatal(err)
	}
	if got, err := dv.GetPipeline(ctx, acct, "deploy"); err != nil || !cmp.Equal(got, p) {
		t.Errorf("GetPipeline = %+v, %v; want %+v", got, err, p)
	}
	if _, err := dv.GetPipeline(ctx, "222222222222", "deploy"); !errs.Is(err, errs.NotFound) {
		t.Errorf("another account's GetPipeline: %v, want NotFound", err)
	}
	if err := dv.Update(ctx, func(tx delivery.Tx) error { return tx.InsertPipeline(ctx, p) }); !errs.Is(err, errs.Conflict) {
		t.Errorf("a second pipeline deploy: %v, want Conflict", err)
	}

	start := func(id, token string, failAfter bool) error {
		return dv.Update(ctx, func(tx delivery.Tx) error {
			if _, err := tx.LockPipeline(ctx, acct, "deploy"); err != nil {
				return err
			}
			seq, err := tx.NextSeq(ctx, acct, "deploy")
			if err != nil {
				return err
			}
			e := delivery.Execution{Account: acct, Region: "us-east-1", ID: id, PipelineName: "deploy", Seq: seq, Pipeline: p,
				Status: delivery.ExecInProgress, Waiting: true, Stages: []delivery.StageRun{{Name: "Source"}, {Name: "Approve"}},
				Artifacts: map[string]delivery.Artifact{}, ClientToken: token, StartedAt: t0, UpdatedAt: t0}
			if err := tx.InsertExecution(ctx, e); err != nil {
				return err
			}
			if err := tx.AppendEvent(ctx, events.Event{ID: "ev-" + id, Account: acct, Region: "us-east-1", Source: delivery.EventSource,
				DetailType: delivery.PipelineStateChange, Time: t0, Detail: json.RawMessage(`{"state":"STARTED"}`)}); err != nil {
				return err
			}
			if err := tx.Enqueue(ctx, delivery.WorkKind, delivery.WorkKey(acct, id), t0); err != nil {
				return err
			}
			if failAfter {
				return errs.E(errs.Invalid, "refused")
			}
			return nil
		})
	}
	if err := start("refused", "", true); !errs.Is(err, errs.Invalid) {
		t.Fatalf("the refused start: %v", err)
	}
	if _, err := dv.GetExecution(ctx, acct, "refused"); !errs.Is(err, errs.NotFound) {
		t.Errorf("a rolled back execution exists: %v", err)
	}
	if evs, _ := st.Events().EventsAfter(ctx, 0, 100); len(evs) != 0 {
		t.Errorf("a rolled back execution left %d events", len(evs))
	}

	// Concurrent starts take distinct, consecutive sequence numbers.
	ids := []string{"e1", "e2", "e3", "e4", "e5", "e6"}
	var wg sync.WaitGroup
	errc := make(chan error, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := ""
			if i == 0 {
				tok = "tok-1"
			}
			errc <- start(id, tok, false)
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	list, err := dv.ListExecutions(ctx, acct, "deploy")
	if err != nil || len(list) != len(ids) {
		t.Fatalf("ListExecutions = %d, %v", len(list), err)
	}
	for i, e := range list {
		if want := int64(len(ids) - i); e.Seq != want {
			t.Errorf("execution %d has seq %d, want %d (newest first, no gaps)", i, e.Seq, want)
		}
	}
	if evs, _ := st.Events().EventsAfter(ctx, 0, 100); len(evs) != len(ids) {
		t.Errorf("%d events for %d executions", len(evs), len(ids))
	}
	keys, err := dv.ActiveExecutions(ctx)
	if err != nil || len(keys) != len(ids) {
		t.Errorf("ActiveExecutions = %v, %v", keys, err)
	}
	err = dv.Update(ctx, func(tx delivery.Tx) error {
		got, err := tx.ExecutionByToken(ctx, acct, "deploy", "tok-1")
		if err != nil || got.ID != "e1" {
			t.Errorf("ExecutionByToken = %v, %v", got.ID, err)
		}
		if _, err := tx.ExecutionByToken(ctx, acct, "deploy", "other"); !errs.Is(err, errs.NotFound) {
			t.Errorf("an unknown token: %v, want NotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Fenced changes; ended executions leave the active lists.
	leases, err := st.Work().Claim(ctx, delivery.WorkKind, "me", t0.Add(time.Hour), time.Minute, 1)
	if err != nil || len(leases) != 1 {
		t.Fatalf("Claim = %v, %v", leases, err)
	}
	_, id, _ := delivery.ParseWorkKey(leases[0].Key)
	change := func(f reconcile.Fence, s delivery.ExecStatus) error {
		return dv.Update(ctx, func(tx delivery.Tx) error {
			if err := tx.CheckFence(ctx, f); err != nil {
				return err
			}
			cur, err := tx.LockExecution(ctx, acct, id)
			if err != nil {
				return err
			}
			cur.Status = s
			return tx.UpdateExecution(ctx, cur)
		})
	}
	stale := leases[0].Fence()
	stale.Token--
	if err := change(stale, delivery.ExecSucceeded); !errs.Is(err, errs.Conflict) {
		t.Errorf("a change under a stale fence: %v, want Conflict", err)
	}
	if err := change(leases[0].Fence(), delivery.ExecSucceeded); err != nil {
		t.Fatal(err)
	}
	if got, _ := dv.GetExecution(ctx, acct, id); got.Status != delivery.ExecSucceeded {
		t.Errorf("status after the fenced change = %s", got.Status)
	}
	err = dv.Update(ctx, func(tx delivery.Tx) error {
		active, err := tx.ActiveExecutionsOf(ctx, acct, "deploy")
		if err != nil || len(active) != len(ids)-1 {
			t.Errorf("ActiveExecutionsOf = %d, %v; want %d", len(active), err, len(ids)-1)
		}
		for i := 1; i < len(active); i++ {
			if active[i-1].Seq >= active[i].Seq {
				t.Errorf("ActiveExecutionsOf is not oldest first")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Update and delete; executions outlive their pipeline.
	p2 := p
	p2.Version = 2
	if err := dv.Update(ctx, func(tx delivery.Tx) error { return tx.UpdatePipeline(ctx, p2) }); err != nil {
		t.Fatal(err)
	}
	if got, _ := dv.GetPipeline(ctx, acct, "deploy"); got.Version != 2 {
		t.Errorf("version after update = %d", got.Version)
	}
	if err := dv.Update(ctx, func(tx delivery.Tx) error { return tx.DeletePipeline(ctx, acct, "deploy") }); err != nil {
		t.Fatal(err)
	}
	if err := dv.Update(ctx, func(tx delivery.Tx) error { return tx.DeletePipeline(ctx, acct, "deploy") }); !errs.Is(err, errs.NotFound) {
		t.Errorf("deleting a deleted pipeline: %v, want NotFound", err)
	}
	if all, _ := dv.ListPipelines(ctx, acct); len(all) != 0 {
		t.Errorf("ListPipelines after delete = %d", len(all))
	}
	if _, err := dv.GetExecution(ctx, acct, "e1"); err != nil {
		t.Errorf("an execution of a deleted pipeline: %v", err)
	}
}
