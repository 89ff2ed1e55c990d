package sagemakerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/serving"
)

// servingHandlers are the operations of models, endpoint configurations and endpoints.
func (a *API) servingHandlers(h map[string]awsapi.Handler) {
	h["CreateModel"] = apicall.Handle(a.createModel)
	h["DescribeModel"] = apicall.Handle(a.describeModel)
	h["ListModels"] = apicall.Handle(a.listModels)
	h["DeleteModel"] = apicall.Handle(a.deleteModel)
	h["CreateEndpointConfig"] = apicall.Handle(a.createEndpointConfig)
	h["DescribeEndpointConfig"] = apicall.Handle(a.describeEndpointConfig)
	h["ListEndpointConfigs"] = apicall.Handle(a.listEndpointConfigs)
	h["DeleteEndpointConfig"] = apicall.Handle(a.deleteEndpointConfig)
	h["CreateEndpoint"] = apicall.Handle(a.createEndpoint)
	h["DescribeEndpoint"] = apicall.Handle(a.describeEndpoint)
	h["ListEndpoints"] = apicall.Handle(a.listEndpoints)
	h["UpdateEndpoint"] = apicall.Handle(a.updateEndpoint)
	h["UpdateEndpointWeightsAndCapacities"] = apicall.Handle(a.updateWeights)
	h["DeleteEndpoint"] = apicall.Handle(a.deleteEndpoint)
}

type containerWire struct {
	ContainerHostname string            `json:",omitempty"`
	Image             string            `json:",omitempty"`
	ModelDataUrl      string            `json:",omitempty"`
	Environment       map[string]string `json:",omitempty"`
	ModelPackageName  string            `json:",omitempty"`
	Mode              string            `json:",omitempty"`
	// Members Slipway does not serve: present means refused.
	ModelDataSource            json.RawMessage `json:",omitempty"`
	MultiModelConfig           json.RawMessage `json:",omitempty"`
	AdditionalModelDataSources json.RawMessage `json:",omitempty"`
	InferenceSpecificationName string          `json:",omitempty"`
}

func (c containerWire) domain(field string) (serving.Container, error) {
	switch {
	case len(c.ModelDataSource) > 0:
		return serving.Container{}, invalid("%s.ModelDataSource is not supported: give the model.tar.gz as ModelDataUrl", field)
	case len(c.MultiModelConfig) > 0 || c.Mode == "MultiModel":
		return serving.Container{}, invalid("%s: multi-model endpoints (Mode MultiModel, MultiModelConfig) are not supported", field)
	case len(c.AdditionalModelDataSources) > 0:
		return serving.Container{}, invalid("%s.AdditionalModelDataSources is not supported", field)
	case c.InferenceSpecificationName != "":
		return serving.Container{}, invalid("%s.InferenceSpecificationName is not supported: the package's first inference container is used", field)
	}
	return serving.Container{Image: c.Image, ModelDataURL: c.ModelDataUrl, Environment: c.Environment, ModelPackageName: c.ModelPackageName}, nil
}

func containerOut(c serving.Container) containerWire {
	return containerWire{Image: c.Image, ModelDataUrl: c.ModelDataURL, Environment: c.Environment, ModelPackageName: c.ModelPackageName}
}

type createModelIn struct {
	ModelName                string
	ExecutionRoleArn         string
	PrimaryContainer         *containerWire
	Containers               []containerWire
	EnableNetworkIsolation   bool
	Tags                     []apicall.Tag
	InferenceExecutionConfig *struct{ Mode string }
}

func (a *API) createModel(ctx context.Context, req *awsapi.Request, in *createModelIn) (any, error) {
	tags, err := apicall.TagMap(in.Tags)
	if err != nil {
		return nil, err
	}
	if iec := in.InferenceExecutionConfig; iec != nil && iec.Mode == "Direct" {
		return nil, invalid("InferenceExecutionConfig Mode Direct is not supported: only the first container serves")
	}
	m := serving.CreateModelInput{Name: in.ModelName, ExecutionRoleARN: in.ExecutionRoleArn, Tags: tags, EnableNetworkIsolation: in.EnableNetworkIsolation}
	if in.PrimaryContainer != nil {
		c, err := in.PrimaryContainer.domain("PrimaryContainer")
		if err != nil {
			return nil, err
		}
		m.Primary = &c
	}
	for i, cw := range in.Containers {
		c, err := cw.domain(fmt.Sprintf("Containers[%d]", i))
		if err != nil {
			return nil, err
		}
		m.Containers = append(m.Containers, c)
	}
	out, err := a.Serving.CreateModel(ctx, apicall.Call(req), m)
	if err != nil {
		return nil, err
	}
	return map[string]string{"ModelArn": out.ARN}, nil
}

type modelNameIn struct{ ModelName string }

func (a *API) describeModel(ctx context.Context, req *awsapi.Request, in *modelNameIn) (any, error) {
	m, err := a.Serving.DescribeModel(ctx, apicall.Call(req), in.ModelName)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"ModelName": m.Name, "ModelArn": m.ARN, "ExecutionRoleArn": m.ExecutionRoleARN, "CreationTime": m.CreatedAt,
		"EnableNetworkIsolation": m.EnableNetworkIsolation}
	if m.Primary != nil {
		out["PrimaryContainer"] = containerOut(*m.Primary)
	}
	if len(m.Containers) > 0 {
		cs := make([]containerWire, 0, len(m.Containers))
		for _, c := range m.Containers {
			cs = append(cs, containerOut(c))
		}
		out["Containers"] = cs
	}
	return out, nil
}

func (a *API) deleteModel(ctx context.Context, req *awsapi.Request, in *modelNameIn) (any, error) {
	return nil, a.Serving.DeleteModel(ctx, apicall.Call(req), in.ModelName)
}

type listServingIn struct {
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

// servingQuery decodes a listing's page and filters.
func (a *API) servingQuery(req *awsapi.Request, op string, in *listServingIn) (string, serving.Query, int, error) {
	scope := fmt.Sprintf("sagemaker/%s/%s/%s/%s/%s/%s", op, req.Caller.Account, in.NameContains, in.StatusEquals, in.SortBy, in.SortOrder)
	offset, limit, err := a.page(req, scope, &listIn{MaxResults: in.MaxResults, NextToken: in.NextToken})
	if err != nil {
		return "", serving.Query{}, 0, err
	}
	q := serving.Query{
		NameContains: in.NameContains, Status: serving.Status(in.StatusEquals),
		CreatedAfter: timeOr(in.CreationTimeAfter), CreatedBefore: timeOr(in.CreationTimeBefore),
		ModifiedAfter: timeOr(in.LastModifiedTimeAfter), ModifiedBefore: timeOr(in.LastModifiedTimeBefore),
		SortBy: in.SortBy, Descending: in.SortOrder != "Ascending", Offset: offset, Limit: limit + 1,
	}
	if q.SortBy == "" {
		q.SortBy = "CreationTime"
	}
	return scope, q, limit, nil
}

func (a *API) listModels(ctx context.Context, req *awsapi.Request, in *listServingIn) (any, error) {
	scope, q, limit, err := a.servingQuery(req, "ListModels", in)
	if err != nil {
		return nil, err
	}
	ms, err := a.Serving.ListModels(ctx, apicall.Call(req), q)
	if err != nil {
		return nil, err
	}
	next, err := a.nextToken(scope, q.Offset, len(ms), limit)
	if err != nil {
		return nil, err
	}
	ms = ms[:min(len(ms), limit)]
	out := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		out = append(out, map[string]any{"ModelName": m.Name, "ModelArn": m.ARN, "CreationTime": m.CreatedAt})
	}
	return listOut("Models", out, next), nil
}

func listOut(member string, items any, next string) map[string]any {
	out := map[string]any{member: items}
	if next != "" {
		out["NextToken"] = next
	}
	return out
}

type variantWire struct {
	VariantName          string
	ModelName            string
	InitialInstanceCount int
	InstanceType         string
	InitialVariantWeight *float64
	// Members Slipway does not serve: present means refused.
	ServerlessConfig          json.RawMessage `json:",omitempty"`
	AcceleratorType           string          `json:",omitempty"`
	ManagedInstanceScaling    json.RawMessage `json:",omitempty"`
	InferenceAmiVersion       string          `json:",omitempty"`
	CapacityReservationConfig json.RawMessage `json:",omitempty"`
}

type createConfigIn struct {
	EndpointConfigName       string
	ProductionVariants       []variantWire
	DataCaptureConfig        json.RawMessage
	Tags                     []apicall.Tag
	KmsKeyId                 string
	ShadowProductionVariants []json.RawMessage
	AsyncInferenceConfig     json.RawMessage
	ExplainerConfig          json.RawMessage
}

func (a *API) createEndpointConfig(ctx context.Context, req *awsapi.Request, in *createConfigIn) (any, error) {
	tags, err := apicall.TagMap(in.Tags)
	if err != nil {
		return nil, err
	}
	switch {
	case len(in.ShadowProductionVariants) > 0:
		return nil, invalid("ShadowProductionVariants are not supported")
	case len(in.AsyncInferenceConfig) > 0:
		return nil, invalid("AsyncInferenceConfig is not supported: endpoints here serve real-time invocations")
	case len(in.ExplainerConfig) > 0:
		return nil, invalid("ExplainerConfig is not supported")
	}
	cfg := serving.Config{Name: in.EndpointConfigName, Tags: tags, DataCapture: in.DataCaptureConfig}
	for _, v := range in.ProductionVariants {
		switch {
		case len(v.ServerlessConfig) > 0:
			return nil, invalid("variant %s: ServerlessConfig is not supported: give InitialInstanceCount and InstanceType", v.VariantName)
		case v.AcceleratorType != "":
			return nil, invalid("variant %s: AcceleratorType is not supported", v.VariantName)
		case len(v.ManagedInstanceScaling) > 0:
			return nil, invalid("variant %s: ManagedInstanceScaling is not supported", v.VariantName)
		case len(v.CapacityReservationConfig) > 0:
			return nil, invalid("variant %s: CapacityReservationConfig is not supported", v.VariantName)
		}
		w := 1.0
		if v.InitialVariantWeight != nil {
			w = *v.InitialVariantWeight
		}
		cfg.Variants = append(cfg.Variants, serving.Variant{VariantName: v.VariantName, ModelName: v.ModelName,
			InitialInstanceCount: v.InitialInstanceCount, InstanceType: v.InstanceType, InitialVariantWeight: w})
	}
	out, err := a.Serving.CreateConfig(ctx, apicall.Call(req), cfg)
	if err != nil {
		return nil, err
	}
	return map[string]string{"EndpointConfigArn": out.ARN}, nil
}

// weight encodes a variant weight as SageMaker does: a JSON number with a fraction (1.0, not
// 1), so SDKs that type numbers by their text (boto3, the aws CLI) read a float back.
func weight(f float64) json.Number {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return json.Number(s)
}

type configNameIn struct{ EndpointConfigName string }

func (a *API) describeEndpointConfig(ctx context.Context, req *awsapi.Request, in *configNameIn) (any, error) {
	c, err := a.Serving.DescribeConfig(ctx, apicall.Call(req), in.EndpointConfigName)
	if err != nil {
		return nil, err
	}
	vs := make([]map[string]any, 0, len(c.Variants))
	for _, v := range c.Variants {
		vs = append(vs, map[string]any{"VariantName": v.VariantName, "ModelName": v.ModelName, "InitialInstanceCount": v.InitialInstanceCount,
			"InstanceType": v.InstanceType, "InitialVariantWeight": weight(v.InitialVariantWeight)})
	}
	out := map[string]any{"EndpointConfigName": c.Name, "EndpointConfigArn": c.ARN, "ProductionVariants": vs, "CreationTime": c.CreatedAt}
	if len(c.DataCapture) > 0 {
		out["DataCaptureConfig"] = c.DataCapture
	}
	return out, nil
}

func (a *API) listEndpointConfigs(ctx context.Context, req *awsapi.Request, in *listServingIn) (any, error) {
	scope, q, limit, err := a.servingQuery(req, "ListEndpointConfigs", in)
	if err != nil {
		return nil, err
	}
	cs, err := a.Serving.ListConfigs(ctx, apicall.Call(req), q)
	if err != nil {
		return nil, err
	}
	next, err := a.nextToken(scope, q.Offset, len(cs), limit)
	if err != nil {
		return nil, err
	}
	cs = cs[:min(len(cs), limit)]
	out := make([]map[string]any, 0, len(cs))
	for _, c := range cs {
		out = append(out, map[string]any{"EndpointConfigName": c.Name, "EndpointConfigArn": c.ARN, "CreationTime": c.CreatedAt})
	}
	return listOut("EndpointConfigs", out, next), nil
}

func (a *API) deleteEndpointConfig(ctx context.Context, req *awsapi.Request, in *configNameIn) (any, error) {
	return nil, a.Serving.DeleteConfig(ctx, apicall.Call(req), in.EndpointConfigName)
}

type createEndpointIn struct {
	EndpointName       string
	EndpointConfigName string
	DeploymentConfig   json.RawMessage
	Tags               []apicall.Tag
}

func (a *API) createEndpoint(ctx context.Context, req *awsapi.Request, in *createEndpointIn) (any, error) {
	tags, err := apicall.TagMap(in.Tags)
	if err != nil {
		return nil, err
	}
	if len(in.DeploymentConfig) > 0 {
		return nil, invalid("DeploymentConfig is not supported at CreateEndpoint: give it with each UpdateEndpoint")
	}
	e, err := a.Serving.CreateEndpoint(ctx, apicall.Call(req), in.EndpointName, in.EndpointConfigName, tags)
	if err != nil {
		return nil, err
	}
	return map[string]string{"EndpointArn": e.ARN}, nil
}

type endpointNameIn struct{ EndpointName string }

func (a *API) describeEndpoint(ctx context.Context, req *awsapi.Request, in *endpointNameIn) (any, error) {
	e, err := a.Serving.DescribeEndpoint(ctx, apicall.Call(req), in.EndpointName)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"EndpointName": e.Name, "EndpointArn": e.ARN, "EndpointConfigName": e.ConfigName,
		"EndpointStatus": e.Status, "CreationTime": e.CreatedAt, "LastModifiedTime": e.ModifiedAt}
	if e.FailureReason != "" {
		out["FailureReason"] = e.FailureReason
	}
	if len(e.Variants) > 0 {
		vs := make([]map[string]any, 0, len(e.Variants))
		for _, v := range e.Variants {
			imgs := make([]map[string]any, 0, len(v.DeployedImages))
			for _, im := range v.DeployedImages {
				imgs = append(imgs, map[string]any{"SpecifiedImage": im.SpecifiedImage, "ResolvedImage": im.ResolvedImage, "ResolutionTime": im.ResolutionTime})
			}
			vs = append(vs, map[string]any{"VariantName": v.VariantName, "CurrentWeight": weight(v.CurrentWeight), "DesiredWeight": weight(v.DesiredWeight),
				"CurrentInstanceCount": v.CurrentInstanceCount, "DesiredInstanceCount": v.DesiredInstanceCount, "DeployedImages": imgs})
		}
		out["ProductionVariants"] = vs
	}
	if p := pendingSummary(e); p != nil {
		out["PendingDeploymentSummary"] = p
	}
	if e.LastPolicy != nil {
		out["LastDeploymentConfig"] = deploymentConfigOut(*e.LastPolicy)
	}
	dc, err := a.Serving.EndpointCapture(ctx, e)
	if err != nil {
		return nil, err
	}
	if dc != nil {
		out["DataCaptureConfig"] = map[string]any{"EnableCapture": dc.EnableCapture, "CaptureStatus": dc.CaptureStatus(),
			"CurrentSamplingPercentage": dc.InitialSamplingPercentage, "DestinationS3Uri": dc.DestinationS3Uri}
	}
	return out, nil
}

// pendingSummary is DescribeEndpoint's PendingDeploymentSummary while an update is in flight:
// with a DeploymentConfig, the new fleet's variants and the step they are at.
func pendingSummary(e serving.Endpoint) map[string]any {
	if e.Pending == "" || (e.Status != serving.Updating && e.Status != serving.RollingBack) {
		return nil
	}
	out := map[string]any{"EndpointConfigName": e.Pending, "StartTime": e.ModifiedAt}
	r := e.Rollout
	if r == nil {
		return out
	}
	out["StartTime"] = r.StartedAt
	status, msg, since := r.Phase, "", r.StepAt
	switch {
	case e.Status == serving.RollingBack:
		status, msg = "Deleting", "Rolling back: "+r.Reason
	case r.Step == 0:
		status, msg, since = "Creating", "Starting the new fleet", r.StartedAt
	case status == "ActivatingTraffic":
		msg = fmt.Sprintf("Step %d of %d: the new fleet takes %s%% of the requests", r.Step, r.Steps, strconv.FormatFloat(r.Share*100, 'f', -1, 64))
	case status == "Baking":
		msg = fmt.Sprintf("Step %d of %d: the new fleet takes every request; the old one stands by", r.Step, r.Steps)
	}
	vs := make([]map[string]any, 0, len(r.Variants))
	for _, v := range r.Variants {
		imgs := make([]map[string]any, 0, len(v.DeployedImages))
		for _, im := range v.DeployedImages {
			imgs = append(imgs, map[string]any{"SpecifiedImage": im.SpecifiedImage, "ResolvedImage": im.ResolvedImage, "ResolutionTime": im.ResolutionTime})
		}
		vs = append(vs, map[string]any{"VariantName": v.VariantName, "CurrentWeight": weight(v.CurrentWeight), "DesiredWeight": weight(v.DesiredWeight),
			"CurrentInstanceCount": v.CurrentInstanceCount, "DesiredInstanceCount": v.DesiredInstanceCount, "DeployedImages": imgs,
			"VariantStatus": []map[string]any{{"Status": status, "StatusMessage": msg, "StartTime": since}}})
	}
	if len(vs) > 0 {
		out["ProductionVariants"] = vs
	}
	return out
}

func (a *API) listEndpoints(ctx context.Context, req *awsapi.Request, in *listServingIn) (any, error) {
	scope, q, limit, err := a.servingQuery(req, "ListEndpoints", in)
	if err != nil {
		return nil, err
	}
	es, err := a.Serving.ListEndpoints(ctx, apicall.Call(req), q)
	if err != nil {
		return nil, err
	}
	next, err := a.nextToken(scope, q.Offset, len(es), limit)
	if err != nil {
		return nil, err
	}
	es = es[:min(len(es), limit)]
	out := make([]map[string]any, 0, len(es))
	for _, e := range es {
		out = append(out, map[string]any{"EndpointName": e.Name, "EndpointArn": e.ARN, "CreationTime": e.CreatedAt,
			"LastModifiedTime": e.ModifiedAt, "EndpointStatus": e.Status})
	}
	return listOut("Endpoints", out, next), nil
}

// deploymentConfigOut encodes a policy as DescribeEndpoint's LastDeploymentConfig.
func deploymentConfigOut(p serving.DeploymentPolicy) map[string]any {
	size := func(c serving.CapacitySize) map[string]any { return map[string]any{"Type": c.Type, "Value": c.Value} }
	timeout := func(out map[string]any, v int) map[string]any {
		if v > 0 {
			out["MaximumExecutionTimeoutInSeconds"] = v
		}
		return out
	}
	if r := p.Rolling; r != nil {
		out := map[string]any{"MaximumBatchSize": size(r.MaxBatch), "WaitIntervalInSeconds": r.WaitInterval}
		if r.RollbackMaxBatch != nil {
			out["RollbackMaximumBatchSize"] = size(*r.RollbackMaxBatch)
		}
		return map[string]any{"RollingUpdatePolicy": timeout(out, r.MaxExecution)}
	}
	b := p.BlueGreen
	routing := map[string]any{"Type": b.Type, "WaitIntervalInSeconds": b.WaitInterval}
	switch {
	case b.Size != nil && b.Type == serving.Canary:
		routing["CanarySize"] = size(*b.Size)
	case b.Size != nil && b.Type == serving.Linear:
		routing["LinearStepSize"] = size(*b.Size)
	}
	return map[string]any{"BlueGreenUpdatePolicy": timeout(map[string]any{"TrafficRoutingConfiguration": routing,
		"TerminationWaitInSeconds": b.TerminationWait}, b.MaxExecution)}
}

type updateEndpointIn struct {
	EndpointName                     string
	EndpointConfigName               string
	RetainAllVariantProperties       bool
	ExcludeRetainedVariantProperties []json.RawMessage
	RetainDeploymentConfig           bool
	DeploymentConfig                 *serving.DeploymentConfig
}

func (a *API) updateEndpoint(ctx context.Context, req *awsapi.Request, in *updateEndpointIn) (any, error) {
	policy, err := in.DeploymentConfig.Policy()
	if err != nil {
		return nil, err
	}
	if len(in.ExcludeRetainedVariantProperties) > 0 {
		return nil, invalid("ExcludeRetainedVariantProperties is not supported: RetainAllVariantProperties retains weights and instance counts")
	}
	e, err := a.Serving.UpdateEndpoint(ctx, apicall.Call(req), in.EndpointName, serving.UpdateInput{ConfigName: in.EndpointConfigName,
		RetainVariantProperties: in.RetainAllVariantProperties, Policy: policy, RetainPolicy: in.RetainDeploymentConfig})
	if err != nil {
		return nil, err
	}
	return map[string]string{"EndpointArn": e.ARN}, nil
}

type updateWeightsIn struct {
	EndpointName                string
	DesiredWeightsAndCapacities []struct {
		VariantName            string
		DesiredWeight          *float64
		DesiredInstanceCount   *int
		ServerlessUpdateConfig json.RawMessage
	}
}

func (a *API) updateWeights(ctx context.Context, req *awsapi.Request, in *updateWeightsIn) (any, error) {
	caps := make([]serving.Capacity, 0, len(in.DesiredWeightsAndCapacities))
	for _, d := range in.DesiredWeightsAndCapacities {
		if len(d.ServerlessUpdateConfig) > 0 {
			return nil, invalid("variant %s: ServerlessUpdateConfig is not supported", d.VariantName)
		}
		caps = append(caps, serving.Capacity{VariantName: d.VariantName, Weight: d.DesiredWeight, Instances: d.DesiredInstanceCount})
	}
	e, err := a.Serving.UpdateWeights(ctx, apicall.Call(req), in.EndpointName, caps)
	if err != nil {
		return nil, err
	}
	return map[string]string{"EndpointArn": e.ARN}, nil
}

func (a *API) deleteEndpoint(ctx context.Context, req *awsapi.Request, in *endpointNameIn) (any, error) {
	return nil, a.Serving.DeleteEndpoint(ctx, apicall.Call(req), in.EndpointName)
}
