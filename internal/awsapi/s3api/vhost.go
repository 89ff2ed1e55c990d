package s3api

import (
	"net"
	"net/http"
	"strings"

	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/awsapi/sigv4"
)

// VirtualHosts serves virtual-hosted–style S3 requests (the bucket in the host name:
// BUCKET.localhost[:port], BUCKET.s3.amazonaws.com, BUCKET.s3.REGION.amazonaws.com) by
// moving the bucket into the path before next routes them. Only the routing path changes:
// the signature is verified over the request as sent (its RequestURI). Requests signed for
// another service, and hosts that name no valid bucket, pass through untouched.
func VirtualHosts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b := BucketOfHost(r.Host); b != "" && signedForS3(r) {
			path, raw := r.URL.Path, r.URL.EscapedPath()
			if path == "/" || path == "" { // the bucket itself
				path, raw = "", ""
			}
			r.URL.Path = "/" + b + path
			r.URL.RawPath = "/" + b + raw
			if r.URL.RawPath == r.URL.Path {
				r.URL.RawPath = ""
			}
		}
		next.ServeHTTP(w, r)
	})
}

func signedForS3(r *http.Request) bool {
	s, err := sigv4.Parse(r)
	return err != nil || s.Service == "s3"
}

// BucketOfHost returns the bucket a virtual-hosted–style host names, or "".
func BucketOfHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	var b string
	switch {
	case strings.HasSuffix(host, ".localhost"):
		b = strings.TrimSuffix(host, ".localhost")
	case strings.HasSuffix(host, ".amazonaws.com"):
		rest := strings.TrimSuffix(host, ".amazonaws.com")
		// BUCKET.s3 | BUCKET.s3.REGION | BUCKET.s3-REGION
		i := strings.LastIndex(rest, ".s3")
		if i <= 0 {
			return ""
		}
		tail := rest[i+1:]
		if tail != "s3" && !strings.HasPrefix(tail, "s3.") && !strings.HasPrefix(tail, "s3-") {
			return ""
		}
		if strings.Count(tail, ".") > 1 {
			return ""
		}
		b = rest[:i]
	default:
		return ""
	}
	if artifacts.CheckBucketName(b) != nil {
		return ""
	}
	return b
}
