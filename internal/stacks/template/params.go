package template

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/slipway-ml/slipway/internal/errs"
)

// compilePattern compiles an AllowedPattern; CloudFormation matches the whole value.
func compilePattern(p string) (*regexp.Regexp, error) {
	if len(p) > 4096 {
		return nil, fmt.Errorf("longer than 4096 characters")
	}
	return regexp.Compile(`^(?:` + p + `)$`)
}

// resolve checks a value given for the parameter against its type and constraints and returns
// it as the template sees it: a string, or a []any of strings for list types.
func (p *Parameter) resolve(v string) (any, error) {
	bad := func(format string, args ...any) error {
		if p.ConstraintDescription != "" {
			return ValidationError("Parameter '%s' failed to satisfy constraint: %s", p.Name, p.ConstraintDescription)
		}
		return ValidationError("Parameter '%s' "+format, append([]any{p.Name}, args...)...)
	}
	check := func(s string) error {
		if len(p.AllowedValues) > 0 {
			ok := false
			for _, a := range p.AllowedValues {
				if a == s {
					ok = true
					break
				}
			}
			if !ok {
				return bad("must be one of AllowedValues")
			}
		}
		if p.AllowedPattern != "" {
			re, err := compilePattern(p.AllowedPattern)
			if err != nil || !re.MatchString(s) {
				return bad("must match pattern %s", p.AllowedPattern)
			}
		}
		n := utf8.RuneCountInString(s)
		if p.MinLength != nil && n < *p.MinLength {
			return bad("must contain at least %d characters", *p.MinLength)
		}
		if p.MaxLength != nil && n > *p.MaxLength {
			return bad("must contain at most %d characters", *p.MaxLength)
		}
		if p.Type == "Number" || p.Type == "List<Number>" {
			f, ok := number(s)
			if !ok {
				return bad("must be a number")
			}
			if p.MinValue != nil && f < *p.MinValue {
				return bad("must be a number not less than %s", formatNumber(*p.MinValue))
			}
			if p.MaxValue != nil && f > *p.MaxValue {
				return bad("must be a number not greater than %s", formatNumber(*p.MaxValue))
			}
		}
		return nil
	}
	switch p.Type {
	case "String", "Number":
		if err := check(v); err != nil {
			return nil, err
		}
		return v, nil
	default:
		var out []any
		if v != "" {
			for _, e := range strings.Split(v, ",") {
				e = strings.TrimSpace(e)
				if err := check(e); err != nil {
					return nil, err
				}
				out = append(out, e)
			}
		}
		if out == nil {
			out = []any{}
		}
		return out, nil
	}
}

// ParameterValue is a value a caller gives for a parameter.
type ParameterValue struct {
	Value            string
	UsePreviousValue bool
}

// ResolveParameters checks the given values against the template's declarations, fills in the
// defaults and returns each parameter's value as the template sees it (a string, or a []any of
// strings for list types) and as a string (lists joined by commas), for DescribeStacks. previous
// holds the last values, for UsePreviousValue.
func (t *Template) ResolveParameters(given map[string]ParameterValue, previous map[string]string) (values map[string]any, text map[string]string, err error) {
	for _, name := range sortedKeys(given) {
		if _, ok := t.Parameters[name]; !ok {
			return nil, nil, ValidationError("Parameters: [%s] do not exist in the template", name)
		}
	}
	values = map[string]any{}
	text = map[string]string{}
	var missing []string
	for _, name := range sortedKeys(t.Parameters) {
		p := t.Parameters[name]
		var s string
		g, ok := given[name]
		switch {
		case ok && g.UsePreviousValue:
			prev, had := previous[name]
			if !had {
				return nil, nil, ValidationError("Parameter %s has no previous value to use", name)
			}
			s = prev
		case ok:
			s = g.Value
		case p.Default != nil:
			s = *p.Default
		default:
			missing = append(missing, name)
			continue
		}
		v, err := p.resolve(s)
		if err != nil {
			return nil, nil, err
		}
		values[name] = v
		text[name] = s
	}
	if len(missing) > 0 {
		return nil, nil, ValidationError("Parameters: [%s] must have values", strings.Join(missing, ", "))
	}
	return values, text, nil
}

// Message is the user-safe text of an error of this package.
func Message(err error) string { return errs.Message(err) }
