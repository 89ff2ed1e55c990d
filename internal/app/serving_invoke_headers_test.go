package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
)

// TestServingInvokeHeadersAndUpdating: TargetVariant reaches a variant of weight 0 and the answer
// names it; an unknown TargetVariant and an InferenceId over 64 characters are refused; and an
// endpoint being updated (a LINEAR blue/green update baking between its steps) keeps answering
// every invocation while DescribeEndpoint says Updating.
func TestServingInvokeHeadersAndUpdating(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	m := e.model()
	pv := func(name string, w float32) smtypes.ProductionVariant {
		return smtypes.ProductionVariant{VariantName: aws.String(name), ModelName: aws.String(m["ModelName"]), InitialInstanceCount: aws.Int32(1),
			InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large, InitialVariantWeight: aws.Float32(w)}
	}
	_, err := e.admin.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String("ab"),
		ProductionVariants: []smtypes.ProductionVariant{pv("A", 1), pv("B", 0)}})
	e.must(err)
	_, err = e.admin.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("ab"), EndpointConfigName: aws.String("ab")})
	e.must(err)
	waitInService(t, e.admin.sm, "ab")
	invoke := func(target, id string) (*sagemakerruntime.InvokeEndpointOutput, error) {
		in := &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("ab"), ContentType: aws.String("text/csv"), Body: []byte("1,2\n"),
			CustomAttributes: aws.String("trace=1")}
		if target != "" {
			in.TargetVariant = aws.String(target)
		}
		if id != "" {
			in.InferenceId = aws.String(id)
		}
		return e.admin.rt.InvokeEndpoint(ctx, in)
	}
	for range 5 {
		out, err := invoke("B", "id-1")
		if err != nil || aws.ToString(out.InvokedProductionVariant) != "B" || strings.TrimSpace(string(out.Body)) != "6" {
			t.Fatalf("TargetVariant B: %v %v", out, err)
		}
		if out, err := invoke("", ""); err != nil || aws.ToString(out.InvokedProductionVariant) != "A" {
			t.Fatalf("weights: %v %v (B has weight 0)", out, err)
		}
	}
	if _, err := invoke("C", ""); code(err) != "ValidationError" || !strings.Contains(err.Error(), "C") {
		t.Errorf("unknown TargetVariant: %v", err)
	}
	if _, err := invoke("", strings.Repeat("x", 65)); err == nil {
		t.Errorf("an InferenceId of 65 characters was accepted")
	}

	// A LINEAR update waits 1 s between steps: the endpoint is Updating meanwhile, and serves.
	next := e.variantConfig("New", 1)
	_, err = e.admin.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String("ab"), EndpointConfigName: aws.String(next),
		DeploymentConfig: &smtypes.DeploymentConfig{BlueGreenUpdatePolicy: &smtypes.BlueGreenUpdatePolicy{
			TrafficRoutingConfiguration: &smtypes.TrafficRoutingConfig{Type: smtypes.TrafficRoutingConfigTypeLinear, WaitIntervalInSeconds: aws.Int32(1),
				LinearStepSize: &smtypes.CapacitySize{Type: smtypes.CapacitySizeTypeCapacityPercent, Value: aws.Int32(50)}},
			TerminationWaitInSeconds: aws.Int32(0), MaximumExecutionTimeoutInSeconds: aws.Int32(600)}}})
	e.must(err)
	whileUpdating, variants := 0, map[string]int{}
	for deadline := time.Now().Add(30 * time.Second); ; {
		d, err := e.admin.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("ab")})
		e.must(err)
		if d.EndpointStatus == smtypes.EndpointStatusInService && aws.ToString(d.EndpointConfigName) == next {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the update did not finish: %s %s", d.EndpointStatus, aws.ToString(d.FailureReason))
		}
		out, err := invoke("", "")
		if err != nil {
			t.Fatalf("invocation while %s: %v", d.EndpointStatus, err)
		}
		if d.EndpointStatus == smtypes.EndpointStatusUpdating {
			whileUpdating++
			variants[aws.ToString(out.InvokedProductionVariant)]++
		}
	}
	if whileUpdating < 5 {
		t.Errorf("only %d invocations while Updating", whileUpdating)
	}
	t.Logf("%d invocations while Updating, answered by %v", whileUpdating, variants)
}
