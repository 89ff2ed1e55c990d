package definition

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Condition types. The SDK writes Equals, GreaterThan(OrEqualTo), LessThan(OrEqualTo), In,
// Not and Or; the definition schema also has NotEquals and NotIn.
var comparisons = map[string]bool{"Equals": true, "NotEquals": true, "GreaterThan": true,
	"GreaterThanOrEqualTo": true, "LessThan": true, "LessThanOrEqualTo": true}

const maxConditionDepth = 32

// checkCondition checks the shape of one condition object.
func checkCondition(step string, c any, p jpath, depth int) error {
	if depth > maxConditionDepth {
		return errorf(step, string(p), "conditions are nested more than %d deep", maxConditionDepth)
	}
	m, ok := c.(map[string]any)
	if !ok {
		return errorf(step, string(p), "a condition must be an object")
	}
	typ, _ := m["Type"].(string)
	allowed := func(keys ...string) error {
		for _, k := range sortedKeys(m) {
			if k != "Type" && !contains(keys, k) {
				return errorf(step, string(p.key(k)), "unknown member %q of a %s condition", k, typ)
			}
		}
		return nil
	}
	switch {
	case comparisons[typ]:
		if err := allowed("LeftValue", "RightValue"); err != nil {
			return err
		}
		for _, k := range []string{"LeftValue", "RightValue"} {
			v, ok := m[k]
			if !ok {
				return errorf(step, string(p.key(k)), "a %s condition needs %s", typ, k)
			}
			if err := checkOperand(step, v, p.key(k)); err != nil {
				return err
			}
		}
		if typ != "Equals" && typ != "NotEquals" {
			for _, k := range []string{"LeftValue", "RightValue"} {
				switch v := m[k].(type) {
				case bool:
					return errorf(step, string(p.key(k)), "%s cannot compare a boolean", typ)
				case nil:
					return errorf(step, string(p.key(k)), "%s cannot compare null", typ)
				case string:
					_, lnum := toFloat(m["LeftValue"])
					_, rnum := toFloat(m["RightValue"])
					if _, num := toFloat(v); !num && (isNumber(m["LeftValue"]) || isNumber(m["RightValue"]) || lnum != rnum) {
						return errorf(step, string(p.key(k)), "%s compares a number with %q, which is not one", typ, v)
					}
				}
			}
		}
	case typ == "In" || typ == "NotIn":
		qk, vk := "QueryValue", "Values"
		if _, ok := m["Value"]; ok {
			qk, vk = "Value", "In" // the schema's spelling
		}
		if err := allowed(qk, vk); err != nil {
			return err
		}
		q, ok := m[qk]
		if !ok {
			return errorf(step, string(p.key(qk)), "an %s condition needs %s", typ, qk)
		}
		if err := checkOperand(step, q, p.key(qk)); err != nil {
			return err
		}
		arr, ok := m[vk].([]any)
		if !ok {
			return errorf(step, string(p.key(vk)), "an %s condition needs %s (an array)", typ, vk)
		}
		for i, e := range arr {
			if err := checkOperand(step, e, p.key(vk).idx(i)); err != nil {
				return err
			}
		}
	case typ == "Not":
		k := "Condition"
		if _, ok := m["Expression"]; ok {
			k = "Expression"
		}
		if err := allowed(k); err != nil {
			return err
		}
		return checkCondition(step, m[k], p.key(k), depth+1)
	case typ == "Or":
		k := "Conditions"
		if _, ok := m["Expressions"]; ok {
			k = "Expressions"
		}
		if err := allowed(k); err != nil {
			return err
		}
		arr, ok := m[k].([]any)
		if !ok || len(arr) == 0 {
			return errorf(step, string(p.key(k)), "an Or condition needs %s (a non-empty array)", k)
		}
		for i, e := range arr {
			if err := checkCondition(step, e, p.key(k).idx(i), depth+1); err != nil {
				return err
			}
		}
	default:
		return errorf(step, string(p.key("Type")), "unknown condition type %s", show(m["Type"]))
	}
	return nil
}

// EvaluateConditions evaluates a Condition step's Conditions: true when every one holds (the
// IfSteps run), false otherwise (the ElseSteps run).
func EvaluateConditions(conds []any, ctx Context) (bool, error) {
	for i, c := range conds {
		p := root.key("Conditions").idx(i)
		if err := checkCondition("", c, p, 0); err != nil {
			return false, err
		}
		ok, err := evalCondition(c.(map[string]any), p, &ctx)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func evalCondition(m map[string]any, p jpath, ctx *Context) (bool, error) {
	typ := m["Type"].(string)
	switch {
	case comparisons[typ]:
		l, err := resolve(m["LeftValue"], p.key("LeftValue"), ctx)
		if err != nil {
			return false, err
		}
		r, err := resolve(m["RightValue"], p.key("RightValue"), ctx)
		if err != nil {
			return false, err
		}
		switch typ {
		case "Equals":
			return equal(l, r), nil
		case "NotEquals":
			return !equal(l, r), nil
		}
		c, err := compare(l, r)
		if err != nil {
			return false, errorf("", string(p), "%s: %v", typ, err)
		}
		switch typ {
		case "GreaterThan":
			return c > 0, nil
		case "GreaterThanOrEqualTo":
			return c >= 0, nil
		case "LessThan":
			return c < 0, nil
		default:
			return c <= 0, nil
		}
	case typ == "In" || typ == "NotIn":
		qk, vk := "QueryValue", "Values"
		if _, ok := m["Value"]; ok {
			qk, vk = "Value", "In"
		}
		q, err := resolve(m[qk], p.key(qk), ctx)
		if err != nil {
			return false, err
		}
		found := false
		for i, e := range m[vk].([]any) {
			v, err := resolve(e, p.key(vk).idx(i), ctx)
			if err != nil {
				return false, err
			}
			if equal(q, v) {
				found = true
				break
			}
		}
		return found == (typ == "In"), nil
	case typ == "Not":
		k := "Condition"
		if _, ok := m["Expression"]; ok {
			k = "Expression"
		}
		v, err := evalCondition(m[k].(map[string]any), p.key(k), ctx)
		return !v, err
	default: // Or
		k := "Conditions"
		if _, ok := m["Expressions"]; ok {
			k = "Expressions"
		}
		for i, e := range m[k].([]any) {
			v, err := evalCondition(e.(map[string]any), p.key(k).idx(i), ctx)
			if err != nil || v {
				return v, err
			}
		}
		return false, nil
	}
}

// equal compares two resolved values as SageMaker does: numerically when both are numbers or
// numeric strings with at least one a number, booleans with "true"/"false" strings
// case-insensitively, strings exactly, anything else by its JSON form.
func equal(a, b any) bool {
	an, bn := isNumber(a), isNumber(b)
	if an || bn {
		af, aok := toFloat(a)
		bf, bok := toFloat(b)
		return aok && bok && af == bf
	}
	if ab, ok := a.(bool); ok {
		return boolEq(ab, b)
	}
	if bb, ok := b.(bool); ok {
		return boolEq(bb, a)
	}
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		return as == bs
	}
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	return string(aj) == string(bj)
}

func boolEq(x bool, v any) bool {
	switch t := v.(type) {
	case bool:
		return x == t
	case string:
		return strings.EqualFold(t, fmt.Sprint(x))
	}
	return false
}

// compare orders two resolved values: numerically when both are numbers or numeric strings,
// lexically when both are non-numeric strings (ISO dates order correctly); anything else is an
// error.
func compare(a, b any) (int, error) {
	af, aok := toFloat(a)
	bf, bok := toFloat(b)
	if aok && bok {
		switch {
		case af < bf:
			return -1, nil
		case af > bf:
			return 1, nil
		}
		return 0, nil
	}
	as, asok := a.(string)
	bs, bsok := b.(string)
	if asok && bsok && !aok && !bok {
		return strings.Compare(as, bs), nil
	}
	return 0, fmt.Errorf("cannot order %s and %s", show(a), show(b))
}
