package containercreds_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/awsapi/containercreds"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/jobcreds"
)

// source knows one token.
type source struct{ token string }

func (s source) Credentials(_ context.Context, token string) (jobcreds.Credentials, error) {
	switch token {
	case s.token:
		return jobcreds.Credentials{AccessKeyID: "ASIAX", SecretAccessKey: "s", SessionToken: "t", Expiration: time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC)}, nil
	case "slwjc_" + strings.Repeat("e", 43):
		return jobcreds.Credentials{}, errs.E(errs.Internal, "the store is down")
	}
	return jobcreds.Credentials{}, errs.E(errs.AccessDenied, "the job credentials token is not valid")
}

func TestHandler(t *testing.T) {
	good := "slwjc_" + strings.Repeat("g", 43)
	h := containercreds.Handler(source{good}, nil)
	for _, tc := range []struct {
		name, method string
		header       []string
		status       int
		want         string
	}{
		{"good", "GET", []string{good}, 200, `{"AccessKeyId":"ASIAX","SecretAccessKey":"s","Token":"t","Expiration":"2026-12-02T13:00:00Z"}`},
		{"no header", "GET", nil, 403, "AccessDenied"},
		{"two headers", "GET", []string{good, good}, 403, "AccessDenied"},
		{"unknown", "GET", []string{"slwjc_" + strings.Repeat("u", 43)}, 403, "AccessDenied"},
		{"internal", "GET", []string{"slwjc_" + strings.Repeat("e", 43)}, 500, "InternalError"},
		{"POST", "POST", []string{good}, 405, "MethodNotAllowed"},
	} {
		r := httptest.NewRequest(tc.method, containercreds.Path, nil)
		for _, v := range tc.header {
			r.Header.Add("Authorization", v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		body := strings.TrimSpace(w.Body.String())
		if w.Code != tc.status || !strings.Contains(body, tc.want) || !json.Valid([]byte(body)) || w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d %s, want %d with %s", tc.name, w.Code, body, tc.status, tc.want)
		}
		if tc.status == 500 && strings.Contains(body, "store") {
			t.Errorf("%s: internal detail leaked: %s", tc.name, body)
		}
	}
}

func FuzzToken(f *testing.F) {
	f.Add("slwjc_"+strings.Repeat("A", 43), "")
	f.Add("Bearer abc", "x")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, a, b string) {
		h := http.Header{}
		h.Add("Authorization", a)
		if b != "" {
			h.Add("Authorization", b)
		}
		tok, ok := containercreds.Token(h)
		if !ok {
			return
		}
		if b != "" || tok != a || len(tok) != 49 || !strings.HasPrefix(tok, "slwjc_") {
			t.Fatalf("Token(%q, %q) = %q", a, b, tok)
		}
	})
}
