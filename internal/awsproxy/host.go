package awsproxy

import (
	"net"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// awsSuffix is the domain of the AWS API hosts the proxy serves.
const awsSuffix = ".amazonaws.com"

// ConnectTarget parses the authority of a CONNECT request ("host:port") and returns the host,
// lower-cased, when it is an AWS API host on port 443: a DNS name of letters, digits and
// hyphens under amazonaws.com. Anything else (IP addresses, other ports, other domains,
// malformed names) is an errs.AccessDenied error.
func ConnectTarget(authority string) (string, error) {
	host, port, err := net.SplitHostPort(authority)
	if err != nil || port != "443" {
		return "", errs.E(errs.AccessDenied, "CONNECT %q refused: only AWS API hosts (*.amazonaws.com:443) are served", clip(authority))
	}
	host = strings.ToLower(host)
	if !AWSHost(host) {
		return "", errs.E(errs.AccessDenied, "CONNECT %q refused: only AWS API hosts (*.amazonaws.com:443) are served", clip(authority))
	}
	return host, nil
}

// AWSHost reports whether host (lower case, no port) is a DNS name under amazonaws.com.
func AWSHost(host string) bool {
	if len(host) > 253 || !strings.HasSuffix(host, awsSuffix) || len(host) == len(awsSuffix) {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}

// hostOnly is a Host header's host, lower-cased, without the port 443 it may name.
func hostOnly(h string) string {
	h = strings.ToLower(h)
	if host, port, err := net.SplitHostPort(h); err == nil && port == "443" {
		return host
	}
	return h
}
