// Package orgsapi serves the AWS Organizations API: the organization, its root, OUs, accounts
// and service control policies. Package org decides who may do what (only principals of the
// management account, except DescribeOrganization); this package only decodes and encodes.
package orgsapi

import (
	"context"
	"time"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/org"
)

// API holds what the handlers need.
type API struct {
	Org    *org.Service
	Tokens *awsapi.PageTokens
}

// Service is the Organizations service: its model, the org service's operations and
// Organizations' error codes.
func (a *API) Service() (*awsapi.Service, error) {
	return awsapi.NewService("organizations", a.handlers(), errorCodes())
}

// handlers returns the Organizations operations.
func (a *API) handlers() map[string]awsapi.Handler {
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

func (a *API) describeOrganization(ctx context.Context, req *awsapi.Request, _ *in) (any, error) {
	o, mgmt, err := a.Org.DescribeOrganization(ctx, apicall.Call(req))
	if err != nil {
		return nil, err
	}
	return map[string]any{"Organization": map[string]any{
		"Id": o.ID, "Arn": o.ARN, "FeatureSet": "ALL", "MasterAccountArn": mgmt.ARN, "MasterAccountId": mgmt.ID,
		"MasterAccountEmail": mgmt.Email, "AvailablePolicyTypes": []policyType{{org.SCPType, "ENABLED"}},
	}}, nil
}

func (a *API) listRoots(ctx context.Context, req *awsapi.Request, _ *in) (any, error) {
	roots, err := a.Org.ListRoots(ctx, apicall.Call(req))
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(roots))
	for _, r := range roots {
		out = append(out, map[string]any{"Id": r.ID, "Arn": r.ARN, "Name": "Root", "PolicyTypes": []policyType{{org.SCPType, "ENABLED"}}})
	}
	return map[string]any{"Roots": out}, nil
}

type ouWire struct{ Id, Arn, Name string }

func ouOut(u org.Unit) ouWire { return ouWire{u.ID, u.ARN, u.Name} }

func (a *API) createOU(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	u, err := a.Org.CreateUnit(ctx, apicall.Call(req), in.ParentId, in.Name)
	if err != nil {
		return nil, err
	}
	return struct{ OrganizationalUnit ouWire }{ouOut(u)}, nil
}

func (a *API) describeOU(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	u, err := a.Org.DescribeUnit(ctx, apicall.Call(req), in.OrganizationalUnitId)
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
	us, err := a.Org.ListUnits(ctx, apicall.Call(req), in.ParentId)
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

func (a *API) createAccount(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	acct, err := a.Org.CreateAccount(ctx, apicall.Call(req), in.AccountName, in.Email, in.RoleName)
	if err != nil {
		return nil, err
	}
	return struct{ CreateAccountStatus createStatusWire }{statusOut(acct)}, nil
}

func (a *API) describeCreateAccountStatus(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	acct, err := a.Org.CreateAccountStatus(ctx, apicall.Call(req), in.CreateAccountRequestId)
	if err != nil {
		return nil, err
	}
	return struct{ CreateAccountStatus createStatusWire }{statusOut(acct)}, nil
}

func (a *API) listAccounts(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	as, err := a.Org.ListAccounts(ctx, apicall.Call(req), in.ParentId)
	if err != nil {
		return nil, err
	}
	start, end, next, err := a.page(req, req.Operation, in, len(as))
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
	acct, err := a.Org.DescribeAccount(ctx, apicall.Call(req), in.AccountId)
	if err != nil {
		return nil, err
	}
	return struct{ Account accountWire }{accountOut(acct)}, nil
}

func (a *API) moveAccount(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	return nil, a.Org.MoveAccount(ctx, apicall.Call(req), in.AccountId, in.SourceParentId, in.DestinationParentId)
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
	p, err := a.Org.CreatePolicy(ctx, apicall.Call(req), in.Name, in.Description, in.Type, in.Content)
	if err != nil {
		return nil, err
	}
	return struct{ Policy policyWire }{policyWire{summary(p), p.Content}}, nil
}

func (a *API) describePolicy(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	p, err := a.Org.DescribePolicy(ctx, apicall.Call(req), in.PolicyId)
	if err != nil {
		return nil, err
	}
	return struct{ Policy policyWire }{policyWire{summary(p), p.Content}}, nil
}

func (a *API) listPolicies(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	ps, err := a.Org.ListPolicies(ctx, apicall.Call(req), in.Filter)
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
		if attach {
			return nil, a.Org.AttachPolicy(ctx, apicall.Call(req), in.PolicyId, in.TargetId)
		}
		return nil, a.Org.DetachPolicy(ctx, apicall.Call(req), in.PolicyId, in.TargetId)
	}
}

type targetWire struct{ TargetId, Arn, Name, Type string }

func (a *API) listTargets(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	ts, err := a.Org.Targets(ctx, apicall.Call(req), in.PolicyId)
	if err != nil {
		return nil, err
	}
	start, end, next, err := a.page(req, "ListTargetsForPolicy", in, len(ts))
	if err != nil {
		return nil, err
	}
	out := make([]targetWire, 0, end-start)
	for _, t := range ts[start:end] {
		out = append(out, targetWire{t.ID, t.ARN, t.Name, t.Type})
	}
	return struct {
		Targets   []targetWire
		NextToken string `json:",omitempty"`
	}{out, next}, nil
}

func (a *API) listParents(ctx context.Context, req *awsapi.Request, in *in) (any, error) {
	ps, err := a.Org.ListParents(ctx, apicall.Call(req), in.ChildId)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, map[string]string{"Id": p.ID, "Type": p.Type})
	}
	return map[string]any{"Parents": out}, nil
}
