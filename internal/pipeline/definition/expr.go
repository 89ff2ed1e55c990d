package definition

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// RefKind says what a Get path refers to.
type RefKind int

// Reference kinds.
const (
	RefParameter        RefKind = iota + 1 // Parameters.Name
	RefExecution                           // Execution.Variable
	RefStep                                // Steps.Name.Member…
	RefExperimentConfig                    // PipelineExperimentConfig.ExperimentName|TrialName
)

// ExecutionVariables are the names `Get: Execution.X` may use.
var ExecutionVariables = []string{"PipelineExecutionArn", "PipelineExecutionId", "StartDateTime",
	"CurrentDateTime", "PipelineName", "PipelineArn", "TrainingJobName", "ProcessingJobName"}

func isExecutionVariable(n string) bool { return contains(ExecutionVariables, n) }

// Seg is one member of a step property path: a field name, a quoted key (['train']) or an
// index ([0]).
type Seg struct {
	Key     string
	Index   int
	IsIndex bool // [n]
	Quoted  bool // ['key']
}

func (s Seg) String() string {
	switch {
	case s.IsIndex:
		return "[" + strconv.Itoa(s.Index) + "]"
	case s.Quoted:
		return "['" + s.Key + "']"
	}
	return "." + s.Key
}

// Ref is a parsed Get path.
type Ref struct {
	Kind RefKind
	Name string // parameter, execution variable, step or experiment config field name
	Path []Seg  // for RefStep: the member path below the step
	Raw  string
}

// ParseGet parses the path of a Get expression.
func ParseGet(s string) (Ref, error) {
	r := Ref{Raw: s}
	head, rest, _ := strings.Cut(s, ".")
	switch head {
	case "Parameters":
		if !nameRE.MatchString(rest) {
			return r, fmt.Errorf("invalid parameter reference %q", s)
		}
		r.Kind, r.Name = RefParameter, rest
	case "Execution":
		if !isExecutionVariable(rest) {
			return r, fmt.Errorf("unknown execution variable %q in %q (known: %s)", rest, s, strings.Join(ExecutionVariables, ", "))
		}
		r.Kind, r.Name = RefExecution, rest
	case "PipelineExperimentConfig":
		if rest != "ExperimentName" && rest != "TrialName" {
			return r, fmt.Errorf("unknown PipelineExperimentConfig property %q in %q", rest, s)
		}
		r.Kind, r.Name = RefExperimentConfig, rest
	case "Steps":
		end := strings.IndexAny(rest, ".[")
		if end < 0 {
			end = len(rest)
		}
		r.Kind, r.Name = RefStep, rest[:end]
		if !stepRE.MatchString(r.Name) {
			return r, fmt.Errorf("invalid step name in %q", s)
		}
		segs, err := parseMemberPath(rest[end:], true)
		if err != nil {
			return r, fmt.Errorf("invalid property path %q: %v", s, err)
		}
		if len(segs) == 0 {
			return r, fmt.Errorf("%q names a step but no property of it", s)
		}
		r.Path = segs
	default:
		return r, fmt.Errorf("unknown Get path %q (it must start with Parameters., Execution., Steps. or PipelineExperimentConfig.)", s)
	}
	return r, nil
}

// parseMemberPath parses ".A.B['k'][0].C". With leadingDot, every plain member starts with a
// dot; otherwise the first member may start without one (JsonGet paths: "metrics.mse.value").
func parseMemberPath(s string, leadingDot bool) ([]Seg, error) {
	var segs []Seg
	first := true
	for len(s) > 0 {
		switch {
		case s[0] == '[':
			if len(s) > 1 && (s[1] == '\'' || s[1] == '"') {
				q := s[1]
				end := strings.IndexByte(s[2:], q)
				if end < 0 || len(s) < end+4 || s[end+3] != ']' {
					return nil, fmt.Errorf("unterminated [%c…%c]", q, q)
				}
				segs = append(segs, Seg{Key: s[2 : 2+end], Quoted: true})
				s = s[end+4:]
			} else {
				end := strings.IndexByte(s, ']')
				if end < 0 {
					return nil, fmt.Errorf("unterminated [")
				}
				n, err := strconv.Atoi(s[1:end])
				if err != nil || n < 0 {
					return nil, fmt.Errorf("index %q is not a non-negative integer", s[1:end])
				}
				segs = append(segs, Seg{Index: n, IsIndex: true})
				s = s[end+1:]
			}
		default:
			if s[0] == '.' {
				s = s[1:]
			} else if leadingDot || !first {
				return nil, fmt.Errorf("expected '.' or '[' at %q", s)
			}
			end := strings.IndexAny(s, ".[")
			if end < 0 {
				end = len(s)
			}
			if end == 0 {
				return nil, fmt.Errorf("empty member name")
			}
			segs = append(segs, Seg{Key: s[:end]})
			s = s[end:]
		}
		first = false
	}
	return segs, nil
}

// parseJSONPath parses a Std:JsonGet Path: "a.b[0].c", "a['b c']", optionally starting with "$".
func parseJSONPath(s string) ([]Seg, error) {
	if s == "" {
		return nil, fmt.Errorf("empty path")
	}
	s = strings.TrimPrefix(s, "$")
	segs, err := parseMemberPath(s, false)
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		return nil, fmt.Errorf("empty path")
	}
	return segs, nil
}

// exprKind classifies a JSON object: a Get, a Std:Join, a Std:JsonGet, or not an expression.
func exprKind(m map[string]any) string {
	for k := range m {
		if isFunctionKey(k) {
			return k
		}
	}
	return ""
}

// checkExprTree checks the syntax of every expression in an arguments tree.
func checkExprTree(step string, v any, p jpath) error {
	var err error
	walk(v, p, func(v any, p jpath) bool {
		if err != nil {
			return false
		}
		m, ok := v.(map[string]any)
		if !ok {
			return true
		}
		if exprKind(m) == "" {
			return true
		}
		err = checkExpr(step, m, p)
		return false
	})
	return err
}

// checkExpr checks one expression object, recursively.
func checkExpr(step string, m map[string]any, p jpath) error {
	k := exprKind(m)
	if len(m) != 1 {
		return errorf(step, string(p), "an expression object has exactly one member (%s), found %d", k, len(m))
	}
	switch k {
	case "Get":
		s, ok := m[k].(string)
		if !ok {
			return errorf(step, string(p.key(k)), "Get takes a string path")
		}
		if _, err := ParseGet(s); err != nil {
			return errorf(step, string(p.key(k)), "%v", err)
		}
	case "Std:Join":
		jm, ok := m[k].(map[string]any)
		if !ok {
			return errorf(step, string(p.key(k)), "Std:Join takes an object with On and Values")
		}
		for _, f := range sortedKeys(jm) {
			switch f {
			case "On":
				if _, ok := jm[f].(string); !ok {
					return errorf(step, string(p.key(k).key(f)), "On must be a string")
				}
			case "Values":
				arr, ok := jm[f].([]any)
				if !ok {
					return errorf(step, string(p.key(k).key(f)), "Values must be an array")
				}
				for i, e := range arr {
					if err := checkOperand(step, e, p.key(k).key(f).idx(i)); err != nil {
						return err
					}
				}
			default:
				return errorf(step, string(p.key(k).key(f)), "unknown Std:Join member %q", f)
			}
		}
		if _, ok := jm["Values"]; !ok {
			return errorf(step, string(p.key(k)), "Std:Join needs Values")
		}
	case "Std:JsonGet":
		jm, ok := m[k].(map[string]any)
		if !ok {
			return errorf(step, string(p.key(k)), "Std:JsonGet takes an object with PropertyFile (or S3Uri) and Path")
		}
		_, hasPF := jm["PropertyFile"]
		_, hasURI := jm["S3Uri"]
		if hasPF == hasURI {
			return errorf(step, string(p.key(k)), "Std:JsonGet needs exactly one of PropertyFile and S3Uri")
		}
		for _, f := range sortedKeys(jm) {
			fp := p.key(k).key(f)
			switch f {
			case "Path":
				ps, ok := jm[f].(string)
				if !ok {
					return errorf(step, string(fp), "Path must be a string")
				}
				if _, err := parseJSONPath(ps); err != nil {
					return errorf(step, string(fp), "invalid JSON path %q: %v", ps, err)
				}
			case "PropertyFile":
				switch pf := jm[f].(type) {
				case string:
					if pf == "" {
						return errorf(step, string(fp), "PropertyFile must name a property file")
					}
				case map[string]any:
					g, ok := pf["Get"].(string)
					if !ok || len(pf) != 1 {
						return errorf(step, string(fp), "PropertyFile must be a property file name or {\"Get\": \"Steps.<step>.PropertyFiles.<name>\"}")
					}
					r, err := ParseGet(g)
					if err != nil || r.Kind != RefStep || len(r.Path) != 2 || r.Path[0].Key != "PropertyFiles" || r.Path[0].Quoted || r.Path[1].IsIndex {
						return errorf(step, string(fp.key("Get")), "PropertyFile must be Steps.<step>.PropertyFiles.<name>, got %q", g)
					}
				default:
					return errorf(step, string(fp), "PropertyFile must be a property file name or a Get of one")
				}
			case "S3Uri":
				if err := checkOperand(step, jm[f], fp); err != nil {
					return err
				}
				if _, ok := jm[f].(map[string]any); !ok {
					if _, ok := jm[f].(string); !ok {
						return errorf(step, string(fp), "S3Uri must be a string or an expression")
					}
				}
			default:
				return errorf(step, string(fp), "unknown Std:JsonGet member %q", f)
			}
		}
		if _, ok := jm["Path"]; !ok {
			return errorf(step, string(p.key(k)), "Std:JsonGet needs a Path")
		}
	default:
		return errorf(step, string(p.key(k)), "unsupported function %q (Get, Std:Join and Std:JsonGet are supported)", k)
	}
	return nil
}

// checkOperand checks a value used as a function operand or condition operand: a scalar or an
// expression.
func checkOperand(step string, v any, p jpath) error {
	switch t := v.(type) {
	case string, json.Number, bool, nil, float64, int, int64:
		return nil
	case map[string]any:
		if exprKind(t) == "" {
			return errorf(step, string(p), "expected a value or an expression, found an object")
		}
		return checkExpr(step, t, p)
	}
	return errorf(step, string(p), "expected a value or an expression, found %s", show(v))
}

// Context is what expressions resolve against during an execution.
type Context struct {
	// Parameters holds every parameter's value (see Definition.ParameterValues).
	Parameters map[string]any
	// Execution holds the execution variables by name (PipelineExecutionArn, StartDateTime, …).
	Execution map[string]any
	// ExperimentConfig holds the resolved PipelineExperimentConfig (ExperimentName, TrialName).
	ExperimentConfig map[string]any
	// StepProperties returns a finished step's properties: its Describe response as decoded
	// JSON (for Lambda and Callback steps, {"OutputParameters": [{"Name":…, "Value":…}]} or a
	// map of name to value; for Condition steps {"Outcome": "True"|"False"}).
	StepProperties func(step string) (map[string]any, bool)
	// PropertyFile returns the contents of a step's property file.
	PropertyFile func(step, file string) ([]byte, error)
	// ReadURI returns the contents of the object at an S3 URI (Std:JsonGet with S3Uri).
	ReadURI func(uri string) ([]byte, error)
}

// Resolve returns v with every expression replaced by its value: a plain JSON tree (maps,
// slices, strings, json.Number, int64, float64, bool, nil). v is not modified. Errors are
// *Error values whose Path is relative to v ($ is v itself).
func Resolve(v any, ctx Context) (any, error) {
	return resolve(v, root, &ctx)
}

func resolve(v any, p jpath, ctx *Context) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		if k := exprKind(t); k != "" {
			if err := checkExpr("", t, p); err != nil {
				return nil, err
			}
			return evalExpr(t, k, p, ctx)
		}
		out := make(map[string]any, len(t))
		for k, e := range t {
			r, err := resolve(e, p.key(k), ctx)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			r, err := resolve(e, p.idx(i), ctx)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

func evalExpr(m map[string]any, k string, p jpath, ctx *Context) (any, error) {
	switch k {
	case "Get":
		return ctx.get(m[k].(string), p.key(k))
	case "Std:Join":
		jm := m[k].(map[string]any)
		on, _ := jm["On"].(string)
		vals, _ := jm["Values"].([]any)
		parts := make([]string, len(vals))
		for i, e := range vals {
			r, err := resolve(e, p.key(k).key("Values").idx(i), ctx)
			if err != nil {
				return nil, err
			}
			parts[i] = Stringify(r)
		}
		return strings.Join(parts, on), nil
	case "Std:JsonGet":
		jm := m[k].(map[string]any)
		path := jm["Path"].(string)
		var data []byte
		var src string
		var err error
		if pf, ok := jm["PropertyFile"]; ok {
			var step, file string
			switch t := pf.(type) {
			case string:
				return nil, errorf("", string(p.key(k).key("PropertyFile")), "property file %q is named without its step; parse the definition to bind it", t)
			case map[string]any:
				r, _ := ParseGet(t["Get"].(string))
				step, file = r.Name, r.Path[1].Key
			}
			src = fmt.Sprintf("property file %s of step %s", file, step)
			if ctx.PropertyFile == nil {
				return nil, errorf("", string(p.key(k)), "cannot read %s here", src)
			}
			data, err = ctx.PropertyFile(step, file)
		} else {
			uri, rerr := resolve(jm["S3Uri"], p.key(k).key("S3Uri"), ctx)
			if rerr != nil {
				return nil, rerr
			}
			us, ok := uri.(string)
			if !ok {
				return nil, errorf("", string(p.key(k).key("S3Uri")), "S3Uri resolved to %s, not a string", show(uri))
			}
			src = us
			if ctx.ReadURI == nil {
				return nil, errorf("", string(p.key(k)), "cannot read %s here", src)
			}
			data, err = ctx.ReadURI(us)
		}
		if err != nil {
			return nil, errorf("", string(p.key(k)), "cannot read %s: %v", src, err)
		}
		doc, err := decodeJSON(data)
		if err != nil {
			return nil, errorf("", string(p.key(k)), "%s is not valid JSON: %v", src, err)
		}
		segs, _ := parseJSONPath(path)
		val, err := lookup(doc, segs)
		if err != nil {
			return nil, errorf("", string(p.key(k).key("Path")), "path %q not found in %s: %v", path, src, err)
		}
		return val, nil
	}
	return nil, errorf("", string(p), "unsupported function %q", k)
}

func (ctx *Context) get(path string, p jpath) (any, error) {
	r, err := ParseGet(path)
	if err != nil {
		return nil, errorf("", string(p), "%v", err)
	}
	switch r.Kind {
	case RefParameter:
		v, ok := ctx.Parameters[r.Name]
		if !ok {
			return nil, errorf("", string(p), "no value for parameter %q", r.Name)
		}
		return v, nil
	case RefExecution:
		v, ok := ctx.Execution[r.Name]
		if !ok {
			return nil, errorf("", string(p), "execution variable %q is not available", r.Name)
		}
		return v, nil
	case RefExperimentConfig:
		v, ok := ctx.ExperimentConfig[r.Name]
		if !ok {
			return nil, errorf("", string(p), "PipelineExperimentConfig.%s is not set", r.Name)
		}
		return v, nil
	}
	if len(r.Path) > 0 && r.Path[0].Key == "PropertyFiles" && !r.Path[0].Quoted {
		return nil, errorf("", string(p), "%q is a property file; read it with Std:JsonGet", path)
	}
	if ctx.StepProperties == nil {
		return nil, errorf("", string(p), "step properties are not available here")
	}
	props, ok := ctx.StepProperties(r.Name)
	if !ok {
		return nil, errorf("", string(p), "step %q has no properties (it has not run)", r.Name)
	}
	v, err := lookup(props, r.Path)
	if err != nil {
		return nil, errorf("", string(p), "%s: %v", path, err)
	}
	return v, nil
}

// nameFields are the members by which a ['key'] selects an element of a list, in order.
var nameFields = []string{"OutputName", "InputName", "ChannelName", "MetricName", "VariantName", "Name", "Key"}

// lookup walks a member path through decoded JSON.
func lookup(v any, segs []Seg) (any, error) {
	cur := v
	at, prev := "", ""
	for i, s := range segs {
		if i > 0 {
			prev = segs[i-1].Key
		}
		at += s.String()
		switch t := cur.(type) {
		case map[string]any:
			if s.IsIndex {
				return nil, fmt.Errorf("%s: an object cannot be indexed by number", at)
			}
			next, ok := t[s.Key]
			if !ok {
				return nil, fmt.Errorf("%s: no such member", at)
			}
			cur = next
		case []any:
			if s.IsIndex {
				if s.Index >= len(t) {
					return nil, fmt.Errorf("%s: index out of range (length %d)", at, len(t))
				}
				cur = t[s.Index]
				continue
			}
			found := false
			for _, e := range t {
				em, ok := e.(map[string]any)
				if !ok {
					continue
				}
				for _, nf := range nameFields {
					if n, ok := em[nf].(string); ok && n == s.Key {
						cur, found = em, true
						break
					}
				}
				if found {
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("%s: no element named %q", at, s.Key)
			}
			// A Lambda or Callback step's OutputParameters are {Name, Value} pairs; selecting
			// one by name yields its value.
			if prev == "OutputParameters" {
				cur = cur.(map[string]any)["Value"]
			}
		default:
			return nil, fmt.Errorf("%s: %s has no members", at, show(cur))
		}
	}
	return cur, nil
}

// Stringify renders a resolved value as Std:Join does: strings as they are, integers in
// decimal, floats with at least one decimal (6.0), booleans as true/false, anything else as JSON.
func Stringify(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case int64:
		return strconv.FormatInt(t, 10)
	case int:
		return strconv.Itoa(t)
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1e16 {
			return strconv.FormatFloat(t, 'f', 1, 64)
		}
		return strconv.FormatFloat(t, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// toFloat converts a number, or a string holding one, to float64.
func toFloat(v any) (float64, bool) {
	switch t := v.(type) {
	case json.Number:
		return numberOf(t)
	case float64:
		return t, true
	case float32:
		return float64(t), true
	case int:
		return float64(t), true
	case int64:
		return float64(t), true
	case int32:
		return float64(t), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err != nil || math.IsNaN(f) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

// ResolveExperimentConfig resolves the definition's PipelineExperimentConfig for an execution:
// ExperimentName and TrialName as strings. A definition without one (or with null, as the SDK
// writes when experiment tracking is off) has none: the result is nil. Put the result in
// Context.ExperimentConfig so that Get: PipelineExperimentConfig.X resolves.
func (d *Definition) ResolveExperimentConfig(ctx Context) (map[string]any, error) {
	if d.ExperimentConfig == nil {
		return nil, nil
	}
	ctx.ExperimentConfig = nil
	out := make(map[string]any, len(d.ExperimentConfig))
	for _, k := range sortedKeys(d.ExperimentConfig) {
		v, err := resolve(d.ExperimentConfig[k], root.key("PipelineExperimentConfig").key(k), &ctx)
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		out[k] = Stringify(v)
	}
	return out, nil
}
