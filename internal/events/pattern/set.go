package pattern

import (
	"sort"
	"strings"
)

// Set holds many patterns and finds those an event matches without trying each: a pattern
// that requires a field to equal one of some strings (e.g. "source" or "detail-type"), or to
// start with one of some prefixes, is indexed by that field, so an event is tried only against
// the patterns whose indexed value (or prefix) it carries, and against the few patterns that
// have no such field. Among a pattern's indexable fields, Add picks the one whose values are
// shared by the fewest patterns indexed so far, so rules that all name one source spread out
// over their more specific fields.
type Set struct {
	ids      []string
	patterns []*Pattern
	paths    []*indexed          // the indexed paths, each once
	byPath   map[string]*indexed // joined path → its index
	always   []int               // patterns with no indexable field
	seen     []uint32            // per pattern: the generation that last tried it
	gen      uint32
}

// indexed is the index of one path: exact values, and prefixes by length.
type indexed struct {
	path     []string
	values   map[string][]int
	prefixes map[string][]int
	lens     []int // the distinct lengths of prefixes, ascending
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{byPath: map[string]*indexed{}} }

// Len is the number of patterns in the set.
func (s *Set) Len() int { return len(s.patterns) }

// candidate is a field a pattern could be indexed by.
type candidate struct {
	path   []string
	values []string
	prefix bool
}

// Add adds a pattern under id (ids need not be unique; Match reports each addition).
func (s *Set) Add(id string, p *Pattern) {
	i := len(s.patterns)
	s.ids = append(s.ids, id)
	s.patterns = append(s.patterns, p)
	s.seen = append(s.seen, 0)
	var cands []candidate
	collect(p.root, nil, &cands)
	if len(cands) == 0 {
		s.always = append(s.always, i)
		return
	}
	best, bestCost := -1, 0
	for j, c := range cands {
		cost := len(c.values)
		if ix := s.byPath[strings.Join(c.path, "\x00")]; ix != nil {
			m := ix.values
			if c.prefix {
				m = ix.prefixes
			}
			for _, v := range c.values {
				cost += 4 * len(m[v])
			}
		}
		if c.prefix {
			cost += 1 << 20 // an exact field first: a prefix lookup costs one per length
		}
		if best < 0 || cost < bestCost {
			best, bestCost = j, cost
		}
	}
	c := cands[best]
	key := strings.Join(c.path, "\x00")
	ix := s.byPath[key]
	if ix == nil {
		ix = &indexed{path: c.path, values: map[string][]int{}, prefixes: map[string][]int{}}
		s.byPath[key] = ix
		s.paths = append(s.paths, ix)
	}
	m := ix.values
	if c.prefix {
		m = ix.prefixes
	}
	for _, v := range c.values {
		if l := m[v]; len(l) == 0 || l[len(l)-1] != i {
			m[v] = append(l, i)
		}
		if c.prefix {
			if k := sort.SearchInts(ix.lens, len(v)); k == len(ix.lens) || ix.lens[k] != len(v) {
				ix.lens = append(ix.lens, 0)
				copy(ix.lens[k+1:], ix.lens[k:])
				ix.lens[k] = len(v)
			}
		}
	}
}

// collect finds the fields a pattern requires to equal one of some strings (or to start with
// one of some prefixes), through nested objects but not through $or alternatives.
func collect(n *node, prefix []string, out *[]candidate) {
	for i := range n.fields {
		f := &n.fields[i]
		p := append(append([]string(nil), prefix...), f.key)
		if f.sub != nil {
			collect(f.sub, p, out)
			continue
		}
		exact, pre := true, true
		var vals []string
		for _, m := range f.matchers {
			exact = exact && m.kind == kExact
			pre = pre && m.kind == kPrefix && !m.fold
			vals = append(vals, m.s)
		}
		if exact || pre {
			*out = append(*out, candidate{path: p, values: vals, prefix: !exact})
		}
	}
}

// Match calls fn with the id of every pattern the event matches. A Set is not safe for
// concurrent Match calls (nor for Add during one); give each goroutine its own, or guard it.
func (s *Set) Match(ev Event, fn func(id string)) {
	obj, ok := ev.v.(map[string]any)
	if !ok {
		return
	}
	s.gen++
	if s.gen == 0 { // wrapped: forget every mark
		clear(s.seen)
		s.gen = 1
	}
	try := func(list []int) {
		for _, i := range list {
			if s.seen[i] == s.gen {
				continue
			}
			s.seen[i] = s.gen
			if s.patterns[i].root.match(obj) {
				fn(s.ids[i])
			}
		}
	}
	for _, ix := range s.paths {
		eachString(obj, ix.path, func(v string) {
			try(ix.values[v])
			for _, l := range ix.lens {
				if l > len(v) {
					break
				}
				try(ix.prefixes[v[:l]])
			}
		})
	}
	try(s.always)
}

// eachString calls fn with every string found at path (through arrays at any level).
func eachString(v any, path []string, fn func(string)) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			eachString(e, path, fn)
		}
	case map[string]any:
		if len(path) == 0 {
			return
		}
		if next, ok := x[path[0]]; ok {
			eachString(next, path[1:], fn)
		}
	case string:
		if len(path) == 0 {
			fn(x)
		}
	}
}
