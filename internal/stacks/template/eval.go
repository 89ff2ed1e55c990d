package template

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Pseudo holds the pseudo parameters' values for one stack.
type Pseudo struct {
	AccountID, Region, StackName, StackID, Partition, URLSuffix string
}

// Created is what a created resource gives the template: Ref's value and Fn::GetAtt's attributes.
type Created struct {
	PhysicalID string
	Attributes map[string]any
}

// Env is everything an evaluation reads.
type Env struct {
	Pseudo     Pseudo
	Params     map[string]any     // from ResolveParameters
	Conditions map[string]bool    // from EvalConditions
	Resources  map[string]Created // the resources created so far
	AZs        func(region string) []string
	Import     func(exportName string) (string, bool)
}

// noValue is what Ref AWS::NoValue evaluates to; containers drop it.
type noValue struct{}

// NoValue reports whether v is the value of Ref AWS::NoValue.
func NoValue(v any) bool { _, ok := v.(noValue); return ok }

var pseudoNames = map[string]bool{"AWS::AccountId": true, "AWS::Region": true, "AWS::StackName": true,
	"AWS::StackId": true, "AWS::Partition": true, "AWS::URLSuffix": true, "AWS::NoValue": true,
	"AWS::NotificationARNs": true}

var functions = map[string]bool{"Ref": true, "Fn::Sub": true, "Fn::GetAtt": true, "Fn::Join": true,
	"Fn::Select": true, "Fn::Split": true, "Fn::If": true, "Fn::Equals": true, "Fn::And": true, "Fn::Or": true,
	"Fn::Not": true, "Fn::FindInMap": true, "Fn::GetAZs": true, "Fn::Base64": true, "Fn::Cidr": true,
	"Fn::ImportValue": true, "Condition": true, "Fn::Length": false, "Fn::ToJsonString": false}

// function returns the function a value calls, if it is a call.
func function(v any) (string, any, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", nil, false
	}
	for k, arg := range m {
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return k, arg, true
		}
	}
	return "", nil, false
}

type evaluator struct {
	env        *Env
	t          *Template
	conditions bool // inside the Conditions section or a rule: Condition is a function there
	depth      int
}

func evalErr(path, format string, args ...any) error {
	return ValidationError("Template error: "+format+" (at "+path+")", args...)
}

// Eval evaluates v, found at path (e.g. "Resources/Endpoint/Properties"), with env. Fn::If
// branches and Refs to AWS::NoValue are resolved; members whose value is AWS::NoValue are dropped.
func (t *Template) Eval(env *Env, path string, v any) (any, error) {
	e := &evaluator{env: env, t: t}
	return e.eval(path, v)
}

func (e *evaluator) eval(path string, v any) (any, error) {
	e.depth++
	defer func() { e.depth-- }()
	if e.depth > maxDepth {
		return nil, evalErr(path, "the value nests deeper than %d levels", maxDepth)
	}
	if fn, arg, ok := function(v); ok {
		return e.call(path+"/"+fn, fn, arg)
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range sortedKeys(x) {
			r, err := e.eval(path+"/"+k, x[k])
			if err != nil {
				return nil, err
			}
			if !NoValue(r) {
				out[k] = r
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for i, el := range x {
			r, err := e.eval(path+"/"+strconv.Itoa(i), el)
			if err != nil {
				return nil, err
			}
			if !NoValue(r) {
				out = append(out, r)
			}
		}
		return out, nil
	}
	return v, nil
}

func (e *evaluator) str(path string, v any, what string) (string, error) {
	r, err := e.eval(path, v)
	if err != nil {
		return "", err
	}
	s, ok := scalarString(r)
	if !ok {
		return "", evalErr(path, "%s must be a string", what)
	}
	return s, nil
}

func (e *evaluator) list(path string, v any, what string) ([]any, error) {
	r, err := e.eval(path, v)
	if err != nil {
		return nil, err
	}
	l, ok := r.([]any)
	if !ok {
		return nil, evalErr(path, "%s must be a list", what)
	}
	return l, nil
}

func args(path, fn string, arg any, min, max int) ([]any, error) {
	l, ok := arg.([]any)
	if !ok || len(l) < min || len(l) > max {
		if min == max {
			return nil, evalErr(path, "%s requires a list of %d arguments", fn, min)
		}
		return nil, evalErr(path, "%s requires a list of %d to %d arguments", fn, min, max)
	}
	return l, nil
}

func (e *evaluator) call(path, fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, evalErr(path, "Ref requires a string")
		}
		return e.ref(path, name)
	case "Condition":
		if !e.conditions {
			return nil, evalErr(path, "Condition is a function only in condition expressions")
		}
		name, ok := arg.(string)
		if !ok {
			return nil, evalErr(path, "Condition requires a string")
		}
		b, ok := e.env.Conditions[name]
		if !ok {
			return nil, evalErr(path, "condition %s is not defined", name)
		}
		return b, nil
	case "Fn::GetAtt":
		return e.getAtt(path, arg)
	case "Fn::Sub":
		return e.sub(path, arg)
	case "Fn::Join":
		l, err := args(path, fn, arg, 2, 2)
		if err != nil {
			return nil, err
		}
		delim, err := e.str(path+"/0", l[0], "the Fn::Join delimiter")
		if err != nil {
			return nil, err
		}
		items, err := e.list(path+"/1", l[1], "the Fn::Join values")
		if err != nil {
			return nil, err
		}
		parts := make([]string, len(items))
		for i, it := range items {
			s, ok := scalarString(it)
			if !ok {
				return nil, evalErr(path, "Fn::Join values must be strings")
			}
			parts[i] = s
		}
		return strings.Join(parts, delim), nil
	case "Fn::Select":
		l, err := args(path, fn, arg, 2, 2)
		if err != nil {
			return nil, err
		}
		is, err := e.str(path+"/0", l[0], "the Fn::Select index")
		if err != nil {
			return nil, err
		}
		i, err := strconv.Atoi(is)
		if err != nil {
			return nil, evalErr(path, "Fn::Select index %q is not an integer", is)
		}
		items, err := e.list(path+"/1", l[1], "the Fn::Select values")
		if err != nil {
			return nil, err
		}
		if i < 0 || i >= len(items) {
			return nil, evalErr(path, "Fn::Select index %d is out of bounds of a list of %d", i, len(items))
		}
		return items[i], nil
	case "Fn::Split":
		l, err := args(path, fn, arg, 2, 2)
		if err != nil {
			return nil, err
		}
		delim, err := e.str(path+"/0", l[0], "the Fn::Split delimiter")
		if err != nil {
			return nil, err
		}
		if delim == "" {
			return nil, evalErr(path, "the Fn::Split delimiter must not be empty")
		}
		s, err := e.str(path+"/1", l[1], "the Fn::Split source")
		if err != nil {
			return nil, err
		}
		parts := strings.Split(s, delim)
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, nil
	case "Fn::If":
		l, err := args(path, fn, arg, 3, 3)
		if err != nil {
			return nil, err
		}
		name, ok := l[0].(string)
		if !ok {
			return nil, evalErr(path, "Fn::If requires a condition name first")
		}
		b, ok := e.env.Conditions[name]
		if !ok {
			return nil, evalErr(path, "condition %s is not defined", name)
		}
		if b {
			return e.eval(path+"/1", l[1])
		}
		return e.eval(path+"/2", l[2])
	case "Fn::Equals":
		l, err := args(path, fn, arg, 2, 2)
		if err != nil {
			return nil, err
		}
		a, err := e.eval(path+"/0", l[0])
		if err != nil {
			return nil, err
		}
		b, err := e.eval(path+"/1", l[1])
		if err != nil {
			return nil, err
		}
		return equal(a, b), nil
	case "Fn::And", "Fn::Or":
		l, err := args(path, fn, arg, 2, 10)
		if err != nil {
			return nil, err
		}
		res := fn == "Fn::And"
		for i, c := range l {
			b, err := e.boolean(path+"/"+strconv.Itoa(i), c)
			if err != nil {
				return nil, err
			}
			if fn == "Fn::And" {
				res = res && b
			} else {
				res = res || b
			}
		}
		return res, nil
	case "Fn::Not":
		l, err := args(path, fn, arg, 1, 1)
		if err != nil {
			return nil, err
		}
		b, err := e.boolean(path+"/0", l[0])
		if err != nil {
			return nil, err
		}
		return !b, nil
	case "Fn::FindInMap":
		l, err := args(path, fn, arg, 3, 3)
		if err != nil {
			return nil, err
		}
		var keys [3]string
		for i := range keys {
			if keys[i], err = e.str(path+"/"+strconv.Itoa(i), l[i], "a Fn::FindInMap key"); err != nil {
				return nil, err
			}
		}
		m, ok := e.t.Mappings[keys[0]]
		if !ok {
			return nil, evalErr(path, "Mapping named '%s' is not present in the 'Mappings' section of template", keys[0])
		}
		second, ok := m[keys[1]]
		if !ok {
			return nil, evalErr(path, "Unable to get mapping for %s::%s::%s", keys[0], keys[1], keys[2])
		}
		v, ok := second[keys[2]]
		if !ok {
			return nil, evalErr(path, "Unable to get mapping for %s::%s::%s", keys[0], keys[1], keys[2])
		}
		return v, nil
	case "Fn::GetAZs":
		region, err := e.str(path, arg, "the Fn::GetAZs region")
		if err != nil {
			return nil, err
		}
		if region == "" {
			region = e.env.Pseudo.Region
		}
		var azs []string
		if e.env.AZs != nil {
			azs = e.env.AZs(region)
		} else {
			azs = []string{region + "a", region + "b", region + "c"}
		}
		out := make([]any, len(azs))
		for i, a := range azs {
			out[i] = a
		}
		return out, nil
	case "Fn::Base64":
		s, err := e.str(path, arg, "the Fn::Base64 value")
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "Fn::Cidr":
		return e.cidr(path, arg)
	case "Fn::ImportValue":
		name, err := e.str(path, arg, "the Fn::ImportValue name")
		if err != nil {
			return nil, err
		}
		if e.env.Import == nil {
			return nil, evalErr(path, "No export named %s found", name)
		}
		v, ok := e.env.Import(name)
		if !ok {
			return nil, evalErr(path, "No export named %s found", name)
		}
		return v, nil
	}
	return nil, evalErr(path, "Unrecognized function %s", fn)
}

func (e *evaluator) boolean(path string, v any) (bool, error) {
	r, err := e.eval(path, v)
	if err != nil {
		return false, err
	}
	switch b := r.(type) {
	case bool:
		return b, nil
	case string:
		if b == "true" || b == "false" {
			return b == "true", nil
		}
	}
	return false, evalErr(path, "a condition must be a boolean function (Fn::Equals, Fn::And, Fn::Or, Fn::Not, Condition)")
}

func equal(a, b any) bool {
	as, aok := scalarString(a)
	bs, bok := scalarString(b)
	if aok && bok {
		return as == bs
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		for i := range al {
			if !equal(al[i], bl[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func (e *evaluator) ref(path, name string) (any, error) {
	p := e.env.Pseudo
	switch name {
	case "AWS::NoValue":
		return noValue{}, nil
	case "AWS::AccountId":
		return p.AccountID, nil
	case "AWS::Region":
		return p.Region, nil
	case "AWS::StackName":
		return p.StackName, nil
	case "AWS::StackId":
		return p.StackID, nil
	case "AWS::Partition":
		return p.Partition, nil
	case "AWS::URLSuffix":
		return p.URLSuffix, nil
	case "AWS::NotificationARNs":
		return []any{}, nil
	}
	if v, ok := e.env.Params[name]; ok {
		return v, nil
	}
	if !e.conditions {
		if c, ok := e.env.Resources[name]; ok {
			return c.PhysicalID, nil
		}
		if _, ok := e.t.Resources[name]; ok {
			return nil, evalErr(path, "resource %s is not created (its condition is false, or it is not ready)", name)
		}
	}
	return nil, evalErr(path, "Unresolved resource dependencies [%s]", name)
}

func (e *evaluator) getAtt(path string, arg any) (any, error) {
	l, err := args(path, "Fn::GetAtt", arg, 2, 2)
	if err != nil {
		return nil, err
	}
	res, ok := l[0].(string)
	if !ok {
		return nil, evalErr(path, "Fn::GetAtt requires a resource name first")
	}
	attr, err := e.str(path+"/1", l[1], "the Fn::GetAtt attribute")
	if err != nil {
		return nil, err
	}
	return e.attribute(path, res, attr)
}

func (e *evaluator) attribute(path, res, attr string) (any, error) {
	if e.conditions {
		return nil, evalErr(path, "Fn::GetAtt cannot be used in conditions")
	}
	c, ok := e.env.Resources[res]
	if !ok {
		if _, declared := e.t.Resources[res]; declared {
			return nil, evalErr(path, "resource %s is not created (its condition is false, or it is not ready)", res)
		}
		return nil, evalErr(path, "Instance of Fn::GetAtt references undefined resource %s", res)
	}
	v, ok := c.Attributes[attr]
	if !ok {
		return nil, evalErr(path, "%s of type %s does not support attribute %s in Fn::GetAtt", res, e.t.Resources[res].Type, attr)
	}
	return v, nil
}

// subParts splits a Fn::Sub string into literal text and ${…} variables. ${!x} is the literal ${x}.
func subParts(s string) (parts []subPart, err error) {
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			if s != "" {
				parts = append(parts, subPart{text: s})
			}
			return parts, nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("unterminated ${ in %q", s)
		}
		inner := s[i+2 : i+j]
		if strings.HasPrefix(inner, "!") {
			parts = append(parts, subPart{text: s[:i] + "${" + inner[1:] + "}"})
		} else {
			inner = strings.TrimSpace(inner)
			if inner == "" {
				return nil, fmt.Errorf("empty variable ${} in %q", s)
			}
			if s[:i] != "" {
				parts = append(parts, subPart{text: s[:i]})
			}
			parts = append(parts, subPart{variable: inner})
		}
		s = s[i+j+1:]
	}
}

type subPart struct{ text, variable string }

func (e *evaluator) sub(path string, arg any) (any, error) {
	var format string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		format = a
	case []any:
		if len(a) != 2 {
			return nil, evalErr(path, "Fn::Sub requires a string or a list of a string and a map")
		}
		s, ok := a[0].(string)
		if !ok {
			return nil, evalErr(path, "Fn::Sub requires a string first")
		}
		m, ok := a[1].(map[string]any)
		if !ok {
			return nil, evalErr(path, "Fn::Sub requires a map of variables second")
		}
		format = s
		for _, k := range sortedKeys(m) {
			v, err := e.str(path+"/1/"+k, m[k], "a Fn::Sub variable")
			if err != nil {
				return nil, err
			}
			vars[k] = v
		}
	default:
		return nil, evalErr(path, "Fn::Sub requires a string or a list of a string and a map")
	}
	parts, err := subParts(format)
	if err != nil {
		return nil, evalErr(path, "%v", err)
	}
	var b strings.Builder
	for _, p := range parts {
		if p.variable == "" {
			b.WriteString(p.text)
			continue
		}
		var v any
		if x, ok := vars[p.variable]; ok {
			v = x
		} else if res, attr, dotted := strings.Cut(p.variable, "."); dotted && !pseudoNames[p.variable] {
			if v, err = e.attribute(path, res, attr); err != nil {
				return nil, err
			}
		} else if v, err = e.ref(path, p.variable); err != nil {
			return nil, err
		}
		s, ok := scalarString(v)
		if !ok {
			return nil, evalErr(path, "Fn::Sub variable ${%s} is not a string", p.variable)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func (e *evaluator) cidr(path string, arg any) (any, error) {
	l, err := args(path, "Fn::Cidr", arg, 3, 3)
	if err != nil {
		return nil, err
	}
	block, err := e.str(path+"/0", l[0], "the Fn::Cidr block")
	if err != nil {
		return nil, err
	}
	cs, err := e.str(path+"/1", l[1], "the Fn::Cidr count")
	if err != nil {
		return nil, err
	}
	bs, err := e.str(path+"/2", l[2], "the Fn::Cidr bits")
	if err != nil {
		return nil, err
	}
	prefix, err := netip.ParsePrefix(block)
	if err != nil {
		return nil, evalErr(path, "Fn::Cidr block %q is not a CIDR block", block)
	}
	count, err1 := strconv.Atoi(cs)
	bits, err2 := strconv.Atoi(bs)
	if err1 != nil || err2 != nil || count < 1 || count > 256 || bits < 1 {
		return nil, evalErr(path, "Fn::Cidr count must be 1 to 256 and bits positive")
	}
	total := prefix.Addr().BitLen()
	newLen := total - bits
	if newLen < prefix.Bits() || newLen < 0 {
		return nil, evalErr(path, "Fn::Cidr cannot fit subnets of %d bits in %s", bits, block)
	}
	if avail := newLen - prefix.Bits(); avail < 30 && count > 1<<avail {
		return nil, evalErr(path, "Fn::Cidr cannot fit %d subnets of %d bits in %s", count, bits, block)
	}
	out := make([]any, 0, count)
	addr := prefix.Masked().Addr()
	for i := 0; i < count; i++ {
		out = append(out, netip.PrefixFrom(addr, newLen).String())
		// advance by 2^bits addresses
		b := addr.AsSlice()
		carry := uint(1) << (bits % 8)
		for k := len(b) - 1 - bits/8; k >= 0 && carry > 0; k-- {
			s := uint(b[k]) + carry
			b[k] = byte(s)
			carry = s >> 8
		}
		addr, _ = netip.AddrFromSlice(b)
	}
	return out, nil
}

// EvalConditions evaluates every condition of the Conditions section. A condition may name
// other conditions (Condition) but not in a cycle.
func (t *Template) EvalConditions(env *Env) (map[string]bool, error) {
	out := map[string]bool{}
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string) error
	visit = func(name string) error {
		switch state[name] {
		case 1:
			return formatError("Circular condition dependency: %s", name)
		case 2:
			return nil
		}
		state[name] = 1
		for _, dep := range conditionRefs(t.Conditions[name]) {
			if _, ok := t.Conditions[dep]; !ok {
				return formatError("Unresolved dependencies [%s] in the Conditions block of the template (Conditions/%s)", dep, name)
			}
			if err := visit(dep); err != nil {
				return err
			}
		}
		e2 := *env
		e2.Conditions = out
		ev := &evaluator{env: &e2, t: t, conditions: true}
		b, err := ev.boolean("Conditions/"+name, t.Conditions[name])
		if err != nil {
			return err
		}
		out[name] = b
		state[name] = 2
		return nil
	}
	for _, name := range sortedKeys(t.Conditions) {
		if err := visit(name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// conditionRefs lists the conditions an expression names (Condition and Fn::If).
func conditionRefs(v any) []string {
	var out []string
	var walk func(v any, d int)
	walk = func(v any, d int) {
		if d > maxDepth {
			return
		}
		if fn, arg, ok := function(v); ok {
			if fn == "Condition" {
				if s, ok := arg.(string); ok {
					out = append(out, s)
				}
				return
			}
			if fn == "Fn::If" {
				if l, ok := arg.([]any); ok && len(l) > 0 {
					if s, ok := l[0].(string); ok {
						out = append(out, s)
					}
				}
			}
		}
		switch x := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(x) {
				walk(x[k], d+1)
			}
		case []any:
			for _, e := range x {
				walk(e, d+1)
			}
		}
	}
	walk(v, 0)
	return out
}

// CheckRules evaluates the template's rules against the parameters; a failed assertion is an
// error carrying its AssertDescription.
func (t *Template) CheckRules(env *Env) error {
	ev := &evaluator{env: env, t: t, conditions: true}
	for _, name := range sortedKeys(t.Rules) {
		r := t.Rules[name]
		if r.RuleCondition != nil {
			ok, err := ev.boolean("Rules/"+name+"/RuleCondition", r.RuleCondition)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
		}
		for i, a := range r.Assertions {
			ok, err := ev.boolean(fmt.Sprintf("Rules/%s/Assertions/%d", name, i), a.Assert)
			if err != nil {
				return err
			}
			if !ok {
				msg := a.Description
				if msg == "" {
					msg = "Assertion failed"
				}
				return ValidationError("Template error: rule %s: %s", name, msg)
			}
		}
	}
	return nil
}
