package projects

import (
	"context"
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

// WorkKind is the reconcile kind of the project engine; its keys are project ARNs.
const WorkKind = "projects"

// The tags SageMaker puts on a project's resources.
const (
	TagProjectName = "sagemaker:project-name"
	TagProjectID   = "sagemaker:project-id"
)

// The template parameters a project fills in by itself when its template declares them (as
// SageMaker passes them to Service Catalog products).
const (
	ParamProjectName = "SageMakerProjectName"
	ParamProjectID   = "SageMakerProjectId"
)

// Status is a project's status (SageMaker's ProjectStatus).
type Status string

// The statuses.
const (
	Pending          Status = "Pending"
	CreateInProgress Status = "CreateInProgress"
	CreateCompleted  Status = "CreateCompleted"
	CreateFailed     Status = "CreateFailed"
	DeleteInProgress Status = "DeleteInProgress"
	DeleteFailed     Status = "DeleteFailed"
	DeleteCompleted  Status = "DeleteCompleted"
	UpdateInProgress Status = "UpdateInProgress"
	UpdateCompleted  Status = "UpdateCompleted"
	UpdateFailed     Status = "UpdateFailed"
)

var transitions = map[Status][]Status{
	Pending:          {CreateInProgress, CreateFailed, DeleteInProgress},
	CreateInProgress: {CreateCompleted, CreateFailed, DeleteInProgress},
	CreateCompleted:  {UpdateInProgress, DeleteInProgress},
	CreateFailed:     {DeleteInProgress},
	UpdateInProgress: {UpdateCompleted, UpdateFailed, DeleteInProgress},
	UpdateCompleted:  {UpdateInProgress, DeleteInProgress},
	UpdateFailed:     {UpdateInProgress, DeleteInProgress},
	DeleteInProgress: {DeleteCompleted, DeleteFailed},
	DeleteFailed:     {DeleteInProgress},
}

// CanMoveTo reports whether a project may go from s to next.
func (s Status) CanMoveTo(next Status) bool {
	for _, n := range transitions[s] {
		if n == next {
			return true
		}
	}
	return false
}

// Busy reports whether the engine is working on a project in this status (an update or a
// second delete must wait).
func (s Status) Busy() bool {
	return s == Pending || s == CreateInProgress || s == UpdateInProgress || s == DeleteInProgress
}

// Parameter is a provisioning parameter.
type Parameter struct{ Key, Value string }

// Project is a project and the state of its engine.
type Project struct {
	Account      string
	Region       string
	Name         string
	ID           string // p-xxxxxxxxxxxx
	ARN          string
	Description  string
	Template     string // the catalog template's name (ProductId)
	Artifact     string // ProvisioningArtifactId as given
	PathID       string
	Parameters   []Parameter
	Tags         map[string]string
	Status       Status
	Reason       string // why the last operation failed
	StackName    string
	StackID      string // the stack's ARN once created
	SeedLocation string // s3://bucket/prefix once the seed code is uploaded
	SeedBucket   string
	SeedKeys     []string // the objects the seed code upload wrote (deleted with the project)
	// Actor is who the engine acts as to make, change and delete the stack: the caller of the
	// latest operation (its session token is not kept).
	Actor      identity.Caller
	CreatedBy  identity.Caller
	ModifiedBy *identity.Caller `json:",omitempty"`
	CreatedAt  time.Time
	ModifiedAt time.Time
	Op         int // increases with each operation; stack client tokens carry it
	// StackOp is the operation whose stack call the engine has made (Op when it has).
	StackOp int
	// TemplateBody is the catalog template's body at the latest create or update.
	TemplateBody string
}

// ProvisionedProductID is the project's provisioned product, as Service Catalog would name it.
func (p Project) ProvisionedProductID() string { return "pp-" + strings.TrimPrefix(p.ID, "p-") }

// Service is SageMaker Projects' API and template catalog.
type Service struct {
	store    Store
	authz    Authorizer
	stacks   Stacks
	builtins []Template
	taggable func(resourceType string) bool
	region   string
	now      func() time.Time
}

// Config of a Service.
type Config struct {
	Store  Store
	Authz  Authorizer
	Stacks Stacks
	// Taggable reports whether a resource type takes Tags (a list of Key/Value): the project's
	// tags are added to such resources of its template.
	Taggable func(resourceType string) bool
	Region   string
	Now      func() time.Time
}

// NewService returns a Service with the built-in templates loaded.
func NewService(c Config) (*Service, error) {
	b, err := BuiltIns()
	if err != nil {
		return nil, err
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Taggable == nil {
		c.Taggable = func(string) bool { return false }
	}
	return &Service{store: c.Store, authz: c.Authz, stacks: c.Stacks, builtins: b, taggable: c.Taggable, region: c.Region, now: c.Now}, nil
}

var projectNameRE = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$`)

func (s *Service) projectARN(account, name string) string {
	return arn.SageMaker(s.region, account, "project", name)
}

func checkName(n string) error {
	if !projectNameRE.MatchString(n) {
		return invalid("1 validation error detected: Value '%s' at 'projectName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}", n)
	}
	return nil
}

func notExist(name string) error {
	return errs.E(errs.NotFound, "Project %s does not exist.", name).WithCode("ValidationException")
}

// find loads the caller's project and authorizes action on it (on its would-be ARN first when
// it does not exist, so a denied caller learns nothing).
func (s *Service) find(ctx context.Context, c identity.Call, action, name string) (Project, error) {
	if err := checkName(name); err != nil {
		return Project{}, err
	}
	if err := s.authorize(ctx, c, action, s.projectARN(c.Caller.Account, name)); err != nil {
		return Project{}, err
	}
	p, err := s.store.GetProject(ctx, c.Caller.Account, name)
	if errs.Is(err, errs.NotFound) {
		return Project{}, notExist(name)
	}
	return p, err
}

func actor(c identity.Caller) identity.Caller {
	c.SessionToken = ""
	c.SourceIP = ""
	return c
}

// CreateInput is a CreateProject request.
type CreateInput struct {
	Name, Description      string
	Template               string // ServiceCatalogProvisioningDetails.ProductId
	Artifact, PathID       string
	Parameters             []Parameter
	Tags                   map[string]string
	TemplateProvidersGiven bool
}

// checkParameters resolves the given parameters (with the project's own) against the
// template's declarations, as CloudFormation will, so that a bad value refuses the call.
func checkParameters(t Template, given []Parameter, name, id string) ([]Parameter, error) {
	tpl, err := template.Parse([]byte(t.Body))
	if err != nil {
		return nil, invalid("template %s does not parse: %s", t.Name(), errs.Message(err))
	}
	in := map[string]template.ParameterValue{}
	var out []Parameter
	for _, p := range given {
		if p.Key == ParamProjectName || p.Key == ParamProjectID {
			return nil, invalid("ProvisioningParameters: %s is set by SageMaker, not by the caller", p.Key)
		}
		if _, dup := in[p.Key]; dup {
			return nil, invalid("ProvisioningParameters: %s is given more than once", p.Key)
		}
		if _, ok := tpl.Parameters[p.Key]; !ok {
			return nil, invalid("ProvisioningParameters: template %s has no parameter %s", t.Name(), p.Key)
		}
		in[p.Key] = template.ParameterValue{Value: p.Value}
		out = append(out, p)
	}
	for k, v := range map[string]string{ParamProjectName: name, ParamProjectID: id} {
		if _, ok := tpl.Parameters[k]; ok {
			in[k] = template.ParameterValue{Value: v}
		}
	}
	if _, _, err := tpl.ResolveParameters(in, nil); err != nil {
		return nil, invalid("ProvisioningParameters: %s", errs.Message(err))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func checkTags(tags map[string]string) error {
	if len(tags) > 50 {
		return invalid("a project has at most 50 tags")
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 || strings.HasPrefix(k, "aws:") || strings.HasPrefix(k, "sagemaker:") {
			return invalid("tag key %q must be 1 to 128 characters not starting with aws: or sagemaker:, and its value at most 256", k)
		}
	}
	return nil
}

// CreateProject checks the request and the template's parameters, authorizes
// sagemaker:CreateProject on project/NAME, and stores the project Pending with its work item;
// the engine makes its stack.
func (s *Service) CreateProject(ctx context.Context, c identity.Call, in CreateInput) (Project, error) {
	if err := checkName(in.Name); err != nil {
		return Project{}, err
	}
	if err := s.authorize(ctx, c, "CreateProject", s.projectARN(c.Caller.Account, in.Name)); err != nil {
		return Project{}, err
	}
	if in.TemplateProvidersGiven {
		return Project{}, invalid("TemplateProviders (CloudFormation template providers) are not supported: name a catalog template in ServiceCatalogProvisioningDetails.ProductId")
	}
	if in.Template == "" {
		return Project{}, invalid("ServiceCatalogProvisioningDetails.ProductId is required: it names a template of the catalog (slipway templates list)")
	}
	if len(in.Description) > 1024 {
		return Project{}, invalid("ProjectDescription is longer than 1024 characters")
	}
	if err := checkTags(in.Tags); err != nil {
		return Project{}, err
	}
	t, err := s.lookupTemplate(ctx, c.Caller.Account, in.Template)
	if err != nil {
		return Project{}, err
	}
	id := "p-" + randid.String(12, "abcdefghijklmnopqrstuvwxyz0123456789")
	params, err := checkParameters(t, in.Parameters, in.Name, id)
	if err != nil {
		return Project{}, err
	}
	now := s.now()
	p := Project{Account: c.Caller.Account, Region: s.region, Name: in.Name, ID: id, ARN: s.projectARN(c.Caller.Account, in.Name),
		Description: in.Description, Template: t.Name(), Artifact: in.Artifact, PathID: in.PathID, Parameters: params,
		Tags: in.Tags, Status: Pending, TemplateBody: t.Body, Actor: actor(c.Caller), CreatedBy: actor(c.Caller), CreatedAt: now, ModifiedAt: now, Op: 1}
	p.StackName = "SC-" + p.Account + "-" + p.ProvisionedProductID()
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.InsertProject(ctx, p); err != nil {
			if errs.Is(err, errs.Conflict) {
				return invalid("Project %s already exists.", in.Name)
			}
			return err
		}
		return tx.Enqueue(ctx, WorkKind, p.ARN, now)
	})
	if err != nil {
		return Project{}, err
	}
	return p, nil
}

// DescribeProject returns the caller's project (sagemaker:DescribeProject).
func (s *Service) DescribeProject(ctx context.Context, c identity.Call, name string) (Project, error) {
	return s.find(ctx, c, "DescribeProject", name)
}

// Query filters and orders ListProjects.
type Query struct {
	NameContains                string
	CreatedAfter, CreatedBefore time.Time
	SortBy                      string // Name or CreationTime (default)
	Ascending                   bool
}

// ListProjects lists the caller's projects (sagemaker:ListProjects on *).
func (s *Service) ListProjects(ctx context.Context, c identity.Call, q Query) ([]Project, error) {
	if err := s.authorize(ctx, c, "ListProjects", "*"); err != nil {
		return nil, err
	}
	switch q.SortBy {
	case "", "CreationTime", "Name":
	default:
		return nil, invalid("SortBy must be Name or CreationTime")
	}
	all, err := s.store.ListProjects(ctx, c.Caller.Account)
	if err != nil {
		return nil, err
	}
	var out []Project
	for _, p := range all {
		if q.NameContains != "" && !strings.Contains(strings.ToLower(p.Name), strings.ToLower(q.NameContains)) {
			continue
		}
		if !q.CreatedAfter.IsZero() && !p.CreatedAt.After(q.CreatedAfter) || !q.CreatedBefore.IsZero() && !p.CreatedAt.Before(q.CreatedBefore) {
			continue
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if q.SortBy == "Name" {
			return out[i].Name < out[j].Name
		}
		return out[i].CreatedAt.Before(out[j].CreatedAt)
	})
	if !q.Ascending {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// UpdateInput is an UpdateProject request.
type UpdateInput struct {
	Name        string
	Description *string
	Parameters  []Parameter // nil: unchanged
	Artifact    string
	Tags        map[string]string // nil: unchanged; replaces the project's tags
}

// UpdateProject changes a project's description, and its parameters or tags (which update
// its stack).
func (s *Service) UpdateProject(ctx context.Context, c identity.Call, in UpdateInput) (Project, error) {
	cur, err := s.find(ctx, c, "UpdateProject", in.Name)
	if err != nil {
		return Project{}, err
	}
	if in.Description != nil && len(*in.Description) > 1024 {
		return Project{}, invalid("ProjectDescription is longer than 1024 characters")
	}
	if in.Tags != nil {
		if err := checkTags(in.Tags); err != nil {
			return Project{}, err
		}
	}
	var params []Parameter
	var body string
	restack := in.Parameters != nil || in.Tags != nil
	if restack {
		t, err := s.lookupTemplate(ctx, c.Caller.Account, cur.Template)
		if err != nil {
			return Project{}, err
		}
		body = t.Body
		given := in.Parameters
		if given == nil {
			given = cur.Parameters
		}
		if params, err = checkParameters(t, given, cur.Name, cur.ID); err != nil {
			return Project{}, err
		}
	}
	var out Project
	err = s.store.Update(ctx, func(tx Tx) error {
		p, err := tx.LockProject(ctx, cur.ARN)
		if err != nil {
			return err
		}
		if restack && !p.Status.CanMoveTo(UpdateInProgress) {
			return errs.E(errs.Conflict, "Project %s is %s: it can be updated once its last operation is done", p.Name, p.Status).WithCode("ConflictException")
		}
		if in.Description != nil {
			p.Description = *in.Description
		}
		caller := actor(c.Caller)
		p.ModifiedBy, p.ModifiedAt = &caller, s.now()
		if restack {
			p.Parameters, p.Status, p.Reason, p.Actor, p.Op, p.TemplateBody = params, UpdateInProgress, "", caller, p.Op+1, body
			if in.Tags != nil {
				p.Tags = in.Tags
			}
			if in.Artifact != "" {
				p.Artifact = in.Artifact
			}
			if err := tx.Enqueue(ctx, WorkKind, p.ARN, p.ModifiedAt); err != nil {
				return err
			}
		}
		out = p
		return tx.UpdateProject(ctx, p)
	})
	return out, err
}

// DeleteProject starts deleting a project: its stack, then the project.
func (s *Service) DeleteProject(ctx context.Context, c identity.Call, name string) error {
	cur, err := s.find(ctx, c, "DeleteProject", name)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		p, err := tx.LockProject(ctx, cur.ARN)
		if err != nil {
			return err
		}
		if p.Status == DeleteInProgress {
			return nil
		}
		if !p.Status.CanMoveTo(DeleteInProgress) {
			return errs.E(errs.Conflict, "Project %s is %s", p.Name, p.Status).WithCode("ConflictException")
		}
		caller := actor(c.Caller)
		p.Status, p.Reason, p.Actor, p.ModifiedBy, p.ModifiedAt, p.Op = DeleteInProgress, "", caller, &caller, s.now(), p.Op+1
		if err := tx.UpdateProject(ctx, p); err != nil {
			return err
		}
		return tx.Enqueue(ctx, WorkKind, p.ARN, p.ModifiedAt)
	})
}
