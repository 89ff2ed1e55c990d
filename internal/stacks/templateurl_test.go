package stacks

import (
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/errs"
)

func own(h string) bool { return h == "127.0.0.1:9330" || h == "localhost:9330" }

func TestS3Location(t *testing.T) {
	for raw, want := range map[string]string{
		"http://127.0.0.1:9330/b/k/x.yml":                "b k/x.yml",
		"https://localhost:9330/b/k":                     "b k",
		"https://b.s3.amazonaws.com/k/x.yml":             "b k/x.yml",
		"https://my-b.s3.us-east-1.amazonaws.com/k":      "my-b k",
		"https://s3.amazonaws.com/b/k":                   "b k",
		"https://s3.eu-west-1.amazonaws.com/b/k":         "b k",
		"https://s3-eu-west-1.amazonaws.com/b/k":         "b k",
		"https://b.s3-us-west-2.amazonaws.com/deep/k.js": "b deep/k.js",
	} {
		b, k, err := S3Location(raw, own)
		if err != nil || b+" "+k != want {
			t.Errorf("S3Location(%q) = %q %q, %v; want %q", raw, b, k, err, want)
		}
	}
	for _, raw := range []string{
		"https://example.com/b/k", "http://127.0.0.1:9331/b/k", "http://169.254.169.254/latest", "file:///etc/passwd",
		"https://b.s3.amazonaws.com:8443/k", "http://b.s3.amazonaws.com/k", "https://s3.amazonaws.com.evil.com/b/k",
		"https://u:p@s3.amazonaws.com/b/k", "https://s3.amazonaws.com/b", "https://s3.amazonaws.com/b/k?versionId=1",
		"https://evil.com/.s3.amazonaws.com/b/k", "https://b.s3.evil.amazonaws.com.x/k",
	} {
		if _, _, err := S3Location(raw, own); !errs.Is(err, errs.Invalid) {
			t.Errorf("S3Location(%q) = %v, want Invalid", raw, err)
		}
	}
}

func FuzzS3Location(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:9330/b/k", "https://b.s3.amazonaws.com/k", "https://s3.us-east-1.amazonaws.com/b/k", "https://x.s3.y/k", "http://[::1]:9330/b/k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		b, k, err := S3Location(raw, own)
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("S3Location(%q): %v, want Invalid", raw, err)
			}
			return
		}
		if b == "" || k == "" {
			t.Fatalf("S3Location(%q) = %q, %q without an error", raw, b, k)
		}
		lower := strings.ToLower(raw)
		if !strings.Contains(lower, "127.0.0.1:9330") && !strings.Contains(lower, "localhost:9330") && !strings.Contains(lower, ".amazonaws.com") {
			t.Fatalf("S3Location(%q) accepted a URL naming no own host", raw)
		}
	})
}
