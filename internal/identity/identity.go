// Package identity holds the principals of every account (IAM users and roles, their inline and
// managed policies, access keys, STS sessions) and decides whether a caller may do something:
// it gathers the caller's identity policies, the resource's policy and the SCPs bounding the
// caller's account, and asks the policy engine (package iam) for the decision.
//
// Invariants:
//   - Secret access keys and session tokens are stored sealed (AES-GCM, bound to the key id);
//     neither is ever logged. (They cannot be hashed: verifying a signature needs the secret.)
//   - Every policy document is parsed (and so validated) before it is stored, against the size
//     limit of its kind (inline user 2,048 and role 10,240 in aggregate, managed 6,144, trust
//     2,048); a stored document that no longer parses at decision time makes the decision Deny.
//   - Every operation authorizes itself, on the real ARN (path included) of every resource it
//     touches, before it reveals anything that depends on the target; wire adapters only
//     decode and encode.
//   - Authorize returns an errs.AccessDenied error unless the policies allow. The caller sees
//     only what AWS shows (action, resource, the kind of policy that denied); the deciding
//     policy and statement go to the request's Note, and so to the audit record.
//   - Expired session keys are deleted when presented and by SweepExpiredSessions.
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
	// DeleteExpiredSessions deletes the session keys that expired at or before now and reports
	// how many it deleted.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
	// PoliciesOf returns every policy document that applies to a principal: inline ones and the
	// documents of attached managed policies, named for the decision's reasons.
	PoliciesOf(ctx context.Context, account, kind, name string) ([]NamedDocument, error)
}

// NamedDocument is a policy document and a name that says where it came from.
type NamedDocument struct {
	Name     string
	Document string
}

// How a caller was authenticated.
const (
	AuthSigV4  = "sigv4"  // a request signed with an access key (long-term or session)
	AuthEngine = "engine" // a Slipway engine acting as a session of a role (see EngineSession)
)

// Caller is the principal behind a request, from authentication to the domain: the one type
// every layer passes on (package awsapi uses it as is). Nothing re-parses its ARNs.
type Caller struct {
	Kind         string // KindUser, or KindRole for a role session
	Account      string // 12-digit account id
	ARN          string // arn:aws:iam::A:user/PATH/N or arn:aws:sts::A:assumed-role/R/S
	PrincipalARN string // the user's or the role's ARN, path included (aws:PrincipalArn)
	Name         string // user name or role name
	Path         string // the user's or role's path
	SessionName  string // role sessions
	UserID       string // aws:userid: AIDA… for users, AROA…:session for sessions
	AccessKeyID  string // the key that signed the request; session keys carry session policies
	SessionToken string // non-empty for temporary credentials
	SourceIP     string // the client's address (aws:SourceIp); "" for engines
	OrgID        string // aws:PrincipalOrgID
	Tags         map[string]string
	AuthMethod   string // AuthSigV4 or AuthEngine
	InvokedBy    string // the engine acting as this session (recorded as AWS records invokedBy)
}

// Call is one request to the identity service: who asks, and the request's facts.
type Call struct {
	Caller  Caller
	Context RequestContext
}

// OrgBounds tells the SCPs that bound an account and the organization's id.
type OrgBounds interface {
	// SCPLevels returns the SCP documents that bound an account, one slice per level from the
	// root down to the account; nil when the account is exempt or outside the organization.
	SCPLevels(ctx context.Context, account string) ([][]NamedDocument, error)
	OrgID(ctx context.Context) (string, error)
}

// OrgPather is what an OrgBounds may also tell, from the same walk up the tree as SCPLevels:
// an account's SCP levels and its principals' aws:PrincipalOrgPaths entry ("o-ID/r-ROOT/ou-…/";
// "" outside the organization).
type OrgPather interface {
	Bounds(ctx context.Context, account string) ([][]NamedDocument, string, error)
}
