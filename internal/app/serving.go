package app

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/images"
	"github.com/slipway-ml/slipway/internal/inference"
	"github.com/slipway-ml/slipway/internal/jobs"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/serving"
	"github.com/slipway-ml/slipway/internal/serving/fleet"
)

// Serving declares its collaborators in its own terms (package serving, ports.go); the
// adapters below translate them to the services that implement them. The fleet runs in this
// process: what it deployed is gone after a restart, and the serving engine deploys every
// InService endpoint again at start (servingRuntime).

// servingService builds the serving domain: its fleet is created here, its loader once the
// executor exists (servingRuntime). The data capture's spool is in the data directory; what a
// previous process left there is uploaded from now on.
func (a *App) servingService() error {
	a.servingLoad = new(lateLoader)
	a.servingMeter = newServingMeter(a.now)
	capture, err := serving.NewCapturer(serving.CaptureOptions{Writer: captureWriter{a.Artifacts}, Sessions: a.Identity,
		Spool: filepath.Join(a.cfg.DataDir, "serving", "capture-spool"), Log: a.log.With("component", "data-capture")})
	if err != nil {
		return err
	}
	a.servingMeter.capture = capture
	a.Fleet = fleet.New(fleet.Options{Log: a.log, Load: a.servingLoad.Load,
		Observe: func(o fleet.Observation) { serving.AddModelTime(o.Context, o.Model) }})
	a.Serving = serving.NewService(serving.ServiceConfig{
		Store: a.Store.Serving(), Authz: a.Identity, Roles: a.Identity, Sessions: a.Identity,
		Artifacts: jobArtifacts{a.Artifacts}, Packages: servingPackages{a.Registry}, Fleet: servingFleet{a.Fleet},
		Meter: a.servingMeter, Capture: a.servingMeter.capture, Region: a.cfg.Region, Now: a.now,
	})
	return nil
}

// servingRuntime builds the endpoint engine's runtime: models load in-process (the built-in
// runtimes of package inference) or, for mapped images, as serve commands on the executor.
// Every endpoint is enqueued, so those InService are deployed again and those in flight go on.
func (a *App) servingRuntime(ctx context.Context) (*reconcile.Runtime, error) {
	self := a.cfg.SlipwayBinary
	if self == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, errs.E(errs.Internal, "cannot find the slipway binary for the built-in images: %v", err)
		}
		self = exe
	}
	table, err := images.New(images.Options{Slipway: self, Python: a.cfg.Python, Mappings: a.cfg.Images})
	if err != nil {
		return nil, err
	}
	containers := fleet.ContainerOptions{Exec: a.Executor, Dir: filepath.Join(a.cfg.DataDir, "serving", "containers"), Log: a.log}
	if err := fleet.SweepContainers(ctx, containers); err != nil {
		a.log.Warn("cannot stop the model servers a previous run left", "err", err)
	}
	a.servingLoad.Set(fleet.ImageLoader(table.ResolveServing, fleet.ModelLoader(inference.LoadDir), containers))
	engine := serving.NewEngine(serving.EngineConfig{
		Service: a.Serving, Store: a.Store.Serving(), Sessions: a.Identity, Artifacts: jobArtifacts{a.Artifacts},
		Fleet: servingFleet{a.Fleet}, Extract: inference.ExtractArchive, DataDir: a.cfg.DataDir, Log: a.log,
		Alarms: alarmWatcher{a.Alarms},
	})
	rt := reconcile.New(a.Store.Work(), serving.WorkKind, engine, reconcile.Options{Workers: 16, Log: a.log})
	keys, err := engine.Resume(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) > 0 {
		if err := rt.Enqueue(ctx, keys...); err != nil {
			return nil, err
		}
	}
	return rt, nil
}

// lateLoader is the fleet's loader, set once the executor exists (servingRuntime): the fleet
// is built before it, and its deploys (reconcile workers, tests driving the fleet) may call
// Load from any goroutine while Set runs, so the loader is held by an atomic pointer.
type lateLoader struct{ p atomic.Pointer[fleet.Loader] }

// Set installs the loader every later Load uses.
func (l *lateLoader) Set(load fleet.Loader) { l.p.Store(&load) }

// Load starts an instance with the loader set, or fails Unavailable before one is.
func (l *lateLoader) Load(ctx context.Context, m fleet.ModelSpec, n int) (fleet.Instance, error) {
	load := l.p.Load()
	if load == nil || *load == nil {
		return nil, errs.E(errs.Unavailable, "the model runtime is not started yet")
	}
	return (*load)(ctx, m, n)
}

// servingFleet adapts the fleet to serving's port.
type servingFleet struct{ f *fleet.Fleet }

var _ serving.Fleet = servingFleet{}

func fleetSpecs(vs []serving.VariantSpec) []fleet.VariantSpec {
	out := make([]fleet.VariantSpec, len(vs))
	for i, v := range vs {
		out[i] = fleet.VariantSpec{Name: v.Name, Weight: v.Weight, Instances: v.Instances,
			Model: fleet.ModelSpec{Image: v.Model.Image, ModelDir: v.Model.ModelDir, Environment: v.Model.Environment}}
	}
	return out
}

func servingStatus(st []fleet.VariantStatus) []serving.VariantStatus {
	out := make([]serving.VariantStatus, len(st))
	for i, v := range st {
		out[i] = serving.VariantStatus{Name: v.Name, Weight: v.Weight, Instances: v.Instances, Healthy: v.Healthy}
	}
	return out
}

func (s servingFleet) Deploy(ctx context.Context, endpoint string, vs []serving.VariantSpec) error {
	return s.f.Deploy(ctx, endpoint, fleetSpecs(vs))
}

func (s servingFleet) Stage(ctx context.Context, endpoint string, vs []serving.VariantSpec) error {
	return s.f.Stage(ctx, endpoint, fleetSpecs(vs))
}

func (s servingFleet) Shift(endpoint string, share float64) error { return s.f.Shift(endpoint, share) }
func (s servingFleet) Promote(endpoint string) error              { return s.f.Promote(endpoint) }
func (s servingFleet) Discard(endpoint string) error              { return s.f.Discard(endpoint) }

func (s servingFleet) Staged(endpoint string) (float64, []serving.VariantStatus, bool) {
	share, vs, ok := s.f.Staged(endpoint)
	return share, servingStatus(vs), ok
}

func (s servingFleet) SetWeights(endpoint string, w map[string]float64) error {
	return s.f.SetWeights(endpoint, w)
}

func (s servingFleet) Scale(ctx context.Context, endpoint string, counts map[string]int) error {
	return s.f.Scale(ctx, endpoint, counts)
}

func (s servingFleet) Invoke(ctx context.Context, endpoint, target string, req inference.Request) (string, inference.Response, error) {
	return s.f.Invoke(ctx, endpoint, target, req)
}

func (s servingFleet) Remove(endpoint string) error { return s.f.Remove(endpoint) }

func (s servingFleet) Status(endpoint string) []serving.VariantStatus {
	return servingStatus(s.f.Status(endpoint))
}

// servingPackages reads a model package through the registry, as the caller: another
// account's package only when its group policy grants the caller's account.
type servingPackages struct{ r *registry.Service }

func (p servingPackages) PackageContainer(ctx context.Context, c identity.Call, nameOrARN string) (serving.Container, error) {
	pkg, err := p.r.DescribePackage(ctx, registry.Call{Caller: c.Caller, Context: c.Context}, nameOrARN)
	if err != nil {
		return serving.Container{}, err
	}
	var spec struct {
		Containers []struct {
			Image        string
			ModelDataUrl string
			Environment  map[string]string
		}
	}
	if raw := pkg.Details["InferenceSpecification"]; len(raw) > 0 {
		if err := json.Unmarshal(raw, &spec); err != nil {
			return serving.Container{}, errs.E(errs.Internal, "the model package's InferenceSpecification does not decode", err)
		}
	}
	if len(spec.Containers) == 0 {
		return serving.Container{}, errs.E(errs.Invalid, "The model package %s has no InferenceSpecification container to serve.", pkg.ARN)
	}
	ct := spec.Containers[0]
	return serving.Container{Image: ct.Image, ModelDataURL: ct.ModelDataUrl, Environment: ct.Environment}, nil
}

// jobModels lets transform jobs find their model (jobs.Models).
type jobModels struct{ s *serving.Service }

var _ jobs.Models = jobModels{}

func (m jobModels) Model(ctx context.Context, account, name string) (jobs.Model, error) {
	x, err := m.s.ModelOf(ctx, account, name)
	if err != nil {
		return jobs.Model{}, err
	}
	c := x.Serving()
	return jobs.Model{Image: c.Image, ModelDataURL: c.ModelDataURL, RoleARN: x.ExecutionRoleARN, Environment: c.Environment}, nil
}
