package serving

import (
	"encoding/json"
	"time"
)

// Container is a model's container: an image and the model artifact it serves.
type Container struct {
	Image        string            `json:",omitempty"`
	ModelDataURL string            `json:",omitempty"` // s3://bucket/key of a model.tar.gz
	Environment  map[string]string `json:",omitempty"`
	// ModelPackageName is the model package the container came from ("" when given directly);
	// Image and ModelDataURL are then the package's.
	ModelPackageName string `json:",omitempty"`
}

// Model is a SageMaker model: what an endpoint's variant serves.
type Model struct {
	Account          string
	Name             string
	ARN              string
	ExecutionRoleARN string
	// Primary is set when the request gave PrimaryContainer; otherwise Containers holds the
	// containers (Slipway serves the first: inference pipelines are not run).
	Primary    *Container  `json:",omitempty"`
	Containers []Container `json:",omitempty"`
	Tags       map[string]string
	CreatedAt  time.Time
	// EnableNetworkIsolation is echoed as given.
	EnableNetworkIsolation bool
}

// Serving returns the container an endpoint runs.
func (m Model) Serving() Container {
	if m.Primary != nil {
		return *m.Primary
	}
	if len(m.Containers) > 0 {
		return m.Containers[0]
	}
	return Container{}
}

// Variant is a production variant of an endpoint configuration.
type Variant struct {
	VariantName          string
	ModelName            string
	InitialInstanceCount int
	InstanceType         string
	InitialVariantWeight float64
}

// Config is an endpoint configuration.
type Config struct {
	Account  string
	Name     string
	ARN      string
	Variants []Variant
	// DataCapture is the DataCaptureConfig as given, validated by ParseCaptureConfig (capture.go).
	DataCapture json.RawMessage `json:",omitempty"`
	Tags        map[string]string
	CreatedAt   time.Time
}

// Status is an endpoint's status.
type Status string

// The endpoint statuses Slipway uses (SageMaker's EndpointStatus).
const (
	Creating    Status = "Creating"
	InService   Status = "InService"
	Updating    Status = "Updating"
	RollingBack Status = "RollingBack"
	Deleting    Status = "Deleting"
	Failed      Status = "Failed"
)

// Valid says whether s is an EndpointStatus value.
func (s Status) Valid() bool {
	switch s {
	case Creating, InService, Updating, Deleting, Failed, "SystemUpdating", "RollingBack", "OutOfService", "UpdateRollbackFailed":
		return true
	}
	return false
}

// Serving says whether an endpoint in this status answers invocations.
func (s Status) Serving() bool { return s == InService || s == Updating || s == RollingBack }

// CanMoveTo says whether an endpoint may go from s to next.
func (s Status) CanMoveTo(next Status) bool {
	switch s {
	case Creating:
		return next == InService || next == Failed || next == Deleting
	case InService:
		return next == Updating || next == Deleting
	case Updating:
		return next == InService || next == RollingBack || next == Deleting
	case RollingBack:
		return next == InService || next == Deleting
	case Failed:
		return next == Deleting
	}
	return false
}

// VariantState is a deployed variant as DescribeEndpoint shows it.
type VariantState struct {
	VariantName          string
	CurrentWeight        float64
	DesiredWeight        float64
	CurrentInstanceCount int
	DesiredInstanceCount int
	DeployedImages       []DeployedImage
}

// DeployedImage is the image a variant runs.
type DeployedImage struct {
	SpecifiedImage string
	ResolvedImage  string
	ResolutionTime time.Time
}

// Endpoint is a SageMaker endpoint.
type Endpoint struct {
	Account string
	Name    string
	ARN     string
	// ConfigName is the configuration the endpoint serves (during Creating: the one it will).
	ConfigName string
	// Pending is the configuration an UpdateEndpoint asked for, while Updating.
	Pending       string `json:",omitempty"`
	Status        Status
	FailureReason string `json:",omitempty"`
	Variants      []VariantState
	// Weights are the weights asked for by UpdateEndpointWeightsAndCapacities and not yet
	// applied by the engine; nil when none are.
	Weights map[string]float64 `json:",omitempty"`
	// Retain keeps, through an update, the weight and instance count of the variants whose
	// names the new configuration keeps (RetainAllVariantProperties).
	Retain bool `json:",omitempty"`
	// Policy is the DeploymentConfig of the update in flight (nil: all at once, the default);
	// Rollout its progress, committed before each step acts (rollout.go).
	Policy  *DeploymentPolicy `json:",omitempty"`
	Rollout *Rollout          `json:",omitempty"`
	// LastPolicy is the DeploymentConfig of the latest update that gave one (or retained it):
	// DescribeEndpoint's LastDeploymentConfig, reused by RetainDeploymentConfig.
	LastPolicy *DeploymentPolicy `json:",omitempty"`
	Tags       map[string]string `json:",omitempty"`
	CreatedAt  time.Time
	ModifiedAt time.Time
	// Deployment counts the deployments asked for (create, each update): the engine names a
	// deployment's files by it.
	Deployment int
}

// Query filters and orders a listing.
type Query struct {
	NameContains   string
	Status         Status // endpoints only
	CreatedAfter   time.Time
	CreatedBefore  time.Time
	ModifiedAfter  time.Time
	ModifiedBefore time.Time
	SortBy         string // Name | CreationTime | Status
	Descending     bool
	Offset         int
	Limit          int
}
