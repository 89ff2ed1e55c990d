package alarms

import (
	"testing"
	"time"
)

func alarmsVal(f float64) *float64 { return &f }

func TestEvaluate(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	base := Alarm{Statistic: "Sum", Period: 60, EvaluationPeriods: 3, DatapointsToAlarm: 2, Threshold: 5, ComparisonOperator: Greater}
	v := alarmsVal
	tests := []struct {
		name    string
		missing string
		op      string
		values  []*float64
		want    State
		keep    bool
	}{
		{"two of three breach", MissingMissing, "", []*float64{v(6), v(1), v(7)}, Alarming, false},
		{"one of three breaches", MissingMissing, "", []*float64{v(6), v(1), v(2)}, OK, false},
		{"at the threshold is not above it", MissingMissing, "", []*float64{v(5), v(5), v(5)}, OK, false},
		{"at the threshold is at or above it", MissingMissing, GreaterOrEqual, []*float64{v(5), v(5), nil}, Alarming, false},
		{"below", MissingMissing, Less, []*float64{v(1), v(2), v(9)}, Alarming, false},
		{"below or equal", MissingMissing, LessOrEqual, []*float64{v(5), v(9), v(9)}, OK, false},
		{"all missing", MissingMissing, "", []*float64{nil, nil, nil}, InsufficientData, false},
		{"missing is breaching", MissingBreaching, "", []*float64{nil, nil, v(1)}, Alarming, false},
		{"missing is not breaching", MissingNotBreaching, "", []*float64{nil, nil, nil}, OK, false},
		{"missing ignored", MissingIgnore, "", []*float64{nil, nil, nil}, "", true},
		{"one present breaching datapoint is not two", MissingMissing, "", []*float64{v(9), nil, nil}, OK, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := base
			a.TreatMissingData = tc.missing
			if tc.op != "" {
				a.ComparisonOperator = tc.op
			}
			got := Evaluate(a, tc.values, now)
			if got.Keep != tc.keep || !tc.keep && got.State != tc.want {
				t.Errorf("Evaluate = %+v, want state %s keep %v", got, tc.want, tc.keep)
			}
			if !got.Keep && got.Reason == "" {
				t.Error("a decision without a reason")
			}
		})
	}
}

func TestAggregateWindows(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	a := Alarm{Period: 60, EvaluationPeriods: 2, Statistic: "Average"}
	wins := Windows(a, now)
	d := func(ago time.Duration, v float64) Datum {
		return Datum{Time: now.Add(-ago), Stats: Stats{Count: 1, Sum: v, Min: v, Max: v}}
	}
	got := Aggregate([]Datum{d(10*time.Second, 2), d(20*time.Second, 4), d(90*time.Second, 10), d(3*time.Minute, 99), d(-time.Second, 99)}, wins, "Average")
	if got[0] == nil || *got[0] != 3 || got[1] == nil || *got[1] != 10 {
		t.Errorf("Aggregate = %v %v, want 3 (newest period) and 10", got[0], got[1])
	}
	if empty := Aggregate(nil, wins, "Sum"); empty[0] != nil || empty[1] != nil {
		t.Errorf("no data gave values %v", empty)
	}
}

// FuzzDimensionKey: a metric's dimension key parses back to its sorted dimensions, for every
// metric CheckMetric accepts.
func FuzzDimensionKey(f *testing.F) {
	f.Add("a", "1", "b", "2")
	f.Add("b=", "x=y", "a", "")
	f.Add("EndpointName", "ep", "VariantName", "v\x1e")
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string) {
		m := Metric{Namespace: "N", Name: "M", Dimensions: []Dimension{{n1, v1}, {n2, v2}}}
		if CheckMetric(m) != nil {
			return
		}
		if len(n1) == 0 || len(n2) == 0 {
			t.Fatal("CheckMetric accepted an empty dimension name")
		}
		back := ParseDimensionKey(m.DimensionKey())
		want := m.normalize().Dimensions
		if len(back) != len(want) {
			t.Fatalf("%q parsed to %v, want %v", m.DimensionKey(), back, want)
		}
		for i := range want {
			if back[i] != want[i] {
				t.Fatalf("%q parsed to %v, want %v", m.DimensionKey(), back, want)
			}
		}
	})
}
