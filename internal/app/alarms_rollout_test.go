package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
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
