package delivery

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/randid"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// EngineConfig holds the engine's collaborators.
type EngineConfig struct {
	Service  *Service
	Store    Store
	Sessions Sessions
	// Poll is how soon an execution whose action is still running is looked at again.
	Poll time.Duration
	Log  *slog.Logger
}

// Engine runs executions: a reconcile.Reconciler keyed by WorkKey.
type Engine struct {
	c EngineConfig

	mu       sync.Mutex
	sessions map[string]cachedSession
}

type cachedSession struct {
	caller  identity.Caller
	expires time.Time
}

var _ reconcile.Reconciler = (*Engine)(nil)

// NewEngine returns an engine.
func NewEngine(c EngineConfig) *Engine {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Poll <= 0 {
		c.Poll = 100 * time.Millisecond
	}
	c.Log = c.Log.With("component", "delivery")
	return &Engine{c: c, sessions: map[string]cachedSession{}}
}

// Resume returns the executions not yet ended, for the runtime to reconcile at start.
func (e *Engine) Resume(ctx context.Context) ([]string, error) {
	return e.c.Store.ActiveExecutions(ctx)
}

// stagePlan is what a stage's execution does next.
type stagePlan struct {
	Start   []int // actions to start (the lowest RunOrder not yet done)
	Running []int // actions in progress
	Failed  bool  // an action failed: the stage fails once nothing runs
	Done    bool  // every action succeeded
}

// planStage is the pure decision of a stage's next move.
func planStage(def Stage, run StageRun) stagePlan {
	var p stagePlan
	orders := map[int]bool{}
	for i, a := range run.Actions {
		switch a.Status {
		case ActionInProgress:
			p.Running = append(p.Running, i)
		case ActionFailed, ActionAbandoned:
			p.Failed = true
		case ActionSucceeded:
		default:
			orders[def.Actions[i].RunOrder] = true
		}
	}
	if len(orders) == 0 {
		p.Done = !p.Failed && len(p.Running) == 0
		return p
	}
	if p.Failed || len(p.Running) > 0 {
		return p
	}
	var ks []int
	for k := range orders {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	for i, a := range run.Actions {
		if a.Status == "" && def.Actions[i].RunOrder == ks[0] {
			p.Start = append(p.Start, i)
		}
	}
	return p
}

// boundary is the pure decision of an execution waiting to enter a stage: supersede itself,
// wait, or enter. others are the pipeline's other executions not yet ended; blocked says a
// disabled transition keeps the stage closed.
//
// An execution started in PARALLEL mode neither waits for nor holds a stage: it waits only at
// a disabled transition. Otherwise one execution occupies a stage at a time (executions of
// PARALLEL mode aside), and a newer execution waiting at the same boundary supersedes an
// older one in SUPERSEDED mode (also at a disabled transition: only the newest waits there),
// or queues behind it in QUEUED mode.
func boundary(x Execution, others []Execution, blocked bool) (supersede, wait bool) {
	mode := x.Pipeline.ExecutionMode
	if mode == ModeParallel {
		return false, blocked
	}
	for _, o := range others {
		if o.ID == x.ID || o.Status.Terminal() || o.Pipeline.ExecutionMode == ModeParallel {
			continue
		}
		if o.Waiting && o.Stage == x.Stage {
			if mode == ModeSuperseded && o.Seq > x.Seq {
				return true, false
			}
			if mode == ModeQueued && o.Seq < x.Seq {
				wait = true
			}
		}
		if !o.Waiting && o.Stage == x.Stage {
			wait = true
		}
	}
	return false, wait || blocked
}

// Reconcile advances the execution named by key, one committed transition at a time.
func (e *Engine) Reconcile(ctx context.Context, key string) (reconcile.Result, error) {
	account, id, ok := ParseWorkKey(key)
	if !ok {
		return reconcile.Result{Forget: true}, nil
	}
	for range 1000 {
		x, err := e.c.Store.GetExecution(ctx, account, id)
		if errs.Is(err, errs.NotFound) {
			return reconcile.Result{Forget: true}, nil
		}
		if err != nil {
			return reconcile.Result{}, err
		}
		if x.Status.Terminal() {
			return reconcile.Result{Forget: true}, nil
		}
		again, after, err := e.step(ctx, x)
		if err != nil {
			return reconcile.Result{}, err
		}
		if !again {
			return reconcile.Result{RequeueAfter: after}, nil
		}
	}
	return reconcile.Result{RequeueAfter: time.Millisecond}, nil
}

// commit runs fn on the execution's current row under the lease's fence and writes it,
// audited as the engine's op.
func (e *Engine) commit(ctx context.Context, x Execution, op string, fn func(tx Tx, cur *Execution) error) error {
	s := e.c.Service
	fence, fenced := reconcile.FenceFrom(ctx)
	actx, _ := audit.ForEngine(ctx, audit.Record{
		Time: s.now(), Account: x.Account, PrincipalARN: ServicePrincipal, UserAgent: ServicePrincipal,
		Service: "codepipeline", Operation: op, Resource: x.Pipeline.ARN, Decision: "allow",
		Reason: "the deploy pipeline engine records an execution's progress",
	})
	return e.c.Store.Update(actx, func(tx Tx) error {
		if fenced {
			if err := tx.CheckFence(actx, fence); err != nil {
				return err
			}
		}
		cur, err := tx.LockExecution(actx, x.Account, x.ID)
		if err != nil {
			return err
		}
		if cur.Status.Terminal() {
			return nil
		}
		if err := fn(tx, &cur); err != nil {
			return err
		}
		cur.UpdatedAt = s.now()
		return tx.UpdateExecution(actx, cur)
	})
}

// wake enqueues the pipeline's other executions not yet ended: a stage was freed or a newer
// execution reached a boundary.
func (e *Engine) wake(ctx context.Context, tx Tx, x *Execution) error {
	others, err := tx.ActiveExecutionsOf(ctx, x.Account, x.PipelineName)
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.ID != x.ID {
			if err := tx.Enqueue(ctx, WorkKind, WorkKey(o.Account, o.ID), e.c.Service.now()); err != nil {
				return err
			}
		}
	}
	return nil
}

// end moves the execution to a final status with its events.
func (e *Engine) end(ctx context.Context, tx Tx, x *Execution, status ExecStatus, state, summary string) error {
	if !x.Status.CanMoveTo(status) {
		return errs.E(errs.Internal, "execution %s cannot move from %s to %s", x.ID, x.Status, status)
	}
	x.Status = status
	if summary != "" {
		x.Summary = summary
	}
	if err := tx.AppendEvent(ctx, e.c.Service.pipelineEvent(*x, state)); err != nil {
		return err
	}
	return e.wake(ctx, tx, x)
}

// step makes one transition; again says whether to look at once, else after is when.
func (e *Engine) step(ctx context.Context, x Execution) (again bool, after time.Duration, err error) {
	s := e.c.Service
	if x.Waiting {
		if x.Status == ExecStopping {
			return true, 0, e.commit(ctx, x, "StopPipelineExecution", func(tx Tx, cur *Execution) error {
				return e.end(ctx, tx, cur, ExecStopped, "STOPPED", "")
			})
		}
		var waited bool
		err := e.commit(ctx, x, "EnterStage", func(tx Tx, cur *Execution) error {
			p, err := tx.LockPipeline(ctx, cur.Account, cur.PipelineName)
			if err != nil && !errs.Is(err, errs.NotFound) {
				return err
			}
			// The live pipeline's transitions decide (a deleted pipeline has none).
			blocked := err == nil && p.blocked(cur.Stages, cur.Stage)
			others, err := tx.ActiveExecutionsOf(ctx, cur.Account, cur.PipelineName)
			if err != nil {
				return err
			}
			supersede, wait := boundary(*cur, others, blocked)
			switch {
			case supersede:
				return e.end(ctx, tx, cur, ExecSuperseded, "SUPERSEDED", "Superseded by a newer execution")
			case wait:
				waited = true
				return nil
			}
			cur.Waiting = false
			cur.Stages[cur.Stage].Status = ActionInProgress
			return tx.AppendEvent(ctx, s.stageEvent(*cur, cur.Stage, "STARTED"))
		})
		if waited {
			return false, 0, err // woken when the stage is freed or the transition enabled; resync otherwise
		}
		return true, 0, err
	}
	si := x.Stage
	def, run := x.Pipeline.Stages[si], x.Stages[si]
	plan := planStage(def, run)
	if x.Status == ExecStopping {
		var abandon []int
		for _, i := range plan.Running {
			if x.StopAbandon || isApproval(def.Actions[i]) {
				abandon = append(abandon, i)
			}
		}
		if len(abandon) > 0 {
			return true, 0, e.commit(ctx, x, "StopPipelineExecution", func(tx Tx, cur *Execution) error {
				for _, i := range abandon {
					a := &cur.Stages[si].Actions[i]
					if a.Status == ActionInProgress {
						a.Status, a.Token, a.UpdatedAt = ActionAbandoned, "", s.now()
						if err := tx.AppendEvent(ctx, s.actionEvent(*cur, si, i, "ABANDONED")); err != nil {
							return err
						}
					}
				}
				return nil
			})
		}
		if len(plan.Running) == 0 {
			return true, 0, e.commit(ctx, x, "StopPipelineExecution", func(tx Tx, cur *Execution) error {
				cur.Stages[si].Status = StageStopped
				if err := tx.AppendEvent(ctx, s.stageEvent(*cur, si, "STOPPED")); err != nil {
					return err
				}
				return e.end(ctx, tx, cur, ExecStopped, "STOPPED", "")
			})
		}
		plan.Start = nil
	}
	switch {
	case len(plan.Start) > 0:
		return true, 0, e.commit(ctx, x, "StartAction", func(tx Tx, cur *Execution) error {
			for _, i := range plan.Start {
				a := &cur.Stages[si].Actions[i]
				if a.Status != "" {
					continue
				}
				d := def.Actions[i]
				a.ID, a.Status, a.StartedAt, a.UpdatedAt = randid.UUID(), ActionInProgress, s.now(), s.now()
				for _, in := range d.InputArtifacts {
					a.Inputs = append(a.Inputs, cur.Artifacts[in])
				}
				if isApproval(d) {
					a.Token, a.Summary, a.ExternalURL = randid.UUID(), d.Configuration["CustomData"], d.Configuration["ExternalEntityLink"]
				}
				if err := tx.AppendEvent(ctx, s.actionEvent(*cur, si, i, "STARTED")); err != nil {
					return err
				}
			}
			return nil
		})
	case len(plan.Running) == 0 && plan.Failed:
		return true, 0, e.commit(ctx, x, "EndStage", func(tx Tx, cur *Execution) error {
			cur.Stages[si].Status = ActionFailed
			if err := tx.AppendEvent(ctx, s.stageEvent(*cur, si, "FAILED")); err != nil {
				return err
			}
			return e.end(ctx, tx, cur, ExecFailed, "FAILED", failure(cur.Stages[si]))
		})
	case plan.Done:
		return true, 0, e.commit(ctx, x, "EndStage", func(tx Tx, cur *Execution) error {
			cur.Stages[si].Status = ActionSucceeded
			if err := tx.AppendEvent(ctx, s.stageEvent(*cur, si, "SUCCEEDED")); err != nil {
				return err
			}
			if si == len(cur.Stages)-1 {
				return e.end(ctx, tx, cur, ExecSucceeded, "SUCCEEDED", "")
			}
			cur.Stage, cur.Waiting = si+1, true
			return e.wake(ctx, tx, cur)
		})
	}
	// Actions run: call the providers of those that are not waiting for an approval.
	polling := false
	var wake time.Duration
	for _, i := range plan.Running {
		d := def.Actions[i]
		if isApproval(d) {
			timeout, err := approvalTimeout(d)
			if err != nil {
				timeout = DefaultApprovalTimeout
			}
			left := x.Stages[si].Actions[i].StartedAt.Add(timeout).Sub(s.now())
			if left <= 0 {
				return true, 0, e.commit(ctx, x, "ApprovalTimeout", func(tx Tx, cur *Execution) error {
					a := &cur.Stages[si].Actions[i]
					if a.Status != ActionInProgress {
						return nil
					}
					a.Status, a.Token, a.UpdatedAt = ActionFailed, "", s.now()
					a.ErrorCode, a.Error = "ApprovalTimedOut", "The approval was not decided within "+timeout.String()
					return tx.AppendEvent(ctx, s.actionEvent(*cur, si, i, "FAILED"))
				})
			}
			if wake == 0 || left < wake {
				wake = left
			}
			continue
		}
		done, err := e.runAction(ctx, x, si, i)
		if err != nil {
			return false, 0, err
		}
		if done {
			return true, 0, nil
		}
		polling = true
	}
	if polling {
		return false, e.c.Poll, nil
	}
	// An approval waits for PutApprovalResult, which wakes the execution, or its timeout.
	return false, wake, nil
}

func isApproval(a Action) bool { return a.Category == CategoryApproval && a.Provider == ProviderManual }

func failure(run StageRun) string {
	for _, a := range run.Actions {
		if a.Status == ActionFailed {
			return "Action " + a.Name + " failed: " + a.Error
		}
		if a.Status == ActionAbandoned {
			return "Action " + a.Name + " was abandoned"
		}
	}
	return ""
}

// runAction calls an action's provider once and records what it says; done reports that the
// action ended.
func (e *Engine) runAction(ctx context.Context, x Execution, si, ai int) (bool, error) {
	s := e.c.Service
	d := x.Pipeline.Stages[si].Actions[ai]
	run := x.Stages[si].Actions[ai]
	var res ActionResult
	call, err := e.session(ctx, x, d)
	if err == nil {
		prov, ok := s.providers[ProviderKey(d.Category, d.Provider)]
		if !ok {
			err = errs.E(errs.Invalid, "no provider runs %s actions on this server", ProviderKey(d.Category, d.Provider))
		} else {
			res, err = prov.Run(ctx, ActionRequest{Call: call, PipelineName: x.PipelineName, PipelineARN: x.Pipeline.ARN,
				ExecutionID: x.ID, Stage: x.Stages[si].Name, Action: d, ActionID: run.ID,
				ArtifactStore: x.Pipeline.ArtifactStore, Inputs: run.Inputs, State: run.State, Trigger: x.Trigger})
		}
	}
	if err != nil {
		switch errs.KindOf(err) {
		case errs.Internal, errs.Unavailable, errs.Other, errs.Throttled:
			return false, err
		}
		res = ActionResult{Done: true, ErrorCode: "JobFailed", Error: errs.Message(err), State: run.State}
	}
	done := false
	err = e.commit(ctx, x, "ActionProgress", func(tx Tx, cur *Execution) error {
		a := &cur.Stages[si].Actions[ai]
		if a.ID != run.ID || a.Status != ActionInProgress {
			return nil // stopped or abandoned meanwhile
		}
		a.State, a.UpdatedAt = res.State, s.now()
		if res.Summary != "" {
			a.Summary = res.Summary
		}
		if res.URL != "" {
			a.ExternalURL = res.URL
		}
		if !res.Done {
			return nil
		}
		done = true
		state := "SUCCEEDED"
		if res.Error != "" {
			a.Status, a.Error, a.ErrorCode, state = ActionFailed, res.Error, res.ErrorCode, "FAILED"
			if a.ErrorCode == "" {
				a.ErrorCode = "JobFailed"
			}
		} else {
			a.Status, a.Outputs = ActionSucceeded, res.Outputs
			for _, o := range res.Outputs {
				cur.Artifacts[o.Name] = o
			}
		}
		return tx.AppendEvent(ctx, s.actionEvent(*cur, si, ai, state))
	})
	return done, err
}

// session is who an action acts as: a session of the pipeline's role or, for an action with a
// role of its own, a session of that role assumed by the pipeline's.
func (e *Engine) session(ctx context.Context, x Execution, a Action) (identity.Call, error) {
	s := e.c.Service
	rc := identity.RequestContext{Region: x.Region, Secure: true, Time: s.now()}
	key := x.Pipeline.RoleARN + "|" + a.RoleARN
	e.mu.Lock()
	c, ok := e.sessions[key]
	e.mu.Unlock()
	if ok && s.now().Before(c.expires) {
		return identity.Call{Caller: c.caller, Context: rc}, nil
	}
	caller, err := e.c.Sessions.EngineSession(ctx, x.Pipeline.RoleARN, ServicePrincipal)
	if err != nil {
		return identity.Call{}, err
	}
	if a.RoleARN != "" {
		if caller, err = e.c.Sessions.AssumeAs(ctx, caller, a.RoleARN, sessionName(x.PipelineName)); err != nil {
			return identity.Call{}, err
		}
	}
	e.mu.Lock()
	e.sessions[key] = cachedSession{caller: caller, expires: s.now().Add(5 * time.Minute)}
	e.mu.Unlock()
	return identity.Call{Caller: caller, Context: rc}, nil
}

// sessionName names an action's session after its pipeline (at most 64 characters).
func sessionName(pipeline string) string {
	n := "codepipeline-" + pipeline
	if len(n) > 64 {
		n = n[:64]
	}
	return n
}
