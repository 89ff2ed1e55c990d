package storetest

import (
	"context"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/builds"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/store"
)

// testBuilds: a project's name is unique in its account; builds are numbered per project
// without gaps or duplicates even when started concurrently; a build's row and its work item
// commit together or not at all; an idempotency token finds its build; the builds not yet
// ended are listed for the engine; a change under a lost lease's fence is refused.
func testBuilds(t *testing.T, st *store.Store) {
	ctx := context.Background()
	bs := st.Builds()
	acct := "111111111111"
	p := builds.Project{Account: acct, Region: "us-east-1", Name: "build", ARN: "arn:aws:codebuild:us-east-1:" + acct + ":project/build",
		Source:      builds.Source{Type: "NO_SOURCE", Buildspec: "version: 0.2"},
		Artifacts:   builds.ArtifactsDecl{Type: "NO_ARTIFACTS"},
		Environment: builds.Environment{Type: "LINUX_CONTAINER", Image: "i", ComputeType: "BUILD_GENERAL1_SMALL", Variables: []builds.EnvVar{{Name: "A", Value: "1", Type: "PLAINTEXT"}}},
		ServiceRole: "arn:aws:iam::" + acct + ":role/r", TimeoutInMinutes: 60, Tags: map[string]string{"k": "v"}, CreatedAt: t0, UpdatedAt: t0}
	if err := bs.Update(ctx, func(tx builds.Tx) error { return tx.InsertProject(ctx, p) }); err != nil {
		t.Fatal(err)
	}
	if got, err := bs.GetProject(ctx, acct, "build"); err != nil || !cmp.Equal(got, p) {
		t.Errorf("GetProject = %+v, %v; want %+v", got, err, p)
	}
	if _, err := bs.GetProject(ctx, "222222222222", "build"); !errs.Is(err, errs.NotFound) {
		t.Errorf("another account's GetProject: %v, want NotFound", err)
	}
	if err := bs.Update(ctx, func(tx builds.Tx) error { return tx.InsertProject(ctx, p) }); !errs.Is(err, errs.Conflict) {
		t.Errorf("a second project build: %v, want Conflict", err)
	}
	p2 := p
	p2.Description = "changed"
	if err := bs.Update(ctx, func(tx builds.Tx) error {
		if _, err := tx.LockProject(ctx, acct, "build"); err != nil {
			return err
		}
		return tx.UpdateProject(ctx, p2)
	}); err != nil {
		t.Fatal(err)
	}
	if ps, err := bs.ListProjects(ctx, acct); err != nil || len(ps) != 1 || ps[0].Description != "changed" {
		t.Errorf("ListProjects = %+v, %v", ps, err)
	}

	start := func(id, token string, failAfter bool) error {
		return bs.Update(ctx, func(tx builds.Tx) error {
			if _, err := tx.LockProject(ctx, acct, "build"); err != nil {
				return err
			}
			if token != "" {
				if _, err := tx.BuildByToken(ctx, acct, "build", token); err == nil {
					return nil
				} else if !errs.Is(err, errs.NotFound) {
					return err
				}
			}
			n, err := tx.NextNumber(ctx, acct, "build")
			if err != nil {
				return err
			}
			b := builds.Build{Account: acct, Region: "us-east-1", ID: id, ProjectName: "build", Project: p, Number: n, Status: builds.InProgress,
				IdempotencyToken: token, StartTime: t0, Phases: []builds.Phase{{Type: builds.PhaseSubmitted, Status: builds.Succeeded, StartTime: t0, EndTime: t0}}}
			if err := tx.InsertBuild(ctx, b); err != nil {
				return err
			}
			if err := tx.Enqueue(ctx, builds.WorkKind, builds.WorkKey(acct, id), t0); err != nil {
				return err
			}
			if failAfter {
				return errs.E(errs.Invalid, "refused after the writes")
			}
			return nil
		})
	}
	if err := start("build:rolled-back", "", true); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a failing transaction: %v", err)
	}
	if _, err := bs.GetBuild(ctx, acct, "build:rolled-back"); !errs.Is(err, errs.NotFound) {
		t.Errorf("a rolled-back build exists: %v", err)
	}
	if _, err := st.Work().Get(ctx, builds.WorkKind, builds.WorkKey(acct, "build:rolled-back")); !errs.Is(err, errs.NotFound) {
		t.Errorf("a rolled-back build's work item exists: %v", err)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- start("build:"+string(rune('a'+i)), "", false)
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	ids, err := bs.ListBuilds(ctx, acct, "build")
	if err != nil || len(ids) != 8 {
		t.Fatalf("ListBuilds = %v, %v", ids, err)
	}
	seen := map[int64]bool{}
	for i, id := range ids {
		b, err := bs.GetBuild(ctx, acct, id)
		if err != nil {
			t.Fatal(err)
		}
		if b.Number != int64(8-i) || seen[b.Number] {
			t.Errorf("build %s has number %d at position %d (newest first, 8..1 without gaps)", id, b.Number, i)
		}
		seen[b.Number] = true
	}
	for range 2 {
		if err := start("build:tok", "token-1", false); err != nil {
			t.Fatal(err)
		}
	}
	if err := start("build:tok2", "token-1", false); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.GetBuild(ctx, acct, "build:tok2"); !errs.Is(err, errs.NotFound) {
		t.Errorf("a second build was made for a used token: %v", err)
	}
	active, err := bs.ActiveBuilds(ctx)
	if err != nil || len(active) != 9 {
		t.Errorf("ActiveBuilds = %v, %v; want 9", active, err)
	}
	if err := bs.Update(ctx, func(tx builds.Tx) error {
		b, err := tx.LockBuild(ctx, acct, "build:a")
		if err != nil {
			return err
		}
		b.Status = builds.Succeeded
		return tx.UpdateBuild(ctx, b)
	}); err != nil {
		t.Fatal(err)
	}
	if active, _ := bs.ActiveBuilds(ctx); len(active) != 8 {
		t.Errorf("after one build ended, ActiveBuilds = %v", active)
	}
	if got, _ := bs.GetBuild(ctx, acct, "build:a"); got.Status != builds.Succeeded {
		t.Errorf("build:a status = %s", got.Status)
	}
	err = bs.Update(ctx, func(tx builds.Tx) error {
		return tx.CheckFence(ctx, reconcile.Fence{Kind: builds.WorkKind, Key: builds.WorkKey(acct, "build:b"), Token: 999999})
	})
	if !errs.Is(err, errs.Conflict) {
		t.Errorf("a stale fence: %v, want Conflict", err)
	}
	if err := bs.Update(ctx, func(tx builds.Tx) error { return tx.DeleteProject(ctx, acct, "build") }); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.GetBuild(ctx, acct, "build:b"); err != nil {
		t.Errorf("a deleted project's build is gone: %v", err)
	}
	if err := bs.Update(ctx, func(tx builds.Tx) error { return tx.DeleteProject(ctx, acct, "build") }); !errs.Is(err, errs.NotFound) {
		t.Errorf("deleting a deleted project: %v, want NotFound", err)
	}
}
