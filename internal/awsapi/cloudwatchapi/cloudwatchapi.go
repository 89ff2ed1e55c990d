// Package cloudwatchapi serves the CloudWatch metrics and alarms subset. CloudWatch's model
// declares smithy-rpc-v2-cbor, awsJson1_0 (target prefix GraniteServiceVersion20100801,
// awsQueryCompatible) and awsQuery: botocore 1.43 sends awsJson1_0, Debian's boto3 1.26 and aws
// CLI v2.9 send awsQuery; both are served (CBOR is not: no client here sends it by default).
// It translates wire shapes to package alarms' calls and back; every rule, and every
// authorization decision, lives in package alarms.
package cloudwatchapi

import (
	"context"
	"strconv"
	"time"

	"github.com/slipway-ml/slipway/internal/alarms"
	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/errs"
)

// API holds what the handlers need.
type API struct {
	Alarms *alarms.Service
	Tokens *awsapi.PageTokens
}

// Service is the CloudWatch service: its model, the operations and its error codes.
func (a *API) Service() (*awsapi.Service, error) {
	return awsapi.NewService("cloudwatch", a.handlers(), errorCodes())
}

func (a *API) handlers() map[string]awsapi.Handler {
	return map[string]awsapi.Handler{
		"PutMetricData":           apicall.Handle(a.putData),
		"GetMetricStatistics":     apicall.Handle(a.statistics),
		"GetMetricData":           apicall.Handle(a.data),
		"ListMetrics":             apicall.Handle(a.listMetrics),
		"PutMetricAlarm":          apicall.Handle(a.putAlarm),
		"DescribeAlarms":          apicall.Handle(a.describeAlarms),
		"DescribeAlarmsForMetric": apicall.Handle(a.alarmsForMetric),
		"DeleteAlarms":            apicall.Handle(a.deleteAlarms),
		"SetAlarmState":           apicall.Handle(a.setState),
		"DescribeAlarmHistory":    apicall.Handle(a.history),
	}
}

func badToken() error {
	return errs.E(errs.Invalid, "The specified NextToken is invalid.").WithCode("InvalidNextToken")
}

func unsupported(what string) error {
	return errs.E(errs.Invalid, "%s is not supported by this server", what).WithCode("InvalidParameterValue")
}

type dimension struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

func dims(ds []dimension) []alarms.Dimension {
	out := make([]alarms.Dimension, len(ds))
	for i, d := range ds {
		out[i] = alarms.Dimension{Name: d.Name, Value: d.Value}
	}
	return out
}

func wireDims(ds []alarms.Dimension) []dimension {
	out := make([]dimension, len(ds))
	for i, d := range ds {
		out[i] = dimension{d.Name, d.Value}
	}
	return out
}

type statisticSet struct {
	SampleCount, Sum, Minimum, Maximum float64
}

type datum struct {
	MetricName        string
	Dimensions        []dimension
	Timestamp         *time.Time
	Value             *float64
	StatisticValues   *statisticSet
	Values            []float64
	Counts            []float64
	Unit              string
	StorageResolution int
}

type putDataIn struct {
	Namespace  string
	MetricData []datum
	// EntityMetricData and StrictEntityValidation are refused below when given.
	EntityMetricData []any
}

func (a *API) putData(ctx context.Context, req *awsapi.Request, in *putDataIn) (any, error) {
	if len(in.EntityMetricData) > 0 {
		return nil, unsupported("EntityMetricData")
	}
	var data []alarms.Datum
	for i, d := range in.MetricData {
		base := alarms.Datum{Metric: alarms.Metric{Name: d.MetricName, Dimensions: dims(d.Dimensions)}, Unit: d.Unit}
		if d.Timestamp != nil {
			base.Time = *d.Timestamp
		}
		given := 0
		if d.Value != nil {
			given++
			v := *d.Value
			base.Stats = alarms.Stats{Count: 1, Sum: v, Min: v, Max: v}
			data = append(data, base)
		}
		if s := d.StatisticValues; s != nil {
			given++
			base.Stats = alarms.Stats{Count: s.SampleCount, Sum: s.Sum, Min: s.Minimum, Max: s.Maximum}
			data = append(data, base)
		}
		if len(d.Values) > 0 {
			given++
			if len(d.Values) > alarms.MaxValues || len(d.Counts) > 0 && len(d.Counts) != len(d.Values) {
				return nil, errs.E(errs.Invalid, "MetricData.member.%d: Values holds at most %d numbers, and Counts as many as Values", i+1, alarms.MaxValues).WithCode("InvalidParameterValue")
			}
			for j, v := range d.Values {
				n := 1.0
				if len(d.Counts) > 0 {
					n = d.Counts[j]
				}
				b := base
				b.Stats = alarms.Stats{Count: n, Sum: v * n, Min: v, Max: v}
				data = append(data, b)
			}
		}
		if given != 1 {
			return nil, errs.E(errs.Invalid, "MetricData.member.%d must give exactly one of Value, StatisticValues or Values", i+1).WithCode("InvalidParameterCombination")
		}
	}
	return nil, a.Alarms.PutData(ctx, apicall.Call(req), in.Namespace, data)
}

type statisticsIn struct {
	Namespace, MetricName string
	Dimensions            []dimension
	StartTime, EndTime    time.Time
	Period                int
	Statistics            []string
	ExtendedStatistics    []string
	Unit                  string
}

func (a *API) statistics(ctx context.Context, req *awsapi.Request, in *statisticsIn) (any, error) {
	if len(in.ExtendedStatistics) > 0 {
		return nil, unsupported("ExtendedStatistics (percentiles)")
	}
	m := alarms.Metric{Namespace: in.Namespace, Name: in.MetricName, Dimensions: dims(in.Dimensions)}
	ps, err := a.Alarms.Statistics(ctx, apicall.Call(req), m, in.StartTime, in.EndTime, in.Period, in.Statistics)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(ps))
	for _, p := range ps {
		d := map[string]any{"Timestamp": p.Time}
		if p.Unit != "" {
			d["Unit"] = p.Unit
		}
		for k, v := range p.Values {
			d[k] = v
		}
		out = append(out, d)
	}
	return map[string]any{"Label": in.MetricName, "Datapoints": out}, nil
}

type metricStat struct {
	Metric struct {
		Namespace, MetricName string
		Dimensions            []dimension
	}
	Period int
	Stat   string
	Unit   string
}

type dataIn struct {
	MetricDataQueries []struct {
		Id         string
		Label      string
		MetricStat *metricStat
		Expression string
		ReturnData *bool
		Period     int
		AccountId  string
	}
	StartTime, EndTime time.Time
	NextToken          string
	ScanBy             string
	MaxDatapoints      int
}

func (a *API) data(ctx context.Context, req *awsapi.Request, in *dataIn) (any, error) {
	qs := make([]alarms.DataQuery, 0, len(in.MetricDataQueries))
	for _, q := range in.MetricDataQueries {
		switch {
		case q.Expression != "":
			return nil, unsupported("Metric math (Expression)")
		case q.MetricStat == nil:
			return nil, errs.E(errs.Invalid, "The query %s must give a MetricStat.", q.Id).WithCode("MissingParameter")
		case q.AccountId != "" && q.AccountId != req.Caller.Account:
			return nil, unsupported("Cross-account queries (AccountId)")
		}
		s := q.MetricStat
		qs = append(qs, alarms.DataQuery{ID: q.Id, Label: q.Label, Period: s.Period, Stat: s.Stat, Unit: s.Unit,
			Metric:   alarms.Metric{Namespace: s.Metric.Namespace, Name: s.Metric.MetricName, Dimensions: dims(s.Metric.Dimensions)},
			NoReturn: q.ReturnData != nil && !*q.ReturnData, Ascending: in.ScanBy == "TimestampAscending"})
	}
	if in.NextToken != "" {
		return nil, badToken() // every answer here is one page
	}
	rs, err := a.Alarms.Data(ctx, apicall.Call(req), qs, in.StartTime, in.EndTime)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(rs))
	for _, r := range rs {
		times := r.Times
		if times == nil {
			times = []time.Time{}
		}
		values := r.Values
		if values == nil {
			values = []float64{}
		}
		out = append(out, map[string]any{"Id": r.ID, "Label": r.Label, "Timestamps": times, "Values": values, "StatusCode": "Complete"})
	}
	return map[string]any{"MetricDataResults": out, "Messages": []any{}}, nil
}

type listMetricsIn struct {
	Namespace, MetricName string
	Dimensions            []struct {
		Name  string
		Value *string
	}
	NextToken             string
	RecentlyActive        string
	IncludeLinkedAccounts bool
}

func (a *API) listMetrics(ctx context.Context, req *awsapi.Request, in *listMetricsIn) (any, error) {
	q := alarms.MetricQuery{Namespace: in.Namespace, Name: in.MetricName, Limit: 500}
	for _, d := range in.Dimensions {
		f := alarms.DimensionFilter{Name: d.Name}
		if d.Value != nil {
			f.Value, f.HasValue = *d.Value, true
		}
		q.Dimensions = append(q.Dimensions, f)
	}
	scope := "cloudwatch/ListMetrics/" + req.Caller.Account + "/" + in.Namespace + "/" + in.MetricName
	if in.NextToken != "" {
		if err := a.Tokens.Decode(scope, in.NextToken, &q.After); err != nil {
			return nil, badToken()
		}
	}
	q.Limit++
	ms, err := a.Alarms.ListMetrics(ctx, apicall.Call(req), q)
	if err != nil {
		return nil, err
	}
	var next string
	if len(ms) > 500 {
		ms = ms[:500]
		if next, err = a.Tokens.Encode(scope, alarms.MetricCursor(ms[499])); err != nil {
			return nil, err
		}
	}
	out := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		out = append(out, map[string]any{"Namespace": m.Namespace, "MetricName": m.Name, "Dimensions": wireDims(m.Dimensions)})
	}
	res := map[string]any{"Metrics": out}
	if next != "" {
		res["NextToken"] = next
	}
	return res, nil
}

type putAlarmIn struct {
	AlarmName, AlarmDescription                      string
	ActionsEnabled                                   *bool
	OKActions, AlarmActions, InsufficientDataActions []string
	MetricName, Namespace, Statistic                 string
	ExtendedStatistic                                string
	Dimensions                                       []dimension
	Period, EvaluationPeriods, DatapointsToAlarm     int
	Threshold                                        *float64
	ComparisonOperator, TreatMissingData, Unit       string
	EvaluateLowSampleCountPercentile                 string
	Metrics                                          []any
	ThresholdMetricId                                string
	Tags                                             []any
	EvaluationCriteria                               any
	EvaluationInterval                               int
}

func (a *API) putAlarm(ctx context.Context, req *awsapi.Request, in *putAlarmIn) (any, error) {
	switch {
	case len(in.OKActions)+len(in.AlarmActions)+len(in.InsufficientDataActions) > 0:
		return nil, unsupported("Alarm actions (OKActions, AlarmActions, InsufficientDataActions); match the \"CloudWatch Alarm State Change\" event with an EventBridge rule instead, and")
	case in.ExtendedStatistic != "":
		return nil, unsupported("ExtendedStatistic (percentiles)")
	case len(in.Metrics) > 0 || in.ThresholdMetricId != "":
		return nil, unsupported("Metric math alarms (Metrics, ThresholdMetricId)")
	case len(in.Tags) > 0:
		return nil, unsupported("Tags on alarms")
	case in.EvaluationCriteria != nil:
		return nil, unsupported("EvaluationCriteria")
	case in.Threshold == nil:
		return nil, errs.E(errs.Invalid, "The parameter Threshold is required.").WithCode("MissingParameter")
	case in.Namespace == "" || in.MetricName == "" || in.Statistic == "" || in.Period == 0 || in.EvaluationPeriods == 0 || in.ComparisonOperator == "":
		return nil, errs.E(errs.Invalid, "A metric alarm needs Namespace, MetricName, Statistic, Period, EvaluationPeriods and ComparisonOperator.").WithCode("MissingParameter")
	}
	al := alarms.Alarm{Name: in.AlarmName, Description: in.AlarmDescription, ActionsEnabled: in.ActionsEnabled == nil || *in.ActionsEnabled,
		Metric:    alarms.Metric{Namespace: in.Namespace, Name: in.MetricName, Dimensions: dims(in.Dimensions)},
		Statistic: in.Statistic, Period: in.Period, EvaluationPeriods: in.EvaluationPeriods, DatapointsToAlarm: in.DatapointsToAlarm,
		Threshold: *in.Threshold, ComparisonOperator: in.ComparisonOperator, TreatMissingData: in.TreatMissingData, Unit: in.Unit}
	return nil, a.Alarms.PutAlarm(ctx, apicall.Call(req), al)
}

// metricAlarm is an alarm's wire shape.
func (a *API) metricAlarm(al alarms.Alarm) map[string]any {
	m := map[string]any{
		"AlarmName": al.Name, "AlarmArn": a.Alarms.AlarmARN(al.Account, al.Name), "ActionsEnabled": al.ActionsEnabled,
		"AlarmConfigurationUpdatedTimestamp": al.ConfigUpdated, "OKActions": []string{}, "AlarmActions": []string{}, "InsufficientDataActions": []string{},
		"StateValue": string(al.State), "StateReason": al.StateReason, "StateUpdatedTimestamp": al.StateUpdated,
		"StateTransitionedTimestamp": al.StateUpdated,
		"MetricName":                 al.Metric.Name, "Namespace": al.Metric.Namespace, "Statistic": al.Statistic, "Dimensions": wireDims(al.Metric.Dimensions),
		"Period": al.Period, "EvaluationPeriods": al.EvaluationPeriods, "DatapointsToAlarm": al.DatapointsToAlarm, "Threshold": al.Threshold,
		"ComparisonOperator": al.ComparisonOperator, "TreatMissingData": al.TreatMissingData,
	}
	if al.Description != "" {
		m["AlarmDescription"] = al.Description
	}
	if al.StateReasonData != "" {
		m["StateReasonData"] = al.StateReasonData
	}
	if al.Unit != "" {
		m["Unit"] = al.Unit
	}
	return m
}

type describeAlarmsIn struct {
	AlarmNames                              []string
	AlarmNamePrefix                         string
	AlarmTypes                              []string
	ChildrenOfAlarmName, ParentsOfAlarmName string
	StateValue                              string
	ActionPrefix                            string
	MaxRecords                              int
	NextToken                               string
}

func (a *API) describeAlarms(ctx context.Context, req *awsapi.Request, in *describeAlarmsIn) (any, error) {
	switch {
	case in.ChildrenOfAlarmName != "" || in.ParentsOfAlarmName != "":
		return nil, unsupported("Composite alarms")
	case in.ActionPrefix != "":
		return nil, unsupported("ActionPrefix (alarms have no actions here)")
	}
	metricAlarms := len(in.AlarmTypes) == 0
	for _, t := range in.AlarmTypes {
		metricAlarms = metricAlarms || t == "MetricAlarm"
	}
	limit := in.MaxRecords
	if limit <= 0 {
		limit = 50
	}
	q := alarms.AlarmQuery{Names: in.AlarmNames, Prefix: in.AlarmNamePrefix, State: alarms.State(in.StateValue), Limit: limit + 1}
	scope := "cloudwatch/DescribeAlarms/" + req.Caller.Account + "/" + in.AlarmNamePrefix + "/" + in.StateValue
	if in.NextToken != "" {
		if err := a.Tokens.Decode(scope, in.NextToken, &q.After); err != nil {
			return nil, badToken()
		}
	}
	var as []alarms.Alarm
	if metricAlarms {
		var err error
		if as, err = a.Alarms.DescribeAlarms(ctx, apicall.Call(req), q); err != nil {
			return nil, err
		}
	}
	res := map[string]any{"CompositeAlarms": []any{}}
	if len(as) > limit {
		as = as[:limit]
		next, err := a.Tokens.Encode(scope, as[limit-1].Name)
		if err != nil {
			return nil, err
		}
		res["NextToken"] = next
	}
	out := make([]map[string]any, 0, len(as))
	for _, al := range as {
		out = append(out, a.metricAlarm(al))
	}
	res["MetricAlarms"] = out
	return res, nil
}

type alarmsForMetricIn struct {
	Namespace, MetricName, Statistic, ExtendedStatistic, Unit string
	Dimensions                                                []dimension
	Period                                                    int
}

func (a *API) alarmsForMetric(ctx context.Context, req *awsapi.Request, in *alarmsForMetricIn) (any, error) {
	m := alarms.Metric{Namespace: in.Namespace, Name: in.MetricName, Dimensions: dims(in.Dimensions)}
	as, err := a.Alarms.AlarmsForMetric(ctx, apicall.Call(req), m, in.Statistic, in.Period)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(as))
	for _, al := range as {
		out = append(out, a.metricAlarm(al))
	}
	return map[string]any{"MetricAlarms": out}, nil
}

type deleteAlarmsIn struct {
	AlarmNames []string
}

func (a *API) deleteAlarms(ctx context.Context, req *awsapi.Request, in *deleteAlarmsIn) (any, error) {
	return nil, a.Alarms.DeleteAlarms(ctx, apicall.Call(req), in.AlarmNames)
}

type setStateIn struct {
	AlarmName, StateValue, StateReason, StateReasonData string
}

func (a *API) setState(ctx context.Context, req *awsapi.Request, in *setStateIn) (any, error) {
	return nil, a.Alarms.SetState(ctx, apicall.Call(req), in.AlarmName, alarms.State(in.StateValue), in.StateReason, in.StateReasonData)
}

type historyIn struct {
	AlarmName, HistoryItemType, ScanBy, NextToken, AlarmContributorId string
	AlarmTypes                                                        []string
	StartDate, EndDate                                                *time.Time
	MaxRecords                                                        int
}

func (a *API) history(ctx context.Context, req *awsapi.Request, in *historyIn) (any, error) {
	if in.AlarmContributorId != "" {
		return nil, unsupported("AlarmContributorId")
	}
	limit := in.MaxRecords
	if limit <= 0 {
		limit = 50
	}
	q := alarms.HistoryQuery{Alarm: in.AlarmName, Type: in.HistoryItemType, Limit: limit + 1, Ascending: in.ScanBy == "TimestampAscending"}
	if in.StartDate != nil {
		q.Start = *in.StartDate
	}
	if in.EndDate != nil {
		q.End = *in.EndDate
	}
	scope := "cloudwatch/DescribeAlarmHistory/" + req.Caller.Account + "/" + in.AlarmName + "/" + in.HistoryItemType + "/" + in.ScanBy
	if in.NextToken != "" {
		var s string
		if err := a.Tokens.Decode(scope, in.NextToken, &s); err != nil {
			return nil, badToken()
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, badToken()
		}
		q.Before = n
	}
	hs, err := a.Alarms.History(ctx, apicall.Call(req), q)
	if err != nil {
		return nil, err
	}
	res := map[string]any{}
	if len(hs) > limit {
		hs = hs[:limit]
		next, err := a.Tokens.Encode(scope, strconv.FormatInt(hs[limit-1].Seq, 10))
		if err != nil {
			return nil, err
		}
		res["NextToken"] = next
	}
	out := make([]map[string]any, 0, len(hs))
	for _, h := range hs {
		out = append(out, map[string]any{"AlarmName": h.Alarm, "AlarmType": h.AlarmType, "Timestamp": h.Time,
			"HistoryItemType": h.Type, "HistorySummary": h.Summary, "HistoryData": h.Data})
	}
	res["AlarmHistoryItems"] = out
	return res, nil
}
