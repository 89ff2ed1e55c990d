package sagemakerapi

import (
	"context"
	"fmt"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/projects"
)

// projectHandlers are the operations of SageMaker Projects and of Slipway's template catalog
// (docs/projects.md).
func (a *API) projectHandlers(h map[string]awsapi.Handler) {
	h["CreateProject"] = apicall.Handle(a.createProject)
	h["DescribeProject"] = apicall.Handle(a.describeProject)
	h["ListProjects"] = apicall.Handle(a.listProjects)
	h["UpdateProject"] = apicall.Handle(a.updateProject)
	h["DeleteProject"] = apicall.Handle(a.deleteProject)
	h["SlipwayCreateProjectTemplate"] = apicall.Handle(a.createTemplate)
	h["SlipwayDescribeProjectTemplate"] = apicall.Handle(a.describeTemplate)
	h["SlipwayListProjectTemplates"] = apicall.Handle(a.listTemplates)
	h["SlipwayDeleteProjectTemplate"] = apicall.Handle(a.deleteTemplate)
}

// The resources of the projects' operations. The project's stack is created, updated and
// deleted by the project engine acting as the caller, so the caller also needs the
// CloudFormation actions and those of every resource its template makes; the seed code is
// written with s3:PutObject as the caller. The template catalog's operations are Slipway's own
// (slipway_operations.json), with actions of their own on project-template/NAME.
const (
	projectARN  = "arn:aws:sagemaker:{Region}:{Account}:project/{ProjectName}"
	templateARN = "arn:aws:sagemaker:{Region}:{Account}:project-template/{TemplateName}"
)

func projectOperations() []awsapi.Authz {
	return []awsapi.Authz{
		{Operation: "CreateProject", Action: "sagemaker:CreateProject", Resources: []string{projectARN}},
		{Operation: "DescribeProject", Action: "sagemaker:DescribeProject", Resources: []string{projectARN}},
		{Operation: "ListProjects", Action: "sagemaker:ListProjects", Resources: []string{"*"}},
		{Operation: "UpdateProject", Action: "sagemaker:UpdateProject", Resources: []string{projectARN}},
		{Operation: "DeleteProject", Action: "sagemaker:DeleteProject", Resources: []string{projectARN}},
		{Operation: "SlipwayCreateProjectTemplate", Action: "sagemaker:CreateProjectTemplate", Resources: []string{templateARN}},
		{Operation: "SlipwayDescribeProjectTemplate", Action: "sagemaker:DescribeProjectTemplate", Resources: []string{templateARN}},
		{Operation: "SlipwayListProjectTemplates", Action: "sagemaker:ListProjectTemplates", Resources: []string{"*"}},
		{Operation: "SlipwayDeleteProjectTemplate", Action: "sagemaker:DeleteProjectTemplate", Resources: []string{templateARN}},
	}
}

type provisioningParameter struct{ Key, Value string }

type provisioningDetails struct {
	ProductId              string
	ProvisioningArtifactId string
	PathId                 string
	ProvisioningParameters []provisioningParameter
}

func params(in []provisioningParameter) []projects.Parameter {
	if in == nil {
		return nil
	}
	out := make([]projects.Parameter, 0, len(in))
	for _, p := range in {
		out = append(out, projects.Parameter{Key: p.Key, Value: p.Value})
	}
	return out
}

type createProjectIn struct {
	ProjectName                       string
	ProjectDescription                string
	ServiceCatalogProvisioningDetails *provisioningDetails
	Tags                              []apicall.Tag
	TemplateProviders                 []map[string]any
}

func (a *API) createProject(ctx context.Context, req *awsapi.Request, in *createProjectIn) (any, error) {
	tags, err := apicall.TagMap(in.Tags)
	if err != nil {
		return nil, err
	}
	d := in.ServiceCatalogProvisioningDetails
	if d == nil {
		d = &provisioningDetails{}
	}
	p, err := a.Projects.CreateProject(ctx, apicall.Call(req), projects.CreateInput{
		Name: in.ProjectName, Description: in.ProjectDescription, Template: d.ProductId, Artifact: d.ProvisioningArtifactId,
		PathID: d.PathId, Parameters: params(d.ProvisioningParameters), Tags: tags, TemplateProvidersGiven: len(in.TemplateProviders) > 0,
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"ProjectArn": p.ARN, "ProjectId": p.ID}, nil
}

type projectNameIn struct{ ProjectName string }

func projectUser(c identity.Caller) map[string]any {
	return map[string]any{"IamIdentity": map[string]string{"Arn": c.ARN, "PrincipalId": c.UserID}}
}

func (a *API) describeProject(ctx context.Context, req *awsapi.Request, in *projectNameIn) (any, error) {
	p, err := a.Projects.DescribeProject(ctx, apicall.Call(req), in.ProjectName)
	if err != nil {
		return nil, err
	}
	details := map[string]any{"ProductId": p.Template}
	if p.Artifact != "" {
		details["ProvisioningArtifactId"] = p.Artifact
	}
	if p.PathID != "" {
		details["PathId"] = p.PathID
	}
	if len(p.Parameters) > 0 {
		ps := make([]provisioningParameter, 0, len(p.Parameters))
		for _, q := range p.Parameters {
			ps = append(ps, provisioningParameter{q.Key, q.Value})
		}
		details["ProvisioningParameters"] = ps
	}
	provisioned := map[string]string{"ProvisionedProductId": p.ProvisionedProductID()}
	if p.Reason != "" {
		provisioned["ProvisionedProductStatusMessage"] = p.Reason
	}
	out := map[string]any{
		"ProjectArn": p.ARN, "ProjectName": p.Name, "ProjectId": p.ID, "ProjectStatus": p.Status,
		"ServiceCatalogProvisioningDetails": details, "ServiceCatalogProvisionedProductDetails": provisioned,
		"CreatedBy": projectUser(p.CreatedBy), "CreationTime": p.CreatedAt, "LastModifiedTime": p.ModifiedAt,
	}
	if p.Description != "" {
		out["ProjectDescription"] = p.Description
	}
	if p.ModifiedBy != nil {
		out["LastModifiedBy"] = projectUser(*p.ModifiedBy)
	}
	return out, nil
}

type listProjectsIn struct {
	CreationTimeAfter  *time.Time
	CreationTimeBefore *time.Time
	MaxResults         int
	NameContains       string
	NextToken          string
	SortBy             string
	SortOrder          string
}

type projectSummary struct {
	ProjectName        string
	ProjectDescription string `json:",omitempty"`
	ProjectArn         string
	ProjectId          string
	CreationTime       time.Time
	ProjectStatus      projects.Status
}

func (a *API) listProjects(ctx context.Context, req *awsapi.Request, in *listProjectsIn) (any, error) {
	scope := fmt.Sprintf("sagemaker/ListProjects/%s/%s/%s/%s", req.Caller.Account, in.NameContains, in.SortBy, in.SortOrder)
	offset, limit, err := a.page(req, scope, &listIn{MaxResults: in.MaxResults, NextToken: in.NextToken})
	if err != nil {
		return nil, err
	}
	ps, err := a.Projects.ListProjects(ctx, apicall.Call(req), projects.Query{
		NameContains: in.NameContains, CreatedAfter: timeOr(in.CreationTimeAfter), CreatedBefore: timeOr(in.CreationTimeBefore),
		SortBy: in.SortBy, Ascending: in.SortOrder == "Ascending",
	})
	if err != nil {
		return nil, err
	}
	ps = ps[min(offset, len(ps)):]
	next, err := a.nextToken(scope, offset, len(ps), limit)
	if err != nil {
		return nil, err
	}
	ps = ps[:min(len(ps), limit)]
	out := make([]projectSummary, 0, len(ps))
	for _, p := range ps {
		out = append(out, projectSummary{ProjectName: p.Name, ProjectDescription: p.Description, ProjectArn: p.ARN,
			ProjectId: p.ID, CreationTime: p.CreatedAt, ProjectStatus: p.Status})
	}
	return struct {
		ProjectSummaryList []projectSummary
		NextToken          string `json:",omitempty"`
	}{out, next}, nil
}

type updateProjectIn struct {
	ProjectName                             string
	ProjectDescription                      *string
	ServiceCatalogProvisioningUpdateDetails *struct {
		ProvisioningArtifactId string
		ProvisioningParameters []provisioningParameter
	}
	Tags                      []apicall.Tag
	TemplateProvidersToUpdate []map[string]any
}

func (a *API) updateProject(ctx context.Context, req *awsapi.Request, in *updateProjectIn) (any, error) {
	if len(in.TemplateProvidersToUpdate) > 0 {
		return nil, invalid("TemplateProvidersToUpdate is not supported: projects are made from catalog templates")
	}
	u := projects.UpdateInput{Name: in.ProjectName, Description: in.ProjectDescription}
	if d := in.ServiceCatalogProvisioningUpdateDetails; d != nil {
		u.Artifact = d.ProvisioningArtifactId
		u.Parameters = params(d.ProvisioningParameters)
		if u.Parameters == nil {
			u.Parameters = []projects.Parameter{}
		}
	}
	if in.Tags != nil {
		tags, err := apicall.TagMap(in.Tags)
		if err != nil {
			return nil, err
		}
		if tags == nil {
			tags = map[string]string{}
		}
		u.Tags = tags
	}
	p, err := a.Projects.UpdateProject(ctx, apicall.Call(req), u)
	if err != nil {
		return nil, err
	}
	return map[string]string{"ProjectArn": p.ARN}, nil
}

func (a *API) deleteProject(ctx context.Context, req *awsapi.Request, in *projectNameIn) (any, error) {
	return nil, a.Projects.DeleteProject(ctx, apicall.Call(req), in.ProjectName)
}

// ---- Slipway's template catalog

type templateFileWire struct {
	Path    string
	Content []byte
}

type createTemplateIn struct{ Files []templateFileWire }

func (a *API) createTemplate(ctx context.Context, req *awsapi.Request, in *createTemplateIn) (any, error) {
	files := make([]projects.File, 0, len(in.Files))
	for _, f := range in.Files {
		files = append(files, projects.File{Path: f.Path, Content: f.Content})
	}
	t, err := a.Projects.AddTemplate(ctx, apicall.Call(req), files)
	if err != nil {
		return nil, err
	}
	return map[string]string{"TemplateName": t.Name(), "TemplateArn": arn.SageMaker(req.Region, req.Caller.Account, "project-template", t.Name())}, nil
}

type templateNameIn struct{ TemplateName string }

type templateSummary struct {
	TemplateName string
	Description  string `json:",omitempty"`
	BuiltIn      bool
	CreationTime *time.Time `json:",omitempty"`
}

func summaryOf(t projects.Template) templateSummary {
	s := templateSummary{TemplateName: t.Name(), Description: t.Manifest.Description, BuiltIn: t.BuiltIn}
	if !t.CreatedAt.IsZero() {
		s.CreationTime = &t.CreatedAt
	}
	return s
}

func (a *API) describeTemplate(ctx context.Context, req *awsapi.Request, in *templateNameIn) (any, error) {
	t, err := a.Projects.DescribeTemplate(ctx, apicall.Call(req), in.TemplateName)
	if err != nil {
		return nil, err
	}
	type param struct {
		Name          string
		Type          string
		Description   string   `json:",omitempty"`
		DefaultValue  *string  `json:",omitempty"`
		AllowedValues []string `json:",omitempty"`
	}
	type seed struct {
		Path string
		Size int64
	}
	ps := []param{}
	for _, p := range t.Parameters() {
		q := param{Name: p.Name, Type: p.Type, Description: p.Description, AllowedValues: p.AllowedValues}
		if p.HasDefault {
			d := p.Default
			q.DefaultValue = &d
		}
		ps = append(ps, q)
	}
	seeds := []seed{}
	for _, f := range t.Seed {
		seeds = append(seeds, seed{f.Path, int64(len(f.Content))})
	}
	s := summaryOf(t)
	out := map[string]any{"TemplateName": s.TemplateName, "BuiltIn": s.BuiltIn, "Parameters": ps, "TemplateBody": t.Body, "SeedCode": seeds,
		"TemplateArn": arn.SageMaker(req.Region, req.Caller.Account, "project-template", t.Name())}
	if s.Description != "" {
		out["Description"] = s.Description
	}
	if s.CreationTime != nil {
		out["CreationTime"] = *s.CreationTime
	}
	if sc := t.Manifest.SeedCode; sc != nil {
		out["SeedCodeBucketOutput"], out["SeedCodePrefix"] = sc.BucketOutput, sc.Prefix
	}
	return out, nil
}

func (a *API) listTemplates(ctx context.Context, req *awsapi.Request, _ *struct{}) (any, error) {
	ts, err := a.Projects.ListTemplates(ctx, apicall.Call(req))
	if err != nil {
		return nil, err
	}
	out := make([]templateSummary, 0, len(ts))
	for _, t := range ts {
		out = append(out, summaryOf(t))
	}
	return struct{ ProjectTemplates []templateSummary }{out}, nil
}

func (a *API) deleteTemplate(ctx context.Context, req *awsapi.Request, in *templateNameIn) (any, error) {
	return nil, a.Projects.DeleteTemplate(ctx, apicall.Call(req), in.TemplateName)
}
