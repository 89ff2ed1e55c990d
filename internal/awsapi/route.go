package awsapi

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// A route is one REST operation's HTTP binding, compiled for matching: the method, the path
// template, the query literals of its URI (S3's "?tagging", "?list-type=2") and the query
// parameters and headers its input requires (S3's UploadPart needs partNumber and uploadId,
// CopyObject the x-amz-copy-source header). A request matches a route when all of them are
// present; of the routes that match, the most specific wins.
type route struct {
	op         *Operation
	method     string
	path       []pathSegment
	query      []queryLiteral
	needQuery  []string // wire names of required querystring members
	needHeader []string // wire names of required header members
}

// queryLiteral is one "name" or "name=value" of a request URI template's query part.
type queryLiteral struct {
	name, value string
	hasValue    bool
}

func compileRoute(op *Operation) route {
	rt := route{op: op, method: op.Method, path: op.path}
	if _, q, ok := strings.Cut(op.RequestURI, "?"); ok {
		for _, part := range strings.Split(q, "&") {
			if part == "" {
				continue
			}
			name, value, hasValue := strings.Cut(part, "=")
			rt.query = append(rt.query, queryLiteral{name: name, value: value, hasValue: hasValue})
		}
	}
	if op.Input != nil {
		for _, m := range op.Input.Members {
			if !m.Required {
				continue
			}
			switch m.Location {
			case "querystring":
				rt.needQuery = append(rt.needQuery, m.wireName())
			case "header":
				rt.needHeader = append(rt.needHeader, m.wireName())
			}
		}
	}
	return rt
}

// specificity orders routes: more literal path segments, then fewer greedy labels, then more
// query and header conditions. Equal specificity with equal conditions is ambiguous.
func (rt *route) specificity() [3]int {
	lit, greedy := 0, 0
	for _, s := range rt.path {
		if s.label == "" {
			lit++
		}
		if s.greedy {
			greedy++
		}
	}
	return [3]int{lit, -greedy, len(rt.query) + len(rt.needQuery) + len(rt.needHeader)}
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// match reports whether r fits the route, and the path labels it binds.
func (rt *route) match(method, rawPath string, query url.Values, h http.Header) (map[string]string, bool) {
	if rt.method != method {
		return nil, false
	}
	for _, q := range rt.query {
		vs, ok := query[q.name]
		if !ok || q.hasValue && (len(vs) == 0 || vs[0] != q.value) {
			return nil, false
		}
	}
	for _, name := range rt.needQuery {
		if _, ok := query[name]; !ok {
			return nil, false
		}
	}
	for _, name := range rt.needHeader {
		if _, ok := h[http.CanonicalHeaderKey(name)]; !ok {
			return nil, false
		}
	}
	return rt.op.matchPath(rawPath)
}

// router holds one service's routes, most specific first, ties in operation-name order so that
// the choice never depends on map iteration.
type router struct {
	routes []route
}

func newRouter(ops map[string]*Operation) *router {
	rr := &router{}
	for _, op := range ops {
		if op.RequestURI == "" {
			continue
		}
		rr.routes = append(rr.routes, compileRoute(op))
	}
	sort.SliceStable(rr.routes, func(i, j int) bool {
		si, sj := rr.routes[i].specificity(), rr.routes[j].specificity()
		if si != sj {
			return less(sj, si)
		}
		return rr.routes[i].op.Name < rr.routes[j].op.Name
	})
	return rr
}

// find returns the most specific route matching the request, and its path labels.
func (rr *router) find(r *http.Request) (*Operation, map[string]string) {
	path := r.URL.EscapedPath()
	query := r.URL.Query()
	for i := range rr.routes {
		if labels, ok := rr.routes[i].match(r.Method, path, query, r.Header); ok {
			return rr.routes[i].op, labels
		}
	}
	return nil, nil
}

// ambiguous lists pairs of operations whose bindings no request can tell apart: the same method,
// path template, query literals and required query parameters and headers.
func (rr *router) ambiguous() [][2]string {
	key := func(rt *route) string {
		var b strings.Builder
		b.WriteString(rt.method + " " + rt.op.RequestURI)
		for _, l := range [][]string{sortedCopy(rt.needQuery), sortedCopy(rt.needHeader)} {
			b.WriteString(" | " + strings.Join(l, ","))
		}
		return b.String()
	}
	seen := map[string]string{}
	var out [][2]string
	for i := range rr.routes {
		k := key(&rr.routes[i])
		if prev, ok := seen[k]; ok {
			out = append(out, [2]string{prev, rr.routes[i].op.Name})
			continue
		}
		seen[k] = rr.routes[i].op.Name
	}
	return out
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}
