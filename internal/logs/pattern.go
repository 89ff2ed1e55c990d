package logs

import (
	"strings"
	"unicode/utf8"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Pattern is a compiled CloudWatch Logs filter pattern of the unstructured kind: terms and quoted
// phrases that a message must contain (case-sensitively), "?term" alternatives of which it must
// contain at least one, and "-term" exclusions it must not contain. The empty pattern matches
// every message. JSON ({ $.x = … }), space-delimited ([a, b, …]) and regular-expression (%…%)
// patterns are refused with a message that says so.
type Pattern struct {
	all  []string // every one must occur
	any  []string // at least one must occur (when there are any)
	none []string // none may occur
}

// MaxPatternLength is the longest filter pattern CloudWatch Logs accepts.
const MaxPatternLength = 1024

// ParsePattern compiles a filter pattern.
func ParsePattern(s string) (*Pattern, error) {
	if len(s) > MaxPatternLength {
		return nil, invalid("the filter pattern is %d bytes long; the limit is %d", len(s), MaxPatternLength)
	}
	if !utf8.ValidString(s) {
		return nil, invalid("the filter pattern is not valid UTF-8")
	}
	p := &Pattern{}
	rest := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(rest, "{"):
		return nil, invalid("JSON filter patterns ({ $.field = value }) are not supported; use terms and quoted phrases")
	case strings.HasPrefix(rest, "["):
		return nil, invalid("space-delimited filter patterns ([field, ...]) are not supported; use terms and quoted phrases")
	case strings.HasPrefix(rest, "%"):
		return nil, invalid("regular-expression filter patterns (%...%) are not supported; use terms and quoted phrases")
	}
	for rest != "" {
		var op byte
		if rest[0] == '?' || rest[0] == '-' {
			op, rest = rest[0], rest[1:]
		}
		var term string
		var err error
		if strings.HasPrefix(rest, `"`) {
			term, rest, err = quoted(rest)
			if err != nil {
				return nil, err
			}
		} else {
			end := strings.IndexAny(rest, " \t\r\n")
			if end < 0 {
				end = len(rest)
			}
			term, rest = rest[:end], rest[end:]
			if term == "" {
				return nil, invalid("the filter pattern has a %q with no term after it", string(op))
			}
			if i := strings.IndexAny(term, `"{}[]`); i >= 0 {
				return nil, invalid("the filter pattern term %q holds %q: put terms with such characters in double quotes", term, term[i:i+1])
			}
		}
		if rest != "" && !isSpace(rest[0]) {
			return nil, invalid("the filter pattern needs a space after %q", term)
		}
		rest = strings.TrimLeft(rest, " \t\r\n")
		switch op {
		case '?':
			p.any = append(p.any, term)
		case '-':
			p.none = append(p.none, term)
		default:
			p.all = append(p.all, term)
		}
	}
	return p, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// quoted reads a double-quoted phrase at the start of s (\" and \\ are escapes) and returns it
// and what follows it.
func quoted(s string) (phrase, rest string, err error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
				b.WriteByte(s[i+1])
				i++
				continue
			}
			b.WriteByte(c)
		case '"':
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(c)
		}
	}
	return "", "", invalid("the filter pattern has a quoted phrase with no closing double quote")
}

// Match reports whether message matches the pattern.
func (p *Pattern) Match(message string) bool {
	if p == nil {
		return true
	}
	for _, t := range p.none {
		if strings.Contains(message, t) {
			return false
		}
	}
	for _, t := range p.all {
		if !strings.Contains(message, t) {
			return false
		}
	}
	if len(p.any) == 0 {
		return true
	}
	for _, t := range p.any {
		if strings.Contains(message, t) {
			return true
		}
	}
	return false
}

func invalid(format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...)
}
