package app_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// recorder keeps the body of the last response that went through it.
type recorder struct {
	mu   sync.Mutex
	last string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	r.mu.Lock()
	r.last = string(b)
	r.mu.Unlock()
	return resp, nil
}

func (r *recorder) body() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// TestServingWeightsAreFloats: variant weights go back as SageMaker sends them, JSON numbers
// with a fraction — 0.5 as 0.5, 1 as 1.0 — in DescribeEndpointConfig and DescribeEndpoint, also
// after UpdateEndpointWeightsAndCapacities; boto3 and the CLI then read floats, as from AWS.
func TestServingWeightsAreFloats(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	rec := &recorder{}
	cfg := s.cfg("data-science")
	cfg.HTTPClient = &http.Client{Transport: rec}
	sm := sagemaker.NewFromConfig(cfg)
	m := e.model()
	_, err := sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String("halves"),
		ProductionVariants: []smtypes.ProductionVariant{
			{VariantName: aws.String("A"), ModelName: aws.String(m["ModelName"]), InitialInstanceCount: aws.Int32(1), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large, InitialVariantWeight: aws.Float32(0.5)},
			{VariantName: aws.String("B"), ModelName: aws.String(m["ModelName"]), InitialInstanceCount: aws.Int32(1), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large, InitialVariantWeight: aws.Float32(1)},
			{VariantName: aws.String("C"), ModelName: aws.String(m["ModelName"]), InitialInstanceCount: aws.Int32(1), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large},
		}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: aws.String("halves")})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"InitialVariantWeight":0.5`, `"InitialVariantWeight":1.0`} {
		if !strings.Contains(rec.body(), want) {
			t.Errorf("DescribeEndpointConfig lacks %s: %s", want, rec.body())
		}
	}
	if strings.Contains(rec.body(), `"InitialVariantWeight":1,`) || strings.Contains(rec.body(), `"InitialVariantWeight":1}`) {
		t.Errorf("DescribeEndpointConfig sends an integer weight: %s", rec.body())
	}
	if got := *d.ProductionVariants[0].InitialVariantWeight; got != 0.5 {
		t.Errorf("variant A's weight = %v, want 0.5", got)
	}

	if _, err := sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("halves"), EndpointConfigName: aws.String("halves")}); err != nil {
		t.Fatal(err)
	}
	waitInService(t, sm, "halves")
	if _, err := sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("halves")}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"CurrentWeight":0.5`, `"DesiredWeight":0.5`, `"CurrentWeight":1.0`, `"DesiredWeight":1.0`} {
		if !strings.Contains(rec.body(), want) {
			t.Errorf("DescribeEndpoint lacks %s: %s", want, rec.body())
		}
	}
	if _, err := sm.UpdateEndpointWeightsAndCapacities(ctx, &sagemaker.UpdateEndpointWeightsAndCapacitiesInput{EndpointName: aws.String("halves"),
		DesiredWeightsAndCapacities: []smtypes.DesiredWeightAndCapacity{{VariantName: aws.String("C"), DesiredWeight: aws.Float32(0.25)},
			{VariantName: aws.String("A"), DesiredWeight: aws.Float32(2)}}}); err != nil {
		t.Fatal(err)
	}
	waitInService(t, sm, "halves")
	out, err := sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("halves")})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"CurrentWeight":0.25`, `"CurrentWeight":2.0`, `"CurrentWeight":1.0`} {
		if !strings.Contains(rec.body(), want) {
			t.Errorf("DescribeEndpoint after the weights changed lacks %s: %s", want, rec.body())
		}
	}
	got := map[string]float32{}
	for _, v := range out.ProductionVariants {
		got[*v.VariantName] = *v.CurrentWeight
	}
	if got["A"] != 2 || got["B"] != 1 || got["C"] != 0.25 {
		t.Errorf("weights after the update = %v, want A 2, B 1, C 0.25", got)
	}
}

// waitInService polls DescribeEndpoint until the endpoint is InService (or fails the test).
func waitInService(t *testing.T, sm *sagemaker.Client, name string) *sagemaker.DescribeEndpointOutput {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		d, err := sm.DescribeEndpoint(context.Background(), &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if d.EndpointStatus == smtypes.EndpointStatusInService {
			return d
		}
		if d.EndpointStatus == smtypes.EndpointStatusFailed || time.Now().After(deadline) {
			t.Fatalf("endpoint %s: %s %s", name, d.EndpointStatus, aws.ToString(d.FailureReason))
		}
	}
}
