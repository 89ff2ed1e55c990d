package template

// OutputValue is an evaluated output.
type OutputValue struct {
	Key, Value, Description, ExportName string
}

// Properties evaluates a resource's properties with env.
func (t *Template) Properties(env *Env, resource string) (map[string]any, error) {
	r, ok := t.Resources[resource]
	if !ok {
		return nil, ValidationError("Template error: resource %s is not declared", resource)
	}
	v, err := t.Eval(env, "Resources/"+resource+"/Properties", r.Properties)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return map[string]any{}, nil
	}
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// EvalOutputs evaluates the outputs whose conditions hold, in name order.
func (t *Template) EvalOutputs(env *Env) ([]OutputValue, error) {
	var out []OutputValue
	for _, name := range sortedKeys(t.Outputs) {
		o := t.Outputs[name]
		if o.Condition != "" && !env.Conditions[o.Condition] {
			continue
		}
		v, err := t.Eval(env, "Outputs/"+name+"/Value", o.Value)
		if err != nil {
			return nil, err
		}
		s, ok := scalarString(v)
		if !ok {
			if l, isList := v.([]any); isList {
				s = joinList(l)
			} else {
				return nil, evalErr("Outputs/"+name+"/Value", "an output value must be a string")
			}
		}
		ov := OutputValue{Key: name, Value: s, Description: o.Description}
		if o.ExportName != nil {
			e, err := t.Eval(env, "Outputs/"+name+"/Export/Name", o.ExportName)
			if err != nil {
				return nil, err
			}
			if ov.ExportName, ok = scalarString(e); !ok || ov.ExportName == "" {
				return nil, evalErr("Outputs/"+name+"/Export/Name", "an export name must be a non-empty string")
			}
		}
		out = append(out, ov)
	}
	return out, nil
}

func joinList(l []any) string {
	s := ""
	for i, e := range l {
		if i > 0 {
			s += ","
		}
		x, _ := scalarString(e)
		s += x
	}
	return s
}

// Active reports whether a resource exists under the conditions.
func (t *Template) Active(conditions map[string]bool, resource string) bool {
	r, ok := t.Resources[resource]
	return ok && (r.Condition == "" || conditions[r.Condition])
}
