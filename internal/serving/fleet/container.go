package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/executor"
	"github.com/slipway-ml/slipway/internal/images"
	"github.com/slipway-ml/slipway/internal/inference"
	"github.com/slipway-ml/slipway/internal/randid"
)

// Processes is what the container runtime needs of an executor (executor.Executor has it).
type Processes interface {
	Start(ctx context.Context, s executor.Spec) (executor.Handle, error)
	Wait(ctx context.Context, h executor.Handle) (executor.Exit, error)
	Stop(ctx context.Context, h executor.Handle, grace time.Duration) error
	Logs(ctx context.Context, h executor.Handle, follow bool) (io.ReadCloser, error)
}

// remover is what an executor that keeps per-process state (executor/local) offers to delete it.
type remover interface {
	Remove(ctx context.Context, h executor.Handle) error
}

// The serving contract's environment: the port the model server must listen on (on 127.0.0.1).
const (
	EnvBindToPort = "SAGEMAKER_BIND_TO_PORT"
	EnvPort       = "PORT"
)

// Headers of the serving contract.
const (
	HeaderCustomAttributes = "X-Amzn-Sagemaker-Custom-Attributes"
)

// ContainerOptions configure the container-contract runtime. Zero durations take the defaults.
type ContainerOptions struct {
	Exec Processes
	// Dir is an absolute directory the runtime owns: one subdirectory per child process, whose
	// opt-ml/ is the child's /opt/ml (with the model directory mounted read-only at
	// /opt/ml/model) and whose handle file lets SweepContainers stop what a crashed server left.
	Dir string
	// Command returns the serve command (Command[0] absolute) and extra environment of a model's
	// image; ImageLoader sets it from images.Table.ResolveServing.
	Command func(m ModelSpec) ([]string, map[string]string, error)
	Log     *slog.Logger
	// ReadyTimeout bounds one start: the child must answer GET /ping with 200 within it
	// (default 2m). StopGrace is between SIGTERM and SIGKILL when an instance closes (default 5s).
	ReadyTimeout, StopGrace time.Duration
	// InvokeTimeout bounds one request (default 60s, SageMaker's).
	InvokeTimeout time.Duration
	// RestartMin and RestartMax bound the backoff before restarting a dead child (default
	// 250ms, 30s); it doubles while restarts fail and resets once a child has run for a minute.
	RestartMin, RestartMax time.Duration
	// RestartAfterPings is how many consecutive failed pings make a running child count as hung:
	// it is killed and restarted like a dead one (default 10: with the fleet's health check
	// every second, about ten seconds).
	RestartAfterPings int
}

func (o *ContainerOptions) defaults() {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ReadyTimeout, 2*time.Minute)
	def(&o.StopGrace, 5*time.Second)
	def(&o.InvokeTimeout, 60*time.Second)
	def(&o.RestartMin, 250*time.Millisecond)
	def(&o.RestartMax, 30*time.Second)
	if o.RestartAfterPings <= 0 {
		o.RestartAfterPings = 10
	}
}

// ImageLoader is a server's Loader: resolve (images.Table.ResolveServing) decides per model's
// image; images.KindInProcess models load through inProcess (ModelLoader(inference.LoadDir)),
// the others start their serve command under the container contract with containers.
func ImageLoader(resolve func(image string, env map[string]string) (images.Runtime, error), inProcess Loader, containers ContainerOptions) Loader {
	containers.Command = func(m ModelSpec) ([]string, map[string]string, error) {
		rt, err := resolve(m.Image, m.Environment)
		if err != nil {
			return nil, nil, err
		}
		return rt.Command, rt.Env, nil
	}
	container := ContainerLoader(containers)
	return func(ctx context.Context, m ModelSpec, n int) (Instance, error) {
		rt, err := resolve(m.Image, m.Environment)
		if err != nil {
			return nil, err
		}
		if rt.Kind == images.KindInProcess {
			return inProcess(ctx, m, n)
		}
		return container(ctx, m, n)
	}
}

// ContainerLoader returns the Loader of the container-contract runtime: each instance is the
// model's serve command run as a child process (through o.Exec) with the model directory at
// /opt/ml/model, listening on a private loopback port named by SAGEMAKER_BIND_TO_PORT and
// PORT. Load returns once the child answers GET /ping with 200; requests are proxied to POST
// /invocations. A child that dies is restarted with backoff; meanwhile Ping and Invoke fail
// with ErrUnavailable.
func ContainerLoader(o ContainerOptions) Loader {
	o.defaults()
	log := o.Log.With("component", "fleet.container")
	ports := &portSet{used: map[int]bool{}}
	return func(ctx context.Context, m ModelSpec, n int) (Instance, error) {
		if o.Exec == nil || o.Command == nil || !filepath.IsAbs(o.Dir) {
			return nil, errs.E(errs.Internal, "the container runtime is not configured (executor, command resolver, absolute directory)")
		}
		cmd, env, err := o.Command(m)
		if err != nil {
			return nil, err
		}
		if len(cmd) == 0 || !filepath.IsAbs(cmd[0]) {
			return nil, errs.E(errs.Invalid, "image %s: the serve command %q must start with an absolute path", m.Image, cmd)
		}
		if !filepath.IsAbs(m.ModelDir) {
			return nil, errs.E(errs.Invalid, "model directory %q must be absolute", m.ModelDir)
		}
		c := &container{o: &o, ports: ports, log: log.With("image", m.Image, "instance", n), model: m, cmd: cmd, env: env}
		c.closing = make(chan struct{})
		c.done = make(chan struct{})
		ch, err := c.start(ctx)
		if err != nil {
			return nil, err
		}
		c.child = ch
		go c.supervise()
		return c, nil
	}
}

// container is one instance: the current child and the supervisor that restarts it.
type container struct {
	o     *ContainerOptions
	ports *portSet
	log   *slog.Logger
	model ModelSpec
	cmd   []string
	env   map[string]string

	mu      sync.Mutex
	child   *child // nil while restarting
	why     string // why there is no child
	closing chan struct{}
	done    chan struct{} // the supervisor ended
	closed  bool
	failed  int // consecutive failed pings of child
}

// child is one started process.
type child struct {
	id     string
	dir    string // <Dir>/<id>
	handle executor.Handle
	port   int
	base   string // http://127.0.0.1:port
	client *http.Client
	exited chan executor.Exit // receives once
	start  time.Time
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// portSet holds the ports handed to this loader's children, so that two children starting at
// once never get the same one (the kernel may hand a port out again once its probe is closed).
type portSet struct {
	mu   sync.Mutex
	used map[int]bool
}

// take asks the kernel for a free loopback port that no child of this loader holds.
func (p *portSet) take() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !p.used[port] {
			p.used[port] = true
			return port, nil
		}
	}
	return 0, errors.New("no free loopback port")
}

func (p *portSet) release(port int) {
	p.mu.Lock()
	delete(p.used, port)
	p.mu.Unlock()
}

// start runs one child and waits until it answers /ping. On failure nothing is left running.
func (c *container) start(ctx context.Context) (*child, error) {
	port, err := c.ports.take()
	if err != nil {
		return nil, errs.E(errs.Internal, "cannot find a free loopback port", err)
	}
	ch := &child{id: "serve-" + randid.String(16, idAlphabet), port: port, base: "http://127.0.0.1:" + strconv.Itoa(port), exited: make(chan executor.Exit, 1)}
	ch.dir = filepath.Join(c.o.Dir, ch.id)
	optML := filepath.Join(ch.dir, "opt-ml")
	if err := os.MkdirAll(optML, 0o755); err != nil {
		c.ports.release(port)
		return nil, errs.E(errs.Internal, "cannot create the instance's directory", err)
	}
	env := map[string]string{}
	for k, v := range c.env {
		env[k] = v
	}
	for k, v := range c.model.Environment {
		env[k] = v
	}
	env[EnvBindToPort], env[EnvPort] = strconv.Itoa(port), strconv.Itoa(port)
	spec := executor.Spec{
		ID:      ch.id,
		Dir:     optML,
		Mounts:  []executor.Mount{{Host: c.model.ModelDir, Target: executor.OptML + "/model", ReadOnly: true}},
		Command: c.cmd,
		Env:     env,
	}
	h, err := c.o.Exec.Start(ctx, spec)
	if err != nil {
		c.ports.release(port)
		os.RemoveAll(ch.dir)
		return nil, fmt.Errorf("cannot start the serve command %s: %w", strings.Join(c.cmd, " "), err)
	}
	ch.handle, ch.start = h, time.Now()
	if err := os.WriteFile(filepath.Join(ch.dir, "handle"), []byte(h), 0o600); err != nil {
		c.stop(ch)
		return nil, errs.E(errs.Internal, "cannot record the instance's handle", err)
	}
	go func() {
		e, err := c.o.Exec.Wait(context.Background(), h)
		if err != nil {
			e = executor.Exit{Code: -1, Reason: err.Error()}
		}
		ch.exited <- e
	}()
	ch.client = &http.Client{Transport: &http.Transport{
		Proxy:               nil, // loopback: never through a configured proxy
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
	if err := c.waitReady(ctx, ch); err != nil {
		c.stop(ch)
		return nil, err
	}
	c.log.Info("model server ready", "port", port, "took", time.Since(ch.start))
	return ch, nil
}

// waitReady polls GET /ping until 200, the child's end, or the ready timeout.
func (c *container) waitReady(ctx context.Context, ch *child) error {
	ctx, cancel := context.WithTimeout(ctx, c.o.ReadyTimeout)
	defer cancel()
	delay := 10 * time.Millisecond
	var last error
	for {
		if last = ch.ping(ctx); last == nil {
			return nil
		}
		select {
		case e := <-ch.exited:
			ch.exited <- e // for stop
			return fmt.Errorf("the serve command %s ended before answering GET /ping (%s); its output ends: %s", strings.Join(c.cmd, " "), describeExit(e), c.tail(ch))
		case <-ctx.Done():
			return fmt.Errorf("the serve command %s did not answer GET /ping with 200 within %s (last: %v); its output ends: %s", strings.Join(c.cmd, " "), c.o.ReadyTimeout, last, c.tail(ch))
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

func describeExit(e executor.Exit) string {
	switch {
	case e.Signal != "":
		return "killed by " + e.Signal
	case e.OOMKilled:
		return "killed for exceeding its memory limit"
	case e.Reason != "":
		return e.Reason
	}
	return "exit status " + strconv.Itoa(e.Code)
}

// tailBytes is how much of a child's output an error quotes.
const tailBytes = 1500

// tail returns the end of ch's output.
func (c *container) tail(ch *child) string {
	r, err := c.o.Exec.Logs(context.Background(), ch.handle, false)
	if err != nil {
		return "(no output: " + err.Error() + ")"
	}
	defer r.Close()
	buf := make([]byte, 0, 2*tailBytes)
	chunk := make([]byte, 32<<10)
	for {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if len(buf) > tailBytes {
			buf = append(buf[:0], buf[len(buf)-tailBytes:]...)
		}
		if err != nil {
			break
		}
	}
	s := strings.TrimSpace(string(buf))
	if s == "" {
		return "(nothing)"
	}
	return s
}

// stop ends ch and deletes what it left.
func (c *container) stop(ch *child) {
	ctx, cancel := context.WithTimeout(context.Background(), c.o.StopGrace+30*time.Second)
	defer cancel()
	if err := c.o.Exec.Stop(ctx, ch.handle, c.o.StopGrace); err != nil {
		c.log.Warn("cannot stop the model server", "id", ch.id, "err", err)
	}
	if r, ok := c.o.Exec.(remover); ok {
		r.Remove(ctx, ch.handle)
	}
	if ch.client != nil {
		ch.client.CloseIdleConnections()
	}
	os.RemoveAll(ch.dir)
	c.ports.release(ch.port)
}

// supervise restarts the child whenever it dies, until Close.
func (c *container) supervise() {
	defer close(c.done)
	backoff := c.o.RestartMin
	for {
		c.mu.Lock()
		ch := c.child
		c.mu.Unlock()
		var e executor.Exit
		select {
		case <-c.closing:
			return
		case e = <-ch.exited:
		}
		ch.exited <- e
		c.mu.Lock()
		c.child, c.why = nil, "its model server "+describeExit(e)+"; restarting"
		c.mu.Unlock()
		c.log.Warn("model server ended; restarting", "exit", describeExit(e), "ran", time.Since(ch.start), "output", c.tail(ch))
		if time.Since(ch.start) > time.Minute {
			backoff = c.o.RestartMin
		}
		c.stop(ch)
		for {
			select {
			case <-c.closing:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, c.o.RestartMax)
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-c.closing:
					cancel()
				case <-ctx.Done():
				}
			}()
			next, err := c.start(ctx)
			cancel()
			if err == nil {
				c.mu.Lock()
				closed := c.closed
				if !closed {
					c.child, c.why, c.failed = next, "", 0
				}
				c.mu.Unlock()
				if closed {
					c.stop(next)
					return
				}
				break
			}
			c.log.Warn("cannot restart the model server", "err", err, "next try in", backoff)
			c.mu.Lock()
			c.why = "its model server cannot restart: " + err.Error()
			c.mu.Unlock()
		}
	}
}

func (c *container) current() (*child, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("%w: the instance is closed", ErrUnavailable)
	}
	if c.child == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, c.why)
	}
	return c.child, nil
}

// Ping reports whether the child answers GET /ping with 200. A child that fails
// RestartAfterPings pings in a row is killed, and so restarted.
func (c *container) Ping(ctx context.Context) error {
	ch, err := c.current()
	if err != nil {
		return err
	}
	err = ch.ping(ctx)
	if err != nil && ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
		return err // the caller gave up; says nothing of the child
	}
	c.mu.Lock()
	hung := false
	if c.child == ch {
		if err == nil {
			c.failed = 0
		} else if c.failed++; c.failed == c.o.RestartAfterPings {
			hung = true
		}
	}
	c.mu.Unlock()
	if hung {
		c.log.Warn("model server failed its health check; restarting it", "pings", c.o.RestartAfterPings, "err", err)
		go c.o.Exec.Stop(context.Background(), ch.handle, 0) // the supervisor sees it end and restarts it
	}
	return err
}

func (ch *child) ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ch.base+"/ping", nil)
	if err != nil {
		return err
	}
	resp, err := ch.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: GET /ping: %v", ErrUnavailable, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /ping answered %s", resp.Status)
	}
	return nil
}

// Invoke proxies req to the child's POST /invocations. A status other than 2xx is a ModelError
// (424) quoting the model's answer, with the model's status and body as its original status and
// message, as SageMaker reports it; a model that does not answer in time or answers too much is a
// ModelError without an original status. When the child is down, or its
// connection breaks (it died while answering), the error is ErrUnavailable: the fleet retries the
// request on another instance, which assumes what SageMaker's models are, functions of their input.
func (c *container) Invoke(ctx context.Context, req inference.Request) (inference.Response, error) {
	ch, err := c.current()
	if err != nil {
		return inference.Response{}, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.o.InvokeTimeout, errInvokeTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, ch.base+"/invocations", bytes.NewReader(req.Body))
	if err != nil {
		return inference.Response{}, err
	}
	if req.ContentType != "" { // as the client sent it: none stays none
		hreq.Header.Set("Content-Type", req.ContentType)
	}
	if req.Accept != "" {
		hreq.Header.Set("Accept", req.Accept)
	}
	if req.CustomAttributes != "" {
		hreq.Header.Set(HeaderCustomAttributes, req.CustomAttributes)
	}
	resp, err := ch.client.Do(hreq)
	if err != nil {
		if errors.Is(context.Cause(ctx), errInvokeTimeout) {
			return inference.Response{}, modelError("the model did not answer within %s", c.o.InvokeTimeout)
		}
		if ctx.Err() != nil {
			return inference.Response{}, ctx.Err()
		}
		return inference.Response{}, fmt.Errorf("%w: POST /invocations: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, inference.MaxPayloadBytes+1))
	if err != nil {
		if errors.Is(context.Cause(ctx), errInvokeTimeout) {
			return inference.Response{}, modelError("the model did not answer within %s", c.o.InvokeTimeout)
		}
		if ctx.Err() != nil {
			return inference.Response{}, ctx.Err()
		}
		// The model server went away mid-answer (it died): another instance may take the request.
		return inference.Response{}, fmt.Errorf("%w: the answer to POST /invocations broke off: %v", ErrUnavailable, err)
	}
	if len(body) > inference.MaxPayloadBytes {
		return inference.Response{}, modelError("the model's response is larger than %d bytes", inference.MaxPayloadBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		kind := "server"
		if resp.StatusCode < 500 {
			kind = "client"
		}
		msg := string(body)
		if len(msg) > 4096 {
			msg = msg[:4096] + "…"
		}
		e := modelError("Received %s error (%d) from primary with message %q", kind, resp.StatusCode, msg)
		e.OriginalStatus, e.OriginalMessage = resp.StatusCode, msg
		return inference.Response{}, e
	}
	return inference.Response{ContentType: resp.Header.Get("Content-Type"), CustomAttributes: resp.Header.Get(HeaderCustomAttributes), Body: body}, nil
}

var errInvokeTimeout = errors.New("invocation timeout")

func modelError(format string, args ...any) *inference.Error {
	return &inference.Error{Status: http.StatusFailedDependency, Code: inference.CodeModel, Message: fmt.Sprintf(format, args...)}
}

// Close stops the child (SIGTERM, SIGKILL after StopGrace) and its supervisor.
func (c *container) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.closing)
	c.mu.Unlock()
	<-c.done
	c.mu.Lock()
	ch := c.child
	c.child = nil
	c.mu.Unlock()
	if ch != nil {
		c.stop(ch)
	}
	return nil
}

// SweepContainers stops every child process a previous server left under o.Dir (a server that
// crashed does not stop its model servers: executor processes outlive it) and deletes their
// directories. Call it at start, before deploying.
func SweepContainers(ctx context.Context, o ContainerOptions) error {
	o.defaults()
	entries, err := os.ReadDir(o.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return errs.E(errs.Internal, "cannot read the serving directory %s", o.Dir, err)
	}
	var errl []error
	for _, e := range entries {
		dir := filepath.Join(o.Dir, e.Name())
		if h, err := os.ReadFile(filepath.Join(dir, "handle")); err == nil {
			if err := o.Exec.Stop(ctx, executor.Handle(h), 0); err != nil && errs.KindOf(err) != errs.NotFound {
				errl = append(errl, fmt.Errorf("%s: %w", e.Name(), err))
				continue
			}
			if r, ok := o.Exec.(remover); ok {
				r.Remove(ctx, executor.Handle(h))
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			errl = append(errl, err)
		}
	}
	return errors.Join(errl...)
}
