// Package iamapi serves the IAM and STS APIs (awsQuery protocol): users, roles, inline and
// managed policies, access keys, AssumeRole and GetCallerIdentity. Business rules and every
// authorization decision live in package identity; this package only decodes and encodes.
package iamapi

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
)

// API holds what the handlers need.
type API struct {
	Identity *identity.Service
	Tokens   *awsapi.PageTokens
}

// IAMService is the IAM service: its model, the identity service's IAM operations and IAM's
// error codes.
func (a *API) IAMService() (*awsapi.Service, error) {
	return awsapi.NewService("iam", a.iamHandlers(), iamErrorCodes())
}

// iamHandlers returns the IAM operations.
func (a *API) iamHandlers() map[string]awsapi.Handler {
	return map[string]awsapi.Handler{
		"CreateUser":                         apicall.Handle(a.createUser),
		"GetUser":                            apicall.Handle(a.getUser),
		"CreateRole":                         apicall.Handle(a.createRole),
		"GetRole":                            apicall.Handle(a.getRole),
		"ListRoles":                          apicall.Handle(a.listRoles),
		"DeleteRole":                         apicall.Handle(a.deleteRole),
		"PutRolePolicy":                      apicall.Handle(a.putPolicy(identity.KindRole)),
		"GetRolePolicy":                      apicall.Handle(a.getPolicy(identity.KindRole)),
		"DeleteRolePolicy":                   apicall.Handle(a.deletePolicy(identity.KindRole)),
		"ListRolePolicies":                   apicall.Handle(a.listPolicies(identity.KindRole)),
		"PutUserPolicy":                      apicall.Handle(a.putPolicy(identity.KindUser)),
		"GetUserPolicy":                      apicall.Handle(a.getPolicy(identity.KindUser)),
		"DeleteUserPolicy":                   apicall.Handle(a.deletePolicy(identity.KindUser)),
		"CreateAccessKey":                    apicall.Handle(a.createAccessKey),
		"ListAccessKeys":                     apicall.Handle(a.listAccessKeys),
		"DeleteAccessKey":                    apicall.Handle(a.deleteAccessKey),
		"CreatePolicy":                       apicall.Handle(a.createManaged),
		"GetPolicy":                          apicall.Handle(a.getManaged),
		"DeletePolicy":                       apicall.Handle(a.deleteManaged),
		"ListPolicies":                       apicall.Handle(a.listManaged),
		"AttachRolePolicy":                   apicall.Handle(a.attach(identity.KindRole, true)),
		"DetachRolePolicy":                   apicall.Handle(a.attach(identity.KindRole, false)),
		"ListAttachedRolePolicies":           apicall.Handle(a.listAttached(identity.KindRole)),
		"AttachUserPolicy":                   apicall.Handle(a.attach(identity.KindUser, true)),
		"DetachUserPolicy":                   apicall.Handle(a.attach(identity.KindUser, false)),
		"ListUsers":                          apicall.Handle(a.listUsers),
		"DeleteUser":                         apicall.Handle(a.deleteUser),
		"ListUserPolicies":                   apicall.Handle(a.listPolicies(identity.KindUser)),
		"ListAttachedUserPolicies":           apicall.Handle(a.listAttached(identity.KindUser)),
		"CreateServiceLinkedRole":            apicall.Handle(a.createServiceLinkedRole),
		"DeleteServiceLinkedRole":            apicall.Handle(a.deleteServiceLinkedRole),
		"GetServiceLinkedRoleDeletionStatus": apicall.Handle(a.getServiceLinkedRoleDeletionStatus),
	}
}

// encodePolicy percent-encodes a policy document as IAM returns it (SDKs decode it).
func encodePolicy(doc string) string { return url.PathEscape(doc) }

type userWire struct {
	Path       string
	UserName   string
	UserId     string
	Arn        string
	CreateDate time.Time
	Tags       []apicall.Tag `json:",omitempty"`
}

func tagList(m map[string]string) []apicall.Tag {
	var out []apicall.Tag
	for k, v := range m {
		out = append(out, apicall.Tag{Key: k, Value: v})
	}
	return out
}

func userOut(p identity.Principal) userWire {
	return userWire{Path: p.Path, UserName: p.Name, UserId: p.ID, Arn: p.ARN, CreateDate: p.CreatedAt, Tags: tagList(p.Tags)}
}

type principalIn struct {
	UserName                 string
	RoleName                 string
	Path                     string
	PathPrefix               string
	AssumeRolePolicyDocument string
	Description              string
	MaxSessionDuration       int
	Tags                     []apicall.Tag
	PolicyName               string
	PolicyDocument           string
	PolicyArn                string
	AccessKeyId              string
	Marker                   string
	MaxItems                 int
	Scope                    string
	OnlyAttached             bool
}

func (a *API) createUser(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
	tags, err := apicall.TagMap(in.Tags)
	if err != nil {
		return nil, err
	}
	p, err := a.Identity.CreateUser(ctx, apicall.Call(req), in.UserName, in.Path, tags)
	if err != nil {
		return nil, err
	}
	return struct{ User userWire }{userOut(p)}, nil
}

func (a *API) getUser(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
	p, err := a.Identity.DescribePrincipal(ctx, apicall.Call(req), identity.KindUser, in.UserName)
	if err != nil {
		return nil, err
	}
	return struct{ User userWire }{userOut(p)}, nil
}

type roleWire struct {
	Path                     string
	RoleName                 string
	RoleId                   string
	Arn                      string
	CreateDate               time.Time
	AssumeRolePolicyDocument string
	Description              string `json:",omitempty"`
	MaxSessionDuration       int
	Tags                     []apicall.Tag `json:",omitempty"`
}

func roleOut(p identity.Principal) roleWire {
	return roleWire{
		Path: p.Path, RoleName: p.Name, RoleId: p.ID, Arn: p.ARN, CreateDate: p.CreatedAt,
		AssumeRolePolicyDocument: encodePolicy(p.TrustPolicy), Description: p.Description,
		MaxSessionDuration: p.MaxSessionDuration, Tags: tagList(p.Tags),
	}
}

func (a *API) createRole(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
	tags, err := apicall.TagMap(in.Tags)
	if err != nil {
		return nil, err
	}
	p, err := a.Identity.CreateRole(ctx, apicall.Call(req), identity.RoleSpec{
		Name: in.RoleName, Path: in.Path, TrustPolicy: in.AssumeRolePolicyDocument, Description: in.Description,
		MaxSessionDuration: in.MaxSessionDuration, Tags: tags,
	})
	if err != nil {
		return nil, err
	}
	return struct{ Role roleWire }{roleOut(p)}, nil
}

func (a *API) getRole(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
	p, err := a.Identity.DescribePrincipal(ctx, apicall.Call(req), identity.KindRole, in.RoleName)
	if err != nil {
		return nil, err
	}
	return struct{ Role roleWire }{roleOut(p)}, nil
}

// marker pages IAM lists: Marker carries the offset; IsTruncated says whether more follow.
func (a *API) marker(req *awsapi.Request, op string, in *principalIn, total int) (start, end int, next string, err error) {
	scope := "iam/" + op + "/" + req.Caller.Account
	if in.Marker != "" {
		if err := a.Tokens.Decode(scope, in.Marker, &start); err != nil {
			return 0, 0, "", errs.E(errs.Invalid, "Invalid Marker.").WithCode("ValidationError")
		}
	}
	max := in.MaxItems
	if max <= 0 {
		max = 100
	}
	start = min(start, total)
	end = min(start+max, total)
	if end < total {
		next, err = a.Tokens.Encode(scope, end)
	}
	return start, end, next, err
}

func (a *API) listRoles(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
	roles, err := a.Identity.Principals(ctx, apicall.Call(req), identity.KindRole, in.PathPrefix)
	if err != nil {
		return nil, err
	}
	start, end, next, err := a.marker(req, "ListRoles", in, len(roles))
	if err != nil {
		return nil, err
	}
	out := make([]roleWire, 0, end-start)
	for _, r := range roles[start:end] {
		out = append(out, roleOut(r))
	}
	return struct {
		Roles       []roleWire
		IsTruncated bool
		Marker      string `json:",omitempty"`
	}{out, next != "", next}, nil
}

func (a *API) deleteRole(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
	return nil, a.Identity.DeletePrincipal(ctx, apicall.Call(req), identity.KindRole, in.RoleName)
}

func kindName(kind string, in *principalIn) string {
	if kind == identity.KindRole {
		return in.RoleName
	}
	return in.UserName
}

func (a *API) putPolicy(kind string) func(context.Context, *awsapi.Request, *principalIn) (any, error) {
	return func(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
		return nil, a.Identity.PutInlinePolicy(ctx, apicall.Call(req), kind, kindName(kind, in), in.PolicyName, in.PolicyDocument)
	}
}

func (a *API) getPolicy(kind string) func(context.Context, *awsapi.Request, *principalIn) (any, error) {
	return func(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
		name := kindName(kind, in)
		p, err := a.Identity.InlinePolicy(ctx, apicall.Call(req), kind, name, in.PolicyName)
		if err != nil {
			return nil, err
		}
		if kind == identity.KindRole {
			return map[string]string{"RoleName": name, "PolicyName": p.Name, "PolicyDocument": encodePolicy(p.Document)}, nil
		}
		return map[string]string{"UserName": name, "PolicyName": p.Name, "PolicyDocument": encodePolicy(p.Document)}, nil
	}
}

func (a *API) deletePolicy(kind string) func(context.Context, *awsapi.Request, *principalIn) (any, error) {
	return func(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
		return nil, a.Identity.DeleteInlinePolicy(ctx, apicall.Call(req), kind, kindName(kind, in), in.PolicyName)
	}
}

func (a *API) listPolicies(kind string) func(context.Context, *awsapi.Request, *principalIn) (any, error) {
	return func(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
		name := kindName(kind, in)
		ps, err := a.Identity.InlinePolicies(ctx, apicall.Call(req), kind, name)
		if err != nil {
			return nil, err
		}
		start, end, next, err := a.marker(req, "List"+kind+"Policies/"+name, in, len(ps))
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, end-start)
		for _, p := range ps[start:end] {
			names = append(names, p.Name)
		}
		return struct {
			PolicyNames []string
			IsTruncated bool
			Marker      string `json:",omitempty"`
		}{names, next != "", next}, nil
	}
}

type keyWire struct {
	UserName        string
	AccessKeyId     string
	Status          string
	SecretAccessKey string `json:",omitempty"`
	CreateDate      time.Time
}

func (a *API) createAccessKey(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
	k, err := a.Identity.CreateAccessKey(ctx, apicall.Call(req), in.UserName)
	if err != nil {
		return nil, err
	}
	return struct{ AccessKey keyWire }{keyWire{k.UserName, k.ID, k.Status, k.Secret, k.CreatedAt}}, nil
}

func (a *API) listAccessKeys(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
	name, keys, err := a.Identity.AccessKeys(ctx, apicall.Call(req), in.UserName)
	if err != nil {
		return nil, err
	}
	out := make([]keyWire, 0, len(keys))
	for _, k := range keys {
		out = append(out, keyWire{UserName: name, AccessKeyId: k.ID, Status: k.Status, CreateDate: k.CreatedAt})
	}
	return struct {
		AccessKeyMetadata []keyWire
		IsTruncated       bool
	}{out, false}, nil
}

func (a *API) deleteAccessKey(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
	return nil, a.Identity.DeleteAccessKey(ctx, apicall.Call(req), in.UserName, in.AccessKeyId)
}

type managedWire struct {
	PolicyName                    string
	PolicyId                      string
	Arn                           string
	Path                          string
	DefaultVersionId              string
	AttachmentCount               int
	PermissionsBoundaryUsageCount int
	IsAttachable                  bool
	Description                   string `json:",omitempty"`
	CreateDate                    time.Time
	UpdateDate                    time.Time
}

func managedOut(p identity.ManagedPolicy) managedWire {
	return managedWire{
		PolicyName: p.Name, PolicyId: p.ID, Arn: p.ARN, Path: p.Path, DefaultVersionId: "v1",
		AttachmentCount: p.Attachments, IsAttachable: true, Description: p.Description,
		CreateDate: p.CreatedAt, UpdateDate: p.UpdatedAt,
	}
}

func (a *API) createManaged(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
	p, err := a.Identity.CreateManagedPolicy(ctx, apicall.Call(req), in.PolicyName, in.Path, in.Description, in.PolicyDocument)
	if err != nil {
		return nil, err
	}
	return struct{ Policy managedWire }{managedOut(p)}, nil
}

func (a *API) getManaged(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
	p, err := a.Identity.DescribeManagedPolicy(ctx, apicall.Call(req), in.PolicyArn)
	if err != nil {
		return nil, err
	}
	return struct{ Policy managedWire }{managedOut(p)}, nil
}

func (a *API) deleteManaged(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
	return nil, a.Identity.DeleteManagedPolicy(ctx, apicall.Call(req), in.PolicyArn)
}

func (a *API) listManaged(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
	all, err := a.Identity.ManagedPolicies(ctx, apicall.Call(req), in.Scope)
	if err != nil {
		return nil, err
	}
	var ps []identity.ManagedPolicy
	prefix := in.PathPrefix
	for _, p := range all {
		if strings.HasPrefix(p.Path, prefix) && (!in.OnlyAttached || p.Attachments > 0) {
			ps = append(ps, p)
		}
	}
	start, end, next, err := a.marker(req, "ListPolicies", in, len(ps))
	if err != nil {
		return nil, err
	}
	out := make([]managedWire, 0, end-start)
	for _, p := range ps[start:end] {
		out = append(out, managedOut(p))
	}
	return struct {
		Policies    []managedWire
		IsTruncated bool
		Marker      string `json:",omitempty"`
	}{out, next != "", next}, nil
}

func (a *API) attach(kind string, attach bool) func(context.Context, *awsapi.Request, *principalIn) (any, error) {
	return func(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
		if attach {
			return nil, a.Identity.Attach(ctx, apicall.Call(req), kind, kindName(kind, in), in.PolicyArn)
		}
		return nil, a.Identity.Detach(ctx, apicall.Call(req), kind, kindName(kind, in), in.PolicyArn)
	}
}

type attachedWire struct {
	PolicyName string
	PolicyArn  string
}

func (a *API) listAttached(kind string) func(context.Context, *awsapi.Request, *principalIn) (any, error) {
	return func(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
		name := kindName(kind, in)
		ps, err := a.Identity.Attached(ctx, apicall.Call(req), kind, name)
		if err != nil {
			return nil, err
		}
		start, end, next, err := a.marker(req, "ListAttached"+kind+"Policies/"+name, in, len(ps))
		if err != nil {
			return nil, err
		}
		out := make([]attachedWire, 0, end-start)
		for _, p := range ps[start:end] {
			out = append(out, attachedWire{p.Name, p.ARN})
		}
		return struct {
			AttachedPolicies []attachedWire
			IsTruncated      bool
			Marker           string `json:",omitempty"`
		}{out, next != "", next}, nil
	}
}

func (a *API) listUsers(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
	users, err := a.Identity.Principals(ctx, apicall.Call(req), identity.KindUser, in.PathPrefix)
	if err != nil {
		return nil, err
	}
	start, end, next, err := a.marker(req, "ListUsers", in, len(users))
	if err != nil {
		return nil, err
	}
	out := make([]userWire, 0, end-start)
	for _, u := range users[start:end] {
		out = append(out, userOut(u))
	}
	return struct {
		Users       []userWire
		IsTruncated bool
		Marker      string `json:",omitempty"`
	}{out, next != "", next}, nil
}

func (a *API) deleteUser(ctx context.Context, req *awsapi.Request, in *principalIn) (any, error) {
	return nil, a.Identity.DeletePrincipal(ctx, apicall.Call(req), identity.KindUser, in.UserName)
}
