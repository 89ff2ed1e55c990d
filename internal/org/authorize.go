package org

import (
	"context"
	"strings"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
)

// Identity is what the organization needs from IAM: decisions, and the access role of a new
// member account. Package identity's Service implements it.
type Identity interface {
	Authorize(ctx context.Context, caller identity.Caller, a identity.Action) (string, error)
	CreateAccessRole(ctx context.Context, account, managementAccount, roleName string) error
}

// UseIdentity sets who decides. Until it is set, every call that serves a caller is denied.
func (s *Service) UseIdentity(id Identity) { s.id = id }

func accessDenied(msg string) error {
	return errs.E(errs.AccessDenied, "You don't have permissions to access this resource.%s", msg).WithCode("AccessDeniedException")
}

// authorize lets only principals of the management account act, and only with every resource
// the operation touches allowed. It decides before anything about the resources is looked up.
func (s *Service) authorize(ctx context.Context, c identity.Call, action string, resources ...string) (Organization, error) {
	o, err := s.Organization(ctx)
	if err != nil {
		return o, err
	}
	return o, s.decide(ctx, c, o, action, resources...)
}

// decide is authorize for an organization already read.
func (s *Service) decide(ctx context.Context, c identity.Call, o Organization, action string, resources ...string) error {
	if s.id == nil {
		return accessDenied(" (no authorizer is configured)")
	}
	if c.Caller.Account != o.ManagementAccount {
		return accessDenied(" Only principals of the management account may call " + action + ".")
	}
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	for _, r := range resources {
		if _, err := s.id.Authorize(ctx, c.Caller, identity.Action{
			Name: "organizations:" + action, Resource: r, ResourceAccount: o.ManagementAccount, Context: c.Context,
		}); err != nil {
			return accessDenied(" " + errs.Message(err))
		}
	}
	return nil
}

// nodeARN is the ARN of a root, OU or account id of the organization, computed from the id
// alone so that authorization needs no lookup.
func nodeARN(o Organization, id string) string {
	switch {
	case strings.HasPrefix(id, "r-"):
		return arn.OrgRoot(o.ManagementAccount, o.ID, id)
	case strings.HasPrefix(id, "ou-"):
		return arn.OrgUnit(o.ManagementAccount, o.ID, id)
	case accountIDRE.MatchString(id):
		return arn.OrgAccount(o.ManagementAccount, o.ID, id)
	}
	return arn.OrgRoot(o.ManagementAccount, o.ID, id) // malformed ids are refused after the decision
}

// policyARN is the ARN of a policy id.
func policyARN(o Organization, id string) string {
	if id == FullAccessID {
		return arn.AWSOrgPolicy(SCPType, id)
	}
	return arn.OrgPolicy(o.ManagementAccount, o.ID, SCPType, id)
}

// DescribeOrganization returns the organization and its management account. Principals of
// every account may call it, with an identity policy that allows it, as in AWS.
func (s *Service) DescribeOrganization(ctx context.Context, c identity.Call) (Organization, Account, error) {
	o, err := s.Organization(ctx)
	if err != nil {
		return o, Account{}, err
	}
	if s.id == nil {
		return o, Account{}, accessDenied(" (no authorizer is configured)")
	}
	if _, err := s.id.Authorize(ctx, c.Caller, identity.Action{
		Name: "organizations:DescribeOrganization", Resource: o.ARN, ResourceAccount: c.Caller.Account, Context: c.Context,
	}); err != nil {
		return o, Account{}, accessDenied(" " + errs.Message(err))
	}
	mgmt, err := s.Account(ctx, o.ManagementAccount)
	return o, mgmt, err
}

// Root is the organization's root as ListRoots shows it.
type Root struct{ ID, ARN string }

// ListRoots returns the root.
func (s *Service) ListRoots(ctx context.Context, c identity.Call) ([]Root, error) {
	o, err := s.authorize(ctx, c, "ListRoots")
	if err != nil {
		return nil, err
	}
	return []Root{{o.RootID, arn.OrgRoot(o.ManagementAccount, o.ID, o.RootID)}}, nil
}

// CreateUnit creates an OU under parent (the root or an OU); the decision is on the parent.
func (s *Service) CreateUnit(ctx context.Context, c identity.Call, parentID, name string) (Unit, error) {
	o, err := s.Organization(ctx)
	if err != nil {
		return Unit{}, err
	}
	if err := s.decide(ctx, c, o, "CreateOrganizationalUnit", nodeARN(o, parentID)); err != nil {
		return Unit{}, err
	}
	return s.createUnit(ctx, parentID, name)
}

// DescribeUnit returns an OU.
func (s *Service) DescribeUnit(ctx context.Context, c identity.Call, id string) (Unit, error) {
	o, err := s.Organization(ctx)
	if err != nil {
		return Unit{}, err
	}
	if err := s.decide(ctx, c, o, "DescribeOrganizationalUnit", arn.OrgUnit(o.ManagementAccount, o.ID, id)); err != nil {
		return Unit{}, err
	}
	return s.Unit(ctx, id)
}

// ListUnits lists the OUs directly under parent.
func (s *Service) ListUnits(ctx context.Context, c identity.Call, parentID string) ([]Unit, error) {
	o, err := s.Organization(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.decide(ctx, c, o, "ListOrganizationalUnitsForParent", nodeARN(o, parentID)); err != nil {
		return nil, err
	}
	return s.Units(ctx, parentID)
}

// CreateAccount creates a member account under the root and, as AWS does, a role in it that
// the management account may assume (OrganizationAccountAccessRole unless roleName says
// otherwise). It completes synchronously.
func (s *Service) CreateAccount(ctx context.Context, c identity.Call, name, email, roleName string) (Account, error) {
	o, err := s.authorize(ctx, c, "CreateAccount")
	if err != nil {
		return Account{}, err
	}
	acct, err := s.createMemberAccount(ctx, name, email)
	if err != nil {
		if errs.Is(err, errs.Conflict) {
			return Account{}, errs.E(errs.Conflict, "an account with this name or email exists already").WithCode("DuplicateAccountException")
		}
		return Account{}, err
	}
	if err := s.id.CreateAccessRole(ctx, acct.ID, o.ManagementAccount, roleName); err != nil {
		return Account{}, err
	}
	return acct, nil
}

// CreateAccountStatus returns the account created by a CreateAccount request.
func (s *Service) CreateAccountStatus(ctx context.Context, c identity.Call, requestID string) (Account, error) {
	if _, err := s.authorize(ctx, c, "DescribeCreateAccountStatus"); err != nil {
		return Account{}, err
	}
	return s.createAccountStatus(ctx, requestID)
}

// ListAccounts lists every account (parentID "", ListAccounts) or those directly under
// parentID (ListAccountsForParent, decided on the parent).
func (s *Service) ListAccounts(ctx context.Context, c identity.Call, parentID string) ([]Account, error) {
	if parentID == "" {
		if _, err := s.authorize(ctx, c, "ListAccounts"); err != nil {
			return nil, err
		}
		return s.Accounts(ctx, "")
	}
	o, err := s.Organization(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.decide(ctx, c, o, "ListAccountsForParent", nodeARN(o, parentID)); err != nil {
		return nil, err
	}
	return s.Accounts(ctx, parentID)
}

// DescribeAccount returns an account.
func (s *Service) DescribeAccount(ctx context.Context, c identity.Call, id string) (Account, error) {
	o, err := s.Organization(ctx)
	if err != nil {
		return Account{}, err
	}
	if err := s.decide(ctx, c, o, "DescribeAccount", arn.OrgAccount(o.ManagementAccount, o.ID, id)); err != nil {
		return Account{}, err
	}
	return s.Account(ctx, id)
}

// MoveAccount moves an account from one parent to another; the decision covers the account
// and both parents.
func (s *Service) MoveAccount(ctx context.Context, c identity.Call, id, from, to string) error {
	o, err := s.Organization(ctx)
	if err != nil {
		return err
	}
	if err := s.decide(ctx, c, o, "MoveAccount", arn.OrgAccount(o.ManagementAccount, o.ID, id), nodeARN(o, from), nodeARN(o, to)); err != nil {
		return err
	}
	return s.moveAccount(ctx, id, from, to)
}

// CreatePolicy creates a service control policy, checked as an SCP.
func (s *Service) CreatePolicy(ctx context.Context, c identity.Call, name, description, typ, content string) (Policy, error) {
	if _, err := s.authorize(ctx, c, "CreatePolicy"); err != nil {
		return Policy{}, err
	}
	if err := identity.CheckPolicy("scp", content); err != nil {
		if errs.Is(err, errs.LimitExceeded) {
			return Policy{}, errs.E(errs.Invalid, "%s", errs.Message(err)).WithCode("ConstraintViolationException")
		}
		return Policy{}, errs.E(errs.Invalid, "%s", errs.Message(err)).WithCode("MalformedPolicyDocumentException")
	}
	return s.createPolicy(ctx, name, description, typ, content)
}

// DescribePolicy returns a policy.
func (s *Service) DescribePolicy(ctx context.Context, c identity.Call, id string) (Policy, error) {
	o, err := s.Organization(ctx)
	if err != nil {
		return Policy{}, err
	}
	if err := s.decide(ctx, c, o, "DescribePolicy", policyARN(o, id)); err != nil {
		return Policy{}, err
	}
	return s.Policy(ctx, id)
}

// ListPolicies lists the policies of a type.
func (s *Service) ListPolicies(ctx context.Context, c identity.Call, typ string) ([]Policy, error) {
	if _, err := s.authorize(ctx, c, "ListPolicies"); err != nil {
		return nil, err
	}
	if typ != SCPType {
		return nil, errs.E(errs.Invalid, "policy type %s is not enabled; only %s is", typ, SCPType).WithCode("PolicyTypeNotEnabledException")
	}
	return s.policies(ctx, typ)
}

// AttachPolicy attaches a policy to a root, OU or account; the decision covers both.
func (s *Service) AttachPolicy(ctx context.Context, c identity.Call, policyID, targetID string) error {
	o, err := s.Organization(ctx)
	if err != nil {
		return err
	}
	if err := s.decide(ctx, c, o, "AttachPolicy", policyARN(o, policyID), nodeARN(o, targetID)); err != nil {
		return err
	}
	return s.attachPolicy(ctx, policyID, targetID)
}

// DetachPolicy detaches a policy from a target; the decision covers both.
func (s *Service) DetachPolicy(ctx context.Context, c identity.Call, policyID, targetID string) error {
	o, err := s.Organization(ctx)
	if err != nil {
		return err
	}
	if err := s.decide(ctx, c, o, "DetachPolicy", policyARN(o, policyID), nodeARN(o, targetID)); err != nil {
		return err
	}
	return s.detachPolicy(ctx, policyID, targetID)
}

// Target is a root, OU or account a policy is attached to.
type Target struct{ ID, ARN, Name, Type string }

// Targets lists where a policy is attached.
func (s *Service) Targets(ctx context.Context, c identity.Call, policyID string) ([]Target, error) {
	o, err := s.Organization(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.decide(ctx, c, o, "ListTargetsForPolicy", policyARN(o, policyID)); err != nil {
		return nil, err
	}
	ids, err := s.targets(ctx, policyID)
	if err != nil {
		return nil, err
	}
	out := make([]Target, 0, len(ids))
	for _, id := range ids {
		t := Target{ID: id, ARN: nodeARN(o, id)}
		switch {
		case id == o.RootID:
			t.Name, t.Type = "Root", "ROOT"
		case strings.HasPrefix(id, "ou-"):
			u, err := s.Unit(ctx, id)
			if err != nil {
				return nil, err
			}
			t.Name, t.Type = u.Name, "ORGANIZATIONAL_UNIT"
		default:
			a, err := s.Account(ctx, id)
			if err != nil {
				return nil, err
			}
			t.Name, t.Type = a.Name, "ACCOUNT"
		}
		out = append(out, t)
	}
	return out, nil
}

// Parent is the direct parent of an account or OU: its id and "ROOT" or "ORGANIZATIONAL_UNIT".
type Parent struct{ ID, Type string }

// ListParents returns the direct parent of an account or OU.
func (s *Service) ListParents(ctx context.Context, c identity.Call, childID string) ([]Parent, error) {
	o, err := s.Organization(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.decide(ctx, c, o, "ListParents", nodeARN(o, childID)); err != nil {
		return nil, err
	}
	chain, err := s.Parents(ctx, childID)
	if err != nil {
		return nil, err
	}
	typ := "ORGANIZATIONAL_UNIT"
	if chain[0] == o.RootID {
		typ = "ROOT"
	}
	return []Parent{{chain[0], typ}}, nil
}
