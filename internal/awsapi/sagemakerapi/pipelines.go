package sagemakerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/pipeline"
)

// pipelineHandlers are the operations of pipelines and their executions (docs/pipelines.md).
func (a *API) pipelineHandlers(h map[string]awsapi.Handler) {
	h["CreatePipeline"] = apicall.Handle(a.createPipeline)
	h["DescribePipeline"] = apicall.Handle(a.describePipeline)
	h["UpdatePipeline"] = apicall.Handle(a.updatePipeline)
	h["DeletePipeline"] = apicall.Handle(a.deletePipeline)
	h["ListPipelines"] = apicall.Handle(a.listPipelines)
	h["ListPipelineVersions"] = apicall.Handle(a.listPipelineVersions)
	h["StartPipelineExecution"] = apicall.Handle(a.startPipelineExecution)
	h["DescribePipelineExecution"] = apicall.Handle(a.describePipelineExecution)
	h["ListPipelineExecutions"] = apicall.Handle(a.listPipelineExecutions)
	h["ListPipelineExecutionSteps"] = apicall.Handle(a.listPipelineExecutionSteps)
	h["ListPipelineParametersForExecution"] = apicall.Handle(a.listPipelineParameters)
	h["DescribePipelineDefinitionForExecution"] = apicall.Handle(a.describePipelineDefinition)
	h["StopPipelineExecution"] = apicall.Handle(a.stopPipelineExecution)
	h["RetryPipelineExecution"] = apicall.Handle(a.retryPipelineExecution)
	h["UpdatePipelineExecution"] = apicall.Handle(a.updatePipelineExecution)
	h["SendPipelineExecutionStepSuccess"] = apicall.Handle(a.sendStepSuccess)
	h["SendPipelineExecutionStepFailure"] = apicall.Handle(a.sendStepFailure)
	h["SlipwayExplainPipelineStepCache"] = apicall.Handle(a.explainPipelineStepCache)
}

// The resources of the pipelines' operations. An execution's ARN is its pipeline's followed by
// /execution/ID. CreatePipeline and UpdatePipeline with a RoleArn also need iam:PassRole on it
// (to sagemaker.amazonaws.com), and a definition given as PipelineDefinitionS3Location is read
// as the caller (s3:GetObject). Pipelines have no resource policies: another account's
// pipeline is refused.
const (
	pipelineARN  = "arn:aws:sagemaker:{Region}:{Account}:pipeline/{PipelineName}"
	executionARN = "{PipelineExecutionArn}"
)

func pipelineOperations() []awsapi.Authz {
	return []awsapi.Authz{
		{Operation: "CreatePipeline", Action: "sagemaker:CreatePipeline", Resources: []string{pipelineARN}},
		{Operation: "DescribePipeline", Action: "sagemaker:DescribePipeline", Resources: []string{pipelineARN}},
		{Operation: "UpdatePipeline", Action: "sagemaker:UpdatePipeline", Resources: []string{pipelineARN}},
		{Operation: "DeletePipeline", Action: "sagemaker:DeletePipeline", Resources: []string{pipelineARN}},
		{Operation: "ListPipelines", Action: "sagemaker:ListPipelines", Resources: []string{"*"}},
		{Operation: "ListPipelineVersions", Action: "sagemaker:ListPipelineVersions", Resources: []string{pipelineARN}},
		{Operation: "StartPipelineExecution", Action: "sagemaker:StartPipelineExecution", Resources: []string{pipelineARN}},
		{Operation: "ListPipelineExecutions", Action: "sagemaker:ListPipelineExecutions", Resources: []string{pipelineARN}},
		{Operation: "DescribePipelineExecution", Action: "sagemaker:DescribePipelineExecution", Resources: []string{executionARN}},
		{Operation: "ListPipelineExecutionSteps", Action: "sagemaker:ListPipelineExecutionSteps", Resources: []string{executionARN}},
		{Operation: "ListPipelineParametersForExecution", Action: "sagemaker:ListPipelineParametersForExecution", Resources: []string{executionARN}},
		{Operation: "DescribePipelineDefinitionForExecution", Action: "sagemaker:DescribePipelineDefinitionForExecution", Resources: []string{executionARN}},
		{Operation: "StopPipelineExecution", Action: "sagemaker:StopPipelineExecution", Resources: []string{executionARN}},
		{Operation: "RetryPipelineExecution", Action: "sagemaker:RetryPipelineExecution", Resources: []string{executionARN}},
		{Operation: "UpdatePipelineExecution", Action: "sagemaker:UpdatePipelineExecution", Resources: []string{executionARN}},
		// The request names a callback token; the execution is the one whose step waits with it.
		{Operation: "SendPipelineExecutionStepSuccess", Action: "sagemaker:SendPipelineExecutionStepSuccess", Resources: []string{executionARN}},
		{Operation: "SendPipelineExecutionStepFailure", Action: "sagemaker:SendPipelineExecutionStepFailure", Resources: []string{executionARN}},
		// Slipway's own (explain.go): what DescribePipelineExecution allows.
		{Operation: "SlipwayExplainPipelineStepCache", Action: "sagemaker:DescribePipelineExecution", Resources: []string{executionARN}},
	}
}

type s3LocationWire struct{ Bucket, ObjectKey, VersionId string }

type parallelismWire struct{ MaxParallelExecutionSteps int }

func definitionSource(text string, loc *s3LocationWire) pipeline.DefinitionSource {
	d := pipeline.DefinitionSource{Text: text}
	if loc != nil {
		d.S3 = &pipeline.S3Location{Bucket: loc.Bucket, Key: loc.ObjectKey, VersionID: loc.VersionId}
	}
	return d
}

func (p *parallelismWire) max() *int {
	if p == nil {
		return nil
	}
	n := p.MaxParallelExecutionSteps
	return &n
}

type createPipelineIn struct {
	PipelineName                 string
	PipelineDisplayName          string
	PipelineDefinition           string
	PipelineDefinitionS3Location *s3LocationWire
	PipelineDescription          string
	ClientRequestToken           string
	RoleArn                      string
	Tags                         []apicall.Tag
	ParallelismConfiguration     *parallelismWire
}

func (a *API) createPipeline(ctx context.Context, req *awsapi.Request, in *createPipelineIn) (any, error) {
	tags, err := apicall.TagMap(in.Tags)
	if err != nil {
		return nil, err
	}
	p, err := a.Pipelines.CreatePipeline(ctx, apicall.Call(req), pipeline.CreateInput{
		Name: in.PipelineName, DisplayName: in.PipelineDisplayName, Description: in.PipelineDescription, RoleARN: in.RoleArn,
		Definition: definitionSource(in.PipelineDefinition, in.PipelineDefinitionS3Location), MaxParallel: in.ParallelismConfiguration.max(), Tags: tags,
		ClientToken: in.ClientRequestToken,
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"PipelineArn": p.ARN}, nil
}

type describePipelineIn struct {
	PipelineName      string
	PipelineVersionId int64
}

func parallelismOut(n int) *parallelismWire {
	if n == 0 {
		return nil
	}
	return &parallelismWire{MaxParallelExecutionSteps: n}
}

func userContext(arn string) map[string]string {
	if arn == "" {
		return nil
	}
	return map[string]string{"UserProfileArn": arn}
}

func (a *API) describePipeline(ctx context.Context, req *awsapi.Request, in *describePipelineIn) (any, error) {
	p, v, err := a.Pipelines.DescribePipeline(ctx, apicall.Call(req), in.PipelineName, in.PipelineVersionId)
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"PipelineArn": p.ARN, "PipelineName": p.Name, "PipelineDisplayName": p.DisplayName, "PipelineDefinition": v.Definition,
		"PipelineDescription": p.Description, "RoleArn": v.RoleARN, "PipelineStatus": "Active", "CreationTime": p.CreatedAt,
		"LastModifiedTime": p.ModifiedAt, "PipelineVersionDisplayName": v.DisplayName, "PipelineVersionDescription": v.Description,
	}
	if !p.LastExecutionAt.IsZero() {
		out["LastRunTime"] = p.LastExecutionAt
	}
	if pc := parallelismOut(p.MaxParallel); pc != nil {
		out["ParallelismConfiguration"] = pc
	}
	return out, nil
}

type updatePipelineIn struct {
	PipelineName                 string
	PipelineDisplayName          *string
	PipelineDefinition           string
	PipelineDefinitionS3Location *s3LocationWire
	PipelineDescription          *string
	RoleArn                      string
	ParallelismConfiguration     *parallelismWire
}

func (a *API) updatePipeline(ctx context.Context, req *awsapi.Request, in *updatePipelineIn) (any, error) {
	u := pipeline.UpdateInput{Name: in.PipelineName, DisplayName: in.PipelineDisplayName, Description: in.PipelineDescription,
		RoleARN: in.RoleArn, MaxParallel: in.ParallelismConfiguration.max()}
	if in.PipelineDefinition != "" || in.PipelineDefinitionS3Location != nil {
		d := definitionSource(in.PipelineDefinition, in.PipelineDefinitionS3Location)
		u.Definition = &d
	}
	p, err := a.Pipelines.UpdatePipeline(ctx, apicall.Call(req), u)
	if err != nil {
		return nil, err
	}
	return map[string]any{"PipelineArn": p.ARN, "PipelineVersionId": p.Version}, nil
}

type deletePipelineIn struct {
	PipelineName       string
	ClientRequestToken string
}

func (a *API) deletePipeline(ctx context.Context, req *awsapi.Request, in *deletePipelineIn) (any, error) {
	parn, err := a.Pipelines.DeletePipeline(ctx, apicall.Call(req), in.PipelineName)
	if err != nil {
		return nil, err
	}
	return map[string]string{"PipelineArn": parn}, nil
}

type listPipelinesIn struct {
	PipelineNamePrefix string
	PipelineName       string
	CreatedAfter       *time.Time
	CreatedBefore      *time.Time
	SortBy             string
	SortOrder          string
	NextToken          string
	MaxResults         int
}

// pipelineQuery decodes a listing's page and filters (newest first unless Ascending).
func (a *API) pipelineQuery(req *awsapi.Request, op string, in *listPipelinesIn) (string, pipeline.Query, int, error) {
	scope := fmt.Sprintf("sagemaker/%s/%s/%s/%s/%s/%s", op, req.Caller.Account, in.PipelineName, in.PipelineNamePrefix, in.SortBy, in.SortOrder)
	offset, limit, err := a.page(req, scope, &listIn{MaxResults: in.MaxResults, NextToken: in.NextToken})
	if err != nil {
		return "", pipeline.Query{}, 0, err
	}
	q := pipeline.Query{NamePrefix: in.PipelineNamePrefix, CreatedAfter: timeOr(in.CreatedAfter), CreatedBefore: timeOr(in.CreatedBefore),
		SortBy: in.SortBy, Descending: in.SortOrder != "Ascending", Offset: offset, Limit: limit + 1}
	return scope, q, limit, nil
}

func (a *API) listPipelines(ctx context.Context, req *awsapi.Request, in *listPipelinesIn) (any, error) {
	scope, q, limit, err := a.pipelineQuery(req, "ListPipelines", in)
	if err != nil {
		return nil, err
	}
	ps, err := a.Pipelines.ListPipelines(ctx, apicall.Call(req), q)
	if err != nil {
		return nil, err
	}
	next, err := a.nextToken(scope, q.Offset, len(ps), limit)
	if err != nil {
		return nil, err
	}
	ps = ps[:min(len(ps), limit)]
	out := make([]map[string]any, 0, len(ps))
	for _, p := range ps {
		s := map[string]any{"PipelineArn": p.ARN, "PipelineName": p.Name, "PipelineDisplayName": p.DisplayName,
			"PipelineDescription": p.Description, "RoleArn": p.RoleARN, "CreationTime": p.CreatedAt, "LastModifiedTime": p.ModifiedAt}
		if !p.LastExecutionAt.IsZero() {
			s["LastExecutionTime"] = p.LastExecutionAt
		}
		out = append(out, s)
	}
	return listOut("PipelineSummaries", out, next), nil
}

func (a *API) listPipelineVersions(ctx context.Context, req *awsapi.Request, in *listPipelinesIn) (any, error) {
	scope, q, limit, err := a.pipelineQuery(req, "ListPipelineVersions", in)
	if err != nil {
		return nil, err
	}
	vs, err := a.Pipelines.ListVersions(ctx, apicall.Call(req), in.PipelineName, q)
	if err != nil {
		return nil, err
	}
	next, err := a.nextToken(scope, q.Offset, len(vs), limit)
	if err != nil {
		return nil, err
	}
	vs = vs[:min(len(vs), limit)]
	out := make([]map[string]any, 0, len(vs))
	for _, v := range vs {
		out = append(out, map[string]any{"PipelineArn": v.PipelineARN, "PipelineVersionId": v.Version, "CreationTime": v.CreatedAt,
			"PipelineVersionDisplayName": v.DisplayName, "PipelineVersionDescription": v.Description})
	}
	return listOut("PipelineVersionSummaries", out, next), nil
}

type startPipelineExecutionIn struct {
	PipelineName                 string
	PipelineExecutionDisplayName string
	PipelineExecutionDescription string
	PipelineParameters           []pipeline.Parameter
	ClientRequestToken           string
	ParallelismConfiguration     *parallelismWire
	PipelineVersionId            int64
	SelectiveExecutionConfig     *selectiveWire
	MlflowExperimentName         string
}

type selectiveWire struct {
	SourcePipelineExecutionArn string
	SelectedSteps              []struct{ StepName string }
}

func (a *API) startPipelineExecution(ctx context.Context, req *awsapi.Request, in *startPipelineExecutionIn) (any, error) {
	if in.MlflowExperimentName != "" {
		return nil, invalid("MlflowExperimentName is not supported")
	}
	start := pipeline.StartInput{
		Pipeline: in.PipelineName, DisplayName: in.PipelineExecutionDisplayName, Description: in.PipelineExecutionDescription,
		Parameters: in.PipelineParameters, ClientToken: in.ClientRequestToken, MaxParallel: in.ParallelismConfiguration.max(),
		Version: in.PipelineVersionId,
	}
	if sc := in.SelectiveExecutionConfig; sc != nil {
		start.Selected, start.Source = []string{}, sc.SourcePipelineExecutionArn
		for _, st := range sc.SelectedSteps {
			start.Selected = append(start.Selected, st.StepName)
		}
	}
	e, err := a.Pipelines.StartExecution(ctx, apicall.Call(req), start)
	if err != nil {
		return nil, err
	}
	return map[string]string{"PipelineExecutionArn": e.ARN}, nil
}

type executionIn struct {
	PipelineExecutionArn string
	ClientRequestToken   string
	SortOrder            string
	NextToken            string
	MaxResults           int
}

func (a *API) describePipelineExecution(ctx context.Context, req *awsapi.Request, in *executionIn) (any, error) {
	e, err := a.Pipelines.DescribeExecution(ctx, apicall.Call(req), in.PipelineExecutionArn)
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"PipelineArn": e.PipelineARN, "PipelineExecutionArn": e.ARN, "PipelineExecutionDisplayName": e.DisplayName,
		"PipelineExecutionStatus": e.Status, "PipelineExecutionDescription": e.Description, "CreationTime": e.CreatedAt,
		"LastModifiedTime": e.ModifiedAt, "PipelineVersionId": e.PipelineVersion,
		"PipelineExperimentConfig": map[string]string{"ExperimentName": e.PipelineName, "TrialName": e.ID},
	}
	if e.FailureReason != "" {
		out["FailureReason"] = e.FailureReason
	}
	if cu := userContext(e.CreatedBy); cu != nil {
		out["CreatedBy"] = cu
	}
	if pc := parallelismOut(e.MaxParallel); pc != nil {
		out["ParallelismConfiguration"] = pc
	}
	if e.Selected != nil {
		steps := make([]map[string]string, 0, len(e.Selected))
		for _, n := range e.Selected {
			steps = append(steps, map[string]string{"StepName": n})
		}
		out["SelectiveExecutionConfig"] = map[string]any{"SourcePipelineExecutionArn": e.Source, "SelectedSteps": steps}
	}
	return out, nil
}

func (a *API) listPipelineExecutions(ctx context.Context, req *awsapi.Request, in *listPipelinesIn) (any, error) {
	scope, q, limit, err := a.pipelineQuery(req, "ListPipelineExecutions", in)
	if err != nil {
		return nil, err
	}
	xs, err := a.Pipelines.ListExecutions(ctx, apicall.Call(req), in.PipelineName, q)
	if err != nil {
		return nil, err
	}
	next, err := a.nextToken(scope, q.Offset, len(xs), limit)
	if err != nil {
		return nil, err
	}
	xs = xs[:min(len(xs), limit)]
	out := make([]map[string]any, 0, len(xs))
	for _, e := range xs {
		s := map[string]any{"PipelineExecutionArn": e.ARN, "StartTime": e.CreatedAt, "PipelineExecutionStatus": e.Status,
			"PipelineExecutionDisplayName": e.DisplayName, "PipelineExecutionDescription": e.Description}
		if e.FailureReason != "" {
			s["PipelineExecutionFailureReason"] = e.FailureReason
		}
		out = append(out, s)
	}
	return listOut("PipelineExecutionSummaries", out, next), nil
}

// pageOf pages a listing held in memory.
func pageOf[T any](a *API, req *awsapi.Request, scope string, in *executionIn, items []T) ([]T, string, error) {
	offset, limit, err := a.page(req, scope, &listIn{MaxResults: in.MaxResults, NextToken: in.NextToken})
	if err != nil {
		return nil, "", err
	}
	if offset > len(items) {
		offset = len(items)
	}
	rest := items[offset:]
	next, err := a.nextToken(scope, offset, len(rest), limit)
	if err != nil {
		return nil, "", err
	}
	return rest[:min(len(rest), limit)], next, nil
}

func (a *API) listPipelineExecutionSteps(ctx context.Context, req *awsapi.Request, in *executionIn) (any, error) {
	steps, err := a.Pipelines.ListSteps(ctx, apicall.Call(req), in.PipelineExecutionArn, in.SortOrder == "Ascending")
	if err != nil {
		return nil, err
	}
	scope := fmt.Sprintf("sagemaker/ListPipelineExecutionSteps/%s/%s/%s", req.Caller.Account, in.PipelineExecutionArn, in.SortOrder)
	page, next, err := pageOf(a, req, scope, in, steps)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(page))
	for _, s := range page {
		m := map[string]any{"StepName": s.Name, "StepStatus": s.Status, "StartTime": s.StartedAt, "AttemptCount": s.Attempt}
		if s.DisplayName != "" {
			m["StepDisplayName"] = s.DisplayName
		}
		if s.Description != "" {
			m["StepDescription"] = s.Description
		}
		if !s.EndedAt.IsZero() {
			m["EndTime"] = s.EndedAt
		}
		if s.FailureReason != "" && s.Status.Terminal() {
			m["FailureReason"] = s.FailureReason
		}
		if s.CacheHit != "" {
			m["CacheHitResult"] = map[string]string{"SourcePipelineExecutionArn": s.CacheHit}
		}
		if s.Reused != "" {
			m["SelectiveExecutionResult"] = map[string]string{"SourcePipelineExecutionArn": s.Reused}
		}
		if len(s.Metadata) > 0 {
			var md map[string]any
			if err := json.Unmarshal(s.Metadata, &md); err == nil {
				m["Metadata"] = md
			}
		}
		out = append(out, m)
	}
	return listOut("PipelineExecutionSteps", out, next), nil
}

func (a *API) listPipelineParameters(ctx context.Context, req *awsapi.Request, in *executionIn) (any, error) {
	ps, err := a.Pipelines.Parameters(ctx, apicall.Call(req), in.PipelineExecutionArn)
	if err != nil {
		return nil, err
	}
	scope := fmt.Sprintf("sagemaker/ListPipelineParametersForExecution/%s/%s", req.Caller.Account, in.PipelineExecutionArn)
	page, next, err := pageOf(a, req, scope, in, ps)
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []pipeline.Parameter{}
	}
	return listOut("PipelineParameters", page, next), nil
}

func (a *API) describePipelineDefinition(ctx context.Context, req *awsapi.Request, in *executionIn) (any, error) {
	def, created, err := a.Pipelines.ExecutionDefinition(ctx, apicall.Call(req), in.PipelineExecutionArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"PipelineDefinition": def, "CreationTime": created}, nil
}

func (a *API) stopPipelineExecution(ctx context.Context, req *awsapi.Request, in *executionIn) (any, error) {
	if err := a.Pipelines.StopExecution(ctx, apicall.Call(req), in.PipelineExecutionArn); err != nil {
		return nil, err
	}
	return map[string]string{"PipelineExecutionArn": in.PipelineExecutionArn}, nil
}

type retryExecutionIn struct {
	PipelineExecutionArn     string
	ClientRequestToken       string
	ParallelismConfiguration *parallelismWire
}

func (a *API) retryPipelineExecution(ctx context.Context, req *awsapi.Request, in *retryExecutionIn) (any, error) {
	out, err := a.Pipelines.RetryExecution(ctx, apicall.Call(req), pipeline.RetryInput{ExecutionARN: in.PipelineExecutionArn,
		ClientToken: in.ClientRequestToken, MaxParallel: in.ParallelismConfiguration.max()})
	if err != nil {
		return nil, err
	}
	return map[string]string{"PipelineExecutionArn": out}, nil
}

type updateExecutionIn struct {
	PipelineExecutionArn         string
	PipelineExecutionDisplayName *string
	PipelineExecutionDescription *string
	ParallelismConfiguration     *parallelismWire
}

func (a *API) updatePipelineExecution(ctx context.Context, req *awsapi.Request, in *updateExecutionIn) (any, error) {
	out, err := a.Pipelines.UpdateExecution(ctx, apicall.Call(req), pipeline.UpdateExecutionInput{ExecutionARN: in.PipelineExecutionArn,
		DisplayName: in.PipelineExecutionDisplayName, Description: in.PipelineExecutionDescription, MaxParallel: in.ParallelismConfiguration.max()})
	if err != nil {
		return nil, err
	}
	return map[string]string{"PipelineExecutionArn": out}, nil
}

type outputParameterWire struct{ Name, Value string }

type sendStepIn struct {
	CallbackToken      string
	OutputParameters   []outputParameterWire
	FailureReason      string
	ClientRequestToken string
}

func (a *API) sendStepSuccess(ctx context.Context, req *awsapi.Request, in *sendStepIn) (any, error) {
	return a.answerCallback(ctx, req, in, true)
}

func (a *API) sendStepFailure(ctx context.Context, req *awsapi.Request, in *sendStepIn) (any, error) {
	return a.answerCallback(ctx, req, in, false)
}

func (a *API) answerCallback(ctx context.Context, req *awsapi.Request, in *sendStepIn, success bool) (any, error) {
	outs := make([]pipeline.Parameter, len(in.OutputParameters))
	for i, o := range in.OutputParameters {
		outs[i] = pipeline.Parameter{Name: o.Name, Value: o.Value}
	}
	out, err := a.Pipelines.AnswerCallback(ctx, apicall.Call(req), pipeline.CallbackAnswer{Token: in.CallbackToken, Success: success,
		Outputs: outs, Reason: in.FailureReason, ClientToken: in.ClientRequestToken})
	if err != nil {
		return nil, err
	}
	return map[string]string{"PipelineExecutionArn": out}, nil
}
