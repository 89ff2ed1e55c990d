package s3api

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestBucketOfHost(t *testing.T) {
	for host, want := range map[string]string{
		"ds-data.localhost:9330":                    "ds-data",
		"ds-data.localhost":                         "ds-data",
		"my.bucket.localhost":                       "my.bucket",
		"ds-data.s3.amazonaws.com":                  "ds-data",
		"ds-data.s3.us-east-1.amazonaws.com":        "ds-data",
		"ds-data.s3-us-west-2.amazonaws.com":        "ds-data",
		"s3.amazonaws.com":                          "",
		"s3.us-east-1.amazonaws.com":                "",
		"localhost:9330":                            "",
		"127.0.0.1:9330":                            "",
		"Bad_Name.localhost":                        "",
		"sts.amazonaws.com":                         "",
		"ds-data.sagemaker.us-east-1.amazonaws.com": "",
	} {
		if got := BucketOfHost(host); got != want {
			t.Errorf("BucketOfHost(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestVirtualHostsRewritesOnlyTheRoutingPath(t *testing.T) {
	var gotPath, gotRaw, gotURI string
	h := VirtualHosts(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotRaw, gotURI = r.URL.Path, r.URL.EscapedPath(), r.RequestURI
	}))
	for _, c := range []struct{ host, uri, path, raw string }{
		{"ds-data.localhost:9330", "/dir/a%20b.txt", "/ds-data/dir/a b.txt", "/ds-data/dir/a%20b.txt"},
		{"ds-data.localhost:9330", "/?list-type=2", "/ds-data", "/ds-data"},
		{"127.0.0.1:9330", "/ds-data/k", "/ds-data/k", "/ds-data/k"},
	} {
		r := httptest.NewRequest(http.MethodGet, c.uri, nil)
		r.Host = c.host
		h.ServeHTTP(httptest.NewRecorder(), r)
		if gotPath != c.path || gotRaw != c.raw || gotURI != c.uri {
			t.Errorf("%s%s: path %q raw %q uri %q, want %q %q %q", c.host, c.uri, gotPath, gotRaw, gotURI, c.path, c.raw, c.uri)
		}
	}
}

func TestStoredEncodingDropsAWSChunked(t *testing.T) {
	for in, want := range map[string]string{"aws-chunked": "", "aws-chunked,gzip": "gzip", "gzip, aws-chunked": "gzip", "gzip": "gzip", "": ""} {
		if got := storedEncoding(in); got != want {
			t.Errorf("storedEncoding(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCopySource(t *testing.T) {
	for in, want := range map[string][2]string{
		"ds-data/a/b.txt":          {"ds-data", "a/b.txt"},
		"/ds-data/a%20b%2Bc.txt":   {"ds-data", "a b+c.txt"},
		"ds-data/k?versionId=null": {"ds-data", "k"},
		"ds-data":                  {"", ""},
		"/ds-data/":                {"", ""},
		"ds-data/%zz":              {"", ""},
	} {
		b, k, err := copySource(in)
		if [2]string{b, k} != want || (err != nil) != (want[0] == "") {
			t.Errorf("copySource(%q) = %q %q %v, want %q", in, b, k, err, want)
		}
	}
}

// TestURLEncoding: encoding-type=url writes keys as S3 does, and what it writes decodes back.
func TestURLEncoding(t *testing.T) {
	for key, want := range map[string]string{
		"dir/a b+c%d~é.txt": "dir/a+b%2Bc%25d%7E%C3%A9.txt",
		"x*y/z&q=1":         "x*y/z%26q%3D1",
		"plain":             "plain",
	} {
		got := urlEncode(key, true)
		if got != want {
			t.Errorf("urlEncode(%q) = %q, want %q", key, got, want)
		}
		if back, err := url.QueryUnescape(got); err != nil || back != key {
			t.Errorf("%q decodes to %q %v", got, back, err)
		}
		if urlEncode(key, false) != key {
			t.Errorf("urlEncode(%q, false) changed it", key)
		}
	}
}
