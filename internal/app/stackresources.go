package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events/rules"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/pipeline"
	"github.com/slipway-ml/slipway/internal/serving"
	"github.com/slipway-ml/slipway/internal/stacks"
)

// The second set of stack resource types: SageMaker pipelines, EventBridge rules, IAM inline
// and managed policies, and S3 bucket policies. Like the first (stacks.go), each is made
// through the domain service that owns it as the stack's role session. Return values follow
// CloudFormation's reference: Ref is the physical id the provider returns, Fn::GetAtt the
// attributes it lists.

// deploymentPolicy decodes an AWS::SageMaker::Endpoint's DeploymentConfig with the decoder
// SageMaker's UpdateEndpoint uses (serving.DeploymentConfig). A Ref to a Number parameter
// arrives as a string: the numeric fields (…Seconds, Value) are read either way.
func deploymentPolicy(r stacks.Request) (*serving.DeploymentPolicy, error) {
	v, ok := r.Properties["DeploymentConfig"]
	if !ok || v == nil {
		return nil, nil
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, propErr(r, "DeploymentConfig", "type: Object")
	}
	b, err := json.Marshal(numbers(v, ""))
	if err != nil {
		return nil, propErr(r, "DeploymentConfig", "type: Object")
	}
	var dc serving.DeploymentConfig
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&dc); err != nil {
		return nil, errs.E(errs.Invalid, "Properties validation failed for resource %s with message: #/DeploymentConfig: %s", r.LogicalID, jsonProblem(err))
	}
	return dc.Policy()
}

// numbers turns the numeric strings of a DeploymentConfig's number fields into numbers.
func numbers(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = numbers(e, k)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = numbers(e, key)
		}
		return out
	case string:
		if strings.HasSuffix(key, "Seconds") || key == "Value" {
			var n json.Number
			if json.Unmarshal([]byte(x), &n) == nil {
				return n
			}
		}
	}
	return v
}

// jsonProblem is a decoding error's text without Go's type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s: expected %s", te.Field, map[string]string{"int": "type: Integer", "string": "type: String"}[te.Type.String()])
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// undo deletes what a creation made before one of its later calls failed, and returns that
// failure: the engine records a creation that failed without a physical id as having made
// nothing, so a provider whose creation is several calls leaves nothing behind itself. It
// runs even when ctx is done (the failure is recorded either way).
func undo(ctx context.Context, failure error, del func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := del(ctx); err != nil {
		return fmt.Errorf("%w (and what it made could not be removed: %s)", failure, errs.Message(err))
	}
	return failure
}

// pList reads an array of strings.
func pList(r stacks.Request, m map[string]any, key string) ([]string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, propErr(r, key, "type: Array")
	}
	out := make([]string, 0, len(l))
	for i := range l {
		s, ok := l[i].(string)
		if !ok {
			return nil, propErr(r, fmt.Sprintf("%s/%d", key, i), "type: String")
		}
		out = append(out, s)
	}
	return out, nil
}

// pJSON reads a property given as an object or as JSON text (EventPattern,
// PipelineDefinitionBody).
func pJSON(r stacks.Request, m map[string]any, key string) (string, error) {
	switch x := m[key].(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err != nil {
			return "", propErr(r, key, "a JSON value")
		}
		return string(b), nil
	}
	return "", propErr(r, key, "type: Object or String")
}

// only refuses keys of an object property other than known.
func only(r stacks.Request, path string, m map[string]any, known ...string) error {
	for k := range m {
		ok := false
		for _, n := range known {
			ok = ok || k == n
		}
		if !ok {
			return errs.E(errs.Invalid, "Encountered unsupported property %s in %s of %s", k, path, r.LogicalID)
		}
	}
	return nil
}

// ---- AWS::SageMaker::Pipeline: Ref is the pipeline's name; it has no Fn::GetAtt attributes.

type pipelineProvider struct{ a *App }

var _ stacks.Schema = pipelineProvider{}

func (pipelineProvider) Properties() ([]string, []string) {
	return []string{"PipelineName", "PipelineDefinition", "RoleArn", "PipelineDescription", "PipelineDisplayName", "ParallelismConfiguration", "Tags"},
		[]string{"PipelineName", "PipelineDefinition", "RoleArn"}
}

func pipelineDefinition(r stacks.Request) (pipeline.DefinitionSource, error) {
	m, ok := r.Properties["PipelineDefinition"].(map[string]any)
	if !ok {
		return pipeline.DefinitionSource{}, propErr(r, "PipelineDefinition", "type: Object")
	}
	if err := only(r, "PipelineDefinition", m, "PipelineDefinitionBody", "PipelineDefinitionS3Location"); err != nil {
		return pipeline.DefinitionSource{}, err
	}
	body, err := pJSON(r, m, "PipelineDefinitionBody")
	if err != nil {
		return pipeline.DefinitionSource{}, err
	}
	loc, hasLoc := m["PipelineDefinitionS3Location"]
	if (body == "") == !hasLoc {
		return pipeline.DefinitionSource{}, propErr(r, "PipelineDefinition", "exactly one of PipelineDefinitionBody and PipelineDefinitionS3Location")
	}
	if !hasLoc {
		return pipeline.DefinitionSource{Text: body}, nil
	}
	lm, ok := loc.(map[string]any)
	if !ok {
		return pipeline.DefinitionSource{}, propErr(r, "PipelineDefinition/PipelineDefinitionS3Location", "type: Object")
	}
	if err := only(r, "PipelineDefinitionS3Location", lm, "Bucket", "Key", "Version", "ETag"); err != nil {
		return pipeline.DefinitionSource{}, err
	}
	var s3 pipeline.S3Location
	if s3.Bucket, err = pStr(r, lm, "Bucket"); err != nil {
		return pipeline.DefinitionSource{}, err
	}
	if s3.Key, err = pStr(r, lm, "Key"); err != nil {
		return pipeline.DefinitionSource{}, err
	}
	if s3.VersionID, err = pStr(r, lm, "Version"); err != nil {
		return pipeline.DefinitionSource{}, err
	}
	if s3.Bucket == "" || s3.Key == "" {
		return pipeline.DefinitionSource{}, propErr(r, "PipelineDefinition/PipelineDefinitionS3Location", "Bucket and Key")
	}
	return pipeline.DefinitionSource{S3: &s3}, nil
}

func pipelineParallel(r stacks.Request) (*int, error) {
	v, ok := r.Properties["ParallelismConfiguration"]
	if !ok || v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, propErr(r, "ParallelismConfiguration", "type: Object")
	}
	if err := only(r, "ParallelismConfiguration", m, "MaxParallelExecutionSteps"); err != nil {
		return nil, err
	}
	n, err := pNum(r, m, "MaxParallelExecutionSteps", 0)
	if err != nil || n != float64(int(n)) {
		return nil, propErr(r, "ParallelismConfiguration/MaxParallelExecutionSteps", "type: Integer")
	}
	i := int(n)
	return &i, nil
}

func (p pipelineProvider) Create(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	in := pipeline.CreateInput{}
	var err error
	if in.Name, err = pStr(r, r.Properties, "PipelineName"); err != nil {
		return stacks.Result{}, err
	}
	if in.RoleARN, err = pStr(r, r.Properties, "RoleArn"); err != nil {
		return stacks.Result{}, err
	}
	if in.Description, err = pStr(r, r.Properties, "PipelineDescription"); err != nil {
		return stacks.Result{}, err
	}
	if in.DisplayName, err = pStr(r, r.Properties, "PipelineDisplayName"); err != nil {
		return stacks.Result{}, err
	}
	if in.Tags, err = pTags(r, r.Properties); err != nil {
		return stacks.Result{}, err
	}
	if in.Definition, err = pipelineDefinition(r); err != nil {
		return stacks.Result{}, err
	}
	if in.MaxParallel, err = pipelineParallel(r); err != nil {
		return stacks.Result{}, err
	}
	pl, err := p.a.Pipelines.CreatePipeline(ctx, r.Call, in)
	if adopt(r, err, true) {
		pl, _, err = p.a.Pipelines.DescribePipeline(ctx, r.Call, in.Name, 0)
	}
	if err != nil {
		return stacks.Result{}, err
	}
	return done(pl.Name, map[string]any{}), nil
}

func (p pipelineProvider) Check(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	pl, _, err := p.a.Pipelines.DescribePipeline(ctx, r.Call, r.PhysicalID, 0)
	if err != nil {
		return stacks.Result{}, err
	}
	return done(pl.Name, map[string]any{}), nil
}

// Replaces: a new name is a new pipeline; everything else makes a new version of it.
func (pipelineProvider) Replaces(old, new map[string]any) bool {
	return changed(old, new, "PipelineName")
}

func (p pipelineProvider) Update(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	if changed(r.Old, r.Properties, "Tags") {
		return stacks.Result{}, errs.E(errs.Invalid, "Changing the Tags of AWS::SageMaker::Pipeline %s in place is not supported by this server", r.LogicalID)
	}
	in := pipeline.UpdateInput{Name: r.PhysicalID}
	var err error
	if in.RoleARN, err = pStr(r, r.Properties, "RoleArn"); err != nil {
		return stacks.Result{}, err
	}
	desc, err := pStr(r, r.Properties, "PipelineDescription")
	if err != nil {
		return stacks.Result{}, err
	}
	display, err := pStr(r, r.Properties, "PipelineDisplayName")
	if err != nil {
		return stacks.Result{}, err
	}
	if display == "" {
		display = r.PhysicalID // SageMaker's default display name is the pipeline's name
	}
	in.Description, in.DisplayName = &desc, &display
	def, err := pipelineDefinition(r)
	if err != nil {
		return stacks.Result{}, err
	}
	in.Definition = &def
	if in.MaxParallel, err = pipelineParallel(r); err != nil {
		return stacks.Result{}, err
	}
	if _, err := p.a.Pipelines.UpdatePipeline(ctx, r.Call, in); err != nil {
		return stacks.Result{}, err
	}
	return p.Check(ctx, r)
}

func (p pipelineProvider) Delete(ctx context.Context, r stacks.Request) (bool, error) {
	n := r.PhysicalID
	if n == "" {
		n, _ = pStr(r, r.Properties, "PipelineName")
	}
	_, err := p.a.Pipelines.DeletePipeline(ctx, r.Call, n)
	if errs.Is(err, errs.NotFound) {
		return true, nil
	}
	return err == nil, err
}

// ---- AWS::Events::Rule: Ref is the rule's name (EventBusName|Name on a custom bus);
// Fn::GetAtt Arn.

type ruleProvider struct{ a *App }

var _ stacks.Schema = ruleProvider{}

func (ruleProvider) Properties() ([]string, []string) {
	return []string{"Name", "EventBusName", "EventPattern", "ScheduleExpression", "State", "Description", "RoleArn", "Targets", "Tags"}, nil
}

func (ruleProvider) call(r stacks.Request) rules.Call {
	return rules.Call{Caller: r.Call.Caller, Context: r.Call.Context}
}

// ruleRef splits a rule's physical id into its bus and name.
func ruleRef(id string) (bus, name string) {
	if b, n, ok := strings.Cut(id, "|"); ok {
		return b, n
	}
	return "default", id
}

func ruleID(bus, name string) string {
	if bus == "" || bus == "default" {
		return name
	}
	return bus + "|" + name
}

// ruleBus is the EventBusName property as a bus name (it may be given as an ARN).
func ruleBus(r stacks.Request) (string, error) {
	b, err := pStr(r, r.Properties, "EventBusName")
	if err != nil {
		return "", err
	}
	if a, err := arn.Parse(b); err == nil {
		b = strings.TrimPrefix(a.Resource, "event-bus/")
	}
	if b == "" {
		b = "default"
	}
	return b, nil
}

func ruleInput(r stacks.Request, name, bus string) (rules.RuleInput, error) {
	in := rules.RuleInput{Name: name, Bus: bus}
	var err error
	if in.Pattern, err = pJSON(r, r.Properties, "EventPattern"); err != nil {
		return in, err
	}
	if in.Schedule, err = pStr(r, r.Properties, "ScheduleExpression"); err != nil {
		return in, err
	}
	state, err := pStr(r, r.Properties, "State")
	if err != nil {
		return in, err
	}
	in.State = rules.State(state)
	if in.Description, err = pStr(r, r.Properties, "Description"); err != nil {
		return in, err
	}
	if in.RoleARN, err = pStr(r, r.Properties, "RoleArn"); err != nil {
		return in, err
	}
	if in.Tags, err = pTags(r, r.Properties); err != nil {
		return in, err
	}
	if in.Tags == nil {
		in.Tags = map[string]string{} // the template is the whole truth: no tags is none
	}
	return in, nil
}

func ruleTargets(r stacks.Request, props map[string]any) ([]rules.Target, error) {
	v, ok := props["Targets"]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, propErr(r, "Targets", "type: Array")
	}
	var out []rules.Target
	for i, e := range l {
		key := fmt.Sprintf("Targets/%d", i)
		m, ok := e.(map[string]any)
		if !ok {
			return nil, propErr(r, key, "type: Object")
		}
		if err := only(r, key, m, "Id", "Arn", "RoleArn", "Input", "InputPath", "InputTransformer"); err != nil {
			return nil, err
		}
		var t rules.Target
		var err error
		if t.ID, err = pStr(r, m, "Id"); err != nil {
			return nil, err
		}
		if t.ARN, err = pStr(r, m, "Arn"); err != nil {
			return nil, err
		}
		if t.ID == "" || t.ARN == "" {
			return nil, propErr(r, key, "required properties [Id, Arn]")
		}
		if t.RoleARN, err = pStr(r, m, "RoleArn"); err != nil {
			return nil, err
		}
		if t.Input, err = pStr(r, m, "Input"); err != nil {
			return nil, err
		}
		if t.InputPath, err = pStr(r, m, "InputPath"); err != nil {
			return nil, err
		}
		if it, ok := m["InputTransformer"]; ok && it != nil {
			im, ok := it.(map[string]any)
			if !ok {
				return nil, propErr(r, key+"/InputTransformer", "type: Object")
			}
			if err := only(r, key+"/InputTransformer", im, "InputPathsMap", "InputTemplate"); err != nil {
				return nil, err
			}
			var x rules.InputTransformer
			if x.InputPathsMap, err = pStringMap(r, im, "InputPathsMap"); err != nil {
				return nil, err
			}
			if x.InputTemplate, err = pStr(r, im, "InputTemplate"); err != nil {
				return nil, err
			}
			t.InputTransformer = &x
		}
		out = append(out, t)
	}
	return out, nil
}

// putTargets puts targets, failing on the first entry the service refuses.
func (p ruleProvider) putTargets(ctx context.Context, r stacks.Request, bus, name string, ts []rules.Target) error {
	if len(ts) == 0 {
		return nil
	}
	failed, err := p.a.Rules.PutTargets(ctx, p.call(r), name, bus, ts)
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return errs.E(errs.Invalid, "Target %s of rule %s: %s (%s)", failed[0].ID, name, failed[0].Message, failed[0].Code)
	}
	return nil
}

func (p ruleProvider) attrs(r stacks.Request, bus, name string) map[string]any {
	return map[string]any{"Arn": p.a.Rules.RuleARN(r.Call.Caller.Account, bus, name)}
}

func (p ruleProvider) Create(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	n, named, err := name(r, "Name")
	if err != nil {
		return stacks.Result{}, err
	}
	if len(n) > 64 {
		n = n[:52] + n[len(n)-12:]
	}
	bus, err := ruleBus(r)
	if err != nil {
		return stacks.Result{}, err
	}
	in, err := ruleInput(r, n, bus)
	if err != nil {
		return stacks.Result{}, err
	}
	ts, err := ruleTargets(r, r.Properties)
	if err != nil {
		return stacks.Result{}, err
	}
	// PutRule replaces a rule of that name: a named rule that exists already is someone else's.
	if !ours(r, named) {
		if _, err := p.a.Rules.DescribeRule(ctx, p.call(r), n, bus); err == nil {
			return stacks.Result{}, errs.E(errs.Conflict, "%s already exists in stack %s", n, r.StackID).WithCode("AlreadyExists")
		} else if !errs.Is(err, errs.NotFound) {
			return stacks.Result{}, err
		}
	}
	if _, err := p.a.Rules.PutRule(ctx, p.call(r), in); err != nil {
		return stacks.Result{}, err
	}
	if err := p.putTargets(ctx, r, bus, n, ts); err != nil {
		r.PhysicalID = ruleID(bus, n)
		return stacks.Result{}, undo(ctx, err, func(ctx context.Context) error { _, err := p.Delete(ctx, r); return err })
	}
	return done(ruleID(bus, n), p.attrs(r, bus, n)), nil
}

func (p ruleProvider) Check(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	bus, n := ruleRef(r.PhysicalID)
	if _, err := p.a.Rules.DescribeRule(ctx, p.call(r), n, bus); err != nil {
		return stacks.Result{}, err
	}
	return done(r.PhysicalID, p.attrs(r, bus, n)), nil
}

func (ruleProvider) Replaces(old, new map[string]any) bool {
	return changed(old, new, "Name", "EventBusName")
}

// Update puts the rule again and brings its targets to the template's: new and changed ones
// are put, the others removed.
func (p ruleProvider) Update(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	bus, n := ruleRef(r.PhysicalID)
	in, err := ruleInput(r, n, bus)
	if err != nil {
		return stacks.Result{}, err
	}
	ts, err := ruleTargets(r, r.Properties)
	if err != nil {
		return stacks.Result{}, err
	}
	if _, err := p.a.Rules.PutRule(ctx, p.call(r), in); err != nil {
		return stacks.Result{}, err
	}
	if err := p.putTargets(ctx, r, bus, n, ts); err != nil {
		return stacks.Result{}, err
	}
	have, err := p.a.Rules.ListTargets(ctx, p.call(r), n, bus)
	if err != nil {
		return stacks.Result{}, err
	}
	keep := map[string]bool{}
	for _, t := range ts {
		keep[t.ID] = true
	}
	var gone []string
	for _, t := range have {
		if !keep[t.ID] {
			gone = append(gone, t.ID)
		}
	}
	if err := p.removeTargets(ctx, r, bus, n, gone); err != nil {
		return stacks.Result{}, err
	}
	return p.Check(ctx, r)
}

func (p ruleProvider) removeTargets(ctx context.Context, r stacks.Request, bus, name string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	failed, err := p.a.Rules.RemoveTargets(ctx, p.call(r), name, bus, ids)
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return errs.E(errs.Invalid, "Target %s of rule %s: %s", failed[0].ID, name, failed[0].Message)
	}
	return nil
}

// Delete removes the rule's targets, then the rule.
func (p ruleProvider) Delete(ctx context.Context, r stacks.Request) (bool, error) {
	bus, n := ruleRef(r.PhysicalID)
	if r.PhysicalID == "" {
		var err error
		if bus, err = ruleBus(r); err != nil {
			return true, nil // nothing was made from properties that do not read
		}
		n, _, _ = name(r, "Name")
		if len(n) > 64 {
			n = n[:52] + n[len(n)-12:]
		}
	}
	have, err := p.a.Rules.ListTargets(ctx, p.call(r), n, bus)
	if errs.Is(err, errs.NotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	ids := make([]string, 0, len(have))
	for _, t := range have {
		ids = append(ids, t.ID)
	}
	if err := p.removeTargets(ctx, r, bus, n, ids); err != nil {
		return false, err
	}
	err = p.a.Rules.DeleteRule(ctx, p.call(r), n, bus)
	if errs.Is(err, errs.NotFound) {
		return true, nil
	}
	return err == nil, err
}

// ---- IAM policies: the principals they apply to (Roles, Users; Groups are refused: this
// server has no IAM groups).

type principals struct{ roles, users []string }

func policyPrincipals(r stacks.Request, m map[string]any) (principals, error) {
	var p principals
	var err error
	if g, _ := pList(r, m, "Groups"); len(g) > 0 {
		return p, errs.E(errs.Invalid, "Groups of %s: this server has no IAM groups; attach the policy to Roles or Users", r.LogicalID)
	}
	if p.roles, err = pList(r, m, "Roles"); err != nil {
		return p, err
	}
	if p.users, err = pList(r, m, "Users"); err != nil {
		return p, err
	}
	for i, n := range p.roles {
		if a, err := arn.Parse(n); err == nil { // a role's ARN where its name is asked
			p.roles[i] = a.Resource[strings.LastIndex(a.Resource, "/")+1:]
		}
	}
	return p, nil
}

func (p principals) each(fn func(kind, name string) error) error {
	for _, n := range p.roles {
		if err := fn(identity.KindRole, n); err != nil {
			return err
		}
	}
	for _, n := range p.users {
		if err := fn(identity.KindUser, n); err != nil {
			return err
		}
	}
	return nil
}

// minus is the principals of p that q lacks.
func (p principals) minus(q principals) principals {
	has := map[string]bool{}
	q.each(func(kind, name string) error { has[kind+"/"+name] = true; return nil })
	var out principals
	p.each(func(kind, name string) error {
		if !has[kind+"/"+name] {
			if kind == identity.KindRole {
				out.roles = append(out.roles, name)
			} else {
				out.users = append(out.users, name)
			}
		}
		return nil
	})
	return out
}

// ---- AWS::IAM::Policy (an inline policy of roles and users): Ref is its generated id;
// Fn::GetAtt Id.

type inlinePolicyProvider struct{ id *identity.Service }

var _ stacks.Schema = inlinePolicyProvider{}

func (inlinePolicyProvider) Properties() ([]string, []string) {
	return []string{"PolicyName", "PolicyDocument", "Roles", "Users", "Groups"}, []string{"PolicyName", "PolicyDocument"}
}

func inlineSpec(r stacks.Request, m map[string]any) (string, string, principals, error) {
	n, err := pStr(r, m, "PolicyName")
	if err != nil {
		return "", "", principals{}, err
	}
	doc, err := pDocument(r, m, "PolicyDocument")
	if err != nil {
		return "", "", principals{}, err
	}
	ps, err := policyPrincipals(r, m)
	if err != nil {
		return "", "", principals{}, err
	}
	if len(ps.roles)+len(ps.users) == 0 {
		return "", "", principals{}, errs.E(errs.Invalid, "At least one of [Groups,Roles,Users] must be non-empty for %s", r.LogicalID)
	}
	return n, doc, ps, nil
}

func (p inlinePolicyProvider) Create(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	n, doc, ps, err := inlineSpec(r, r.Properties)
	if err != nil {
		return stacks.Result{}, err
	}
	err = ps.each(func(kind, principal string) error {
		return p.id.PutInlinePolicy(ctx, r.Call, kind, principal, n, doc)
	})
	if err != nil {
		return stacks.Result{}, undo(ctx, err, func(ctx context.Context) error { return p.remove(ctx, r, n, ps) })
	}
	return done(r.Name, map[string]any{"Id": r.Name}), nil
}

func (p inlinePolicyProvider) Check(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	return done(r.PhysicalID, map[string]any{"Id": r.PhysicalID}), nil
}

// Replaces: every property of an inline policy changes in place.
func (inlinePolicyProvider) Replaces(old, new map[string]any) bool { return false }

func (p inlinePolicyProvider) Update(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	n, doc, ps, err := inlineSpec(r, r.Properties)
	if err != nil {
		return stacks.Result{}, err
	}
	oldName, _ := pStr(r, r.Old, "PolicyName")
	oldPs, _ := policyPrincipals(r, r.Old)
	err = ps.each(func(kind, principal string) error {
		return p.id.PutInlinePolicy(ctx, r.Call, kind, principal, n, doc)
	})
	if err != nil {
		return stacks.Result{}, err
	}
	stale := oldPs.minus(ps)
	if oldName != n {
		stale = oldPs // renamed: the old name goes from every principal it was on
	}
	if err := p.remove(ctx, r, oldName, stale); err != nil {
		return stacks.Result{}, err
	}
	return p.Check(ctx, r)
}

func (p inlinePolicyProvider) remove(ctx context.Context, r stacks.Request, n string, ps principals) error {
	return ps.each(func(kind, principal string) error {
		err := p.id.DeleteInlinePolicy(ctx, r.Call, kind, principal, n)
		if errs.Is(err, errs.NotFound) {
			return nil
		}
		return err
	})
}

func (p inlinePolicyProvider) Delete(ctx context.Context, r stacks.Request) (bool, error) {
	n, _ := pStr(r, r.Properties, "PolicyName")
	ps, err := policyPrincipals(r, r.Properties)
	if err != nil || n == "" {
		return true, nil // properties that do not read made nothing
	}
	if err := p.remove(ctx, r, n, ps); err != nil {
		return false, err
	}
	return true, nil
}

// ---- AWS::IAM::ManagedPolicy: Ref is its ARN; Fn::GetAtt PolicyArn, PolicyId,
// AttachmentCount, CreateDate, UpdateDate, DefaultVersionId, IsAttachable,
// PermissionsBoundaryUsageCount.

type managedPolicyProvider struct{ id *identity.Service }

var _ stacks.Schema = managedPolicyProvider{}

func (managedPolicyProvider) Properties() ([]string, []string) {
	return []string{"ManagedPolicyName", "PolicyDocument", "Description", "Path", "Roles", "Users", "Groups"}, []string{"PolicyDocument"}
}

func managedAttrs(m identity.ManagedPolicy) map[string]any {
	return map[string]any{"PolicyArn": m.ARN, "PolicyId": m.ID, "AttachmentCount": m.Attachments,
		"CreateDate": m.CreatedAt.UTC().Format(time.RFC3339), "UpdateDate": m.UpdatedAt.UTC().Format(time.RFC3339),
		"DefaultVersionId": "v1", "IsAttachable": true, "PermissionsBoundaryUsageCount": 0}
}

func (p managedPolicyProvider) Create(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	n, named, err := name(r, "ManagedPolicyName")
	if err != nil {
		return stacks.Result{}, err
	}
	doc, err := pDocument(r, r.Properties, "PolicyDocument")
	if err != nil {
		return stacks.Result{}, err
	}
	desc, err := pStr(r, r.Properties, "Description")
	if err != nil {
		return stacks.Result{}, err
	}
	path, err := pStr(r, r.Properties, "Path")
	if err != nil {
		return stacks.Result{}, err
	}
	ps, err := policyPrincipals(r, r.Properties)
	if err != nil {
		return stacks.Result{}, err
	}
	m, err := p.id.CreateManagedPolicy(ctx, r.Call, n, path, desc, doc)
	if adopt(r, err, named) {
		if path == "" {
			path = "/"
		}
		m, err = p.id.DescribeManagedPolicy(ctx, r.Call, arn.IAM(r.Call.Caller.Account, "policy", path, n))
	}
	if err != nil {
		return stacks.Result{}, err
	}
	if err := ps.each(func(kind, principal string) error { return p.id.Attach(ctx, r.Call, kind, principal, m.ARN) }); err != nil {
		r.PhysicalID = m.ARN
		return stacks.Result{}, undo(ctx, err, func(ctx context.Context) error { _, err := p.Delete(ctx, r); return err })
	}
	if m, err = p.id.DescribeManagedPolicy(ctx, r.Call, m.ARN); err != nil {
		return stacks.Result{}, err
	}
	return done(m.ARN, managedAttrs(m)), nil
}

func (p managedPolicyProvider) Check(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	m, err := p.id.DescribeManagedPolicy(ctx, r.Call, r.PhysicalID)
	if err != nil {
		return stacks.Result{}, err
	}
	return done(m.ARN, managedAttrs(m)), nil
}

// Replaces: the name, path and description make a new policy, as in CloudFormation; so does a
// new document here (this server keeps no policy versions), which a named policy cannot take.
func (managedPolicyProvider) Replaces(old, new map[string]any) bool {
	return changed(old, new, "ManagedPolicyName", "Path", "Description", "PolicyDocument")
}

// Update brings the policy's attachments to the template's.
func (p managedPolicyProvider) Update(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	ps, err := policyPrincipals(r, r.Properties)
	if err != nil {
		return stacks.Result{}, err
	}
	oldPs, _ := policyPrincipals(r, r.Old)
	if err := ps.each(func(kind, principal string) error { return p.id.Attach(ctx, r.Call, kind, principal, r.PhysicalID) }); err != nil {
		return stacks.Result{}, err
	}
	if err := p.detach(ctx, r, oldPs.minus(ps)); err != nil {
		return stacks.Result{}, err
	}
	return p.Check(ctx, r)
}

func (p managedPolicyProvider) detach(ctx context.Context, r stacks.Request, ps principals) error {
	return ps.each(func(kind, principal string) error {
		err := p.id.Detach(ctx, r.Call, kind, principal, r.PhysicalID)
		if errs.Is(err, errs.NotFound) {
			return nil
		}
		return err
	})
}

// Delete detaches the policy from the template's principals, then deletes it.
func (p managedPolicyProvider) Delete(ctx context.Context, r stacks.Request) (bool, error) {
	if r.PhysicalID == "" {
		// A creation that failed after CreatePolicy (an attachment refused): the ARN follows
		// from the name and path.
		n, _, err := name(r, "ManagedPolicyName")
		path, _ := pStr(r, r.Properties, "Path")
		if err != nil || n == "" {
			return true, nil
		}
		if path == "" {
			path = "/"
		}
		r.PhysicalID = arn.IAM(r.Call.Caller.Account, "policy", path, n)
	}
	ps, _ := policyPrincipals(r, r.Properties)
	if err := p.detach(ctx, r, ps); err != nil {
		return false, err
	}
	err := p.id.DeleteManagedPolicy(ctx, r.Call, r.PhysicalID)
	if errs.Is(err, errs.NotFound) {
		return true, nil
	}
	return err == nil, err
}

// ---- AWS::S3::BucketPolicy: Ref is the bucket's name; it has no Fn::GetAtt attributes.

type bucketPolicyProvider struct{ a *App }

var _ stacks.Schema = bucketPolicyProvider{}

func (bucketPolicyProvider) Properties() ([]string, []string) {
	return []string{"Bucket", "PolicyDocument"}, []string{"Bucket", "PolicyDocument"}
}

func (p bucketPolicyProvider) put(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	b, err := pStr(r, r.Properties, "Bucket")
	if err != nil {
		return stacks.Result{}, err
	}
	doc, err := pDocument(r, r.Properties, "PolicyDocument")
	if err != nil {
		return stacks.Result{}, err
	}
	if err := p.a.Artifacts.PutBucketPolicy(ctx, r.Call.Caller, b, doc); err != nil {
		return stacks.Result{}, err
	}
	return done(b, map[string]any{}), nil
}

func (p bucketPolicyProvider) Create(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	return p.put(ctx, r)
}

func (p bucketPolicyProvider) Check(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	return done(r.PhysicalID, map[string]any{}), nil
}

func (bucketPolicyProvider) Replaces(old, new map[string]any) bool {
	return changed(old, new, "Bucket")
}

func (p bucketPolicyProvider) Update(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	return p.put(ctx, r)
}

func (p bucketPolicyProvider) Delete(ctx context.Context, r stacks.Request) (bool, error) {
	b := r.PhysicalID
	if b == "" {
		b, _ = pStr(r, r.Properties, "Bucket")
	}
	err := p.a.Artifacts.DeleteBucketPolicy(ctx, r.Call.Caller, b)
	if errs.Is(err, errs.NotFound) {
		return true, nil
	}
	return err == nil, err
}
