// Package rules is the EventBridge subset: event buses (each account's default bus and custom
// ones) with resource policies, rules that match events with event patterns (package
// pattern), their targets, PutEvents, and the durable delivery of every event of the outbox
// to the targets of the rules it matches.
//
// Invariants:
//   - Every API call is authorized here, on the bus or rule it touches (events:Action); a call
//     on another account's bus is allowed only when that bus's policy names the caller
//     (PutEvents) and the caller's own policies allow; an explicit Deny wins.
//   - Bad input (a pattern EventBridge would reject, an unknown target kind, a bus that does
//     not exist) gets the protocol's error and changes nothing.
//   - Events are delivered from the outbox at least once; each delivery to a target is keyed by
//     (event id, rule, target id) and the built-in targets (a log group, another bus) record the
//     key in the transaction that delivers, so a restart never loses or repeats one.
//   - A rule forwarding to another account's bus delivers only when that bus's policy allows
//     the rule's account (or the rule target's role) to events:PutEvents; then that bus's
//     rules apply to the forwarded event.
package rules

import (
	"context"
	"time"

	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// DefaultBus is the name of every account's default event bus.
const DefaultBus = "default"

// State is a rule's state.
type State string

// The states of a rule.
const (
	Enabled  State = "ENABLED"
	Disabled State = "DISABLED"
)

// Bus is an event bus.
type Bus struct {
	Account     string
	Name        string
	Description string
	Policy      string // the bus's resource policy, "" when none
	Tags        map[string]string
	CreatedAt   time.Time
	ModifiedAt  time.Time
}

// Rule is a rule on a bus.
type Rule struct {
	Account     string
	Bus         string
	Name        string
	Pattern     string // the event pattern, "" for a schedule-only rule
	Schedule    string // rate(…) or cron(…), run by the Scheduler (default bus only)
	State       State
	Description string
	RoleARN     string
	Tags        map[string]string
	ManagedBy   string
	CreatedBy   string // the account that created it
	CreatedAt   time.Time
	ModifiedAt  time.Time
}

// Target is where a rule sends the events it matches.
type Target struct {
	ID               string
	ARN              string
	RoleARN          string
	Input            string // a constant JSON text sent instead of the event
	InputPath        string // a JSONPath ($.detail…) selecting part of the event
	InputTransformer *InputTransformer
	// SageMakerPipeline holds the parameters of an execution a SageMaker pipeline target
	// starts (literal values: EventBridge rules, unlike Pipes, substitute no JSON paths).
	SageMakerPipeline *PipelineParameters `json:",omitempty"`
	// HTTP holds the path, header and query values of a call an API destination target makes.
	HTTP *HTTPParameters `json:",omitempty"`
	// RetryPolicy bounds the retries of transient failures (nil: EventBridge's defaults).
	RetryPolicy *RetryPolicy `json:",omitempty"`
	// DeadLetter, when set, names where failed deliveries are kept; every failed delivery is
	// recorded with its reason in the dead-letter list whether or not it is set.
	DeadLetter string `json:",omitempty"`
}

// PipelineParameters are the parameters of the executions a SageMaker pipeline target starts.
type PipelineParameters struct {
	Parameters []PipelineParameter
}

// PipelineParameter is one name and value.
type PipelineParameter struct {
	Name, Value string
}

// HTTPParameters are a target's HttpParameters: values for the "*" wildcards of an API
// destination's endpoint path, in order, and headers and query string parameters. A value
// that starts with "$." is a JSONPath into the event, otherwise it is literal.
type HTTPParameters struct {
	PathParameterValues   []string          `json:",omitempty"`
	HeaderParameters      map[string]string `json:",omitempty"`
	QueryStringParameters map[string]string `json:",omitempty"`
}

// RetryPolicy bounds how long and how often a delivery that fails transiently is tried again.
type RetryPolicy struct {
	MaximumRetryAttempts     int // 0 to 185; 0: never retried
	MaximumEventAgeInSeconds int // 60 to 86400
}

// EventBridge's default retry policy.
const (
	DefaultRetryAttempts = 185
	DefaultEventAge      = 86400
)

// Policy returns the target's retry policy, the default when it has none.
func (t Target) Policy() RetryPolicy {
	if t.RetryPolicy == nil {
		return RetryPolicy{MaximumRetryAttempts: DefaultRetryAttempts, MaximumEventAgeInSeconds: DefaultEventAge}
	}
	return *t.RetryPolicy
}

// InputTransformer builds a target's input from a template and values of the event.
type InputTransformer struct {
	InputPathsMap map[string]string
	InputTemplate string
}

// Store persists buses, rules and targets. Reads stand alone; changes go through Update (the
// call's audit record commits with them).
type Store interface {
	// GetBus returns a bus; the default bus of any account exists even when never written.
	GetBus(ctx context.Context, account, name string) (Bus, error)
	ListBuses(ctx context.Context, account, prefix string) ([]Bus, error)
	GetRule(ctx context.Context, account, bus, name string) (Rule, error)
	// ListRules lists a bus's rules by name, after the name after (exclusive), at most limit.
	ListRules(ctx context.Context, account, bus, prefix, after string, limit int) ([]Rule, error)
	// RulesOf returns every enabled rule of a bus that has an event pattern (for delivery).
	RulesOf(ctx context.Context, account, bus string) ([]Rule, error)
	// RulesGeneration returns a number that changes with every change to a bus's rules (0
	// before the first).
	RulesGeneration(ctx context.Context, account, bus string) (int64, error)
	ListTargets(ctx context.Context, account, bus, rule string) ([]Target, error)
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Once runs fn in one transaction with key recorded as delivered, unless key was recorded
	// before; it reports whether fn ran. The platform's deliveries carry no audit record.
	Once(ctx context.Context, key string, fn func(tx Tx) error) (bool, error)
	// Delivered reports whether a delivery's key is recorded (made, or failed for good).
	Delivered(ctx context.Context, key string) (bool, error)
	// RecordFailure records a delivery that failed for good, so it is not tried again.
	RecordFailure(ctx context.Context, key, reason string) error
	// DeadLetters lists the deliveries to targets of an account's rules that failed for good,
	// by key after after (exclusive), at most limit.
	DeadLetters(ctx context.Context, account, after string, limit int) ([]DeadLetterEntry, error)
}

// DeadLetterEntry is a delivery that failed for good.
type DeadLetterEntry struct {
	Key     string // event id|rule ARN|target id
	EventID string
	Rule    string // the rule's ARN
	Target  string // the target's id
	Reason  string
	At      time.Time
}

// Tx is the rules' view of one store transaction.
type Tx interface {
	// CreateBus inserts a bus; errs.Conflict when it exists.
	CreateBus(ctx context.Context, b Bus) error
	// PutBus updates a bus (or writes the default bus's first row).
	PutBus(ctx context.Context, b Bus) error
	// DeleteBus deletes a bus with its rules and targets; errs.NotFound when missing.
	DeleteBus(ctx context.Context, account, name string) error
	// PutRule inserts or replaces a rule.
	PutRule(ctx context.Context, r Rule) error
	// DeleteRule deletes a rule; errs.NotFound when missing.
	DeleteRule(ctx context.Context, account, bus, name string) error
	// PutTarget inserts or replaces a target of a rule.
	PutTarget(ctx context.Context, account, bus, rule string, t Target) error
	// DeleteTarget deletes a target; reports whether it existed.
	DeleteTarget(ctx context.Context, account, bus, rule, id string) (bool, error)
	// AppendEvent adds an event to the transaction's outbox.
	AppendEvent(ctx context.Context, ev events.Event) error
	// Enqueue starts a scheduled rule's work (ScheduleKind) with the transaction.
	reconcile.Enqueuer
}

// Authorizer decides whether a caller may act (package identity implements it).
type Authorizer interface {
	Authorize(ctx context.Context, caller identity.Caller, a identity.Action) (string, error)
}

// Sessions lets delivery act as the role a target names (package identity implements it).
type Sessions interface {
	EngineSession(ctx context.Context, roleARN, engine string) (identity.Caller, error)
}

// Call is who asks, and the request facts authorization needs.
type Call struct {
	Caller  identity.Caller
	Context identity.RequestContext
}
