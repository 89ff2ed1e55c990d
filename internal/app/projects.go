package app

import (
	"bytes"
	"context"
	"slices"

	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/projects"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// Projects (SageMaker Projects, internal/projects) make CloudFormation stacks from the
// template catalog through the stacks service, as the project's caller, and write seed code to
// the project's bucket through the artifacts service, as the same caller.

// projectsService builds the projects domain (after the stacks service).
func (a *App) projectsService() error {
	var err error
	a.Projects, err = projects.NewService(projects.Config{
		Store: a.Store.Projects(), Authz: a.Identity, Stacks: a.Stacks, Region: a.cfg.Region, Now: a.now,
		Taggable: func(typ string) bool {
			known, _, ok := a.Stacks.PropertiesOf(typ)
			return ok && slices.Contains(known, "Tags")
		},
	})
	return err
}

// projectsRuntime builds the project engine's runtime; projects with work resume.
func (a *App) projectsRuntime(ctx context.Context) (*reconcile.Runtime, error) {
	engine := projects.NewEngine(projects.EngineConfig{Service: a.Projects, Store: a.Store.Projects(), Stacks: a.Store.Stacks(),
		Seeds: seedWriter{a.Artifacts}, Log: a.log})
	return reconcile.New(a.Store.Work(), projects.WorkKind, engine, reconcile.Options{Workers: 4, Log: a.log}), nil
}

// seedWriter writes seed code through the artifacts service (s3:PutObject as the caller).
type seedWriter struct{ a *artifacts.Service }

var _ projects.SeedWriter = seedWriter{}

func (w seedWriter) PutSeed(ctx context.Context, c identity.Call, bucket, key string, body []byte) error {
	n := int64(len(body))
	_, err := w.a.PutObject(ctx, c.Caller, artifacts.PutInput{Bucket: bucket, Key: key, Body: bytes.NewReader(body), ContentLength: &n})
	return err
}

func (w seedWriter) DeleteSeed(ctx context.Context, c identity.Call, bucket, key string) error {
	err := w.a.DeleteObject(ctx, c.Caller, bucket, key)
	if errs.Is(err, errs.NotFound) {
		return nil // the bucket went first
	}
	return err
}
