package stacks

import (
	"context"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/randid"
	"github.com/slipway-ml/slipway/internal/stacks/template"
)

// WorkKind is the reconcile kind of the stack engine; its keys are stack ARNs.
const WorkKind = "stacks"

// ServicePrincipal is the service a stack's role is passed to and the engine's name when it
// acts as the role (the role's trust policy must allow it).
const ServicePrincipal = "cloudformation.amazonaws.com"

// Limits.
const (
	MaxStackName = 128
	MaxTags      = 50
)

var stackNameRE = regexp.MustCompile(`^[a-zA-Z][-a-zA-Z0-9]*$`)

// Service is CloudFormation's stacks API.
type Service struct {
	store     Store
	authz     Authorizer
	roles     RolePasser
	sessions  Sessions
	providers map[string]Provider
	region    string
	now       func() time.Time
	templates TemplateSource    // nil: TemplateURL refused
	ownHost   func(string) bool // the server's own S3 endpoints (templateurl.go)
}

// Config of a Service.
type Config struct {
	Store     Store
	Authz     Authorizer
	Roles     RolePasser
	Sessions  Sessions
	Providers map[string]Provider // by resource type, e.g. "AWS::SageMaker::Model"
	Region    string
	Now       func() time.Time
	// Templates reads TemplateURLs of the server's own S3 (OwnHost: its endpoints'
	// host[:port]); nil refuses TemplateURL.
	Templates TemplateSource
	OwnHost   func(host string) bool
}

// NewService returns a Service.
func NewService(c Config) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	providers := make(map[string]Provider, len(c.Providers)+1)
	for k, v := range c.Providers {
		providers[k] = v
	}
	s := &Service{store: c.Store, authz: c.Authz, roles: c.Roles, sessions: c.Sessions, providers: providers,
		region: c.Region, now: c.Now, templates: c.Templates, ownHost: c.OwnHost}
	if c.Templates != nil { // a nested stack's template is read from its TemplateURL
		providers[NestedType] = nestedProvider{s}
	}
	return s
}

func invalid(format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...).WithCode("ValidationError")
}

func notExist(nameOrID string) error {
	return errs.E(errs.NotFound, "Stack with id %s does not exist", nameOrID).WithCode("ValidationError")
}

func (s *Service) authorize(ctx context.Context, c identity.Call, op, resource string) error {
	_, err := s.authz.Authorize(ctx, c.Caller, identity.Action{
		Name: "cloudformation:" + op, Resource: resource, ResourceAccount: c.Caller.Account, Context: c.Context,
	})
	return err
}

// StackARN is the ARN of a stack; id is its unique part.
func (s *Service) StackARN(account, name, id string) string {
	return arn.CloudFormationStack(s.region, account, name, id)
}

// ParseStackKey reads a stack's work item key (its ARN) back into its account.
func ParseStackKey(key string) (account string, ok bool) {
	a, err := arn.Parse(key)
	if err != nil || a.Service != "cloudformation" || !strings.HasPrefix(a.Resource, "stack/") {
		return "", false
	}
	return a.Account, true
}

func checkStackName(n string) error {
	if len(n) == 0 || len(n) > MaxStackName || !stackNameRE.MatchString(n) {
		return invalid("1 validation error detected: Value '%s' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]* and be at most 128 characters", n)
	}
	return nil
}

// find loads the caller's stack named by name or ARN and authorizes op on it. A stack that
// does not exist is authorized on stack/NAME/* first, so a denied caller learns nothing.
func (s *Service) find(ctx context.Context, c identity.Call, op, nameOrID string) (Stack, error) {
	if nameOrID == "" {
		return Stack{}, invalid("StackName is required")
	}
	st, err := s.store.GetStack(ctx, c.Caller.Account, nameOrID)
	if err != nil {
		if !errs.Is(err, errs.NotFound) {
			return Stack{}, err
		}
		name := nameOrID
		if a, perr := arn.Parse(nameOrID); perr == nil {
			name = strings.Split(strings.TrimPrefix(a.Resource, "stack/"), "/")[0]
		}
		if aerr := s.authorize(ctx, c, op, s.StackARN(c.Caller.Account, name, "*")); aerr != nil {
			return Stack{}, aerr
		}
		return Stack{}, notExist(nameOrID)
	}
	if err := s.authorize(ctx, c, op, st.ID); err != nil {
		return Stack{}, err
	}
	return st, nil
}

// prepared is a template checked against the request.
type prepared struct {
	tpl    *template.Template
	params []Parameter
}

// prepare parses a template, refuses resource types without a provider, resolves the
// parameters, checks capabilities and rules, and plans (which checks what expressions name).
func (s *Service) prepare(body string, given []ParameterInput, previous []Parameter, capabilities []string, stackName, account string) (prepared, error) {
	if body == "" {
		return prepared{}, invalid("Either Template URL or Template Body must be specified.")
	}
	tpl, err := template.Parse([]byte(body))
	if err != nil {
		return prepared{}, err
	}
	if err := s.supported(tpl); err != nil {
		return prepared{}, err
	}
	if err := checkCapabilities(tpl, capabilities); err != nil {
		return prepared{}, err
	}
	in := map[string]template.ParameterValue{}
	for _, p := range given {
		if _, dup := in[p.Key]; dup {
			return prepared{}, invalid("Parameter %s is given more than once", p.Key)
		}
		in[p.Key] = template.ParameterValue{Value: p.Value, UsePreviousValue: p.UsePreviousValue}
	}
	prev := map[string]string{}
	for _, p := range previous {
		prev[p.Key] = p.Value
	}
	values, text, err := tpl.ResolveParameters(in, prev)
	if err != nil {
		return prepared{}, err
	}
	env := &template.Env{Pseudo: s.pseudo(account, stackName, ""), Params: values}
	if env.Conditions, err = tpl.EvalConditions(env); err != nil {
		return prepared{}, err
	}
	if err := tpl.CheckRules(env); err != nil {
		return prepared{}, err
	}
	if _, err := tpl.Plan(env.Conditions); err != nil {
		return prepared{}, err
	}
	var params []Parameter
	for _, k := range sortedKeys(text) {
		params = append(params, Parameter{Key: k, Value: text[k], NoEcho: tpl.Parameters[k].NoEcho})
	}
	return prepared{tpl: tpl, params: params}, nil
}

func (s *Service) supported(tpl *template.Template) error {
	var missing []string
	for _, typ := range tpl.ResourceTypes() {
		if _, ok := s.providers[typ]; !ok {
			missing = append(missing, typ)
		}
	}
	if len(missing) > 0 {
		return invalid("Template format error: Unrecognized resource types: [%s] (this server creates %s)",
			strings.Join(missing, ", "), strings.Join(sortedKeys(s.providers), ", "))
	}
	for _, name := range sortedKeys(tpl.Resources) {
		r := tpl.Resources[name]
		schema, ok := s.providers[r.Type].(Schema)
		if !ok {
			continue
		}
		known, required := schema.Properties()
		set := map[string]bool{}
		for _, k := range known {
			set[k] = true
		}
		for _, k := range sortedKeys(r.Properties) {
			if !set[k] {
				return invalid("Template format error: Encountered unsupported property %s in Resources/%s/Properties (%s takes %s)",
					k, name, r.Type, strings.Join(known, ", "))
			}
		}
		for _, k := range required {
			if _, ok := r.Properties[k]; !ok {
				return invalid("Template format error: Resources/%s/Properties: required property %s of %s is missing", name, k, r.Type)
			}
		}
	}
	return nil
}

// iamTypes are the resource types that need an IAM capability.
var iamTypes = map[string]bool{"AWS::IAM::Role": true, "AWS::IAM::Policy": true, "AWS::IAM::ManagedPolicy": true, "AWS::IAM::User": true}

// capabilitiesNeeded returns the capability the template needs, and why.
func capabilitiesNeeded(tpl *template.Template) (string, string) {
	need, why := "", ""
	for _, name := range sortedKeys(tpl.Resources) {
		r := tpl.Resources[name]
		if !iamTypes[r.Type] {
			continue
		}
		if _, named := r.Properties["RoleName"]; named {
			return "CAPABILITY_NAMED_IAM", "The following resource(s) require capabilities: [" + r.Type + "]"
		}
		if _, named := r.Properties["ManagedPolicyName"]; named {
			return "CAPABILITY_NAMED_IAM", "The following resource(s) require capabilities: [" + r.Type + "]"
		}
		need, why = "CAPABILITY_IAM", "The following resource(s) require capabilities: ["+r.Type+"]"
	}
	return need, why
}

func checkCapabilities(tpl *template.Template, given []string) error {
	need, _ := capabilitiesNeeded(tpl)
	if need == "" {
		return nil
	}
	for _, c := range given {
		if c == need || c == "CAPABILITY_NAMED_IAM" {
			return nil
		}
	}
	return errs.E(errs.Invalid, "Requires capabilities : [%s]", need).WithCode("InsufficientCapabilitiesException")
}

func (s *Service) pseudo(account, stackName, stackID string) template.Pseudo {
	return template.Pseudo{AccountID: account, Region: s.region, StackName: stackName, StackID: stackID,
		Partition: "aws", URLSuffix: "amazonaws.com"}
}

func checkTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return invalid("a stack has at most %d tags", MaxTags)
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 || strings.HasPrefix(k, "aws:") {
			return invalid("tag key %q must be 1 to 128 characters not starting with aws: and its value at most 256", k)
		}
	}
	return nil
}

// actor is who the engine acts as for a stack without a role: the caller, without the
// session token (a secret; policies are found by principal and access key).
func actor(c identity.Caller) identity.Caller {
	c.SessionToken = ""
	c.SourceIP = ""
	return c
}

func (s *Service) passRole(ctx context.Context, c identity.Call, role string) error {
	if role == "" {
		return nil
	}
	_, err := s.roles.PassRole(ctx, c, role, ServicePrincipal)
	return err
}

// CreateStackInput is a CreateStack request.
type CreateStackInput struct {
	Name            string
	TemplateBody    string
	TemplateURL     string
	Parameters      []ParameterInput
	RoleARN         string
	Capabilities    []string
	DisableRollback bool
	OnFailure       string
	Tags            map[string]string
	ClientToken     string
}

// CreateStack checks the template and parameters, authorizes cloudformation:CreateStack on
// the new stack's ARN (and iam:PassRole of its role to CloudFormation), and stores the stack
// CREATE_IN_PROGRESS with its first event and its work item.
func (s *Service) CreateStack(ctx context.Context, c identity.Call, in CreateStackInput) (Stack, error) {
	if err := checkStackName(in.Name); err != nil {
		return Stack{}, err
	}
	body, err := s.TemplateBody(ctx, c, in.TemplateBody, in.TemplateURL)
	if err != nil {
		return Stack{}, err
	}
	in.TemplateBody, in.TemplateURL = body, ""
	switch in.OnFailure {
	case "", "ROLLBACK", "DELETE", "DO_NOTHING":
	default:
		return Stack{}, invalid("OnFailure must be ROLLBACK, DELETE or DO_NOTHING")
	}
	if in.OnFailure != "" && in.DisableRollback {
		return Stack{}, invalid("You cannot specify both DisableRollback and OnFailure.")
	}
	if err := checkTags(in.Tags); err != nil {
		return Stack{}, err
	}
	id := s.StackARN(c.Caller.Account, in.Name, randid.UUID())
	if err := s.authorize(ctx, c, "CreateStack", id); err != nil {
		return Stack{}, err
	}
	if err := s.passRole(ctx, c, in.RoleARN); err != nil {
		return Stack{}, err
	}
	p, err := s.prepare(in.TemplateBody, in.Parameters, nil, in.Capabilities, in.Name, c.Caller.Account)
	if err != nil {
		return Stack{}, err
	}
	now := s.now()
	st := Stack{Account: c.Caller.Account, Region: s.region, Name: in.Name, ID: id, Status: CreateInProgress,
		Reason: "User Initiated", Description: p.tpl.Description, Template: in.TemplateBody, Parameters: p.params,
		RoleARN: in.RoleARN, Actor: actor(c.Caller), Capabilities: in.Capabilities,
		DisableRollback: in.DisableRollback || in.OnFailure == "DO_NOTHING", OnFailureDelete: in.OnFailure == "DELETE",
		Tags: in.Tags, Resources: map[string]*Resource{}, Op: 1, ClientToken: in.ClientToken, CreatedAt: now, UpdatedAt: now}
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.InsertStack(ctx, st); err != nil {
			if errs.Is(err, errs.Conflict) {
				return errs.E(errs.Conflict, "Stack [%s] already exists", in.Name).WithCode("AlreadyExistsException")
			}
			return err
		}
		if err := tx.AppendStackEvent(ctx, s.stackEvent(st, "User Initiated")); err != nil {
			return err
		}
		return tx.Enqueue(ctx, WorkKind, st.ID, now)
	})
	if err != nil {
		return Stack{}, err
	}
	return st, nil
}

func (s *Service) stackEvent(st Stack, reason string) Event {
	return Event{Account: st.Account, StackID: st.ID, StackName: st.Name, EventID: randid.UUID(), LogicalID: st.Name,
		PhysicalID: st.ID, ResourceType: "AWS::CloudFormation::Stack", Status: string(st.Status), Reason: reason,
		Time: s.now(), ClientToken: st.ClientToken}
}

func (s *Service) resourceEvent(st Stack, r *Resource, status, reason string) Event {
	return Event{Account: st.Account, StackID: st.ID, StackName: st.Name, EventID: randid.UUID(), LogicalID: r.LogicalID,
		PhysicalID: r.PhysicalID, ResourceType: r.Type, Status: status, Reason: reason, Time: s.now(), ClientToken: st.ClientToken}
}

// UpdateStackInput is an UpdateStack request.
type UpdateStackInput struct {
	Name                string
	TemplateBody        string
	TemplateURL         string
	UsePreviousTemplate bool
	Parameters          []ParameterInput
	RoleARN             string
	Capabilities        []string
	Tags                map[string]string
	ClientToken         string
}

// UpdateStack starts an update of a stack to a new template or new parameters.
func (s *Service) UpdateStack(ctx context.Context, c identity.Call, in UpdateStackInput) (Stack, error) {
	cur, err := s.find(ctx, c, "UpdateStack", in.Name)
	if err != nil {
		return Stack{}, err
	}
	if in.TemplateURL != "" && in.UsePreviousTemplate {
		return Stack{}, invalid("Specify exactly one of TemplateBody, TemplateURL and UsePreviousTemplate.")
	}
	if in.TemplateBody, err = s.TemplateBody(ctx, c, in.TemplateBody, in.TemplateURL); err != nil {
		return Stack{}, err
	}
	if in.UsePreviousTemplate == (in.TemplateBody != "") {
		return Stack{}, invalid("Exactly one of TemplateBody and UsePreviousTemplate must be given")
	}
	if err := checkTags(in.Tags); err != nil {
		return Stack{}, err
	}
	body := in.TemplateBody
	if in.UsePreviousTemplate {
		body = cur.Template
	}
	if err := s.passRole(ctx, c, in.RoleARN); err != nil {
		return Stack{}, err
	}
	p, err := s.prepare(body, in.Parameters, cur.Parameters, in.Capabilities, cur.Name, cur.Account)
	if err != nil {
		return Stack{}, err
	}
	var out Stack
	err = s.store.Update(ctx, func(tx Tx) error {
		st, err := tx.LockStack(ctx, cur.ID)
		if err != nil {
			return err
		}
		if err := startUpdate(&st, body, p.params, in.RoleARN, c.Caller, in.Capabilities, in.Tags, in.ClientToken); err != nil {
			return err
		}
		st.UpdatedAt = s.now()
		if err := tx.UpdateStack(ctx, st); err != nil {
			return err
		}
		if err := tx.AppendStackEvent(ctx, s.stackEvent(st, "User Initiated")); err != nil {
			return err
		}
		out = st
		return tx.Enqueue(ctx, WorkKind, st.ID, st.UpdatedAt)
	})
	return out, err
}

// startUpdate moves a stack to UPDATE_IN_PROGRESS toward a new revision.
func startUpdate(st *Stack, body string, params []Parameter, role string, caller identity.Caller, caps []string, tags map[string]string, token string) error {
	if !st.Status.Updatable() {
		return invalid("Stack:%s is in %s state and can not be updated.", st.ID, st.Status)
	}
	if body == st.Template && reflect.DeepEqual(params, st.Parameters) && (tags == nil || reflect.DeepEqual(tags, st.Tags)) && (role == "" || role == st.RoleARN) {
		return invalid("No updates are to be performed.")
	}
	st.Previous = &Revision{Template: st.Template, Parameters: st.Parameters, Outputs: st.Outputs}
	st.Template, st.Parameters = body, params
	if role != "" {
		st.RoleARN = role
	}
	if tags != nil {
		st.Tags = tags
	}
	st.Actor = actor(caller)
	st.Capabilities = caps
	st.Status, st.Reason = UpdateInProgress, "User Initiated"
	st.Op++
	st.ClientToken = token
	for _, r := range st.Resources {
		r.Old, r.New = nil, false
	}
	return nil
}

// DeleteStack starts deleting a stack; a stack that does not exist is no error.
func (s *Service) DeleteStack(ctx context.Context, c identity.Call, name, role string, retain []string, token string) error {
	cur, err := s.find(ctx, c, "DeleteStack", name)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur.Status == DeleteComplete {
		return nil
	}
	if err := s.passRole(ctx, c, role); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		st, err := tx.LockStack(ctx, cur.ID)
		if err != nil {
			return err
		}
		if st.Status == DeleteInProgress || st.Status == DeleteComplete {
			return nil
		}
		if !st.Status.CanMoveTo(DeleteInProgress) {
			return invalid("Stack [%s] is in %s state and can not be deleted now; wait until it is complete", st.Name, st.Status)
		}
		for _, r := range retain {
			res, ok := st.Resources[r]
			if !ok {
				return invalid("RetainResources: %s is not a resource of the stack", r)
			}
			if st.Status != DeleteFailed {
				return invalid("RetainResources is only for a stack in DELETE_FAILED state")
			}
			res.Status = ResDeleteSkipped
		}
		if role != "" {
			st.RoleARN = role
		}
		st.Actor = actor(c.Caller)
		st.Status, st.Reason = DeleteInProgress, "User Initiated"
		st.Op++
		st.ClientToken = token
		st.ChangeSets = nil
		st.UpdatedAt = s.now()
		if err := tx.UpdateStack(ctx, st); err != nil {
			return err
		}
		if err := tx.AppendStackEvent(ctx, s.stackEvent(st, "User Initiated")); err != nil {
			return err
		}
		return tx.Enqueue(ctx, WorkKind, st.ID, st.UpdatedAt)
	})
}

// DescribeStacks returns one stack (by name or ARN) or, without a name, every stack of the
// account that is not deleted and that the caller may describe.
func (s *Service) DescribeStacks(ctx context.Context, c identity.Call, name string) ([]Stack, error) {
	if name != "" {
		st, err := s.find(ctx, c, "DescribeStacks", name)
		if err != nil {
			return nil, err
		}
		return []Stack{st}, nil
	}
	all, err := s.store.ListStacks(ctx, c.Caller.Account)
	if err != nil {
		return nil, err
	}
	var out []Stack
	for _, st := range all {
		if st.Status == DeleteComplete {
			continue
		}
		if err := s.authorize(ctx, c, "DescribeStacks", st.ID); err != nil {
			if errs.Is(err, errs.AccessDenied) && len(all) > 1 {
				continue // a stack the caller may not see is left out, as a Deny on it asks
			}
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// ListStacks lists the account's stacks (deleted ones for 90 days in AWS; here all), filtered
// by status.
func (s *Service) ListStacks(ctx context.Context, c identity.Call, statuses []string) ([]Stack, error) {
	if err := s.authorize(ctx, c, "ListStacks", "*"); err != nil {
		return nil, err
	}
	all, err := s.store.ListStacks(ctx, c.Caller.Account)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, x := range statuses {
		want[x] = true
	}
	var out []Stack
	for _, st := range all {
		if len(want) == 0 || want[string(st.Status)] {
			out = append(out, st)
		}
	}
	return out, nil
}

// StackEvents returns a stack's events, newest first.
func (s *Service) StackEvents(ctx context.Context, c identity.Call, name string) ([]Event, error) {
	st, err := s.find(ctx, c, "DescribeStackEvents", name)
	if err != nil {
		return nil, err
	}
	return s.store.StackEvents(ctx, st.ID)
}

// StackResources returns a stack's resources (op is the operation authorized) in logical id
// order; logical filters to one.
func (s *Service) StackResources(ctx context.Context, c identity.Call, op, name, logical string) (Stack, []Resource, error) {
	st, err := s.find(ctx, c, op, name)
	if err != nil {
		return Stack{}, nil, err
	}
	var out []Resource
	for _, k := range sortedKeys(st.Resources) {
		r := st.Resources[k]
		if logical != "" && k != logical {
			continue
		}
		out = append(out, *r)
	}
	if logical != "" && len(out) == 0 {
		return Stack{}, nil, invalid("Resource %s does not exist for stack %s", logical, st.Name)
	}
	return st, out, nil
}

// GetTemplate returns a stack's template.
func (s *Service) GetTemplate(ctx context.Context, c identity.Call, name string) (string, error) {
	st, err := s.find(ctx, c, "GetTemplate", name)
	if err != nil {
		return "", err
	}
	return st.Template, nil
}

// TemplateSummary is what ValidateTemplate and GetTemplateSummary say of a template.
type TemplateSummary struct {
	Description        string
	Parameters         []template.Parameter
	Capabilities       []string
	CapabilitiesReason string
	ResourceTypes      []string
}

// ValidateTemplate checks a template's structure and resource types.
func (s *Service) ValidateTemplate(ctx context.Context, c identity.Call, body, url string) (TemplateSummary, error) {
	if err := s.authorize(ctx, c, "ValidateTemplate", "*"); err != nil {
		return TemplateSummary{}, err
	}
	body, err := s.TemplateBody(ctx, c, body, url)
	if err != nil {
		return TemplateSummary{}, err
	}
	if body == "" {
		return TemplateSummary{}, invalid("Either Template URL or Template Body must be specified.")
	}
	tpl, err := template.Parse([]byte(body))
	if err != nil {
		return TemplateSummary{}, err
	}
	if err := s.supported(tpl); err != nil {
		return TemplateSummary{}, err
	}
	return summarize(tpl), nil
}

func summarize(tpl *template.Template) TemplateSummary {
	out := TemplateSummary{Description: tpl.Description, ResourceTypes: tpl.ResourceTypes()}
	for _, k := range sortedKeys(tpl.Parameters) {
		out.Parameters = append(out.Parameters, *tpl.Parameters[k])
	}
	if need, why := capabilitiesNeeded(tpl); need != "" {
		out.Capabilities, out.CapabilitiesReason = []string{need}, why
	}
	return out
}

// Export is an exported output.
type Export struct{ StackID, Name, Value string }

// ListExports lists the account's exports.
func (s *Service) ListExports(ctx context.Context, c identity.Call) ([]Export, error) {
	if err := s.authorize(ctx, c, "ListExports", "*"); err != nil {
		return nil, err
	}
	return s.exports(ctx, c.Caller.Account)
}

func (s *Service) exports(ctx context.Context, account string) ([]Export, error) {
	all, err := s.store.ListStacks(ctx, account)
	if err != nil {
		return nil, err
	}
	var out []Export
	for _, st := range all {
		if st.Status == DeleteComplete {
			continue
		}
		for _, o := range st.Outputs {
			if o.ExportName != "" {
				out = append(out, Export{StackID: st.ID, Name: o.ExportName, Value: o.Value})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
