// Package egress decides which outside addresses the server may call on a user's behalf (the
// HTTP endpoints of EventBridge API destinations). A control plane that calls any URL a user
// names is a server-side request forgery risk: it reaches the loopback interface, the private
// network and cloud metadata services with the server's network position. So nothing is
// allowed until an operator lists it (`slipway server --webhook-allow`).
//
// Invariants:
//   - An empty list allows nothing.
//   - An IP range entry (CIDR, or one address) is checked against the address the connection
//     is actually made to, after name resolution, so a name that resolves (or later
//     re-resolves) into a range not listed is refused.
//   - A host name entry ("hooks.example.com", or "*.example.com" for its subdomains) trusts
//     whatever that name resolves to: the operator named it.
//   - Redirects are not followed and no proxy from the environment is used.
package egress

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events/webhooks"
)

// Allow is an allow-list of destinations.
type Allow struct {
	nets     []netip.Prefix
	hosts    map[string]bool
	suffixes []string // ".example.com" for "*.example.com"
}

// Parse reads a comma-separated list of entries: CIDRs (10.0.0.0/8, fd00::/8), addresses
// (127.0.0.1), host names (hooks.example.com) and wildcard host names (*.example.com).
// Spaces around entries are ignored; "" is the empty list.
func Parse(spec string) (*Allow, error) {
	a := &Allow{hosts: map[string]bool{}}
	for _, e := range strings.Split(spec, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if p, err := netip.ParsePrefix(e); err == nil {
			a.nets = append(a.nets, p.Masked())
			continue
		}
		if ip, err := netip.ParseAddr(e); err == nil {
			ip = ip.Unmap()
			a.nets = append(a.nets, netip.PrefixFrom(ip, ip.BitLen()))
			continue
		}
		host := strings.ToLower(e)
		wild := false
		if rest, ok := strings.CutPrefix(host, "*."); ok {
			host, wild = rest, true
		}
		if !validHost(host) {
			return nil, errs.E(errs.Invalid, "--webhook-allow entry %q is neither a CIDR, an IP address nor a host name (a.example.com or *.example.com)", e)
		}
		if wild {
			a.suffixes = append(a.suffixes, "."+host)
		} else {
			a.hosts[host] = true
		}
	}
	return a, nil
}

// validHost reports whether h is a DNS name of letters, digits and hyphens in dot-separated
// labels (with at least one letter somewhere, so that "1.2.3" is not taken for a name).
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	letter := false
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			switch {
			case c >= 'a' && c <= 'z':
				letter = true
			case c >= '0' && c <= '9', c == '-':
			default:
				return false
			}
		}
	}
	return letter
}

// Empty reports whether the list allows nothing.
func (a *Allow) Empty() bool {
	return a == nil || len(a.nets) == 0 && len(a.hosts) == 0 && len(a.suffixes) == 0
}

// String lists the entries, canonical and sorted.
func (a *Allow) String() string {
	if a == nil {
		return ""
	}
	var out []string
	for _, p := range a.nets {
		out = append(out, p.String())
	}
	for h := range a.hosts {
		out = append(out, h)
	}
	for _, s := range a.suffixes {
		out = append(out, "*"+s)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// HostListed reports whether a host name is listed by name.
func (a *Allow) HostListed(host string) bool {
	if a == nil {
		return false
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if a.hosts[host] {
		return true
	}
	for _, s := range a.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// AddrAllowed reports whether an address lies in a listed range.
func (a *Allow) AddrAllowed(ip netip.Addr) bool {
	if a == nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range a.nets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Refused is the error of a destination the list does not allow.
func refused(what string) error {
	return errs.E(errs.AccessDenied, "%s is not on this server's egress allow-list (slipway server --webhook-allow)", what)
}

// CheckURL checks what can be checked before connecting: an http or https URL with a host,
// no user information, and, when the host is an IP literal, an address in a listed range.
// A host name not listed by name is checked again when the connection is made.
func (a *Allow) CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Hostname() == "" {
		return nil, errs.E(errs.Invalid, "%q is not an http(s) URL with a host", raw)
	}
	if u.User != nil {
		return nil, errs.E(errs.Invalid, "the URL %q carries user information; use a connection's authorization instead", raw)
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if !a.AddrAllowed(ip) {
			return nil, refused("address " + host)
		}
		return u, nil
	}
	if !validHost(strings.ToLower(strings.TrimSuffix(host, "."))) {
		return nil, errs.E(errs.Invalid, "%q is not a valid host name", host)
	}
	if !a.HostListed(host) && len(a.nets) == 0 {
		return nil, refused("host " + host)
	}
	return u, nil
}

// Sender calls API destinations within the allow-list (webhooks.Sender).
type Sender struct {
	allow  *Allow
	client *http.Client
}

var _ webhooks.Sender = (*Sender)(nil)

// NewSender returns a Sender whose calls give up after timeout.
func NewSender(a *Allow, timeout time.Duration) *Sender {
	return &Sender{allow: a, client: a.Client(timeout)}
}

// Send makes one call and returns the answer's status (its body is read, at most 64 KiB,
// and dropped). A destination off the list is an AccessDenied error; a transport failure is
// an Unavailable error whose message names neither the URL nor any header.
func (s *Sender) Send(ctx context.Context, r webhooks.Request) (int, error) {
	code, _, err := s.Fetch(ctx, r, 0)
	return code, err
}

// Fetch makes one call as Send does and returns its answer's body too (at most limit bytes;
// the rest, up to 64 KiB, is read and dropped).
func (s *Sender) Fetch(ctx context.Context, r webhooks.Request, limit int64) (int, []byte, error) {
	if _, err := s.allow.CheckURL(r.URL); err != nil {
		return 0, nil, err
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return 0, nil, errs.E(errs.Invalid, "the call cannot be built")
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			return 0, nil, e
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, errs.E(errs.Unavailable, "%s", err.Error())
	}
	defer resp.Body.Close()
	var out []byte
	if limit > 0 {
		if out, err = io.ReadAll(io.LimitReader(resp.Body, limit)); err != nil {
			return 0, nil, errs.E(errs.Unavailable, "reading the answer failed: %s", err.Error())
		}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, out, nil
}

// Client returns an HTTP client that connects only where the list allows (checked on the
// address each connection is made to), follows no redirect, uses no proxy, and gives up on a
// request after timeout.
func (a *Allow) Client(timeout time.Duration) *http.Client {
	plain := &net.Dialer{Timeout: timeout}
	checked := &net.Dialer{Timeout: timeout, Control: func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return refused("address " + address)
		}
		if !a.AddrAllowed(ap.Addr()) {
			return refused("address " + ap.Addr().String())
		}
		return nil
	}}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, refused("address " + addr)
			}
			if _, err := netip.ParseAddr(host); err != nil && a.HostListed(host) {
				return plain.DialContext(ctx, network, addr)
			}
			return checked.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
