package cfnapi

import (
	"context"
	"time"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/stacks"
	"github.com/slipway-ml/slipway/internal/stacksets"
)

// stackSetARN is the resource of the operations on one stack set: its ARN ends with the
// set's unique id, so policies name sets as stackset/NAME:*.
const stackSetARN = "arn:aws:cloudformation:{Region}:{Account}:stackset/{StackSetName}:*"

// setOperations declares the stack-set operations' actions and resources.
func setOperations() []awsapi.Authz {
	op := func(name string, resources ...string) awsapi.Authz {
		return awsapi.Authz{Operation: name, Action: "cloudformation:" + name, Resources: resources}
	}
	return []awsapi.Authz{
		op("CreateStackSet", stackSetARN),
		op("UpdateStackSet", stackSetARN),
		op("DeleteStackSet", stackSetARN),
		op("DescribeStackSet", stackSetARN),
		op("ListStackSets", "*"),
		op("CreateStackInstances", stackSetARN),
		op("UpdateStackInstances", stackSetARN),
		op("DeleteStackInstances", stackSetARN),
		op("DescribeStackSetOperation", stackSetARN),
		op("ListStackSetOperations", stackSetARN),
		op("ListStackSetOperationResults", stackSetARN),
		op("ListStackInstances", stackSetARN),
		op("DescribeStackInstance", stackSetARN),
	}
}

// setHandlers are the stack-set operations' handlers (none when the server has no stack sets).
func (a *API) setHandlers() map[string]awsapi.Handler {
	if a.Sets == nil {
		return nil
	}
	return map[string]awsapi.Handler{
		"CreateStackSet":               apicall.Handle(a.createStackSet),
		"UpdateStackSet":               apicall.Handle(a.updateStackSet),
		"DeleteStackSet":               apicall.Handle(a.deleteStackSet),
		"DescribeStackSet":             apicall.Handle(a.describeStackSet),
		"ListStackSets":                apicall.Handle(a.listStackSets),
		"CreateStackInstances":         apicall.Handle(a.instancesOp(stacksets.ActionCreate)),
		"UpdateStackInstances":         apicall.Handle(a.instancesOp(stacksets.ActionUpdate)),
		"DeleteStackInstances":         apicall.Handle(a.instancesOp(stacksets.ActionDelete)),
		"DescribeStackSetOperation":    apicall.Handle(a.describeStackSetOperation),
		"ListStackSetOperations":       apicall.Handle(a.listStackSetOperations),
		"ListStackSetOperationResults": apicall.Handle(a.listStackSetOperationResults),
		"ListStackInstances":           apicall.Handle(a.listStackInstances),
		"DescribeStackInstance":        apicall.Handle(a.describeStackInstance),
	}
}

type autoDeploymentWire struct {
	Enabled                      *bool `json:",omitempty"`
	RetainStacksOnAccountRemoval *bool `json:",omitempty"`
}

type prefsWire struct {
	RegionConcurrencyType      string   `json:",omitempty"`
	RegionOrder                []string `json:",omitempty"`
	FailureToleranceCount      *int     `json:",omitempty"`
	FailureTolerancePercentage *int     `json:",omitempty"`
	MaxConcurrentCount         *int     `json:",omitempty"`
	MaxConcurrentPercentage    *int     `json:",omitempty"`
}

type targetsWire struct {
	Accounts              []string `json:",omitempty"`
	AccountsUrl           string   `json:",omitempty"`
	OrganizationalUnitIds []string `json:",omitempty"`
	AccountFilterType     string   `json:",omitempty"`
}

type setIn struct {
	StackSetName          string
	Description           *string
	TemplateBody          string
	TemplateURL           string
	UsePreviousTemplate   bool
	Parameters            []parameterWire
	ParameterOverrides    []parameterWire
	Capabilities          []string
	Tags                  []apicall.Tag
	PermissionModel       string
	AutoDeployment        *autoDeploymentWire
	AdministrationRoleARN string
	ExecutionRoleName     string
	CallAs                string
	DeploymentTargets     *targetsWire
	Accounts              []string
	Regions               []string
	OperationPreferences  *prefsWire
	OperationId           string
	RetainStacks          bool
	Status                string
	NextToken             string
	MaxResults            int
	StackInstanceAccount  string
	StackInstanceRegion   string
	StackId               string
}

func autoIn(w *autoDeploymentWire) *stacksets.AutoDeployment {
	if w == nil {
		return nil
	}
	var d stacksets.AutoDeployment
	if w.Enabled != nil {
		d.Enabled = *w.Enabled
	}
	if w.RetainStacksOnAccountRemoval != nil {
		d.RetainStacksOnAccountRemoval = *w.RetainStacksOnAccountRemoval
	}
	return &d
}

func prefsIn(w *prefsWire) stacksets.Preferences {
	var p stacksets.Preferences
	if w == nil {
		return p
	}
	p.RegionConcurrencyType, p.RegionOrder = w.RegionConcurrencyType, w.RegionOrder
	if w.MaxConcurrentCount != nil {
		p.MaxConcurrentCount, p.HasMaxCount = *w.MaxConcurrentCount, true
	}
	if w.MaxConcurrentPercentage != nil {
		p.MaxConcurrentPercentage, p.HasMaxPct = *w.MaxConcurrentPercentage, true
	}
	if w.FailureToleranceCount != nil {
		p.FailureToleranceCount, p.HasTolCount = *w.FailureToleranceCount, true
	}
	if w.FailureTolerancePercentage != nil {
		p.FailureTolerancePercentage, p.HasTolPct = *w.FailureTolerancePercentage, true
	}
	return p
}

func prefsOut(p stacksets.Preferences) prefsWire {
	w := prefsWire{RegionConcurrencyType: p.RegionConcurrencyType, RegionOrder: p.RegionOrder}
	if p.HasMaxCount {
		w.MaxConcurrentCount = &p.MaxConcurrentCount
	}
	if p.HasMaxPct {
		w.MaxConcurrentPercentage = &p.MaxConcurrentPercentage
	}
	if p.HasTolCount {
		w.FailureToleranceCount = &p.FailureToleranceCount
	}
	if p.HasTolPct {
		w.FailureTolerancePercentage = &p.FailureTolerancePercentage
	}
	return w
}

func targetsIn(in *setIn) (stacksets.Targets, error) {
	t := stacksets.Targets{Regions: in.Regions, Accounts: in.Accounts}
	if d := in.DeploymentTargets; d != nil {
		if d.AccountsUrl != "" {
			return t, invalidURL("DeploymentTargets.AccountsUrl")
		}
		if len(in.Accounts) > 0 && len(d.Accounts) > 0 {
			return t, invalidURL("both Accounts and DeploymentTargets.Accounts")
		}
		t.OrganizationalUnitIDs, t.AccountFilterType = d.OrganizationalUnitIds, d.AccountFilterType
		if len(d.Accounts) > 0 {
			t.Accounts = d.Accounts
		}
	}
	return t, nil
}

func invalidURL(what string) error {
	return validation(what + " is not supported by this server")
}

func (a *API) createStackSet(ctx context.Context, req *awsapi.Request, in *setIn) (any, error) {
	tg, err := tagsIn(in.Tags)
	if err != nil {
		return nil, err
	}
	if in.StackId != "" {
		return nil, validation("StackId (importing a stack into a stack set) is not supported by this server")
	}
	desc := ""
	if in.Description != nil {
		desc = *in.Description
	}
	set, err := a.Sets.CreateStackSet(ctx, apicall.Call(req), stacksets.CreateInput{Name: in.StackSetName, Description: desc,
		TemplateBody: in.TemplateBody, TemplateURL: in.TemplateURL, Parameters: paramsIn(in.Parameters), Capabilities: in.Capabilities,
		Tags: tg, PermissionModel: in.PermissionModel, AutoDeployment: autoIn(in.AutoDeployment), AdminRoleARN: in.AdministrationRoleARN,
		ExecutionRoleName: in.ExecutionRoleName, CallAs: in.CallAs})
	if err != nil {
		return nil, err
	}
	return map[string]string{"StackSetId": set.ID}, nil
}

func (a *API) updateStackSet(ctx context.Context, req *awsapi.Request, in *setIn) (any, error) {
	tg, err := tagsIn(in.Tags)
	if err != nil {
		return nil, err
	}
	t, err := targetsIn(in)
	if err != nil {
		return nil, err
	}
	var params []parameterWire
	if in.Parameters != nil {
		params = in.Parameters
	}
	id, err := a.Sets.UpdateStackSet(ctx, apicall.Call(req), stacksets.UpdateInput{Name: in.StackSetName, Description: in.Description,
		TemplateBody: in.TemplateBody, TemplateURL: in.TemplateURL, UsePreviousTemplate: in.UsePreviousTemplate,
		Parameters: paramsInNil(params), Capabilities: in.Capabilities, Tags: tg, AutoDeployment: autoIn(in.AutoDeployment),
		AdminRoleARN: in.AdministrationRoleARN, ExecutionRoleName: in.ExecutionRoleName, PermissionModel: in.PermissionModel,
		Prefs: prefsIn(in.OperationPreferences), Targets: t, OperationID: in.OperationId, CallAs: in.CallAs})
	if err != nil {
		return nil, err
	}
	return map[string]string{"OperationId": id}, nil
}

func paramsInNil(ps []parameterWire) []stacks.ParameterInput {
	if ps == nil {
		return nil
	}
	return paramsIn(ps)
}

func (a *API) deleteStackSet(ctx context.Context, req *awsapi.Request, in *setIn) (any, error) {
	return struct{}{}, a.Sets.DeleteStackSet(ctx, apicall.Call(req), in.StackSetName, in.CallAs)
}

func (a *API) instancesOp(action string) func(context.Context, *awsapi.Request, *setIn) (any, error) {
	return func(ctx context.Context, req *awsapi.Request, in *setIn) (any, error) {
		t, err := targetsIn(in)
		if err != nil {
			return nil, err
		}
		id, err := a.Sets.Instances(ctx, apicall.Call(req), action, stacksets.InstancesInput{Name: in.StackSetName, Targets: t,
			Prefs: prefsIn(in.OperationPreferences), Overrides: paramsIn(in.ParameterOverrides), RetainStacks: in.RetainStacks,
			OperationID: in.OperationId, CallAs: in.CallAs})
		if err != nil {
			return nil, err
		}
		return map[string]string{"OperationId": id}, nil
	}
}

type stackSetWire struct {
	StackSetName          string
	StackSetId            string
	StackSetARN           string
	Description           string `json:",omitempty"`
	Status                string
	TemplateBody          string
	Parameters            []parameterWire
	Capabilities          []string `json:",omitempty"`
	Tags                  []apicall.Tag
	AdministrationRoleARN string `json:",omitempty"`
	ExecutionRoleName     string `json:",omitempty"`
	PermissionModel       string
	AutoDeployment        *autoDeploymentWire `json:",omitempty"`
	OrganizationalUnitIds []string            `json:",omitempty"`
	Regions               []string            `json:",omitempty"`
}

func setParams(ps []stacks.ParameterInput) []parameterWire {
	out := []parameterWire{}
	for _, p := range ps {
		out = append(out, parameterWire{ParameterKey: p.Key, ParameterValue: p.Value})
	}
	return out
}

func autoOut(s stacksets.StackSet) *autoDeploymentWire {
	if s.PermissionModel != stacksets.ServiceManaged {
		return nil
	}
	e, r := s.AutoDeployment.Enabled, s.AutoDeployment.RetainStacksOnAccountRemoval
	return &autoDeploymentWire{Enabled: &e, RetainStacksOnAccountRemoval: &r}
}

func (a *API) describeStackSet(ctx context.Context, req *awsapi.Request, in *setIn) (any, error) {
	s, err := a.Sets.DescribeStackSet(ctx, apicall.Call(req), in.StackSetName, in.CallAs)
	if err != nil {
		return nil, err
	}
	w := stackSetWire{StackSetName: s.Name, StackSetId: s.ID, StackSetARN: s.ARN, Description: s.Description, Status: s.Status,
		TemplateBody: s.Template, Parameters: setParams(s.Parameters), Capabilities: s.Capabilities, Tags: tags(s.Tags),
		AdministrationRoleARN: s.AdminRoleARN, ExecutionRoleName: s.ExecutionRoleName, PermissionModel: s.PermissionModel,
		AutoDeployment: autoOut(s), OrganizationalUnitIds: s.OUs}
	seen := map[string]bool{}
	for _, i := range s.Instances {
		if !seen[i.Region] {
			seen[i.Region] = true
			w.Regions = append(w.Regions, i.Region)
		}
	}
	return struct{ StackSet stackSetWire }{w}, nil
}

type stackSetSummaryWire struct {
	StackSetName    string
	StackSetId      string
	Description     string `json:",omitempty"`
	Status          string
	PermissionModel string
	AutoDeployment  *autoDeploymentWire `json:",omitempty"`
	DriftStatus     string
}

func (a *API) listStackSets(ctx context.Context, req *awsapi.Request, in *setIn) (any, error) {
	sets, err := a.Sets.ListStackSets(ctx, apicall.Call(req), in.Status, in.CallAs)
	if err != nil {
		return nil, err
	}
	start, end, next, err := a.page(req, in.Status, in.NextToken, len(sets), pageSize(in.MaxResults))
	if err != nil {
		return nil, err
	}
	out := []stackSetSummaryWire{}
	for _, s := range sets[start:end] {
		out = append(out, stackSetSummaryWire{StackSetName: s.Name, StackSetId: s.ID, Description: s.Description, Status: s.Status,
			PermissionModel: s.PermissionModel, AutoDeployment: autoOut(s), DriftStatus: "NOT_CHECKED"})
	}
	return struct {
		Summaries []stackSetSummaryWire
		NextToken string `json:",omitempty"`
	}{out, next}, nil
}

func pageSize(n int) int {
	if n <= 0 || n > 100 {
		return 100
	}
	return n
}

type statusDetailsWire struct{ FailedStackInstancesCount int }

type operationWire struct {
	OperationId           string
	StackSetId            string `json:",omitempty"`
	Action                string
	Status                string
	StatusReason          string `json:",omitempty"`
	OperationPreferences  prefsWire
	RetainStacks          bool        `json:",omitempty"`
	AdministrationRoleARN string      `json:",omitempty"`
	ExecutionRoleName     string      `json:",omitempty"`
	DeploymentTargets     targetsWire `json:",omitempty"`
	CreationTimestamp     time.Time
	EndTimestamp          *time.Time `json:",omitempty"`
	StatusDetails         statusDetailsWire
}

func operationOut(s stacksets.StackSet, op stacksets.Operation) operationWire {
	failed := 0
	for _, r := range op.Results {
		if r.Status == stacksets.ResFailed {
			failed++
		}
	}
	return operationWire{OperationId: op.ID, StackSetId: s.ID, Action: op.Action, Status: op.Status, StatusReason: op.Reason,
		OperationPreferences: prefsOut(op.Prefs), RetainStacks: op.RetainStacks, AdministrationRoleARN: s.AdminRoleARN,
		ExecutionRoleName: s.ExecutionRoleName, DeploymentTargets: targetsWire{Accounts: op.Targets.Accounts,
			OrganizationalUnitIds: op.Targets.OrganizationalUnitIDs, AccountFilterType: op.Targets.AccountFilterType},
		CreationTimestamp: op.CreatedAt, EndTimestamp: timePtr(op.EndedAt), StatusDetails: statusDetailsWire{failed}}
}

func (a *API) describeStackSetOperation(ctx context.Context, req *awsapi.Request, in *setIn) (any, error) {
	s, op, err := a.Sets.DescribeOperation(ctx, apicall.Call(req), in.StackSetName, in.OperationId, in.CallAs, "DescribeStackSetOperation")
	if err != nil {
		return nil, err
	}
	return struct{ StackSetOperation operationWire }{operationOut(s, op)}, nil
}

func (a *API) listStackSetOperations(ctx context.Context, req *awsapi.Request, in *setIn) (any, error) {
	ops, err := a.Sets.Operations(ctx, apicall.Call(req), in.StackSetName, in.CallAs)
	if err != nil {
		return nil, err
	}
	start, end, next, err := a.page(req, in.StackSetName, in.NextToken, len(ops), pageSize(in.MaxResults))
	if err != nil {
		return nil, err
	}
	type summary struct {
		OperationId          string
		Action               string
		Status               string
		StatusReason         string `json:",omitempty"`
		CreationTimestamp    time.Time
		EndTimestamp         *time.Time `json:",omitempty"`
		OperationPreferences prefsWire
		StatusDetails        statusDetailsWire
	}
	out := []summary{}
	for _, op := range ops[start:end] {
		w := operationOut(stacksets.StackSet{}, op)
		out = append(out, summary{w.OperationId, w.Action, w.Status, w.StatusReason, w.CreationTimestamp, w.EndTimestamp, w.OperationPreferences, w.StatusDetails})
	}
	return struct {
		Summaries []summary
		NextToken string `json:",omitempty"`
	}{out, next}, nil
}

func (a *API) listStackSetOperationResults(ctx context.Context, req *awsapi.Request, in *setIn) (any, error) {
	_, op, err := a.Sets.DescribeOperation(ctx, apicall.Call(req), in.StackSetName, in.OperationId, in.CallAs, "ListStackSetOperationResults")
	if err != nil {
		return nil, err
	}
	start, end, next, err := a.page(req, in.StackSetName+"/"+in.OperationId, in.NextToken, len(op.Results), pageSize(in.MaxResults))
	if err != nil {
		return nil, err
	}
	type result struct {
		Account              string
		Region               string
		OrganizationalUnitId string `json:",omitempty"`
		Status               string
		StatusReason         string `json:",omitempty"`
		AccountGateResult    struct{ Status string }
	}
	out := []result{}
	for _, r := range op.Results[start:end] {
		w := result{Account: r.Account, Region: r.Region, OrganizationalUnitId: r.OU, Status: r.Status, StatusReason: r.Reason}
		w.AccountGateResult.Status = "SKIPPED"
		out = append(out, w)
	}
	return struct {
		Summaries []result
		NextToken string `json:",omitempty"`
	}{out, next}, nil
}

type instanceWire struct {
	StackSetId           string
	Region               string
	Account              string
	StackId              string `json:",omitempty"`
	Status               string
	StatusReason         string `json:",omitempty"`
	StackInstanceStatus  struct{ DetailedStatus string }
	OrganizationalUnitId string          `json:",omitempty"`
	DriftStatus          string          `json:",omitempty"`
	LastOperationId      string          `json:",omitempty"`
	ParameterOverrides   []parameterWire `json:",omitempty"`
}

func instanceOut(s stacksets.StackSet, i stacksets.Instance) instanceWire {
	w := instanceWire{StackSetId: s.ID, Region: i.Region, Account: i.Account, StackId: i.StackID, Status: i.Status,
		StatusReason: i.Reason, OrganizationalUnitId: i.OU, DriftStatus: "NOT_CHECKED", LastOperationId: i.LastOperationID}
	w.StackInstanceStatus.DetailedStatus = i.Detailed
	for _, p := range i.Overrides {
		w.ParameterOverrides = append(w.ParameterOverrides, parameterWire{ParameterKey: p.Key, ParameterValue: p.Value})
	}
	return w
}

func (a *API) listStackInstances(ctx context.Context, req *awsapi.Request, in *setIn) (any, error) {
	s, insts, err := a.Sets.ListInstances(ctx, apicall.Call(req), in.StackSetName, in.StackInstanceAccount, in.StackInstanceRegion, in.CallAs)
	if err != nil {
		return nil, err
	}
	start, end, next, err := a.page(req, in.StackSetName+"/"+in.StackInstanceAccount+"/"+in.StackInstanceRegion, in.NextToken, len(insts), pageSize(in.MaxResults))
	if err != nil {
		return nil, err
	}
	out := []instanceWire{}
	for _, i := range insts[start:end] {
		out = append(out, instanceOut(s, i))
	}
	return struct {
		Summaries []instanceWire
		NextToken string `json:",omitempty"`
	}{out, next}, nil
}

func (a *API) describeStackInstance(ctx context.Context, req *awsapi.Request, in *setIn) (any, error) {
	s, i, err := a.Sets.DescribeInstance(ctx, apicall.Call(req), in.StackSetName, in.StackInstanceAccount, in.StackInstanceRegion, in.CallAs)
	if err != nil {
		return nil, err
	}
	return struct{ StackInstance instanceWire }{instanceOut(s, i)}, nil
}

func validation(msg string) error { return errs.E(errs.Invalid, "%s", msg).WithCode("ValidationError") }
