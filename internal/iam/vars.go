package iam

import (
	"strings"
)

// template is a policy string with ${...} variables, compiled at Parse time. Only policies with
// Version 2012-10-17 have templates; in older policies "${" is ordinary text.
type template struct {
	parts []tmplPart
	size  int // length of the literal text, to size the expansion
}

type tmplPart struct {
	lit    string // literal text (when key == "")
	key    string // lower-cased context key of a variable
	def    string // default value, ${key, 'default'}
	hasDef bool
	char   bool // lit is one of the special ${*} ${?} ${$} characters: always literal
}

// compileTemplate returns nil when s has no variables. An unterminated "${" is literal text.
// It rejects variables it cannot read, such as ${} or a default that is not single-quoted.
func compileTemplate(s string) (*template, error) {
	if !strings.Contains(s, "${") {
		return nil, nil
	}
	t := &template{}
	rest := s
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tmplPart{lit: rest[:i]})
		}
		body := rest[i+2 : i+j]
		rest = rest[i+j+1:]
		switch body {
		case "*", "?", "$":
			t.parts = append(t.parts, tmplPart{lit: body, char: true})
			continue
		}
		key, def, hasDef := strings.Cut(body, ",")
		key = strings.TrimSpace(key)
		if key == "" || !strings.Contains(key, ":") {
			return nil, errorf("policy variable ${%s} must name a context key such as ${aws:username}", body)
		}
		p := tmplPart{key: strings.ToLower(key)}
		if hasDef {
			def = strings.TrimSpace(def)
			if len(def) < 2 || def[0] != '\'' || def[len(def)-1] != '\'' {
				return nil, errorf("policy variable ${%s}: the default value must be in single quotes, e.g. ${%s, 'none'}", body, key)
			}
			p.def, p.hasDef = def[1:len(def)-1], true
		}
		t.parts = append(t.parts, p)
	}
	if rest != "" {
		t.parts = append(t.parts, tmplPart{lit: rest})
	}
	for _, p := range t.parts {
		t.size += len(p.lit)
	}
	return t, nil
}

// expand substitutes the variables from ctx. With escape, the result is a pattern for glob's
// escaped mode: wildcards from the policy text stay wildcards, everything substituted is literal.
// ok is false when a variable has no value (and no default): AWS then treats the element as not
// matching. A variable whose key has several values has no single value and counts as missing.
func (t *template) expand(ctx *evalContext, escape bool) (string, bool) {
	var b strings.Builder
	b.Grow(t.size + 32)
	for _, p := range t.parts {
		switch {
		case p.key == "" && !p.char:
			if escape {
				writeEscaped(&b, p.lit, false)
			} else {
				b.WriteString(p.lit)
			}
		case p.char:
			if escape {
				writeEscaped(&b, p.lit, true)
			} else {
				b.WriteString(p.lit)
			}
		default:
			v := ctx.lookup(p.key)
			var s string
			switch {
			case len(v) == 1:
				s = v[0]
			case p.hasDef:
				s = p.def
			default:
				return "", false
			}
			if escape {
				writeEscaped(&b, s, true)
			} else {
				b.WriteString(s)
			}
		}
	}
	return b.String(), true
}

// writeEscaped writes s for glob's escaped mode. Backslashes are always escaped; wildcards only
// when they must be literal.
func writeEscaped(b *strings.Builder, s string, wildcardsLiteral bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' || (wildcardsLiteral && (c == '*' || c == '?')) {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
}
