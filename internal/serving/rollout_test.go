package serving

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/inference"
)

// TestSteps: the share of requests the new fleet takes at each step of every kind of update.
func TestSteps(t *testing.T) {
	bg := func(typ string, size *CapacitySize) DeploymentPolicy {
		return DeploymentPolicy{BlueGreen: &BlueGreen{Type: typ, Size: size}}
	}
	rolling := func(size CapacitySize) DeploymentPolicy { return DeploymentPolicy{Rolling: &Rolling{MaxBatch: size}} }
	for _, c := range []struct {
		name      string
		p         DeploymentPolicy
		instances int
		want      []float64
	}{
		{"all at once", bg(AllAtOnce, nil), 4, []float64{1}},
		{"canary of one instance of four", bg(Canary, &CapacitySize{InstanceCount, 1}), 4, []float64{0.25, 1}},
		{"canary of 10 percent", bg(Canary, &CapacitySize{CapacityPercent, 10}), 2, []float64{0.1, 1}},
		{"canary as large as the fleet is all at once", bg(Canary, &CapacitySize{InstanceCount, 5}), 3, []float64{1}},
		{"linear 25 percent", bg(Linear, &CapacitySize{CapacityPercent, 25}), 2, []float64{0.25, 0.5, 0.75, 1}},
		{"linear 40 percent ends with the rest", bg(Linear, &CapacitySize{CapacityPercent, 40}), 2, []float64{0.4, 0.8, 1}},
		{"linear one instance of three", bg(Linear, &CapacitySize{InstanceCount, 1}), 3, []float64{1.0 / 3, 2.0 / 3, 1}},
		{"rolling one instance at a time", rolling(CapacitySize{InstanceCount, 1}), 3, []float64{1.0 / 3, 2.0 / 3, 1}},
		{"rolling 50 percent of three rounds up to two", rolling(CapacitySize{CapacityPercent, 50}), 3, []float64{2.0 / 3, 1}},
		{"rolling a batch larger than the fleet", rolling(CapacitySize{InstanceCount, 8}), 2, []float64{1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Steps(c.p, c.instances)
			if diff := cmp.Diff(c.want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("Steps (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPolicyCheck: what a DeploymentConfig may hold, and the waits it sets.
func TestPolicyCheck(t *testing.T) {
	size := &CapacitySize{InstanceCount, 1}
	for _, c := range []struct {
		name string
		p    DeploymentPolicy
		bad  string // part of the error; "" when valid
	}{
		{"all at once", DeploymentPolicy{BlueGreen: &BlueGreen{Type: AllAtOnce, TerminationWait: 5}}, ""},
		{"canary", DeploymentPolicy{BlueGreen: &BlueGreen{Type: Canary, Size: size, WaitInterval: 3, MaxExecution: 600}}, ""},
		{"rolling", DeploymentPolicy{Rolling: &Rolling{MaxBatch: *size, RollbackMaxBatch: &CapacitySize{CapacityPercent, 100}}}, ""},
		{"neither", DeploymentPolicy{}, "exactly one"},
		{"both", DeploymentPolicy{BlueGreen: &BlueGreen{Type: AllAtOnce}, Rolling: &Rolling{MaxBatch: *size}}, "exactly one"},
		{"unknown type", DeploymentPolicy{BlueGreen: &BlueGreen{Type: "SOMETIMES"}}, "must be ALL_AT_ONCE, CANARY or LINEAR"},
		{"canary without a size", DeploymentPolicy{BlueGreen: &BlueGreen{Type: Canary}}, "CanarySize is required"},
		{"linear of 0", DeploymentPolicy{BlueGreen: &BlueGreen{Type: Linear, Size: &CapacitySize{CapacityPercent, 0}}}, "at least 1"},
		{"over 100 percent", DeploymentPolicy{BlueGreen: &BlueGreen{Type: Linear, Size: &CapacitySize{CapacityPercent, 101}}}, "more than 100"},
		{"size of a strange type", DeploymentPolicy{Rolling: &Rolling{MaxBatch: CapacitySize{"HALF", 1}}}, "INSTANCE_COUNT or CAPACITY_PERCENT"},
		{"all at once with a size", DeploymentPolicy{BlueGreen: &BlueGreen{Type: AllAtOnce, Size: size}}, "takes neither"},
		{"wait too long", DeploymentPolicy{BlueGreen: &BlueGreen{Type: AllAtOnce, TerminationWait: 3601}}, "between 0 and 3600"},
		{"timeout too short", DeploymentPolicy{Rolling: &Rolling{MaxBatch: *size, MaxExecution: 10}}, "between 600 and 28800"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.p.Check()
			if c.bad == "" && err != nil || c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)) {
				t.Errorf("Check = %v, want %q", err, c.bad)
			}
		})
	}
	p := DeploymentPolicy{BlueGreen: &BlueGreen{Type: Canary, Size: size, WaitInterval: 3, TerminationWait: 7}}
	if got := []time.Duration{p.wait(1, 2), p.wait(2, 2)}; got[0] != 3*time.Second || got[1] != 7*time.Second {
		t.Errorf("waits %v, want the canary's 3s then the termination wait 7s", got)
	}
}

// TestErrorClass: an invocation's outcome counted as SageMaker counts it: the model's own error
// by the status the model answered, not by the 424 the caller sees; the platform's refusals not
// at all.
func TestErrorClass(t *testing.T) {
	for _, c := range []struct {
		err     error
		want    string
		counted bool
	}{
		{nil, "", true},
		{&inference.Error{Status: 400, Code: inference.CodeValidation}, "4xx", true},
		{&inference.Error{Status: 415, Code: inference.CodeUnsupportedMedia}, "4xx", true},
		{&inference.Error{Status: 424, Code: inference.CodeModel, OriginalStatus: 400}, "4xx", true},
		{&inference.Error{Status: 424, Code: inference.CodeModel, OriginalStatus: 429}, "4xx", true},
		{&inference.Error{Status: 424, Code: inference.CodeModel, OriginalStatus: 500}, "5xx", true},
		{&inference.Error{Status: 424, Code: inference.CodeModel, OriginalStatus: 503}, "5xx", true},
		{&inference.Error{Status: 424, Code: inference.CodeModel}, "5xx", true}, // no answer: a timeout
		{fmt.Errorf("variant A: %w", &inference.Error{Status: 424, Code: inference.CodeModel, OriginalStatus: 404}), "4xx", true},
		{&inference.Error{Status: 500, Code: "InternalFailure"}, "5xx", true},
		{errs.E(errs.Invalid, "no such variant"), "", false},
		{errs.E(errs.AccessDenied, "not allowed"), "", false},
		{errs.E(errs.Throttled, "slow down"), "", false},
		{errs.E(errs.NotFound, "no running fleet"), "", false},
		{errs.E(errs.Unavailable, "no healthy instance"), "5xx", true},
		{errors.New("connection reset"), "5xx", true},
	} {
		if got, counted := errorClass(c.err); got != c.want || counted != c.counted {
			t.Errorf("errorClass(%v) = %q, %v; want %q, %v", c.err, got, counted, c.want, c.counted)
		}
	}
}

// FuzzSteps: for every policy Check accepts and every fleet size, the steps rise strictly from
// above 0 to exactly 1, and a step's part of a variant's instances is between 1 and all of them.
func FuzzSteps(f *testing.F) {
	f.Add(0, "CANARY", "INSTANCE_COUNT", 1, 4, 2)
	f.Add(0, "LINEAR", "CAPACITY_PERCENT", 33, 3, 5)
	f.Add(1, "", "CAPACITY_PERCENT", 50, 3, 1)
	f.Add(0, "ALL_AT_ONCE", "", 0, 1, 1)
	f.Add(1, "", "INSTANCE_COUNT", 1, 16, 16)
	f.Fuzz(func(t *testing.T, kind int, typ, sizeType string, value, instances, variantInstances int) {
		size := &CapacitySize{Type: sizeType, Value: value}
		p := DeploymentPolicy{BlueGreen: &BlueGreen{Type: typ, Size: size}}
		if typ == AllAtOnce {
			p.BlueGreen.Size = nil
		}
		if kind%2 == 1 {
			p = DeploymentPolicy{Rolling: &Rolling{MaxBatch: *size}}
		}
		if p.Check() != nil || instances < 1 || instances > 10*MaxInstances || variantInstances < 1 || variantInstances > MaxInstances {
			return
		}
		steps := Steps(p, instances)
		if len(steps) == 0 || steps[len(steps)-1] != 1 || len(steps) > max(instances, 100) {
			t.Fatalf("Steps(%+v, %d) = %v: want a rise to exactly 1", p, instances, steps)
		}
		prev := 0.0
		for _, s := range steps {
			if !(s > prev && s <= 1) {
				t.Fatalf("Steps(%+v, %d) = %v: not strictly rising in (0, 1]", p, instances, steps)
			}
			prev = s
			if n := part(variantInstances, s); n < 1 || n > variantInstances {
				t.Fatalf("part(%d, %v) = %d", variantInstances, s, n)
			}
		}
		if part(variantInstances, 1) != variantInstances {
			t.Fatalf("the last step runs %d of %d instances", part(variantInstances, 1), variantInstances)
		}
	})
}
