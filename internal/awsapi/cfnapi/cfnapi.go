// Package cfnapi serves CloudFormation's stacks API (awsQuery protocol): stacks, their events,
// resources and templates, change sets (which `aws cloudformation deploy` uses), template
// validation and exports. Business rules and every authorization decision live in package
// stacks; this package only decodes and encodes.
package cfnapi

import (
	"context"
	"sort"
	"time"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/stacks"
	"github.com/slipway-ml/slipway/internal/stacksets"
)

// API holds what the handlers need.
type API struct {
	Stacks *stacks.Service
	Sets   *stacksets.Service // stack sets (stacksets.go); nil serves none
	Tokens *awsapi.PageTokens
}

// Service is the CloudFormation service.
func (a *API) Service() (*awsapi.Service, error) {
	handlers := map[string]awsapi.Handler{
		"CreateStack":            apicall.Handle(a.createStack),
		"UpdateStack":            apicall.Handle(a.updateStack),
		"DeleteStack":            apicall.Handle(a.deleteStack),
		"DescribeStacks":         apicall.Handle(a.describeStacks),
		"ListStacks":             apicall.Handle(a.listStacks),
		"DescribeStackEvents":    apicall.Handle(a.describeStackEvents),
		"DescribeStackResources": apicall.Handle(a.describeStackResources),
		"DescribeStackResource":  apicall.Handle(a.describeStackResource),
		"ListStackResources":     apicall.Handle(a.listStackResources),
		"GetTemplate":            apicall.Handle(a.getTemplate),
		"GetTemplateSummary":     apicall.Handle(a.getTemplateSummary),
		"ValidateTemplate":       apicall.Handle(a.validateTemplate),
		"ListExports":            apicall.Handle(a.listExports),
		"CreateChangeSet":        apicall.Handle(a.createChangeSet),
		"DescribeChangeSet":      apicall.Handle(a.describeChangeSet),
		"ExecuteChangeSet":       apicall.Handle(a.executeChangeSet),
		"DeleteChangeSet":        apicall.Handle(a.deleteChangeSet),
		"ListChangeSets":         apicall.Handle(a.listChangeSets),
	}
	for k, h := range a.setHandlers() {
		handlers[k] = h
	}
	return awsapi.NewService("cloudformation", handlers, errorCodes())
}

type parameterWire struct {
	ParameterKey     string
	ParameterValue   string `json:",omitempty"`
	UsePreviousValue bool   `json:",omitempty"`
}

type outputWire struct {
	OutputKey   string
	OutputValue string
	Description string `json:",omitempty"`
	ExportName  string `json:",omitempty"`
}

type driftWire struct {
	StackDriftStatus string
}

type stackWire struct {
	StackId                     string
	StackName                   string
	Description                 string `json:",omitempty"`
	Parameters                  []parameterWire
	CreationTime                time.Time
	LastUpdatedTime             *time.Time `json:",omitempty"`
	DeletionTime                *time.Time `json:",omitempty"`
	StackStatus                 string
	StackStatusReason           string `json:",omitempty"`
	DisableRollback             bool
	Capabilities                []string `json:",omitempty"`
	Outputs                     []outputWire
	RoleARN                     string `json:",omitempty"`
	Tags                        []apicall.Tag
	EnableTerminationProtection bool
	DriftInformation            driftWire
	ParentId                    string `json:",omitempty"`
	RootId                      string `json:",omitempty"`
	TimeoutInMinutes            int    `json:",omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func params(ps []stacks.Parameter) []parameterWire {
	out := []parameterWire{}
	for _, p := range ps {
		v := p.Value
		if p.NoEcho {
			v = "****"
		}
		out = append(out, parameterWire{ParameterKey: p.Key, ParameterValue: v})
	}
	return out
}

func tags(m map[string]string) []apicall.Tag {
	out := []apicall.Tag{}
	for _, k := range sortedKeys(m) {
		out = append(out, apicall.Tag{Key: k, Value: m[k]})
	}
	return out
}

func stackOut(st stacks.Stack) stackWire {
	w := stackWire{StackId: st.ID, StackName: st.Name, Description: st.Description, Parameters: params(st.Parameters),
		CreationTime: st.CreatedAt, StackStatus: string(st.Status), StackStatusReason: st.Reason, DisableRollback: st.DisableRollback,
		Capabilities: st.Capabilities, RoleARN: st.RoleARN, Tags: tags(st.Tags), Outputs: []outputWire{},
		DriftInformation: driftWire{StackDriftStatus: "NOT_CHECKED"}, DeletionTime: timePtr(st.DeletedAt),
		ParentId: st.ParentID, RootId: st.RootID, TimeoutInMinutes: int(st.Timeout / time.Minute)}
	if !st.UpdatedAt.Equal(st.CreatedAt) {
		w.LastUpdatedTime = timePtr(st.UpdatedAt)
	}
	for _, o := range st.Outputs {
		w.Outputs = append(w.Outputs, outputWire{OutputKey: o.Key, OutputValue: o.Value, Description: o.Description, ExportName: o.ExportName})
	}
	return w
}

type stackIn struct {
	StackName           string
	TemplateBody        string
	TemplateURL         string
	UsePreviousTemplate bool
	Parameters          []parameterWire
	RoleARN             string
	Capabilities        []string
	DisableRollback     bool
	OnFailure           string
	Tags                []apicall.Tag
	ClientRequestToken  string
	RetainResources     []string
	LogicalResourceId   string
	PhysicalResourceId  string
	NextToken           string
	StackStatusFilter   []string
	ChangeSetName       string
	ChangeSetType       string
	Description         string
	ClientToken         string
}

func paramsIn(ps []parameterWire) []stacks.ParameterInput {
	out := make([]stacks.ParameterInput, len(ps))
	for i, p := range ps {
		out[i] = stacks.ParameterInput{Key: p.ParameterKey, Value: p.ParameterValue, UsePreviousValue: p.UsePreviousValue}
	}
	return out
}

func tagsIn(ts []apicall.Tag) (map[string]string, error) {
	if ts == nil {
		return nil, nil
	}
	return apicall.TagMap(ts)
}

func (a *API) createStack(ctx context.Context, req *awsapi.Request, in *stackIn) (any, error) {
	tg, err := tagsIn(in.Tags)
	if err != nil {
		return nil, err
	}
	st, err := a.Stacks.CreateStack(ctx, apicall.Call(req), stacks.CreateStackInput{Name: in.StackName, TemplateBody: in.TemplateBody,
		TemplateURL: in.TemplateURL, Parameters: paramsIn(in.Parameters), RoleARN: in.RoleARN, Capabilities: in.Capabilities,
		DisableRollback: in.DisableRollback, OnFailure: in.OnFailure, Tags: tg, ClientToken: in.ClientRequestToken})
	if err != nil {
		return nil, err
	}
	return map[string]string{"StackId": st.ID}, nil
}

func (a *API) updateStack(ctx context.Context, req *awsapi.Request, in *stackIn) (any, error) {
	tg, err := tagsIn(in.Tags)
	if err != nil {
		return nil, err
	}
	st, err := a.Stacks.UpdateStack(ctx, apicall.Call(req), stacks.UpdateStackInput{Name: in.StackName, TemplateBody: in.TemplateBody,
		TemplateURL: in.TemplateURL, UsePreviousTemplate: in.UsePreviousTemplate, Parameters: paramsIn(in.Parameters),
		RoleARN: in.RoleARN, Capabilities: in.Capabilities, Tags: tg, ClientToken: in.ClientRequestToken})
	if err != nil {
		return nil, err
	}
	return map[string]string{"StackId": st.ID}, nil
}

func (a *API) deleteStack(ctx context.Context, req *awsapi.Request, in *stackIn) (any, error) {
	return nil, a.Stacks.DeleteStack(ctx, apicall.Call(req), in.StackName, in.RoleARN, in.RetainResources, in.ClientRequestToken)
}

// page cuts one page of n items: NextToken carries the offset, bound to the operation,
// the account and the request's filter.
func (a *API) page(req *awsapi.Request, scope, token string, n, size int) (start, end int, next string, err error) {
	scope = "cloudformation/" + req.Operation + "/" + req.Caller.Account + "/" + scope
	if token != "" {
		if err := a.Tokens.Decode(scope, token, &start); err != nil {
			return 0, 0, "", errs.E(errs.Invalid, "Invalid NextToken").WithCode("ValidationError")
		}
	}
	start = min(start, n)
	end = min(start+size, n)
	if end < n {
		next, err = a.Tokens.Encode(scope, end)
	}
	return start, end, next, err
}

func (a *API) describeStacks(ctx context.Context, req *awsapi.Request, in *stackIn) (any, error) {
	sts, err := a.Stacks.DescribeStacks(ctx, apicall.Call(req), in.StackName)
	if err != nil {
		return nil, err
	}
	start, end, next, err := a.page(req, in.StackName, in.NextToken, len(sts), 100)
	if err != nil {
		return nil, err
	}
	out := []stackWire{}
	for _, st := range sts[start:end] {
		out = append(out, stackOut(st))
	}
	return struct {
		Stacks    []stackWire
		NextToken string `json:",omitempty"`
	}{out, next}, nil
}

type stackSummaryWire struct {
	StackId             string
	StackName           string
	TemplateDescription string `json:",omitempty"`
	CreationTime        time.Time
	LastUpdatedTime     *time.Time `json:",omitempty"`
	DeletionTime        *time.Time `json:",omitempty"`
	StackStatus         string
	StackStatusReason   string `json:",omitempty"`
	ParentId            string `json:",omitempty"`
	RootId              string `json:",omitempty"`
	DriftInformation    driftWire
}

func (a *API) listStacks(ctx context.Context, req *awsapi.Request, in *stackIn) (any, error) {
	sts, err := a.Stacks.ListStacks(ctx, apicall.Call(req), in.StackStatusFilter)
	if err != nil {
		return nil, err
	}
	scope := ""
	for _, f := range in.StackStatusFilter {
		scope += f + ","
	}
	start, end, next, err := a.page(req, scope, in.NextToken, len(sts), 100)
	if err != nil {
		return nil, err
	}
	out := []stackSummaryWire{}
	for _, st := range sts[start:end] {
		w := stackOut(st)
		out = append(out, stackSummaryWire{StackId: w.StackId, StackName: w.StackName, TemplateDescription: w.Description,
			CreationTime: w.CreationTime, LastUpdatedTime: w.LastUpdatedTime, DeletionTime: w.DeletionTime, StackStatus: w.StackStatus,
			StackStatusReason: w.StackStatusReason, ParentId: w.ParentId, RootId: w.RootId, DriftInformation: w.DriftInformation})
	}
	return struct {
		StackSummaries []stackSummaryWire
		NextToken      string `json:",omitempty"`
	}{out, next}, nil
}

type eventWire struct {
	StackId              string
	EventId              string
	StackName            string
	LogicalResourceId    string
	PhysicalResourceId   string
	ResourceType         string
	Timestamp            time.Time
	ResourceStatus       string
	ResourceStatusReason string `json:",omitempty"`
	ClientRequestToken   string `json:",omitempty"`
}

func (a *API) describeStackEvents(ctx context.Context, req *awsapi.Request, in *stackIn) (any, error) {
	evs, err := a.Stacks.StackEvents(ctx, apicall.Call(req), in.StackName)
	if err != nil {
		return nil, err
	}
	start, end, next, err := a.page(req, in.StackName, in.NextToken, len(evs), 100)
	if err != nil {
		return nil, err
	}
	out := []eventWire{}
	for _, e := range evs[start:end] {
		out = append(out, eventWire{StackId: e.StackID, EventId: e.EventID, StackName: e.StackName, LogicalResourceId: e.LogicalID,
			PhysicalResourceId: e.PhysicalID, ResourceType: e.ResourceType, Timestamp: e.Time, ResourceStatus: e.Status,
			ResourceStatusReason: e.Reason, ClientRequestToken: e.ClientToken})
	}
	return struct {
		StackEvents []eventWire
		NextToken   string `json:",omitempty"`
	}{out, next}, nil
}

type resourceDriftWire struct {
	StackResourceDriftStatus string
}

type resourceWire struct {
	StackName            string     `json:",omitempty"`
	StackId              string     `json:",omitempty"`
	LogicalResourceId    string     `json:",omitempty"`
	PhysicalResourceId   string     `json:",omitempty"`
	ResourceType         string     `json:",omitempty"`
	Timestamp            *time.Time `json:",omitempty"`
	LastUpdatedTimestamp *time.Time `json:",omitempty"`
	ResourceStatus       string     `json:",omitempty"`
	ResourceStatusReason string     `json:",omitempty"`
	DriftInformation     resourceDriftWire
}

func resourceOut(st stacks.Stack, r stacks.Resource, summary bool) resourceWire {
	w := resourceWire{LogicalResourceId: r.LogicalID, PhysicalResourceId: r.PhysicalID, ResourceType: r.Type,
		ResourceStatus: r.Status, ResourceStatusReason: r.Reason, DriftInformation: resourceDriftWire{StackResourceDriftStatus: "NOT_CHECKED"}}
	t := r.UpdatedAt
	if summary {
		w.LastUpdatedTimestamp = &t
	} else {
		w.StackName, w.StackId, w.Timestamp = st.Name, st.ID, &t
	}
	return w
}

func (a *API) describeStackResources(ctx context.Context, req *awsapi.Request, in *stackIn) (any, error) {
	if in.StackName == "" {
		return nil, errs.E(errs.Invalid, "StackName is required (this server does not look stacks up by PhysicalResourceId)").WithCode("ValidationError")
	}
	st, rs, err := a.Stacks.StackResources(ctx, apicall.Call(req), "DescribeStackResources", in.StackName, in.LogicalResourceId)
	if err != nil {
		return nil, err
	}
	out := []resourceWire{}
	for _, r := range rs {
		if in.PhysicalResourceId != "" && r.PhysicalID != in.PhysicalResourceId {
			continue
		}
		out = append(out, resourceOut(st, r, false))
	}
	return struct{ StackResources []resourceWire }{out}, nil
}

func (a *API) describeStackResource(ctx context.Context, req *awsapi.Request, in *stackIn) (any, error) {
	if in.LogicalResourceId == "" {
		return nil, errs.E(errs.Invalid, "LogicalResourceId is required").WithCode("ValidationError")
	}
	st, rs, err := a.Stacks.StackResources(ctx, apicall.Call(req), "DescribeStackResource", in.StackName, in.LogicalResourceId)
	if err != nil {
		return nil, err
	}
	w := resourceOut(st, rs[0], false)
	w.LastUpdatedTimestamp, w.Timestamp = w.Timestamp, nil
	return struct{ StackResourceDetail resourceWire }{w}, nil
}

func (a *API) listStackResources(ctx context.Context, req *awsapi.Request, in *stackIn) (any, error) {
	st, rs, err := a.Stacks.StackResources(ctx, apicall.Call(req), "ListStackResources", in.StackName, "")
	if err != nil {
		return nil, err
	}
	start, end, next, err := a.page(req, in.StackName, in.NextToken, len(rs), 100)
	if err != nil {
		return nil, err
	}
	out := []resourceWire{}
	for _, r := range rs[start:end] {
		out = append(out, resourceOut(st, r, true))
	}
	return struct {
		StackResourceSummaries []resourceWire
		NextToken              string `json:",omitempty"`
	}{out, next}, nil
}

func (a *API) getTemplate(ctx context.Context, req *awsapi.Request, in *stackIn) (any, error) {
	body, err := a.Stacks.GetTemplate(ctx, apicall.Call(req), in.StackName)
	if err != nil {
		return nil, err
	}
	return struct {
		TemplateBody    string
		StagesAvailable []string
	}{body, []string{"Original", "Processed"}}, nil
}

type templateParameterWire struct {
	ParameterKey         string
	DefaultValue         *string `json:",omitempty"`
	ParameterType        string  `json:",omitempty"`
	NoEcho               bool
	Description          string `json:",omitempty"`
	ParameterConstraints *struct {
		AllowedValues []string
	} `json:",omitempty"`
}

func summaryParams(s stacks.TemplateSummary, typed bool) []templateParameterWire {
	out := []templateParameterWire{}
	for _, p := range s.Parameters {
		w := templateParameterWire{ParameterKey: p.Name, DefaultValue: p.Default, NoEcho: p.NoEcho, Description: p.Description}
		if typed {
			w.ParameterType = p.Type
			w.ParameterConstraints = &struct{ AllowedValues []string }{AllowedValues: p.AllowedValues}
		}
		out = append(out, w)
	}
	return out
}

func (a *API) validateTemplate(ctx context.Context, req *awsapi.Request, in *stackIn) (any, error) {
	s, err := a.Stacks.ValidateTemplate(ctx, apicall.Call(req), in.TemplateBody, in.TemplateURL)
	if err != nil {
		return nil, err
	}
	return struct {
		Parameters         []templateParameterWire
		Description        string   `json:",omitempty"`
		Capabilities       []string `json:",omitempty"`
		CapabilitiesReason string   `json:",omitempty"`
		DeclaredTransforms []string
	}{summaryParams(s, false), s.Description, s.Capabilities, s.CapabilitiesReason, []string{}}, nil
}

func (a *API) getTemplateSummary(ctx context.Context, req *awsapi.Request, in *stackIn) (any, error) {
	s, err := a.Stacks.GetTemplateSummary(ctx, apicall.Call(req), in.TemplateBody, in.TemplateURL, in.StackName)
	if err != nil {
		return nil, err
	}
	return struct {
		Parameters         []templateParameterWire
		Description        string   `json:",omitempty"`
		Capabilities       []string `json:",omitempty"`
		CapabilitiesReason string   `json:",omitempty"`
		ResourceTypes      []string
		Version            string
		DeclaredTransforms []string
	}{summaryParams(s, true), s.Description, s.Capabilities, s.CapabilitiesReason, s.ResourceTypes, "2010-09-09", []string{}}, nil
}

func (a *API) listExports(ctx context.Context, req *awsapi.Request, in *stackIn) (any, error) {
	xs, err := a.Stacks.ListExports(ctx, apicall.Call(req))
	if err != nil {
		return nil, err
	}
	start, end, next, err := a.page(req, "", in.NextToken, len(xs), 100)
	if err != nil {
		return nil, err
	}
	type exportWire struct{ ExportingStackId, Name, Value string }
	out := []exportWire{}
	for _, x := range xs[start:end] {
		out = append(out, exportWire{x.StackID, x.Name, x.Value})
	}
	return struct {
		Exports   []exportWire
		NextToken string `json:",omitempty"`
	}{out, next}, nil
}

func (a *API) createChangeSet(ctx context.Context, req *awsapi.Request, in *stackIn) (any, error) {
	tg, err := tagsIn(in.Tags)
	if err != nil {
		return nil, err
	}
	cs, err := a.Stacks.CreateChangeSet(ctx, apicall.Call(req), stacks.CreateChangeSetInput{StackName: in.StackName, Name: in.ChangeSetName,
		Type: in.ChangeSetType, TemplateBody: in.TemplateBody, TemplateURL: in.TemplateURL, UsePreviousTemplate: in.UsePreviousTemplate,
		Parameters: paramsIn(in.Parameters), Capabilities: in.Capabilities, RoleARN: in.RoleARN, Tags: tg, Description: in.Description,
		ClientToken: in.ClientToken})
	if err != nil {
		return nil, err
	}
	return map[string]string{"Id": cs.ID, "StackId": cs.StackID}, nil
}

type resourceChangeWire struct {
	Action             string
	LogicalResourceId  string
	PhysicalResourceId string `json:",omitempty"`
	ResourceType       string
	Replacement        string `json:",omitempty"`
	Scope              []string
	Details            []struct{}
}

type changeWire struct {
	Type           string
	ResourceChange resourceChangeWire
}

func (a *API) describeChangeSet(ctx context.Context, req *awsapi.Request, in *stackIn) (any, error) {
	cs, err := a.Stacks.DescribeChangeSet(ctx, apicall.Call(req), in.ChangeSetName, in.StackName)
	if err != nil {
		return nil, err
	}
	changes := []changeWire{}
	for _, c := range cs.Changes {
		changes = append(changes, changeWire{Type: "Resource", ResourceChange: resourceChangeWire{Action: c.Action, LogicalResourceId: c.LogicalID,
			PhysicalResourceId: c.PhysicalID, ResourceType: c.ResourceType, Replacement: c.Replacement, Scope: []string{}, Details: []struct{}{}}})
	}
	return struct {
		ChangeSetName       string
		ChangeSetId         string
		StackId             string
		StackName           string
		Description         string `json:",omitempty"`
		Parameters          []parameterWire
		CreationTime        time.Time
		ExecutionStatus     string
		Status              string
		StatusReason        string   `json:",omitempty"`
		Capabilities        []string `json:",omitempty"`
		Tags                []apicall.Tag
		Changes             []changeWire
		IncludeNestedStacks bool
	}{cs.Name, cs.ID, cs.StackID, cs.StackName, cs.Description, params(cs.Parameters), cs.CreatedAt, cs.Execution, cs.Status,
		cs.Reason, cs.Capabilities, tags(cs.Tags), changes, false}, nil
}

func (a *API) executeChangeSet(ctx context.Context, req *awsapi.Request, in *stackIn) (any, error) {
	return nil, a.Stacks.ExecuteChangeSet(ctx, apicall.Call(req), in.ChangeSetName, in.StackName, in.ClientRequestToken, in.DisableRollback)
}

func (a *API) deleteChangeSet(ctx context.Context, req *awsapi.Request, in *stackIn) (any, error) {
	return nil, a.Stacks.DeleteChangeSet(ctx, apicall.Call(req), in.ChangeSetName, in.StackName)
}

func (a *API) listChangeSets(ctx context.Context, req *awsapi.Request, in *stackIn) (any, error) {
	css, err := a.Stacks.ListChangeSets(ctx, apicall.Call(req), in.StackName)
	if err != nil {
		return nil, err
	}
	type summary struct {
		StackId, StackName, ChangeSetId, ChangeSetName, ExecutionStatus, Status string
		StatusReason                                                            string `json:",omitempty"`
		CreationTime                                                            time.Time
		Description                                                             string `json:",omitempty"`
	}
	out := []summary{}
	for _, cs := range css {
		out = append(out, summary{cs.StackID, cs.StackName, cs.ID, cs.Name, cs.Execution, cs.Status, cs.Reason, cs.CreatedAt, cs.Description})
	}
	return struct{ Summaries []summary }{out}, nil
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
