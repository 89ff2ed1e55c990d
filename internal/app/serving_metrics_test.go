package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
)

// scrape returns the value of every sample of /metrics whose name and labels start with prefix.
func scrape(t *testing.T, url, prefix string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestServingInvocationMetrics: /metrics counts an endpoint's invocations, its 4xx errors, and
// its model and overhead latency by variant, and forgets the endpoint once it is deleted.
func TestServingInvocationMetrics(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	v := e.endpoint()
	name := v["EndpointName"]
	const good, bad = 7, 3
	for range good {
		if _, err := e.admin.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(name), ContentType: aws.String("text/csv"), Body: []byte("1,2\n")}); err != nil {
			t.Fatal(err)
		}
	}
	for range bad { // three features for a model of two: the model refuses it (400)
		if _, err := e.admin.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(name), ContentType: aws.String("text/csv"), Body: []byte("1,2,3\n")}); err == nil {
			t.Fatal("a row of three features was answered")
		}
	}
	labels := fmt.Sprintf(`{account="%s",endpoint="%s",variant="AllTraffic"}`, e.account, name)
	m := scrape(t, s.url, "slipway_endpoint_")
	for metric, want := range map[string]float64{
		"slipway_endpoint_invocations_total":              good + bad,
		"slipway_endpoint_invocation_4xx_errors_total":    bad,
		"slipway_endpoint_model_latency_seconds_count":    good + bad,
		"slipway_endpoint_overhead_latency_seconds_count": good + bad,
		"slipway_endpoint_invocation_5xx_errors_total":    -1, // never failed: no series
		"slipway_endpoint_model_latency_seconds_sum":      0,  // > 0
		"slipway_endpoint_overhead_latency_seconds_sum":   0,  // > 0
	} {
		got, ok := m[metric+labels]
		switch {
		case want < 0 && ok:
			t.Errorf("%s = %v, want no series", metric+labels, got)
		case want == 0 && !(got > 0):
			t.Errorf("%s = %v, want > 0", metric+labels, got)
		case want > 0 && got != want:
			t.Errorf("%s = %v, want %v", metric+labels, got, want)
		}
	}
	t.Logf("model latency %.1f µs, overhead %.1f µs per invocation on average",
		1e6*m["slipway_endpoint_model_latency_seconds_sum"+labels]/(good+bad), 1e6*m["slipway_endpoint_overhead_latency_seconds_sum"+labels]/(good+bad))

	if _, err := e.admin.sm.DeleteEndpoint(ctx, &sagemaker.DeleteEndpointInput{EndpointName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		m := scrape(t, s.url, "slipway_endpoint_invocations_total")
		if _, ok := m["slipway_endpoint_invocations_total"+labels]; !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the deleted endpoint's metrics are still exported")
		}
	}
}
