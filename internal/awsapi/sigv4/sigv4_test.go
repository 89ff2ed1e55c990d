package sigv4

import (
	"bufio"
	"context"
	"crypto/hmac"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The vectors in testdata/aws4_testsuite are AWS's Signature Version 4 test suite (Apache-2.0,
// see its LICENSE and NOTICE), copied from github.com/boto/botocore at commit
// 0e6e2404b85dc336dd2889814e089bde7d1a4c55, tests/unit/auth/aws4_testsuite. The multi-line header
// vector is left out: HTTP/1.1 forbids obsolete line folding and net/http rejects it.
const (
	suiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	suiteToken  = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
)

var suiteTime = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)

type vector struct {
	name                 string
	req, creq, sts, auth string
}

func loadSuite(t *testing.T) []vector {
	t.Helper()
	var vs []vector
	err := filepath.Walk("testdata/aws4_testsuite", func(path string, info os.FileInfo, err error) error {
		if err != nil || !strings.HasSuffix(path, ".req") {
			return err
		}
		base := strings.TrimSuffix(path, ".req")
		read := func(ext string) string {
			b, err := os.ReadFile(base + ext)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		vs = append(vs, vector{name: filepath.Base(base), req: read(".sreq"), creq: read(".creq"), sts: read(".sts"), auth: read(".authz")})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 25 {
		t.Fatalf("found %d vectors, want the whole suite", len(vs))
	}
	return vs
}

// parseVector splits a .sreq file (the signed request; its Authorization header is dropped) into method, raw path and query, headers and body. Request lines
// may hold spaces in the path ("GET /example space/ HTTP/1.1").
func parseVector(t *testing.T, req string) (method, path, query string, header http.Header, body string) {
	t.Helper()
	head, body, _ := strings.Cut(req, "\n\n")
	lines := strings.Split(head, "\n")
	first := lines[0]
	method, rest, _ := strings.Cut(first, " ")
	uri := rest[:strings.LastIndex(rest, " ")]
	path, query, _ = strings.Cut(uri, "?")
	header = http.Header{}
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if k == "Authorization" {
			continue
		}
		if !ok {
			t.Fatalf("bad header line %q", l)
		}
		header[http.CanonicalHeaderKey(k)] = append(header[http.CanonicalHeaderKey(k)], v)
	}
	return method, path, query, header, body
}

func TestAWSTestSuite(t *testing.T) {
	for _, v := range loadSuite(t) {
		t.Run(v.name, func(t *testing.T) {
			auth, err := ParseAuthorization(v.auth)
			if err != nil {
				t.Fatalf("ParseAuthorization(%q): %v", v.auth, err)
			}
			method, path, query, header, body := parseVector(t, v.req)
			if np := NormalizePath(path); strings.Contains(v.name, "relative") || strings.Contains(v.name, "slash") {
				path = np // the normalize-path vectors expect the normalized path
			}
			creq := CanonicalRequest(method, path, query, header, auth.SignedHeaders, HashHex([]byte(body)), true)
			if creq != v.creq {
				t.Fatalf("canonical request:\n%s\nwant:\n%s", creq, v.creq)
			}
			sts := StringToSign("20150830T123600Z", auth.Scope, creq)
			if sts != v.sts {
				t.Fatalf("string to sign:\n%s\nwant:\n%s", sts, v.sts)
			}
			if got := Signature(SigningKey(suiteSecret, auth.Scope), sts); got != auth.Signature {
				t.Errorf("signature = %s, want %s", got, auth.Signature)
			}
		})
	}
}

// TestAWSTestSuiteOverHTTP sends each vector through net/http's request parser (as a server sees
// it) and verifies it with Parse, CheckTime and Verify. One vector cannot travel over HTTP: a
// request line cannot hold a raw space, and percent-encoding it changes the path the signature
// covers (services other than S3 encode the sent path once more). TestAWSTestSuite checks it.
func TestAWSTestSuiteOverHTTP(t *testing.T) {
	notOverHTTP := map[string]bool{"get-space": true}
	for _, v := range loadSuite(t) {
		if _, path, _, _, _ := parseVector(t, v.req); strings.Contains(path, " ") != notOverHTTP[v.name] {
			t.Errorf("vector %s: a space in its path is the only reason to keep a vector off HTTP; update notOverHTTP", v.name)
		}
		if notOverHTTP[v.name] {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			method, path, query, header, body := parseVector(t, v.req)
			var raw strings.Builder
			raw.WriteString(method + " " + path)
			if query != "" {
				raw.WriteString("?" + query)
			}
			raw.WriteString(" HTTP/1.1\r\n")
			for k, vs := range header {
				for _, x := range vs {
					raw.WriteString(k + ":" + x + "\r\n")
				}
			}
			raw.WriteString("Authorization: " + v.auth + "\r\n")
			if body != "" {
				raw.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
			}
			raw.WriteString("\r\n" + body)
			r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw.String())))
			if err != nil {
				t.Fatalf("net/http rejects the request: %v", err)
			}
			s, err := Parse(r)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.CheckTime(suiteTime.Add(5 * time.Minute)); err != nil {
				t.Fatal(err)
			}
			if err := s.Verify(r, []byte(body), suiteSecret, Options{}); err != nil {
				t.Fatal(err)
			}
			if err := s.Verify(r, []byte(body), "other secret", Options{}); err == nil {
				t.Error("a wrong secret verified")
			}
			if strings.Contains(v.name, "sts-header") && s.SecurityToken != suiteToken {
				t.Errorf("security token = %q", s.SecurityToken)
			}
		})
	}
}

// signedRequest builds a request signed by aws-sdk-go-v2's signer.
func signedRequest(t *testing.T, method, url, body string, header map[string]string, service string, at time.Time, creds aws.Credentials) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, url, strings.NewReader(body))
	for k, v := range header {
		r.Header.Set(k, v)
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, HashHex([]byte(body)), service, "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	// httptest.NewRequest sets RequestURI as a server would; the signer may have changed headers only.
	return r
}

func TestSDKSigner(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}
	temp := aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "tok"}
	tests := []struct {
		name    string
		method  string
		url     string
		body    string
		header  map[string]string
		creds   aws.Credentials
		at      time.Time
		secret  string
		tamper  func(*http.Request)
		want    Reason // 0 for success
		wantTok string
	}{
		{name: "json post", method: "POST", url: "http://localhost:8080/", body: `{"ModelPackageGroupName":"a"}`,
			header: map[string]string{"X-Amz-Target": "SageMaker.DescribeModelPackageGroup", "Content-Type": "application/x-amz-json-1.1"},
			creds:  creds, at: now, secret: "secret"},
		{name: "query post", method: "POST", url: "http://localhost:8080/", body: "Action=GetUser&Version=2010-05-08",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, creds: creds, at: now, secret: "secret"},
		{name: "escaped path and query", method: "POST", url: "http://localhost/endpoints/my%20ep/invocations?a=b%2Fc&a=a&z=",
			body: "1,2", creds: creds, at: now, secret: "secret"},
		{name: "session token", method: "POST", url: "http://localhost/", body: "{}", creds: temp, at: now, secret: "secret", wantTok: "tok"},
		{name: "14 minutes skew", method: "POST", url: "http://localhost/", body: "{}", creds: creds, at: now.Add(-14 * time.Minute), secret: "secret"},
		{name: "16 minutes old", method: "POST", url: "http://localhost/", body: "{}", creds: creds, at: now.Add(-16 * time.Minute), secret: "secret", want: Skewed},
		{name: "16 minutes ahead", method: "POST", url: "http://localhost/", body: "{}", creds: creds, at: now.Add(16 * time.Minute), secret: "secret", want: Skewed},
		{name: "wrong secret", method: "POST", url: "http://localhost/", body: "{}", creds: creds, at: now, secret: "nope", want: Mismatch},
		{name: "body changed", method: "POST", url: "http://localhost/", body: "{}", creds: creds, at: now, secret: "secret", want: Mismatch,
			tamper: func(r *http.Request) { r.Body = http.NoBody; r.ContentLength = 0 }},
		{name: "signed header changed", method: "POST", url: "http://localhost/", body: "{}", creds: creds, at: now, secret: "secret", want: Mismatch,
			header: map[string]string{"X-Amz-Target": "SageMaker.A"},
			tamper: func(r *http.Request) { r.Header.Set("X-Amz-Target", "SageMaker.B") }},
		{name: "host changed", method: "POST", url: "http://localhost/", body: "{}", creds: creds, at: now, secret: "secret", want: Mismatch,
			tamper: func(r *http.Request) { r.Host = "evil" }},
		{name: "no signature", method: "POST", url: "http://localhost/", body: "{}", creds: creds, at: now, secret: "secret", want: Missing,
			tamper: func(r *http.Request) { r.Header.Del("Authorization") }},
		{name: "no date", method: "POST", url: "http://localhost/", body: "{}", creds: creds, at: now, secret: "secret", want: Incomplete,
			tamper: func(r *http.Request) { r.Header.Del("X-Amz-Date") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := signedRequest(t, tc.method, tc.url, tc.body, tc.header, "sagemaker", tc.at, tc.creds)
			body := tc.body
			if tc.tamper != nil {
				tc.tamper(r)
				if r.Body == http.NoBody {
					body = ""
				}
			}
			err := func() error {
				s, err := Parse(r)
				if err != nil {
					return err
				}
				if s.SecurityToken != tc.wantTok {
					t.Errorf("token = %q, want %q", s.SecurityToken, tc.wantTok)
				}
				if err := s.CheckTime(now); err != nil {
					return err
				}
				return s.Verify(r, []byte(body), tc.secret, Options{})
			}()
			if got := reasonOf(err); got != tc.want {
				t.Errorf("got %v (%v), want reason %v", got, err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error %q leaks the secret", err)
			}
		})
	}
}

func reasonOf(err error) Reason {
	if err == nil {
		return 0
	}
	if e, ok := err.(*Error); ok {
		return e.Reason
	}
	return -1
}

func TestPresigned(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", SessionToken: "tok"}
	presign := func(expires string, at time.Time) *http.Request {
		r := httptest.NewRequest("GET", "http://localhost/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires="+expires, nil)
		uri, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, HashHex(nil), "sts", "us-east-1", at)
		if err != nil {
			t.Fatal(err)
		}
		out := httptest.NewRequest("GET", uri, nil)
		for k, v := range hdr {
			out.Header[k] = v
		}
		return out
	}
	tests := []struct {
		name    string
		expires string
		at      time.Time
		want    Reason
	}{
		{"fresh", "300", now.Add(-time.Minute), 0},
		{"expired", "60", now.Add(-2 * time.Minute), PresignExpired},
		{"an hour old but valid for a day", "86400", now.Add(-time.Hour), 0},
		{"longer than a week", "700000", now, Incomplete},
		{"exactly a week", "604800", now, 0},
		{"a week and a second", "604801", now, Incomplete},
		// 18446747674 s is 2^64 ns + about an hour: multiplied into a Duration it wraps to an hour.
		{"overflowing a Duration", "18446747674", now, Incomplete},
		{"overflowing int64", "99999999999999999999", now, Incomplete},
		{"negative", "-1", now, Incomplete},
		{"plus sign", "+300", now, Incomplete},
		{"not a number", "5m", now, Incomplete},
		{"fraction", "300.5", now, Incomplete},
		// Dated in the future: within the skew it is a client clock; beyond it, refused (a URL dated
		// 6 days ahead with a 7-day expiry would otherwise live 13 days).
		{"dated 14 minutes ahead", "300", now.Add(14 * time.Minute), 0},
		{"dated 16 minutes ahead", "300", now.Add(16 * time.Minute), Skewed},
		{"dated 6 days ahead", "604800", now.Add(6 * 24 * time.Hour), Skewed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := presign(tc.expires, tc.at)
			err := func() error {
				s, err := Parse(r)
				if err != nil {
					return err
				}
				if !s.Presigned || s.SecurityToken != "tok" || s.Service != "sts" {
					t.Errorf("parsed %+v", s)
				}
				if err := s.CheckTime(now); err != nil {
					return err
				}
				return s.Verify(r, nil, "secret", Options{})
			}()
			if got := reasonOf(err); got != tc.want {
				t.Errorf("got %v (%v), want %v", got, err, tc.want)
			}
		})
	}
	t.Run("scope date differs from X-Amz-Date", func(t *testing.T) {
		r := presign("300", now)
		day := now.Format("20060102")
		r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "%2F"+day+"%2F", "%2F"+now.AddDate(0, 0, -1).Format("20060102")+"%2F", 1)
		r.RequestURI = r.URL.RequestURI()
		checkScopeDate(t, resign(t, r, "secret"), now)
	})
	t.Run("tampered query", func(t *testing.T) {
		r := presign("300", now)
		r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "GetCallerIdentity", "GetSessionToken", 1)
		r.RequestURI = r.URL.RequestURI()
		s, err := Parse(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Verify(r, nil, "secret", Options{}); reasonOf(err) != Mismatch {
			t.Errorf("tampered presigned URL: %v", err)
		}
	})
}

// resign signs r again, as it stands, with the scope its credential names: a request whose
// signature is consistent, so that only the checks of CheckTime can refuse it.
func resign(t *testing.T, r *http.Request, secret string) *http.Request {
	t.Helper()
	s, err := Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	rawQuery := r.URL.RawQuery
	if s.Presigned {
		rawQuery = withoutSignature(rawQuery)
	}
	creq := canonicalRequest(r.Method, rawPath(r), rawQuery, requestHeader{r}, s.SignedHeaders, HashHex(nil), true)
	sig := Signature(SigningKey(secret, s.Scope), StringToSign(s.RawTimeBasic(), s.Scope, creq))
	if s.Presigned {
		r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Signature="+s.Signature, "X-Amz-Signature="+sig, 1)
		r.RequestURI = r.URL.RequestURI()
	} else {
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), s.Signature, sig, 1))
	}
	return r
}

// checkScopeDate checks that r, consistently signed for a scope whose date is not its
// X-Amz-Date's, verifies but is refused by CheckTime.
func checkScopeDate(t *testing.T, r *http.Request, now time.Time) {
	t.Helper()
	s, err := Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(r, nil, "secret", Options{}); err != nil {
		t.Fatalf("the re-signed request does not verify: %v", err)
	}
	if err := s.CheckTime(now); reasonOf(err) != Mismatch || !strings.Contains(err.Error(), "Date in Credential scope") {
		t.Errorf("scope dated %s, X-Amz-Date %s: got %v, want the scope date refused", s.Scope.Date, s.RawTime, err)
	}
}

// TestScopeDate: an Authorization header whose credential scope is dated the day before its
// X-Amz-Date (both within the skew window, just after midnight) is refused.
func TestScopeDate(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 5, 0, 0, time.UTC)
	r := signedRequest(t, "POST", "http://localhost/", "", nil, "sagemaker", now, aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"})
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/20261125/", "/20261124/", 1))
	checkScopeDate(t, resign(t, r, "secret"), now)
}

func TestParseAuthorization(t *testing.T) {
	const good = "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
	tests := []struct {
		name string
		in   string
		want Reason
	}{
		{"good", good, 0},
		{"no spaces after commas", strings.ReplaceAll(good, ", ", ","), 0},
		{"empty", "", Missing},
		{"other algorithm", "AWS4-HMAC-SHA512 Credential=x", Incomplete},
		{"v2", "AWS AKID:sig", Incomplete},
		{"no signature", strings.Split(good, ", Signature")[0], Incomplete},
		{"no credential", "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=" + strings.Repeat("a", 64), Incomplete},
		{"short credential", strings.Replace(good, "/iam/aws4_request", "/aws4_request", 1), Incomplete},
		{"bad date", strings.Replace(good, "20150830", "2015-08-30", 1), Incomplete},
		{"upper-case signature", strings.Replace(good, "5d672d", "5D672D", 1), Incomplete},
		{"short signature", strings.Replace(good, "5d672d", "", 1), Incomplete},
		{"host not signed", strings.Replace(good, "content-type;host;x-amz-date", "content-type;x-amz-date", 1), Mismatch},
		{"pair without =", good + ", junk", Incomplete},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAuthorization(tc.in)
			if got := reasonOf(err); got != tc.want {
				t.Fatalf("got %v (%v), want %v", got, err, tc.want)
			}
			if err == nil && (a.AccessKeyID != "AKID" || a.Service != "iam" || a.Region != "us-east-1" || len(a.SignedHeaders) != 3) {
				t.Errorf("parsed %+v", a)
			}
		})
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")
	f.Add("AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=;, Signature=")
	f.Add("AWS4-HMAC-SHA256 ,,,,=")
	f.Add("")
	f.Add("AWS4-HMAC-SHA256 Credential=a/20150830/b/c/aws4_request,SignedHeaders=host,Signature=" + strings.Repeat("0", 64))
	f.Fuzz(func(t *testing.T, h string) {
		a, err := ParseAuthorization(h)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			return
		}
		// Whatever parses must be complete and well-formed.
		if a.AccessKeyID == "" || a.Region == "" || a.Service == "" || len(a.Date) != 8 || !validSignature(a.Signature) {
			t.Fatalf("accepted an incomplete header %q: %+v", h, a)
		}
		host := false
		for _, s := range a.SignedHeaders {
			if s == "" || s != strings.ToLower(s) {
				t.Fatalf("bad signed header %q in %q", s, h)
			}
			host = host || s == "host"
		}
		if !host {
			t.Fatalf("accepted without host: %q", h)
		}
		// Re-rendering the parsed header parses to the same thing.
		again, err := ParseAuthorization(Algorithm + " Credential=" + a.AccessKeyID + "/" + a.Scope.String() +
			", SignedHeaders=" + strings.Join(a.SignedHeaders, ";") + ", Signature=" + a.Signature)
		if err != nil || again.Scope != a.Scope || again.Signature != a.Signature {
			t.Fatalf("round trip of %q: %+v, %v", h, again, err)
		}
	})
}

func TestNormalizePath(t *testing.T) {
	for in, want := range map[string]string{"": "/", "/": "/", "//": "/", "/a/../b": "/b", "/./a/": "/a/", "/a//b//": "/a/b/", "/..": "/"} {
		if got := NormalizePath(in); got != want {
			t.Errorf("NormalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkVerify measures Parse, CheckTime and Verify of an SDK-signed 1 KB JSON request.
func BenchmarkVerify(b *testing.B) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"ModelPackageName":"` + strings.Repeat("a", 1000) + `"}`)
	r := httptest.NewRequest("POST", "http://localhost:8080/", strings.NewReader(string(body)))
	r.Header.Set("X-Amz-Target", "SageMaker.DescribeModelPackage")
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, r, HashHex(body), "sagemaker", "us-east-1", now); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := Parse(r)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.CheckTime(now); err != nil {
			b.Fatal(err)
		}
		if err := s.Verify(r, body, "secret", Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCachedSigningKeyIsTheDerivedKey: the cache answers the key SigningKey derives for every
// secret and every part of the scope, and stays bounded when scopes keep changing.
func TestCachedSigningKeyIsTheDerivedKey(t *testing.T) {
	base := Scope{Date: "20261203", Region: "us-east-1", Service: "sagemaker"}
	variants := []struct {
		secret string
		scope  Scope
	}{
		{"secret", base}, {"secret2", base},
		{"secret", Scope{Date: "20261204", Region: base.Region, Service: base.Service}},
		{"secret", Scope{Date: base.Date, Region: "eu-west-1", Service: base.Service}},
		{"secret", Scope{Date: base.Date, Region: base.Region, Service: "s3"}},
	}
	for range 2 { // the second pass reads the cache
		for _, v := range variants {
			if got, want := cachedSigningKey(v.secret, v.scope), SigningKey(v.secret, v.scope); !hmac.Equal(got, want) {
				t.Errorf("cached key for %q %+v differs from the derived one", v.secret, v.scope)
			}
		}
	}
	for i := range 3 * maxSigningKeys {
		cachedSigningKey("secret", Scope{Date: strconv.Itoa(i), Region: "r", Service: "s"})
	}
	if n := signingKeys.n.Load(); n > maxSigningKeys {
		t.Errorf("the cache holds %d keys, more than %d", n, maxSigningKeys)
	}
}
