package iam

import (
	"fmt"
	"unicode/utf8"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Use is where a policy document is written. It fixes the grammar the document must follow (its
// Kind) and the size limit it must respect. Size limits are checked once, by Validate, when a
// document is written; decisions parse stored documents with ParseStored, which has no size
// limit, so a document accepted at write time is never lost at decision time.
type Use int

// The places a policy document is written, with AWS's default quotas.
const (
	// ManagedPolicy is a customer managed policy (also used as a permissions boundary): 6,144
	// characters, white space not counted.
	ManagedPolicy Use = iota + 1
	// UserInlinePolicy is a policy embedded in a user: 2,048 characters for all of the user's
	// inline policies together, white space not counted. Validate bounds the one document; the
	// caller adds up the principal's documents with Length against InlineUserQuota.
	UserInlinePolicy
	// GroupInlinePolicy is a policy embedded in a group: 5,120 characters in all (InlineGroupQuota).
	GroupInlinePolicy
	// RoleInlinePolicy is a policy embedded in a role: 10,240 characters in all (InlineRoleQuota).
	RoleInlinePolicy
	// TrustPolicy is a role's AssumeRolePolicyDocument: 2,048 characters, white space not
	// counted (IAM's ACLSizePerRole default).
	TrustPolicy
	// SessionPolicy is an inline session policy passed to AssumeRole: 2,048 characters of
	// plain text, white space included (STS's parameter limit). STS's separate packed-size limit,
	// which also counts managed policy ARNs and session tags, is the caller's to check.
	SessionPolicy
	// ServiceControlPolicy is an Organizations SCP: 5,120 characters, white space included
	// (Organizations stores a document written through the API as given and counts all of it).
	ServiceControlPolicy
	// ResourcePolicy is a resource-based policy such as a model package group policy: 20,480
	// characters, white space included (SageMaker's PolicyString).
	ResourcePolicy
)

var useInfo = [...]struct {
	name        string
	kind        Kind
	max         int
	countsSpace bool
	quota       string // IAM's quota name, for IAM's own LimitExceeded message
}{
	ManagedPolicy:        {"managed policy", Identity, 6144, false, "PolicySize"},
	UserInlinePolicy:     {"user inline policy", Identity, InlineUserQuota, false, "UserPolicySize"},
	GroupInlinePolicy:    {"group inline policy", Identity, InlineGroupQuota, false, "GroupPolicySize"},
	RoleInlinePolicy:     {"role inline policy", Identity, InlineRoleQuota, false, "RolePolicySize"},
	TrustPolicy:          {"trust policy", Trust, 2048, false, "ACLSizePerRole"},
	SessionPolicy:        {"session policy", Identity, 2048, true, ""},
	ServiceControlPolicy: {"service control policy", SCP, 5120, true, ""},
	ResourcePolicy:       {"resource-based policy", Resource, 20480, true, ""},
}

func (u Use) valid() bool { return u >= ManagedPolicy && int(u) < len(useInfo) }

func (u Use) String() string {
	if !u.valid() {
		return fmt.Sprintf("Use(%d)", int(u))
	}
	return useInfo[u].name
}

// Kind is the grammar a document written for u follows.
func (u Use) Kind() Kind {
	if !u.valid() {
		return AnyKind
	}
	return useInfo[u].kind
}

// MaxLength is the largest document, in characters as Size counts them, that Validate accepts
// for u.
func (u Use) MaxLength() int {
	if !u.valid() {
		return 0
	}
	return useInfo[u].max
}

// Size is document's size as u's quota counts it: characters other than white space for the
// quotas IAM keeps, every character for STS, Organizations and SageMaker.
func (u Use) Size(document string) int {
	if u.valid() && useInfo[u].countsSpace {
		return utf8.RuneCountInString(document)
	}
	return countNonSpace(document)
}

// Validate checks a document where it is written: the size limit of u, then the grammar of
// u.Kind(). A document that is too large is refused with errs.LimitExceeded (code
// "LimitExceeded" for the quotas IAM keeps; the caller's protocol names the others, e.g.
// Organizations' ConstraintViolationException) for IAM-stored, SCP and inline uses, and with
// errs.Invalid for session and resource policies, whose limits are parameter constraints; a
// document that does not parse, with errs.Invalid and code MalformedPolicyDocument.
//
// What Validate accepts, ParseStored(u.Kind(), document) accepts at decision time.
func Validate(u Use, document string) (*Policy, error) {
	if !u.valid() {
		return nil, errs.E(errs.Internal, "iam: Validate with an unknown policy use %d", int(u))
	}
	in := useInfo[u]
	if n := u.Size(document); n > in.max {
		space := "not counting white space"
		if in.countsSpace {
			space = "counting white space"
		}
		msg := fmt.Sprintf("the %s is %d characters long %s; the limit is %d", in.name, n, space, in.max)
		switch {
		case in.quota != "":
			return nil, errs.E(errs.LimitExceeded, "Cannot exceed quota for %s: %d (%s)", in.quota, in.max, msg).WithCode("LimitExceeded")
		case u == ServiceControlPolicy:
			return nil, errs.E(errs.LimitExceeded, "%s", msg)
		}
		return nil, errs.E(errs.Invalid, "%s", msg)
	}
	return parse(in.kind, document, noLimit)
}

// denyAllDocument denies every action on every resource to everyone it is evaluated for.
const denyAllDocument = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`

// FailClosed returns a policy that denies every request, named name, to stand in the place of a
// stored document that no longer parses: in any slot of a PolicySet (identity, resource, SCP
// level, boundary, session) it makes the decision an explicit deny, so a policy that cannot be
// read can never be skipped and lose its Deny statements.
func FailClosed(name string) *Policy {
	p, err := parse(AnyKind, denyAllDocument, noLimit)
	if err != nil {
		panic("iam: the deny-all policy does not parse: " + err.Error())
	}
	return p.WithName(name)
}
