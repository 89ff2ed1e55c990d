package webhooks

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestTokenRequest(t *testing.T) {
	conn := Connection{ARN: "arn", AuthType: OAuth, OAuth: &OAuthConfig{Endpoint: "https://auth.example.com/oauth2/token?x=1", Method: "POST", ClientID: "id:with colon",
		Headers: []Param{{Key: "x-tenant", Secret: true, Sealed: "SEALED"}}, Query: []Param{{Key: "audience", Value: "hooks"}},
		Body: []Param{{Key: "scope", Value: "a b"}}}}
	r, err := TokenRequest(conn, "s&cret", func(s string) (string, error) { return "opened-" + s, nil })
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(r.URL)
	form, _ := url.ParseQuery(string(r.Body))
	if r.Method != "POST" || u.Query().Get("x") != "1" || u.Query().Get("audience") != "hooks" || form.Get("grant_type") != "client_credentials" ||
		form.Get("scope") != "a b" || r.Header["X-Tenant"][0] != "opened-SEALED" || r.Header["Content-Type"][0] != "application/x-www-form-urlencoded" {
		t.Errorf("token request = %+v", r)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.Header["Authorization"][0], "Basic "))
	if string(raw) != url.QueryEscape("id:with colon")+":"+url.QueryEscape("s&cret") {
		t.Errorf("credentials = %q", raw)
	}
	conn.OAuth.Method = "GET"
	r, err = TokenRequest(conn, "s", func(s string) (string, error) { return s, nil })
	if u, _ := url.Parse(r.URL); err != nil || r.Body != nil || u.Query().Get("grant_type") != "client_credentials" || u.Query().Get("scope") != "a b" {
		t.Errorf("GET token request = %+v, %v", r, err)
	}
}

func TestParseToken(t *testing.T) {
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	tok, err := ParseToken([]byte(`{"access_token":"abc","token_type":"bearer","expires_in":600}`), now)
	if err != nil || tok.Value != "abc" || !tok.Expires.Equal(now.Add(570*time.Second)) {
		t.Errorf("ParseToken = %+v, %v", tok, err)
	}
	if tok, err := ParseToken([]byte(`{"access_token":"abc"}`), now); err != nil || !tok.Expires.Equal(now.Add(DefaultTokenLifetime-30*time.Second)) {
		t.Errorf("without expires_in: %+v, %v", tok, err)
	}
	for name, body := range map[string]string{
		"not json":        `access_token=abc`,
		"no token":        `{"token_type":"Bearer"}`,
		"empty token":     `{"access_token":""}`,
		"token with CRLF": `{"access_token":"a\r\nX-Evil: 1"}`,
		"mac token":       `{"access_token":"a","token_type":"mac"}`,
		"negative life":   `{"access_token":"a","expires_in":-1}`,
		"string life":     `{"access_token":"a","expires_in":"60"}`,
		"huge":            `{"access_token":"` + strings.Repeat("a", MaxTokenBytes) + `"}`,
	} {
		if _, err := ParseToken([]byte(body), now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCheckOAuth(t *testing.T) {
	good := OAuthInput{Endpoint: "https://auth.example.com/t", Method: "POST", ClientID: "c", ClientSecret: "s", HasClient: true,
		Params: &OAuthParams{Headers: []ParamInput{{Key: "X-A", Value: "v"}}, Body: []ParamInput{{Key: "scope", Value: "x"}}}}
	if err := CheckOAuth(good); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(o *OAuthInput){
		"no endpoint":     func(o *OAuthInput) { o.Endpoint = "" },
		"ftp":             func(o *OAuthInput) { o.Endpoint = "ftp://h/t" },
		"wildcard":        func(o *OAuthInput) { o.Endpoint = "https://h/*" },
		"method":          func(o *OAuthInput) { o.Method = "PATCH" },
		"no client":       func(o *OAuthInput) { o.HasClient = false },
		"colon id":        func(o *OAuthInput) { o.ClientID = "a:b" },
		"empty secret":    func(o *OAuthInput) { o.ClientSecret = "" },
		"host header":     func(o *OAuthInput) { o.Params = &OAuthParams{Headers: []ParamInput{{Key: "host", Value: "x"}}} },
		"bad header name": func(o *OAuthInput) { o.Params = &OAuthParams{Headers: []ParamInput{{Key: "a b", Value: "x"}}} },
		"newline value":   func(o *OAuthInput) { o.Params = &OAuthParams{Query: []ParamInput{{Key: "a", Value: "x\ny"}}} },
		"duplicate":       func(o *OAuthInput) { o.Params = &OAuthParams{Body: []ParamInput{{Key: "a"}, {Key: "a"}}} },
		"empty key":       func(o *OAuthInput) { o.Params = &OAuthParams{Body: []ParamInput{{Key: ""}}} },
		"too many":        func(o *OAuthInput) { o.Params = &OAuthParams{Body: make([]ParamInput, MaxOAuthParams+1)} },
		"value too long": func(o *OAuthInput) {
			o.Params = &OAuthParams{Body: []ParamInput{{Key: "a", Value: strings.Repeat("v", 513)}}}
		},
		"endpoint userinf": func(o *OAuthInput) { o.Endpoint = "https://u:p@h/t" },
	} {
		o := good
		change(&o)
		if err := CheckOAuth(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add([]byte(`{"access_token":"abc","token_type":"Bearer","expires_in":3600}`))
	f.Add([]byte(`{"access_token":"a","expires_in":1e308}`))
	f.Add([]byte(`{"access_token":"\u0000"}`))
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := ParseToken(body, now)
		if err != nil {
			return
		}
		if tok.Value == "" || strings.ContainsAny(tok.Value, "\r\n\x00") || !tok.Expires.After(now) {
			t.Fatalf("ParseToken(%q) = %+v", body, tok)
		}
	})
}

func FuzzTokenRequest(f *testing.F) {
	f.Add("https://auth.example.com/t?x=1", "POST", "id", "secret", "X-A", "v", "scope", "a b")
	f.Add("http://10.0.0.1:8080/%zz", "GET", "a:b", "s\n", "", "\r\n", "grant_type", "password")
	f.Fuzz(func(t *testing.T, endpoint, method, id, secret, hk, hv, bk, bv string) {
		in := OAuthInput{Endpoint: endpoint, Method: method, ClientID: id, ClientSecret: secret, HasClient: true,
			Params: &OAuthParams{Headers: []ParamInput{{Key: hk, Value: hv}}, Body: []ParamInput{{Key: bk, Value: bv}}}}
		if CheckOAuth(in) != nil {
			return
		}
		conn := Connection{ARN: "arn", AuthType: OAuth, OAuth: &OAuthConfig{Endpoint: endpoint, Method: method, ClientID: id,
			Headers: []Param{{Key: hk, Value: hv}}, Body: []Param{{Key: bk, Value: bv}}}}
		r, err := TokenRequest(conn, secret, func(s string) (string, error) { return s, nil })
		if err != nil {
			t.Fatalf("a checked connection's token request fails: %v", err)
		}
		u, err := url.Parse(r.URL)
		want, _ := url.Parse(endpoint)
		if err != nil || u.Host != want.Host || u.Scheme != want.Scheme {
			t.Fatalf("the token request goes to %s, not %s", r.URL, endpoint)
		}
		for k, vs := range r.Header {
			for _, v := range vs {
				if strings.ContainsAny(k+v, "\r\n") {
					t.Fatalf("header %q: %q holds a line break", k, v)
				}
			}
		}
		if !strings.HasPrefix(r.Header["Authorization"][0], "Basic ") {
			t.Fatalf("a parameter replaced the client's credentials: %v", r.Header["Authorization"])
		}
	})
}
