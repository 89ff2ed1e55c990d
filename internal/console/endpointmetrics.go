package console

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/slipway-ml/slipway/internal/alarms"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/serving"
)

// An endpoint's charts read CloudWatch's AWS/SageMaker namespace — the metrics the serving
// meter records for every invocation and alarms watch — with GetMetricData's own code, as the
// signed-in principal (cloudwatch:GetMetricData): one source for the charts and the alarms.

// maxChartMinutes bounds an endpoint page's window.
const maxChartMinutes = 180

// minuteMetrics is one minute of a variant's invocations, as the charts draw it.
type minuteMetrics struct {
	Start                             time.Time
	Invocations, Errors4xx, Errors5xx int64
	ModelSum, ModelMax                time.Duration
}

// ModelAverage is the minute's mean model latency (0 without invocations).
func (m minuteMetrics) ModelAverage() time.Duration {
	if m.Invocations == 0 {
		return 0
	}
	return m.ModelSum / time.Duration(m.Invocations)
}

// variantMinutes is a variant's minutes, oldest first, one per minute of the window.
type variantMinutes struct {
	Variant string // "" for invocations no variant answered
	Minutes []minuteMetrics
}

// endpointQueries are the GetMetricData queries of a variant's charts ("" is the endpoint's
// invocations that reached no variant, counted under EndpointName alone), by query id.
func endpointQueries(endpoint string, variants []string) []alarms.DataQuery {
	var qs []alarms.DataQuery
	for i, v := range variants {
		dims := []alarms.Dimension{{Name: "EndpointName", Value: endpoint}}
		if v != "" {
			dims = append(dims, alarms.Dimension{Name: "VariantName", Value: v})
		}
		for _, m := range []struct{ id, name, stat string }{
			{"inv", "Invocations", "Sum"}, {"e4", "Invocation4XXErrors", "Sum"}, {"e5", "Invocation5XXErrors", "Sum"},
			{"msum", "ModelLatency", "Sum"}, {"mmax", "ModelLatency", "Maximum"},
		} {
			qs = append(qs, alarms.DataQuery{ID: m.id + "_" + strconv.Itoa(i), Metric: alarms.Metric{Namespace: alarms.SageMakerNamespace, Name: m.name, Dimensions: dims},
				Period: 60, Stat: m.stat, Ascending: true})
		}
	}
	return qs
}

// endpointMinutes turns GetMetricData's answer into each variant's minutes from start, n of
// them; the no-variant series is left out when it holds no invocation.
func endpointMinutes(variants []string, rs []alarms.DataResult, start time.Time, n int) []variantMinutes {
	byID := map[string]alarms.DataResult{}
	for _, r := range rs {
		byID[r.ID] = r
	}
	var out []variantMinutes
	for i, v := range variants {
		vm := variantMinutes{Variant: v, Minutes: make([]minuteMetrics, n)}
		for k := range vm.Minutes {
			vm.Minutes[k].Start = start.Add(time.Duration(k) * time.Minute)
		}
		var any bool
		set := func(id string, f func(m *minuteMetrics, x float64)) {
			r := byID[id+"_"+strconv.Itoa(i)]
			for j, t := range r.Times {
				k := int(t.Sub(start) / time.Minute)
				if k >= 0 && k < n && j < len(r.Values) {
					f(&vm.Minutes[k], r.Values[j])
					any = true
				}
			}
		}
		set("inv", func(m *minuteMetrics, x float64) { m.Invocations = int64(x) })
		set("e4", func(m *minuteMetrics, x float64) { m.Errors4xx = int64(x) })
		set("e5", func(m *minuteMetrics, x float64) { m.Errors5xx = int64(x) })
		set("msum", func(m *minuteMetrics, x float64) { m.ModelSum = time.Duration(x) * time.Microsecond })
		set("mmax", func(m *minuteMetrics, x float64) { m.ModelMax = time.Duration(x) * time.Microsecond })
		if v == "" && !any {
			continue
		}
		out = append(out, vm)
	}
	return out
}

// endpointMetrics reads an endpoint's variants' last minutes from CloudWatch's metrics, as
// the signed-in principal.
func (c *Console) endpointMetrics(r *http.Request, s *session, e serving.Endpoint, minutes int) ([]variantMinutes, error) {
	variants := []string{}
	for _, v := range e.Variants {
		variants = append(variants, v.VariantName)
	}
	variants = append(variants, "")
	end := c.now().UTC().Truncate(time.Minute).Add(time.Minute)
	start := end.Add(-time.Duration(minutes) * time.Minute)
	var rs []alarms.DataResult
	err := c.call(r.Context(), r, s, "cloudwatch", "GetMetricData", func(ctx context.Context, call identity.Call) error {
		var err error
		rs, err = c.cfg.Metrics.Data(ctx, call, endpointQueries(e.Name, variants), start, end)
		return err
	})
	if err != nil {
		return nil, err
	}
	return endpointMinutes(variants, rs, start, minutes), nil
}
