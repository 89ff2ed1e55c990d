package batch

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Path is a compiled JSONPath filter of the subset SageMaker documents for DataProcessing: the
// root $ followed by steps — .name, ['name'], ['a','b'] (an object of those keys), [i], [i,j,…]
// (negative indices count from the end) and slices [a:b], [a:], [:b].
type Path struct {
	src   string
	steps []step
}

type step struct {
	keys    []string // member names (len > 1: pick several into an object)
	indices []int    // array indices (len > 1: pick several into an array)
	slice   bool     // [lo:hi]
	lo, hi  *int
}

// maxPathLen bounds a filter expression.
const maxPathLen = 1024

// ParsePath compiles a filter; "" is $.
func ParsePath(s string) (*Path, error) {
	p := &Path{src: s}
	s = strings.TrimSpace(s)
	if s == "" {
		s = "$"
	}
	if len(s) > maxPathLen {
		return nil, errs.E(errs.Invalid, "JSONPath is longer than %d characters", maxPathLen)
	}
	if s[0] != '$' {
		return nil, errs.E(errs.Invalid, "JSONPath %q must start with $", p.src)
	}
	rest := s[1:]
	bad := func(why string) error {
		return errs.E(errs.Invalid, "JSONPath %q: %s (supported: $, $.name, $['a','b'], $[i], $[i,j], $[a:b])", p.src, why)
	}
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			n := 0
			for n < len(rest) && rest[n] != '.' && rest[n] != '[' {
				n++
			}
			if n == 0 {
				return nil, bad("empty member name")
			}
			p.steps = append(p.steps, step{keys: []string{rest[:n]}})
			rest = rest[n:]
		case '[':
			end := closing(rest)
			if end < 0 {
				return nil, bad("unclosed [")
			}
			inner := strings.TrimSpace(rest[1:end])
			rest = rest[end+1:]
			st, err := parseBracket(inner)
			if err != nil {
				return nil, bad(err.Error())
			}
			p.steps = append(p.steps, st)
		default:
			return nil, bad("unexpected " + strconv.Quote(rest[:1]))
		}
	}
	return p, nil
}

// closing finds the ] that closes s[0]'s [, skipping quoted names.
func closing(s string) int {
	var quote byte
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == ']':
			return i
		}
	}
	return -1
}

func parseBracket(inner string) (step, error) {
	if inner == "" {
		return step{}, errs.E(errs.Invalid, "empty []")
	}
	if inner[0] == '\'' || inner[0] == '"' {
		var st step
		for _, part := range splitTop(inner) {
			part = strings.TrimSpace(part)
			if len(part) < 2 || (part[0] != '\'' && part[0] != '"') || part[len(part)-1] != part[0] {
				return step{}, errs.E(errs.Invalid, "member %s is not quoted", part)
			}
			st.keys = append(st.keys, part[1:len(part)-1])
		}
		return st, nil
	}
	if inner == "*" {
		return step{slice: true}, nil
	}
	if lo, hi, ok := strings.Cut(inner, ":"); ok {
		st := step{slice: true}
		for _, b := range []struct {
			s   string
			dst **int
		}{{lo, &st.lo}, {hi, &st.hi}} {
			if t := strings.TrimSpace(b.s); t != "" {
				n, err := strconv.Atoi(t)
				if err != nil {
					return step{}, errs.E(errs.Invalid, "slice bound %q is not an integer", t)
				}
				*b.dst = &n
			}
		}
		return st, nil
	}
	var st step
	for _, part := range strings.Split(inner, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return step{}, errs.E(errs.Invalid, "index %q is not an integer", strings.TrimSpace(part))
		}
		st.indices = append(st.indices, n)
	}
	return st, nil
}

// splitTop splits on commas outside quotes.
func splitTop(s string) []string {
	var out []string
	var quote byte
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == ',':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// IsRoot reports whether the path selects the whole record.
func (p *Path) IsRoot() bool { return len(p.steps) == 0 }

// String is the expression as given.
func (p *Path) String() string { return p.src }

// Apply evaluates the path on a JSON value (as decoded by encoding/json with UseNumber).
func (p *Path) Apply(v any) (any, error) {
	for _, st := range p.steps {
		var err error
		if v, err = st.apply(v); err != nil {
			return nil, errs.E(errs.Invalid, "JSONPath %q: %v", p.src, err)
		}
	}
	return v, nil
}

func (st step) apply(v any) (any, error) {
	switch {
	case st.keys != nil:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, errs.E(errs.Invalid, "member %q of a value that is not an object", st.keys[0])
		}
		if len(st.keys) == 1 {
			x, ok := obj[st.keys[0]]
			if !ok {
				return nil, errs.E(errs.Invalid, "no member %q", st.keys[0])
			}
			return x, nil
		}
		out := make(map[string]any, len(st.keys))
		for _, k := range st.keys {
			if x, ok := obj[k]; ok {
				out[k] = x
			}
		}
		return out, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, errs.E(errs.Invalid, "index of a value that is not an array")
	}
	if st.slice {
		lo, hi := 0, len(arr)
		if st.lo != nil {
			lo = clampIndex(*st.lo, len(arr))
		}
		if st.hi != nil {
			hi = clampIndex(*st.hi, len(arr))
		}
		if hi < lo {
			hi = lo
		}
		return append([]any{}, arr[lo:hi]...), nil
	}
	pick := func(i int) (any, error) {
		j := i
		if j < 0 {
			j += len(arr)
		}
		if j < 0 || j >= len(arr) {
			return nil, errs.E(errs.Invalid, "index %d is out of range (the record has %d)", i, len(arr))
		}
		return arr[j], nil
	}
	if len(st.indices) == 1 {
		return pick(st.indices[0])
	}
	out := make([]any, 0, len(st.indices))
	for _, i := range st.indices {
		x, err := pick(i)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

func clampIndex(i, n int) int {
	if i < 0 {
		i += n
	}
	return min(max(i, 0), n)
}

// decodeJSON decodes one JSON record keeping numbers as written.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errs.E(errs.Invalid, "more than one JSON value")
	}
	return v, nil
}
