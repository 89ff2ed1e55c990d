package webhooks

import (
	"net/url"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/events/rules"
)

const envelope = `{"version":"0","id":"e1","detail-type":"T","source":"my.app","account":"111122223333","time":"2026-12-03T00:00:00Z","region":"us-east-1","resources":[],"detail":{"group":"a/b c","n":3,"obj":{"x":1}}}`

func TestBuildRequest(t *testing.T) {
	dest := Destination{ARN: "arn", Endpoint: "https://h.example.com/v1/*/items/*?fixed=1", Method: "POST"}
	conn := Connection{AuthType: APIKey, APIKeyName: "x-api-key"}
	hp := &rules.HTTPParameters{PathParameterValues: []string{"$.detail.group", "lit"},
		HeaderParameters:      map[string]string{"x-n": "$.detail.n", "X-Obj": "$.detail.obj", "x-api-key": "target-cannot-override"},
		QueryStringParameters: map[string]string{"s": "$.source", "q": "a&b"}}
	r, err := BuildRequest(dest, conn, "SECRET", hp, []byte(envelope), []byte(`{"in":1}`))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(r.URL)
	if u.EscapedPath() != "/v1/a%2Fb%20c/items/lit" || u.Query().Get("fixed") != "1" || u.Query().Get("s") != "my.app" || u.Query().Get("q") != "a&b" {
		t.Errorf("URL = %s", r.URL)
	}
	if r.Header["X-Api-Key"][0] != "SECRET" || r.Header["X-N"][0] != "3" || r.Header["X-Obj"][0] != `{"x":1}` || string(r.Body) != `{"in":1}` {
		t.Errorf("request = %+v", r)
	}
	basic := Connection{AuthType: Basic, Username: "u"}
	dest.Method, dest.Endpoint = "GET", "http://h.example.com/x"
	r, err = BuildRequest(dest, basic, "p", nil, []byte(envelope), []byte(`{}`))
	if err != nil || r.Body != nil || r.Header["Authorization"][0] != "Basic dTpw" {
		t.Errorf("GET with basic auth: %+v, %v", r, err)
	}
	for name, p := range map[string]*rules.HTTPParameters{
		"missing wildcard value": {PathParameterValues: nil},
		"path leads nowhere":     {PathParameterValues: []string{"$.detail.none", "x"}},
		"header leads nowhere":   {PathParameterValues: []string{"a", "b"}, HeaderParameters: map[string]string{"X": "$.nope"}},
	} {
		d := Destination{Endpoint: "https://h.example.com/*/*", Method: "POST"}
		if _, err := BuildRequest(d, conn, "s", p, []byte(envelope), nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzBuildRequest(f *testing.F) {
	f.Add("https://h.example.com/a/*", "$.detail.group", "X-A", "$.source", "q", "v")
	f.Add("http://10.0.0.1:8080/*/*?x=%2F", "a/b", "x-b", "\r\n", "", "")
	f.Add("https://h/%zz*", "$.detail.obj", "", "", "k", "$.detail.n")
	f.Fuzz(func(t *testing.T, endpoint, path, hk, hv, qk, qv string) {
		if CheckEndpoint(endpoint) != nil {
			return
		}
		hp := &rules.HTTPParameters{PathParameterValues: []string{path, path}, HeaderParameters: map[string]string{hk: hv}, QueryStringParameters: map[string]string{qk: qv}}
		r, err := BuildRequest(Destination{Endpoint: endpoint, Method: "POST"}, Connection{AuthType: APIKey, APIKeyName: "x-api-key"}, "S", hp, []byte(envelope), []byte("{}"))
		if err != nil {
			return
		}
		u, err := url.Parse(r.URL)
		if err != nil {
			t.Fatalf("built URL %q does not parse: %v", r.URL, err)
		}
		want, _ := url.Parse(endpoint)
		if u.Host != want.Host || u.Scheme != want.Scheme {
			t.Fatalf("the path values moved the call from %s to %s", endpoint, r.URL)
		}
		for k, vs := range r.Header {
			for _, v := range vs {
				if strings.ContainsAny(k+v, "\r\n") {
					t.Fatalf("header %q: %q holds a line break", k, v)
				}
			}
		}
		if r.Header["X-Api-Key"][0] != "S" {
			t.Fatalf("a target's header replaced the connection's key: %v", r.Header["X-Api-Key"])
		}
	})
}
