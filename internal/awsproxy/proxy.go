package awsproxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Config configures a Proxy.
type Config struct {
	CA *CA
	// API serves the decrypted requests: Slipway's API handler.
	API http.Handler
	// Local, if set, serves the plain (non-CONNECT) requests whose path is LocalPath: the
	// credentials endpoint, for when the API does not listen on loopback.
	Local     http.Handler
	LocalPath string
	Log       *slog.Logger
}

// Proxy is the loopback HTTPS proxy for old SDKs.
type Proxy struct {
	cfg   Config
	ln    net.Listener
	outer *http.Server
	inner *http.Server
	conns *chanListener
	// targets maps each TLS connection handed to the inner server to its CONNECT host.
	targets sync.Map
	wg      sync.WaitGroup
}

type targetKey struct{}

// New returns a Proxy; Listen starts it.
func New(cfg Config) *Proxy {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.Log = cfg.Log.With("component", "awsproxy")
	p := &Proxy{cfg: cfg}
	p.conns = newChanListener()
	p.inner = &http.Server{
		Handler:           http.HandlerFunc(p.forward),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    256 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if host, ok := p.targets.LoadAndDelete(c); ok {
				return context.WithValue(ctx, targetKey{}, host)
			}
			return ctx
		},
	}
	p.outer = &http.Server{
		Handler:           http.HandlerFunc(p.serveOuter),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelDebug),
	}
	return p
}

// Loopback reports whether addr's host is a loopback address (or "localhost").
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Listen opens the proxy's listener on addr, which must be a loopback address, and serves
// until Close.
func (p *Proxy) Listen(addr string) error {
	if !Loopback(addr) {
		return errs.E(errs.Invalid, "the job proxy listens on loopback only, not %q (give 127.0.0.1:PORT)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return errs.E(errs.Unavailable, "cannot listen on %s for the job proxy: %v", addr, err)
	}
	p.ln = loopbackOnly{ln}
	p.wg.Add(2)
	go func() { defer p.wg.Done(); p.outer.Serve(p.ln) }()
	go func() { defer p.wg.Done(); p.inner.Serve(p.conns) }()
	p.cfg.Log.Info("job proxy listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the bound address (host:port), once listening.
func (p *Proxy) Addr() string {
	if p.ln == nil {
		return ""
	}
	return p.ln.Addr().String()
}

// URL is the proxy's URL for HTTPS_PROXY.
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// Close stops the proxy: the listener closes, in-flight requests get until ctx is done.
func (p *Proxy) Close(ctx context.Context) error {
	err := p.outer.Shutdown(ctx)
	if ierr := p.inner.Shutdown(ctx); err == nil {
		err = ierr
	}
	p.conns.Close()
	p.wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// loopbackOnly drops connections whose peer is not loopback (defence in depth: the listener
// is bound to loopback already).
type loopbackOnly struct{ net.Listener }

func (l loopbackOnly) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if Loopback(c.RemoteAddr().String()) {
			return c, nil
		}
		c.Close()
	}
}

func refuse(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Connection", "close")
	w.WriteHeader(status)
	fmt.Fprintln(w, "slipway job proxy: "+msg)
}

func (p *Proxy) serveOuter(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		if p.cfg.Local != nil && r.Method == http.MethodGet && r.URL.Host == "" && r.URL.Path == p.cfg.LocalPath {
			p.cfg.Local.ServeHTTP(w, r)
			return
		}
		refuse(w, http.StatusForbidden, "only CONNECT to AWS API hosts (*.amazonaws.com:443) is served")
		return
	}
	host, err := ConnectTarget(r.RequestURI)
	if err != nil {
		p.cfg.Log.Info("CONNECT refused", "target", clip(r.RequestURI), "remote", r.RemoteAddr)
		refuse(w, http.StatusForbidden, errs.Message(err))
		return
	}
	cert, err := p.cfg.CA.leaf(host)
	if err != nil {
		refuse(w, http.StatusInternalServerError, "cannot make a certificate for "+host)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		refuse(w, http.StatusInternalServerError, "cannot take over the connection")
		return
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	// The outer server's header deadline may still be set on the connection; the tunnel's
	// requests get theirs from the inner server.
	conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		return
	}
	var raw net.Conn = conn
	if rw.Reader.Buffered() > 0 {
		raw = &bufferedConn{Conn: conn, r: rw.Reader}
	}
	tc := tls.Server(raw, &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if hello.ServerName != "" && strings.ToLower(hello.ServerName) != host {
				return nil, fmt.Errorf("the TLS server name %q is not the CONNECT host %q", clip(hello.ServerName), host)
			}
			return cert, nil
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err = tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		p.cfg.Log.Debug("TLS handshake in the tunnel failed", "host", host, "err", err)
		tc.Close()
		return
	}
	p.targets.Store(net.Conn(tc), host)
	if !p.conns.push(tc) {
		p.targets.Delete(net.Conn(tc))
		tc.Close()
	}
}

// forward hands a decrypted request to the API, Host header and all, so its signature holds.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	host, _ := r.Context().Value(targetKey{}).(string)
	if host == "" || hostOnly(r.Host) != host {
		refuse(w, http.StatusMisdirectedRequest, fmt.Sprintf("the request names host %q inside a tunnel to %q", clip(r.Host), host))
		return
	}
	p.cfg.API.ServeHTTP(w, r)
}

// bufferedConn reads what the CONNECT request's reader buffered before the connection.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// chanListener is a net.Listener fed with connections already accepted (and decrypted).
type chanListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
