// Package eventsapi serves the EventBridge API subset (awsJson1_1, target prefix AWSEvents):
// rules, targets, PutEvents, TestEventPattern, event buses and their permissions, and tags. It
// translates wire shapes to package rules' calls and back; every rule of the service, and
// every authorization decision, lives in package rules.
package eventsapi

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events/rules"
	"github.com/slipway-ml/slipway/internal/events/webhooks"
)

// API holds what the handlers need.
type API struct {
	Rules    *rules.Service
	Webhooks *webhooks.Service // connections and API destinations (webhooks.go)
	Tokens   *awsapi.PageTokens
}

// Service is the EventBridge service: its model, the operations and its error codes.
func (a *API) Service() (*awsapi.Service, error) {
	return awsapi.NewService("events", a.handlers(), errorCodes())
}

func (a *API) handlers() map[string]awsapi.Handler {
	h := a.webhookHandlers()
	for k, v := range map[string]awsapi.Handler{
		"PutRule":             apicall.Handle(a.putRule),
		"DescribeRule":        apicall.Handle(a.describeRule),
		"ListRules":           apicall.Handle(a.listRules),
		"DeleteRule":          apicall.Handle(a.deleteRule),
		"EnableRule":          apicall.Handle(a.enableRule),
		"DisableRule":         apicall.Handle(a.disableRule),
		"PutTargets":          apicall.Handle(a.putTargets),
		"RemoveTargets":       apicall.Handle(a.removeTargets),
		"ListTargetsByRule":   apicall.Handle(a.listTargets),
		"PutEvents":           apicall.Handle(a.putEvents),
		"TestEventPattern":    apicall.Handle(a.testEventPattern),
		"CreateEventBus":      apicall.Handle(a.createBus),
		"DescribeEventBus":    apicall.Handle(a.describeBus),
		"ListEventBuses":      apicall.Handle(a.listBuses),
		"DeleteEventBus":      apicall.Handle(a.deleteBus),
		"PutPermission":       apicall.Handle(a.putPermission),
		"RemovePermission":    apicall.Handle(a.removePermission),
		"TagResource":         apicall.Handle(a.tagResource),
		"UntagResource":       apicall.Handle(a.untagResource),
		"ListTagsForResource": apicall.Handle(a.listTags),
	} {
		h[k] = v
	}
	return h
}

func call(req *awsapi.Request) rules.Call {
	return rules.Call{Caller: req.Caller, Context: apicall.Context(req)}
}

func unsupported(what string) error {
	return errs.E(errs.Invalid, "%s is not supported", what).WithCode("ValidationException")
}

type putRuleIn struct {
	Name               string
	EventBusName       string
	EventPattern       string
	ScheduleExpression string
	State              string
	Description        string
	RoleArn            string
	Tags               []apicall.Tag
}

func (a *API) putRule(ctx context.Context, req *awsapi.Request, in *putRuleIn) (any, error) {
	tags, err := apicall.TagMap(in.Tags)
	if err != nil {
		return nil, err
	}
	arn, err := a.Rules.PutRule(ctx, call(req), rules.RuleInput{
		Name: in.Name, Bus: in.EventBusName, Pattern: in.EventPattern, Schedule: in.ScheduleExpression,
		State: rules.State(in.State), Description: in.Description, RoleARN: in.RoleArn, Tags: tags,
	})
	if err != nil {
		return nil, err
	}
	return struct{ RuleArn string }{arn}, nil
}

type ruleIn struct {
	Name         string
	EventBusName string
	Force        bool
}

type ruleOut struct {
	Name               string
	Arn                string
	EventBusName       string
	EventPattern       string `json:",omitempty"`
	ScheduleExpression string `json:",omitempty"`
	State              string
	Description        string `json:",omitempty"`
	RoleArn            string `json:",omitempty"`
	ManagedBy          string `json:",omitempty"`
	CreatedBy          string `json:",omitempty"`
}

func (a *API) ruleOut(r rules.Rule, withCreator bool) ruleOut {
	out := ruleOut{Name: r.Name, Arn: a.Rules.RuleARN(r.Account, r.Bus, r.Name), EventBusName: r.Bus, EventPattern: r.Pattern,
		ScheduleExpression: r.Schedule, State: string(r.State), Description: r.Description, RoleArn: r.RoleARN, ManagedBy: r.ManagedBy}
	if withCreator {
		out.CreatedBy = r.CreatedBy
	}
	return out
}

func (a *API) describeRule(ctx context.Context, req *awsapi.Request, in *ruleIn) (any, error) {
	r, err := a.Rules.DescribeRule(ctx, call(req), in.Name, in.EventBusName)
	if err != nil {
		return nil, err
	}
	return a.ruleOut(r, true), nil
}

type listRulesIn struct {
	EventBusName string
	NamePrefix   string
	NextToken    string
	Limit        int
}

func badToken() error {
	return errs.E(errs.Invalid, "The NextToken is not valid.").WithCode("ValidationException")
}

func (a *API) listRules(ctx context.Context, req *awsapi.Request, in *listRulesIn) (any, error) {
	scope := fmt.Sprintf("events/ListRules/%s/%s/%s", req.Caller.Account, in.EventBusName, in.NamePrefix)
	var after string
	if in.NextToken != "" {
		if err := a.Tokens.Decode(scope, in.NextToken, &after); err != nil {
			return nil, badToken()
		}
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 100
	}
	rs, err := a.Rules.ListRules(ctx, call(req), in.EventBusName, in.NamePrefix, after, limit+1)
	if err != nil {
		return nil, err
	}
	var next string
	if len(rs) > limit {
		rs = rs[:limit]
		if next, err = a.Tokens.Encode(scope, rs[limit-1].Name); err != nil {
			return nil, err
		}
	}
	out := make([]ruleOut, 0, len(rs))
	for _, r := range rs {
		out = append(out, a.ruleOut(r, false))
	}
	return struct {
		Rules     []ruleOut
		NextToken string `json:",omitempty"`
	}{out, next}, nil
}

func (a *API) deleteRule(ctx context.Context, req *awsapi.Request, in *ruleIn) (any, error) {
	return nil, a.Rules.DeleteRule(ctx, call(req), in.Name, in.EventBusName)
}

func (a *API) enableRule(ctx context.Context, req *awsapi.Request, in *ruleIn) (any, error) {
	return nil, a.Rules.SetState(ctx, call(req), in.Name, in.EventBusName, rules.Enabled)
}

func (a *API) disableRule(ctx context.Context, req *awsapi.Request, in *ruleIn) (any, error) {
	return nil, a.Rules.SetState(ctx, call(req), in.Name, in.EventBusName, rules.Disabled)
}

type transformerWire struct {
	InputPathsMap map[string]string `json:",omitempty"`
	InputTemplate string
}

type targetWire struct {
	Id               string
	Arn              string
	RoleArn          string           `json:",omitempty"`
	Input            string           `json:",omitempty"`
	InputPath        string           `json:",omitempty"`
	InputTransformer *transformerWire `json:",omitempty"`
	// Parameters of kinds not served here: refused when given.
	EcsParameters          any `json:",omitempty"`
	KinesisParameters      any `json:",omitempty"`
	RunCommandParameters   any `json:",omitempty"`
	BatchParameters        any `json:",omitempty"`
	SqsParameters          any `json:",omitempty"`
	RedshiftDataParameters any `json:",omitempty"`
	AppSyncParameters      any `json:",omitempty"`

	HttpParameters              *rules.HTTPParameters `json:",omitempty"`
	SageMakerPipelineParameters *pipelineParamsWire   `json:",omitempty"`
	RetryPolicy                 *retryWire            `json:",omitempty"`
	DeadLetterConfig            *struct{ Arn string } `json:",omitempty"`
}

type pipelineParamsWire struct {
	PipelineParameterList []struct{ Name, Value string }
}

type retryWire struct {
	MaximumRetryAttempts     *int `json:",omitempty"`
	MaximumEventAgeInSeconds *int `json:",omitempty"`
}

// targetOf translates a wire target to the domain's.
func targetOf(t targetWire) rules.Target {
	x := rules.Target{ID: t.Id, ARN: t.Arn, RoleARN: t.RoleArn, Input: t.Input, InputPath: t.InputPath, HTTP: t.HttpParameters}
	if t.InputTransformer != nil {
		x.InputTransformer = &rules.InputTransformer{InputPathsMap: t.InputTransformer.InputPathsMap, InputTemplate: t.InputTransformer.InputTemplate}
	}
	if p := t.SageMakerPipelineParameters; p != nil {
		x.SageMakerPipeline = &rules.PipelineParameters{Parameters: []rules.PipelineParameter{}}
		for _, v := range p.PipelineParameterList {
			x.SageMakerPipeline.Parameters = append(x.SageMakerPipeline.Parameters, rules.PipelineParameter{Name: v.Name, Value: v.Value})
		}
	}
	if r := t.RetryPolicy; r != nil {
		// Either member alone keeps the other's default, as EventBridge does.
		x.RetryPolicy = &rules.RetryPolicy{MaximumRetryAttempts: rules.DefaultRetryAttempts, MaximumEventAgeInSeconds: rules.DefaultEventAge}
		if r.MaximumRetryAttempts != nil {
			x.RetryPolicy.MaximumRetryAttempts = *r.MaximumRetryAttempts
		}
		if r.MaximumEventAgeInSeconds != nil {
			x.RetryPolicy.MaximumEventAgeInSeconds = *r.MaximumEventAgeInSeconds
		}
	}
	if t.DeadLetterConfig != nil {
		x.DeadLetter = t.DeadLetterConfig.Arn
	}
	return x
}

// wireOf translates a domain target to the wire's.
func wireOf(t rules.Target) targetWire {
	w := targetWire{Id: t.ID, Arn: t.ARN, RoleArn: t.RoleARN, Input: t.Input, InputPath: t.InputPath, HttpParameters: t.HTTP}
	if t.InputTransformer != nil {
		w.InputTransformer = &transformerWire{t.InputTransformer.InputPathsMap, t.InputTransformer.InputTemplate}
	}
	if p := t.SageMakerPipeline; p != nil {
		w.SageMakerPipelineParameters = &pipelineParamsWire{PipelineParameterList: []struct{ Name, Value string }{}}
		for _, v := range p.Parameters {
			w.SageMakerPipelineParameters.PipelineParameterList = append(w.SageMakerPipelineParameters.PipelineParameterList, struct{ Name, Value string }{v.Name, v.Value})
		}
	}
	if r := t.RetryPolicy; r != nil {
		w.RetryPolicy = &retryWire{&r.MaximumRetryAttempts, &r.MaximumEventAgeInSeconds}
	}
	if t.DeadLetter != "" {
		w.DeadLetterConfig = &struct{ Arn string }{t.DeadLetter}
	}
	return w
}

type putTargetsIn struct {
	Rule         string
	EventBusName string
	Targets      []targetWire
}

type failedOut struct {
	TargetId     string
	ErrorCode    string
	ErrorMessage string
}

func failedList(fs []rules.FailedEntry) []failedOut {
	out := make([]failedOut, 0, len(fs))
	for _, f := range fs {
		out = append(out, failedOut{f.ID, f.Code, f.Message})
	}
	return out
}

func (a *API) putTargets(ctx context.Context, req *awsapi.Request, in *putTargetsIn) (any, error) {
	ts := make([]rules.Target, 0, len(in.Targets))
	for _, t := range in.Targets {
		for name, v := range map[string]any{"EcsParameters": t.EcsParameters, "KinesisParameters": t.KinesisParameters,
			"RunCommandParameters": t.RunCommandParameters, "BatchParameters": t.BatchParameters, "SqsParameters": t.SqsParameters,
			"RedshiftDataParameters": t.RedshiftDataParameters,
			"AppSyncParameters":      t.AppSyncParameters} {
			if v != nil {
				return nil, unsupported("Target " + name)
			}
		}
		ts = append(ts, targetOf(t))
	}
	failed, err := a.Rules.PutTargets(ctx, call(req), in.Rule, in.EventBusName, ts)
	if err != nil {
		return nil, err
	}
	return struct {
		FailedEntryCount int
		FailedEntries    []failedOut
	}{len(failed), failedList(failed)}, nil
}

type removeTargetsIn struct {
	Rule         string
	EventBusName string
	Ids          []string
	Force        bool
}

func (a *API) removeTargets(ctx context.Context, req *awsapi.Request, in *removeTargetsIn) (any, error) {
	failed, err := a.Rules.RemoveTargets(ctx, call(req), in.Rule, in.EventBusName, in.Ids)
	if err != nil {
		return nil, err
	}
	return struct {
		FailedEntryCount int
		FailedEntries    []failedOut
	}{len(failed), failedList(failed)}, nil
}

type listTargetsIn struct {
	Rule         string
	EventBusName string
	NextToken    string
	Limit        int
}

func (a *API) listTargets(ctx context.Context, req *awsapi.Request, in *listTargetsIn) (any, error) {
	if in.NextToken != "" {
		return nil, badToken() // a rule has at most five targets: one page holds them
	}
	ts, err := a.Rules.ListTargets(ctx, call(req), in.Rule, in.EventBusName)
	if err != nil {
		return nil, err
	}
	out := make([]targetWire, 0, len(ts))
	for _, t := range ts {
		out = append(out, wireOf(t))
	}
	return struct{ Targets []targetWire }{out}, nil
}

type putEventsIn struct {
	Entries []struct {
		Source       string
		DetailType   string
		Detail       string
		EventBusName string
		Resources    []string
		Time         *time.Time
		TraceHeader  string
	}
	EndpointId string
}

type entryOut struct {
	EventId      string `json:",omitempty"`
	ErrorCode    string `json:",omitempty"`
	ErrorMessage string `json:",omitempty"`
}

func (a *API) putEvents(ctx context.Context, req *awsapi.Request, in *putEventsIn) (any, error) {
	if in.EndpointId != "" {
		return nil, unsupported("EndpointId (global endpoints)")
	}
	entries := make([]rules.Entry, len(in.Entries))
	for i, e := range in.Entries {
		entries[i] = rules.Entry{Source: e.Source, DetailType: e.DetailType, Detail: e.Detail, Bus: e.EventBusName, Resources: e.Resources}
		if e.Time != nil {
			entries[i].Time = *e.Time
		}
	}
	res, err := a.Rules.PutEvents(ctx, call(req), entries)
	if err != nil {
		return nil, err
	}
	out := make([]entryOut, len(res))
	failed := 0
	for i, r := range res {
		out[i] = entryOut{r.EventID, r.Code, r.Message}
		if r.Code != "" {
			failed++
		}
	}
	return struct {
		FailedEntryCount int
		Entries          []entryOut
	}{failed, out}, nil
}

type testIn struct {
	EventPattern string
	Event        string
}

func (a *API) testEventPattern(ctx context.Context, req *awsapi.Request, in *testIn) (any, error) {
	ok, err := a.Rules.TestEventPattern(ctx, call(req), in.EventPattern, in.Event)
	if err != nil {
		return nil, err
	}
	return struct{ Result bool }{ok}, nil
}

type createBusIn struct {
	Name             string
	EventSourceName  string
	Description      string
	KmsKeyIdentifier string
	DeadLetterConfig any
	LogConfig        any
	Tags             []apicall.Tag
}

func (a *API) createBus(ctx context.Context, req *awsapi.Request, in *createBusIn) (any, error) {
	switch {
	case in.EventSourceName != "":
		return nil, unsupported("EventSourceName (partner event buses)")
	case in.KmsKeyIdentifier != "":
		return nil, unsupported("KmsKeyIdentifier")
	case in.DeadLetterConfig != nil:
		return nil, unsupported("DeadLetterConfig")
	case in.LogConfig != nil:
		return nil, unsupported("LogConfig")
	}
	tags, err := apicall.TagMap(in.Tags)
	if err != nil {
		return nil, err
	}
	arn, err := a.Rules.CreateBus(ctx, call(req), rules.BusInput{Name: in.Name, Description: in.Description, Tags: tags})
	if err != nil {
		return nil, err
	}
	return struct {
		EventBusArn string
		Description string `json:",omitempty"`
	}{arn, in.Description}, nil
}

type busIn struct {
	Name string
}

type busOut struct {
	Name             string
	Arn              string
	Description      string     `json:",omitempty"`
	Policy           string     `json:",omitempty"`
	CreationTime     *time.Time `json:",omitempty"`
	LastModifiedTime *time.Time `json:",omitempty"`
}

func (a *API) busOut(b rules.Bus) busOut {
	out := busOut{Name: b.Name, Arn: a.Rules.BusARN(b.Account, b.Name), Description: b.Description, Policy: b.Policy}
	if !b.CreatedAt.IsZero() {
		c, m := b.CreatedAt, b.ModifiedAt
		out.CreationTime, out.LastModifiedTime = &c, &m
	}
	return out
}

func (a *API) describeBus(ctx context.Context, req *awsapi.Request, in *busIn) (any, error) {
	b, err := a.Rules.DescribeBus(ctx, call(req), in.Name)
	if err != nil {
		return nil, err
	}
	return a.busOut(b), nil
}

type listBusesIn struct {
	NamePrefix string
	NextToken  string
	Limit      int
}

func (a *API) listBuses(ctx context.Context, req *awsapi.Request, in *listBusesIn) (any, error) {
	scope := "events/ListEventBuses/" + req.Caller.Account + "/" + in.NamePrefix
	var after string
	if in.NextToken != "" {
		if err := a.Tokens.Decode(scope, in.NextToken, &after); err != nil {
			return nil, badToken()
		}
	}
	bs, err := a.Rules.ListBuses(ctx, call(req), in.NamePrefix)
	if err != nil {
		return nil, err
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].Name < bs[j].Name })
	limit := in.Limit
	if limit <= 0 {
		limit = 100
	}
	out := []busOut{}
	var next string
	for _, b := range bs {
		if b.Name <= after && after != "" {
			continue
		}
		if len(out) == limit {
			if next, err = a.Tokens.Encode(scope, out[limit-1].Name); err != nil {
				return nil, err
			}
			break
		}
		out = append(out, a.busOut(b))
	}
	return struct {
		EventBuses []busOut
		NextToken  string `json:",omitempty"`
	}{out, next}, nil
}

func (a *API) deleteBus(ctx context.Context, req *awsapi.Request, in *busIn) (any, error) {
	return nil, a.Rules.DeleteBus(ctx, call(req), in.Name)
}

type putPermissionIn struct {
	EventBusName string
	Action       string
	Principal    string
	StatementId  string
	Condition    *struct{ Type, Key, Value string }
	Policy       string
}

func (a *API) putPermission(ctx context.Context, req *awsapi.Request, in *putPermissionIn) (any, error) {
	p := rules.PermissionInput{Bus: in.EventBusName, Action: in.Action, Principal: in.Principal, StatementID: in.StatementId, Policy: in.Policy}
	if in.Condition != nil {
		p.ConditionType, p.ConditionKey, p.ConditionValue = in.Condition.Type, in.Condition.Key, in.Condition.Value
	}
	return nil, a.Rules.PutPermission(ctx, call(req), p)
}

type removePermissionIn struct {
	EventBusName         string
	StatementId          string
	RemoveAllPermissions bool
}

func (a *API) removePermission(ctx context.Context, req *awsapi.Request, in *removePermissionIn) (any, error) {
	return nil, a.Rules.RemovePermission(ctx, call(req), in.EventBusName, in.StatementId, in.RemoveAllPermissions)
}

type tagIn struct {
	ResourceARN string
	Tags        []apicall.Tag
	TagKeys     []string
}

func (a *API) tagResource(ctx context.Context, req *awsapi.Request, in *tagIn) (any, error) {
	tags, err := apicall.TagMap(in.Tags)
	if err != nil {
		return nil, err
	}
	return nil, a.Rules.Tag(ctx, call(req), in.ResourceARN, tags)
}

func (a *API) untagResource(ctx context.Context, req *awsapi.Request, in *tagIn) (any, error) {
	return nil, a.Rules.Untag(ctx, call(req), in.ResourceARN, in.TagKeys)
}

func (a *API) listTags(ctx context.Context, req *awsapi.Request, in *tagIn) (any, error) {
	tags, err := a.Rules.Tags(ctx, call(req), in.ResourceARN)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]apicall.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, apicall.Tag{Key: k, Value: tags[k]})
	}
	return struct{ Tags []apicall.Tag }{out}, nil
}
