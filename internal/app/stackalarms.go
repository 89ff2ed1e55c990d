package app

import (
	"context"
	"fmt"
	"strconv"

	"github.com/slipway-ml/slipway/internal/alarms"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/stacks"
)

// ---- AWS::CloudWatch::Alarm: a static-threshold metric alarm (Ref: its name; Arn).

type alarmProvider struct{ s *alarms.Service }

var _ stacks.Schema = alarmProvider{}

var alarmProps = []string{"AlarmName", "AlarmDescription", "ActionsEnabled", "Namespace", "MetricName", "Dimensions", "Statistic",
	"Period", "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData", "Unit"}

func (alarmProvider) Properties() ([]string, []string) {
	return alarmProps, []string{"ComparisonOperator", "EvaluationPeriods"}
}

// alarmNumber reads a number a template gives as a number or a string.
func alarmNumber(p map[string]any, key string) (float64, error) {
	switch v := p[key].(type) {
	case nil:
		return 0, nil
	case float64:
		return v, nil
	case int:
		return float64(v), nil
	case string:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, errs.E(errs.Invalid, "%s: %q is not a number", key, v)
		}
		return f, nil
	}
	return 0, errs.E(errs.Invalid, "%s must be a number", key)
}

func alarmString(p map[string]any, key string) (string, error) {
	switch v := p[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	}
	return "", errs.E(errs.Invalid, "%s must be a string", key)
}

// alarmOf reads an alarm's definition from a template's properties.
func alarmOf(name string, p map[string]any) (alarms.Alarm, error) {
	a := alarms.Alarm{Name: name, ActionsEnabled: true}
	for _, k := range []string{"AlarmActions", "OKActions", "InsufficientDataActions", "Metrics", "ExtendedStatistic"} {
		if p[k] != nil {
			return a, errs.E(errs.Invalid, "AWS::CloudWatch::Alarm: %s is not supported by this server", k)
		}
	}
	var err error
	str := func(key string) string {
		s, e := alarmString(p, key)
		if err == nil {
			err = e
		}
		return s
	}
	number := func(key string) float64 {
		f, e := alarmNumber(p, key)
		if err == nil {
			err = e
		}
		return f
	}
	a.Description, a.Metric.Namespace, a.Metric.Name = str("AlarmDescription"), str("Namespace"), str("MetricName")
	a.Statistic, a.ComparisonOperator, a.TreatMissingData, a.Unit = str("Statistic"), str("ComparisonOperator"), str("TreatMissingData"), str("Unit")
	a.Period, a.EvaluationPeriods, a.DatapointsToAlarm = int(number("Period")), int(number("EvaluationPeriods")), int(number("DatapointsToAlarm"))
	a.Threshold = number("Threshold")
	if err != nil {
		return a, err
	}
	if ds, ok := p["Dimensions"].([]any); ok {
		for i, d := range ds {
			m, ok := d.(map[string]any)
			n, _ := m["Name"].(string)
			v, _ := m["Value"].(string)
			if !ok || n == "" {
				return a, errs.E(errs.Invalid, "Dimensions[%d] needs a Name and a Value", i)
			}
			a.Metric.Dimensions = append(a.Metric.Dimensions, alarms.Dimension{Name: n, Value: v})
		}
	} else if p["Dimensions"] != nil {
		return a, errs.E(errs.Invalid, "Dimensions must be a list")
	}
	if b, ok := p["ActionsEnabled"].(bool); ok {
		a.ActionsEnabled = b
	}
	return a, nil
}

func (p alarmProvider) put(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	n, _, err := name(r, "AlarmName")
	if err != nil {
		return stacks.Result{}, err
	}
	a, err := alarmOf(n, r.Properties)
	if err != nil {
		return stacks.Result{}, err
	}
	if err := p.s.PutAlarm(ctx, r.Call, a); err != nil {
		return stacks.Result{}, fmt.Errorf("cannot put the alarm %s: %w", n, err)
	}
	return done(n, map[string]any{"Arn": p.s.AlarmARN(r.Call.Caller.Account, n)}), nil
}

// Create puts the alarm (PutMetricAlarm replaces one of the same name: a retried creation
// adopts it).
func (p alarmProvider) Create(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	return p.put(ctx, r)
}

func (p alarmProvider) Check(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	return done(r.PhysicalID, map[string]any{"Arn": p.s.AlarmARN(r.Call.Caller.Account, r.PhysicalID)}), nil
}

func (alarmProvider) Replaces(old, new map[string]any) bool { return changed(old, new, "AlarmName") }

func (p alarmProvider) Update(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	r.Name = r.PhysicalID
	return p.put(ctx, r)
}

func (p alarmProvider) Delete(ctx context.Context, r stacks.Request) (bool, error) {
	err := p.s.DeleteAlarms(ctx, r.Call, []string{physical(r, "AlarmName")})
	if errs.Is(err, errs.NotFound) {
		return true, nil
	}
	return err == nil, err
}
