package stacksets

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLimits(t *testing.T) {
	for _, tc := range []struct {
		name          string
		p             Preferences
		n             int
		wantMax, want int
	}{
		{"defaults: one at a time, no failure tolerated", Preferences{}, 5, 1, 0},
		{"counts", Preferences{MaxConcurrentCount: 3, HasMaxCount: true, FailureToleranceCount: 2, HasTolCount: true}, 5, 3, 2},
		{"percentages round down", Preferences{MaxConcurrentPercentage: 50, HasMaxPct: true, FailureTolerancePercentage: 50, HasTolPct: true}, 5, 2, 2},
		{"a percentage runs at least one", Preferences{MaxConcurrentPercentage: 10, HasMaxPct: true}, 3, 1, 0},
		{"100% of two", Preferences{MaxConcurrentPercentage: 100, HasMaxPct: true}, 2, 2, 0},
		{"no instances", Preferences{MaxConcurrentPercentage: 100, HasMaxPct: true, FailureTolerancePercentage: 100, HasTolPct: true}, 0, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, tol := limits(tc.p, tc.n)
			if m != tc.wantMax || tol != tc.want {
				t.Errorf("limits = %d, %d; want %d, %d", m, tol, tc.wantMax, tc.want)
			}
		})
	}
}

func TestCheckPrefs(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Preferences
		ok   bool
	}{
		{"none", Preferences{}, true},
		{"both concurrency forms", Preferences{HasMaxCount: true, MaxConcurrentCount: 1, HasMaxPct: true, MaxConcurrentPercentage: 10}, false},
		{"both tolerance forms", Preferences{HasTolCount: true, HasTolPct: true}, false},
		{"zero concurrency", Preferences{HasMaxCount: true}, false},
		{"negative tolerance", Preferences{HasTolCount: true, FailureToleranceCount: -1}, false},
		{"percentage over 100", Preferences{HasMaxPct: true, MaxConcurrentPercentage: 101}, false},
		{"parallel regions", Preferences{RegionConcurrencyType: "PARALLEL"}, true},
		{"unknown region concurrency", Preferences{RegionConcurrencyType: "SOMETIMES"}, false},
	} {
		if err := checkPrefs(tc.p); (err == nil) != tc.ok {
			t.Errorf("%s: checkPrefs = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestRegionOrder(t *testing.T) {
	op := &Operation{Prefs: Preferences{RegionOrder: []string{"eu-west-1", "eu-west-1"}},
		Results: []Result{{Region: "us-east-1"}, {Region: "eu-west-1"}, {Region: "us-east-1"}}}
	if got := regionOrder(op); !cmp.Equal(got, []string{"eu-west-1", "us-east-1"}) {
		t.Errorf("regionOrder = %v", got)
	}
}
