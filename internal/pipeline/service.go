package pipeline

import (
	"context"
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/randid"
)

// WorkKind is the reconcile kind of the execution engine; its keys are execution ARNs.
const WorkKind = "pipeline-executions"

// ServicePrincipal is the service a pipeline's role is passed to, and the engine's name when
// it acts as the role (the role's trust policy must allow it to sts:AssumeRole).
const ServicePrincipal = "sagemaker.amazonaws.com"

// The events an execution sends, as SageMaker names them.
const (
	EventSource         = "aws.sagemaker"
	ExecutionDetailType = "SageMaker Model Building Pipeline Execution Status Change"
	StepDetailType      = "SageMaker Model Building Pipeline Execution Step Status Change"
)

// Limits (SageMaker's).
const (
	MaxDefinitionBytes = 1 << 20 // PipelineDefinition: 1 MB
	MaxParameters      = 200
)

var (
	nameRE   = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$`)
	execIDRE = regexp.MustCompile(`^[a-z0-9]{1,64}$`)
)

// Service is the pipelines' API: pipelines, their versions and executions.
type Service struct {
	store   Store
	authz   Authorizer
	roles   RolePasser
	objects Objects
	region  string
	now     func() time.Time
	newID   func() string
}

// ServiceConfig holds a Service's collaborators. Objects may be nil: definitions given as
// PipelineDefinitionS3Location are then refused.
type ServiceConfig struct {
	Store   Store
	Authz   Authorizer
	Roles   RolePasser
	Objects Objects
	Region  string
	Now     func() time.Time
}

// NewService returns a Service.
func NewService(c ServiceConfig) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Service{store: c.Store, authz: c.Authz, roles: c.Roles, objects: c.Objects, region: c.Region, now: c.Now,
		newID: func() string { return randid.String(12, "abcdefghijklmnopqrstuvwxyz0123456789") }}
}

// PipelineARN returns a pipeline's ARN (its name in lower case, as SageMaker writes it).
func (s *Service) PipelineARN(account, name string) string {
	return arn.SageMaker(s.region, account, "pipeline", strings.ToLower(name))
}

// ExecutionARN returns the ARN of a pipeline's execution.
func (s *Service) ExecutionARN(account, pipelineName, id string) string {
	return s.PipelineARN(account, pipelineName) + "/execution/" + id
}

// ParseExecutionARN reads an execution ARN back into its account, pipeline name and id.
func ParseExecutionARN(s string) (account, pipelineName, id string, ok bool) {
	a, err := arn.Parse(s)
	if err != nil || a.Service != "sagemaker" {
		return "", "", "", false
	}
	rest, found := strings.CutPrefix(a.Resource, "pipeline/")
	if !found {
		return "", "", "", false
	}
	name, id, found := strings.Cut(rest, "/execution/")
	return a.Account, name, id, found && nameRE.MatchString(name) && execIDRE.MatchString(id)
}

func invalid(format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...).WithCode("ValidationException")
}

func (s *Service) pipelineMissing(account, name string) error {
	return errs.E(errs.NotFound, "Pipeline '%s' does not exist.", s.PipelineARN(account, name)).WithCode("ResourceNotFound")
}

func executionMissing(a string) error {
	return errs.E(errs.NotFound, "Pipeline execution '%s' does not exist.", a).WithCode("ResourceNotFound")
}

// pipelineRef reads a PipelineName member (a name or a pipeline ARN) into account and name.
func (s *Service) pipelineRef(c identity.Call, nameOrARN string) (account, name string, err error) {
	if strings.HasPrefix(nameOrARN, "arn:") {
		a, perr := arn.Parse(nameOrARN)
		n, found := strings.CutPrefix(a.Resource, "pipeline/")
		if perr != nil || a.Service != "sagemaker" || !found || !nameRE.MatchString(n) {
			return "", "", invalid("PipelineName %q is not a pipeline name or ARN", nameOrARN)
		}
		if a.Region != s.region {
			return "", "", invalid("The pipeline %s is in region %s; this server serves %s", nameOrARN, a.Region, s.region)
		}
		return a.Account, n, nil
	}
	if !nameRE.MatchString(nameOrARN) {
		return "", "", invalid("PipelineName %q must be 1 to 256 letters, digits and hyphens, starting and ending with a letter or digit", nameOrARN)
	}
	return c.Caller.Account, nameOrARN, nil
}

// authorize decides op on resource (of account) for the caller.
func (s *Service) authorize(ctx context.Context, c identity.Call, op, resource, account string) error {
	_, err := s.authz.Authorize(ctx, c.Caller, identity.Action{
		Name: "sagemaker:" + op, Resource: resource, ResourceAccount: account, Context: c.Context,
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

// S3Location names a definition stored as an object (PipelineDefinitionS3Location).
type S3Location struct {
	Bucket, Key, VersionID string
}

// DefinitionSource is a definition given inline or as an object.
type DefinitionSource struct {
	Text string
	S3   *S3Location
}

// text returns the definition's text, read as the caller when it is an object.
func (s *Service) text(ctx context.Context, c identity.Call, d DefinitionSource) (string, error) {
	if (d.Text == "") == (d.S3 == nil) {
		return "", invalid("give exactly one of PipelineDefinition and PipelineDefinitionS3Location")
	}
	if d.S3 == nil {
		if len(d.Text) > MaxDefinitionBytes {
			return "", invalid("PipelineDefinition is %d bytes; at most %d are allowed", len(d.Text), MaxDefinitionBytes)
		}
		return d.Text, nil
	}
	if d.S3.VersionID != "" {
		return "", invalid("PipelineDefinitionS3Location.VersionId is not supported: the artifact store keeps no object versions")
	}
	if s.objects == nil {
		return "", invalid("PipelineDefinitionS3Location is not supported on this server")
	}
	b, err := s.objects.ReadObject(ctx, c.Caller, d.S3.Bucket, d.S3.Key, MaxDefinitionBytes+1)
	switch {
	case errs.Is(err, errs.NotFound):
		return "", invalid("The pipeline definition s3://%s/%s does not exist", d.S3.Bucket, d.S3.Key)
	case err != nil:
		return "", err
	case len(b) > MaxDefinitionBytes:
		return "", invalid("The pipeline definition s3://%s/%s is larger than %d bytes", d.S3.Bucket, d.S3.Key, MaxDefinitionBytes)
	}
	return string(b), nil
}

func checkParallel(n *int) error {
	if n != nil && *n < 1 {
		return invalid("ParallelismConfiguration.MaxParallelExecutionSteps must be at least 1")
	}
	return nil
}

// CreateInput is a CreatePipeline request.
type CreateInput struct {
	Name        string
	DisplayName string
	Description string
	RoleARN     string
	Definition  DefinitionSource
	MaxParallel *int
	Tags        map[string]string
	ClientToken string
}

// CreatePipeline validates a pipeline's definition, authorizes it (sagemaker:CreatePipeline on
// the pipeline and iam:PassRole of its role to SageMaker) and stores it as version 1.
func (s *Service) CreatePipeline(ctx context.Context, c identity.Call, in CreateInput) (Pipeline, error) {
	if !nameRE.MatchString(in.Name) {
		return Pipeline{}, invalid("PipelineName %q must be 1 to 256 letters, digits and hyphens, starting and ending with a letter or digit", in.Name)
	}
	if err := checkParallel(in.MaxParallel); err != nil {
		return Pipeline{}, err
	}
	if _, err := arn.ParseIAM(in.RoleARN); err != nil {
		return Pipeline{}, invalid("RoleArn %q is not an IAM role ARN", in.RoleARN)
	}
	now := s.now()
	p := Pipeline{Account: c.Caller.Account, Name: in.Name, ARN: s.PipelineARN(c.Caller.Account, in.Name), DisplayName: in.DisplayName,
		Description: in.Description, RoleARN: in.RoleARN, Version: 1, Tags: in.Tags, CreatedBy: c.Caller.ARN, ModifiedBy: c.Caller.ARN,
		CreatedAt: now, ModifiedAt: now, ClientToken: in.ClientToken}
	if in.MaxParallel != nil {
		p.MaxParallel = *in.MaxParallel
	}
	if p.DisplayName == "" {
		p.DisplayName = p.Name
	}
	if err := s.authorize(ctx, withRequestTags(c, in.Tags), "CreatePipeline", p.ARN, p.Account); err != nil {
		return Pipeline{}, err
	}
	if _, err := s.roles.PassRole(ctx, c, in.RoleARN, ServicePrincipal); err != nil {
		return Pipeline{}, err
	}
	text, err := s.text(ctx, c, in.Definition)
	if err != nil {
		return Pipeline{}, err
	}
	if _, err := parseDefinition(text); err != nil {
		return Pipeline{}, err
	}
	v := Version{PipelineARN: p.ARN, Version: 1, DisplayName: p.DisplayName, Description: p.Description, RoleARN: p.RoleARN,
		Definition: text, CreatedBy: c.Caller.ARN, CreatedAt: now}
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.InsertPipeline(ctx, p); err != nil {
			return err
		}
		return tx.InsertVersion(ctx, v)
	})
	if errs.Is(err, errs.Conflict) {
		// A retry of the request that created it gets the pipeline.
		if prev, gerr := s.store.GetPipeline(ctx, p.Account, p.Name); gerr == nil && in.ClientToken != "" && prev.ClientToken == in.ClientToken {
			return prev, nil
		}
		// The SageMaker Python SDK's upsert relies on this message to fall back to UpdatePipeline.
		return Pipeline{}, invalid("Pipeline names must be unique within an AWS account and region. Pipeline with name (%s) already exists.", in.Name)
	}
	if err != nil {
		return Pipeline{}, err
	}
	return p, nil
}

// DescribePipeline returns a pipeline with a version of it (0: the latest).
func (s *Service) DescribePipeline(ctx context.Context, c identity.Call, nameOrARN string, version int64) (Pipeline, Version, error) {
	account, name, err := s.pipelineRef(c, nameOrARN)
	if err != nil {
		return Pipeline{}, Version{}, err
	}
	if err := s.authorize(ctx, c, "DescribePipeline", s.PipelineARN(account, name), account); err != nil {
		return Pipeline{}, Version{}, err
	}
	p, err := s.load(ctx, account, name)
	if err != nil {
		return Pipeline{}, Version{}, err
	}
	if version == 0 {
		version = p.Version
	}
	v, err := s.store.GetVersion(ctx, p.ARN, version)
	if errs.Is(err, errs.NotFound) {
		return Pipeline{}, Version{}, errs.E(errs.NotFound, "Pipeline '%s' has no version %d.", p.ARN, version).WithCode("ResourceNotFound")
	}
	return p, v, err
}

// load reads a pipeline, refusing one of another account (its ARN was given: there are no
// pipeline resource policies, so the caller's account may not read it).
func (s *Service) load(ctx context.Context, account, name string) (Pipeline, error) {
	p, err := s.store.GetPipeline(ctx, account, name)
	if errs.Is(err, errs.NotFound) {
		return Pipeline{}, s.pipelineMissing(account, name)
	}
	return p, err
}

// UpdateInput is an UpdatePipeline request; nil and empty members keep what the pipeline has.
type UpdateInput struct {
	Name        string
	DisplayName *string
	Description *string
	RoleARN     string
	Definition  *DefinitionSource
	MaxParallel *int
}

// UpdatePipeline makes a new version of a pipeline. Executions already started keep running
// the version they started on.
func (s *Service) UpdatePipeline(ctx context.Context, c identity.Call, in UpdateInput) (Pipeline, error) {
	account, name, err := s.pipelineRef(c, in.Name)
	if err != nil {
		return Pipeline{}, err
	}
	if err := checkParallel(in.MaxParallel); err != nil {
		return Pipeline{}, err
	}
	if err := s.authorize(ctx, c, "UpdatePipeline", s.PipelineARN(account, name), account); err != nil {
		return Pipeline{}, err
	}
	if in.RoleARN != "" {
		if _, err := arn.ParseIAM(in.RoleARN); err != nil {
			return Pipeline{}, invalid("RoleArn %q is not an IAM role ARN", in.RoleARN)
		}
		if _, err := s.roles.PassRole(ctx, c, in.RoleARN, ServicePrincipal); err != nil {
			return Pipeline{}, err
		}
	}
	var text string
	if in.Definition != nil {
		if text, err = s.text(ctx, c, *in.Definition); err != nil {
			return Pipeline{}, err
		}
		if _, err := parseDefinition(text); err != nil {
			return Pipeline{}, err
		}
	}
	var out Pipeline
	err = s.store.Update(ctx, func(tx Tx) error {
		p, err := tx.LockPipeline(ctx, account, name)
		if errs.Is(err, errs.NotFound) {
			return s.pipelineMissing(account, name)
		}
		if err != nil {
			return err
		}
		prev, err := s.store.GetVersion(ctx, p.ARN, p.Version)
		if err != nil {
			return err
		}
		now := s.now()
		v := prev
		v.Version, v.CreatedAt, v.CreatedBy = p.Version+1, now, c.Caller.ARN
		if text != "" {
			v.Definition = text
		}
		if in.RoleARN != "" {
			v.RoleARN, p.RoleARN = in.RoleARN, in.RoleARN
		}
		if in.DisplayName != nil {
			v.DisplayName, p.DisplayName = *in.DisplayName, *in.DisplayName
		}
		if in.Description != nil {
			v.Description, p.Description = *in.Description, *in.Description
		}
		if in.MaxParallel != nil {
			p.MaxParallel = *in.MaxParallel
		}
		p.Version, p.ModifiedAt, p.ModifiedBy = v.Version, now, c.Caller.ARN
		if err := tx.UpdatePipeline(ctx, p); err != nil {
			return err
		}
		out = p
		return tx.InsertVersion(ctx, v)
	})
	return out, err
}

// DeletePipeline deletes a pipeline and its versions; its executions still running are
// stopped. Their records stay.
func (s *Service) DeletePipeline(ctx context.Context, c identity.Call, nameOrARN string) (string, error) {
	account, name, err := s.pipelineRef(c, nameOrARN)
	if err != nil {
		return "", err
	}
	parn := s.PipelineARN(account, name)
	if err := s.authorize(ctx, c, "DeletePipeline", parn, account); err != nil {
		return "", err
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		running, err := tx.ExecutionsOf(ctx, parn)
		if err != nil {
			return err
		}
		for _, a := range running {
			if err := s.stop(ctx, tx, a); err != nil {
				return err
			}
		}
		err = tx.DeletePipeline(ctx, account, name)
		if errs.Is(err, errs.NotFound) {
			return s.pipelineMissing(account, name)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	return parn, nil
}

// ListPipelines lists the caller's pipelines.
func (s *Service) ListPipelines(ctx context.Context, c identity.Call, q Query) ([]Pipeline, error) {
	if q.SortBy != "" && q.SortBy != "Name" && q.SortBy != "CreationTime" {
		return nil, invalid("SortBy %q must be Name or CreationTime", q.SortBy)
	}
	if err := s.authorize(ctx, c, "ListPipelines", "*", c.Caller.Account); err != nil {
		return nil, err
	}
	return s.store.ListPipelines(ctx, c.Caller.Account, q)
}

// ListVersions lists a pipeline's versions.
func (s *Service) ListVersions(ctx context.Context, c identity.Call, nameOrARN string, q Query) ([]Version, error) {
	account, name, err := s.pipelineRef(c, nameOrARN)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, "ListPipelineVersions", s.PipelineARN(account, name), account); err != nil {
		return nil, err
	}
	p, err := s.load(ctx, account, name)
	if err != nil {
		return nil, err
	}
	return s.store.ListVersions(ctx, p.ARN, q)
}

// StartInput is a StartPipelineExecution request.
type StartInput struct {
	Pipeline    string // name or ARN
	DisplayName string
	Description string
	Parameters  []Parameter
	ClientToken string
	MaxParallel *int
	Version     int64 // 0: the latest
	// Selected, when set, makes a selective execution: only these steps run; the steps they
	// depend on are reused from Source (an execution of the pipeline; "" is its latest).
	Selected []string
	Source   string
}

// StartExecution starts an execution of a pipeline's version: its parameters are checked
// against the definition's (unknown names and values of the wrong type are refused; missing
// ones take their defaults). A ClientRequestToken the pipeline has seen returns the execution
// it started.
func (s *Service) StartExecution(ctx context.Context, c identity.Call, in StartInput) (Execution, error) {
	account, name, err := s.pipelineRef(c, in.Pipeline)
	if err != nil {
		return Execution{}, err
	}
	if err := checkParallel(in.MaxParallel); err != nil {
		return Execution{}, err
	}
	if len(in.Parameters) > MaxParameters {
		return Execution{}, invalid("PipelineParameters has %d entries; at most %d are allowed", len(in.Parameters), MaxParameters)
	}
	parn := s.PipelineARN(account, name)
	if err := s.authorize(ctx, c, "StartPipelineExecution", parn, account); err != nil {
		return Execution{}, err
	}
	p, err := s.load(ctx, account, name)
	if err != nil {
		return Execution{}, err
	}
	version := p.Version
	if in.Version != 0 {
		version = in.Version
	}
	v, err := s.store.GetVersion(ctx, p.ARN, version)
	if errs.Is(err, errs.NotFound) {
		return Execution{}, invalid("PipelineVersionId %d is not a version of pipeline %s", version, p.ARN)
	}
	if err != nil {
		return Execution{}, err
	}
	def, err := parseDefinition(v.Definition)
	if err != nil {
		return Execution{}, err
	}
	params, err := def.bind(in.Parameters)
	if err != nil {
		return Execution{}, err
	}
	if in.Selected != nil {
		if in.Source, err = s.checkSelective(ctx, p, def, in.Selected, in.Source); err != nil {
			return Execution{}, err
		}
	}
	now := s.now()
	id := s.newID()
	e := Execution{Selected: in.Selected, Source: in.Source, Account: account, PipelineName: p.Name, PipelineARN: p.ARN, ARN: s.ExecutionARN(account, p.Name, id), ID: id,
		PipelineVersion: version, DisplayName: in.DisplayName, Description: in.Description, Status: Executing,
		Parameters: params, ClientToken: in.ClientToken, RoleARN: v.RoleARN, MaxParallel: p.MaxParallel,
		CreatedBy: c.Caller.ARN, CreatedAt: now, ModifiedAt: now}
	if e.DisplayName == "" {
		e.DisplayName = "execution-" + strconv.FormatInt(now.UnixMilli(), 10)
	}
	if in.MaxParallel != nil {
		e.MaxParallel = *in.MaxParallel
	}
	var out Execution
	err = s.store.Update(ctx, func(tx Tx) error {
		if e.ClientToken != "" {
			prev, err := tx.ExecutionByToken(ctx, p.ARN, e.ClientToken)
			if err == nil {
				out = prev
				return nil
			}
			if !errs.Is(err, errs.NotFound) {
				return err
			}
		}
		cur, err := tx.LockPipeline(ctx, account, name)
		if errs.Is(err, errs.NotFound) {
			return s.pipelineMissing(account, name)
		}
		if err != nil {
			return err
		}
		cur.LastExecutionAt = now
		if err := tx.UpdatePipeline(ctx, cur); err != nil {
			return err
		}
		if err := tx.InsertExecution(ctx, e, v.Definition); err != nil {
			return err
		}
		if err := s.appendExecutionEvent(ctx, tx, e, ""); err != nil {
			return err
		}
		out = e
		return tx.Enqueue(ctx, WorkKind, e.ARN, now)
	})
	return out, err
}

// checkSelective checks a selective execution: the selected steps exist, the source is an
// execution of the pipeline (its latest when ""), and every step a selected one depends on and
// that is not selected itself succeeded in the source. It returns the source's ARN.
func (s *Service) checkSelective(ctx context.Context, p Pipeline, def *parsed, selected []string, source string) (string, error) {
	if len(selected) == 0 {
		return "", invalid("SelectiveExecutionConfig.SelectedSteps must name at least one step")
	}
	chosen := map[string]bool{}
	for _, n := range selected {
		if _, ok := def.d.Step(n); !ok {
			return "", invalid("SelectiveExecutionConfig.SelectedSteps: the pipeline has no step %q", n)
		}
		chosen[n] = true
	}
	if source == "" {
		latest, err := s.store.ListExecutions(ctx, p.ARN, Query{Descending: true, Limit: 1})
		if err != nil {
			return "", err
		}
		if len(latest) == 0 {
			return "", invalid("SelectiveExecutionConfig: pipeline %s has no execution to reuse step results from", p.ARN)
		}
		source = latest[0].ARN
	}
	src, err := s.store.GetExecution(ctx, source)
	if errs.Is(err, errs.NotFound) || err == nil && src.PipelineARN != p.ARN {
		return "", invalid("SelectiveExecutionConfig.SourcePipelineExecutionArn %s is not an execution of pipeline %s", source, p.ARN)
	}
	if err != nil {
		return "", err
	}
	steps, err := s.store.ListSteps(ctx, source)
	if err != nil {
		return "", err
	}
	done := map[string]bool{}
	for _, st := range steps {
		done[st.Name] = st.Status == StepSucceeded
	}
	for _, n := range selected {
		for _, up := range def.d.Plan().Upstream(n) {
			if !chosen[up] && !done[up] {
				return "", invalid("SelectiveExecutionConfig: step %q depends on step %q, which is not selected and did not succeed in the source execution %s", n, up, source)
			}
		}
	}
	return source, nil
}

// execution authorizes op on an execution and reads it.
func (s *Service) execution(ctx context.Context, c identity.Call, op, executionARN string) (Execution, error) {
	account, _, _, ok := ParseExecutionARN(executionARN)
	if !ok {
		return Execution{}, invalid("PipelineExecutionArn %q is not a pipeline execution ARN", executionARN)
	}
	if err := s.authorize(ctx, c, op, executionARN, account); err != nil {
		return Execution{}, err
	}
	e, err := s.store.GetExecution(ctx, executionARN)
	if errs.Is(err, errs.NotFound) {
		return Execution{}, executionMissing(executionARN)
	}
	return e, err
}

// DescribeExecution returns an execution.
func (s *Service) DescribeExecution(ctx context.Context, c identity.Call, executionARN string) (Execution, error) {
	return s.execution(ctx, c, "DescribePipelineExecution", executionARN)
}

// ListExecutions lists a pipeline's executions.
func (s *Service) ListExecutions(ctx context.Context, c identity.Call, nameOrARN string, q Query) ([]Execution, error) {
	account, name, err := s.pipelineRef(c, nameOrARN)
	if err != nil {
		return nil, err
	}
	if q.SortBy != "" && q.SortBy != "CreationTime" && q.SortBy != "PipelineExecutionArn" {
		return nil, invalid("SortBy %q must be CreationTime or PipelineExecutionArn", q.SortBy)
	}
	parn := s.PipelineARN(account, name)
	if err := s.authorize(ctx, c, "ListPipelineExecutions", parn, account); err != nil {
		return nil, err
	}
	if _, err := s.load(ctx, account, name); err != nil {
		return nil, err
	}
	return s.store.ListExecutions(ctx, parn, q)
}

// ListSteps lists an execution's steps, most recent first unless ascending.
func (s *Service) ListSteps(ctx context.Context, c identity.Call, executionARN string, ascending bool) ([]Step, error) {
	if _, err := s.execution(ctx, c, "ListPipelineExecutionSteps", executionARN); err != nil {
		return nil, err
	}
	steps, err := s.store.ListSteps(ctx, executionARN)
	if err != nil {
		return nil, err
	}
	if !ascending {
		for i, j := 0, len(steps)-1; i < j; i, j = i+1, j-1 {
			steps[i], steps[j] = steps[j], steps[i]
		}
	}
	return steps, nil
}

// Parameters returns the parameters an execution runs with.
func (s *Service) Parameters(ctx context.Context, c identity.Call, executionARN string) ([]Parameter, error) {
	e, err := s.execution(ctx, c, "ListPipelineParametersForExecution", executionARN)
	return e.Parameters, err
}

// ExecutionDefinition returns the definition an execution runs and when it started.
func (s *Service) ExecutionDefinition(ctx context.Context, c identity.Call, executionARN string) (string, time.Time, error) {
	e, err := s.execution(ctx, c, "DescribePipelineDefinitionForExecution", executionARN)
	if err != nil {
		return "", time.Time{}, err
	}
	def, err := s.store.ExecutionDefinition(ctx, executionARN)
	return def, e.CreatedAt, err
}

// StopExecution asks an execution to stop: it is Stopping at once; the engine stops its
// running jobs and moves it to Stopped. Stopping one that is stopping changes nothing.
func (s *Service) StopExecution(ctx context.Context, c identity.Call, executionARN string) error {
	if _, err := s.execution(ctx, c, "StopPipelineExecution", executionARN); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error { return s.stop(ctx, tx, executionARN) })
}

func (s *Service) stop(ctx context.Context, tx Tx, executionARN string) error {
	e, err := tx.LockExecution(ctx, executionARN)
	if errs.Is(err, errs.NotFound) {
		return executionMissing(executionARN)
	}
	if err != nil {
		return err
	}
	if e.Status == Stopping {
		return nil
	}
	if !e.Status.CanMoveTo(Stopping) {
		return invalid("Pipeline execution %s is %s; only an executing pipeline can be stopped.", e.ARN, e.Status)
	}
	prev := e.Status
	e.Status, e.ModifiedAt = Stopping, s.now()
	if err := tx.UpdateExecution(ctx, e); err != nil {
		return err
	}
	if err := s.appendExecutionEvent(ctx, tx, e, prev); err != nil {
		return err
	}
	return tx.Enqueue(ctx, WorkKind, e.ARN, e.ModifiedAt)
}

func eventTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// appendExecutionEvent appends e's status change event (previous "" for a start).
func (s *Service) appendExecutionEvent(ctx context.Context, tx Tx, e Execution, previous Status) error {
	d := map[string]any{
		"pipelineExecutionDisplayName":   e.DisplayName,
		"currentPipelineExecutionStatus": e.Status,
		"executionStartTime":             eventTime(e.CreatedAt),
		"pipelineExecutionDescription":   e.Description,
		"pipelineArn":                    e.PipelineARN,
		"pipelineExecutionArn":           e.ARN,
	}
	if previous != "" {
		d["previousPipelineExecutionStatus"] = previous
	}
	if e.Status.Terminal() {
		d["executionEndTime"] = eventTime(e.ModifiedAt)
	}
	if e.FailureReason != "" {
		d["failureReason"] = e.FailureReason
	}
	return s.appendEvent(ctx, tx, e, ExecutionDetailType, e.ModifiedAt, d)
}

// appendStepEvent appends a step's status change event.
func (s *Service) appendStepEvent(ctx context.Context, tx Tx, e Execution, st Step, previous StepStatus) error {
	d := map[string]any{
		"stepStartTime":        eventTime(st.StartedAt),
		"stepName":             st.Name,
		"stepType":             st.Type,
		"currentStepStatus":    st.Status,
		"pipelineArn":          e.PipelineARN,
		"pipelineExecutionArn": e.ARN,
	}
	if previous != "" {
		d["previousStepStatus"] = previous
	}
	if !st.EndedAt.IsZero() {
		d["stepEndTime"] = eventTime(st.EndedAt)
	}
	if st.FailureReason != "" {
		d["failureReason"] = st.FailureReason
	}
	if md := eventMetadata(st.Metadata); md != nil {
		d["metadata"] = md
	}
	at := st.StartedAt
	if !st.EndedAt.IsZero() {
		at = st.EndedAt
	}
	return s.appendEvent(ctx, tx, e, StepDetailType, at, d)
}

// eventMetadata is a step's metadata as the step event carries it: SageMaker's event names
// the members in lower camel case ({"trainingJob":{"arn":…}}).
func eventMetadata(raw json.RawMessage) map[string]any {
	var md map[string]map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &md) != nil || len(md) == 0 {
		return nil
	}
	out := map[string]any{}
	for k, v := range md {
		inner := map[string]any{}
		for ik, iv := range v {
			inner[lowerFirst(ik)] = iv
		}
		out[lowerFirst(k)] = inner
	}
	return out
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func (s *Service) appendEvent(ctx context.Context, tx Tx, e Execution, detailType string, at time.Time, detail map[string]any) error {
	body, err := json.Marshal(detail)
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the event", err)
	}
	return tx.AppendEvent(ctx, events.Event{ID: randid.UUID(), Account: e.Account, Region: s.region, Source: EventSource,
		DetailType: detailType, Time: at, Resources: []string{e.PipelineARN, e.ARN}, Detail: body})
}
