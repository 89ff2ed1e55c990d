package rules

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/events/pattern"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/randid"
)

// Engine is the service principal delivery acts as: a target's RoleArn must trust it.
const Engine = "events.amazonaws.com"

// Consumer is the name of delivery's subscription to the outbox.
const Consumer = "event-rules"

// Delivery is one event on its way to one target of one rule.
type Delivery struct {
	// Key names the delivery: (event id, rule ARN, target id). A Deliverer delivers each key
	// at most once (Handle may hand the same delivery over again after a crash).
	Key     string
	Event   events.Event
	Rule    Rule
	RuleARN string
	Target  Target
	Input   []byte // what the target receives (the event's envelope unless transformed)
}

// Deliverer delivers to the targets of one kind: those whose ARN names its service (logs,
// events, and the kinds later engines add — codepipeline, sagemaker). An error of kind
// NotFound, AccessDenied or Invalid is final for the delivery (it is dead-lettered); any other
// error is retried with the event within the target's RetryPolicy, then dead-lettered.
type Deliverer interface {
	Deliver(ctx context.Context, d Delivery) error
}

// Dispatcher matches events against rules and hands them to their targets' Deliverers.
type Dispatcher struct {
	store    Store
	svc      *Service
	authz    Authorizer
	sessions Sessions
	kinds    map[string]Deliverer
	log      *slog.Logger

	now func() time.Time

	mu       sync.Mutex
	buses    map[string]*busRules // account/bus → its enabled rules, compiled
	attempts map[string]int       // delivery key → its transient failures so far
}

// busRules is a bus's enabled rules at one generation, indexed for matching.
type busRules struct {
	gen   int64
	rules []Rule
	set   *pattern.Set // ids are indexes into rules
}

// DispatcherConfig is what a Dispatcher needs. Deliverers maps an ARN's service to the
// Deliverer of its targets; "events" (another bus) is built in.
type DispatcherConfig struct {
	Store      Store
	Service    *Service
	Authz      Authorizer
	Sessions   Sessions
	Deliverers map[string]Deliverer
	Log        *slog.Logger
	Now        func() time.Time // the clock retry policies measure an event's age on (time.Now)
}

// NewDispatcher returns a dispatcher; Handle is its events.Handler.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{store: cfg.Store, svc: cfg.Service, authz: cfg.Authz, sessions: cfg.Sessions, log: log.With("component", "event-rules"),
		kinds: map[string]Deliverer{}, buses: map[string]*busRules{}, attempts: map[string]int{}, now: cfg.Now}
	if d.now == nil {
		d.now = time.Now
	}
	for k, v := range cfg.Deliverers {
		d.kinds[k] = v
	}
	d.kinds["events"] = busDeliverer{d}
	return d
}

// Kinds lists the ARN services targets may name.
func (d *Dispatcher) Kinds() []string {
	out := make([]string, 0, len(d.kinds))
	for k := range d.kinds {
		out = append(out, k)
	}
	return out
}

// rulesOf returns a bus's enabled rules, compiled and indexed; they are read again only
// after they change (their generation moved on).
func (d *Dispatcher) rulesOf(ctx context.Context, account, bus string) (*busRules, error) {
	gen, err := d.store.RulesGeneration(ctx, account, bus)
	if err != nil {
		return nil, err
	}
	key := account + "/" + bus
	d.mu.Lock()
	br := d.buses[key]
	d.mu.Unlock()
	if br != nil && br.gen == gen {
		return br, nil
	}
	// The generation is read before the rules: a change committing between the two reads
	// makes the next event read them again.
	rs, err := d.store.RulesOf(ctx, account, bus)
	if err != nil {
		return nil, err
	}
	br = &busRules{gen: gen, set: pattern.NewSet()}
	for _, r := range rs {
		p, err := pattern.Compile(r.Pattern)
		if err != nil {
			d.log.Warn("a stored rule's pattern no longer compiles; skipped", "rule", r.Name, "err", err)
			continue
		}
		br.set.Add(strconv.Itoa(len(br.rules)), p)
		br.rules = append(br.rules, r)
	}
	d.mu.Lock()
	if len(d.buses) > 10000 {
		clear(d.buses)
	}
	d.buses[key] = br
	d.mu.Unlock()
	return br, nil
}

// busOf is the bus an event was put on.
func busOf(ev events.Event) (account, name string, ok bool) {
	if ev.Bus == "" {
		return ev.Account, DefaultBus, true
	}
	a, name, ok := arn.EventBusOf(ev.Bus)
	return a.Account, name, ok
}

// Handle delivers one event of the outbox to the targets of every enabled rule of its bus it
// matches. It returns an error (and is called again with the same event) only for failures
// worth retrying; deliveries already made are not repeated (their keys are recorded).
func (d *Dispatcher) Handle(ctx context.Context, ev events.Event) error {
	if ev.Source == ScheduledSource && ev.DetailType == ScheduledDetailType {
		return d.handleScheduled(ctx, ev)
	}
	account, bus, ok := busOf(ev)
	if !ok {
		d.log.Warn("an event names no bus it can be delivered on; dropped", "event", ev.ID, "bus", ev.Bus)
		return nil
	}
	br, err := d.rulesOf(ctx, account, bus)
	if err != nil || len(br.rules) == 0 {
		return err
	}
	envelope, err := json.Marshal(ev.Envelope())
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the event %s", ev.ID, err)
	}
	parsed, err := pattern.Parse(envelope)
	if err != nil {
		d.log.Warn("an event's envelope does not parse; dropped", "event", ev.ID, "err", err)
		return nil
	}
	var matched []int
	d.mu.Lock() // a Set matches one event at a time
	br.set.Match(parsed, func(id string) {
		i, _ := strconv.Atoi(id)
		matched = append(matched, i)
	})
	d.mu.Unlock()
	sort.Ints(matched) // rules in name order, as stored
	for _, i := range matched {
		r := br.rules[i]
		ruleARN := d.svc.RuleARN(r.Account, r.Bus, r.Name)
		ts, err := d.store.ListTargets(ctx, r.Account, r.Bus, r.Name)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if err := d.deliver(ctx, ev, envelope, r, ruleARN, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// handleScheduled delivers a scheduled rule's firing to that rule's targets only (no other
// rule sees it), while the rule is enabled and still scheduled.
func (d *Dispatcher) handleScheduled(ctx context.Context, ev events.Event) error {
	if len(ev.Resources) != 1 {
		return nil
	}
	a, bus, name, ok := arn.EventRuleOf(ev.Resources[0])
	if !ok || a.Account != ev.Account {
		d.log.Warn("a scheduled event names no rule of its account; dropped", "event", ev.ID)
		return nil
	}
	r, err := d.store.GetRule(ctx, a.Account, bus, name)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if r.State != Enabled || r.Schedule == "" {
		return nil
	}
	envelope, err := json.Marshal(ev.Envelope())
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the event %s", ev.ID, err)
	}
	ruleARN := d.svc.RuleARN(r.Account, r.Bus, r.Name)
	ts, err := d.store.ListTargets(ctx, r.Account, r.Bus, r.Name)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if err := d.deliver(ctx, ev, envelope, r, ruleARN, t); err != nil {
			return err
		}
	}
	return nil
}

// deliver hands one event to one target. A transient failure is retried (the event is handed
// over again after a backoff) within the target's retry policy; a final failure, or one that
// outlived the policy, is dead-lettered.
func (d *Dispatcher) deliver(ctx context.Context, ev events.Event, envelope []byte, r Rule, ruleARN string, t Target) error {
	log := d.log.With("event", ev.ID, "rule", ruleARN, "target", t.ID)
	a, err := arn.Parse(t.ARN)
	if err != nil {
		log.Warn("a target's ARN does not parse; dropped", "err", err)
		return nil
	}
	service := a.Service
	if IsAPIDestination(t.ARN) {
		service = APIDestinationKind
	}
	kind, ok := d.kinds[service]
	if !ok {
		log.Warn("no deliverer for the target's kind; dropped", "kind", a.Service)
		return nil
	}
	input, err := Input(t, envelope, ruleARN, r.Name)
	if err != nil {
		log.Warn("the target's input cannot be built; dropped", "err", err)
		return nil
	}
	key := ev.ID + "|" + ruleARN + "|" + t.ID
	if done, err := d.store.Delivered(ctx, key); err != nil || done {
		return err // made before, or failed for good before
	}
	dl := Delivery{Key: key, Event: ev, Rule: r, RuleARN: ruleARN, Target: t, Input: input}
	err = kind.Deliver(ctx, dl)
	if err == nil {
		d.forget(key)
		return nil
	}
	if !Final(err) {
		attempts := d.failed(key)
		pol := t.Policy()
		age := d.now().Sub(ev.Time)
		if attempts <= pol.MaximumRetryAttempts && age < time.Duration(pol.MaximumEventAgeInSeconds)*time.Second {
			log.Info("the delivery failed; retrying", "attempt", attempts, "err", err)
			return err // the subscription tries the event again after a backoff
		}
		err = fmt.Errorf("retries exhausted (%d attempts, the event %s old; policy: %d retries, %d s): %w",
			attempts, age.Round(time.Second), pol.MaximumRetryAttempts, pol.MaximumEventAgeInSeconds, err)
	}
	log.Warn("the delivery failed for good; dead-lettered", "err", err)
	d.forget(key)
	return d.deadLetter(ctx, dl, errs.Message(err))
}

// Final reports whether a delivery's error is not worth retrying: the target is missing, the
// delivery is not allowed, or its input is refused.
func Final(err error) bool {
	return errs.Is(err, errs.NotFound) || errs.Is(err, errs.AccessDenied) || errs.Is(err, errs.Invalid)
}

// failed counts a transient failure of a delivery and returns how many it had. The counts
// live in memory: a restart starts them again (the event's age still bounds the retries).
func (d *Dispatcher) failed(key string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.attempts[key]++
	return d.attempts[key]
}

func (d *Dispatcher) forget(key string) {
	d.mu.Lock()
	delete(d.attempts, key)
	d.mu.Unlock()
}

// DeadLetter is the message a target's dead-letter log group receives for a failed delivery.
type DeadLetter struct {
	Event  json.RawMessage `json:"event"`
	Rule   string          `json:"rule"`
	Target string          `json:"target"`
	Reason string          `json:"reason"`
}

// deadLetter records a delivery that failed for good in the dead-letter list (the store's
// failure record, which also keeps it from being tried again) and, when the target names one,
// appends it to its dead-letter log group (once, keyed by the delivery).
func (d *Dispatcher) deadLetter(ctx context.Context, dl Delivery, reason string) error {
	if dl.Target.DeadLetter != "" {
		if logs, ok := d.kinds["logs"]; ok {
			env, _ := json.Marshal(dl.Event.Envelope())
			msg, _ := json.Marshal(DeadLetter{Event: env, Rule: dl.RuleARN, Target: dl.Target.ID, Reason: reason})
			err := logs.Deliver(ctx, Delivery{Key: "dead-letter|" + dl.Key, Event: dl.Event, Rule: dl.Rule, RuleARN: dl.RuleARN,
				Target: Target{ID: dl.Target.ID, ARN: dl.Target.DeadLetter}, Input: msg})
			if err != nil && !Final(err) {
				return err // tried again with the event
			}
			if err != nil {
				d.log.Warn("the dead-letter log group cannot take the failed delivery", "key", dl.Key, "group", dl.Target.DeadLetter, "err", err)
				reason += " (dead-letter log group " + dl.Target.DeadLetter + ": " + errs.Message(err) + ")"
			}
		}
	}
	return d.store.RecordFailure(ctx, dl.Key, reason)
}

// busDeliverer forwards events to another bus: allowed when that bus's policy lets the rule's
// account (or the target's role, when it names one) events:PutEvents; the forwarded event
// then meets that bus's rules.
type busDeliverer struct{ d *Dispatcher }

func (b busDeliverer) Deliver(ctx context.Context, dl Delivery) error {
	a, name, ok := arn.EventBusOf(dl.Target.ARN)
	if !ok {
		return errs.E(errs.Invalid, "%s is not an event bus ARN", dl.Target.ARN)
	}
	if a.Account == dl.Rule.Account && name == dl.Rule.Bus {
		return errs.E(errs.Invalid, "a rule cannot forward to its own bus")
	}
	bus, err := b.d.store.GetBus(ctx, a.Account, name)
	if err != nil {
		return err
	}
	caller := identity.Caller{Account: dl.Rule.Account, ARN: arn.AccountRoot(dl.Rule.Account), AuthMethod: identity.AuthEngine, InvokedBy: Engine}
	if dl.Target.RoleARN != "" {
		if caller, err = b.d.sessions.EngineSession(ctx, dl.Target.RoleARN, Engine); err != nil {
			return err
		}
	}
	if _, err := b.d.authz.Authorize(ctx, caller, identity.Action{
		Name: "events:PutEvents", Resource: dl.Target.ARN, ResourceAccount: a.Account, ResourcePolicy: bus.Policy,
		Context: identity.RequestContext{Region: b.d.svc.region, Secure: true},
	}); err != nil {
		return err
	}
	fwd := dl.Event
	fwd.ID, fwd.Seq, fwd.Bus = randid.UUID(), 0, dl.Target.ARN
	_, err = b.d.store.Once(ctx, dl.Key, func(tx Tx) error { return tx.AppendEvent(ctx, fwd) })
	return err
}
