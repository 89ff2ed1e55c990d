// Package alarms is a CloudWatch metrics and alarms subset: custom metrics (PutMetricData),
// their statistics (GetMetricStatistics, GetMetricData, ListMetrics), the endpoints' metrics in
// the AWS/SageMaker namespace (read-only, recorded from serving's invocations), and metric alarms
// with a static threshold that an evaluator moves between OK, ALARM and INSUFFICIENT_DATA.
//
// Invariants:
//   - Every API call is authorized by this package: alarm operations on the alarm's ARN
//     (arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME), metric operations on "*" as CloudWatch
//     does; an explicit Deny wins. Metrics and alarms belong to one account and are never
//     visible from another.
//   - A change commits with the call's audit record. An alarm's state changes (the evaluator's,
//     or SetAlarmState's) commit with their history item and their "CloudWatch Alarm State
//     Change" event (source aws.cloudwatch) in one transaction: the event bus sees every
//     transition that committed, and only those.
//   - The evaluator is durable: one reconcile work item per alarm, enqueued in the transaction
//     that creates or changes the alarm, so a restarted server goes on evaluating every alarm.
//     Evaluate is a pure function of the alarm, its datapoints and the time.
//   - The AWS/SageMaker namespace is the platform's: PutMetricData refuses it (as it refuses
//     every AWS/ namespace). Its datapoints live in memory, per minute, for the last day: a
//     restarted server starts them afresh (alarms on them see missing data until invocations
//     resume).
//   - Stored datapoints are kept DataRetention (15 days, CloudWatch's for 1-minute data) after
//     their timestamps; PruneData deletes older ones in bounded batches, each its own
//     transaction (the server runs it hourly).
//   - Bad input changes nothing.
package alarms
