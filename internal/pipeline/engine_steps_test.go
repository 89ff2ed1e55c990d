package pipeline_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/pipeline"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

// heldSageMaker makes jobs that run until the test ends them, and counts the jobs made.
type heldSageMaker struct {
	mu      sync.Mutex
	ended   map[string]bool
	created map[string]int
}

func (h *heldSageMaker) Call(_ context.Context, _ identity.Caller, op string, input any) (json.RawMessage, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch op {
	case "CreateProcessingJob":
		h.created[input.(map[string]any)["ProcessingJobName"].(string)]++
		return json.RawMessage(`{}`), nil
	case "DescribeProcessingJob":
		status := "InProgress"
		if h.ended[input.(map[string]string)["ProcessingJobName"]] {
			status = "Completed"
		}
		return json.RawMessage(`{"ProcessingJobStatus":"` + status + `"}`), nil
	}
	return nil, errs.E(errs.Invalid, "unexpected call %s", op)
}

func (h *heldSageMaker) endAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for n := range h.created {
		h.ended[n] = true
	}
}

// TestEngineRereadsStepsAnotherOwnerChanged: an engine starts a reconcile from the steps its
// previous reconcile left only when nobody held the execution's lease in between. Here a
// second engine (another server) moves the execution on between two reconciles of the first;
// the first must see that move (not end the first step again, not make the second step's job
// twice).
func TestEngineRereadsStepsAnotherOwnerChanged(t *testing.T) {
	ctx := context.Background()
	st := storetest.OpenSQLite(t)
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	svc := pipeline.NewService(pipeline.ServiceConfig{Store: st.Pipelines(), Authz: allowAll{}, Roles: allowAll{}, Region: "us-east-1", Now: clock})
	sm := &heldSageMaker{ended: map[string]bool{}, created: map[string]int{}}
	engine := func() *pipeline.Engine {
		return pipeline.NewEngine(pipeline.EngineConfig{Service: svc, Store: st.Pipelines(), Sessions: allowAll{}, SageMaker: sm})
	}
	first, second := engine(), engine()
	call := identity.Call{Caller: identity.Caller{Kind: "user", Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/u"}}
	step := func(name, dep string) string {
		s := `{"Name":"` + name + `","Type":"Processing","Arguments":{
"AppSpecification":{"ImageUri":"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:0.23-1-cpu-py3"},
"ProcessingResources":{"ClusterConfig":{"InstanceCount":1,"InstanceType":"ml.m5.xlarge","VolumeSizeInGB":1}}}`
		if dep != "" {
			s += `,"DependsOn":["` + dep + `"]`
		}
		return s + "}"
	}
	def := `{"Version":"2020-12-01","Steps":[` + step("A", "") + "," + step("B", "A") + `,` + step("C", "B") + `]}`
	if _, err := svc.CreatePipeline(ctx, call, pipeline.CreateInput{Name: "p", RoleARN: "arn:aws:iam::111122223333:role/r", Definition: pipeline.DefinitionSource{Text: def}}); err != nil {
		t.Fatal(err)
	}
	x, err := svc.StartExecution(ctx, call, pipeline.StartInput{Pipeline: "p"})
	if err != nil {
		t.Fatal(err)
	}
	// reconcile runs one reconcile of the execution under a lease taken as owner.
	reconcileAs := func(e *pipeline.Engine, owner string) {
		t.Helper()
		if err := st.Work().Enqueue(ctx, pipeline.WorkKind, []string{x.ARN}, now); err != nil {
			t.Fatal(err)
		}
		ls, err := st.Work().Claim(ctx, pipeline.WorkKind, owner, now, time.Minute, 1)
		if err != nil || len(ls) != 1 {
			t.Fatalf("claim: %v, %v", ls, err)
		}
		if _, err := e.Reconcile(reconcile.WithFence(ctx, ls[0].Fence()), x.ARN); err != nil {
			t.Fatalf("reconcile as %s: %v", owner, err)
		}
		if _, err := st.Work().Release(ctx, ls[0], reconcile.Release{Next: now}); err != nil {
			t.Fatal(err)
		}
	}
	statuses := func() map[string]pipeline.StepStatus {
		steps, err := st.Pipelines().ListSteps(ctx, x.ARN)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]pipeline.StepStatus{}
		for _, s := range steps {
			out[s.Name] = s.Status
		}
		return out
	}
	reconcileAs(first, "one") // A starts
	reconcileAs(first, "one") // nothing changed: the first engine goes on from what it left
	sm.endAll()
	reconcileAs(second, "two") // A ends, B starts, on the other server
	if got := statuses(); got["A"] != pipeline.StepSucceeded || got["B"] != pipeline.StepExecuting {
		t.Fatalf("after the other server's reconcile: %v", got)
	}
	reconcileAs(first, "one") // must see B running: nothing to do
	sm.endAll()
	reconcileAs(first, "one") // B ends, C starts
	sm.endAll()
	reconcileAs(first, "one") // C ends, the execution succeeds
	got, err := st.Pipelines().GetExecution(ctx, x.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != pipeline.Succeeded {
		t.Errorf("execution %s (%s), steps %v", got.Status, got.FailureReason, statuses())
	}
	for name, n := range sm.created {
		if n != 1 {
			t.Errorf("job %s made %d times", name, n)
		}
	}
	if len(sm.created) != 3 {
		t.Errorf("jobs made: %v", sm.created)
	}
	evs, err := st.Events().EventsAfter(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ends := map[string]int{}
	for _, ev := range evs {
		var d struct{ StepName, CurrentStepStatus string }
		if json.Unmarshal(ev.Detail, &d) == nil && d.CurrentStepStatus == "Succeeded" {
			ends[d.StepName]++
		}
	}
	if ends["A"] != 1 || ends["B"] != 1 || ends["C"] != 1 {
		t.Errorf("Succeeded events per step %v, want one each", ends)
	}
}
