package stacksets

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/randid"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/stacks"
)

// AccessRoleName is the role a SERVICE_MANAGED set's stacks are made by in each target account
// (bootstrap and organizations:CreateAccount make it, trusting the management account).
const AccessRoleName = "OrganizationAccountAccessRole"

// EngineConfig holds the engine's collaborators.
type EngineConfig struct {
	Service *Service
	Store   Store
	Stacks  StackReader
	// Poll is how soon a set waiting for its stacks is looked at again; AutoPoll how often a
	// set with automatic deployment compares its OUs' accounts with its instances when no
	// organization event woke it (OrgEvents): a safety net, one minute by default.
	Poll, AutoPoll time.Duration
	Log            *slog.Logger
}

// Engine runs stack set operations: a reconcile.Reconciler keyed by stack set ARN.
type Engine struct{ c EngineConfig }

var _ reconcile.Reconciler = (*Engine)(nil)

// NewEngine returns an engine.
func NewEngine(c EngineConfig) *Engine {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Poll <= 0 {
		c.Poll = 50 * time.Millisecond
	}
	if c.AutoPoll <= 0 {
		c.AutoPoll = time.Minute
	}
	c.Log = c.Log.With("component", "stacksets")
	return &Engine{c: c}
}

// Resume returns the sets with work to do, for the runtime to reconcile at start.
func (e *Engine) Resume(ctx context.Context) ([]string, error) {
	return e.c.Store.ActiveStackSetARNs(ctx)
}

// save commits the set under the lease's fence, audited as the engine.
func (e *Engine) save(ctx context.Context, set *StackSet, what string) error {
	s := e.c.Service
	fence, fenced := reconcile.FenceFrom(ctx)
	actx, _ := audit.ForEngine(ctx, audit.Record{
		Time: s.now(), Account: set.Account, PrincipalARN: stacks.ServicePrincipal, UserAgent: stacks.ServicePrincipal,
		Service: "cloudformation", Operation: what, Resource: set.ARN, Decision: "allow",
		Reason: "the stack set engine records its operation's progress",
	})
	set.UpdatedAt = s.now()
	return e.c.Store.Update(actx, func(tx Tx) error {
		if fenced {
			if err := tx.CheckFence(ctx, fence); err != nil {
				return err
			}
		}
		return tx.UpdateStackSet(ctx, *set)
	})
}

// Reconcile advances the set's running operation, or starts automatic deployment.
func (e *Engine) Reconcile(ctx context.Context, key string) (reconcile.Result, error) {
	account, ok := ParseKey(key)
	if !ok {
		return reconcile.Result{Forget: true}, nil
	}
	got, err := e.c.Store.GetStackSet(ctx, account, key)
	if errs.Is(err, errs.NotFound) {
		return reconcile.Result{Forget: true}, nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	set := &got
	op := set.running()
	if op == nil {
		if set.Status != "ACTIVE" || set.PermissionModel != ServiceManaged || !set.AutoDeployment.Enabled {
			return reconcile.Result{Forget: true}, nil
		}
		started, err := e.autoDeploy(ctx, set)
		if err != nil {
			return reconcile.Result{}, err
		}
		if started {
			return reconcile.Result{RequeueAfter: time.Millisecond}, nil
		}
		return reconcile.Result{RequeueAfter: e.c.AutoPoll}, nil
	}
	if op.Status == OpQueued {
		op.Status = OpRunning
		if err := e.save(ctx, set, "StackSetOperationStarted"); err != nil {
			return reconcile.Result{}, err
		}
	}
	done, err := e.step(ctx, set, op)
	if err != nil {
		return reconcile.Result{}, err
	}
	if done {
		return reconcile.Result{RequeueAfter: time.Millisecond}, nil
	}
	return reconcile.Result{RequeueAfter: e.c.Poll}, nil
}

// tolerance and concurrency of an operation over n instances in a region.
func limits(p Preferences, n int) (maxConc, tol int) {
	tol = p.FailureToleranceCount
	if p.HasTolPct {
		tol = n * p.FailureTolerancePercentage / 100
	}
	maxConc = 1
	switch {
	case p.HasMaxCount:
		maxConc = p.MaxConcurrentCount
	case p.HasMaxPct:
		maxConc = max(1, n*p.MaxConcurrentPercentage/100)
	}
	return maxConc, tol
}

// step advances an operation once: it looks at each running result's stack, then starts the
// pending ones the preferences allow. It reports whether the operation ended.
func (e *Engine) step(ctx context.Context, set *StackSet, op *Operation) (bool, error) {
	before, _ := json.Marshal(set)
	// 1. Watch what runs.
	for i := range op.Results {
		r := &op.Results[i]
		if r.Status != ResRunning {
			continue
		}
		if err := e.advance(ctx, set, op, r); err != nil {
			return false, err
		}
	}
	// 2. Per region (in order, unless PARALLEL): count failures, start what may start.
	regions := regionOrder(op)
	failedOver := false
	for _, region := range regions {
		var idx []int
		running, failed, finished := 0, 0, 0
		for i, r := range op.Results {
			if r.Region != region {
				continue
			}
			idx = append(idx, i)
			switch r.Status {
			case ResRunning:
				running++
			case ResFailed:
				failed++
				finished++
			case ResSucceeded, ResCancelled:
				finished++
			}
		}
		maxConc, tol := limits(op.Prefs, len(idx))
		if failed > tol {
			failedOver = true
		}
		for _, i := range idx {
			r := &op.Results[i]
			if r.Status != ResPending {
				continue
			}
			if failedOver {
				r.Status, r.Reason = ResCancelled, "Cancelled since failure tolerance has exceeded"
				continue
			}
			if running >= maxConc {
				break
			}
			if err := e.start(ctx, set, op, r); err != nil {
				return false, err
			}
			if r.Status == ResRunning {
				running++
			}
		}
		if (op.Prefs.RegionConcurrencyType != "PARALLEL" && finished < len(idx)) || failedOver {
			if failedOver {
				continue // cancel the later regions' pending results too
			}
			break
		}
	}
	// 3. Finished?
	for _, r := range op.Results {
		if r.Status == ResPending || r.Status == ResRunning {
			if after, _ := json.Marshal(set); string(after) == string(before) {
				return false, nil
			}
			return false, e.save(ctx, set, "StackSetOperationProgress")
		}
	}
	// Results that failed as they started (in this very step) count too.
	for _, region := range regions {
		n, failed := 0, 0
		for _, r := range op.Results {
			if r.Region == region {
				n++
				if r.Status == ResFailed {
					failed++
				}
			}
		}
		if _, tol := limits(op.Prefs, n); failed > tol {
			failedOver = true
		}
	}
	op.Status, op.EndedAt = OpSucceeded, e.c.Service.now()
	if failedOver {
		op.Status, op.Reason = OpFailed, "The Operation failed: failure tolerance exceeded"
	}
	if len(op.Results) == 0 {
		op.Reason = "The operation has no stack instances to act on: its targets name no account"
	}
	for i := range set.Instances {
		if set.Instances[i].LastOperationID == op.ID && set.Instances[i].Detailed == ResRunning {
			set.Instances[i].Detailed = ResFailed
		}
	}
	return true, e.save(ctx, set, "StackSetOperationEnded")
}

func regionOrder(op *Operation) []string {
	var out []string
	for _, r := range op.Prefs.RegionOrder {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	for _, r := range op.Results {
		if !slices.Contains(out, r.Region) {
			out = append(out, r.Region)
		}
	}
	return out
}

// stackName is the name of the set's stack in one account and region.
func stackName(set *StackSet) string {
	n := "StackSet-" + set.Name
	if len(n) > 90 {
		n = n[:90]
	}
	return n + "-" + randid.UUID()
}

// start marks a pending result RUNNING (committed) and acts on its stack.
func (e *Engine) start(ctx context.Context, set *StackSet, op *Operation, r *Result) error {
	inst := set.instance(r.Account, r.Region)
	switch {
	case inst != nil:
		r.StackName, r.StackID = inst.StackName, inst.StackID
	case op.Action == ActionCreate:
		r.StackName = stackName(set)
		set.Instances = append(set.Instances, Instance{Account: r.Account, Region: r.Region, OU: r.OU, StackName: r.StackName, Status: "OUTDATED"})
		inst = set.instance(r.Account, r.Region)
	default:
		r.Status = ResSucceeded // nothing to update or delete
		return nil
	}
	if r.StackID != "" {
		if st, err := e.c.Stacks.GetStack(ctx, r.Account, r.StackID); err == nil {
			r.BaseOp = st.Op
		} else if !errs.Is(err, errs.NotFound) {
			return err
		}
	}
	r.Status, r.Started = ResRunning, false
	inst.Detailed, inst.LastOperationID, inst.Reason = ResRunning, op.ID, ""
	if err := e.save(ctx, set, "StackInstanceStarted"); err != nil {
		return err
	}
	return e.act(ctx, set, op, r)
}

// session is who acts in the result's account: a session of the role that account trusts.
func (e *Engine) session(ctx context.Context, set *StackSet, account string) (identity.Call, error) {
	s := e.c.Service
	rc := identity.RequestContext{Region: s.region, Secure: true, Time: s.now()}
	var by identity.Caller
	role := arn.Role(account, AccessRoleName)
	if set.PermissionModel == SelfManaged {
		admin, err := s.roles.EngineSession(ctx, set.AdminRoleARN, stacks.ServicePrincipal)
		if err != nil {
			return identity.Call{}, err
		}
		by, role = admin, arn.Role(account, set.ExecutionRoleName)
	} else {
		// Not the set's last caller: the stack sets' own identity in the management account,
		// which the access role of every member account trusts (through the account's root).
		org, err := s.roles.ServiceLinkedSession(ctx, set.Account, OrgAdminRole)
		if err != nil {
			return identity.Call{}, err
		}
		by = org
	}
	c, err := s.roles.AssumeAs(ctx, identity.Call{Caller: by, Context: rc}, role, "stackset-"+strings.ReplaceAll(set.Name, ":", "-"))
	if err != nil {
		return identity.Call{}, err
	}
	c.InvokedBy = stacks.ServicePrincipal
	return identity.Call{Caller: c, Context: rc}, nil
}

// fatal reports whether an error fails the instance rather than being retried.
func fatal(err error) bool {
	k := errs.KindOf(err)
	return k != errs.Internal && k != errs.Unavailable && k != errs.Other && k != errs.Throttled
}

func (e *Engine) fail(set *StackSet, op *Operation, r *Result, reason string) {
	r.Status, r.Reason = ResFailed, reason
	if inst := set.instance(r.Account, r.Region); inst != nil {
		inst.Detailed, inst.Reason = ResFailed, reason
		if inst.StackID == "" && op.Action == ActionCreate {
			inst.Status = "INOPERABLE"
		}
	}
}

// act creates, updates or deletes the result's stack; a call that did already happen (the
// engine restarted after it) is recognized and not repeated.
func (e *Engine) act(ctx context.Context, set *StackSet, op *Operation, r *Result) error {
	if op.Action == ActionDelete && op.RetainStacks {
		e.remove(set, r)
		r.Status = ResSucceeded
		return e.save(ctx, set, "StackInstanceRetained")
	}
	call, err := e.session(ctx, set, r.Account)
	if err != nil {
		if !fatal(err) {
			return err
		}
		e.fail(set, op, r, "Cannot act in account "+r.Account+": "+errs.Message(err))
		return e.save(ctx, set, "StackInstanceFailed")
	}
	var params []stacks.ParameterInput
	if inst := set.instance(r.Account, r.Region); inst != nil {
		if len(op.Overrides) > 0 { // an instance keeps the overrides it was last given
			inst.Overrides = overrides(inst.Overrides, op.Overrides)
		}
		params = overrides(set.Parameters, inst.Overrides)
	}
	token := "stackset-" + op.ID
	switch {
	case op.Action == ActionDelete:
		err = e.c.Service.stacks.DeleteStack(ctx, call, r.StackID, "", nil, token)
	case r.StackID == "":
		var st stacks.Stack
		st, err = e.c.Service.stacks.CreateStack(ctx, call, stacks.CreateStackInput{Name: r.StackName, TemplateBody: set.Template,
			Parameters: params, Capabilities: set.Capabilities, Tags: set.Tags, ClientToken: token})
		if errs.Is(err, errs.Conflict) {
			st, err = e.c.Stacks.GetStack(ctx, r.Account, r.StackName) // made before a restart: adopt it
		}
		if err == nil {
			r.StackID = st.ID
			set.instance(r.Account, r.Region).StackID = st.ID
		}
	default:
		// A stack whose creation failed and rolled back (ROLLBACK_COMPLETE) cannot be updated:
		// the operation deletes it, and once it is gone creates the instance's stack again.
		if cur, gerr := e.c.Stacks.GetStack(ctx, r.Account, r.StackID); gerr == nil && cur.Status == stacks.RollbackComplete {
			if err = e.c.Service.stacks.DeleteStack(ctx, call, r.StackID, "", nil, token+"-replace"); err == nil {
				if inst := set.instance(r.Account, r.Region); inst != nil {
					inst.Reason = "Stack " + cur.Name + " was in ROLLBACK_COMPLETE and cannot be updated; StackSets deletes it and creates it again"
				}
				r.Started = true
				return e.save(ctx, set, "StackInstanceStackReplacing")
			}
			break
		}
		_, err = e.c.Service.stacks.UpdateStack(ctx, call, stacks.UpdateStackInput{Name: r.StackID, TemplateBody: set.Template,
			Parameters: params, Capabilities: set.Capabilities, Tags: set.Tags, ClientToken: token})
		if err != nil && strings.Contains(errs.Message(err), "No updates are to be performed") {
			r.Status = ResSucceeded
			e.current(set, r)
			return e.save(ctx, set, "StackInstanceCurrent")
		}
	}
	if err != nil {
		if !fatal(err) {
			return err
		}
		e.fail(set, op, r, errs.Message(err))
		return e.save(ctx, set, "StackInstanceFailed")
	}
	r.Started = true
	return e.save(ctx, set, "StackInstanceStackStarted")
}

func overrides(base, over []stacks.ParameterInput) []stacks.ParameterInput {
	out := slices.Clone(base)
	for _, o := range over {
		found := false
		for i := range out {
			if out[i].Key == o.Key {
				out[i], found = o, true
			}
		}
		if !found {
			out = append(out, o)
		}
	}
	return out
}

func (e *Engine) current(set *StackSet, r *Result) {
	if inst := set.instance(r.Account, r.Region); inst != nil {
		inst.Status, inst.Detailed, inst.Reason = "CURRENT", ResSucceeded, ""
	}
}

func (e *Engine) remove(set *StackSet, r *Result) {
	set.Instances = slices.DeleteFunc(set.Instances, func(i Instance) bool { return i.Account == r.Account && i.Region == r.Region })
}

// advance looks at a running result's stack.
func (e *Engine) advance(ctx context.Context, set *StackSet, op *Operation, r *Result) error {
	if !r.Started {
		// The engine stopped between committing RUNNING and recording the stack's start: find
		// out whether the call happened.
		if r.StackID == "" && r.StackName != "" {
			st, err := e.c.Stacks.GetStack(ctx, r.Account, r.StackName)
			switch {
			case err == nil && st.Status != stacks.DeleteComplete: // made before the restart
				r.StackID, r.Started = st.ID, true
				set.instance(r.Account, r.Region).StackID = st.ID
			case err != nil && !errs.Is(err, errs.NotFound):
				return err
			}
		} else if r.StackID != "" {
			if st, err := e.c.Stacks.GetStack(ctx, r.Account, r.StackID); err == nil && st.Op > r.BaseOp {
				r.Started = true
			}
		}
		if !r.Started {
			return e.act(ctx, set, op, r)
		}
	}
	st, err := e.c.Stacks.GetStack(ctx, r.Account, r.StackID)
	if err != nil {
		return err
	}
	switch st.Status {
	case stacks.CreateComplete, stacks.UpdateComplete:
		if op.Action != ActionDelete {
			r.Status = ResSucceeded
			e.current(set, r)
		}
	case stacks.DeleteComplete:
		if op.Action != ActionDelete {
			// The ROLLBACK_COMPLETE stack act deleted is gone: create the instance's stack anew.
			r.StackID, r.Started = "", false
			if inst := set.instance(r.Account, r.Region); inst != nil {
				inst.StackID = ""
			}
			return e.act(ctx, set, op, r)
		}
		r.Status = ResSucceeded
		e.remove(set, r)
	case stacks.RollbackComplete, stacks.UpdateRollbackComplete, stacks.CreateFailed, stacks.DeleteFailed,
		stacks.RollbackFailed, stacks.UpdateRollbackFailed:
		e.fail(set, op, r, "ResourceLogicalId:"+st.Name+", ResourceType:AWS::CloudFormation::Stack, ResourceStatusReason:"+st.Reason+" ("+string(st.Status)+")")
	}
	return nil
}

// autoDeploy compares the set's OUs' accounts with its instances and starts an operation for
// the difference: CREATE for an account that joined, DELETE for one that left.
func (e *Engine) autoDeploy(ctx context.Context, set *StackSet) (bool, error) {
	s := e.c.Service
	if len(set.OUs) == 0 {
		return false, nil
	}
	o, err := s.org.Organization(ctx)
	if err != nil {
		return false, err
	}
	want := map[string]string{}
	for _, ou := range set.OUs {
		accts, err := s.org.AccountsUnder(ctx, ou)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		for _, a := range accts {
			if a.ID != o.ManagementAccount {
				want[a.ID] = ou
			}
		}
	}
	regions := map[string]bool{}
	have := map[string]bool{}
	for _, i := range set.Instances {
		regions[i.Region] = true
		if i.OU != "" {
			have[i.Account] = true
		}
	}
	if len(regions) == 0 {
		regions[s.region] = true
	}
	var add, drop []Result
	for a, ou := range want {
		if !have[a] {
			for r := range regions {
				add = append(add, Result{Account: a, Region: r, OU: ou, Status: ResPending})
			}
		}
	}
	for _, i := range set.Instances {
		if _, ok := want[i.Account]; !ok && i.OU != "" {
			drop = append(drop, Result{Account: i.Account, Region: i.Region, OU: i.OU, Status: ResPending})
		}
	}
	var op Operation
	switch {
	case len(add) > 0:
		slices.SortFunc(add, func(a, b Result) int { return strings.Compare(a.Account, b.Account) })
		op = Operation{ID: randid.UUID(), Action: ActionCreate, Auto: true, Results: add,
			Prefs: Preferences{MaxConcurrentPercentage: 100, HasMaxPct: true}}
	case len(drop) > 0:
		op = Operation{ID: randid.UUID(), Action: ActionDelete, Auto: true, Results: drop,
			RetainStacks: set.AutoDeployment.RetainStacksOnAccountRemoval, Prefs: Preferences{MaxConcurrentPercentage: 100, HasMaxPct: true}}
	default:
		return false, nil
	}
	op.Status, op.CreatedAt = OpQueued, s.now()
	set.Operations = append(set.Operations, op)
	return true, e.save(ctx, set, "StackSetAutoDeployment")
}
