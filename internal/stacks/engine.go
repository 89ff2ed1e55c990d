package stacks

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/randid"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/stacks/template"
)

// The failure statuses of an operation whose engine cannot go on.
const (
	RollbackFailed       Status = "ROLLBACK_FAILED"
	UpdateRollbackFailed Status = "UPDATE_ROLLBACK_FAILED"
)

// EngineConfig holds the engine's collaborators.
type EngineConfig struct {
	Service  *Service
	Store    Store
	Sessions Sessions
	// Poll is how soon a stack waiting for a resource to stabilize is looked at again.
	Poll time.Duration
	Log  *slog.Logger
}

// Engine brings stacks to their templates: a reconcile.Reconciler keyed by stack ARN.
type Engine struct{ c EngineConfig }

var _ reconcile.Reconciler = (*Engine)(nil)

// NewEngine returns an engine.
func NewEngine(c EngineConfig) *Engine {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Poll <= 0 {
		c.Poll = 200 * time.Millisecond
	}
	c.Log = c.Log.With("component", "stacks")
	return &Engine{c: c}
}

// Resume returns the stacks with work to do, for the runtime to reconcile at start.
func (e *Engine) Resume(ctx context.Context) ([]string, error) { return e.c.Store.ActiveStackIDs(ctx) }

// run is one pass over a stack.
type run struct {
	e    *Engine
	st   Stack
	call identity.Call
	tpl  *template.Template
	env  *template.Env
	plan *template.Plan
}

// Reconcile advances the stack named by key (its ARN).
func (e *Engine) Reconcile(ctx context.Context, key string) (reconcile.Result, error) {
	account, ok := ParseStackKey(key)
	if !ok {
		return reconcile.Result{Forget: true}, nil
	}
	st, err := e.c.Store.GetStack(ctx, account, key)
	if errs.Is(err, errs.NotFound) {
		return reconcile.Result{Forget: true}, nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	if st.Status.Terminal() || st.Status == RollbackFailed || st.Status == UpdateRollbackFailed {
		return reconcile.Result{Forget: true}, nil
	}
	r := &run{e: e, st: st}
	call, err := e.session(ctx, st)
	if err != nil && !needsSession(st) {
		err = nil // nothing to make or delete: a rollback or deletion of nothing needs no session
	}
	if err != nil {
		if errs.Is(err, errs.Internal) || errs.Is(err, errs.Unavailable) || errs.KindOf(err) == errs.Other {
			return reconcile.Result{}, err
		}
		return r.abort(ctx, "Cannot act as the stack's role: "+errs.Message(err))
	}
	r.call = call
	if err := r.load(ctx, st.Template, st.Parameters); err != nil {
		return r.abort(ctx, errs.Message(err))
	}
	var pending bool
	switch st.Status {
	case CreateInProgress, UpdateInProgress:
		pending, err = r.forward(ctx)
	case RollbackInProgress, DeleteInProgress:
		pending, err = r.teardown(ctx)
	case UpdateCleanupInProgress, UpdateRollbackCleanupInProgress:
		pending, err = r.cleanup(ctx)
	case UpdateRollbackInProgress:
		pending, err = r.rollbackUpdate(ctx)
	default:
		return reconcile.Result{Forget: true}, nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	if pending {
		return reconcile.Result{RequeueAfter: e.c.Poll}, nil
	}
	return reconcile.Result{RequeueAfter: time.Millisecond}, nil
}

// needsSession reports whether the stack's operation has a resource to act on.
func needsSession(st Stack) bool {
	switch st.Status {
	case RollbackInProgress, DeleteInProgress:
		for _, r := range st.Resources {
			if !gone(r) && !(r.PhysicalID == "" && r.Status == ResCreateFailed) {
				return true
			}
		}
		return false
	}
	return true
}

// session is who the engine acts as: a session of the stack's role, or the caller.
func (e *Engine) session(ctx context.Context, st Stack) (identity.Call, error) {
	ctx2 := identity.RequestContext{Region: st.Region, Secure: true, Time: e.c.Service.now()}
	if st.RoleARN != "" {
		c, err := e.c.Sessions.EngineSession(ctx, st.RoleARN, ServicePrincipal)
		if err != nil {
			return identity.Call{}, err
		}
		return identity.Call{Caller: c, Context: ctx2}, nil
	}
	c := st.Actor
	c.InvokedBy = ServicePrincipal
	return identity.Call{Caller: c, Context: ctx2}, nil
}

// load parses the template and evaluates parameters and conditions.
func (r *run) load(ctx context.Context, body string, params []Parameter) error {
	tpl, err := template.Parse([]byte(body))
	if err != nil {
		return err
	}
	given := map[string]template.ParameterValue{}
	for _, p := range params {
		if _, declared := tpl.Parameters[p.Key]; declared {
			given[p.Key] = template.ParameterValue{Value: p.Value}
		}
	}
	values, _, err := tpl.ResolveParameters(given, nil)
	if err != nil {
		return err
	}
	s := r.e.c.Service
	env := &template.Env{Pseudo: s.pseudo(r.st.Account, r.st.Name, r.st.ID), Params: values, Resources: map[string]template.Created{}}
	exports, err := s.exports(ctx, r.st.Account)
	if err != nil {
		return err
	}
	env.Import = func(name string) (string, bool) {
		for _, x := range exports {
			if x.Name == name && x.StackID != r.st.ID {
				return x.Value, true
			}
		}
		return "", false
	}
	if env.Conditions, err = tpl.EvalConditions(env); err != nil {
		return err
	}
	plan, err := tpl.Plan(env.Conditions)
	if err != nil {
		return err
	}
	r.tpl, r.env, r.plan = tpl, env, plan
	return nil
}

// save writes the stack (under the lease's fence, only if no other operation started since)
// with its events, audited as the engine's op.
func (r *run) save(ctx context.Context, op string, evs ...Event) error {
	s := r.e.c.Service
	fence, fenced := reconcile.FenceFrom(ctx)
	actx, _ := audit.ForEngine(ctx, audit.Record{
		Time: s.now(), Account: r.st.Account, PrincipalARN: ServicePrincipal, UserAgent: ServicePrincipal,
		Service: "cloudformation", Operation: op, Resource: r.st.ID, Decision: "allow",
		Reason: "the stack engine records the stack's progress",
	})
	r.st.UpdatedAt = s.now()
	return r.e.c.Store.Update(actx, func(tx Tx) error {
		if fenced {
			if err := tx.CheckFence(actx, fence); err != nil {
				return err
			}
		}
		cur, err := tx.LockStack(actx, r.st.ID)
		if err != nil {
			return err
		}
		if cur.Op != r.st.Op {
			return errs.E(errs.Conflict, "stack %s: another operation started", r.st.ID)
		}
		if cur.Status != r.st.Status && !cur.Status.CanMoveTo(r.st.Status) && !failureEdge(cur.Status, r.st.Status) {
			return errs.E(errs.Internal, "stack %s cannot move from %s to %s", r.st.ID, cur.Status, r.st.Status)
		}
		if err := tx.UpdateStack(actx, r.st); err != nil {
			return err
		}
		for _, ev := range evs {
			if err := tx.AppendStackEvent(actx, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// failureEdge are the moves to the failure statuses an engine ends in when it cannot go on.
func failureEdge(from, to Status) bool {
	switch to {
	case RollbackFailed:
		return from == RollbackInProgress
	case UpdateRollbackFailed:
		return from == UpdateRollbackInProgress || from == UpdateRollbackCleanupInProgress
	case DeleteFailed:
		return from == DeleteInProgress
	case CreateFailed:
		return from == CreateInProgress
	}
	return false
}

func (r *run) setStatus(s Status, reason string) Event {
	r.st.Status, r.st.Reason = s, reason
	return r.e.c.Service.stackEvent(r.st, reason)
}

// abort ends the running operation when the engine cannot work at all (no session, a
// template that no longer parses): forward operations roll back, teardowns fail.
func (r *run) abort(ctx context.Context, reason string) (reconcile.Result, error) {
	var ev Event
	switch r.st.Status {
	case CreateInProgress:
		if r.st.DisableRollback {
			ev = r.setStatus(CreateFailed, reason)
		} else {
			ev = r.setStatus(RollbackInProgress, reason)
		}
	case UpdateInProgress:
		ev = r.setStatus(UpdateRollbackInProgress, reason)
	case RollbackInProgress:
		ev = r.setStatus(RollbackFailed, reason)
	case DeleteInProgress:
		ev = r.setStatus(DeleteFailed, reason)
	case UpdateRollbackInProgress, UpdateRollbackCleanupInProgress:
		ev = r.setStatus(UpdateRollbackFailed, reason)
	case UpdateCleanupInProgress:
		ev = r.setStatus(UpdateComplete, reason)
	default:
		return reconcile.Result{Forget: true}, nil
	}
	if err := r.save(ctx, "StackOperationFailed", ev); err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{RequeueAfter: time.Millisecond}, nil
}

func (r *run) provider(typ string) (Provider, error) {
	p, ok := r.e.c.Service.providers[typ]
	if !ok {
		return nil, errs.E(errs.Invalid, "Unrecognized resource type %s", typ)
	}
	return p, nil
}

// physicalName is the name a resource gets when its template names none:
// STACK-LOGICAL-RANDOM, at most 63 characters.
func physicalName(stack, logical string) string {
	prefix := stack + "-" + logical
	if len(prefix) > 50 {
		prefix = prefix[:50]
	}
	prefix = strings.TrimRight(prefix, "-")
	return prefix + "-" + randid.String(12, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
}

func (r *run) request(res *Resource) Request {
	return Request{Call: r.call, StackID: r.st.ID, StackName: r.st.Name, LogicalID: res.LogicalID, Type: res.Type,
		Name: res.Name, PhysicalID: res.PhysicalID, Properties: res.Properties, Region: r.st.Region}
}

func done(status string) bool { return status == ResCreateComplete || status == ResUpdateComplete }

// available fills env.Resources with every resource that is ready for the running operation.
func (r *run) available() {
	for name, res := range r.st.Resources {
		if done(res.Status) && res.PhysicalID != "" {
			r.env.Resources[name] = template.Created{PhysicalID: res.PhysicalID, Attributes: res.Attributes}
		}
	}
}

// forward creates and updates resources toward the template; pending is true while some
// resource is stabilizing.
func (r *run) forward(ctx context.Context) (pending bool, err error) {
	updating := r.st.Status == UpdateInProgress
	if r.st.Status == CreateInProgress && r.st.Timeout > 0 && r.e.c.Service.now().After(r.st.CreatedAt.Add(r.st.Timeout)) {
		return true, r.failForward(ctx, nil, fmt.Sprintf("Stack creation time exceeded the specified timeout (%d minutes)", int(r.st.Timeout/time.Minute)))
	}
	r.available()
	var failed []string
	var failReason string
	for _, wave := range r.plan.Create {
		for _, name := range wave {
			res := r.st.Resources[name]
			if res != nil && res.Op == r.st.Op && done(res.Status) {
				continue
			}
			ready := true
			for _, d := range r.plan.DependsOn[name] {
				if dr := r.st.Resources[d]; dr == nil || dr.Op != r.st.Op || !done(dr.Status) {
					ready = false
				}
			}
			if !ready {
				pending = true
				continue
			}
			wait, reason, err := r.advance(ctx, name, updating)
			if err != nil {
				return false, err
			}
			if reason != "" {
				failed = append(failed, name)
				failReason = reason
				break
			}
			if wait {
				pending = true
			}
		}
		if len(failed) > 0 {
			break
		}
	}
	if len(failed) > 0 {
		return true, r.failForward(ctx, failed, failReason)
	}
	if pending {
		return true, nil
	}
	// Every resource is done: outputs, then the operation's end.
	r.available()
	outs, err := r.tpl.EvalOutputs(r.env)
	if err == nil {
		err = r.checkExports(ctx, outs)
	}
	if err != nil {
		return true, r.failForward(ctx, nil, errs.Message(err))
	}
	r.st.Outputs = nil
	for _, o := range outs {
		r.st.Outputs = append(r.st.Outputs, Output{Key: o.Key, Value: o.Value, Description: o.Description, ExportName: o.ExportName})
	}
	if updating {
		return false, r.save(ctx, "UpdateStackProgress", r.setStatus(UpdateCleanupInProgress, ""))
	}
	return false, r.save(ctx, "CreateStackComplete", r.setStatus(CreateComplete, ""))
}

func (r *run) checkExports(ctx context.Context, outs []template.OutputValue) error {
	exports, err := r.e.c.Service.exports(ctx, r.st.Account)
	if err != nil {
		return err
	}
	for _, o := range outs {
		if o.ExportName == "" {
			continue
		}
		for _, x := range exports {
			if x.Name == o.ExportName && x.StackID != r.st.ID {
				return errs.E(errs.Invalid, "Export with name %s is already exported by stack %s", o.ExportName, x.StackID)
			}
		}
	}
	return nil
}

func (r *run) failForward(ctx context.Context, failed []string, reason string) error {
	msg := reason
	if len(failed) > 0 {
		verb := "create"
		if r.st.Status == UpdateInProgress {
			verb = "update"
		}
		msg = fmt.Sprintf("The following resource(s) failed to %s: [%s]. ", verb, strings.Join(failed, ", "))
		if r.st.Status == CreateInProgress && r.st.DisableRollback {
			msg = strings.TrimSpace(msg)
		} else {
			msg += "Rollback requested by user."
		}
	}
	var ev Event
	switch {
	case r.st.Status == UpdateInProgress:
		ev = r.setStatus(UpdateRollbackInProgress, msg)
	case r.st.DisableRollback:
		ev = r.setStatus(CreateFailed, msg)
	default:
		ev = r.setStatus(RollbackInProgress, msg)
	}
	return r.save(ctx, "StackOperationFailed", ev)
}

// advance moves one resource a step toward the template: it returns wait while the resource
// stabilizes and a reason when it failed (recorded already).
func (r *run) advance(ctx context.Context, name string, updating bool) (wait bool, reason string, err error) {
	decl := r.tpl.Resources[name]
	prov, err := r.provider(decl.Type)
	if err != nil {
		return false, "", err
	}
	res := r.st.Resources[name]
	s := r.e.c.Service
	fresh := res == nil || res.Status == ResDeleteComplete
	var props map[string]any
	if fresh || res.Op != r.st.Op {
		props, err = r.tpl.Properties(r.env, name)
		if err != nil {
			status := ResCreateFailed
			if !fresh {
				status = ResUpdateFailed
			}
			if res == nil {
				res = &Resource{LogicalID: name, Type: decl.Type, Op: r.st.Op, New: updating}
				r.st.Resources[name] = res
			}
			res.Status, res.Reason, res.UpdatedAt = status, errs.Message(err), s.now()
			return false, res.Reason, r.save(ctx, "ResourceFailed", s.resourceEvent(r.st, res, status, res.Reason))
		}
	}
	switch {
	case fresh:
		res = &Resource{LogicalID: name, Type: decl.Type, Name: physicalName(r.st.Name, name), Status: ResCreateInProgress,
			Properties: props, Op: r.st.Op, New: updating, UpdatedAt: s.now()}
		r.st.Resources[name] = res
		if err := r.save(ctx, "CreateResource", s.resourceEvent(r.st, res, ResCreateInProgress, "")); err != nil {
			return false, "", err
		}
		return r.apply(ctx, prov, res, false)
	case res.Op != r.st.Op && (res.Type != decl.Type || prov.Replaces(res.Properties, props)):
		old := *res
		old.Old = nil
		nr := &Resource{LogicalID: name, Type: decl.Type, Name: physicalName(r.st.Name, name), Status: ResUpdateInProgress,
			Properties: props, Op: r.st.Op, Old: &old, UpdatedAt: s.now()}
		r.st.Resources[name] = nr
		if err := r.save(ctx, "ReplaceResource", s.resourceEvent(r.st, nr, ResUpdateInProgress,
			"Requested update requires the creation of a new physical resource; hence creating one.")); err != nil {
			return false, "", err
		}
		return r.apply(ctx, prov, nr, false)
	case res.Op != r.st.Op && reflect.DeepEqual(res.Properties, props):
		res.Op = r.st.Op
		return false, "", r.save(ctx, "UpdateStackProgress")
	case res.Op != r.st.Op:
		old := *res
		old.Old = nil
		res.Old = &old
		res.Properties, res.Op, res.Status, res.Reason, res.UpdatedAt = props, r.st.Op, ResUpdateInProgress, "", s.now()
		if err := r.save(ctx, "UpdateResource", s.resourceEvent(r.st, res, ResUpdateInProgress, "")); err != nil {
			return false, "", err
		}
		return r.apply(ctx, prov, res, true)
	}
	// In progress in this operation: created or updated already (check), or interrupted
	// before the provider answered (call it again: it adopts what it made).
	if res.PhysicalID == "" {
		return r.retry(ctx, prov, res)
	}
	return r.check(ctx, prov, res)
}

// retry calls Create again for a resource whose first call's outcome is unknown.
func (r *run) retry(ctx context.Context, prov Provider, res *Resource) (bool, string, error) {
	req := r.request(res)
	req.Retry = true
	out, err := prov.Create(ctx, req)
	if err != nil {
		return r.resourceFailed(ctx, res, err)
	}
	if out.PhysicalID != "" {
		res.PhysicalID = out.PhysicalID
	}
	return r.outcome(ctx, res, out)
}

// apply calls the provider's Create (or Update) and records the outcome.
func (r *run) apply(ctx context.Context, prov Provider, res *Resource, inPlace bool) (bool, string, error) {
	req := r.request(res)
	var out Result
	var err error
	if inPlace {
		req.Old = res.Old.Properties
		out, err = prov.Update(ctx, req)
	} else {
		out, err = prov.Create(ctx, req)
	}
	if err != nil {
		return r.resourceFailed(ctx, res, err)
	}
	if out.PhysicalID != "" {
		res.PhysicalID = out.PhysicalID
	}
	return r.outcome(ctx, res, out)
}

func (r *run) check(ctx context.Context, prov Provider, res *Resource) (bool, string, error) {
	out, err := prov.Check(ctx, r.request(res))
	if err != nil {
		return r.resourceFailed(ctx, res, err)
	}
	return r.outcome(ctx, res, out)
}

func (r *run) outcome(ctx context.Context, res *Resource, out Result) (bool, string, error) {
	if out.Attributes != nil {
		res.Attributes = out.Attributes
	}
	if !out.Done {
		// Keep the physical id the provider gave, so a restart checks instead of creating.
		return true, "", r.save(ctx, "ResourceProgress")
	}
	status := ResCreateComplete
	if res.Status == ResUpdateInProgress {
		status = ResUpdateComplete
	}
	res.Status, res.Reason, res.UpdatedAt = status, "", r.e.c.Service.now()
	r.env.Resources[res.LogicalID] = template.Created{PhysicalID: res.PhysicalID, Attributes: res.Attributes}
	return false, "", r.save(ctx, "ResourceComplete", r.e.c.Service.resourceEvent(r.st, res, status, ""))
}

// resourceFailed records a provider's refusal; errors that may pass (internal, unavailable)
// are returned for the runtime to retry.
func (r *run) resourceFailed(ctx context.Context, res *Resource, err error) (bool, string, error) {
	if retryable(err) {
		return false, "", err
	}
	status := ResCreateFailed
	if res.Status == ResUpdateInProgress {
		status = ResUpdateFailed
	}
	reason := errs.Message(err)
	code := errs.CodeOf(err)
	if code == "" && errs.Is(err, errs.AccessDenied) {
		code = "AccessDenied"
	}
	if code != "" {
		reason = fmt.Sprintf("%s (Service: %s; Error Code: %s)", reason, serviceOf(res.Type), code)
	}
	res.Status, res.Reason, res.UpdatedAt = status, reason, r.e.c.Service.now()
	return false, reason, r.save(ctx, "ResourceFailed", r.e.c.Service.resourceEvent(r.st, res, status, reason))
}

func serviceOf(typ string) string {
	parts := strings.Split(typ, "::")
	if len(parts) == 3 {
		return parts[1]
	}
	return typ
}

func retryable(err error) bool {
	switch errs.KindOf(err) {
	case errs.Internal, errs.Unavailable, errs.Throttled, errs.Other:
		return true
	}
	return false
}

// dependents returns, for each resource of the stack, the resources that depend on it
// (under the template whose order applies), so deletion goes dependents first.
func dependents(tpl *template.Template, conds map[string]bool) map[string][]string {
	out := map[string][]string{}
	if tpl == nil {
		return out
	}
	plan, err := tpl.Plan(conds)
	if err != nil {
		return out
	}
	for name, deps := range plan.DependsOn {
		for _, d := range deps {
			out[d] = append(out[d], name)
		}
	}
	return out
}

func gone(res *Resource) bool {
	return res == nil || res.Status == ResDeleteComplete || res.Status == ResDeleteSkipped
}

// teardown deletes every resource (a rollback of a creation, or a deletion).
func (r *run) teardown(ctx context.Context) (bool, error) {
	deleting := r.st.Status == DeleteInProgress
	deps := dependents(r.tpl, r.env.Conditions)
	pending := false
	for _, name := range sortedKeys(r.st.Resources) {
		res := r.st.Resources[name]
		if gone(res) {
			continue
		}
		blocked := false
		for _, d := range deps[name] {
			if !gone(r.st.Resources[d]) {
				blocked = true
			}
		}
		if blocked {
			pending = true
			continue
		}
		policy := ""
		if decl, ok := r.tpl.Resources[name]; ok {
			policy = decl.DeletionPolicy
		}
		wait, failReason, err := r.remove(ctx, res, policy == "Retain" || deleting && policy == "RetainExceptOnCreate")
		if err != nil {
			return false, err
		}
		if failReason != "" {
			status := RollbackFailed
			if deleting {
				status = DeleteFailed
			}
			return false, r.save(ctx, "StackOperationFailed", r.setStatus(status,
				fmt.Sprintf("The following resource(s) failed to delete: [%s]. ", name)))
		}
		if wait {
			pending = true
		}
	}
	if pending {
		return true, nil
	}
	if deleting {
		r.st.DeletedAt = r.e.c.Service.now()
		r.st.Outputs = nil
		return false, r.save(ctx, "DeleteStackComplete", r.setStatus(DeleteComplete, ""))
	}
	// The stack keeps the reason its creation failed; the event says only that it is done.
	reason := r.st.Reason
	ev := r.setStatus(RollbackComplete, "")
	r.st.Reason = reason
	if !r.st.OnFailureDelete {
		return false, r.save(ctx, "RollbackComplete", ev)
	}
	// OnFailure=DELETE: the rolled back stack is deleted too.
	if err := r.save(ctx, "RollbackComplete", ev); err != nil {
		return false, err
	}
	if err := r.save(ctx, "DeleteStack", r.setStatus(DeleteInProgress, "OnFailure=DELETE")); err != nil {
		return false, err
	}
	r.st.DeletedAt = r.e.c.Service.now()
	return false, r.save(ctx, "DeleteStackComplete", r.setStatus(DeleteComplete, ""))
}

// remove deletes one resource (or skips it when retained): wait while it goes, a reason when
// its deletion failed (recorded).
func (r *run) remove(ctx context.Context, res *Resource, retain bool) (bool, string, error) {
	s := r.e.c.Service
	if retain {
		res.Status, res.UpdatedAt = ResDeleteSkipped, s.now()
		return false, "", r.save(ctx, "RetainResource", s.resourceEvent(r.st, res, ResDeleteSkipped, ""))
	}
	if res.PhysicalID == "" && res.Status == ResCreateFailed {
		// Never made: nothing to delete.
		res.Status, res.UpdatedAt = ResDeleteComplete, s.now()
		return false, "", r.save(ctx, "DeleteResource", s.resourceEvent(r.st, res, ResDeleteComplete, ""))
	}
	prov, err := r.provider(res.Type)
	if err != nil {
		return false, "", err
	}
	if res.Status != ResDeleteInProgress {
		res.Status, res.Reason, res.UpdatedAt = ResDeleteInProgress, "", s.now()
		if err := r.save(ctx, "DeleteResource", s.resourceEvent(r.st, res, ResDeleteInProgress, "")); err != nil {
			return false, "", err
		}
	}
	ok, err := prov.Delete(ctx, r.request(res))
	if err != nil {
		if retryable(err) {
			return false, "", err
		}
		res.Status, res.Reason, res.UpdatedAt = ResDeleteFailed, errs.Message(err), s.now()
		return false, res.Reason, r.save(ctx, "DeleteResource", s.resourceEvent(r.st, res, ResDeleteFailed, res.Reason))
	}
	if !ok {
		return true, "", nil
	}
	res.Status, res.UpdatedAt = ResDeleteComplete, s.now()
	return false, "", r.save(ctx, "DeleteResource", s.resourceEvent(r.st, res, ResDeleteComplete, ""))
}

// cleanup ends an update (or its rollback): the resources replaced or removed are deleted.
func (r *run) cleanup(ctx context.Context) (bool, error) {
	s := r.e.c.Service
	rolling := r.st.Status == UpdateRollbackCleanupInProgress
	pending := false
	for _, name := range sortedKeys(r.st.Resources) {
		res := r.st.Resources[name]
		switch {
		case !rolling && res.Old != nil && res.Old.PhysicalID != res.PhysicalID && !gone(res.Old):
			// The replaced resource goes; DeletionPolicy applies as UpdateReplacePolicy.
			policy := ""
			if decl, ok := r.tpl.Resources[name]; ok {
				policy = decl.UpdateReplacePolicy
			}
			wait, reason, err := r.remove(ctx, res.Old, policy == "Retain")
			if err != nil {
				return false, err
			}
			if reason != "" {
				s.logWarn(r.e.c.Log, "cannot delete a replaced resource; it is left behind", r.st.ID, name, reason)
				res.Old.Status = ResDeleteSkipped
			}
			pending = pending || wait
		case !rolling && res.Op != r.st.Op && !gone(res):
			// Removed from the template.
			wait, reason, err := r.remove(ctx, res, false)
			if err != nil {
				return false, err
			}
			if reason != "" {
				s.logWarn(r.e.c.Log, "cannot delete a removed resource; it is left behind", r.st.ID, name, reason)
				res.Status = ResDeleteSkipped
			}
			pending = pending || wait
		}
	}
	if pending {
		return true, nil
	}
	for name, res := range r.st.Resources {
		if gone(res) || res.Op != r.st.Op && !rolling {
			delete(r.st.Resources, name)
			continue
		}
		res.Old, res.New = nil, false
		res.Op = r.st.Op
	}
	r.st.Previous = nil
	if rolling {
		return false, r.save(ctx, "UpdateRollbackComplete", r.setStatus(UpdateRollbackComplete, ""))
	}
	return false, r.save(ctx, "UpdateStackComplete", r.setStatus(UpdateComplete, ""))
}

func (s *Service) logWarn(log *slog.Logger, msg, stack, logical, reason string) {
	log.Warn(msg, "stack", stack, "resource", logical, "reason", reason)
}

// rollbackUpdate undoes a failed update: resources it created are deleted, those it replaced
// get their old resource back (the new one deleted), those it updated in place are updated
// back; then the previous template, parameters and outputs are restored.
func (r *run) rollbackUpdate(ctx context.Context) (bool, error) {
	s := r.e.c.Service
	pending := false
	deps := dependents(r.tpl, r.env.Conditions)
	for _, name := range sortedKeys(r.st.Resources) {
		res := r.st.Resources[name]
		if res.Op != r.st.Op || gone(res) && res.Old == nil {
			continue
		}
		blocked := false
		for _, d := range deps[name] {
			if dr := r.st.Resources[d]; dr != nil && dr.Op == r.st.Op && (dr.New && !gone(dr) || dr.Old != nil && dr.Old.PhysicalID != dr.PhysicalID && !gone(dr)) {
				blocked = true
			}
		}
		switch {
		case res.New:
			if blocked {
				pending = true
				continue
			}
			wait, reason, err := r.remove(ctx, res, false)
			if err != nil {
				return false, err
			}
			if reason != "" {
				return false, r.save(ctx, "StackOperationFailed", r.setStatus(UpdateRollbackFailed, reason))
			}
			pending = pending || wait
		case res.Old != nil && res.Old.PhysicalID != res.PhysicalID:
			if blocked {
				pending = true
				continue
			}
			if res.PhysicalID != "" || res.Status == ResUpdateInProgress {
				wait, reason, err := r.remove(ctx, res, false)
				if err != nil {
					return false, err
				}
				if reason != "" {
					return false, r.save(ctx, "StackOperationFailed", r.setStatus(UpdateRollbackFailed, reason))
				}
				if wait {
					pending = true
					continue
				}
			}
			old := *res.Old
			old.Op = r.st.Op + 1 // restored: not part of the undone operation any more
			r.st.Resources[name] = &old
			if err := r.save(ctx, "RestoreResource", s.resourceEvent(r.st, &old, ResUpdateComplete, "restored")); err != nil {
				return false, err
			}
		case res.Old != nil:
			wait, reason, err := r.revert(ctx, res)
			if err != nil {
				return false, err
			}
			if reason != "" {
				return false, r.save(ctx, "StackOperationFailed", r.setStatus(UpdateRollbackFailed, reason))
			}
			pending = pending || wait
		}
	}
	if pending {
		return true, nil
	}
	prev := r.st.Previous
	if prev != nil {
		r.st.Template, r.st.Parameters, r.st.Outputs = prev.Template, prev.Parameters, prev.Outputs
	}
	for name, res := range r.st.Resources {
		if gone(res) {
			delete(r.st.Resources, name)
			continue
		}
		res.Old, res.New = nil, false
	}
	r.st.Previous = nil
	reason := r.st.Reason
	ev1 := r.setStatus(UpdateRollbackCleanupInProgress, "")
	r.st.Reason = reason
	if err := r.save(ctx, "UpdateRollbackProgress", ev1); err != nil {
		return false, err
	}
	for _, res := range r.st.Resources {
		res.Op = r.st.Op
	}
	ev2 := r.setStatus(UpdateRollbackComplete, "")
	r.st.Reason = reason
	return false, r.save(ctx, "UpdateRollbackComplete", ev2)
}

// revert updates a resource updated in place back to its old properties.
func (r *run) revert(ctx context.Context, res *Resource) (bool, string, error) {
	s := r.e.c.Service
	prov, err := r.provider(res.Type)
	if err != nil {
		return false, "", err
	}
	old := res.Old
	if res.Status != "ROLLBACK_UPDATING" {
		req := r.request(res)
		req.Old, req.Properties = res.Properties, old.Properties
		res.Status = "ROLLBACK_UPDATING"
		if err := r.save(ctx, "UpdateResource", s.resourceEvent(r.st, res, ResUpdateInProgress, "rolling back")); err != nil {
			return false, "", err
		}
		if _, err := prov.Update(ctx, req); err != nil {
			if retryable(err) {
				return false, "", err
			}
			return false, errs.Message(err), nil
		}
	}
	req := r.request(res)
	req.Properties = old.Properties
	out, err := prov.Check(ctx, req)
	if err != nil {
		if retryable(err) {
			return false, "", err
		}
		return false, errs.Message(err), nil
	}
	if !out.Done {
		return true, "", nil
	}
	restored := *old
	restored.Status, restored.UpdatedAt, restored.Op = ResUpdateComplete, s.now(), r.st.Op+1
	if out.Attributes != nil {
		restored.Attributes = out.Attributes
	}
	r.st.Resources[res.LogicalID] = &restored
	return false, "", r.save(ctx, "UpdateResource", s.resourceEvent(r.st, &restored, ResUpdateComplete, ""))
}
