package definition

import (
	"sort"
	"strings"
)

// Validate checks the references between the parts of a parsed definition: DependsOn and
// every Get name existing steps, parameters, execution variables, property files and outputs;
// operands of the wrong type in the fields whose type is known; no cycles. It binds property
// files named without their step to the one step that declares them, and computes the Plan.
// Parse calls it; call it again only after changing a Definition by hand.
func (d *Definition) Validate() error {
	d.index = make(map[string]*Step, len(d.all))
	for _, s := range d.all {
		if prev, dup := d.index[s.Name]; dup {
			return errorf(s.Name, s.Path+".Name", "duplicate step name %q (also at %s)", s.Name, prev.Path)
		}
		d.index[s.Name] = s
	}
	deps := make(map[string][]string, len(d.all))
	for _, s := range d.all {
		set := map[string]bool{}
		for i, n := range s.DependsOn {
			p := jpath(s.Path).key("DependsOn").idx(i)
			if n == s.Name {
				return errorf(s.Name, string(p), "a step cannot depend on itself")
			}
			if _, ok := d.index[n]; !ok {
				return errorf(s.Name, string(p), "DependsOn names step %q, which is not in the definition", n)
			}
			set[n] = true
		}
		argPath := jpath(s.Path).key("Arguments")
		var tree any = s.Arguments
		if s.Type == Condition {
			tree, argPath = s.Conditions, argPath.key("Conditions")
		}
		err := d.visitRefs(s, tree, argPath, func(r Ref, p jpath, propertyFile bool) error {
			if r.Kind == RefStep {
				if r.Name == s.Name {
					return errorf(s.Name, string(p), "a step cannot refer to its own properties (%s)", r.Raw)
				}
				set[r.Name] = true
			}
			return d.checkRef(s.Name, r, p, propertyFile)
		})
		if err != nil {
			return err
		}
		if s.Parent != "" {
			set[s.Parent] = true
		}
		for n := range set {
			deps[s.Name] = append(deps[s.Name], n)
		}
		sort.Strings(deps[s.Name])
		if err := checkPropertyFileOutputs(s); err != nil {
			return err
		}
		if err := d.checkFieldTypes(s); err != nil {
			return err
		}
		for i, c := range s.Conditions {
			if err := d.checkConditionTypes(s.Name, c, jpath(s.Path).key("Arguments").key("Conditions").idx(i)); err != nil {
				return err
			}
		}
	}
	if d.ExperimentConfig != nil {
		err := d.visitRefs(nil, d.ExperimentConfig, root.key("PipelineExperimentConfig"), func(r Ref, p jpath, _ bool) error {
			if r.Kind != RefParameter && r.Kind != RefExecution {
				return errorf("", string(p), "PipelineExperimentConfig may only refer to parameters and execution variables, not %q", r.Raw)
			}
			return d.checkRef("", r, p, false)
		})
		if err != nil {
			return err
		}
	}
	plan, err := newPlan(d, deps)
	if err != nil {
		return err
	}
	d.plan = plan
	return nil
}

// visitRefs calls fn for every Get path in v (propertyFile is true for a Std:JsonGet's
// PropertyFile). A PropertyFile given by name alone is bound to the step that declares it:
// the expression is rewritten to {"Get": "Steps.<step>.PropertyFiles.<name>"}.
func (d *Definition) visitRefs(s *Step, v any, p jpath, fn func(r Ref, p jpath, propertyFile bool) error) error {
	stepName := ""
	if s != nil {
		stepName = s.Name
	}
	var err error
	var visit func(v any, p jpath) bool
	visit = func(v any, p jpath) bool {
		if err != nil {
			return false
		}
		m, ok := v.(map[string]any)
		if !ok {
			return true
		}
		k := exprKind(m)
		if k == "" {
			return true
		}
		if err = checkExpr(stepName, m, p); err != nil {
			return false
		}
		switch k {
		case "Get":
			r, _ := ParseGet(m[k].(string))
			err = fn(r, p.key(k), false)
		case "Std:Join":
			walk(m[k].(map[string]any)["Values"], p.key(k).key("Values"), visit)
		case "Std:JsonGet":
			jm := m[k].(map[string]any)
			if pf, ok := jm["PropertyFile"]; ok {
				fp := p.key(k).key("PropertyFile")
				if name, ok := pf.(string); ok {
					owner, berr := d.propertyFileOwner(stepName, name, fp)
					if berr != nil {
						err = berr
						return false
					}
					pf = map[string]any{"Get": "Steps." + owner + ".PropertyFiles." + name}
					jm["PropertyFile"] = pf
				}
				r, _ := ParseGet(pf.(map[string]any)["Get"].(string))
				err = fn(r, fp.key("Get"), true)
			} else {
				walk(jm["S3Uri"], p.key(k).key("S3Uri"), visit)
			}
		}
		return false
	}
	walk(v, p, visit)
	return err
}

func (d *Definition) propertyFileOwner(step, name string, p jpath) (string, error) {
	var owners []string
	for _, s := range d.all {
		if _, ok := s.PropertyFile(name); ok {
			owners = append(owners, s.Name)
		}
	}
	switch len(owners) {
	case 0:
		return "", errorf(step, string(p), "no step declares property file %q", name)
	case 1:
		return owners[0], nil
	}
	return "", errorf(step, string(p), "property file %q is declared by several steps (%s); name it with {\"Get\": \"Steps.<step>.PropertyFiles.%s\"}", name, strings.Join(owners, ", "), name)
}

// checkRef checks that what a Get path names exists.
func (d *Definition) checkRef(step string, r Ref, p jpath, propertyFile bool) error {
	switch r.Kind {
	case RefParameter:
		if _, ok := d.Parameter(r.Name); !ok {
			return errorf(step, string(p), "%q refers to parameter %q, which is not defined", r.Raw, r.Name)
		}
		return nil
	case RefExecution:
		return nil // ParseGet checked the name
	case RefExperimentConfig:
		if step == "" {
			return errorf(step, string(p), "PipelineExperimentConfig cannot refer to itself")
		}
		return nil
	}
	target, ok := d.index[r.Name]
	if !ok {
		return errorf(step, string(p), "%q refers to step %q, which is not in the definition", r.Raw, r.Name)
	}
	first := r.Path[0]
	if first.Key == "PropertyFiles" && !first.Quoted && !first.IsIndex {
		if !propertyFile {
			return errorf(step, string(p), "%q is a property file; read it with Std:JsonGet", r.Raw)
		}
		if len(r.Path) != 2 || r.Path[1].IsIndex {
			return errorf(step, string(p), "%q must be Steps.<step>.PropertyFiles.<name>", r.Raw)
		}
		if _, ok := target.PropertyFile(r.Path[1].Key); !ok {
			return errorf(step, string(p), "step %q declares no property file %q", r.Name, r.Path[1].Key)
		}
		return nil
	}
	if propertyFile {
		return errorf(step, string(p), "%q is not a property file", r.Raw)
	}
	switch target.Type {
	case Condition:
		if len(r.Path) != 1 || r.Path[0].Key != "Outcome" {
			return errorf(step, string(p), "a Condition step has only the property Outcome, not %q", r.Raw)
		}
	case Fail:
		return errorf(step, string(p), "a Fail step has no properties (%q)", r.Raw)
	case Lambda, Callback:
		if first.Key != "OutputParameters" || len(r.Path) < 2 {
			return errorf(step, string(p), "a %s step's properties are OutputParameters['<name>'], not %q", target.Type, r.Raw)
		}
		out := r.Path[1]
		if !out.Quoted {
			return errorf(step, string(p), "select an output parameter by name: Steps.%s.OutputParameters['<name>']", r.Name)
		}
		found := false
		for _, o := range target.Outputs {
			found = found || o.Name == out.Key
		}
		if !found {
			return errorf(step, string(p), "step %q declares no output parameter %q", r.Name, out.Key)
		}
	case Processing:
		// Steps.P.ProcessingOutputConfig.Outputs['name'] must name an output the step declares.
		if len(r.Path) >= 3 && first.Key == "ProcessingOutputConfig" && r.Path[1].Key == "Outputs" && r.Path[2].Quoted {
			if names, literal := processingOutputs(target); literal && !contains(names, r.Path[2].Key) {
				return errorf(step, string(p), "step %q has no processing output %q (it has: %s)", r.Name, r.Path[2].Key, strings.Join(names, ", "))
			}
		}
	}
	return nil
}

// processingOutputs lists the OutputNames a Processing step declares; literal is false when
// the outputs are not all written out literally.
func processingOutputs(s *Step) (names []string, literal bool) {
	args, _ := s.Arguments.(map[string]any)
	cfg, _ := args["ProcessingOutputConfig"].(map[string]any)
	outs, ok := cfg["Outputs"].([]any)
	if !ok {
		return nil, cfg == nil
	}
	for _, o := range outs {
		om, _ := o.(map[string]any)
		n, ok := om["OutputName"].(string)
		if !ok {
			return names, false
		}
		names = append(names, n)
	}
	return names, true
}

// checkPropertyFileOutputs checks each property file names an output of its step.
func checkPropertyFileOutputs(s *Step) error {
	if len(s.Files) == 0 {
		return nil
	}
	names, literal := processingOutputs(s)
	if !literal {
		return nil
	}
	for i, f := range s.Files {
		if !contains(names, f.OutputName) {
			return errorf(s.Name, string(jpath(s.Path).key("PropertyFiles").idx(i).key("OutputName")),
				"property file %q is written to output %q, which the step does not declare (it has: %s)", f.Name, f.OutputName, strings.Join(names, ", "))
		}
	}
	return nil
}

// Fields whose type SageMaker fixes, by step type: a literal or a parameter of another type
// there is an error at CreatePipeline rather than a failed job later.
var (
	integerFields = map[StepType][]string{
		Processing: {"ProcessingResources.ClusterConfig.InstanceCount", "ProcessingResources.ClusterConfig.VolumeSizeInGB", "StoppingCondition.MaxRuntimeInSeconds"},
		Training:   {"ResourceConfig.InstanceCount", "ResourceConfig.VolumeSizeInGB", "StoppingCondition.MaxRuntimeInSeconds", "StoppingCondition.MaxWaitTimeInSeconds"},
		Transform:  {"TransformResources.InstanceCount", "MaxConcurrentTransforms", "MaxPayloadInMB"},
	}
	stringFields = map[StepType][]string{
		Processing:    {"ProcessingResources.ClusterConfig.InstanceType", "AppSpecification.ImageUri", "RoleArn"},
		Training:      {"ResourceConfig.InstanceType", "AlgorithmSpecification.TrainingImage", "RoleArn", "OutputDataConfig.S3OutputPath"},
		Transform:     {"TransformResources.InstanceType", "ModelName"},
		RegisterModel: {"ModelPackageGroupName", "ModelApprovalStatus"},
	}
	approvalStatuses = []string{"Approved", "Rejected", "PendingManualApproval"}
)

func (d *Definition) checkFieldTypes(s *Step) error {
	args, _ := s.Arguments.(map[string]any)
	at := func(dotted string) (any, jpath, bool) {
		var cur any = args
		p := jpath(s.Path).key("Arguments")
		for _, k := range strings.Split(dotted, ".") {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, p, false
			}
			if cur, ok = m[k]; !ok {
				return nil, p, false
			}
			p = p.key(k)
		}
		return cur, p, true
	}
	for _, f := range integerFields[s.Type] {
		v, p, ok := at(f)
		if !ok {
			continue
		}
		if t := d.operandType(v); t != "" && t != Integer {
			return errorf(s.Name, string(p), "%s must be an Integer, not a %s", f, t)
		}
		if fv, ok := toFloat(v); ok && isNumber(v) && (fv != float64(int64(fv)) || fv < 0) {
			return errorf(s.Name, string(p), "%s must be a non-negative integer, not %s", f, show(v))
		}
	}
	for _, f := range stringFields[s.Type] {
		v, p, ok := at(f)
		if !ok {
			continue
		}
		if t := d.operandType(v); t != "" && t != String {
			return errorf(s.Name, string(p), "%s must be a String, not a %s", f, t)
		}
		if f == "ModelApprovalStatus" {
			if sv, ok := v.(string); ok && !contains(approvalStatuses, sv) {
				return errorf(s.Name, string(p), "ModelApprovalStatus must be one of %s, not %q", strings.Join(approvalStatuses, ", "), sv)
			}
		}
	}
	return nil
}

// operandType is the type a value will have once resolved, when it is known before execution:
// literals and parameters; "" for step properties and property files.
func (d *Definition) operandType(v any) ParamType {
	switch t := v.(type) {
	case string:
		return String
	case bool:
		return Boolean
	case map[string]any:
		switch exprKind(t) {
		case "Std:Join":
			return String
		case "Get":
			g, _ := t["Get"].(string)
			r, err := ParseGet(g)
			if err != nil {
				return ""
			}
			switch r.Kind {
			case RefParameter:
				if p, ok := d.Parameter(r.Name); ok {
					return p.Type
				}
			case RefExecution, RefExperimentConfig:
				return String
			}
		}
		return ""
	}
	if f, ok := toFloat(v); ok && isNumber(v) {
		if f == float64(int64(f)) {
			if n, ok := v.(interface{ String() string }); !ok || !strings.ContainsAny(n.String(), ".eE") {
				return Integer
			}
		}
		return Float
	}
	return ""
}

// checkConditionTypes refuses ordering comparisons whose operands cannot be ordered, as far as
// their types are known before execution: a boolean, or a number against a string literal that
// is not one.
func (d *Definition) checkConditionTypes(step string, c any, p jpath) error {
	m, _ := c.(map[string]any)
	typ, _ := m["Type"].(string)
	switch typ {
	case "Not":
		k := "Condition"
		if _, ok := m["Expression"]; ok {
			k = "Expression"
		}
		return d.checkConditionTypes(step, m[k], p.key(k))
	case "Or":
		k := "Conditions"
		if _, ok := m["Expressions"]; ok {
			k = "Expressions"
		}
		arr, _ := m[k].([]any)
		for i, e := range arr {
			if err := d.checkConditionTypes(step, e, p.key(k).idx(i)); err != nil {
				return err
			}
		}
		return nil
	case "GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo":
	default:
		return nil
	}
	numeric := func(t ParamType) bool { return t == Integer || t == Float }
	lt, rt := d.operandType(m["LeftValue"]), d.operandType(m["RightValue"])
	for _, side := range []struct {
		k        string
		t, other ParamType
		v        any
	}{{"LeftValue", lt, rt, m["LeftValue"]}, {"RightValue", rt, lt, m["RightValue"]}} {
		if side.t == Boolean {
			return errorf(step, string(p.key(side.k)), "%s cannot compare a Boolean", typ)
		}
		if sv, literal := side.v.(string); literal && numeric(side.other) {
			if _, ok := toFloat(sv); !ok {
				return errorf(step, string(p.key(side.k)), "%s compares a number with %q, which is not one", typ, sv)
			}
		}
	}
	return nil
}
