package sagemakerapi

import (
	"context"
	"fmt"
	"time"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/jobs"
)

// jobHandlers are the operations of processing, training and transform jobs.
func (a *API) jobHandlers(h map[string]awsapi.Handler) {
	h["CreateTrainingJob"] = apicall.Handle(a.createTraining)
	h["CreateProcessingJob"] = apicall.Handle(a.createProcessing)
	h["CreateTransformJob"] = apicall.Handle(a.createTransform)
	for _, k := range []jobs.Kind{jobs.TrainingJob, jobs.ProcessingJob, jobs.TransformJob} {
		h["Describe"+k.Noun()] = apicall.Handle(a.describeJob(k))
		h["List"+k.Noun()+"s"] = apicall.Handle(a.listJobs(k))
		h["Stop"+k.Noun()] = apicall.Handle(a.stopJob(k))
	}
}

func invalid(format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...).WithCode("ValidationException")
}

type metricDefinition struct{ Name, Regex string }

type s3DataSource struct {
	S3DataType             string
	S3Uri                  string
	S3DataDistributionType string
}

type trainingIn struct {
	TrainingJobName        string
	RoleArn                string
	AlgorithmSpecification struct {
		TrainingImage       string
		AlgorithmName       string
		TrainingInputMode   string
		MetricDefinitions   []metricDefinition
		ContainerEntrypoint []string
		ContainerArguments  []string
	}
	HyperParameters map[string]string
	InputDataConfig []struct {
		ChannelName string
		DataSource  struct {
			S3DataSource *s3DataSource
		}
		ContentType     string
		CompressionType string
		InputMode       string
	}
	OutputDataConfig struct{ S3OutputPath string }
	ResourceConfig   struct {
		InstanceType                  string
		InstanceCount, VolumeSizeInGB int
	}
	StoppingCondition struct{ MaxRuntimeInSeconds int }
	Environment       map[string]string
	Tags              []apicall.Tag
}

func (a *API) createTraining(ctx context.Context, req *awsapi.Request, in *trainingIn) (any, error) {
	tags, err := apicall.TagMap(in.Tags)
	if err != nil {
		return nil, err
	}
	as := in.AlgorithmSpecification
	if as.TrainingImage == "" && as.AlgorithmName != "" {
		return nil, invalid("AlgorithmName %q: algorithm resources are not supported here; name the image in AlgorithmSpecification.TrainingImage", as.AlgorithmName)
	}
	spec := jobs.Spec{
		Image: as.TrainingImage, Entrypoint: as.ContainerEntrypoint, Arguments: as.ContainerArguments,
		Environment: in.Environment, HyperParameters: in.HyperParameters, InputMode: as.TrainingInputMode,
		OutputPath: in.OutputDataConfig.S3OutputPath, InstanceType: in.ResourceConfig.InstanceType,
		InstanceCount: in.ResourceConfig.InstanceCount, VolumeSizeGB: in.ResourceConfig.VolumeSizeInGB,
		MaxRuntime: time.Duration(in.StoppingCondition.MaxRuntimeInSeconds) * time.Second,
	}
	for _, m := range as.MetricDefinitions {
		spec.Metrics = append(spec.Metrics, jobs.MetricDefinition{Name: m.Name, Regex: m.Regex})
	}
	for _, c := range in.InputDataConfig {
		src := c.DataSource.S3DataSource
		if src == nil {
			return nil, invalid("channel %q: only S3DataSource is supported", c.ChannelName)
		}
		if c.InputMode != "" && c.InputMode != "File" {
			return nil, invalid("channel %q: InputMode %q is not supported: only File mode stages inputs here", c.ChannelName, c.InputMode)
		}
		spec.Inputs = append(spec.Inputs, jobs.Input{Name: c.ChannelName, S3URI: src.S3Uri, DataType: src.S3DataType,
			Distribution: src.S3DataDistributionType, ContentType: c.ContentType, Compression: c.CompressionType})
	}
	j, err := a.Jobs.Create(ctx, apicall.Call(req), jobs.Job{Kind: jobs.TrainingJob, Name: in.TrainingJobName, RoleARN: in.RoleArn, Spec: spec, Request: req.Input, Tags: tags})
	if err != nil {
		return nil, err
	}
	return map[string]string{"TrainingJobArn": j.ARN}, nil
}

type processingIn struct {
	ProcessingJobName string
	RoleArn           string
	AppSpecification  struct {
		ImageUri            string
		ContainerEntrypoint []string
		ContainerArguments  []string
	}
	ProcessingInputs []struct {
		InputName  string
		AppManaged bool
		S3Input    *struct {
			S3Uri, LocalPath, S3DataType, S3InputMode, S3DataDistributionType, S3CompressionType string
		}
	}
	ProcessingOutputConfig *struct {
		Outputs []struct {
			OutputName string
			S3Output   *struct{ S3Uri, LocalPath, S3UploadMode string }
		}
	}
	ProcessingResources struct {
		ClusterConfig struct {
			InstanceCount  int
			InstanceType   string
			VolumeSizeInGB int
		}
	}
	StoppingCondition *struct{ MaxRuntimeInSeconds int }
	Environment       map[string]string
	Tags              []apicall.Tag
}

func (a *API) createProcessing(ctx context.Context, req *awsapi.Request, in *processingIn) (any, error) {
	tags, err := apicall.TagMap(in.Tags)
	if err != nil {
		return nil, err
	}
	cc := in.ProcessingResources.ClusterConfig
	spec := jobs.Spec{
		Image: in.AppSpecification.ImageUri, Entrypoint: in.AppSpecification.ContainerEntrypoint,
		Arguments: in.AppSpecification.ContainerArguments, Environment: in.Environment,
		InstanceType: cc.InstanceType, InstanceCount: cc.InstanceCount, VolumeSizeGB: cc.VolumeSizeInGB,
	}
	if in.StoppingCondition != nil {
		spec.MaxRuntime = time.Duration(in.StoppingCondition.MaxRuntimeInSeconds) * time.Second
	}
	for _, p := range in.ProcessingInputs {
		if p.S3Input == nil {
			return nil, invalid("processing input %q: only S3Input is supported (not DatasetDefinition)", p.InputName)
		}
		if p.S3Input.S3InputMode != "" && p.S3Input.S3InputMode != "File" {
			return nil, invalid("processing input %q: S3InputMode %q is not supported: only File mode stages inputs here", p.InputName, p.S3Input.S3InputMode)
		}
		spec.Inputs = append(spec.Inputs, jobs.Input{Name: p.InputName, S3URI: p.S3Input.S3Uri, LocalPath: p.S3Input.LocalPath,
			DataType: p.S3Input.S3DataType, Distribution: p.S3Input.S3DataDistributionType, Compression: p.S3Input.S3CompressionType})
	}
	if in.ProcessingOutputConfig != nil {
		for _, o := range in.ProcessingOutputConfig.Outputs {
			if o.S3Output == nil {
				return nil, invalid("processing output %q: only S3Output is supported (not FeatureStoreOutput)", o.OutputName)
			}
			spec.Outputs = append(spec.Outputs, jobs.Output{Name: o.OutputName, S3URI: o.S3Output.S3Uri, LocalPath: o.S3Output.LocalPath})
		}
	}
	j, err := a.Jobs.Create(ctx, apicall.Call(req), jobs.Job{Kind: jobs.ProcessingJob, Name: in.ProcessingJobName, RoleARN: in.RoleArn, Spec: spec, Request: req.Input, Tags: tags})
	if err != nil {
		return nil, err
	}
	return map[string]string{"ProcessingJobArn": j.ARN}, nil
}

type transformIn struct {
	TransformJobName string
	ModelName        string
	MaxPayloadInMB   int
	BatchStrategy    string
	Environment      map[string]string
	TransformInput   struct {
		DataSource struct {
			S3DataSource *struct{ S3DataType, S3Uri string }
		}
		ContentType, CompressionType, SplitType string
	}
	TransformOutput    struct{ S3OutputPath, Accept, AssembleWith string }
	TransformResources struct {
		InstanceType  string
		InstanceCount int
	}
	DataProcessing *struct{ InputFilter, OutputFilter, JoinSource string }
	Tags           []apicall.Tag
}

func (a *API) createTransform(ctx context.Context, req *awsapi.Request, in *transformIn) (any, error) {
	tags, err := apicall.TagMap(in.Tags)
	if err != nil {
		return nil, err
	}
	src := in.TransformInput.DataSource.S3DataSource
	if src == nil {
		return nil, invalid("TransformInput.DataSource.S3DataSource is required")
	}
	t := &jobs.TransformSpec{
		ModelName: in.ModelName, ContentType: in.TransformInput.ContentType, SplitType: in.TransformInput.SplitType,
		BatchStrategy: in.BatchStrategy, Accept: in.TransformOutput.Accept, AssembleWith: in.TransformOutput.AssembleWith,
		MaxPayloadMB: in.MaxPayloadInMB,
	}
	if dp := in.DataProcessing; dp != nil {
		t.InputFilter, t.OutputFilter, t.JoinSource = dp.InputFilter, dp.OutputFilter, dp.JoinSource
	}
	spec := jobs.Spec{
		Environment: in.Environment, OutputPath: in.TransformOutput.S3OutputPath,
		InstanceType: in.TransformResources.InstanceType, InstanceCount: in.TransformResources.InstanceCount,
		Inputs:    []jobs.Input{{Name: "input", S3URI: src.S3Uri, DataType: src.S3DataType, ContentType: in.TransformInput.ContentType, Compression: in.TransformInput.CompressionType}},
		Transform: t,
	}
	j, err := a.Jobs.Create(ctx, apicall.Call(req), jobs.Job{Kind: jobs.TransformJob, Name: in.TransformJobName, Spec: spec, Request: req.Input, Tags: tags})
	if err != nil {
		return nil, err
	}
	return map[string]string{"TransformJobArn": j.ARN}, nil
}

// jobNameIn decodes the one member of Describe and Stop (TrainingJobName, ProcessingJobName or
// TransformJobName).
type jobNameIn struct {
	TrainingJobName   string
	ProcessingJobName string
	TransformJobName  string
}

func (in *jobNameIn) name(k jobs.Kind) string {
	switch k {
	case jobs.TrainingJob:
		return in.TrainingJobName
	case jobs.ProcessingJob:
		return in.ProcessingJobName
	}
	return in.TransformJobName
}

func (a *API) describeJob(k jobs.Kind) func(ctx context.Context, req *awsapi.Request, in *jobNameIn) (any, error) {
	return func(ctx context.Context, req *awsapi.Request, in *jobNameIn) (any, error) {
		j, err := a.Jobs.Describe(ctx, apicall.Call(req), k, in.name(k))
		if err != nil {
			return nil, err
		}
		return j.Description(), nil
	}
}

func (a *API) stopJob(k jobs.Kind) func(ctx context.Context, req *awsapi.Request, in *jobNameIn) (any, error) {
	return func(ctx context.Context, req *awsapi.Request, in *jobNameIn) (any, error) {
		return nil, a.Jobs.Stop(ctx, apicall.Call(req), k, in.name(k))
	}
}

type listJobsIn struct {
	CreationTimeAfter      *time.Time
	CreationTimeBefore     *time.Time
	LastModifiedTimeAfter  *time.Time
	LastModifiedTimeBefore *time.Time
	MaxResults             int
	NameContains           string
	NextToken              string
	SortBy                 string
	SortOrder              string
	StatusEquals           string
}

func (a *API) listJobs(k jobs.Kind) func(ctx context.Context, req *awsapi.Request, in *listJobsIn) (any, error) {
	return func(ctx context.Context, req *awsapi.Request, in *listJobsIn) (any, error) {
		scope := fmt.Sprintf("sagemaker/List%ss/%s/%s/%s/%s/%s", k.Noun(), req.Caller.Account, in.NameContains, in.StatusEquals, in.SortBy, in.SortOrder)
		offset, limit, err := a.page(req, scope, &listIn{MaxResults: in.MaxResults, NextToken: in.NextToken})
		if err != nil {
			return nil, err
		}
		q := jobs.Query{
			NameContains: in.NameContains, Status: jobs.Status(in.StatusEquals),
			CreatedAfter: timeOr(in.CreationTimeAfter), CreatedBefore: timeOr(in.CreationTimeBefore),
			ModifiedAfter: timeOr(in.LastModifiedTimeAfter), ModifiedBefore: timeOr(in.LastModifiedTimeBefore),
			SortBy: in.SortBy, Descending: in.SortOrder == "Descending", Offset: offset, Limit: limit + 1,
		}
		js, err := a.Jobs.List(ctx, apicall.Call(req), k, q)
		if err != nil {
			return nil, err
		}
		next, err := a.nextToken(scope, offset, len(js), limit)
		if err != nil {
			return nil, err
		}
		js = js[:min(len(js), limit)]
		summaries := make([]map[string]any, 0, len(js))
		for _, j := range js {
			summaries = append(summaries, j.Summary())
		}
		out := map[string]any{k.Noun() + "Summaries": summaries}
		if next != "" {
			out["NextToken"] = next
		}
		return out, nil
	}
}
