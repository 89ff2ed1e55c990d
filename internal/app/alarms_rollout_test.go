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

// TestServingUpdateRollsBackOnAlarm: an update whose AutoRollbackConfiguration names an alarm
// that goes to ALARM during its wait is rolled back, ending InService on the old configuration
// with a FailureReason naming the alarm; the same update without the breach completes.
func TestServingUpdateRollsBackOnAlarm(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	v := e.endpoint()
	name := v["EndpointName"]
	waitInService(t, e.admin.sm, name)
	alarm := map[string]any{"AlarmName": "rollout-errors", "Namespace": "Rollout", "MetricName": "Errors", "Statistic": "Sum", "Period": 60,
		"EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"}
	e.must(alarmCall(ctx, e.admin.sm, "PutMetricAlarm", alarm, nil))
	update := func(cfg string) *sagemaker.DescribeEndpointOutput {
		_, err := e.admin.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String(cfg),
			DeploymentConfig: &smtypes.DeploymentConfig{
				BlueGreenUpdatePolicy: &smtypes.BlueGreenUpdatePolicy{TrafficRoutingConfiguration: &smtypes.TrafficRoutingConfig{
					Type: smtypes.TrafficRoutingConfigTypeAllAtOnce, WaitIntervalInSeconds: aws.Int32(1)}, TerminationWaitInSeconds: aws.Int32(2)},
				AutoRollbackConfiguration: &smtypes.AutoRollbackConfig{Alarms: []smtypes.Alarm{{AlarmName: aws.String("rollout-errors")}}}}})
		e.must(err)
		return waitInService(t, e.admin.sm, name)
	}

	// No breach: the update completes.
	green := e.variantConfig("Green", 1)
	if d := update(green); aws.ToString(d.EndpointConfigName) != green || aws.ToString(d.FailureReason) != "" {
		t.Fatalf("without a breach the update ended on %s (%s), want %s", aws.ToString(d.EndpointConfigName), aws.ToString(d.FailureReason), green)
	}
	// The new model's errors breach the alarm during the bake: rolled back.
	e.must(alarmCall(ctx, e.admin.sm, "PutMetricData", map[string]any{"Namespace": "Rollout",
		"MetricData": []any{map[string]any{"MetricName": "Errors", "Value": 5}}}, nil))
	blue := e.variantConfig("Blue", 1)
	d := update(blue)
	if aws.ToString(d.EndpointConfigName) != green || !strings.Contains(aws.ToString(d.FailureReason), "rollout-errors") {
		t.Errorf("with the alarm in ALARM the update ended on %s (%q), want %s with a FailureReason naming the alarm",
			aws.ToString(d.EndpointConfigName), aws.ToString(d.FailureReason), green)
	}
}

// TestServingUpdateRolledBackByItsOwnErrors: the alarm watches the endpoint's own metric. A
// blue/green update to a model whose artifact makes every inference fail (its server answers
// 500: a ModelError, counted in AWS/SageMaker's Invocation5XXErrors by the model's own status)
// bakes under load; the new variant's errors trip an alarm on that metric of that variant, and
// the update rolls back before its bake ends, with a FailureReason naming the alarm.
func TestServingUpdateRolledBackByItsOwnErrors(t *testing.T) {
	ctx := context.Background()
	_, e := startWithFailingModels(t)
	const name = "self-inflicted"
	blue := e.variantConfig("Blue", 1)
	_, err := e.admin.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String(blue)})
	e.must(err)
	waitInService(t, e.admin.sm, name)

	e.failingModel("failing", 500)
	_, err = e.admin.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String("failing"),
		ProductionVariants: []smtypes.ProductionVariant{{VariantName: aws.String("Green"), ModelName: aws.String("failing"),
			InitialInstanceCount: aws.Int32(1), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large}}})
	e.must(err)
	const alarm = "green-model-errors"
	e.must(alarmCall(ctx, e.admin.sm, "PutMetricAlarm", map[string]any{"AlarmName": alarm, "Namespace": "AWS/SageMaker",
		"MetricName": "Invocation5XXErrors", "Dimensions": []any{map[string]any{"Name": "EndpointName", "Value": name}, map[string]any{"Name": "VariantName", "Value": "Green"}},
		"Statistic": "Sum", "Period": 10, "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
		"TreatMissingData": "notBreaching"}, nil))

	l := startLoad(e.admin.rt, name, 2)
	defer l.end()
	const bake = 30
	began := time.Now()
	_, err = e.admin.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String("failing"),
		DeploymentConfig: &smtypes.DeploymentConfig{
			BlueGreenUpdatePolicy: &smtypes.BlueGreenUpdatePolicy{TrafficRoutingConfiguration: &smtypes.TrafficRoutingConfig{
				Type: smtypes.TrafficRoutingConfigTypeAllAtOnce, WaitIntervalInSeconds: aws.Int32(1)}, TerminationWaitInSeconds: aws.Int32(bake)},
			AutoRollbackConfiguration: &smtypes.AutoRollbackConfig{Alarms: []smtypes.Alarm{{AlarmName: aws.String(alarm)}}}}})
	e.must(err)
	phases, d := watchUpdate(t, e.admin.sm, name)
	took := time.Since(began)
	t.Logf("rolled back in %v: %v; %d invocations succeeded, %d failed (first: %v); reason %q", took.Round(time.Millisecond), phases,
		l.ok.Load(), l.failed.Load(), l.firstErr, aws.ToString(d.FailureReason))
	if aws.ToString(d.EndpointConfigName) != blue || aws.ToString(d.ProductionVariants[0].VariantName) != "Blue" ||
		!strings.Contains(aws.ToString(d.FailureReason), "alarm "+alarm) {
		t.Fatalf("after the update: config %s variant %s reason %q; want %s Blue and a FailureReason naming the alarm %s",
			aws.ToString(d.EndpointConfigName), aws.ToString(d.ProductionVariants[0].VariantName), aws.ToString(d.FailureReason), blue, alarm)
	}
	if took >= bake*time.Second {
		t.Errorf("the rollback took %v: it waited out the %d-second bake instead of reacting to the alarm", took, bake)
	}
	if l.failed.Load() == 0 {
		t.Error("no invocation failed: the new model's errors were not what tripped the alarm")
	}
	var out struct {
		MetricAlarms []struct{ StateValue, StateReason string }
	}
	e.must(alarmCall(ctx, e.admin.sm, "DescribeAlarms", map[string]any{"AlarmNames": []string{alarm}}, &out))
	if len(out.MetricAlarms) != 1 || out.MetricAlarms[0].StateValue != "ALARM" {
		t.Errorf("the alarm after the rollback: %+v, want ALARM", out.MetricAlarms)
	}
	// Rolled back, the endpoint answers from the old model again.
	_, err = e.admin.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(name), ContentType: aws.String("text/csv"), Body: []byte("1,2\n")})
	e.must(err)
}
