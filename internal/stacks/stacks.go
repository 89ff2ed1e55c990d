package stacks

import (
	"time"

	"github.com/slipway-ml/slipway/internal/identity"
)

// Status is a stack's status, as CloudFormation spells it.
type Status string

// The statuses this engine uses.
const (
	CreateInProgress                Status = "CREATE_IN_PROGRESS"
	CreateComplete                  Status = "CREATE_COMPLETE"
	CreateFailed                    Status = "CREATE_FAILED"
	RollbackInProgress              Status = "ROLLBACK_IN_PROGRESS"
	RollbackComplete                Status = "ROLLBACK_COMPLETE"
	DeleteInProgress                Status = "DELETE_IN_PROGRESS"
	DeleteComplete                  Status = "DELETE_COMPLETE"
	DeleteFailed                    Status = "DELETE_FAILED"
	UpdateInProgress                Status = "UPDATE_IN_PROGRESS"
	UpdateCleanupInProgress         Status = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
	UpdateComplete                  Status = "UPDATE_COMPLETE"
	UpdateRollbackInProgress        Status = "UPDATE_ROLLBACK_IN_PROGRESS"
	UpdateRollbackCleanupInProgress Status = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
	UpdateRollbackComplete          Status = "UPDATE_ROLLBACK_COMPLETE"
	ReviewInProgress                Status = "REVIEW_IN_PROGRESS"
)

// Terminal reports whether the engine has nothing more to do for a stack in this status.
func (s Status) Terminal() bool {
	switch s {
	case CreateComplete, CreateFailed, RollbackComplete, DeleteComplete, DeleteFailed, UpdateComplete,
		UpdateRollbackComplete, ReviewInProgress:
		return true
	}
	return false
}

var transitions = map[Status][]Status{
	ReviewInProgress:                {CreateInProgress, DeleteInProgress},
	CreateInProgress:                {CreateComplete, CreateFailed, RollbackInProgress, DeleteInProgress},
	RollbackInProgress:              {RollbackComplete, DeleteInProgress},
	CreateComplete:                  {UpdateInProgress, DeleteInProgress},
	CreateFailed:                    {DeleteInProgress},
	RollbackComplete:                {DeleteInProgress},
	DeleteInProgress:                {DeleteComplete, DeleteFailed},
	DeleteFailed:                    {DeleteInProgress},
	UpdateInProgress:                {UpdateCleanupInProgress, UpdateRollbackInProgress},
	UpdateCleanupInProgress:         {UpdateComplete},
	UpdateComplete:                  {UpdateInProgress, DeleteInProgress},
	UpdateRollbackInProgress:        {UpdateRollbackCleanupInProgress},
	UpdateRollbackCleanupInProgress: {UpdateRollbackComplete},
	UpdateRollbackComplete:          {UpdateInProgress, DeleteInProgress},
}

// CanMoveTo reports whether a stack may go from s to next.
func (s Status) CanMoveTo(next Status) bool {
	for _, n := range transitions[s] {
		if n == next {
			return true
		}
	}
	return false
}

// Updatable reports whether UpdateStack may start from s.
func (s Status) Updatable() bool { return s.CanMoveTo(UpdateInProgress) }

// Resource statuses.
const (
	ResCreateInProgress = "CREATE_IN_PROGRESS"
	ResCreateComplete   = "CREATE_COMPLETE"
	ResCreateFailed     = "CREATE_FAILED"
	ResUpdateInProgress = "UPDATE_IN_PROGRESS"
	ResUpdateComplete   = "UPDATE_COMPLETE"
	ResUpdateFailed     = "UPDATE_FAILED"
	ResDeleteInProgress = "DELETE_IN_PROGRESS"
	ResDeleteComplete   = "DELETE_COMPLETE"
	ResDeleteFailed     = "DELETE_FAILED"
	ResDeleteSkipped    = "DELETE_SKIPPED"
)

// Parameter is a stack parameter's value as given (lists joined by commas).
type Parameter struct {
	Key, Value string
	NoEcho     bool
}

// Output is an evaluated stack output.
type Output struct {
	Key, Value, Description, ExportName string
}

// Resource is what a stack knows of one of its resources.
type Resource struct {
	LogicalID  string
	Type       string
	PhysicalID string
	Status     string
	Reason     string
	// Name is the physical name the engine chose before calling the provider (used when the
	// template names none), so that a retried creation finds what the first attempt made.
	Name       string
	Properties map[string]any // as last applied
	Attributes map[string]any // Fn::GetAtt's values
	UpdatedAt  time.Time
	// Op is the stack operation that last brought this resource to the template.
	Op int
	// Old is, during an update, the resource before it was replaced or updated in place.
	Old *Resource `json:",omitempty"`
	// New marks a resource the running update created (a rollback deletes it).
	New bool `json:",omitempty"`
}

// Revision is a stack's template and parameters.
type Revision struct {
	Template   string
	Parameters []Parameter
	Outputs    []Output
}

// Stack is a stack and the state of its engine.
type Stack struct {
	Account     string
	Region      string
	Name        string
	ID          string // the stack's ARN
	Status      Status
	Reason      string
	Description string
	Template    string
	Parameters  []Parameter
	Outputs     []Output
	RoleARN     string
	// Actor is the caller the engine acts as when the stack has no role (its session token
	// is not kept: policies are found by principal and access key).
	Actor           identity.Caller
	Capabilities    []string
	DisableRollback bool
	OnFailureDelete bool // OnFailure=DELETE: a rolled back creation deletes the stack
	Tags            map[string]string
	Resources       map[string]*Resource
	Previous        *Revision `json:",omitempty"`
	// ChangeSets are the stack's change sets not yet executed or deleted.
	ChangeSets  []ChangeSet `json:",omitempty"`
	Op          int         // increases with each operation
	ClientToken string
	// ParentID and RootID are, for a nested stack (an AWS::CloudFormation::Stack resource),
	// the ARNs of the stack that declares it and of the top-level stack above it; Depth is
	// how many stacks are above it (0: a top-level stack).
	ParentID string `json:",omitempty"`
	RootID   string `json:",omitempty"`
	Depth    int    `json:",omitempty"`
	// Timeout, when set (TimeoutInMinutes), is how long a creation may take before it fails.
	Timeout   time.Duration `json:",omitempty"`
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt time.Time
}

// Event is a stack event.
type Event struct {
	Account      string
	StackID      string
	StackName    string
	EventID      string
	LogicalID    string
	PhysicalID   string
	ResourceType string
	Status       string
	Reason       string
	Properties   string
	Time         time.Time
	ClientToken  string
}

// ChangeSet is a proposed change to a stack (aws cloudformation deploy makes one).
type ChangeSet struct {
	Account      string
	ID           string // ARN
	Name         string
	StackID      string
	StackName    string
	Type         string // CREATE | UPDATE
	Status       string // CREATE_COMPLETE | FAILED | DELETE_COMPLETE
	Reason       string
	Execution    string // AVAILABLE | EXECUTE_COMPLETE | UNAVAILABLE
	Description  string
	Template     string
	Parameters   []Parameter
	Given        []ParameterInput
	RoleARN      string
	Actor        identity.Caller
	Tags         map[string]string
	Capabilities []string
	Changes      []Change
	CreatedAt    time.Time
}

// Change is one resource change of a change set.
type Change struct {
	Action       string // Add | Modify | Remove
	LogicalID    string
	PhysicalID   string
	ResourceType string
	Replacement  string // True | False | Conditional, for Modify
}

// ParameterInput is a parameter as a request gives it.
type ParameterInput struct {
	Key              string
	Value            string
	UsePreviousValue bool
}
