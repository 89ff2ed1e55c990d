//go:build linux

package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/slipway-ml/slipway/internal/executor"
)

// The shim is the small supervisor of one job. The server starts it (in its own session, and
// in namespace mode in a private mount namespace) with the job's state directory as argument,
// the job's lock on fd 3 and the ready pipe on fd 4. It prepares the job's view of the files
// system and its cgroups, starts the command with stdout and stderr on the log file, reports
// the command's pid on the ready pipe, and records the exit status atomically when the command
// ends. It holds the lock until then, which is how any process tells a live job from a lost one.

// MaybeRunShim runs the shim and exits when the process was started as one
// (os.Args[1] == ShimArg); otherwise it returns. Call it first thing in a TestMain whose
// tests use the default Config.Shim.
func MaybeRunShim() {
	if len(os.Args) > 1 && os.Args[1] == ShimArg {
		os.Exit(RunShim(os.Args[2:]))
	}
}

// RunShim runs the shim for args (the job's state directory) and returns its exit status.
func RunShim(args []string) int {
	if len(args) != 1 {
		fmt.Fprintf(os.Stderr, "usage: slipway %s <job state directory>\n(started by the server for each job; not meant to be run by hand)\n", ShimArg)
		return 2
	}
	// Neither the lock, nor the ready pipe, nor anything else may leak into the command: a
	// command that outlived the shim with the lock would keep the job looking alive.
	closeOnExecFrom(3)
	// Listen before the handle exists: a Stop right after Start must find the shim ready for it.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	// Nothing is ignored (signal.Ignore): the command would inherit it, e.g. SIGPIPE ignored
	// would turn `producer | head` into a producer that runs on and complains.
	dir, readyFd := args[0], 4 // the lock is fd 3
	if dir == spareArg {
		// A spare (spare.go): the job, and its lock, come on the socket at fd 3, which then
		// carries the report. (No os.File for an fd not open here: its finalizer would close
		// whatever took the number later, such as the lock.)
		var ok bool
		if dir, ok = awaitJob(3); !ok {
			return 0
		}
		readyFd = 3
	}
	ready := os.NewFile(uintptr(readyFd), "ready")
	s := &shim{dir: dir, sig: sig}
	pid, err := s.start()
	if err != nil {
		var inv invalidError
		msg, _ := json.Marshal(readyMsg{Error: err.Error(), Invalid: errors.As(err, &inv)})
		ready.Write(msg)
		return 1
	}
	msg, _ := json.Marshal(readyMsg{Pid: pid})
	ready.Write(msg)
	ready.Close()
	s.supervise()
	return 0
}

// invalidError marks a failure caused by the spec (a missing command, a missing mount source).
type invalidError struct{ error }

type shim struct {
	dir  string
	spec shimSpec
	log  *os.File
	cg   *jobCgroup
	cmd  *exec.Cmd
	sig  chan os.Signal
}

// start prepares the job and starts its command.
func (s *shim) start() (int, error) {
	// The command's parent-death signal is tied to this thread: keep it alive as long as the shim.
	runtime.LockOSThread()
	b, err := os.ReadFile(filepath.Join(s.dir, specFile))
	if err == nil {
		err = json.Unmarshal(b, &s.spec)
	}
	if err != nil {
		return 0, fmt.Errorf("cannot read the job's spec: %w", err)
	}
	sp := s.spec.Spec
	self, _ := procStart(os.Getpid())
	b, _ = json.Marshal(procRef{Pid: os.Getpid(), Start: self})
	replaceFile(filepath.Join(s.dir, shimFile), b)
	s.log, err = os.OpenFile(filepath.Join(s.dir, logFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, fmt.Errorf("cannot open the job's log: %w", err)
	}
	if s.spec.Namespace {
		err = mountAll(sp)
	} else {
		err = linkAll(sp)
	}
	if err != nil {
		return 0, err
	}
	if !s.spec.NoCgroups {
		if s.cg, err = s.spec.Cgroups.create(sp.ID, sp.Resources.CPUs, sp.Resources.MemoryBytes); err != nil {
			s.cg.remove()
			return 0, fmt.Errorf("cannot set up the job's cgroups: %w", err)
		}
		b, _ = json.Marshal(procRef{Pid: os.Getpid(), Start: self, Cgroups: s.cg.dirs})
		replaceFile(filepath.Join(s.dir, shimFile), b)
	}
	optML := executor.OptML
	if !s.spec.Namespace {
		optML = sp.Dir
	}
	path, workDir := sp.Command[0], sp.WorkDir
	if !s.spec.Namespace {
		path, workDir = rebase(path, sp.Dir), rebase(workDir, sp.Dir)
	}
	if workDir == "" {
		workDir = "/"
		if fi, err := os.Stat(filepath.Join(optML, "code")); err == nil && fi.IsDir() {
			workDir = filepath.Join(optML, "code")
		}
	}
	env := make([]string, 0, len(sp.Env)+2)
	for k, v := range sp.Env {
		env = append(env, k+"="+v)
	}
	if _, ok := sp.Env["PATH"]; !ok {
		env = append(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	env = append(env, executor.EnvOptML+"="+optML)
	sort.Strings(env)

	s.cmd = &exec.Cmd{
		Path: path, Args: sp.Command, Env: env, Dir: workDir,
		Stdout: s.log, Stderr: s.log, // one file: the order of stdout and stderr lines is kept
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid:   true,            // its own process group, which Stop signals
			Pdeathsig: syscall.SIGKILL, // a command never outlives its shim unnoticed
		},
	}
	if err := s.cmd.Start(); err != nil {
		s.cg.remove()
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.ENOEXEC) || errors.Is(err, syscall.ENOTDIR) {
			return 0, invalidError{fmt.Errorf("cannot run %s: %w", sp.Command[0], err)}
		}
		return 0, fmt.Errorf("cannot run %s: %w", sp.Command[0], err)
	}
	pid := s.cmd.Process.Pid
	if s.cg == nil && sp.Resources.MemoryBytes > 0 {
		// No memory cgroup: bound the command's private writable memory. Set right after the
		// start (Go cannot set it between fork and exec), so it binds before any real work.
		lim := syscall.Rlimit{Cur: uint64(sp.Resources.MemoryBytes), Max: uint64(sp.Resources.MemoryBytes)}
		prlimit(pid, syscall.RLIMIT_DATA, &lim)
	}
	start, _ := procStart(pid)
	b, _ = json.Marshal(procRef{Pid: pid, Start: start})
	replaceFile(filepath.Join(s.dir, startedFile), b)
	return pid, nil
}

// supervise waits for the command, forwarding a stop request, and records how it ended.
func (s *shim) supervise() {
	sig := s.sig
	done := make(chan struct{})
	var state *os.ProcessState
	go func() {
		s.cmd.Wait()
		state = s.cmd.ProcessState
		close(done)
	}()
	pgid := s.cmd.Process.Pid
	stopped := false
	var kill <-chan time.Time
wait:
	for {
		select {
		case <-done:
			break wait
		case <-sig:
			if stopped {
				continue
			}
			stopped = true
			grace := 10 * time.Second
			if b, err := os.ReadFile(filepath.Join(s.dir, stopFile)); err == nil {
				if ms, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && ms >= 0 {
					grace = time.Duration(ms) * time.Millisecond
				}
			}
			syscall.Kill(-pgid, syscall.SIGTERM)
			kill = time.After(grace)
		case <-kill:
			syscall.Kill(-pgid, syscall.SIGKILL)
			s.cg.killAll()
		}
	}
	// Nothing of the job outlives its command: stray children of the group or the cgroup.
	syscall.Kill(-pgid, syscall.SIGKILL)
	oom := s.cg.oomKills() > 0
	s.cg.remove()

	if state == nil { // the wait itself failed: the end is unknown
		state = &os.ProcessState{}
	}
	e := executor.Exit{Code: state.ExitCode(), OOMKilled: oom}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.Code = 128 + int(ws.Signal())
		e.Signal = signalName(ws.Signal())
	}
	if stopped {
		e.Reason = executor.ReasonStopped
	}
	b, _ := json.Marshal(e)
	if err := writeStatus(filepath.Join(s.dir, statusFile), b); err != nil {
		fmt.Fprintf(s.log, "slipway: cannot record the job's exit status: %v\n", err)
	}
	s.log.Close()
}

// writeStatus records the exit status: written whole to a temporary file and renamed into
// place, so a reader sees all of it or nothing, and only then made durable (the file, then the
// directory's entry), while the shim still holds the job's lock. The waiters see the status as
// soon as it is renamed, not after the disk has synced it (tens of milliseconds on a busy disk,
// once per job); a machine that crashes before the sync may lose the file, and the job then
// counts as lost (no status, no lock), as it would have had the crash come a moment earlier.
func writeStatus(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// mountAll makes the job's view of the files system, in the shim's private mount namespace:
// Spec.Dir at /opt/ml, then every mount, parents before children.
func mountAll(sp executor.Spec) error {
	if err := syscall.Mount(sp.Dir, executor.OptML, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("cannot mount %s at %s: %w", sp.Dir, executor.OptML, err)
	}
	mounts := append([]executor.Mount{}, sp.Mounts...)
	sort.SliceStable(mounts, func(i, j int) bool { return len(mounts[i].Target) < len(mounts[j].Target) })
	for _, m := range mounts {
		fi, err := os.Stat(m.Host)
		if err != nil {
			return invalidError{fmt.Errorf("cannot mount %s: %w", m.Host, err)}
		}
		if err := makeTarget(m.Target, fi.IsDir()); err != nil {
			return fmt.Errorf("cannot create the mount point %s: %w", m.Target, err)
		}
		if err := syscall.Mount(m.Host, m.Target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			return fmt.Errorf("cannot mount %s at %s: %w", m.Host, m.Target, err)
		}
		if m.ReadOnly {
			if err := syscall.Mount("", m.Target, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
				return fmt.Errorf("cannot make %s read-only: %w", m.Target, err)
			}
		}
	}
	return nil
}

// makeTarget creates an empty directory, or an empty file, to mount on.
func makeTarget(target string, dir bool) error {
	if dir {
		return os.MkdirAll(target, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_RDONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// linkAll is the fallback for mounts: a symbolic link in Spec.Dir for each target under
// /opt/ml (Start refuses the others). Read-only is not enforced in this mode.
func linkAll(sp executor.Spec) error {
	for _, m := range sp.Mounts {
		if _, err := os.Stat(m.Host); err != nil {
			return invalidError{fmt.Errorf("cannot mount %s: %w", m.Host, err)}
		}
		link := rebase(m.Target, sp.Dir)
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return fmt.Errorf("cannot create %s: %w", filepath.Dir(link), err)
		}
		if fi, err := os.Lstat(link); err == nil && fi.IsDir() {
			if err := os.Remove(link); err != nil { // an empty placeholder directory
				return fmt.Errorf("cannot replace %s with a link to %s: %w", link, m.Host, err)
			}
		}
		if err := os.Symlink(m.Host, link); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("cannot link %s to %s: %w", link, m.Host, err)
		}
	}
	return nil
}

// rebase maps a path under /opt/ml to the same path under dir.
func rebase(p, dir string) string {
	if rest, ok := strings.CutPrefix(p, executor.OptML); ok && (rest == "" || rest[0] == '/') {
		return dir + rest
	}
	return p
}

func prlimit(pid int, resource int, lim *syscall.Rlimit) error {
	_, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(resource), uintptr(unsafe.Pointer(lim)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "SIGHUP", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT", syscall.SIGILL: "SIGILL",
	syscall.SIGTRAP: "SIGTRAP", syscall.SIGABRT: "SIGABRT", syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE",
	syscall.SIGKILL: "SIGKILL", syscall.SIGUSR1: "SIGUSR1", syscall.SIGSEGV: "SIGSEGV", syscall.SIGUSR2: "SIGUSR2",
	syscall.SIGPIPE: "SIGPIPE", syscall.SIGALRM: "SIGALRM", syscall.SIGTERM: "SIGTERM", syscall.SIGXCPU: "SIGXCPU",
	syscall.SIGXFSZ: "SIGXFSZ", syscall.SIGSYS: "SIGSYS",
}

func signalName(s syscall.Signal) string {
	if n, ok := signalNames[s]; ok {
		return n
	}
	return "SIG" + strconv.Itoa(int(s))
}
