// Package codepipelineapi serves CodePipeline's deploy-pipeline subset (awsJson1_1, target
// prefix CodePipeline_20150709): pipelines, executions, their state, action executions and
// manual approvals. It translates wire shapes to package delivery's calls and back; every rule
// of the service, and every authorization decision, lives in package delivery.
package codepipelineapi

import (
	"context"
	"fmt"
	"time"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/delivery"
	"github.com/slipway-ml/slipway/internal/errs"
)

// API holds what the handlers need.
type API struct {
	Delivery *delivery.Service
	Tokens   *awsapi.PageTokens
}

// Service is the CodePipeline service: its model, the operations and its error codes.
func (a *API) Service() (*awsapi.Service, error) {
	return awsapi.NewService("codepipeline", a.handlers(), errorCodes())
}

func (a *API) handlers() map[string]awsapi.Handler {
	return map[string]awsapi.Handler{
		"CreatePipeline":         apicall.Handle(a.createPipeline),
		"GetPipeline":            apicall.Handle(a.getPipeline),
		"UpdatePipeline":         apicall.Handle(a.updatePipeline),
		"DeletePipeline":         apicall.Handle(a.deletePipeline),
		"ListPipelines":          apicall.Handle(a.listPipelines),
		"StartPipelineExecution": apicall.Handle(a.startExecution),
		"GetPipelineExecution":   apicall.Handle(a.getExecution),
		"ListPipelineExecutions": apicall.Handle(a.listExecutions),
		"GetPipelineState":       apicall.Handle(a.getState),
		"PutApprovalResult":      apicall.Handle(a.putApprovalResult),
		"ListActionExecutions":   apicall.Handle(a.listActionExecutions),
		"StopPipelineExecution":  apicall.Handle(a.stopExecution),
		"EnableStageTransition":  apicall.Handle(a.enableTransition),
		"DisableStageTransition": apicall.Handle(a.disableTransition),
		"RetryStageExecution":    apicall.Handle(a.retryStage),
	}
}

func unsupported(what string) error {
	return errs.E(errs.Invalid, "%s is not supported by this server", what).WithCode("ValidationException")
}

// ---- wire shapes

type actionTypeID struct {
	Category string `json:"category"`
	Owner    string `json:"owner"`
	Provider string `json:"provider"`
	Version  string `json:"version"`
}

type artifactName struct {
	Name string `json:"name"`
}

type actionDecl struct {
	Name             string            `json:"name"`
	ActionTypeID     actionTypeID      `json:"actionTypeId"`
	RunOrder         int               `json:"runOrder,omitempty"`
	Configuration    map[string]string `json:"configuration,omitempty"`
	InputArtifacts   []artifactName    `json:"inputArtifacts"`
	OutputArtifacts  []artifactName    `json:"outputArtifacts"`
	RoleArn          string            `json:"roleArn,omitempty"`
	Region           string            `json:"region,omitempty"`
	Namespace        string            `json:"namespace,omitempty"`
	Commands         []string          `json:"commands,omitempty"`
	TimeoutInMinutes int               `json:"timeoutInMinutes,omitempty"`
}

type stageDecl struct {
	Name      string       `json:"name"`
	Actions   []actionDecl `json:"actions"`
	Blockers  []any        `json:"blockers,omitempty"`
	OnFailure any          `json:"onFailure,omitempty"`
}

type artifactStore struct {
	Type     string `json:"type"`
	Location string `json:"location"`
}

type pipelineDecl struct {
	Name           string                   `json:"name"`
	RoleArn        string                   `json:"roleArn"`
	ArtifactStore  *artifactStore           `json:"artifactStore,omitempty"`
	ArtifactStores map[string]artifactStore `json:"artifactStores,omitempty"`
	Stages         []stageDecl              `json:"stages"`
	Version        int                      `json:"version,omitempty"`
	ExecutionMode  string                   `json:"executionMode,omitempty"`
	PipelineType   string                   `json:"pipelineType,omitempty"`
	Variables      []any                    `json:"variables,omitempty"`
	Triggers       []any                    `json:"triggers,omitempty"`
}

func names(xs []artifactName) []string {
	var out []string
	for _, x := range xs {
		out = append(out, x.Name)
	}
	return out
}

func artifactNames(xs []string) []artifactName {
	out := []artifactName{}
	for _, x := range xs {
		out = append(out, artifactName{x})
	}
	return out
}

// toDomain translates a declaration; what the server does not run yet is refused.
func toDomain(d pipelineDecl) (delivery.Pipeline, error) {
	switch {
	case len(d.ArtifactStores) > 0:
		return delivery.Pipeline{}, unsupported("artifactStores (cross-region artifact stores)")
	case len(d.Variables) > 0:
		return delivery.Pipeline{}, unsupported("pipeline variables")
	case len(d.Triggers) > 0:
		return delivery.Pipeline{}, unsupported("pipeline triggers")
	case d.ArtifactStore == nil:
		return delivery.Pipeline{}, errs.E(errs.Invalid, "the pipeline needs an artifactStore").WithCode("InvalidStructureException")
	}
	p := delivery.Pipeline{Name: d.Name, RoleARN: d.RoleArn, ArtifactStore: delivery.ArtifactStore{Type: d.ArtifactStore.Type, Location: d.ArtifactStore.Location},
		ExecutionMode: d.ExecutionMode, PipelineType: d.PipelineType}
	for _, s := range d.Stages {
		if len(s.Blockers) > 0 || s.OnFailure != nil {
			return delivery.Pipeline{}, unsupported("stage blockers and onFailure")
		}
		st := delivery.Stage{Name: s.Name}
		for _, x := range s.Actions {
			if len(x.Commands) > 0 || x.TimeoutInMinutes != 0 {
				return delivery.Pipeline{}, unsupported("action commands and timeoutInMinutes")
			}
			st.Actions = append(st.Actions, delivery.Action{Name: x.Name, Category: x.ActionTypeID.Category, Owner: x.ActionTypeID.Owner,
				Provider: x.ActionTypeID.Provider, Version: x.ActionTypeID.Version, RunOrder: x.RunOrder, Configuration: x.Configuration,
				InputArtifacts: names(x.InputArtifacts), OutputArtifacts: names(x.OutputArtifacts), RoleARN: x.RoleArn, Region: x.Region, Namespace: x.Namespace})
		}
		p.Stages = append(p.Stages, st)
	}
	return p, nil
}

func fromDomain(p delivery.Pipeline) pipelineDecl {
	d := pipelineDecl{Name: p.Name, RoleArn: p.RoleARN, ArtifactStore: &artifactStore{Type: p.ArtifactStore.Type, Location: p.ArtifactStore.Location},
		Version: p.Version, ExecutionMode: p.ExecutionMode, PipelineType: p.PipelineType, Stages: []stageDecl{}}
	for _, s := range p.Stages {
		st := stageDecl{Name: s.Name, Actions: []actionDecl{}}
		for _, x := range s.Actions {
			st.Actions = append(st.Actions, actionDecl{Name: x.Name, ActionTypeID: actionTypeID{x.Category, x.Owner, x.Provider, x.Version},
				RunOrder: x.RunOrder, Configuration: x.Configuration, InputArtifacts: artifactNames(x.InputArtifacts),
				OutputArtifacts: artifactNames(x.OutputArtifacts), RoleArn: x.RoleARN, Region: x.Region, Namespace: x.Namespace})
		}
		d.Stages = append(d.Stages, st)
	}
	return d
}

type pipelineIn struct {
	Pipeline pipelineDecl  `json:"pipeline"`
	Tags     []apicall.Tag `json:"tags"`
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type pipelineOut struct {
	Pipeline pipelineDecl `json:"pipeline"`
	Tags     []tag        `json:"tags,omitempty"`
}

func (a *API) createPipeline(ctx context.Context, req *awsapi.Request, in *pipelineIn) (any, error) {
	p, err := toDomain(in.Pipeline)
	if err != nil {
		return nil, err
	}
	if p.Tags, err = apicall.TagMap(in.Tags); err != nil {
		return nil, err
	}
	out, err := a.Delivery.CreatePipeline(ctx, apicall.Call(req), p)
	if err != nil {
		return nil, err
	}
	o := pipelineOut{Pipeline: fromDomain(out)}
	for _, t := range in.Tags {
		o.Tags = append(o.Tags, tag{t.Key, t.Value})
	}
	return o, nil
}

func (a *API) updatePipeline(ctx context.Context, req *awsapi.Request, in *pipelineIn) (any, error) {
	p, err := toDomain(in.Pipeline)
	if err != nil {
		return nil, err
	}
	out, err := a.Delivery.UpdatePipeline(ctx, apicall.Call(req), p)
	if err != nil {
		return nil, err
	}
	return pipelineOut{Pipeline: fromDomain(out)}, nil
}

type nameIn struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
}

func (a *API) getPipeline(ctx context.Context, req *awsapi.Request, in *nameIn) (any, error) {
	p, err := a.Delivery.GetPipeline(ctx, apicall.Call(req), in.Name, in.Version)
	if err != nil {
		return nil, err
	}
	return struct {
		Pipeline pipelineDecl `json:"pipeline"`
		Metadata struct {
			PipelineArn string    `json:"pipelineArn"`
			Created     time.Time `json:"created"`
			Updated     time.Time `json:"updated"`
		} `json:"metadata"`
	}{Pipeline: fromDomain(p), Metadata: struct {
		PipelineArn string    `json:"pipelineArn"`
		Created     time.Time `json:"created"`
		Updated     time.Time `json:"updated"`
	}{p.ARN, p.CreatedAt, p.UpdatedAt}}, nil
}

func (a *API) deletePipeline(ctx context.Context, req *awsapi.Request, in *nameIn) (any, error) {
	return nil, a.Delivery.DeletePipeline(ctx, apicall.Call(req), in.Name)
}

type pageIn struct {
	MaxResults int    `json:"maxResults"`
	NextToken  string `json:"nextToken"`
}

type pipelineSummary struct {
	Name          string    `json:"name"`
	Version       int       `json:"version"`
	PipelineType  string    `json:"pipelineType"`
	ExecutionMode string    `json:"executionMode"`
	Created       time.Time `json:"created"`
	Updated       time.Time `json:"updated"`
}

// page cuts a list at the token's offset; the token is sealed to its scope.
func page[T any](tokens *awsapi.PageTokens, scope string, all []T, in pageIn, def int) ([]T, string, error) {
	off := 0
	if in.NextToken != "" {
		if err := tokens.Decode(scope, in.NextToken, &off); err != nil || off < 0 || off > len(all) {
			return nil, "", errs.E(errs.Invalid, "The next token is not valid").WithCode("InvalidNextTokenException")
		}
	}
	n := in.MaxResults
	if n <= 0 {
		n = def
	}
	end := min(off+n, len(all))
	next := ""
	if end < len(all) {
		t, err := tokens.Encode(scope, end)
		if err != nil {
			return nil, "", err
		}
		next = t
	}
	return all[off:end], next, nil
}

func (a *API) listPipelines(ctx context.Context, req *awsapi.Request, in *pageIn) (any, error) {
	all, err := a.Delivery.ListPipelines(ctx, apicall.Call(req))
	if err != nil {
		return nil, err
	}
	ps, next, err := page(a.Tokens, "codepipeline/ListPipelines/"+req.Caller.Account, all, *in, 1000)
	if err != nil {
		return nil, err
	}
	out := struct {
		Pipelines []pipelineSummary `json:"pipelines"`
		NextToken string            `json:"nextToken,omitempty"`
	}{Pipelines: []pipelineSummary{}, NextToken: next}
	for _, p := range ps {
		out.Pipelines = append(out.Pipelines, pipelineSummary{p.Name, p.Version, p.PipelineType, p.ExecutionMode, p.CreatedAt, p.UpdatedAt})
	}
	return out, nil
}

type startIn struct {
	Name               string `json:"name"`
	ClientRequestToken string `json:"clientRequestToken"`
	Variables          []any  `json:"variables"`
	SourceRevisions    []any  `json:"sourceRevisions"`
}

func (a *API) startExecution(ctx context.Context, req *awsapi.Request, in *startIn) (any, error) {
	if len(in.Variables) > 0 || len(in.SourceRevisions) > 0 {
		return nil, unsupported("variables and sourceRevisions")
	}
	id, err := a.Delivery.StartPipelineExecution(ctx, apicall.Call(req), in.Name, in.ClientRequestToken)
	if err != nil {
		return nil, err
	}
	return struct {
		PipelineExecutionID string `json:"pipelineExecutionId"`
	}{id}, nil
}

type executionIn struct {
	PipelineName        string `json:"pipelineName"`
	PipelineExecutionID string `json:"pipelineExecutionId"`
	Abandon             bool   `json:"abandon"`
	Reason              string `json:"reason"`
}

type trigger struct {
	TriggerType   string `json:"triggerType"`
	TriggerDetail string `json:"triggerDetail"`
}

type artifactRevision struct {
	Name       string    `json:"name"`
	RevisionID string    `json:"revisionId,omitempty"`
	Created    time.Time `json:"created,omitempty"`
}

func (a *API) getExecution(ctx context.Context, req *awsapi.Request, in *executionIn) (any, error) {
	e, err := a.Delivery.GetPipelineExecution(ctx, apicall.Call(req), in.PipelineName, in.PipelineExecutionID)
	if err != nil {
		return nil, err
	}
	type execution struct {
		PipelineName        string             `json:"pipelineName"`
		PipelineVersion     int                `json:"pipelineVersion"`
		PipelineExecutionID string             `json:"pipelineExecutionId"`
		Status              string             `json:"status"`
		StatusSummary       string             `json:"statusSummary,omitempty"`
		ArtifactRevisions   []artifactRevision `json:"artifactRevisions"`
		Trigger             trigger            `json:"trigger"`
		ExecutionMode       string             `json:"executionMode"`
		ExecutionType       string             `json:"executionType"`
	}
	x := execution{PipelineName: e.PipelineName, PipelineVersion: e.Pipeline.Version, PipelineExecutionID: e.ID, Status: string(e.Status),
		StatusSummary: e.Summary, ArtifactRevisions: []artifactRevision{}, Trigger: trigger{e.Trigger.Type, e.Trigger.Detail},
		ExecutionMode: e.Pipeline.ExecutionMode, ExecutionType: "STANDARD"}
	return struct {
		PipelineExecution execution `json:"pipelineExecution"`
	}{x}, nil
}

type listExecutionsIn struct {
	PipelineName string `json:"pipelineName"`
	MaxResults   int    `json:"maxResults"`
	NextToken    string `json:"nextToken"`
	Filter       any    `json:"filter"`
}

func (a *API) listExecutions(ctx context.Context, req *awsapi.Request, in *listExecutionsIn) (any, error) {
	if in.Filter != nil {
		return nil, unsupported("filter")
	}
	all, err := a.Delivery.ListPipelineExecutions(ctx, apicall.Call(req), in.PipelineName)
	if err != nil {
		return nil, err
	}
	es, next, err := page(a.Tokens, fmt.Sprintf("codepipeline/ListPipelineExecutions/%s/%s", req.Caller.Account, in.PipelineName), all, pageIn{in.MaxResults, in.NextToken}, 100)
	if err != nil {
		return nil, err
	}
	type summary struct {
		PipelineExecutionID string    `json:"pipelineExecutionId"`
		Status              string    `json:"status"`
		StatusSummary       string    `json:"statusSummary,omitempty"`
		StartTime           time.Time `json:"startTime"`
		LastUpdateTime      time.Time `json:"lastUpdateTime"`
		Trigger             trigger   `json:"trigger"`
		ExecutionMode       string    `json:"executionMode"`
		ExecutionType       string    `json:"executionType"`
	}
	out := struct {
		PipelineExecutionSummaries []summary `json:"pipelineExecutionSummaries"`
		NextToken                  string    `json:"nextToken,omitempty"`
	}{PipelineExecutionSummaries: []summary{}, NextToken: next}
	for _, e := range es {
		out.PipelineExecutionSummaries = append(out.PipelineExecutionSummaries, summary{e.ID, string(e.Status), e.Summary, e.StartedAt, e.UpdatedAt,
			trigger{e.Trigger.Type, e.Trigger.Detail}, e.Pipeline.ExecutionMode, "STANDARD"})
	}
	return out, nil
}

type errorDetails struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type actionExecution struct {
	ActionExecutionID    string        `json:"actionExecutionId"`
	Status               string        `json:"status"`
	Summary              string        `json:"summary,omitempty"`
	LastStatusChange     time.Time     `json:"lastStatusChange"`
	Token                string        `json:"token,omitempty"`
	LastUpdatedBy        string        `json:"lastUpdatedBy,omitempty"`
	ExternalExecutionURL string        `json:"externalExecutionUrl,omitempty"`
	ErrorDetails         *errorDetails `json:"errorDetails,omitempty"`
}

func actionExec(r delivery.ActionRun) actionExecution {
	x := actionExecution{ActionExecutionID: r.ID, Status: string(r.Status), Summary: r.Summary, LastStatusChange: r.UpdatedAt,
		Token: r.Token, ExternalExecutionURL: r.ExternalURL}
	if r.Approval != nil {
		x.LastUpdatedBy = r.Approval.ApproverARN
	}
	if r.Error != "" {
		x.ErrorDetails = &errorDetails{r.ErrorCode, r.Error}
	}
	return x
}

func (a *API) getState(ctx context.Context, req *awsapi.Request, in *nameIn) (any, error) {
	st, err := a.Delivery.GetPipelineState(ctx, apicall.Call(req), in.Name)
	if err != nil {
		return nil, err
	}
	type stageExecution struct {
		PipelineExecutionID string `json:"pipelineExecutionId"`
		Status              string `json:"status"`
		Type                string `json:"type"`
	}
	type actionState struct {
		ActionName      string           `json:"actionName"`
		LatestExecution *actionExecution `json:"latestExecution,omitempty"`
		EntityURL       string           `json:"entityUrl,omitempty"`
	}
	type transition struct {
		Enabled        bool       `json:"enabled"`
		LastChangedBy  string     `json:"lastChangedBy,omitempty"`
		LastChangedAt  *time.Time `json:"lastChangedAt,omitempty"`
		DisabledReason string     `json:"disabledReason,omitempty"`
	}
	type stageState struct {
		StageName              string          `json:"stageName"`
		InboundExecution       *stageExecution `json:"inboundExecution,omitempty"`
		InboundTransitionState transition      `json:"inboundTransitionState"`
		ActionStates           []actionState   `json:"actionStates"`
		LatestExecution        *stageExecution `json:"latestExecution,omitempty"`
	}
	out := struct {
		PipelineName    string       `json:"pipelineName"`
		PipelineVersion int          `json:"pipelineVersion"`
		StageStates     []stageState `json:"stageStates"`
		Created         time.Time    `json:"created"`
		Updated         time.Time    `json:"updated"`
	}{PipelineName: st.Pipeline.Name, PipelineVersion: st.Pipeline.Version, StageStates: []stageState{}, Created: st.Pipeline.CreatedAt, Updated: st.Pipeline.UpdatedAt}
	for i, s := range st.Stages {
		ss := stageState{StageName: s.Name, InboundTransitionState: transition{Enabled: true}, ActionStates: []actionState{}}
		if t := st.Pipeline.Transitions[s.Name].Inbound; t.ChangedBy != "" {
			at := t.ChangedAt
			ss.InboundTransitionState = transition{Enabled: !t.Disabled, LastChangedBy: t.ChangedBy, LastChangedAt: &at, DisabledReason: t.Reason}
		}
		if s.Inbound != nil {
			ss.InboundExecution = &stageExecution{s.Inbound.ID, string(s.Inbound.Status), "STANDARD"}
		}
		for _, act := range st.Pipeline.Stages[i].Actions {
			as := actionState{ActionName: act.Name}
			if s.Run != nil {
				for _, r := range s.Run.Actions {
					if r.Name == act.Name && r.ID != "" {
						x := actionExec(r)
						as.LatestExecution = &x
					}
				}
			}
			ss.ActionStates = append(ss.ActionStates, as)
		}
		if s.Run != nil {
			ss.LatestExecution = &stageExecution{s.Execution.ID, string(s.Run.Status), "STANDARD"}
		}
		out.StageStates = append(out.StageStates, ss)
	}
	return out, nil
}

type approvalIn struct {
	PipelineName string `json:"pipelineName"`
	StageName    string `json:"stageName"`
	ActionName   string `json:"actionName"`
	Result       struct {
		Summary string `json:"summary"`
		Status  string `json:"status"`
	} `json:"result"`
	Token string `json:"token"`
}

func (a *API) putApprovalResult(ctx context.Context, req *awsapi.Request, in *approvalIn) (any, error) {
	at, err := a.Delivery.PutApprovalResult(ctx, apicall.Call(req), delivery.ApprovalInput{Pipeline: in.PipelineName, Stage: in.StageName,
		Action: in.ActionName, Status: in.Result.Status, Summary: in.Result.Summary, Token: in.Token})
	if err != nil {
		return nil, err
	}
	return struct {
		ApprovedAt time.Time `json:"approvedAt"`
	}{at}, nil
}

type listActionsIn struct {
	PipelineName string `json:"pipelineName"`
	Filter       *struct {
		PipelineExecutionID string `json:"pipelineExecutionId"`
		Latest              any    `json:"latestInPipelineExecution"`
	} `json:"filter"`
	MaxResults int    `json:"maxResults"`
	NextToken  string `json:"nextToken"`
}

type s3Location struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

type artifactDetail struct {
	Name       string     `json:"name"`
	S3Location s3Location `json:"s3location"`
}

func details(as []delivery.Artifact) []artifactDetail {
	out := []artifactDetail{}
	for _, x := range as {
		out = append(out, artifactDetail{x.Name, s3Location{x.Bucket, x.Key}})
	}
	return out
}

func (a *API) listActionExecutions(ctx context.Context, req *awsapi.Request, in *listActionsIn) (any, error) {
	id := ""
	if in.Filter != nil {
		if in.Filter.Latest != nil {
			return nil, unsupported("filter.latestInPipelineExecution")
		}
		id = in.Filter.PipelineExecutionID
	}
	all, err := a.Delivery.ListActionExecutions(ctx, apicall.Call(req), in.PipelineName, id)
	if err != nil {
		return nil, err
	}
	xs, next, err := page(a.Tokens, fmt.Sprintf("codepipeline/ListActionExecutions/%s/%s/%s", req.Caller.Account, in.PipelineName, id), all, pageIn{in.MaxResults, in.NextToken}, 100)
	if err != nil {
		return nil, err
	}
	type input struct {
		ActionTypeID   actionTypeID      `json:"actionTypeId"`
		Configuration  map[string]string `json:"configuration,omitempty"`
		RoleArn        string            `json:"roleArn,omitempty"`
		Region         string            `json:"region"`
		InputArtifacts []artifactDetail  `json:"inputArtifacts"`
		Namespace      string            `json:"namespace,omitempty"`
	}
	type result struct {
		ExternalExecutionSummary string        `json:"externalExecutionSummary,omitempty"`
		ExternalExecutionURL     string        `json:"externalExecutionUrl,omitempty"`
		ErrorDetails             *errorDetails `json:"errorDetails,omitempty"`
	}
	type output struct {
		OutputArtifacts []artifactDetail `json:"outputArtifacts"`
		ExecutionResult result           `json:"executionResult"`
	}
	type detail struct {
		PipelineExecutionID string    `json:"pipelineExecutionId"`
		ActionExecutionID   string    `json:"actionExecutionId"`
		PipelineVersion     int       `json:"pipelineVersion"`
		StageName           string    `json:"stageName"`
		ActionName          string    `json:"actionName"`
		StartTime           time.Time `json:"startTime"`
		LastUpdateTime      time.Time `json:"lastUpdateTime"`
		UpdatedBy           string    `json:"updatedBy,omitempty"`
		Status              string    `json:"status"`
		Input               input     `json:"input"`
		Output              output    `json:"output"`
	}
	out := struct {
		ActionExecutionDetails []detail `json:"actionExecutionDetails"`
		NextToken              string   `json:"nextToken,omitempty"`
	}{ActionExecutionDetails: []detail{}, NextToken: next}
	for _, x := range xs {
		d := detail{PipelineExecutionID: x.Execution.ID, ActionExecutionID: x.Run.ID, PipelineVersion: x.Execution.Pipeline.Version,
			StageName: x.Stage, ActionName: x.Action.Name, StartTime: x.Run.StartedAt, LastUpdateTime: x.Run.UpdatedAt, Status: string(x.Run.Status),
			Input: input{ActionTypeID: actionTypeID{x.Action.Category, x.Action.Owner, x.Action.Provider, x.Action.Version},
				Configuration: x.Action.Configuration, RoleArn: x.Action.RoleARN, Region: x.Execution.Region, InputArtifacts: details(x.Run.Inputs),
				Namespace: x.Action.Namespace},
			Output: output{OutputArtifacts: details(x.Run.Outputs), ExecutionResult: result{ExternalExecutionSummary: x.Run.Summary, ExternalExecutionURL: x.Run.ExternalURL}}}
		if x.Run.Approval != nil {
			d.UpdatedBy = x.Run.Approval.ApproverARN
		}
		if x.Run.Error != "" {
			d.Output.ExecutionResult.ErrorDetails = &errorDetails{x.Run.ErrorCode, x.Run.Error}
		}
		out.ActionExecutionDetails = append(out.ActionExecutionDetails, d)
	}
	return out, nil
}

func (a *API) stopExecution(ctx context.Context, req *awsapi.Request, in *executionIn) (any, error) {
	if err := a.Delivery.StopPipelineExecution(ctx, apicall.Call(req), in.PipelineName, in.PipelineExecutionID, in.Reason, in.Abandon); err != nil {
		return nil, err
	}
	return struct {
		PipelineExecutionID string `json:"pipelineExecutionId"`
	}{in.PipelineExecutionID}, nil
}

type transitionIn struct {
	PipelineName   string `json:"pipelineName"`
	StageName      string `json:"stageName"`
	TransitionType string `json:"transitionType"`
	Reason         string `json:"reason"`
}

func (a *API) enableTransition(ctx context.Context, req *awsapi.Request, in *transitionIn) (any, error) {
	return nil, a.Delivery.EnableStageTransition(ctx, apicall.Call(req), delivery.TransitionInput{Pipeline: in.PipelineName,
		Stage: in.StageName, Type: in.TransitionType})
}

func (a *API) disableTransition(ctx context.Context, req *awsapi.Request, in *transitionIn) (any, error) {
	return nil, a.Delivery.DisableStageTransition(ctx, apicall.Call(req), delivery.TransitionInput{Pipeline: in.PipelineName,
		Stage: in.StageName, Type: in.TransitionType, Reason: in.Reason})
}

type retryIn struct {
	PipelineName        string `json:"pipelineName"`
	StageName           string `json:"stageName"`
	PipelineExecutionID string `json:"pipelineExecutionId"`
	RetryMode           string `json:"retryMode"`
}

func (a *API) retryStage(ctx context.Context, req *awsapi.Request, in *retryIn) (any, error) {
	id, err := a.Delivery.RetryStageExecution(ctx, apicall.Call(req), delivery.RetryInput{Pipeline: in.PipelineName, Stage: in.StageName,
		ExecutionID: in.PipelineExecutionID, Mode: in.RetryMode})
	if err != nil {
		return nil, err
	}
	return struct {
		PipelineExecutionID string `json:"pipelineExecutionId"`
	}{id}, nil
}
