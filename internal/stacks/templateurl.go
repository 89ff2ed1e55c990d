package stacks

import (
	"context"
	"net/url"
	"strings"

	"github.com/slipway-ml/slipway/internal/identity"
)

// TemplateSource reads the template a TemplateURL names, as the caller (the composition root
// implements it over the S3 API's objects, so bucket policies and IAM decide).
type TemplateSource interface {
	ReadTemplate(ctx context.Context, c identity.Call, bucket, key string) (string, error)
}

// MaxTemplateURLBytes is CloudFormation's limit on a template read from S3.
const MaxTemplateURLBytes = 1 << 20

// S3Location reads a TemplateURL: the bucket and key of an object of this server's S3. It
// accepts path-style URLs on one of the server's own endpoints (own reports whether a
// host[:port] is one: http(s)://ENDPOINT/BUCKET/KEY) and AWS's forms,
// https://BUCKET.s3.amazonaws.com/KEY, https://BUCKET.s3.REGION.amazonaws.com/KEY,
// https://s3.amazonaws.com/BUCKET/KEY and https://s3.REGION.amazonaws.com/BUCKET/KEY (and
// s3-REGION); anything else is refused. Nothing is fetched from the URL's host.
func S3Location(raw string, own func(host string) bool) (bucket, key string, err error) {
	bad := func(why string) (string, string, error) {
		return "", "", invalid("TemplateURL %q %s: give the URL of an object of this server's S3 (http(s)://ENDPOINT/BUCKET/KEY or https://BUCKET.s3.amazonaws.com/KEY)", raw, why)
	}
	if len(raw) > 1024 {
		return bad("is longer than 1024 characters")
	}
	u, perr := url.Parse(raw)
	if perr != nil || u.Host == "" || u.Opaque != "" {
		return bad("is not a URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return bad("is not http(s)")
	}
	if u.User != nil || u.Fragment != "" {
		return bad("carries user information or a fragment")
	}
	if v := u.Query(); len(v) > 1 || (len(v) == 1 && !v.Has("versionId")) {
		return bad("has query parameters other than versionId (not supported)")
	}
	if u.Query().Has("versionId") {
		return bad("names an object version (not supported)")
	}
	host := strings.ToLower(u.Host)
	path := strings.TrimPrefix(u.Path, "/")
	hostname := strings.ToLower(u.Hostname())
	switch {
	case own != nil && own(host):
		bucket, key, _ = strings.Cut(path, "/")
	case u.Scheme == "https" && u.Port() == "" && awsS3Host(hostname):
		bucket, key, _ = strings.Cut(path, "/")
	case u.Scheme == "https" && u.Port() == "" && strings.Contains(hostname, ".s3") && awsS3Host(hostname[strings.Index(hostname, ".s3")+1:]):
		bucket, key = hostname[:strings.Index(hostname, ".s3")], path
	default:
		return bad("does not name this server's S3")
	}
	if bucket == "" || key == "" {
		return bad("names no bucket and key")
	}
	return bucket, key, nil
}

// awsS3Host reports whether h is an S3 service host name: s3.amazonaws.com,
// s3.REGION.amazonaws.com or s3-REGION.amazonaws.com.
func awsS3Host(h string) bool {
	rest, ok := strings.CutSuffix(h, ".amazonaws.com")
	if !ok {
		return false
	}
	if rest == "s3" {
		return true
	}
	region, ok := strings.CutPrefix(rest, "s3.")
	if !ok {
		region, ok = strings.CutPrefix(rest, "s3-")
	}
	if !ok || region == "" {
		return false
	}
	for _, c := range region {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// TemplateBody resolves a call's template: its TemplateBody, or the object its TemplateURL
// names read as the caller. Giving both is an error; giving neither returns "".
func (s *Service) TemplateBody(ctx context.Context, c identity.Call, body, rawURL string) (string, error) {
	if rawURL == "" {
		return body, nil
	}
	if body != "" {
		return "", invalid("Specify exactly one of TemplateBody and TemplateURL.")
	}
	if s.templates == nil {
		return "", invalid("TemplateURL is not supported by this server: pass the template as TemplateBody")
	}
	bucket, key, err := S3Location(rawURL, s.ownHost)
	if err != nil {
		return "", err
	}
	out, err := s.templates.ReadTemplate(ctx, c, bucket, key)
	if err != nil {
		return "", err
	}
	if out == "" {
		return "", invalid("TemplateURL %s names an empty object", rawURL)
	}
	return out, nil
}
