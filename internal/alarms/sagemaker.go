package alarms

import (
	"sort"
	"sync"
	"time"
)

// EndpointMetrics holds the AWS/SageMaker namespace: the endpoints' invocation metrics, per
// account, metric and minute, for the last Retention. Serving's meter feeds it (Record); the
// metric reads and the evaluator read it. It is safe for concurrent use.
type EndpointMetrics struct {
	mu     sync.Mutex
	series map[seriesKey]map[int64]*Stats // per metric: minute (unix seconds) → stats
	now    func() time.Time
	// expired is the slot expire last ran for: Record expires once per slot, not per call.
	expired int64
}

// Retention is how long EndpointMetrics keeps a slot.
const Retention = 24 * time.Hour

// slotSeconds is the resolution EndpointMetrics keeps: finer than SageMaker's minute, so that
// alarms with a 10-second period (CloudWatch's high resolution) see their data.
const slotSeconds = 10

type seriesKey struct {
	account, name, dims string
}

// NewEndpointMetrics returns an empty namespace.
func NewEndpointMetrics(now func() time.Time) *EndpointMetrics {
	return &EndpointMetrics{series: map[seriesKey]map[int64]*Stats{}, now: now}
}

// Invocation is one InvokeEndpoint as the namespace counts it.
type Invocation struct {
	Account, Endpoint, Variant string
	Class                      string // "", "4xx" or "5xx"
	Model, Overhead            time.Duration
	Time                       time.Time
}

// Record counts one invocation in the metrics SageMaker publishes: Invocations (1 per call),
// Invocation4XXErrors and Invocation5XXErrors (0 or 1 per call, so their Average is a rate),
// ModelLatency and OverheadLatency (microseconds), by EndpointName and VariantName. An
// invocation that reached no variant counts under the endpoint alone.
func (e *EndpointMetrics) Record(i Invocation) {
	dims := endpointDimensionKey(i.Endpoint, i.Variant)
	minute := i.Time.Unix() - i.Time.Unix()%slotSeconds
	one := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	put := func(name string, v float64) {
		k := seriesKey{i.Account, name, dims}
		s := e.series[k]
		if s == nil {
			s = map[int64]*Stats{}
			e.series[k] = s
		}
		if st := s[minute]; st != nil {
			st.Add(Stats{Count: 1, Sum: v, Min: v, Max: v})
		} else {
			s[minute] = &Stats{Count: 1, Sum: v, Min: v, Max: v}
		}
	}
	put("Invocations", 1)
	put("Invocation4XXErrors", one(i.Class == "4xx"))
	put("Invocation5XXErrors", one(i.Class == "5xx"))
	put("ModelLatency", float64(i.Model.Microseconds()))
	put("OverheadLatency", float64(i.Overhead.Microseconds()))
	if minute != e.expired {
		e.expired = minute
		e.expire(minute)
	}
}

// endpointDimensionKey is the DimensionKey of {EndpointName: endpoint, VariantName: variant}
// (the variant left out when empty), built without sorting: the two names are in order.
func endpointDimensionKey(endpoint, variant string) string {
	if variant == "" {
		return "EndpointName" + string(rune(nameSep)) + endpoint
	}
	return "EndpointName" + string(rune(nameSep)) + endpoint + string(rune(pairSep)) + "VariantName" + string(rune(nameSep)) + variant
}

// expire drops slots older than Retention (called with mu held, once per slot: it walks every
// series' slots, up to a day of them).
func (e *EndpointMetrics) expire(nowMinute int64) {
	cut := nowMinute - int64(Retention/time.Second)
	for k, s := range e.series {
		for m := range s {
			if m < cut {
				delete(s, m)
			}
		}
		if len(s) == 0 {
			delete(e.series, k)
		}
	}
}

// Forget drops a deleted endpoint's series.
func (e *EndpointMetrics) Forget(account, endpoint string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k := range e.series {
		if k.account != account {
			continue
		}
		for _, d := range ParseDimensionKey(k.dims) {
			if d.Name == "EndpointName" && d.Value == endpoint {
				delete(e.series, k)
			}
		}
	}
}

// Datapoints returns a metric's minutes with start <= minute < end.
func (e *EndpointMetrics) Datapoints(account string, m Metric, start, end time.Time) []Datum {
	k := seriesKey{account, m.Name, m.DimensionKey()}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Datum
	for minute, st := range e.series[k] {
		t := time.Unix(minute, 0).UTC()
		if !t.Before(start) && t.Before(end) {
			out = append(out, Datum{Account: account, Metric: m, Time: t, Unit: unitOf(m.Name), Stats: *st})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// Metrics lists an account's metrics in the namespace.
func (e *EndpointMetrics) Metrics(account string) []Metric {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Metric
	for k := range e.series {
		if k.account == account {
			out = append(out, Metric{Namespace: SageMakerNamespace, Name: k.name, Dimensions: ParseDimensionKey(k.dims)})
		}
	}
	return out
}

func unitOf(name string) string {
	switch name {
	case "ModelLatency", "OverheadLatency":
		return "Microseconds"
	}
	return "None"
}
