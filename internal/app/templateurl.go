package app

import (
	"context"
	"io"
	"net"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/stacks"
)

// CloudFormation's TemplateURL: the object of this server's S3 a URL names, read as the
// caller through the artifacts service (so IAM and bucket policies decide, and the read is
// audited). Nothing is fetched from another host.

// templateSource reads templates for package stacks.
type templateSource struct{ a *App }

var _ stacks.TemplateSource = templateSource{}

func (t templateSource) ReadTemplate(ctx context.Context, c identity.Call, bucket, key string) (string, error) {
	_, body, err := t.a.Artifacts.GetObject(ctx, c.Caller, bucket, key, nil)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return "", errs.E(errs.Invalid, "TemplateURL: s3://%s/%s does not exist", bucket, key).WithCode("ValidationError")
		}
		if errs.Is(err, errs.AccessDenied) {
			return "", errs.E(errs.AccessDenied, "TemplateURL: %s", errs.Message(err))
		}
		return "", err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, stacks.MaxTemplateURLBytes+1))
	if err != nil {
		return "", errs.E(errs.Internal, "cannot read s3://%s/%s", bucket, key, err)
	}
	if len(data) > stacks.MaxTemplateURLBytes {
		return "", errs.E(errs.Invalid, "TemplateURL: s3://%s/%s is larger than %d bytes", bucket, key, stacks.MaxTemplateURLBytes).WithCode("ValidationError")
	}
	return string(data), nil
}

// ownS3Host reports whether host[:port] reaches this server's API: its port is the API's, and
// its host is the listen address, or a loopback name when the API listens on loopback, or any
// name when it listens on every interface.
func (a *App) ownS3Host(hostport string) bool {
	addr := a.apiAddr.Load()
	if addr == nil {
		return false
	}
	lhost, lport, err := net.SplitHostPort(*addr)
	if err != nil {
		return false
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, "80"
	}
	if port != lport {
		return false
	}
	host, lhost = strings.Trim(strings.ToLower(host), "[]"), strings.ToLower(lhost)
	if host == lhost {
		return true
	}
	lip := net.ParseIP(lhost)
	if lhost == "" || lip != nil && lip.IsUnspecified() {
		return true
	}
	loopback := func(h string) bool {
		ip := net.ParseIP(h)
		return h == "localhost" || ip != nil && ip.IsLoopback()
	}
	return loopback(lhost) && loopback(host)
}
