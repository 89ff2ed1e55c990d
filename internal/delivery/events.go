package delivery

import (
	"encoding/json"

	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/randid"
)

// The events CodePipeline puts on the default bus (source aws.codepipeline).
const (
	EventSource         = "aws.codepipeline"
	PipelineStateChange = "CodePipeline Pipeline Execution State Change"
	StageStateChange    = "CodePipeline Stage Execution State Change"
	ActionStateChange   = "CodePipeline Action Execution State Change"
)

type triggerDetail struct {
	Type   string `json:"trigger-type"`
	Detail string `json:"trigger-detail"`
}

type actionType struct {
	Owner    string `json:"owner"`
	Provider string `json:"provider"`
	Category string `json:"category"`
	Version  string `json:"version"`
}

type detail struct {
	Pipeline    string         `json:"pipeline"`
	ExecutionID string         `json:"execution-id"`
	Trigger     *triggerDetail `json:"execution-trigger,omitempty"`
	Stage       string         `json:"stage,omitempty"`
	Action      string         `json:"action,omitempty"`
	State       string         `json:"state"`
	Region      string         `json:"region,omitempty"`
	Type        *actionType    `json:"type,omitempty"`
	Version     int            `json:"version"`
	Attempt     int            `json:"pipeline-execution-attempt,omitempty"`
}

func (s *Service) event(e Execution, kind string, d detail) events.Event {
	d.Pipeline, d.ExecutionID, d.Version = e.PipelineName, e.ID, e.Pipeline.Version
	b, _ := json.Marshal(d)
	return events.Event{ID: randid.UUID(), Account: e.Account, Region: e.Region, Source: EventSource, DetailType: kind,
		Time: s.now(), Resources: []string{e.Pipeline.ARN}, Detail: b}
}

// pipelineEvent: state is STARTED, SUCCEEDED, FAILED, SUPERSEDED, STOPPING, STOPPED, CANCELED,
// RESUMED (a retried stage).
func (s *Service) pipelineEvent(e Execution, state string) events.Event {
	return s.event(e, PipelineStateChange, detail{State: state, Attempt: max(e.Attempt, 1),
		Trigger: &triggerDetail{Type: e.Trigger.Type, Detail: e.Trigger.Detail}})
}

// stageEvent: state is STARTED, SUCCEEDED, FAILED, STOPPED, CANCELED, RESUMED.
func (s *Service) stageEvent(e Execution, stage int, state string) events.Event {
	return s.event(e, StageStateChange, detail{State: state, Stage: e.Stages[stage].Name})
}

// actionEvent: state is STARTED, SUCCEEDED, FAILED, ABANDONED, CANCELED.
func (s *Service) actionEvent(e Execution, stage, action int, state string) events.Event {
	a := e.Pipeline.Stages[stage].Actions[action]
	return s.event(e, ActionStateChange, detail{State: state, Stage: e.Stages[stage].Name, Action: a.Name, Region: e.Region,
		Type: &actionType{Owner: a.Owner, Provider: a.Provider, Category: a.Category, Version: a.Version}})
}
