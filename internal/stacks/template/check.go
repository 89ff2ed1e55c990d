package template

import (
	"sort"
	"strconv"
	"strings"
)

// refs is what an expression names.
type refs struct {
	names      []string // Ref targets and Fn::Sub variables without a dot
	attrs      []string // resources named by Fn::GetAtt and dotted Fn::Sub variables
	conditions []string // conditions named by Fn::If and Condition
}

// collect walks v, checking the shape of each function call and gathering what it names.
func collect(path string, v any, r *refs, depth int) error {
	if depth > maxDepth {
		return formatError("[%s] the value nests deeper than %d levels", path, maxDepth)
	}
	if fn, arg, ok := function(v); ok {
		p := path + "/" + fn
		if known, listed := functions[fn]; !listed || !known {
			return formatError("[%s] Unrecognized function %s", path, fn)
		}
		switch fn {
		case "Ref":
			s, ok := arg.(string)
			if !ok || s == "" {
				return formatError("[%s] Ref requires a string", p)
			}
			r.names = append(r.names, s)
			return nil
		case "Condition":
			s, ok := arg.(string)
			if !ok {
				return formatError("[%s] Condition requires a string", p)
			}
			r.conditions = append(r.conditions, s)
			return nil
		case "Fn::GetAtt":
			l, ok := arg.([]any)
			if !ok || len(l) != 2 {
				return formatError("[%s] Fn::GetAtt requires a list of a resource name and an attribute", p)
			}
			s, ok := l[0].(string)
			if !ok {
				return formatError("[%s] Fn::GetAtt requires a resource name first", p)
			}
			r.attrs = append(r.attrs, s)
			return collect(p+"/1", l[1], r, depth+1)
		case "Fn::Sub":
			var format string
			var vars map[string]any
			switch a := arg.(type) {
			case string:
				format = a
			case []any:
				if len(a) != 2 {
					return formatError("[%s] Fn::Sub requires a string or a list of a string and a map", p)
				}
				s, ok1 := a[0].(string)
				m, ok2 := a[1].(map[string]any)
				if !ok1 || !ok2 {
					return formatError("[%s] Fn::Sub requires a string or a list of a string and a map", p)
				}
				format, vars = s, m
				if err := collect(p+"/1", m, r, depth+1); err != nil {
					return err
				}
			default:
				return formatError("[%s] Fn::Sub requires a string or a list of a string and a map", p)
			}
			parts, err := subParts(format)
			if err != nil {
				return formatError("[%s] %v", p, err)
			}
			for _, part := range parts {
				if part.variable == "" {
					continue
				}
				if _, ok := vars[part.variable]; ok {
					continue
				}
				if res, _, dotted := strings.Cut(part.variable, "."); dotted && !pseudoNames[part.variable] {
					r.attrs = append(r.attrs, res)
				} else {
					r.names = append(r.names, part.variable)
				}
			}
			return nil
		case "Fn::If":
			l, ok := arg.([]any)
			if !ok || len(l) != 3 {
				return formatError("[%s] Fn::If requires a list of a condition name and two values", p)
			}
			s, ok := l[0].(string)
			if !ok {
				return formatError("[%s] Fn::If requires a condition name first", p)
			}
			r.conditions = append(r.conditions, s)
			for i := 1; i < 3; i++ {
				if err := collect(p+"/"+strconv.Itoa(i), l[i], r, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		return collect(p, arg, r, depth+1)
	}
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			if err := collect(path+"/"+k, x[k], r, depth+1); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := collect(path+"/"+strconv.Itoa(i), e, r, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// check validates what the template's expressions name and that resources form no cycle.
func (t *Template) check() error {
	for _, name := range sortedKeys(t.Conditions) {
		var r refs
		if err := collect("Conditions/"+name, t.Conditions[name], &r, 0); err != nil {
			return err
		}
		for _, n := range r.names {
			if _, ok := t.Parameters[n]; !ok && !pseudoNames[n] {
				return formatError("Unresolved dependencies [%s]. Cannot reference resources in the Conditions block of the template (Conditions/%s)", n, name)
			}
		}
		if len(r.attrs) > 0 {
			return formatError("[Conditions/%s] Fn::GetAtt cannot be used in conditions", name)
		}
		for _, c := range r.conditions {
			if _, ok := t.Conditions[c]; !ok {
				return formatError("Unresolved dependencies [%s] in the Conditions block of the template (Conditions/%s)", c, name)
			}
		}
	}
	if err := conditionCycles(t); err != nil {
		return err
	}
	for _, name := range sortedKeys(t.Rules) {
		rule := t.Rules[name]
		exprs := []any{rule.RuleCondition}
		for _, a := range rule.Assertions {
			exprs = append(exprs, a.Assert)
		}
		for _, x := range exprs {
			var r refs
			if err := collect("Rules/"+name, x, &r, 0); err != nil {
				return err
			}
			for _, n := range r.names {
				if _, ok := t.Parameters[n]; !ok && !pseudoNames[n] {
					return formatError("[Rules/%s] rules can reference only parameters, not %s", name, n)
				}
			}
		}
	}
	deps, err := t.dependencies()
	if err != nil {
		return err
	}
	if cyc := findCycle(deps); cyc != nil {
		return ValidationError("Circular dependency between resources: [%s]", strings.Join(cyc, ", "))
	}
	for _, name := range sortedKeys(t.Outputs) {
		o := t.Outputs[name]
		var r refs
		if err := collect("Outputs/"+name, map[string]any{"Value": o.Value, "Export": o.ExportName}, &r, 0); err != nil {
			return err
		}
		if err := t.checkRefs("Outputs/"+name, r, o.Condition); err != nil {
			return err
		}
	}
	return nil
}

func conditionCycles(t *Template) error {
	g := map[string][]string{}
	for _, name := range sortedKeys(t.Conditions) {
		g[name] = conditionRefs(t.Conditions[name])
	}
	if cyc := findCycle(g); cyc != nil {
		return formatError("Circular condition dependency between conditions: [%s]", strings.Join(cyc, ", "))
	}
	return nil
}

func (t *Template) checkRefs(path string, r refs, condition string) error {
	if condition != "" {
		if _, ok := t.Conditions[condition]; !ok {
			return formatError("Unresolved dependencies [%s]. Condition %s is not defined (%s)", condition, condition, path)
		}
	}
	for _, n := range r.names {
		if _, ok := t.Parameters[n]; ok || pseudoNames[n] {
			continue
		}
		if _, ok := t.Resources[n]; ok {
			continue
		}
		return formatError("Unresolved resource dependencies [%s] in the Resources block of the template (%s)", n, path)
	}
	for _, n := range r.attrs {
		if _, ok := t.Resources[n]; !ok {
			return formatError("Template error: instance of Fn::GetAtt references undefined resource %s (%s)", n, path)
		}
	}
	for _, c := range r.conditions {
		if _, ok := t.Conditions[c]; !ok {
			return formatError("Unresolved dependencies [%s]. Condition %s is not defined (%s)", c, c, path)
		}
	}
	return nil
}

// dependencies returns, for every resource, the resources it names or depends on.
func (t *Template) dependencies() (map[string][]string, error) {
	deps := map[string][]string{}
	for _, name := range sortedKeys(t.Resources) {
		res := t.Resources[name]
		var r refs
		path := "Resources/" + name
		if err := collect(path+"/Properties", res.Properties, &r, 0); err != nil {
			return nil, err
		}
		if err := t.checkRefs(path, r, res.Condition); err != nil {
			return nil, err
		}
		set := map[string]bool{}
		for _, d := range res.DependsOn {
			if _, ok := t.Resources[d]; !ok {
				return nil, formatError("Unresolved resource dependencies [%s] in the Resources block of the template (%s/DependsOn)", d, path)
			}
			set[d] = true
		}
		for _, n := range append(append([]string{}, r.names...), r.attrs...) {
			if _, ok := t.Resources[n]; ok {
				set[n] = true
			}
		}
		deps[name] = sortedKeys(set)
	}
	return deps, nil
}

// findCycle returns the members of one cycle of g in order, or nil.
func findCycle(g map[string][]string) []string {
	state := map[string]int{}
	var stack []string
	var found []string
	var visit func(n string) bool
	visit = func(n string) bool {
		state[n] = 1
		stack = append(stack, n)
		for _, d := range g[n] {
			switch state[d] {
			case 1:
				for i, s := range stack {
					if s == d {
						found = append([]string{}, stack[i:]...)
					}
				}
				return true
			case 0:
				if visit(d) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = 2
		return false
	}
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if state[k] == 0 && visit(k) {
			return found
		}
	}
	return nil
}

// Plan is the order of a stack's work: which resources exist under the given conditions and
// what each waits for.
type Plan struct {
	// DependsOn lists, for each resource to create, the resources it waits for.
	DependsOn map[string][]string
	// Create is the resources in an order that respects DependsOn, in waves: every resource of
	// a wave depends only on earlier waves, so a wave's resources may be created in parallel.
	Create [][]string
	// Delete is Create reversed: dependents first.
	Delete [][]string
}

// Plan computes the creation and deletion order of the resources whose conditions hold.
func (t *Template) Plan(conditions map[string]bool) (*Plan, error) {
	all, err := t.dependencies()
	if err != nil {
		return nil, err
	}
	active := map[string]bool{}
	for name, r := range t.Resources {
		if r.Condition == "" || conditions[r.Condition] {
			active[name] = true
		}
	}
	p := &Plan{DependsOn: map[string][]string{}}
	for _, name := range sortedKeys(active) {
		var ds []string
		for _, d := range all[name] {
			if !active[d] {
				// A reference inside an Fn::If branch not taken is fine; the evaluation
				// names any reference that is really used.
				continue
			}
			ds = append(ds, d)
		}
		p.DependsOn[name] = ds
	}
	done := map[string]bool{}
	for len(done) < len(active) {
		var wave []string
		for _, name := range sortedKeys(active) {
			if done[name] {
				continue
			}
			ready := true
			for _, d := range p.DependsOn[name] {
				if !done[d] {
					ready = false
					break
				}
			}
			if ready {
				wave = append(wave, name)
			}
		}
		if len(wave) == 0 {
			return nil, ValidationError("Circular dependency between resources")
		}
		for _, n := range wave {
			done[n] = true
		}
		p.Create = append(p.Create, wave)
	}
	for i := len(p.Create) - 1; i >= 0; i-- {
		p.Delete = append(p.Delete, p.Create[i])
	}
	return p, nil
}

// ResourceTypes lists the types the template declares, sorted, once each.
func (t *Template) ResourceTypes() []string {
	set := map[string]bool{}
	for _, r := range t.Resources {
		set[r.Type] = true
	}
	return sortedKeys(set)
}
