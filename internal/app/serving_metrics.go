package app

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slipway-ml/slipway/internal/alarms"

	"github.com/slipway-ml/slipway/internal/serving"
)

// servingMeter exports the endpoints' invocation metrics on /metrics, by account, endpoint and
// variant: SageMaker's Invocations, Invocation4XXErrors, Invocation5XXErrors, ModelLatency and
// OverheadLatency (CloudWatch's AWS/SageMaker namespace, in seconds here rather than
// microseconds).
type servingMeter struct {
	invocations, errors4xx, errors5xx *prometheus.CounterVec
	model, overhead                   *prometheus.HistogramVec
	// capture writes the endpoints' data capture (serving_capture.go); its counters are exported here.
	capture *serving.Capturer
	// cloudwatch is CloudWatch's AWS/SageMaker namespace, which alarms watch (alarms.go) and
	// the console's endpoint charts read (GetMetricData).
	cloudwatch *alarms.EndpointMetrics
	now        func() time.Time
	// series caches each variant's metric handles (meterKey → *meterSeries): looking a labelled
	// series up by its labels hashes and allocates on every invocation.
	series sync.Map
}

type meterKey struct{ account, endpoint, variant string }

// meterSeries is one variant's series in each metric but the error counters, which get a
// series only once a variant fails (looked up by labels then: a rare path).
type meterSeries struct {
	labels          prometheus.Labels
	invocations     prometheus.Counter
	model, overhead prometheus.Observer
}

// seriesOf returns the variant's handles, creating them on its first invocation.
func (m *servingMeter) seriesOf(k meterKey) *meterSeries {
	if s, ok := m.series.Load(k); ok {
		return s.(*meterSeries)
	}
	l := prometheus.Labels{"account": k.account, "endpoint": k.endpoint, "variant": k.variant}
	s, _ := m.series.LoadOrStore(k, &meterSeries{
		labels: l, invocations: m.invocations.With(l), model: m.model.With(l), overhead: m.overhead.With(l),
	})
	return s.(*meterSeries)
}

var _ serving.Meter = (*servingMeter)(nil)

func newServingMeter(now func() time.Time) *servingMeter {
	labels := []string{"account", "endpoint", "variant"}
	buckets := []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	return &servingMeter{
		cloudwatch: alarms.NewEndpointMetrics(now), now: now,
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "slipway_endpoint_invocations_total",
			Help: "InvokeEndpoint requests an endpoint's variant answered or failed (SageMaker's Invocations)."}, labels),
		errors4xx: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "slipway_endpoint_invocation_4xx_errors_total",
			Help: "Invocations the model answered with a 4xx status (a ModelError by the model's own status, or a payload the built-in runtime refused) (SageMaker's Invocation4XXErrors)."}, labels),
		errors5xx: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "slipway_endpoint_invocation_5xx_errors_total",
			Help: "Invocations the model answered with a 5xx status or not at all, or the endpoint could not serve (SageMaker's Invocation5XXErrors)."}, labels),
		model: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "slipway_endpoint_model_latency_seconds",
			Help: "Time an invocation spent in the model's instances (SageMaker's ModelLatency).", Buckets: buckets}, labels),
		overhead: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "slipway_endpoint_overhead_latency_seconds",
			Help: "Time an invocation spent in Slipway besides the model: authorization, routing, payload handling (SageMaker's OverheadLatency).", Buckets: buckets}, labels),
	}
}

func (m *servingMeter) collectors() []prometheus.Collector {
	cs := []prometheus.Collector{m.invocations, m.errors4xx, m.errors5xx, m.model, m.overhead}
	if m.capture != nil {
		cs = append(cs, captureCollectors(m.capture)...)
	}
	return cs
}

// Invocation counts one invocation.
func (m *servingMeter) Invocation(i serving.Invocation) {
	s := m.seriesOf(meterKey{i.Account, i.Endpoint, i.Variant})
	s.invocations.Inc()
	switch i.Class {
	case "4xx":
		m.errors4xx.With(s.labels).Inc()
	case "5xx":
		m.errors5xx.With(s.labels).Inc()
	}
	s.model.Observe(i.Model.Seconds())
	s.overhead.Observe(i.Overhead.Seconds())
	m.cloudwatch.Record(alarms.Invocation{Account: i.Account, Endpoint: i.Endpoint, Variant: i.Variant, Class: i.Class,
		Model: i.Model, Overhead: i.Overhead, Time: m.now()})
}

// Forget drops a deleted endpoint's series.
func (m *servingMeter) Forget(account, endpoint string) {
	l := prometheus.Labels{"account": account, "endpoint": endpoint}
	m.invocations.DeletePartialMatch(l)
	m.errors4xx.DeletePartialMatch(l)
	m.errors5xx.DeletePartialMatch(l)
	m.model.DeletePartialMatch(l)
	m.overhead.DeletePartialMatch(l)
	// The cached handles go after their series: an invocation racing with this either finds the
	// series gone and makes them anew, or caches handles that are then dropped here; none can
	// keep a handle to a deleted series in the cache.
	m.series.Range(func(k, _ any) bool {
		if k := k.(meterKey); k.account == account && k.endpoint == endpoint {
			m.series.Delete(k)
		}
		return true
	})
	m.cloudwatch.Forget(account, endpoint)
}
