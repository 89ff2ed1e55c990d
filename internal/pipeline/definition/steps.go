package definition

import (
	"encoding/json"
	"math"
	"strings"
)

// stepFields are the fields a step object may have, by step type ("" = every type).
var stepFields = map[string][]StepType{
	"Name": nil, "Type": nil, "Arguments": nil, "DependsOn": nil, "DisplayName": nil, "Description": nil,
	"RetryPolicies":    {Processing, Training, Transform, CreateModel, Model, RegisterModel},
	"CacheConfig":      {Processing, Training, Transform, Lambda, Callback},
	"PropertyFiles":    {Processing},
	"FunctionArn":      {Lambda},
	"SqsQueueUrl":      {Callback},
	"OutputParameters": {Lambda, Callback},
}

// argumentMembers are the members the Arguments of a step type may have: those of the
// SageMaker request it stands for (CreateProcessingJob, CreateTrainingJob, CreateTransformJob,
// CreateModel, CreateModelPackage), including the ones newer than botocore 1.26 that the
// SageMaker Python SDK writes (SkipModelValidation, SessionChainingConfig, …). Anything else is
// most likely a typo, refused at CreatePipeline rather than failing a job later.
var argumentMembers = map[StepType][]string{
	Processing: {"ProcessingInputs", "ProcessingOutputConfig", "ProcessingJobName", "ProcessingResources", "StoppingCondition",
		"AppSpecification", "Environment", "NetworkConfig", "RoleArn", "Tags", "ExperimentConfig"},
	Training: {"TrainingJobName", "HyperParameters", "AlgorithmSpecification", "RoleArn", "InputDataConfig", "OutputDataConfig",
		"ResourceConfig", "VpcConfig", "StoppingCondition", "Tags", "EnableNetworkIsolation", "EnableInterContainerTrafficEncryption",
		"EnableManagedSpotTraining", "CheckpointConfig", "DebugHookConfig", "DebugRuleConfigurations", "TensorBoardOutputConfig",
		"ExperimentConfig", "ProfilerConfig", "ProfilerRuleConfigurations", "Environment", "RetryStrategy", "RemoteDebugConfig",
		"InfraCheckConfig", "SessionChainingConfig"},
	Transform: {"TransformJobName", "ModelName", "MaxConcurrentTransforms", "ModelClientConfig", "MaxPayloadInMB", "BatchStrategy",
		"Environment", "TransformInput", "TransformOutput", "DataCaptureConfig", "TransformResources", "DataProcessing", "Tags",
		"ExperimentConfig"},
	CreateModel: {"ModelName", "PrimaryContainer", "Containers", "InferenceExecutionConfig", "ExecutionRoleArn", "Tags", "VpcConfig",
		"EnableNetworkIsolation"},
	RegisterModel: {"ModelPackageName", "ModelPackageGroupName", "ModelPackageDescription", "InferenceSpecification",
		"ValidationSpecification", "SourceAlgorithmSpecification", "CertifyForMarketplace", "Tags", "ModelApprovalStatus",
		"MetadataProperties", "ModelMetrics", "ClientToken", "CustomerMetadataProperties", "DriftCheckBaselines", "Domain", "Task",
		"SamplePayloadUrl", "AdditionalInferenceSpecifications", "SkipModelValidation", "SourceUri", "SecurityConfig", "ModelCard",
		"ModelLifeCycle", "ModelPackageRegistrationType"},
}

// requiredArguments are the Arguments members a job step cannot do without.
var requiredArguments = map[StepType][]string{
	Processing: {"AppSpecification", "ProcessingResources"},
	Training:   {"AlgorithmSpecification", "OutputDataConfig", "ResourceConfig"},
	Transform:  {"ModelName", "TransformInput", "TransformOutput", "TransformResources"},
}

func (d *Definition) parseStep(v any, p jpath, parent string, branch Branch, index int) (*Step, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errorf("", string(p), "a step must be an object")
	}
	name, _ := m["Name"].(string)
	if !stepRE.MatchString(name) {
		return nil, errorf("", string(p.key("Name")), "a step needs a Name of 1 to 64 letters, digits, '-' or '_', got %s", show(m["Name"]))
	}
	typ, _ := m["Type"].(string)
	if !stepTypes[StepType(typ)] {
		if knownUnsupported[typ] {
			return nil, errorf(name, string(p.key("Type")), "step type %q is not supported by Slipway (supported: Processing, Training, Transform, CreateModel, Model, RegisterModel, Condition, Fail, Callback, Lambda)", typ)
		}
		return nil, errorf(name, string(p.key("Type")), "unknown step type %s", show(m["Type"]))
	}
	s := &Step{Name: name, Type: StepType(typ), Parent: parent, Branch: branch, Index: index, Path: string(p)}
	if prev, dup := d.index[name]; dup {
		return nil, errorf(name, string(p.key("Name")), "duplicate step name %q (also at %s)", name, prev.Path)
	}
	d.index[name] = s
	d.all = append(d.all, s)

	for _, k := range sortedKeys(m) {
		allowed, known := stepFields[k]
		if !known {
			return nil, errorf(name, string(p.key(k)), "unknown or unsupported step field %q", k)
		}
		if allowed != nil && !hasType(allowed, s.Type) {
			return nil, errorf(name, string(p.key(k)), "%s is not supported on %s steps", k, s.Type)
		}
	}
	if err := d.parseStepFields(s, m, p); err != nil {
		return nil, err
	}
	if err := d.parseArguments(s, m["Arguments"], p.key("Arguments")); err != nil {
		return nil, err
	}
	return s, nil
}

func hasType(ts []StepType, t StepType) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

func (d *Definition) parseStepFields(s *Step, m map[string]any, p jpath) error {
	str := func(k string, dst *string, max int) error {
		v, present := m[k]
		if !present || v == nil {
			return nil
		}
		sv, ok := v.(string)
		if !ok || len(sv) > max {
			return errorf(s.Name, string(p.key(k)), "%s must be a string of at most %d characters", k, max)
		}
		*dst = sv
		return nil
	}
	if err := str("DisplayName", &s.DisplayName, 256); err != nil {
		return err
	}
	if err := str("Description", &s.Description, 3072); err != nil {
		return err
	}
	if err := str("FunctionArn", &s.FunctionArn, 2048); err != nil {
		return err
	}
	if err := str("SqsQueueUrl", &s.SqsQueueURL, 2048); err != nil {
		return err
	}
	if s.Type == Lambda && s.FunctionArn == "" {
		return errorf(s.Name, string(p.key("FunctionArn")), "a Lambda step needs a FunctionArn")
	}
	if s.Type == Callback && s.SqsQueueURL == "" {
		return errorf(s.Name, string(p.key("SqsQueueUrl")), "a Callback step needs an SqsQueueUrl")
	}
	if v := m["DependsOn"]; v != nil {
		arr, ok := v.([]any)
		if !ok {
			return errorf(s.Name, string(p.key("DependsOn")), "DependsOn must be an array of step names")
		}
		for i, e := range arr {
			n, ok := e.(string)
			if !ok || n == "" {
				return errorf(s.Name, string(p.key("DependsOn").idx(i)), "DependsOn must be an array of step names")
			}
			s.DependsOn = append(s.DependsOn, n)
		}
	}
	if v := m["RetryPolicies"]; v != nil {
		arr, ok := v.([]any)
		if !ok {
			return errorf(s.Name, string(p.key("RetryPolicies")), "RetryPolicies must be an array")
		}
		for i, e := range arr {
			rp, err := parseRetry(s.Name, e, p.key("RetryPolicies").idx(i))
			if err != nil {
				return err
			}
			s.Retry = append(s.Retry, rp)
		}
	}
	if v, present := m["CacheConfig"]; present && v != nil {
		cm, ok := v.(map[string]any)
		if !ok {
			return errorf(s.Name, string(p.key("CacheConfig")), "CacheConfig must be an object")
		}
		cc := &CacheConfig{}
		for _, k := range sortedKeys(cm) {
			cp := p.key("CacheConfig").key(k)
			switch k {
			case "Enabled":
				b, ok := cm[k].(bool)
				if !ok {
					return errorf(s.Name, string(cp), "Enabled must be true or false")
				}
				cc.Enabled = b
			case "ExpireAfter":
				if cm[k] == nil {
					continue
				}
				es, ok := cm[k].(string)
				if !ok {
					return errorf(s.Name, string(cp), "ExpireAfter must be an ISO 8601 duration string")
				}
				dur, err := ParseDuration(es)
				if err != nil {
					return errorf(s.Name, string(cp), "%v", err)
				}
				cc.ExpireAfter, cc.ExpireRaw = dur, es
			default:
				return errorf(s.Name, string(cp), "unknown CacheConfig field %q", k)
			}
		}
		s.Cache = cc
	}
	if v := m["PropertyFiles"]; v != nil {
		arr, ok := v.([]any)
		if !ok {
			return errorf(s.Name, string(p.key("PropertyFiles")), "PropertyFiles must be an array")
		}
		for i, e := range arr {
			fp := p.key("PropertyFiles").idx(i)
			fm, ok := e.(map[string]any)
			if !ok {
				return errorf(s.Name, string(fp), "a property file must be an object")
			}
			var f PropertyFile
			for _, k := range sortedKeys(fm) {
				sv, ok := fm[k].(string)
				switch k {
				case "PropertyFileName":
					f.Name = sv
				case "OutputName":
					f.OutputName = sv
				case "FilePath":
					f.FilePath = sv
				default:
					return errorf(s.Name, string(fp.key(k)), "unknown property file field %q", k)
				}
				if !ok || sv == "" {
					return errorf(s.Name, string(fp.key(k)), "%s must be a non-empty string", k)
				}
			}
			if f.Name == "" || f.OutputName == "" || f.FilePath == "" {
				return errorf(s.Name, string(fp), "a property file needs PropertyFileName, OutputName and FilePath")
			}
			if _, dup := s.PropertyFile(f.Name); dup {
				return errorf(s.Name, string(fp.key("PropertyFileName")), "duplicate property file %q", f.Name)
			}
			s.Files = append(s.Files, f)
		}
	}
	if v := m["OutputParameters"]; v != nil {
		arr, ok := v.([]any)
		if !ok {
			return errorf(s.Name, string(p.key("OutputParameters")), "OutputParameters must be an array")
		}
		for i, e := range arr {
			op := p.key("OutputParameters").idx(i)
			om, ok := e.(map[string]any)
			if !ok {
				return errorf(s.Name, string(op), "an output parameter must be an object")
			}
			o := OutputParameter{Type: String}
			for _, k := range sortedKeys(om) {
				sv, _ := om[k].(string)
				switch k {
				case "OutputName":
					if sv == "" {
						return errorf(s.Name, string(op.key(k)), "OutputName must be a non-empty string")
					}
					o.Name = sv
				case "OutputType":
					switch ParamType(sv) {
					case String, Integer, Float, Boolean:
						o.Type = ParamType(sv)
					default:
						return errorf(s.Name, string(op.key(k)), "OutputType must be String, Integer, Float or Boolean")
					}
				default:
					return errorf(s.Name, string(op.key(k)), "unknown output parameter field %q", k)
				}
			}
			if o.Name == "" {
				return errorf(s.Name, string(op), "an output parameter needs an OutputName")
			}
			for _, prev := range s.Outputs {
				if prev.Name == o.Name {
					return errorf(s.Name, string(op.key("OutputName")), "duplicate output parameter %q", o.Name)
				}
			}
			s.Outputs = append(s.Outputs, o)
		}
	}
	return nil
}

func parseRetry(step string, v any, p jpath) (RetryPolicy, error) {
	rp := RetryPolicy{IntervalSeconds: 1, BackoffRate: 2}
	m, ok := v.(map[string]any)
	if !ok {
		return rp, errorf(step, string(p), "a retry policy must be an object")
	}
	intField := func(k string, min, max int) (int, error) {
		f, ok := toFloat(m[k])
		if !ok || !isNumber(m[k]) || f != math.Trunc(f) || f < float64(min) || f > float64(max) {
			return 0, errorf(step, string(p.key(k)), "%s must be an integer from %d to %d", k, min, max)
		}
		return int(f), nil
	}
	var err error
	for _, k := range sortedKeys(m) {
		switch k {
		case "ExceptionType":
			var types []any
			switch et := m[k].(type) {
			case string:
				types = []any{et}
			case []any:
				types = et
			default:
				return rp, errorf(step, string(p.key(k)), "ExceptionType must be a string or an array of strings")
			}
			for i, t := range types {
				ts, _ := t.(string)
				if !retryExceptionTypes[ts] {
					return rp, errorf(step, string(p.key(k).idx(i)), "unknown or unsupported exception type %s", show(t))
				}
				rp.ExceptionTypes = append(rp.ExceptionTypes, ts)
			}
		case "IntervalSeconds":
			if rp.IntervalSeconds, err = intField(k, 1, 43200); err != nil {
				return rp, err
			}
		case "MaxAttempts":
			if rp.MaxAttempts, err = intField(k, 1, 20); err != nil {
				return rp, err
			}
		case "ExpireAfterMin":
			if rp.ExpireAfterMin, err = intField(k, 1, 14400); err != nil {
				return rp, err
			}
		case "BackoffRate":
			f, ok := toFloat(m[k])
			if !ok || !isNumber(m[k]) || f < 1 || f > 100 {
				return rp, errorf(step, string(p.key(k)), "BackoffRate must be a number from 1 to 100")
			}
			rp.BackoffRate = f
		default:
			return rp, errorf(step, string(p.key(k)), "unknown retry policy field %q", k)
		}
	}
	if len(rp.ExceptionTypes) == 0 {
		return rp, errorf(step, string(p.key("ExceptionType")), "a retry policy needs at least one ExceptionType")
	}
	return rp, nil
}

func (d *Definition) parseArguments(s *Step, v any, p jpath) error {
	switch s.Type {
	case Condition:
		m, ok := v.(map[string]any)
		if !ok {
			return errorf(s.Name, string(p), "a Condition step needs Arguments with Conditions")
		}
		for _, k := range sortedKeys(m) {
			if k != "Conditions" && k != "IfSteps" && k != "ElseSteps" {
				return errorf(s.Name, string(p.key(k)), "unknown Condition argument %q", k)
			}
		}
		// IfSteps before ElseSteps: AllSteps is in document order.
		for _, k := range []string{"Conditions", "IfSteps", "ElseSteps"} {
			switch k {
			case "Conditions":
				if _, ok := m[k]; !ok {
					continue
				}
				arr, ok := m[k].([]any)
				if !ok || len(arr) == 0 {
					return errorf(s.Name, string(p.key(k)), "Conditions must be a non-empty array")
				}
				for i, c := range arr {
					if err := checkCondition(s.Name, c, p.key(k).idx(i), 0); err != nil {
						return err
					}
				}
				s.Conditions = arr
			case "IfSteps", "ElseSteps":
				if m[k] == nil {
					continue
				}
				arr, ok := m[k].([]any)
				if !ok {
					return errorf(s.Name, string(p.key(k)), "%s must be an array of steps", k)
				}
				br := IfBranch
				if k == "ElseSteps" {
					br = ElseBranch
				}
				for i, e := range arr {
					c, err := d.parseStep(e, p.key(k).idx(i), s.Name, br, i)
					if err != nil {
						return err
					}
					if br == IfBranch {
						s.IfSteps = append(s.IfSteps, c)
					} else {
						s.ElseSteps = append(s.ElseSteps, c)
					}
				}
			}
		}
		if s.Conditions == nil {
			return errorf(s.Name, string(p.key("Conditions")), "a Condition step needs Conditions")
		}
		s.Arguments = map[string]any{"Conditions": s.Conditions}
	case Fail:
		if v == nil {
			s.Arguments = map[string]any{}
			return nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return errorf(s.Name, string(p), "the Arguments of a Fail step must be an object")
		}
		for k, e := range m {
			if k != "ErrorMessage" {
				return errorf(s.Name, string(p.key(k)), "unknown Fail argument %q (only ErrorMessage)", k)
			}
			if err := checkExprTree(s.Name, e, p.key(k)); err != nil {
				return err
			}
		}
		s.Arguments = m
	case Lambda, Callback:
		if v == nil {
			s.Arguments = map[string]any{}
			return nil
		}
		if _, ok := v.(map[string]any); !ok {
			return errorf(s.Name, string(p), "the Arguments of a %s step must be an object", s.Type)
		}
		if err := checkExprTree(s.Name, v, p); err != nil {
			return err
		}
		s.Arguments = v
	default:
		m, ok := v.(map[string]any)
		if !ok {
			return errorf(s.Name, string(p), "a %s step needs Arguments (an object)", s.Type)
		}
		members := argumentMembers[s.Type]
		if s.Type == Model {
			members = argumentMembers[CreateModel]
		}
		for _, k := range sortedKeys(m) {
			if !contains(members, k) {
				return errorf(s.Name, string(p.key(k)), "unknown member %q in the Arguments of a %s step", k, s.Type)
			}
		}
		for _, k := range requiredArguments[s.Type] {
			if _, ok := m[k]; !ok {
				return errorf(s.Name, string(p.key(k)), "a %s step needs %s in its Arguments", s.Type, k)
			}
		}
		if s.Type == RegisterModel {
			_, g := m["ModelPackageGroupName"]
			_, n := m["ModelPackageName"]
			if !g && !n {
				return errorf(s.Name, string(p.key("ModelPackageGroupName")), "a RegisterModel step needs ModelPackageGroupName in its Arguments")
			}
		}
		if s.Type == CreateModel || s.Type == Model {
			_, pc := m["PrimaryContainer"]
			_, cs := m["Containers"]
			if !pc && !cs {
				return errorf(s.Name, string(p.key("PrimaryContainer")), "a %s step needs PrimaryContainer or Containers in its Arguments", s.Type)
			}
		}
		if err := checkExprTree(s.Name, v, p); err != nil {
			return err
		}
		s.Arguments = v
	}
	return nil
}

// walk visits every node of a decoded JSON tree with its path, depth first; visit returns false
// to skip a node's children.
func walk(v any, p jpath, visit func(v any, p jpath) bool) {
	if !visit(v, p) {
		return
	}
	switch t := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(t) {
			walk(t[k], p.key(k), visit)
		}
	case []any:
		for i, e := range t {
			walk(e, p.idx(i), visit)
		}
	}
}

// isFunctionKey reports whether an object key looks like a function (Get, Std:…).
func isFunctionKey(k string) bool { return k == "Get" || strings.HasPrefix(k, "Std:") }

// numberOf returns a JSON number's float value.
func numberOf(n json.Number) (float64, bool) {
	f, err := n.Float64()
	return f, err == nil
}
