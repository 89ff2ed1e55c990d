package app

import (
	"context"
	"encoding/json"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/delivery"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/stacks"
	"github.com/slipway-ml/slipway/internal/stacksets"
)

// The Deploy actions of providers CloudFormationStackSet and CloudFormationStackInstances act
// through the stack sets domain (package stacksets) as the action's session. Their operations
// are named after the action execution id, so a restarted engine finds the operation its
// earlier call started instead of starting another:
//
//	cp-<action id>-set   the UpdateStackSet of an existing set (CloudFormationStackSet)
//	cp-<action id>-inst  the CreateStackInstances over DeploymentTargets × Regions
//
// CreateStackInstances over an account that has an instance already updates it, so one
// operation both adds the accounts that are new and brings the others to the set's template.

// stackSetAction runs CloudFormationStackSet (instances=false) and CloudFormationStackInstances.
type stackSetAction struct {
	a         *App
	instances bool
}

var (
	_ delivery.ActionSchema    = stackSetAction{}
	_ delivery.ActionValidator = stackSetAction{}
)

func (p stackSetAction) Configuration() (known, required []string) {
	common := []string{"StackSetName", "DeploymentTargets", "Regions", "FailureToleranceCount", "FailureTolerancePercentage",
		"MaxConcurrentCount", "MaxConcurrentPercentage"}
	if p.instances {
		return append(common, "ParameterOverrides"), []string{"StackSetName", "DeploymentTargets", "Regions"}
	}
	return append(common, "TemplatePath", "Parameters", "Capabilities", "PermissionModel", "AdministrationRoleArn",
		"ExecutionRoleName", "OrganizationsAutoDeployment", "Description"), []string{"StackSetName", "TemplatePath"}
}

// stackSetConfig is an action's configuration, read and checked.
type stackSetConfig struct {
	Name         string
	TemplatePath string // ARTIFACT::FILE
	// Parameters (CloudFormationStackSet) or ParameterOverrides (CloudFormationStackInstances):
	// shorthand parameters, or ParamsPath naming a JSON file of an input artifact.
	Params       []stacks.ParameterInput
	ParamsPath   string
	Capabilities []string
	Model        string
	AdminRole    string
	ExecRole     string
	Auto         *stacksets.AutoDeployment
	// Targets are account or OU ids, or TargetsPath names a JSON file of an input artifact.
	Targets     []string
	TargetsPath string
	Regions     []string
	Prefs       stacksets.Preferences
	Description *string
}

var (
	stackSetNameRE = regexp.MustCompile(`^[a-zA-Z][-a-zA-Z0-9]{0,127}$`)
	accountIDRE    = regexp.MustCompile(`^[0-9]{12}$`)
	ouIDRE         = regexp.MustCompile(`^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$`)
	regionRE       = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// artifactPath reads ARTIFACT::FILE, where ARTIFACT must be one of the action's inputs.
func artifactPath(a delivery.Action, key, v string) (string, error) {
	art, file, ok := strings.Cut(v, "::")
	if !ok || art == "" || file == "" {
		return "", errs.E(errs.Invalid, "%s %q must be ARTIFACT::FILE", key, v)
	}
	if !slices.Contains(a.InputArtifacts, art) {
		return "", errs.E(errs.Invalid, "%s names artifact %s, which is not an input artifact of the action", key, art)
	}
	return v, nil
}

// isArtifactPath reports whether a value that may be inline is ARTIFACT::FILE instead.
func isArtifactPath(v string) bool { return strings.Contains(v, "::") }

// parseShorthandParams reads CloudFormation's shorthand parameters:
// "ParameterKey=A,ParameterValue=1 ParameterKey=B,UsePreviousValue=true".
func parseShorthandParams(s string) ([]stacks.ParameterInput, error) {
	var out []stacks.ParameterInput
	for _, item := range strings.Fields(s) {
		var p stacks.ParameterInput
		for _, kv := range strings.Split(item, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, errs.E(errs.Invalid, "parameter %q: %q is not KEY=VALUE (use ParameterKey=NAME,ParameterValue=VALUE)", item, kv)
			}
			switch k {
			case "ParameterKey":
				p.Key = v
			case "ParameterValue":
				p.Value = v
			case "UsePreviousValue":
				b, err := strconv.ParseBool(v)
				if err != nil {
					return nil, errs.E(errs.Invalid, "parameter %q: UsePreviousValue must be true or false", item)
				}
				p.UsePreviousValue = b
			case "ResolvedValue":
			default:
				return nil, errs.E(errs.Invalid, "parameter %q: unknown field %s (ParameterKey, ParameterValue, UsePreviousValue)", item, k)
			}
		}
		if p.Key == "" {
			return nil, errs.E(errs.Invalid, "parameter %q has no ParameterKey", item)
		}
		out = append(out, p)
	}
	return out, nil
}

// parseParamsFile reads a parameters file: [{"ParameterKey": …, "ParameterValue": …}].
func parseParamsFile(b string) ([]stacks.ParameterInput, error) {
	var in []struct {
		ParameterKey     string
		ParameterValue   string
		UsePreviousValue bool
	}
	if err := json.Unmarshal([]byte(b), &in); err != nil {
		return nil, errs.E(errs.Invalid, "the parameters file must be a JSON list of {\"ParameterKey\", \"ParameterValue\"}: %v", err)
	}
	var out []stacks.ParameterInput
	for _, p := range in {
		if p.ParameterKey == "" {
			return nil, errs.E(errs.Invalid, "the parameters file has an entry without ParameterKey")
		}
		out = append(out, stacks.ParameterInput{Key: p.ParameterKey, Value: p.ParameterValue, UsePreviousValue: p.UsePreviousValue})
	}
	return out, nil
}

// checkTargets checks deployment target ids against the permission model ("": either kind).
func checkTargets(ids []string, model string) error {
	if len(ids) == 0 {
		return errs.E(errs.Invalid, "DeploymentTargets names no account or OU")
	}
	for _, id := range ids {
		switch {
		case accountIDRE.MatchString(id):
			if model == stacksets.ServiceManaged {
				return errs.E(errs.Invalid, "DeploymentTargets %s is an account: a SERVICE_MANAGED stack set deploys to OU ids", id)
			}
		case ouIDRE.MatchString(id):
			if model == stacksets.SelfManaged {
				return errs.E(errs.Invalid, "DeploymentTargets %s is an OU: a SELF_MANAGED stack set deploys to account ids", id)
			}
		default:
			return errs.E(errs.Invalid, "DeploymentTargets %q is neither a 12-digit account id nor an OU id", id)
		}
	}
	return nil
}

// parseTargetsFile reads a deployment targets file: a JSON list of account or OU ids.
func parseTargetsFile(b string) ([]string, error) {
	var ids []string
	if err := json.Unmarshal([]byte(b), &ids); err != nil {
		return nil, errs.E(errs.Invalid, "the DeploymentTargets file must be a JSON list of account or OU ids: %v", err)
	}
	return ids, nil
}

func commaList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parseStackSetConfig reads and checks an action's configuration without I/O; the files it
// names in artifacts are read when the action runs.
func parseStackSetConfig(a delivery.Action, instances bool) (stackSetConfig, error) {
	cfg := a.Configuration
	var c stackSetConfig
	c.Name = cfg["StackSetName"]
	if !stackSetNameRE.MatchString(c.Name) {
		return c, errs.E(errs.Invalid, "StackSetName %q must start with a letter and hold only letters, digits and hyphens (at most 128)", c.Name)
	}
	var err error
	if !instances {
		if c.TemplatePath, err = artifactPath(a, "TemplatePath", cfg["TemplatePath"]); err != nil {
			return c, err
		}
	}
	pkey := "Parameters"
	if instances {
		pkey = "ParameterOverrides"
	}
	if v := cfg[pkey]; v != "" {
		if isArtifactPath(v) {
			if c.ParamsPath, err = artifactPath(a, pkey, v); err != nil {
				return c, err
			}
		} else if c.Params, err = parseShorthandParams(v); err != nil {
			return c, errs.E(errs.Invalid, "%s: %s", pkey, errs.Message(err))
		}
	}
	c.Model = cfg["PermissionModel"]
	switch c.Model {
	case "":
		c.Model = stacksets.SelfManaged
	case stacksets.SelfManaged, stacksets.ServiceManaged:
	default:
		return c, errs.E(errs.Invalid, "PermissionModel must be SELF_MANAGED or SERVICE_MANAGED")
	}
	c.AdminRole, c.ExecRole = cfg["AdministrationRoleArn"], cfg["ExecutionRoleName"]
	if c.Model == stacksets.ServiceManaged && (c.AdminRole != "" || c.ExecRole != "") {
		return c, errs.E(errs.Invalid, "AdministrationRoleArn and ExecutionRoleName are for SELF_MANAGED stack sets")
	}
	if c.AdminRole != "" {
		if _, err := arn.ParseIAM(c.AdminRole); err != nil {
			return c, errs.E(errs.Invalid, "AdministrationRoleArn %q is not a role ARN", c.AdminRole)
		}
	}
	switch v := cfg["OrganizationsAutoDeployment"]; v {
	case "":
		if c.Model == stacksets.ServiceManaged {
			c.Auto = &stacksets.AutoDeployment{}
		}
	case "Disabled", "Enabled", "EnabledWithStackRetention":
		if c.Model != stacksets.ServiceManaged {
			return c, errs.E(errs.Invalid, "OrganizationsAutoDeployment is for SERVICE_MANAGED stack sets")
		}
		c.Auto = &stacksets.AutoDeployment{Enabled: v != "Disabled", RetainStacksOnAccountRemoval: v == "EnabledWithStackRetention"}
	default:
		return c, errs.E(errs.Invalid, "OrganizationsAutoDeployment must be Disabled, Enabled or EnabledWithStackRetention")
	}
	for _, cp := range commaList(cfg["Capabilities"]) {
		switch cp {
		case "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND":
			c.Capabilities = append(c.Capabilities, cp)
		default:
			return c, errs.E(errs.Invalid, "Capabilities %q must be CAPABILITY_IAM, CAPABILITY_NAMED_IAM or CAPABILITY_AUTO_EXPAND", cp)
		}
	}
	if v := cfg["DeploymentTargets"]; v != "" {
		if isArtifactPath(v) {
			if c.TargetsPath, err = artifactPath(a, "DeploymentTargets", v); err != nil {
				return c, err
			}
		} else {
			c.Targets = commaList(v)
			model := c.Model
			if instances {
				model = "" // the set's permission model is known when the action runs
			}
			if err := checkTargets(c.Targets, model); err != nil {
				return c, err
			}
		}
	}
	c.Regions = commaList(cfg["Regions"])
	for _, r := range c.Regions {
		if !regionRE.MatchString(r) {
			return c, errs.E(errs.Invalid, "Regions %q is not a region name", r)
		}
	}
	num := func(key string, lo, hi int, set *int, has *bool) error {
		v := cfg[key]
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return errs.E(errs.Invalid, "%s must be a whole number from %d to %d", key, lo, hi)
		}
		*set, *has = n, true
		return nil
	}
	pr := &c.Prefs
	for _, f := range []error{
		num("FailureToleranceCount", 0, 10000, &pr.FailureToleranceCount, &pr.HasTolCount),
		num("FailureTolerancePercentage", 0, 100, &pr.FailureTolerancePercentage, &pr.HasTolPct),
		num("MaxConcurrentCount", 1, 10000, &pr.MaxConcurrentCount, &pr.HasMaxCount),
		num("MaxConcurrentPercentage", 1, 100, &pr.MaxConcurrentPercentage, &pr.HasMaxPct),
	} {
		if f != nil {
			return c, f
		}
	}
	if pr.HasTolCount && pr.HasTolPct {
		return c, errs.E(errs.Invalid, "give FailureToleranceCount or FailureTolerancePercentage, not both")
	}
	if pr.HasMaxCount && pr.HasMaxPct {
		return c, errs.E(errs.Invalid, "give MaxConcurrentCount or MaxConcurrentPercentage, not both")
	}
	if d, ok := cfg["Description"]; ok {
		if len(d) > 1024 {
			return c, errs.E(errs.Invalid, "Description is longer than 1024 characters")
		}
		c.Description = &d
	}
	if len(a.OutputArtifacts) > 0 {
		return c, errs.E(errs.Invalid, "a stack set action has no output artifacts")
	}
	return c, nil
}

func (p stackSetAction) Validate(a delivery.Action) error {
	_, err := parseStackSetConfig(a, p.instances)
	return err
}

// readArtifactFile reads FILE of input artifact ARTIFACT (spec ARTIFACT::FILE) as the action.
func (a *App) readArtifactFile(ctx context.Context, r delivery.ActionRequest, spec string) (string, error) {
	art, file, _ := strings.Cut(spec, "::")
	var in *delivery.Artifact
	for i := range r.Inputs {
		if r.Inputs[i].Name == art {
			in = &r.Inputs[i]
		}
	}
	if in == nil {
		return "", errs.E(errs.Invalid, "%s names artifact %s, which is not an input artifact of the action", spec, art)
	}
	var b []byte
	err := a.asAction(ctx, r.Call, "s3", "GetObject", func(ctx context.Context) error {
		_, body, err := a.Artifacts.GetObject(ctx, r.Call.Caller, in.Bucket, in.Key, nil)
		if err != nil {
			return err
		}
		defer body.Close()
		b, err = io.ReadAll(io.LimitReader(body, maxArtifact+1))
		return err
	})
	if err != nil {
		return "", err
	}
	if len(b) > maxArtifact {
		return "", errs.E(errs.Invalid, "artifact %s is larger than %d bytes", art, maxArtifact)
	}
	return fileOf(b, in.File, file)
}

// resolve reads the files the configuration names in artifacts.
func (p stackSetAction) resolve(ctx context.Context, r delivery.ActionRequest, c *stackSetConfig) (template string, err error) {
	if c.ParamsPath != "" {
		b, err := p.a.readArtifactFile(ctx, r, c.ParamsPath)
		if err != nil {
			return "", err
		}
		if c.Params, err = parseParamsFile(b); err != nil {
			return "", err
		}
	}
	if c.TargetsPath != "" {
		b, err := p.a.readArtifactFile(ctx, r, c.TargetsPath)
		if err != nil {
			return "", err
		}
		if c.Targets, err = parseTargetsFile(b); err != nil {
			return "", err
		}
	}
	if c.TemplatePath != "" {
		if template, err = p.a.readArtifactFile(ctx, r, c.TemplatePath); err != nil {
			return "", err
		}
	}
	return template, nil
}

func opIDs(actionID string) (set, inst string) {
	return "cp-" + actionID + "-set", "cp-" + actionID + "-inst"
}

func findOp(set stacksets.StackSet, id string) *stacksets.Operation {
	for i := range set.Operations {
		if set.Operations[i].ID == id {
			return &set.Operations[i]
		}
	}
	return nil
}

func runningOp(set stacksets.StackSet) *stacksets.Operation {
	for i := range set.Operations {
		if o := &set.Operations[i]; o.Status == stacksets.OpQueued || o.Status == stacksets.OpRunning {
			return o
		}
	}
	return nil
}

// opFailure is why an operation failed: the failing accounts and their reasons.
func opFailure(set stacksets.StackSet, o *stacksets.Operation) string {
	var parts []string
	for _, r := range o.Results {
		if r.Status == stacksets.ResFailed {
			parts = append(parts, "account "+r.Account+" ("+r.Region+"): "+r.Reason)
		}
	}
	msg := "Stack set " + set.Name + " operation " + o.ID + " " + o.Status
	if o.Reason != "" {
		msg += ": " + o.Reason
	}
	if len(parts) > 0 {
		msg += "; " + strings.Join(parts, "; ")
	}
	return msg
}

func (p stackSetAction) Run(ctx context.Context, r delivery.ActionRequest) (delivery.ActionResult, error) {
	c, err := parseStackSetConfig(r.Action, p.instances)
	if err != nil {
		return delivery.ActionResult{}, err
	}
	if len(c.Regions) == 0 {
		c.Regions = []string{p.a.Delivery.Region()}
	}
	opSet, opInst := opIDs(r.ActionID)
	var set stacksets.StackSet
	err = p.a.asAction(ctx, r.Call, "cloudformation", "DescribeStackSet", func(ctx context.Context) error {
		set, err = p.a.StackSets.DescribeStackSet(ctx, r.Call, c.Name, "")
		return err
	})
	exists := err == nil && set.Status != "DELETED"
	if err != nil && !errs.Is(err, errs.NotFound) {
		return delivery.ActionResult{}, err
	}
	if exists {
		if o := findOp(set, opInst); o != nil {
			return p.watch(set, o, true), nil
		}
		if o := findOp(set, opSet); o != nil {
			res := p.watch(set, o, c.TargetsPath == "" && len(c.Targets) == 0)
			if res.Done || o.Status != stacksets.OpSucceeded {
				return res, nil
			}
			if _, err := p.resolve(ctx, r, &c); err != nil {
				return delivery.ActionResult{}, err
			}
			return p.addInstances(ctx, r, c, set)
		}
		if o := runningOp(set); o != nil {
			return delivery.ActionResult{Summary: "Waiting for operation " + o.ID + " of stack set " + c.Name + " to finish"}, nil
		}
	}
	if p.instances {
		if !exists {
			return failed("StackSet %s does not exist: create it first (with a CloudFormationStackSet action)", c.Name)
		}
		if _, err := p.resolve(ctx, r, &c); err != nil {
			return delivery.ActionResult{}, err
		}
		return p.addInstances(ctx, r, c, set)
	}
	body, err := p.resolve(ctx, r, &c)
	if err != nil {
		return delivery.ActionResult{}, err
	}
	if c.Model == stacksets.SelfManaged && c.AdminRole == "" {
		c.AdminRole = arn.Role(r.Call.Caller.Account, "AWSCloudFormationStackSetAdministrationRole")
	}
	if !exists {
		in := stacksets.CreateInput{Name: c.Name, TemplateBody: body, Parameters: c.Params, Capabilities: c.Capabilities,
			PermissionModel: c.Model, AutoDeployment: c.Auto, AdminRoleARN: c.AdminRole, ExecutionRoleName: c.ExecRole}
		if c.Description != nil {
			in.Description = *c.Description
		}
		err = p.a.asAction(ctx, r.Call, "cloudformation", "CreateStackSet", func(ctx context.Context) error {
			set, err = p.a.StackSets.CreateStackSet(ctx, r.Call, in)
			return err
		})
		if err != nil {
			return delivery.ActionResult{}, err
		}
		if c.TargetsPath == "" && len(c.Targets) == 0 {
			return delivery.ActionResult{Done: true, Summary: "Created stack set " + c.Name + " (no deployment targets)"}, nil
		}
		return p.addInstances(ctx, r, c, set)
	}
	if set.PermissionModel != c.Model {
		return failed("StackSet %s is %s, the action declares %s: changing a stack set's permission model is not supported", c.Name, set.PermissionModel, c.Model)
	}
	in := stacksets.UpdateInput{Name: set.ID, TemplateBody: body, Parameters: c.Params, Capabilities: c.Capabilities,
		AutoDeployment: c.Auto, Description: c.Description, OperationID: opSet, Prefs: c.Prefs}
	if c.Model == stacksets.SelfManaged {
		in.AdminRoleARN, in.ExecutionRoleName = c.AdminRole, c.ExecRole
	}
	err = p.a.asAction(ctx, r.Call, "cloudformation", "UpdateStackSet", func(ctx context.Context) error {
		_, err := p.a.StackSets.UpdateStackSet(ctx, r.Call, in)
		return err
	})
	if err != nil {
		return delivery.ActionResult{}, err
	}
	return delivery.ActionResult{Summary: "Updating stack set " + c.Name + " (operation " + opSet + ")"}, nil
}

// addInstances starts the CreateStackInstances operation over the action's targets.
func (p stackSetAction) addInstances(ctx context.Context, r delivery.ActionRequest, c stackSetConfig, set stacksets.StackSet) (delivery.ActionResult, error) {
	if err := checkTargets(c.Targets, set.PermissionModel); err != nil {
		return delivery.ActionResult{}, err
	}
	_, opInst := opIDs(r.ActionID)
	t := stacksets.Targets{Regions: c.Regions}
	for _, id := range c.Targets {
		if accountIDRE.MatchString(id) {
			t.Accounts = append(t.Accounts, id)
		} else {
			t.OrganizationalUnitIDs = append(t.OrganizationalUnitIDs, id)
		}
	}
	in := stacksets.InstancesInput{Name: set.ID, Targets: t, Prefs: c.Prefs, OperationID: opInst}
	if p.instances {
		in.Overrides = c.Params
	}
	err := p.a.asAction(ctx, r.Call, "cloudformation", "CreateStackInstances", func(ctx context.Context) error {
		_, err := p.a.StackSets.Instances(ctx, r.Call, stacksets.ActionCreate, in)
		return err
	})
	if errs.Is(err, errs.Conflict) && strings.Contains(errs.Message(err), "in progress") {
		return delivery.ActionResult{Summary: "Waiting for stack set " + c.Name + "'s operation in progress to finish"}, nil
	}
	if err != nil {
		return delivery.ActionResult{}, err
	}
	return delivery.ActionResult{Summary: "Deploying stack set " + c.Name + " to " + strings.Join(c.Targets, ", ") + " (operation " + opInst + ")"}, nil
}

// watch reports an operation of the action; last says the action ends when it succeeds.
func (p stackSetAction) watch(set stacksets.StackSet, o *stacksets.Operation, last bool) delivery.ActionResult {
	res := delivery.ActionResult{Summary: "Stack set " + set.Name + " operation " + o.ID + ": " + o.Status}
	switch o.Status {
	case stacksets.OpSucceeded:
		n := 0
		for _, r := range o.Results {
			if r.Status == stacksets.ResSucceeded {
				n++
			}
		}
		res.Done = last
		res.Summary = "Stack set " + set.Name + " operation " + o.ID + " SUCCEEDED in " + strconv.Itoa(n) + " of " + strconv.Itoa(len(o.Results)) + " stack instances"
	case stacksets.OpFailed:
		res.Done, res.Error, res.ErrorCode = true, opFailure(set, o), "JobFailed"
	}
	return res
}
