// Package org models an AWS-style organization: one management account, a root, organizational
// units (OUs) nested under it, member accounts placed in the root or an OU, and service control
// policies (SCPs) attached to the root, OUs and accounts.
//
// Invariants:
//   - There is at most one organization; its management account is exempt from SCPs.
//   - Account ids are 12 digits and unique; account names and emails are unique.
//   - Every root, OU and account carries the FullAWSAccess SCP unless it is detached, as in AWS,
//     so an SCP level allows what its policies allow and denies the rest.
//   - The service authorizes its own operations (authorize.go): only principals of the
//     management account may call them (DescribeOrganization excepted), and each is decided on
//     the ARNs of the root, OUs, accounts and policies it touches, computed from the ids in the
//     request before anything is looked up. Without an Identity to decide, everything is denied.
package org

import (
	"context"
	"time"

	"github.com/slipway-ml/slipway/internal/events"
)

// Organization is the one organization of a Slipway installation.
type Organization struct {
	ID                string // o-xxxxxxxxxx
	ARN               string
	ManagementAccount string // the account id of the management account
	RootID            string // r-xxxx
	CreatedAt         time.Time
}

// Unit is an organizational unit.
type Unit struct {
	ID       string // ou-xxxx-xxxxxxxx
	ARN      string
	Name     string
	ParentID string // the root or another OU
}

// Account is a member (or the management) account.
type Account struct {
	ID              string // 12 digits
	ARN             string
	Name            string
	Email           string
	ParentID        string
	Status          string // ACTIVE
	JoinedMethod    string // CREATED | INVITED
	JoinedAt        time.Time
	CreateRequestID string // car-…; DescribeCreateAccountStatus reports it
}

// Policy is an organization policy; only SERVICE_CONTROL_POLICY exists here.
type Policy struct {
	ID          string // p-xxxxxxxx
	ARN         string
	Name        string
	Description string
	Type        string
	Content     string
	AWSManaged  bool
}

// The policy type Slipway supports, and the SCP AWS attaches everywhere by default.
const (
	SCPType          = "SERVICE_CONTROL_POLICY"
	FullAccessID     = "p-FullAWSAccess"
	FullAccessName   = "FullAWSAccess"
	fullAccessPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
)

// Store persists the organization. Get* return errs.NotFound when the thing does not exist;
// Create* return errs.Conflict when a unique name or id is taken.
type Store interface {
	CreateOrganization(ctx context.Context, o Organization, management Account, fullAccess Policy) error
	GetOrganization(ctx context.Context) (Organization, error)
	CreateUnit(ctx context.Context, u Unit) error
	GetUnit(ctx context.Context, id string) (Unit, error)
	ListUnits(ctx context.Context, parentID string) ([]Unit, error)
	// CreateAccount and MoveAccount commit ev (events.go) in the change's transaction.
	CreateAccount(ctx context.Context, a Account, ev events.Event) error
	GetAccount(ctx context.Context, id string) (Account, error)
	GetAccountByName(ctx context.Context, name string) (Account, error)
	GetAccountByRequest(ctx context.Context, requestID string) (Account, error)
	ListAccounts(ctx context.Context, parentID string) ([]Account, error) // parentID "" lists all
	MoveAccount(ctx context.Context, id, from, to string, ev events.Event) error
	CreatePolicy(ctx context.Context, p Policy) error
	GetPolicy(ctx context.Context, id string) (Policy, error)
	ListPolicies(ctx context.Context, typ string) ([]Policy, error)
	AttachPolicy(ctx context.Context, policyID, targetID string) error
	DetachPolicy(ctx context.Context, policyID, targetID string) error
	ListTargets(ctx context.Context, policyID string) ([]string, error)
	ListPoliciesForTarget(ctx context.Context, targetID string) ([]Policy, error)
}
