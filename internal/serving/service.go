package serving

import (
	"context"
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/inference"
	"github.com/slipway-ml/slipway/internal/jobs"
	"github.com/slipway-ml/slipway/internal/randid"
)

// WorkKind is the reconcile kind of the endpoint engine; its keys are endpoint ARNs.
const WorkKind = "endpoints"

// ServicePrincipal is the service a model's execution role is passed to, and the engine's
// name when it acts as the role (the role's trust policy must allow it to sts:AssumeRole).
const ServicePrincipal = "sagemaker.amazonaws.com"

// EventSource and EventDetailType name the endpoints' state change events.
const (
	EventSource     = "aws.sagemaker"
	EventDetailType = "SageMaker Endpoint State Change"
)

// Limits.
const (
	MaxVariants  = 10 // production variants of one configuration (SageMaker's limit)
	MaxInstances = 16 // instances of one variant on this server (more: ResourceLimitExceeded)
	maxEnv       = 100
)

var (
	nameRE   = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9])*$`) // and at most 63 bytes
	envKeyRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// Service is serving's API: models, endpoint configurations, endpoints and invocations.
type Service struct {
	store     *cachingStore
	authz     Authorizer
	roles     RolePasser
	sessions  Sessions
	artifacts Artifacts
	packages  Packages
	fleet     Fleet
	metrics   Meter
	capturer  *Capturer
	captures  sync.Map // endpoint ARN → *captureState (capture.go)
	region    string
	now       func() time.Time
}

// Config of a Service. Packages may be nil (CreateModel from a model package is then refused);
// Fleet may be nil (InvokeEndpoint then fails: nothing is deployed).
type ServiceConfig struct {
	Store     Store
	Authz     Authorizer
	Roles     RolePasser
	Sessions  Sessions
	Artifacts Artifacts
	Packages  Packages
	Fleet     Fleet
	Meter     Meter // may be nil: invocations are then not counted
	// Capture writes data capture (capture.go); nil: DataCaptureConfig is stored, nothing captured.
	Capture *Capturer
	Region  string
	Now     func() time.Time
}

// NewService returns a Service.
func NewService(c ServiceConfig) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Service{store: newCachingStore(c.Store), authz: c.Authz, roles: c.Roles, sessions: c.Sessions, artifacts: c.Artifacts,
		packages: c.Packages, fleet: c.Fleet, metrics: c.Meter, capturer: c.Capture, region: c.Region, now: c.Now}
}

// ModelARN, ConfigARN and EndpointARN name the resources.
func (s *Service) ModelARN(account, name string) string {
	return arn.SageMaker(s.region, account, "model", strings.ToLower(name))
}

// ConfigARN returns the ARN of an endpoint configuration.
func (s *Service) ConfigARN(account, name string) string {
	return arn.SageMaker(s.region, account, "endpoint-config", strings.ToLower(name))
}

// EndpointARN returns the ARN of an endpoint.
func (s *Service) EndpointARN(account, name string) string {
	return arn.SageMaker(s.region, account, "endpoint", strings.ToLower(name))
}

// ParseEndpointKey reads an endpoint's work item key (its ARN) back into account and name.
// The name is lower case, as in the ARN; the store finds the endpoint by it.
func ParseEndpointKey(key string) (account, name string, ok bool) {
	a, err := arn.Parse(key)
	if err != nil || a.Service != "sagemaker" {
		return "", "", false
	}
	n, found := strings.CutPrefix(a.Resource, "endpoint/")
	return a.Account, n, found && validName(n)
}

func validName(n string) bool { return len(n) <= 63 && nameRE.MatchString(n) }

func invalid(format string, args ...any) error { return errs.E(errs.Invalid, format, args...) }

func checkName(what, n string) error {
	if !validName(n) {
		return invalid("%s %q must be 1 to 63 letters, digits and hyphens, starting and ending with a letter or digit (pattern ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})", what, n)
	}
	return nil
}

func (s *Service) authorize(ctx context.Context, c identity.Call, op, resource string) error {
	_, err := s.authz.Authorize(ctx, c.Caller, identity.Action{
		Name: "sagemaker:" + op, Resource: resource, ResourceAccount: c.Caller.Account, Context: c.Context,
	})
	return err
}

// withRequestTags adds aws:RequestTag/* and aws:TagKeys for a request that sets tags.
func withRequestTags(c identity.Call, tags map[string]string) identity.Call {
	if len(tags) == 0 {
		return c
	}
	keys := make(map[string][]string, len(c.Context.Keys)+len(tags)+1)
	for k, v := range c.Context.Keys {
		keys[k] = v
	}
	names := make([]string, 0, len(tags))
	for k, v := range tags {
		keys["aws:RequestTag/"+k] = []string{v}
		names = append(names, k)
	}
	sort.Strings(names)
	keys["aws:TagKeys"] = names
	c.Context.Keys = keys
	return c
}

// ---- models

// CreateModelInput is a CreateModel request.
type CreateModelInput struct {
	Name                   string
	ExecutionRoleARN       string
	Primary                *Container
	Containers             []Container
	Tags                   map[string]string
	EnableNetworkIsolation bool
}

func checkContainer(field string, c Container) error {
	if c.ModelPackageName != "" {
		if c.Image != "" || c.ModelDataURL != "" {
			return invalid("%s: give either ModelPackageName or Image and ModelDataUrl, not both", field)
		}
	} else if c.Image == "" {
		return invalid("%s.Image is required (or ModelPackageName)", field)
	}
	if c.ModelDataURL != "" {
		if _, err := jobs.ParseS3URI(field+".ModelDataUrl", c.ModelDataURL); err != nil {
			return err
		}
	}
	if len(c.Environment) > maxEnv {
		return invalid("%s.Environment has %d entries; at most %d are allowed", field, len(c.Environment), maxEnv)
	}
	for k, v := range c.Environment {
		if len(k) > 1024 || !envKeyRE.MatchString(k) {
			return invalid("%s.Environment key %q must be letters, digits and underscores, not starting with a digit", field, k)
		}
		if len(v) > 1024 {
			return invalid("%s.Environment value of %s is longer than 1024 characters", field, k)
		}
	}
	return nil
}

// CreateModel validates a model, authorizes it (sagemaker:CreateModel on the model and
// iam:PassRole of its execution role to SageMaker), resolves model packages (possibly of
// another account: the package group's policy must grant this one), checks that the
// execution role may read every artifact, and stores it.
func (s *Service) CreateModel(ctx context.Context, c identity.Call, in CreateModelInput) (Model, error) {
	if err := checkName("ModelName", in.Name); err != nil {
		return Model{}, err
	}
	if (in.Primary == nil) == (len(in.Containers) == 0) {
		return Model{}, invalid("give exactly one of PrimaryContainer and Containers")
	}
	if len(in.Containers) > 15 {
		return Model{}, invalid("Containers has %d entries; at most 15 are allowed", len(in.Containers))
	}
	if in.ExecutionRoleARN == "" {
		return Model{}, invalid("ExecutionRoleArn is required: the model's artifact is read as this role")
	}
	if _, err := arn.ParseIAM(in.ExecutionRoleARN); err != nil {
		return Model{}, invalid("ExecutionRoleArn %q is not an IAM role ARN", in.ExecutionRoleARN)
	}
	m := Model{Account: c.Caller.Account, Name: in.Name, ExecutionRoleARN: in.ExecutionRoleARN, Tags: in.Tags,
		CreatedAt: s.now(), EnableNetworkIsolation: in.EnableNetworkIsolation}
	m.ARN = s.ModelARN(m.Account, m.Name)
	var cs []*Container
	if in.Primary != nil {
		p := *in.Primary
		m.Primary = &p
		cs = append(cs, m.Primary)
		if err := checkContainer("PrimaryContainer", p); err != nil {
			return Model{}, err
		}
	}
	m.Containers = append([]Container(nil), in.Containers...)
	for i := range m.Containers {
		if err := checkContainer("Containers["+itoa(i)+"]", m.Containers[i]); err != nil {
			return Model{}, err
		}
		cs = append(cs, &m.Containers[i])
	}
	if err := s.authorize(ctx, withRequestTags(c, m.Tags), "CreateModel", m.ARN); err != nil {
		return Model{}, err
	}
	if _, err := s.roles.PassRole(ctx, c, m.ExecutionRoleARN, ServicePrincipal); err != nil {
		return Model{}, err
	}
	for _, ct := range cs {
		if ct.ModelPackageName == "" {
			continue
		}
		if s.packages == nil {
			return Model{}, invalid("ModelPackageName %q: model packages cannot be resolved on this server", ct.ModelPackageName)
		}
		p, err := s.packages.PackageContainer(ctx, c, ct.ModelPackageName)
		if err != nil {
			return Model{}, err
		}
		ct.Image, ct.ModelDataURL = p.Image, p.ModelDataURL
		env := map[string]string{}
		for k, v := range p.Environment {
			env[k] = v
		}
		for k, v := range ct.Environment {
			env[k] = v
		}
		if len(env) > 0 {
			ct.Environment = env
		}
	}
	if err := s.checkArtifacts(ctx, m, cs); err != nil {
		return Model{}, err
	}
	err := s.store.Update(ctx, func(tx Tx) error { return tx.InsertModel(ctx, m) })
	if errs.Is(err, errs.Conflict) {
		return Model{}, invalid("Cannot create already existing model %q.", m.ARN)
	}
	if err != nil {
		return Model{}, err
	}
	return m, nil
}

// checkArtifacts reads the start of every artifact as the execution role: a role that may not
// read it, or an artifact that is not there, refuses the model now rather than the endpoint later.
func (s *Service) checkArtifacts(ctx context.Context, m Model, cs []*Container) error {
	var caller identity.Caller
	for _, ct := range cs {
		if ct.ModelDataURL == "" {
			continue
		}
		u, err := jobs.ParseS3URI("ModelDataUrl", ct.ModelDataURL)
		if err != nil {
			return err
		}
		if caller.ARN == "" {
			if caller, err = s.sessions.EngineSession(ctx, m.ExecutionRoleARN, ServicePrincipal); err != nil {
				return errs.E(errs.AccessDenied, "SageMaker cannot act as the execution role %s: %s", m.ExecutionRoleARN, errs.Message(err))
			}
		}
		body, err := s.artifacts.GetObject(ctx, caller, u.Bucket, u.Key)
		switch {
		case errs.Is(err, errs.AccessDenied):
			return errs.E(errs.AccessDenied, "The execution role %s may not read the model data at %s: %s", m.ExecutionRoleARN, ct.ModelDataURL, errs.Message(err))
		case errs.Is(err, errs.NotFound):
			return invalid("Could not find model data at %s.", ct.ModelDataURL)
		case err != nil:
			return err
		}
		body.Close()
	}
	return nil
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func modelMissing(s *Service, account, name string) error {
	return errs.E(errs.NotFound, "Could not find model %q.", s.ModelARN(account, name))
}

// DescribeModel returns a model of the caller's account.
func (s *Service) DescribeModel(ctx context.Context, c identity.Call, name string) (Model, error) {
	if err := checkName("ModelName", name); err != nil {
		return Model{}, err
	}
	if err := s.authorize(ctx, c, "DescribeModel", s.ModelARN(c.Caller.Account, name)); err != nil {
		return Model{}, err
	}
	m, err := s.store.GetModel(ctx, c.Caller.Account, name)
	if errs.Is(err, errs.NotFound) {
		return Model{}, modelMissing(s, c.Caller.Account, name)
	}
	return m, err
}

func checkQuery(q Query, sorts ...string) error {
	if q.SortBy != "" {
		ok := false
		for _, v := range sorts {
			ok = ok || v == q.SortBy
		}
		if !ok {
			return invalid("SortBy %q must be one of %s", q.SortBy, strings.Join(sorts, ", "))
		}
	}
	if q.Status != "" && !q.Status.Valid() {
		return invalid("StatusEquals %q is not an endpoint status", q.Status)
	}
	return nil
}

// ListModels lists the caller's models.
func (s *Service) ListModels(ctx context.Context, c identity.Call, q Query) ([]Model, error) {
	if err := checkQuery(q, "Name", "CreationTime"); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, "ListModels", "*"); err != nil {
		return nil, err
	}
	return s.store.ListModels(ctx, c.Caller.Account, q)
}

// DeleteModel deletes a model of the caller's account. Endpoints deployed from it keep serving.
func (s *Service) DeleteModel(ctx context.Context, c identity.Call, name string) error {
	if err := checkName("ModelName", name); err != nil {
		return err
	}
	if err := s.authorize(ctx, c, "DeleteModel", s.ModelARN(c.Caller.Account, name)); err != nil {
		return err
	}
	err := s.store.Update(ctx, func(tx Tx) error { return tx.DeleteModel(ctx, c.Caller.Account, name) })
	if errs.Is(err, errs.NotFound) {
		return modelMissing(s, c.Caller.Account, name)
	}
	return err
}

// ---- endpoint configurations

// CreateConfig validates an endpoint configuration (every variant's model must exist in the
// caller's account), authorizes it and stores it.
func (s *Service) CreateConfig(ctx context.Context, c identity.Call, cfg Config) (Config, error) {
	if err := checkName("EndpointConfigName", cfg.Name); err != nil {
		return Config{}, err
	}
	if len(cfg.Variants) == 0 || len(cfg.Variants) > MaxVariants {
		return Config{}, invalid("ProductionVariants must hold 1 to %d variants; it holds %d", MaxVariants, len(cfg.Variants))
	}
	cfg.Account, cfg.ARN, cfg.CreatedAt = c.Caller.Account, s.ConfigARN(c.Caller.Account, cfg.Name), s.now()
	seen := map[string]bool{}
	for i := range cfg.Variants {
		v := &cfg.Variants[i]
		if err := checkName("VariantName", v.VariantName); err != nil {
			return Config{}, err
		}
		if seen[strings.ToLower(v.VariantName)] {
			return Config{}, invalid("VariantName %q appears more than once", v.VariantName)
		}
		seen[strings.ToLower(v.VariantName)] = true
		if err := checkName("ModelName", v.ModelName); err != nil {
			return Config{}, err
		}
		if v.InitialInstanceCount < 1 {
			return Config{}, invalid("variant %s: InitialInstanceCount must be at least 1 (serverless variants are not supported)", v.VariantName)
		}
		if v.InitialInstanceCount > MaxInstances {
			return Config{}, errs.E(errs.LimitExceeded, "variant %s: InitialInstanceCount %d is more than the %d instances a variant may have on this server", v.VariantName, v.InitialInstanceCount, MaxInstances)
		}
		if v.InstanceType == "" {
			return Config{}, invalid("variant %s: InstanceType is required", v.VariantName)
		}
		if v.InitialVariantWeight < 0 {
			return Config{}, invalid("variant %s: InitialVariantWeight must not be negative", v.VariantName)
		}
	}
	if _, err := ParseCaptureConfig(cfg.DataCapture); err != nil {
		return Config{}, err
	}
	if err := s.authorize(ctx, withRequestTags(c, cfg.Tags), "CreateEndpointConfig", cfg.ARN); err != nil {
		return Config{}, err
	}
	for _, v := range cfg.Variants {
		if _, err := s.store.GetModel(ctx, cfg.Account, v.ModelName); errs.Is(err, errs.NotFound) {
			return Config{}, invalid("Could not find model %q.", s.ModelARN(cfg.Account, v.ModelName))
		} else if err != nil {
			return Config{}, err
		}
	}
	err := s.store.Update(ctx, func(tx Tx) error { return tx.InsertConfig(ctx, cfg) })
	if errs.Is(err, errs.Conflict) {
		return Config{}, invalid("Cannot create already existing endpoint configuration %q.", cfg.ARN)
	}
	if err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func configMissing(s *Service, account, name string) error {
	return errs.E(errs.NotFound, "Could not find endpoint configuration %q.", s.ConfigARN(account, name))
}

// DescribeConfig returns an endpoint configuration of the caller's account.
func (s *Service) DescribeConfig(ctx context.Context, c identity.Call, name string) (Config, error) {
	if err := checkName("EndpointConfigName", name); err != nil {
		return Config{}, err
	}
	if err := s.authorize(ctx, c, "DescribeEndpointConfig", s.ConfigARN(c.Caller.Account, name)); err != nil {
		return Config{}, err
	}
	cfg, err := s.store.GetConfig(ctx, c.Caller.Account, name)
	if errs.Is(err, errs.NotFound) {
		return Config{}, configMissing(s, c.Caller.Account, name)
	}
	return cfg, err
}

// ListConfigs lists the caller's endpoint configurations.
func (s *Service) ListConfigs(ctx context.Context, c identity.Call, q Query) ([]Config, error) {
	if err := checkQuery(q, "Name", "CreationTime"); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, "ListEndpointConfigs", "*"); err != nil {
		return nil, err
	}
	return s.store.ListConfigs(ctx, c.Caller.Account, q)
}

// DeleteConfig deletes an endpoint configuration. Endpoints deployed from it keep serving.
func (s *Service) DeleteConfig(ctx context.Context, c identity.Call, name string) error {
	if err := checkName("EndpointConfigName", name); err != nil {
		return err
	}
	if err := s.authorize(ctx, c, "DeleteEndpointConfig", s.ConfigARN(c.Caller.Account, name)); err != nil {
		return err
	}
	err := s.store.Update(ctx, func(tx Tx) error { return tx.DeleteConfig(ctx, c.Caller.Account, name) })
	if errs.Is(err, errs.NotFound) {
		return configMissing(s, c.Caller.Account, name)
	}
	return err
}

// ---- endpoints

func endpointMissing(s *Service, account, name string) error {
	return errs.E(errs.NotFound, "Could not find endpoint %q.", s.EndpointARN(account, name))
}

// event is the state change event of e as it is now.
func (s *Service) event(e Endpoint) (events.Event, error) {
	body, err := json.Marshal(map[string]any{
		"EndpointName": e.Name, "EndpointArn": e.ARN, "EndpointConfigName": e.ConfigName,
		"EndpointStatus": e.Status, "FailureReason": e.FailureReason, "CreationTime": e.CreatedAt.UnixMilli(),
		"LastModifiedTime": e.ModifiedAt.UnixMilli(), "Tags": e.Tags,
	})
	if err != nil {
		return events.Event{}, errs.E(errs.Internal, "cannot encode the event", err)
	}
	return events.Event{ID: randid.UUID(), Account: e.Account, Region: s.region, Source: EventSource, DetailType: EventDetailType,
		Time: e.ModifiedAt, Resources: []string{e.ARN}, Detail: body}, nil
}

// save writes e (inserting it when insert), with its state change event when status changed,
// and wakes the engine on it.
func (s *Service) save(ctx context.Context, tx Tx, e Endpoint, insert, changed bool) error {
	var err error
	if insert {
		err = tx.InsertEndpoint(ctx, e)
	} else {
		err = tx.UpdateEndpoint(ctx, e)
	}
	if err != nil {
		return err
	}
	if changed {
		ev, err := s.event(e)
		if err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, ev); err != nil {
			return err
		}
	}
	return tx.Enqueue(ctx, WorkKind, e.ARN, s.now())
}

// CreateEndpoint authorizes and stores a new endpoint in Creating; the engine deploys it.
func (s *Service) CreateEndpoint(ctx context.Context, c identity.Call, name, configName string, tags map[string]string) (Endpoint, error) {
	if err := checkName("EndpointName", name); err != nil {
		return Endpoint{}, err
	}
	if err := checkName("EndpointConfigName", configName); err != nil {
		return Endpoint{}, err
	}
	now := s.now()
	e := Endpoint{Account: c.Caller.Account, Name: name, ARN: s.EndpointARN(c.Caller.Account, name), ConfigName: configName,
		Status: Creating, Tags: tags, CreatedAt: now, ModifiedAt: now, Deployment: 1}
	if err := s.authorize(ctx, withRequestTags(c, tags), "CreateEndpoint", e.ARN); err != nil {
		return Endpoint{}, err
	}
	if _, err := s.store.GetConfig(ctx, e.Account, configName); errs.Is(err, errs.NotFound) {
		return Endpoint{}, invalid("Could not find endpoint configuration %q.", s.ConfigARN(e.Account, configName))
	} else if err != nil {
		return Endpoint{}, err
	}
	err := s.store.Update(ctx, func(tx Tx) error { return s.save(ctx, tx, e, true, true) })
	if errs.Is(err, errs.Conflict) {
		return Endpoint{}, invalid("Cannot create already existing endpoint %q.", e.ARN)
	}
	if err != nil {
		return Endpoint{}, err
	}
	return e, nil
}

// DescribeEndpoint returns an endpoint of the caller's account.
func (s *Service) DescribeEndpoint(ctx context.Context, c identity.Call, name string) (Endpoint, error) {
	if err := checkName("EndpointName", name); err != nil {
		return Endpoint{}, err
	}
	if err := s.authorize(ctx, c, "DescribeEndpoint", s.EndpointARN(c.Caller.Account, name)); err != nil {
		return Endpoint{}, err
	}
	e, err := s.store.GetEndpoint(ctx, c.Caller.Account, name)
	if errs.Is(err, errs.NotFound) {
		return Endpoint{}, endpointMissing(s, c.Caller.Account, name)
	}
	return e, err
}

// ListEndpoints lists the caller's endpoints.
func (s *Service) ListEndpoints(ctx context.Context, c identity.Call, q Query) ([]Endpoint, error) {
	if err := checkQuery(q, "Name", "CreationTime", "Status"); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, "ListEndpoints", "*"); err != nil {
		return nil, err
	}
	return s.store.ListEndpoints(ctx, c.Caller.Account, q)
}

// change applies fn to an endpoint of the caller's account under its row lock and saves it.
func (s *Service) change(ctx context.Context, c identity.Call, name string, fn func(e *Endpoint) error) error {
	return s.store.Update(ctx, func(tx Tx) error {
		e, err := tx.LockEndpoint(ctx, c.Caller.Account, name)
		if errs.Is(err, errs.NotFound) {
			return endpointMissing(s, c.Caller.Account, name)
		}
		if err != nil {
			return err
		}
		before := e.Status
		if err := fn(&e); err != nil {
			return err
		}
		e.ModifiedAt = s.now()
		return s.save(ctx, tx, e, false, e.Status != before)
	})
}

// UpdateInput is an UpdateEndpoint request.
type UpdateInput struct {
	ConfigName              string
	RetainVariantProperties bool
	// Policy is the DeploymentConfig (nil: none); RetainPolicy reuses the endpoint's last one
	// when Policy is nil.
	Policy       *DeploymentPolicy
	RetainPolicy bool
}

// UpdateEndpoint deploys another configuration to an InService endpoint: the endpoint is
// Updating while the new configuration starts, the old one serving until every new instance
// is healthy. Without a policy the traffic moves all at once; with one, in the policy's steps
// (rollout.go). With retain, variants of the same name keep their current weight and instance
// count.
func (s *Service) UpdateEndpoint(ctx context.Context, c identity.Call, name string, in UpdateInput) (Endpoint, error) {
	configName, retain, policy := in.ConfigName, in.RetainVariantProperties, in.Policy
	if err := checkName("EndpointName", name); err != nil {
		return Endpoint{}, err
	}
	if err := checkName("EndpointConfigName", configName); err != nil {
		return Endpoint{}, err
	}
	if policy != nil {
		if err := policy.Check(); err != nil {
			return Endpoint{}, err
		}
	}
	resource := s.EndpointARN(c.Caller.Account, name)
	if err := s.authorize(ctx, c, "UpdateEndpoint", resource); err != nil {
		return Endpoint{}, err
	}
	cfg, err := s.store.GetConfig(ctx, c.Caller.Account, configName)
	if errs.Is(err, errs.NotFound) {
		return Endpoint{}, invalid("Could not find endpoint configuration %q.", s.ConfigARN(c.Caller.Account, configName))
	} else if err != nil {
		return Endpoint{}, err
	}
	var out Endpoint
	err = s.change(ctx, c, name, func(e *Endpoint) error {
		if e.Status != InService {
			return invalid("Cannot update in-progress endpoint %q: it is %s; wait until it is InService.", e.ARN, e.Status)
		}
		e.Status, e.Pending, e.FailureReason = Updating, configName, ""
		e.Deployment++
		e.Weights, e.Retain, e.Policy, e.Rollout = nil, retain, nil, nil
		if policy == nil && in.RetainPolicy {
			policy = e.LastPolicy
		}
		if policy != nil {
			p := *policy
			e.Policy, e.LastPolicy, e.Rollout = &p, &p, &Rollout{StartedAt: s.now(), Phase: "Creating"}
			for _, v := range Plan(*e, cfg) { // what the new fleet will run, none of it yet
				e.Rollout.Variants = append(e.Rollout.Variants, VariantState{VariantName: v.Variant.VariantName,
					DesiredWeight: v.Weight, DesiredInstanceCount: v.Instances})
			}
		}
		out = *e
		return nil
	})
	return out, err
}

// Capacity is a variant's desired weight and instance count (nil: unchanged).
type Capacity struct {
	VariantName string
	Weight      *float64
	Instances   *int
}

// UpdateWeights changes variants' weights (applied without restarting anything) and instance
// counts (a redeployment of the current configuration): the endpoint is Updating until done.
func (s *Service) UpdateWeights(ctx context.Context, c identity.Call, name string, caps []Capacity) (Endpoint, error) {
	if err := checkName("EndpointName", name); err != nil {
		return Endpoint{}, err
	}
	if len(caps) == 0 || len(caps) > MaxVariants {
		return Endpoint{}, invalid("DesiredWeightsAndCapacities must hold 1 to %d entries", MaxVariants)
	}
	if err := s.authorize(ctx, c, "UpdateEndpointWeightsAndCapacities", s.EndpointARN(c.Caller.Account, name)); err != nil {
		return Endpoint{}, err
	}
	var out Endpoint
	err := s.change(ctx, c, name, func(e *Endpoint) error {
		if e.Status != InService {
			return invalid("Cannot update in-progress endpoint %q: it is %s; wait until it is InService.", e.ARN, e.Status)
		}
		weights := map[string]float64{}
		for _, v := range e.Variants {
			weights[v.VariantName] = v.CurrentWeight
		}
		for _, cp := range caps {
			i := variantIndex(e.Variants, cp.VariantName)
			if i < 0 {
				return invalid("The variant %s is not a production variant of endpoint %s.", cp.VariantName, e.Name)
			}
			if cp.Weight != nil {
				if *cp.Weight < 0 {
					return invalid("variant %s: DesiredWeight must not be negative", cp.VariantName)
				}
				weights[e.Variants[i].VariantName] = *cp.Weight
			}
			if cp.Instances != nil {
				if *cp.Instances < 1 || *cp.Instances > MaxInstances {
					return invalid("variant %s: DesiredInstanceCount must be 1 to %d", cp.VariantName, MaxInstances)
				}
				e.Variants[i].DesiredInstanceCount = *cp.Instances
			}
		}
		for i := range e.Variants {
			e.Variants[i].DesiredWeight = weights[e.Variants[i].VariantName]
		}
		e.Weights = weights
		e.Status, e.Pending, e.FailureReason = Updating, e.ConfigName, ""
		e.Deployment++
		out = *e
		return nil
	})
	return out, err
}

func variantIndex(vs []VariantState, name string) int {
	for i, v := range vs {
		if v.VariantName == name {
			return i
		}
	}
	return -1
}

// DeleteEndpoint moves an endpoint to Deleting; the engine stops its instances and deletes it.
func (s *Service) DeleteEndpoint(ctx context.Context, c identity.Call, name string) error {
	if err := checkName("EndpointName", name); err != nil {
		return err
	}
	if err := s.authorize(ctx, c, "DeleteEndpoint", s.EndpointARN(c.Caller.Account, name)); err != nil {
		return err
	}
	return s.change(ctx, c, name, func(e *Endpoint) error {
		if e.Status == Deleting {
			return nil
		}
		if !e.Status.CanMoveTo(Deleting) {
			return invalid("Cannot delete endpoint %q while it is %s.", e.ARN, e.Status)
		}
		e.Status = Deleting
		return nil
	})
}

// Invoke authorizes sagemaker:InvokeEndpoint on an endpoint of the caller's account and sends
// the request to its deployed model (targetVariant "" lets the weights choose). A refusal by
// the model is an *inference.Error.
func (s *Service) Invoke(ctx context.Context, c identity.Call, name, targetVariant string, req inference.Request) (string, inference.Response, error) {
	// Latency is measured on the monotonic clock, not the injected one: it is a duration of
	// this process, never a time on record. Only invocations of an endpoint found are counted.
	began := time.Now()
	if !validName(name) {
		return "", inference.Response{}, invalid("EndpointName %q is not a valid endpoint name", name)
	}
	resource := s.EndpointARN(c.Caller.Account, name)
	if err := s.authorize(ctx, c, "InvokeEndpoint", resource); err != nil {
		return "", inference.Response{}, err
	}
	e, err := s.store.servingEndpoint(ctx, c.Caller.Account, name)
	if errs.Is(err, errs.NotFound) {
		return "", inference.Response{}, invalid("Endpoint %s of account %s not found.", name, c.Caller.Account)
	}
	if err != nil {
		return "", inference.Response{}, err
	}
	if !e.Status.Serving() {
		return "", inference.Response{}, invalid("Endpoint %s of account %s is %s; it answers invocations once InService.", name, c.Caller.Account, e.Status)
	}
	if targetVariant != "" && variantIndex(e.Variants, targetVariant) < 0 {
		return "", inference.Response{}, invalid("The variant %s is not a production variant of endpoint %s.", targetVariant, name)
	}
	if s.fleet == nil {
		return "", inference.Response{}, errs.E(errs.Unavailable, "no model runtime is configured on this server")
	}
	model := new(atomic.Int64)
	variant, resp, err := s.fleet.Invoke(context.WithValue(ctx, modelTimeKey{}, model), e.ARN, targetVariant, req)
	s.meter(e, variant, model, began, err)
	if err == nil {
		s.capture(ctx, e, variant, req, resp)
	}
	return variant, resp, err
}

// forget drops an endpoint's metrics.
func (s *Service) forget(account, name string) {
	s.captures.Delete(s.EndpointARN(account, name))
	if s.metrics != nil {
		s.metrics.Forget(account, name)
	}
}

// Ready authorizes sagemaker:InvokeEndpoint on an endpoint of the caller's account (the Open
// Inference Protocol's model readiness and metadata are part of the data plane) and says whether
// it answers invocations: it is InService, Updating or RollingBack and a variant has a healthy
// instance.
func (s *Service) Ready(ctx context.Context, c identity.Call, name string) (Endpoint, bool, error) {
	if !validName(name) {
		return Endpoint{}, false, invalid("EndpointName %q is not a valid endpoint name", name)
	}
	if err := s.authorize(ctx, c, "InvokeEndpoint", s.EndpointARN(c.Caller.Account, name)); err != nil {
		return Endpoint{}, false, err
	}
	e, err := s.store.servingEndpoint(ctx, c.Caller.Account, name)
	if errs.Is(err, errs.NotFound) {
		return Endpoint{}, false, invalid("Endpoint %s of account %s not found.", name, c.Caller.Account)
	}
	if err != nil || !e.Status.Serving() || s.fleet == nil {
		return e, false, err
	}
	for _, v := range s.fleet.Status(e.ARN) {
		if v.Healthy > 0 {
			return e, true, nil
		}
	}
	return e, false, nil
}
