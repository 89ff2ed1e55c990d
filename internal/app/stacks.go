package app

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/logs"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/serving"
	"github.com/slipway-ml/slipway/internal/stacks"
)

// Stacks declares its resource providers in its own terms (package stacks, ports.go); the
// providers below create each resource type through the domain service that owns it, as the
// stack's role session (or its caller), so every resource a stack makes is authorized and
// audited like an API call.

// stacksService builds the stacks domain with its providers.
func (a *App) stacksService() {
	a.Stacks = stacks.NewService(stacks.Config{
		Store: a.Store.Stacks(), Authz: a.Identity, Roles: a.Identity, Sessions: a.Identity,
		Templates: templateSource{a}, OwnHost: a.ownS3Host,
		Providers: map[string]stacks.Provider{
			"AWS::SageMaker::Model":             modelProvider{a.Serving},
			"AWS::SageMaker::EndpointConfig":    configProvider{a.Serving},
			"AWS::SageMaker::Endpoint":          endpointProvider{a.Serving},
			"AWS::SageMaker::ModelPackageGroup": groupProvider{a.Registry},
			"AWS::IAM::Role":                    roleProvider{a.Identity},
			"AWS::S3::Bucket":                   bucketProvider{a},
			"AWS::Logs::LogGroup":               logGroupProvider{a.Logs},
			"AWS::CloudWatch::Alarm":            alarmProvider{a.Alarms},
			"AWS::SageMaker::Pipeline":          pipelineProvider{a},
			"AWS::Events::Rule":                 ruleProvider{a},
			"AWS::IAM::Policy":                  inlinePolicyProvider{a.Identity},
			"AWS::IAM::ManagedPolicy":           managedPolicyProvider{a.Identity},
			"AWS::S3::BucketPolicy":             bucketPolicyProvider{a},
			"AWS::CodeBuild::Project":           buildProjectProvider{a},
			"AWS::CodePipeline::Pipeline":       codePipelineProvider{a},
		},
		Region: a.cfg.Region, Now: a.now,
	})
}

// stacksRuntime builds the stack engine's runtime; stacks with an operation in progress resume.
func (a *App) stacksRuntime(ctx context.Context) (*reconcile.Runtime, error) {
	engine := stacks.NewEngine(stacks.EngineConfig{Service: a.Stacks, Store: a.Store.Stacks(), Sessions: a.Identity, Log: a.log})
	rt := reconcile.New(a.Store.Work(), stacks.WorkKind, engine, reconcile.Options{Workers: 8, Log: a.log})
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

// ---- property access: template values arrive as JSON values; numbers may be strings (a Ref
// to a Number parameter).

func propErr(r stacks.Request, key, want string) error {
	return errs.E(errs.Invalid, "Properties validation failed for resource %s with message: #/%s: expected %s", r.LogicalID, key, want)
}

func pStr(r stacks.Request, m map[string]any, key string) (string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", nil
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", propErr(r, key, "type: String")
}

func pNum(r stacks.Request, m map[string]any, key string, def float64) (float64, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return def, nil
	}
	switch x := v.(type) {
	case float64:
		return x, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f, nil
		}
	}
	return 0, propErr(r, key, "type: Number")
}

func pBool(r stacks.Request, m map[string]any, key string) (bool, error) {
	switch x := m[key].(type) {
	case nil:
		return false, nil
	case bool:
		return x, nil
	case string:
		if x == "true" || x == "false" {
			return x == "true", nil
		}
	}
	return false, propErr(r, key, "type: Boolean")
}

func pTags(r stacks.Request, m map[string]any) (map[string]string, error) {
	v, ok := m["Tags"]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, propErr(r, "Tags", "type: Array")
	}
	out := map[string]string{}
	for i, e := range l {
		t, ok := e.(map[string]any)
		k, ok1 := t["Key"].(string)
		val, ok2 := t["Value"].(string)
		if !ok || !ok1 || !ok2 {
			return nil, propErr(r, fmt.Sprintf("Tags/%d", i), "an object with string Key and Value")
		}
		out[k] = val
	}
	return out, nil
}

func pStringMap(r stacks.Request, m map[string]any, key string) (map[string]string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return nil, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, propErr(r, key, "type: Object")
	}
	out := map[string]string{}
	for k, e := range obj {
		s, err := pStr(r, obj, k)
		if err != nil || e == nil {
			return nil, propErr(r, key+"/"+k, "type: String")
		}
		out[k] = s
	}
	return out, nil
}

// pDocument reads a policy document given as an object (or as JSON text).
func pDocument(r stacks.Request, m map[string]any, key string) (string, error) {
	switch x := m[key].(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case map[string]any:
		b, err := json.Marshal(x)
		if err != nil {
			return "", propErr(r, key, "a JSON object")
		}
		return string(b), nil
	}
	return "", propErr(r, key, "a policy document")
}

// name is the resource's name: the property nameKey, or the name the engine chose.
func name(r stacks.Request, key string) (string, bool, error) {
	n, err := pStr(r, r.Properties, key)
	if err != nil {
		return "", false, err
	}
	if n != "" {
		return n, true, nil
	}
	return r.Name, false, nil
}

// physical is the resource's name for Check, Update and Delete.
func physical(r stacks.Request, key string) string {
	if r.PhysicalID != "" {
		return r.PhysicalID
	}
	n, _, _ := name(r, key)
	return n
}

// ours says whether a resource that exists already under the name is this stack's own earlier
// attempt: a name the engine chose, or any name when the engine retries a call whose outcome
// it did not record.
func ours(r stacks.Request, named bool) bool { return !named || r.Retry }

// adopt says whether a Conflict on create is this stack's own earlier attempt.
// SageMaker says so with a ValidationException ("Cannot create already existing …").
func adopt(r stacks.Request, err error, named bool) bool {
	exists := errs.Is(err, errs.Conflict) || errs.Is(err, errs.Invalid) && strings.Contains(errs.Message(err), "already exist")
	return exists && ours(r, named)
}

// changed reports whether any of keys differs between the requests' old and new properties.
func changed(old, new map[string]any, keys ...string) bool {
	for _, k := range keys {
		if !reflect.DeepEqual(old[k], new[k]) {
			return true
		}
	}
	return false
}

func done(id string, attrs map[string]any) stacks.Result {
	return stacks.Result{PhysicalID: id, Attributes: attrs, Done: true}
}

// ---- AWS::SageMaker::Model

type modelProvider struct{ s *serving.Service }

var _ stacks.Schema = modelProvider{}

func (modelProvider) Properties() ([]string, []string) {
	return []string{"ModelName", "ExecutionRoleArn", "PrimaryContainer", "Containers", "EnableNetworkIsolation", "Tags"}, []string{"ExecutionRoleArn"}
}

func container(r stacks.Request, key string, v any) (serving.Container, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return serving.Container{}, propErr(r, key, "type: Object")
	}
	for k := range m {
		switch k {
		case "Image", "ModelDataUrl", "Environment", "ModelPackageName", "ContainerHostname", "Mode":
		default:
			return serving.Container{}, errs.E(errs.Invalid, "Encountered unsupported property %s in %s of %s", k, key, r.LogicalID)
		}
	}
	var c serving.Container
	var err error
	if c.Image, err = pStr(r, m, "Image"); err != nil {
		return c, err
	}
	if c.ModelDataURL, err = pStr(r, m, "ModelDataUrl"); err != nil {
		return c, err
	}
	if c.ModelPackageName, err = pStr(r, m, "ModelPackageName"); err != nil {
		return c, err
	}
	if c.Environment, err = pStringMap(r, m, "Environment"); err != nil {
		return c, err
	}
	return c, nil
}

func (p modelProvider) Create(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	n, named, err := name(r, "ModelName")
	if err != nil {
		return stacks.Result{}, err
	}
	in := serving.CreateModelInput{Name: n}
	if in.ExecutionRoleARN, err = pStr(r, r.Properties, "ExecutionRoleArn"); err != nil {
		return stacks.Result{}, err
	}
	if in.EnableNetworkIsolation, err = pBool(r, r.Properties, "EnableNetworkIsolation"); err != nil {
		return stacks.Result{}, err
	}
	if in.Tags, err = pTags(r, r.Properties); err != nil {
		return stacks.Result{}, err
	}
	if v, ok := r.Properties["PrimaryContainer"]; ok {
		c, err := container(r, "PrimaryContainer", v)
		if err != nil {
			return stacks.Result{}, err
		}
		in.Primary = &c
	}
	if v, ok := r.Properties["Containers"]; ok {
		l, ok := v.([]any)
		if !ok {
			return stacks.Result{}, propErr(r, "Containers", "type: Array")
		}
		for i, e := range l {
			c, err := container(r, fmt.Sprintf("Containers/%d", i), e)
			if err != nil {
				return stacks.Result{}, err
			}
			in.Containers = append(in.Containers, c)
		}
	}
	m, err := p.s.CreateModel(ctx, r.Call, in)
	if adopt(r, err, named) {
		m, err = p.s.DescribeModel(ctx, r.Call, n)
	}
	if err != nil {
		return stacks.Result{}, err
	}
	return done(m.Name, map[string]any{"ModelName": m.Name, "Id": m.Name}), nil
}

func (p modelProvider) Check(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	return done(r.PhysicalID, map[string]any{"ModelName": r.PhysicalID, "Id": r.PhysicalID}), nil
}

// Replaces: a SageMaker model cannot change; every change makes a new one (tags aside).
func (modelProvider) Replaces(old, new map[string]any) bool {
	return changed(old, new, "ModelName", "ExecutionRoleArn", "PrimaryContainer", "Containers", "EnableNetworkIsolation")
}

func (modelProvider) Update(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	return stacks.Result{}, errs.E(errs.Invalid, "Update of resource type AWS::SageMaker::Model tags is not supported: change another property to replace the model")
}

func (p modelProvider) Delete(ctx context.Context, r stacks.Request) (bool, error) {
	err := p.s.DeleteModel(ctx, r.Call, physical(r, "ModelName"))
	if errs.Is(err, errs.NotFound) || isMissing(err) {
		return true, nil
	}
	return err == nil, err
}

// isMissing recognizes SageMaker's "Could not find …" refusals (a ValidationException, as
// SageMaker answers for a missing model, configuration or endpoint).
func isMissing(err error) bool {
	return err != nil && errs.Is(err, errs.Invalid) && strings.Contains(errs.Message(err), "Could not find")
}

// ---- AWS::SageMaker::EndpointConfig

type configProvider struct{ s *serving.Service }

var _ stacks.Schema = configProvider{}

func (configProvider) Properties() ([]string, []string) {
	return []string{"EndpointConfigName", "ProductionVariants", "DataCaptureConfig", "Tags", "KmsKeyId"}, []string{"ProductionVariants"}
}

func (p configProvider) Create(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	n, named, err := name(r, "EndpointConfigName")
	if err != nil {
		return stacks.Result{}, err
	}
	cfg := serving.Config{Name: n}
	if cfg.Tags, err = pTags(r, r.Properties); err != nil {
		return stacks.Result{}, err
	}
	if k, _ := pStr(r, r.Properties, "KmsKeyId"); k != "" {
		return stacks.Result{}, errs.E(errs.Invalid, "KmsKeyId is not supported by this server (no KMS)")
	}
	if dc, ok := r.Properties["DataCaptureConfig"]; ok {
		if m, ok := dc.(map[string]any); ok && m["InitialSamplingPercentage"] != nil {
			// A Ref to a Number parameter arrives as a string.
			n, err := pNum(r, m, "InitialSamplingPercentage", 0)
			if err != nil {
				return stacks.Result{}, propErr(r, "DataCaptureConfig/InitialSamplingPercentage", "type: Integer")
			}
			c := make(map[string]any, len(m))
			for k, v := range m {
				c[k] = v
			}
			c["InitialSamplingPercentage"] = n
			dc = c
		}
		b, err := json.Marshal(dc)
		if err != nil {
			return stacks.Result{}, propErr(r, "DataCaptureConfig", "type: Object")
		}
		cfg.DataCapture = b
	}
	vs, ok := r.Properties["ProductionVariants"].([]any)
	if !ok {
		return stacks.Result{}, propErr(r, "ProductionVariants", "type: Array")
	}
	for i, e := range vs {
		m, ok := e.(map[string]any)
		key := fmt.Sprintf("ProductionVariants/%d", i)
		if !ok {
			return stacks.Result{}, propErr(r, key, "type: Object")
		}
		for k := range m {
			switch k {
			case "VariantName", "ModelName", "InitialInstanceCount", "InstanceType", "InitialVariantWeight":
			default:
				return stacks.Result{}, errs.E(errs.Invalid, "Encountered unsupported property %s in %s of %s", k, key, r.LogicalID)
			}
		}
		var v serving.Variant
		if v.VariantName, err = pStr(r, m, "VariantName"); err != nil {
			return stacks.Result{}, err
		}
		if v.ModelName, err = pStr(r, m, "ModelName"); err != nil {
			return stacks.Result{}, err
		}
		if v.InstanceType, err = pStr(r, m, "InstanceType"); err != nil {
			return stacks.Result{}, err
		}
		count, err := pNum(r, m, "InitialInstanceCount", 1)
		if err != nil {
			return stacks.Result{}, err
		}
		if count != math.Trunc(count) || count < 0 || count > 1e6 {
			return stacks.Result{}, propErr(r, key+"/InitialInstanceCount", "an integer")
		}
		v.InitialInstanceCount = int(count)
		if v.InitialVariantWeight, err = pNum(r, m, "InitialVariantWeight", 1); err != nil {
			return stacks.Result{}, err
		}
		cfg.Variants = append(cfg.Variants, v)
	}
	c, err := p.s.CreateConfig(ctx, r.Call, cfg)
	if adopt(r, err, named) {
		c, err = p.s.DescribeConfig(ctx, r.Call, n)
	}
	if err != nil {
		return stacks.Result{}, err
	}
	return done(c.Name, map[string]any{"EndpointConfigName": c.Name, "Id": c.ARN}), nil
}

func (p configProvider) Check(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	return done(r.PhysicalID, map[string]any{"EndpointConfigName": r.PhysicalID}), nil
}

func (configProvider) Replaces(old, new map[string]any) bool {
	return changed(old, new, "EndpointConfigName", "ProductionVariants", "DataCaptureConfig", "KmsKeyId")
}

func (configProvider) Update(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	return stacks.Result{}, errs.E(errs.Invalid, "Update of AWS::SageMaker::EndpointConfig tags alone is not supported: change another property to replace the configuration")
}

func (p configProvider) Delete(ctx context.Context, r stacks.Request) (bool, error) {
	err := p.s.DeleteConfig(ctx, r.Call, physical(r, "EndpointConfigName"))
	if errs.Is(err, errs.NotFound) || isMissing(err) {
		return true, nil
	}
	return err == nil, err
}

// ---- AWS::SageMaker::Endpoint

type endpointProvider struct{ s *serving.Service }

var _ stacks.Schema = endpointProvider{}

// Properties: DeploymentConfig and the Retain* flags are accepted; an update deploys the new
// configuration next to the old one and swaps only once every instance is healthy (serving's
// safe update), which is what a blue/green DeploymentConfig asks for.
func (endpointProvider) Properties() ([]string, []string) {
	return []string{"EndpointName", "EndpointConfigName", "Tags", "DeploymentConfig", "RetainAllVariantProperties",
		"RetainDeploymentConfig", "ExcludeRetainedVariantProperties"}, []string{"EndpointConfigName"}
}

func endpointName(r stacks.Request) string {
	if r.PhysicalID != "" {
		if a, err := arn.Parse(r.PhysicalID); err == nil {
			return strings.TrimPrefix(a.Resource, "endpoint/")
		}
	}
	n, _, _ := name(r, "EndpointName")
	return n
}

func (p endpointProvider) Create(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	n, named, err := name(r, "EndpointName")
	if err != nil {
		return stacks.Result{}, err
	}
	cfg, err := pStr(r, r.Properties, "EndpointConfigName")
	if err != nil {
		return stacks.Result{}, err
	}
	tags, err := pTags(r, r.Properties)
	if err != nil {
		return stacks.Result{}, err
	}
	if _, err := deploymentPolicy(r); err != nil {
		return stacks.Result{}, err // checked now; it governs the endpoint's updates
	}
	e, err := p.s.CreateEndpoint(ctx, r.Call, n, cfg, tags)
	if adopt(r, err, named) {
		e, err = p.s.DescribeEndpoint(ctx, r.Call, n)
	}
	if err != nil {
		return stacks.Result{}, err
	}
	return stacks.Result{PhysicalID: e.ARN, Attributes: map[string]any{"EndpointName": e.Name, "Id": e.ARN}}, nil
}

// Check: InService on the asked configuration is done; Failed is the resource's failure.
func (p endpointProvider) Check(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	e, err := p.s.DescribeEndpoint(ctx, r.Call, endpointName(r))
	if err != nil {
		return stacks.Result{}, err
	}
	attrs := map[string]any{"EndpointName": e.Name, "Id": e.ARN}
	want, _ := pStr(r, r.Properties, "EndpointConfigName")
	switch e.Status {
	case serving.InService:
		if want != "" && !strings.EqualFold(e.ConfigName, want) {
			return stacks.Result{}, errs.E(errs.Invalid, "Endpoint %s could not move to configuration %s: %s", e.Name, want, e.FailureReason)
		}
		return done(e.ARN, attrs), nil
	case serving.Failed:
		return stacks.Result{}, errs.E(errs.Invalid, "Endpoint %s failed: %s", e.Name, e.FailureReason)
	}
	return stacks.Result{PhysicalID: e.ARN, Attributes: attrs}, nil
}

func (endpointProvider) Replaces(old, new map[string]any) bool {
	return changed(old, new, "EndpointName")
}

// Update moves the endpoint to its new configuration (UpdateEndpoint).
func (p endpointProvider) Update(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	cfg, err := pStr(r, r.Properties, "EndpointConfigName")
	if err != nil {
		return stacks.Result{}, err
	}
	retain, err := pBool(r, r.Properties, "RetainAllVariantProperties")
	if err != nil {
		return stacks.Result{}, err
	}
	policy, err := deploymentPolicy(r)
	if err != nil {
		return stacks.Result{}, err
	}
	retainPolicy, err := pBool(r, r.Properties, "RetainDeploymentConfig")
	if err != nil {
		return stacks.Result{}, err
	}
	if old, _ := pStr(r, r.Old, "EndpointConfigName"); strings.EqualFold(old, cfg) {
		if changed(r.Old, r.Properties, "Tags") {
			return stacks.Result{}, errs.E(errs.Invalid, "Only EndpointConfigName changes of AWS::SageMaker::Endpoint are applied in place; this update changes its tags alone")
		}
		// DeploymentConfig and the Retain* flags govern the next change of configuration.
		return p.Check(ctx, r)
	}
	e, err := p.s.UpdateEndpoint(ctx, r.Call, endpointName(r), serving.UpdateInput{ConfigName: cfg, RetainVariantProperties: retain,
		Policy: policy, RetainPolicy: retainPolicy})
	if err != nil {
		return stacks.Result{}, err
	}
	return stacks.Result{PhysicalID: e.ARN, Attributes: map[string]any{"EndpointName": e.Name, "Id": e.ARN}}, nil
}

func (p endpointProvider) Delete(ctx context.Context, r stacks.Request) (bool, error) {
	n := endpointName(r)
	e, err := p.s.DescribeEndpoint(ctx, r.Call, n)
	if errs.Is(err, errs.NotFound) || isMissing(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if e.Status == serving.Deleting {
		return false, nil
	}
	if e.Status == serving.Creating || e.Status == serving.Updating {
		return false, nil // SageMaker deletes an endpoint only once it settles
	}
	if err := p.s.DeleteEndpoint(ctx, r.Call, n); err != nil && !errs.Is(err, errs.NotFound) && !isMissing(err) {
		return false, err
	}
	return false, nil
}

// ---- AWS::SageMaker::ModelPackageGroup

type groupProvider struct{ r *registry.Service }

var _ stacks.Schema = groupProvider{}

func (groupProvider) Properties() ([]string, []string) {
	return []string{"ModelPackageGroupName", "ModelPackageGroupDescription", "ModelPackageGroupPolicy", "Tags"}, nil
}

func (p groupProvider) call(r stacks.Request) registry.Call {
	return registry.Call{Caller: r.Call.Caller, Context: r.Call.Context}
}

func groupAttrs(g registry.Group) map[string]any {
	return map[string]any{"ModelPackageGroupArn": g.ARN, "ModelPackageGroupName": g.Name,
		"CreationTime": g.CreatedAt.UTC().Format(time.RFC3339), "ModelPackageGroupStatus": g.Status}
}

func (p groupProvider) Create(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	n, named, err := name(r, "ModelPackageGroupName")
	if err != nil {
		return stacks.Result{}, err
	}
	desc, err := pStr(r, r.Properties, "ModelPackageGroupDescription")
	if err != nil {
		return stacks.Result{}, err
	}
	tags, err := pTags(r, r.Properties)
	if err != nil {
		return stacks.Result{}, err
	}
	policy, err := pDocument(r, r.Properties, "ModelPackageGroupPolicy")
	if err != nil {
		return stacks.Result{}, err
	}
	g, err := p.r.CreateGroup(ctx, p.call(r), n, desc, tags)
	if ours(r, named) && (errs.Is(err, errs.Conflict) || errs.Is(err, errs.Invalid) && strings.Contains(errs.Message(err), "already exists")) {
		g, err = p.r.DescribeGroup(ctx, p.call(r), n)
	}
	if err != nil {
		return stacks.Result{}, err
	}
	if policy != "" {
		if err := p.r.PutGroupPolicy(ctx, p.call(r), g.Name, policy); err != nil {
			return stacks.Result{}, undo(ctx, err, func(ctx context.Context) error {
				err := p.r.DeleteGroup(ctx, p.call(r), g.Name)
				if errs.Is(err, errs.NotFound) {
					return nil
				}
				return err
			})
		}
	}
	return done(g.ARN, groupAttrs(g)), nil
}

func groupName(r stacks.Request) string {
	if a, err := arn.Parse(r.PhysicalID); err == nil {
		return strings.TrimPrefix(a.Resource, "model-package-group/")
	}
	return physical(r, "ModelPackageGroupName")
}

func (p groupProvider) Check(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	g, err := p.r.DescribeGroup(ctx, p.call(r), groupName(r))
	if err != nil {
		return stacks.Result{}, err
	}
	return done(g.ARN, groupAttrs(g)), nil
}

func (groupProvider) Replaces(old, new map[string]any) bool {
	return changed(old, new, "ModelPackageGroupName", "ModelPackageGroupDescription", "Tags")
}

// Update applies a changed group policy.
func (p groupProvider) Update(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	policy, err := pDocument(r, r.Properties, "ModelPackageGroupPolicy")
	if err != nil {
		return stacks.Result{}, err
	}
	n := groupName(r)
	if policy == "" {
		err = p.r.DeleteGroupPolicy(ctx, p.call(r), n)
	} else {
		err = p.r.PutGroupPolicy(ctx, p.call(r), n, policy)
	}
	if err != nil {
		return stacks.Result{}, err
	}
	return p.Check(ctx, r)
}

func (p groupProvider) Delete(ctx context.Context, r stacks.Request) (bool, error) {
	err := p.r.DeleteGroup(ctx, p.call(r), groupName(r))
	if errs.Is(err, errs.NotFound) {
		return true, nil
	}
	return err == nil, err
}

// ---- AWS::IAM::Role

type roleProvider struct{ id *identity.Service }

var _ stacks.Schema = roleProvider{}

func (roleProvider) Properties() ([]string, []string) {
	return []string{"RoleName", "AssumeRolePolicyDocument", "Path", "Description", "MaxSessionDuration", "Policies", "ManagedPolicyArns", "Tags"},
		[]string{"AssumeRolePolicyDocument"}
}

type inline struct{ name, doc string }

func rolePolicies(r stacks.Request, m map[string]any) ([]inline, []string, error) {
	var out []inline
	if v, ok := m["Policies"]; ok && v != nil {
		l, ok := v.([]any)
		if !ok {
			return nil, nil, propErr(r, "Policies", "type: Array")
		}
		for i, e := range l {
			pm, ok := e.(map[string]any)
			if !ok {
				return nil, nil, propErr(r, fmt.Sprintf("Policies/%d", i), "type: Object")
			}
			n, err := pStr(r, pm, "PolicyName")
			if err != nil {
				return nil, nil, err
			}
			doc, err := pDocument(r, pm, "PolicyDocument")
			if err != nil {
				return nil, nil, err
			}
			out = append(out, inline{n, doc})
		}
	}
	var managed []string
	if v, ok := m["ManagedPolicyArns"]; ok && v != nil {
		l, ok := v.([]any)
		if !ok {
			return nil, nil, propErr(r, "ManagedPolicyArns", "type: Array")
		}
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, nil, propErr(r, fmt.Sprintf("ManagedPolicyArns/%d", i), "type: String")
			}
			managed = append(managed, s)
		}
	}
	return out, managed, nil
}

func roleAttrs(p identity.Principal) map[string]any {
	return map[string]any{"Arn": p.ARN, "RoleId": p.ID}
}

func (p roleProvider) Create(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	n, named, err := name(r, "RoleName")
	if err != nil {
		return stacks.Result{}, err
	}
	if len(n) > 64 {
		n = n[:52] + n[len(n)-12:]
	}
	spec := identity.RoleSpec{Name: n}
	if spec.TrustPolicy, err = pDocument(r, r.Properties, "AssumeRolePolicyDocument"); err != nil {
		return stacks.Result{}, err
	}
	if spec.Path, err = pStr(r, r.Properties, "Path"); err != nil {
		return stacks.Result{}, err
	}
	if spec.Description, err = pStr(r, r.Properties, "Description"); err != nil {
		return stacks.Result{}, err
	}
	d, err := pNum(r, r.Properties, "MaxSessionDuration", 0)
	if err != nil {
		return stacks.Result{}, err
	}
	spec.MaxSessionDuration = int(d)
	if spec.Tags, err = pTags(r, r.Properties); err != nil {
		return stacks.Result{}, err
	}
	policies, managed, err := rolePolicies(r, r.Properties)
	if err != nil {
		return stacks.Result{}, err
	}
	role, err := p.id.CreateRole(ctx, r.Call, spec)
	if adopt(r, err, named) {
		role, err = p.id.DescribePrincipal(ctx, r.Call, identity.KindRole, n)
	}
	if err != nil {
		return stacks.Result{}, err
	}
	unmake := func(err error) error {
		r.PhysicalID = role.Name
		return undo(ctx, err, func(ctx context.Context) error { _, err := p.Delete(ctx, r); return err })
	}
	for _, pol := range policies {
		if err := p.id.PutInlinePolicy(ctx, r.Call, identity.KindRole, role.Name, pol.name, pol.doc); err != nil {
			return stacks.Result{}, unmake(err)
		}
	}
	for _, m := range managed {
		if err := p.id.Attach(ctx, r.Call, identity.KindRole, role.Name, m); err != nil && !errs.Is(err, errs.Conflict) {
			return stacks.Result{}, unmake(err)
		}
	}
	return done(role.Name, roleAttrs(role)), nil
}

func (p roleProvider) Check(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	role, err := p.id.DescribePrincipal(ctx, r.Call, identity.KindRole, r.PhysicalID)
	if err != nil {
		return stacks.Result{}, err
	}
	return done(role.Name, roleAttrs(role)), nil
}

func (roleProvider) Replaces(old, new map[string]any) bool {
	return changed(old, new, "RoleName", "Path", "AssumeRolePolicyDocument", "Description", "MaxSessionDuration", "Tags")
}

// Update brings the role's inline and managed policies to the template's.
func (p roleProvider) Update(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	want, managed, err := rolePolicies(r, r.Properties)
	if err != nil {
		return stacks.Result{}, err
	}
	role := r.PhysicalID
	have, err := p.id.InlinePolicies(ctx, r.Call, identity.KindRole, role)
	if err != nil {
		return stacks.Result{}, err
	}
	keep := map[string]bool{}
	for _, pol := range want {
		keep[pol.name] = true
		if err := p.id.PutInlinePolicy(ctx, r.Call, identity.KindRole, role, pol.name, pol.doc); err != nil {
			return stacks.Result{}, err
		}
	}
	for _, pol := range have {
		if !keep[pol.Name] {
			if err := p.id.DeleteInlinePolicy(ctx, r.Call, identity.KindRole, role, pol.Name); err != nil && !errs.Is(err, errs.NotFound) {
				return stacks.Result{}, err
			}
		}
	}
	attached, err := p.id.Attached(ctx, r.Call, identity.KindRole, role)
	if err != nil {
		return stacks.Result{}, err
	}
	wantManaged := map[string]bool{}
	for _, m := range managed {
		wantManaged[m] = true
		if err := p.id.Attach(ctx, r.Call, identity.KindRole, role, m); err != nil && !errs.Is(err, errs.Conflict) {
			return stacks.Result{}, err
		}
	}
	for _, m := range attached {
		if !wantManaged[m.ARN] {
			if err := p.id.Detach(ctx, r.Call, identity.KindRole, role, m.ARN); err != nil && !errs.Is(err, errs.NotFound) {
				return stacks.Result{}, err
			}
		}
	}
	return p.Check(ctx, r)
}

// Delete removes the role's policies, then the role.
func (p roleProvider) Delete(ctx context.Context, r stacks.Request) (bool, error) {
	role := physical(r, "RoleName")
	have, err := p.id.InlinePolicies(ctx, r.Call, identity.KindRole, role)
	if errs.Is(err, errs.NotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	for _, pol := range have {
		if err := p.id.DeleteInlinePolicy(ctx, r.Call, identity.KindRole, role, pol.Name); err != nil && !errs.Is(err, errs.NotFound) {
			return false, err
		}
	}
	attached, err := p.id.Attached(ctx, r.Call, identity.KindRole, role)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return false, err
	}
	for _, m := range attached {
		if err := p.id.Detach(ctx, r.Call, identity.KindRole, role, m.ARN); err != nil && !errs.Is(err, errs.NotFound) {
			return false, err
		}
	}
	err = p.id.DeletePrincipal(ctx, r.Call, identity.KindRole, role)
	if errs.Is(err, errs.NotFound) {
		return true, nil
	}
	return err == nil, err
}

// ---- AWS::S3::Bucket

type bucketProvider struct{ a *App }

var _ stacks.Schema = bucketProvider{}

func (bucketProvider) Properties() ([]string, []string) { return []string{"BucketName", "Tags"}, nil }

func bucketAttrs(region, b string) map[string]any {
	return map[string]any{"Arn": arn.S3Bucket(b), "DomainName": b + ".s3.amazonaws.com",
		"RegionalDomainName": b + ".s3." + region + ".amazonaws.com", "WebsiteURL": "http://" + b + ".s3-website-" + region + ".amazonaws.com"}
}

func (p bucketProvider) Create(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	n, named, err := name(r, "BucketName")
	if err != nil {
		return stacks.Result{}, err
	}
	if !named {
		n = strings.ToLower(n)
	}
	if _, err := pTags(r, r.Properties); err != nil {
		return stacks.Result{}, err
	}
	_, err = p.a.Artifacts.CreateBucket(ctx, r.Call.Caller, n, "")
	if err != nil && !(errs.CodeOf(err) == "BucketAlreadyOwnedByYou" && ours(r, named)) {
		return stacks.Result{}, err
	}
	return done(n, bucketAttrs(p.a.cfg.Region, n)), nil
}

func (p bucketProvider) Check(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	return done(r.PhysicalID, bucketAttrs(p.a.cfg.Region, r.PhysicalID)), nil
}

func (bucketProvider) Replaces(old, new map[string]any) bool { return changed(old, new, "BucketName") }

// Update: tags are accepted and not kept (the artifact store has no bucket tags).
func (p bucketProvider) Update(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	return p.Check(ctx, r)
}

// Delete deletes the bucket; one that holds objects fails, as in CloudFormation.
func (p bucketProvider) Delete(ctx context.Context, r stacks.Request) (bool, error) {
	n := r.PhysicalID
	if n == "" {
		var named bool
		n, named, _ = name(r, "BucketName")
		if !named {
			n = strings.ToLower(n)
		}
	}
	err := p.a.Artifacts.DeleteBucket(ctx, r.Call.Caller, n)
	if errs.Is(err, errs.NotFound) {
		return true, nil
	}
	return err == nil, err
}

// ---- AWS::Logs::LogGroup

type logGroupProvider struct{ l *logs.Service }

var _ stacks.Schema = logGroupProvider{}

func (logGroupProvider) Properties() ([]string, []string) { return []string{"LogGroupName"}, nil }

func (p logGroupProvider) call(r stacks.Request) logs.Call {
	return logs.Call{Caller: r.Call.Caller, Context: r.Call.Context}
}

func (p logGroupProvider) Create(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	n, named, err := name(r, "LogGroupName")
	if err != nil {
		return stacks.Result{}, err
	}
	g, err := p.l.CreateGroup(ctx, p.call(r), n)
	if adopt(r, err, named) {
		return done(n, map[string]any{"Arn": p.l.GroupARN(r.Call.Caller.Account, n) + ":*"}), nil
	}
	if err != nil {
		return stacks.Result{}, err
	}
	return done(g.Name, map[string]any{"Arn": p.l.GroupARN(r.Call.Caller.Account, g.Name) + ":*"}), nil
}

func (p logGroupProvider) Check(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	return done(r.PhysicalID, map[string]any{"Arn": p.l.GroupARN(r.Call.Caller.Account, r.PhysicalID) + ":*"}), nil
}

func (logGroupProvider) Replaces(old, new map[string]any) bool {
	return changed(old, new, "LogGroupName")
}

func (p logGroupProvider) Update(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	return p.Check(ctx, r)
}

func (p logGroupProvider) Delete(ctx context.Context, r stacks.Request) (bool, error) {
	err := p.l.DeleteGroup(ctx, p.call(r), physical(r, "LogGroupName"))
	if errs.Is(err, errs.NotFound) {
		return true, nil
	}
	return err == nil, err
}
