package alarms

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/randid"
)

// CloudWatch's limits.
const (
	MaxDatums         = 1000 // MetricData items of one PutMetricData
	MaxDimensions     = 30
	MaxValues         = 150 // Values of one MetricDatum
	MaxDatapoints     = 1440
	MaxDataQueries    = 500
	maxPast           = 14 * 24 * time.Hour
	maxFuture         = 2 * time.Hour
	defaultAlarmPage  = 50
	maxAlarmPage      = 100
	defaultMetricPage = 500
)

// Service is the CloudWatch subset's business logic.
type Service struct {
	store     Store
	authz     Authorizer
	endpoints *EndpointMetrics
	region    string
	partition string
	now       func() time.Time
}

// NewService returns a Service whose ARNs name region; endpoints is the AWS/SageMaker namespace.
func NewService(st Store, authz Authorizer, endpoints *EndpointMetrics, region string, now func() time.Time) *Service {
	return &Service{store: st, authz: authz, endpoints: endpoints, region: region, partition: "aws", now: now}
}

// AlarmARN returns an alarm's ARN.
func (s *Service) AlarmARN(account, name string) string {
	return arn.Alarm(s.partition, s.region, account, name)
}

func invalid(format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...)
}

// bad is an Invalid error with CloudWatch's code.
func bad(code, format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...).WithCode(code)
}

func missing(name string) error {
	return errs.E(errs.NotFound, "Could not find alarm %s.", name).WithCode("ResourceNotFound")
}

// authorize asks for action on resource in the caller's account.
func (s *Service) authorize(ctx context.Context, c identity.Call, action, resource string) error {
	_, err := s.authz.Authorize(ctx, c.Caller, identity.Action{Name: "cloudwatch:" + action, Resource: resource,
		ResourceAccount: c.Caller.Account, Context: c.Context})
	return err
}

// CheckMetric validates a metric's names.
func CheckMetric(m Metric) error {
	if err := checkName("Namespace", m.Namespace, 255); err != nil {
		return err
	}
	if err := checkName("MetricName", m.Name, 255); err != nil {
		return err
	}
	if len(m.Dimensions) > MaxDimensions {
		return invalid("a metric has at most %d dimensions", MaxDimensions)
	}
	seen := map[string]bool{}
	for _, d := range m.Dimensions {
		if err := checkName("Dimension name", d.Name, 255); err != nil {
			return err
		}
		if err := checkName("Dimension value", d.Value, 1024); err != nil {
			return err
		}
		if seen[d.Name] {
			return invalid("The dimension %s is given twice.", d.Name)
		}
		seen[d.Name] = true
	}
	return nil
}

func checkName(what, v string, max int) error {
	if v == "" || len(v) > max || !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return invalid("%s must be 1 to %d characters, without control characters", what, max)
	}
	return nil
}

// PutData stores datapoints of a custom namespace in the caller's account and wakes the
// alarms watching their metrics.
func (s *Service) PutData(ctx context.Context, c identity.Call, namespace string, data []Datum) error {
	if strings.HasPrefix(namespace, "AWS/") {
		return bad("InvalidParameterValue", "The value %s for parameter Namespace is invalid: the AWS/ namespaces are reserved.", namespace)
	}
	if len(data) == 0 || len(data) > MaxDatums {
		return invalid("MetricData must hold 1 to %d items", MaxDatums)
	}
	now := s.now()
	for i := range data {
		d := &data[i]
		d.Account, d.Metric.Namespace = c.Caller.Account, namespace
		d.Metric = d.Metric.normalize()
		if err := CheckMetric(d.Metric); err != nil {
			return err
		}
		if d.Time.IsZero() {
			d.Time = now
		}
		if d.Time.Before(now.Add(-maxPast)) || d.Time.After(now.Add(maxFuture)) {
			return bad("InvalidParameterValue", "The parameter MetricData.member.%d.Timestamp must be within the last two weeks and the next two hours.", i+1)
		}
		st := d.Stats
		for _, v := range []float64{st.Count, st.Sum, st.Min, st.Max} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return bad("InvalidParameterValue", "The value of MetricData.member.%d is not a finite number.", i+1)
			}
		}
		if st.Count <= 0 || st.Min > st.Max {
			return bad("InvalidParameterValue", "MetricData.member.%d: a statistic set needs SampleCount > 0 and Minimum <= Maximum", i+1)
		}
	}
	if err := s.authorize(ctx, c, "PutMetricData", "*"); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		if err := tx.PutData(ctx, data); err != nil {
			return err
		}
		woken := map[string]bool{}
		for _, d := range data {
			if woken[d.Metric.Name] {
				continue
			}
			woken[d.Metric.Name] = true
			names, err := tx.AlarmsOn(ctx, d.Account, namespace, d.Metric.Name)
			if err != nil {
				return err
			}
			for _, n := range names {
				if err := tx.Enqueue(ctx, WorkKind, d.Account+"/"+n, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// PruneData deletes the stored datapoints older than DataRetention (of every account), batch at a
// time (PruneBatch when batch <= 0), each batch in its own transaction; it returns how many it
// deleted. The in-memory AWS/SageMaker namespace expires on its own.
func (s *Service) PruneData(ctx context.Context, batch int) (int, error) {
	if batch <= 0 {
		batch = PruneBatch
	}
	before := s.now().Add(-DataRetention)
	total := 0
	for {
		var n int
		err := s.store.Ingest(ctx, func(tx Tx) (err error) {
			n, err = tx.PruneData(ctx, before, batch)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < batch {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// datapoints reads a metric's data from where its namespace lives.
func (s *Service) datapoints(ctx context.Context, account string, m Metric, start, end time.Time) ([]Datum, error) {
	if m.Namespace == SageMakerNamespace {
		if s.endpoints == nil {
			return nil, nil
		}
		return s.endpoints.Datapoints(account, m.normalize(), start, end), nil
	}
	return s.store.Datapoints(ctx, account, m.normalize(), start, end)
}

// StatPoint is one period of GetMetricStatistics.
type StatPoint struct {
	Time   time.Time
	Unit   string
	Values map[string]float64
}

// checkRange validates a query's time range and period.
func checkRange(start, end time.Time, period int) error {
	switch {
	case !start.Before(end):
		return bad("InvalidParameterValue", "The parameter StartTime must be less than the parameter EndTime.")
	case period <= 0 || period%60 != 0 && period != 1 && period != 5 && period != 10 && period != 30:
		return bad("InvalidParameterValue", "The parameter Period must be 1, 5, 10, 30 or a multiple of 60.")
	case end.Sub(start)/(time.Duration(period)*time.Second) > MaxDatapoints:
		return bad("InvalidParameterCombination", "You have requested up to %d datapoints, which exceeds the limit of %d. You may reduce the datapoints requested by increasing Period, or decreasing the time range.",
			int64(end.Sub(start)/(time.Duration(period)*time.Second)), MaxDatapoints)
	}
	return nil
}

// Statistics answers GetMetricStatistics: per period aligned on start, the statistics asked.
func (s *Service) Statistics(ctx context.Context, c identity.Call, m Metric, start, end time.Time, period int, stats []string) ([]StatPoint, error) {
	if err := CheckMetric(m); err != nil {
		return nil, err
	}
	if err := checkRange(start, end, period); err != nil {
		return nil, err
	}
	if len(stats) == 0 {
		return nil, bad("MissingParameter", "Statistics or ExtendedStatistics must be given.")
	}
	for _, st := range stats {
		if !isStatistic(st) {
			return nil, bad("InvalidParameterValue", "The parameter Statistics has the unknown statistic %s.", st)
		}
	}
	if err := s.authorize(ctx, c, "GetMetricStatistics", "*"); err != nil {
		return nil, err
	}
	data, err := s.datapoints(ctx, c.Caller.Account, m, start, end)
	if err != nil {
		return nil, err
	}
	sets, units := bucket(data, start, period)
	out := make([]StatPoint, 0, len(sets))
	for t, set := range sets {
		p := StatPoint{Time: t, Unit: units[t], Values: map[string]float64{}}
		for _, st := range stats {
			p.Values[st] = set.Statistic(st)
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

func isStatistic(s string) bool {
	for _, x := range Statistics {
		if x == s {
			return true
		}
	}
	return false
}

// bucket sums data up per period aligned on start.
func bucket(data []Datum, start time.Time, period int) (map[time.Time]Stats, map[time.Time]string) {
	p := time.Duration(period) * time.Second
	sets, units := map[time.Time]Stats{}, map[time.Time]string{}
	for _, d := range data {
		t := start.Add(d.Time.Sub(start) / p * p)
		st := sets[t]
		st.Add(d.Stats)
		sets[t] = st
		if d.Unit != "" {
			units[t] = d.Unit
		}
	}
	return sets, units
}

// DataQuery is one MetricStat query of GetMetricData.
type DataQuery struct {
	ID        string
	Label     string
	Metric    Metric
	Period    int
	Stat      string
	Unit      string
	NoReturn  bool // ReturnData false
	Ascending bool
}

// DataResult is one query's answer.
type DataResult struct {
	ID, Label string
	Times     []time.Time
	Values    []float64
}

// Data answers GetMetricData's MetricStat queries.
func (s *Service) Data(ctx context.Context, c identity.Call, qs []DataQuery, start, end time.Time) ([]DataResult, error) {
	if len(qs) == 0 || len(qs) > MaxDataQueries {
		return nil, invalid("MetricDataQueries must hold 1 to %d queries", MaxDataQueries)
	}
	ids := map[string]bool{}
	for _, q := range qs {
		if ids[q.ID] {
			return nil, bad("InvalidParameterValue", "The value %s for parameter MetricDataQueries.Id is used twice.", q.ID)
		}
		ids[q.ID] = true
		if err := CheckMetric(q.Metric); err != nil {
			return nil, err
		}
		if err := checkRange(start, end, q.Period); err != nil {
			return nil, err
		}
		if !isStatistic(q.Stat) {
			return nil, bad("InvalidParameterValue", "The statistic %s is not supported: use SampleCount, Average, Sum, Minimum or Maximum.", q.Stat)
		}
	}
	if err := s.authorize(ctx, c, "GetMetricData", "*"); err != nil {
		return nil, err
	}
	var out []DataResult
	for _, q := range qs {
		if q.NoReturn {
			continue
		}
		data, err := s.datapoints(ctx, c.Caller.Account, q.Metric, start, end)
		if err != nil {
			return nil, err
		}
		sets, _ := bucket(data, start, q.Period)
		r := DataResult{ID: q.ID, Label: q.Label}
		if r.Label == "" {
			r.Label = q.Metric.Name
		}
		times := make([]time.Time, 0, len(sets))
		for t := range sets {
			times = append(times, t)
		}
		sort.Slice(times, func(i, j int) bool {
			if q.Ascending {
				return times[i].Before(times[j])
			}
			return times[j].Before(times[i])
		})
		for _, t := range times {
			r.Times = append(r.Times, t)
			r.Values = append(r.Values, sets[t].Statistic(q.Stat))
		}
		out = append(out, r)
	}
	return out, nil
}

// ListMetrics lists the caller's metrics (custom ones from the store, then AWS/SageMaker's).
func (s *Service) ListMetrics(ctx context.Context, c identity.Call, q MetricQuery) ([]Metric, error) {
	if err := s.authorize(ctx, c, "ListMetrics", "*"); err != nil {
		return nil, err
	}
	var all []Metric
	if q.Namespace == "" || q.Namespace != SageMakerNamespace {
		ms, err := s.store.Metrics(ctx, c.Caller.Account, MetricQuery{Namespace: q.Namespace, Name: q.Name})
		if err != nil {
			return nil, err
		}
		all = ms
	}
	if s.endpoints != nil && (q.Namespace == "" || q.Namespace == SageMakerNamespace) {
		all = append(all, s.endpoints.Metrics(c.Caller.Account)...)
	}
	var out []Metric
	for _, m := range all {
		if q.Name != "" && m.Name != q.Name || !dimensionsMatch(m, q.Dimensions) {
			continue
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return MetricCursor(out[i]) < MetricCursor(out[j]) })
	if q.After != "" {
		i := sort.Search(len(out), func(i int) bool { return MetricCursor(out[i]) > q.After })
		out = out[i:]
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// MetricCursor is a metric's position in ListMetrics' order.
func MetricCursor(m Metric) string { return m.Namespace + "\x00" + m.Name + "\x00" + m.DimensionKey() }

func dimensionsMatch(m Metric, fs []DimensionFilter) bool {
	for _, f := range fs {
		ok := false
		for _, d := range m.Dimensions {
			if d.Name == f.Name && (!f.HasValue || d.Value == f.Value) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// CheckAlarm validates an alarm's definition, filling in its defaults.
func CheckAlarm(a *Alarm) error {
	if err := checkName("AlarmName", a.Name, 255); err != nil {
		return err
	}
	a.Metric = a.Metric.normalize()
	if err := CheckMetric(a.Metric); err != nil {
		return err
	}
	switch {
	case !isStatistic(a.Statistic):
		return bad("InvalidParameterValue", "The parameter Statistic must be one of SampleCount, Average, Sum, Minimum, Maximum.")
	case a.Period != 10 && a.Period != 30 && (a.Period <= 0 || a.Period%60 != 0):
		return bad("InvalidParameterValue", "The parameter Period must be 10, 30 or a multiple of 60.")
	case a.EvaluationPeriods < 1:
		return bad("InvalidParameterValue", "The parameter EvaluationPeriods must be at least 1.")
	case a.EvaluationPeriods > 7*24*3600/a.Period: // not Period × EvaluationPeriods: it can overflow
		return bad("InvalidParameterCombination", "The evaluation period (Period × EvaluationPeriods) must not exceed one week.")
	case a.DatapointsToAlarm < 0 || a.DatapointsToAlarm > a.EvaluationPeriods:
		return bad("InvalidParameterCombination", "DatapointsToAlarm must be between 1 and EvaluationPeriods.")
	case math.IsNaN(a.Threshold) || math.IsInf(a.Threshold, 0):
		return bad("InvalidParameterValue", "The parameter Threshold must be a finite number.")
	}
	switch a.ComparisonOperator {
	case GreaterOrEqual, Greater, Less, LessOrEqual:
	default:
		return bad("InvalidParameterValue", "The parameter ComparisonOperator must be one of %s, %s, %s, %s (anomaly detection is not supported).",
			GreaterOrEqual, Greater, Less, LessOrEqual)
	}
	switch a.TreatMissingData {
	case "":
		a.TreatMissingData = MissingMissing
	case MissingBreaching, MissingNotBreaching, MissingIgnore, MissingMissing:
	default:
		return bad("InvalidParameterValue", "The parameter TreatMissingData must be breaching, notBreaching, ignore or missing.")
	}
	if a.DatapointsToAlarm == 0 {
		a.DatapointsToAlarm = a.EvaluationPeriods
	}
	return nil
}

// PutAlarm creates or replaces a metric alarm of the caller's account. A new alarm starts in
// INSUFFICIENT_DATA; a replaced one keeps its state until its next evaluation, which is due
// at once.
func (s *Service) PutAlarm(ctx context.Context, c identity.Call, a Alarm) error {
	a.Account = c.Caller.Account
	if err := CheckAlarm(&a); err != nil {
		return err
	}
	if err := s.authorize(ctx, c, "PutMetricAlarm", s.AlarmARN(a.Account, a.Name)); err != nil {
		return err
	}
	now := s.now()
	return s.store.Update(ctx, func(tx Tx) error {
		old, err := tx.LockAlarm(ctx, a.Account, a.Name)
		summary := "Alarm \"" + a.Name + "\" updated"
		switch {
		case errs.Is(err, errs.NotFound):
			a.State, a.StateReason, a.StateUpdated = InsufficientData, "Unchecked: Initial alarm creation", now
			summary = "Alarm \"" + a.Name + "\" created"
		case err != nil:
			return err
		default:
			a.State, a.StateReason, a.StateReasonData, a.StateUpdated = old.State, old.StateReason, old.StateReasonData, old.StateUpdated
		}
		a.ConfigUpdated = now
		if err := tx.PutAlarm(ctx, a); err != nil {
			return err
		}
		data, _ := json.Marshal(map[string]any{"version": "1.0", "type": "Update", "updatedAlarm": alarmConfig(a)})
		if err := tx.AddHistory(ctx, HistoryItem{Account: a.Account, Alarm: a.Name, Time: now, Type: "ConfigurationUpdate",
			Summary: summary, Data: string(data), AlarmType: "MetricAlarm"}); err != nil {
			return err
		}
		return tx.Enqueue(ctx, WorkKind, a.Key(), now)
	})
}

// alarmConfig is the alarm's definition as history and events spell it.
func alarmConfig(a Alarm) map[string]any {
	dims := map[string]string{}
	for _, d := range a.Metric.Dimensions {
		dims[d.Name] = d.Value
	}
	return map[string]any{
		"description": a.Description,
		"metrics": []any{map[string]any{"id": "m1", "returnData": true, "metricStat": map[string]any{
			"metric": map[string]any{"namespace": a.Metric.Namespace, "name": a.Metric.Name, "dimensions": dims},
			"period": a.Period, "stat": a.Statistic}}},
		"threshold": a.Threshold, "comparisonOperator": a.ComparisonOperator, "evaluationPeriods": a.EvaluationPeriods,
		"datapointsToAlarm": a.DatapointsToAlarm, "treatMissingData": a.TreatMissingData,
	}
}

// GetAlarm returns an alarm of the caller's account (DescribeAlarms with one name).
func (s *Service) GetAlarm(ctx context.Context, c identity.Call, name string) (Alarm, error) {
	if err := s.authorize(ctx, c, "DescribeAlarms", s.AlarmARN(c.Caller.Account, name)); err != nil {
		return Alarm{}, err
	}
	a, err := s.store.GetAlarm(ctx, c.Caller.Account, name)
	if errs.Is(err, errs.NotFound) {
		return Alarm{}, missing(name)
	}
	return a, err
}

// DescribeAlarms lists the caller's alarms by name. It is authorized on the alarms it names,
// or on every alarm of the account (…:alarm:*) when it names none.
func (s *Service) DescribeAlarms(ctx context.Context, c identity.Call, q AlarmQuery) ([]Alarm, error) {
	return s.describe(ctx, c, "DescribeAlarms", q)
}

func (s *Service) describe(ctx context.Context, c identity.Call, action string, q AlarmQuery) ([]Alarm, error) {
	if q.State != "" && !q.State.Valid() {
		return nil, bad("InvalidParameterValue", "The parameter StateValue must be OK, ALARM or INSUFFICIENT_DATA.")
	}
	if q.Names != nil && q.Prefix != "" {
		return nil, bad("InvalidParameterCombination", "AlarmNames and AlarmNamePrefix cannot be given together.")
	}
	resources := []string{s.AlarmARN(c.Caller.Account, "*")}
	if q.Names != nil {
		resources = resources[:0]
		for _, n := range q.Names {
			resources = append(resources, s.AlarmARN(c.Caller.Account, n))
		}
	}
	for _, r := range resources {
		if err := s.authorize(ctx, c, action, r); err != nil {
			return nil, err
		}
	}
	if q.Limit <= 0 || q.Limit > maxAlarmPage {
		q.Limit = defaultAlarmPage
	}
	return s.store.ListAlarms(ctx, c.Caller.Account, q)
}

// AlarmsForMetric answers DescribeAlarmsForMetric: the caller's alarms on a metric.
func (s *Service) AlarmsForMetric(ctx context.Context, c identity.Call, m Metric, statistic string, period int) ([]Alarm, error) {
	if err := CheckMetric(m); err != nil {
		return nil, err
	}
	m = m.normalize()
	as, err := s.describe(ctx, c, "DescribeAlarmsForMetric", AlarmQuery{Metric: &m, Limit: maxAlarmPage})
	if err != nil {
		return nil, err
	}
	out := as[:0]
	for _, a := range as {
		if (statistic == "" || a.Statistic == statistic) && (period == 0 || a.Period == period) {
			out = append(out, a)
		}
	}
	return out, nil
}

// DeleteAlarms deletes alarms of the caller's account, all or none: an unknown name fails the
// call and deletes nothing.
func (s *Service) DeleteAlarms(ctx context.Context, c identity.Call, names []string) error {
	if len(names) == 0 || len(names) > 100 {
		return invalid("AlarmNames must hold 1 to 100 names")
	}
	for _, n := range names {
		if err := s.authorize(ctx, c, "DeleteAlarms", s.AlarmARN(c.Caller.Account, n)); err != nil {
			return err
		}
	}
	return s.store.Update(ctx, func(tx Tx) error {
		for _, n := range names {
			if err := tx.DeleteAlarm(ctx, c.Caller.Account, n); errs.Is(err, errs.NotFound) {
				return missing(n)
			} else if err != nil {
				return err
			}
		}
		return nil
	})
}

// SetState answers SetAlarmState: the alarm takes the state until its next evaluation.
func (s *Service) SetState(ctx context.Context, c identity.Call, name string, st State, reason, reasonData string) error {
	if !st.Valid() {
		return bad("InvalidParameterValue", "The parameter StateValue must be OK, ALARM or INSUFFICIENT_DATA.")
	}
	if reasonData != "" && !json.Valid([]byte(reasonData)) {
		return bad("InvalidFormat", "The parameter StateReasonData must be JSON.")
	}
	if err := s.authorize(ctx, c, "SetAlarmState", s.AlarmARN(c.Caller.Account, name)); err != nil {
		return err
	}
	now := s.now()
	return s.store.Update(ctx, func(tx Tx) error {
		a, err := tx.LockAlarm(ctx, c.Caller.Account, name)
		if errs.Is(err, errs.NotFound) {
			return missing(name)
		} else if err != nil {
			return err
		}
		return s.transition(ctx, tx, a, Evaluation{State: st, Reason: reason, ReasonData: reasonData}, now)
	})
}

// transition moves a locked alarm to e's state inside tx, with its history item and event;
// nothing changes when the state is the same.
func (s *Service) transition(ctx context.Context, tx Tx, a Alarm, e Evaluation, now time.Time) error {
	if e.State == a.State {
		return nil
	}
	prev := a
	a.State, a.StateReason, a.StateReasonData, a.StateUpdated = e.State, e.Reason, e.ReasonData, now
	if err := tx.PutAlarm(ctx, a); err != nil {
		return err
	}
	stamp := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000+0000") }
	state := func(x Alarm) map[string]any {
		m := map[string]any{"value": string(x.State), "reason": x.StateReason, "timestamp": stamp(x.StateUpdated)}
		if x.StateReasonData != "" {
			m["reasonData"] = x.StateReasonData
		}
		return m
	}
	hist, _ := json.Marshal(map[string]any{"version": "1.0", "oldState": map[string]any{"stateValue": prev.State, "stateReason": prev.StateReason},
		"newState": map[string]any{"stateValue": a.State, "stateReason": a.StateReason, "stateReasonData": json.RawMessage(orEmpty(a.StateReasonData))}})
	if err := tx.AddHistory(ctx, HistoryItem{Account: a.Account, Alarm: a.Name, Time: now, Type: "StateUpdate",
		Summary: fmt.Sprintf("Alarm updated from %s to %s", prev.State, a.State), Data: string(hist), AlarmType: "MetricAlarm"}); err != nil {
		return err
	}
	detail, err := json.Marshal(map[string]any{"alarmName": a.Name, "state": state(a), "previousState": state(prev), "configuration": alarmConfig(a)})
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the alarm's event", err)
	}
	arnOf := s.AlarmARN(a.Account, a.Name)
	return tx.AppendEvent(ctx, events.Event{ID: randid.UUID(), Account: a.Account, Region: s.region, Source: EventSource,
		DetailType: StateChangeType, Time: now, Resources: []string{arnOf}, Detail: detail})
}

func orEmpty(s string) string {
	if s == "" {
		return "{}"
	}
	return s
}

// History answers DescribeAlarmHistory. With no alarm named it is authorized on every alarm of
// the account.
func (s *Service) History(ctx context.Context, c identity.Call, q HistoryQuery) ([]HistoryItem, error) {
	switch q.Type {
	case "", "ConfigurationUpdate", "StateUpdate", "Action":
	default:
		return nil, bad("InvalidParameterValue", "The parameter HistoryItemType must be ConfigurationUpdate, StateUpdate or Action.")
	}
	name := q.Alarm
	if name == "" {
		name = "*"
	}
	if err := s.authorize(ctx, c, "DescribeAlarmHistory", s.AlarmARN(c.Caller.Account, name)); err != nil {
		return nil, err
	}
	if q.Limit <= 0 || q.Limit > maxAlarmPage {
		q.Limit = defaultAlarmPage
	}
	return s.store.History(ctx, c.Caller.Account, q)
}

// Evaluate evaluates one alarm now and commits its transition, if any (the evaluator's
// reconcile). It returns errs.NotFound when the alarm is gone.
func (s *Service) Evaluate(ctx context.Context, account, name string) (Alarm, error) {
	a, err := s.store.GetAlarm(ctx, account, name)
	if err != nil {
		return Alarm{}, err
	}
	now := s.now()
	wins := Windows(a, now)
	data, err := s.datapoints(ctx, account, a.Metric, wins[len(wins)-1][0], now)
	if err != nil {
		return a, err
	}
	e := Evaluate(a, Aggregate(data, wins, a.Statistic), now)
	if e.Keep || e.State == a.State {
		return a, nil
	}
	err = s.store.Ingest(ctx, func(tx Tx) error {
		cur, err := tx.LockAlarm(ctx, account, name)
		if err != nil {
			return err
		}
		if !cur.ConfigUpdated.Equal(a.ConfigUpdated) {
			return nil // redefined meanwhile: its own evaluation is due
		}
		a = cur
		return s.transition(ctx, tx, cur, e, now)
	})
	if err == nil && !e.Keep {
		a.State = e.State
	}
	return a, err
}

// StateOf returns an alarm's state without authorization: the platform's own read, for the
// serving rollouts that watch alarms named in an endpoint's AutoRollbackConfiguration.
func (s *Service) StateOf(ctx context.Context, account, name string) (Alarm, error) {
	return s.store.GetAlarm(ctx, account, name)
}
