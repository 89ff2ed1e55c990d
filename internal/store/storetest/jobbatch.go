package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/jobs"
	"github.com/slipway-ml/slipway/internal/store"
)

// jobBatchAuthz allows every action but those on a resource ending in deny.
type jobBatchAuthz struct{ deny string }

func (a jobBatchAuthz) Authorize(_ context.Context, _ identity.Caller, act identity.Action) (string, error) {
	if a.deny != "" && len(act.Resource) >= len(a.deny) && act.Resource[len(act.Resource)-len(a.deny):] == a.deny {
		return "", errs.E(errs.AccessDenied, "explicit deny on %s", act.Resource).WithCode("AccessDeniedException")
	}
	return "allow", nil
}

func (jobBatchAuthz) PassRole(_ context.Context, _ identity.Call, role, _ string) (identity.Principal, error) {
	return identity.Principal{ARN: role}, nil
}

// testJobBatch: the jobs that Create puts in a batch (jobs.WithBatch) commit in one
// transaction, each with its event, its work item and its own call's audit record
// (Tx.AppendAudit); a refused Create holds nothing back; storing the batch again, as a server
// restarted after the commit would, makes nothing twice and commits no record.
func testJobBatch(t *testing.T, st *store.Store) {
	ctx := context.Background()
	const acct = "111111111111"
	svc := jobs.NewService(st.Jobs(), jobBatchAuthz{deny: "/refused"}, jobBatchAuthz{}, "us-east-1", func() time.Time { return t0 })
	caller := identity.Call{Caller: identity.Caller{Kind: "role", Account: acct, ARN: "arn:aws:sts::" + acct + ":assumed-role/r/engine"}}
	counts := func() (evs, recs int) {
		e, err := st.Events().EventsAfter(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		r, err := st.Audit().AuditRecords(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return len(e), len(r)
	}
	b := new(jobs.Batch)
	var pending []*audit.Pending
	for _, name := range []string{"one", "refused", "two"} {
		cctx, p := audit.ForEngine(ctx, audit.Record{Time: t0, Account: acct, PrincipalARN: caller.Caller.ARN, UserAgent: "test-engine",
			Service: "sagemaker", Operation: "CreateProcessingJob"})
		pending = append(pending, p)
		_, err := svc.Create(jobs.WithBatch(cctx, b), caller, jobs.Job{Kind: jobs.ProcessingJob, Name: name, RoleARN: "arn:aws:iam::" + acct + ":role/r",
			Spec: jobs.Spec{Image: "img", InstanceCount: 1, InstanceType: "ml.m5.large"}})
		if (name == "refused") != errs.Is(err, errs.AccessDenied) {
			t.Fatalf("Create %s into the batch: %v", name, err)
		}
	}
	if b.Len() != 2 {
		t.Fatalf("the batch holds %d jobs, want the two allowed", b.Len())
	}
	if _, err := st.Jobs().GetJob(ctx, acct, jobs.ProcessingJob, "one"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a job held in the batch is stored before the batch: %v", err)
	}
	evs0, recs0 := counts()
	res, err := svc.CreateBatch(ctx, b)
	if err != nil || len(res) != 2 || res[0] != nil || res[1] != nil {
		t.Fatalf("CreateBatch = %v, %v; want two jobs made", res, err)
	}
	for _, name := range []string{"one", "two"} {
		j, err := st.Jobs().GetJob(ctx, acct, jobs.ProcessingJob, name)
		if err != nil || j.Status != jobs.InProgress {
			t.Errorf("job %s after the batch: %+v, %v", name, j.Status, err)
		}
		if _, err := st.Work().Get(ctx, jobs.WorkKind, j.ARN); err != nil {
			t.Errorf("job %s's work item: %v", name, err)
		}
	}
	if _, err := st.Jobs().GetJob(ctx, acct, jobs.ProcessingJob, "refused"); !errs.Is(err, errs.NotFound) {
		t.Errorf("the refused job exists: %v", err)
	}
	evs1, recs1 := counts()
	if evs1-evs0 != 2 || recs1-recs0 != 2 {
		t.Errorf("the batch committed %d events and %d audit records, want 2 and 2", evs1-evs0, recs1-recs0)
	}
	if !pending[0].WasCommitted() || pending[1].WasCommitted() || !pending[2].WasCommitted() {
		t.Errorf("records committed: %v %v %v, want the two allowed calls'", pending[0].WasCommitted(), pending[1].WasCommitted(), pending[2].WasCommitted())
	}
	// Again, as after a restart: both exist; nothing is written.
	res, err = svc.CreateBatch(ctx, b)
	if err != nil || len(res) != 2 || errs.CodeOf(res[0]) != "ResourceInUse" || errs.CodeOf(res[1]) != "ResourceInUse" {
		t.Fatalf("CreateBatch again = %v, %v; want ResourceInUse for both", res, err)
	}
	if evs2, recs2 := counts(); evs2 != evs1 || recs2 != recs1 {
		t.Errorf("the repeated batch wrote %d events and %d records, want none", evs2-evs1, recs2-recs1)
	}
	list, err := st.Jobs().ListJobs(ctx, acct, jobs.ProcessingJob, jobs.Query{})
	if err != nil || len(list) != 2 {
		t.Errorf("%d processing jobs, %v; want 2", len(list), err)
	}
}
