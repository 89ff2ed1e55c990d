package builds

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/builds/buildspec"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/randid"
)

// WorkKind is the reconcile kind of the build engine; its keys are ACCOUNT/BUILD-ID.
const WorkKind = "builds"

// ServicePrincipal is the service a project's role is passed to and the engine's name when it
// acts as the role (the role's trust policy must allow it).
const ServicePrincipal = "codebuild.amazonaws.com"

// Limits.
const (
	MaxBatch          = 100
	MaxEnvVars        = 200
	DefaultTimeout    = 60
	MinTimeout        = 5
	MaxTimeout        = 2160
	MaxTags           = 50
	MaxProjectsListed = 10000
)

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9\-_]{1,254}$`)
	envRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,254}$`)
)

// Service is CodeBuild's projects and builds API.
type Service struct {
	store  Store
	authz  Authorizer
	roles  RolePasser
	region string
	now    func() time.Time
}

// Config of a Service.
type Config struct {
	Store  Store
	Authz  Authorizer
	Roles  RolePasser
	Region string
	Now    func() time.Time
}

// NewService returns a Service.
func NewService(c Config) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Service{store: c.Store, authz: c.Authz, roles: c.Roles, region: c.Region, now: c.Now}
}

// WorkKey is the work key of a build.
func WorkKey(account, id string) string { return account + "/" + id }

// ParseWorkKey reads a work key back.
func ParseWorkKey(key string) (account, id string, ok bool) {
	account, id, ok = strings.Cut(key, "/")
	return account, id, ok && arn.ValidAccountID(account) && id != ""
}

func invalid(format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...).WithCode("InvalidInputException")
}

func notFound(format string, args ...any) error {
	return errs.E(errs.NotFound, format, args...).WithCode("ResourceNotFoundException")
}

// ProjectARN is a project's ARN.
func (s *Service) ProjectARN(account, name string) string {
	return arn.CodeBuildProject(s.region, account, name)
}

func (s *Service) authorize(ctx context.Context, c identity.Call, op, resource string) error {
	_, err := s.authz.Authorize(ctx, c.Caller, identity.Action{
		Name: "codebuild:" + op, Resource: resource, ResourceAccount: c.Caller.Account, Context: c.Context,
	})
	return err
}

func checkName(name, field string) error {
	if !nameRE.MatchString(name) {
		return invalid("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9][A-Za-z0-9\\-_]{1,254}", name, field)
	}
	return nil
}

// checkEnv validates environment variables (PLAINTEXT only: this server has no parameter
// store or secrets manager).
func checkEnv(vars []EnvVar, field string) error {
	if len(vars) > MaxEnvVars {
		return invalid("%s: at most %d environment variables", field, MaxEnvVars)
	}
	for i := range vars {
		v := &vars[i]
		if !envRE.MatchString(v.Name) || strings.HasPrefix(v.Name, "CODEBUILD_") {
			return invalid("%s[%d].name %q must be a variable name not starting with CODEBUILD_", field, i, v.Name)
		}
		if v.Type == "" {
			v.Type = "PLAINTEXT"
		}
		if v.Type != "PLAINTEXT" {
			return invalid("%s[%d].type %s is not supported by this server: use PLAINTEXT", field, i, v.Type)
		}
		if strings.ContainsRune(v.Value, 0) {
			return invalid("%s[%d].value holds a NUL character", field, i)
		}
	}
	return nil
}

func checkSource(src *Source) error {
	switch src.Type {
	case "NO_SOURCE":
		if strings.TrimSpace(src.Buildspec) == "" {
			return invalid("source.buildspec is required when source.type is NO_SOURCE")
		}
	case "S3":
		b, k, ok := strings.Cut(src.Location, "/")
		if !ok || b == "" || k == "" {
			return invalid("source.location %q must be BUCKET/KEY of a zip archive", src.Location)
		}
	case "CODEPIPELINE":
		if src.Location != "" {
			return invalid("source.location must be empty when source.type is CODEPIPELINE")
		}
	case "":
		return invalid("source.type is required")
	default:
		return invalid("source.type %s is not supported by this server: use NO_SOURCE, S3 or CODEPIPELINE", src.Type)
	}
	if looksInline(src.Buildspec) {
		if _, err := buildspec.Parse(src.Buildspec); err != nil {
			return invalid("source.buildspec: %v", err)
		}
	}
	return nil
}

// looksInline tells an inline buildspec from a path in the source, as CodeBuild does: a
// buildspec holding a newline or a colon is YAML.
func looksInline(s string) bool { return strings.ContainsAny(s, "\n:") }

func checkArtifacts(a *ArtifactsDecl, src Source) error {
	switch a.Type {
	case "NO_ARTIFACTS":
		if a.Location != "" || a.Path != "" || a.Name != "" {
			return invalid("artifacts.location, path and name must be empty when artifacts.type is NO_ARTIFACTS")
		}
	case "S3":
		if a.Location == "" || strings.Contains(a.Location, "/") {
			return invalid("artifacts.location must be a bucket name when artifacts.type is S3")
		}
		if a.Name == "" {
			return invalid("artifacts.name is required when artifacts.type is S3")
		}
		if strings.HasPrefix(a.Path, "/") || strings.Contains(a.Path, "..") || strings.ContainsAny(a.Name, "/\x00") {
			return invalid("artifacts.path must be relative and artifacts.name a single path segment")
		}
		if a.NamespaceType == "" {
			a.NamespaceType = "NONE"
		}
		if a.Packaging == "" {
			a.Packaging = "NONE"
		}
		if a.NamespaceType != "NONE" && a.NamespaceType != "BUILD_ID" {
			return invalid("artifacts.namespaceType must be NONE or BUILD_ID")
		}
		if a.Packaging != "NONE" && a.Packaging != "ZIP" {
			return invalid("artifacts.packaging must be NONE or ZIP")
		}
	case "CODEPIPELINE":
	case "":
		return invalid("artifacts.type is required")
	default:
		return invalid("artifacts.type %s is not supported by this server: use NO_ARTIFACTS, S3 or CODEPIPELINE", a.Type)
	}
	if (a.Type == "CODEPIPELINE") != (src.Type == "CODEPIPELINE") {
		return invalid("source.type and artifacts.type must both be CODEPIPELINE, or neither")
	}
	return nil
}

// check validates a project and fills its defaults.
func (s *Service) check(p *Project) error {
	if err := checkName(p.Name, "name"); err != nil {
		return err
	}
	if len(p.Description) > 255 {
		return invalid("description is longer than 255 characters")
	}
	if err := checkSource(&p.Source); err != nil {
		return err
	}
	if err := checkArtifacts(&p.Artifacts, p.Source); err != nil {
		return err
	}
	if p.Environment.Type == "" || p.Environment.Image == "" || p.Environment.ComputeType == "" {
		return invalid("environment.type, environment.image and environment.computeType are required")
	}
	if err := checkEnv(p.Environment.Variables, "environment.environmentVariables"); err != nil {
		return err
	}
	role, err := arn.ParseIAM(p.ServiceRole)
	if err != nil || role.Type != identity.KindRole {
		return invalid("serviceRole %q is not a role ARN", p.ServiceRole)
	}
	if p.TimeoutInMinutes == 0 {
		p.TimeoutInMinutes = DefaultTimeout
	}
	if p.TimeoutInMinutes < MinTimeout || p.TimeoutInMinutes > MaxTimeout {
		return invalid("timeoutInMinutes must be %d to %d", MinTimeout, MaxTimeout)
	}
	if len(p.Tags) > MaxTags {
		return invalid("a project has at most %d tags", MaxTags)
	}
	for k, v := range p.Tags {
		if k == "" || len(k) > 127 || len(v) > 255 || strings.HasPrefix(k, "aws:") {
			return invalid("tag key %q must be 1 to 127 characters not starting with aws: and its value at most 255", k)
		}
	}
	return nil
}

// CreateProject checks the project, authorizes codebuild:CreateProject on its ARN and
// iam:PassRole of its service role to CodeBuild, and stores it.
func (s *Service) CreateProject(ctx context.Context, c identity.Call, p Project) (Project, error) {
	if err := checkName(p.Name, "name"); err != nil {
		return Project{}, err
	}
	p.Account, p.Region, p.ARN = c.Caller.Account, s.region, s.ProjectARN(c.Caller.Account, p.Name)
	if err := s.authorize(ctx, c, "CreateProject", p.ARN); err != nil {
		return Project{}, err
	}
	if err := s.check(&p); err != nil {
		return Project{}, err
	}
	if _, err := s.roles.PassRole(ctx, c, p.ServiceRole, ServicePrincipal); err != nil {
		return Project{}, err
	}
	now := s.now()
	p.CreatedAt, p.UpdatedAt = now, now
	err := s.store.Update(ctx, func(tx Tx) error {
		err := tx.InsertProject(ctx, p)
		if errs.Is(err, errs.Conflict) {
			return errs.E(errs.Conflict, "Project already exists: %s", p.ARN).WithCode("ResourceAlreadyExistsException")
		}
		return err
	})
	if err != nil {
		return Project{}, err
	}
	return p, nil
}

// ProjectUpdate is what UpdateProject changes: the fields set.
type ProjectUpdate struct {
	Name             string
	Description      *string
	Source           *Source
	Artifacts        *ArtifactsDecl
	Environment      *Environment
	ServiceRole      *string
	TimeoutInMinutes *int
	Tags             map[string]string // nil: unchanged
}

// find authorizes op on the project named and loads it.
func (s *Service) find(ctx context.Context, c identity.Call, op, name string) (Project, error) {
	if err := checkName(name, "name"); err != nil {
		return Project{}, err
	}
	if err := s.authorize(ctx, c, op, s.ProjectARN(c.Caller.Account, name)); err != nil {
		return Project{}, err
	}
	p, err := s.store.GetProject(ctx, c.Caller.Account, name)
	if errs.Is(err, errs.NotFound) {
		return Project{}, notFound("Project cannot be found: %s", s.ProjectARN(c.Caller.Account, name))
	}
	return p, err
}

// UpdateProject changes the fields given; a new service role must be passable.
func (s *Service) UpdateProject(ctx context.Context, c identity.Call, u ProjectUpdate) (Project, error) {
	cur, err := s.find(ctx, c, "UpdateProject", u.Name)
	if err != nil {
		return Project{}, err
	}
	p := cur
	if u.Description != nil {
		p.Description = *u.Description
	}
	if u.Source != nil {
		p.Source = *u.Source
	}
	if u.Artifacts != nil {
		p.Artifacts = *u.Artifacts
	}
	if u.Environment != nil {
		p.Environment = *u.Environment
	}
	if u.ServiceRole != nil {
		p.ServiceRole = *u.ServiceRole
	}
	if u.TimeoutInMinutes != nil {
		p.TimeoutInMinutes = *u.TimeoutInMinutes
	}
	if u.Tags != nil {
		p.Tags = u.Tags
	}
	if err := s.check(&p); err != nil {
		return Project{}, err
	}
	if p.ServiceRole != cur.ServiceRole {
		if _, err := s.roles.PassRole(ctx, c, p.ServiceRole, ServicePrincipal); err != nil {
			return Project{}, err
		}
	}
	var out Project
	err = s.store.Update(ctx, func(tx Tx) error {
		old, err := tx.LockProject(ctx, cur.Account, cur.Name)
		if errs.Is(err, errs.NotFound) {
			return notFound("Project cannot be found: %s", cur.ARN)
		}
		if err != nil {
			return err
		}
		p.CreatedAt, p.UpdatedAt = old.CreatedAt, s.now()
		out = p
		return tx.UpdateProject(ctx, p)
	})
	return out, err
}

// BatchGetProjects returns the projects named (each authorized) and the names not found.
func (s *Service) BatchGetProjects(ctx context.Context, c identity.Call, names []string) ([]Project, []string, error) {
	if len(names) == 0 || len(names) > MaxBatch {
		return nil, nil, invalid("names must hold 1 to %d project names", MaxBatch)
	}
	var found []Project
	var missing []string
	for _, n := range names {
		name := n
		if a, err := arn.Parse(n); err == nil && a.Service == "codebuild" {
			if a.Account != c.Caller.Account {
				missing = append(missing, n)
				continue
			}
			name = strings.TrimPrefix(a.Resource, "project/")
		}
		p, err := s.find(ctx, c, "BatchGetProjects", name)
		if errs.Is(err, errs.NotFound) {
			missing = append(missing, n)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		found = append(found, p)
	}
	return found, missing, nil
}

// ListProjects lists the account's project names.
func (s *Service) ListProjects(ctx context.Context, c identity.Call) ([]string, error) {
	if err := s.authorize(ctx, c, "ListProjects", "*"); err != nil {
		return nil, err
	}
	ps, err := s.store.ListProjects(ctx, c.Caller.Account)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out, nil
}

// DeleteProject deletes a project; its builds stay (running ones run on). A project that does
// not exist is no error.
func (s *Service) DeleteProject(ctx context.Context, c identity.Call, name string) error {
	_, err := s.find(ctx, c, "DeleteProject", name)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		err := tx.DeleteProject(ctx, c.Caller.Account, name)
		if errs.Is(err, errs.NotFound) {
			return nil
		}
		return err
	})
}

// StartInput is a StartBuild call.
type StartInput struct {
	ProjectName       string
	EnvOverride       []EnvVar
	BuildspecOverride string
	TimeoutOverride   int
	IdempotencyToken  string
	// Pipeline is set when a deploy pipeline's action starts the build.
	Pipeline *PipelineIO
}

// StartBuild authorizes codebuild:StartBuild on the project and records a build for the
// engine. A token already used for the project returns that build.
func (s *Service) StartBuild(ctx context.Context, c identity.Call, in StartInput) (Build, error) {
	p, err := s.find(ctx, c, "StartBuild", in.ProjectName)
	if err != nil {
		return Build{}, err
	}
	if err := checkEnv(in.EnvOverride, "environmentVariablesOverride"); err != nil {
		return Build{}, err
	}
	if len(in.IdempotencyToken) > 128 {
		return Build{}, invalid("idempotencyToken is longer than 128 characters")
	}
	timeout := p.TimeoutInMinutes
	if in.TimeoutOverride != 0 {
		if in.TimeoutOverride < MinTimeout || in.TimeoutOverride > MaxTimeout {
			return Build{}, invalid("timeoutInMinutesOverride must be %d to %d", MinTimeout, MaxTimeout)
		}
		timeout = in.TimeoutOverride
	}
	src := p.Source
	if in.BuildspecOverride != "" {
		src.Buildspec = in.BuildspecOverride
		if looksInline(src.Buildspec) {
			if _, err := buildspec.Parse(src.Buildspec); err != nil {
				return Build{}, invalid("buildspecOverride: %v", err)
			}
		}
	}
	if (in.Pipeline != nil) != (src.Type == "CODEPIPELINE") {
		if in.Pipeline != nil {
			return Build{}, invalid("project %s's source type is %s: a pipeline's action needs source and artifacts of type CODEPIPELINE", p.Name, src.Type)
		}
		return Build{}, invalid("project %s's source type is CODEPIPELINE: its builds are started by a deploy pipeline's action", p.Name)
	}
	env := mergeEnv(p.Environment.Variables, in.EnvOverride)
	uuid := randid.UUID()
	id := p.Name + ":" + uuid
	now := s.now()
	b := Build{Account: p.Account, Region: s.region, ID: id, ARN: arn.CodeBuildBuild(s.region, p.Account, id), ProjectName: p.Name, Project: p,
		Status: InProgress, CurrentPhase: PhaseSubmitted, Source: src, Pipeline: in.Pipeline, Env: env, TimeoutInMinutes: timeout,
		Initiator: initiator(c.Caller), IdempotencyToken: in.IdempotencyToken,
		LogGroup: "/aws/codebuild/" + p.Name, LogStream: uuid, StartTime: now,
		Phases: []Phase{{Type: PhaseSubmitted, Status: Succeeded, StartTime: now, EndTime: now}}}
	var out Build
	err = s.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.LockProject(ctx, p.Account, p.Name); errs.Is(err, errs.NotFound) {
			return notFound("Project cannot be found: %s", p.ARN)
		} else if err != nil {
			return err
		}
		if in.IdempotencyToken != "" {
			prev, err := tx.BuildByToken(ctx, p.Account, p.Name, in.IdempotencyToken)
			if err == nil {
				out = prev
				return nil
			}
			if !errs.Is(err, errs.NotFound) {
				return err
			}
		}
		n, err := tx.NextNumber(ctx, p.Account, p.Name)
		if err != nil {
			return err
		}
		b.Number = n
		if err := tx.InsertBuild(ctx, b); err != nil {
			return err
		}
		out = b
		return tx.Enqueue(ctx, WorkKind, WorkKey(b.Account, b.ID), now)
	})
	return out, err
}

func initiator(c identity.Caller) string {
	if a, err := arn.Parse(c.ARN); err == nil {
		return a.Resource
	}
	return c.ARN
}

func mergeEnv(base, over []EnvVar) []EnvVar {
	out := append([]EnvVar(nil), base...)
	for _, o := range over {
		replaced := false
		for i := range out {
			if out[i].Name == o.Name {
				out[i], replaced = o, true
			}
		}
		if !replaced {
			out = append(out, o)
		}
	}
	return out
}

// splitID reads PROJECT:UUID (or a build ARN; foreign when of another account, whose builds
// this caller's account does not hold).
func (s *Service) splitID(c identity.Call, id string) (project, bid string, foreign, ok bool) {
	if a, err := arn.Parse(id); err == nil && a.Service == "codebuild" {
		if !strings.HasPrefix(a.Resource, "build/") {
			return "", "", false, false
		}
		if a.Account != c.Caller.Account {
			return "", "", true, true
		}
		id = strings.TrimPrefix(a.Resource, "build/")
	}
	project, _, ok = strings.Cut(id, ":")
	return project, id, false, ok && nameRE.MatchString(project)
}

// BatchGetBuilds returns the builds named (each authorized on its project) and the ids not
// found.
func (s *Service) BatchGetBuilds(ctx context.Context, c identity.Call, ids []string) ([]Build, []string, error) {
	if len(ids) == 0 || len(ids) > MaxBatch {
		return nil, nil, invalid("ids must hold 1 to %d build ids", MaxBatch)
	}
	var found []Build
	var missing []string
	for _, raw := range ids {
		project, id, foreign, ok := s.splitID(c, raw)
		if !ok {
			return nil, nil, invalid("build id %q must be PROJECT:ID", raw)
		}
		if foreign {
			missing = append(missing, raw)
			continue
		}
		if err := s.authorize(ctx, c, "BatchGetBuilds", s.ProjectARN(c.Caller.Account, project)); err != nil {
			return nil, nil, err
		}
		b, err := s.store.GetBuild(ctx, c.Caller.Account, id)
		if errs.Is(err, errs.NotFound) {
			missing = append(missing, raw)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		found = append(found, b)
	}
	return found, missing, nil
}

// ListBuildsForProject lists a project's build ids, newest first (ascending when asc).
func (s *Service) ListBuildsForProject(ctx context.Context, c identity.Call, name string, asc bool) ([]string, error) {
	if _, err := s.find(ctx, c, "ListBuildsForProject", name); err != nil {
		return nil, err
	}
	ids, err := s.store.ListBuilds(ctx, c.Caller.Account, name)
	if err != nil {
		return nil, err
	}
	if asc {
		for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
			ids[i], ids[j] = ids[j], ids[i]
		}
	}
	return ids, nil
}

// StopBuild asks the engine to stop a build not yet ended; it returns the build.
func (s *Service) StopBuild(ctx context.Context, c identity.Call, id string) (Build, error) {
	project, bid, foreign, ok := s.splitID(c, id)
	if !ok {
		return Build{}, invalid("build id %q must be PROJECT:ID", id)
	}
	if foreign {
		return Build{}, notFound("Build cannot be found: %s", id)
	}
	if err := s.authorize(ctx, c, "StopBuild", s.ProjectARN(c.Caller.Account, project)); err != nil {
		return Build{}, err
	}
	var out Build
	err := s.store.Update(ctx, func(tx Tx) error {
		b, err := tx.LockBuild(ctx, c.Caller.Account, bid)
		if errs.Is(err, errs.NotFound) {
			return notFound("Build cannot be found: %s", id)
		}
		if err != nil {
			return err
		}
		if !b.Status.Terminal() && !b.StopRequested {
			b.StopRequested = true
			if err := tx.UpdateBuild(ctx, b); err != nil {
				return err
			}
			if err := tx.Enqueue(ctx, WorkKind, WorkKey(b.Account, b.ID), s.now()); err != nil {
				return err
			}
		}
		out = b
		return nil
	})
	return out, err
}

// GetBuild returns a build for the engine and other services of this server (no caller).
func (s *Service) GetBuild(ctx context.Context, account, id string) (Build, error) {
	return s.store.GetBuild(ctx, account, id)
}

func (s *Service) nowTime() time.Time { return s.now() }
