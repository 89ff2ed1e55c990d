package pipeline

import (
	"encoding/json"

	"github.com/slipway-ml/slipway/internal/pipeline/definition"
)

// The lineage a RegisterModel step records in the model package it registers, beside
// MetadataProperties.GeneratedBy (the execution's ARN, as SageMaker sets it). SageMaker keeps
// the rest of a version's lineage in its lineage-tracking API (artifacts, actions,
// associations), which Slipway does not serve; Slipway records it in the package's
// CustomerMetadataProperties under these keys, so DescribeModelPackage shows it and
// `slipway models lineage` follows it. The TrainingJob keys are absent when no Training step
// of the execution produced the registered model data.
const (
	LineageStepKey         = "slipway:PipelineStepName"
	LineageTrainingStepKey = "slipway:TrainingStepName"
	LineageTrainingJobKey  = "slipway:TrainingJobArn"
)

// maxCustomerMetadataValue is SageMaker's bound on a CustomerMetadataProperties value.
const maxCustomerMetadataValue = 256

// recordLineage adds the registering step and the training job that produced the registered
// model data to a CreateModelPackage request's CustomerMetadataProperties (the definition's
// own entries stay; these keys win).
func (r *run) recordLineage(args map[string]any, step string) {
	cmp, _ := args["CustomerMetadataProperties"].(map[string]any)
	if cmp == nil {
		cmp = map[string]any{}
	}
	set := func(k, v string) {
		if v != "" && len(v) <= maxCustomerMetadataValue {
			cmp[k] = v
		}
	}
	set(LineageStepKey, step)
	if name, job := r.trainingStep(args); job != "" {
		set(LineageTrainingStepKey, name)
		set(LineageTrainingJobKey, job)
	}
	args["CustomerMetadataProperties"] = cmp
}

// trainingStep finds the succeeded Training step of the execution whose model artifacts a
// container of the request names as ModelDataUrl; failing that, the execution's only
// succeeded Training step. It returns the step's name and its job's ARN.
func (r *run) trainingStep(args map[string]any) (string, string) {
	urls := map[string]bool{}
	spec, _ := args["InferenceSpecification"].(map[string]any)
	containers, _ := spec["Containers"].([]any)
	for _, c := range containers {
		if m, ok := c.(map[string]any); ok {
			if u, ok := m["ModelDataUrl"].(string); ok {
				urls[u] = true
			}
		}
	}
	var only, onlyJob string
	trained := 0
	for _, s := range r.steps {
		if s.Type != string(definition.Training) || s.Status != StepSucceeded {
			continue
		}
		var d struct {
			TrainingJobArn string
			ModelArtifacts struct{ S3ModelArtifacts string }
		}
		if json.Unmarshal(s.Properties, &d) != nil || d.TrainingJobArn == "" {
			continue
		}
		if urls[d.ModelArtifacts.S3ModelArtifacts] {
			return s.Name, d.TrainingJobArn
		}
		trained++
		only, onlyJob = s.Name, d.TrainingJobArn
	}
	if trained == 1 {
		return only, onlyJob
	}
	return "", ""
}
