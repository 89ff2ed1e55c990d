//go:build linux

package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slipway-ml/slipway/internal/atomicfile"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/executor"
)

// Mode says whether jobs see their directory at /opt/ml.
type Mode string

const (
	// ModeNamespace runs each job in a private mount namespace where Spec.Dir is /opt/ml and
	// every Spec.Mounts entry is bind-mounted at its target. It needs root.
	ModeNamespace Mode = "namespace"
	// ModeFallback runs jobs in the host's mount namespace: /opt/ml is not remapped; the job
	// finds its directory in executor.EnvOptML, mounts under /opt/ml become symbolic links in
	// Spec.Dir, and mounts elsewhere are refused.
	ModeFallback Mode = "fallback"
)

// Config configures a Local executor.
type Config struct {
	// StateDir holds one directory per job attempt: its spec, log, lock, exit status. It must
	// survive a server restart (put it in the data directory).
	StateDir string
	// Shim is the command that supervises one job; the job's state directory is appended.
	// Default: ShimBinary when it is installed beside this executable, else this executable
	// with the argument ShimArg, which is what the slipway binary and a test binary whose
	// TestMain calls MaybeRunShim answer.
	Shim []string
	// Mode forces a mode; "" picks ModeNamespace when it works here, else ModeFallback.
	Mode Mode
	// NoCgroups leaves cgroups alone even where they are writable; memory is then bounded per
	// process by RLIMIT_DATA and CPU is not limited.
	NoCgroups bool
}

// Local runs jobs as processes of this machine, each under a shim that outlives the server.
type Local struct {
	cfg      Config
	mode     Mode
	modeWhy  string
	cgroups  cgroupPlan
	enforced string
	spares   spares
}

var _ executor.Executor = (*Local)(nil)

// New checks what this machine allows (namespaces, cgroups) and returns a Local executor.
func New(cfg Config) (*Local, error) {
	if !filepath.IsAbs(cfg.StateDir) {
		return nil, errs.E(errs.Invalid, "executor state directory %q must be absolute", cfg.StateDir)
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, errs.E(errs.Internal, "cannot create executor state directory", err)
	}
	if len(cfg.Shim) == 0 {
		self, err := os.Executable()
		if err != nil {
			return nil, errs.E(errs.Internal, "cannot find this executable to run job shims", err)
		}
		cfg.Shim = []string{self, ShimArg}
		// The small shim binary, when installed beside this one, launches jobs several times faster.
		if sib := filepath.Join(filepath.Dir(self), ShimBinary); isExecutable(sib) {
			cfg.Shim = []string{sib}
		}
	}
	sweepNew(cfg.StateDir)
	l := &Local{cfg: cfg}
	closeOnExecFrom(3) // what this process inherited stays out of the shims (and their jobs)
	why := ""
	if cfg.Mode != ModeFallback {
		why = namespaceProblem()
	}
	switch {
	case cfg.Mode == ModeNamespace && why != "":
		return nil, errs.E(errs.Invalid, "cannot run jobs in a mount namespace here: %s", why)
	case cfg.Mode == ModeFallback:
		l.mode, l.modeWhy = ModeFallback, "by configuration"
	case cfg.Mode == "" && why != "":
		l.mode, l.modeWhy = ModeFallback, why
	case cfg.Mode == "" || cfg.Mode == ModeNamespace:
		l.mode = ModeNamespace
	default:
		return nil, errs.E(errs.Invalid, "unknown executor mode %q", cfg.Mode)
	}
	if !cfg.NoCgroups {
		l.cgroups = findCgroups()
	}
	l.enforced = l.cgroups.enforced(cfg.NoCgroups)
	if l.mode == ModeNamespace {
		l.enforced += "; /opt/ml is the job's directory in a private mount namespace"
	} else {
		l.enforced += "; /opt/ml not remapped (" + l.modeWhy + "): the job finds its directory in " + executor.EnvOptML
	}
	return l, nil
}

// ShimBinary is the name of the small shim binary (cmd/slipway-shim).
const ShimBinary = "slipway-shim"

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// namespaceProblem says why private mount namespaces cannot be used here, or "".
func namespaceProblem() string {
	if os.Geteuid() != 0 {
		return "not running as root"
	}
	if err := os.MkdirAll(executor.OptML, 0o755); err != nil {
		return fmt.Sprintf("cannot create the mount point %s: %v", executor.OptML, err)
	}
	// Try it on a thread of our own that is then thrown away (it never returns to the pool).
	res := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		res <- syscall.Unshare(syscall.CLONE_NEWNS)
	}()
	if err := <-res; err != nil {
		return fmt.Sprintf("cannot create a mount namespace: %v", err)
	}
	return ""
}

// Mode reports how jobs see /opt/ml.
func (l *Local) Mode() Mode { return l.mode }

// RemapsOptML reports whether jobs see Spec.Dir at /opt/ml (for executortest).
func (l *Local) RemapsOptML() bool { return l.mode == ModeNamespace }

// Enforced says what this executor enforces, as a sentence for DescribeX.
func (l *Local) Enforced() string { return l.enforced }

// The files of a job's state directory.
const (
	specFile    = "spec.json"    // shimSpec, written by Start
	lockFile    = "lock"         // flocked by the shim for its whole life
	logFile     = "log"          // the command's combined stdout and stderr
	shimFile    = "shim.json"    // the shim's own pid and start time, written by the shim
	startedFile = "started.json" // the command's pid and start time, written by the shim
	stopFile    = "stop"         // Stop's grace period in milliseconds
	statusFile  = "status.json"  // the executor.Exit, written once, atomically
)

// shimSpec is what a shim reads: the job and how to run it here.
type shimSpec struct {
	Spec      executor.Spec `json:"spec"`
	Namespace bool          `json:"namespace"`
	Cgroups   cgroupPlan    `json:"cgroups"`
	NoCgroups bool          `json:"noCgroups,omitempty"`
}

// handle is what an executor.Handle holds.
type handle struct {
	Dir   string `json:"dir"`   // the job's state directory
	Pid   int    `json:"pid"`   // the shim
	Start uint64 `json:"start"` // the shim's start time, against pid reuse
}

// procRef names one process across pid reuse.
type procRef struct {
	Pid   int    `json:"pid"`
	Start uint64 `json:"start"`
	// Cgroups, in shim.json: the job's cgroup directories, removed if the shim vanishes.
	Cgroups []string `json:"cgroups,omitempty"`
}

// readyMsg is the shim's answer on the ready pipe.
type readyMsg struct {
	Pid     int    `json:"pid,omitempty"`
	Error   string `json:"error,omitempty"`
	Invalid bool   `json:"invalid,omitempty"` // the spec, not the machine, is at fault
}

// startTimeout bounds how long Start waits for a shim to report.
const startTimeout = 30 * time.Second

// Start runs s under a new shim and returns once the command runs.
func (l *Local) Start(ctx context.Context, s executor.Spec) (executor.Handle, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	if l.mode == ModeFallback {
		for _, m := range s.Mounts {
			if !underOptML(m.Target) {
				return "", errs.E(errs.Invalid, "cannot make %s visible at %s: this executor runs without a mount namespace (%s) and can place mounts only under %s", m.Host, m.Target, l.modeWhy, executor.OptML)
			}
		}
	}
	if fi, err := os.Stat(s.Dir); err != nil || !fi.IsDir() {
		return "", errs.E(errs.Invalid, "job directory %s is not a directory", s.Dir)
	}
	dir := filepath.Join(l.cfg.StateDir, s.ID)
	spec, err := json.Marshal(shimSpec{Spec: s, Namespace: l.mode == ModeNamespace, Cgroups: l.cgroups, NoCgroups: l.cfg.NoCgroups})
	if err != nil {
		return "", errs.E(errs.Internal, "cannot encode the job's spec", err)
	}
	lock, err := l.claim(dir, spec)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	h, err := l.launch(ctx, dir, lock)
	if err != nil {
		if errs.KindOf(err) == errs.Invalid {
			os.RemoveAll(dir) // nothing ran: the attempt may be made again
		}
		return "", err
	}
	return h, nil
}

// newPrefix begins the names of state directories being prepared. '+' is not allowed in a
// job ID, so no job's directory can be taken for one.
const newPrefix = "+new-"

// claim makes dir the state directory of a job about to be launched and returns its lock,
// held. The directory appears at its name only complete (spec written, lock taken), by a
// rename: a server killed at any point before leaves nothing under dir, and one killed after
// leaves a job whose lock is free and whose command never started, which claim takes over
// (the next Start of the same ID launches it). A job whose lock is held, or whose command
// started or ended, is errs.Conflict: it was started already.
func (l *Local) claim(dir string, spec []byte) (*os.File, error) {
	tmp, err := os.MkdirTemp(l.cfg.StateDir, newPrefix+filepath.Base(dir)+"-")
	if err != nil {
		return nil, errs.E(errs.Internal, "cannot create the job's state directory", err)
	}
	lock, err := prepareDir(tmp, spec)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	for try := 0; ; try++ {
		err = os.Rename(tmp, dir) // never onto a directory, even an empty one (Go's os.Rename)
		if err == nil {
			return lock, nil
		}
		if try < 3 && (errors.Is(err, os.ErrExist) || errors.Is(err, syscall.ENOTEMPTY)) && clearUnclaimed(dir) {
			continue
		}
		break
	}
	lock.Close()
	os.RemoveAll(tmp)
	if !errors.Is(err, os.ErrExist) && !errors.Is(err, syscall.ENOTEMPTY) {
		return nil, errs.E(errs.Internal, "cannot create the job's state directory", err)
	}
	return takeOver(dir, spec)
}

// clearUnclaimed removes dir when it is what an older server killed inside Start left: a
// directory with neither lock nor spec (at most a half-written spec). It reports whether dir
// is gone. Racing Starts may each try; only an empty directory is ever removed (os.Remove),
// so a directory another Start has just renamed into place is never touched.
func clearUnclaimed(dir string) bool {
	for _, f := range []string{lockFile, specFile} {
		if _, err := os.Lstat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	os.Remove(filepath.Join(dir, specFile+".tmp"))
	err := os.Remove(dir)
	return err == nil || errors.Is(err, os.ErrNotExist)
}

// sweepNew removes the state directories a killed server was still preparing (claim). Only
// old ones: another server on this state directory may be preparing one now.
func sweepNew(stateDir string) {
	ents, _ := os.ReadDir(stateDir)
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), newPrefix) {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > 10*time.Minute {
			os.RemoveAll(filepath.Join(stateDir, e.Name()))
		}
	}
}

// prepareDir writes spec into the new state directory dir and takes its lock.
func prepareDir(dir string, spec []byte) (*os.File, error) {
	if err := replaceFile(filepath.Join(dir, specFile), spec); err != nil {
		return nil, errs.E(errs.Internal, "cannot write the job's spec", err)
	}
	// The lock is taken here and inherited by the shim, so that it is held from before the
	// directory is visible: a Wait sees a live job, not a lost one.
	lock, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, errs.E(errs.Internal, "cannot create the job's lock", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		lock.Close()
		return nil, errs.E(errs.Internal, "cannot lock the job", err)
	}
	return lock, nil
}

// takeOver returns the held lock of the existing state directory dir when its job never
// started its command and nobody holds it (its launcher died first); errs.Conflict otherwise.
func takeOver(dir string, spec []byte) (*os.File, error) {
	started := errs.E(errs.Conflict, "job %s was started already", filepath.Base(dir))
	lock, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		return nil, started // not made by claim: leave it as it is (Wait then finds it lost)
	}
	if err != nil {
		return nil, errs.E(errs.Internal, "cannot open the job's lock", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, started
	}
	for _, f := range []string{startedFile, statusFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			lock.Close()
			return nil, started
		}
	}
	if err := replaceFile(filepath.Join(dir, specFile), spec); err != nil {
		lock.Close()
		return nil, errs.E(errs.Internal, "cannot write the job's spec", err)
	}
	return lock, nil
}

// launch starts the job of the state directory dir: it hands the job to the spare shim when
// one is ready (see spare.go), else starts a shim for it, and waits for the shim's report.
// lock is the job's lock, held; the shim inherits it, or receives it.
func (l *Local) launch(ctx context.Context, dir string, lock *os.File) (executor.Handle, error) {
	// The next Start finds a spare: it starts while this job runs, not while it launches.
	defer l.refill()
	if s := l.takeSpare(); s != nil {
		defer s.conn.Close()
		if err := s.hand(dir, lock); err == nil {
			return l.report(ctx, dir, s.conn, s.pid, s.start, nil, s.cmd.Process)
		}
		s.cmd.Process.Kill() // it cannot take the job (it ended?): the job gets a shim of its own
	}
	r, w, err := os.Pipe()
	if err != nil {
		return "", errs.E(errs.Internal, "cannot start the job's shim", err)
	}
	defer r.Close()
	cmd := l.shimCommand(dir)
	cmd.ExtraFiles = []*os.File{lock, w} // fd 3 and 4 in the shim
	err = cmd.Start()
	w.Close()
	if err != nil {
		return "", errs.E(errs.Internal, "cannot start the job's shim %s", l.cfg.Shim[0], err)
	}
	pid := cmd.Process.Pid
	start, serr := procStart(pid)
	go cmd.Wait() // reap the shim if it ends while this process lives
	return l.report(ctx, dir, r, pid, start, serr, cmd.Process)
}

// shimCommand is the command of a shim with the argument arg (a state directory, or spareArg).
func (l *Local) shimCommand(arg string) *exec.Cmd {
	args := append(append([]string{}, l.cfg.Shim[1:]...), arg)
	cmd := exec.Command(l.cfg.Shim[0], args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Dir = "/"
	// Its own session: no signal sent to the server's process group or terminal reaches it, and
	// no parent-death signal: the job outlives the server.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if l.mode == ModeNamespace {
		cmd.SysProcAttr.Unshareflags = syscall.CLONE_NEWNS // Go then makes / private, recursively
	}
	return cmd
}

// report waits for the shim pid (started at start, or serr) to report on r and returns the
// job's handle.
func (l *Local) report(ctx context.Context, dir string, r io.Reader, pid int, start uint64, serr error, shim *os.Process) (executor.Handle, error) {
	msgc := make(chan readyMsg, 1)
	go func() {
		var m readyMsg
		b, _ := io.ReadAll(r)
		if err := json.Unmarshal(b, &m); err != nil {
			m.Error = "the shim ended before starting the command"
		}
		msgc <- m
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	var m readyMsg
	select {
	case m = <-msgc:
	case <-ctx.Done():
		m.Error = "cancelled: " + ctx.Err().Error()
	case <-timer.C:
		m.Error = "the shim did not report within " + startTimeout.String()
	}
	if m.Error != "" {
		if m.Pid == 0 && !m.Invalid {
			shim.Kill() // its command, if any, dies with it (parent-death signal)
		}
		kind := errs.Internal
		if m.Invalid {
			kind = errs.Invalid
		}
		return "", errs.E(kind, "cannot start the job: %s", m.Error)
	}
	if serr != nil {
		// The shim started and ended already; it holds no lock any more, so Wait still decides.
		start = 0
	}
	b, _ := json.Marshal(handle{Dir: dir, Pid: pid, Start: start})
	return executor.Handle(b), nil
}

// replaceFile writes path atomically for readers (temp + rename) but without fsync: it is for
// files that matter only while the machine is up (a crash of the machine ends the job too), so
// the launch path does not wait for the disk. The exit status, which must survive a crash,
// is synced (shim.go, writeStatus).
func replaceFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func underOptML(p string) bool {
	return p == executor.OptML || strings.HasPrefix(p, executor.OptML+"/")
}

// parse decodes h and checks that it names a job of this executor.
func (l *Local) parse(h executor.Handle) (handle, error) {
	var hd handle
	if err := json.Unmarshal([]byte(h), &hd); err != nil || hd.Dir == "" {
		return hd, errs.E(errs.Invalid, "not a local executor handle: %q", string(h))
	}
	if id := filepath.Base(hd.Dir); hd.Dir != filepath.Join(l.cfg.StateDir, id) || (executor.Spec{ID: id}).ValidateID() != nil {
		return hd, errs.E(errs.Invalid, "handle %q names a job outside this executor's state directory %s", string(h), l.cfg.StateDir)
	}
	if _, err := os.Stat(filepath.Join(hd.Dir, specFile)); err != nil {
		return hd, errs.E(errs.NotFound, "no job state at %s", hd.Dir, err)
	}
	if hd.Pid == 0 { // a handle made by HandleFor before the shim said who it is
		var p procRef
		if b, err := os.ReadFile(filepath.Join(hd.Dir, shimFile)); err == nil && json.Unmarshal(b, &p) == nil {
			hd.Pid, hd.Start = p.Pid, p.Start
		}
	}
	return hd, nil
}

// HandleFor returns the handle of attempt id from the state directory alone. It is for a
// server that crashed between Start and storing the handle: the attempt may be running, and
// with this handle it is waited for instead of started a second time.
func (l *Local) HandleFor(id string) (executor.Handle, error) {
	if err := (executor.Spec{ID: id}).ValidateID(); err != nil {
		return "", err
	}
	dir := filepath.Join(l.cfg.StateDir, id)
	if _, err := os.Stat(filepath.Join(dir, specFile)); err != nil {
		return "", errs.E(errs.NotFound, "job %s was never started here", id)
	}
	b, _ := json.Marshal(handle{Dir: dir})
	return executor.Handle(b), nil
}

// readStatus returns the recorded exit, if any.
func readStatus(dir string) (executor.Exit, bool) {
	b, err := os.ReadFile(filepath.Join(dir, statusFile))
	if err != nil {
		return executor.Exit{}, false
	}
	var e executor.Exit
	if json.Unmarshal(b, &e) != nil {
		return executor.Exit{}, false
	}
	return e, true
}

// pollEvery bounds how long a waiter goes without checking that the shim lives.
const pollEvery = 250 * time.Millisecond

// Wait returns how the job ended, waiting for it if it runs. It works for a job started by
// another process, and returns the same Exit every time.
func (l *Local) Wait(ctx context.Context, h executor.Handle) (executor.Exit, error) {
	hd, err := l.parse(h)
	if err != nil {
		return executor.Exit{}, err
	}
	w := watchDir(hd.Dir)
	defer w.close()
	for {
		if e, ok := l.ended(hd); ok {
			return e, nil
		}
		if err := w.wait(ctx, pollEvery); err != nil {
			return executor.Exit{}, err
		}
	}
}

// ended returns the job's exit once it has one. When the shim is gone without recording one,
// it records ReasonLost (so every later look agrees) and kills what the job left.
func (l *Local) ended(hd handle) (executor.Exit, bool) {
	if e, ok := readStatus(hd.Dir); ok {
		return e, true
	}
	// Decide with the lock held, so that a Start taking the job over (takeOver) and this
	// verdict exclude each other.
	lock, err := os.Open(filepath.Join(hd.Dir, lockFile))
	if err == nil {
		defer lock.Close()
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); errors.Is(err, syscall.EWOULDBLOCK) {
			return executor.Exit{}, false // the shim (or its launcher) holds it: the job lives
		}
	}
	if e, ok := readStatus(hd.Dir); ok { // it ended between the two looks
		return e, true
	}
	l.cleanLost(hd)
	lost := executor.Exit{Code: -1, Reason: executor.ReasonLost}
	b, _ := json.Marshal(lost)
	atomicfile.Write(filepath.Join(hd.Dir, statusFile), b, 0o600)
	return lost, true
}

// cleanLost kills what a vanished shim left running: the command's process group (if its
// leader is still the process the shim started) and the job's cgroups.
func (l *Local) cleanLost(hd handle) {
	var p procRef
	if b, err := os.ReadFile(filepath.Join(hd.Dir, startedFile)); err == nil && json.Unmarshal(b, &p) == nil && sameProcess(p.Pid, p.Start) {
		syscall.Kill(-p.Pid, syscall.SIGKILL)
	}
	var sh procRef
	if b, err := os.ReadFile(filepath.Join(hd.Dir, shimFile)); err == nil && json.Unmarshal(b, &sh) == nil {
		jobCgroupAt(sh.Cgroups).remove()
	}
}

// stopSlack is how long Stop waits beyond the grace period for the shim to record the end
// before it kills the command itself.
const stopSlack = 5 * time.Second

// Stop asks the job to end (SIGTERM to its process group), kills it after grace (SIGKILL),
// and returns once it has ended. Stopping an ended job does nothing.
func (l *Local) Stop(ctx context.Context, h executor.Handle, grace time.Duration) error {
	hd, err := l.parse(h)
	if err != nil {
		return err
	}
	if _, ok := l.ended(hd); ok {
		return nil
	}
	if grace < 0 {
		grace = 0
	}
	if err := replaceFile(filepath.Join(hd.Dir, stopFile), []byte(strconv.FormatInt(grace.Milliseconds(), 10))); err != nil {
		return err
	}
	if hd.Start != 0 && sameProcess(hd.Pid, hd.Start) {
		syscall.Kill(hd.Pid, syscall.SIGTERM) // the shim signals the command's group, then kills it after grace
	}
	w := watchDir(hd.Dir)
	defer w.close()
	deadline := time.Now().Add(grace + stopSlack)
	for time.Now().Before(deadline) {
		if _, ok := l.ended(hd); ok {
			return nil
		}
		if err := w.wait(ctx, pollEvery); err != nil {
			return err
		}
	}
	// The shim did not act: kill it and its command; Wait then reports the job lost.
	if hd.Start != 0 && sameProcess(hd.Pid, hd.Start) {
		syscall.Kill(hd.Pid, syscall.SIGKILL)
	}
	for {
		if _, ok := l.ended(hd); ok {
			return nil
		}
		if err := w.wait(ctx, pollEvery); err != nil {
			return err
		}
	}
}

// Logs returns the job's combined output from the start; with follow, the reader returns
// io.EOF only once the job has ended and everything it wrote was read.
func (l *Local) Logs(ctx context.Context, h executor.Handle, follow bool) (io.ReadCloser, error) {
	hd, err := l.parse(h)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(hd.Dir, logFile))
	if err != nil {
		return nil, errs.E(errs.NotFound, "no log for job at %s", hd.Dir, err)
	}
	lr := &logReader{ctx: ctx, l: l, hd: hd, f: f, follow: follow}
	if follow {
		lr.w = watchDir(hd.Dir)
	}
	return lr, nil
}

type logReader struct {
	ctx    context.Context
	l      *Local
	hd     handle
	f      *os.File
	w      *watcher
	follow bool
	done   bool // the job has ended: what is in the file is all there will be
}

func (r *logReader) Read(p []byte) (int, error) {
	for {
		n, err := r.f.Read(p)
		if n > 0 || err != io.EOF || !r.follow || r.done {
			return n, err
		}
		if _, ok := r.l.ended(r.hd); ok {
			r.done = true // read once more: the end was recorded after the last write
			continue
		}
		if err := r.w.wait(r.ctx, pollEvery); err != nil {
			return 0, err
		}
	}
}

func (r *logReader) Close() error {
	if r.w != nil {
		r.w.close()
	}
	return r.f.Close()
}

// Remove deletes the state (spec, log, status) of a job that has ended; the jobs engine calls
// it once it has kept what it needs. A running job is not removed.
func (l *Local) Remove(ctx context.Context, h executor.Handle) error {
	hd, err := l.parse(h)
	if err != nil {
		return err
	}
	if _, ok := l.ended(hd); !ok {
		return errs.E(errs.Conflict, "job at %s is still running", hd.Dir)
	}
	if err := os.RemoveAll(hd.Dir); err != nil {
		return errs.E(errs.Internal, "cannot remove the job's state", err)
	}
	return nil
}
