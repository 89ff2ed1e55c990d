package delivery

import "time"

// ExecStatus is a pipeline execution's status, as CodePipeline spells it.
type ExecStatus string

// Execution statuses.
const (
	ExecInProgress ExecStatus = "InProgress"
	ExecStopping   ExecStatus = "Stopping"
	ExecStopped    ExecStatus = "Stopped"
	ExecSucceeded  ExecStatus = "Succeeded"
	ExecSuperseded ExecStatus = "Superseded"
	ExecFailed     ExecStatus = "Failed"
)

// Terminal reports whether nothing more happens to an execution in status s, unless
// RetryStageExecution resumes it (a Failed or Stopped execution's stage is retried).
func (s ExecStatus) Terminal() bool {
	switch s {
	case ExecStopped, ExecSucceeded, ExecSuperseded, ExecFailed:
		return true
	}
	return false
}

var execMoves = map[ExecStatus][]ExecStatus{
	ExecInProgress: {ExecStopping, ExecStopped, ExecSucceeded, ExecSuperseded, ExecFailed},
	ExecStopping:   {ExecStopped, ExecFailed},
	// RetryStageExecution resumes the latest execution of a stage that failed or stopped.
	ExecFailed:  {ExecInProgress},
	ExecStopped: {ExecInProgress},
}

// CanMoveTo reports whether an execution may go from s to next.
func (s ExecStatus) CanMoveTo(next ExecStatus) bool {
	for _, n := range execMoves[s] {
		if n == next {
			return true
		}
	}
	return false
}

// ActionStatus is an action execution's status (also used for stages).
type ActionStatus string

// Action (and stage) statuses.
const (
	ActionInProgress ActionStatus = "InProgress"
	ActionSucceeded  ActionStatus = "Succeeded"
	ActionFailed     ActionStatus = "Failed"
	ActionAbandoned  ActionStatus = "Abandoned"
	StageStopped     ActionStatus = "Stopped"
	StageCancelled   ActionStatus = "Cancelled"
)

// CanMoveTo reports whether an action may go from s to next ("" is not started).
func (s ActionStatus) CanMoveTo(next ActionStatus) bool {
	switch s {
	case "":
		return next == ActionInProgress
	case ActionInProgress:
		return next == ActionSucceeded || next == ActionFailed || next == ActionAbandoned
	}
	return false
}

// Execution modes.
const (
	ModeSuperseded = "SUPERSEDED"
	ModeQueued     = "QUEUED"
	ModeParallel   = "PARALLEL"
)

// Transition types.
const (
	Inbound  = "Inbound"
	Outbound = "Outbound"
)

// Transition is one transition of a stage as EnableStageTransition and DisableStageTransition
// left it; the zero value is enabled and never changed.
type Transition struct {
	Disabled  bool      `json:",omitempty"`
	Reason    string    `json:",omitempty"`
	ChangedBy string    `json:",omitempty"`
	ChangedAt time.Time `json:",omitzero"`
}

// Transitions are a stage's inbound and outbound transitions.
type Transitions struct {
	Inbound  Transition `json:",omitzero"`
	Outbound Transition `json:",omitzero"`
}

// ArtifactStore is where a pipeline keeps its artifacts.
type ArtifactStore struct {
	Type     string // S3
	Location string // a bucket
}

// Action is one action of a stage, as declared.
type Action struct {
	Name            string
	Category        string // Source | Build | Test | Deploy | Approval | Invoke
	Owner           string // AWS | ThirdParty | Custom
	Provider        string // S3 | CloudFormation | Manual | …
	Version         string
	RunOrder        int
	Configuration   map[string]string
	InputArtifacts  []string
	OutputArtifacts []string
	RoleARN         string // the role the action runs as (assumed by the pipeline's role)
	Region          string
	Namespace       string
}

// Stage is a stage of a pipeline.
type Stage struct {
	Name    string
	Actions []Action
}

// Pipeline is a deploy pipeline's declaration.
type Pipeline struct {
	Account       string
	Region        string
	Name          string
	ARN           string
	RoleARN       string
	ArtifactStore ArtifactStore
	Stages        []Stage
	Version       int
	ExecutionMode string
	PipelineType  string
	Tags          map[string]string
	// Transitions are the stages' transitions, by stage name (stages never changed are
	// absent). They are the pipeline's state, not its declaration: UpdatePipeline keeps them.
	Transitions map[string]Transitions `json:",omitempty"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// blocked reports whether a transition keeps an execution from entering stage i: the stage's
// inbound transition, or the previous stage's outbound one, is disabled.
func (p Pipeline) blocked(stages []StageRun, i int) bool {
	if p.Transitions[stages[i].Name].Inbound.Disabled {
		return true
	}
	return i > 0 && p.Transitions[stages[i-1].Name].Outbound.Disabled
}

// Artifact is an artifact an action produced: an object of the artifact store.
type Artifact struct {
	Name   string
	Bucket string
	Key    string
	// File is the name of the single file the object is, when it is not a zip archive.
	File string `json:",omitempty"`
}

// Approval is the decision recorded on a manual approval action.
type Approval struct {
	Status      string // Approved | Rejected
	Summary     string
	ApproverARN string
	Time        time.Time
}

// ActionRun is one action's execution within a pipeline execution.
type ActionRun struct {
	Name        string
	ID          string // the action execution id
	Status      ActionStatus
	Summary     string
	ErrorCode   string
	Error       string
	ExternalURL string
	Token       string // a manual approval's token while it waits
	Approval    *Approval
	// State is what the provider keeps between calls (a stack's ARN, …).
	State     map[string]string
	Inputs    []Artifact
	Outputs   []Artifact
	StartedAt time.Time
	UpdatedAt time.Time
}

// StageRun is one stage's execution.
type StageRun struct {
	Name    string
	Status  ActionStatus // "" until entered
	Actions []ActionRun
	// Previous are the action executions a RetryStageExecution replaced, oldest first.
	Previous []ActionRun `json:",omitempty"`
}

// Execution is a pipeline execution and the state of its engine. It runs the pipeline
// declaration it started with.
type Execution struct {
	Account      string
	Region       string
	ID           string
	PipelineName string
	Seq          int64 // increases with each execution of the pipeline
	Pipeline     Pipeline
	Status       ExecStatus
	Summary      string
	// Attempt counts the execution's runs: 1, and one more for each RetryStageExecution.
	Attempt int `json:",omitempty"`
	Trigger Trigger
	// Stage is the index of the stage the execution is in, or waits to enter when Waiting.
	Stage   int
	Waiting bool
	Stages  []StageRun
	// Artifacts are the artifacts made so far, by name.
	Artifacts   map[string]Artifact
	ClientToken string
	StopAbandon bool
	StartedAt   time.Time
	UpdatedAt   time.Time
}

// Trigger is what started an execution.
type Trigger struct {
	Type   string // StartPipelineExecution | CreatePipeline | CloudWatchEvent
	Detail string // the caller's ARN, or the event rule's
	// Event is the EventBridge event that started the execution (trigger CloudWatchEvent),
	// as delivered: a Source action may read it (a model package's approval).
	Event []byte `json:",omitempty"`
}
