package alarms_test

import (
	"testing"

	"github.com/slipway-ml/slipway/internal/alarms"
	"github.com/slipway-ml/slipway/internal/errs"
)

// TestCheckAlarmBoundsTheWindow: an alarm evaluates at most a week of periods, however large
// the numbers: a product of Period and EvaluationPeriods that overflows to a small one is
// refused too (the evaluator allocates a window per period).
func TestCheckAlarmBoundsTheWindow(t *testing.T) {
	for _, c := range []struct {
		period, periods int
		ok              bool
	}{
		{60, 7 * 24 * 60, true},
		{60, 7*24*60 + 1, false},
		{10, 7 * 24 * 360, true},
		{7 * 24 * 3600, 1, true},
		{7*24*3600 + 60, 1, false},
		{60, 1 << 62, false},       // 60 × 2⁶² wraps to 0
		{60 << 54, 1 << 10, false}, // and so does this one
	} {
		a := alarms.Alarm{Name: "a", Metric: alarms.Metric{Namespace: "App", Name: "M"}, Statistic: "Sum", Period: c.period,
			EvaluationPeriods: c.periods, ComparisonOperator: alarms.Greater}
		err := alarms.CheckAlarm(&a)
		if c.ok && err != nil || !c.ok && !errs.Is(err, errs.Invalid) {
			t.Errorf("CheckAlarm(Period %d, EvaluationPeriods %d) = %v, want ok=%v", c.period, c.periods, err, c.ok)
		}
	}
}
