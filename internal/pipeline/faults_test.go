package pipeline_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/pipeline"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

// The ports the engine needs besides the store, for a test that injects server faults into
// the calls that make a step's job. Everything else is real: the SQLite store, the engine.

type allowAll struct{}

func (allowAll) Authorize(context.Context, identity.Caller, identity.Action) (string, error) {
	return "allow", nil
}

func (allowAll) PassRole(context.Context, identity.Call, string, string) (identity.Principal, error) {
	return identity.Principal{}, nil
}

func (allowAll) EngineSession(_ context.Context, role, _ string) (identity.Caller, error) {
	return identity.Caller{Kind: "role", Account: "111122223333", ARN: role}, nil
}

// faultySageMaker fails the next calls of an operation with the errors queued for it, and
// otherwise makes jobs that complete at once.
type faultySageMaker struct {
	mu      sync.Mutex
	faults  map[string][]error
	created []string
}

func (f *faultySageMaker) Call(_ context.Context, _ identity.Caller, op string, input any) (json.RawMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if q := f.faults[op]; len(q) > 0 {
		f.faults[op] = q[1:]
		return nil, q[0]
	}
	switch op {
	case "CreateProcessingJob":
		f.created = append(f.created, input.(map[string]any)["ProcessingJobName"].(string))
		return json.RawMessage(`{}`), nil
	case "DescribeProcessingJob":
		return json.RawMessage(`{"ProcessingJobStatus":"Completed"}`), nil
	}
	return nil, errs.E(errs.Invalid, "unexpected call %s", op)
}

func faultDefinition(policy string) string {
	return `{"Version":"2020-12-01","Steps":[{"Name":"P","Type":"Processing","Arguments":{
"AppSpecification":{"ImageUri":"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:0.23-1-cpu-py3"},
"ProcessingResources":{"ClusterConfig":{"InstanceCount":1,"InstanceType":"ml.m5.xlarge","VolumeSizeInGB":1}}},
"RetryPolicies":[` + policy + `]}]}`
}

// TestServerFaultsCountAgainstRetryPolicies: a Step.THROTTLING or Step.SERVICE_FAULT of the
// call that creates a step's job is a failed attempt when a RetryPolicy names it (retried after
// the interval as the next attempt, the step failing once the policy is spent); when none names
// it, the reconcile fails and the runtime retries the same attempt.
func TestServerFaultsCountAgainstRetryPolicies(t *testing.T) {
	throttled := errs.E(errs.Throttled, "Rate exceeded")
	internal := errs.E(errs.Internal, "the database is busy")
	for _, c := range []struct {
		name, policy string
		faults       []error
		want         pipeline.StepStatus
		attempts     int
		reason       string
		errors       int // reconciles that fail
	}{
		{"throttled twice, two retries allowed", `{"ExceptionType":["Step.THROTTLING"],"IntervalSeconds":1,"BackoffRate":1,"MaxAttempts":2}`,
			[]error{throttled, throttled}, pipeline.StepSucceeded, 3, "", 0},
		{"throttled three times, two retries allowed", `{"ExceptionType":["Step.THROTTLING"],"IntervalSeconds":1,"BackoffRate":1,"MaxAttempts":2}`,
			[]error{throttled, throttled, throttled}, pipeline.StepFailed, 3, "Step.THROTTLING", 0},
		{"a service fault, one retry allowed", `{"ExceptionType":["Step.SERVICE_FAULT"],"IntervalSeconds":1,"MaxAttempts":1}`,
			[]error{internal}, pipeline.StepSucceeded, 2, "", 0},
		{"a service fault no policy names", `{"ExceptionType":["Step.THROTTLING"],"IntervalSeconds":1,"MaxAttempts":1}`,
			[]error{internal}, pipeline.StepSucceeded, 1, "", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.OpenSQLite(t)
			now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			svc := pipeline.NewService(pipeline.ServiceConfig{Store: st.Pipelines(), Authz: allowAll{}, Roles: allowAll{}, Region: "us-east-1", Now: clock})
			sm := &faultySageMaker{faults: map[string][]error{"CreateProcessingJob": c.faults}}
			eng := pipeline.NewEngine(pipeline.EngineConfig{Service: svc, Store: st.Pipelines(), Sessions: allowAll{}, SageMaker: sm})
			call := identity.Call{Caller: identity.Caller{Kind: "user", Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/u"}}
			role := "arn:aws:iam::111122223333:role/r"
			if _, err := svc.CreatePipeline(ctx, call, pipeline.CreateInput{Name: "p", RoleARN: role, Definition: pipeline.DefinitionSource{Text: faultDefinition(c.policy)}}); err != nil {
				t.Fatal(err)
			}
			x, err := svc.StartExecution(ctx, call, pipeline.StartInput{Pipeline: "p"})
			if err != nil {
				t.Fatal(err)
			}
			failed := 0
			for i := 0; i < 20; i++ {
				if _, err := eng.Reconcile(ctx, x.ARN); err != nil {
					if !strings.Contains(errs.Message(err), "busy") {
						t.Fatalf("reconcile: %v", err)
					}
					failed++
				}
				now = now.Add(1500 * time.Millisecond)
				cur, err := st.Pipelines().GetExecution(ctx, x.ARN)
				if err != nil {
					t.Fatalf("GetExecution %s: %v", x.ARN, err)
				}
				if cur.Status.Terminal() {
					break
				}
			}
			steps, err := st.Pipelines().ListSteps(ctx, x.ARN)
			if err != nil || len(steps) != 1 {
				t.Fatalf("steps %v, %v", steps, err)
			}
			s := steps[0]
			if s.Status != c.want || s.Attempt != c.attempts || !strings.Contains(s.FailureReason, c.reason) || failed != c.errors {
				t.Errorf("step %s after %d attempts (%q), %d failed reconciles; want %s after %d (%q), %d", s.Status, s.Attempt, s.FailureReason, failed,
					c.want, c.attempts, c.reason, c.errors)
			}
			if c.want == pipeline.StepSucceeded && len(sm.created) != 1 {
				t.Errorf("jobs created %v, want one (the attempt that was not refused)", sm.created)
			}
			if c.attempts > 1 && c.want == pipeline.StepSucceeded && !strings.HasSuffix(sm.created[0], "-"+string(rune('0'+c.attempts))) {
				t.Errorf("job %s: want attempt %d's name", sm.created[0], c.attempts)
			}
		})
	}
}
