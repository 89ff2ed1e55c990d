package awsproxy_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/awsproxy"
	"github.com/slipway-ml/slipway/internal/identity"
)

func sealer(t *testing.T, b byte) *identity.Sealer {
	s, err := identity.NewSealer([]byte(strings.Repeat(string(rune('a'+b)), 32)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// start runs a proxy whose API echoes the host and path it was given.
func start(t *testing.T) (*awsproxy.Proxy, *awsproxy.CA) {
	t.Helper()
	ca, err := awsproxy.LoadCA(t.TempDir(), sealer(t, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s", r.Method, r.Host, r.URL.RequestURI())
	})
	p := awsproxy.New(awsproxy.Config{CA: ca, API: api, Local: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "local") }), LocalPath: "/creds"})
	if err := p.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p, ca
}

func client(t *testing.T, p *awsproxy.Proxy, ca *awsproxy.CA) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Certificate())
	u, _ := url.Parse(p.URL())
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(u), TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func TestForwardsAWSHostsWithTheirHost(t *testing.T) {
	p, ca := start(t)
	c := client(t, p, ca)
	for _, u := range []string{"https://sts.amazonaws.com/?Action=GetCallerIdentity", "https://my-bucket.s3.amazonaws.com/key/a.csv", "https://s3.eu-west-1.amazonaws.com/b/k", "https://api.sagemaker.us-east-1.amazonaws.com/"} {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		pu, _ := url.Parse(u)
		if want := "GET " + pu.Host + " " + pu.RequestURI(); string(body) != want {
			t.Errorf("%s: the API got %q, want %q", u, body, want)
		}
	}
}

func TestRefusesOtherTargets(t *testing.T) {
	p, _ := start(t)
	for _, target := range []string{"example.com:443", "127.0.0.1:443", "[::1]:443", "sts.amazonaws.com:80", "amazonaws.com:443",
		"sts.amazonaws.com.evil.example:443", "evil.example/sts.amazonaws.com:443", "sts.amazonaws.com", "sts..amazonaws.com:443", "xn--.amazonaws.com:443"} {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Errorf("CONNECT %s: %v", target, err)
			continue
		}
		if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("CONNECT %s: %d, want a refusal", target, resp.StatusCode)
		}
	}
	// Plain proxying is refused; only the local path is served.
	for path, want := range map[string]int{"http://example.com/": 403, "/creds": 200, "/other": 403} {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil || resp.StatusCode != want {
			t.Errorf("GET %s: %v %v, want %d", path, resp, err, want)
		}
	}
}

// A request inside a tunnel must name the tunnel's host.
func TestRefusesAnotherHostInsideATunnel(t *testing.T) {
	p, ca := start(t)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "CONNECT sts.amazonaws.com:443 HTTP/1.1\r\nHost: sts.amazonaws.com:443\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Certificate())
	tc := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "sts.amazonaws.com"})
	fmt.Fprintf(tc, "GET / HTTP/1.1\r\nHost: iam.amazonaws.com\r\n\r\n")
	resp, err = http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("another Host inside the tunnel: %v %v, want 421", resp, err)
	}
	// A TLS server name other than the tunnel's fails the handshake.
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatalf("dialling the proxy again: %v", err)
	}
	defer c2.Close()
	fmt.Fprintf(c2, "CONNECT sts.amazonaws.com:443 HTTP/1.1\r\nHost: sts.amazonaws.com:443\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(c2), nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	if err := tls.Client(c2, &tls.Config{RootCAs: pool, ServerName: "iam.amazonaws.com"}).Handshake(); err == nil {
		t.Error("a handshake for another server name succeeded")
	}
}

// The proxy binds loopback only: Listen refuses other addresses, and the bound port is not
// reachable through this machine's other addresses.
func TestLoopbackOnly(t *testing.T) {
	ca, err := awsproxy.LoadCA(t.TempDir(), sealer(t, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0", "example.com:0"} {
		if err := awsproxy.New(awsproxy.Config{CA: ca, API: http.NotFoundHandler()}).Listen(addr); err == nil {
			t.Errorf("Listen(%q) accepted a non-loopback address", addr)
		}
	}
	p, _ := start(t)
	_, port, _ := net.SplitHostPort(p.Addr())
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	tried := 0
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		tried++
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(ipn.IP.String(), port), time.Second); err == nil {
			c.Close()
			t.Errorf("the proxy is reachable at %s", ipn.IP)
		}
	}
	t.Logf("tried %d non-loopback addresses", tried)
}

// The CA is made once, kept sealed, reloaded as is; a key that does not open (another master
// key) or a tampered certificate makes a new one.
func TestCAPersistsSealed(t *testing.T) {
	dir := t.TempDir()
	a, err := awsproxy.LoadCA(dir, sealer(t, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	cert := a.Certificate()
	if !cert.IsCA || !cert.PermittedDNSDomainsCritical || fmt.Sprint(cert.PermittedDNSDomains) != "[amazonaws.com]" || cert.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("CA certificate: IsCA %v, constraints %v %v, key %v", cert.IsCA, cert.PermittedDNSDomainsCritical, cert.PermittedDNSDomains, cert.PublicKeyAlgorithm)
	}
	fi, err := os.Stat(filepath.Join(dir, awsproxy.KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, awsproxy.KeyFile))
	if strings.Contains(string(raw), "PRIVATE KEY") {
		t.Error("the key is stored in the clear")
	}
	b, err := awsproxy.LoadCA(dir, sealer(t, 0), nil)
	if err != nil || !b.Certificate().Equal(cert) {
		t.Errorf("reload: %v, same certificate %v", err, err == nil && b.Certificate().Equal(cert))
	}
	c, err := awsproxy.LoadCA(dir, sealer(t, 1), nil)
	if err != nil || c.Certificate().Equal(cert) {
		t.Errorf("another master key: %v; want a new CA", err)
	}
}

func FuzzConnectTarget(f *testing.F) {
	for _, s := range []string{"sts.amazonaws.com:443", "b.s3.amazonaws.com:443", "example.com:443", "[::1]:443", "amazonaws.com:443",
		"STS.AMAZONAWS.COM:443", "a..amazonaws.com:443", "-a.amazonaws.com:443", "sts.amazonaws.com:0443", "x.amazonaws.com.:443"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, authority string) {
		host, err := awsproxy.ConnectTarget(authority)
		if err != nil {
			if host != "" {
				t.Fatalf("refused %q but returned %q", authority, host)
			}
			return
		}
		if !strings.HasSuffix(host, ".amazonaws.com") || host != strings.ToLower(host) || net.ParseIP(host) != nil ||
			strings.ContainsAny(host, ":/[]@ \t\r\n%") || strings.Contains(host, "..") || !awsproxy.AWSHost(host) {
			t.Fatalf("accepted %q as %q", authority, host)
		}
		if !strings.HasSuffix(authority, ":443") {
			t.Fatalf("accepted %q, not on port 443", authority)
		}
	})
}

// Bodies stream through the tunnel whole, with Expect: 100-continue as SDKs send uploads, one
// request after another on a kept-alive connection.
func TestStreamsBodies(t *testing.T) {
	ca, err := awsproxy.LoadCA(t.TempDir(), sealer(t, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%d %v", n, err)
	})
	p := awsproxy.New(awsproxy.Config{CA: ca, API: api})
	if err := p.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	c := client(t, p, ca)
	c.Transport.(*http.Transport).ExpectContinueTimeout = 5 * time.Second
	const size = 8 << 20
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest("PUT", "https://my-bucket.s3.amazonaws.com/big", io.LimitReader(zeros{}, size))
		req.ContentLength = size
		req.Header.Set("Expect", "100-continue")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != fmt.Sprintf("%d <nil>", size) {
			t.Errorf("PUT %d: the API read %q", i, body)
		}
	}
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) { clear(b); return len(b), nil }
