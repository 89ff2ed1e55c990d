package serving

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/jobs"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// EngineConfig holds the engine's collaborators.
type EngineConfig struct {
	Service   *Service
	Store     Store
	Sessions  Sessions
	Artifacts Artifacts
	Fleet     Fleet
	// Extract unpacks a model.tar.gz into a directory (inference.ExtractArchive).
	Extract func(r io.Reader, dir string) error
	DataDir string // extracted artifacts live under DataDir/serving
	Log     *slog.Logger
	// Alarms tells the state of the alarms an update's AutoRollbackConfiguration names (nil:
	// none are watched).
	Alarms AlarmWatcher
}

// AlarmWatcher reads CloudWatch alarms for the rollouts (package alarms, through the
// composition root).
type AlarmWatcher interface {
	// InAlarm returns the first of an account's alarms named that is in ALARM, "" when none is.
	InAlarm(ctx context.Context, account string, names []string) (string, error)
}

// Engine brings endpoints to their configuration: a reconcile.Reconciler keyed by endpoint ARN.
type Engine struct{ c EngineConfig }

var _ reconcile.Reconciler = (*Engine)(nil)

// NewEngine returns an engine.
func NewEngine(c EngineConfig) *Engine {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	c.Log = c.Log.With("component", "serving")
	if c.Service != nil {
		// The engine writes through the service's store, so that the data plane's endpoint
		// cache drops what the engine changes.
		c.Store = c.Service.store
	}
	return &Engine{c: c}
}

// failure is a deployment that cannot succeed, with the reason DescribeEndpoint shows.
type failure struct{ reason string }

func (f *failure) Error() string { return f.reason }

func fail(format string, args ...any) error { return &failure{reason: fmt.Sprintf(format, args...)} }

// Resume returns the keys of every endpoint, for the runtime to reconcile at start: those
// InService are deployed again, those Creating or Updating continue.
func (e *Engine) Resume(ctx context.Context) ([]string, error) { return e.c.Store.EndpointARNs(ctx) }

// Reconcile brings the endpoint named by key (its ARN) to what its record asks.
func (e *Engine) Reconcile(ctx context.Context, key string) (reconcile.Result, error) {
	account, name, ok := ParseEndpointKey(key)
	if !ok {
		return reconcile.Result{Forget: true}, nil
	}
	ep, err := e.c.Store.GetEndpoint(ctx, account, name)
	if errs.Is(err, errs.NotFound) {
		e.remove(key, account, name)
		return reconcile.Result{Forget: true}, nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	switch ep.Status {
	case Deleting:
		e.remove(ep.ARN, ep.Account, name)
		e.c.Service.forget(ep.Account, ep.Name)
		err := e.update(ctx, ep, "DeleteEndpoint", func(tx Tx, cur *Endpoint) (bool, error) {
			if cur.Status != Deleting {
				return false, nil
			}
			return false, tx.DeleteEndpoint(ctx, cur.Account, cur.Name)
		})
		if err != nil {
			return reconcile.Result{}, err
		}
		return reconcile.Result{Forget: true}, nil
	case Failed:
		e.remove(ep.ARN, ep.Account, name)
		return reconcile.Result{Forget: true}, nil
	case RollingBack:
		return e.rollout(ctx, ep)
	case Creating, Updating:
		if ep.Status == Updating && ep.Policy != nil && ep.Rollout != nil {
			return e.rollout(ctx, ep)
		}
		return reconcile.Result{}, e.deploy(ctx, ep)
	case InService:
		if e.c.Fleet == nil || len(e.c.Fleet.Status(ep.ARN)) > 0 {
			return reconcile.Result{}, nil
		}
		// Deployed before this server started: deploy it again as it was.
		cfg, specs, err := e.prepare(ctx, ep, ep.ConfigName)
		if err == nil {
			err = e.c.Fleet.Deploy(ctx, ep.ARN, specs)
		}
		if err != nil {
			e.c.Log.Warn("cannot deploy an endpoint again at start; retrying", "endpoint", ep.ARN, "config", cfg.Name, "err", err)
			return reconcile.Result{}, err
		}
		e.c.Log.Info("endpoint deployed again", "endpoint", ep.ARN)
		return reconcile.Result{}, nil
	}
	return reconcile.Result{Forget: true}, nil
}

// deploy deploys the configuration an endpoint Creating or Updating asks for and records the
// outcome: InService on it; or, when it cannot be deployed, Failed (a creation) or InService
// on the old configuration with the reason (an update).
func (e *Engine) deploy(ctx context.Context, ep Endpoint) error {
	target := ep.ConfigName
	if ep.Status == Updating {
		target = ep.Pending
	}
	cfg, specs, err := e.prepare(ctx, ep, target)
	if err == nil {
		err = e.apply(ctx, ep, target, specs)
	}
	var f *failure
	if err != nil && !errors.As(err, &f) {
		return err
	}
	now := e.c.Service.now()
	return e.update(ctx, ep, "UpdateEndpoint", func(_ Tx, cur *Endpoint) (bool, error) {
		if cur.Status != ep.Status || cur.Deployment != ep.Deployment {
			return false, nil // deleted or asked again meanwhile: the next reconcile sees to it
		}
		if f != nil {
			e.c.Log.Warn("endpoint deployment failed", "endpoint", ep.ARN, "config", target, "reason", f.reason)
			cur.FailureReason = truncate(f.reason, 1024)
			cur.Pending, cur.Weights, cur.Retain = "", nil, false
			if cur.Status == Creating {
				cur.Status = Failed
			} else {
				cur.Status = InService
				for i := range cur.Variants {
					cur.Variants[i].DesiredWeight = cur.Variants[i].CurrentWeight
					cur.Variants[i].DesiredInstanceCount = cur.Variants[i].CurrentInstanceCount
				}
			}
			return true, nil
		}
		settle(cur, cfg.Name, specs, now)
		return true, nil
	})
}

// settle records e InService on configuration config, running specs.
func settle(e *Endpoint, config string, specs []VariantSpec, now time.Time) {
	e.Status, e.ConfigName, e.Pending, e.FailureReason, e.Weights, e.Retain = InService, config, "", "", nil, false
	e.Policy, e.Rollout = nil, nil
	e.Variants = e.Variants[:0]
	for _, s := range specs {
		e.Variants = append(e.Variants, VariantState{VariantName: s.Name, CurrentWeight: s.Weight, DesiredWeight: s.Weight,
			CurrentInstanceCount: s.Instances, DesiredInstanceCount: s.Instances,
			DeployedImages: []DeployedImage{{SpecifiedImage: s.Model.Image, ResolvedImage: s.Model.Image, ResolutionTime: now}}})
	}
}

// apply hands the deployment to the fleet: when the configuration stays (a change of weights
// or capacities) the live variants are scaled in place and reweighted; otherwise every instance
// starts anew and replaces the old ones once healthy.
func (e *Engine) apply(ctx context.Context, ep Endpoint, target string, specs []VariantSpec) error {
	if e.c.Fleet == nil {
		return fail("InternalServerError: this server has no model runtime configured")
	}
	if have := e.c.Fleet.Status(ep.ARN); ep.Status == Updating && target == ep.ConfigName && sameVariants(have, specs) {
		counts := map[string]int{}
		w := make(map[string]float64, len(specs))
		for i, s := range specs {
			if have[i].Instances != s.Instances {
				counts[s.Name] = s.Instances
			}
			w[s.Name] = s.Weight
		}
		if len(counts) > 0 {
			if err := e.c.Fleet.Scale(ctx, ep.ARN, counts); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fail("ClientError: the new instances could not be started: %s", errs.Message(err))
			}
		}
		if err := e.c.Fleet.SetWeights(ep.ARN, w); err != nil {
			return fail("ClientError: %s", errs.Message(err))
		}
		return nil
	}
	if err := e.c.Fleet.Deploy(ctx, ep.ARN, specs); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fail("ClientError: the model could not be started: %s", errs.Message(err))
	}
	e.prune(ep)
	return nil
}

// sameVariants says whether the live deployment has exactly the variants of want, in order.
func sameVariants(have []VariantStatus, want []VariantSpec) bool {
	if len(have) != len(want) {
		return false
	}
	for i := range want {
		if have[i].Name != want[i].Name {
			return false
		}
	}
	return true
}

// Planned is one variant of a deployment: its weight and instance count.
type Planned struct {
	Variant   Variant
	Weight    float64
	Instances int
}

// Plan computes the variants to deploy for cfg on ep: the configuration's initial weights and
// counts, except that a variant the endpoint already runs keeps its desired weight and count
// when cfg is the configuration it serves (a restart, a capacity change) or when the update
// retains variant properties; weights asked for explicitly win.
func Plan(ep Endpoint, cfg Config) []Planned {
	out := make([]Planned, 0, len(cfg.Variants))
	for _, v := range cfg.Variants {
		p := Planned{Variant: v, Weight: v.InitialVariantWeight, Instances: v.InitialInstanceCount}
		if i := variantIndex(ep.Variants, v.VariantName); i >= 0 && (cfg.Name == ep.ConfigName || ep.Retain) {
			cur := ep.Variants[i]
			p.Weight = cur.DesiredWeight
			if cur.DesiredInstanceCount > 0 {
				p.Instances = cur.DesiredInstanceCount
			}
		}
		if w, ok := ep.Weights[v.VariantName]; ok {
			p.Weight = w
		}
		out = append(out, p)
	}
	return out
}

// prepare reads the configuration and its models and fetches every model's artifact as the
// model's execution role, extracted under the deployment's directory.
func (e *Engine) prepare(ctx context.Context, ep Endpoint, target string) (Config, []VariantSpec, error) {
	cfg, err := e.c.Store.GetConfig(ctx, ep.Account, target)
	if errs.Is(err, errs.NotFound) {
		return cfg, nil, fail("ClientError: the endpoint configuration %s does not exist", target)
	}
	if err != nil {
		return cfg, nil, err
	}
	dirs := map[string]string{}
	var specs []VariantSpec
	for _, p := range Plan(ep, cfg) {
		m, err := e.c.Store.GetModel(ctx, ep.Account, p.Variant.ModelName)
		if errs.Is(err, errs.NotFound) {
			return cfg, nil, fail("ClientError: the model %s of variant %s does not exist", p.Variant.ModelName, p.Variant.VariantName)
		}
		if err != nil {
			return cfg, nil, err
		}
		c := m.Serving()
		dir, ok := dirs[m.Name]
		if !ok {
			if dir, err = e.fetch(ctx, ep, m, c); err != nil {
				return cfg, nil, err
			}
			dirs[m.Name] = dir
		}
		specs = append(specs, VariantSpec{Name: p.Variant.VariantName, Weight: p.Weight, Instances: p.Instances,
			Model: ModelSpec{Image: c.Image, ModelDir: dir, Environment: c.Environment}})
	}
	return cfg, specs, nil
}

// deploymentDir is where the artifacts of an endpoint's deployment n are extracted.
func (e *Engine) deploymentDir(account, name string, n int) string {
	return filepath.Join(e.c.DataDir, "serving", account, strings.ToLower(name), strconv.Itoa(n))
}

// fetch downloads and extracts a model's artifact as its execution role, once per deployment:
// a directory already complete (a restart) is used as it is.
func (e *Engine) fetch(ctx context.Context, ep Endpoint, m Model, c Container) (string, error) {
	dir := filepath.Join(e.deploymentDir(ep.Account, ep.Name, ep.Deployment), strings.ToLower(m.Name))
	if c.ModelDataURL == "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
		return dir, nil
	}
	done := filepath.Join(dir, ".slipway-complete")
	if _, err := os.Stat(done); err == nil {
		return dir, nil
	}
	u, err := jobs.ParseS3URI("ModelDataUrl", c.ModelDataURL)
	if err != nil {
		return "", fail("ClientError: %s", errs.Message(err))
	}
	caller, err := e.c.Sessions.EngineSession(ctx, m.ExecutionRoleARN, ServicePrincipal)
	if errs.Is(err, errs.AccessDenied) || errs.Is(err, errs.Invalid) || errs.Is(err, errs.NotFound) {
		return "", fail("ClientError: SageMaker cannot assume the execution role %s of model %s: %s", m.ExecutionRoleARN, m.Name, errs.Message(err))
	}
	if err != nil {
		return "", err
	}
	body, err := e.c.Artifacts.GetObject(ctx, caller, u.Bucket, u.Key)
	switch {
	case errs.Is(err, errs.AccessDenied):
		return "", fail("ClientError: AccessDenied: the execution role %s may not read the model data at %s: %s", m.ExecutionRoleARN, c.ModelDataURL, errs.Message(err))
	case errs.Is(err, errs.NotFound):
		return "", fail("ClientError: Could not find model data at %s.", c.ModelDataURL)
	case err != nil:
		return "", err
	}
	defer body.Close()
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if e.c.Extract == nil {
		return "", fail("InternalServerError: this server cannot extract model artifacts")
	}
	if err := e.c.Extract(body, dir); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fail("ClientError: the model data at %s is not a valid model.tar.gz: %s", c.ModelDataURL, errs.Message(err))
	}
	if err := os.WriteFile(done, nil, 0o600); err != nil {
		return "", err
	}
	return dir, nil
}

// prune removes the directories of an endpoint's earlier deployments.
func (e *Engine) prune(ep Endpoint) {
	parent := filepath.Dir(e.deploymentDir(ep.Account, ep.Name, 0))
	entries, _ := os.ReadDir(parent)
	for _, d := range entries {
		if n, err := strconv.Atoi(d.Name()); err == nil && n < ep.Deployment {
			os.RemoveAll(filepath.Join(parent, d.Name()))
		}
	}
}

// remove stops what the fleet runs of an endpoint and deletes its files.
func (e *Engine) remove(arn, account, name string) {
	if e.c.Fleet != nil {
		if err := e.c.Fleet.Remove(arn); err != nil {
			e.c.Log.Warn("cannot stop an endpoint's instances", "endpoint", arn, "err", err)
		}
	}
	os.RemoveAll(filepath.Dir(e.deploymentDir(account, name, 0)))
}

// update changes the endpoint in one transaction under the reconcile lease's fence, audited as
// the engine's op: fn changes the endpoint as stored and reports whether to save it (with its
// state change event when the status changed).
func (e *Engine) update(ctx context.Context, ep Endpoint, op string, fn func(tx Tx, cur *Endpoint) (bool, error)) error {
	fence, fenced := reconcile.FenceFrom(ctx)
	s := e.c.Service
	actx, _ := audit.ForEngine(ctx, audit.Record{
		Time: s.now(), Account: ep.Account, PrincipalARN: ServicePrincipal, UserAgent: ServicePrincipal,
		Service: "sagemaker", Operation: op, Resource: ep.ARN, Decision: "allow",
		Reason: "the endpoint engine records the endpoint's progress",
	})
	return e.c.Store.Update(actx, func(tx Tx) error {
		if fenced {
			if err := tx.CheckFence(actx, fence); err != nil {
				return err
			}
		}
		cur, err := tx.LockEndpoint(actx, ep.Account, ep.Name)
		if errs.Is(err, errs.NotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		before := cur.Status
		save, err := fn(tx, &cur)
		if err != nil || !save {
			return err
		}
		cur.ModifiedAt = s.now()
		if err := tx.UpdateEndpoint(actx, cur); err != nil {
			return err
		}
		if cur.Status == before {
			return nil
		}
		ev, err := s.event(cur)
		if err != nil {
			return err
		}
		return tx.AppendEvent(actx, ev)
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// ModelOf returns a model of an account as a transform job runs it (jobs.Models).
func (s *Service) ModelOf(ctx context.Context, account, name string) (Model, error) {
	return s.store.GetModel(ctx, account, name)
}
