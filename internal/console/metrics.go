package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"
)

// maxReportBytes bounds a metrics report the console reads.
const maxReportBytes = 1 << 20

// MetricsURIs returns the S3 URIs of a version's ModelMetrics (SageMaker's shape: sections
// such as ModelQuality, each with reports such as Statistics holding an S3Uri). Anything that
// does not have that shape is ignored.
func MetricsURIs(raw json.RawMessage) []string {
	var mm map[string]map[string]struct {
		S3Uri string `json:"S3Uri"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &mm) != nil {
		return nil
	}
	var out []string
	for _, section := range mm {
		for _, src := range section {
			if src.S3Uri != "" {
				out = append(out, src.S3Uri)
			}
		}
	}
	sort.Strings(out)
	return out
}

// ParseMetrics reads a metrics report (SageMaker's evaluation report: nested objects whose
// leaves are {"value": N} or plain numbers, e.g. {"regression_metrics": {"mse": {"value":
// 4.2}}}) into metric name → value; names are the path of keys without the section and the
// "value" key ("mse"). It reads at most 1 MiB, 64 levels and 200 metrics; non-finite
// numbers and anything that is not JSON are ignored.
func ParseMetrics(body []byte) map[string]float64 {
	if len(body) > maxReportBytes {
		return nil
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	out := map[string]float64{}
	var walk func(path []string, v any, depth int)
	walk = func(path []string, v any, depth int) {
		if depth > 64 || len(out) >= 200 {
			return
		}
		switch t := v.(type) {
		case float64:
			if math.IsInf(t, 0) || math.IsNaN(t) || len(path) == 0 {
				return
			}
			name := metricName(path)
			if name != "" {
				out[name] = t
			}
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(append(path[:len(path):len(path)], k), t[k], depth+1)
			}
		}
	}
	walk(nil, v, 0)
	return out
}

// metricName drops a leading *_metrics section and a trailing "value" key.
func metricName(path []string) string {
	if n := len(path); n > 1 && path[n-1] == "value" {
		path = path[:n-1]
	} else if n > 1 && path[n-1] == "standard_deviation" {
		return ""
	}
	if len(path) > 1 && strings.HasSuffix(path[0], "_metrics") {
		path = path[1:]
	}
	name := strings.Join(path, ".")
	if len(name) > 100 {
		name = name[:100]
	}
	return name
}

// point is a metric's value in one version.
type point struct {
	Version int
	Value   float64
}

// metricSeries is one metric across versions, with its chart.
type metricSeries struct {
	Name   string
	Points []point
	Chart  template.HTML // an inline SVG built from numbers only
}

func series(values map[string]map[int]float64) []metricSeries {
	var out []metricSeries
	for name, byVersion := range values {
		m := metricSeries{Name: name}
		for v, x := range byVersion {
			m.Points = append(m.Points, point{v, x})
		}
		sort.Slice(m.Points, func(i, j int) bool { return m.Points[i].Version < m.Points[j].Version })
		m.Chart = chart(m.Points)
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// chart draws points as a small line chart. Its text is numbers and fixed markup only, so it
// is safe to embed as is.
func chart(ps []point) template.HTML {
	const w, h, pad = 240.0, 80.0, 8.0
	if len(ps) == 0 {
		return ""
	}
	lo, hi := ps[0].Value, ps[0].Value
	for _, p := range ps {
		lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
	}
	span := hi - lo
	if span == 0 {
		span = 1
	}
	x := func(i int) float64 {
		if len(ps) == 1 {
			return w / 2
		}
		return pad + float64(i)*(w-2*pad)/float64(len(ps)-1)
	}
	y := func(v float64) float64 { return h - pad - (v-lo)/span*(h-2*pad) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %g %g" role="img" aria-label="metric across versions">`, w, h)
	b.WriteString(`<polyline fill="none" class="line" points="`)
	for i, p := range ps {
		fmt.Fprintf(&b, "%.1f,%.1f ", x(i), y(p.Value))
	}
	b.WriteString(`"/>`)
	for i, p := range ps {
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3"><title>v%d: %.6g</title></circle>`, x(i), y(p.Value), p.Version, p.Value)
	}
	fmt.Fprintf(&b, `<text x="2" y="10">%.4g</text><text x="2" y="%g">%.4g</text></svg>`, hi, h-1, lo)
	return template.HTML(b.String())
}
