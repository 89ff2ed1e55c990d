package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/pipeline/definition"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// EngineConfig holds the engine's collaborators.
type EngineConfig struct {
	Service   *Service
	Store     Store
	Sessions  Sessions
	SageMaker SageMaker
	Objects   Objects
	// Jobs reads the status of the jobs the engine made straight from their store, once per
	// kind and pass for every running job of the execution; only a job found ended is
	// described (as the pipeline's role, authorized and audited like any call). Nil: every
	// running job is described on every pass.
	Jobs Jobs
	// JobBatch, when set, makes the jobs of the steps a pass starts together, in one
	// transaction, instead of one SageMaker call (and one transaction) each. Nil: one by one.
	JobBatch JobBatch
	// Poll is how long the engine waits before it looks at running jobs again (DefaultPoll
	// when 0). It is a safety net: a job's end wakes its execution as it commits (the job
	// records the execution as its waiter; see the composition root), so the poll only
	// matters when that wake-up cannot come (a job made before the waiter was recorded).
	Poll time.Duration
	// CallbackTimeout is how long a Callback step waits for its answer before it fails
	// (DefaultCallbackTimeout when 0).
	CallbackTimeout time.Duration
	// Lambdas maps Lambda function ARNs to the local commands Lambda steps run (callbacks.go).
	Lambdas map[string]LambdaCommand
	// LambdaTimeout bounds one run of a Lambda step's command (DefaultLambdaTimeout when 0).
	LambdaTimeout time.Duration
	Log           *slog.Logger
}

// Engine runs executions: a reconcile.Reconciler keyed by execution ARN. Each reconcile loads
// the execution and its steps, moves running steps on, starts the steps the plan says are
// ready and ends the execution when nothing is left to run.
type Engine struct {
	c EngineConfig
	// defs holds the parsed definitions of the executions reconciled lately, by ARN: an
	// execution's definition never changes, and a large one costs more to parse than the
	// rest of a reconcile. An entry goes when its execution ends.
	mu   sync.Mutex
	defs map[string]*parsed
	// steps holds, by ARN, the steps an execution's last reconcile left, for the next one to
	// start from instead of reading them all again (in a long chain that read is most of a
	// step's cost in the engine). Only the engine writes the steps of a running execution,
	// under its lease; the entry is used only by the reconcile whose lease directly follows
	// the one that left it (the lease's token one more: nobody held it in between) and when
	// the execution is as that one left it (RetryPipelineExecution, which rewrites steps,
	// changes it).
	steps map[string]knownSteps
}

// knownSteps is what a reconcile leaves for the next (Engine.steps).
type knownSteps struct {
	token    int64
	modified time.Time
	status   Status
	steps    map[string]Step
	order    int
}

var _ reconcile.Reconciler = (*Engine)(nil)

// NewEngine returns an engine.
func NewEngine(c EngineConfig) *Engine {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Poll <= 0 {
		c.Poll = DefaultPoll
	}
	if c.CallbackTimeout <= 0 {
		c.CallbackTimeout = DefaultCallbackTimeout
	}
	if c.LambdaTimeout <= 0 {
		c.LambdaTimeout = DefaultLambdaTimeout
	}
	c.Log = c.Log.With("component", "pipelines")
	return &Engine{c: c, defs: map[string]*parsed{}, steps: map[string]knownSteps{}}
}

// Resume returns the keys of every execution not yet ended, for the runtime to reconcile at start.
func (e *Engine) Resume(ctx context.Context) ([]string, error) {
	return e.c.Store.ActiveExecutions(ctx)
}

// DefaultPoll is how often the engine looks at an execution's running jobs when nothing
// woke it: the safety net behind the wake-up a job's end sends.
const DefaultPoll = 5 * time.Second

// maxPasses bounds the passes of one reconcile: steps that finish at once (conditions,
// registrations) let the next ones start in the same reconcile.
const maxPasses = 64

// Reconcile moves the execution named by key (its ARN) on.
func (e *Engine) Reconcile(ctx context.Context, key string) (res reconcile.Result, err error) {
	fence, fenced := reconcile.FenceFrom(ctx)
	var r *run
	defer func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		delete(e.steps, key)
		if res.Forget {
			delete(e.defs, key)
			return
		}
		if err == nil && fenced && r != nil && r.steps != nil {
			e.steps[key] = knownSteps{token: fence.Token, modified: r.x.ModifiedAt, status: r.x.Status, steps: r.steps, order: r.order}
		}
	}()
	x, err := e.c.Store.GetExecution(ctx, key)
	if errs.Is(err, errs.NotFound) {
		return reconcile.Result{Forget: true}, nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	if x.Status.Terminal() {
		return reconcile.Result{Forget: true}, nil
	}
	r = &run{e: e, x: x}
	e.mu.Lock()
	if k, ok := e.steps[key]; ok && fenced && k.token+1 == fence.Token && k.modified.Equal(x.ModifiedAt) && k.status == x.Status {
		r.steps, r.order = k.steps, k.order
	}
	delete(e.steps, key)
	e.mu.Unlock()
	if reason, err := r.load(ctx); err != nil {
		return reconcile.Result{}, err
	} else if reason != "" {
		return reconcile.Result{Forget: true}, r.finish(ctx, Failed, reason)
	}
	changed := true
	for i := 0; i < maxPasses && changed; i++ {
		if changed, err = r.pass(ctx); err != nil {
			return reconcile.Result{}, err
		}
		if r.x.Status.Terminal() {
			return reconcile.Result{Forget: true}, nil
		}
	}
	if changed {
		// The passes ran out with work left: go on at once (as another reconcile, so the
		// lease is released and renewed in between).
		return reconcile.Result{RequeueAfter: time.Millisecond}, nil
	}
	// A job's end and a callback's answer enqueue the execution; a retry's start and a
	// callback's timeout are durable timers (the work item's due time). The poll is only the
	// safety net for running jobs.
	after := e.c.Poll
	if !r.wake.IsZero() {
		if d := max(r.wake.Sub(e.c.Service.now()), time.Millisecond); !r.polling || d < after {
			after = d
		}
	}
	return reconcile.Result{RequeueAfter: after}, nil
}

// run is one reconcile of one execution.
type run struct {
	e      *Engine
	x      Execution
	def    *parsed
	params map[string]any
	caller identity.Caller
	steps  map[string]Step
	order  int
	passes int
	// batch holds saves back for the next flush; pending are those held (save).
	batch   bool
	pending []stepWrite
	// polling is set when a pass left a step whose end only a look can tell (a running
	// job, looked at again after Poll unless its end wakes the execution first); wake is the
	// earliest time a waiting step (a callback's timeout, a retry's start) needs a look.
	polling bool
	wake    time.Time
	// jobs is the status of the running steps' jobs by job name, read once per pass
	// (EngineConfig.Jobs); a job absent from it is described.
	jobs map[string]string
	// created holds, by job name, what the pass's batch answered for the jobs it made
	// (createJobs); driving a step whose job is here uses that answer instead of a call.
	created map[string]error
}

// load reads the definition and the parameters, and becomes the pipeline's role. A reason
// means the execution cannot run at all.
func (r *run) load(ctx context.Context) (string, error) {
	r.e.mu.Lock()
	r.def = r.e.defs[r.x.ARN]
	r.e.mu.Unlock()
	if r.def == nil {
		text, err := r.e.c.Store.ExecutionDefinition(ctx, r.x.ARN)
		if err != nil {
			return "", err
		}
		if r.def, err = parseDefinition(text); err != nil {
			return "The pipeline definition is not valid: " + errs.Message(err), nil
		}
		r.e.mu.Lock()
		r.e.defs[r.x.ARN] = r.def
		r.e.mu.Unlock()
	}
	var err error
	if r.params, err = r.def.values(r.x.Parameters); err != nil {
		return "The execution's parameters are not valid: " + err.Error(), nil
	}
	r.caller, err = r.e.c.Sessions.EngineSession(ctx, r.x.RoleARN, ServicePrincipal)
	if errs.Is(err, errs.AccessDenied) || errs.Is(err, errs.Invalid) || errs.Is(err, errs.NotFound) {
		return fmt.Sprintf("SageMaker cannot assume the pipeline's role %s: %s", r.x.RoleARN, errs.Message(err)), nil
	}
	return "", err
}

func (r *run) loadSteps(ctx context.Context) error {
	steps, err := r.e.c.Store.ListSteps(ctx, r.x.ARN)
	if err != nil {
		return err
	}
	r.steps = make(map[string]Step, len(steps))
	r.order = 0
	for _, s := range steps {
		r.steps[s.Name] = s
		r.order = max(r.order, s.Order+1)
	}
	return nil
}

// reuse, in a selective execution, copies from the source execution the steps the selected
// ones depend on that are not selected themselves (once: the copies are its steps).
func (r *run) reuse(ctx context.Context) error {
	if len(r.x.Selected) == 0 {
		return nil
	}
	chosen := map[string]bool{}
	for _, n := range r.x.Selected {
		chosen[n] = true
	}
	var need []string
	for _, n := range r.x.Selected {
		for _, up := range r.def.d.Plan().Upstream(n) {
			if _, have := r.steps[up]; !chosen[up] && !have && !slices.Contains(need, up) {
				need = append(need, up)
			}
		}
	}
	if len(need) == 0 {
		return nil
	}
	prev, err := r.e.c.Store.ListSteps(ctx, r.x.Source)
	if err != nil {
		return err
	}
	for _, n := range need {
		i := slices.IndexFunc(prev, func(p Step) bool { return p.Name == n && p.Status == StepSucceeded })
		if i < 0 {
			return r.finish(ctx, Failed, fmt.Sprintf("step %s did not succeed in the source execution %s", n, r.x.Source))
		}
		s := prev[i]
		s.ExecutionARN, s.Reused, s.CacheHit, s.Order = r.x.ARN, r.x.Source, "", r.order
		s.StartedAt, s.EndedAt = r.e.c.Service.now(), r.e.c.Service.now()
		r.order++
		if err := r.save(ctx, s, ""); err != nil {
			return err
		}
	}
	return nil
}

// progress is what the plan needs to know of the steps. In a selective execution, the steps
// neither selected nor reused count as done: they do not run.
func (r *run) progress() definition.Progress {
	pr := definition.Progress{Done: map[string]bool{}, Running: map[string]bool{}, Failed: map[string]bool{}, Outcomes: map[string]bool{}}
	if len(r.x.Selected) > 0 {
		for _, st := range r.def.d.AllSteps() {
			if _, have := r.steps[st.Name]; !have && !slices.Contains(r.x.Selected, st.Name) {
				pr.Done[st.Name] = true
			}
		}
	}
	for n, s := range r.steps {
		switch {
		case s.Status == StepSucceeded:
			pr.Done[n] = true
			if s.Type == string(definition.Condition) {
				var p struct{ Outcome string }
				_ = json.Unmarshal(s.Properties, &p)
				pr.Outcomes[n] = p.Outcome == "True"
			}
		case s.Status.Terminal():
			pr.Failed[n] = true
		default:
			pr.Running[n] = true
		}
	}
	return pr
}

// pass moves every running step on once, then ends the execution or starts ready steps. It
// reports whether anything changed.
func (r *run) pass(ctx context.Context) (bool, error) {
	if r.passes++; r.passes > 1 {
		// The first pass works on the execution Reconcile just read.
		cur, err := r.e.c.Store.GetExecution(ctx, r.x.ARN)
		if err != nil {
			return false, err
		}
		r.x = cur
	}
	if r.x.Status.Terminal() {
		return false, nil
	}
	// The steps are read once per reconcile: only the engine writes them, under the
	// execution's lease, and save keeps r.steps as committed.
	if r.steps == nil {
		if err := r.loadSteps(ctx); err != nil {
			return false, err
		}
	}
	if err := r.lookAtJobs(ctx); err != nil {
		return false, err
	}
	changed := false
	r.polling, r.wake = false, time.Time{}
	// The steps' ends found in this pass commit together (a layer of a fan-out ends in one
	// transaction, not one each); nothing acts on them before the flush below.
	r.batch = true
	for _, s := range r.steps {
		if s.Status.Terminal() {
			continue
		}
		c, err := r.drive(ctx, s)
		if err != nil {
			return false, r.flushBefore(ctx, err)
		}
		changed = changed || c
		if s, ok := r.steps[s.Name]; ok && !s.Status.Terminal() {
			switch {
			case s.Retrying:
				r.wake = earliest(r.wake, s.RetryAt)
			case s.Type != string(definition.Callback):
				r.polling = true
			}
		}
	}
	r.batch = false
	if err := r.flush(ctx); err != nil {
		return false, err
	}
	if err := r.reuse(ctx); err != nil || r.x.Status.Terminal() {
		return true, err
	}
	pr := r.progress()
	if len(pr.Running) > 0 {
		if r.x.Status == Stopping || len(pr.Failed) > 0 {
			return changed, nil // no new steps; wait for the running ones
		}
	} else {
		switch {
		case r.x.Status == Stopping:
			return true, r.finish(ctx, Stopped, "")
		case len(pr.Failed) > 0:
			return true, r.finish(ctx, Failed, r.failureReason())
		case r.def.d.Plan().Finished(pr):
			return true, r.finish(ctx, Succeeded, "")
		}
	}
	ready := r.def.d.Plan().Ready(pr, r.x.MaxParallel)
	if len(ready) == 0 && len(pr.Running) == 0 {
		// Nothing runs, nothing failed, the plan is not finished, and nothing can start.
		return true, r.finish(ctx, Failed, "No step of the pipeline can run: the plan is stuck.")
	}
	// The ready steps' Starting commits in one transaction before any of them acts (their
	// jobs' names are on record before the jobs exist); what driving them then records
	// commits in one more.
	r.batch = true
	defer func() { r.batch = false }()
	var begun []string
	for _, name := range ready {
		drive, err := r.begin(ctx, name)
		if err != nil {
			return false, err
		}
		if drive {
			begun = append(begun, name)
		}
		changed = true
	}
	if err := r.flush(ctx); err != nil {
		return false, err
	}
	if err := r.createJobs(ctx, begun); err != nil {
		return false, err
	}
	for _, name := range begun {
		if _, err := r.drive(ctx, r.steps[name]); err != nil {
			return false, r.flushBefore(ctx, err)
		}
	}
	return changed, r.flush(ctx)
}

// failureReason is the execution's failure reason: a Fail step's message, or SageMaker's.
func (r *run) failureReason() string {
	for _, s := range r.steps {
		if s.Status == StepFailed && s.Type == string(definition.Fail) {
			return s.FailureReason
		}
	}
	var failed []string
	for _, s := range r.steps {
		if s.Status == StepFailed {
			failed = append(failed, s.Name)
		}
	}
	if len(failed) == 0 {
		return "Step failure: One or multiple steps failed."
	}
	return "Step failure: One or multiple steps failed: " + strings.Join(sorted(failed), ", ")
}

// jobKind describes the job a Processing, Training or Transform step runs.
type jobKind struct{ noun, arnType string }

var jobKinds = map[definition.StepType]jobKind{
	definition.Processing: {"ProcessingJob", "processing-job"},
	definition.Training:   {"TrainingJob", "training-job"},
	definition.Transform:  {"TransformJob", "transform-job"},
}

// lookAtJobs reads the status of the jobs of the steps that run, once per kind.
func (r *run) lookAtJobs(ctx context.Context) error {
	r.jobs = nil
	if r.e.c.Jobs == nil {
		return nil
	}
	byNoun := map[string][]string{}
	for _, s := range r.steps {
		k, isJob := jobKinds[definition.StepType(s.Type)]
		if !isJob || s.Retrying || (s.Status != StepExecuting && s.Status != StepStopping) {
			continue
		}
		byNoun[k.noun] = append(byNoun[k.noun], jobName(r.x.ID, s.Name, s.Attempt))
	}
	for noun, names := range byNoun {
		st, err := r.e.c.Jobs.JobStatuses(ctx, r.x.Account, noun, names)
		if err != nil {
			return err
		}
		if r.jobs == nil {
			r.jobs = make(map[string]string, len(r.steps))
		}
		maps.Copy(r.jobs, st)
	}
	return nil
}

func (r *run) jobARN(k jobKind, name string) string {
	return arn.SageMaker(r.e.c.Service.region, r.x.Account, k.arnType, strings.ToLower(name))
}

// begin saves a step as Starting (its job's ARN, deterministic, in its metadata), or as
// ended when the cache has it; it reports whether the step is to be driven.
func (r *run) begin(ctx context.Context, name string) (bool, error) {
	sd, ok := r.def.d.Step(name)
	if !ok {
		return false, errs.E(errs.Internal, "the plan names step %s the definition lacks", name)
	}
	now := r.e.c.Service.now()
	s := Step{ExecutionARN: r.x.ARN, Name: sd.Name, Type: string(sd.Type), DisplayName: sd.DisplayName, Description: sd.Description,
		Status: StepStarting, Attempt: 1, StartedAt: now, Order: r.order}
	r.order++
	if k, ok := jobKinds[sd.Type]; ok {
		s.Metadata = mustJSON(map[string]any{k.noun: map[string]string{"Arn": r.jobARN(k, jobName(r.x.ID, s.Name, s.Attempt))}})
		if sd.Cache != nil && sd.Cache.Enabled {
			hit, err := r.cached(ctx, sd, &s)
			if err != nil || hit {
				return false, err
			}
		}
	}
	return true, r.save(ctx, s, "")
}

// cached computes a step's cache key (into s) and, when an earlier execution of the pipeline
// ran the step with the same key within its ExpireAfter, ends the step as that one ended:
// its metadata and properties, CacheHitResult naming the execution.
func (r *run) cached(ctx context.Context, sd *definition.Step, s *Step) (bool, error) {
	args, err := definition.CacheArguments(sd, r.context(ctx, ""))
	if err != nil {
		return false, nil // the step's own resolution reports it
	}
	key, err := definition.CacheKey(sd.Type, args)
	if err != nil {
		return false, nil
	}
	s.CacheKey = key
	s.CacheArguments, _ = json.Marshal(args)
	var notBefore time.Time
	if sd.Cache.ExpireAfter > 0 {
		notBefore = r.e.c.Service.now().Add(-sd.Cache.ExpireAfter)
	}
	execution, name, err := r.e.c.Store.CacheHit(ctx, r.x.PipelineARN, key, notBefore)
	if errs.Is(err, errs.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	prev, err := r.e.c.Store.ListSteps(ctx, execution)
	if err != nil {
		return false, err
	}
	for _, p := range prev {
		if p.Name == name && p.Status == StepSucceeded {
			s.Status, s.EndedAt, s.CacheHit = StepSucceeded, s.StartedAt, execution
			s.Metadata, s.Properties = p.Metadata, p.Properties
			return true, r.save(ctx, *s, "")
		}
	}
	return false, nil
}

// drive moves one step that has not ended on, committing each transition.
func (r *run) drive(ctx context.Context, s Step) (bool, error) {
	sd, ok := r.def.d.Step(s.Name)
	if !ok {
		return true, r.end(ctx, s, StepFailed, "the step is not in the execution's definition", nil, nil)
	}
	if r.x.Status == Stopping && s.Status == StepStarting {
		if _, isJob := jobKinds[sd.Type]; !isJob {
			return true, r.end(ctx, s, StepStopped, "", nil, nil)
		}
	}
	if _, isJob := jobKinds[sd.Type]; s.Retrying && !isJob {
		// A RegisterModel, CreateModel or Model step's next attempt after a fault.
		if r.x.Status == Stopping {
			return true, r.end(ctx, s, StepStopped, "", nil, nil)
		}
		if r.e.c.Service.now().Before(s.RetryAt) {
			return false, nil
		}
		s.Retrying, s.RetryAt = false, time.Time{}
	}
	switch sd.Type {
	case definition.Processing, definition.Training, definition.Transform:
		return r.driveJob(ctx, s, sd, jobKinds[sd.Type])
	case definition.Condition:
		outcome, err := definition.EvaluateConditions(sd.Conditions, r.context(ctx, ""))
		if err != nil {
			return true, r.end(ctx, s, StepFailed, "The conditions could not be evaluated: "+err.Error(), nil, nil)
		}
		o := "False"
		if outcome {
			o = "True"
		}
		return true, r.end(ctx, s, StepSucceeded, "", map[string]any{"Condition": map[string]string{"Outcome": o}}, map[string]any{"Outcome": o})
	case definition.Fail:
		msg := ""
		if args, ok := sd.Arguments.(map[string]any); ok && args["ErrorMessage"] != nil {
			v, err := definition.Resolve(args["ErrorMessage"], r.context(ctx, ""))
			if err != nil {
				return true, r.end(ctx, s, StepFailed, "The error message could not be resolved: "+err.Error(), nil, nil)
			}
			msg = definition.Stringify(v)
		}
		return true, r.end(ctx, s, StepFailed, msg, map[string]any{"Fail": map[string]string{"ErrorMessage": msg}}, nil)
	case definition.RegisterModel:
		return true, r.register(ctx, s, sd)
	case definition.CreateModel, definition.Model:
		return true, r.createModel(ctx, s, sd)
	case definition.Callback:
		return r.driveCallback(ctx, s, sd)
	case definition.Lambda:
		return true, r.runLambda(ctx, s, sd)
	}
	return true, r.end(ctx, s, StepFailed, fmt.Sprintf("%s steps are not supported on this server", sd.Type), nil, nil)
}

// arguments resolves a step's Arguments to a JSON object.
func (r *run) arguments(ctx context.Context, sd *definition.Step, jobName string) (map[string]any, error) {
	v, err := definition.Resolve(sd.Arguments, r.context(ctx, jobName))
	if err != nil {
		return nil, fmt.Errorf("the step's arguments could not be resolved: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the step's Arguments are not an object")
	}
	return m, nil
}

// clientFault says whether err is the caller's (a refusal the step reports) rather than the
// server's (retried).
func clientFault(err error) bool {
	switch errs.KindOf(err) {
	case errs.Invalid, errs.AccessDenied, errs.NotFound, errs.LimitExceeded, errs.Conflict:
		return true
	}
	return false
}

func (r *run) driveJob(ctx context.Context, s Step, sd *definition.Step, k jobKind) (bool, error) {
	name := jobName(r.x.ID, s.Name, s.Attempt)
	nameIn := map[string]string{k.noun + "Name": name}
	if s.Retrying && r.x.Status == Stopping {
		prev := s.Status
		s.Status, s.Retrying = StepStopping, false
		if err := r.save(ctx, s, prev); err != nil {
			return false, err
		}
		return true, r.end(ctx, s, StepStopped, "", nil, nil)
	}
	if s.Retrying && r.e.c.Service.now().Before(s.RetryAt) {
		return false, nil
	}
	if s.Status == StepStarting || s.Retrying {
		if r.x.Status == Stopping {
			// Whether the job was made before a restart or not, it must not run.
			_, err := r.call(ctx, "Stop"+k.noun, nameIn)
			if errs.Is(err, errs.NotFound) {
				return true, r.end(ctx, s, StepStopped, "", nil, nil)
			}
		} else {
			err, made := r.created[name]
			delete(r.created, name)
			if !made {
				args, aerr := r.jobArguments(ctx, sd, k, name)
				if aerr != nil {
					return true, r.end(ctx, s, StepFailed, aerr.Error(), nil, nil)
				}
				_, err = r.call(ctx, "Create"+k.noun, args)
			}
			if err != nil && !(errs.Is(err, errs.Conflict) && strings.Contains(errs.Message(err), "already exists")) {
				if !clientFault(err) {
					return r.onFault(ctx, s, sd, "Create"+k.noun+" "+name, err)
				}
				reason := fmt.Sprintf("Create%s %s: %s", k.noun, name, errs.Message(err))
				if errs.Is(err, errs.LimitExceeded) {
					return r.retryOrFail(ctx, s, sd, "SageMaker.RESOURCE_LIMIT", reason, nil)
				}
				return true, r.end(ctx, s, StepFailed, reason, nil, nil)
			}
		}
		prev := s.Status
		s.Retrying, s.RetryAt = false, time.Time{}
		s.Metadata = mustJSON(map[string]any{k.noun: map[string]string{"Arn": r.jobARN(k, name)}})
		s.Status = StepExecuting
		if r.x.Status == Stopping {
			s.Status = StepStopping
		}
		if err := r.save(ctx, s, prev); err != nil {
			return false, err
		}
		return true, nil
	}
	if r.x.Status == Stopping && s.Status == StepExecuting {
		if _, err := r.call(ctx, "Stop"+k.noun, nameIn); err != nil && !clientFault(err) {
			return false, err
		}
		prev := s.Status
		s.Status = StepStopping
		if err := r.save(ctx, s, prev); err != nil {
			return false, err
		}
	}
	switch r.jobs[name] {
	case "InProgress", "Stopping":
		return false, nil // its end wakes the execution
	}
	out, err := r.call(ctx, "Describe"+k.noun, nameIn)
	if err != nil {
		if clientFault(err) {
			return true, r.end(ctx, s, StepFailed, fmt.Sprintf("Describe%s %s: %s", k.noun, name, errs.Message(err)), nil, nil)
		}
		return false, err
	}
	var d map[string]any
	if err := json.Unmarshal(out, &d); err != nil {
		return false, errs.E(errs.Internal, "the %s description does not decode", k.noun, err)
	}
	md := map[string]any{k.noun: map[string]string{"Arn": r.jobARN(k, name)}}
	switch d[k.noun+"Status"] {
	case "Completed":
		return true, r.end(ctx, s, StepSucceeded, "", md, d)
	case "Failed":
		reason, _ := d["FailureReason"].(string)
		full := fmt.Sprintf("%s %s failed: %s", k.noun, name, reason)
		if strings.HasPrefix(reason, "InternalServerError") {
			return r.retryOrFail(ctx, s, sd, "SageMaker.JOB_INTERNAL_ERROR", full, d)
		}
		return true, r.end(ctx, s, StepFailed, full, md, d)
	case "Stopped":
		return true, r.end(ctx, s, StepStopped, "", md, d)
	}
	return false, nil
}

// jobArguments is the Create request of a step's job, named name.
func (r *run) jobArguments(ctx context.Context, sd *definition.Step, k jobKind, name string) (map[string]any, error) {
	args, err := r.arguments(ctx, sd, name)
	if err != nil {
		return nil, err
	}
	args[k.noun+"Name"] = name
	if _, ok := args["RoleArn"]; !ok && sd.Type != definition.Transform {
		args["RoleArn"] = r.x.RoleARN
	}
	delete(args, "Tags")
	return args, nil
}

// createJobs makes the jobs of the steps a pass just started in one batch (EngineConfig.
// JobBatch): each still authorized and audited as its own call, all stored in one
// transaction. The answers wait in r.created for driveJob, which goes on as if it had made
// the call; a step whose arguments do not resolve is left to driveJob, which fails it. A
// batch that fails as a whole made nothing: each step then makes its job with its own call.
func (r *run) createJobs(ctx context.Context, begun []string) error {
	r.created = nil
	if r.e.c.JobBatch == nil || r.x.Status == Stopping {
		return nil
	}
	var (
		calls []JobCall
		names []string
	)
	for _, n := range begun {
		s := r.steps[n]
		sd, ok := r.def.d.Step(n)
		if !ok || s.Status != StepStarting || s.Retrying {
			continue
		}
		k, isJob := jobKinds[sd.Type]
		if !isJob {
			continue
		}
		name := jobName(r.x.ID, s.Name, s.Attempt)
		args, err := r.jobArguments(ctx, sd, k, name)
		if err != nil {
			continue
		}
		calls = append(calls, JobCall{Operation: "Create" + k.noun, Input: args})
		names = append(names, name)
	}
	if len(calls) < 2 {
		return nil // one job: the call alone costs no more
	}
	results, err := r.e.c.JobBatch.CreateJobs(ctx, r.caller, calls)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		// Nothing was made: each step makes its job with its own call, and a fault of that
		// call counts against the step's RetryPolicies as it always does.
		r.e.c.Log.Warn("cannot create a layer's jobs in one batch; creating them one by one", "execution", r.x.ARN, "jobs", len(calls), "err", err)
		return nil
	}
	if len(results) != len(calls) {
		return errs.E(errs.Internal, "the job batch answered %d results for %d jobs", len(results), len(calls))
	}
	r.created = make(map[string]error, len(names))
	for i, n := range names {
		r.created[n] = results[i]
	}
	return nil
}

// retryOrFail starts the step's next attempt when one of its RetryPolicies names the
// exception type, allows another attempt and has not expired; otherwise the step fails.
// Attempt n+1 starts IntervalSeconds × BackoffRate^(n-1) after attempt n failed.
func (r *run) retryOrFail(ctx context.Context, s Step, sd *definition.Step, exception, reason string, props map[string]any) (bool, error) {
	now := r.e.c.Service.now()
	for _, p := range sd.Retry {
		if !slices.Contains(p.ExceptionTypes, exception) {
			continue
		}
		max := p.MaxAttempts
		if max == 0 && p.ExpireAfterMin == 0 {
			max = 5 // SageMaker's default
		}
		if max > 0 && s.Attempt > max {
			break // the first attempt and max retries are done
		}
		if p.ExpireAfterMin > 0 && now.Sub(s.StartedAt) > time.Duration(p.ExpireAfterMin)*time.Minute {
			break
		}
		interval, rate := p.IntervalSeconds, p.BackoffRate
		if interval <= 0 {
			interval = 1
		}
		if rate <= 0 {
			rate = 2
		}
		wait := time.Duration(float64(interval) * math.Pow(rate, float64(s.Attempt-1)) * float64(time.Second))
		prev := s.Status
		s.Attempt++
		s.Retrying, s.RetryAt, s.FailureReason = true, now.Add(wait), reason
		s.Status = StepExecuting
		r.e.c.Log.Info("retrying a pipeline step", "execution", r.x.ARN, "step", s.Name, "attempt", s.Attempt, "after", wait, "exception", exception)
		return true, r.save(ctx, s, prev)
	}
	return true, r.end(ctx, s, StepFailed, reason, nil, props)
}

// clientToken is the ClientToken of a step's call: one per execution and step, so a call
// repeated after a restart makes nothing new.
func (r *run) clientToken(step string) string {
	return "pipelines-" + r.x.ID + "-" + shortHash(r.x.ARN+"/"+step)
}

// register registers the step's model package version, once per execution and step (its
// ClientToken), with MetadataProperties.GeneratedBy naming the execution.
func (r *run) register(ctx context.Context, s Step, sd *definition.Step) error {
	args, err := r.arguments(ctx, sd, "")
	if err != nil {
		return r.end(ctx, s, StepFailed, err.Error(), nil, nil)
	}
	mp, _ := args["MetadataProperties"].(map[string]any)
	if mp == nil {
		mp = map[string]any{}
	}
	mp["GeneratedBy"] = r.x.ARN
	args["MetadataProperties"] = mp
	r.recordLineage(args, s.Name)
	args["ClientToken"] = r.clientToken(s.Name)
	out, err := r.call(ctx, "CreateModelPackage", args)
	if err != nil {
		if !clientFault(err) {
			_, err = r.onFault(ctx, s, sd, "CreateModelPackage", err)
			return err
		}
		return r.end(ctx, s, StepFailed, "CreateModelPackage: "+errs.Message(err), nil, nil)
	}
	var created struct{ ModelPackageArn string }
	if err := json.Unmarshal(out, &created); err != nil || created.ModelPackageArn == "" {
		return errs.E(errs.Internal, "CreateModelPackage answered no ModelPackageArn")
	}
	props := map[string]any{"ModelPackageArn": created.ModelPackageArn}
	if d, err := r.call(ctx, "DescribeModelPackage", map[string]string{"ModelPackageName": created.ModelPackageArn}); err == nil {
		_ = json.Unmarshal(d, &props)
	}
	return r.end(ctx, s, StepSucceeded, "", map[string]any{"RegisterModel": map[string]string{"Arn": created.ModelPackageArn}}, props)
}

// createModel creates the step's model under a name deterministic per execution and step.
func (r *run) createModel(ctx context.Context, s Step, sd *definition.Step) error {
	args, err := r.arguments(ctx, sd, "")
	if err != nil {
		return r.end(ctx, s, StepFailed, err.Error(), nil, nil)
	}
	name := jobName(r.x.ID, s.Name, s.Attempt)
	args["ModelName"] = name
	if _, ok := args["ExecutionRoleArn"]; !ok {
		args["ExecutionRoleArn"] = r.x.RoleARN
	}
	delete(args, "Tags")
	_, err = r.call(ctx, "CreateModel", args)
	if err != nil && !strings.Contains(errs.Message(err), "already existing model") {
		if !clientFault(err) {
			_, err = r.onFault(ctx, s, sd, "CreateModel", err)
			return err
		}
		return r.end(ctx, s, StepFailed, "CreateModel: "+errs.Message(err), nil, nil)
	}
	d, err := r.call(ctx, "DescribeModel", map[string]string{"ModelName": name})
	if err != nil {
		if !clientFault(err) {
			return err
		}
		return r.end(ctx, s, StepFailed, "DescribeModel: "+errs.Message(err), nil, nil)
	}
	var props map[string]any
	if err := json.Unmarshal(d, &props); err != nil {
		return errs.E(errs.Internal, "the model's description does not decode", err)
	}
	return r.end(ctx, s, StepSucceeded, "", map[string]any{"Model": map[string]any{"Arn": props["ModelArn"]}}, props)
}

// call calls a SageMaker operation as the pipeline's role.
func (r *run) call(ctx context.Context, op string, input any) (json.RawMessage, error) {
	return r.e.c.SageMaker.Call(ctx, r.caller, op, input)
}

// context is what the step's expressions resolve against.
func (r *run) context(ctx context.Context, jobName string) definition.Context {
	now := r.e.c.Service.now()
	exec := map[string]any{
		"PipelineExecutionArn": r.x.ARN, "PipelineExecutionId": r.x.ID, "PipelineName": r.x.PipelineName, "PipelineArn": r.x.PipelineARN,
		"StartDateTime": r.x.CreatedAt.UTC().Format(time.RFC3339), "CurrentDateTime": now.UTC().Format(time.RFC3339),
		"TrainingJobName": jobName, "ProcessingJobName": jobName,
	}
	return definition.Context{
		Parameters: r.params,
		Execution:  exec,
		ExperimentConfig: map[string]any{
			"ExperimentName": strings.ToLower(r.x.PipelineName), "TrialName": r.x.ID,
		},
		StepProperties: func(step string) (map[string]any, bool) {
			s, ok := r.steps[step]
			if !ok || s.Status != StepSucceeded {
				return nil, false
			}
			var m map[string]any
			if json.Unmarshal(s.Properties, &m) != nil {
				return nil, false
			}
			return m, true
		},
		PropertyFile: func(step, file string) ([]byte, error) { return r.propertyFile(ctx, step, file) },
		ReadURI:      func(uri string) ([]byte, error) { return r.read(ctx, uri) },
	}
}

// maxPropertyFile bounds what Std:JsonGet reads.
const maxPropertyFile = 16 << 20

// propertyFile reads a processing step's property file from the output it was written to, as
// the pipeline's role.
func (r *run) propertyFile(ctx context.Context, step, file string) ([]byte, error) {
	sd, ok := r.def.d.Step(step)
	if !ok {
		return nil, fmt.Errorf("no step %s", step)
	}
	pf, ok := sd.PropertyFile(file)
	if !ok {
		return nil, fmt.Errorf("step %s has no property file %s", step, file)
	}
	s := r.steps[step]
	var d struct {
		ProcessingOutputConfig struct {
			Outputs []struct {
				OutputName string
				S3Output   struct{ S3Uri string }
			}
		}
	}
	if err := json.Unmarshal(s.Properties, &d); err != nil {
		return nil, fmt.Errorf("step %s has no outputs", step)
	}
	for _, o := range d.ProcessingOutputConfig.Outputs {
		if o.OutputName == pf.OutputName {
			uri := strings.TrimSuffix(o.S3Output.S3Uri, "/") + "/" + strings.TrimPrefix(pf.FilePath, "/")
			b, err := r.read(ctx, uri)
			if err != nil {
				return nil, fmt.Errorf("property file %s of step %s (%s): %w", file, step, uri, err)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("step %s has no output %s for property file %s", step, pf.OutputName, file)
}

func (r *run) read(ctx context.Context, uri string) ([]byte, error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	bucket, key, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || bucket == "" || key == "" {
		return nil, fmt.Errorf("%q is not an s3://bucket/key URI", uri)
	}
	b, err := r.e.c.Objects.ReadObject(ctx, r.caller, bucket, key, maxPropertyFile)
	if err != nil {
		return nil, fmt.Errorf("%s", errs.Message(err))
	}
	return b, nil
}

// end commits a step's end.
func (r *run) end(ctx context.Context, s Step, status StepStatus, reason string, metadata, properties map[string]any) error {
	prev := s.Status
	s.Status, s.FailureReason, s.EndedAt = status, truncate(reason, 3072), r.e.c.Service.now()
	if metadata != nil {
		s.Metadata = mustJSON(metadata)
	}
	if properties != nil {
		s.Properties = mustJSON(properties)
	}
	if err := r.save(ctx, s, prev); err != nil {
		return err
	}
	r.steps[s.Name] = s
	return nil
}

// audited runs a change of the execution under the reconcile lease's fence, audited as the
// engine's op, with the execution locked (and still not ended).
func (r *run) audited(ctx context.Context, op string, fn func(tx Tx, x *Execution) error) error {
	fence, fenced := reconcile.FenceFrom(ctx)
	s := r.e.c.Service
	actx, _ := audit.ForEngine(ctx, audit.Record{
		Time: s.now(), Account: r.x.Account, PrincipalARN: ServicePrincipal, UserAgent: ServicePrincipal,
		Service: "sagemaker", Operation: op, Resource: r.x.ARN, Decision: "allow",
		Reason: "the pipelines engine records the execution's progress",
	})
	return r.e.c.Store.Update(actx, func(tx Tx) error {
		if fenced {
			if err := tx.CheckFence(actx, fence); err != nil {
				return err
			}
		}
		x, err := tx.LockExecution(actx, r.x.ARN)
		if err != nil {
			return err
		}
		return fn(tx, &x)
	})
}

// save commits a step with its status change event when its status changed, and whatever
// else the extra functions write in the same transaction.
//
// While the run batches (r.batch), the write waits in r.pending for the next flush, which
// commits every waiting write in one transaction; r.steps shows it at once. A pass batches
// only what nothing acts on before the flush: the ends of the steps it looks at, and the
// Starting of the steps it starts, which is flushed before any of them is driven.
func (r *run) save(ctx context.Context, st Step, prev StepStatus, extra ...func(tx Tx, x Execution) error) error {
	if prev != "" && prev != st.Status && !prev.CanMoveTo(st.Status) {
		return errs.E(errs.Internal, "step %s cannot go from %s to %s", st.Name, prev, st.Status)
	}
	w := stepWrite{st: st, prev: prev, extra: extra}
	if r.batch {
		r.pending = append(r.pending, w)
		r.steps[st.Name] = st
		return nil
	}
	err := r.commit(ctx, []stepWrite{w})
	if err == nil {
		r.steps[st.Name] = st
	}
	return err
}

// stepWrite is one save of a step.
type stepWrite struct {
	st    Step
	prev  StepStatus
	extra []func(tx Tx, x Execution) error
}

// flush commits the writes the batch holds, in one transaction.
func (r *run) flush(ctx context.Context) error {
	if len(r.pending) == 0 {
		return nil
	}
	ws := r.pending
	r.pending = nil
	return r.commit(ctx, ws)
}

// flushBefore commits what the batch holds before a step's error goes back to the runtime:
// the other steps' progress is not lost to one step's fault.
func (r *run) flushBefore(ctx context.Context, err error) error {
	r.batch = false
	if ferr := r.flush(ctx); ferr != nil {
		r.e.c.Log.Warn("cannot record the steps' progress", "execution", r.x.ARN, "err", ferr)
	}
	return err
}

// commit writes steps, with their status change events, in one transaction.
func (r *run) commit(ctx context.Context, ws []stepWrite) error {
	return r.audited(ctx, "UpdatePipelineExecutionStep", func(tx Tx, x *Execution) error {
		if x.Status.Terminal() {
			return errs.E(errs.Conflict, "the execution %s has ended", x.ARN)
		}
		for _, w := range ws {
			st := w.st
			if err := tx.PutStep(ctx, st); err != nil {
				return err
			}
			if st.Status == StepSucceeded && st.CacheKey != "" && st.CacheHit == "" {
				if err := tx.PutCacheEntry(ctx, x.PipelineARN, st.CacheKey, x.ARN, st.Name, st.EndedAt); err != nil {
					return err
				}
			}
			for _, fn := range w.extra {
				if err := fn(tx, *x); err != nil {
					return err
				}
			}
			if w.prev == st.Status {
				continue
			}
			if err := r.e.c.Service.appendStepEvent(ctx, tx, *x, st, w.prev); err != nil {
				return err
			}
		}
		return nil
	})
}

// finish ends the execution.
func (r *run) finish(ctx context.Context, status Status, reason string) error {
	err := r.audited(ctx, "UpdatePipelineExecution", func(tx Tx, x *Execution) error {
		if x.Status.Terminal() {
			return nil
		}
		prev := x.Status
		x.Status, x.FailureReason, x.ModifiedAt = status, truncate(reason, 1024), r.e.c.Service.now()
		if err := tx.UpdateExecution(ctx, *x); err != nil {
			return err
		}
		r.x = *x
		return r.e.c.Service.appendExecutionEvent(ctx, tx, *x, prev)
	})
	if err == nil {
		r.e.c.Log.Info("pipeline execution ended", "execution", r.x.ARN, "status", status, "reason", reason)
	}
	return err
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings and decoded JSON are encoded
	}
	return b
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])[:8]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

func sorted(xs []string) []string {
	out := append([]string(nil), xs...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
