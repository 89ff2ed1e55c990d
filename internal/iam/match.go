package iam

import (
	"strings"
	"unicode/utf8"
)

// glob reports whether s matches pattern: * is any run of characters, ? exactly one. With
// escaped, a backslash makes the next character literal; that is how values substituted for
// policy variables (and ${*}, ${?}) keep their wildcard characters from acting as wildcards.
// With fold, letters compare under simple case folding. It never allocates or recurses.
func glob(pattern, s string, fold, escaped bool) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(pattern) {
			// ASCII fast path: most policies and requests are plain ASCII.
			if p, c := pattern[pi], s[si]; p < utf8.RuneSelf && c < utf8.RuneSelf && p != '*' && p != '?' && !(escaped && p == '\\') {
				if p == c || (fold && lowerASCII(p) == lowerASCII(c)) {
					pi++
					si++
					continue
				}
				goto backtrack
			}
			pc, pw := utf8.DecodeRuneInString(pattern[pi:])
			literal := false
			if escaped && pc == '\\' && pi+pw < len(pattern) {
				pi += pw
				pc, pw = utf8.DecodeRuneInString(pattern[pi:])
				literal = true
			}
			sc, sw := utf8.DecodeRuneInString(s[si:])
			switch {
			case pc == '*' && !literal:
				starP, starS = pi, si
				pi += pw
				continue
			case (pc == '?' && !literal) || pattern[pi:pi+pw] == s[si:si+sw] ||
				(fold && pc != utf8.RuneError && sc != utf8.RuneError && foldEq(pc, sc)):
				pi += pw
				si += sw
				continue
			}
		}
	backtrack:
		if starP < 0 {
			return false
		}
		_, sw := utf8.DecodeRuneInString(s[starS:])
		starS += sw
		si = starS
		pi = starP + 1
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

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
	return glob(p.s, action, true, false)
}

func foldEq(a, b rune) bool {
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	return strings.EqualFold(string(a), string(b))
}

// arnParts cuts s into its six ARN components (the sixth keeps further colons); ok is false when s
// has fewer than five colons.
func arnParts(s string) (c [6]string, ok bool) {
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(s, ':')
		if j < 0 {
			return c, false
		}
		c[i], s = s[:j], s[j+1:]
	}
	c[5] = s
	return c, true
}

// arnLike matches an ARN the way ArnLike and the Resource element do: component by component,
// wildcards never crossing a colon. A pattern that is not six components long matches nothing,
// except "*", which matches everything (as in arn.Match).
func arnLike(pattern string, escaped bool, valueParts [6]string, valueIsARN bool) bool {
	p, ok := arnParts(pattern)
	if !ok {
		return pattern == "*"
	}
	if !valueIsARN {
		return false
	}
	for i := range p {
		if !glob(p[i], valueParts[i], false, escaped) {
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
