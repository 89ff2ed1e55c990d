// Package template is Slipway's CloudFormation template engine: it parses templates in JSON or
// YAML (with the short-form tags !Ref, !Sub, !GetAtt, …), validates their structure, resolves
// parameters against their constraints, evaluates conditions and intrinsic functions, and plans
// the order in which a stack's resources are created and deleted.
//
// It is pure: no storage, no transport, no clock. Every error is a *errs.Error of kind Invalid
// with the code ValidationError, and its message names the template path like CloudFormation's
// own ("Template format error: …", "Template error: …", "Parameter … must …").
//
// Values inside a template are the generic JSON values: map[string]any, []any, string, float64,
// bool and nil. An intrinsic function is a map with exactly one key naming it ("Ref", "Fn::Sub",
// "Condition" inside condition expressions).
package template

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/slipway-ml/slipway/internal/errs"
)

// MaxBodySize is the largest template body CloudFormation accepts inline (51,200 bytes) times
// ten, which bounds what a template at an S3 URL may hold (1 MB).
const MaxBodySize = 1 << 20

// Template is a parsed, structurally valid template.
type Template struct {
	FormatVersion string
	Description   string
	Parameters    map[string]*Parameter
	Mappings      map[string]map[string]map[string]any
	Conditions    map[string]any
	Rules         map[string]*Rule
	Resources     map[string]*Resource
	Outputs       map[string]*Output
	Metadata      any
}

// Parameter is a declared template parameter.
type Parameter struct {
	Name                  string
	Type                  string
	Description           string
	Default               *string
	AllowedValues         []string
	AllowedPattern        string
	ConstraintDescription string
	MinLength, MaxLength  *int
	MinValue, MaxValue    *float64
	NoEcho                bool
}

// Rule is a template rule: when RuleCondition holds, every assertion must.
type Rule struct {
	Name          string
	RuleCondition any
	Assertions    []Assertion
}

// Assertion is one rule assertion.
type Assertion struct {
	Assert      any
	Description string
}

// Resource is a declared resource.
type Resource struct {
	Name                string
	Type                string
	Properties          map[string]any
	DependsOn           []string
	Condition           string
	DeletionPolicy      string
	UpdateReplacePolicy string
	Metadata            any
}

// Output is a declared output.
type Output struct {
	Name        string
	Description string
	Value       any
	ExportName  any // nil when not exported
	Condition   string
}

// ValidationError builds the error every failure of this package returns.
func ValidationError(format string, args ...any) *errs.Error {
	return errs.E(errs.Invalid, format, args...).WithCode("ValidationError")
}

func formatError(format string, args ...any) *errs.Error {
	return ValidationError("Template format error: "+format, args...)
}

// Parse decodes a template body in JSON or YAML and validates its structure: the sections, the
// resources' declarations, the functions' shapes, what Ref, GetAtt, DependsOn and Condition name,
// and that the resources' dependencies have no cycle.
func Parse(body []byte) (*Template, error) {
	if len(body) > MaxBodySize {
		return nil, ValidationError("Template body is %d bytes; the limit is %d", len(body), MaxBodySize)
	}
	raw, err := decode(body)
	if err != nil {
		return nil, err
	}
	root, ok := raw.(map[string]any)
	if !ok {
		return nil, formatError("the template is not a JSON or YAML object")
	}
	t, err := build(root)
	if err != nil {
		return nil, err
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	return t, nil
}

func decode(body []byte) (any, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, formatError("the template is empty")
	}
	if trimmed[0] == '{' {
		d := json.NewDecoder(bytes.NewReader(trimmed))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return nil, formatError("JSON not well-formed: %v", err)
		}
		if d.More() {
			return nil, formatError("JSON not well-formed: data after the template object")
		}
		return normalizeJSON(v)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return nil, formatError("YAML not well-formed: %v", err)
	}
	if len(doc.Content) == 0 {
		return nil, formatError("the template is empty")
	}
	return fromYAML(doc.Content[0], 0)
}

func normalizeJSON(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, formatError("number %s is out of range", x)
		}
		return f, nil
	case map[string]any:
		for k, e := range x {
			n, err := normalizeJSON(e)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
		return x, nil
	case []any:
		for i, e := range x {
			n, err := normalizeJSON(e)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
		return x, nil
	}
	return v, nil
}

// shortForms maps each YAML short-form tag to its function's long name.
var shortForms = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition",
	"!Sub": "Fn::Sub", "!GetAtt": "Fn::GetAtt", "!Join": "Fn::Join", "!Select": "Fn::Select",
	"!Split": "Fn::Split", "!If": "Fn::If", "!Equals": "Fn::Equals", "!And": "Fn::And",
	"!Or": "Fn::Or", "!Not": "Fn::Not", "!FindInMap": "Fn::FindInMap", "!GetAZs": "Fn::GetAZs",
	"!Base64": "Fn::Base64", "!Cidr": "Fn::Cidr", "!ImportValue": "Fn::ImportValue",
}

const maxDepth = 200

func fromYAML(n *yaml.Node, depth int) (any, error) {
	if depth > maxDepth {
		return nil, formatError("the template nests deeper than %d levels", maxDepth)
	}
	var fn string
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		name, ok := shortForms[n.Tag]
		if !ok {
			return nil, formatError("unknown tag %s at line %d", n.Tag, n.Line)
		}
		fn = name
	}
	v, err := plainYAML(n, depth, fn != "")
	if err != nil {
		return nil, err
	}
	if fn == "" {
		return v, nil
	}
	if fn == "Fn::GetAtt" {
		if s, ok := v.(string); ok {
			res, attr, found := strings.Cut(s, ".")
			if !found {
				return nil, formatError("!GetAtt %q at line %d must be Resource.Attribute", s, n.Line)
			}
			v = []any{res, attr}
		}
	}
	return map[string]any{fn: v}, nil
}

func plainYAML(n *yaml.Node, depth int, tagged bool) (any, error) {
	switch n.Kind {
	case yaml.AliasNode:
		return nil, formatError("YAML aliases are not supported (line %d)", n.Line)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, formatError("a mapping key at line %d is not a scalar", k.Line)
			}
			if k.Value == "<<" {
				return nil, formatError("YAML merge keys are not supported (line %d)", k.Line)
			}
			if _, dup := m[k.Value]; dup {
				return nil, formatError("duplicate key %q at line %d", k.Value, k.Line)
			}
			v, err := fromYAML(n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := fromYAML(c, depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		if tagged {
			return n.Value, nil
		}
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			return n.Value == "true" || n.Value == "True" || n.Value == "TRUE", nil
		case "!!int", "!!float":
			f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				// 0x1F, 0o17, .inf …: keep the text, as CloudFormation passes it on.
				return n.Value, nil
			}
			return f, nil
		case "!!binary", "!!timestamp", "!!str":
			return n.Value, nil
		default:
			return n.Value, nil
		}
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return fromYAML(n.Content[0], depth+1)
	}
	return nil, formatError("unsupported YAML node at line %d", n.Line)
}

var topLevel = map[string]bool{"AWSTemplateFormatVersion": true, "Description": true, "Metadata": true,
	"Parameters": true, "Mappings": true, "Conditions": true, "Rules": true, "Resources": true,
	"Outputs": true, "Transform": true}

func build(root map[string]any) (*Template, error) {
	for _, k := range sortedKeys(root) {
		if !topLevel[k] {
			return nil, formatError("Invalid template property or properties [%s]", k)
		}
	}
	if _, ok := root["Transform"]; ok {
		return nil, formatError("Transform is not supported: Slipway does not run template macros")
	}
	t := &Template{Parameters: map[string]*Parameter{}, Mappings: map[string]map[string]map[string]any{},
		Conditions: map[string]any{}, Rules: map[string]*Rule{}, Resources: map[string]*Resource{},
		Outputs: map[string]*Output{}, Metadata: root["Metadata"]}
	if v, ok := root["AWSTemplateFormatVersion"]; ok {
		s, ok := v.(string)
		if !ok || s != "2010-09-09" {
			return nil, formatError("AWSTemplateFormatVersion must be 2010-09-09")
		}
		t.FormatVersion = s
	}
	if v, ok := root["Description"]; ok {
		s, ok := v.(string)
		if !ok {
			return nil, formatError("Description must be a string")
		}
		if len(s) > 1024 {
			return nil, formatError("Description is longer than 1024 characters")
		}
		t.Description = s
	}
	if err := buildParameters(t, root["Parameters"]); err != nil {
		return nil, err
	}
	if err := buildMappings(t, root["Mappings"]); err != nil {
		return nil, err
	}
	if v, ok := root["Conditions"]; ok {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, formatError("Conditions must be an object")
		}
		t.Conditions = m
	}
	if err := buildRules(t, root["Rules"]); err != nil {
		return nil, err
	}
	if err := buildResources(t, root["Resources"]); err != nil {
		return nil, err
	}
	if err := buildOutputs(t, root["Outputs"]); err != nil {
		return nil, err
	}
	return t, nil
}

// ParameterTypes are the parameter types Slipway resolves. SSM parameter types and the
// AWS-specific EC2 types are refused: there is no SSM or EC2 here.
var ParameterTypes = map[string]bool{"String": true, "Number": true, "List<Number>": true,
	"CommaDelimitedList": true, "List<String>": true}

var parameterKeys = map[string]bool{"Type": true, "Description": true, "Default": true, "AllowedValues": true,
	"AllowedPattern": true, "ConstraintDescription": true, "MinLength": true, "MaxLength": true,
	"MinValue": true, "MaxValue": true, "NoEcho": true}

func buildParameters(t *Template, v any) error {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return formatError("Parameters must be an object")
	}
	if len(m) > 200 {
		return formatError("the template declares %d parameters; the limit is 200", len(m))
	}
	for _, name := range sortedKeys(m) {
		if !logicalID(name) {
			return formatError("Parameter name %q is non alphanumeric", name)
		}
		def, ok := m[name].(map[string]any)
		if !ok {
			return formatError("Parameters/%s must be an object", name)
		}
		for _, k := range sortedKeys(def) {
			if !parameterKeys[k] {
				return formatError("Invalid template parameter property '%s' in Parameters/%s", k, name)
			}
		}
		p := &Parameter{Name: name}
		typ, ok := def["Type"].(string)
		if !ok {
			return formatError("Parameters/%s has no Type", name)
		}
		if !ParameterTypes[typ] {
			return formatError("Unrecognized parameter type: %s in Parameters/%s (supported: String, Number, List<Number>, CommaDelimitedList)", typ, name)
		}
		p.Type = typ
		var err error
		if p.Description, err = optString(def, "Description", "Parameters/"+name); err != nil {
			return err
		}
		if p.AllowedPattern, err = optString(def, "AllowedPattern", "Parameters/"+name); err != nil {
			return err
		}
		if p.AllowedPattern != "" {
			if _, err := compilePattern(p.AllowedPattern); err != nil {
				return formatError("Parameters/%s/AllowedPattern is not a valid pattern: %v", name, err)
			}
		}
		if p.ConstraintDescription, err = optString(def, "ConstraintDescription", "Parameters/"+name); err != nil {
			return err
		}
		if d, ok := def["Default"]; ok {
			s, ok := scalarString(d)
			if !ok {
				if l, isList := d.([]any); isList && strings.HasPrefix(typ, "List<") || isList && typ == "CommaDelimitedList" {
					parts := make([]string, len(l))
					for i, e := range l {
						if parts[i], ok = scalarString(e); !ok {
							return formatError("Parameters/%s/Default must be a string", name)
						}
					}
					s = strings.Join(parts, ",")
				} else {
					return formatError("Parameters/%s/Default must be a string", name)
				}
			}
			p.Default = &s
		}
		if av, ok := def["AllowedValues"]; ok {
			l, ok := av.([]any)
			if !ok {
				return formatError("Parameters/%s/AllowedValues must be a list", name)
			}
			for _, e := range l {
				s, ok := scalarString(e)
				if !ok {
					return formatError("Parameters/%s/AllowedValues must hold strings", name)
				}
				p.AllowedValues = append(p.AllowedValues, s)
			}
		}
		for _, k := range []string{"MinLength", "MaxLength"} {
			if x, ok := def[k]; ok {
				f, ok := number(x)
				if !ok || f < 0 || f != math.Trunc(f) || f > 1<<30 {
					return formatError("Parameters/%s/%s must be a non-negative integer", name, k)
				}
				n := int(f)
				if k == "MinLength" {
					p.MinLength = &n
				} else {
					p.MaxLength = &n
				}
			}
		}
		for _, k := range []string{"MinValue", "MaxValue"} {
			if x, ok := def[k]; ok {
				f, ok := number(x)
				if !ok {
					return formatError("Parameters/%s/%s must be a number", name, k)
				}
				if k == "MinValue" {
					p.MinValue = &f
				} else {
					p.MaxValue = &f
				}
			}
		}
		if x, ok := def["NoEcho"]; ok {
			switch b := x.(type) {
			case bool:
				p.NoEcho = b
			case string:
				p.NoEcho = strings.EqualFold(b, "true")
			default:
				return formatError("Parameters/%s/NoEcho must be a boolean", name)
			}
		}
		if p.Default != nil {
			if _, err := p.resolve(*p.Default); err != nil {
				return formatError("Default value of parameter %s does not meet its constraints: %s", name, errs.Message(err))
			}
		}
		t.Parameters[name] = p
	}
	return nil
}

func buildMappings(t *Template, v any) error {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return formatError("Mappings must be an object")
	}
	for _, name := range sortedKeys(m) {
		top, ok := m[name].(map[string]any)
		if !ok {
			return formatError("Mappings/%s must be an object", name)
		}
		mm := map[string]map[string]any{}
		for _, k := range sortedKeys(top) {
			second, ok := top[k].(map[string]any)
			if !ok {
				return formatError("Mappings/%s/%s must be an object", name, k)
			}
			for _, k2 := range sortedKeys(second) {
				if err := literal(second[k2]); err != nil {
					return formatError("Mappings/%s/%s/%s must be a string or a list of strings", name, k, k2)
				}
			}
			mm[k] = second
		}
		t.Mappings[name] = mm
	}
	return nil
}

func literal(v any) error {
	switch x := v.(type) {
	case string, float64, bool:
		return nil
	case []any:
		for _, e := range x {
			if _, ok := scalarString(e); !ok {
				return fmt.Errorf("not a scalar")
			}
		}
		return nil
	}
	return fmt.Errorf("not a literal")
}

func buildRules(t *Template, v any) error {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return formatError("Rules must be an object")
	}
	for _, name := range sortedKeys(m) {
		def, ok := m[name].(map[string]any)
		if !ok {
			return formatError("Rules/%s must be an object", name)
		}
		r := &Rule{Name: name, RuleCondition: def["RuleCondition"]}
		for _, k := range sortedKeys(def) {
			if k != "RuleCondition" && k != "Assertions" {
				return formatError("Invalid rule property '%s' in Rules/%s", k, name)
			}
		}
		as, ok := def["Assertions"].([]any)
		if !ok || len(as) == 0 {
			return formatError("Rules/%s must have a list of Assertions", name)
		}
		for i, a := range as {
			am, ok := a.(map[string]any)
			if !ok || am["Assert"] == nil {
				return formatError("Rules/%s/Assertions/%d must have an Assert", name, i)
			}
			d, _ := am["AssertDescription"].(string)
			r.Assertions = append(r.Assertions, Assertion{Assert: am["Assert"], Description: d})
		}
		t.Rules[name] = r
	}
	return nil
}

var resourceKeys = map[string]bool{"Type": true, "Properties": true, "DependsOn": true, "Condition": true,
	"DeletionPolicy": true, "UpdateReplacePolicy": true, "Metadata": true, "CreationPolicy": true,
	"UpdatePolicy": true}

var policies = map[string]bool{"Delete": true, "Retain": true, "RetainExceptOnCreate": true, "Snapshot": true}

func buildResources(t *Template, v any) error {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		if v != nil && !ok {
			return formatError("Resources must be an object")
		}
		return formatError("At least one Resources member must be defined.")
	}
	if len(m) > 500 {
		return formatError("the template declares %d resources; the limit is 500", len(m))
	}
	for _, name := range sortedKeys(m) {
		if !logicalID(name) {
			return formatError("Resource name %s is non alphanumeric.", name)
		}
		if _, dup := t.Parameters[name]; dup {
			return formatError("Resources/%s has the name of a parameter", name)
		}
		def, ok := m[name].(map[string]any)
		if !ok {
			return formatError("[/Resources/%s] resource definition is malformed", name)
		}
		for _, k := range sortedKeys(def) {
			if !resourceKeys[k] {
				return formatError("[/Resources/%s] Invalid resource attribute %s", name, k)
			}
		}
		r := &Resource{Name: name, Metadata: def["Metadata"]}
		typ, ok := def["Type"].(string)
		if !ok || typ == "" {
			return formatError("[/Resources/%s] Every Resources object must contain a Type member.", name)
		}
		r.Type = typ
		if p, ok := def["Properties"]; ok && p != nil {
			pm, ok := p.(map[string]any)
			if !ok {
				return formatError("[/Resources/%s/Properties] must be an object", name)
			}
			r.Properties = pm
		}
		switch d := def["DependsOn"].(type) {
		case nil:
		case string:
			r.DependsOn = []string{d}
		case []any:
			for _, e := range d {
				s, ok := e.(string)
				if !ok {
					return formatError("[/Resources/%s/DependsOn] must be a string or a list of strings", name)
				}
				r.DependsOn = append(r.DependsOn, s)
			}
		default:
			return formatError("[/Resources/%s/DependsOn] must be a string or a list of strings", name)
		}
		for _, k := range []string{"Condition", "DeletionPolicy", "UpdateReplacePolicy"} {
			x, ok := def[k]
			if !ok {
				continue
			}
			s, ok := x.(string)
			if !ok {
				return formatError("[/Resources/%s/%s] must be a string", name, k)
			}
			switch k {
			case "Condition":
				r.Condition = s
			case "DeletionPolicy":
				if !policies[s] {
					return formatError("[/Resources/%s/DeletionPolicy] Unrecognized DeletionPolicy %s", name, s)
				}
				r.DeletionPolicy = s
			case "UpdateReplacePolicy":
				if !policies[s] {
					return formatError("[/Resources/%s/UpdateReplacePolicy] Unrecognized UpdateReplacePolicy %s", name, s)
				}
				r.UpdateReplacePolicy = s
			}
		}
		t.Resources[name] = r
	}
	return nil
}

func buildOutputs(t *Template, v any) error {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return formatError("Outputs must be an object")
	}
	if len(m) > 200 {
		return formatError("the template declares %d outputs; the limit is 200", len(m))
	}
	for _, name := range sortedKeys(m) {
		if !logicalID(name) {
			return formatError("Output name %s is non alphanumeric.", name)
		}
		def, ok := m[name].(map[string]any)
		if !ok {
			return formatError("[/Outputs/%s] must be an object", name)
		}
		o := &Output{Name: name}
		for _, k := range sortedKeys(def) {
			switch k {
			case "Value":
				o.Value = def[k]
			case "Description":
				s, ok := def[k].(string)
				if !ok {
					return formatError("[/Outputs/%s/Description] must be a string", name)
				}
				o.Description = s
			case "Condition":
				s, ok := def[k].(string)
				if !ok {
					return formatError("[/Outputs/%s/Condition] must be a string", name)
				}
				o.Condition = s
			case "Export":
				e, ok := def[k].(map[string]any)
				if !ok || e["Name"] == nil || len(e) != 1 {
					return formatError("[/Outputs/%s/Export] must be an object with a Name", name)
				}
				o.ExportName = e["Name"]
			default:
				return formatError("[/Outputs/%s] Invalid output property %s", name, k)
			}
		}
		if o.Value == nil {
			return formatError("[/Outputs/%s] must have a Value", name)
		}
		t.Outputs[name] = o
	}
	return nil
}

func optString(m map[string]any, k, path string) (string, error) {
	v, ok := m[k]
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", formatError("%s/%s must be a string", path, k)
	}
	return s, nil
}

func logicalID(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return formatNumber(x), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
