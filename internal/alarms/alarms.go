package alarms

import (
	"context"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// WorkKind is the evaluator's reconcile kind; a key is "ACCOUNT/ALARM-NAME".
const WorkKind = "alarm"

// EventSource and StateChangeType are the EventBridge envelope's source and detail-type of an
// alarm's state change.
const (
	EventSource     = "aws.cloudwatch"
	StateChangeType = "CloudWatch Alarm State Change"
)

// SageMakerNamespace is the endpoints' metrics namespace.
const SageMakerNamespace = "AWS/SageMaker"

// State is an alarm's state.
type State string

// The alarm states.
const (
	OK               State = "OK"
	Alarming         State = "ALARM"
	InsufficientData State = "INSUFFICIENT_DATA"
)

// Valid reports whether s is a state.
func (s State) Valid() bool { return s == OK || s == Alarming || s == InsufficientData }

// Dimension is a metric's name/value pair.
type Dimension struct {
	Name, Value string
}

// Metric names a metric: a namespace, a name and its dimensions (sorted by name: a metric is
// the same whatever order its dimensions were given in).
type Metric struct {
	Namespace  string
	Name       string
	Dimensions []Dimension
}

// normalize sorts the dimensions.
func (m Metric) normalize() Metric {
	d := append([]Dimension(nil), m.Dimensions...)
	sort.Slice(d, func(i, j int) bool { return d[i].Name < d[j].Name })
	m.Dimensions = d
	return m
}

// DimensionKey is the metric's dimensions as one string (sorted name, value pairs: names and
// values joined by U+001F, pairs by U+001E, which CheckMetric refuses in both), the form the
// store keys them by.
func (m Metric) DimensionKey() string {
	var b strings.Builder
	for i, d := range m.normalize().Dimensions {
		if i > 0 {
			b.WriteByte(pairSep)
		}
		b.WriteString(d.Name)
		b.WriteByte(nameSep)
		b.WriteString(d.Value)
	}
	return b.String()
}

const (
	nameSep = 0x1f
	pairSep = 0x1e
)

// ParseDimensionKey is DimensionKey's inverse.
func ParseDimensionKey(k string) []Dimension {
	if k == "" {
		return nil
	}
	var out []Dimension
	for _, pair := range strings.Split(k, string(rune(pairSep))) {
		n, v, _ := strings.Cut(pair, string(rune(nameSep)))
		out = append(out, Dimension{Name: n, Value: v})
	}
	return out
}

// Stats is a statistic set: what one datum, or every datum of a period, sums up to.
type Stats struct {
	Count, Sum, Min, Max float64
}

// Add merges o into s.
func (s *Stats) Add(o Stats) {
	if o.Count == 0 {
		return
	}
	if s.Count == 0 {
		*s = o
		return
	}
	s.Count += o.Count
	s.Sum += o.Sum
	s.Min = math.Min(s.Min, o.Min)
	s.Max = math.Max(s.Max, o.Max)
}

// Statistic returns one statistic of s: SampleCount, Average, Sum, Minimum or Maximum.
func (s Stats) Statistic(name string) float64 {
	switch name {
	case "SampleCount":
		return s.Count
	case "Sum":
		return s.Sum
	case "Minimum":
		return s.Min
	case "Maximum":
		return s.Max
	default: // Average
		if s.Count == 0 {
			return 0
		}
		return s.Sum / s.Count
	}
}

// Statistics are the statistics this subset computes.
var Statistics = []string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"}

// DataRetention is how long stored datapoints are kept, counted from their timestamps: CloudWatch
// keeps 1-minute data 15 days (this subset stores no coarser rollups, so nothing is older).
// PutMetricData takes timestamps up to two weeks old: each datum is kept at least a day.
const DataRetention = 15 * 24 * time.Hour

// PruneBatch is how many datapoints one pruning transaction deletes at most: writers wait for
// one batch, never for the whole backlog.
const PruneBatch = 5000

// Datum is one stored datapoint of a metric of an account.
type Datum struct {
	Account string
	Metric  Metric
	Time    time.Time
	Unit    string
	Stats   Stats
}

// Comparison operators of static-threshold alarms.
const (
	GreaterOrEqual = "GreaterThanOrEqualToThreshold"
	Greater        = "GreaterThanThreshold"
	Less           = "LessThanThreshold"
	LessOrEqual    = "LessThanOrEqualToThreshold"
)

// TreatMissingData values.
const (
	MissingBreaching    = "breaching"
	MissingNotBreaching = "notBreaching"
	MissingIgnore       = "ignore"
	MissingMissing      = "missing"
)

// Alarm is a metric alarm with a static threshold.
type Alarm struct {
	Account            string
	Name               string
	Description        string
	ActionsEnabled     bool
	Metric             Metric
	Statistic          string
	Period             int // seconds
	EvaluationPeriods  int
	DatapointsToAlarm  int
	Threshold          float64
	ComparisonOperator string
	TreatMissingData   string
	Unit               string

	State           State
	StateReason     string
	StateReasonData string
	StateUpdated    time.Time
	ConfigUpdated   time.Time
}

// Key is the alarm's work-item key.
func (a Alarm) Key() string { return a.Account + "/" + a.Name }

// HistoryItem is one entry of an alarm's history.
type HistoryItem struct {
	Account   string
	Alarm     string
	Time      time.Time
	Type      string // ConfigurationUpdate, StateUpdate
	Summary   string
	Data      string // JSON
	Seq       int64  // assigned by the store, increasing
	AlarmType string // MetricAlarm
}

// AlarmQuery selects alarms of an account, by name.
type AlarmQuery struct {
	Names  []string // exactly these (nil: any)
	Prefix string
	State  State // "" any
	Metric *Metric
	After  string // the cursor: names after it
	Limit  int
}

// HistoryQuery selects history items of an account, newest first.
type HistoryQuery struct {
	Alarm      string // "" every alarm
	Type       string // "" every type
	Start, End time.Time
	Before     int64 // the cursor: items with Seq below it (0: none)
	Limit      int
	Ascending  bool
}

// MetricQuery selects metrics of an account.
type MetricQuery struct {
	Namespace  string
	Name       string
	Dimensions []DimensionFilter
	Limit      int
	After      string // the cursor: an opaque position from a previous page
}

// DimensionFilter matches a dimension by name, and by value when Value is set.
type DimensionFilter struct {
	Name     string
	Value    string
	HasValue bool
}

// Store persists datapoints, alarms and their history.
type Store interface {
	// Datapoints returns the data of a metric with Start <= Time < End.
	Datapoints(ctx context.Context, account string, m Metric, start, end time.Time) ([]Datum, error)
	// Metrics lists the distinct metrics of an account with data, ordered by namespace, name
	// and dimensions.
	Metrics(ctx context.Context, account string, q MetricQuery) ([]Metric, error)
	GetAlarm(ctx context.Context, account, name string) (Alarm, error)
	ListAlarms(ctx context.Context, account string, q AlarmQuery) ([]Alarm, error)
	History(ctx context.Context, account string, q HistoryQuery) ([]HistoryItem, error)
	// Update runs fn in one transaction with the call's audit record.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Ingest is Update without an audit record: the evaluator's own writes.
	Ingest(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is the alarms' view of one store transaction.
type Tx interface {
	PutData(ctx context.Context, data []Datum) error
	// PruneData deletes up to limit datapoints (of every account) with Time < before, oldest
	// first, and returns how many it deleted.
	PruneData(ctx context.Context, before time.Time, limit int) (int, error)
	// LockAlarm reads an alarm for a change (errs.NotFound when missing).
	LockAlarm(ctx context.Context, account, name string) (Alarm, error)
	// PutAlarm inserts or replaces an alarm.
	PutAlarm(ctx context.Context, a Alarm) error
	// DeleteAlarm deletes an alarm and its history; errs.NotFound when missing.
	DeleteAlarm(ctx context.Context, account, name string) error
	// AlarmsOn lists the names of an account's alarms on a metric (namespace and name).
	AlarmsOn(ctx context.Context, account, namespace, name string) ([]string, error)
	AddHistory(ctx context.Context, h HistoryItem) error
	AppendEvent(ctx context.Context, ev events.Event) error
	reconcile.Enqueuer
}

// Authorizer decides whether a caller may act (package identity implements it).
type Authorizer interface {
	Authorize(ctx context.Context, caller identity.Caller, a identity.Action) (string, error)
}
