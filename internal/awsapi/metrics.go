package awsapi

import (
	"errors"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Server's Prometheus collectors.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// bodyWaitRejected counts requests answered 503 because request bodies already in flight
	// held all the memory allowed for them.
	bodyWaitRejected prometheus.Counter
	// handles caches the series of each (service, operation, status): finding a labelled series
	// by its label values hashes them on every call.
	handles sync.Map // callKey → *callSeries
}

type callKey struct {
	service, operation string
	status             int
}

type callSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// observe counts one call and its duration.
func (m *metrics) observe(service, operation string, status int, seconds float64) {
	k := callKey{service, operation, status}
	v, ok := m.handles.Load(k)
	if !ok {
		v, _ = m.handles.LoadOrStore(k, &callSeries{
			requests: m.requests.WithLabelValues(service, operation, strconv.Itoa(status)),
			duration: m.duration.WithLabelValues(service, operation),
		})
	}
	cs := v.(*callSeries)
	cs.requests.Inc()
	cs.duration.Observe(seconds)
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipway_api_requests_total",
			Help: "AWS API requests by service, operation and HTTP status code.",
		}, []string{"service", "operation", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "slipway_api_request_duration_seconds",
			Help:    "Time to serve an AWS API request, by service and operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"service", "operation"}),
		bodyWaitRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "slipway_api_body_memory_rejected_total",
			Help: "Requests refused with 503 because request bodies in flight held all the memory allowed for them.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.bodyWaitRejected} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
			// Share the collector already registered (a second Server on the same registry).
			switch existing := are.ExistingCollector.(type) {
			case prometheus.Counter:
				m.bodyWaitRejected = existing
			case *prometheus.CounterVec:
				m.requests = existing
			case *prometheus.HistogramVec:
				m.duration = existing
			}
		}
	}
	return m, nil
}
