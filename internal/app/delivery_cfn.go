package app

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/delivery"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/stacks"
)

// cfnDeployAction is the Deploy action of provider CloudFormation, acting through the stacks
// domain as the action's session:
//
//   - CREATE_UPDATE creates or updates StackName from TemplatePath (ARTIFACT::FILE, a file of
//     a zip artifact or the artifact itself) or TemplateBody (a Slipway extension);
//   - REPLACE_ON_FAILURE does the same, but first deletes a stack left in a failed state;
//   - DELETE_ONLY deletes it;
//   - CHANGE_SET_REPLACE (re)creates change set ChangeSetName without executing it;
//   - CHANGE_SET_EXECUTE executes it.
//
// Parameters come from TemplateConfiguration (ARTIFACT::FILE, JSON {"Parameters": {…},
// "Tags": {…}}), overridden by ParameterOverrides (a JSON object whose values are strings or
// {"Fn::GetParam": [ARTIFACT, FILE, KEY]} or {"Fn::GetArtifactAtt": [ARTIFACT, BucketName |
// ObjectKey | URL]}). OutputFileName writes the stack's outputs, a JSON object, as the action's
// one output artifact. The stack's client token is the action execution id, so a restarted
// engine finds the operation its first call started.
type cfnDeployAction struct{ a *App }

var (
	_ delivery.ActionSchema    = cfnDeployAction{}
	_ delivery.ActionValidator = cfnDeployAction{}
)

// Action modes.
const (
	modeCreateUpdate     = "CREATE_UPDATE"
	modeReplaceOnFailure = "REPLACE_ON_FAILURE"
	modeDeleteOnly       = "DELETE_ONLY"
	modeChangeSetReplace = "CHANGE_SET_REPLACE"
	modeChangeSetExecute = "CHANGE_SET_EXECUTE"
)

func (cfnDeployAction) Configuration() ([]string, []string) {
	return []string{"ActionMode", "StackName", "TemplatePath", "TemplateBody", "ParameterOverrides", "RoleArn", "Capabilities",
			"ChangeSetName", "TemplateConfiguration", "OutputFileName"},
		[]string{"ActionMode", "StackName"}
}

func failed(format string, args ...any) (delivery.ActionResult, error) {
	return delivery.ActionResult{}, errs.E(errs.Invalid, format, args...)
}

// paramValue is one ParameterOverrides value: a literal, or a function of an input artifact.
type paramValue struct {
	Literal  string
	Fn       string   // Fn::GetParam | Fn::GetArtifactAtt
	Args     []string // the function's arguments
	Artifact string
}

// parseOverrides reads ParameterOverrides and checks the artifacts it names are inputs.
func parseOverrides(s string, inputs []string) (map[string]paramValue, error) {
	out := map[string]paramValue{}
	if s == "" {
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, errs.E(errs.Invalid, "ParameterOverrides must be a JSON object: %v", err)
	}
	for k, raw := range m {
		var lit string
		if json.Unmarshal(raw, &lit) == nil {
			out[k] = paramValue{Literal: lit}
			continue
		}
		var fn map[string][]string
		if err := json.Unmarshal(raw, &fn); err != nil || len(fn) != 1 {
			return nil, errs.E(errs.Invalid, "ParameterOverrides %s must be a string, {\"Fn::GetParam\": [ARTIFACT, FILE, KEY]} or {\"Fn::GetArtifactAtt\": [ARTIFACT, ATTRIBUTE]}", k)
		}
		for name, args := range fn {
			switch {
			case name == "Fn::GetParam" && len(args) == 3 && args[1] != "" && args[2] != "":
			case name == "Fn::GetArtifactAtt" && len(args) == 2 && slices.Contains([]string{"BucketName", "ObjectKey", "URL"}, args[1]):
			default:
				return nil, errs.E(errs.Invalid, "ParameterOverrides %s: %s takes [ARTIFACT, FILE, KEY] (Fn::GetParam) or [ARTIFACT, BucketName|ObjectKey|URL] (Fn::GetArtifactAtt)", k, name)
			}
			if !slices.Contains(inputs, args[0]) {
				return nil, errs.E(errs.Invalid, "ParameterOverrides %s: %s names artifact %s, which is not an input artifact of the action", k, name, args[0])
			}
			out[k] = paramValue{Fn: name, Args: args, Artifact: args[0]}
		}
	}
	return out, nil
}

// templateConfiguration is a TemplateConfiguration file.
type templateConfiguration struct {
	Parameters  map[string]string
	Tags        map[string]string
	StackPolicy json.RawMessage
}

func parseTemplateConfiguration(b string) (templateConfiguration, error) {
	var tc templateConfiguration
	d := json.NewDecoder(strings.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&tc); err != nil {
		return tc, errs.E(errs.Invalid, "the TemplateConfiguration file must be JSON {\"Parameters\": {NAME: VALUE}, \"Tags\": {KEY: VALUE}}: %v", err)
	}
	return tc, nil
}

func (cfnDeployAction) Validate(a delivery.Action) error {
	cfg := a.Configuration
	mode := cfg["ActionMode"]
	switch mode {
	case modeCreateUpdate, modeReplaceOnFailure, modeDeleteOnly, modeChangeSetReplace, modeChangeSetExecute:
	default:
		return errs.E(errs.Invalid, "ActionMode %q must be CREATE_UPDATE, REPLACE_ON_FAILURE, DELETE_ONLY, CHANGE_SET_REPLACE or CHANGE_SET_EXECUTE", mode)
	}
	if err := stacksName(cfg["StackName"]); err != nil {
		return err
	}
	changeSet := mode == modeChangeSetReplace || mode == modeChangeSetExecute
	if changeSet != (cfg["ChangeSetName"] != "") {
		if changeSet {
			return errs.E(errs.Invalid, "ActionMode %s needs ChangeSetName", mode)
		}
		return errs.E(errs.Invalid, "ChangeSetName is for the CHANGE_SET_REPLACE and CHANGE_SET_EXECUTE modes")
	}
	needsTemplate := mode == modeCreateUpdate || mode == modeReplaceOnFailure || mode == modeChangeSetReplace
	hasTemplate := cfg["TemplatePath"] != "" || cfg["TemplateBody"] != ""
	if cfg["TemplatePath"] != "" && cfg["TemplateBody"] != "" {
		return errs.E(errs.Invalid, "give TemplatePath or TemplateBody, not both")
	}
	if needsTemplate != hasTemplate {
		if needsTemplate {
			return errs.E(errs.Invalid, "ActionMode %s needs TemplatePath", mode)
		}
		return errs.E(errs.Invalid, "ActionMode %s takes no template", mode)
	}
	for _, k := range []string{"TemplatePath", "TemplateConfiguration"} {
		if v := cfg[k]; v != "" {
			if !needsTemplate {
				return errs.E(errs.Invalid, "%s is not used by ActionMode %s", k, mode)
			}
			if _, err := artifactPath(a, k, v); err != nil {
				return err
			}
		}
	}
	if cfg["ParameterOverrides"] != "" && !needsTemplate {
		return errs.E(errs.Invalid, "ParameterOverrides is not used by ActionMode %s", mode)
	}
	if _, err := parseOverrides(cfg["ParameterOverrides"], a.InputArtifacts); err != nil {
		return err
	}
	for _, cp := range commaList(cfg["Capabilities"]) {
		if cp != "CAPABILITY_IAM" && cp != "CAPABILITY_NAMED_IAM" && cp != "CAPABILITY_AUTO_EXPAND" {
			return errs.E(errs.Invalid, "Capabilities %q must be CAPABILITY_IAM, CAPABILITY_NAMED_IAM or CAPABILITY_AUTO_EXPAND", cp)
		}
	}
	if f := cfg["OutputFileName"]; f != "" {
		if mode == modeDeleteOnly || mode == modeChangeSetReplace {
			return errs.E(errs.Invalid, "OutputFileName is not used by ActionMode %s", mode)
		}
		if len(a.OutputArtifacts) != 1 {
			return errs.E(errs.Invalid, "OutputFileName needs exactly one output artifact")
		}
		if strings.ContainsAny(f, "/\\") || f == "." || f == ".." {
			return errs.E(errs.Invalid, "OutputFileName %q must be a file name", f)
		}
	} else if len(a.OutputArtifacts) > 0 {
		return errs.E(errs.Invalid, "a CloudFormation action's output artifact holds its stack's outputs: name OutputFileName")
	}
	return nil
}

func stacksName(n string) error {
	if n == "" || len(n) > 128 || !stackSetNameRE.MatchString(n) {
		return errs.E(errs.Invalid, "StackName %q must start with a letter and hold only letters, digits and hyphens (at most 128)", n)
	}
	return nil
}

// failedState reports whether a stack is in a state REPLACE_ON_FAILURE replaces.
func failedState(s stacks.Status) bool {
	switch s {
	case stacks.RollbackComplete, stacks.CreateFailed, stacks.RollbackFailed, stacks.DeleteFailed:
		return true
	}
	return false
}

func (p cfnDeployAction) describe(ctx context.Context, r delivery.ActionRequest, name string) (*stacks.Stack, error) {
	var cur []stacks.Stack
	err := p.a.asAction(ctx, r.Call, "cloudformation", "DescribeStacks", func(ctx context.Context) error {
		var err error
		cur, err = p.a.Stacks.DescribeStacks(ctx, r.Call, name)
		return err
	})
	if errs.Is(err, errs.NotFound) || (err == nil && len(cur) != 1) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &cur[0], nil
}

func (p cfnDeployAction) Run(ctx context.Context, r delivery.ActionRequest) (delivery.ActionResult, error) {
	cfg := r.Action.Configuration
	mode, name := cfg["ActionMode"], cfg["StackName"]
	if err := p.Validate(r.Action); err != nil {
		return delivery.ActionResult{}, err
	}
	if id := r.State["stack"]; id != "" {
		return p.check(ctx, r, id, mode)
	}
	cur, err := p.describe(ctx, r, name)
	if err != nil {
		return delivery.ActionResult{}, err
	}
	switch mode {
	case modeDeleteOnly:
		if cur == nil {
			return delivery.ActionResult{Done: true, Summary: "Stack " + name + " does not exist"}, nil
		}
		err := p.a.asAction(ctx, r.Call, "cloudformation", "DeleteStack", func(ctx context.Context) error {
			return p.a.Stacks.DeleteStack(ctx, r.Call, cur.ID, cfg["RoleArn"], nil, r.ActionID)
		})
		if err != nil {
			return delivery.ActionResult{}, err
		}
		return delivery.ActionResult{State: map[string]string{"stack": cur.ID}, Summary: "Deleting stack " + name}, nil
	case modeChangeSetExecute:
		return p.execute(ctx, r, cur)
	}
	if cur != nil && cur.ClientToken == r.ActionID && mode != modeChangeSetReplace {
		return delivery.ActionResult{State: map[string]string{"stack": cur.ID}}, nil // our own earlier call
	}
	if cur != nil && !cur.Status.Terminal() && cur.Status != stacks.ReviewInProgress {
		return delivery.ActionResult{Summary: "Waiting for stack " + name + " (" + string(cur.Status) + ") to finish its operation"}, nil
	}
	if cur != nil && failedState(cur.Status) && mode != modeChangeSetReplace {
		if mode != modeReplaceOnFailure {
			return failed("Stack %s is in %s state and cannot be updated; delete it first, or use ActionMode REPLACE_ON_FAILURE", name, cur.Status)
		}
		err := p.a.asAction(ctx, r.Call, "cloudformation", "DeleteStack", func(ctx context.Context) error {
			return p.a.Stacks.DeleteStack(ctx, r.Call, cur.ID, cfg["RoleArn"], nil, r.ActionID+"-replace")
		})
		if err != nil {
			return delivery.ActionResult{}, err
		}
		return delivery.ActionResult{Summary: "Deleting stack " + name + " (" + string(cur.Status) + ") to replace it"}, nil
	}
	body, params, tags, err := p.inputs(ctx, r)
	if err != nil {
		return delivery.ActionResult{}, err
	}
	caps := commaList(cfg["Capabilities"])
	if mode == modeChangeSetReplace {
		return p.replaceChangeSet(ctx, r, cur, body, params, tags, caps)
	}
	var st stacks.Stack
	if cur == nil || cur.Status == stacks.ReviewInProgress {
		if cur != nil {
			return failed("Stack %s is REVIEW_IN_PROGRESS (it holds a change set not yet executed): execute it with CHANGE_SET_EXECUTE or delete it", name)
		}
		err = p.a.asAction(ctx, r.Call, "cloudformation", "CreateStack", func(ctx context.Context) error {
			st, err = p.a.Stacks.CreateStack(ctx, r.Call, stacks.CreateStackInput{Name: name, TemplateBody: body, Parameters: params,
				RoleARN: cfg["RoleArn"], Capabilities: caps, Tags: tags, ClientToken: r.ActionID})
			return err
		})
	} else {
		err = p.a.asAction(ctx, r.Call, "cloudformation", "UpdateStack", func(ctx context.Context) error {
			st, err = p.a.Stacks.UpdateStack(ctx, r.Call, stacks.UpdateStackInput{Name: cur.ID, TemplateBody: body, Parameters: params,
				RoleARN: cfg["RoleArn"], Capabilities: caps, Tags: tags, ClientToken: r.ActionID})
			return err
		})
		if err != nil && strings.Contains(errs.Message(err), "No updates are to be performed") {
			return p.finish(ctx, r, *cur, "Stack "+name+" is up to date: no updates are to be performed")
		}
	}
	if err != nil {
		return delivery.ActionResult{}, err
	}
	return delivery.ActionResult{State: map[string]string{"stack": st.ID}, Summary: "Stack " + name + ": " + string(st.Status)}, nil
}

// replaceChangeSet deletes change set ChangeSetName if the stack has one and creates it anew.
func (p cfnDeployAction) replaceChangeSet(ctx context.Context, r delivery.ActionRequest, cur *stacks.Stack, body string,
	params []stacks.ParameterInput, tags map[string]string, caps []string) (delivery.ActionResult, error) {
	cfg := r.Action.Configuration
	name, cs := cfg["StackName"], cfg["ChangeSetName"]
	typ := "UPDATE"
	if cur == nil || cur.Status == stacks.ReviewInProgress {
		typ = "CREATE"
	}
	if cur != nil {
		for _, x := range cur.ChangeSets {
			if x.Name != cs {
				continue
			}
			err := p.a.asAction(ctx, r.Call, "cloudformation", "DeleteChangeSet", func(ctx context.Context) error {
				return p.a.Stacks.DeleteChangeSet(ctx, r.Call, cs, cur.ID)
			})
			if err != nil && !errs.Is(err, errs.NotFound) {
				return delivery.ActionResult{}, err
			}
		}
	}
	var out stacks.ChangeSet
	err := p.a.asAction(ctx, r.Call, "cloudformation", "CreateChangeSet", func(ctx context.Context) error {
		var err error
		out, err = p.a.Stacks.CreateChangeSet(ctx, r.Call, stacks.CreateChangeSetInput{StackName: name, Name: cs, Type: typ,
			TemplateBody: body, Parameters: params, Capabilities: caps, RoleARN: cfg["RoleArn"], Tags: tags, ClientToken: r.ActionID})
		return err
	})
	if err != nil {
		return delivery.ActionResult{}, err
	}
	if out.Status == stacks.ChangeSetFailed {
		if out.Reason == stacks.NoChanges {
			return delivery.ActionResult{Done: true, Summary: "Change set " + cs + " of stack " + name + ": no changes"}, nil
		}
		return delivery.ActionResult{Done: true, Error: "Change set " + cs + " of stack " + name + " failed: " + out.Reason}, nil
	}
	return delivery.ActionResult{Done: true, Summary: "Change set " + cs + " of stack " + name + " (" + typ + ", " + strconv.Itoa(len(out.Changes)) + " changes) is ready to execute"}, nil
}

// execute executes change set ChangeSetName.
func (p cfnDeployAction) execute(ctx context.Context, r delivery.ActionRequest, cur *stacks.Stack) (delivery.ActionResult, error) {
	cfg := r.Action.Configuration
	name, cs := cfg["StackName"], cfg["ChangeSetName"]
	if cur == nil {
		return failed("Stack %s does not exist: create change set %s first (CHANGE_SET_REPLACE)", name, cs)
	}
	if cur.ClientToken == r.ActionID {
		return delivery.ActionResult{State: map[string]string{"stack": cur.ID}}, nil // executed before a restart
	}
	err := p.a.asAction(ctx, r.Call, "cloudformation", "ExecuteChangeSet", func(ctx context.Context) error {
		return p.a.Stacks.ExecuteChangeSet(ctx, r.Call, cs, cur.ID, r.ActionID, false)
	})
	if errs.Is(err, errs.NotFound) {
		return failed("Stack %s has no change set %s to execute", name, cs)
	}
	if err != nil {
		return delivery.ActionResult{}, err
	}
	return delivery.ActionResult{State: map[string]string{"stack": cur.ID}, Summary: "Executing change set " + cs + " of stack " + name}, nil
}

// inputs reads the template, the parameters (TemplateConfiguration, then ParameterOverrides)
// and the tags.
func (p cfnDeployAction) inputs(ctx context.Context, r delivery.ActionRequest) (string, []stacks.ParameterInput, map[string]string, error) {
	cfg := r.Action.Configuration
	body := cfg["TemplateBody"]
	if body == "" {
		var err error
		if body, err = p.a.readArtifactFile(ctx, r, cfg["TemplatePath"]); err != nil {
			return "", nil, nil, err
		}
	}
	params := map[string]string{}
	var tags map[string]string
	if tcPath := cfg["TemplateConfiguration"]; tcPath != "" {
		b, err := p.a.readArtifactFile(ctx, r, tcPath)
		if err != nil {
			return "", nil, nil, err
		}
		tc, err := parseTemplateConfiguration(b)
		if err != nil {
			return "", nil, nil, err
		}
		for k, v := range tc.Parameters {
			params[k] = v
		}
		tags = tc.Tags
	}
	over, err := parseOverrides(cfg["ParameterOverrides"], r.Action.InputArtifacts)
	if err != nil {
		return "", nil, nil, err
	}
	files := map[string]map[string]any{}
	for k, v := range over {
		switch v.Fn {
		case "":
			params[k] = v.Literal
		case "Fn::GetArtifactAtt":
			in := inputNamed(r, v.Artifact)
			if in == nil {
				return "", nil, nil, errs.E(errs.Invalid, "artifact %s is not an input of the action", v.Artifact)
			}
			params[k] = map[string]string{"BucketName": in.Bucket, "ObjectKey": in.Key, "URL": "s3://" + in.Bucket + "/" + in.Key}[v.Args[1]]
		case "Fn::GetParam":
			fk := v.Args[0] + "::" + v.Args[1]
			m, ok := files[fk]
			if !ok {
				b, err := p.a.readArtifactFile(ctx, r, fk)
				if err != nil {
					return "", nil, nil, err
				}
				if err := json.Unmarshal([]byte(b), &m); err != nil {
					return "", nil, nil, errs.E(errs.Invalid, "Fn::GetParam: %s is not a JSON object: %v", fk, err)
				}
				files[fk] = m
			}
			val, ok := m[v.Args[2]]
			if !ok {
				return "", nil, nil, errs.E(errs.Invalid, "Fn::GetParam: %s has no key %s", fk, v.Args[2])
			}
			switch x := val.(type) {
			case string:
				params[k] = x
			case float64, bool:
				b, _ := json.Marshal(x)
				params[k] = string(b)
			default:
				return "", nil, nil, errs.E(errs.Invalid, "Fn::GetParam: %s key %s is not a string, number or boolean", fk, v.Args[2])
			}
		}
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []stacks.ParameterInput
	for _, k := range keys {
		out = append(out, stacks.ParameterInput{Key: k, Value: params[k]})
	}
	return body, out, tags, nil
}

func inputNamed(r delivery.ActionRequest, name string) *delivery.Artifact {
	for i := range r.Inputs {
		if r.Inputs[i].Name == name {
			return &r.Inputs[i]
		}
	}
	return nil
}

// check looks at the stack the action's operation started.
func (p cfnDeployAction) check(ctx context.Context, r delivery.ActionRequest, id, mode string) (delivery.ActionResult, error) {
	var cur []stacks.Stack
	err := p.a.asAction(ctx, r.Call, "cloudformation", "DescribeStacks", func(ctx context.Context) error {
		var err error
		cur, err = p.a.Stacks.DescribeStacks(ctx, r.Call, id)
		return err
	})
	if err != nil {
		return delivery.ActionResult{}, err
	}
	st := cur[0]
	res := delivery.ActionResult{State: r.State, Summary: "Stack " + st.Name + ": " + string(st.Status)}
	switch st.Status {
	case stacks.CreateComplete, stacks.UpdateComplete:
		if mode != modeDeleteOnly {
			return p.finish(ctx, r, st, res.Summary)
		}
	case stacks.DeleteComplete:
		res.Done = true
		if mode != modeDeleteOnly {
			res.Error = "Stack " + st.Name + " was deleted"
		}
	case stacks.RollbackComplete, stacks.UpdateRollbackComplete, stacks.CreateFailed, stacks.DeleteFailed,
		stacks.RollbackFailed, stacks.UpdateRollbackFailed:
		res.Done, res.Error = true, "Stack "+st.Name+" ended "+string(st.Status)+": "+st.Reason
	}
	return res, nil
}

// finish ends a stack action that succeeded, writing the stack's outputs to OutputFileName.
func (p cfnDeployAction) finish(ctx context.Context, r delivery.ActionRequest, st stacks.Stack, summary string) (delivery.ActionResult, error) {
	res := delivery.ActionResult{Done: true, State: r.State, Summary: summary}
	file := r.Action.Configuration["OutputFileName"]
	if file == "" {
		return res, nil
	}
	outs := map[string]string{}
	for _, o := range st.Outputs {
		outs[o.Key] = o.Value
	}
	b, _ := json.MarshalIndent(outs, "", "  ")
	art := delivery.Artifact{Name: r.Action.OutputArtifacts[0], Bucket: r.ArtifactStore.Location,
		Key: artifactKey(r.PipelineName, r.Action.OutputArtifacts[0], r.ActionID), File: file}
	err := p.a.asAction(ctx, r.Call, "s3", "PutObject", func(ctx context.Context) error {
		_, err := p.a.Artifacts.PutObject(ctx, r.Call.Caller, artifacts.PutInput{Bucket: art.Bucket, Key: art.Key, Body: bytes.NewReader(b), ContentType: "application/json"})
		return err
	})
	if err != nil {
		return delivery.ActionResult{}, err
	}
	res.Outputs = []delivery.Artifact{art}
	return res, nil
}
