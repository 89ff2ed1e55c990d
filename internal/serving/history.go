package serving

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/internal/identity"
)

// HistoryMinutes is how far back History keeps an endpoint's invocation metrics, a bucket a
// minute.
const HistoryMinutes = 180

// MinuteMetrics is one minute of a variant's invocations: CloudWatch's Invocations,
// Invocation4XXErrors, Invocation5XXErrors, and the sum and maximum of ModelLatency and
// OverheadLatency over the minute.
type MinuteMetrics struct {
	Start                             time.Time
	Invocations, Errors4xx, Errors5xx int64
	ModelSum, ModelMax                time.Duration
	OverheadSum                       time.Duration
}

// ModelAverage is the minute's mean model latency (0 without invocations).
func (m MinuteMetrics) ModelAverage() time.Duration {
	if m.Invocations == 0 {
		return 0
	}
	return m.ModelSum / time.Duration(m.Invocations)
}

// VariantMetrics is a variant's minutes, oldest first, one per minute of the window (minutes
// without invocations are zero).
type VariantMetrics struct {
	Variant string // "" for invocations no variant answered
	Minutes []MinuteMetrics
}

// History keeps every endpoint's invocation metrics a minute at a time for the last
// HistoryMinutes, in memory: the console's charts read it (a restart starts it over; the
// Prometheus counters on /metrics are the long-term record). It is a Meter; the composition
// root forwards invocations to it.
type History struct {
	mu     sync.Mutex
	now    func() time.Time
	series map[historyKey]*[HistoryMinutes]MinuteMetrics
}

type historyKey struct{ account, endpoint, variant string }

// NewHistory returns an empty History; now nil is the wall clock.
func NewHistory(now func() time.Time) *History {
	if now == nil {
		now = time.Now
	}
	return &History{now: now, series: map[historyKey]*[HistoryMinutes]MinuteMetrics{}}
}

var _ Meter = (*History)(nil)

// Invocation adds an invocation to its variant's current minute.
func (h *History) Invocation(i Invocation) {
	minute := h.now().UTC().Truncate(time.Minute)
	slot := int(minute.Unix()/60) % HistoryMinutes
	k := historyKey{i.Account, i.Endpoint, i.Variant}
	h.mu.Lock()
	defer h.mu.Unlock()
	ring := h.series[k]
	if ring == nil {
		ring = new([HistoryMinutes]MinuteMetrics)
		h.series[k] = ring
	}
	m := &ring[slot]
	if !m.Start.Equal(minute) {
		*m = MinuteMetrics{Start: minute}
	}
	m.Invocations++
	switch i.Class {
	case "4xx":
		m.Errors4xx++
	case "5xx":
		m.Errors5xx++
	}
	m.ModelSum += i.Model
	m.ModelMax = max(m.ModelMax, i.Model)
	m.OverheadSum += i.Overhead
}

// Forget drops a deleted endpoint's minutes.
func (h *History) Forget(account, endpoint string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k := range h.series {
		if k.account == account && k.endpoint == endpoint {
			delete(h.series, k)
		}
	}
}

// Minutes returns an endpoint's variants' last n minutes (at most HistoryMinutes), the
// current minute last, variants by name.
func (h *History) Minutes(account, endpoint string, n int) []VariantMetrics {
	n = min(max(n, 1), HistoryMinutes)
	end := h.now().UTC().Truncate(time.Minute)
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []VariantMetrics
	for k, ring := range h.series {
		if k.account != account || k.endpoint != endpoint {
			continue
		}
		v := VariantMetrics{Variant: k.variant, Minutes: make([]MinuteMetrics, n)}
		for i := range n {
			minute := end.Add(-time.Duration(n-1-i) * time.Minute)
			m := ring[int(minute.Unix()/60)%HistoryMinutes]
			if !m.Start.Equal(minute) {
				m = MinuteMetrics{Start: minute}
			}
			v.Minutes[i] = m
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Variant < out[j].Variant })
	return out
}

// EndpointMetrics returns an endpoint's invocation metrics over the last minutes (at most
// HistoryMinutes), a series a variant. As CloudWatch's GetMetricData, it is authorized as
// cloudwatch:GetMetricData (which has no resource-level permissions: "*") and reads the
// caller's account's metrics only; an endpoint without invocations has no series.
func (s *Service) EndpointMetrics(ctx context.Context, c identity.Call, name string, minutes int) ([]VariantMetrics, error) {
	if err := checkName("EndpointName", name); err != nil {
		return nil, err
	}
	if _, err := s.authz.Authorize(ctx, c.Caller, identity.Action{
		Name: "cloudwatch:GetMetricData", Resource: "*", ResourceAccount: c.Caller.Account, Context: c.Context,
	}); err != nil {
		return nil, err
	}
	if s.history == nil {
		return nil, nil
	}
	return s.history.Minutes(c.Caller.Account, name, minutes), nil
}
