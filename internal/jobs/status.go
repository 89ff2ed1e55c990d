package jobs

// Status is a job's overall state (TrainingJobStatus, ProcessingJobStatus, TransformJobStatus).
type Status string

// The job states.
const (
	InProgress Status = "InProgress"
	Completed  Status = "Completed"
	Failed     Status = "Failed"
	Stopping   Status = "Stopping"
	Stopped    Status = "Stopped"
)

// Valid reports whether s is a known state.
func (s Status) Valid() bool {
	switch s {
	case InProgress, Completed, Failed, Stopping, Stopped:
		return true
	}
	return false
}

// Terminal reports whether a job in state s is over.
func (s Status) Terminal() bool { return s == Completed || s == Failed || s == Stopped }

// CanMoveTo reports whether a job may go from s to next: a running job completes, fails or is
// asked to stop (by a call, or by the run time limit); a stopping job ends stopped (or failed, when the stop itself fails). A terminal
// state has no way out, and no state moves to itself.
func (s Status) CanMoveTo(next Status) bool {
	switch s {
	case InProgress:
		return next == Completed || next == Failed || next == Stopping
	case Stopping:
		return next == Stopped || next == Failed
	}
	return false
}

// Secondary is the finer state SageMaker reports as a training job's SecondaryStatus. Slipway
// runs every kind of job through the same phases; only training jobs show them.
type Secondary string

// The phases.
const (
	Starting           Secondary = "Starting"
	Downloading        Secondary = "Downloading"
	Training           Secondary = "Training" // the user's process runs (every kind of job)
	Uploading          Secondary = "Uploading"
	SecCompleted       Secondary = "Completed"
	SecFailed          Secondary = "Failed"
	SecStopping        Secondary = "Stopping"
	SecStopped         Secondary = "Stopped"
	MaxRuntimeExceeded Secondary = "MaxRuntimeExceeded"
)

// Secondaries lists every phase, in the order a successful job goes through the first five.
var Secondaries = []Secondary{Starting, Downloading, Training, Uploading, SecCompleted, SecFailed, SecStopping, SecStopped, MaxRuntimeExceeded}

// Status returns the job state a phase belongs to.
func (s Secondary) Status() Status {
	switch s {
	case SecCompleted:
		return Completed
	case SecFailed:
		return Failed
	case SecStopping:
		return Stopping
	case SecStopped, MaxRuntimeExceeded:
		return Stopped
	}
	return InProgress
}

// Terminal reports whether a job in phase s is over.
func (s Secondary) Terminal() bool { return s.Status().Terminal() }

// CanMoveTo reports whether a job may go from phase s to next. A job moves forward through
// Starting, Downloading, Training and Uploading (a phase may be skipped: a job without inputs
// downloads nothing); any phase before the end may fail; a stop request moves a job that has not
// ended to Stopping, as does the run time limit; a stopping job ends Stopped, or
// MaxRuntimeExceeded (SageMaker's SecondaryStatus for a job it stopped at the limit), or Failed.
// Uploading may be stopped too: the upload in progress finishes, and the job ends Stopped.
func (s Secondary) CanMoveTo(next Secondary) bool {
	rank := map[Secondary]int{Starting: 0, Downloading: 1, Training: 2, Uploading: 3}
	from, running := rank[s]
	if !running {
		if s == SecStopping {
			return next == SecStopped || next == SecFailed || next == MaxRuntimeExceeded
		}
		return false
	}
	switch next {
	case Downloading, Training, Uploading:
		return rank[next] > from
	case SecCompleted:
		return s == Uploading
	case SecFailed:
		return true
	case SecStopping:
		return true
	}
	return false
}

// Kind is the kind of a job.
type Kind string

// The kinds of job.
const (
	TrainingJob   Kind = "training"
	ProcessingJob Kind = "processing"
	TransformJob  Kind = "transform"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == TrainingJob || k == ProcessingJob || k == TransformJob }

// Noun is the kind as SageMaker's operation names spell it ("TrainingJob").
func (k Kind) Noun() string {
	switch k {
	case TrainingJob:
		return "TrainingJob"
	case ProcessingJob:
		return "ProcessingJob"
	case TransformJob:
		return "TransformJob"
	}
	return ""
}

// resource is the kind's ARN resource type ("training-job").
func (k Kind) resource() string { return string(k) + "-job" }

// LogGroup is where the kind's logs go.
func (k Kind) LogGroup() string {
	switch k {
	case TrainingJob:
		return "/aws/sagemaker/TrainingJobs"
	case ProcessingJob:
		return "/aws/sagemaker/ProcessingJobs"
	}
	return "/aws/sagemaker/TransformJobs"
}

// title is the kind in prose ("Training job").
func (k Kind) title() string {
	switch k {
	case TrainingJob:
		return "Training job"
	case ProcessingJob:
		return "Processing job"
	}
	return "Transform job"
}

// EventDetailType is the detail-type of the kind's state change events.
func (k Kind) EventDetailType() string {
	return "SageMaker " + map[Kind]string{TrainingJob: "Training", ProcessingJob: "Processing", TransformJob: "Transform"}[k] + " Job State Change"
}
