package iam

import (
	"strings"

	"github.com/slipway-ml/slipway/internal/arn"
)

// actionPattern is an Action or NotAction entry compiled for the common shapes.
type actionPattern struct {
	kind byte   // '*' everything, '=' exact, 'p' prefix followed by a final *, 'g' general glob
	s    string // the pattern, or its literal prefix for 'p'
}

func compileAction(a string) actionPattern {
	switch i := strings.IndexAny(a, "*?"); {
	case a == "*":
		return actionPattern{kind: '*'}
	case i < 0:
		return actionPattern{kind: '=', s: a}
	case i == len(a)-1 && a[i] == '*':
		return actionPattern{kind: 'p', s: a[:i]}
	}
	return actionPattern{kind: 'g', s: a}
}

// match compares case-insensitively, as IAM compares actions.
func (p *actionPattern) match(action string) bool {
	switch p.kind {
	case '*':
		return true
	case '=':
		return strings.EqualFold(p.s, action)
	case 'p':
		return len(action) >= len(p.s) && strings.EqualFold(p.s, action[:len(p.s)])
	}
	return arn.Glob(p.s, action, true, false)
}

// arnLike matches an ARN the way ArnLike and the Resource element do: component by component,
// wildcards never crossing a colon. A pattern that is not six components long matches nothing,
// except "*", which matches everything (as in arn.Match).
func arnLike(pattern string, escaped bool, valueParts [6]string, valueIsARN bool) bool {
	p, ok := arn.Split(pattern)
	if !ok {
		return pattern == "*"
	}
	if !valueIsARN {
		return false
	}
	for i := range p {
		if !arn.Glob(p[i], valueParts[i], false, escaped) {
			return false
		}
	}
	return true
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
