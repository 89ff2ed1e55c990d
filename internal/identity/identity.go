// Package identity holds the principals of every account (IAM users and roles, their inline and
// managed policies, access keys, STS sessions) and decides whether a caller may do something:
// it gathers the caller's identity policies, the resource's policy and the SCPs bounding the
// caller's account, and asks the policy engine (package iam) for the decision.
//
// Invariants:
//   - Secret access keys and session tokens are stored sealed (AES-GCM, bound to the key id);
//     neither is ever logged. (They cannot be hashed: verifying a signature needs the secret.)
//   - Every policy document is parsed (and so validated) before it is stored; a document that
//     no longer parses never allows anything.
//   - Authorize returns an errs.AccessDenied error unless the policies allow, and reports the
//     deciding statement through the request's Note.
package identity

import (
	"context"
	"time"
)

// Kinds of principal.
const (
	KindUser = "user"
	KindRole = "role"
)

// Principal is an IAM user or role.
type Principal struct {
	Account            string
	Kind               string // KindUser or KindRole
	Name               string
	ID                 string // AIDA… for users, AROA… for roles
	ARN                string
	Path               string
	Description        string
	TrustPolicy        string // roles only
	MaxSessionDuration int    // seconds; roles only
	Tags               map[string]string
	CreatedAt          time.Time
}

// InlinePolicy is a policy embedded in a user or role.
type InlinePolicy struct {
	Name     string
	Document string
}

// ManagedPolicy is a customer managed policy.
type ManagedPolicy struct {
	Account     string
	Name        string
	ID          string
	ARN         string
	Path        string
	Description string
	Document    string
	Attachments int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// AccessKey is a long-term key of a user or the key of an STS session.
type AccessKey struct {
	ID           string
	Account      string
	UserName     string // long-term keys
	RoleName     string // session keys
	SessionName  string // session keys
	SealedSecret string
	SealedToken  string // session keys: the session token, sealed
	// SessionPolicies are the documents passed to AssumeRole (Policy and PolicyArns): the
	// session may do only what both they and the role's policies allow.
	SessionPolicies []string
	Status          string // Active | Inactive
	CreatedAt       time.Time
	ExpiresAt       time.Time // zero for long-term keys
}

// Store persists principals, policies and keys. Get* return errs.NotFound; Create*/Attach*
// return errs.Conflict when the thing exists.
type Store interface {
	CreatePrincipal(ctx context.Context, p Principal) error
	GetPrincipal(ctx context.Context, account, kind, name string) (Principal, error)
	ListPrincipals(ctx context.Context, account, kind, pathPrefix string) ([]Principal, error)
	// DeletePrincipal deletes a principal that has no inline policies, attachments or keys left;
	// otherwise it returns errs.Conflict naming what is left.
	DeletePrincipal(ctx context.Context, account, kind, name string) error
	PutInlinePolicy(ctx context.Context, account, kind, principal string, p InlinePolicy) error
	GetInlinePolicy(ctx context.Context, account, kind, principal, name string) (InlinePolicy, error)
	ListInlinePolicies(ctx context.Context, account, kind, principal string) ([]InlinePolicy, error)
	DeleteInlinePolicy(ctx context.Context, account, kind, principal, name string) error
	CreateManagedPolicy(ctx context.Context, p ManagedPolicy) error
	GetManagedPolicy(ctx context.Context, arn string) (ManagedPolicy, error)
	ListManagedPolicies(ctx context.Context, account string) ([]ManagedPolicy, error)
	DeleteManagedPolicy(ctx context.Context, arn string) error
	Attach(ctx context.Context, account, kind, principal, policyARN string) error
	Detach(ctx context.Context, account, kind, principal, policyARN string) error
	ListAttached(ctx context.Context, account, kind, principal string) ([]ManagedPolicy, error)
	// CountAttachments counts the principals of account a managed policy is attached to.
	CountAttachments(ctx context.Context, account, policyARN string) (int, error)
	// CreateAccessKey inserts a key. For a user's key (limit > 0) it first checks, in the same
	// transaction and with the user's row locked, that the user has fewer than limit keys, and
	// returns errs.LimitExceeded otherwise.
	CreateAccessKey(ctx context.Context, k AccessKey, limit int) error
	GetAccessKey(ctx context.Context, id string) (AccessKey, error)
	ListAccessKeys(ctx context.Context, account, user string) ([]AccessKey, error)
	DeleteAccessKey(ctx context.Context, account, user, id string) error
	// PoliciesOf returns every policy document that applies to a principal: inline ones and the
	// documents of attached managed policies, named for the decision's reasons.
	PoliciesOf(ctx context.Context, account, kind, name string) ([]NamedDocument, error)
}

// NamedDocument is a policy document and a name that says where it came from.
type NamedDocument struct {
	Name     string
	Document string
}

// Caller is the principal behind a request, as authentication established it.
type Caller struct {
	AccessKeyID  string // the key that signed the request; session keys carry session policies
	Account      string
	ARN          string // arn:aws:iam::A:user/N or arn:aws:sts::A:assumed-role/R/S
	PrincipalARN string // the user's or role's ARN
	UserID       string
	Kind         string // KindUser or KindRole (an assumed-role session)
	Name         string // user name or role name
	SessionName  string
	OrgID        string
	Tags         map[string]string
}

// OrgBounds tells the SCPs that bound an account and the organization's id.
type OrgBounds interface {
	// SCPLevels returns the SCP documents that bound an account, one slice per level from the
	// root down to the account; nil when the account is exempt or outside the organization.
	SCPLevels(ctx context.Context, account string) ([][]NamedDocument, error)
	OrgID(ctx context.Context) (string, error)
}
