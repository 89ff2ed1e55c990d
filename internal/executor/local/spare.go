//go:build linux

package local

import (
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// A spare is a shim started ahead of the next Start, before its job is known: it has paid
// its process start (a fork, an exec, the Go runtime's start: most of a launch) and waits on
// a socket for a job. Start hands it the job's state directory and the job's lock (the same
// open file, passed with SCM_RIGHTS, so the lock is held without a gap), and it goes on as a
// shim started for that job would. It holds no lock and no state while it waits: a server
// that dies leaves it nothing to do, and it exits when its socket closes (the server's end
// closes when the server exits, however it exits). One spare at a time per executor, made
// again after each Start that used one (or found none); a spare unused for spareIdle is
// dismissed, so that a job never runs in a mount namespace copied long before it.

// spareArg, as the shim's argument, makes it a spare ('+' starts no absolute path).
const spareArg = "+spare"

// spareIdle is how long a spare waits for a job before the executor dismisses it.
const spareIdle = 10 * time.Second

type spare struct {
	cmd   *exec.Cmd
	conn  *net.UnixConn // the server's end of the socket: the job goes out, the ready message comes back
	pid   int
	start uint64
	timer *time.Timer
}

// spares is the executor's spare shim, and whether one is being started.
type spares struct {
	mu       sync.Mutex
	ready    *spare
	starting bool
}

// takeSpare returns the spare, if one is ready.
func (l *Local) takeSpare() *spare {
	l.spares.mu.Lock()
	s := l.spares.ready
	l.spares.ready = nil
	l.spares.mu.Unlock()
	if s != nil {
		s.timer.Stop()
	}
	return s
}

// refill starts a spare in the background unless one is ready or being started.
func (l *Local) refill() {
	l.spares.mu.Lock()
	if l.spares.ready != nil || l.spares.starting {
		l.spares.mu.Unlock()
		return
	}
	l.spares.starting = true
	l.spares.mu.Unlock()
	go func() {
		s, err := l.startSpare()
		l.spares.mu.Lock()
		defer l.spares.mu.Unlock()
		l.spares.starting = false
		if err != nil {
			return // the next Start launches a shim of its own, and tries again
		}
		l.spares.ready = s
		s.timer = time.AfterFunc(spareIdle, func() {
			l.spares.mu.Lock()
			idle := l.spares.ready == s
			if idle {
				l.spares.ready = nil
			}
			l.spares.mu.Unlock()
			if idle {
				s.dismiss()
			}
		})
	}()
}

// startSpare starts a shim that waits for its job.
func (l *Local) startSpare() (*spare, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "spare"), os.NewFile(uintptr(fds[1]), "spare")
	defer ours.Close()
	defer theirs.Close()
	cmd := l.shimCommand(spareArg)
	cmd.ExtraFiles = []*os.File{theirs} // fd 3 in the shim
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go cmd.Wait() // reap it when it ends while this process lives
	start, err := procStart(cmd.Process.Pid)
	if err == nil {
		var c net.Conn
		if c, err = net.FileConn(ours); err == nil {
			return &spare{cmd: cmd, conn: c.(*net.UnixConn), pid: cmd.Process.Pid, start: start}, nil
		}
	}
	cmd.Process.Kill()
	return nil, err
}

// hand gives the spare the job of the state directory dir, whose lock it receives.
func (s *spare) hand(dir string, lock *os.File) error {
	_, _, err := s.conn.WriteMsgUnix([]byte(dir), syscall.UnixRights(int(lock.Fd())), nil)
	return err
}

// dismiss ends a spare that has no job: it exits when its socket closes.
func (s *spare) dismiss() { s.conn.Close() }

// awaitJob is the spare's side: it waits on fd for the state directory of its job and the
// job's lock. ok is false when the socket closed first (the server dismissed it, or ended).
// The lock's descriptor is close-on-exec and stays open for the shim's whole life.
func awaitJob(fd int) (dir string, ok bool) {
	buf := make([]byte, 4096)
	oob := make([]byte, syscall.CmsgSpace(4))
	for {
		n, oobn, _, _, err := syscall.Recvmsg(fd, buf, oob, syscall.MSG_CMSG_CLOEXEC)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return "", false
		}
		msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			return "", false
		}
		if fds, err := syscall.ParseUnixRights(&msgs[0]); err != nil || len(fds) != 1 {
			return "", false
		}
		return string(buf[:n]), true
	}
}
