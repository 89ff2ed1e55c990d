// Package sagemakerapi serves the SageMaker API operations of the model registry, of
// processing, training and transform jobs, of serving and of pipelines. It translates wire
// shapes (botocore's sagemaker model) to the domain calls and back; all business rules live in
// packages registry, jobs, serving and pipeline.
package sagemakerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/jobs"
	"github.com/slipway-ml/slipway/internal/pipeline"
	"github.com/slipway-ml/slipway/internal/projects"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/serving"
)

// API holds what the handlers need.
type API struct {
	Registry *registry.Service
	Jobs     *jobs.Service    // processing, training and transform jobs (jobs.go)
	Serving  *serving.Service // models, endpoint configurations and endpoints (serving.go)
	// Pipelines is pipelines and their executions (pipelines.go).
	Pipelines *pipeline.Service
	// Projects is SageMaker Projects and Slipway's template catalog (projects.go).
	Projects *projects.Service
	Tokens   *awsapi.PageTokens
}

// Service is the SageMaker service: its model, the registry's operations and SageMaker's error
// codes.
func (a *API) Service() (*awsapi.Service, error) {
	m, err := awsapi.ExtendModel("sagemaker", slipwayModel)
	if err != nil {
		return nil, fmt.Errorf("cannot add Slipway's operations to the SageMaker model: %w", err)
	}
	return &awsapi.Service{Name: "sagemaker", Model: m, Handlers: a.handlers(), Errors: errorCodes()}, nil
}

// handlers returns the operations this package serves, by name.
func (a *API) handlers() map[string]awsapi.Handler {
	h := map[string]awsapi.Handler{
		"CreateModelPackageGroup":       apicall.Handle(a.createGroup),
		"DescribeModelPackageGroup":     apicall.Handle(a.describeGroup),
		"ListModelPackageGroups":        apicall.Handle(a.listGroups),
		"DeleteModelPackageGroup":       apicall.Handle(a.deleteGroup),
		"PutModelPackageGroupPolicy":    apicall.Handle(a.putGroupPolicy),
		"GetModelPackageGroupPolicy":    apicall.Handle(a.getGroupPolicy),
		"DeleteModelPackageGroupPolicy": apicall.Handle(a.deleteGroupPolicy),
		"CreateModelPackage":            apicall.Handle(a.createPackage),
		"DescribeModelPackage":          apicall.Handle(a.describePackage),
		"ListModelPackages":             apicall.Handle(a.listPackages),
		"UpdateModelPackage":            apicall.Handle(a.updatePackage),
		"DeleteModelPackage":            apicall.Handle(a.deletePackage),
		"AddTags":                       apicall.Handle(a.addTags),
		"ListTags":                      apicall.Handle(a.listTags),
		"DeleteTags":                    apicall.Handle(a.deleteTags),
	}
	a.jobHandlers(h)
	a.servingHandlers(h)
	a.pipelineHandlers(h)
	a.projectHandlers(h)
	return h
}

func call(req *awsapi.Request) registry.Call {
	return registry.Call{Caller: req.Caller, Context: apicall.Context(req)}
}

type createGroupIn struct {
	ModelPackageGroupName        string
	ModelPackageGroupDescription string
	Tags                         []apicall.Tag
}

func (a *API) createGroup(ctx context.Context, req *awsapi.Request, in *createGroupIn) (any, error) {
	tags, err := apicall.TagMap(in.Tags)
	if err != nil {
		return nil, err
	}
	g, err := a.Registry.CreateGroup(ctx, call(req), in.ModelPackageGroupName, in.ModelPackageGroupDescription, tags)
	if err != nil {
		return nil, err
	}
	return map[string]string{"ModelPackageGroupArn": g.ARN}, nil
}

type groupNameIn struct{ ModelPackageGroupName string }

type groupOut struct {
	ModelPackageGroupName        string
	ModelPackageGroupArn         string
	ModelPackageGroupDescription string `json:",omitempty"`
	CreationTime                 time.Time
	CreatedBy                    *registry.UserContext `json:",omitempty"`
	ModelPackageGroupStatus      string
}

func groupWire(g registry.Group, withCreator bool) groupOut {
	out := groupOut{
		ModelPackageGroupName: g.Name, ModelPackageGroupArn: g.ARN, ModelPackageGroupDescription: g.Description,
		CreationTime: g.CreatedAt, ModelPackageGroupStatus: g.Status,
	}
	if withCreator {
		out.CreatedBy = &g.CreatedBy
	}
	return out
}

func (a *API) describeGroup(ctx context.Context, req *awsapi.Request, in *groupNameIn) (any, error) {
	g, err := a.Registry.DescribeGroup(ctx, call(req), in.ModelPackageGroupName)
	if err != nil {
		return nil, err
	}
	return groupWire(g, true), nil
}

type listIn struct {
	CreationTimeAfter     *time.Time
	CreationTimeBefore    *time.Time
	MaxResults            int
	NameContains          string
	NextToken             string
	SortBy                string
	SortOrder             string
	ModelApprovalStatus   string
	ModelPackageGroupName string
	ModelPackageType      string
}

// page decodes the offset a NextToken carries.
func (a *API) page(req *awsapi.Request, scope string, in *listIn) (offset, limit int, err error) {
	limit = in.MaxResults
	if limit == 0 {
		limit = 10 // SageMaker's default page size
	}
	if in.NextToken != "" {
		if err := a.Tokens.Decode(scope, in.NextToken, &offset); err != nil {
			return 0, 0, errs.E(errs.Invalid, "The NextToken is invalid or expired; start the listing again without it.").WithCode("ValidationException")
		}
	}
	return offset, limit, nil
}

// nextToken returns the token of the page after one that asked for limit+1 items and got got
// (so a full last page ends the listing without an empty page after it).
func (a *API) nextToken(scope string, offset, got, limit int) (string, error) {
	if got <= limit {
		return "", nil
	}
	return a.Tokens.Encode(scope, offset+limit)
}

func timeOr(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func (a *API) listGroups(ctx context.Context, req *awsapi.Request, in *listIn) (any, error) {
	scope := fmt.Sprintf("sagemaker/ListModelPackageGroups/%s/%s/%s/%s", req.Caller.Account, in.NameContains, in.SortBy, in.SortOrder)
	offset, limit, err := a.page(req, scope, in)
	if err != nil {
		return nil, err
	}
	q := registry.GroupQuery{
		NameContains: in.NameContains, CreatedAfter: timeOr(in.CreationTimeAfter), CreatedBefore: timeOr(in.CreationTimeBefore),
		SortBy: in.SortBy, Descending: in.SortOrder != "Ascending", Offset: offset, Limit: limit + 1,
	}
	if q.SortBy == "" {
		q.SortBy = "CreationTime"
	}
	gs, err := a.Registry.ListGroups(ctx, call(req), q)
	if err != nil {
		return nil, err
	}
	next, err := a.nextToken(scope, offset, len(gs), limit)
	if err != nil {
		return nil, err
	}
	gs = gs[:min(len(gs), limit)]
	summaries := make([]groupOut, 0, len(gs))
	for _, g := range gs {
		summaries = append(summaries, groupWire(g, false))
	}
	return struct {
		ModelPackageGroupSummaryList []groupOut
		NextToken                    string `json:",omitempty"`
	}{summaries, next}, nil
}

func (a *API) deleteGroup(ctx context.Context, req *awsapi.Request, in *groupNameIn) (any, error) {
	return nil, a.Registry.DeleteGroup(ctx, call(req), in.ModelPackageGroupName)
}

type policyIn struct {
	ModelPackageGroupName string
	ResourcePolicy        string
}

func (a *API) putGroupPolicy(ctx context.Context, req *awsapi.Request, in *policyIn) (any, error) {
	if err := a.Registry.PutGroupPolicy(ctx, call(req), in.ModelPackageGroupName, in.ResourcePolicy); err != nil {
		return nil, err
	}
	g, err := a.Registry.DescribeGroup(ctx, call(req), in.ModelPackageGroupName)
	if err != nil {
		return nil, err
	}
	return map[string]string{"ModelPackageGroupArn": g.ARN}, nil
}

func (a *API) getGroupPolicy(ctx context.Context, req *awsapi.Request, in *groupNameIn) (any, error) {
	p, err := a.Registry.GroupPolicy(ctx, call(req), in.ModelPackageGroupName)
	if err != nil {
		return nil, err
	}
	return map[string]string{"ResourcePolicy": p}, nil
}

func (a *API) deleteGroupPolicy(ctx context.Context, req *awsapi.Request, in *groupNameIn) (any, error) {
	return nil, a.Registry.DeleteGroupPolicy(ctx, call(req), in.ModelPackageGroupName)
}

// createPackage keeps the members the registry interprets and stores every other member of the
// input as the package's details, returned as they came by DescribeModelPackage.
func (a *API) createPackage(ctx context.Context, req *awsapi.Request, in *map[string]json.RawMessage) (any, error) {
	members := *in
	var core struct {
		ModelPackageName        string
		ModelPackageGroupName   string
		ModelPackageDescription string
		ModelApprovalStatus     string
		ClientToken             string
		Tags                    []apicall.Tag
	}
	if err := json.Unmarshal(req.Input, &core); err != nil {
		return nil, errs.E(errs.Invalid, "the request does not match the CreateModelPackage input shape: %v", err)
	}
	if core.ModelPackageName != "" && core.ModelPackageGroupName == "" {
		return nil, errs.E(errs.Invalid, "unversioned model packages (ModelPackageName without ModelPackageGroupName) are not supported; register versions in a model package group").WithCode("ValidationException")
	}
	if core.ModelPackageName != "" {
		return nil, errs.E(errs.Invalid, "ModelPackageName and ModelPackageGroupName are mutually exclusive").WithCode("ValidationException")
	}
	tags, err := apicall.TagMap(core.Tags)
	if err != nil {
		return nil, err
	}
	details := map[string]json.RawMessage{}
	for k, v := range members {
		switch k {
		case "ModelPackageName", "ModelPackageGroupName", "ModelPackageDescription", "ModelApprovalStatus", "ClientToken", "Tags":
		default:
			details[k] = v
		}
	}
	p, err := a.Registry.CreatePackage(ctx, call(req), registry.CreateInput{
		Group: core.ModelPackageGroupName, Description: core.ModelPackageDescription,
		ApprovalStatus: registry.ApprovalStatus(core.ModelApprovalStatus), ClientToken: core.ClientToken,
		Details: details, Tags: tags,
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"ModelPackageArn": p.ARN}, nil
}

type packageNameIn struct{ ModelPackageName string }

func packageWire(p registry.Package) map[string]any {
	out := map[string]any{}
	for k, v := range p.Details {
		out[k] = v
	}
	out["ModelPackageName"] = p.GroupName
	out["ModelPackageGroupName"] = p.GroupName
	out["ModelPackageVersion"] = p.Version
	out["ModelPackageArn"] = p.ARN
	out["CreationTime"] = p.CreatedAt
	out["ModelPackageStatus"] = p.Status
	out["ModelPackageStatusDetails"] = map[string]any{"ValidationStatuses": []any{}, "ImageScanStatuses": []any{}}
	out["ModelApprovalStatus"] = p.ApprovalStatus
	out["CreatedBy"] = p.CreatedBy
	out["LastModifiedTime"] = p.ModifiedAt
	if p.Description != "" {
		out["ModelPackageDescription"] = p.Description
	}
	if p.ApprovalDescription != "" {
		out["ApprovalDescription"] = p.ApprovalDescription
	}
	if p.ModifiedBy != nil {
		out["LastModifiedBy"] = p.ModifiedBy
	}
	return out
}

func (a *API) describePackage(ctx context.Context, req *awsapi.Request, in *packageNameIn) (any, error) {
	p, err := a.Registry.DescribePackage(ctx, call(req), in.ModelPackageName)
	if err != nil {
		return nil, err
	}
	return packageWire(p), nil
}

type packageSummary struct {
	ModelPackageName        string
	ModelPackageGroupName   string
	ModelPackageVersion     int
	ModelPackageArn         string
	ModelPackageDescription string `json:",omitempty"`
	CreationTime            time.Time
	ModelPackageStatus      string
	ModelApprovalStatus     registry.ApprovalStatus
}

func (a *API) listPackages(ctx context.Context, req *awsapi.Request, in *listIn) (any, error) {
	if in.ModelPackageType == "Unversioned" {
		return struct{ ModelPackageSummaryList []packageSummary }{[]packageSummary{}}, nil
	}
	scope := fmt.Sprintf("sagemaker/ListModelPackages/%s/%s/%s/%s/%s/%s", req.Caller.Account, in.ModelPackageGroupName, in.NameContains, in.ModelApprovalStatus, in.SortBy, in.SortOrder)
	offset, limit, err := a.page(req, scope, in)
	if err != nil {
		return nil, err
	}
	q := registry.PackageQuery{
		GroupName: in.ModelPackageGroupName, NameContains: in.NameContains, ApprovalStatus: registry.ApprovalStatus(in.ModelApprovalStatus),
		CreatedAfter: timeOr(in.CreationTimeAfter), CreatedBefore: timeOr(in.CreationTimeBefore),
		SortBy: in.SortBy, Descending: in.SortOrder != "Ascending", Offset: offset, Limit: limit + 1,
	}
	if q.SortBy == "" {
		q.SortBy = "CreationTime"
	}
	ps, err := a.Registry.ListPackages(ctx, call(req), q)
	if err != nil {
		return nil, err
	}
	next, err := a.nextToken(scope, offset, len(ps), limit)
	if err != nil {
		return nil, err
	}
	ps = ps[:min(len(ps), limit)]
	summaries := make([]packageSummary, 0, len(ps))
	for _, p := range ps {
		summaries = append(summaries, packageSummary{
			ModelPackageName: p.GroupName, ModelPackageGroupName: p.GroupName, ModelPackageVersion: p.Version,
			ModelPackageArn: p.ARN, ModelPackageDescription: p.Description, CreationTime: p.CreatedAt,
			ModelPackageStatus: p.Status, ModelApprovalStatus: p.ApprovalStatus,
		})
	}
	return struct {
		ModelPackageSummaryList []packageSummary
		NextToken               string `json:",omitempty"`
	}{summaries, next}, nil
}

type updateIn struct {
	ModelPackageArn                    string
	ModelApprovalStatus                string
	ApprovalDescription                *string
	CustomerMetadataProperties         map[string]string
	CustomerMetadataPropertiesToRemove []string
}

func (a *API) updatePackage(ctx context.Context, req *awsapi.Request, in *updateIn) (any, error) {
	p, err := a.Registry.UpdatePackage(ctx, call(req), registry.UpdateInput{
		ARN: in.ModelPackageArn, ApprovalStatus: registry.ApprovalStatus(in.ModelApprovalStatus),
		ApprovalDescription: in.ApprovalDescription, CustomerMetadataProperties: in.CustomerMetadataProperties,
		RemoveCustomerMetadata: in.CustomerMetadataPropertiesToRemove,
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"ModelPackageArn": p.ARN}, nil
}

func (a *API) deletePackage(ctx context.Context, req *awsapi.Request, in *packageNameIn) (any, error) {
	return nil, a.Registry.DeletePackage(ctx, call(req), in.ModelPackageName)
}

type tagsIn struct {
	ResourceArn string
	Tags        []apicall.Tag
	TagKeys     []string
	NextToken   string
	MaxResults  int
}

func (a *API) addTags(ctx context.Context, req *awsapi.Request, in *tagsIn) (any, error) {
	m, err := apicall.TagMap(in.Tags)
	if err != nil {
		return nil, err
	}
	if _, err := a.Registry.AddTags(ctx, call(req), in.ResourceArn, m); err != nil {
		return nil, err
	}
	return struct{ Tags []apicall.Tag }{in.Tags}, nil
}

func (a *API) listTags(ctx context.Context, req *awsapi.Request, in *tagsIn) (any, error) {
	scope := "sagemaker/ListTags/" + req.Caller.Account + "/" + in.ResourceArn
	offset := 0
	if in.NextToken != "" {
		if err := a.Tokens.Decode(scope, in.NextToken, &offset); err != nil {
			return nil, errs.E(errs.Invalid, "The NextToken is invalid or expired; start the listing again without it.").WithCode("ValidationException")
		}
	}
	limit := in.MaxResults
	if limit == 0 {
		limit = registry.MaxTags // SageMaker's default (and smallest) page
	}
	tags, more, err := a.Registry.ListTags(ctx, call(req), in.ResourceArn, offset, limit)
	if err != nil {
		return nil, err
	}
	out := make([]apicall.Tag, 0, len(tags))
	for _, t := range tags {
		out = append(out, apicall.Tag{Key: t.Key, Value: t.Value})
	}
	var next string
	if more {
		if next, err = a.Tokens.Encode(scope, offset+limit); err != nil {
			return nil, err
		}
	}
	return struct {
		Tags      []apicall.Tag
		NextToken string `json:",omitempty"`
	}{out, next}, nil
}

func (a *API) deleteTags(ctx context.Context, req *awsapi.Request, in *tagsIn) (any, error) {
	return nil, a.Registry.DeleteTags(ctx, call(req), in.ResourceArn, in.TagKeys)
}
