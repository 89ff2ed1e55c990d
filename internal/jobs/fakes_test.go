package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/jobs"
)

// The engine's collaborators for its tests only: the real ones (internal/artifacts,
// internal/executor, internal/logs, internal/images) are wired by the composition root.

// memArtifacts is an in-memory object store; reads of the buckets in denyRead and writes to
// those in denyWrite are refused as AccessDenied.
type memArtifacts struct {
	mu        sync.Mutex
	objects   map[string][]byte // bucket/key
	denyRead  map[string]bool
	denyWrite map[string]bool
	// beforePut, when set, runs at the start of every PutObject (a test holds an upload there).
	beforePut func(bucket, key string)
}

func newArtifacts() *memArtifacts {
	return &memArtifacts{objects: map[string][]byte{}, denyRead: map[string]bool{}, denyWrite: map[string]bool{}}
}

func (m *memArtifacts) put(bucket, key, body string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[bucket+"/"+key] = []byte(body)
}

func (m *memArtifacts) get(bucket, key string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objects[bucket+"/"+key]
	return b, ok
}

func (m *memArtifacts) keys(bucket, prefix string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.objects {
		if strings.HasPrefix(k, bucket+"/"+prefix) {
			out = append(out, strings.TrimPrefix(k, bucket+"/"))
		}
	}
	sort.Strings(out)
	return out
}

func (m *memArtifacts) GetObject(ctx context.Context, c identity.Caller, bucket, key string) (io.ReadCloser, error) {
	if m.denyRead[bucket] {
		return nil, errs.E(errs.AccessDenied, "%s is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::%s/%s", c.ARN, bucket, key)
	}
	b, ok := m.get(bucket, key)
	if !ok {
		return nil, errs.E(errs.NotFound, "The specified key does not exist.")
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memArtifacts) PutObject(ctx context.Context, c identity.Caller, bucket, key string, body io.Reader) error {
	if m.denyWrite[bucket] {
		return errs.E(errs.AccessDenied, "%s is not authorized to perform: s3:PutObject", c.ARN)
	}
	if m.beforePut != nil {
		m.beforePut(bucket, key)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	m.put(bucket, key, string(b))
	return nil
}

func (m *memArtifacts) DeleteObject(ctx context.Context, c identity.Caller, bucket, key string) error {
	if m.denyWrite[bucket] {
		return errs.E(errs.AccessDenied, "%s is not authorized to perform: s3:DeleteObject", c.ARN)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objects, bucket+"/"+key)
	return nil
}

func (m *memArtifacts) ListObjects(ctx context.Context, c identity.Caller, bucket, prefix, token string) (jobs.ObjectPage, error) {
	if m.denyRead[bucket] {
		return jobs.ObjectPage{}, errs.E(errs.AccessDenied, "%s is not authorized to perform: s3:ListBucket on resource: arn:aws:s3:::%s", c.ARN, bucket)
	}
	keys := m.keys(bucket, prefix)
	// Pages of two keys, so paging is exercised.
	start := 0
	if token != "" {
		for i, k := range keys {
			if k == token {
				start = i
			}
		}
	}
	end := min(start+2, len(keys))
	page := jobs.ObjectPage{Keys: keys[start:end]}
	if end < len(keys) {
		page.Next = keys[end]
	}
	return page, nil
}

// procExecutor runs workers as local processes. It stands in for internal/executor: /opt/ml in
// the command and the environment is rewritten to the worker's directory. Starting an ID that
// runs already returns its handle. forget makes Wait fail for a handle, as for a lost shim.
type procExecutor struct {
	mu      sync.Mutex
	procs   map[string]*proc
	starts  map[string]int // by ID
	forget  map[string]bool
	logsDir string
}

type proc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	exit jobs.Exit
}

func newExecutor(dir string) *procExecutor {
	return &procExecutor{procs: map[string]*proc{}, starts: map[string]int{}, forget: map[string]bool{}, logsDir: dir}
}

func (x *procExecutor) Enforced() string { return "nothing (test executor)" }

func (x *procExecutor) Start(ctx context.Context, s jobs.ExecSpec) (string, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.procs[s.ID]; ok {
		return s.ID, nil
	}
	x.starts[s.ID]++
	rewrite := func(v string) string { return strings.ReplaceAll(v, "/opt/ml", s.Dir) }
	args := make([]string, len(s.Command))
	for i, a := range s.Command {
		args[i] = rewrite(a)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = s.Dir
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	for k, v := range s.Env {
		cmd.Env = append(cmd.Env, k+"="+rewrite(v))
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logName := filepath.Join(x.logsDir, s.ID+".log")
	f, err := os.Create(logName)
	if err != nil {
		return "", err
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return "", err
	}
	p := &proc{cmd: cmd, log: logName, done: make(chan struct{})}
	x.procs[s.ID] = p
	go func() {
		err := cmd.Wait()
		f.Close()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.exit.Signal = ws.Signal().String()
			} else {
				p.exit.Code = ee.ExitCode()
			}
		}
		close(p.done)
	}()
	return s.ID, nil
}

func (x *procExecutor) get(h string) (*proc, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	p, ok := x.procs[h]
	if !ok || x.forget[h] {
		return nil, errors.New("no such worker: its shim is gone")
	}
	return p, nil
}

func (x *procExecutor) Wait(ctx context.Context, h string) (jobs.Exit, error) {
	p, err := x.get(h)
	if err != nil {
		return jobs.Exit{}, err
	}
	select {
	case <-p.done:
		return p.exit, nil
	case <-ctx.Done():
		return jobs.Exit{}, ctx.Err()
	}
}

func (x *procExecutor) Stop(ctx context.Context, h string, grace time.Duration) error {
	x.mu.Lock()
	p, ok := x.procs[h]
	x.mu.Unlock()
	if !ok {
		return nil
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
	return nil
}

// Logs follows the worker's log file until the worker ended and the file is read.
func (x *procExecutor) Logs(ctx context.Context, h string, follow bool) (io.ReadCloser, error) {
	x.mu.Lock()
	p, ok := x.procs[h]
	x.mu.Unlock()
	if !ok {
		return nil, errors.New("no such worker")
	}
	f, err := os.Open(p.log)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		defer f.Close()
		buf := make([]byte, 32<<10)
		for {
			// Whether the worker had ended before this read: only then is EOF the end.
			ended := false
			select {
			case <-p.done:
				ended = true
			default:
			}
			n, err := f.Read(buf)
			if n > 0 {
				if _, werr := pw.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err == io.EOF {
				if ended {
					pw.Close()
					return
				}
				select {
				case <-p.done:
				case <-ctx.Done():
					pw.CloseWithError(ctx.Err())
					return
				case <-time.After(10 * time.Millisecond):
				}
			} else if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr, nil
}

func (x *procExecutor) startsOf(id string) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.starts[id]
}

// memLogs records the lines appended per group/stream, skipping lines of a source it holds, as
// the logs service does.
type memLogs struct {
	mu      sync.Mutex
	lines   map[string][]string
	sources map[string]int
}

func (l *memLogs) AppendLines(ctx context.Context, account, group, stream, source string, first int, events []jobs.LogEvent) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lines == nil {
		l.lines, l.sources = map[string][]string{}, map[string]int{}
	}
	k := group + "|" + stream
	held := l.sources[k+"|"+source]
	for i, e := range events {
		if first+i >= held {
			l.lines[k] = append(l.lines[k], e.Message)
		}
	}
	l.sources[k+"|"+source] = max(held, first+len(events))
	return nil
}

func (l *memLogs) all(group string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	keys := make([]string, 0, len(l.lines))
	for k := range l.lines {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.HasPrefix(k, group+"|") {
			out = append(out, l.lines[k]...)
		}
	}
	return out
}

// scripts maps images to shell scripts.
type scripts map[string]string

func (s scripts) Resolve(image string, kind jobs.Kind, _ jobs.Spec) (jobs.Runtime, error) {
	script, ok := s[image]
	if !ok {
		return jobs.Runtime{}, errs.E(errs.Invalid, "image %s has no runtime: map it under images.%s in the server configuration", image, image)
	}
	return jobs.Runtime{Command: []string{"/bin/sh", "-c", script}, Kind: "command"}, nil
}

// sessions lets the engine act as any role whose name does not start with "untrusted".
type sessions struct{}

func (sessions) EngineSession(ctx context.Context, roleARN, engine string) (identity.Caller, error) {
	if strings.Contains(roleARN, ":role/untrusted") {
		return identity.Caller{}, errs.E(errs.AccessDenied, "%s is not authorized to perform: sts:AssumeRole on resource: %s", engine, roleARN)
	}
	name := roleARN[strings.LastIndex(roleARN, "/")+1:]
	return identity.Caller{Kind: identity.KindRole, Account: "111122223333", ARN: "arn:aws:sts::111122223333:assumed-role/" + name + "/SageMaker",
		PrincipalARN: roleARN, AuthMethod: identity.AuthEngine, InvokedBy: engine}, nil
}

// allow authorizes everything and passes every role: the engine tests are not about
// authorization (internal/app's tests are).
type allow struct{}

func (allow) Authorize(ctx context.Context, c identity.Caller, a identity.Action) (string, error) {
	return "allowed", nil
}

func (allow) PassRole(ctx context.Context, c identity.Call, roleARN, service string) (identity.Principal, error) {
	return identity.Principal{ARN: roleARN}, nil
}
