// Package pattern is EventBridge's event pattern language: Compile parses and validates a
// pattern (InvalidEventPatternException with the reason and the field), Pattern.Match decides
// whether an event (its JSON, parsed once with Parse) matches, and Set indexes many patterns
// so that one event is matched against thousands of rules without trying each.
//
// The language: a pattern is a JSON object whose keys name event fields. A key maps to a
// nested object (the field is an object, or an array of objects one of which matches the
// whole nested pattern) or to a non-empty array of match values, any one of which may match
// (OR). The fields of one object must all match (AND); "$or" holds alternative objects. A
// match value is a string, a number (compared numerically), null, or an object with one
// operator: prefix, suffix (both optionally {"equals-ignore-case": s}), anything-but (a value,
// a list, or {prefix|suffix|equals-ignore-case|wildcard}), numeric (one "=" comparison or a
// range of a lower and an upper bound), exists (true/false), cidr, equals-ignore-case and
// wildcard ("*" for any run of characters, "\*" and "\\" escaped). An event field holding an
// array matches when any element matches.
//
// Invariants: Compile never panics on any input (fuzzed); Match reads the event and changes
// nothing; Set.Match returns exactly the patterns whose Match is true (a property test checks
// the index against trying every pattern).
package pattern

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slipway-ml/slipway/internal/errs"
)

// MaxLength is the longest event pattern EventBridge accepts (characters).
const MaxLength = 4096

// maxDepth bounds the nesting of a pattern.
const maxDepth = 32

// Pattern is a compiled event pattern.
type Pattern struct {
	root   *node
	source string
}

// String returns the pattern's text as given.
func (p *Pattern) String() string { return p.source }

// node is one object level of a pattern: every field must match, and every $or group must
// have one alternative that matches.
type node struct {
	fields []field
	ors    [][]*node
}

// field is one key of an object level: a nested object or a list of matchers (any may match).
type field struct {
	key      string
	sub      *node
	matchers []matcher
}

type kind uint8

const (
	kExact      kind = iota // a string
	kNumber                 // a number
	kNull                   // null
	kPrefix                 // prefix
	kSuffix                 // suffix
	kIgnore                 // equals-ignore-case
	kWildcard               // wildcard
	kNumeric                // numeric range
	kExists                 // exists
	kCIDR                   // cidr
	kAnyBut                 // anything-but a list of values
	kAnyButPre              // anything-but a prefix
	kAnyButSuf              // anything-but a suffix
	kAnyButIgn              // anything-but equals-ignore-case
	kAnyButWild             // anything-but wildcard
	kBool                   // true or false (in exists)
)

// matcher is one match value.
type matcher struct {
	kind   kind
	fold   bool     // prefix/suffix with equals-ignore-case: s is lower-cased
	s      string   // string operand
	n      float64  // number operand
	strs   []string // anything-but strings (lower-cased for kAnyButIgn); wildcard patterns
	nums   []float64
	lo, hi float64 // numeric range
	loInc  bool
	hiInc  bool
	exists bool
	prefix netip.Prefix
}

// Invalid returns the error EventBridge answers for a pattern it rejects.
func Invalid(format string, args ...any) error {
	return errs.E(errs.Invalid, "Event pattern is not valid. Reason: "+format, args...).WithCode("InvalidEventPatternException")
}

// Compile parses and validates an event pattern.
func Compile(text string) (*Pattern, error) {
	if utf8.RuneCountInString(text) > MaxLength {
		return nil, Invalid("the pattern is longer than %d characters", MaxLength)
	}
	if !utf8.ValidString(text) {
		return nil, Invalid("the pattern is not valid UTF-8")
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, Invalid("the pattern is not valid JSON: %s", jsonReason(err))
	}
	if dec.More() {
		return nil, Invalid("the pattern is not valid JSON: more than one JSON value")
	}
	if _, err := dec.Token(); err == nil {
		return nil, Invalid("the pattern is not valid JSON: data after the top-level value")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, Invalid("Filter is not an object")
	}
	if err := checkDuplicates(text); err != nil {
		return nil, err
	}
	c := compiler{}
	root, err := c.object(obj, "", 0)
	if err != nil {
		return nil, err
	}
	if len(root.fields) == 0 && len(root.ors) == 0 {
		return nil, Invalid("Empty objects are not allowed")
	}
	return &Pattern{root: root, source: text}, nil
}

func jsonReason(err error) string {
	s := err.Error()
	return strings.TrimPrefix(s, "json: ")
}

// checkDuplicates rejects an object that names a key twice (encoding/json would keep the last).
func checkDuplicates(text string) error {
	dec := json.NewDecoder(strings.NewReader(text))
	type frame struct {
		obj  bool
		seen map[string]bool
		key  bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // validated before; io.EOF ends
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				if top != nil && top.obj {
					top.key = true
				}
				stack = append(stack, &frame{obj: true, seen: map[string]bool{}, key: true})
				continue
			case '[':
				if top != nil && top.obj {
					top.key = true
				}
				stack = append(stack, &frame{})
				continue
			default:
				stack = stack[:len(stack)-1]
				continue
			}
		case string:
			if top != nil && top.obj && top.key {
				if top.seen[t] {
					return Invalid("Duplicate key %q", t)
				}
				top.seen[t] = true
				top.key = false
				continue
			}
		}
		if top != nil && top.obj {
			top.key = true
		}
	}
}

type compiler struct{}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (c *compiler) object(obj map[string]any, path string, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, Invalid("the pattern nests deeper than %d levels at %s", maxDepth, path)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	n := &node{}
	for _, k := range keys {
		v := obj[k]
		if k == "$or" {
			alts, err := c.or(v, path, depth)
			if err != nil {
				return nil, err
			}
			n.ors = append(n.ors, alts)
			continue
		}
		where := join(path, k)
		switch x := v.(type) {
		case map[string]any:
			sub, err := c.object(x, where, depth+1)
			if err != nil {
				return nil, err
			}
			if len(sub.fields) == 0 && len(sub.ors) == 0 {
				return nil, Invalid("Empty objects are not allowed (at %s)", where)
			}
			n.fields = append(n.fields, field{key: k, sub: sub})
		case []any:
			if len(x) == 0 {
				return nil, Invalid("Empty arrays are not allowed (at %s)", where)
			}
			f := field{key: k}
			for _, e := range x {
				m, err := c.value(e, where)
				if err != nil {
					return nil, err
				}
				f.matchers = append(f.matchers, m...)
			}
			n.fields = append(n.fields, f)
		default:
			return nil, Invalid("Match value must be String, number, true, false, or null (at %s: %s); put match values in an array", where, describe(v))
		}
	}
	return n, nil
}

func (c *compiler) or(v any, path string, depth int) ([]*node, error) {
	where := join(path, "$or")
	arr, ok := v.([]any)
	if !ok {
		return nil, Invalid("\"$or\" must be an array of objects (at %s)", where)
	}
	if len(arr) < 2 {
		return nil, Invalid("\"$or\" needs at least two alternatives (at %s)", where)
	}
	var alts []*node
	for _, e := range arr {
		o, ok := e.(map[string]any)
		if !ok {
			return nil, Invalid("\"$or\" must be an array of objects (at %s)", where)
		}
		sub, err := c.object(o, path, depth+1)
		if err != nil {
			return nil, err
		}
		if len(sub.fields) == 0 && len(sub.ors) == 0 {
			return nil, Invalid("Empty objects are not allowed (at %s)", where)
		}
		alts = append(alts, sub)
	}
	return alts, nil
}

func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func number(v json.Number, where string) (float64, error) {
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, Invalid("the number %s is out of range (at %s)", v, where)
	}
	return f, nil
}

// value compiles one element of a match-value array.
func (c *compiler) value(v any, where string) ([]matcher, error) {
	switch x := v.(type) {
	case string:
		return []matcher{{kind: kExact, s: x}}, nil
	case json.Number:
		f, err := number(x, where)
		return []matcher{{kind: kNumber, n: f}}, err
	case nil:
		return []matcher{{kind: kNull}}, nil
	case bool:
		// EventBridge matches true/false as the JSON literals.
		return []matcher{{kind: kBool, exists: x}}, nil
	case []any:
		return nil, Invalid("Match value must be String, number, true, false, or null, or an object with one operator (at %s: an array in an array)", where)
	case map[string]any:
		return c.operator(x, where)
	}
	return nil, Invalid("unexpected value at %s", where)
}

func (c *compiler) operator(obj map[string]any, where string) ([]matcher, error) {
	if len(obj) != 1 {
		return nil, Invalid("an operator object must have exactly one key (at %s)", where)
	}
	for op, arg := range obj {
		switch op {
		case "prefix", "suffix":
			k := kPrefix
			if op == "suffix" {
				k = kSuffix
			}
			s, fold, err := stringOrIgnoreCase(arg, op, where)
			if err != nil {
				return nil, err
			}
			return []matcher{{kind: k, s: s, fold: fold}}, nil
		case "equals-ignore-case":
			s, ok := arg.(string)
			if !ok {
				return nil, Invalid("equals-ignore-case match pattern must be a string (at %s)", where)
			}
			return []matcher{{kind: kIgnore, s: strings.ToLower(s)}}, nil
		case "wildcard":
			s, ok := arg.(string)
			if !ok {
				return nil, Invalid("wildcard match pattern must be a string (at %s)", where)
			}
			if err := checkWildcard(s, where); err != nil {
				return nil, err
			}
			return []matcher{{kind: kWildcard, s: s}}, nil
		case "exists":
			b, ok := arg.(bool)
			if !ok {
				return nil, Invalid("exists match pattern must be either true or false (at %s)", where)
			}
			return []matcher{{kind: kExists, exists: b}}, nil
		case "cidr":
			s, ok := arg.(string)
			if !ok {
				return nil, Invalid("prefix match pattern must be a string (at %s): cidr takes a string", where)
			}
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, Invalid("Nonstandard IP address: %s (at %s)", s, where)
			}
			return []matcher{{kind: kCIDR, prefix: p.Masked()}}, nil
		case "numeric":
			return c.numeric(arg, where)
		case "anything-but":
			return c.anythingBut(arg, where)
		default:
			return nil, Invalid("Unrecognized match type %s (at %s)", op, where)
		}
	}
	panic("unreachable")
}

func stringOrIgnoreCase(arg any, op, where string) (string, bool, error) {
	switch x := arg.(type) {
	case string:
		return x, false, nil
	case map[string]any:
		if len(x) == 1 {
			if s, ok := x["equals-ignore-case"].(string); ok {
				return strings.ToLower(s), true, nil
			}
		}
	}
	return "", false, Invalid("%s match pattern must be a string or {\"equals-ignore-case\": string} (at %s)", op, where)
}

func checkWildcard(s, where string) error {
	prevStar := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return Invalid("Invalid escape character at pos %d of wildcard %q (at %s)", i, s, where)
			}
			i++
			prevStar = false
		case '*':
			if prevStar {
				return Invalid("Consecutive wildcard characters at pos %d of wildcard %q (at %s)", i, s, where)
			}
			prevStar = true
		default:
			prevStar = false
		}
	}
	return nil
}

func (c *compiler) numeric(arg any, where string) ([]matcher, error) {
	arr, ok := arg.([]any)
	if !ok || len(arr) == 0 || len(arr)%2 != 0 || len(arr) > 4 {
		return nil, Invalid("Value of numeric must be an array of one or two comparisons (at %s)", where)
	}
	m := matcher{kind: kNumeric, lo: math.Inf(-1), hi: math.Inf(1), loInc: true, hiInc: true}
	seenLo, seenHi := false, false
	for i := 0; i < len(arr); i += 2 {
		op, ok := arr[i].(string)
		if !ok {
			return nil, Invalid("Value of numeric must be an array of comparisons: operator expected (at %s)", where)
		}
		num, ok := arr[i+1].(json.Number)
		if !ok {
			return nil, Invalid("Value of %s must be numeric (at %s)", op, where)
		}
		f, err := number(num, where)
		if err != nil {
			return nil, err
		}
		switch op {
		case "=":
			if len(arr) != 2 {
				return nil, Invalid("\"=\" cannot be combined with another comparison (at %s)", where)
			}
			m.lo, m.hi = f, f
			seenLo, seenHi = true, true
		case ">", ">=":
			if seenLo {
				return nil, Invalid("Bad numeric range: two lower bounds (at %s)", where)
			}
			m.lo, m.loInc, seenLo = f, op == ">=", true
		case "<", "<=":
			if seenHi {
				return nil, Invalid("Bad numeric range: two upper bounds (at %s)", where)
			}
			m.hi, m.hiInc, seenHi = f, op == "<=", true
		default:
			return nil, Invalid("Unrecognized numeric range operator: %s (at %s)", op, where)
		}
	}
	if m.lo > m.hi || m.lo == m.hi && !(m.loInc && m.hiInc) {
		return nil, Invalid("Bad numeric range: the lower bound must be below the upper bound (at %s)", where)
	}
	return []matcher{m}, nil
}

func (c *compiler) anythingBut(arg any, where string) ([]matcher, error) {
	switch x := arg.(type) {
	case string:
		return []matcher{{kind: kAnyBut, strs: []string{x}}}, nil
	case json.Number:
		f, err := number(x, where)
		return []matcher{{kind: kAnyBut, nums: []float64{f}}}, err
	case []any:
		if len(x) == 0 {
			return nil, Invalid("Empty arrays are not allowed (at %s anything-but)", where)
		}
		m := matcher{kind: kAnyBut}
		for _, e := range x {
			switch y := e.(type) {
			case string:
				m.strs = append(m.strs, y)
			case json.Number:
				f, err := number(y, where)
				if err != nil {
					return nil, err
				}
				m.nums = append(m.nums, f)
			default:
				return nil, Invalid("Inside anything-but list, start|null|boolean is not supported (at %s)", where)
			}
		}
		return []matcher{m}, nil
	case map[string]any:
		if len(x) != 1 {
			return nil, Invalid("anything-but takes one operator (at %s)", where)
		}
		for op, v := range x {
			switch op {
			case "prefix", "suffix":
				s, ok := v.(string)
				if !ok || s == "" {
					return nil, Invalid("anything-but %s must be a non-empty string (at %s)", op, where)
				}
				k := kAnyButPre
				if op == "suffix" {
					k = kAnyButSuf
				}
				return []matcher{{kind: k, s: s}}, nil
			case "equals-ignore-case":
				m := matcher{kind: kAnyButIgn}
				switch y := v.(type) {
				case string:
					m.strs = []string{strings.ToLower(y)}
				case []any:
					if len(y) == 0 {
						return nil, Invalid("Empty arrays are not allowed (at %s anything-but equals-ignore-case)", where)
					}
					for _, e := range y {
						s, ok := e.(string)
						if !ok {
							return nil, Invalid("anything-but equals-ignore-case takes strings (at %s)", where)
						}
						m.strs = append(m.strs, strings.ToLower(s))
					}
				default:
					return nil, Invalid("anything-but equals-ignore-case takes a string or an array of strings (at %s)", where)
				}
				return []matcher{m}, nil
			case "wildcard":
				m := matcher{kind: kAnyButWild}
				switch y := v.(type) {
				case string:
					m.strs = []string{y}
				case []any:
					for _, e := range y {
						s, ok := e.(string)
						if !ok {
							return nil, Invalid("anything-but wildcard takes strings (at %s)", where)
						}
						m.strs = append(m.strs, s)
					}
				}
				if len(m.strs) == 0 {
					return nil, Invalid("anything-but wildcard takes a string or a non-empty array of strings (at %s)", where)
				}
				for _, s := range m.strs {
					if err := checkWildcard(s, where); err != nil {
						return nil, err
					}
				}
				return []matcher{m}, nil
			default:
				return nil, Invalid("Unsupported anything-but pattern: %s (at %s)", op, where)
			}
		}
	}
	return nil, Invalid("Value of anything-but must be an array or single string/number value (at %s)", where)
}

// Event is a parsed event: the JSON value Parse returns.
type Event struct{ v any }

// Parse parses an event's JSON for matching.
func Parse(data []byte) (Event, error) {
	v, err := decode(data)
	if err != nil {
		return Event{}, errs.E(errs.Invalid, "the event is not valid JSON: %s", errs.Message(err))
	}
	if _, ok := v.(map[string]any); !ok {
		return Event{}, errs.E(errs.Invalid, "the event must be a JSON object")
	}
	return Event{v: v}, nil
}

// FromValue wraps an already decoded JSON object (float64 or json.Number for numbers).
func FromValue(v map[string]any) Event { return Event{v: v} }

// Match reports whether the event matches the pattern.
func (p *Pattern) Match(ev Event) bool {
	obj, ok := ev.v.(map[string]any)
	return ok && p.root.match(obj)
}

func (n *node) match(obj map[string]any) bool {
	for i := range n.fields {
		if !n.fields[i].match(obj) {
			return false
		}
	}
	for _, alts := range n.ors {
		ok := false
		for _, a := range alts {
			if a.match(obj) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (f *field) match(obj map[string]any) bool {
	v, present := obj[f.key]
	if f.sub != nil {
		switch x := v.(type) {
		case map[string]any:
			return f.sub.match(x)
		case []any:
			for _, e := range x {
				if o, ok := e.(map[string]any); ok && f.sub.match(o) {
					return true
				}
			}
			return false
		}
		// A missing or scalar field matches a nested pattern only if the nested pattern
		// asks for nothing to exist.
		return !present && f.sub.matchAbsent()
	}
	for i := range f.matchers {
		if f.matchers[i].matchField(v, present) {
			return true
		}
	}
	return false
}

// matchAbsent reports whether a nested pattern matches a missing object: every field of it
// must be {"exists": false}.
func (n *node) matchAbsent() bool {
	for i := range n.fields {
		f := &n.fields[i]
		if f.sub != nil {
			if !f.sub.matchAbsent() {
				return false
			}
			continue
		}
		ok := false
		for _, m := range f.matchers {
			if m.kind == kExists && !m.exists {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	for _, alts := range n.ors {
		ok := false
		for _, a := range alts {
			if a.matchAbsent() {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// matchField matches a leaf: the field's value (an array matches when any element does).
func (m *matcher) matchField(v any, present bool) bool {
	if m.kind == kExists {
		leaf := present
		switch x := v.(type) {
		case map[string]any:
			leaf = false
		case []any:
			// An array of scalars exists when it holds any; an empty array does not.
			leaf = false
			for _, e := range x {
				if _, obj := e.(map[string]any); !obj {
					leaf = true
				}
			}
		}
		return leaf == m.exists
	}
	if !present {
		return false
	}
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if m.matchScalar(e) {
				return true
			}
		}
		return false
	}
	return m.matchScalar(v)
}

func (m *matcher) matchScalar(v any) bool {
	switch m.kind {
	case kExact:
		x, ok := v.(string)
		return ok && x == m.s
	case kBool:
		x, ok := v.(bool)
		return ok && x == m.exists
	case kNull:
		return v == nil
	case kNumber:
		f, ok := num(v)
		return ok && f == m.n
	case kNumeric:
		f, ok := num(v)
		if !ok {
			return false
		}
		return (f > m.lo || m.loInc && f == m.lo) && (f < m.hi || m.hiInc && f == m.hi)
	}
	s, isStr := v.(string)
	switch m.kind {
	case kPrefix:
		if !isStr {
			return false
		}
		if m.fold {
			return hasPrefixFold(s, m.s)
		}
		return strings.HasPrefix(s, m.s)
	case kSuffix:
		if !isStr {
			return false
		}
		if m.fold {
			return hasSuffixFold(s, m.s)
		}
		return strings.HasSuffix(s, m.s)
	case kIgnore:
		return isStr && strings.EqualFold(s, m.s)
	case kWildcard:
		return isStr && wildcard(m.s, s)
	case kCIDR:
		if !isStr {
			return false
		}
		a, err := netip.ParseAddr(s)
		return err == nil && m.prefix.Contains(a.Unmap())
	case kAnyBut:
		if isStr {
			for _, x := range m.strs {
				if x == s {
					return false
				}
			}
			return true
		}
		if f, ok := num(v); ok {
			for _, x := range m.nums {
				if x == f {
					return false
				}
			}
			return true
		}
		return false
	case kAnyButPre:
		return isStr && !strings.HasPrefix(s, m.s)
	case kAnyButSuf:
		return isStr && !strings.HasSuffix(s, m.s)
	case kAnyButIgn:
		if !isStr {
			return false
		}
		for _, x := range m.strs {
			if strings.EqualFold(s, x) {
				return false
			}
		}
		return true
	case kAnyButWild:
		if !isStr {
			return false
		}
		for _, x := range m.strs {
			if wildcard(x, s) {
				return false
			}
		}
		return true
	}
	return false
}

func hasPrefixFold(s, lowerPrefix string) bool {
	ls := strings.ToLower(s)
	return strings.HasPrefix(ls, lowerPrefix)
}

func hasSuffixFold(s, lowerSuffix string) bool {
	return strings.HasSuffix(strings.ToLower(s), lowerSuffix)
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	}
	return 0, false
}

// wildcard matches s against a wildcard pattern: "*" is any run of characters; "\*" and "\\"
// are a literal star and backslash.
func wildcard(pat, s string) bool {
	// Iterative glob with backtracking to the last star.
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(pat) {
			c := pat[pi]
			switch {
			case c == '*':
				starP, starS = pi, si
				pi++
				continue
			case c == '\\' && pi+1 < len(pat):
				if s[si] == pat[pi+1] {
					pi += 2
					si++
					continue
				}
			case c == s[si]:
				pi++
				si++
				continue
			}
		}
		if starP < 0 {
			return false
		}
		starS++
		pi, si = starP+1, starS
	}
	for pi < len(pat) && pat[pi] == '*' {
		pi++
	}
	return pi == len(pat)
}
