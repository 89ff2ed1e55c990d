package alarms

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Evaluation is what Evaluate decides: the state the alarm should be in and why. Keep reports
// that the data does not decide (TreatMissingData "ignore" without enough datapoints): the
// alarm stays as it is.
type Evaluation struct {
	State      State
	Reason     string
	ReasonData string
	Keep       bool
}

// Datapoint is one period's value of the alarm's statistic.
type Datapoint struct {
	Start time.Time
	Value float64
}

// Windows returns the alarm's evaluation periods at now, newest first: the i-th covers
// [now-(i+1)·Period, now-i·Period).
func Windows(a Alarm, now time.Time) [][2]time.Time {
	p := time.Duration(a.Period) * time.Second
	out := make([][2]time.Time, a.EvaluationPeriods)
	for i := range out {
		end := now.Add(-time.Duration(i) * p)
		out[i] = [2]time.Time{end.Add(-p), end}
	}
	return out
}

// Evaluate decides an alarm's state from the statistic of each evaluation period (newest
// first, as Windows orders them; nil where the period has no data) at now. It is pure.
func Evaluate(a Alarm, values []*float64, now time.Time) Evaluation {
	m := a.DatapointsToAlarm
	if m <= 0 || m > a.EvaluationPeriods {
		m = a.EvaluationPeriods
	}
	breaching, present := 0, 0
	var recent []Datapoint
	wins := Windows(a, now)
	for i, v := range values {
		if v == nil {
			switch a.TreatMissingData {
			case MissingBreaching:
				breaching++
				present++
			case MissingNotBreaching:
				present++
			}
			continue
		}
		present++
		recent = append(recent, Datapoint{Start: wins[i][0], Value: *v})
		if Breaches(a.ComparisonOperator, *v, a.Threshold) {
			breaching++
		}
	}
	data := reasonData(a, recent, now)
	switch {
	case breaching >= m:
		return Evaluation{State: Alarming, ReasonData: data, Reason: fmt.Sprintf(
			"Threshold Crossed: %d out of the last %d datapoints %s %s the threshold (%s) (minimum %d datapoint%s for OK -> ALARM transition).",
			breaching, a.EvaluationPeriods, listPoints(recent), verb(a.ComparisonOperator, true), num(a.Threshold), m, plural(m))}
	case present == 0 && a.TreatMissingData == MissingIgnore:
		return Evaluation{Keep: true}
	case present == 0:
		return Evaluation{State: InsufficientData, ReasonData: data, Reason: fmt.Sprintf(
			"Insufficient Data: %d datapoint%s were unknown.", a.EvaluationPeriods, plural(a.EvaluationPeriods))}
	default:
		return Evaluation{State: OK, ReasonData: data, Reason: fmt.Sprintf(
			"Threshold Crossed: %d out of the last %d datapoints %s not %s the threshold (%s) (minimum %d datapoint%s for ALARM -> OK transition).",
			present-breaching, a.EvaluationPeriods, listPoints(recent), verb(a.ComparisonOperator, false), num(a.Threshold), 1, "")}
	}
}

// Breaches reports whether v is on the alarm side of threshold.
func Breaches(op string, v, threshold float64) bool {
	switch op {
	case GreaterOrEqual:
		return v >= threshold
	case Greater:
		return v > threshold
	case Less:
		return v < threshold
	case LessOrEqual:
		return v <= threshold
	}
	return false
}

func verb(op string, alarm bool) string {
	w := map[string]string{GreaterOrEqual: "greater than or equal to", Greater: "greater than", Less: "less than", LessOrEqual: "less than or equal to"}[op]
	if alarm {
		return "were " + w
	}
	return w
}

func listPoints(ps []Datapoint) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		parts = append(parts, fmt.Sprintf("%s (%s)", num(p.Value), p.Start.UTC().Format("02/01/06 15:04:05")))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func num(f float64) string {
	s := fmt.Sprintf("%g", f)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// reasonData is CloudWatch's StateReasonData document.
func reasonData(a Alarm, recent []Datapoint, now time.Time) string {
	values := make([]float64, 0, len(recent))
	for _, p := range recent {
		values = append(values, p.Value)
	}
	var start string
	if len(recent) > 0 {
		start = recent[len(recent)-1].Start.UTC().Format("2006-01-02T15:04:05.000+0000")
	}
	b, _ := json.Marshal(map[string]any{
		"version": "1.0", "queryDate": now.UTC().Format("2006-01-02T15:04:05.000+0000"), "startDate": start,
		"statistic": a.Statistic, "period": a.Period, "recentDatapoints": values, "threshold": a.Threshold,
		"evaluatedDatapoints": len(recent),
	})
	return string(b)
}

// Aggregate sums data up per window: the statistic of each window's data, nil when it has
// none. windows are [start, end) pairs; a datum belongs to the window holding its time.
func Aggregate(data []Datum, windows [][2]time.Time, statistic string) []*float64 {
	sets := make([]Stats, len(windows))
	for _, d := range data {
		for i, w := range windows {
			if !d.Time.Before(w[0]) && d.Time.Before(w[1]) {
				sets[i].Add(d.Stats)
				break
			}
		}
	}
	out := make([]*float64, len(windows))
	for i, s := range sets {
		if s.Count > 0 {
			v := s.Statistic(statistic)
			out[i] = &v
		}
	}
	return out
}
