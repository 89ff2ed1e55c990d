package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go"
)

// alarmCall calls a CloudWatch operation as the principal whose SageMaker client sm is, in
// awsJson1_0 (as botocore 1.43 does; the Go SDK's CloudWatch client is not a dependency here),
// decoding the answer into out. An error answer is a smithy.APIError with the query code.
func alarmCall(ctx context.Context, sm *sagemaker.Client, op string, in, out any) error {
	o := sm.Options()
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", *o.BaseEndpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801."+op)
	req.Header.Set("X-Amzn-Query-Mode", "true")
	creds, err := o.Credentials.Retrieve(ctx)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "monitoring", o.Region, time.Now()); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &e)
		return &smithy.GenericAPIError{Code: e.Type, Message: fmt.Sprintf("%d %s", resp.StatusCode, e.Message)}
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// alarmOn makes an alarm on a custom metric with one datapoint.
func (e *authzEnv) alarmOn() map[string]string {
	ctx := context.Background()
	name := e.name("alarm")
	e.must(alarmCall(ctx, e.admin.sm, "PutMetricData", map[string]any{"Namespace": "Authz", "MetricData": []any{map[string]any{"MetricName": "m", "Value": 1}}}, nil))
	e.must(alarmCall(ctx, e.admin.sm, "PutMetricAlarm", alarmDef(name), nil))
	return map[string]string{"AlarmName": name}
}

func alarmDef(name string) map[string]any {
	return map[string]any{"AlarmName": name, "Namespace": "Authz", "MetricName": "m", "Statistic": "Sum", "Period": 60,
		"EvaluationPeriods": 1, "Threshold": 5, "ComparisonOperator": "GreaterThanThreshold"}
}

func cloudwatchCases() map[string]opCase {
	none := func(*authzEnv) map[string]string { return map[string]string{} }
	now := time.Now()
	do := func(op string, in func(v map[string]string) any) func(ctx context.Context, e *authzEnv, v map[string]string) error {
		return func(ctx context.Context, e *authzEnv, v map[string]string) error {
			return alarmCall(ctx, e.actor.sm, op, in(v), nil)
		}
	}
	return map[string]opCase{
		"PutMetricData": {none, do("PutMetricData", func(map[string]string) any {
			return map[string]any{"Namespace": "Authz", "MetricData": []any{map[string]any{"MetricName": "m", "Value": 2}}}
		})},
		"GetMetricStatistics": {none, do("GetMetricStatistics", func(map[string]string) any {
			return map[string]any{"Namespace": "Authz", "MetricName": "m", "StartTime": now.Add(-time.Hour).Unix(), "EndTime": now.Add(time.Hour).Unix(),
				"Period": 60, "Statistics": []string{"Sum"}}
		})},
		"GetMetricData": {none, do("GetMetricData", func(map[string]string) any {
			return map[string]any{"StartTime": now.Add(-time.Hour).Unix(), "EndTime": now.Add(time.Hour).Unix(), "MetricDataQueries": []any{
				map[string]any{"Id": "q", "MetricStat": map[string]any{"Metric": map[string]any{"Namespace": "Authz", "MetricName": "m"}, "Period": 60, "Stat": "Sum"}}}}
		})},
		"ListMetrics": {none, do("ListMetrics", func(map[string]string) any { return map[string]any{} })},
		"PutMetricAlarm": {func(e *authzEnv) map[string]string { return map[string]string{"AlarmName": e.name("new")} },
			do("PutMetricAlarm", func(v map[string]string) any { return alarmDef(v["AlarmName"]) })},
		"DescribeAlarms": {(*authzEnv).alarmOn, do("DescribeAlarms", func(v map[string]string) any {
			return map[string]any{"AlarmNames": []string{v["AlarmName"]}}
		})},
		"DescribeAlarmsForMetric": {(*authzEnv).alarmOn, do("DescribeAlarmsForMetric", func(map[string]string) any {
			return map[string]any{"Namespace": "Authz", "MetricName": "m"}
		})},
		"DeleteAlarms": {(*authzEnv).alarmOn, do("DeleteAlarms", func(v map[string]string) any {
			return map[string]any{"AlarmNames": []string{v["AlarmName"]}}
		})},
		"SetAlarmState": {(*authzEnv).alarmOn, do("SetAlarmState", func(v map[string]string) any {
			return map[string]any{"AlarmName": v["AlarmName"], "StateValue": "ALARM", "StateReason": "test"}
		})},
		"DescribeAlarmHistory": {(*authzEnv).alarmOn, do("DescribeAlarmHistory", func(v map[string]string) any {
			return map[string]any{"AlarmName": v["AlarmName"]}
		})},
	}
}
