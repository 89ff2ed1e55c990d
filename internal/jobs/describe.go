package jobs

import (
	"encoding/json"
	"time"
)

// Description is the job as SageMaker's DescribeTrainingJob, DescribeProcessingJob or
// DescribeTransformJob answers it (member names of the wire model): the create request's
// members, then the job's state. It is also the detail of the job's state change events.
func (j Job) Description() map[string]any {
	d := map[string]any{}
	if len(j.Request) > 0 {
		_ = json.Unmarshal(j.Request, &d) // stored by Create from a valid JSON object
	}
	delete(d, "Tags")
	noun := j.Kind.Noun()
	d[noun+"Name"] = j.Name
	d[noun+"Arn"] = j.ARN
	d[noun+"Status"] = string(j.Status)
	d["CreationTime"] = j.CreatedAt
	d["LastModifiedTime"] = j.ModifiedAt
	if j.FailureReason != "" {
		d["FailureReason"] = j.FailureReason
	}
	prefix := map[Kind]string{TrainingJob: "Training", ProcessingJob: "Processing", TransformJob: "Transform"}[j.Kind]
	if !j.StartedAt.IsZero() {
		d[prefix+"StartTime"] = j.StartedAt
	}
	if !j.EndedAt.IsZero() {
		d[prefix+"EndTime"] = j.EndedAt
	}
	if j.Kind == ProcessingJob && j.FailureReason != "" {
		d["ExitMessage"] = j.FailureReason
	}
	if j.Kind != TrainingJob {
		return d
	}
	d["SecondaryStatus"] = string(j.Secondary)
	ts := make([]map[string]any, 0, len(j.Transitions))
	for _, t := range j.Transitions {
		m := map[string]any{"Status": string(t.Status), "StartTime": t.StartTime}
		if !t.EndTime.IsZero() {
			m["EndTime"] = t.EndTime
		}
		if t.StatusMessage != "" {
			m["StatusMessage"] = t.StatusMessage
		}
		ts = append(ts, m)
	}
	d["SecondaryStatusTransitions"] = ts
	if len(j.Metrics) > 0 {
		ms := make([]map[string]any, 0, len(j.Metrics))
		for _, m := range j.Metrics {
			ms = append(ms, map[string]any{"MetricName": m.Name, "Value": m.Value, "Timestamp": m.Timestamp})
		}
		d["FinalMetricDataList"] = ms
	}
	d["ModelArtifacts"] = map[string]any{"S3ModelArtifacts": j.ModelArtifacts}
	if _, ok := d["StoppingCondition"]; !ok {
		d["StoppingCondition"] = map[string]any{"MaxRuntimeInSeconds": int(DefaultMaxRuntime / time.Second)}
	}
	if !j.StartedAt.IsZero() {
		end := j.EndedAt
		if end.IsZero() {
			end = j.ModifiedAt
		}
		secs := int64(end.Sub(j.StartedAt) / time.Second)
		if secs < 1 && !j.EndedAt.IsZero() {
			secs = 1
		}
		d["TrainingTimeInSeconds"] = secs
		d["BillableTimeInSeconds"] = secs * int64(max(j.Spec.InstanceCount, 1))
	}
	return d
}

// Summary is the job as the List operations answer it.
func (j Job) Summary() map[string]any {
	noun := j.Kind.Noun()
	d := map[string]any{
		noun + "Name": j.Name, noun + "Arn": j.ARN, noun + "Status": string(j.Status),
		"CreationTime": j.CreatedAt, "LastModifiedTime": j.ModifiedAt,
	}
	prefix := map[Kind]string{TrainingJob: "Training", ProcessingJob: "Processing", TransformJob: "Transform"}[j.Kind]
	if !j.EndedAt.IsZero() {
		d[prefix+"EndTime"] = j.EndedAt
	}
	if j.FailureReason != "" {
		d["FailureReason"] = j.FailureReason
	}
	if j.Kind == TrainingJob {
		d["SecondaryStatus"] = string(j.Secondary)
	}
	return d
}
