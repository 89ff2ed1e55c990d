package alarms

import (
	"testing"
	"time"
)

func TestEndpointDimensionKeyIsTheMetricsKey(t *testing.T) {
	for _, c := range []struct{ endpoint, variant string }{{"abalone", "AllTraffic"}, {"abalone", ""}, {"a-b", "Zeta"}} {
		m := Metric{Dimensions: []Dimension{{"VariantName", c.variant}, {"EndpointName", c.endpoint}}}
		if c.variant == "" {
			m.Dimensions = m.Dimensions[1:]
		}
		if got, want := endpointDimensionKey(c.endpoint, c.variant), m.DimensionKey(); got != want {
			t.Errorf("endpointDimensionKey(%q, %q) = %q, want %q", c.endpoint, c.variant, got, want)
		}
	}
}

// Record expires slots older than Retention once per slot, not on every call: a day-old slot is
// gone after the first Record of a later slot, and new slots are kept.
func TestRecordExpiresOldSlots(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	e := NewEndpointMetrics(func() time.Time { return start })
	e.Record(Invocation{Account: "111111111111", Endpoint: "ep", Variant: "v", Time: start})
	m := Metric{Name: "Invocations", Dimensions: []Dimension{{"EndpointName", "ep"}, {"VariantName", "v"}}}
	if d := e.Datapoints("111111111111", m, start.Add(-time.Minute), start.Add(time.Minute)); len(d) != 1 {
		t.Fatalf("after one Record: %d datapoints, want 1", len(d))
	}
	later := start.Add(Retention + time.Minute)
	for i := 0; i < 3; i++ {
		e.Record(Invocation{Account: "111111111111", Endpoint: "ep", Variant: "v", Time: later})
	}
	if d := e.Datapoints("111111111111", m, start.Add(-time.Minute), start.Add(time.Minute)); len(d) != 0 {
		t.Errorf("a slot older than Retention was kept: %+v", d)
	}
	d := e.Datapoints("111111111111", m, later.Add(-time.Minute), later.Add(time.Minute))
	if len(d) != 1 {
		t.Fatalf("the new slot: %d datapoints, want 1", len(d))
	}
}
