package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/stacks"
	"github.com/slipway-ml/slipway/internal/stacksets"
	"github.com/slipway-ml/slipway/internal/store"
)

// testStackSets: a stack set is found by ARN, StackSetId or the name of a live set, in its
// account only; a name is unique among live sets and free again once its set is deleted; its
// instances and operations read back exactly; the sets with work (an operation queued or
// running, or automatic deployment on) are listed for a restarted server; a change under a lost
// lease's fence is refused.
func testStackSets(t *testing.T, st *store.Store) {
	ctx := context.Background()
	sv := st.StackSets()
	acct := "111111111111"
	mk := func(name, uuid string) stacksets.StackSet {
		id := name + ":" + uuid
		return stacksets.StackSet{Account: acct, Region: "us-east-1", Name: name, ID: id,
			ARN: "arn:aws:cloudformation:us-east-1:" + acct + ":stackset/" + id, Status: "ACTIVE", Template: "Resources: {}",
			Parameters: []stacks.ParameterInput{{Key: "P", Value: "v"}}, PermissionModel: stacksets.SelfManaged,
			AdminRoleARN: "arn:aws:iam::" + acct + ":role/admin", ExecutionRoleName: "exec", CreatedAt: t0, UpdatedAt: t0,
			Instances: []stacksets.Instance{{Account: "222222222222", Region: "us-east-1", StackName: "StackSet-x", Status: "OUTDATED", Detailed: "RUNNING"}},
			Operations: []stacksets.Operation{{ID: "op1", Action: stacksets.ActionCreate, Status: stacksets.OpQueued, CreatedAt: t0,
				Prefs:   stacksets.Preferences{MaxConcurrentCount: 2, HasMaxCount: true},
				Results: []stacksets.Result{{Account: "222222222222", Region: "us-east-1", Status: stacksets.ResPending}}}}}
	}
	insert := func(s stacksets.StackSet) error {
		return sv.Update(ctx, func(tx stacksets.Tx) error {
			if err := tx.InsertStackSet(ctx, s); err != nil {
				return err
			}
			return tx.Enqueue(ctx, stacksets.WorkKind, s.ARN, s.CreatedAt)
		})
	}
	a := mk("web", "1")
	if err := insert(a); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"web", a.ID, a.ARN} {
		got, err := sv.GetStackSet(ctx, acct, key)
		if err != nil || !cmp.Equal(got, a) {
			t.Errorf("GetStackSet(%s) = %+v, %v; want %+v", key, got, err, a)
		}
	}
	if _, err := sv.GetStackSet(ctx, "222222222222", "web"); !errs.Is(err, errs.NotFound) {
		t.Errorf("another account's GetStackSet: %v, want NotFound", err)
	}
	if err := insert(mk("web", "2")); !errs.Is(err, errs.Conflict) {
		t.Errorf("a second live set web: %v, want Conflict", err)
	}
	if arns, err := sv.ActiveStackSetARNs(ctx); err != nil || !cmp.Equal(arns, []string{a.ARN}) {
		t.Errorf("ActiveStackSetARNs = %v, %v", arns, err)
	}
	leases, err := st.Work().Claim(ctx, stacksets.WorkKind, "me", t0.Add(time.Hour), time.Minute, 10)
	if err != nil || len(leases) != 1 {
		t.Fatalf("Claim = %v, %v", leases, err)
	}
	change := func(f reconcile.Fence, fn func(*stacksets.StackSet)) error {
		return sv.Update(ctx, func(tx stacksets.Tx) error {
			if err := tx.CheckFence(ctx, f); err != nil {
				return err
			}
			cur, err := tx.LockStackSet(ctx, a.ARN)
			if err != nil {
				return err
			}
			fn(&cur)
			return tx.UpdateStackSet(ctx, cur)
		})
	}
	stale := leases[0].Fence()
	stale.Token--
	if err := change(stale, func(s *stacksets.StackSet) { s.Operations[0].Status = stacksets.OpSucceeded }); !errs.Is(err, errs.Conflict) {
		t.Errorf("a change under a stale fence: %v, want Conflict", err)
	}
	// The operation ends: no more work (automatic deployment is off).
	if err := change(leases[0].Fence(), func(s *stacksets.StackSet) { s.Operations[0].Status = stacksets.OpSucceeded }); err != nil {
		t.Fatal(err)
	}
	if arns, _ := sv.ActiveStackSetARNs(ctx); len(arns) != 0 {
		t.Errorf("ActiveStackSetARNs after the operation = %v", arns)
	}
	if err := change(leases[0].Fence(), func(s *stacksets.StackSet) { s.Status = "DELETED" }); err != nil {
		t.Fatal(err)
	}
	if _, err := sv.GetStackSet(ctx, acct, "web"); !errs.Is(err, errs.NotFound) {
		t.Errorf("a deleted set by name: %v, want NotFound", err)
	}
	b := mk("web", "3")
	b.PermissionModel, b.AutoDeployment.Enabled, b.Operations = stacksets.ServiceManaged, true, nil
	b.CreatedAt = t0.Add(time.Minute)
	if err := insert(b); err != nil {
		t.Fatalf("a new set web after the old one was deleted: %v", err)
	}
	if arns, _ := sv.ActiveStackSetARNs(ctx); !cmp.Equal(arns, []string{b.ARN}) {
		t.Errorf("a set with automatic deployment is active: %v", arns)
	}
	list, err := sv.ListStackSets(ctx, acct)
	if err != nil || len(list) != 2 || list[0].ARN != a.ARN || list[1].ARN != b.ARN || list[0].Status != "DELETED" {
		t.Errorf("ListStackSets = %d sets, %v", len(list), err)
	}
	if err := sv.Update(ctx, func(tx stacksets.Tx) error { _, err := tx.LockStackSet(ctx, "arn:nope"); return err }); !errs.Is(err, errs.NotFound) {
		t.Errorf("LockStackSet of a missing set: %v", err)
	}
}
