package delivery

import (
	"context"
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/randid"
)

// WorkKind is the reconcile kind of the execution engine; its keys are ACCOUNT/EXECUTION-ID.
const WorkKind = "delivery"

// ServicePrincipal is the service a pipeline's role is passed to and the engine's name when it
// acts as the role (the role's trust policy must allow it).
const ServicePrincipal = "codepipeline.amazonaws.com"

// Limits.
const (
	MaxStages  = 50
	MaxActions = 50
	MaxTags    = 50
)

var (
	nameRE     = regexp.MustCompile(`^[A-Za-z0-9.@\-_]{1,100}$`)
	artifactRE = regexp.MustCompile(`^[a-zA-Z0-9_\-]{1,100}$`)
)

// Manual approval is built in: the engine waits for PutApprovalResult, at most the approval's
// timeout (7 days, as CodePipeline; ApprovalTimeoutKey, a Slipway extension, shortens it).
const (
	CategoryApproval = "Approval"
	ProviderManual   = "Manual"
	// ApprovalTimeoutKey is a Slipway-specific configuration key of a manual approval: how long
	// it waits (a Go duration, 1s to 168h) before it fails.
	ApprovalTimeoutKey     = "SlipwayApprovalTimeout"
	DefaultApprovalTimeout = 7 * 24 * time.Hour
)

// approvalTimeout is how long a manual approval waits.
func approvalTimeout(a Action) (time.Duration, error) {
	v, ok := a.Configuration[ApprovalTimeoutKey]
	if !ok {
		return DefaultApprovalTimeout, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second || d > DefaultApprovalTimeout {
		return 0, errs.E(errs.Invalid, "bad %s", ApprovalTimeoutKey)
	}
	return d, nil
}

// Service is CodePipeline's deploy pipelines API.
type Service struct {
	store     Store
	authz     Authorizer
	roles     RolePasser
	providers map[string]ActionProvider
	region    string
	now       func() time.Time
}

// Config of a Service.
type Config struct {
	Store     Store
	Authz     Authorizer
	Roles     RolePasser
	Providers map[string]ActionProvider // by ProviderKey(category, provider)
	Region    string
	Now       func() time.Time
}

// NewService returns a Service.
func NewService(c Config) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Service{store: c.Store, authz: c.Authz, roles: c.Roles, providers: c.Providers, region: c.Region, now: c.Now}
}

func invalid(format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...).WithCode("ValidationException")
}

func structure(format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...).WithCode("InvalidStructureException")
}

func pipelineNotFound(name string) error {
	return errs.E(errs.NotFound, "Account does not have a pipeline with name '%s'", name).WithCode("PipelineNotFoundException")
}

// PipelineARN is a pipeline's ARN.
func (s *Service) PipelineARN(account, name string) string {
	return arn.CodePipeline(s.region, account, name)
}

// Region is the region the service serves.
func (s *Service) Region() string { return s.region }

func (s *Service) authorize(ctx context.Context, c identity.Call, op, resource string) error {
	_, err := s.authz.Authorize(ctx, c.Caller, identity.Action{
		Name: "codepipeline:" + op, Resource: resource, ResourceAccount: c.Caller.Account, Context: c.Context,
	})
	return err
}

// find authorizes op on the pipeline named and loads it; a pipeline that does not exist is
// authorized on its would-be ARN first, so a denied caller learns nothing.
func (s *Service) find(ctx context.Context, c identity.Call, op, name string) (Pipeline, error) {
	if !nameRE.MatchString(name) {
		return Pipeline{}, invalid("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+", name)
	}
	if err := s.authorize(ctx, c, op, s.PipelineARN(c.Caller.Account, name)); err != nil {
		return Pipeline{}, err
	}
	p, err := s.store.GetPipeline(ctx, c.Caller.Account, name)
	if errs.Is(err, errs.NotFound) {
		return Pipeline{}, pipelineNotFound(name)
	}
	return p, err
}

// check validates a declaration: names, the structure of stages and actions, artifacts
// flowing only forward, and that every action has a provider that knows its configuration.
func (s *Service) check(p *Pipeline) error {
	if !nameRE.MatchString(p.Name) {
		return invalid("1 validation error detected: Value '%s' at 'pipeline.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+", p.Name)
	}
	if _, err := arn.ParseIAM(p.RoleARN); err != nil {
		return invalid("pipeline.roleArn %q is not a role ARN", p.RoleARN)
	}
	if p.ArtifactStore.Type != "S3" || p.ArtifactStore.Location == "" {
		return structure("the pipeline needs an artifactStore of type S3 with a location (a bucket)")
	}
	switch p.PipelineType {
	case "":
		p.PipelineType = "V1"
	case "V1", "V2":
	default:
		return invalid("pipelineType must be V1 or V2")
	}
	switch p.ExecutionMode {
	case "":
		p.ExecutionMode = ModeSuperseded
	case ModeSuperseded:
	case ModeQueued, ModeParallel:
		// As on CodePipeline, QUEUED and PARALLEL are modes of V2 pipelines only.
		if p.PipelineType != "V2" {
			return invalid("executionMode %s requires pipelineType V2", p.ExecutionMode)
		}
	default:
		return invalid("1 validation error detected: Value '%s' at 'pipeline.executionMode' failed to satisfy constraint: Member must satisfy enum value set: [QUEUED, SUPERSEDED, PARALLEL]", p.ExecutionMode)
	}
	if len(p.Stages) < 2 {
		return structure("Pipeline has only %d stage(s). There should be a minimum of 2 stages in a pipeline", len(p.Stages))
	}
	if len(p.Stages) > MaxStages {
		return errs.E(errs.LimitExceeded, "a pipeline has at most %d stages", MaxStages).WithCode("LimitExceededException")
	}
	stages := map[string]bool{}
	made := map[string]bool{}
	for i := range p.Stages {
		st := &p.Stages[i]
		if !nameRE.MatchString(st.Name) {
			return errs.E(errs.Invalid, "stage name %q must be 1 to 100 of A-Za-z0-9.@-_", st.Name).WithCode("InvalidStageDeclarationException")
		}
		if stages[st.Name] {
			return structure("Stage name %s is used more than once", st.Name)
		}
		stages[st.Name] = true
		if len(st.Actions) == 0 || len(st.Actions) > MaxActions {
			return errs.E(errs.Invalid, "stage %s must have 1 to %d actions", st.Name, MaxActions).WithCode("InvalidStageDeclarationException")
		}
		names := map[string]bool{}
		// Artifacts made in this stage are visible to later run orders only.
		byOrder := map[int][]string{}
		for j := range st.Actions {
			a := &st.Actions[j]
			if a.RunOrder == 0 {
				a.RunOrder = 1
			}
			if a.RunOrder < 1 || a.RunOrder > 999 {
				return actionErr("action %s: runOrder must be 1 to 999", a.Name)
			}
			if !nameRE.MatchString(a.Name) || names[a.Name] {
				return actionErr("action name %q must be unique in its stage and 1 to 100 of A-Za-z0-9.@-_", a.Name)
			}
			names[a.Name] = true
			if (a.Category == "Source") != (i == 0) {
				return structure("Stage %s: Source actions must be in the first stage, and the first stage must hold only Source actions", st.Name)
			}
			if err := s.checkAction(a); err != nil {
				return err
			}
			for _, out := range a.OutputArtifacts {
				if !artifactRE.MatchString(out) {
					return actionErr("action %s: output artifact name %q must be 1 to 100 of a-zA-Z0-9_-", a.Name, out)
				}
				if made[out] {
					return structure("Output Artifact Bundle name %s is not unique", out)
				}
				made[out] = true
				byOrder[a.RunOrder] = append(byOrder[a.RunOrder], out)
			}
		}
		for _, a := range st.Actions {
			for _, in := range a.InputArtifacts {
				if !made[in] || producedAtOrAfter(byOrder, in, a.RunOrder) {
					return structure("Input Artifact Bundle %s of action %s is not produced by an earlier action", in, a.Name)
				}
			}
		}
	}
	// The providers' own checks of values, once the structure holds.
	for _, st := range p.Stages {
		for _, a := range st.Actions {
			if v, ok := s.providers[ProviderKey(a.Category, a.Provider)].(ActionValidator); ok {
				if err := v.Validate(a); err != nil {
					return actionErr("action %s: %s", a.Name, errs.Message(err))
				}
			}
		}
	}
	return nil
}

func producedAtOrAfter(byOrder map[int][]string, name string, order int) bool {
	for o, outs := range byOrder {
		if o < order {
			continue
		}
		for _, x := range outs {
			if x == name {
				return true
			}
		}
	}
	return false
}

func actionErr(format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...).WithCode("InvalidActionDeclarationException")
}

func (s *Service) checkAction(a *Action) error {
	if a.Owner == "" {
		a.Owner = "AWS"
	}
	if a.Version == "" {
		a.Version = "1"
	}
	if a.Owner != "AWS" {
		return actionErr("action %s: only actions owned by AWS are supported", a.Name)
	}
	if a.RoleARN != "" {
		if _, err := arn.ParseIAM(a.RoleARN); err != nil {
			return actionErr("action %s: roleArn %q is not a role ARN", a.Name, a.RoleARN)
		}
	}
	if a.Region != "" && a.Region != s.region {
		return actionErr("action %s: region %s: this server serves %s only", a.Name, a.Region, s.region)
	}
	var known, required []string
	if a.Category == CategoryApproval && a.Provider == ProviderManual {
		known = []string{"CustomData", "ExternalEntityLink", "NotificationArn", ApprovalTimeoutKey}
		if v, ok := a.Configuration[ApprovalTimeoutKey]; ok {
			if _, err := approvalTimeout(*a); err != nil || v == "" {
				return actionErr("action %s: %s must be a duration such as 30m or 24h, from 1s to 168h", a.Name, ApprovalTimeoutKey)
			}
		}
		if len(a.InputArtifacts)+len(a.OutputArtifacts) > 0 {
			return actionErr("action %s: a manual approval takes no artifacts", a.Name)
		}
	} else {
		p, ok := s.providers[ProviderKey(a.Category, a.Provider)]
		if !ok {
			return errs.E(errs.Invalid, "ActionType (Category: '%s', Provider: '%s', Owner: '%s', Version: '%s') in action '%s' is not available (this server runs %s)",
				a.Category, a.Provider, a.Owner, a.Version, a.Name, strings.Join(s.kinds(), ", ")).WithCode("InvalidActionDeclarationException")
		}
		sc, ok := p.(ActionSchema)
		if !ok {
			return nil
		}
		known, required = sc.Configuration()
	}
	set := map[string]bool{}
	for _, k := range known {
		set[k] = true
	}
	for k := range a.Configuration {
		if !set[k] {
			return actionErr("action %s: configuration key %s is not one of %s", a.Name, k, strings.Join(known, ", "))
		}
	}
	for _, k := range required {
		if a.Configuration[k] == "" {
			return actionErr("action %s: configuration key %s is required", a.Name, k)
		}
	}
	return nil
}

func (s *Service) kinds() []string {
	out := []string{ProviderKey(CategoryApproval, ProviderManual)}
	for k := range s.providers {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func checkTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return errs.E(errs.Invalid, "a pipeline has at most %d tags", MaxTags).WithCode("TooManyTagsException")
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 || strings.HasPrefix(k, "aws:") {
			return errs.E(errs.Invalid, "tag key %q must be 1 to 128 characters not starting with aws: and its value at most 256", k).WithCode("InvalidTagsException")
		}
	}
	return nil
}

// CreatePipeline checks the declaration, authorizes codepipeline:CreatePipeline on the
// pipeline's ARN and iam:PassRole of its role, stores it (version 1) and starts its first
// execution, as CodePipeline does.
func (s *Service) CreatePipeline(ctx context.Context, c identity.Call, p Pipeline) (Pipeline, error) {
	if !nameRE.MatchString(p.Name) {
		return Pipeline{}, invalid("1 validation error detected: Value '%s' at 'pipeline.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+", p.Name)
	}
	p.Account, p.Region, p.ARN = c.Caller.Account, s.region, s.PipelineARN(c.Caller.Account, p.Name)
	if err := s.authorize(ctx, c, "CreatePipeline", p.ARN); err != nil {
		return Pipeline{}, err
	}
	if err := s.check(&p); err != nil {
		return Pipeline{}, err
	}
	if err := checkTags(p.Tags); err != nil {
		return Pipeline{}, err
	}
	if _, err := s.roles.PassRole(ctx, c, p.RoleARN, ServicePrincipal); err != nil {
		return Pipeline{}, err
	}
	now := s.now()
	p.Version, p.CreatedAt, p.UpdatedAt = 1, now, now
	err := s.store.Update(ctx, func(tx Tx) error {
		if err := tx.InsertPipeline(ctx, p); err != nil {
			if errs.Is(err, errs.Conflict) {
				return errs.E(errs.Conflict, "A pipeline with name '%s' already exists", p.Name).WithCode("PipelineNameInUseException")
			}
			return err
		}
		_, err := s.start(ctx, tx, p, Trigger{Type: "CreatePipeline", Detail: c.Caller.ARN}, "")
		return err
	})
	if err != nil {
		return Pipeline{}, err
	}
	return p, nil
}

// GetPipeline returns a pipeline's declaration (version 0: the latest; older versions are not
// kept).
func (s *Service) GetPipeline(ctx context.Context, c identity.Call, name string, version int) (Pipeline, error) {
	p, err := s.find(ctx, c, "GetPipeline", name)
	if err != nil {
		return Pipeline{}, err
	}
	if version != 0 && version != p.Version {
		return Pipeline{}, errs.E(errs.NotFound, "Pipeline version %d of %s is not kept; the latest is %d", version, name, p.Version).WithCode("PipelineVersionNotFoundException")
	}
	return p, nil
}

// UpdatePipeline replaces a pipeline's declaration; its version increases. Running executions
// keep the declaration they started with, its execution mode included: after a change of mode,
// an execution started in PARALLEL mode goes on independently of the others, and executions
// started in SUPERSEDED or QUEUED mode go on taking turns at stages among themselves; new
// executions follow the new mode. The stages' transitions stay as they were (those of stages
// the new declaration drops are forgotten).
func (s *Service) UpdatePipeline(ctx context.Context, c identity.Call, p Pipeline) (Pipeline, error) {
	cur, err := s.find(ctx, c, "UpdatePipeline", p.Name)
	if err != nil {
		return Pipeline{}, err
	}
	p.Account, p.Region, p.ARN = cur.Account, cur.Region, cur.ARN
	if err := s.check(&p); err != nil {
		return Pipeline{}, err
	}
	if p.RoleARN != cur.RoleARN {
		if _, err := s.roles.PassRole(ctx, c, p.RoleARN, ServicePrincipal); err != nil {
			return Pipeline{}, err
		}
	}
	var out Pipeline
	err = s.store.Update(ctx, func(tx Tx) error {
		old, err := tx.LockPipeline(ctx, cur.Account, cur.Name)
		if errs.Is(err, errs.NotFound) {
			return pipelineNotFound(p.Name)
		}
		if err != nil {
			return err
		}
		p.Version, p.CreatedAt, p.UpdatedAt, p.Tags = old.Version+1, old.CreatedAt, s.now(), old.Tags
		p.Transitions = nil
		for _, st := range p.Stages {
			if t, ok := old.Transitions[st.Name]; ok {
				if p.Transitions == nil {
					p.Transitions = map[string]Transitions{}
				}
				p.Transitions[st.Name] = t
			}
		}
		out = p
		return tx.UpdatePipeline(ctx, p)
	})
	return out, err
}

// DeletePipeline deletes a pipeline; its executions not yet ended are stopped and abandoned.
// A pipeline that does not exist is no error.
func (s *Service) DeletePipeline(ctx context.Context, c identity.Call, name string) error {
	_, err := s.find(ctx, c, "DeletePipeline", name)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.LockPipeline(ctx, c.Caller.Account, name); errs.Is(err, errs.NotFound) {
			return nil
		} else if err != nil {
			return err
		}
		active, err := tx.ActiveExecutionsOf(ctx, c.Caller.Account, name)
		if err != nil {
			return err
		}
		for _, e := range active {
			if e.Status == ExecInProgress {
				e.Status, e.Summary, e.StopAbandon = ExecStopping, "the pipeline was deleted", true
				e.UpdatedAt = s.now()
				if err := tx.UpdateExecution(ctx, e); err != nil {
					return err
				}
				if err := tx.AppendEvent(ctx, s.pipelineEvent(e, "STOPPING")); err != nil {
					return err
				}
			}
			if err := tx.Enqueue(ctx, WorkKind, WorkKey(e.Account, e.ID), s.now()); err != nil {
				return err
			}
		}
		return tx.DeletePipeline(ctx, c.Caller.Account, name)
	})
}

// ListPipelines lists the account's pipelines.
func (s *Service) ListPipelines(ctx context.Context, c identity.Call) ([]Pipeline, error) {
	if err := s.authorize(ctx, c, "ListPipelines", "*"); err != nil {
		return nil, err
	}
	return s.store.ListPipelines(ctx, c.Caller.Account)
}

// WorkKey is an execution's work item key.
func WorkKey(account, id string) string { return account + "/" + id }

// ParseWorkKey reads a work key back.
func ParseWorkKey(key string) (account, id string, ok bool) {
	account, id, ok = strings.Cut(key, "/")
	return account, id, ok && arn.ValidAccountID(account) && id != ""
}

// start inserts a new execution of p, waiting to enter its first stage.
func (s *Service) start(ctx context.Context, tx Tx, p Pipeline, trig Trigger, token string) (Execution, error) {
	seq, err := tx.NextSeq(ctx, p.Account, p.Name)
	if err != nil {
		return Execution{}, err
	}
	now := s.now()
	e := Execution{Account: p.Account, Region: p.Region, ID: randid.UUID(), PipelineName: p.Name, Seq: seq, Pipeline: p,
		Status: ExecInProgress, Trigger: trig, Stage: 0, Waiting: true, Artifacts: map[string]Artifact{},
		ClientToken: token, StartedAt: now, UpdatedAt: now}
	for _, st := range p.Stages {
		run := StageRun{Name: st.Name}
		for _, a := range st.Actions {
			run.Actions = append(run.Actions, ActionRun{Name: a.Name})
		}
		e.Stages = append(e.Stages, run)
	}
	if err := tx.InsertExecution(ctx, e); err != nil {
		return Execution{}, err
	}
	if err := tx.AppendEvent(ctx, s.pipelineEvent(e, "STARTED")); err != nil {
		return Execution{}, err
	}
	return e, tx.Enqueue(ctx, WorkKind, WorkKey(e.Account, e.ID), now)
}

// StartPipelineExecution starts an execution of the pipeline's latest declaration. A
// ClientRequestToken seen before returns the execution it started.
func (s *Service) StartPipelineExecution(ctx context.Context, c identity.Call, name, token string) (string, error) {
	return s.startBy(ctx, c, name, token, Trigger{Type: "StartPipelineExecution", Detail: c.Caller.ARN})
}

// StartForEvent starts an execution for an EventBridge event a rule delivered (authorized as
// codepipeline:StartPipelineExecution for the caller, the target's role): its trigger is
// CloudWatchEvent with the rule's ARN, and it carries the event (its EventBridge envelope), so
// a Source action can take what the event names (an approved model package) rather than look
// it up later.
func (s *Service) StartForEvent(ctx context.Context, c identity.Call, name, token, ruleARN string, event []byte) (string, error) {
	if !json.Valid(event) {
		return "", invalid("the triggering event is not JSON")
	}
	return s.startBy(ctx, c, name, token, Trigger{Type: "CloudWatchEvent", Detail: ruleARN, Event: event})
}

func (s *Service) startBy(ctx context.Context, c identity.Call, name, token string, trig Trigger) (string, error) {
	p, err := s.find(ctx, c, "StartPipelineExecution", name)
	if err != nil {
		return "", err
	}
	var id string
	err = s.store.Update(ctx, func(tx Tx) error {
		if token != "" {
			e, err := tx.ExecutionByToken(ctx, p.Account, p.Name, token)
			if err == nil {
				id = e.ID
				return nil
			}
			if !errs.Is(err, errs.NotFound) {
				return err
			}
		}
		cur, err := tx.LockPipeline(ctx, p.Account, p.Name)
		if errs.Is(err, errs.NotFound) {
			return pipelineNotFound(name)
		}
		if err != nil {
			return err
		}
		e, err := s.start(ctx, tx, cur, trig, token)
		id = e.ID
		return err
	})
	return id, err
}

// execution loads one execution of the pipeline named, authorized as op on the pipeline.
func (s *Service) execution(ctx context.Context, c identity.Call, op, name, id string) (Execution, error) {
	if !nameRE.MatchString(name) {
		return Execution{}, invalid("pipelineName %q is not a pipeline name", name)
	}
	if err := s.authorize(ctx, c, op, s.PipelineARN(c.Caller.Account, name)); err != nil {
		return Execution{}, err
	}
	e, err := s.store.GetExecution(ctx, c.Caller.Account, id)
	if err != nil || e.PipelineName != name {
		if err == nil || errs.Is(err, errs.NotFound) {
			if _, perr := s.store.GetPipeline(ctx, c.Caller.Account, name); errs.Is(perr, errs.NotFound) {
				return Execution{}, pipelineNotFound(name)
			}
			return Execution{}, errs.E(errs.NotFound, "Pipeline execution with id %s of pipeline %s does not exist", id, name).WithCode("PipelineExecutionNotFoundException")
		}
		return Execution{}, err
	}
	return e, nil
}

// GetPipelineExecution returns an execution.
func (s *Service) GetPipelineExecution(ctx context.Context, c identity.Call, name, id string) (Execution, error) {
	return s.execution(ctx, c, "GetPipelineExecution", name, id)
}

// ListPipelineExecutions lists a pipeline's executions, newest first. Executions of a deleted
// pipeline are not listed (the pipeline must exist).
func (s *Service) ListPipelineExecutions(ctx context.Context, c identity.Call, name string) ([]Execution, error) {
	if _, err := s.find(ctx, c, "ListPipelineExecutions", name); err != nil {
		return nil, err
	}
	return s.store.ListExecutions(ctx, c.Caller.Account, name)
}

// State is GetPipelineState's answer: the pipeline and, per stage, its latest execution.
type State struct {
	Pipeline Pipeline
	Stages   []StageState
}

// StageState is a stage's latest execution, and the execution waiting to enter it.
type StageState struct {
	Name      string
	Execution *Execution // the latest execution that entered the stage
	Run       *StageRun
	Inbound   *Execution // waiting at the boundary
}

// GetPipelineState returns where each stage stands: the latest execution that entered it and
// its actions (a waiting approval's token included).
func (s *Service) GetPipelineState(ctx context.Context, c identity.Call, name string) (State, error) {
	p, err := s.find(ctx, c, "GetPipelineState", name)
	if err != nil {
		return State{}, err
	}
	all, err := s.store.ListExecutions(ctx, c.Caller.Account, name)
	if err != nil {
		return State{}, err
	}
	out := State{Pipeline: p}
	for _, st := range p.Stages {
		ss := StageState{Name: st.Name}
		for i := range all { // newest first
			e := &all[i]
			idx := stageIndex(e, st.Name)
			if idx < 0 {
				continue
			}
			if ss.Inbound == nil && e.Waiting && e.Stage == idx && !e.Status.Terminal() {
				ss.Inbound = e
			}
			if ss.Execution == nil && e.Stages[idx].Status != "" {
				ss.Execution, ss.Run = e, &e.Stages[idx]
			}
		}
		out.Stages = append(out.Stages, ss)
	}
	return out, nil
}

func stageIndex(e *Execution, name string) int {
	for i, st := range e.Stages {
		if st.Name == name {
			return i
		}
	}
	return -1
}

// ActionExecution is one row of ListActionExecutions.
type ActionExecution struct {
	Execution *Execution
	Stage     string
	Action    Action
	Run       ActionRun
}

// ListActionExecutions lists the action executions of a pipeline's executions (one execution
// when executionID is set), newest first.
func (s *Service) ListActionExecutions(ctx context.Context, c identity.Call, name, executionID string) ([]ActionExecution, error) {
	var execs []Execution
	if executionID != "" {
		e, err := s.execution(ctx, c, "ListActionExecutions", name, executionID)
		if err != nil {
			return nil, err
		}
		execs = []Execution{e}
	} else {
		if _, err := s.find(ctx, c, "ListActionExecutions", name); err != nil {
			return nil, err
		}
		var err error
		if execs, err = s.store.ListExecutions(ctx, c.Caller.Account, name); err != nil {
			return nil, err
		}
	}
	var out []ActionExecution
	for i := range execs {
		e := &execs[i]
		for si, st := range e.Stages {
			for ai, a := range st.Actions {
				if a.ID == "" {
					continue
				}
				out = append(out, ActionExecution{Execution: e, Stage: st.Name, Action: e.Pipeline.Stages[si].Actions[ai], Run: a})
			}
			for _, a := range st.Previous { // the runs a retry replaced
				for _, d := range e.Pipeline.Stages[si].Actions {
					if d.Name == a.Name {
						out = append(out, ActionExecution{Execution: e, Stage: st.Name, Action: d, Run: a})
					}
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Run.StartedAt.After(out[j].Run.StartedAt) })
	return out, nil
}

// StopPipelineExecution stops an execution: with abandon, its running actions are abandoned at
// once; without, running actions finish first (a waiting approval is abandoned).
func (s *Service) StopPipelineExecution(ctx context.Context, c identity.Call, name, id, reason string, abandon bool) error {
	e, err := s.execution(ctx, c, "StopPipelineExecution", name, id)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		cur, err := tx.LockExecution(ctx, e.Account, e.ID)
		if err != nil {
			return err
		}
		switch {
		case cur.Status == ExecStopping && (!abandon || cur.StopAbandon):
			return errs.E(errs.Conflict, "Execution %s is already being stopped", id).WithCode("DuplicatedStopRequestException")
		case cur.Status != ExecInProgress && cur.Status != ExecStopping:
			return errs.E(errs.Conflict, "Execution %s is %s and cannot be stopped", id, cur.Status).WithCode("PipelineExecutionNotStoppableException")
		}
		cur.Status, cur.StopAbandon, cur.UpdatedAt = ExecStopping, abandon, s.now()
		if reason != "" {
			cur.Summary = reason
		}
		if err := tx.UpdateExecution(ctx, cur); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, s.pipelineEvent(cur, "STOPPING")); err != nil {
			return err
		}
		return tx.Enqueue(ctx, WorkKind, WorkKey(cur.Account, cur.ID), s.now())
	})
}

// ApprovalInput is a PutApprovalResult request.
type ApprovalInput struct {
	Pipeline, Stage, Action string
	Status                  string // Approved | Rejected
	Summary                 string
	Token                   string
}

// PutApprovalResult decides a manual approval waiting with this token: authorized as
// codepipeline:PutApprovalResult on …:PIPELINE/STAGE/ACTION, recorded with the approver, the
// time and the summary. It returns when the decision was recorded.
func (s *Service) PutApprovalResult(ctx context.Context, c identity.Call, in ApprovalInput) (time.Time, error) {
	for _, n := range []string{in.Pipeline, in.Stage, in.Action} {
		if !nameRE.MatchString(n) {
			return time.Time{}, invalid("pipelineName, stageName and actionName must each be 1 to 100 of A-Za-z0-9.@-_")
		}
	}
	if in.Status != "Approved" && in.Status != "Rejected" {
		return time.Time{}, invalid("result.status must be Approved or Rejected")
	}
	if len(in.Summary) > 512 {
		return time.Time{}, invalid("result.summary is at most 512 characters")
	}
	if !tokenRE.MatchString(in.Token) {
		return time.Time{}, errs.E(errs.Invalid, "The approval token is not valid").WithCode("InvalidApprovalTokenException")
	}
	res := arn.CodePipelineAction(s.region, c.Caller.Account, in.Pipeline, in.Stage, in.Action)
	if err := s.authorize(ctx, c, "PutApprovalResult", res); err != nil {
		return time.Time{}, err
	}
	p, err := s.store.GetPipeline(ctx, c.Caller.Account, in.Pipeline)
	if errs.Is(err, errs.NotFound) {
		return time.Time{}, pipelineNotFound(in.Pipeline)
	}
	if err != nil {
		return time.Time{}, err
	}
	if err := approvalTarget(p, in.Stage, in.Action); err != nil {
		return time.Time{}, err
	}
	now := s.now()
	err = s.store.Update(ctx, func(tx Tx) error {
		active, err := tx.ActiveExecutionsOf(ctx, p.Account, p.Name)
		if err != nil {
			return err
		}
		for _, e := range active {
			si := stageIndex(&e, in.Stage)
			if si < 0 {
				continue
			}
			for ai := range e.Stages[si].Actions {
				a := &e.Stages[si].Actions[ai]
				if a.Name != in.Action || a.Token != in.Token {
					continue
				}
				if a.Status != ActionInProgress || e.Status != ExecInProgress {
					return errs.E(errs.Conflict, "The approval action %s/%s has already been decided or abandoned", in.Stage, in.Action).WithCode("ApprovalAlreadyCompletedException")
				}
				a.Approval = &Approval{Status: in.Status, Summary: in.Summary, ApproverARN: c.Caller.ARN, Time: now}
				a.Status, a.Summary, a.UpdatedAt, a.Token = ActionSucceeded, in.Summary, now, ""
				if in.Status == "Rejected" {
					a.Status, a.ErrorCode, a.Error = ActionFailed, "JobFailed", "Rejected by "+c.Caller.ARN+": "+in.Summary
				}
				e.UpdatedAt = now
				if err := tx.UpdateExecution(ctx, e); err != nil {
					return err
				}
				state := "SUCCEEDED"
				if a.Status == ActionFailed {
					state = "FAILED"
				}
				if err := tx.AppendEvent(ctx, s.actionEvent(e, si, ai, state)); err != nil {
					return err
				}
				return tx.Enqueue(ctx, WorkKind, WorkKey(e.Account, e.ID), now)
			}
		}
		return errs.E(errs.NotFound, "No execution of %s waits for approval %s/%s with this token: it was decided already, or the execution moved on", in.Pipeline, in.Stage, in.Action).WithCode("InvalidApprovalTokenException")
	})
	if err != nil {
		return time.Time{}, err
	}
	return now, nil
}

var tokenRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func approvalTarget(p Pipeline, stage, action string) error {
	for _, st := range p.Stages {
		if st.Name != stage {
			continue
		}
		for _, a := range st.Actions {
			if a.Name == action {
				if a.Category != CategoryApproval || a.Provider != ProviderManual {
					return invalid("Action %s of stage %s is not a manual approval", action, stage)
				}
				return nil
			}
		}
		return errs.E(errs.NotFound, "Action %s does not exist in stage %s", action, stage).WithCode("ActionNotFoundException")
	}
	return errs.E(errs.NotFound, "Stage %s does not exist in pipeline %s", stage, p.Name).WithCode("StageNotFoundException")
}
