// Package orgsapi serves the AWS Organizations API: the organization, its root, OUs, accounts
// and service control policies. Only principals of the management account may call it (with an
// identity policy allowing the action), except DescribeOrganization, which every member may call.
package orgsapi

import (
	"context"
	"time"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/org"
)

// API holds what the handlers need.
type API struct {
	Org      *org.Service
	Identity *identity.Service
	Tokens   *awsapi.PageTokens
}

// Handlers returns the Organizations operations.
func (a *API) Handlers() map[string]awsapi.Handler {
	return map[string]awsapi.Handler{
		"DescribeOrganization":             apicall.Handle(a.describeOrganization),
		"ListRoots":                        apicall.Handle(a.listRoots),
		"CreateOrganizationalUnit":         apicall.Handle(a.createOU),
		"DescribeOrganizationalUnit":       apicall.Handle(a.describeOU),
		"ListOrganizationalUnitsForParent": apicall.Handle(a.listOUs),
		"CreateAccount":                    apicall.Handle(a.createAccount),
		"DescribeCreateAccountStatus":      apicall.Handle(a.describeCreateAccountStatus),
		"ListAccounts":                     apicall.Handle(a.listAccounts),
		"ListAccountsForParent":            apicall.Handle(a.listAccounts),
		"DescribeAccount":                  apicall.Handle(a.describeAccount),
		"MoveAccount":                      apicall.Handle(a.moveAccount),
		"CreatePolicy":                     apicall.Handle(a.createPolicy),
		"DescribePolicy":                   apicall.Handle(a.describePolicy),
		"ListPolicies":                     apicall.Handle(a.listPolicies),
		"AttachPolicy":                     apicall.Handle(a.attachPolicy(true)),
		"DetachPolicy":                     apicall.Handle(a.attachPolicy(false)),
		"ListTargetsForPolicy":             apicall.Handle(a.listTargets),
		"ListParents":                      apicall.Handle(a.listParents),
	}
}

// authorize lets only the management account's principals act, with an identity policy that
// allows the action.
func (a *API) authorize(ctx context.Context, req *awsapi.Request, action, resource string) (org.Organization, error) {
	o, err := a.Org.Organization(ctx)
	if err != nil {
		return o, err
	}
	c := apicall.Caller(req.Caller)
	if c.Account != o.ManagementAccount {
		return o, errs.E(errs.AccessDenied, "You don't have permissions to access this resource: only principals of the management account may call %s", action).WithCode("AccessDeniedException")
	}
	if resource == "" {
		resource = "*"
	}
	if _, err := a.Identity.Authorize(ctx, c, identity.Action{
		Name: "organizations:" + action, Resource: resource, ResourceAccount: o.ManagementAccount, Context: apicall.Context(req),
	}); err != nil {
		return o, errs.E(errs.AccessDenied, "You don't have permissions to access this resource: %s", errs.Message(err)).WithCode("AccessDeniedException")
	}
	return o, nil
}

type in struct {
	ParentId               string
	Name                   string
	OrganizationalUnitId   string
	Email                  string
	AccountName            string
	AccountId              string
	CreateAccountRequestId string
	SourceParentId         string
	DestinationParentId    string
	Content                string
	Description            string
	Type                   string
	Filter                 string
	PolicyId               string
	TargetId               string
	ChildId                string
	NextToken              string
	MaxResults             int
	Tags                   []apicall.Tag
	IamUserAccessToBilling string
	RoleName               string
}

type policyType struct{ Type, Status string }

// describeOrganization is open to principals of every member account whose identity policy
// allows organizations:DescribeOrganization, as in AWS.
func (a *API) describeOrganization(ctx context.Context, req *awsapi.Request, _ *in) (any, error) {
	o, err := a.Org.Organization(ctx)
	if err != nil {
		return nil, err
	}
	c := apicall.Caller(req.Caller)
	if _, err := a.Identity.Authorize(ctx, c, identity.Action{
		Name: "organizations:DescribeOrganization", Resource: o.ARN, ResourceAccount: c.Account, Context: apicall.Context(req),
	}); err != nil {
		return nil, errs.E(errs.AccessDenied, "You don't have permissions to access this resource: %s", errs.Message(err)).WithCode("AccessDeniedException")
	}
	mgmt, err := a.Org.Account(ctx, o.ManagementAccount)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Organization": map[string]any{
		"Id": o.ID, "Arn": o.ARN, "FeatureSet": "ALL", "MasterAccountArn": mgmt.ARN, "MasterAccountId": mgmt.ID,
		"MasterAccountEmail": mgmt.Email, "AvailablePolicyTypes": []policyType{{org.SCPType, "ENABLED"}},
	}}, nil
}

func rootARN(o org.Organization) string {
	return "arn:aws:organizations::" + o.ManagementAccount + ":root/" + o.ID + "/" + o.RootID
}

func (a *API) listRoots(ctx context.Context, req *awsapi.Request, _ *in) (any, error) {
	o, err := a.authorize(ctx, req, "ListRoots", "")
	if err != nil {
		return nil, err
	}
	return map[string]any{"Roots": []map[string]any{{
		"Id": o.RootID, "Arn": rootARN(o), "Name": "Root", "PolicyTypes": []policyType{{org.SCPType, "ENABLED"}},
	}}}, nil
}

type ouWire struct{ Id, Arn, Name string }

func ouOut(u org.Unit) ouWire { return ouWire{u.ID, u.ARN, u.Name} }

func (a *API) createOU(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	if _, err := a.authorize(ctx, req, "CreateOrganizationalUnit", ""); err != nil {
		return nil, err
	}
	u, err := a.Org.CreateUnit(ctx, in.ParentId, in.Name)
	if err != nil {
		return nil, err
	}
	return struct{ OrganizationalUnit ouWire }{ouOut(u)}, nil
}

func (a *API) describeOU(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	if _, err := a.authorize(ctx, req, "DescribeOrganizationalUnit", ""); err != nil {
		return nil, err
	}
	u, err := a.Org.Unit(ctx, in.OrganizationalUnitId)
	if err != nil {
		return nil, err
	}
	return struct{ OrganizationalUnit ouWire }{ouOut(u)}, nil
}

// page slices a full listing by the offset NextToken carries.
func (a *API) page(req *awsapi.Request, op string, in *in, total int) (start, end int, next string, err error) {
	scope := "organizations/" + op + "/" + in.ParentId + "/" + in.Filter + "/" + in.PolicyId
	if in.NextToken != "" {
		if err := a.Tokens.Decode(scope, in.NextToken, &start); err != nil {
			return 0, 0, "", errs.E(errs.Invalid, "The NextToken is not valid.").WithCode("InvalidInputException")
		}
	}
	max := in.MaxResults
	if max <= 0 {
		max = 20
	}
	start = min(start, total)
	end = min(start+max, total)
	if end < total {
		next, err = a.Tokens.Encode(scope, end)
	}
	return start, end, next, err
}

func (a *API) listOUs(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	if _, err := a.authorize(ctx, req, "ListOrganizationalUnitsForParent", ""); err != nil {
		return nil, err
	}
	us, err := a.Org.Units(ctx, in.ParentId)
	if err != nil {
		return nil, err
	}
	start, end, next, err := a.page(req, "ListOrganizationalUnitsForParent", in, len(us))
	if err != nil {
		return nil, err
	}
	out := make([]ouWire, 0, end-start)
	for _, u := range us[start:end] {
		out = append(out, ouOut(u))
	}
	return struct {
		OrganizationalUnits []ouWire
		NextToken           string `json:",omitempty"`
	}{out, next}, nil
}

type accountWire struct {
	Id, Arn, Email, Name, Status, JoinedMethod string
	JoinedTimestamp                            time.Time
}

func accountOut(a org.Account) accountWire {
	return accountWire{a.ID, a.ARN, a.Email, a.Name, a.Status, a.JoinedMethod, a.JoinedAt}
}

type createStatusWire struct {
	Id                 string
	AccountName        string
	State              string
	RequestedTimestamp time.Time
	CompletedTimestamp time.Time
	AccountId          string
}

func statusOut(a org.Account) createStatusWire {
	return createStatusWire{a.CreateRequestID, a.Name, "SUCCEEDED", a.JoinedAt, a.JoinedAt, a.ID}
}

// createAccount creates the account and, as AWS does, a role in it that the management account
// may assume (OrganizationAccountAccessRole unless RoleName says otherwise).
func (a *API) createAccount(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	o, err := a.authorize(ctx, req, "CreateAccount", "")
	if err != nil {
		return nil, err
	}
	acct, err := a.Org.CreateAccount(ctx, in.AccountName, in.Email)
	if err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errs.E(errs.Conflict, "an account with this name or email exists already").WithCode("DuplicateAccountException")
		}
		return nil, err
	}
	if err := a.Identity.CreateAccessRole(ctx, acct.ID, o.ManagementAccount, in.RoleName); err != nil {
		return nil, err
	}
	return struct{ CreateAccountStatus createStatusWire }{statusOut(acct)}, nil
}

func (a *API) describeCreateAccountStatus(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	if _, err := a.authorize(ctx, req, "DescribeCreateAccountStatus", ""); err != nil {
		return nil, err
	}
	acct, err := a.Org.CreateAccountStatus(ctx, in.CreateAccountRequestId)
	if err != nil {
		return nil, err
	}
	return struct{ CreateAccountStatus createStatusWire }{statusOut(acct)}, nil
}

func (a *API) listAccounts(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	op := "ListAccounts"
	if in.ParentId != "" {
		op = "ListAccountsForParent"
	}
	if _, err := a.authorize(ctx, req, op, ""); err != nil {
		return nil, err
	}
	as, err := a.Org.Accounts(ctx, in.ParentId)
	if err != nil {
		return nil, err
	}
	start, end, next, err := a.page(req, op, in, len(as))
	if err != nil {
		return nil, err
	}
	out := make([]accountWire, 0, end-start)
	for _, acct := range as[start:end] {
		out = append(out, accountOut(acct))
	}
	return struct {
		Accounts  []accountWire
		NextToken string `json:",omitempty"`
	}{out, next}, nil
}

func (a *API) describeAccount(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	if _, err := a.authorize(ctx, req, "DescribeAccount", ""); err != nil {
		return nil, err
	}
	acct, err := a.Org.Account(ctx, in.AccountId)
	if err != nil {
		return nil, err
	}
	return struct{ Account accountWire }{accountOut(acct)}, nil
}

func (a *API) moveAccount(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	if _, err := a.authorize(ctx, req, "MoveAccount", ""); err != nil {
		return nil, err
	}
	return nil, a.Org.MoveAccount(ctx, in.AccountId, in.SourceParentId, in.DestinationParentId)
}

type policySummary struct {
	Id, Arn, Name, Description, Type string
	AwsManaged                       bool
}

func summary(p org.Policy) policySummary {
	return policySummary{p.ID, p.ARN, p.Name, p.Description, p.Type, p.AWSManaged}
}

type policyWire struct {
	PolicySummary policySummary
	Content       string
}

func (a *API) createPolicy(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	if _, err := a.authorize(ctx, req, "CreatePolicy", ""); err != nil {
		return nil, err
	}
	if err := identity.CheckPolicy("scp", in.Content); err != nil {
		return nil, errs.E(errs.Invalid, "%s", errs.Message(err)).WithCode("MalformedPolicyDocumentException")
	}
	p, err := a.Org.CreatePolicy(ctx, in.Name, in.Description, in.Type, in.Content)
	if err != nil {
		return nil, err
	}
	return struct{ Policy policyWire }{policyWire{summary(p), p.Content}}, nil
}

func (a *API) describePolicy(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	if _, err := a.authorize(ctx, req, "DescribePolicy", ""); err != nil {
		return nil, err
	}
	p, err := a.Org.Policy(ctx, in.PolicyId)
	if err != nil {
		return nil, err
	}
	return struct{ Policy policyWire }{policyWire{summary(p), p.Content}}, nil
}

func (a *API) listPolicies(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	if _, err := a.authorize(ctx, req, "ListPolicies", ""); err != nil {
		return nil, err
	}
	if in.Filter != org.SCPType {
		return nil, errs.E(errs.Invalid, "policy type %s is not enabled; only %s is", in.Filter, org.SCPType).WithCode("PolicyTypeNotEnabledException")
	}
	ps, err := a.Org.Policies(ctx, in.Filter)
	if err != nil {
		return nil, err
	}
	start, end, next, err := a.page(req, "ListPolicies", in, len(ps))
	if err != nil {
		return nil, err
	}
	out := make([]policySummary, 0, end-start)
	for _, p := range ps[start:end] {
		out = append(out, summary(p))
	}
	return struct {
		Policies  []policySummary
		NextToken string `json:",omitempty"`
	}{out, next}, nil
}

func (a *API) attachPolicy(attach bool) func(context.Context, *awsapi.Request, *in) (any, error) {
	return func(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
		op := "DetachPolicy"
		if attach {
			op = "AttachPolicy"
		}
		if _, err := a.authorize(ctx, req, op, ""); err != nil {
			return nil, err
		}
		if attach {
			return nil, a.Org.AttachPolicy(ctx, in.PolicyId, in.TargetId)
		}
		return nil, a.Org.DetachPolicy(ctx, in.PolicyId, in.TargetId)
	}
}

type targetWire struct{ TargetId, Arn, Name, Type string }

func (a *API) target(ctx context.Context, o org.Organization, id string) (targetWire, error) {
	switch {
	case id == o.RootID:
		return targetWire{id, rootARN(o), "Root", "ROOT"}, nil
	case len(id) > 3 && id[:3] == "ou-":
		u, err := a.Org.Unit(ctx, id)
		return targetWire{id, u.ARN, u.Name, "ORGANIZATIONAL_UNIT"}, err
	default:
		acct, err := a.Org.Account(ctx, id)
		return targetWire{id, acct.ARN, acct.Name, "ACCOUNT"}, err
	}
}

func (a *API) listTargets(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	o, err := a.authorize(ctx, req, "ListTargetsForPolicy", "")
	if err != nil {
		return nil, err
	}
	ids, err := a.Org.Targets(ctx, in.PolicyId)
	if err != nil {
		return nil, err
	}
	start, end, next, err := a.page(req, "ListTargetsForPolicy", in, len(ids))
	if err != nil {
		return nil, err
	}
	out := make([]targetWire, 0, end-start)
	for _, id := range ids[start:end] {
		t, err := a.target(ctx, o, id)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return struct {
		Targets   []targetWire
		NextToken string `json:",omitempty"`
	}{out, next}, nil
}

func (a *API) listParents(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	o, err := a.authorize(ctx, req, "ListParents", "")
	if err != nil {
		return nil, err
	}
	chain, err := a.Org.Parents(ctx, in.ChildId)
	if err != nil {
		return nil, err
	}
	typ := "ORGANIZATIONAL_UNIT"
	if chain[0] == o.RootID {
		typ = "ROOT"
	}
	return map[string]any{"Parents": []map[string]string{{"Id": chain[0], "Type": typ}}}, nil
}
