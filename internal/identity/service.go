package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/iam"
)

// Service is the IAM and STS business logic.
type Service struct {
	store  Store
	org    OrgBounds
	seal   *Sealer
	now    func() time.Time
	log    *slog.Logger
	policy *policyCache
}

// NewService returns a Service.
func NewService(st Store, org OrgBounds, seal *Sealer, now func() time.Time, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: st, org: org, seal: seal, now: now, log: log.With("component", "identity"), policy: newPolicyCache(4096)}
}

var (
	nameRE       = regexp.MustCompile(`^[\w+=,.@-]+$`)
	pathRE       = regexp.MustCompile(`^/([\x21-\x7E]*/)?$`)
	sessionRE    = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	accessKeyRE  = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	upperDigits  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+"
)

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err)
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

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

func principalARN(account, kind, path, name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:%s%s%s", account, kind, path, name)
}

// CreateUser creates an IAM user.
func (s *Service) CreateUser(ctx context.Context, account, name, path string, tags map[string]string) (Principal, error) {
	if err := checkName("user name", name, 64); err != nil {
		return Principal{}, err
	}
	path, err := checkPath(path)
	if err != nil {
		return Principal{}, err
	}
	p := Principal{
		Account: account, Kind: KindUser, Name: name, Path: path, Tags: tags,
		ID: "AIDA" + randomString(17, upperDigits), ARN: principalARN(account, KindUser, path, name),
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

// CreateRole creates a role with its trust policy.
func (s *Service) CreateRole(ctx context.Context, account, name, path, trust, description string, maxSession int, tags map[string]string) (Principal, error) {
	if err := checkName("role name", name, 64); err != nil {
		return Principal{}, err
	}
	path, err := checkPath(path)
	if err != nil {
		return Principal{}, err
	}
	if _, err := parsePolicy(policyTrust, trust); err != nil {
		return Principal{}, err
	}
	if maxSession == 0 {
		maxSession = 3600
	}
	if maxSession < 3600 || maxSession > 43200 {
		return Principal{}, errs.E(errs.Invalid, "MaxSessionDuration %d must be between 3600 and 43200 seconds", maxSession).WithCode("ValidationError")
	}
	p := Principal{
		Account: account, Kind: KindRole, Name: name, Path: path, Tags: tags, TrustPolicy: trust,
		Description: description, MaxSessionDuration: maxSession,
		ID: "AROA" + randomString(17, upperDigits), ARN: principalARN(account, KindRole, path, name),
		CreatedAt: s.now(),
	}
	if err := s.store.CreatePrincipal(ctx, p); err != nil {
		if errs.Is(err, errs.Conflict) {
			return Principal{}, errs.E(errs.Conflict, "Role with name %s already exists.", name).WithCode("EntityAlreadyExists")
		}
		return Principal{}, err
	}
	return p, nil
}

// Principal returns a user or role.
func (s *Service) Principal(ctx context.Context, account, kind, name string) (Principal, error) {
	p, err := s.store.GetPrincipal(ctx, account, kind, name)
	if errs.Is(err, errs.NotFound) {
		what := "user"
		if kind == KindRole {
			what = "role"
		}
		return p, errs.E(errs.NotFound, "The %s with name %s cannot be found.", what, name).WithCode("NoSuchEntity")
	}
	return p, err
}

// Principals lists users or roles of an account under a path prefix.
func (s *Service) Principals(ctx context.Context, account, kind, pathPrefix string) ([]Principal, error) {
	if pathPrefix == "" {
		pathPrefix = "/"
	}
	return s.store.ListPrincipals(ctx, account, kind, pathPrefix)
}

// DeletePrincipal deletes a user or role that has nothing attached any more.
func (s *Service) DeletePrincipal(ctx context.Context, account, kind, name string) error {
	if _, err := s.Principal(ctx, account, kind, name); err != nil {
		return err
	}
	err := s.store.DeletePrincipal(ctx, account, kind, name)
	if errs.Is(err, errs.Conflict) {
		return errs.E(errs.Conflict, "Cannot delete entity, must %s first.", errs.Message(err)).WithCode("DeleteConflict")
	}
	return err
}

// PutInlinePolicy adds or replaces an inline policy of a user or role.
func (s *Service) PutInlinePolicy(ctx context.Context, account, kind, principal, name, document string) error {
	if err := checkName("policy name", name, 128); err != nil {
		return err
	}
	if _, err := s.Principal(ctx, account, kind, principal); err != nil {
		return err
	}
	if _, err := iam.ParseInline(document); err != nil {
		return malformedPolicy(err)
	}
	// IAM bounds the inline policies of a principal together: 2,048 characters for a user,
	// 10,240 for a role, white space not counted.
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
func (s *Service) InlinePolicy(ctx context.Context, account, kind, principal, name string) (InlinePolicy, error) {
	if _, err := s.Principal(ctx, account, kind, principal); err != nil {
		return InlinePolicy{}, err
	}
	p, err := s.store.GetInlinePolicy(ctx, account, kind, principal, name)
	if errs.Is(err, errs.NotFound) {
		return p, errs.E(errs.NotFound, "The %s policy with name %s cannot be found.", kind, name).WithCode("NoSuchEntity")
	}
	return p, err
}

// InlinePolicies lists the inline policies of a user or role.
func (s *Service) InlinePolicies(ctx context.Context, account, kind, principal string) ([]InlinePolicy, error) {
	if _, err := s.Principal(ctx, account, kind, principal); err != nil {
		return nil, err
	}
	return s.store.ListInlinePolicies(ctx, account, kind, principal)
}

// DeleteInlinePolicy deletes an inline policy.
func (s *Service) DeleteInlinePolicy(ctx context.Context, account, kind, principal, name string) error {
	if _, err := s.InlinePolicy(ctx, account, kind, principal, name); err != nil {
		return err
	}
	return s.store.DeleteInlinePolicy(ctx, account, kind, principal, name)
}

// CreateManagedPolicy creates a customer managed policy.
func (s *Service) CreateManagedPolicy(ctx context.Context, account, name, path, description, document string) (ManagedPolicy, error) {
	if err := checkName("policy name", name, 128); err != nil {
		return ManagedPolicy{}, err
	}
	path, err := checkPath(path)
	if err != nil {
		return ManagedPolicy{}, err
	}
	if _, err := parsePolicy(policyIdentity, document); err != nil {
		return ManagedPolicy{}, err
	}
	now := s.now()
	p := ManagedPolicy{
		Account: account, Name: name, Path: path, Description: description, Document: document,
		ID: "ANPA" + randomString(17, upperDigits), ARN: fmt.Sprintf("arn:aws:iam::%s:policy%s%s", account, path, name),
		CreatedAt: now, UpdatedAt: now,
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

// ManagedPolicy returns a managed policy of the caller's account, or an AWS managed policy.
func (s *Service) ManagedPolicy(ctx context.Context, account, arn string) (ManagedPolicy, error) {
	p, err := s.store.GetManagedPolicy(ctx, arn)
	if errs.Is(err, errs.NotFound) || (err == nil && p.Account != account && p.Account != AWSManaged) {
		return ManagedPolicy{}, errs.E(errs.NotFound, "Policy %s does not exist or is not attachable.", arn).WithCode("NoSuchEntity")
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
func (s *Service) ManagedPolicies(ctx context.Context, account, scope string) ([]ManagedPolicy, error) {
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
func (s *Service) DeleteManagedPolicy(ctx context.Context, account, arn string) error {
	p, err := s.ManagedPolicy(ctx, account, arn)
	if err != nil {
		return err
	}
	if p.Account == AWSManaged {
		return errs.E(errs.Invalid, "Policy %s is an AWS managed policy; it cannot be deleted.", arn).WithCode("InvalidInput")
	}
	if p.Attachments > 0 {
		return errs.E(errs.Conflict, "Cannot delete a policy attached to entities.").WithCode("DeleteConflict")
	}
	return s.store.DeleteManagedPolicy(ctx, arn)
}

// Attach attaches a managed policy to a user or role.
func (s *Service) Attach(ctx context.Context, account, kind, principal, policyARN string) error {
	if _, err := s.Principal(ctx, account, kind, principal); err != nil {
		return err
	}
	if _, err := s.ManagedPolicy(ctx, account, policyARN); err != nil {
		return err
	}
	err := s.store.Attach(ctx, account, kind, principal, policyARN)
	if errs.Is(err, errs.Conflict) {
		return nil // attaching twice is a no-op in IAM
	}
	return err
}

// Detach detaches a managed policy.
func (s *Service) Detach(ctx context.Context, account, kind, principal, policyARN string) error {
	if _, err := s.Principal(ctx, account, kind, principal); err != nil {
		return err
	}
	err := s.store.Detach(ctx, account, kind, principal, policyARN)
	if errs.Is(err, errs.NotFound) {
		return errs.E(errs.NotFound, "Policy %s was not found.", policyARN).WithCode("NoSuchEntity")
	}
	return err
}

// Attached lists the managed policies attached to a user or role.
func (s *Service) Attached(ctx context.Context, account, kind, principal string) ([]ManagedPolicy, error) {
	if _, err := s.Principal(ctx, account, kind, principal); err != nil {
		return nil, err
	}
	return s.store.ListAttached(ctx, account, kind, principal)
}

// accessKeysPerUser is IAM's quota of long-term keys per user.
const accessKeysPerUser = 2

// NewKey is an access key with its secret in clear, as returned once at creation.
type NewKey struct {
	AccessKey
	Secret       string
	SessionToken string
}

// CreateAccessKey creates a long-term access key for a user. IAM allows two per user.
func (s *Service) CreateAccessKey(ctx context.Context, account, user string) (NewKey, error) {
	if _, err := s.Principal(ctx, account, KindUser, user); err != nil {
		return NewKey{}, err
	}
	id := "AKIA" + randomString(16, upperDigits)
	secret := randomString(40, secretDigits)
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

// AccessKeys lists a user's long-term keys.
func (s *Service) AccessKeys(ctx context.Context, account, user string) ([]AccessKey, error) {
	if _, err := s.Principal(ctx, account, KindUser, user); err != nil {
		return nil, err
	}
	return s.store.ListAccessKeys(ctx, account, user)
}

// DeleteAccessKey deletes a user's access key.
func (s *Service) DeleteAccessKey(ctx context.Context, account, user, id string) error {
	if _, err := s.Principal(ctx, account, KindUser, user); err != nil {
		return err
	}
	err := s.store.DeleteAccessKey(ctx, account, user, id)
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

// LookupAccessKey finds the principal and secret of an access key. Unknown, inactive and
// expired keys are errs.Unauthenticated.
func (s *Service) LookupAccessKey(ctx context.Context, id string) (Authenticated, error) {
	if !accessKeyRE.MatchString(id) {
		return Authenticated{}, errs.E(errs.Unauthenticated, "The security token included in the request is invalid.").WithCode("InvalidClientTokenId")
	}
	k, err := s.store.GetAccessKey(ctx, id)
	if errs.Is(err, errs.NotFound) || (err == nil && k.Status != "Active") {
		return Authenticated{}, errs.E(errs.Unauthenticated, "The security token included in the request is invalid.").WithCode("InvalidClientTokenId")
	}
	if err != nil {
		return Authenticated{}, err
	}
	if !k.ExpiresAt.IsZero() && !s.now().Before(k.ExpiresAt) {
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
			return Authenticated{}, errs.E(errs.Unauthenticated, "The security token included in the request is invalid.", err).WithCode("InvalidClientTokenId")
		}
		a.Caller = Caller{AccessKeyID: k.ID, Account: k.Account, ARN: p.ARN, PrincipalARN: p.ARN, UserID: p.ID, Kind: KindUser, Name: p.Name, OrgID: orgID, Tags: p.Tags}
		return a, nil
	}
	role, err := s.store.GetPrincipal(ctx, k.Account, KindRole, k.RoleName)
	if err != nil {
		return Authenticated{}, errs.E(errs.Unauthenticated, "The security token included in the request is invalid.", err).WithCode("InvalidClientTokenId")
	}
	a.Caller = Caller{
		AccessKeyID: k.ID, Account: k.Account, Kind: KindRole, Name: role.Name, SessionName: k.SessionName, OrgID: orgID, Tags: role.Tags,
		ARN:          fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", k.Account, role.Name, k.SessionName),
		PrincipalARN: role.ARN,
		UserID:       role.ID + ":" + k.SessionName,
	}
	return a, nil
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

// AssumeRole checks the role's trust policy (and, across accounts, the caller's identity
// policy) and issues temporary credentials, bounded by the session policies if any.
func (s *Service) AssumeRole(ctx context.Context, caller Caller, roleARN, sessionName string, opt AssumeOptions, reqCtx RequestContext) (Session, error) {
	duration := opt.Duration
	if !sessionRE.MatchString(sessionName) {
		return Session{}, errs.E(errs.Invalid, "RoleSessionName %q must be 2 to 64 characters of letters, digits and +=,.@_-", sessionName).WithCode("ValidationError")
	}
	account, name, ok := parseRoleARN(roleARN)
	if !ok {
		return Session{}, errs.E(errs.Invalid, "%s is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)", roleARN).WithCode("ValidationError")
	}
	role, err := s.store.GetPrincipal(ctx, account, KindRole, name)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return Session{}, err
	}
	if errs.Is(err, errs.NotFound) || role.ARN != roleARN {
		// AWS does not reveal whether a role exists to a caller who may not assume it.
		return Session{}, s.denied(ctx, caller, "sts:AssumeRole", roleARN, "the role does not exist or its trust policy does not allow it")
	}
	if duration == 0 {
		duration = time.Hour
	}
	if duration < 15*time.Minute || duration > time.Duration(role.MaxSessionDuration)*time.Second {
		return Session{}, errs.E(errs.Invalid, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role (%d seconds) or is under 900.", role.MaxSessionDuration).WithCode("ValidationError")
	}
	if caller.Kind == KindRole && duration > time.Hour {
		return Session{}, errs.E(errs.Invalid, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.").WithCode("ValidationError")
	}
	var sessionPolicies []string
	if opt.Policy != "" {
		if _, err := parsePolicy(policyIdentity, opt.Policy); err != nil {
			return Session{}, err
		}
		sessionPolicies = append(sessionPolicies, opt.Policy)
	}
	if len(opt.PolicyARNs) > 10 {
		return Session{}, errs.E(errs.Invalid, "PolicyArns holds %d policies; at most 10 are allowed", len(opt.PolicyARNs)).WithCode("ValidationError")
	}
	for _, arn := range opt.PolicyARNs {
		mp, err := s.ManagedPolicy(ctx, account, arn)
		if err != nil {
			return Session{}, err
		}
		sessionPolicies = append(sessionPolicies, mp.Document)
	}
	keys := map[string][]string{"sts:RoleSessionName": {sessionName}}
	for k, v := range reqCtx.Keys {
		keys[k] = v
	}
	if opt.ExternalID != "" {
		keys["sts:ExternalId"] = []string{opt.ExternalID}
	}
	reqCtx.Keys = keys
	if _, err := s.Authorize(ctx, caller, Action{Name: "sts:AssumeRole", Resource: role.ARN, ResourceAccount: account, ResourcePolicy: role.TrustPolicy, ResourcePolicyKind: policyTrust, Context: reqCtx}); err != nil {
		return Session{}, err
	}
	id := "ASIA" + randomString(16, upperDigits)
	secret := randomString(40, secretDigits)
	tokenBytes := make([]byte, 96)
	rand.Read(tokenBytes)
	token := "FwoG" + base64.StdEncoding.EncodeToString(tokenBytes)
	now := s.now()
	k := AccessKey{
		ID: id, Account: account, RoleName: role.Name, SessionName: sessionName, Status: "Active",
		SealedSecret: s.seal.Seal(secret, id), SealedToken: s.seal.Seal(token, id+"/token"),
		CreatedAt: now, ExpiresAt: now.Add(duration).Truncate(time.Second), SessionPolicies: sessionPolicies,
	}
	if err := s.store.CreateAccessKey(ctx, k, 0); err != nil {
		return Session{}, err
	}
	return Session{
		NewKey:         NewKey{AccessKey: k, Secret: secret, SessionToken: token},
		AssumedRoleARN: fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, role.Name, sessionName),
		AssumedRoleID:  role.ID + ":" + sessionName,
	}, nil
}

func parseRoleARN(s string) (account, name string, ok bool) {
	rest, ok := strings.CutPrefix(s, "arn:aws:iam::")
	if !ok {
		return "", "", false
	}
	account, res, ok := strings.Cut(rest, ":")
	if !ok || len(account) != 12 || !strings.HasPrefix(res, "role/") {
		return "", "", false
	}
	i := strings.LastIndex(res, "/")
	name = res[i+1:]
	return account, name, name != ""
}

// AccountCredentials is what BootstrapAccount made: the admin user's key.
type AccountCredentials struct {
	Account  string
	UserName string
	Key      NewKey
}

// AdminPolicy grants everything; the admin user of every account carries it.
const AdminPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"AdministratorAccess","Effect":"Allow","Action":"*","Resource":"*"}]}`

// BootstrapAccount creates an account's admin user (with AdministratorAccess and an access key)
// and, for member accounts, the OrganizationAccountAccessRole that the management account may
// assume, as AWS Organizations does.
func (s *Service) BootstrapAccount(ctx context.Context, account, managementAccount string) (AccountCredentials, error) {
	if _, err := s.CreateUser(ctx, account, "admin", "/", nil); err != nil {
		return AccountCredentials{}, err
	}
	if err := s.PutInlinePolicy(ctx, account, KindUser, "admin", "AdministratorAccess", AdminPolicy); err != nil {
		return AccountCredentials{}, err
	}
	key, err := s.CreateAccessKey(ctx, account, "admin")
	if err != nil {
		return AccountCredentials{}, err
	}
	if account != managementAccount {
		if err := s.CreateAccessRole(ctx, account, managementAccount, ""); err != nil {
			return AccountCredentials{}, err
		}
	}
	return AccountCredentials{Account: account, UserName: "admin", Key: key}, nil
}

// AccessRoleName is the role AWS Organizations creates in every new member account.
const AccessRoleName = "OrganizationAccountAccessRole"

// CreateAccessRole creates, in a member account, the administrator role that the management
// account may assume (named AccessRoleName unless name says otherwise).
func (s *Service) CreateAccessRole(ctx context.Context, account, managementAccount, name string) error {
	if name == "" {
		name = AccessRoleName
	}
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sts:AssumeRole"}]}`, managementAccount)
	if _, err := s.CreateRole(ctx, account, name, "/", trust, "Lets the management account administer this account", 3600, nil); err != nil {
		return err
	}
	return s.PutInlinePolicy(ctx, account, KindRole, name, "AdministratorAccess", AdminPolicy)
}
