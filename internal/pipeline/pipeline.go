package pipeline

import (
	"encoding/json"
	"time"
)

// Pipeline is a SageMaker model-building pipeline: its latest version's definition and the
// role its steps run as.
type Pipeline struct {
	Account     string
	Name        string
	ARN         string
	DisplayName string `json:",omitempty"`
	Description string `json:",omitempty"`
	RoleARN     string
	// Version is the latest version's id (1 at creation, one more at each update).
	Version int64
	// MaxParallel is ParallelismConfiguration.MaxParallelExecutionSteps (0: unbounded).
	MaxParallel int               `json:",omitempty"`
	Tags        map[string]string `json:",omitempty"`
	CreatedBy   string            `json:",omitempty"` // the creator's ARN
	ModifiedBy  string            `json:",omitempty"`
	// ClientToken is CreatePipeline's ClientRequestToken: a retry with it gets this pipeline.
	ClientToken string `json:",omitempty"`
	CreatedAt   time.Time
	ModifiedAt  time.Time
	// LastExecutionAt is when the pipeline was last started.
	LastExecutionAt time.Time `json:",omitempty"`
}

// Version is one version of a pipeline: what an execution started on it runs.
type Version struct {
	PipelineARN string
	Version     int64
	DisplayName string `json:",omitempty"`
	Description string `json:",omitempty"`
	RoleARN     string
	Definition  string
	CreatedBy   string `json:",omitempty"`
	CreatedAt   time.Time
}

// Status is a pipeline execution's status (SageMaker's PipelineExecutionStatus).
type Status string

// The execution statuses.
const (
	Executing Status = "Executing"
	Stopping  Status = "Stopping"
	Stopped   Status = "Stopped"
	Failed    Status = "Failed"
	Succeeded Status = "Succeeded"
)

// Valid says whether s is an execution status.
func (s Status) Valid() bool {
	switch s {
	case Executing, Stopping, Stopped, Failed, Succeeded:
		return true
	}
	return false
}

// Terminal says whether an execution in s has ended.
func (s Status) Terminal() bool { return s == Stopped || s == Failed || s == Succeeded }

// CanMoveTo says whether an execution may go from s to next.
func (s Status) CanMoveTo(next Status) bool {
	switch s {
	case Executing:
		return next == Stopping || next == Failed || next == Succeeded
	case Stopping:
		return next == Stopped || next == Failed || next == Succeeded
	}
	return false
}

// Parameter is a pipeline parameter's value in one execution (as given, or its default).
type Parameter struct {
	Name  string
	Value string
}

// Execution is one run of a pipeline version.
type Execution struct {
	Account      string
	PipelineName string
	PipelineARN  string
	ARN          string
	// ID is the last part of the ARN: it names the execution's jobs.
	ID              string
	PipelineVersion int64
	DisplayName     string `json:",omitempty"`
	Description     string `json:",omitempty"`
	Status          Status
	FailureReason   string `json:",omitempty"`
	// Parameters holds every parameter of the definition with the value this execution uses.
	Parameters  []Parameter
	ClientToken string `json:",omitempty"`
	RoleARN     string
	MaxParallel int    `json:",omitempty"`
	CreatedBy   string `json:",omitempty"`
	CreatedAt   time.Time
	ModifiedAt  time.Time
	// Selected, for a selective execution, names the steps it runs; the steps they depend on
	// are reused from the execution Source.
	Selected []string `json:",omitempty"`
	Source   string   `json:",omitempty"`
	// Callbacks holds, by callback token, how each Callback step's wait ended (an answer or
	// its timeout): the first to commit, under the execution's lock, wins.
	Callbacks map[string]CallbackOutcome `json:",omitempty"`
	// RetryTokens are the ClientRequestTokens of RetryPipelineExecution calls already applied.
	RetryTokens []string `json:",omitempty"`
}

// StepStatus is a step's status (SageMaker's StepStatus).
type StepStatus string

// The step statuses.
const (
	StepStarting  StepStatus = "Starting"
	StepExecuting StepStatus = "Executing"
	StepStopping  StepStatus = "Stopping"
	StepStopped   StepStatus = "Stopped"
	StepFailed    StepStatus = "Failed"
	StepSucceeded StepStatus = "Succeeded"
)

// Terminal says whether a step in s has ended.
func (s StepStatus) Terminal() bool { return s == StepStopped || s == StepFailed || s == StepSucceeded }

// CanMoveTo says whether a step may go from s to next.
func (s StepStatus) CanMoveTo(next StepStatus) bool {
	switch s {
	case StepStarting:
		return next == StepExecuting || next == StepStopping || next == StepStopped || next == StepFailed || next == StepSucceeded
	case StepExecuting:
		return next == StepStopping || next == StepFailed || next == StepSucceeded
	case StepStopping:
		return next == StepStopped || next == StepFailed || next == StepSucceeded
	}
	return false
}

// Step is one step of an execution, as ListPipelineExecutionSteps shows it.
type Step struct {
	ExecutionARN string
	Name         string
	Type         string
	DisplayName  string `json:",omitempty"`
	Description  string `json:",omitempty"`
	Status       StepStatus
	// Attempt counts the step's attempts (AttemptCount); its job's name includes it.
	Attempt   int
	StartedAt time.Time
	EndedAt   time.Time `json:",omitempty"`
	// Metadata is the step's metadata as SageMaker returns it, e.g. {"TrainingJob":{"Arn":…}}.
	Metadata json.RawMessage `json:",omitempty"`
	// Properties is what later steps may reference as Steps.<Name>.…: the Describe response of
	// the step's job (or the step type's properties).
	Properties    json.RawMessage `json:",omitempty"`
	FailureReason string          `json:",omitempty"`
	// Order is the step's position in the execution (the order steps started).
	Order int
	// CacheKey is the hash of the step's resolved arguments when its CacheConfig is enabled.
	CacheKey string `json:",omitempty"`
	// CacheArguments are the resolved arguments CacheKey hashes (definition.CacheArguments):
	// what explain-cache compares between executions.
	CacheArguments json.RawMessage `json:",omitempty"`
	// CacheHit is the execution whose step's result this one reused (CacheHitResult).
	CacheHit string `json:",omitempty"`
	// Reused is the execution whose step's result a selective execution reused
	// (SelectiveExecutionResult).
	Reused string `json:",omitempty"`
	// Retrying is set while an attempt after the first waits to start (until RetryAt): the
	// step stays Executing, its job for Attempt not yet created.
	Retrying bool      `json:",omitempty"`
	RetryAt  time.Time `json:",omitempty"`
}

// Query filters and orders a listing.
type Query struct {
	NamePrefix    string // pipelines
	CreatedAfter  time.Time
	CreatedBefore time.Time
	SortBy        string // Name | CreationTime
	Descending    bool
	Offset        int
	Limit         int
}
