package awsapi

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzRoute: any method, path and query a client sends either routes to an operation whose
// method and query literals it carries, or to none; routing never panics.
func FuzzRoute(f *testing.F) {
	rr := newRouter(loadRouteOps(f, "testdata/routes/s3.json"))
	for _, seed := range []string{"GET /b/k?tagging", "PUT /b/k?partNumber=1&uploadId=u", "GET /b?list-type=2", "POST /%2F%2F?uploads", "GET /", "DELETE /b/a%ZZ"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		method, target, ok := strings.Cut(line, " ")
		if !ok || method == "" || !strings.HasPrefix(target, "/") {
			return
		}
		u, err := url.ParseRequestURI(target)
		if err != nil || strings.ContainsAny(method, " \t\r\n") {
			return
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Method, r.URL = method, u
		op, _ := rr.find(r)
		if op == nil {
			return
		}
		if op.Method != method {
			t.Fatalf("%s %s routed to %s (%s)", method, target, op.Name, op.Method)
		}
		for _, q := range compileRoute(op).query {
			if !u.Query().Has(q.name) {
				t.Fatalf("%s %s routed to %s without its query literal %q", method, target, op.Name, q.name)
			}
		}
	})
}
