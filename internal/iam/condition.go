package iam

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
)

type family uint8

const (
	fString family = iota
	fStringIgnoreCase
	fStringLike
	fNumeric
	fDate
	fBool
	fBinary
	fIP
	fArn
	fNull
)

type comparison uint8

const (
	cmpEq comparison = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

type setQualifier uint8

const (
	setNone setQualifier = iota
	setAnyValue
	setAllValues
)

// condition is one operator/key pair compiled at Parse time.
type condition struct {
	family   family
	cmp      comparison
	negated  bool // a Not operator: true when the positive operator is false
	ifExists bool
	set      setQualifier
	key      string // lower-cased
	vals     []condValue
	nullWant bool // Null: "true" wants the key absent
}

type condValue struct {
	s    string
	tmpl *template // string and ARN operators in 2012-10-17 policies
	num  float64
	t    time.Time
	pfx  netip.Prefix
}

// operatorSpec resolves a base operator name (without qualifier or IfExists). Names are
// case-sensitive, as in AWS.
func operatorSpec(name string) (f family, c comparison, negated, ok bool) {
	switch name {
	case "StringEquals":
		return fString, cmpEq, false, true
	case "StringNotEquals":
		return fString, cmpEq, true, true
	case "StringEqualsIgnoreCase":
		return fStringIgnoreCase, cmpEq, false, true
	case "StringNotEqualsIgnoreCase":
		return fStringIgnoreCase, cmpEq, true, true
	case "StringLike":
		return fStringLike, cmpEq, false, true
	case "StringNotLike":
		return fStringLike, cmpEq, true, true
	case "NumericEquals":
		return fNumeric, cmpEq, false, true
	case "NumericNotEquals":
		return fNumeric, cmpEq, true, true
	case "NumericLessThan":
		return fNumeric, cmpLt, false, true
	case "NumericLessThanEquals":
		return fNumeric, cmpLe, false, true
	case "NumericGreaterThan":
		return fNumeric, cmpGt, false, true
	case "NumericGreaterThanEquals":
		return fNumeric, cmpGe, false, true
	case "DateEquals":
		return fDate, cmpEq, false, true
	case "DateNotEquals":
		return fDate, cmpEq, true, true
	case "DateLessThan":
		return fDate, cmpLt, false, true
	case "DateLessThanEquals":
		return fDate, cmpLe, false, true
	case "DateGreaterThan":
		return fDate, cmpGt, false, true
	case "DateGreaterThanEquals":
		return fDate, cmpGe, false, true
	case "Bool":
		return fBool, cmpEq, false, true
	case "BinaryEquals":
		return fBinary, cmpEq, false, true
	case "IpAddress":
		return fIP, cmpEq, false, true
	case "NotIpAddress":
		return fIP, cmpEq, true, true
	case "ArnEquals", "ArnLike":
		return fArn, cmpEq, false, true
	case "ArnNotEquals", "ArnNotLike":
		return fArn, cmpEq, true, true
	case "Null":
		return fNull, cmpEq, false, true
	}
	return 0, 0, false, false
}

// operatorNames lists the base operators, for suggestions in error messages.
func operatorNames() []string {
	return []string{"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
		"StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
		"NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateNotEquals",
		"DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "Bool", "BinaryEquals",
		"IpAddress", "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null"}
}

// suggestOperator returns the operator name that differs from name only in letter case, or "".
func suggestOperator(name string) string {
	for _, n := range operatorNames() {
		if strings.EqualFold(n, name) {
			return n
		}
	}
	return ""
}

func parseConditions(v any, vars bool) ([]Condition, []condition, error) {
	ops, ok := v.(map[string]any)
	if !ok {
		return nil, nil, errorf("Condition must be an object of operators, e.g. {\"StringEquals\": {\"aws:PrincipalOrgID\": \"o-abc\"}}, not %s", jsonText(v))
	}
	var out []Condition
	for op, kv := range ops {
		keys, ok := kv.(map[string]any)
		if !ok {
			return nil, nil, errorf("Condition %s must be an object of condition keys to values, not %s", op, jsonText(kv))
		}
		for k, raw := range keys {
			vals, err := conditionValues(op, k, raw)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, Condition{Operator: op, Key: k, Values: vals})
		}
	}
	sortConditions(out)
	compiled := make([]condition, 0, len(out))
	for _, c := range out {
		cc, err := compileCondition(c, vars)
		if err != nil {
			return nil, nil, err
		}
		compiled = append(compiled, cc)
	}
	return out, compiled, nil
}

func conditionValues(op, key string, v any) ([]string, error) {
	one := func(e any) (string, error) {
		switch e := e.(type) {
		case string:
			return e, nil
		case bool:
			return strconv.FormatBool(e), nil
		case json.Number:
			return "", errorf("Condition %s %s: write the number %s as a string, \"%s\" (IAM accepts only strings and booleans)", op, key, e, e)
		}
		return "", errorf("Condition %s %s: values must be strings or booleans, not %s", op, key, jsonText(e))
	}
	if list, ok := v.([]any); ok {
		out := make([]string, 0, len(list)) // an empty list is allowed: no value can match it
		for _, e := range list {
			s, err := one(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := one(v)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

func compileCondition(c Condition, vars bool) (condition, error) {
	where := "Condition " + c.Operator + " " + c.Key
	name := c.Operator
	var cc condition
	if q, rest, ok := strings.Cut(name, ":"); ok {
		switch q {
		case "ForAnyValue":
			cc.set = setAnyValue
		case "ForAllValues":
			cc.set = setAllValues
		default:
			return cc, errorf("unknown condition set qualifier %q in %s (use ForAnyValue: or ForAllValues:, spelled so)", q, c.Operator)
		}
		name = rest
	}
	if base, ok := strings.CutSuffix(name, "IfExists"); ok && base != "" {
		cc.ifExists = true
		name = base
	}
	f, cmp, neg, ok := operatorSpec(name)
	if !ok {
		if hint := suggestOperator(name); hint != "" {
			return cc, errorf("unknown condition operator %s (operator names are case-sensitive: %s)", c.Operator, hint)
		}
		return cc, errorf("unknown condition operator %s", c.Operator)
	}
	cc.family, cc.cmp, cc.negated = f, cmp, neg
	if f == fNull && (cc.ifExists || cc.set != setNone) {
		return cc, errorf("%s: Null takes neither IfExists nor a ForAnyValue:/ForAllValues: qualifier", where)
	}
	if svc, name, ok := strings.Cut(c.Key, ":"); !ok || svc == "" || name == "" {
		return cc, errorf("%s: the condition key must be service:name, e.g. aws:SourceIp", where)
	}
	cc.key = strings.ToLower(c.Key)
	for _, s := range c.Values {
		cv := condValue{s: s}
		var err error
		switch f {
		case fString, fStringIgnoreCase, fStringLike, fArn:
			if vars {
				cv.tmpl, err = compileTemplate(s)
			}
		case fNumeric:
			cv.num, err = parseNumber(s)
		case fDate:
			cv.t, err = parseDate(s)
		case fBool:
			if !strings.EqualFold(s, "true") && !strings.EqualFold(s, "false") {
				err = errorf("%q is not true or false", s)
			}
		case fNull:
			switch strings.ToLower(s) {
			case "true":
				cc.nullWant = true
			case "false":
			default:
				err = errorf("%q is not true or false", s)
			}
		case fBinary:
			if _, e := base64.StdEncoding.DecodeString(s); e != nil {
				err = errorf("%q is not base64", s)
			}
		case fIP:
			cv.pfx, err = parsePrefix(s)
		}
		if err != nil {
			return cc, errorf("%s: %v", where, err)
		}
		cc.vals = append(cc.vals, cv)
	}
	if f == fNull && len(c.Values) != 1 {
		return cc, errorf("%s: Null takes one value, true or false", where)
	}
	return cc, nil
}

func parseNumber(s string) (float64, error) {
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, errorf("%q is not a number", s)
	}
	return n, nil
}

// parseDate accepts the ISO 8601 forms AWS documents (2026-11-25, 2026-11-25T18:00:00Z,
// with fractional seconds or a zone offset) and epoch seconds.
func parseDate(s string) (time.Time, error) {
	if s != "" && (s[0] >= '0' && s[0] <= '9' || s[0] == '-') && !strings.ContainsAny(s, "T:") && strings.Count(s, "-") <= 1 {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(n, 0).UTC(), nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1e15 {
			sec, frac := math.Modf(f)
			return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
		}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02", "20060102T150405Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errorf("%q is not a date: use ISO 8601 (2026-11-25T18:00:00Z) or epoch seconds", s)
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, errorf("%q is not an IP address or CIDR block", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, errorf("%q is not an IP address or CIDR block", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// eval decides the condition against the request context. When several keys of the request
// differ from c.key only in letter case, the condition is decided for each of their values: in
// a Deny statement it holds if it holds for any of them, in an Allow statement only if it holds
// for all of them, so a collision never turns a Deny into an Allow.
func (c *condition) eval(ctx *evalContext, deny bool) bool {
	if alts := ctx.alternatives(c.key); alts != nil {
		for _, vals := range alts {
			if c.evalValues(ctx, vals) == deny {
				return deny
			}
		}
		return !deny
	}
	return c.evalValues(ctx, ctx.req.Value(c.key))
}

// evalValues decides the condition for one key's values.
func (c *condition) evalValues(ctx *evalContext, vals []string) bool {
	present := len(vals) > 0
	if c.family == fNull {
		return !present == c.nullWant
	}
	if !present {
		switch {
		case c.ifExists:
			return true
		case c.set == setAllValues:
			return true // vacuously: every one of no values matches
		case c.set == setAnyValue:
			return false
		}
		return c.negated // a missing key does not match, so "does not match" holds
	}
	switch c.set {
	case setAnyValue:
		for _, v := range vals {
			if c.matchAny(ctx, v) != c.negated {
				return true
			}
		}
		return false
	case setAllValues:
		for _, v := range vals {
			if c.matchAny(ctx, v) == c.negated {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if c.matchAny(ctx, v) {
			return !c.negated
		}
	}
	return c.negated
}

// matchAny reports whether request value v matches any policy value under the positive operator.
func (c *condition) matchAny(ctx *evalContext, v string) bool {
	switch c.family {
	case fNumeric:
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return false
		}
		for i := range c.vals {
			if compare(n < c.vals[i].num, n == c.vals[i].num, c.cmp) {
				return true
			}
		}
		return false
	case fDate:
		t, err := parseDate(v)
		if err != nil {
			return false
		}
		for i := range c.vals {
			if compare(t.Before(c.vals[i].t), t.Equal(c.vals[i].t), c.cmp) {
				return true
			}
		}
		return false
	case fIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false
		}
		a = a.Unmap().WithZone("") // a prefix never contains an address with a zone
		for i := range c.vals {
			if c.vals[i].pfx.Contains(a) {
				return true
			}
		}
		return false
	case fArn:
		parts, isARN := arn.Split(v)
		for i := range c.vals {
			pat, esc, ok := c.vals[i].pattern(ctx, true)
			if ok && arnLike(pat, esc, parts, isARN) {
				return true
			}
		}
		return false
	}
	for i := range c.vals {
		pv := &c.vals[i]
		switch c.family {
		case fString:
			if s, _, ok := pv.pattern(ctx, false); ok && s == v {
				return true
			}
		case fStringIgnoreCase:
			if s, _, ok := pv.pattern(ctx, false); ok && strings.EqualFold(s, v) {
				return true
			}
		case fStringLike:
			if s, esc, ok := pv.pattern(ctx, true); ok && arn.Glob(s, v, false, esc) {
				return true
			}
		case fBool:
			if strings.EqualFold(pv.s, v) {
				return true
			}
		case fBinary:
			if pv.s == v {
				return true
			}
		}
	}
	return false
}

// pattern returns the policy value with variables substituted; escaped says the result uses
// glob's escaped mode (only when asked for a wildcard pattern and variables were substituted).
func (cv *condValue) pattern(ctx *evalContext, wildcard bool) (s string, escaped, ok bool) {
	if cv.tmpl == nil {
		return cv.s, false, true
	}
	s, ok = cv.tmpl.expand(ctx, wildcard)
	return s, wildcard, ok
}

func compare(less, equal bool, c comparison) bool {
	switch c {
	case cmpEq:
		return equal
	case cmpLt:
		return less
	case cmpLe:
		return less || equal
	case cmpGt:
		return !less && !equal
	case cmpGe:
		return !less
	}
	return false
}
