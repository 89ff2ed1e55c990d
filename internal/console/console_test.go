package console

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/pipeline/definition"
)

func TestParseMetrics(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     map[string]float64
	}{
		{"evaluation report", `{"regression_metrics":{"mse":{"value":4.2,"standard_deviation":0.3},"r2":{"value":0.8}}}`, map[string]float64{"mse": 4.2, "r2": 0.8}},
		{"plain numbers", `{"accuracy":0.91,"counts":{"tp":10}}`, map[string]float64{"accuracy": 0.91, "counts.tp": 10}},
		{"binary classification", `{"binary_classification_metrics":{"auc":{"value":0.75}}}`, map[string]float64{"auc": 0.75}},
		{"not an object", `[1,2,3]`, map[string]float64{}},
		{"not JSON", `mse=4`, nil},
		{"strings ignored", `{"model":"xgb","mse":{"value":"4"}}`, map[string]float64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ParseMetrics([]byte(tc.in))); diff != "" {
				t.Errorf("ParseMetrics(%s) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestMetricsURIs(t *testing.T) {
	raw := json.RawMessage(`{"ModelQuality":{"Statistics":{"ContentType":"application/json","S3Uri":"s3://b/eval.json"},"Constraints":{"S3Uri":"s3://b/c.json"}},"Bias":{"Report":{"S3Uri":"s3://b/bias.json"}}}`)
	if diff := cmp.Diff([]string{"s3://b/bias.json", "s3://b/c.json", "s3://b/eval.json"}, MetricsURIs(raw)); diff != "" {
		t.Errorf("MetricsURIs (-want +got):\n%s", diff)
	}
	for _, bad := range []string{``, `null`, `{"ModelQuality":"x"}`, `[]`} {
		if got := MetricsURIs(json.RawMessage(bad)); got != nil {
			t.Errorf("MetricsURIs(%s) = %v, want none", bad, got)
		}
	}
}

func TestChart(t *testing.T) {
	svg := string(chart([]point{{1, 4.5}, {2, 3.25}, {3, math.MaxFloat64 / 2}}))
	for _, want := range []string{`<svg class="chart"`, `<title>v2: 3.25</title>`, `</svg>`} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q:\n%s", want, svg)
		}
	}
	if chart(nil) != "" {
		t.Errorf("a chart of nothing is not empty")
	}
	if one := string(chart([]point{{7, 1}})); !strings.Contains(one, `cx="120.0"`) {
		t.Errorf("one point is not centred:\n%s", one)
	}
}

func TestGraph(t *testing.T) {
	def, err := definition.Parse([]byte(`{"Version":"2020-12-01","Steps":[
{"Name":"Prep","Type":"Fail","Arguments":{"ErrorMessage":"a"}},
{"Name":"Train","Type":"Fail","DependsOn":["Prep"],"Arguments":{"ErrorMessage":"b"}},
{"Name":"Eval","Type":"Fail","DependsOn":["Prep"],"Arguments":{"ErrorMessage":"c"}},
{"Name":"Register","Type":"Fail","DependsOn":["Train","Eval"],"Arguments":{"ErrorMessage":"d"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	svg := string(graph(def.Plan(), map[string]string{"Prep": "Succeeded", "Train": "Executing", "Eval": `"><script>`}))
	if strings.Contains(svg, "<script>") || !strings.Contains(svg, `data-state="&#34;&gt;&lt;script&gt;"`) {
		t.Errorf("a state is not escaped:\n%s", svg)
	}
	if n := strings.Count(svg, `class="edge"`); n != 4 {
		t.Errorf("%d edges, want 4", n)
	}
	for _, want := range []string{`data-state-of="step:Train" data-state="Executing"`, `data-state-of="step:Register" data-state="NotStarted"`,
		`<rect x="410" y="10"`, `<rect x="210" y="66"`} { // Register in the third column; Eval under Train
		if !strings.Contains(svg, want) {
			t.Errorf("graph lacks %q:\n%s", want, svg)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/console/registry?x=1": "/console/registry?x=1",
		"":                      "/console/",
		"https://evil.example/": "/console/",
		"//evil.example/":       "/console/",
		"/console/\r\nX: y":     "/console/",
		"/metrics":              "/console/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseAuditQuery(t *testing.T) {
	q, err := ParseAuditQuery(url.Values{"principal": {" user/admin "}, "action": {"UpdateModel"}, "from": {"2026-12-03T10:00"}, "to": {"2026-12-04"}})
	if err != nil {
		t.Fatal(err)
	}
	want := AuditQuery{Principal: "user/admin", Action: "UpdateModel", From: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)}
	if diff := cmp.Diff(want, q); diff != "" {
		t.Errorf("ParseAuditQuery (-want +got):\n%s", diff)
	}
	rec := audit.Record{Time: want.From.Add(time.Hour), PrincipalARN: "arn:aws:iam::1:user/admin", Service: "sagemaker", Operation: "UpdateModelPackage"}
	if !q.Match(rec) {
		t.Errorf("%+v does not match %+v", rec, q)
	}
	rec.Time = want.To
	if q.Match(rec) {
		t.Errorf("a record at the end time matches")
	}
	for _, bad := range []url.Values{{"from": {"yesterday"}}, {"from": {"2026-12-04"}, "to": {"2026-12-03"}}, {"account": {strings.Repeat("1", 3000)}}} {
		if _, err := ParseAuditQuery(bad); err == nil {
			t.Errorf("ParseAuditQuery(%v) accepted", bad)
		}
	}
}

func FuzzParseMetrics(f *testing.F) {
	for _, s := range []string{`{"regression_metrics":{"mse":{"value":4.2,"standard_deviation":0.3}}}`, `{"a":{"b":{"c":1e308}}}`, `[]`, `{"value":1}`, `{"x_metrics":{"value":{"value":2}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m := ParseMetrics(body)
		if len(m) > 200 {
			t.Fatalf("%d metrics", len(m))
		}
		for name, v := range m {
			if name == "" || len(name) > 100 || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("metric %q = %v", name, v)
			}
		}
		_ = MetricsURIs(body)
	})
}

func FuzzParseAuditQuery(f *testing.F) {
	for _, s := range []string{"principal=user%2Fadmin&from=2026-12-03T10:00&to=2026-12-04", "from=2026-13-40", "to=2026-12-03T10:00:00.5Z&verify=1", "action=%ZZ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		vals, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseAuditQuery(vals)
		if err != nil {
			return
		}
		if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
			t.Fatalf("accepted a search that ends before it starts: %+v", q)
		}
		_ = q.Match(audit.Record{Time: q.From})
	})
}

// BenchmarkGraph100 draws a 100-step pipeline (each step depends on the two before it).
func BenchmarkGraph100(b *testing.B) {
	var steps []string
	for i := 0; i < 100; i++ {
		deps := ""
		if i > 1 {
			deps = fmt.Sprintf(`,"DependsOn":["S%d","S%d"]`, i-1, i-2)
		}
		steps = append(steps, fmt.Sprintf(`{"Name":"S%d","Type":"Fail","Arguments":{"ErrorMessage":"x"}%s}`, i, deps))
	}
	def, err := definition.Parse([]byte(`{"Version":"2020-12-01","Steps":[` + strings.Join(steps, ",") + `]}`))
	if err != nil {
		b.Fatal(err)
	}
	states := map[string]string{"S0": "Succeeded", "S1": "Executing"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if g := graph(def.Plan(), states); len(g) == 0 {
			b.Fatal("empty graph")
		}
	}
}
