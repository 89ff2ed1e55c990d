package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestSignedFor(t *testing.T) {
	for _, tc := range []struct {
		header, query, want string
	}{
		{"", "", ""},
		{"AWS4-HMAC-SHA256 Credential=AKIA/20261203/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab", "", "s3"},
		{"AWS4-HMAC-SHA256 Credential=AKIA/20261203/us-east-1/signin/aws4_request, SignedHeaders=host, Signature=ab", "", "signin"},
		{"AWS4-HMAC-SHA256 Credential=garbage, Signature=ab", "", "unknown"},
		{"AWS AKIA:sig", "", "s3"},
		{"", "X-Amz-Credential=AKIA%2F20261203%2Fus-east-1%2Fs3%2Faws4_request", "s3"},
		{"Bearer x", "", ""},
	} {
		r := &http.Request{Header: http.Header{}, URL: &url.URL{RawQuery: tc.query}}
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		if got := signedFor(r); got != tc.want {
			t.Errorf("signedFor(%q, %q) = %q, want %q", tc.header, tc.query, got, tc.want)
		}
	}
}

// FuzzSignedFor: the console's router never panics on a header or query, and hands the
// console only what is unsigned or signed for the console's own service.
func FuzzSignedFor(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIA/20261203/us-east-1/s3/aws4_request, Signature=ab", "")
	f.Add("", "X-Amz-Credential=a/b/c/signin/aws4_request")
	f.Add("AWS4-HMAC-SHA256 Credential=//////", "X-Amz-Credential=%2F%2F")
	f.Fuzz(func(t *testing.T, header, query string) {
		r := &http.Request{Header: http.Header{}, URL: &url.URL{RawQuery: query}}
		r.Header.Set("Authorization", header)
		got := signedFor(r)
		if got == "" && (strings.HasPrefix(header, "AWS4-HMAC-SHA256 ") || strings.HasPrefix(header, "AWS ")) {
			t.Fatalf("a signed request (%q) is taken as unsigned", header)
		}
	})
}
