package pipeline_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/pipeline"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

// fanbatchSageMaker makes jobs that complete at once, one by one (Call) or in batches
// (CreateJobs), refusing the jobs whose name contains deny as an IAM Deny would, and
// answering ResourceInUse for a name it made already. With crash set, the next batch is stored
// and then fails as if its answer were lost (a server killed right after the batch's commit):
// the steps, still Starting, must find their jobs made instead of making them again.
type fanbatchSageMaker struct {
	mu      sync.Mutex
	deny    string
	crash   bool
	made    map[string]int
	single  []string
	batches [][]string
}

func (f *fanbatchSageMaker) create(name string) error {
	if f.deny != "" && strings.Contains(name, f.deny) {
		return errs.E(errs.AccessDenied, "User is not authorized to perform: sagemaker:CreateProcessingJob on resource %s with an explicit deny", name).WithCode("AccessDeniedException")
	}
	if f.made[name] > 0 {
		return errs.E(errs.Conflict, "Processing job %s already exists in this account: job names must be unique.", name).WithCode("ResourceInUse")
	}
	f.made[name]++
	return nil
}

func (f *fanbatchSageMaker) Call(_ context.Context, _ identity.Caller, op string, input any) (json.RawMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch op {
	case "CreateProcessingJob":
		name := input.(map[string]any)["ProcessingJobName"].(string)
		f.single = append(f.single, name)
		return json.RawMessage(`{}`), f.create(name)
	case "DescribeProcessingJob":
		return json.RawMessage(`{"ProcessingJobStatus":"Completed"}`), nil
	}
	return nil, errs.E(errs.Invalid, "unexpected call %s", op)
}

func (f *fanbatchSageMaker) CreateJobs(_ context.Context, _ identity.Caller, calls []pipeline.JobCall) ([]error, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	results := make([]error, len(calls))
	for i, c := range calls {
		if c.Operation != "CreateProcessingJob" || c.Input["RoleArn"] == nil {
			return nil, errs.E(errs.Invalid, "unexpected call %s %v", c.Operation, c.Input)
		}
		name := c.Input["ProcessingJobName"].(string)
		names = append(names, name)
		results[i] = f.create(name)
	}
	f.batches = append(f.batches, names)
	if f.crash {
		f.crash = false
		return nil, errs.E(errs.Unavailable, "the server was killed after the batch committed")
	}
	return results, nil
}

// fanbatchDefinition is a layer of four processing steps (A–D) and a step J after all four.
func fanbatchDefinition() string {
	step := func(name string, after ...string) map[string]any {
		s := map[string]any{"Name": name, "Type": "Processing", "Arguments": map[string]any{
			"AppSpecification":    map[string]any{"ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:0.23-1-cpu-py3"},
			"ProcessingResources": map[string]any{"ClusterConfig": map[string]any{"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 1}}}}
		if len(after) > 0 {
			s["DependsOn"] = after
		}
		return s
	}
	b, _ := json.Marshal(map[string]any{"Version": "2020-12-01", "Steps": []any{
		step("A"), step("B"), step("C"), step("D"), step("J", "A", "B", "C", "D")}})
	return string(b)
}

// TestEngineCreatesALayersJobsInOneBatch: the jobs of the steps a pass starts are made in one
// batch; a job the batch refuses fails its step alone; a batch that committed but whose answer
// was lost makes nothing twice when the steps are driven again.
func TestEngineCreatesALayersJobsInOneBatch(t *testing.T) {
	for _, c := range []struct {
		name        string
		deny        string
		crash       bool
		want        pipeline.Status
		failed      string // the step that fails, with its reason
		reason      string
		batches     int
		singleFirst int // Create calls made one by one for the first layer
	}{
		{name: "the layer in one batch", want: pipeline.Succeeded, batches: 1},
		{name: "a Deny on one job fails its step only", deny: "-b-", want: pipeline.Failed, failed: "B", reason: "explicit deny", batches: 1},
		{name: "the batch's answer is lost after its commit", crash: true, want: pipeline.Succeeded, batches: 1, singleFirst: 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.OpenSQLite(t)
			now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			svc := pipeline.NewService(pipeline.ServiceConfig{Store: st.Pipelines(), Authz: allowAll{}, Roles: allowAll{}, Region: "us-east-1", Now: clock})
			sm := &fanbatchSageMaker{deny: c.deny, crash: c.crash, made: map[string]int{}}
			eng := pipeline.NewEngine(pipeline.EngineConfig{Service: svc, Store: st.Pipelines(), Sessions: allowAll{}, SageMaker: sm, JobBatch: sm})
			call := identity.Call{Caller: identity.Caller{Kind: "user", Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/u"}}
			role := "arn:aws:iam::111122223333:role/r"
			if _, err := svc.CreatePipeline(ctx, call, pipeline.CreateInput{Name: "p", RoleARN: role, Definition: pipeline.DefinitionSource{Text: fanbatchDefinition()}}); err != nil {
				t.Fatal(err)
			}
			x, err := svc.StartExecution(ctx, call, pipeline.StartInput{Pipeline: "p"})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 10; i++ {
				if _, err := eng.Reconcile(ctx, x.ARN); err != nil {
					t.Fatalf("reconcile: %v", err)
				}
				now = now.Add(time.Second)
				cur, err := st.Pipelines().GetExecution(ctx, x.ARN)
				if err != nil {
					t.Fatalf("GetExecution %s: %v", x.ARN, err)
				}
				if cur.Status.Terminal() {
					break
				}
			}
			cur, err := st.Pipelines().GetExecution(ctx, x.ARN)
			if err != nil || cur.Status != c.want {
				t.Fatalf("execution %s (%s), %v; want %s", cur.Status, cur.FailureReason, err, c.want)
			}
			steps, err := st.Pipelines().ListSteps(ctx, x.ARN)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range steps {
				switch {
				case s.Name == c.failed:
					if s.Status != pipeline.StepFailed || !strings.Contains(s.FailureReason, "CreateProcessingJob") || !strings.Contains(s.FailureReason, c.reason) {
						t.Errorf("step %s: %s (%q), want Failed naming CreateProcessingJob and %q", s.Name, s.Status, s.FailureReason, c.reason)
					}
				case s.Status != pipeline.StepSucceeded:
					t.Errorf("step %s: %s (%q), want Succeeded", s.Name, s.Status, s.FailureReason)
				}
			}
			if len(sm.batches) != c.batches || len(sm.batches[0]) != 4 {
				t.Fatalf("batches %v, want %d, the first of the layer's 4 jobs", sm.batches, c.batches)
			}
			layer := sm.batches[0]
			var firstSingles int
			for _, n := range sm.single {
				if slices.Contains(layer, n) {
					firstSingles++
				}
			}
			if firstSingles != c.singleFirst {
				t.Errorf("the layer's jobs were also created one by one %d times (%v), want %d", firstSingles, sm.single, c.singleFirst)
			}
			for _, n := range layer {
				want := 1
				if c.deny != "" && strings.Contains(n, c.deny) {
					want = 0
				}
				if sm.made[n] != want {
					t.Errorf("job %s made %d times, want %d", n, sm.made[n], want)
				}
			}
			if c.want == pipeline.Succeeded && (len(steps) != 5 || len(sm.made) != 5) {
				t.Errorf("%d steps, %d jobs; want 5 of each (J made alone: %v)", len(steps), len(sm.made), sm.single)
			}
		})
	}
}
