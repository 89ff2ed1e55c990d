package org

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/randid"
)

// Service is the organization's business logic over a Store. The methods that serve a
// caller (authorize.go) take an identity.Call and decide for themselves; the others serve the
// composition root and other domain services.
type Service struct {
	store Store
	now   func() time.Time
	id    Identity
}

// NewService returns a Service over st; now is the clock.
func NewService(st Store, now func() time.Time) *Service {
	return &Service{store: st, now: now}
}

// Spec describes an organization to create on first start (the --org file).
type Spec struct {
	Management AccountSpec `yaml:"management"`
	// Accounts directly under the root, besides the management account.
	Accounts []AccountSpec `yaml:"accounts"`
	Units    []UnitSpec    `yaml:"units"`
}

// UnitSpec is an OU and what it holds.
type UnitSpec struct {
	Name     string        `yaml:"name"`
	Accounts []AccountSpec `yaml:"accounts"`
	Units    []UnitSpec    `yaml:"units"`
}

// AccountSpec is an account to create; ID and Email are optional.
type AccountSpec struct {
	Name  string `yaml:"name"`
	ID    string `yaml:"id"`
	Email string `yaml:"email"`
}

// DefaultSpec is the organization of the story: data-science manages; a staging OU holds the
// staging account; a production OU holds the production account.
func DefaultSpec() Spec {
	return Spec{
		Management: AccountSpec{Name: "data-science"},
		Units: []UnitSpec{
			{Name: "staging", Accounts: []AccountSpec{{Name: "staging"}}},
			{Name: "production", Accounts: []AccountSpec{{Name: "production"}}},
		},
	}
}

var (
	accountIDRE   = regexp.MustCompile(`^\d{12}$`)
	accountNameRE = regexp.MustCompile(`^[\x20-\x7E]{1,50}$`)
	unitNameRE    = regexp.MustCompile(`^[\s\S]{1,128}$`)
)

// Validate checks a spec before anything is created: names present and unique, ids well formed
// and unique.
func (s Spec) Validate() error {
	names := map[string]bool{}
	ids := map[string]bool{}
	var check func(where string, a AccountSpec) error
	check = func(where string, a AccountSpec) error {
		if !accountNameRE.MatchString(a.Name) {
			return errs.E(errs.Invalid, "%s: account name %q must be 1 to 50 printable characters", where, a.Name)
		}
		if names[a.Name] {
			return errs.E(errs.Invalid, "%s: account name %q appears twice", where, a.Name)
		}
		names[a.Name] = true
		if a.ID != "" {
			if !accountIDRE.MatchString(a.ID) {
				return errs.E(errs.Invalid, "%s: account %q has id %q; account ids are 12 digits", where, a.Name, a.ID)
			}
			if ids[a.ID] {
				return errs.E(errs.Invalid, "%s: account id %s appears twice", where, a.ID)
			}
			ids[a.ID] = true
		}
		return nil
	}
	if err := check("management", s.Management); err != nil {
		return err
	}
	for _, a := range s.Accounts {
		if err := check("accounts", a); err != nil {
			return err
		}
	}
	var walk func(path string, us []UnitSpec) error
	walk = func(path string, us []UnitSpec) error {
		seen := map[string]bool{}
		for _, u := range us {
			p := path + "/" + u.Name
			if !unitNameRE.MatchString(u.Name) || strings.TrimSpace(u.Name) == "" {
				return errs.E(errs.Invalid, "unit %q: OU names are 1 to 128 characters", p)
			}
			if seen[u.Name] {
				return errs.E(errs.Invalid, "unit %q appears twice", p)
			}
			seen[u.Name] = true
			for _, a := range u.Accounts {
				if err := check("unit "+p, a); err != nil {
					return err
				}
			}
			if err := walk(p, u.Units); err != nil {
				return err
			}
		}
		return nil
	}
	return walk("", s.Units)
}

// Bootstrap creates the organization of spec, or completes it: a first start killed midway calls
// it again, and every step finds what an earlier call created before creating anything (the
// organization, accounts and OUs by name, their FullAWSAccess attachments), so a repeated call
// changes nothing. It returns the accounts of spec, management first. It fails with
// errs.Conflict if an organization with another management account exists. step, if not nil,
// is called after each step commits (the app's crash test stops the process there).
func (s *Service) Bootstrap(ctx context.Context, spec Spec, step func(what string)) ([]Account, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if step == nil {
		step = func(string) {}
	}
	o, err := s.store.GetOrganization(ctx)
	if errs.Is(err, errs.NotFound) {
		if o, err = s.createOrganization(ctx, spec.Management); err != nil {
			return nil, err
		}
		step("organization")
	} else if err != nil {
		return nil, err
	}
	mgmt, err := s.store.GetAccount(ctx, o.ManagementAccount)
	if err != nil {
		return nil, err
	}
	if mgmt.Name != spec.Management.Name || (spec.Management.ID != "" && spec.Management.ID != mgmt.ID) {
		return nil, errs.E(errs.Conflict, "an organization managed by account %s (%s) exists already", mgmt.Name, mgmt.ID).WithCode("AlreadyInOrganizationException")
	}
	created := []Account{mgmt}
	for _, a := range spec.Accounts {
		acct, err := s.ensureAccount(ctx, o, a, o.RootID, step)
		if err != nil {
			return nil, err
		}
		created = append(created, acct)
	}
	var walk func(parent string, us []UnitSpec) error
	walk = func(parent string, us []UnitSpec) error {
		for _, us := range us {
			u, err := s.ensureUnit(ctx, parent, us.Name, step)
			if err != nil {
				return err
			}
			for _, a := range us.Accounts {
				acct, err := s.ensureAccount(ctx, o, a, u.ID, step)
				if err != nil {
					return err
				}
				created = append(created, acct)
			}
			if err := walk(u.ID, us.Units); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(o.RootID, spec.Units); err != nil {
		return nil, err
	}
	return created, nil
}

// createOrganization creates the organization, its management account and the FullAWSAccess
// policy attached to both, in one transaction.
func (s *Service) createOrganization(ctx context.Context, m AccountSpec) (Organization, error) {
	mgmtID := m.ID
	if mgmtID == "" {
		mgmtID = randomAccountID()
	}
	orgID := "o-" + randid.String(10, lowerDigits)
	o := Organization{
		ID:                orgID,
		ARN:               arn.Organization(mgmtID, orgID),
		ManagementAccount: mgmtID,
		RootID:            "r-" + randid.String(4, lowerDigits),
		CreatedAt:         s.now(),
	}
	mgmt := s.newAccount(o, m, mgmtID, o.RootID)
	full := Policy{
		ID: FullAccessID, Name: FullAccessName, Type: SCPType, AWSManaged: true,
		ARN:         arn.AWSOrgPolicy(SCPType, FullAccessID),
		Description: "Allows access to every operation",
		Content:     fullAccessPolicy,
	}
	if err := s.store.CreateOrganization(ctx, o, mgmt, full); err != nil {
		return Organization{}, err
	}
	return o, nil
}

// ensureAccount returns the account named a.Name, creating it under parent if it does not exist,
// and makes sure FullAWSAccess is attached to it (an earlier run may have stopped in between).
func (s *Service) ensureAccount(ctx context.Context, o Organization, a AccountSpec, parent string, step func(string)) (Account, error) {
	acct, err := s.store.GetAccountByName(ctx, a.Name)
	if errs.Is(err, errs.NotFound) {
		id := a.ID
		if id == "" {
			id = randomAccountID()
		}
		acct = s.newAccount(o, a, id, parent)
		if err := s.store.CreateAccount(ctx, acct, s.createEvent(o, acct)); err != nil {
			return Account{}, err
		}
		step("account " + a.Name)
	} else if err != nil {
		return Account{}, err
	}
	if err := s.attachFullAccess(ctx, acct.ID, step); err != nil {
		return Account{}, err
	}
	return acct, nil
}

// ensureUnit returns the OU named name under parent, creating it if it does not exist, with
// FullAWSAccess attached.
func (s *Service) ensureUnit(ctx context.Context, parent, name string, step func(string)) (Unit, error) {
	units, err := s.store.ListUnits(ctx, parent)
	if err != nil {
		return Unit{}, err
	}
	for _, u := range units {
		if u.Name == name {
			return u, s.attachFullAccess(ctx, u.ID, step)
		}
	}
	u, err := s.createUnit(ctx, parent, name)
	if err != nil {
		return Unit{}, err
	}
	step("unit " + name)
	return u, s.attachFullAccess(ctx, u.ID, step)
}

// attachFullAccess attaches FullAWSAccess to target unless it is attached already.
func (s *Service) attachFullAccess(ctx context.Context, target string, step func(string)) error {
	err := s.store.AttachPolicy(ctx, FullAccessID, target)
	if errs.Is(err, errs.Conflict) {
		return nil
	}
	if err == nil {
		step("FullAWSAccess on " + target)
	}
	return err
}

// Organization returns the organization.
func (s *Service) Organization(ctx context.Context) (Organization, error) {
	o, err := s.store.GetOrganization(ctx)
	if errs.Is(err, errs.NotFound) {
		return o, errs.E(errs.NotFound, "your account is not a member of an organization").WithCode("AWSOrganizationsNotInUseException")
	}
	return o, err
}

func (s *Service) newAccount(o Organization, a AccountSpec, id, parent string) Account {
	email := a.Email
	if email == "" {
		email = strings.ToLower(strings.ReplaceAll(a.Name, " ", "-")) + "@" + o.ID + ".slipway.local"
	}
	return Account{
		ID: id, Name: a.Name, Email: email, ParentID: parent,
		ARN:             arn.OrgAccount(o.ManagementAccount, o.ID, id),
		Status:          "ACTIVE",
		JoinedMethod:    "CREATED",
		JoinedAt:        s.now(),
		CreateRequestID: "car-" + randid.String(32, lowerDigits),
	}
}

func (s *Service) createAccount(ctx context.Context, o Organization, a AccountSpec, parent string) (Account, error) {
	id := a.ID
	if id == "" {
		id = randomAccountID()
	}
	acct := s.newAccount(o, a, id, parent)
	if err := s.store.CreateAccount(ctx, acct, s.createEvent(o, acct)); err != nil {
		return Account{}, err
	}
	if err := s.store.AttachPolicy(ctx, FullAccessID, acct.ID); err != nil {
		return Account{}, err
	}
	return acct, nil
}

// createMemberAccount creates a member account under the root. It completes synchronously.
func (s *Service) createMemberAccount(ctx context.Context, name, email string) (Account, error) {
	o, err := s.Organization(ctx)
	if err != nil {
		return Account{}, err
	}
	spec := AccountSpec{Name: name, Email: email}
	if err := (Spec{Management: spec}).Validate(); err != nil {
		return Account{}, err
	}
	return s.createAccount(ctx, o, spec, o.RootID)
}

// createUnit creates an OU under parent (the root or an OU).
func (s *Service) createUnit(ctx context.Context, parentID, name string) (Unit, error) {
	o, err := s.Organization(ctx)
	if err != nil {
		return Unit{}, err
	}
	if err := s.checkParent(ctx, o, parentID); err != nil {
		return Unit{}, err
	}
	rootSuffix := strings.TrimPrefix(o.RootID, "r-")
	u := Unit{
		ID:       "ou-" + rootSuffix + "-" + randid.String(8, lowerDigits),
		Name:     name,
		ParentID: parentID,
	}
	u.ARN = arn.OrgUnit(o.ManagementAccount, o.ID, u.ID)
	if err := s.store.CreateUnit(ctx, u); err != nil {
		if errs.Is(err, errs.Conflict) {
			return Unit{}, errs.E(errs.Conflict, "an OU named %q exists already in %s", name, parentID).WithCode("DuplicateOrganizationalUnitException")
		}
		return Unit{}, err
	}
	if err := s.store.AttachPolicy(ctx, FullAccessID, u.ID); err != nil {
		return Unit{}, err
	}
	return u, nil
}

func (s *Service) checkParent(ctx context.Context, o Organization, id string) error {
	if id == o.RootID {
		return nil
	}
	if strings.HasPrefix(id, "ou-") {
		_, err := s.Unit(ctx, id)
		return err
	}
	return errs.E(errs.NotFound, "parent %s does not exist", id).WithCode("ParentNotFoundException")
}

// Unit returns an OU.
func (s *Service) Unit(ctx context.Context, id string) (Unit, error) {
	u, err := s.store.GetUnit(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return u, errs.E(errs.NotFound, "organizational unit %s does not exist", id).WithCode("OrganizationalUnitNotFoundException")
	}
	return u, err
}

// Units lists the OUs directly under parent, for other domain services (API callers use
// ListUnits).
func (s *Service) Units(ctx context.Context, parentID string) ([]Unit, error) {
	o, err := s.Organization(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.checkParent(ctx, o, parentID); err != nil {
		return nil, err
	}
	return s.store.ListUnits(ctx, parentID)
}

// Account returns an account by id.
func (s *Service) Account(ctx context.Context, id string) (Account, error) {
	a, err := s.store.GetAccount(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return a, errs.E(errs.NotFound, "account %s does not exist in the organization", id).WithCode("AccountNotFoundException")
	}
	return a, err
}

// AccountByName returns an account by name.
func (s *Service) AccountByName(ctx context.Context, name string) (Account, error) {
	a, err := s.store.GetAccountByName(ctx, name)
	if errs.Is(err, errs.NotFound) {
		return a, errs.E(errs.NotFound, "no account is named %q", name).WithCode("AccountNotFoundException")
	}
	return a, err
}

// createAccountStatus returns the account created by a CreateAccount request.
func (s *Service) createAccountStatus(ctx context.Context, requestID string) (Account, error) {
	a, err := s.store.GetAccountByRequest(ctx, requestID)
	if errs.Is(err, errs.NotFound) {
		return a, errs.E(errs.NotFound, "create account request %s does not exist", requestID).WithCode("CreateAccountStatusNotFoundException")
	}
	return a, err
}

// Accounts lists accounts: all of them for parentID "", else those directly under parentID.
func (s *Service) Accounts(ctx context.Context, parentID string) ([]Account, error) {
	if parentID != "" {
		o, err := s.Organization(ctx)
		if err != nil {
			return nil, err
		}
		if err := s.checkParent(ctx, o, parentID); err != nil {
			return nil, err
		}
	}
	return s.store.ListAccounts(ctx, parentID)
}

// AccountsUnder lists every account under parentID, recursively through nested OUs.
func (s *Service) AccountsUnder(ctx context.Context, parentID string) ([]Account, error) {
	out, err := s.Accounts(ctx, parentID)
	if err != nil {
		return nil, err
	}
	units, err := s.store.ListUnits(ctx, parentID)
	if err != nil {
		return nil, err
	}
	for _, u := range units {
		sub, err := s.AccountsUnder(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

// moveAccount moves an account from one parent to another.
func (s *Service) moveAccount(ctx context.Context, id, from, to string) error {
	o, err := s.Organization(ctx)
	if err != nil {
		return err
	}
	a, err := s.Account(ctx, id)
	if err != nil {
		return err
	}
	if err := s.checkParent(ctx, o, from); err != nil {
		return errs.E(errs.NotFound, "source parent %s does not exist", from).WithCode("SourceParentNotFoundException")
	}
	if err := s.checkParent(ctx, o, to); err != nil {
		return errs.E(errs.NotFound, "destination parent %s does not exist", to).WithCode("DestinationParentNotFoundException")
	}
	if a.ParentID != from {
		return errs.E(errs.NotFound, "account %s is not in %s", id, from).WithCode("AccountNotFoundException")
	}
	if from == to {
		return errs.E(errs.Conflict, "account %s is already in %s", id, to).WithCode("DuplicateAccountException")
	}
	return s.store.MoveAccount(ctx, id, from, to, s.moveEvent(o, a, from, to))
}

// Parents returns the chain of parents of an account or OU, nearest first, ending at the root.
func (s *Service) Parents(ctx context.Context, childID string) ([]string, error) {
	o, err := s.Organization(ctx)
	if err != nil {
		return nil, err
	}
	var parent string
	switch {
	case strings.HasPrefix(childID, "ou-"):
		u, err := s.Unit(ctx, childID)
		if err != nil {
			return nil, err
		}
		parent = u.ParentID
	default:
		a, err := s.Account(ctx, childID)
		if err != nil {
			return nil, err
		}
		parent = a.ParentID
	}
	chain := []string{parent}
	for parent != o.RootID {
		u, err := s.store.GetUnit(ctx, parent)
		if err != nil {
			return nil, err
		}
		parent = u.ParentID
		chain = append(chain, parent)
		if len(chain) > 10 {
			return nil, errs.E(errs.Internal, "OU nesting deeper than 10 levels under %s", childID)
		}
	}
	return chain, nil
}

// SCPLevels returns the service control policies that bound an account's principals, one slice
// per level from the root down to the account itself. It returns nil for the management account
// (exempt, as in AWS) and for accounts outside the organization.
func (s *Service) SCPLevels(ctx context.Context, accountID string) ([][]Policy, error) {
	levels, _, err := s.Bounds(ctx, accountID)
	return levels, err
}

// Bounds returns, from one walk up the tree, an account's SCP levels (as SCPLevels) and its
// principals' aws:PrincipalOrgPaths entry: "o-ID/r-ROOT/ou-…/", down to the account's parent
// ("" outside the organization).
func (s *Service) Bounds(ctx context.Context, accountID string) ([][]Policy, string, error) {
	o, err := s.store.GetOrganization(ctx)
	if errs.Is(err, errs.NotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	chain, err := s.Parents(ctx, accountID)
	if errs.Is(err, errs.NotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	path := o.ID + "/"
	for i := len(chain) - 1; i >= 0; i-- {
		path += chain[i] + "/"
	}
	if accountID == o.ManagementAccount {
		return nil, path, nil
	}
	targets := []string{accountID}
	targets = append(targets, chain...)
	levels := make([][]Policy, 0, len(targets))
	for i := len(targets) - 1; i >= 0; i-- {
		ps, err := s.store.ListPoliciesForTarget(ctx, targets[i])
		if err != nil {
			return nil, "", err
		}
		levels = append(levels, ps)
	}
	return levels, path, nil
}

// createPolicy creates a service control policy whose content has been checked.
func (s *Service) createPolicy(ctx context.Context, name, description, typ, content string) (Policy, error) {
	o, err := s.Organization(ctx)
	if err != nil {
		return Policy{}, err
	}
	if typ != SCPType {
		return Policy{}, errs.E(errs.Invalid, "policy type %s is not supported; only %s is", typ, SCPType).WithCode("PolicyTypeNotAvailableForOrganizationException")
	}
	p := Policy{
		ID: "p-" + randid.String(8, lowerDigits), Name: name, Description: description, Type: typ, Content: content,
	}
	p.ARN = arn.OrgPolicy(o.ManagementAccount, o.ID, SCPType, p.ID)
	if err := s.store.CreatePolicy(ctx, p); err != nil {
		if errs.Is(err, errs.Conflict) {
			return Policy{}, errs.E(errs.Conflict, "a policy named %q exists already", name).WithCode("DuplicatePolicyException")
		}
		return Policy{}, err
	}
	return p, nil
}

// Policy returns a policy.
func (s *Service) Policy(ctx context.Context, id string) (Policy, error) {
	p, err := s.store.GetPolicy(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return p, errs.E(errs.NotFound, "policy %s does not exist", id).WithCode("PolicyNotFoundException")
	}
	return p, err
}

// policies lists the policies of a type.
func (s *Service) policies(ctx context.Context, typ string) ([]Policy, error) {
	if _, err := s.Organization(ctx); err != nil {
		return nil, err
	}
	return s.store.ListPolicies(ctx, typ)
}

func (s *Service) checkTarget(ctx context.Context, targetID string) error {
	o, err := s.Organization(ctx)
	if err != nil {
		return err
	}
	if accountIDRE.MatchString(targetID) {
		_, err = s.Account(ctx, targetID)
	} else {
		err = s.checkParent(ctx, o, targetID)
	}
	if errs.Is(err, errs.NotFound) {
		return errs.E(errs.NotFound, "target %s does not exist", targetID).WithCode("TargetNotFoundException")
	}
	return err
}

// attachPolicy attaches a policy to a root, OU or account.
func (s *Service) attachPolicy(ctx context.Context, policyID, targetID string) error {
	if _, err := s.Policy(ctx, policyID); err != nil {
		return err
	}
	if err := s.checkTarget(ctx, targetID); err != nil {
		return err
	}
	err := s.store.AttachPolicy(ctx, policyID, targetID)
	if errs.Is(err, errs.Conflict) {
		return errs.E(errs.Conflict, "policy %s is already attached to %s", policyID, targetID).WithCode("DuplicatePolicyAttachmentException")
	}
	return err
}

// detachPolicy detaches a policy from a target.
func (s *Service) detachPolicy(ctx context.Context, policyID, targetID string) error {
	if _, err := s.Policy(ctx, policyID); err != nil {
		return err
	}
	if err := s.checkTarget(ctx, targetID); err != nil {
		return err
	}
	err := s.store.DetachPolicy(ctx, policyID, targetID)
	if errs.Is(err, errs.NotFound) {
		return errs.E(errs.NotFound, "policy %s is not attached to %s", policyID, targetID).WithCode("PolicyNotAttachedException")
	}
	return err
}

// targets lists where a policy is attached.
func (s *Service) targets(ctx context.Context, policyID string) ([]string, error) {
	if _, err := s.Policy(ctx, policyID); err != nil {
		return nil, err
	}
	return s.store.ListTargets(ctx, policyID)
}

const lowerDigits = "abcdefghijklmnopqrstuvwxyz0123456789"

func randomAccountID() string {
	return randid.String(1, "123456789") + randid.String(11, "0123456789")
}
