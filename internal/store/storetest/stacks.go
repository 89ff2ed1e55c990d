package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/stacks"
	"github.com/slipway-ml/slipway/internal/store"
)

// testStacks: a stack is found by ARN (any status) or by the name of a stack not deleted; a
// name is unique among an account's live stacks and free again once its stack is deleted; a
// stack's row, its events and its work item commit together; events are numbered in order
// even when written concurrently; a change under a lost lease's fence is refused.
func testStacks(t *testing.T, st *store.Store) {
	ctx := context.Background()
	sv := st.Stacks()
	acct := "111111111111"
	mk := func(name, id string, at time.Time) stacks.Stack {
		return stacks.Stack{Account: acct, Region: "us-east-1", Name: name, ID: "arn:aws:cloudformation:us-east-1:" + acct + ":stack/" + name + "/" + id,
			Status: stacks.CreateInProgress, Template: "Resources: {A: {Type: X}}", Parameters: []stacks.Parameter{{Key: "P", Value: "v", NoEcho: true}},
			Resources: map[string]*stacks.Resource{"A": {LogicalID: "A", Type: "X", Status: stacks.ResCreateInProgress, Properties: map[string]any{"n": 1.0}}},
			Tags:      map[string]string{"k": "v"}, Op: 1, CreatedAt: at, UpdatedAt: at}
	}
	insert := func(s stacks.Stack) error {
		return sv.Update(ctx, func(tx stacks.Tx) error {
			if err := tx.InsertStack(ctx, s); err != nil {
				return err
			}
			if err := tx.AppendStackEvent(ctx, stacks.Event{StackID: s.ID, EventID: "e-" + s.Name, Status: string(s.Status), Time: s.CreatedAt}); err != nil {
				return err
			}
			return tx.Enqueue(ctx, stacks.WorkKind, s.ID, s.CreatedAt)
		})
	}
	a := mk("web", "1", t0)
	if err := insert(a); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"web", a.ID} {
		got, err := sv.GetStack(ctx, acct, key)
		if err != nil || !cmp.Equal(got, a) {
			t.Errorf("GetStack(%s) = %+v, %v; want %+v", key, got, err, a)
		}
	}
	if _, err := sv.GetStack(ctx, "222222222222", a.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("another account's GetStack: %v, want NotFound", err)
	}
	if err := insert(mk("web", "2", t0)); !errs.Is(err, errs.Conflict) {
		t.Errorf("a second live stack web: %v, want Conflict", err)
	}
	if evs, _ := sv.StackEvents(ctx, mk("web", "2", t0).ID); len(evs) != 0 {
		t.Errorf("the refused stack left %d events", len(evs))
	}
	if _, err := st.Work().Get(ctx, stacks.WorkKind, a.ID); err != nil {
		t.Errorf("the stack's work item: %v", err)
	}
	if ids, err := sv.ActiveStackIDs(ctx); err != nil || !cmp.Equal(ids, []string{a.ID}) {
		t.Errorf("ActiveStackIDs = %v, %v", ids, err)
	}

	// Events written concurrently are numbered without gaps, newest first.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sv.Update(ctx, func(tx stacks.Tx) error {
				return tx.AppendStackEvent(ctx, stacks.Event{StackID: a.ID, EventID: "x", Time: t0})
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	evs, err := sv.StackEvents(ctx, a.ID)
	if err != nil || len(evs) != 9 || evs[8].EventID != "e-web" {
		t.Errorf("StackEvents: %d events, %v", len(evs), err)
	}

	// Fenced changes.
	leases, err := st.Work().Claim(ctx, stacks.WorkKind, "me", t0.Add(time.Hour), time.Minute, 10)
	if err != nil || len(leases) != 1 {
		t.Fatalf("Claim = %v, %v", leases, err)
	}
	change := func(f reconcile.Fence, s stacks.Status) error {
		return sv.Update(ctx, func(tx stacks.Tx) error {
			if err := tx.CheckFence(ctx, f); err != nil {
				return err
			}
			cur, err := tx.LockStack(ctx, a.ID)
			if err != nil {
				return err
			}
			cur.Status = s
			return tx.UpdateStack(ctx, cur)
		})
	}
	stale := leases[0].Fence()
	stale.Token--
	if err := change(stale, stacks.CreateComplete); !errs.Is(err, errs.Conflict) {
		t.Errorf("a change under a stale fence: %v, want Conflict", err)
	}
	if err := change(leases[0].Fence(), stacks.DeleteComplete); err != nil {
		t.Fatal(err)
	}
	if _, err := sv.GetStack(ctx, acct, "web"); !errs.Is(err, errs.NotFound) {
		t.Errorf("a deleted stack by name: %v, want NotFound", err)
	}
	if got, err := sv.GetStack(ctx, acct, a.ID); err != nil || got.Status != stacks.DeleteComplete {
		t.Errorf("a deleted stack by ARN: %v, %v", got.Status, err)
	}
	if ids, _ := sv.ActiveStackIDs(ctx); len(ids) != 0 {
		t.Errorf("ActiveStackIDs after the delete = %v", ids)
	}
	// The name is free again.
	b := mk("web", "3", t0.Add(time.Minute))
	if err := insert(b); err != nil {
		t.Fatalf("a new stack web after the old one was deleted: %v", err)
	}
	list, err := sv.ListStacks(ctx, acct)
	if err != nil || len(list) != 2 || list[0].ID != b.ID || list[1].ID != a.ID {
		t.Errorf("ListStacks = %d stacks, %v", len(list), err)
	}
	if err := sv.Update(ctx, func(tx stacks.Tx) error { _, err := tx.LockStack(ctx, "arn:nope"); return err }); !errs.Is(err, errs.NotFound) {
		t.Errorf("LockStack of a missing stack: %v", err)
	}
}
