package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/projects"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/store"
)

// testProjects: a project is found by name or ARN in its account only and reads back exactly;
// a name is unique in an account and free again once its project is deleted; the account's
// own templates read back with their seed code, unique by name per account; a change under a
// lost lease's fence is refused.
func testProjects(t *testing.T, st *store.Store) {
	ctx := context.Background()
	pv := st.Projects()
	acct := "111111111111"
	mk := func(name, id string) projects.Project {
		return projects.Project{Account: acct, Region: "us-east-1", Name: name, ID: id,
			ARN: "arn:aws:sagemaker:us-east-1:" + acct + ":project/" + name, Template: "t", Status: projects.Pending,
			Parameters: []projects.Parameter{{Key: "A", Value: "1"}}, Tags: map[string]string{"team": "x"},
			Actor:     identity.Caller{Kind: "user", Account: acct, ARN: "arn:aws:iam::" + acct + ":user/u"},
			CreatedBy: identity.Caller{Kind: "user", Account: acct}, StackName: "SC-" + acct + "-pp-" + id,
			CreatedAt: t0, ModifiedAt: t0, Op: 1, TemplateBody: "Resources: {}"}
	}
	insert := func(p projects.Project) error {
		return pv.Update(ctx, func(tx projects.Tx) error {
			if err := tx.InsertProject(ctx, p); err != nil {
				return err
			}
			return tx.Enqueue(ctx, projects.WorkKind, p.ARN, p.CreatedAt)
		})
	}
	a := mk("churn", "p-1")
	if err := insert(a); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"churn", a.ARN} {
		got, err := pv.GetProject(ctx, acct, key)
		if err != nil || !cmp.Equal(got, a) {
			t.Errorf("GetProject(%s) = %+v, %v; want %+v", key, got, err, a)
		}
	}
	if _, err := pv.GetProject(ctx, "222222222222", "churn"); !errs.Is(err, errs.NotFound) {
		t.Errorf("another account's GetProject: %v, want NotFound", err)
	}
	if err := insert(mk("churn", "p-2")); !errs.Is(err, errs.Conflict) {
		t.Errorf("a second project churn: %v, want Conflict", err)
	}
	b := mk("abalone", "p-3")
	b.CreatedAt = t0.Add(time.Second)
	if err := insert(b); err != nil {
		t.Fatal(err)
	}
	if got, err := pv.ListProjects(ctx, acct); err != nil || len(got) != 2 || got[0].Name != "churn" || got[1].Name != "abalone" {
		t.Errorf("ListProjects = %v, %v", got, err)
	}
	leases, err := st.Work().Claim(ctx, projects.WorkKind, "me", t0.Add(time.Hour), time.Minute, 10)
	if err != nil || len(leases) != 2 {
		t.Fatalf("Claim = %v, %v", leases, err)
	}
	change := func(f reconcile.Fence, fn func(*projects.Project)) error {
		return pv.Update(ctx, func(tx projects.Tx) error {
			if err := tx.CheckFence(ctx, f); err != nil {
				return err
			}
			cur, err := tx.LockProject(ctx, a.ARN)
			if err != nil {
				return err
			}
			fn(&cur)
			return tx.UpdateProject(ctx, cur)
		})
	}
	var fence reconcile.Fence
	for _, l := range leases {
		if l.Key == a.ARN {
			fence = l.Fence()
		}
	}
	if err := change(fence, func(p *projects.Project) { p.Status, p.StackID = projects.CreateInProgress, "arn:stack" }); err != nil {
		t.Fatal(err)
	}
	if got, _ := pv.GetProject(ctx, acct, "churn"); got.Status != projects.CreateInProgress || got.StackID != "arn:stack" {
		t.Errorf("after the change: %+v", got)
	}
	stale := fence
	stale.Token--
	if err := change(stale, func(p *projects.Project) { p.Status = projects.CreateFailed }); !errs.Is(err, errs.Conflict) {
		t.Errorf("a change under a stale fence: %v, want Conflict", err)
	}
	if err := pv.Update(ctx, func(tx projects.Tx) error { return tx.DeleteProject(ctx, a.ARN) }); err != nil {
		t.Fatal(err)
	}
	if _, err := pv.GetProject(ctx, acct, "churn"); !errs.Is(err, errs.NotFound) {
		t.Errorf("deleted project: %v", err)
	}
	if err := insert(mk("churn", "p-4")); err != nil {
		t.Errorf("the name of a deleted project is free again: %v", err)
	}

	tpl := projects.Template{Account: acct, Manifest: projects.Manifest{Name: "mine", Description: "d",
		SeedCode: &projects.SeedCode{BucketOutput: "B", Prefix: "seed"}}, Body: "Resources: {}",
		Seed: []projects.File{{Path: "a/b.txt", Content: []byte{0, 1, 2, 255}}}, CreatedAt: t0}
	addT := func(t projects.Template) error {
		return pv.Update(ctx, func(tx projects.Tx) error { return tx.InsertTemplate(ctx, t) })
	}
	if err := addT(tpl); err != nil {
		t.Fatal(err)
	}
	if got, err := pv.GetTemplate(ctx, acct, "mine"); err != nil || !cmp.Equal(got, tpl) {
		t.Errorf("GetTemplate = %+v, %v; want %+v", got, err, tpl)
	}
	if err := addT(tpl); !errs.Is(err, errs.Conflict) {
		t.Errorf("a second template mine: %v, want Conflict", err)
	}
	other := tpl
	other.Account = "222222222222"
	if err := addT(other); err != nil {
		t.Errorf("another account's template of the same name: %v", err)
	}
	if got, err := pv.ListTemplates(ctx, acct); err != nil || len(got) != 1 || got[0].Name() != "mine" {
		t.Errorf("ListTemplates = %v, %v", got, err)
	}
	if err := pv.Update(ctx, func(tx projects.Tx) error { return tx.DeleteTemplate(ctx, acct, "mine") }); err != nil {
		t.Fatal(err)
	}
	if err := pv.Update(ctx, func(tx projects.Tx) error { return tx.DeleteTemplate(ctx, acct, "mine") }); !errs.Is(err, errs.NotFound) {
		t.Errorf("deleting a deleted template: %v, want NotFound", err)
	}
	if _, err := pv.GetTemplate(ctx, "222222222222", "mine"); err != nil {
		t.Errorf("the other account's template survives: %v", err)
	}
}
