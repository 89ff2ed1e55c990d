// Package stacksets is CloudFormation's stack sets: one template deployed as a stack (through
// package stacks) into each target account, by a role that account trusts. The API's domain
// (authorized and audited here) and the engine that runs each stack set's operations on the
// reconcile runtime.
//
// Invariants:
//   - A stack set's row holds its instances and its operations; a change to any of them, the
//     work item that drives it and the call's audit record commit in one store transaction.
//   - One operation runs at a time per stack set; a second is refused (OperationInProgressException).
//   - Each instance's result moves PENDING → RUNNING (committed, with the name its stack will
//     have, before the stack is created, updated or deleted) → SUCCEEDED | FAILED, or
//     PENDING → CANCELLED; a restarted engine finds the stack it made by that name and goes on.
//   - An operation ends FAILED when more instances failed than its failure tolerance allows
//     (the instances not yet started are then CANCELLED), SUCCEEDED otherwise. An operation
//     with no target account succeeds with zero instances.
//   - SERVICE_MANAGED sets belong to the organization's management account only; their stacks
//     are made as a session of OrganizationAccountAccessRole in each target account, assumed by
//     the stack sets' own identity in the management account (the service-linked role
//     OrgAdminRole, which only the stack sets engine may assume): whoever calls needs
//     cloudformation permissions on the set, not on the member accounts' roles. SELF_MANAGED
//     sets act as their AdministrationRoleARN (which must trust cloudformation.amazonaws.com)
//     assuming ExecutionRoleName in each target account.
package stacksets

import (
	"context"
	"time"

	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/org"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/stacks"
)

// WorkKind is the reconcile kind of the stack set engine; its keys are stack set ARNs.
const WorkKind = "stacksets"

// Permission models.
const (
	ServiceManaged = "SERVICE_MANAGED"
	SelfManaged    = "SELF_MANAGED"
)

// Operation actions, operation statuses and result statuses, as CloudFormation spells them.
const (
	ActionCreate = "CREATE"
	ActionUpdate = "UPDATE"
	ActionDelete = "DELETE"

	OpQueued    = "QUEUED"
	OpRunning   = "RUNNING"
	OpSucceeded = "SUCCEEDED"
	OpFailed    = "FAILED"

	ResPending   = "PENDING"
	ResRunning   = "RUNNING"
	ResSucceeded = "SUCCEEDED"
	ResFailed    = "FAILED"
	ResCancelled = "CANCELLED"
)

// AutoDeployment is a SERVICE_MANAGED set's automatic deployment to accounts that join its OUs.
type AutoDeployment struct {
	Enabled                      bool
	RetainStacksOnAccountRemoval bool
}

// Preferences are an operation's OperationPreferences.
type Preferences struct {
	MaxConcurrentCount         int
	MaxConcurrentPercentage    int
	FailureToleranceCount      int
	FailureTolerancePercentage int
	RegionConcurrencyType      string // SEQUENTIAL (default) | PARALLEL
	RegionOrder                []string
	HasMaxCount, HasMaxPct     bool
	HasTolCount, HasTolPct     bool
}

// Targets are an operation's DeploymentTargets and Regions, as given.
type Targets struct {
	OrganizationalUnitIDs []string
	Accounts              []string
	AccountFilterType     string
	Regions               []string
}

// Instance is a stack instance: the set's stack in one account and region.
type Instance struct {
	Account, Region string
	OU              string // the OU it was deployed for (SERVICE_MANAGED)
	StackName       string
	StackID         string
	Status          string // CURRENT | OUTDATED | INOPERABLE
	Detailed        string // PENDING | RUNNING | SUCCEEDED | FAILED | CANCELLED
	Reason          string
	LastOperationID string
	Overrides       []stacks.ParameterInput `json:",omitempty"`
}

// Result is one instance's part in an operation.
type Result struct {
	Account, Region, OU string
	Status              string
	Reason              string
	StackName           string
	StackID             string
	// BaseOp is the stack's operation number before this result acted on it: a stack whose
	// number is higher has been acted on (an update or deletion started).
	BaseOp  int
	Started bool
}

// Operation is a stack set operation.
type Operation struct {
	ID           string
	Action       string
	Status       string
	Reason       string
	Prefs        Preferences
	Targets      Targets
	RetainStacks bool
	Auto         bool // started by automatic deployment
	Results      []Result
	Overrides    []stacks.ParameterInput `json:",omitempty"`
	CreatedAt    time.Time
	EndedAt      time.Time
}

// StackSet is a stack set with its instances and operations.
type StackSet struct {
	Account           string
	Region            string
	Name              string
	ID                string // StackSetId: NAME:UUID
	ARN               string
	Status            string // ACTIVE | DELETED
	Description       string
	Template          string
	Parameters        []stacks.ParameterInput
	Capabilities      []string
	Tags              map[string]string
	PermissionModel   string
	AutoDeployment    AutoDeployment
	AdminRoleARN      string
	ExecutionRoleName string
	// Actor is the set's last caller (the engine acts as OrgAdminRole or AdminRoleARN, not as it).
	Actor identity.Caller
	// OUs are the organizational units the set has deployed to (automatic deployment watches them).
	OUs        []string
	Instances  []Instance
	Operations []Operation // oldest first
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// running returns the set's operation that is not finished, if any.
func (s *StackSet) running() *Operation {
	for i := range s.Operations {
		if op := &s.Operations[i]; op.Status == OpQueued || op.Status == OpRunning {
			return op
		}
	}
	return nil
}

func (s *StackSet) instance(account, region string) *Instance {
	for i := range s.Instances {
		if s.Instances[i].Account == account && s.Instances[i].Region == region {
			return &s.Instances[i]
		}
	}
	return nil
}

func (s *StackSet) operation(id string) *Operation {
	for i := range s.Operations {
		if s.Operations[i].ID == id {
			return &s.Operations[i]
		}
	}
	return nil
}

// Store persists stack sets.
type Store interface {
	// GetStackSet finds an account's stack set by name (the one not deleted) or by StackSetId.
	GetStackSet(ctx context.Context, account, nameOrID string) (StackSet, error)
	// ListStackSets lists an account's stack sets, deleted ones included.
	ListStackSets(ctx context.Context, account string) ([]StackSet, error)
	// ActiveStackSetARNs lists the sets with an operation to run or automatic deployment on.
	ActiveStackSetARNs(ctx context.Context) ([]string, error)
	Update(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is stack sets' view of a store transaction.
type Tx interface {
	// InsertStackSet fails with errs.Conflict when the account has a live set of that name.
	InsertStackSet(ctx context.Context, s StackSet) error
	LockStackSet(ctx context.Context, arn string) (StackSet, error)
	UpdateStackSet(ctx context.Context, s StackSet) error
	reconcile.Enqueuer
	CheckFence(ctx context.Context, f reconcile.Fence) error
}

// Authorizer decides whether a caller may act (package identity implements it).
type Authorizer interface {
	Authorize(ctx context.Context, caller identity.Caller, a identity.Action) (string, error)
}

// Roles passes roles and makes the sessions instances are created by.
type Roles interface {
	PassRole(ctx context.Context, c identity.Call, roleARN, service string) (identity.Principal, error)
	EngineSession(ctx context.Context, roleARN, engine string) (identity.Caller, error)
	// AssumeAs is sts:AssumeRole of roleARN by c, judged as for the API, returning the session.
	AssumeAs(ctx context.Context, c identity.Call, roleARN, sessionName string) (identity.Caller, error)
	// ServiceLinkedSession makes (or completes) the service-linked role r in account and
	// returns a session of it for its service, as EngineSession does.
	ServiceLinkedSession(ctx context.Context, account string, r identity.ServiceLinkedRole) (identity.Caller, error)
}

// ServicePrincipal is the stack sets engine as a service principal: the only one the
// service-linked role OrgAdminRole trusts.
const ServicePrincipal = "stacksets.cloudformation.amazonaws.com"

// OrgAdminRole is the identity SERVICE_MANAGED stack sets act through in the organization's
// management account (AWS's AWSServiceRoleForCloudFormationStackSetsOrgAdmin): it may assume
// the organization's access role in member accounts, and nothing else.
var OrgAdminRole = identity.ServiceLinkedRole{
	Service:     ServicePrincipal,
	Name:        "AWSServiceRoleForCloudFormationStackSetsOrgAdmin",
	Description: "Lets SERVICE_MANAGED stack sets deploy into the organization's member accounts",
	PolicyName:  "AWSCloudFormationStackSetsOrgAdminServiceRolePolicy",
	Policy:      `{"Version":"2012-10-17","Statement":[{"Sid":"AssumeOrgAccessRole","Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::*:role/` + AccessRoleName + `"}]}`,
}

// Org is what stack sets need of the organization.
type Org interface {
	Organization(ctx context.Context) (org.Organization, error)
	Unit(ctx context.Context, id string) (org.Unit, error)
	AccountsUnder(ctx context.Context, parentID string) ([]org.Account, error)
}

// Stacks is the stacks domain, through which instances are made.
type Stacks interface {
	CreateStack(ctx context.Context, c identity.Call, in stacks.CreateStackInput) (stacks.Stack, error)
	UpdateStack(ctx context.Context, c identity.Call, in stacks.UpdateStackInput) (stacks.Stack, error)
	DeleteStack(ctx context.Context, c identity.Call, name, role string, retain []string, token string) error
	ValidateTemplate(ctx context.Context, c identity.Call, body, url string) (stacks.TemplateSummary, error)
	// TemplateBody resolves a TemplateBody or TemplateURL to the template (read as the caller).
	TemplateBody(ctx context.Context, c identity.Call, body, url string) (string, error)
}

// StackReader reads stacks without a caller (the engine watching the stacks it started).
type StackReader interface {
	GetStack(ctx context.Context, account, nameOrID string) (stacks.Stack, error)
}
