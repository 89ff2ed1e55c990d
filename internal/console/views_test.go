package console

import (
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/alarms"
	"github.com/slipway-ml/slipway/internal/delivery"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/pipeline/definition"
)

func TestJobOf(t *testing.T) {
	j, ok := jobOf(json.RawMessage(`{"ProcessingJob":{"Arn":"arn:aws:sagemaker:us-east-1:1:processing-job/pipelines-abc-work-1"}}`))
	if want := (stepJob{Kind: "ProcessingJob", ARN: "arn:aws:sagemaker:us-east-1:1:processing-job/pipelines-abc-work-1", Name: "pipelines-abc-work-1",
		LogGroup: "/aws/sagemaker/ProcessingJobs"}); !ok || j != want {
		t.Errorf("jobOf = %+v, %v; want %+v", j, ok, want)
	}
	for _, bad := range []string{``, `null`, `{"Condition":{"Outcome":"True"}}`, `{"TrainingJob":{"Arn":""}}`, `{"TrainingJob":{"Arn":"x/"}}`, `[]`} {
		if j, ok := jobOf(json.RawMessage(bad)); ok {
			t.Errorf("jobOf(%s) = %+v", bad, j)
		}
	}
}

func TestParseViewQueries(t *testing.T) {
	if q, err := ParseLogQuery(url.Values{}); err != nil || q.Lines != 200 {
		t.Errorf("default log query = %+v, %v", q, err)
	}
	if q, err := ParseLogQuery(url.Values{"lines": {"1000"}}); err != nil || q.Lines != 1000 {
		t.Errorf("lines=1000: %+v, %v", q, err)
	}
	for _, bad := range []string{"0", "1001", "x", "-5", "1e3"} {
		if _, err := ParseLogQuery(url.Values{"lines": {bad}}); err == nil {
			t.Errorf("lines=%s accepted", bad)
		}
	}
	if q, err := ParseEndpointQuery(url.Values{}); err != nil || q != (EndpointQuery{Minutes: 60, Samples: 10}) {
		t.Errorf("default endpoint query = %+v, %v", q, err)
	}
	if q, err := ParseEndpointQuery(url.Values{"minutes": {"180"}, "samples": {"0"}}); err != nil || q != (EndpointQuery{Minutes: 180, Samples: 0}) {
		t.Errorf("minutes=180&samples=0: %+v, %v", q, err)
	}
	for _, bad := range []url.Values{{"minutes": {"4"}}, {"minutes": {"181"}}, {"samples": {"51"}}, {"samples": {"x"}}} {
		if _, err := ParseEndpointQuery(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestParseCapture(t *testing.T) {
	body := `{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"1,2\n","encoding":"CSV"},"endpointOutput":{"observedContentType":"application/octet-stream","mode":"OUTPUT","data":"AAEC","encoding":"BASE64"}},"eventMetadata":{"eventId":"e1","inferenceId":"i1","inferenceTime":"2026-12-03T10:00:00.000Z"},"eventVersion":"0"}
not json
{"captureData":{}}
{"captureData":{"endpointOutput":{"observedContentType":"application/json","data":"eyJhIjoxfQ==","encoding":"BASE64"}},"eventMetadata":{"eventId":"e2"}}
`
	got := ParseCapture([]byte(body), 10)
	want := []CaptureSample{
		{EventID: "e1", InferenceID: "i1", InferenceTime: "2026-12-03T10:00:00.000Z",
			Input:  &CapturePayload{ContentType: "text/csv", Encoding: "CSV", Text: "1,2\n", Bytes: 4},
			Output: &CapturePayload{ContentType: "application/octet-stream", Encoding: "BASE64", Bytes: 3, Binary: false, Text: "\x00\x01\x02"}},
		{EventID: "e2", Output: &CapturePayload{ContentType: "application/json", Encoding: "BASE64", Text: `{"a":1}`, Bytes: 7}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseCapture (-want +got):\n%s", diff)
	}
	if got := ParseCapture([]byte(body), 1); len(got) != 1 {
		t.Errorf("max 1: %d samples", len(got))
	}
	long := ParseCapture([]byte(`{"captureData":{"endpointInput":{"data":"`+strings.Repeat("é", 3000)+`"}}}`), 1)
	if len(long) != 1 || len(long[0].Input.Text) > maxCaptureText+len("…") || !strings.HasSuffix(long[0].Input.Text, "…") {
		t.Errorf("a long payload is not cut: %d bytes", len(long[0].Input.Text))
	}
	bin := ParseCapture([]byte(`{"captureData":{"endpointInput":{"data":"/w==","encoding":"BASE64"}}}`), 1)
	if len(bin) != 1 || !bin[0].Input.Binary || bin[0].Input.Text != "" || bin[0].Input.Bytes != 1 {
		t.Errorf("non-UTF-8 data: %+v", bin[0].Input)
	}
}

func TestSeriesChart(t *testing.T) {
	from := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	svg := string(seriesChart("x", from, from.Add(2*time.Minute), "ms", []chartLine{{"mean", []float64{1, 4, math.NaN()}}, {`<b>`, []float64{0, 2, math.Inf(1)}}}))
	for _, want := range []string{`<svg class="series"`, ">4ms<", ">10:00<", ">10:02<", "&lt;b&gt;", `class="l1"`} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q:\n%s", want, svg)
		}
	}
	if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") || strings.Contains(svg, "<b>") {
		t.Errorf("chart holds a non-finite number or markup:\n%s", svg)
	}
	if seriesChart("x", from, from, "", nil) != "" {
		t.Errorf("a chart of nothing is not empty")
	}
	cs := endpointCharts([]variantMinutes{{Variant: "blue", Minutes: []minuteMetrics{
		{Start: from, Invocations: 2, Errors5xx: 1, ModelSum: 30 * time.Millisecond, ModelMax: 20 * time.Millisecond},
		{Start: from.Add(time.Minute), Invocations: 1, Errors4xx: 1, ModelSum: 3 * time.Millisecond}}}})
	if len(cs) != 1 || cs[0].Invocations != 3 || cs[0].Errors4xx != 1 || cs[0].Errors5xx != 1 || cs[0].ModelAverage != 11*time.Millisecond {
		t.Errorf("endpointCharts = %+v", cs)
	}
}

func TestWhereHelpers(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:sagemaker:us-east-1:111122223333:model-package/churn/7": "churn 7",
		"arn:aws:sagemaker:us-east-1:111122223333:model-package/churn":   " 0",
		"arn:aws:sagemaker:us-east-1:111122223333:model-package/churn/0": " 0",
		"arn:aws:sagemaker:us-east-1:111122223333:model/churn/7":         " 0",
		"arn:aws:s3:::b/model-package/churn/7":                           " 0",
		"":                                                               " 0",
	} {
		g, v, ok := packageVersion(in)
		if got := g + " " + strconv.Itoa(v); got != want || ok != (want != " 0") {
			t.Errorf("packageVersion(%q) = %q, %d, %v; want %q", in, g, v, ok, want)
		}
	}
	a := delivery.Action{Name: "Deploy", Provider: "CloudFormation", RoleARN: "arn:aws:iam::444455556666:role/deploy", Configuration: map[string]string{"StackName": "model-staging"}}
	if got, ok := targetOf("p", "DeployStaging", a); !ok || got != (deployTarget{Account: "444455556666", Stack: "model-staging", Pipeline: "p", Stage: "DeployStaging", Action: "Deploy"}) {
		t.Errorf("targetOf = %+v, %v", got, ok)
	}
	for _, bad := range []delivery.Action{{Provider: "Manual"}, {Provider: "CloudFormation", RoleARN: "x", Configuration: map[string]string{"StackName": "s"}},
		{Provider: "CloudFormation", RoleARN: a.RoleARN}} {
		if got, ok := targetOf("p", "s", bad); ok {
			t.Errorf("targetOf(%+v) = %+v", bad, got)
		}
	}
}

// FuzzViewQueries: the step and endpoint pages' query parsers accept only what they bound.
func FuzzViewQueries(f *testing.F) {
	for _, s := range []string{"lines=200", "lines=0", "minutes=60&samples=10", "minutes=181", "samples=-1&lines=%ZZ", "minutes=5&minutes=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		if q, err := ParseLogQuery(v); err == nil && (q.Lines < 1 || q.Lines > 1000) {
			t.Fatalf("accepted lines %d", q.Lines)
		}
		if q, err := ParseEndpointQuery(v); err == nil && (q.Minutes < 5 || q.Minutes > 180 || q.Samples < 0 || q.Samples > 50) {
			t.Fatalf("accepted %+v", q)
		}
	})
}

// FuzzParseCapture: any file yields at most max samples whose texts are bounded, valid UTF-8.
func FuzzParseCapture(f *testing.F) {
	for _, s := range []string{
		`{"captureData":{"endpointInput":{"observedContentType":"text/csv","data":"1,2","encoding":"CSV"}},"eventMetadata":{"eventId":"e"}}`,
		`{"captureData":{"endpointOutput":{"data":"/w==","encoding":"BASE64"}}}` + "\n\n{}",
		`{"captureData":{"endpointInput":{"data":"%%%","encoding":"base64"}}}`, "\n", `[1]`,
	} {
		f.Add([]byte(s), 3)
	}
	f.Fuzz(func(t *testing.T, body []byte, max int) {
		got := ParseCapture(body, max)
		if len(got) > 0 && len(got) > max {
			t.Fatalf("%d samples, max %d", len(got), max)
		}
		for _, s := range got {
			for _, p := range []*CapturePayload{s.Input, s.Output} {
				if p == nil {
					continue
				}
				if len(p.Text) > maxCaptureText+len("…") || (p.Binary && p.Text != "") {
					t.Fatalf("payload %+v", p)
				}
			}
			if s.Input == nil && s.Output == nil {
				t.Fatalf("a sample with neither input nor output: %+v", s)
			}
		}
	})
}

func TestGraphLinks(t *testing.T) {
	def, err := definition.Parse([]byte(`{"Version":"2020-12-01","Steps":[{"Name":"Prep-Go","Type":"Fail","Arguments":{"ErrorMessage":"a"}},
{"Name":"Train","Type":"Fail","DependsOn":["Prep-Go"],"Arguments":{"ErrorMessage":"b"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	svg := string(graphLinked(def.Plan(), nil, func(s string) string { return "/x/" + url.PathEscape(s) + "?a=1&b" }))
	if !strings.Contains(svg, `<a href="/x/Prep-Go?a=1&amp;b"><g class="node" data-state-of="step:Prep-Go"`) || strings.Count(svg, "</a>") != 2 {
		t.Errorf("the steps are not linked:\n%s", svg)
	}
	if strings.Contains(string(graph(def.Plan(), nil)), "<a ") {
		t.Errorf("graph without links links")
	}
}

func TestHiddenNamesNoResource(t *testing.T) {
	c := &Console{}
	for msg, want := range map[string]string{
		"User: arn:aws:iam::1:user/a is not authorized to perform: sagemaker:DescribeTrainingJob on resource: arn:aws:sagemaker:us-east-1:1:training-job/secret-job with an explicit deny in an identity-based policy": "not visible to you: you may not sagemaker:DescribeTrainingJob with an explicit deny in an identity-based policy",
		"User: arn:aws:iam::1:user/a is not authorized to perform: sagemaker:DescribePipelineExecution on resource: arn:aws:sagemaker:us-east-1:1:pipeline/secret/execution/x":                                         "not visible to you: you may not sagemaker:DescribePipelineExecution",
		"something else about secret-job": "not visible to you",
	} {
		got := c.hidden(errs.E(errs.AccessDenied, "%s", msg))
		if got != want || strings.Contains(got, "secret") {
			t.Errorf("hidden(%q) = %q, want %q", msg, got, want)
		}
	}
	if got := c.hidden(errs.E(errs.NotFound, "no such job secret-job")); got != "" {
		t.Errorf("hidden(NotFound) = %q, want \"\" (not a refusal)", got)
	}
}

// TestEndpointMinutes: GetMetricData's answers become each variant's minutes over the window
// (minutes without data are zero, latencies come in microseconds); the no-variant series is
// shown only when it holds invocations; every query is a per-minute AWS/SageMaker statistic.
func TestEndpointMinutes(t *testing.T) {
	start := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	variants := []string{"blue", ""}
	qs := endpointQueries("ep", variants)
	if len(qs) != 10 {
		t.Fatalf("%d queries, want 5 a variant", len(qs))
	}
	for _, q := range qs {
		if q.Period != 60 || q.Metric.Namespace != "AWS/SageMaker" || q.Metric.Dimensions[0] != (alarms.Dimension{Name: "EndpointName", Value: "ep"}) {
			t.Errorf("query %+v", q)
		}
	}
	if d := qs[0].Metric.Dimensions; len(d) != 2 || d[1].Value != "blue" {
		t.Errorf("blue's query dimensions %+v", d)
	}
	if d := qs[5].Metric.Dimensions; len(d) != 1 {
		t.Errorf("the no-variant query's dimensions %+v", d)
	}
	at := func(m int) []time.Time { return []time.Time{start.Add(time.Duration(m) * time.Minute)} }
	rs := []alarms.DataResult{
		{ID: "inv_0", Times: append(at(1), at(7)...), Values: []float64{3, 9}}, // 10:07 is outside the window
		{ID: "e5_0", Times: at(1), Values: []float64{1}},
		{ID: "msum_0", Times: at(1), Values: []float64{30000}},
		{ID: "mmax_0", Times: at(1), Values: []float64{20000}},
	}
	got := endpointMinutes(variants, rs, start, 3)
	if len(got) != 1 || got[0].Variant != "blue" || len(got[0].Minutes) != 3 {
		t.Fatalf("endpointMinutes = %+v", got)
	}
	m := got[0].Minutes
	if m[0].Invocations != 0 || !m[2].Start.Equal(start.Add(2*time.Minute)) || m[1].Invocations != 3 || m[1].Errors5xx != 1 ||
		m[1].ModelAverage() != 10*time.Millisecond || m[1].ModelMax != 20*time.Millisecond {
		t.Errorf("blue's minutes = %+v", m)
	}
	got = endpointMinutes(variants, append(rs, alarms.DataResult{ID: "inv_1", Times: at(0), Values: []float64{2}}), start, 3)
	if len(got) != 2 || got[1].Variant != "" || got[1].Minutes[0].Invocations != 2 {
		t.Errorf("with invocations that reached no variant: %+v", got)
	}
}
