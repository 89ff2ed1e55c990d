// Package jobs runs SageMaker's processing, training and transform jobs: the API's domain
// (create, describe, list, stop, authorized and audited here) and the engine that brings each
// job to its end (stage the inputs as the job's role, run the workers through an Executor,
// copy their logs, enforce the run time limit, upload the outputs as the role).
//
// Invariants:
//   - A job's row, its state change event and the work item that starts the engine on it commit
//     in one store transaction, with the audit record of the call that created it.
//   - Status and SecondaryStatus change only along Secondary.CanMoveTo; every change is recorded
//     in SecondaryStatusTransitions and sends a "SageMaker … Job State Change" event whose
//     detail is the job's description.
//   - The engine reads inputs and writes outputs only as a session of the job's role: what the
//     role may not read fails the job with AccessDenied in FailureReason.
//   - Outputs are uploaded only after every worker succeeded (EndOfJob).
//   - A worker is started only after its attempt is recorded under the reconcile lease's fence,
//     and its handle is recorded before the engine waits on it: a restarted server waits on the
//     handle it finds, and starts a lost worker again at most once.
package jobs

import (
	"encoding/json"
	"time"
)

// Job is one processing, training or transform job.
type Job struct {
	Kind    Kind
	Account string
	Name    string
	ARN     string
	RoleARN string // empty for transform jobs: they run as the model's execution role
	Spec    Spec
	// Request is the create request as received (wire member names). Describe returns the
	// members SageMaker echoes, including those Slipway accepts and stores without acting on
	// them (ProfilerConfig, DebugHookConfig, VpcConfig, CheckpointConfig, RetryStrategy,
	// ExperimentConfig, …).
	Request json.RawMessage
	Tags    map[string]string

	Status        Status
	Secondary     Secondary
	Transitions   []Transition
	FailureReason string
	// ExitMessage is the end of the failed worker's log (the output/failure file, when it
	// wrote one, is the FailureReason).
	CreatedAt  time.Time
	ModifiedAt time.Time
	StartedAt  time.Time // the workers started (TrainingStartTime, ProcessingStartTime, TransformStartTime)
	EndedAt    time.Time
	Metrics    []Metric // the last value of each MetricDefinition found in the logs
	// ModelArtifacts is where a completed training job's model.tar.gz is.
	ModelArtifacts string
	// Enforced says what the executor enforces of the instance type's limits.
	Enforced string
	// StopRequested is set by a Stop call; the engine stops the workers.
	StopRequested bool
	Run           Run
	// Waiter is the work item the job's end wakes (waiter.go); nil when nothing waits.
	Waiter *Waiter `json:",omitempty"`
}

// Run is the engine's record of a job's workers.
type Run struct {
	// Attempt numbers the times the workers were started (1 normally, 2 after a lost worker
	// was started again).
	Attempt int
	// AttemptID names the current attempt to the executor.
	AttemptID string
	// Handles are the executor's handles of the current attempt's workers, by instance; empty
	// until every worker started.
	Handles []string
	// Restarted says the workers were started again once after being lost.
	Restarted bool
	// LogLines counts, per instance, the log lines already copied to the logs service (at
	// least: saved now and then; the logs themselves skip lines of the instance they hold).
	LogLines []int
	// Streams are the log streams, per instance.
	Streams []string
	// Dir is the job's work directory on this server.
	Dir string
	// Token is the credentials token handed to the workers ("" when none).
	Token string
}

// Transition is an entry of SecondaryStatusTransitions.
type Transition struct {
	Status        Secondary
	StartTime     time.Time
	EndTime       time.Time // zero while the job is in this phase
	StatusMessage string
}

// Metric is a FinalMetricDataList entry.
type Metric struct {
	Name      string
	Value     float64
	Timestamp time.Time
}

// Spec is what a job runs: the parts of the three create requests the engine acts on.
type Spec struct {
	Image           string
	Entrypoint      []string // ContainerEntrypoint
	Arguments       []string // ContainerArguments
	Environment     map[string]string
	HyperParameters map[string]string // training only; values are strings, as SageMaker passes them
	InputMode       string            // File (the only mode staged)
	Inputs          []Input
	Outputs         []Output // processing outputs
	OutputPath      string   // S3OutputPath of training and transform jobs
	InstanceType    string
	InstanceCount   int
	VolumeSizeGB    int
	MaxRuntime      time.Duration // StoppingCondition.MaxRuntimeInSeconds (0: the default limit)
	Metrics         []MetricDefinition
	Transform       *TransformSpec
}

// Input is a training channel, a processing input or a transform job's input.
type Input struct {
	Name         string // channel or input name
	S3URI        string
	DataType     string // S3Prefix | ManifestFile
	Distribution string // FullyReplicated | ShardedByS3Key
	LocalPath    string // processing: where the input appears inside the job
	ContentType  string
	Compression  string // None | Gzip (accepted; staged as stored)
}

// Output is a processing output: a local directory uploaded to S3URI at the end.
type Output struct {
	Name      string
	S3URI     string
	LocalPath string
}

// MetricDefinition names a regular expression whose first group, found in a log line, is a
// metric's value.
type MetricDefinition struct {
	Name  string
	Regex string
}

// TransformSpec is a transform job's batch settings.
type TransformSpec struct {
	ModelName     string
	ContentType   string
	SplitType     string // None | Line
	BatchStrategy string // MultiRecord | SingleRecord
	Accept        string
	AssembleWith  string // None | Line
	MaxPayloadMB  int
	JoinSource    string // None | Input
	InputFilter   string
	OutputFilter  string
}

// Query filters and orders a listing.
type Query struct {
	NameContains   string
	Status         Status
	CreatedAfter   time.Time
	CreatedBefore  time.Time
	ModifiedAfter  time.Time
	ModifiedBefore time.Time
	SortBy         string // Name | CreationTime | Status
	Descending     bool
	Offset         int
	Limit          int
}
