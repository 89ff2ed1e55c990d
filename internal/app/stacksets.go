package app

import (
	"context"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/stacksets"
)

// Stack sets deploy a template as a stack into each target account, through the stacks
// service, as a session of a role the target account trusts (package stacksets).

// stackSetRoles is the identity service as stack sets use it: AssumeAs is sts:AssumeRole
// judged exactly as for an API caller, and the session it mints is the caller stacks are
// made by.
type stackSetRoles struct{ id *identity.Service }

var _ stacksets.Roles = stackSetRoles{}

func (r stackSetRoles) PassRole(ctx context.Context, c identity.Call, roleARN, service string) (identity.Principal, error) {
	return r.id.PassRole(ctx, c, roleARN, service)
}

func (r stackSetRoles) EngineSession(ctx context.Context, roleARN, engine string) (identity.Caller, error) {
	return r.id.EngineSession(ctx, roleARN, engine)
}

func (r stackSetRoles) AssumeAs(ctx context.Context, c identity.Call, roleARN, sessionName string) (identity.Caller, error) {
	s, err := r.id.AssumeRole(ctx, c, roleARN, sessionName, identity.AssumeOptions{Duration: time.Hour})
	if err != nil {
		return identity.Caller{}, err
	}
	a, err := r.id.LookupAccessKey(ctx, s.AccessKey.ID)
	if err != nil {
		return identity.Caller{}, errs.E(errs.Internal, "cannot read the session just made", err)
	}
	a.Caller.SessionToken = ""
	return a.Caller, nil
}

func (r stackSetRoles) ServiceLinkedSession(ctx context.Context, account string, role identity.ServiceLinkedRole) (identity.Caller, error) {
	p, err := r.id.EnsureServiceLinkedRole(ctx, account, role)
	if err != nil {
		return identity.Caller{}, err
	}
	return r.id.EngineSession(ctx, p.ARN, role.Service)
}

// stackSetsService builds the stack sets domain on the stacks service.
func (a *App) stackSetsService() {
	a.StackSets = stacksets.NewService(stacksets.Config{
		Store: a.Store.StackSets(), Authz: a.Identity, Roles: stackSetRoles{a.Identity}, Org: a.Org, Stacks: a.Stacks,
		Region: a.cfg.Region, Now: a.now,
	})
	a.Identity.KnowServiceLinkedRole(stacksets.OrgAdminRole, stackSetsUsage{a.Store.StackSets()})
}

// stackSetsUsage is what uses the stack sets' service-linked role in an account: its
// SERVICE_MANAGED stack sets that are not deleted (IAM's DeleteServiceLinkedRole keeps the
// role while there are any, as AWS does).
type stackSetsUsage struct {
	store interface {
		ListStackSets(ctx context.Context, account string) ([]stacksets.StackSet, error)
	}
}

var _ identity.LinkedRoleUsage = stackSetsUsage{}

func (u stackSetsUsage) LinkedRoleUsage(ctx context.Context, account string) ([]string, error) {
	sets, err := u.store.ListStackSets(ctx, account)
	if err != nil {
		return nil, err
	}
	var used []string
	for _, s := range sets {
		if s.PermissionModel == stacksets.ServiceManaged && s.Status != "DELETED" {
			used = append(used, s.ARN)
		}
	}
	return used, nil
}

// stackSetsRuntime builds the stack set engine's runtime; sets with an operation in progress
// (or automatic deployment on) resume.
func (a *App) stackSetsRuntime(ctx context.Context) (*reconcile.Runtime, error) {
	engine := stacksets.NewEngine(stacksets.EngineConfig{Service: a.StackSets, Store: a.Store.StackSets(), Stacks: a.Store.Stacks(), Log: a.log})
	rt := reconcile.New(a.Store.Work(), stacksets.WorkKind, engine, reconcile.Options{Workers: 4, Log: a.log})
	// Accounts created or moved wake automatic deployment (started with the event rules').
	a.rules.others = append(a.rules.others, events.Subscribe(a.Store.Events(), stacksets.AutoDeployConsumer, engine.OrgEvents(rt), a.log))
	keys, err := engine.Resume(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) > 0 {
		if err := rt.Enqueue(ctx, keys...); err != nil {
			return nil, err
		}
	}
	return rt, nil
}
