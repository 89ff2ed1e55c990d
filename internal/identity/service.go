package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/iam"
	"github.com/slipway-ml/slipway/internal/randid"
)

// Service is the IAM and STS business logic. Every exported method that serves a caller takes
// a Call and authorizes it; the few that take an account instead (Principal, BootstrapAccount,
// CreateAccessRole, LookupAccessKey) serve the composition root and other domain services.
type Service struct {
	store   Store
	org     OrgBounds
	seal    *Sealer
	now     func() time.Time
	log     *slog.Logger
	policy  *policyCache
	engines EngineRecorder
	linked  []knownLinkedRole // the service-linked roles IAM's API makes and deletes
}

// NewService returns a Service.
func NewService(st Store, org OrgBounds, seal *Sealer, now func() time.Time, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: st, org: org, seal: seal, now: now, log: log.With("component", "identity"), policy: newPolicyCache(4096)}
}

// RecordEnginesWith sets where the decisions made for engines are recorded. Until it is set,
// engine sessions are refused. Call it before serving.
func (s *Service) RecordEnginesWith(r EngineRecorder) { s.engines = r }

var (
	nameRE       = regexp.MustCompile(`^[\w+=,.@-]+$`)
	pathRE       = regexp.MustCompile(`^/([\x21-\x7E]*/)?$`)
	sessionRE    = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	upperDigits  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+"
)

func checkName(what, name string, max int) error {
	if len(name) < 1 || len(name) > max || !nameRE.MatchString(name) {
		return errs.E(errs.Invalid, "%s %q must be 1 to %d characters of letters, digits and +=,.@_-", what, name, max).WithCode("ValidationError")
	}
	return nil
}

func checkPath(p string) (string, error) {
	if p == "" {
		return "/", nil
	}
	if len(p) > 512 || !pathRE.MatchString(p) {
		return "", errs.E(errs.Invalid, "path %q must begin and end with / and hold printable characters", p).WithCode("ValidationError")
	}
	return p, nil
}

// authorizeIAM decides an IAM action on one resource of the caller's own account (IAM
// resources have no resource policies; every IAM call acts in the caller's account).
func (s *Service) authorizeIAM(ctx context.Context, c Call, action, resource string, keys map[string][]string) error {
	rc := c.Context
	if len(keys) > 0 {
		merged := make(map[string][]string, len(rc.Keys)+len(keys))
		for k, v := range rc.Keys {
			merged[k] = v
		}
		for k, v := range keys {
			merged[k] = v
		}
		rc.Keys = merged
	}
	_, err := s.Authorize(ctx, c.Caller, Action{Name: "iam:" + action, Resource: resource, ResourceAccount: c.Caller.Account, Context: rc})
	return err
}

func noSuchPrincipal(kind, name string) error {
	what := "user"
	if kind == KindRole {
		what = "role"
	}
	return errs.E(errs.NotFound, "The %s with name %s cannot be found.", what, name).WithCode("NoSuchEntity")
}

// target finds a user or role of the caller's account for an operation on it and authorizes
// the action on its real ARN, path included. A principal that does not exist is authorized
// at the ARN it would have under path "/", and reported missing only once that is allowed.
func (s *Service) target(ctx context.Context, c Call, action, kind, name string, keys map[string][]string) (Principal, error) {
	p, err := s.store.GetPrincipal(ctx, c.Caller.Account, kind, name)
	missing := errs.Is(err, errs.NotFound)
	if err != nil && !missing {
		return Principal{}, err
	}
	resource := p.ARN
	if missing {
		resource = arn.IAM(c.Caller.Account, kind, "/", name)
	}
	if err := s.authorizeIAM(ctx, c, action, resource, keys); err != nil {
		return Principal{}, err
	}
	if missing {
		return Principal{}, noSuchPrincipal(kind, name)
	}
	return p, nil
}

// ServiceRolePathPrefix is the path under which service-linked roles live. IAM's API refuses to
// make a role there or to change one that is there; only the service it belongs to, through
// EnsureServiceLinkedRole, does either.
const ServiceRolePathPrefix = "/aws-service-role/"

// modifiable is target for an operation that changes the user or role: a service-linked role
// is refused, as IAM refuses it (UnmodifiableEntity), once the caller is allowed the action,
// so that a caller who may not act learns nothing about the role. Every API-facing change of
// a principal enters here; the domain's own paths (EnsureServiceLinkedRole, createRole,
// putInlinePolicy) bypass it deliberately.
func (s *Service) modifiable(ctx context.Context, c Call, action, kind, name string, keys map[string][]string) (Principal, error) {
	p, err := s.target(ctx, c, action, kind, name, keys)
	if err != nil {
		return Principal{}, err
	}
	if kind == KindRole && strings.HasPrefix(p.Path, ServiceRolePathPrefix) {
		return Principal{}, errs.E(errs.Conflict, "Cannot perform the operation on the protected role '%s' - this role is only modifiable by AWS", p.Name).WithCode("UnmodifiableEntity")
	}
	return p, nil
}

// ownUser is the named user, or the calling user when the name is omitted.
func ownUser(c Call, name string) (string, error) {
	if name != "" {
		return name, nil
	}
	if c.Caller.Kind != KindUser {
		return "", errs.E(errs.Invalid, "UserName is required when the caller is not an IAM user").WithCode("ValidationError")
	}
	return c.Caller.Name, nil
}

// CreateUser creates an IAM user.
func (s *Service) CreateUser(ctx context.Context, c Call, name, path string, tags map[string]string) (Principal, error) {
	if err := checkName("user name", name, 64); err != nil {
		return Principal{}, err
	}
	path, err := checkPath(path)
	if err != nil {
		return Principal{}, err
	}
	if err := s.authorizeIAM(ctx, c, "CreateUser", arn.IAM(c.Caller.Account, KindUser, path, name), nil); err != nil {
		return Principal{}, err
	}
	return s.createUser(ctx, c.Caller.Account, name, path, tags)
}

func (s *Service) createUser(ctx context.Context, account, name, path string, tags map[string]string) (Principal, error) {
	p := Principal{
		Account: account, Kind: KindUser, Name: name, Path: path, Tags: tags,
		ID: "AIDA" + randid.String(17, upperDigits), ARN: arn.IAM(account, KindUser, path, name),
		CreatedAt: s.now(),
	}
	if err := s.store.CreatePrincipal(ctx, p); err != nil {
		if errs.Is(err, errs.Conflict) {
			return Principal{}, errs.E(errs.Conflict, "User with name %s already exists.", name).WithCode("EntityAlreadyExists")
		}
		return Principal{}, err
	}
	return p, nil
}

// RoleSpec is what CreateRole needs.
type RoleSpec struct {
	Name, Path, TrustPolicy, Description string
	MaxSessionDuration                   int // seconds; 0 means one hour
	Tags                                 map[string]string
}

// CreateRole creates a role with its trust policy.
func (s *Service) CreateRole(ctx context.Context, c Call, r RoleSpec) (Principal, error) {
	if err := checkName("role name", r.Name, 64); err != nil {
		return Principal{}, err
	}
	path, err := checkPath(r.Path)
	if err != nil {
		return Principal{}, err
	}
	r.Path = path
	if strings.HasPrefix(path, ServiceRolePathPrefix) {
		return Principal{}, errs.E(errs.Invalid, "The path %s is reserved for service-linked roles; only the service a role belongs to may make one there.", path).WithCode("InvalidInput")
	}
	if err := s.authorizeIAM(ctx, c, "CreateRole", arn.IAM(c.Caller.Account, KindRole, path, r.Name), nil); err != nil {
		return Principal{}, err
	}
	return s.createRole(ctx, c.Caller.Account, r)
}

func (s *Service) createRole(ctx context.Context, account string, r RoleSpec) (Principal, error) {
	if _, err := validate(iam.TrustPolicy, r.TrustPolicy); err != nil {
		return Principal{}, err
	}
	if r.MaxSessionDuration == 0 {
		r.MaxSessionDuration = 3600
	}
	if r.MaxSessionDuration < 3600 || r.MaxSessionDuration > 43200 {
		return Principal{}, errs.E(errs.Invalid, "MaxSessionDuration %d must be between 3600 and 43200 seconds", r.MaxSessionDuration).WithCode("ValidationError")
	}
	p := Principal{
		Account: account, Kind: KindRole, Name: r.Name, Path: r.Path, Tags: r.Tags, TrustPolicy: r.TrustPolicy,
		Description: r.Description, MaxSessionDuration: r.MaxSessionDuration,
		ID: "AROA" + randid.String(17, upperDigits), ARN: arn.IAM(account, KindRole, r.Path, r.Name),
		CreatedAt: s.now(),
	}
	if err := s.store.CreatePrincipal(ctx, p); err != nil {
		if errs.Is(err, errs.Conflict) {
			return Principal{}, errs.E(errs.Conflict, "Role with name %s already exists.", r.Name).WithCode("EntityAlreadyExists")
		}
		return Principal{}, err
	}
	return p, nil
}

// Principal returns a user or role without authorization, for the composition root and other
// domain services. API reads go through DescribePrincipal.
func (s *Service) Principal(ctx context.Context, account, kind, name string) (Principal, error) {
	p, err := s.store.GetPrincipal(ctx, account, kind, name)
	if errs.Is(err, errs.NotFound) {
		return p, noSuchPrincipal(kind, name)
	}
	return p, err
}

// DescribePrincipal returns a user (GetUser; the caller's own user when name is "") or a role
// (GetRole).
func (s *Service) DescribePrincipal(ctx context.Context, c Call, kind, name string) (Principal, error) {
	action := "GetRole"
	if kind == KindUser {
		action = "GetUser"
		var err error
		if name, err = ownUser(c, name); err != nil {
			return Principal{}, err
		}
	}
	return s.target(ctx, c, action, kind, name, nil)
}

// Principals lists users or roles of the caller's account under a path prefix.
func (s *Service) Principals(ctx context.Context, c Call, kind, pathPrefix string) ([]Principal, error) {
	action := "ListRoles"
	if kind == KindUser {
		action = "ListUsers"
	}
	if err := s.authorizeIAM(ctx, c, action, "*", nil); err != nil {
		return nil, err
	}
	if pathPrefix == "" {
		pathPrefix = "/"
	}
	return s.store.ListPrincipals(ctx, c.Caller.Account, kind, pathPrefix)
}

// DeletePrincipal deletes a user or role that has nothing attached any more.
func (s *Service) DeletePrincipal(ctx context.Context, c Call, kind, name string) error {
	action := "DeleteRole"
	if kind == KindUser {
		action = "DeleteUser"
	}
	if _, err := s.modifiable(ctx, c, action, kind, name, nil); err != nil {
		return err
	}
	err := s.store.DeletePrincipal(ctx, c.Caller.Account, kind, name)
	if errs.Is(err, errs.Conflict) {
		return errs.E(errs.Conflict, "Cannot delete entity, must %s first.", errs.Message(err)).WithCode("DeleteConflict")
	}
	return err
}

func policyAction(verb, kind string) string {
	if kind == KindRole {
		return verb + "RolePolicy"
	}
	return verb + "UserPolicy"
}

// PutInlinePolicy adds or replaces an inline policy of a user or role.
func (s *Service) PutInlinePolicy(ctx context.Context, c Call, kind, principal, name, document string) error {
	if err := checkName("policy name", name, 128); err != nil {
		return err
	}
	if _, err := s.modifiable(ctx, c, policyAction("Put", kind), kind, principal, nil); err != nil {
		return err
	}
	return s.putInlinePolicy(ctx, c.Caller.Account, kind, principal, name, document)
}

func (s *Service) putInlinePolicy(ctx context.Context, account, kind, principal, name, document string) error {
	use := iam.UserInlinePolicy
	if kind == KindRole {
		use = iam.RoleInlinePolicy
	}
	if _, err := validate(use, document); err != nil {
		return err
	}
	// IAM bounds the inline policies of a principal together: 2,048 characters for a user,
	// 10,240 for a role, white space not counted. A document within the quota is within the
	// largest inline limit, which is what decisions parse it with.
	quota := iam.InlineUserQuota
	if kind == KindRole {
		quota = iam.InlineRoleQuota
	}
	existing, err := s.store.ListInlinePolicies(ctx, account, kind, principal)
	if err != nil {
		return err
	}
	total := iam.Length(document)
	for _, p := range existing {
		if p.Name != name {
			total += iam.Length(p.Document)
		}
	}
	if total > quota {
		return errs.E(errs.LimitExceeded, "Maximum policy size of %d bytes exceeded for %s %s.", quota, kind, principal).WithCode("LimitExceeded")
	}
	return s.store.PutInlinePolicy(ctx, account, kind, principal, InlinePolicy{Name: name, Document: document})
}

// InlinePolicy returns an inline policy.
func (s *Service) InlinePolicy(ctx context.Context, c Call, kind, principal, name string) (InlinePolicy, error) {
	if _, err := s.target(ctx, c, policyAction("Get", kind), kind, principal, nil); err != nil {
		return InlinePolicy{}, err
	}
	return s.inlinePolicy(ctx, c.Caller.Account, kind, principal, name)
}

func (s *Service) inlinePolicy(ctx context.Context, account, kind, principal, name string) (InlinePolicy, error) {
	p, err := s.store.GetInlinePolicy(ctx, account, kind, principal, name)
	if errs.Is(err, errs.NotFound) {
		return p, errs.E(errs.NotFound, "The %s policy with name %s cannot be found.", kind, name).WithCode("NoSuchEntity")
	}
	return p, err
}

// InlinePolicies lists the inline policies of a user or role.
func (s *Service) InlinePolicies(ctx context.Context, c Call, kind, principal string) ([]InlinePolicy, error) {
	action := "ListUserPolicies"
	if kind == KindRole {
		action = "ListRolePolicies"
	}
	if _, err := s.target(ctx, c, action, kind, principal, nil); err != nil {
		return nil, err
	}
	return s.store.ListInlinePolicies(ctx, c.Caller.Account, kind, principal)
}

// DeleteInlinePolicy deletes an inline policy.
func (s *Service) DeleteInlinePolicy(ctx context.Context, c Call, kind, principal, name string) error {
	if _, err := s.modifiable(ctx, c, policyAction("Delete", kind), kind, principal, nil); err != nil {
		return err
	}
	if _, err := s.inlinePolicy(ctx, c.Caller.Account, kind, principal, name); err != nil {
		return err
	}
	return s.store.DeleteInlinePolicy(ctx, c.Caller.Account, kind, principal, name)
}

// CreateManagedPolicy creates a customer managed policy.
func (s *Service) CreateManagedPolicy(ctx context.Context, c Call, name, path, description, document string) (ManagedPolicy, error) {
	if err := checkName("policy name", name, 128); err != nil {
		return ManagedPolicy{}, err
	}
	path, err := checkPath(path)
	if err != nil {
		return ManagedPolicy{}, err
	}
	account := c.Caller.Account
	policyARN := arn.IAM(account, "policy", path, name)
	if err := s.authorizeIAM(ctx, c, "CreatePolicy", policyARN, nil); err != nil {
		return ManagedPolicy{}, err
	}
	if _, err := validate(iam.ManagedPolicy, document); err != nil {
		return ManagedPolicy{}, err
	}
	now := s.now()
	p := ManagedPolicy{
		Account: account, Name: name, Path: path, Description: description, Document: document,
		ID: "ANPA" + randid.String(17, upperDigits), ARN: policyARN, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.CreateManagedPolicy(ctx, p); err != nil {
		if errs.Is(err, errs.Conflict) {
			return ManagedPolicy{}, errs.E(errs.Conflict, "A policy called %s already exists. Duplicate names are not allowed.", name).WithCode("EntityAlreadyExists")
		}
		return ManagedPolicy{}, err
	}
	return p, nil
}

// AWSManaged is the account of the AWS managed policies (arn:aws:iam::aws:policy/NAME) that every
// account may attach and none may change.
const AWSManaged = "aws"

// DescribeManagedPolicy returns a managed policy of the caller's account, or an AWS managed
// policy (GetPolicy).
func (s *Service) DescribeManagedPolicy(ctx context.Context, c Call, policyARN string) (ManagedPolicy, error) {
	if err := s.authorizeIAM(ctx, c, "GetPolicy", policyARN, nil); err != nil {
		return ManagedPolicy{}, err
	}
	return s.managedPolicy(ctx, c.Caller.Account, policyARN)
}

// managedPolicy returns a managed policy account may see: its own or an AWS managed one.
func (s *Service) managedPolicy(ctx context.Context, account, policyARN string) (ManagedPolicy, error) {
	p, err := s.store.GetManagedPolicy(ctx, policyARN)
	if errs.Is(err, errs.NotFound) || (err == nil && p.Account != account && p.Account != AWSManaged) {
		return ManagedPolicy{}, errs.E(errs.NotFound, "Policy %s does not exist or is not attachable.", policyARN).WithCode("NoSuchEntity")
	}
	if err != nil {
		return ManagedPolicy{}, err
	}
	return s.ownView(ctx, account, p)
}

// ownView counts an AWS managed policy's attachments in account only: other accounts' use of it
// is none of this account's business.
func (s *Service) ownView(ctx context.Context, account string, p ManagedPolicy) (ManagedPolicy, error) {
	if p.Account != AWSManaged {
		return p, nil
	}
	n, err := s.store.CountAttachments(ctx, account, p.ARN)
	p.Attachments = n
	return p, err
}

// ManagedPolicies lists managed policies by scope: "Local" (the account's own), "AWS" (AWS
// managed) or "All"/"" (both), as IAM's ListPolicies does.
func (s *Service) ManagedPolicies(ctx context.Context, c Call, scope string) ([]ManagedPolicy, error) {
	if err := s.authorizeIAM(ctx, c, "ListPolicies", "*", nil); err != nil {
		return nil, err
	}
	account := c.Caller.Account
	var out []ManagedPolicy
	if scope == "" || scope == "All" || scope == "AWS" {
		ps, err := s.store.ListManagedPolicies(ctx, AWSManaged)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if p, err = s.ownView(ctx, account, p); err != nil {
				return nil, err
			}
			out = append(out, p)
		}
	}
	if scope == "" || scope == "All" || scope == "Local" {
		ps, err := s.store.ListManagedPolicies(ctx, account)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

// DeleteManagedPolicy deletes a managed policy that is attached nowhere.
func (s *Service) DeleteManagedPolicy(ctx context.Context, c Call, policyARN string) error {
	if err := s.authorizeIAM(ctx, c, "DeletePolicy", policyARN, nil); err != nil {
		return err
	}
	p, err := s.managedPolicy(ctx, c.Caller.Account, policyARN)
	if err != nil {
		return err
	}
	if p.Account == AWSManaged {
		return errs.E(errs.Invalid, "Policy %s is an AWS managed policy; it cannot be deleted.", policyARN).WithCode("InvalidInput")
	}
	if p.Attachments > 0 {
		return errs.E(errs.Conflict, "Cannot delete a policy attached to entities.").WithCode("DeleteConflict")
	}
	return s.store.DeleteManagedPolicy(ctx, policyARN)
}

// Attach attaches a managed policy to a user or role. The decision sees the policy's ARN as
// iam:PolicyARN.
func (s *Service) Attach(ctx context.Context, c Call, kind, principal, policyARN string) error {
	keys := map[string][]string{"iam:PolicyARN": {policyARN}}
	if _, err := s.modifiable(ctx, c, policyAction("Attach", kind), kind, principal, keys); err != nil {
		return err
	}
	if _, err := s.managedPolicy(ctx, c.Caller.Account, policyARN); err != nil {
		return err
	}
	err := s.store.Attach(ctx, c.Caller.Account, kind, principal, policyARN)
	if errs.Is(err, errs.Conflict) {
		return nil // attaching twice is a no-op in IAM
	}
	return err
}

// Detach detaches a managed policy; iam:PolicyARN holds its ARN.
func (s *Service) Detach(ctx context.Context, c Call, kind, principal, policyARN string) error {
	keys := map[string][]string{"iam:PolicyARN": {policyARN}}
	if _, err := s.modifiable(ctx, c, policyAction("Detach", kind), kind, principal, keys); err != nil {
		return err
	}
	err := s.store.Detach(ctx, c.Caller.Account, kind, principal, policyARN)
	if errs.Is(err, errs.NotFound) {
		return errs.E(errs.NotFound, "Policy %s was not found.", policyARN).WithCode("NoSuchEntity")
	}
	return err
}

// Attached lists the managed policies attached to a user or role.
func (s *Service) Attached(ctx context.Context, c Call, kind, principal string) ([]ManagedPolicy, error) {
	action := "ListAttachedUserPolicies"
	if kind == KindRole {
		action = "ListAttachedRolePolicies"
	}
	if _, err := s.target(ctx, c, action, kind, principal, nil); err != nil {
		return nil, err
	}
	return s.store.ListAttached(ctx, c.Caller.Account, kind, principal)
}

// accessKeysPerUser is IAM's quota of long-term keys per user.
const accessKeysPerUser = 2

// NewKey is an access key with its secret in clear, as returned once at creation.
type NewKey struct {
	AccessKey
	Secret       string
	SessionToken string
}

// CreateAccessKey creates a long-term access key for a user (the calling user when user is
// ""). IAM allows two per user.
func (s *Service) CreateAccessKey(ctx context.Context, c Call, user string) (NewKey, error) {
	user, err := ownUser(c, user)
	if err != nil {
		return NewKey{}, err
	}
	if _, err := s.target(ctx, c, "CreateAccessKey", KindUser, user, nil); err != nil {
		return NewKey{}, err
	}
	return s.createAccessKey(ctx, c.Caller.Account, user)
}

func (s *Service) createAccessKey(ctx context.Context, account, user string) (NewKey, error) {
	id := "AKIA" + randid.String(16, upperDigits)
	secret := randid.String(40, secretDigits)
	k := AccessKey{
		ID: id, Account: account, UserName: user, Status: "Active", CreatedAt: s.now(),
		SealedSecret: s.seal.Seal(secret, id),
	}
	if err := s.store.CreateAccessKey(ctx, k, accessKeysPerUser); err != nil {
		if errs.Is(err, errs.LimitExceeded) {
			return NewKey{}, errs.E(errs.LimitExceeded, "Cannot exceed quota for AccessKeysPerUser: %d", accessKeysPerUser).WithCode("LimitExceeded")
		}
		return NewKey{}, err
	}
	return NewKey{AccessKey: k, Secret: secret}, nil
}

// AccessKeys lists a user's long-term keys (the calling user's when user is "").
func (s *Service) AccessKeys(ctx context.Context, c Call, user string) (string, []AccessKey, error) {
	user, err := ownUser(c, user)
	if err != nil {
		return "", nil, err
	}
	if _, err := s.target(ctx, c, "ListAccessKeys", KindUser, user, nil); err != nil {
		return "", nil, err
	}
	keys, err := s.store.ListAccessKeys(ctx, c.Caller.Account, user)
	return user, keys, err
}

// DeleteAccessKey deletes a user's access key (the calling user's when user is "").
func (s *Service) DeleteAccessKey(ctx context.Context, c Call, user, id string) error {
	user, err := ownUser(c, user)
	if err != nil {
		return err
	}
	if _, err := s.target(ctx, c, "DeleteAccessKey", KindUser, user, nil); err != nil {
		return err
	}
	err = s.store.DeleteAccessKey(ctx, c.Caller.Account, user, id)
	if errs.Is(err, errs.NotFound) {
		return errs.E(errs.NotFound, "The Access Key with id %s cannot be found.", id).WithCode("NoSuchEntity")
	}
	return err
}

// Authenticated is what LookupAccessKey knows about a key.
type Authenticated struct {
	Secret       string
	SessionToken string // the session token of temporary credentials; empty for long-term keys
	ExpiresAt    time.Time
	Caller       Caller
}

func invalidToken(cause ...any) error {
	return errs.E(errs.Unauthenticated, "The security token included in the request is invalid.", cause...).WithCode("InvalidClientTokenId")
}

// validAccessKeyID reports whether id has an access key id's form: 16 to 128 upper-case letters
// and digits.
func validAccessKeyID(id string) bool {
	if len(id) < 16 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// LookupAccessKey finds the principal and secret of an access key. Unknown, inactive and
// expired keys are errs.Unauthenticated; an expired session key is deleted on the way.
func (s *Service) LookupAccessKey(ctx context.Context, id string) (Authenticated, error) {
	if !validAccessKeyID(id) {
		return Authenticated{}, invalidToken()
	}
	k, err := s.store.GetAccessKey(ctx, id)
	if errs.Is(err, errs.NotFound) || (err == nil && k.Status != "Active") {
		return Authenticated{}, invalidToken()
	}
	if err != nil {
		return Authenticated{}, err
	}
	if !k.ExpiresAt.IsZero() && !s.now().Before(k.ExpiresAt) {
		if err := s.store.DeleteAccessKey(ctx, k.Account, "", k.ID); err != nil && !errs.Is(err, errs.NotFound) {
			s.log.Warn("cannot delete an expired session key", "err", err)
		}
		return Authenticated{}, errs.E(errs.Unauthenticated, "The security token included in the request is expired").WithCode("ExpiredToken")
	}
	secret, err := s.seal.Open(k.SealedSecret, k.ID)
	if err != nil {
		return Authenticated{}, err
	}
	a := Authenticated{Secret: secret, ExpiresAt: k.ExpiresAt}
	if k.SealedToken != "" {
		if a.SessionToken, err = s.seal.Open(k.SealedToken, k.ID+"/token"); err != nil {
			return Authenticated{}, err
		}
	}
	orgID, err := s.org.OrgID(ctx)
	if err != nil {
		return Authenticated{}, err
	}
	if k.UserName != "" {
		p, err := s.store.GetPrincipal(ctx, k.Account, KindUser, k.UserName)
		if err != nil {
			return Authenticated{}, invalidToken(err)
		}
		a.Caller = Caller{
			Kind: KindUser, Account: k.Account, ARN: p.ARN, PrincipalARN: p.ARN, Name: p.Name, Path: p.Path,
			UserID: p.ID, AccessKeyID: k.ID, OrgID: orgID, Tags: p.Tags, AuthMethod: AuthSigV4,
		}
		return a, nil
	}
	role, err := s.store.GetPrincipal(ctx, k.Account, KindRole, k.RoleName)
	if err != nil {
		return Authenticated{}, invalidToken(err)
	}
	a.Caller = sessionCaller(role, k.SessionName, orgID)
	a.Caller.AccessKeyID, a.Caller.SessionToken, a.Caller.AuthMethod = k.ID, a.SessionToken, AuthSigV4
	return a, nil
}

// sessionCaller is a session of role: its ARN names the role and session, and it is judged by
// the role's ARN (aws:PrincipalArn), policies and tags.
func sessionCaller(role Principal, session, orgID string) Caller {
	return Caller{
		Kind: KindRole, Account: role.Account, Name: role.Name, Path: role.Path, SessionName: session,
		ARN:          arn.AssumedRole(role.Account, role.Name, session),
		PrincipalARN: role.ARN,
		UserID:       role.ID + ":" + session,
		OrgID:        orgID,
		Tags:         role.Tags,
	}
}

// SweepExpiredSessions deletes every expired session key; the server runs it at start (keys
// presented after they expire are deleted when presented).
func (s *Service) SweepExpiredSessions(ctx context.Context) (int, error) {
	return s.store.DeleteExpiredSessions(ctx, s.now())
}

// Session is the result of AssumeRole.
type Session struct {
	NewKey
	AssumedRoleARN string
	AssumedRoleID  string
}

// AssumeOptions are AssumeRole's optional inputs.
type AssumeOptions struct {
	Duration   time.Duration // 0 = one hour
	ExternalID string        // sts:ExternalId, for trust policies that require it
	Policy     string        // an inline session policy
	PolicyARNs []string      // managed policies (of the role's account) used as session policies
}

// The bounds of a session's duration.
const (
	minSessionDuration = 15 * time.Minute
	maxSessionDuration = 12 * time.Hour
)

// AssumeRole checks the role's trust policy (and, across accounts, the caller's identity
// policy) and issues temporary credentials, bounded by the session policies if any.
//
// Nothing that depends on the role is looked at before the caller is known to be allowed to
// assume it: a caller who may not assume the role gets the same answer whether the role
// exists or not, whatever duration or policy ARNs it asks for.
func (s *Service) AssumeRole(ctx context.Context, c Call, roleARN, sessionName string, opt AssumeOptions) (Session, error) {
	caller := c.Caller
	// 1. The request on its own.
	if !sessionRE.MatchString(sessionName) {
		return Session{}, errs.E(errs.Invalid, "RoleSessionName %q must be 2 to 64 characters of letters, digits and +=,.@_-", sessionName).WithCode("ValidationError")
	}
	target, err := arn.ParseIAM(roleARN)
	if err != nil || target.Type != KindRole || !arn.ValidAccountID(target.Account) {
		return Session{}, errs.E(errs.Invalid, "%s is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)", roleARN).WithCode("ValidationError")
	}
	duration := opt.Duration
	if duration == 0 {
		duration = time.Hour
	}
	if duration < minSessionDuration || duration > maxSessionDuration {
		return Session{}, errs.E(errs.Invalid, "DurationSeconds must be between 900 and 43200 seconds").WithCode("ValidationError")
	}
	var sessionPolicies []string
	if opt.Policy != "" {
		if _, err := validate(iam.SessionPolicy, opt.Policy); err != nil {
			return Session{}, err
		}
		sessionPolicies = append(sessionPolicies, opt.Policy)
	}
	if len(opt.PolicyARNs) > 10 {
		return Session{}, errs.E(errs.Invalid, "PolicyArns holds %d policies; at most 10 are allowed", len(opt.PolicyARNs)).WithCode("ValidationError")
	}

	// 2. May the caller assume it? A role that does not exist (or whose path differs) has no
	// trust policy, so nothing allows it: the decision, and so the answer, is the same.
	role, err := s.store.GetPrincipal(ctx, target.Account, KindRole, target.Name)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return Session{}, err
	}
	exists := err == nil && role.ARN == roleARN
	trust := ""
	if exists {
		trust = role.TrustPolicy
	}
	rc := c.Context
	keys := map[string][]string{"sts:RoleSessionName": {sessionName}}
	for k, v := range rc.Keys {
		keys[k] = v
	}
	if opt.ExternalID != "" {
		keys["sts:ExternalId"] = []string{opt.ExternalID}
	}
	rc.Keys = keys
	if _, err := s.Authorize(ctx, caller, Action{
		Name: "sts:AssumeRole", Resource: roleARN, ResourceAccount: target.Account,
		ResourcePolicy: trust, ResourcePolicyKind: iam.Trust, Context: rc, Bare: true,
	}); err != nil {
		return Session{}, err
	}
	if !exists { // unreachable while an absent trust policy allows nothing; kept fail-closed
		return Session{}, s.denied(ctx, caller, "sts:AssumeRole", roleARN, "the role does not exist")
	}

	// 3. What depends on the role, now that the caller may know it.
	if duration > time.Duration(role.MaxSessionDuration)*time.Second {
		return Session{}, errs.E(errs.Invalid, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.").WithCode("ValidationError")
	}
	if caller.Kind == KindRole && duration > time.Hour {
		return Session{}, errs.E(errs.Invalid, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.").WithCode("ValidationError")
	}
	for _, pa := range opt.PolicyARNs {
		mp, err := s.managedPolicy(ctx, target.Account, pa)
		if err != nil {
			return Session{}, err
		}
		sessionPolicies = append(sessionPolicies, mp.Document)
	}
	return s.mintSession(ctx, role, sessionName, duration, sessionPolicies)
}

// mintSession stores a new session key of role and returns its credentials.
func (s *Service) mintSession(ctx context.Context, role Principal, sessionName string, duration time.Duration, sessionPolicies []string) (Session, error) {
	id := "ASIA" + randid.String(16, upperDigits)
	secret := randid.String(40, secretDigits)
	tokenBytes := make([]byte, 96)
	rand.Read(tokenBytes)
	token := "FwoG" + base64.StdEncoding.EncodeToString(tokenBytes)
	now := s.now()
	k := AccessKey{
		ID: id, Account: role.Account, RoleName: role.Name, SessionName: sessionName, Status: "Active",
		SealedSecret: s.seal.Seal(secret, id), SealedToken: s.seal.Seal(token, id+"/token"),
		CreatedAt: now, ExpiresAt: now.Add(duration).Truncate(time.Second), SessionPolicies: sessionPolicies,
	}
	if err := s.store.CreateAccessKey(ctx, k, 0); err != nil {
		return Session{}, err
	}
	return Session{
		NewKey:         NewKey{AccessKey: k, Secret: secret, SessionToken: token},
		AssumedRoleARN: arn.AssumedRole(role.Account, role.Name, sessionName),
		AssumedRoleID:  role.ID + ":" + sessionName,
	}, nil
}

// PassRole decides whether the caller may hand a role of its account to a service or engine
// (iam:PassRole on the role's ARN, with iam:PassedToService = service). Engines that run work
// as a role the caller names (jobs, pipelines, stacks) call it before accepting the role, and
// later act as the role through EngineSession.
func (s *Service) PassRole(ctx context.Context, c Call, roleARN, service string) (Principal, error) {
	target, err := arn.ParseIAM(roleARN)
	if err != nil || target.Type != KindRole {
		return Principal{}, errs.E(errs.Invalid, "%s is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)", roleARN).WithCode("ValidationError")
	}
	keys := map[string][]string{"iam:PassedToService": {service}}
	if target.Account != c.Caller.Account {
		// A role is passed only within its account.
		return Principal{}, s.denied(ctx, c.Caller, "iam:PassRole", roleARN, "the role belongs to another account")
	}
	role, err := s.target(ctx, c, "PassRole", KindRole, target.Name, keys)
	if err != nil {
		return Principal{}, err
	}
	if role.ARN != roleARN {
		return Principal{}, noSuchPrincipal(KindRole, target.Name)
	}
	return role, nil
}

// engineRE is what an engine's name may hold: a service principal such as
// "sagemaker.amazonaws.com" or "pipelines.slipway.internal".
var engineRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,62}$`)

// EngineSession lets a Slipway engine (jobs, pipelines, stacks, deploy pipelines) act as a
// session of a role. The role's trust policy must allow the engine as a service principal
// (Principal {"Service": engine}) to sts:AssumeRole. The Caller it returns is judged like any
// role session — the role's policies, its account's SCPs, its ARN as aws:PrincipalArn — and
// every decision made for it is recorded with the engine as invokedBy.
func (s *Service) EngineSession(ctx context.Context, roleARN, engine string) (Caller, error) {
	role, reason, err := s.engineTrust(ctx, roleARN, engine)
	if err != nil {
		return Caller{}, err
	}
	orgID, err := s.org.OrgID(ctx)
	if err != nil {
		return Caller{}, err
	}
	c := sessionCaller(role, engine, orgID)
	c.AuthMethod, c.InvokedBy = AuthEngine, engine
	if err := s.recordEngine(ctx, Caller{ARN: engine, Account: role.Account, InvokedBy: engine, AuthMethod: AuthEngine},
		Action{Name: "sts:AssumeRole", Resource: role.ARN}, "allow", reason); err != nil {
		return Caller{}, err
	}
	return c, nil
}

// engineTrust finds the role an engine asks to act as and checks that the role's trust policy
// allows the engine, as a service principal, to sts:AssumeRole. A refusal is recorded.
func (s *Service) engineTrust(ctx context.Context, roleARN, engine string) (Principal, string, error) {
	if !engineRE.MatchString(engine) {
		return Principal{}, "", errs.E(errs.Invalid, "engine %q must be a service principal name (e.g. sagemaker.amazonaws.com)", engine)
	}
	target, err := arn.ParseIAM(roleARN)
	if err != nil || target.Type != KindRole {
		return Principal{}, "", errs.E(errs.Invalid, "%s is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)", roleARN).WithCode("ValidationError")
	}
	role, err := s.store.GetPrincipal(ctx, target.Account, KindRole, target.Name)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return Principal{}, "", err
	}
	engineCaller := Caller{InvokedBy: engine, AuthMethod: AuthEngine, Account: target.Account}
	if err != nil || role.ARN != roleARN {
		return Principal{}, "", s.denyEngine(ctx, engineCaller, roleARN, "the role does not exist")
	}
	p, err := s.policy.get(iam.Trust, role.TrustPolicy)
	if err != nil {
		return Principal{}, "", s.denyEngine(ctx, engineCaller, roleARN, "fail closed: the trust policy no longer parses")
	}
	req := iam.Request{
		Principal: iam.Principal{Service: engine}, Action: "sts:AssumeRole", Resource: role.ARN, ResourceAccount: role.Account,
	}.WithGlobalKeys(s.now(), "", true)
	d := iam.Evaluate(req, iam.PolicySet{Resource: p.WithName("trust policy of " + role.ARN), ResourceRequired: true})
	if !d.Allowed {
		return Principal{}, "", s.denyEngine(ctx, engineCaller, roleARN, d.Reason)
	}
	return role, d.Reason, nil
}

// EngineCredentials issues real temporary credentials of a role for work an engine runs on
// the role's behalf (the code inside a job calls AWS with them): the role's trust policy must
// allow the engine, as for EngineSession, and the decision is recorded with the engine as
// invokedBy and source (e.g. the job's ARN) in its reason. The session is named sessionName
// and lasts ttl, at most the role's MaxSessionDuration; requests signed with it are judged as
// that session, like credentials from AssumeRole.
func (s *Service) EngineCredentials(ctx context.Context, roleARN, engine, sessionName, source string, ttl time.Duration) (Session, error) {
	if !sessionRE.MatchString(sessionName) {
		return Session{}, errs.E(errs.Invalid, "session name %q must be 2 to 64 characters of letters, digits and +=,.@_-", sessionName)
	}
	if source == "" || len(source) > 2048 {
		return Session{}, errs.E(errs.Invalid, "an engine's credentials need a source of 1 to 2,048 characters")
	}
	if ttl < time.Second || ttl > maxSessionDuration {
		return Session{}, errs.E(errs.Invalid, "an engine session lasts 1 s to 12 h, not %v", ttl)
	}
	role, reason, err := s.engineTrust(ctx, roleARN, engine)
	if err != nil {
		return Session{}, err
	}
	if max := time.Duration(role.MaxSessionDuration) * time.Second; ttl > max {
		ttl = max
	}
	if err := s.recordEngine(ctx, Caller{ARN: engine, Account: role.Account, InvokedBy: engine, AuthMethod: AuthEngine},
		Action{Name: "sts:AssumeRole", Resource: role.ARN}, "allow", reason+"; credentials for "+source); err != nil {
		return Session{}, err
	}
	return s.mintSession(ctx, role, sessionName, ttl, nil)
}

// EndEngineCredentials deletes session keys that EngineCredentials issued in account, so they
// stop working before they expire (the work they were for has ended). Keys already gone are
// not an error; a key that is not a session key of account is left alone.
func (s *Service) EndEngineCredentials(ctx context.Context, account string, keyIDs ...string) error {
	for _, id := range keyIDs {
		k, err := s.store.GetAccessKey(ctx, id)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if k.Account != account || k.UserName != "" || k.ExpiresAt.IsZero() {
			continue
		}
		if err := s.store.DeleteAccessKey(ctx, account, "", id); err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
	}
	return nil
}

func (s *Service) denyEngine(ctx context.Context, c Caller, roleARN, reason string) error {
	c.ARN = c.InvokedBy
	if err := s.recordEngine(ctx, c, Action{Name: "sts:AssumeRole", Resource: roleARN}, "deny", reason); err != nil {
		return err
	}
	return errs.E(errs.AccessDenied, "%s is not authorized to perform: sts:AssumeRole on resource: %s", c.InvokedBy, roleARN)
}

// AccountCredentials is what BootstrapAccount made or found: the admin user's key.
type AccountCredentials struct {
	Account  string
	UserName string
	Key      NewKey
	// Reissued says the admin had keys but none whose secret opens with this master key (or
	// none active), so a new key was made: credentials handed out before no longer match it.
	Reissued bool
}

// AdminPolicy grants everything; the admin user of every account carries it.
const AdminPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"AdministratorAccess","Effect":"Allow","Action":"*","Resource":"*"}]}`

// BootstrapAccount creates an account's admin user (with AdministratorAccess and an access key)
// and, for member accounts, the OrganizationAccountAccessRole that the management account may
// assume, as AWS Organizations does. It completes what an interrupted earlier call began: each
// step finds what exists first (the user, its policy, an active key whose sealed secret opens,
// the role and its policy), so calling it again changes nothing and returns the same key. step,
// if not nil, is called after each step commits. It serves the composition root: nobody is asked.
func (s *Service) BootstrapAccount(ctx context.Context, account, managementAccount string, step func(what string)) (AccountCredentials, error) {
	if step == nil {
		step = func(string) {}
	}
	const admin = "admin"
	if _, err := s.createUser(ctx, account, admin, "/", nil); err == nil {
		step("user admin in " + account)
	} else if !errs.Is(err, errs.Conflict) {
		return AccountCredentials{}, err
	}
	if err := s.ensureInlinePolicy(ctx, account, KindUser, admin, "AdministratorAccess", AdminPolicy, step); err != nil {
		return AccountCredentials{}, err
	}
	creds := AccountCredentials{Account: account, UserName: admin}
	keys, err := s.store.ListAccessKeys(ctx, account, admin)
	if err != nil {
		return AccountCredentials{}, err
	}
	for _, k := range keys {
		if k.Status != "Active" {
			continue
		}
		if secret, err := s.seal.Open(k.SealedSecret, k.ID); err == nil {
			creds.Key = NewKey{AccessKey: k, Secret: secret}
			break
		}
	}
	if creds.Key.ID == "" {
		if creds.Key, err = s.createAccessKey(ctx, account, admin); err != nil {
			return AccountCredentials{}, err
		}
		creds.Reissued = len(keys) > 0
		step("access key of admin in " + account)
	}
	if account != managementAccount {
		trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":%q},"Action":"sts:AssumeRole"}]}`, arn.AccountRoot(managementAccount))
		if _, err := s.createRole(ctx, account, RoleSpec{Name: AccessRoleName, Path: "/", TrustPolicy: trust, Description: "Lets the management account administer this account", MaxSessionDuration: 3600}); err == nil {
			step("role " + AccessRoleName + " in " + account)
		} else if !errs.Is(err, errs.Conflict) {
			return AccountCredentials{}, err
		}
		if err := s.ensureInlinePolicy(ctx, account, KindRole, AccessRoleName, "AdministratorAccess", AdminPolicy, step); err != nil {
			return AccountCredentials{}, err
		}
	}
	return creds, nil
}

// ensureInlinePolicy puts an inline policy on a principal unless one of that name is there.
func (s *Service) ensureInlinePolicy(ctx context.Context, account, kind, principal, name, document string, step func(string)) error {
	_, err := s.store.GetInlinePolicy(ctx, account, kind, principal, name)
	if err == nil || !errs.Is(err, errs.NotFound) {
		return err
	}
	if err := s.putInlinePolicy(ctx, account, kind, principal, name, document); err != nil {
		return err
	}
	step("policy " + name + " of " + kind + " " + principal + " in " + account)
	return nil
}

// AccessRoleName is the role AWS Organizations creates in every new member account.
const AccessRoleName = "OrganizationAccountAccessRole"

// CreateAccessRole creates, in a member account, the administrator role that the management
// account may assume (named AccessRoleName unless name says otherwise). Organizations calls it
// for an account it created, once it has authorized CreateAccount.
func (s *Service) CreateAccessRole(ctx context.Context, account, managementAccount, name string) error {
	if name == "" {
		name = AccessRoleName
	}
	if err := checkName("role name", name, 64); err != nil {
		return err
	}
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":%q},"Action":"sts:AssumeRole"}]}`, arn.AccountRoot(managementAccount))
	if _, err := s.createRole(ctx, account, RoleSpec{Name: name, Path: "/", TrustPolicy: trust, Description: "Lets the management account administer this account", MaxSessionDuration: 3600}); err != nil {
		return err
	}
	return s.putInlinePolicy(ctx, account, KindRole, name, "AdministratorAccess", AdminPolicy)
}

// ServiceLinkedRole is a role a Slipway service keeps in an account for itself, as AWS's
// service-linked roles are: its path is /aws-service-role/SERVICE/, only the service (as a
// service principal) may assume it, and its inline policy says what the service may do there.
type ServiceLinkedRole struct {
	Service     string // the service principal, e.g. stacksets.cloudformation.amazonaws.com
	Name        string
	Description string
	PolicyName  string
	Policy      string // identity policy
}

// Path is the role's path.
func (r ServiceLinkedRole) Path() string { return ServiceRolePathPrefix + r.Service + "/" }

// ARN is the role's ARN in account.
func (r ServiceLinkedRole) ARN(account string) string {
	return arn.IAM(account, KindRole, r.Path(), r.Name)
}

// EnsureServiceLinkedRole makes the service-linked role r in account, or completes what is
// missing of it (the role, its policy), and returns it; as AWS makes one when a service is
// first used. A role of that name that exists is kept as it is: nobody but this path can
// have changed it, since IAM's API refuses every change to a role under
// ServiceRolePathPrefix. An ordinary role squatting the name (made before the path was
// reserved, or at another path) is refused rather than acted through. It serves the
// composition root and the engines: nobody is asked.
func (s *Service) EnsureServiceLinkedRole(ctx context.Context, account string, r ServiceLinkedRole) (Principal, error) {
	if !engineRE.MatchString(r.Service) {
		return Principal{}, errs.E(errs.Invalid, "service %q must be a service principal name", r.Service)
	}
	if err := checkName("role name", r.Name, 64); err != nil {
		return Principal{}, err
	}
	role, err := s.store.GetPrincipal(ctx, account, KindRole, r.Name)
	if errs.Is(err, errs.NotFound) {
		trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":%q},"Action":"sts:AssumeRole"}]}`, r.Service)
		role, err = s.createRole(ctx, account, RoleSpec{Name: r.Name, Path: r.Path(), TrustPolicy: trust, Description: r.Description, MaxSessionDuration: 3600})
		if errs.Is(err, errs.Conflict) { // made by another server in between
			role, err = s.store.GetPrincipal(ctx, account, KindRole, r.Name)
		}
	}
	if err != nil {
		return Principal{}, err
	}
	if role.Path != r.Path() {
		return Principal{}, errs.E(errs.Conflict, "the role %s of account %s is an ordinary role at path %s, not the service-linked role of %s; delete or rename it", r.Name, account, role.Path, r.Service)
	}
	if err := s.ensureInlinePolicy(ctx, account, KindRole, r.Name, r.PolicyName, r.Policy, func(string) {}); err != nil {
		return Principal{}, err
	}
	return role, nil
}
