package projects

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/stacks"
	"github.com/slipway-ml/slipway/internal/stacks/template"
)

// ServicePrincipal is the engine's name when it acts as a project's caller.
const ServicePrincipal = "sagemaker.amazonaws.com"

// EngineConfig holds the engine's collaborators.
type EngineConfig struct {
	Service *Service
	Store   Store
	Stacks  StackReader
	Seeds   SeedWriter
	// Poll is how soon a project whose stack is working is looked at again.
	Poll time.Duration
	Log  *slog.Logger
}

// Engine makes, updates and deletes projects' stacks: a reconcile.Reconciler keyed by
// project ARN.
type Engine struct{ c EngineConfig }

var _ reconcile.Reconciler = (*Engine)(nil)

// NewEngine returns an engine.
func NewEngine(c EngineConfig) *Engine {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Poll <= 0 {
		c.Poll = 100 * time.Millisecond
	}
	c.Log = c.Log.With("component", "projects")
	return &Engine{c: c}
}

// Reconcile advances the project named by key (its ARN).
func (e *Engine) Reconcile(ctx context.Context, key string) (reconcile.Result, error) {
	a, err := arn.Parse(key)
	if err != nil || a.Service != "sagemaker" {
		return reconcile.Result{Forget: true}, nil
	}
	p, err := e.c.Store.GetProject(ctx, a.Account, key)
	if errs.Is(err, errs.NotFound) {
		return reconcile.Result{Forget: true}, nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	if !p.Status.Busy() {
		return reconcile.Result{Forget: true}, nil
	}
	if p.StackOp < p.Op {
		return e.startStackOp(ctx, p)
	}
	return e.follow(ctx, p)
}

// call is who the engine acts as: the project's latest caller.
func (e *Engine) call(p Project) identity.Call {
	c := p.Actor
	c.InvokedBy = ServicePrincipal
	return identity.Call{Caller: c, Context: identity.RequestContext{Region: p.Region, Secure: true, Time: e.c.Service.now()}}
}

// retryable reports whether an error is the server's (try again) rather than the request's.
func retryable(err error) bool {
	switch errs.KindOf(err) {
	case errs.Internal, errs.Unavailable, errs.Throttled, errs.Other:
		return true
	}
	return false
}

// save writes the project's new state if its operation is still the latest.
func (e *Engine) save(ctx context.Context, p Project, op string) error {
	fence, fenced := reconcile.FenceFrom(ctx)
	actx, _ := audit.ForEngine(ctx, audit.Record{
		Time: e.c.Service.now(), Account: p.Account, PrincipalARN: ServicePrincipal, UserAgent: ServicePrincipal,
		Service: "sagemaker", Operation: op, Resource: p.ARN, Decision: "allow",
		Reason: "the project engine records the project's progress",
	})
	return e.c.Store.Update(actx, func(tx Tx) error {
		if fenced {
			if err := tx.CheckFence(actx, fence); err != nil {
				return err
			}
		}
		cur, err := tx.LockProject(actx, p.ARN)
		if err != nil {
			return err
		}
		if cur.Op != p.Op {
			return errs.E(errs.Conflict, "project %s: another operation started", p.ARN)
		}
		if op == "DeleteProject" {
			return tx.DeleteProject(actx, p.ARN)
		}
		return tx.UpdateProject(actx, p)
	})
}

func (e *Engine) settle(ctx context.Context, p Project, to Status, reason string) (reconcile.Result, error) {
	if !p.Status.CanMoveTo(to) {
		return reconcile.Result{}, errs.E(errs.Internal, "project %s cannot move from %s to %s", p.ARN, p.Status, to)
	}
	p.Status, p.Reason, p.ModifiedAt = to, reason, e.c.Service.now()
	if err := e.save(ctx, p, "ProjectStatusChange"); err != nil {
		return reconcile.Result{}, err
	}
	if to.Busy() {
		return reconcile.Result{RequeueAfter: e.c.Poll}, nil
	}
	return reconcile.Result{Forget: true}, nil
}

// startStackOp makes the stack call of the project's latest operation.
func (e *Engine) startStackOp(ctx context.Context, p Project) (reconcile.Result, error) {
	call := e.call(p)
	token := p.ID + "-" + strconv.Itoa(p.Op)
	switch p.Status {
	case Pending:
		body, params, err := e.c.Service.stackInput(p)
		if err != nil {
			return e.settle(ctx, p, CreateFailed, errs.Message(err))
		}
		st, err := e.c.Service.stacks.CreateStack(ctx, call, stacks.CreateStackInput{
			Name: p.StackName, TemplateBody: body, Parameters: params, Tags: stackTags(p),
			Capabilities: []string{"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}, ClientToken: token,
		})
		if errs.Is(err, errs.Conflict) {
			// The first attempt made it before the engine stopped: adopt it.
			st, err = e.c.Stacks.GetStack(ctx, p.Account, p.StackName)
		}
		if err != nil {
			if retryable(err) {
				return reconcile.Result{}, err
			}
			return e.settle(ctx, p, CreateFailed, "cannot create the project's stack: "+errs.Message(err))
		}
		p.StackID, p.StackOp = st.ID, p.Op
		return e.settle(ctx, p, CreateInProgress, "")
	case UpdateInProgress:
		body, params, err := e.c.Service.stackInput(p)
		if err != nil {
			return e.settle(ctx, p, UpdateFailed, errs.Message(err))
		}
		_, err = e.c.Service.stacks.UpdateStack(ctx, call, stacks.UpdateStackInput{
			Name: p.StackID, TemplateBody: body, Parameters: params, Tags: stackTags(p),
			Capabilities: []string{"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}, ClientToken: token,
		})
		if err != nil {
			if retryable(err) {
				return reconcile.Result{}, err
			}
			if strings.Contains(errs.Message(err), "No updates are to be performed") {
				p.StackOp = p.Op
				return e.settle(ctx, p, UpdateCompleted, "")
			}
			return e.settle(ctx, p, UpdateFailed, "cannot update the project's stack: "+errs.Message(err))
		}
		p.StackOp = p.Op
		if err := e.save(ctx, p, "ProjectStatusChange"); err != nil {
			return reconcile.Result{}, err
		}
		return reconcile.Result{RequeueAfter: e.c.Poll}, nil
	case DeleteInProgress:
		if p.StackID == "" {
			return reconcile.Result{Forget: true}, e.save(ctx, p, "DeleteProject")
		}
		for _, key := range p.SeedKeys {
			if err := e.c.Seeds.DeleteSeed(ctx, call, p.SeedBucket, key); err != nil {
				if retryable(err) {
					return reconcile.Result{}, err
				}
				p.StackOp = p.Op
				return e.settle(ctx, p, DeleteFailed, "cannot delete the seed code: "+errs.Message(err))
			}
		}
		if err := e.c.Service.stacks.DeleteStack(ctx, call, p.StackID, "", nil, token); err != nil {
			if retryable(err) {
				return reconcile.Result{}, err
			}
			p.StackOp = p.Op
			return e.settle(ctx, p, DeleteFailed, "cannot delete the project's stack: "+errs.Message(err))
		}
		p.StackOp = p.Op
		if err := e.save(ctx, p, "ProjectStatusChange"); err != nil {
			return reconcile.Result{}, err
		}
		return reconcile.Result{RequeueAfter: e.c.Poll}, nil
	}
	return reconcile.Result{Forget: true}, nil
}

// follow watches the stack of an operation under way and settles the project when it ends.
func (e *Engine) follow(ctx context.Context, p Project) (reconcile.Result, error) {
	st, err := e.c.Stacks.GetStack(ctx, p.Account, p.StackID)
	if errs.Is(err, errs.NotFound) && p.Status == DeleteInProgress {
		return reconcile.Result{Forget: true}, e.save(ctx, p, "DeleteProject")
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	switch p.Status {
	case CreateInProgress, UpdateInProgress:
		ok, failed := stacks.CreateComplete, CreateFailed
		if p.Status == UpdateInProgress {
			ok, failed = stacks.UpdateComplete, UpdateFailed
		}
		switch {
		case st.Status == ok:
			keys, err := e.seed(ctx, p, st)
			if err != nil {
				if retryable(err) {
					return reconcile.Result{}, err
				}
				return e.settle(ctx, p, failed, "cannot upload the seed code: "+errs.Message(err))
			}
			done := CreateCompleted
			if p.Status == UpdateInProgress {
				done = UpdateCompleted
			}
			if m := e.c.Service.seedManifest(ctx, p); m != nil && len(keys) > 0 {
				p.SeedBucket = outputOf(st, m.BucketOutput)
				p.SeedLocation = "s3://" + p.SeedBucket + "/" + strings.TrimSuffix(m.Prefix, "/")
				p.SeedKeys = keys
			}
			return e.settle(ctx, p, done, "")
		case st.Status.Terminal() || st.Status == stacks.RollbackFailed || st.Status == stacks.UpdateRollbackFailed:
			return e.settle(ctx, p, failed, stackFailure(st))
		}
	case DeleteInProgress:
		switch st.Status {
		case stacks.DeleteComplete:
			return reconcile.Result{Forget: true}, e.save(ctx, p, "DeleteProject")
		case stacks.DeleteFailed:
			return e.settle(ctx, p, DeleteFailed, stackFailure(st))
		}
	}
	return reconcile.Result{RequeueAfter: e.c.Poll}, nil
}

// stackFailure says why a stack operation failed: the stack's reason and its failed resources'.
func stackFailure(st stacks.Stack) string {
	msg := "stack " + st.Name + " is " + string(st.Status)
	if st.Reason != "" && st.Reason != "User Initiated" {
		msg += ": " + st.Reason
	}
	var ids []string
	for id, r := range st.Resources {
		if strings.HasSuffix(r.Status, "_FAILED") && r.Reason != "" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		msg += "; " + id + ": " + st.Resources[id].Reason
	}
	return msg
}

func outputOf(st stacks.Stack, key string) string {
	for _, o := range st.Outputs {
		if o.Key == key {
			return o.Value
		}
	}
	return ""
}

func (s *Service) seedManifest(ctx context.Context, p Project) *SeedCode {
	t, err := s.lookupTemplate(ctx, p.Account, p.Template)
	if err != nil || len(t.Seed) == 0 {
		return nil
	}
	return t.Manifest.SeedCode
}

// seed uploads the template's seed code to the bucket its manifest names, as the caller, and
// returns the keys it wrote.
func (e *Engine) seed(ctx context.Context, p Project, st stacks.Stack) ([]string, error) {
	t, err := e.c.Service.lookupTemplate(ctx, p.Account, p.Template)
	if err != nil {
		return nil, err
	}
	if len(t.Seed) == 0 || t.Manifest.SeedCode == nil {
		return nil, nil
	}
	bucket := outputOf(st, t.Manifest.SeedCode.BucketOutput)
	if bucket == "" {
		return nil, errs.E(errs.Invalid, "the stack has no output %s naming the seed code's bucket", t.Manifest.SeedCode.BucketOutput)
	}
	var keys []string
	for _, f := range t.Seed {
		key := path.Join(t.Manifest.SeedCode.Prefix, f.Path)
		if err := e.c.Seeds.PutSeed(ctx, e.call(p), bucket, key, f.Content); err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	if t.Manifest.SeedCode.Archive == "" {
		return keys, nil
	}
	zipped, err := archive(t.Seed)
	if err != nil {
		return nil, err
	}
	key := path.Join(t.Manifest.SeedCode.Prefix, t.Manifest.SeedCode.Archive)
	if err := e.c.Seeds.PutSeed(ctx, e.call(p), bucket, key, zipped); err != nil {
		return nil, err
	}
	return append(keys, key), nil
}

// archive zips seed files (with a fixed time, so the same seed gives the same bytes).
func archive(files []File) ([]byte, error) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.Path, Method: zip.Deflate, Modified: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
		fw, err := w.CreateHeader(h)
		if err != nil {
			return nil, errs.E(errs.Internal, "cannot zip the seed code", err)
		}
		if _, err := fw.Write(f.Content); err != nil {
			return nil, errs.E(errs.Internal, "cannot zip the seed code", err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, errs.E(errs.Internal, "cannot zip the seed code", err)
	}
	return buf.Bytes(), nil
}

func stackTags(p Project) map[string]string {
	tags := map[string]string{TagProjectName: p.Name, TagProjectID: p.ID}
	for k, v := range p.Tags {
		tags[k] = v
	}
	return tags
}

// stackInput is the project's stack template (its resources that take tags tagged with the
// project's tags) and parameters.
func (s *Service) stackInput(p Project) (string, []stacks.ParameterInput, error) {
	doc, err := template.Decode([]byte(p.TemplateBody))
	if err != nil {
		return "", nil, err
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return "", nil, errs.E(errs.Invalid, "the project's template is not an object")
	}
	tags := stackTags(p)
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	resources, _ := root["Resources"].(map[string]any)
	for _, v := range resources {
		r, ok := v.(map[string]any)
		if !ok {
			continue
		}
		typ, _ := r["Type"].(string)
		if !s.taggable(typ) {
			continue
		}
		props, ok := r["Properties"].(map[string]any)
		if !ok {
			if r["Properties"] != nil {
				continue
			}
			props = map[string]any{}
			r["Properties"] = props
		}
		var list []any
		switch cur := props["Tags"].(type) {
		case nil:
		case []any:
			list = cur
		default:
			continue // an intrinsic function: left as the template wrote it
		}
		have := map[string]bool{}
		for _, t := range list {
			if m, ok := t.(map[string]any); ok {
				if k, ok := m["Key"].(string); ok {
					have[k] = true
				}
			}
		}
		for _, k := range keys {
			if !have[k] {
				list = append(list, map[string]any{"Key": k, "Value": tags[k]})
			}
		}
		props["Tags"] = list
	}
	body, err := json.Marshal(root)
	if err != nil {
		return "", nil, errs.E(errs.Internal, "cannot encode the project's template", err)
	}
	tpl, err := template.Parse(body)
	if err != nil {
		return "", nil, err
	}
	var params []stacks.ParameterInput
	for _, q := range p.Parameters {
		params = append(params, stacks.ParameterInput{Key: q.Key, Value: q.Value})
	}
	if _, ok := tpl.Parameters[ParamProjectName]; ok {
		params = append(params, stacks.ParameterInput{Key: ParamProjectName, Value: p.Name})
	}
	if _, ok := tpl.Parameters[ParamProjectID]; ok {
		params = append(params, stacks.ParameterInput{Key: ParamProjectID, Value: p.ID})
	}
	return string(body), params, nil
}
