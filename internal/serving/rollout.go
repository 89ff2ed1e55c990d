package serving

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// Safe updates: an UpdateEndpoint with a DeploymentConfig moves traffic to the new fleet in
// steps. Blue/green stages the whole new fleet beside the old one and shifts a share of the
// requests to it — all at once, a canary then the rest, or linear steps —, each step followed
// by a wait (the last one by TerminationWaitInSeconds) during which the new fleet's health
// checks are watched; then the old fleet is retired. A rolling update grows the new fleet and
// shrinks the old one batch by batch. The new fleet failing its health checks, failing to
// start, or the update outlasting MaximumExecutionTimeoutInSeconds rolls all traffic back:
// the endpoint ends InService on its old configuration with the FailureReason.
//
// Every step is committed in the store (Endpoint.Rollout) before the fleet acts on it, and the
// engine applies the committed step idempotently, so a restarted server — whose fleets died
// with the old process — deploys the old configuration again, stages the new one and goes on
// from the step it stood at.

// DeploymentPolicy is an UpdateEndpoint's DeploymentConfig: exactly one of BlueGreen and
// Rolling, and the CloudWatch alarms of its AutoRollbackConfiguration: one of them in ALARM
// while the update runs (its steps and waits) rolls it back, as failing health checks do.
type DeploymentPolicy struct {
	BlueGreen *BlueGreen `json:",omitempty"`
	Rolling   *Rolling   `json:",omitempty"`
	// Alarms names alarms of the endpoint's account (AutoRollbackConfiguration.Alarms).
	Alarms []string `json:",omitempty"`
}

// The traffic routing types of a blue/green update, and the capacity size types.
const (
	AllAtOnce       = "ALL_AT_ONCE"
	Canary          = "CANARY"
	Linear          = "LINEAR"
	InstanceCount   = "INSTANCE_COUNT"
	CapacityPercent = "CAPACITY_PERCENT"
)

// CapacitySize is a part of the new fleet: Value instances (INSTANCE_COUNT) or Value percent
// of its instances (CAPACITY_PERCENT).
type CapacitySize struct {
	Type  string
	Value int
}

// BlueGreen is a BlueGreenUpdatePolicy. Durations are in seconds.
type BlueGreen struct {
	Type            string        // AllAtOnce, Canary or Linear
	Size            *CapacitySize `json:",omitempty"` // CanarySize or LinearStepSize
	WaitInterval    int           // after each traffic step but the last
	TerminationWait int           // after the last step, before the old fleet is retired
	MaxExecution    int           // MaximumExecutionTimeoutInSeconds; 0: none
}

// Rolling is a RollingUpdatePolicy. Durations are in seconds.
type Rolling struct {
	MaxBatch     CapacitySize
	WaitInterval int // after each batch
	MaxExecution int
	// RollbackMaxBatch is how many of the old fleet's instances a rollback brings back at a
	// time (nil: all at once).
	RollbackMaxBatch *CapacitySize `json:",omitempty"`
}

// Rollout is the progress of an update under a DeploymentPolicy, as committed.
type Rollout struct {
	// Step counts the steps of Steps taken: 0 while the new fleet (or its first batch) starts.
	Step      int
	Steps     int     // how many there are
	Share     float64 // the share of requests the new fleet takes since StepAt
	StartedAt time.Time
	StepAt    time.Time
	// Phase is what the new fleet's variants are doing, as DescribeEndpoint's
	// PendingDeploymentSummary shows it: Creating, ActivatingTraffic or Baking.
	Phase string
	// Variants are the new fleet's variants: their desired weights and counts, and the
	// instances running at this step.
	Variants []VariantState `json:",omitempty"`
	// Reason is why the update rolls back (while RollingBack): the FailureReason it ends with.
	Reason string `json:",omitempty"`
	// Restored is the part of the old fleet's instances a rolling update's rollback has brought
	// back so far (while RollingBack; 0 before its first batch is committed).
	Restored float64 `json:",omitempty"`
}

const maxWait = 3600

func checkSize(field string, c *CapacitySize) error {
	switch {
	case c == nil:
		return invalid("%s is required", field)
	case c.Type != InstanceCount && c.Type != CapacityPercent:
		return invalid("%s.Type %q must be INSTANCE_COUNT or CAPACITY_PERCENT", field, c.Type)
	case c.Value < 1:
		return invalid("%s.Value must be at least 1", field)
	case c.Type == CapacityPercent && c.Value > 100:
		return invalid("%s.Value %d is more than 100 percent", field, c.Value)
	}
	return nil
}

func checkSeconds(field string, v, lo, hi int) error {
	if v < lo || v > hi {
		return invalid("%s %d must be between %d and %d", field, v, lo, hi)
	}
	return nil
}

func checkMaxExecution(field string, v int) error {
	if v == 0 {
		return nil
	}
	return checkSeconds(field, v, 600, 28800)
}

// Check validates a policy.
func (p DeploymentPolicy) Check() error {
	if (p.BlueGreen == nil) == (p.Rolling == nil) {
		return invalid("DeploymentConfig needs exactly one of BlueGreenUpdatePolicy and RollingUpdatePolicy")
	}
	if b := p.BlueGreen; b != nil {
		const f = "DeploymentConfig.BlueGreenUpdatePolicy"
		switch b.Type {
		case AllAtOnce:
			if b.Size != nil {
				return invalid("%s: TrafficRoutingConfiguration Type ALL_AT_ONCE takes neither CanarySize nor LinearStepSize", f)
			}
		case Canary:
			if err := checkSize(f+".TrafficRoutingConfiguration.CanarySize", b.Size); err != nil {
				return err
			}
		case Linear:
			if err := checkSize(f+".TrafficRoutingConfiguration.LinearStepSize", b.Size); err != nil {
				return err
			}
		default:
			return invalid("%s.TrafficRoutingConfiguration.Type %q must be ALL_AT_ONCE, CANARY or LINEAR", f, b.Type)
		}
		if err := checkSeconds(f+".TrafficRoutingConfiguration.WaitIntervalInSeconds", b.WaitInterval, 0, maxWait); err != nil {
			return err
		}
		if err := checkSeconds(f+".TerminationWaitInSeconds", b.TerminationWait, 0, maxWait); err != nil {
			return err
		}
		return checkMaxExecution(f+".MaximumExecutionTimeoutInSeconds", b.MaxExecution)
	}
	r := p.Rolling
	const f = "DeploymentConfig.RollingUpdatePolicy"
	if err := checkSize(f+".MaximumBatchSize", &r.MaxBatch); err != nil {
		return err
	}
	if r.RollbackMaxBatch != nil {
		if err := checkSize(f+".RollbackMaximumBatchSize", r.RollbackMaxBatch); err != nil {
			return err
		}
	}
	if err := checkSeconds(f+".WaitIntervalInSeconds", r.WaitInterval, 0, maxWait); err != nil {
		return err
	}
	return checkMaxExecution(f+".MaximumExecutionTimeoutInSeconds", r.MaxExecution)
}

// Steps returns the share of requests the new fleet takes at each step of a rollout to a
// configuration of instances instances in all; the last is 1. For a rolling update the share
// is also the part of each variant's instances the new fleet runs.
func Steps(p DeploymentPolicy, instances int) []float64 {
	instances = max(instances, 1)
	if r := p.Rolling; r != nil {
		batch := r.MaxBatch.instances(instances)
		var out []float64
		for n := batch; n < instances; n += batch {
			out = append(out, float64(n)/float64(instances))
		}
		return append(out, 1)
	}
	b := p.BlueGreen
	if b == nil || b.Size == nil || b.Type == AllAtOnce {
		return []float64{1}
	}
	share := float64(b.Size.Value) / 100
	if b.Size.Type == InstanceCount {
		share = float64(b.Size.Value) / float64(instances)
	}
	if share >= 1 {
		return []float64{1}
	}
	if b.Type == Canary {
		return []float64{share, 1}
	}
	var out []float64
	for i := 1; float64(i)*share < 1-1e-9; i++ {
		out = append(out, float64(i)*share)
	}
	return append(out, 1)
}

// instances is how many of total instances c stands for (at least 1).
func (c CapacitySize) instances(total int) int {
	n := c.Value
	if c.Type == CapacityPercent {
		n = int(math.Ceil(float64(c.Value) * float64(total) / 100))
	}
	return max(n, 1)
}

// wait is how long step (1-based) of n is watched before the next one.
func (p DeploymentPolicy) wait(step, n int) time.Duration {
	if r := p.Rolling; r != nil {
		return time.Duration(r.WaitInterval) * time.Second
	}
	if step < n {
		return time.Duration(p.BlueGreen.WaitInterval) * time.Second
	}
	return time.Duration(p.BlueGreen.TerminationWait) * time.Second
}

func (p DeploymentPolicy) maxExecution() time.Duration {
	if p.Rolling != nil {
		return time.Duration(p.Rolling.MaxExecution) * time.Second
	}
	return time.Duration(p.BlueGreen.MaxExecution) * time.Second
}

// part returns n scaled by share, at least 1.
func part(n int, share float64) int { return max(1, int(math.Ceil(float64(n)*share-1e-9))) }

// watchEvery is how often a step's wait looks at the new fleet's health.
const watchEvery = 200 * time.Millisecond

// rollout moves an update under a DeploymentPolicy on from the step it has committed.
func (e *Engine) rollout(ctx context.Context, ep Endpoint) (reconcile.Result, error) {
	if ep.Status == RollingBack {
		return reconcile.Result{}, e.rollBack(ctx, ep)
	}
	if e.c.Fleet == nil {
		return reconcile.Result{}, e.abort(ctx, ep, "InternalServerError: this server has no model runtime configured")
	}
	policy := *ep.Policy
	// The old fleet serves until the end; after a restart it is deployed again first.
	if err := e.ensureLive(ctx, ep); err != nil {
		return reconcile.Result{}, err
	}
	_, specs, err := e.prepare(ctx, ep, ep.Pending)
	var f *failure
	if errors.As(err, &f) {
		return reconcile.Result{}, e.abort(ctx, ep, f.reason)
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	total := 0
	for _, s := range specs {
		total += s.Instances
	}
	steps := Steps(policy, total)
	for {
		r := *ep.Rollout
		now := e.c.Service.now()
		if limit := policy.maxExecution(); limit > 0 && now.Sub(r.StartedAt) > limit {
			return reconcile.Result{}, e.abort(ctx, ep, fmt.Sprintf("ClientError: the update did not finish within MaximumExecutionTimeoutInSeconds (%d s); traffic was rolled back to the old fleet", int(limit.Seconds())))
		}
		// The new fleet of the committed step (the first one's while starting).
		share := steps[max(r.Step, 1)-1]
		staged := specs
		if policy.Rolling != nil {
			staged = make([]VariantSpec, len(specs))
			for i, s := range specs {
				staged[i] = s
				staged[i].Instances = part(s.Instances, share)
			}
		}
		if err := e.ensureStaged(ctx, ep, staged); err != nil {
			if errors.As(err, &f) {
				return reconcile.Result{}, e.abort(ctx, ep, f.reason)
			}
			return reconcile.Result{}, err
		}
		if r.Step == 0 {
			ok, err := e.step(ctx, &ep, 1, steps, specs, staged)
			if err != nil || !ok {
				return reconcile.Result{}, err
			}
			continue
		}
		if err := e.c.Fleet.Shift(ep.ARN, r.Share); err != nil {
			return reconcile.Result{}, err
		}
		if policy.Rolling != nil {
			if err := e.shrinkLive(ctx, ep, r.Share); err != nil {
				return reconcile.Result{}, err
			}
		}
		if why := unhealthy(e.c.Fleet, ep.ARN); why != "" {
			return reconcile.Result{}, e.abort(ctx, ep, "ClientError: the new fleet failed its health checks ("+why+"); traffic was rolled back to the old fleet")
		}
		if len(policy.Alarms) > 0 && e.c.Alarms != nil {
			name, err := e.c.Alarms.InAlarm(ctx, ep.Account, policy.Alarms)
			if err != nil {
				return reconcile.Result{}, err
			}
			if name != "" {
				return reconcile.Result{}, e.abort(ctx, ep, "ClientError: the alarm "+name+" of the AutoRollbackConfiguration went to ALARM during the update; traffic was rolled back to the old fleet")
			}
		}
		if left := r.StepAt.Add(policy.wait(r.Step, len(steps))).Sub(now); left > 0 {
			return reconcile.Result{RequeueAfter: min(left, watchEvery)}, nil
		}
		if r.Step < len(steps) {
			ok, err := e.step(ctx, &ep, r.Step+1, steps, specs, staged)
			if err != nil || !ok {
				return reconcile.Result{}, err
			}
			continue
		}
		return reconcile.Result{}, e.finish(ctx, ep, specs)
	}
}

// step commits step n (1-based) of steps before the fleet acts on it; ok is false when the
// endpoint changed meanwhile (deleted): the next reconcile sees to it.
func (e *Engine) step(ctx context.Context, ep *Endpoint, n int, steps []float64, specs, staged []VariantSpec) (bool, error) {
	now := e.c.Service.now()
	share := steps[n-1]
	phase := "ActivatingTraffic"
	if share >= 1 {
		phase = "Baking"
	}
	vs := make([]VariantState, len(specs))
	for i, s := range specs {
		running := s.Instances
		if ep.Policy.Rolling != nil {
			running = part(s.Instances, share)
		}
		vs[i] = VariantState{VariantName: s.Name, CurrentWeight: s.Weight * share, DesiredWeight: s.Weight,
			CurrentInstanceCount: running, DesiredInstanceCount: s.Instances,
			DeployedImages: []DeployedImage{{SpecifiedImage: s.Model.Image, ResolvedImage: s.Model.Image, ResolutionTime: now}}}
	}
	saved := false
	err := e.update(ctx, *ep, "UpdateEndpoint", func(_ Tx, cur *Endpoint) (bool, error) {
		if cur.Status != Updating || cur.Deployment != ep.Deployment || cur.Rollout == nil {
			return false, nil
		}
		r := *cur.Rollout
		r.Step, r.Steps, r.Share, r.StepAt, r.Phase, r.Variants = n, len(steps), share, now, phase, vs
		cur.Rollout = &r
		*ep = *cur
		saved = true
		return true, nil
	})
	if err == nil && saved {
		e.c.Log.Info("endpoint update step", "endpoint", ep.ARN, "step", n, "of", len(steps), "share", share)
	}
	return saved, err
}

// ensureLive deploys the endpoint's current configuration again when nothing of it runs (the
// server restarted during the update).
func (e *Engine) ensureLive(ctx context.Context, ep Endpoint) error {
	if len(e.c.Fleet.Status(ep.ARN)) > 0 {
		return nil
	}
	old := ep
	old.Status, old.Pending = InService, ""
	_, specs, err := e.prepare(ctx, old, ep.ConfigName)
	if err == nil {
		err = e.c.Fleet.Deploy(ctx, ep.ARN, specs)
	}
	if err != nil {
		e.c.Log.Warn("cannot deploy the old configuration of an endpoint being updated; retrying", "endpoint", ep.ARN, "err", err)
		return err
	}
	return nil
}

// ensureStaged stages want beside the live fleet unless exactly that runs staged already.
func (e *Engine) ensureStaged(ctx context.Context, ep Endpoint, want []VariantSpec) error {
	if _, have, ok := e.c.Fleet.Staged(ep.ARN); ok && len(have) == len(want) {
		same := true
		for i := range want {
			same = same && have[i].Name == want[i].Name && have[i].Instances == want[i].Instances
		}
		if same {
			return nil
		}
	}
	if err := e.c.Fleet.Stage(ctx, ep.ARN, want); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errs.Is(err, errs.Invalid) {
			return fail("ClientError: the new fleet could not be started: %s", errs.Message(err))
		}
		return err
	}
	return nil
}

// shrinkLive scales the old fleet's variants down to what a rolling update keeps of them once
// the new fleet takes share.
func (e *Engine) shrinkLive(ctx context.Context, ep Endpoint, share float64) error {
	counts := map[string]int{}
	for _, v := range e.c.Fleet.Status(ep.ARN) {
		i := variantIndex(ep.Variants, v.Name)
		if i < 0 {
			continue
		}
		if want := part(ep.Variants[i].CurrentInstanceCount, 1-share); want != v.Instances {
			counts[v.Name] = want
		}
	}
	if len(counts) == 0 {
		return nil
	}
	return e.c.Fleet.Scale(ctx, ep.ARN, counts)
}

// unhealthy names the new fleet's variants with an instance out of the pool ("" when all are
// healthy, or when nothing is staged).
func unhealthy(f Fleet, endpoint string) string {
	_, vs, ok := f.Staged(endpoint)
	if !ok {
		return ""
	}
	why := ""
	for _, v := range vs {
		if v.Healthy < v.Instances {
			if why != "" {
				why += "; "
			}
			why += fmt.Sprintf("variant %s: %d of %d instances healthy", v.Name, v.Healthy, v.Instances)
		}
	}
	return why
}

// finish makes the new fleet live and records the endpoint InService on its configuration.
func (e *Engine) finish(ctx context.Context, ep Endpoint, specs []VariantSpec) error {
	if err := e.c.Fleet.Promote(ep.ARN); err != nil && !errs.Is(err, errs.Conflict) {
		return err
	}
	now := e.c.Service.now()
	err := e.update(ctx, ep, "UpdateEndpoint", func(_ Tx, cur *Endpoint) (bool, error) {
		if cur.Status != Updating || cur.Deployment != ep.Deployment {
			return false, nil
		}
		settle(cur, ep.Pending, specs, now)
		return true, nil
	})
	if err == nil {
		e.prune(ep)
		e.c.Log.Info("endpoint updated", "endpoint", ep.ARN, "config", ep.Pending)
	}
	return err
}

// abort commits the rollback (RollingBack, with the reason) before it acts, then rolls back.
func (e *Engine) abort(ctx context.Context, ep Endpoint, reason string) error {
	e.c.Log.Warn("endpoint update rolls back", "endpoint", ep.ARN, "config", ep.Pending, "reason", reason)
	saved := false
	err := e.update(ctx, ep, "UpdateEndpoint", func(_ Tx, cur *Endpoint) (bool, error) {
		if cur.Status != Updating || cur.Deployment != ep.Deployment {
			return false, nil
		}
		r := Rollout{}
		if cur.Rollout != nil {
			r = *cur.Rollout
		}
		r.Reason = truncate(reason, 1024)
		cur.Status, cur.Rollout = RollingBack, &r
		saved = true
		return true, nil
	})
	if err != nil || !saved {
		return err
	}
	ep.Status = RollingBack
	r := Rollout{Reason: reason}
	if ep.Rollout != nil {
		r = *ep.Rollout
		r.Reason = reason
	}
	ep.Rollout = &r
	return e.rollBack(ctx, ep)
}

// rollBack drops the new fleet, restores the old one, and records the endpoint InService on
// its old configuration with the reason.
func (e *Engine) rollBack(ctx context.Context, ep Endpoint) error {
	if e.c.Fleet != nil {
		if err := e.ensureLive(ctx, ep); err != nil {
			return err
		}
		if ep.Policy != nil && ep.Policy.Rolling != nil {
			if err := e.restore(ctx, &ep); err != nil {
				return err
			}
		}
		if err := e.c.Fleet.Discard(ep.ARN); err != nil && !errs.Is(err, errs.Conflict) && !errs.Is(err, errs.NotFound) {
			return err
		}
	}
	reason := "ClientError: the update was rolled back"
	if ep.Rollout != nil && ep.Rollout.Reason != "" {
		reason = ep.Rollout.Reason
	}
	return e.update(ctx, ep, "UpdateEndpoint", func(_ Tx, cur *Endpoint) (bool, error) {
		if cur.Status != RollingBack || cur.Deployment != ep.Deployment {
			return false, nil
		}
		cur.Status, cur.FailureReason = InService, reason
		cur.Pending, cur.Weights, cur.Retain, cur.Policy, cur.Rollout = "", nil, false, nil, nil
		for i := range cur.Variants {
			cur.Variants[i].DesiredWeight = cur.Variants[i].CurrentWeight
			cur.Variants[i].DesiredInstanceCount = cur.Variants[i].CurrentInstanceCount
		}
		return true, nil
	})
}

// restore brings the old fleet of a rolling update back to all its instances before the new
// fleet is dropped: RollbackMaximumBatchSize instances at a time (all at once without it), the
// new fleet's share of the requests shrinking as the old fleet grows. Each batch is committed
// (Rollout.Restored) before the fleet acts on it; after a restart, when no new fleet runs any
// more, the old one is brought back whole.
func (e *Engine) restore(ctx context.Context, ep *Endpoint) error {
	total := 0
	for _, v := range ep.Variants {
		total += v.CurrentInstanceCount
	}
	total = max(total, 1)
	r := Rollout{}
	if ep.Rollout != nil {
		r = *ep.Rollout
	}
	restored := r.Restored
	if restored == 0 {
		restored = 1 - r.Share
	}
	batch := total
	if b := ep.Policy.Rolling.RollbackMaxBatch; b != nil {
		batch = b.instances(total)
	}
	if _, _, staged := e.c.Fleet.Staged(ep.ARN); !staged {
		restored = 1
	}
	for {
		if err := e.growLive(ctx, *ep, restored); err != nil {
			return err
		}
		if err := e.c.Fleet.Shift(ep.ARN, 1-restored); err != nil && !errs.Is(err, errs.Conflict) && !errs.Is(err, errs.NotFound) {
			return err
		}
		if restored >= 1 {
			return nil
		}
		next := math.Min(1, restored+float64(batch)/float64(total))
		saved := false
		err := e.update(ctx, *ep, "UpdateEndpoint", func(_ Tx, cur *Endpoint) (bool, error) {
			if cur.Status != RollingBack || cur.Deployment != ep.Deployment || cur.Rollout == nil {
				return false, nil
			}
			cur.Rollout.Restored = next
			*ep = *cur
			saved = true
			return true, nil
		})
		if err != nil || !saved {
			return err
		}
		e.c.Log.Info("endpoint rollback batch", "endpoint", ep.ARN, "restored", next)
		restored = next
	}
}

// growLive scales the old fleet's variants up to the part restored of their instances; it
// never shrinks them.
func (e *Engine) growLive(ctx context.Context, ep Endpoint, restored float64) error {
	counts := map[string]int{}
	for _, v := range e.c.Fleet.Status(ep.ARN) {
		i := variantIndex(ep.Variants, v.Name)
		if i < 0 {
			continue
		}
		if want := part(ep.Variants[i].CurrentInstanceCount, restored); want > v.Instances {
			counts[v.Name] = want
		}
	}
	if len(counts) == 0 {
		return nil
	}
	return e.c.Fleet.Scale(ctx, ep.ARN, counts)
}
