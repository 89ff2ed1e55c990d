package delivery

import (
	"context"
	"regexp"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
)

// The operations on one stage of a pipeline: its transitions (EnableStageTransition,
// DisableStageTransition) and retrying it (RetryStageExecution). Each is authorized on the
// stage's ARN, …:PIPELINE/STAGE.

var (
	reasonRE      = regexp.MustCompile(`^[a-zA-Z0-9!@ ()\.\*\?\-]{1,300}$`)
	executionIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// Retry modes.
const (
	RetryFailedActions = "FAILED_ACTIONS"
	RetryAllActions    = "ALL_ACTIONS"
)

func stageNotFound(stage, pipeline string) error {
	return errs.E(errs.NotFound, "Stage %s does not exist in pipeline %s", stage, pipeline).WithCode("StageNotFoundException")
}

// stageCall checks the names of a stage operation, authorizes op on the stage's ARN (before
// anything is looked up, so a denied caller learns nothing) and loads the pipeline; it returns
// the stage's index in the pipeline's declaration.
func (s *Service) stageCall(ctx context.Context, c identity.Call, op, pipeline, stage string) (Pipeline, int, error) {
	if !nameRE.MatchString(pipeline) {
		return Pipeline{}, 0, invalid("1 validation error detected: Value '%s' at 'pipelineName' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+", pipeline)
	}
	if !nameRE.MatchString(stage) {
		return Pipeline{}, 0, invalid("1 validation error detected: Value '%s' at 'stageName' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+", stage)
	}
	if err := s.authorize(ctx, c, op, arn.CodePipelineStage(s.region, c.Caller.Account, pipeline, stage)); err != nil {
		return Pipeline{}, 0, err
	}
	p, err := s.store.GetPipeline(ctx, c.Caller.Account, pipeline)
	if errs.Is(err, errs.NotFound) {
		return Pipeline{}, 0, pipelineNotFound(pipeline)
	}
	if err != nil {
		return Pipeline{}, 0, err
	}
	for i, st := range p.Stages {
		if st.Name == stage {
			return p, i, nil
		}
	}
	return Pipeline{}, 0, stageNotFound(stage, pipeline)
}

// ValidReason reports whether reason is a DisableStageTransition reason CodePipeline accepts
// (1 to 300 of [a-zA-Z0-9!@ ().*?-]); for callers that check a declaration before acting.
func ValidReason(reason string) bool { return reasonRE.MatchString(reason) }

// TransitionInput is an EnableStageTransition or DisableStageTransition request.
type TransitionInput struct {
	Pipeline, Stage string
	Type            string // Inbound | Outbound
	Reason          string // DisableStageTransition only
}

// DisableStageTransition closes a stage's inbound transition (executions that finished the
// previous stage wait at the stage's boundary) or its outbound one (executions that finished
// the stage wait before the next). The first stage has no inbound transition and the last no
// outbound one. Executions already in the stage go on.
func (s *Service) DisableStageTransition(ctx context.Context, c identity.Call, in TransitionInput) error {
	return s.setTransition(ctx, c, "DisableStageTransition", in, false)
}

// EnableStageTransition opens a stage's transition; the executions waiting at it move on
// (in SUPERSEDED mode only the newest waited there: a newer one arriving superseded the older).
func (s *Service) EnableStageTransition(ctx context.Context, c identity.Call, in TransitionInput) error {
	return s.setTransition(ctx, c, "EnableStageTransition", in, true)
}

func (s *Service) setTransition(ctx context.Context, c identity.Call, op string, in TransitionInput, enable bool) error {
	if in.Type != Inbound && in.Type != Outbound {
		return invalid("1 validation error detected: Value '%s' at 'transitionType' failed to satisfy constraint: Member must satisfy enum value set: [Inbound, Outbound]", in.Type)
	}
	if !enable && !reasonRE.MatchString(in.Reason) {
		return invalid("1 validation error detected: Value '%s' at 'reason' failed to satisfy constraint: Member must be 1 to 300 characters of [a-zA-Z0-9!@ \\(\\)\\.\\*\\?\\-]", in.Reason)
	}
	p, si, err := s.stageCall(ctx, c, op, in.Pipeline, in.Stage)
	if err != nil {
		return err
	}
	if in.Type == Inbound && si == 0 {
		return invalid("Stage %s is the first stage of pipeline %s: it has no inbound transition", in.Stage, in.Pipeline)
	}
	if in.Type == Outbound && si == len(p.Stages)-1 {
		return invalid("Stage %s is the last stage of pipeline %s: it has no outbound transition", in.Stage, in.Pipeline)
	}
	now := s.now()
	return s.store.Update(ctx, func(tx Tx) error {
		cur, err := tx.LockPipeline(ctx, p.Account, p.Name)
		if errs.Is(err, errs.NotFound) {
			return pipelineNotFound(in.Pipeline)
		}
		if err != nil {
			return err
		}
		if stageIndexOf(cur, in.Stage) < 0 {
			return stageNotFound(in.Stage, in.Pipeline)
		}
		t := Transition{Disabled: !enable, ChangedBy: c.Caller.ARN, ChangedAt: now}
		if !enable {
			t.Reason = in.Reason
		}
		if cur.Transitions == nil {
			cur.Transitions = map[string]Transitions{}
		}
		ts := cur.Transitions[in.Stage]
		if in.Type == Inbound {
			ts.Inbound = t
		} else {
			ts.Outbound = t
		}
		cur.Transitions[in.Stage] = ts
		if err := tx.UpdatePipeline(ctx, cur); err != nil {
			return err
		}
		if !enable {
			return nil
		}
		// The executions waiting at the transition look again.
		active, err := tx.ActiveExecutionsOf(ctx, cur.Account, cur.Name)
		if err != nil {
			return err
		}
		for _, e := range active {
			if e.Waiting {
				if err := tx.Enqueue(ctx, WorkKind, WorkKey(e.Account, e.ID), now); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func stageIndexOf(p Pipeline, name string) int {
	for i, st := range p.Stages {
		if st.Name == name {
			return i
		}
	}
	return -1
}

// RetryInput is a RetryStageExecution request.
type RetryInput struct {
	Pipeline, Stage, ExecutionID string
	Mode                         string // FAILED_ACTIONS | ALL_ACTIONS
}

func notRetryable(format string, args ...any) error {
	return errs.E(errs.Conflict, format, args...).WithCode("StageNotRetryableException")
}

func notLatest(id, stage string) error {
	return errs.E(errs.Conflict, "Pipeline execution %s is not the latest execution of stage %s: a later execution ran the stage since", id, stage).WithCode("NotLatestPipelineExecutionException")
}

// RetryStageExecution resumes an execution that failed (or was stopped) in a stage: with
// FAILED_ACTIONS the stage's failed and abandoned actions run again (those that succeeded keep
// their outputs), with ALL_ACTIONS every action of the stage does, from the first run order.
// Only the stage's latest execution may be retried (executions of PARALLEL mode are each their
// own), only while the pipeline's declaration is the one the execution runs, and not while a
// stop is under way or, for a stage it could retry, another execution occupies the stage
// (ConflictException). The execution keeps its id; its attempt number increases, and the actions
// a retry replaces stay listed by ListActionExecutions.
func (s *Service) RetryStageExecution(ctx context.Context, c identity.Call, in RetryInput) (string, error) {
	if !executionIDRE.MatchString(in.ExecutionID) {
		return "", invalid("1 validation error detected: Value '%s' at 'pipelineExecutionId' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", in.ExecutionID)
	}
	if in.Mode != RetryFailedActions && in.Mode != RetryAllActions {
		return "", invalid("1 validation error detected: Value '%s' at 'retryMode' failed to satisfy constraint: Member must satisfy enum value set: [FAILED_ACTIONS, ALL_ACTIONS]", in.Mode)
	}
	p, _, err := s.stageCall(ctx, c, "RetryStageExecution", in.Pipeline, in.Stage)
	if err != nil {
		return "", err
	}
	e, err := s.store.GetExecution(ctx, p.Account, in.ExecutionID)
	if errs.Is(err, errs.NotFound) || (err == nil && e.PipelineName != p.Name) {
		return "", errs.E(errs.NotFound, "Pipeline execution with id %s of pipeline %s does not exist", in.ExecutionID, in.Pipeline).WithCode("PipelineExecutionNotFoundException")
	}
	if err != nil {
		return "", err
	}
	// A later execution that ran the stage and has ended since cannot start it again, so this
	// look outside the transaction holds; those not ended are looked at again inside it.
	all, err := s.store.ListExecutions(ctx, p.Account, p.Name)
	if err != nil {
		return "", err
	}
	if err := latestOf(e, in.Stage, all); err != nil {
		return "", err
	}
	now := s.now()
	err = s.store.Update(ctx, func(tx Tx) error {
		// The pipeline's lock orders this against executions entering stages.
		cur, err := tx.LockPipeline(ctx, p.Account, p.Name)
		if errs.Is(err, errs.NotFound) {
			return pipelineNotFound(in.Pipeline)
		}
		if err != nil {
			return err
		}
		x, err := tx.LockExecution(ctx, e.Account, e.ID)
		if err != nil {
			return err
		}
		active, err := tx.ActiveExecutionsOf(ctx, x.Account, x.PipelineName)
		if err != nil {
			return err
		}
		if err := latestOf(x, in.Stage, active); err != nil {
			return err
		}
		si := stageIndex(&x, in.Stage)
		switch {
		case x.Status == ExecStopping:
			return errs.E(errs.Conflict, "Pipeline execution %s is being stopped: retry it once it has stopped", x.ID).WithCode("ConflictException")
		case si < 0 || x.Stages[si].Status == "":
			return notRetryable("Stage %s has not run in pipeline execution %s", in.Stage, x.ID)
		case x.Stages[si].Status != ActionFailed && x.Stages[si].Status != StageStopped:
			return notRetryable("Stage %s of pipeline execution %s is %s: only a failed or stopped stage can be retried", in.Stage, x.ID, x.Stages[si].Status)
		case !x.Status.CanMoveTo(ExecInProgress):
			return notRetryable("Pipeline execution %s is %s", x.ID, x.Status)
		case cur.Version != x.Pipeline.Version:
			return notRetryable("The pipeline's structure changed (version %d) after execution %s (version %d) stopped in stage %s", cur.Version, x.ID, x.Pipeline.Version, in.Stage)
		}
		// Only a retry that could go on waits for the stage (ConflictException: try again
		// later); one that never could is refused as such first, whoever occupies the stage.
		if x.Pipeline.ExecutionMode != ModeParallel {
			// One execution occupies a stage at a time: the retried one takes the stage back.
			for _, o := range active {
				if o.ID != x.ID && !o.Waiting && stageIndex(&o, in.Stage) == o.Stage && o.Pipeline.ExecutionMode != ModeParallel {
					return errs.E(errs.Conflict, "Stage %s is occupied by pipeline execution %s", in.Stage, o.ID).WithCode("ConflictException")
				}
			}
		}
		st := &x.Stages[si]
		for ai := range st.Actions {
			a := &st.Actions[ai]
			again := in.Mode == RetryAllActions || a.Status == ActionFailed || a.Status == ActionAbandoned
			if !again || a.ID == "" {
				continue
			}
			st.Previous = append(st.Previous, *a)
			for _, o := range a.Outputs {
				delete(x.Artifacts, o.Name)
			}
			*a = ActionRun{Name: a.Name}
		}
		if x.Attempt == 0 {
			x.Attempt = 1
		}
		x.Attempt++
		x.Status, x.Summary, x.StopAbandon, x.Stage, x.Waiting, x.UpdatedAt = ExecInProgress, "", false, si, false, now
		st.Status = ActionInProgress
		if err := tx.UpdateExecution(ctx, x); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, s.pipelineEvent(x, "RESUMED")); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, s.stageEvent(x, si, "RESUMED")); err != nil {
			return err
		}
		return tx.Enqueue(ctx, WorkKind, WorkKey(x.Account, x.ID), now)
	})
	if err != nil {
		return "", err
	}
	return e.ID, nil
}

// latestOf fails unless x is the latest execution to have run stage among execs: a later
// execution (by sequence) that entered the stage makes x's run of it out of date. Executions of
// PARALLEL mode run stages independently, so there every execution is its own latest.
func latestOf(x Execution, stage string, execs []Execution) error {
	if x.Pipeline.ExecutionMode == ModeParallel {
		return nil
	}
	for i := range execs {
		o := &execs[i]
		if o.ID == x.ID || o.Seq < x.Seq || o.Pipeline.ExecutionMode == ModeParallel {
			continue
		}
		if si := stageIndex(o, stage); si >= 0 && o.Stages[si].Status != "" {
			return notLatest(x.ID, stage)
		}
	}
	return nil
}
