package builds

import "time"

// Status is a build's (or a phase's) status, as CodeBuild spells it.
type Status string

// Statuses.
const (
	InProgress Status = "IN_PROGRESS"
	Succeeded  Status = "SUCCEEDED"
	Failed     Status = "FAILED"
	Fault      Status = "FAULT"
	Stopped    Status = "STOPPED"
	TimedOut   Status = "TIMED_OUT"
)

// Terminal reports whether nothing more happens to a build in status s.
func (s Status) Terminal() bool { return s != InProgress && s != "" }

// Phase types, in the order a build goes through them.
const (
	PhaseSubmitted       = "SUBMITTED"
	PhaseProvisioning    = "PROVISIONING"
	PhaseDownloadSource  = "DOWNLOAD_SOURCE"
	PhaseInstall         = "INSTALL"
	PhasePreBuild        = "PRE_BUILD"
	PhaseBuild           = "BUILD"
	PhasePostBuild       = "POST_BUILD"
	PhaseUploadArtifacts = "UPLOAD_ARTIFACTS"
	PhaseFinalizing      = "FINALIZING"
	PhaseCompleted       = "COMPLETED"
)

// EnvVar is an environment variable of a project or a build.
type EnvVar struct {
	Name  string
	Value string
	Type  string // PLAINTEXT
}

// Source is where a build's source comes from.
type Source struct {
	Type      string // NO_SOURCE | S3 | CODEPIPELINE
	Location  string // S3: BUCKET/KEY of a zip archive
	Buildspec string // inline buildspec, or a path in the source ("" → buildspec.yml)
}

// ArtifactsDecl is where a project's output artifacts go.
type ArtifactsDecl struct {
	Type          string // NO_ARTIFACTS | S3 | CODEPIPELINE
	Location      string // S3: a bucket
	Path          string
	Name          string
	NamespaceType string // NONE | BUILD_ID
	Packaging     string // NONE | ZIP
}

// Environment is a project's build environment.
type Environment struct {
	Type        string
	Image       string
	ComputeType string
	Variables   []EnvVar
}

// Project is a build project.
type Project struct {
	Account          string
	Region           string
	Name             string
	ARN              string
	Description      string
	Source           Source
	Artifacts        ArtifactsDecl
	Environment      Environment
	ServiceRole      string
	TimeoutInMinutes int
	Tags             map[string]string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Context is a phase's status detail: the failing command and its exit status.
type Context struct {
	StatusCode string
	Message    string
}

// Phase is a phase of a build.
type Phase struct {
	Type      string
	Status    Status // "" while in progress
	StartTime time.Time
	EndTime   time.Time
	Contexts  []Context
}

// ArtifactRef is an object of the artifact store a build reads or writes.
type ArtifactRef struct {
	Name   string // the pipeline's artifact name, or a secondary artifact's identifier
	Bucket string
	Key    string
	// File is the name of the single file the object is, when it is not a zip archive.
	File string `json:",omitempty"`
}

// PipelineIO is what a deploy pipeline's action hands a build: its input artifacts (the first
// is the primary source, unless PrimarySource names another) and the objects its output
// artifacts go to (the first is the primary artifact; the others are secondary artifacts by
// identifier).
type PipelineIO struct {
	Inputs        []ArtifactRef
	PrimarySource string
	Outputs       []ArtifactRef
}

// Run is the engine's state of a build.
type Run struct {
	Dir      string // the build's work directory
	Step     int    // index into steps
	Handle   string // the executor handle of the phase that runs
	LogLines int    // lines of that phase's output copied to the logs (at least: the logs know exactly)
	Notes    int    // the engine's own log lines written, the position of the next
	Token    string // the credentials grant (revoked when the build ends)
	// Failing is set once a phase failed: the phases that follow run (post_build) or not.
	Failing bool
	// Aborted says a phase failed with on-failure ABORT: only finalizing remains.
	Aborted bool
}

// Build is one build of a project.
type Build struct {
	Account          string
	Region           string
	ID               string // PROJECT:UUID
	ARN              string
	Number           int64
	ProjectName      string
	Project          Project // the project as it was when the build started
	Status           Status
	CurrentPhase     string
	Phases           []Phase
	Source           Source
	Pipeline         *PipelineIO `json:",omitempty"`
	Env              []EnvVar    // the project's variables with StartBuild's overrides
	TimeoutInMinutes int
	Initiator        string
	IdempotencyToken string
	LogGroup         string
	LogStream        string
	ArtifactLocation string // where the primary artifact went (an S3 ARN)
	Exported         []EnvVar
	StopRequested    bool
	StartTime        time.Time
	EndTime          time.Time
	Run              Run
}
