package pattern

import "strings"

// Set holds many patterns and finds those an event matches without trying each: every pattern
// that requires a field to equal one of some strings (e.g. "source" or "detail-type") is
// indexed by that field and those strings, so an event is tried only against the patterns
// whose indexed value it carries, and against the few that have no such field.
type Set struct {
	ids      []string
	patterns []*Pattern
	paths    []indexed                   // the indexed paths, each once
	index    map[string]map[string][]int // joined path → value → patterns
	always   []int                       // patterns with no indexable field
	seen     []uint32                    // per pattern: the generation that last tried it
	gen      uint32
}

type indexed struct {
	path   []string
	values map[string][]int
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{index: map[string]map[string][]int{}} }

// Len is the number of patterns in the set.
func (s *Set) Len() int { return len(s.patterns) }

// Add adds a pattern under id (ids need not be unique; Match reports each addition).
func (s *Set) Add(id string, p *Pattern) {
	i := len(s.patterns)
	s.ids = append(s.ids, id)
	s.patterns = append(s.patterns, p)
	s.seen = append(s.seen, 0)
	path, values := indexable(p.root, nil)
	if path == nil {
		s.always = append(s.always, i)
		return
	}
	key := strings.Join(path, "\x00")
	m, ok := s.index[key]
	if !ok {
		m = map[string][]int{}
		s.index[key] = m
		s.paths = append(s.paths, indexed{path, m})
	}
	for _, v := range values {
		if l := m[v]; len(l) == 0 || l[len(l)-1] != i {
			m[v] = append(l, i)
		}
	}
}

// indexable finds a field the pattern requires to equal one of a few strings: the one with
// the fewest values, searched through nested objects (not through $or alternatives).
func indexable(n *node, prefix []string) (path []string, values []string) {
	for i := range n.fields {
		f := &n.fields[i]
		p := append(append([]string(nil), prefix...), f.key)
		var cand []string
		var candPath []string
		if f.sub != nil {
			candPath, cand = indexable(f.sub, p)
		} else {
			exact := true
			for _, m := range f.matchers {
				if m.kind != kExact {
					exact = false
					break
				}
				cand = append(cand, m.s)
			}
			if !exact {
				cand = nil
			} else {
				candPath = p
			}
		}
		if candPath != nil && (path == nil || len(cand) < len(values)) {
			path, values = candPath, cand
		}
	}
	return path, values
}

// Match calls fn with the id of every pattern the event matches, in the order they were added
// among those indexed alike. A Set is not safe for concurrent Match calls; give each goroutine
// its own (or guard it).
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
	try := func(i int) {
		if s.seen[i] == s.gen {
			return
		}
		s.seen[i] = s.gen
		if s.patterns[i].root.match(obj) {
			fn(s.ids[i])
		}
	}
	for _, p := range s.paths {
		eachString(obj, p.path, func(v string) {
			for _, i := range p.values[v] {
				try(i)
			}
		})
	}
	for _, i := range s.always {
		try(i)
	}
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
