package cloudwatchapi

import "github.com/slipway-ml/slipway/internal/awsapi"

// The resources of CloudWatch's operations: an alarm's ARN for the operations on alarms (every
// alarm of the account, …:alarm:*, when a listing names none), "*" for the metric operations,
// as CloudWatch's own authorization reference has them.
const (
	alarmARN  = "arn:aws:cloudwatch:{Region}:{Account}:alarm:{AlarmName}"
	alarmsARN = "arn:aws:cloudwatch:{Region}:{Account}:alarm:*"
)

// Operations declares the action and resources each operation is authorized on.
func Operations() []awsapi.Authz {
	op := func(name string, resources ...string) awsapi.Authz {
		return awsapi.Authz{Operation: name, Action: "cloudwatch:" + name, Resources: resources}
	}
	return []awsapi.Authz{
		op("PutMetricData", "*"),
		op("GetMetricStatistics", "*"),
		op("GetMetricData", "*"),
		op("ListMetrics", "*"),
		op("PutMetricAlarm", alarmARN),
		op("DescribeAlarms", alarmARN),
		op("DescribeAlarmsForMetric", alarmsARN),
		op("DeleteAlarms", alarmARN),
		op("SetAlarmState", alarmARN),
		op("DescribeAlarmHistory", alarmARN),
	}
}
