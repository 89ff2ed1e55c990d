package definition

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Version is the only definition format version there is.
const Version = "2020-12-01"

// MaxSize is the largest definition Parse accepts, in bytes (SageMaker's limit on
// PipelineDefinition).
const MaxSize = 1 << 20

// StepType is the Type of a step.
type StepType string

// The step types Slipway runs.
const (
	Processing    StepType = "Processing"
	Training      StepType = "Training"
	Transform     StepType = "Transform"
	CreateModel   StepType = "CreateModel"
	Model         StepType = "Model" // the SDK's ModelStep for creating a model
	RegisterModel StepType = "RegisterModel"
	Condition     StepType = "Condition"
	Fail          StepType = "Fail"
	Callback      StepType = "Callback"
	Lambda        StepType = "Lambda"
)

// StepTypes lists the supported step types.
var stepTypes = map[StepType]bool{Processing: true, Training: true, Transform: true, CreateModel: true,
	Model: true, RegisterModel: true, Condition: true, Fail: true, Callback: true, Lambda: true}

// knownUnsupported are step types SageMaker has and Slipway does not run; they get a message
// that says so instead of "unknown".
var knownUnsupported = map[string]bool{"Tuning": true, "ClarifyCheck": true, "QualityCheck": true,
	"EMR": true, "AutoML": true, "Endpoint": true, "EndpointConfig": true, "Training_Function": true,
	"EMRServerless": true, "NotebookJob": true}

// ParamType is the Type of a pipeline parameter.
type ParamType string

// Parameter types.
const (
	String  ParamType = "String"
	Integer ParamType = "Integer"
	Float   ParamType = "Float"
	Boolean ParamType = "Boolean"
)

// Parameter is one pipeline parameter. Default holds a string, int64, float64 or bool, by Type.
type Parameter struct {
	Name        string
	Type        ParamType
	Default     any
	HasDefault  bool
	EnumValues  []string // String parameters only; the value must be one of these when set
	Description string
}

// RetryPolicy is one entry of a step's RetryPolicies.
type RetryPolicy struct {
	ExceptionTypes  []string // e.g. Step.SERVICE_FAULT, SageMaker.JOB_INTERNAL_ERROR
	IntervalSeconds int      // default 1
	BackoffRate     float64  // default 2.0
	MaxAttempts     int      // 0 when not given (ExpireAfterMin bounds the retries instead)
	ExpireAfterMin  int      // 0 when not given
}

// RetryExceptionTypes are the exception types a RetryPolicy may name.
var retryExceptionTypes = map[string]bool{"Step.SERVICE_FAULT": true, "Step.THROTTLING": true,
	"SageMaker.JOB_INTERNAL_ERROR": true, "SageMaker.CAPACITY_ERROR": true, "SageMaker.RESOURCE_LIMIT": true}

// CacheConfig is a step's CacheConfig.
type CacheConfig struct {
	Enabled     bool
	ExpireAfter time.Duration // 0 when not given
	ExpireRaw   string        // as written, e.g. P30D
}

// PropertyFile is one of a step's PropertyFiles: a JSON file in one of the step's outputs that
// Std:JsonGet can read.
type PropertyFile struct {
	Name       string // PropertyFileName
	OutputName string // the processing output the file is written to
	FilePath   string // the path of the file inside that output
}

// OutputParameter is one of a Lambda or Callback step's OutputParameters.
type OutputParameter struct {
	Name string    // OutputName
	Type ParamType // OutputType; String when not given
}

// Branch says which branch of a Condition step a step is in.
type Branch int

// Branches.
const (
	NoBranch   Branch = iota // a top-level step
	IfBranch                 // in the IfSteps of its Condition
	ElseBranch               // in the ElseSteps of its Condition
)

// Step is one step of a definition. Arguments is the step's Arguments as decoded JSON
// (map[string]any, []any, string, json.Number, bool, nil), with expressions still in it; for
// a Condition step it holds only the Conditions (the branch steps are in IfSteps and ElseSteps).
type Step struct {
	Name        string
	Type        StepType
	DisplayName string
	Description string
	Arguments   any
	DependsOn   []string
	Retry       []RetryPolicy
	Cache       *CacheConfig // nil when the step has no CacheConfig
	Files       []PropertyFile

	// Condition steps.
	Conditions []any // each a condition object as written; see EvaluateConditions
	IfSteps    []*Step
	ElseSteps  []*Step

	// Lambda and Callback steps.
	FunctionArn string
	SqsQueueURL string
	Outputs     []OutputParameter

	// Where the step sits: the Condition step whose branch holds it, or "" at top level.
	Parent string
	Branch Branch
	Index  int    // position among its siblings
	Path   string // JSON path of the step object, e.g. $.Steps[3].Arguments.IfSteps[0]
}

// Definition is a parsed pipeline definition. Steps are the top-level steps; AllSteps lists
// every step, nested branch steps included, in document order.
type Definition struct {
	Version          string
	Metadata         map[string]any
	Parameters       []Parameter
	ExperimentConfig map[string]any // PipelineExperimentConfig as written (may hold expressions); nil when absent
	Steps            []*Step

	all   []*Step
	index map[string]*Step
	plan  *Plan
}

// AllSteps returns every step, branch steps included, in document order.
func (d *Definition) AllSteps() []*Step { return d.all }

// Step returns the step with that name (top-level or in a branch).
func (d *Definition) Step(name string) (*Step, bool) {
	s, ok := d.index[name]
	return s, ok
}

// Parameter returns the parameter with that name.
func (d *Definition) Parameter(name string) (*Parameter, bool) {
	for i := range d.Parameters {
		if d.Parameters[i].Name == name {
			return &d.Parameters[i], true
		}
	}
	return nil, false
}

// PropertyFile returns the property file a step declares under that name.
func (s *Step) PropertyFile(name string) (*PropertyFile, bool) {
	for i := range s.Files {
		if s.Files[i].Name == name {
			return &s.Files[i], true
		}
	}
	return nil, false
}

var (
	nameRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	stepRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	metaKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
)

// Parse decodes and validates a pipeline definition: the JSON shape of every part, then the
// references between parts (Validate). Every error is an *Error.
func Parse(data []byte) (*Definition, error) {
	if len(data) > MaxSize {
		return nil, errorf("", "$", "the pipeline definition is %d bytes; the limit is %d", len(data), MaxSize)
	}
	v, err := decodeJSON(data)
	if err != nil {
		return nil, errorf("", "$", "the pipeline definition is not valid JSON: %v", err)
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, errorf("", "$", "the pipeline definition must be a JSON object")
	}
	d := &Definition{Version: Version, index: map[string]*Step{}}
	for _, k := range sortedKeys(top) {
		val := top[k]
		p := root.key(k)
		switch k {
		case "Version":
			s, ok := val.(string)
			if !ok || s != Version {
				return nil, errorf("", string(p), "unsupported Version %s; the only version is %q", show(val), Version)
			}
		case "Metadata":
			if val == nil {
				continue
			}
			m, ok := val.(map[string]any)
			if !ok {
				return nil, errorf("", string(p), "Metadata must be an object")
			}
			for mk, mv := range m {
				if !metaKey.MatchString(mk) {
					return nil, errorf("", string(p.key(mk)), "invalid Metadata key")
				}
				if s, ok := mv.(string); !ok || len(s) > 1024 {
					return nil, errorf("", string(p.key(mk)), "Metadata values must be strings of at most 1024 characters")
				}
			}
			d.Metadata = m
		case "Parameters":
			if val == nil {
				continue
			}
			if err := d.parseParameters(val, p); err != nil {
				return nil, err
			}
		case "PipelineExperimentConfig":
			if val == nil {
				continue
			}
			m, ok := val.(map[string]any)
			if !ok {
				return nil, errorf("", string(p), "PipelineExperimentConfig must be an object")
			}
			for mk := range m {
				if mk != "ExperimentName" && mk != "TrialName" {
					return nil, errorf("", string(p.key(mk)), "unknown PipelineExperimentConfig field %q (ExperimentName and TrialName are allowed)", mk)
				}
				switch ev := m[mk].(type) {
				case string, nil:
				case map[string]any:
					if exprKind(ev) == "" {
						return nil, errorf("", string(p.key(mk)), "%s must be a string or an expression", mk)
					}
				default:
					return nil, errorf("", string(p.key(mk)), "%s must be a string or an expression", mk)
				}
			}
			d.ExperimentConfig = m
		case "Steps":
			arr, ok := val.([]any)
			if !ok {
				return nil, errorf("", string(p), "Steps must be an array")
			}
			for i, sv := range arr {
				s, err := d.parseStep(sv, p.idx(i), "", NoBranch, i)
				if err != nil {
					return nil, err
				}
				d.Steps = append(d.Steps, s)
			}
		default:
			return nil, errorf("", string(p), "unknown field %q in the pipeline definition", k)
		}
	}
	if _, ok := top["Steps"]; !ok {
		return nil, errorf("", "$", "the pipeline definition has no Steps")
	}
	if len(d.Steps) == 0 {
		return nil, errorf("", "$.Steps", "the pipeline definition has no steps")
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// decodeJSON decodes one JSON value keeping numbers as json.Number, and refuses trailing data.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// show renders a JSON value briefly for an error message.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

func (d *Definition) parseParameters(val any, p jpath) error {
	arr, ok := val.([]any)
	if !ok {
		return errorf("", string(p), "Parameters must be an array")
	}
	seen := map[string]bool{}
	for i, pv := range arr {
		pp := p.idx(i)
		m, ok := pv.(map[string]any)
		if !ok {
			return errorf("", string(pp), "a parameter must be an object")
		}
		var prm Parameter
		name, ok := m["Name"].(string)
		if !ok || !nameRE.MatchString(name) {
			return errorf("", string(pp.key("Name")), "a parameter needs a Name of 1 to 256 letters, digits, '-' or '_'")
		}
		if seen[name] {
			return errorf("", string(pp.key("Name")), "duplicate parameter name %q", name)
		}
		seen[name] = true
		prm.Name = name
		prm.Type = String
		if t, present := m["Type"]; present {
			ts, _ := t.(string)
			switch ParamType(ts) {
			case String, Integer, Float, Boolean:
				prm.Type = ParamType(ts)
			default:
				return errorf("", string(pp.key("Type")), "parameter %q has unknown Type %s (String, Integer, Float or Boolean)", name, show(t))
			}
		}
		for _, k := range sortedKeys(m) {
			switch k {
			case "Name", "Type":
			case "Description":
				if s, ok := m[k].(string); ok {
					prm.Description = s
				} else if m[k] != nil {
					return errorf("", string(pp.key(k)), "Description must be a string")
				}
			case "EnumValues":
				if prm.Type != String {
					return errorf("", string(pp.key(k)), "EnumValues are only allowed on String parameters")
				}
				ev, ok := m[k].([]any)
				if !ok || len(ev) == 0 {
					return errorf("", string(pp.key(k)), "EnumValues must be a non-empty array of strings")
				}
				for j, e := range ev {
					s, ok := e.(string)
					if !ok {
						return errorf("", string(pp.key(k).idx(j)), "EnumValues must be strings")
					}
					prm.EnumValues = append(prm.EnumValues, s)
				}
			case "DefaultValue":
				if m[k] == nil {
					continue
				}
				def, err := typedValue(prm.Type, m[k])
				if err != nil {
					return errorf("", string(pp.key(k)), "default of %s parameter %q: %v", prm.Type, name, err)
				}
				prm.Default, prm.HasDefault = def, true
			default:
				return errorf("", string(pp.key(k)), "unknown field %q in parameter %q", k, name)
			}
		}
		if prm.HasDefault && len(prm.EnumValues) > 0 && !contains(prm.EnumValues, prm.Default.(string)) {
			return errorf("", string(pp.key("DefaultValue")), "default %q of parameter %q is not one of its EnumValues", prm.Default, name)
		}
		d.Parameters = append(d.Parameters, prm)
	}
	return nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// typedValue checks a JSON value against a parameter type and converts it: String → string,
// Integer → int64, Float → float64, Boolean → bool.
func typedValue(t ParamType, v any) (any, error) {
	switch t {
	case String:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case Integer:
		if n, ok := toFloat(v); ok && isNumber(v) {
			if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
				return nil, fmt.Errorf("%s is not an integer", show(v))
			}
			if jn, ok := v.(json.Number); ok {
				if i, err := jn.Int64(); err == nil {
					return i, nil
				}
			}
			return int64(n), nil
		}
	case Float:
		if n, ok := toFloat(v); ok && isNumber(v) {
			return n, nil
		}
	case Boolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%s is not a %s", show(v), t)
}

func isNumber(v any) bool {
	switch v.(type) {
	case json.Number, float64, float32, int, int64, int32:
		return true
	}
	return false
}

// ParseValue converts a parameter value given as a string (as StartPipelineExecution's
// PipelineParameters carry it) to the parameter's type.
func (p *Parameter) ParseValue(s string) (any, error) {
	switch p.Type {
	case String:
		if len(p.EnumValues) > 0 && !contains(p.EnumValues, s) {
			return nil, fmt.Errorf("value %q of parameter %q is not one of %s", s, p.Name, strings.Join(p.EnumValues, ", "))
		}
		return s, nil
	case Integer:
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			// SageMaker accepts "5.0" for an integer.
			f, ferr := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				return nil, fmt.Errorf("value %q of parameter %q is not an Integer", s, p.Name)
			}
			i = int64(f)
		}
		return i, nil
	case Float:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("value %q of parameter %q is not a Float", s, p.Name)
		}
		return f, nil
	case Boolean:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("value %q of parameter %q is not a Boolean (true or false)", s, p.Name)
	}
	return nil, fmt.Errorf("parameter %q has unknown type %s", p.Name, p.Type)
}

// ParameterValues returns the value of every parameter for an execution: the given values
// (strings, as StartPipelineExecution carries them) converted to their types, and the defaults
// for the rest. An unknown name, a value of the wrong type or a parameter with neither value
// nor default is an *Error.
func (d *Definition) ParameterValues(given map[string]string) (map[string]any, error) {
	out := make(map[string]any, len(d.Parameters))
	for _, name := range sortedKeysS(given) {
		p, ok := d.Parameter(name)
		if !ok {
			return nil, errorf("", "", "unknown pipeline parameter %q", name)
		}
		v, err := p.ParseValue(given[name])
		if err != nil {
			return nil, errorf("", "", "%v", err)
		}
		out[name] = v
	}
	for _, p := range d.Parameters {
		if _, ok := out[p.Name]; ok {
			continue
		}
		if !p.HasDefault {
			return nil, errorf("", "", "pipeline parameter %q has no default and no value was given", p.Name)
		}
		out[p.Name] = p.Default
	}
	return out, nil
}

func sortedKeysS(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
