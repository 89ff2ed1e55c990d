package app

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"path"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/delivery"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// Deploy pipelines declare their collaborators in their own terms (package delivery,
// ports.go); the action providers below act through the domain services that own what they
// touch (artifacts, stacks), as the action's session, so every step of a deploy is authorized
// and audited like an API call.

// deliveryService builds the deploy pipelines' domain with its action providers.
func (a *App) deliveryService() {
	a.Delivery = delivery.NewService(delivery.Config{
		Store: a.Store.Delivery(), Authz: a.Identity, Roles: a.Identity,
		Providers: map[string]delivery.ActionProvider{
			delivery.ProviderKey("Source", "S3"):                           s3SourceAction{a},
			delivery.ProviderKey("Source", ModelPackageProvider):           modelPackageSource{a},
			delivery.ProviderKey("Deploy", "CloudFormation"):               cfnDeployAction{a},
			delivery.ProviderKey("Deploy", "CloudFormationStackSet"):       stackSetAction{a, false},
			delivery.ProviderKey("Deploy", "CloudFormationStackInstances"): stackSetAction{a, true},
			delivery.ProviderKey("Build", "CodeBuild"):                     codeBuildAction{a},
			delivery.ProviderKey("Test", "CodeBuild"):                      codeBuildAction{a},
		},
		Region: a.cfg.Region, Now: a.now,
	})
}

// deliveryRuntime builds the execution engine's runtime; executions not yet ended resume.
func (a *App) deliveryRuntime(ctx context.Context) (*reconcile.Runtime, error) {
	engine := delivery.NewEngine(delivery.EngineConfig{Service: a.Delivery, Store: a.Store.Delivery(), Sessions: deliverySessions{a.Identity, a.now}, Log: a.log})
	rt := reconcile.New(a.Store.Work(), delivery.WorkKind, engine, reconcile.Options{Workers: 8, Log: a.log})
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

// deliverySessions: the pipeline's role as an engine session; an action's own role assumed
// from it with sts:AssumeRole (the pipeline role's policies and the action role's trust
// policy decide, as for CodePipeline's cross-account actions).
type deliverySessions struct {
	id  *identity.Service
	now func() time.Time
}

var _ delivery.Sessions = deliverySessions{}

func (s deliverySessions) EngineSession(ctx context.Context, roleARN, engine string) (identity.Caller, error) {
	return s.id.EngineSession(ctx, roleARN, engine)
}

func (s deliverySessions) AssumeAs(ctx context.Context, caller identity.Caller, role, session string) (identity.Caller, error) {
	sess, err := s.id.AssumeRole(ctx, identity.Call{Caller: caller, Context: identity.RequestContext{Secure: true, Time: s.now()}},
		role, session, identity.AssumeOptions{Duration: 15 * time.Minute})
	if err != nil {
		return identity.Caller{}, err
	}
	auth, err := s.id.LookupAccessKey(ctx, sess.AccessKey.ID)
	if err != nil {
		return identity.Caller{}, err
	}
	c := auth.Caller
	c.AuthMethod, c.InvokedBy = identity.AuthEngine, delivery.ServicePrincipal
	return c, nil
}

// asAction runs fn, a call of a domain service made by an action as its session, audited as
// the deploy engine acting for the session.
func (a *App) asAction(ctx context.Context, c identity.Call, service, op string, fn func(ctx context.Context) error) error {
	return a.Audit.Engine(ctx, audit.Record{
		Time: a.now(), Account: c.Caller.Account, PrincipalARN: c.Caller.ARN, UserAgent: delivery.ServicePrincipal,
		Service: service, Operation: op, Decision: "allow", Reason: "a deploy pipeline's action acts as its role",
	}, fn)
}

// artifactKey is where an action's output artifact lives in the artifact store; it is fixed by
// the action execution id, so a retried action writes the same object.
func artifactKey(pipeline, artifact, actionID string) string {
	trim := func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	}
	return trim(pipeline, 20) + "/" + trim(artifact, 20) + "/" + trim(strings.ReplaceAll(actionID, "-", ""), 12)
}

// s3SourceAction is the Source action of provider S3: it copies S3Bucket/S3ObjectKey into the
// artifact store as its output artifact.
type s3SourceAction struct{ a *App }

var _ delivery.ActionSchema = s3SourceAction{}

func (s3SourceAction) Configuration() ([]string, []string) {
	return []string{"S3Bucket", "S3ObjectKey", "PollForSourceChanges"}, []string{"S3Bucket", "S3ObjectKey"}
}

func (p s3SourceAction) Run(ctx context.Context, r delivery.ActionRequest) (delivery.ActionResult, error) {
	bucket, key := r.Action.Configuration["S3Bucket"], r.Action.Configuration["S3ObjectKey"]
	if len(r.Action.OutputArtifacts) != 1 {
		return delivery.ActionResult{Done: true, Error: "an S3 source action has exactly one output artifact"}, nil
	}
	out := delivery.Artifact{Name: r.Action.OutputArtifacts[0], Bucket: r.ArtifactStore.Location,
		Key: artifactKey(r.PipelineName, r.Action.OutputArtifacts[0], r.ActionID), File: path.Base(key)}
	var info artifacts.ObjectInfo
	err := p.a.asAction(ctx, r.Call, "s3", "CopyObject", func(ctx context.Context) error {
		var err error
		info, err = p.a.Artifacts.CopyObject(ctx, r.Call.Caller, artifacts.CopyInput{Bucket: out.Bucket, Key: out.Key, SourceBucket: bucket, SourceKey: key})
		return err
	})
	if err != nil {
		return delivery.ActionResult{}, err
	}
	return delivery.ActionResult{Done: true, Summary: "s3://" + bucket + "/" + key + " (ETag " + info.ETag + ")", Outputs: []delivery.Artifact{out}}, nil
}

const maxArtifact = 50 << 20

// fileOf returns the file named by path in an artifact: a member of a zip archive, or the
// artifact itself when it is one file of that name.
func fileOf(b []byte, single, name string) (string, error) {
	if bytes.HasPrefix(b, []byte("PK\x03\x04")) {
		z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return "", errs.E(errs.Invalid, "the artifact is not a valid zip archive: %v", err)
		}
		for _, f := range z.File {
			if f.Name != name {
				continue
			}
			if f.UncompressedSize64 > maxArtifact {
				return "", errs.E(errs.Invalid, "%s is larger than %d bytes", name, maxArtifact)
			}
			rc, err := f.Open()
			if err != nil {
				return "", errs.E(errs.Invalid, "cannot read %s from the artifact: %v", name, err)
			}
			defer rc.Close()
			out, err := io.ReadAll(io.LimitReader(rc, maxArtifact))
			if err != nil {
				return "", errs.E(errs.Invalid, "cannot read %s from the artifact: %v", name, err)
			}
			return string(out), nil
		}
		return "", errs.E(errs.Invalid, "the artifact has no file %s", name)
	}
	if name != single {
		return "", errs.E(errs.Invalid, "the artifact is the single file %s, not a zip archive holding %s", single, name)
	}
	return string(b), nil
}
