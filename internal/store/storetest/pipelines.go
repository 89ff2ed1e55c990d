package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/pipeline"
	"github.com/slipway-ml/slipway/internal/randid"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/store"
)

// testPipelines: pipelines are unique per account and name without regard to case; versions
// and executions keep their definitions (an execution's survives its pipeline's deletion); a
// client token starts one execution per pipeline, even under concurrent inserts; an
// execution's change, its event and its work item commit together or not at all; a change
// under a lost lease's fence is refused; steps are replaced in place and listed in order.
func testPipelines(t *testing.T, st *store.Store) {
	ctx := context.Background()
	ps := st.Pipelines()
	acct := "111111111111"
	parn := "arn:aws:sagemaker:us-east-1:" + acct + ":pipeline/abalone"
	p := pipeline.Pipeline{Account: acct, Name: "Abalone", ARN: parn, RoleARN: "arn:aws:iam::" + acct + ":role/r", Version: 1,
		MaxParallel: 2, Tags: map[string]string{"t": "v"}, CreatedAt: t0, ModifiedAt: t0}
	v1 := pipeline.Version{PipelineARN: parn, Version: 1, RoleARN: p.RoleARN, Definition: `{"Version":"2020-12-01"}`, CreatedAt: t0}
	if err := ps.Update(ctx, func(tx pipeline.Tx) error {
		if err := tx.InsertPipeline(ctx, p); err != nil {
			return err
		}
		return tx.InsertVersion(ctx, v1)
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := ps.GetPipeline(ctx, acct, "ABALONE"); err != nil || !cmp.Equal(got, p) {
		t.Errorf("GetPipeline = %+v, %v; want %+v", got, err, p)
	}
	dup := p
	dup.Name = "abalone"
	if err := ps.Update(ctx, func(tx pipeline.Tx) error { return tx.InsertPipeline(ctx, dup) }); !errs.Is(err, errs.Conflict) {
		t.Errorf("a second pipeline abalone: %v, want Conflict", err)
	}
	if _, err := ps.GetPipeline(ctx, "222222222222", "abalone"); !errs.Is(err, errs.NotFound) {
		t.Errorf("another account's GetPipeline: %v, want NotFound", err)
	}
	// An update: a new version, the pipeline's row moves on.
	if err := ps.Update(ctx, func(tx pipeline.Tx) error {
		cur, err := tx.LockPipeline(ctx, acct, "abalone")
		if err != nil {
			return err
		}
		cur.Version, cur.ModifiedAt = 2, t0.Add(time.Hour)
		if err := tx.UpdatePipeline(ctx, cur); err != nil {
			return err
		}
		return tx.InsertVersion(ctx, pipeline.Version{PipelineARN: parn, Version: 2, Definition: `{"v":2}`, CreatedAt: t0.Add(time.Hour)})
	}); err != nil {
		t.Fatal(err)
	}
	if err := ps.Update(ctx, func(tx pipeline.Tx) error { return tx.InsertVersion(ctx, v1) }); !errs.Is(err, errs.Conflict) {
		t.Errorf("version 1 again: %v, want Conflict", err)
	}
	if got, err := ps.GetVersion(ctx, parn, 1); err != nil || !cmp.Equal(got, v1) {
		t.Errorf("GetVersion(1) = %+v, %v", got, err)
	}
	if vs, err := ps.ListVersions(ctx, parn, pipeline.Query{Descending: true}); err != nil || len(vs) != 2 || vs[0].Version != 2 {
		t.Errorf("ListVersions = %+v, %v; want 2 then 1", vs, err)
	}
	if got, _ := ps.GetPipeline(ctx, acct, "abalone"); got.Version != 2 {
		t.Errorf("the pipeline's version after the update = %d, want 2", got.Version)
	}
	if err := ps.Update(ctx, func(tx pipeline.Tx) error {
		return tx.InsertPipeline(ctx, pipeline.Pipeline{Account: acct, Name: "b", ARN: parn + "-b", CreatedAt: t0.Add(time.Minute)})
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		q    pipeline.Query
		want []string
	}{
		{pipeline.Query{}, []string{"Abalone", "b"}},
		{pipeline.Query{Descending: true}, []string{"b", "Abalone"}},
		{pipeline.Query{NamePrefix: "ABA"}, []string{"Abalone"}},
		{pipeline.Query{CreatedAfter: t0.Add(time.Second)}, []string{"b"}},
		{pipeline.Query{SortBy: "Name", Descending: true, Limit: 1}, []string{"b"}},
		{pipeline.Query{Limit: 1, Offset: 1}, []string{"b"}},
	} {
		got, err := ps.ListPipelines(ctx, acct, c.q)
		var names []string
		for _, x := range got {
			names = append(names, x.Name)
		}
		if err != nil || !cmp.Equal(names, c.want) {
			t.Errorf("ListPipelines(%+v) = %v, %v; want %v", c.q, names, err, c.want)
		}
	}

	// Executions: the row, its event and its work item commit together.
	mkExec := func(id, token string, at time.Time) pipeline.Execution {
		return pipeline.Execution{Account: acct, PipelineName: "Abalone", PipelineARN: parn, ARN: parn + "/execution/" + id, ID: id,
			PipelineVersion: 1, Status: pipeline.Executing, ClientToken: token, Parameters: []pipeline.Parameter{{Name: "N", Value: "1"}},
			CreatedAt: at, ModifiedAt: at}
	}
	start := func(e pipeline.Execution) error {
		return ps.Update(ctx, func(tx pipeline.Tx) error {
			if e.ClientToken != "" {
				if _, err := tx.ExecutionByToken(ctx, e.PipelineARN, e.ClientToken); err == nil {
					return errs.E(errs.Conflict, "token used")
				} else if !errs.Is(err, errs.NotFound) {
					return err
				}
			}
			if err := tx.InsertExecution(ctx, e, `{"def":"`+e.ID+`"}`); err != nil {
				return err
			}
			if err := tx.AppendEvent(ctx, events.Event{ID: randid.UUID(), Account: acct, DetailType: "x", Time: e.CreatedAt}); err != nil {
				return err
			}
			return tx.Enqueue(ctx, "test-pipeline-executions", e.ARN, e.CreatedAt)
		})
	}
	e1 := mkExec("e1", "tok", t0)
	if err := start(e1); err != nil {
		t.Fatal(err)
	}
	if got, err := ps.GetExecution(ctx, e1.ARN); err != nil || !cmp.Equal(got, e1) {
		t.Errorf("GetExecution = %+v, %v; want %+v", got, err, e1)
	}
	if def, err := ps.ExecutionDefinition(ctx, e1.ARN); err != nil || def != `{"def":"e1"}` {
		t.Errorf("ExecutionDefinition = %q, %v", def, err)
	}
	if _, err := st.Work().Get(ctx, "test-pipeline-executions", e1.ARN); err != nil {
		t.Errorf("the execution's work item: %v", err)
	}
	// The same token again, even raced past the lookup, inserts nothing.
	e1b := mkExec("e1b", "tok", t0)
	if err := ps.Update(ctx, func(tx pipeline.Tx) error { return tx.InsertExecution(ctx, e1b, "{}") }); err == nil {
		t.Errorf("a second execution with token tok was inserted")
	}
	if err := ps.Update(ctx, func(tx pipeline.Tx) error {
		x, err := tx.ExecutionByToken(ctx, parn, "tok")
		if err == nil && x.ARN != e1.ARN {
			return errors.New("wrong execution " + x.ARN)
		}
		return err
	}); err != nil {
		t.Errorf("ExecutionByToken: %v", err)
	}
	// A failing transaction leaves nothing: no execution, no event.
	before, _ := st.Events().EventsAfter(ctx, 0, 1000)
	boom := errors.New("boom")
	if err := ps.Update(ctx, func(tx pipeline.Tx) error {
		if err := tx.InsertExecution(ctx, mkExec("gone", "", t0), "{}"); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, events.Event{ID: randid.UUID(), Account: acct, DetailType: "x", Time: t0}); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("the failing transaction: %v", err)
	}
	if _, err := ps.GetExecution(ctx, parn+"/execution/gone"); !errs.Is(err, errs.NotFound) {
		t.Errorf("an execution of a rolled back transaction: %v", err)
	}
	if after, _ := st.Events().EventsAfter(ctx, 0, 1000); len(after) != len(before) {
		t.Errorf("events %d → %d after a rolled back transaction", len(before), len(after))
	}
	if err := start(mkExec("e2", "", t0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if err := start(mkExec("e3", "", t0.Add(2*time.Minute))); err != nil {
		t.Fatal(err)
	}
	if xs, err := ps.ListExecutions(ctx, parn, pipeline.Query{Descending: true, Limit: 2}); err != nil || len(xs) != 2 || xs[0].ID != "e3" || xs[1].ID != "e2" {
		t.Errorf("ListExecutions = %+v, %v; want e3, e2", xs, err)
	}
	if xs, err := ps.ListExecutions(ctx, parn, pipeline.Query{CreatedBefore: t0.Add(30 * time.Second)}); err != nil || len(xs) != 1 || xs[0].ID != "e1" {
		t.Errorf("ListExecutions(before) = %+v, %v; want e1", xs, err)
	}

	// Fenced changes.
	leases, err := st.Work().Claim(ctx, "test-pipeline-executions", "me", t0.Add(time.Hour), time.Minute, 10)
	if err != nil || len(leases) != 3 {
		t.Fatalf("Claim = %v, %v", leases, err)
	}
	var fence reconcile.Fence
	for _, l := range leases {
		if l.Key == e1.ARN {
			fence = l.Fence()
		}
	}
	change := func(f reconcile.Fence, s pipeline.Status) error {
		return ps.Update(ctx, func(tx pipeline.Tx) error {
			if err := tx.CheckFence(ctx, f); err != nil {
				return err
			}
			e, err := tx.LockExecution(ctx, e1.ARN)
			if err != nil {
				return err
			}
			e.Status, e.ModifiedAt = s, t0.Add(2*time.Hour)
			return tx.UpdateExecution(ctx, e)
		})
	}
	if err := change(fence, pipeline.Succeeded); err != nil {
		t.Fatal(err)
	}
	stale := fence
	stale.Token--
	if err := change(stale, pipeline.Failed); !errs.Is(err, errs.Conflict) {
		t.Errorf("a change under a stale fence: %v, want Conflict", err)
	}
	if got, _ := ps.GetExecution(ctx, e1.ARN); got.Status != pipeline.Succeeded {
		t.Errorf("status %s after the fenced changes", got.Status)
	}
	if act, err := ps.ActiveExecutions(ctx); err != nil || len(act) != 2 {
		t.Errorf("ActiveExecutions = %v, %v; want e2 and e3", act, err)
	}
	if err := ps.Update(ctx, func(tx pipeline.Tx) error {
		arns, err := tx.ExecutionsOf(ctx, parn)
		if err == nil && len(arns) != 2 {
			err = errors.New("ExecutionsOf: " + jsonOf(arns))
		}
		return err
	}); err != nil {
		t.Error(err)
	}
	if err := ps.Update(ctx, func(tx pipeline.Tx) error {
		return tx.UpdateExecution(ctx, mkExec("missing", "", t0))
	}); !errs.Is(err, errs.NotFound) {
		t.Errorf("UpdateExecution of a missing execution: %v, want NotFound", err)
	}

	// Steps: replaced in place, listed by position.
	put := func(s pipeline.Step) {
		t.Helper()
		if err := ps.Update(ctx, func(tx pipeline.Tx) error { return tx.PutStep(ctx, s) }); err != nil {
			t.Fatal(err)
		}
	}
	train := pipeline.Step{ExecutionARN: e1.ARN, Name: "Train", Type: "Training", Status: pipeline.StepStarting, Attempt: 1, StartedAt: t0, Order: 1}
	put(pipeline.Step{ExecutionARN: e1.ARN, Name: "Prep", Type: "Processing", Status: pipeline.StepSucceeded, Attempt: 1, StartedAt: t0, Order: 0})
	put(train)
	train.Status, train.Metadata, train.EndedAt = pipeline.StepSucceeded, json.RawMessage(`{"TrainingJob":{"Arn":"arn:x"}}`), t0.Add(time.Minute)
	put(train)
	steps, err := ps.ListSteps(ctx, e1.ARN)
	if err != nil || len(steps) != 2 || steps[0].Name != "Prep" || !cmp.Equal(steps[1], train) {
		t.Errorf("ListSteps = %+v, %v; want Prep then %+v", steps, err, train)
	}
	if steps, _ := ps.ListSteps(ctx, parn+"/execution/e2"); len(steps) != 0 {
		t.Errorf("another execution's steps: %+v", steps)
	}

	// Callback steps are found by their token while their execution runs; a step that changes
	// its token is found by the new one only; an ended execution's steps are not found.
	setStatus := func(st pipeline.Status) {
		t.Helper()
		if err := ps.Update(ctx, func(tx pipeline.Tx) error {
			x, err := tx.LockExecution(ctx, e1.ARN)
			if err != nil {
				return err
			}
			x.Status = st
			return tx.UpdateExecution(ctx, x)
		}); err != nil {
			t.Fatal(err)
		}
	}
	setStatus(pipeline.Executing)
	cb := pipeline.Step{ExecutionARN: e1.ARN, Name: "Wait", Type: "Callback", Status: pipeline.StepStarting, Attempt: 1, StartedAt: t0, Order: 2}
	put(cb)
	if _, err := ps.StepByCallbackToken(ctx, ""); !errs.Is(err, errs.NotFound) {
		t.Errorf("StepByCallbackToken(\"\") = %v, want NotFound", err)
	}
	cb.Status, cb.Metadata = pipeline.StepExecuting, json.RawMessage(`{"Callback":{"CallbackToken":"Tok0000001","SqsQueueUrl":"q"}}`)
	put(cb)
	if got, err := ps.StepByCallbackToken(ctx, "Tok0000001"); err != nil || !cmp.Equal(got, cb) {
		t.Errorf("StepByCallbackToken = %+v, %v; want %+v", got, err, cb)
	}
	cb.Metadata = json.RawMessage(`{"Callback":{"CallbackToken":"Tok0000002"}}`)
	put(cb)
	if _, err := ps.StepByCallbackToken(ctx, "Tok0000001"); !errs.Is(err, errs.NotFound) {
		t.Errorf("the replaced token: %v, want NotFound", err)
	}
	if _, err := ps.StepByCallbackToken(ctx, "tok0000002"); !errs.Is(err, errs.NotFound) {
		t.Errorf("the token in another case: %v, want NotFound", err)
	}
	if got, err := ps.StepByCallbackToken(ctx, "Tok0000002"); err != nil || got.Name != "Wait" {
		t.Errorf("StepByCallbackToken(new token) = %+v, %v", got, err)
	}
	notCb := pipeline.Step{ExecutionARN: e1.ARN, Name: "Odd", Type: "Processing", Status: pipeline.StepExecuting, Attempt: 1, StartedAt: t0, Order: 3,
		Metadata: json.RawMessage(`{"Callback":{"CallbackToken":"Tok0000003"}}`)}
	put(notCb)
	if _, err := ps.StepByCallbackToken(ctx, "Tok0000003"); !errs.Is(err, errs.NotFound) {
		t.Errorf("a token in a step that is not a Callback step: %v, want NotFound", err)
	}
	setStatus(pipeline.Succeeded) // as it was, for what follows
	if _, err := ps.StepByCallbackToken(ctx, "Tok0000002"); !errs.Is(err, errs.NotFound) {
		t.Errorf("a step of an ended execution: %v, want NotFound", err)
	}

	// The step cache: the latest entry of a key, not one older than asked.
	for i, x := range []string{e1.ARN, parn + "/execution/e2"} {
		if err := ps.Update(ctx, func(tx pipeline.Tx) error {
			return tx.PutCacheEntry(ctx, parn, "k1", x, "Train", t0.Add(time.Duration(i)*time.Hour))
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ps.Update(ctx, func(tx pipeline.Tx) error { return tx.PutCacheEntry(ctx, parn, "k1", e1.ARN, "Train", t0) }); err != nil {
		t.Errorf("the same entry again: %v", err)
	}
	if x, step, err := ps.CacheHit(ctx, parn, "k1", t0); err != nil || x != parn+"/execution/e2" || step != "Train" {
		t.Errorf("CacheHit = %s %s %v; want e2's Train", x, step, err)
	}
	if _, _, err := ps.CacheHit(ctx, parn, "k1", t0.Add(2*time.Hour)); !errs.Is(err, errs.NotFound) {
		t.Errorf("CacheHit of expired entries: %v, want NotFound", err)
	}
	if _, _, err := ps.CacheHit(ctx, parn+"-b", "k1", t0); !errs.Is(err, errs.NotFound) {
		t.Errorf("CacheHit of another pipeline: %v, want NotFound", err)
	}

	// Deleting the pipeline deletes its versions; the executions and their definitions stay.
	del := func(tx pipeline.Tx) error { return tx.DeletePipeline(ctx, acct, "ABALONE") }
	if err := ps.Update(ctx, del); err != nil {
		t.Fatal(err)
	}
	if err := ps.Update(ctx, del); !errs.Is(err, errs.NotFound) {
		t.Errorf("a second delete: %v, want NotFound", err)
	}
	if _, err := ps.GetVersion(ctx, parn, 1); !errs.Is(err, errs.NotFound) {
		t.Errorf("a deleted pipeline's version: %v, want NotFound", err)
	}
	if def, err := ps.ExecutionDefinition(ctx, e1.ARN); err != nil || def == "" {
		t.Errorf("an execution of a deleted pipeline: %q, %v", def, err)
	}

	// Concurrent starts with one token: exactly one execution.
	var wg sync.WaitGroup
	wins := make(chan bool, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := start(mkExec("race"+string(rune('a'+i)), "race-token", t0))
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
		t.Errorf("%d concurrent starts with one client token succeeded, want 1", n)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
