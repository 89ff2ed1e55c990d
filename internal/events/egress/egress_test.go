package egress

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events/webhooks"
)

func TestParse(t *testing.T) {
	for spec, want := range map[string]string{
		"":                                 "",
		" 10.0.0.0/8 , hooks.example.com ": "10.0.0.0/8,hooks.example.com",
		"127.0.0.1,*.Example.COM":          "*.example.com,127.0.0.1/32",
		"10.1.2.3/8,::ffff:127.0.0.1":      "10.0.0.0/8,127.0.0.1/32",
		"fd00::/8":                         "fd00::/8",
	} {
		a, err := Parse(spec)
		if err != nil || a.String() != want {
			t.Errorf("Parse(%q) = %v, %v; want %q", spec, a, err, want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "http://x", "a b", "*.", "-a.com", "1.2.3", "*", "x_y.com"} {
		if _, err := Parse(bad); !errs.Is(err, errs.Invalid) {
			t.Errorf("Parse(%q) = %v, want Invalid", bad, err)
		}
	}
}

func TestCheckURL(t *testing.T) {
	a, err := Parse("10.0.0.0/8,hooks.example.com,*.corp.example")
	if err != nil {
		t.Fatal(err)
	}
	for u, want := range map[string]errs.Kind{
		"https://10.1.2.3/x":             errs.Other,
		"http://[::ffff:10.0.0.1]/":      errs.Other,
		"https://hooks.example.com/x":    errs.Other,
		"https://a.b.corp.example/":      errs.Other,
		"https://name.elsewhere.com/":    errs.Other, // names not listed are checked on the connection's address (CIDRs are listed)
		"https://127.0.0.1/":             errs.AccessDenied,
		"http://169.254.169.254/latest/": errs.AccessDenied,
		"ftp://10.0.0.1/":                errs.Invalid,
		"https://u:p@10.0.0.1/":          errs.Invalid,
		"https:///x":                     errs.Invalid,
	} {
		_, err := a.CheckURL(u)
		if errs.KindOf(err) != want {
			t.Errorf("CheckURL(%q) = %v, want kind %v", u, err, want)
		}
	}
	hostsOnly, err := Parse("hooks.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hostsOnly.CheckURL("https://other.example.com/"); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("a host not listed, no ranges listed: %v", err)
	}
	var empty *Allow
	if _, err := empty.CheckURL("https://10.0.0.1/"); !errs.Is(err, errs.AccessDenied) || !empty.Empty() {
		t.Errorf("the empty list allowed a call: %v", err)
	}
}

// TestSenderKeepsToTheList: the sender calls a listed loopback receiver, refuses an
// address off the list, and refuses a name (localhost) that resolves off the list when the
// connection is made; it does not follow redirects.
func TestSenderKeepsToTheList(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "http://169.254.169.254/", http.StatusFound)
			return
		}
		if r.Header.Get("X-K") != "v" {
			w.WriteHeader(400)
			return
		}
		w.WriteHeader(204)
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	ctx := context.Background()
	allowed, err := Parse("127.0.0.1/32,*.nowhere.invalid")
	if err != nil {
		t.Fatal(err)
	}
	s := NewSender(allowed, 2*time.Second)
	code, err := s.Send(ctx, webhooks.Request{Method: "POST", URL: srv.URL + "/ok", Header: map[string][]string{"X-K": {"v"}}, Body: []byte("{}")})
	if err != nil || code != 204 {
		t.Errorf("a listed receiver: %d, %v", code, err)
	}
	code, err = s.Send(ctx, webhooks.Request{Method: "GET", URL: srv.URL + "/redirect"})
	if err != nil || code != http.StatusFound || hits != 2 {
		t.Errorf("a redirect: %d, %v after %d hits; want 302 answered, not followed", code, err, hits)
	}
	offList, err := Parse("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	s2 := NewSender(offList, 2*time.Second)
	if _, err := s2.Send(ctx, webhooks.Request{Method: "GET", URL: srv.URL}); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("127.0.0.1 off the list: %v", err)
	}
	// localhost is a name that is not listed: allowed to try, refused at the address it resolves to.
	if _, err := s2.Send(ctx, webhooks.Request{Method: "GET", URL: "http://localhost" + port + "/"}); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("localhost resolving off the list: %v", err)
	}
	if hits != 2 {
		t.Errorf("refused calls reached the receiver: %d hits", hits)
	}
	if !allowed.AddrAllowed(netip.MustParseAddr("::ffff:127.0.0.1")) {
		t.Error("a v4-mapped address is not matched as v4")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "10.0.0.0/8", "127.0.0.1,*.example.com", "fd00::/8, hooks.example.com", "::ffff:1.2.3.4", "*.", "a..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		a, err := Parse(spec)
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("Parse(%q): %v, want Invalid", spec, err)
			}
			return
		}
		// The canonical form parses to itself.
		b, err := Parse(a.String())
		if err != nil || b.String() != a.String() {
			t.Fatalf("Parse(%q).String() = %q does not parse back (%v, %q)", spec, a.String(), err, b)
		}
		_, _ = a.CheckURL("https://" + spec + "/")
	})
}
