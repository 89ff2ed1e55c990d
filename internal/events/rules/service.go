package rules

import (
	"context"
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/events/pattern"
	"github.com/slipway-ml/slipway/internal/events/schedule"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/randid"
)

// EventBridge's limits.
const (
	MaxTargetsPerRule = 5
	MaxPutTargets     = 10
	MaxEntries        = 10     // PutEvents entries per call
	MaxEntryBytes     = 256000 // PutEvents: the whole request's entries
)

// Service is the EventBridge subset's business logic.
type Service struct {
	store     Store
	authz     Authorizer
	region    string
	partition string
	now       func() time.Time
	// kinds are the services whose ARNs may be targets (logs, events and what later engines add).
	kinds map[string]bool
}

// NewService returns a Service whose ARNs name region. targetKinds are the ARN services a
// target may name (those the delivery engine has a Deliverer for).
func NewService(st Store, authz Authorizer, region string, now func() time.Time, targetKinds ...string) *Service {
	k := map[string]bool{}
	for _, t := range targetKinds {
		k[t] = true
	}
	return &Service{store: st, authz: authz, region: region, partition: "aws", now: now, kinds: k}
}

// Region is the region the service's ARNs name.
func (s *Service) Region() string { return s.region }

// BusARN returns a bus's ARN.
func (s *Service) BusARN(account, bus string) string {
	return arn.EventBus(s.partition, s.region, account, bus)
}

// RuleARN returns a rule's ARN.
func (s *Service) RuleARN(account, bus, rule string) string {
	return arn.EventRule(s.partition, s.region, account, bus, rule)
}

func invalid(format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...).WithCode("ValidationException")
}

var (
	ruleNameRE         = regexp.MustCompile(`^[\.\-_A-Za-z0-9]{1,64}$`)
	busNameRE          = regexp.MustCompile(`^[/\.\-_A-Za-z0-9]{1,256}$`)
	targetIDRE         = regexp.MustCompile(`^[\.\-_A-Za-z0-9]{1,64}$`)
	sidRE              = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,64}$`)
	pipelineNameRE     = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$`)
	codePipelineNameRE = regexp.MustCompile(`^[A-Za-z0-9.@\-_]{1,100}$`)
	paramNameRE        = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$`)
	scheduleRE         = regexp.MustCompile(`^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\))$`)
)

// busRef resolves a bus a call names (a name in the caller's account, or an ARN); "" is the
// default bus.
func (s *Service) busRef(c Call, ref string) (account, name string, err error) {
	switch {
	case ref == "":
		return c.Caller.Account, DefaultBus, nil
	case strings.HasPrefix(ref, "arn:"):
		a, name, ok := arn.EventBusOf(ref)
		if !ok || !busNameRE.MatchString(name) {
			return "", "", invalid("%s is not an event bus ARN", ref)
		}
		if a.Region != s.region {
			return "", "", invalid("%s names region %s; this endpoint serves %s", ref, a.Region, s.region)
		}
		return a.Account, name, nil
	case !busNameRE.MatchString(ref):
		return "", "", invalid("1 validation error detected: Value '%s' at 'eventBusName' failed to satisfy constraint: Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+", ref)
	}
	return c.Caller.Account, ref, nil
}

func checkRuleName(name string) error {
	if !ruleNameRE.MatchString(name) {
		return invalid("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ (1 to 64 characters)", name)
	}
	return nil
}

// authorize decides events:action on resource, owned by account, under the bus's policy.
func (s *Service) authorize(ctx context.Context, c Call, action, account, resource, policy string) error {
	_, err := s.authz.Authorize(ctx, c.Caller, identity.Action{
		Name: "events:" + action, Resource: resource, ResourceAccount: account, ResourcePolicy: policy, Context: c.Context,
	})
	return err
}

// bus reads a bus for an operation on it or on its rules: the policy of a bus that exists
// takes part in the decision; a missing bus is reported only after the decision.
func (s *Service) bus(ctx context.Context, account, name string) (Bus, bool, error) {
	b, err := s.store.GetBus(ctx, account, name)
	if errs.Is(err, errs.NotFound) {
		return Bus{Account: account, Name: name}, false, nil
	}
	return b, err == nil, err
}

func busMissing(name string) error {
	return errs.E(errs.NotFound, "Event bus %s does not exist.", name).WithCode("ResourceNotFoundException")
}

func ruleMissing(name, bus string) error {
	return errs.E(errs.NotFound, "Rule %s does not exist on EventBus %s.", name, bus).WithCode("ResourceNotFoundException")
}

// ruleOp authorizes action on a rule and returns the bus it lives on.
func (s *Service) ruleOp(ctx context.Context, c Call, action, name, busRef string) (Bus, error) {
	if err := checkRuleName(name); err != nil {
		return Bus{}, err
	}
	account, busName, err := s.busRef(c, busRef)
	if err != nil {
		return Bus{}, err
	}
	b, found, err := s.bus(ctx, account, busName)
	if err != nil {
		return Bus{}, err
	}
	if err := s.authorize(ctx, c, action, account, s.RuleARN(account, busName, name), b.Policy); err != nil {
		return Bus{}, err
	}
	if !found {
		return Bus{}, busMissing(busName)
	}
	return b, nil
}

// RuleInput is what PutRule sets.
type RuleInput struct {
	Name, Bus, Pattern, Schedule, Description, RoleARN string
	State                                              State
	Tags                                               map[string]string
}

// PutRule creates or updates a rule and returns its ARN.
func (s *Service) PutRule(ctx context.Context, c Call, in RuleInput) (string, error) {
	if in.Pattern == "" && in.Schedule == "" {
		return "", invalid("Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	if in.Pattern != "" {
		if _, err := pattern.Compile(in.Pattern); err != nil {
			return "", err
		}
	}
	if in.Schedule != "" {
		if !scheduleRE.MatchString(in.Schedule) {
			return "", invalid("Parameter ScheduleExpression is not valid.")
		}
		if _, err := schedule.Parse(in.Schedule); err != nil {
			return "", invalid("Parameter ScheduleExpression is not valid: %s", err.Error())
		}
	}
	switch in.State {
	case "":
		in.State = Enabled
	case Enabled, Disabled:
	default:
		return "", invalid("1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]", in.State)
	}
	if in.RoleARN != "" {
		if _, err := arn.ParseIAM(in.RoleARN); err != nil {
			return "", invalid("RoleArn %s is not a role ARN", in.RoleARN)
		}
	}
	if len(in.Description) > 512 {
		return "", invalid("Description is longer than 512 characters")
	}
	b, err := s.ruleOp(ctx, c, "PutRule", in.Name, in.Bus)
	if err != nil {
		return "", err
	}
	if in.Schedule != "" && b.Name != DefaultBus {
		return "", invalid("ScheduleExpression is supported only on the default event bus.")
	}
	now := s.now()
	r := Rule{Account: b.Account, Bus: b.Name, Name: in.Name, Pattern: in.Pattern, Schedule: in.Schedule, State: in.State,
		Description: in.Description, RoleARN: in.RoleARN, Tags: in.Tags, CreatedBy: c.Caller.Account, CreatedAt: now, ModifiedAt: now}
	err = s.store.Update(ctx, func(tx Tx) error {
		if old, err := s.store.GetRule(ctx, b.Account, b.Name, in.Name); err == nil {
			r.CreatedAt, r.CreatedBy = old.CreatedAt, old.CreatedBy
			if in.Tags == nil {
				r.Tags = old.Tags
			}
		}
		if err := tx.PutRule(ctx, r); err != nil {
			return err
		}
		return s.scheduleRule(ctx, tx, r)
	})
	if err != nil {
		return "", err
	}
	return s.RuleARN(b.Account, b.Name, in.Name), nil
}

// DescribeRule returns a rule.
func (s *Service) DescribeRule(ctx context.Context, c Call, name, bus string) (Rule, error) {
	b, err := s.ruleOp(ctx, c, "DescribeRule", name, bus)
	if err != nil {
		return Rule{}, err
	}
	return s.getRule(ctx, b, name)
}

func (s *Service) getRule(ctx context.Context, b Bus, name string) (Rule, error) {
	r, err := s.store.GetRule(ctx, b.Account, b.Name, name)
	if errs.Is(err, errs.NotFound) {
		return Rule{}, ruleMissing(name, b.Name)
	}
	return r, err
}

// ListRules lists a bus's rules by name after after.
func (s *Service) ListRules(ctx context.Context, c Call, bus, prefix, after string, limit int) ([]Rule, error) {
	account, busName, err := s.busRef(c, bus)
	if err != nil {
		return nil, err
	}
	b, found, err := s.bus(ctx, account, busName)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, "ListRules", account, s.RuleARN(account, DefaultBus, "*"), b.Policy); err != nil {
		return nil, err
	}
	if !found {
		return nil, busMissing(busName)
	}
	return s.store.ListRules(ctx, account, busName, prefix, after, limit)
}

// DeleteRule deletes a rule that has no targets left.
func (s *Service) DeleteRule(ctx context.Context, c Call, name, bus string) error {
	b, err := s.ruleOp(ctx, c, "DeleteRule", name, bus)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		ts, err := s.store.ListTargets(ctx, b.Account, b.Name, name)
		if err != nil {
			return err
		}
		if len(ts) > 0 {
			return invalid("Rule can't be deleted since it has targets.")
		}
		err = tx.DeleteRule(ctx, b.Account, b.Name, name)
		if errs.Is(err, errs.NotFound) {
			return nil // EventBridge answers success for a rule that is not there
		}
		return err
	})
}

// SetState enables or disables a rule.
func (s *Service) SetState(ctx context.Context, c Call, name, bus string, state State) error {
	action := "EnableRule"
	if state == Disabled {
		action = "DisableRule"
	}
	b, err := s.ruleOp(ctx, c, action, name, bus)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		r, err := s.getRule(ctx, b, name)
		if err != nil {
			return err
		}
		r.State, r.ModifiedAt = state, s.now()
		if err := tx.PutRule(ctx, r); err != nil {
			return err
		}
		return s.scheduleRule(ctx, tx, r)
	})
}

// scheduleRule makes an enabled scheduled rule's work item due now (in tx): its scheduler
// then keeps it due at each next firing.
func (s *Service) scheduleRule(ctx context.Context, tx Tx, r Rule) error {
	if r.Schedule == "" || r.State != Enabled {
		return nil
	}
	return tx.Enqueue(ctx, ScheduleKind, s.RuleARN(r.Account, r.Bus, r.Name), s.now())
}

// FailedEntry is an entry a batch call could not apply.
type FailedEntry struct {
	ID, Code, Message string
}

// PutTargets adds or replaces targets of a rule. Targets whose ARN names no supported kind are
// refused as a whole call: nothing changes.
func (s *Service) PutTargets(ctx context.Context, c Call, name, bus string, ts []Target) ([]FailedEntry, error) {
	if len(ts) == 0 || len(ts) > MaxPutTargets {
		return nil, invalid("1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and %d", MaxPutTargets)
	}
	seen := map[string]bool{}
	for _, t := range ts {
		if err := s.checkTarget(t); err != nil {
			return nil, err
		}
		if seen[t.ID] {
			return nil, invalid("The request contains duplicate target Id %s.", t.ID)
		}
		seen[t.ID] = true
	}
	b, err := s.ruleOp(ctx, c, "PutTargets", name, bus)
	if err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		if _, err := s.getRule(ctx, b, name); err != nil {
			return err
		}
		old, err := s.store.ListTargets(ctx, b.Account, b.Name, name)
		if err != nil {
			return err
		}
		ids := map[string]bool{}
		for _, t := range old {
			ids[t.ID] = true
		}
		for _, t := range ts {
			ids[t.ID] = true
		}
		if len(ids) > MaxTargetsPerRule {
			return errs.E(errs.LimitExceeded, "The requested resource exceeds the maximum number allowed: a rule has at most %d targets.", MaxTargetsPerRule).WithCode("LimitExceededException")
		}
		for _, t := range ts {
			if err := tx.PutTarget(ctx, b.Account, b.Name, name, t); err != nil {
				return err
			}
		}
		return nil
	})
	return nil, err
}

// checkTarget validates one target.
func (s *Service) checkTarget(t Target) error {
	if !targetIDRE.MatchString(t.ID) {
		return invalid("Target Id %q must be 1 to 64 characters of a-z, A-Z, 0-9, '.', '-' and '_'", t.ID)
	}
	a, err := arn.Parse(t.ARN)
	if err != nil {
		return invalid("Parameter %s is not valid. Reason: Provided Arn is not in correct format.", t.ARN)
	}
	if !s.kinds[a.Service] {
		kinds := make([]string, 0, len(s.kinds))
		for k := range s.kinds {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		return invalid("Target %s: targets of service %q are not supported; supported: %s", t.ID, a.Service, strings.Join(kinds, ", "))
	}
	switch a.Service {
	case "logs":
		if _, _, ok := arn.LogGroupOf(t.ARN); !ok {
			return invalid("Target %s: %s is not a log group ARN", t.ID, t.ARN)
		}
	case "events":
		if IsAPIDestination(t.ARN) {
			if !s.kinds[APIDestinationKind] {
				return invalid("Target %s: API destination targets are not served here", t.ID)
			}
			if err := checkHTTP(t); err != nil {
				return err
			}
		} else if _, _, ok := arn.EventBusOf(t.ARN); !ok {
			return invalid("Target %s: %s is not an event bus ARN", t.ID, t.ARN)
		}
	case "codepipeline":
		if !codePipelineNameRE.MatchString(a.Resource) {
			return invalid("Target %s: %s is not a CodePipeline pipeline ARN (arn:aws:codepipeline:REGION:ACCOUNT:NAME)", t.ID, t.ARN)
		}
		if t.RoleARN == "" {
			return invalid("Target %s: RoleArn is required for a CodePipeline target", t.ID)
		}
	case "sagemaker":
		name, ok := strings.CutPrefix(a.Resource, "pipeline/")
		if !ok || !pipelineNameRE.MatchString(name) {
			return invalid("Target %s: %s is not a SageMaker pipeline ARN (arn:aws:sagemaker:REGION:ACCOUNT:pipeline/NAME)", t.ID, t.ARN)
		}
		if t.RoleARN == "" {
			return invalid("Target %s: RoleArn is required for a SageMaker pipeline target", t.ID)
		}
	}
	if t.HTTP != nil && !IsAPIDestination(t.ARN) {
		return invalid("Target %s: HttpParameters are only for API destination targets here", t.ID)
	}
	if t.SageMakerPipeline != nil {
		if a.Service != "sagemaker" {
			return invalid("Target %s: SageMakerPipelineParameters are only for SageMaker pipeline targets", t.ID)
		}
		if len(t.SageMakerPipeline.Parameters) > 200 {
			return invalid("Target %s: PipelineParameterList has more than 200 entries", t.ID)
		}
		names := map[string]bool{}
		for _, p := range t.SageMakerPipeline.Parameters {
			if !paramNameRE.MatchString(p.Name) {
				return invalid("Target %s: pipeline parameter name %q is not valid", t.ID, p.Name)
			}
			if len(p.Value) > 1024 {
				return invalid("Target %s: the value of pipeline parameter %s is longer than 1024 characters", t.ID, p.Name)
			}
			if names[p.Name] {
				return invalid("Target %s: pipeline parameter %s is given twice", t.ID, p.Name)
			}
			names[p.Name] = true
		}
	}
	if rp := t.RetryPolicy; rp != nil {
		if rp.MaximumRetryAttempts < 0 || rp.MaximumRetryAttempts > DefaultRetryAttempts {
			return invalid("Target %s: RetryPolicy.MaximumRetryAttempts must be between 0 and %d", t.ID, DefaultRetryAttempts)
		}
		if rp.MaximumEventAgeInSeconds < 60 || rp.MaximumEventAgeInSeconds > DefaultEventAge {
			return invalid("Target %s: RetryPolicy.MaximumEventAgeInSeconds must be between 60 and %d", t.ID, DefaultEventAge)
		}
	}
	if t.DeadLetter != "" {
		if _, _, ok := arn.LogGroupOf(t.DeadLetter); !ok {
			return invalid("Target %s: DeadLetterConfig.Arn %s must be a CloudWatch Logs log group ARN (there is no SQS here; every failed delivery is also listed by ListDeadLetters)", t.ID, t.DeadLetter)
		}
	}
	if t.RoleARN != "" {
		if _, err := arn.ParseIAM(t.RoleARN); err != nil {
			return invalid("Target %s: RoleArn %s is not a role ARN", t.ID, t.RoleARN)
		}
	}
	n := 0
	for _, set := range []bool{t.Input != "", t.InputPath != "", t.InputTransformer != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return invalid("Target %s: give at most one of Input, InputPath and InputTransformer", t.ID)
	}
	if t.Input != "" && !json.Valid([]byte(t.Input)) {
		return invalid("Target %s: Input is not valid JSON", t.ID)
	}
	if t.InputPath != "" {
		if _, err := parsePath(t.InputPath); err != nil {
			return invalid("Target %s: InputPath %s", t.ID, errs.Message(err))
		}
	}
	if tr := t.InputTransformer; tr != nil {
		if tr.InputTemplate == "" {
			return invalid("Target %s: InputTransformer needs an InputTemplate", t.ID)
		}
		if len(tr.InputPathsMap) > 100 {
			return invalid("Target %s: InputPathsMap has more than 100 entries", t.ID)
		}
		for k, p := range tr.InputPathsMap {
			if strings.HasPrefix(k, "aws.") {
				return invalid("Target %s: InputPathsMap key %s is reserved", t.ID, k)
			}
			if _, err := parsePath(p); err != nil {
				return invalid("Target %s: InputPathsMap %s: %s", t.ID, k, errs.Message(err))
			}
		}
	}
	return nil
}

// RemoveTargets removes targets of a rule; ids that are not there are reported as failed.
func (s *Service) RemoveTargets(ctx context.Context, c Call, name, bus string, ids []string) ([]FailedEntry, error) {
	if len(ids) == 0 || len(ids) > MaxPutTargets {
		return nil, invalid("1 validation error detected: Value at 'ids' failed to satisfy constraint: Member must have length between 1 and %d", MaxPutTargets)
	}
	b, err := s.ruleOp(ctx, c, "RemoveTargets", name, bus)
	if err != nil {
		return nil, err
	}
	var failed []FailedEntry
	err = s.store.Update(ctx, func(tx Tx) error {
		failed = failed[:0]
		if _, err := s.getRule(ctx, b, name); err != nil {
			return err
		}
		for _, id := range ids {
			ok, err := tx.DeleteTarget(ctx, b.Account, b.Name, name, id)
			if err != nil {
				return err
			}
			if !ok {
				failed = append(failed, FailedEntry{ID: id, Code: "ResourceNotFoundException", Message: "Target " + id + " does not exist."})
			}
		}
		return nil
	})
	return failed, err
}

// ListTargets lists a rule's targets.
func (s *Service) ListTargets(ctx context.Context, c Call, name, bus string) ([]Target, error) {
	b, err := s.ruleOp(ctx, c, "ListTargetsByRule", name, bus)
	if err != nil {
		return nil, err
	}
	if _, err := s.getRule(ctx, b, name); err != nil {
		return nil, err
	}
	return s.store.ListTargets(ctx, b.Account, b.Name, name)
}

// Entry is one event given to PutEvents.
type Entry struct {
	Source, DetailType, Detail, Bus string
	Resources                       []string
	Time                            time.Time // zero: now
}

// EntryResult is PutEvents' answer for one entry: the event id, or why it failed.
type EntryResult struct {
	EventID, Code, Message string
}

// PutEvents puts events on buses: each entry is checked on its own (a bad entry fails alone);
// the caller must be allowed events:PutEvents on every bus named (another account's bus only
// when its policy allows), else nothing is put. The good entries commit to the outbox together.
func (s *Service) PutEvents(ctx context.Context, c Call, entries []Entry) ([]EntryResult, error) {
	if len(entries) == 0 || len(entries) > MaxEntries {
		return nil, invalid("1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and %d", MaxEntries)
	}
	size := 0
	for _, e := range entries {
		size += len(e.Source) + len(e.DetailType) + len(e.Detail)
		for _, r := range e.Resources {
			size += len(r)
		}
	}
	if size > MaxEntryBytes {
		return nil, invalid("Total size of the entries in the request is over the limit.")
	}
	type target struct{ account, name string }
	results := make([]EntryResult, len(entries))
	evs := make([]events.Event, len(entries))
	decided := map[target]error{}
	now := s.now()
	for i, e := range entries {
		account, name, err := s.busRef(c, e.Bus)
		if err != nil {
			return nil, err
		}
		t := target{account, name}
		if _, done := decided[t]; !done {
			b, found, err := s.bus(ctx, account, name)
			if err != nil {
				return nil, err
			}
			if err := s.authorize(ctx, c, "PutEvents", account, s.BusARN(account, name), b.Policy); err != nil {
				return nil, err
			}
			if !found {
				decided[t] = busMissing(name)
			} else {
				decided[t] = nil
			}
		}
		if err := decided[t]; err != nil {
			results[i] = EntryResult{Code: "ResourceNotFoundException", Message: errs.Message(err)}
			continue
		}
		if code, msg := checkEntry(e); code != "" {
			results[i] = EntryResult{Code: code, Message: msg}
			continue
		}
		at := e.Time
		if at.IsZero() {
			at = now
		}
		id := randid.UUID()
		evs[i] = events.Event{ID: id, Account: c.Caller.Account, Region: s.region, Source: e.Source, DetailType: e.DetailType,
			Time: at, Resources: e.Resources, Detail: json.RawMessage(e.Detail), Bus: s.BusARN(account, name)}
		results[i] = EntryResult{EventID: id}
	}
	err := s.store.Update(ctx, func(tx Tx) error {
		for i := range evs {
			if results[i].EventID != "" {
				if err := tx.AppendEvent(ctx, evs[i]); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// checkEntry validates one PutEvents entry, answering EventBridge's per-entry codes.
func checkEntry(e Entry) (code, msg string) {
	switch {
	case e.Source == "":
		return "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."
	case e.DetailType == "":
		return "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."
	case e.Detail == "":
		return "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."
	case strings.HasPrefix(e.Source, "aws."):
		return "NotAuthorizedForSourceException", "Not authorized for the source."
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(e.Detail), &obj); err != nil || obj == nil {
		return "MalformedDetail", "Detail is malformed."
	}
	for _, r := range e.Resources {
		if _, err := arn.Parse(r); err != nil {
			return "InvalidArgument", "Parameter Resources is not valid. Reason: " + r + " is not an ARN."
		}
	}
	return "", ""
}

// TestEventPattern reports whether an event matches a pattern.
func (s *Service) TestEventPattern(ctx context.Context, c Call, patternText, event string) (bool, error) {
	if err := s.authorize(ctx, c, "TestEventPattern", c.Caller.Account, "*", ""); err != nil {
		return false, err
	}
	p, err := pattern.Compile(patternText)
	if err != nil {
		return false, err
	}
	var env map[string]any
	if err := json.Unmarshal([]byte(event), &env); err != nil || env == nil {
		return false, invalid("Parameter Event is not valid: it must be a JSON object")
	}
	for _, k := range []string{"id", "account", "source", "time", "region", "detail-type"} {
		if _, ok := env[k].(string); !ok {
			return false, invalid("Parameter Event is not valid: the field %s is missing or not a string", k)
		}
	}
	if !arn.ValidAccountID(env["account"].(string)) {
		return false, invalid("Parameter Event is not valid: account must be 12 digits")
	}
	if _, err := time.Parse(time.RFC3339, env["time"].(string)); err != nil {
		return false, invalid("Parameter Event is not valid: time must be an RFC 3339 time")
	}
	if r, ok := env["resources"]; ok {
		if _, isList := r.([]any); !isList {
			return false, invalid("Parameter Event is not valid: resources must be a list")
		}
	}
	return p.Match(pattern.FromValue(env)), nil
}

// BusInput is what CreateEventBus sets.
type BusInput struct {
	Name, Description string
	Tags              map[string]string
}

// CreateBus creates a custom bus in the caller's account and returns its ARN.
func (s *Service) CreateBus(ctx context.Context, c Call, in BusInput) (string, error) {
	if !busNameRE.MatchString(in.Name) || strings.Contains(in.Name, "/") {
		return "", invalid("Event bus name %q must be 1 to 256 characters of a-z, A-Z, 0-9, '.', '-' and '_'", in.Name)
	}
	if in.Name == DefaultBus || strings.HasPrefix(in.Name, "aws.") {
		return "", invalid("Event bus name %s is reserved.", in.Name)
	}
	account := c.Caller.Account
	if err := s.authorize(ctx, c, "CreateEventBus", account, s.BusARN(account, in.Name), ""); err != nil {
		return "", err
	}
	now := s.now()
	err := s.store.Update(ctx, func(tx Tx) error {
		return tx.CreateBus(ctx, Bus{Account: account, Name: in.Name, Description: in.Description, Tags: in.Tags, CreatedAt: now, ModifiedAt: now})
	})
	if errs.Is(err, errs.Conflict) {
		return "", errs.E(errs.Conflict, "Event bus %s already exists.", in.Name).WithCode("ResourceAlreadyExistsException")
	}
	if err != nil {
		return "", err
	}
	return s.BusARN(account, in.Name), nil
}

// busOp authorizes action on a bus and returns it.
func (s *Service) busOp(ctx context.Context, c Call, action, ref string) (Bus, error) {
	account, name, err := s.busRef(c, ref)
	if err != nil {
		return Bus{}, err
	}
	b, found, err := s.bus(ctx, account, name)
	if err != nil {
		return Bus{}, err
	}
	if err := s.authorize(ctx, c, action, account, s.BusARN(account, name), b.Policy); err != nil {
		return Bus{}, err
	}
	if !found {
		return Bus{}, busMissing(name)
	}
	return b, nil
}

// DescribeBus returns a bus (another account's only when its policy allows).
func (s *Service) DescribeBus(ctx context.Context, c Call, ref string) (Bus, error) {
	return s.busOp(ctx, c, "DescribeEventBus", ref)
}

// ListBuses lists the caller's buses.
func (s *Service) ListBuses(ctx context.Context, c Call, prefix string) ([]Bus, error) {
	account := c.Caller.Account
	if err := s.authorize(ctx, c, "ListEventBuses", account, s.BusARN(account, "*"), ""); err != nil {
		return nil, err
	}
	return s.store.ListBuses(ctx, account, prefix)
}

// DeleteBus deletes a custom bus of the caller's account with its rules and targets.
func (s *Service) DeleteBus(ctx context.Context, c Call, name string) error {
	if name == DefaultBus {
		return invalid("Cannot delete event bus default.")
	}
	if !busNameRE.MatchString(name) {
		return invalid("Event bus name %q is not valid", name)
	}
	account := c.Caller.Account
	if err := s.authorize(ctx, c, "DeleteEventBus", account, s.BusARN(account, name), ""); err != nil {
		return err
	}
	err := s.store.Update(ctx, func(tx Tx) error { return tx.DeleteBus(ctx, account, name) })
	if errs.Is(err, errs.NotFound) {
		return nil // EventBridge answers success
	}
	return err
}

// PermissionInput is what PutPermission sets: a statement (Action, Principal, StatementID,
// an optional aws:PrincipalOrgID condition) or a whole Policy.
type PermissionInput struct {
	Bus, Action, Principal, StatementID string
	ConditionType, ConditionKey         string
	ConditionValue                      string
	Policy                              string
}

type policyDoc struct {
	Version   string            `json:"Version"`
	Statement []json.RawMessage `json:"Statement"`
}

// PutPermission adds a statement to a bus's policy, or replaces the policy.
func (s *Service) PutPermission(ctx context.Context, c Call, in PermissionInput) error {
	ref := in.Bus
	b, err := s.busOp(ctx, c, "PutPermission", ref)
	if err != nil {
		return err
	}
	if b.Account != c.Caller.Account {
		return errs.E(errs.AccessDenied, "Only the owner of event bus %s may change its policy.", b.Name)
	}
	busARN := s.BusARN(b.Account, b.Name)
	var policy string
	if in.Policy != "" {
		if in.Action != "" || in.Principal != "" || in.StatementID != "" {
			return invalid("Give either Policy or Action, Principal and StatementId, not both.")
		}
		policy = in.Policy
	} else {
		if in.Action != "events:PutEvents" {
			return invalid("Parameter Action is not valid: only events:PutEvents may be granted this way.")
		}
		if !sidRE.MatchString(in.StatementID) {
			return invalid("Parameter StatementId is not valid.")
		}
		principal := any(map[string]string{"AWS": arn.AccountRoot(in.Principal)})
		switch {
		case in.Principal == "*":
			if in.ConditionKey == "" {
				return invalid("A Condition is required when Principal is \"*\".")
			}
			principal = "*"
		case !arn.ValidAccountID(in.Principal):
			return invalid("Parameter Principal is not valid: an account id or \"*\".")
		}
		// The statement as EventBridge writes it, in its order.
		st := struct {
			Sid       string
			Effect    string
			Principal any
			Action    string
			Resource  string
			Condition map[string]map[string]string `json:",omitempty"`
		}{in.StatementID, "Allow", principal, in.Action, busARN, nil}
		if in.ConditionKey != "" {
			if in.ConditionType != "StringEquals" || in.ConditionKey != "aws:PrincipalOrgID" {
				return invalid("Parameter Condition is not valid: only StringEquals on aws:PrincipalOrgID.")
			}
			st.Condition = map[string]map[string]string{"StringEquals": {in.ConditionKey: in.ConditionValue}}
		}
		raw, _ := json.Marshal(st)
		doc := policyDoc{Version: "2012-10-17"}
		if b.Policy != "" {
			if err := json.Unmarshal([]byte(b.Policy), &doc); err != nil {
				return errs.E(errs.Internal, "the bus's stored policy does not decode", err)
			}
		}
		kept := doc.Statement[:0]
		for _, x := range doc.Statement {
			var sid struct{ Sid string }
			if json.Unmarshal(x, &sid) == nil && sid.Sid == in.StatementID {
				continue
			}
			kept = append(kept, x)
		}
		doc.Statement = append(kept, raw)
		out, _ := json.Marshal(doc)
		policy = string(out)
	}
	if err := identity.CheckPolicy("resource", policy); err != nil {
		return invalid("Parameter Policy is not valid: %s", errs.Message(err))
	}
	b.Policy, b.ModifiedAt = policy, s.now()
	return s.store.Update(ctx, func(tx Tx) error { return tx.PutBus(ctx, b) })
}

// RemovePermission removes a statement from a bus's policy, or the whole policy.
func (s *Service) RemovePermission(ctx context.Context, c Call, bus, sid string, all bool) error {
	b, err := s.busOp(ctx, c, "RemovePermission", bus)
	if err != nil {
		return err
	}
	if b.Account != c.Caller.Account {
		return errs.E(errs.AccessDenied, "Only the owner of event bus %s may change its policy.", b.Name)
	}
	switch {
	case all:
		b.Policy = ""
	case sid == "":
		return invalid("Give StatementId or RemoveAllPermissions.")
	default:
		var doc policyDoc
		if b.Policy == "" || json.Unmarshal([]byte(b.Policy), &doc) != nil {
			return errs.E(errs.NotFound, "EventBus does not have a policy.").WithCode("ResourceNotFoundException")
		}
		kept := doc.Statement[:0]
		for _, x := range doc.Statement {
			var st struct{ Sid string }
			if json.Unmarshal(x, &st) == nil && st.Sid == sid {
				continue
			}
			kept = append(kept, x)
		}
		if len(kept) == len(doc.Statement) {
			return errs.E(errs.NotFound, "Statement with the provided id does not exist.").WithCode("ResourceNotFoundException")
		}
		doc.Statement = kept
		if len(kept) == 0 {
			b.Policy = ""
		} else {
			out, _ := json.Marshal(doc)
			b.Policy = string(out)
		}
	}
	b.ModifiedAt = s.now()
	return s.store.Update(ctx, func(tx Tx) error { return tx.PutBus(ctx, b) })
}

// tagged resolves the bus or rule an ARN names, after authorizing action on it.
func (s *Service) tagged(ctx context.Context, c Call, action, resourceARN string) (Bus, *Rule, error) {
	if a, bus, name, ok := arn.EventRuleOf(resourceARN); ok {
		if a.Region != s.region {
			return Bus{}, nil, invalid("%s names region %s; this endpoint serves %s", resourceARN, a.Region, s.region)
		}
		b, found, err := s.bus(ctx, a.Account, bus)
		if err != nil {
			return Bus{}, nil, err
		}
		if err := s.authorize(ctx, c, action, a.Account, resourceARN, b.Policy); err != nil {
			return Bus{}, nil, err
		}
		if !found {
			return Bus{}, nil, busMissing(bus)
		}
		r, err := s.getRule(ctx, b, name)
		if err != nil {
			return Bus{}, nil, err
		}
		return b, &r, nil
	}
	if a, _, ok := arn.EventBusOf(resourceARN); ok {
		if a.Region != s.region {
			return Bus{}, nil, invalid("%s names region %s; this endpoint serves %s", resourceARN, a.Region, s.region)
		}
		b, err := s.busOp(ctx, c, action, resourceARN)
		return b, nil, err
	}
	return Bus{}, nil, invalid("%s is not the ARN of an event bus or a rule", resourceARN)
}

// Tags returns the tags of a bus or rule.
func (s *Service) Tags(ctx context.Context, c Call, resourceARN string) (map[string]string, error) {
	b, r, err := s.tagged(ctx, c, "ListTagsForResource", resourceARN)
	if err != nil {
		return nil, err
	}
	if r != nil {
		return r.Tags, nil
	}
	return b.Tags, nil
}

// Tag adds or replaces tags of a bus or rule of the caller's account.
func (s *Service) Tag(ctx context.Context, c Call, resourceARN string, tags map[string]string) error {
	return s.retag(ctx, c, "TagResource", resourceARN, func(m map[string]string) map[string]string {
		if m == nil {
			m = map[string]string{}
		}
		for k, v := range tags {
			m[k] = v
		}
		if len(m) > 50 {
			return nil
		}
		return m
	})
}

// Untag removes tags of a bus or rule of the caller's account.
func (s *Service) Untag(ctx context.Context, c Call, resourceARN string, keys []string) error {
	return s.retag(ctx, c, "UntagResource", resourceARN, func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for _, k := range keys {
			delete(out, k)
		}
		return out
	})
}

func (s *Service) retag(ctx context.Context, c Call, action, resourceARN string, change func(map[string]string) map[string]string) error {
	b, r, err := s.tagged(ctx, c, action, resourceARN)
	if err != nil {
		return err
	}
	if b.Account != c.Caller.Account {
		return errs.E(errs.AccessDenied, "Only the owner may tag %s.", resourceARN)
	}
	return s.store.Update(ctx, func(tx Tx) error {
		if r != nil {
			// Read again inside the transaction so a concurrent change is not lost.
			cur, err := s.getRule(ctx, b, r.Name)
			if err != nil {
				return err
			}
			if cur.Tags = change(cur.Tags); cur.Tags == nil {
				return errs.E(errs.LimitExceeded, "A resource has at most 50 tags.").WithCode("LimitExceededException")
			}
			return tx.PutRule(ctx, cur)
		}
		if b.Tags = change(b.Tags); b.Tags == nil {
			return errs.E(errs.LimitExceeded, "A resource has at most 50 tags.").WithCode("LimitExceededException")
		}
		return tx.PutBus(ctx, b)
	})
}
