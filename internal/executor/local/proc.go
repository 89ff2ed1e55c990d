//go:build linux

package local

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// procStart returns the start time of process pid (clock ticks since boot, field 22 of
// /proc/<pid>/stat): with the pid it names one process even after the pid is reused.
func procStart(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces or parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 20 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	if f[0][0] == 'Z' || f[0][0] == 'X' {
		return 0, fmt.Errorf("process %d has exited", pid)
	}
	return strconv.ParseUint(string(f[19]), 10, 64)
}

// sameProcess reports whether pid is still the process that started at start.
func sameProcess(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	s, err := procStart(pid)
	return err == nil && s == start
}

// watcher wakes a waiter when something changes in a directory (inotify), and at the latest
// after a timeout, so that waiters that also poll a condition react at once.
type watcher struct {
	f *os.File // nil when inotify is unavailable: wait then only sleeps
}

func watchDir(dir string) *watcher {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return &watcher{}
	}
	const mask = syscall.IN_CREATE | syscall.IN_MOVED_TO | syscall.IN_MODIFY | syscall.IN_CLOSE_WRITE | syscall.IN_DELETE_SELF
	if _, err := syscall.InotifyAddWatch(fd, dir, mask); err != nil {
		syscall.Close(fd)
		return &watcher{}
	}
	return &watcher{f: os.NewFile(uintptr(fd), "inotify:"+dir)}
}

// wait returns after a change, after d, or with ctx's error when ctx ends.
func (w *watcher) wait(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.f == nil {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	w.f.SetReadDeadline(time.Now().Add(d))
	stop := context.AfterFunc(ctx, func() { w.f.SetReadDeadline(time.Now()) })
	defer stop()
	var buf [4096]byte
	w.f.Read(buf[:]) // the events themselves do not matter: the caller looks again
	return ctx.Err()
}

func (w *watcher) close() {
	if w.f != nil {
		w.f.Close()
	}
}

// closeOnExecFrom marks every open descriptor from min up close-on-exec. Go opens its own files
// that way; this catches descriptors a process inherited from whatever started it, which would
// otherwise pass on to every process it starts (and keep, say, a pipe someone waits on open for
// as long as a job runs).
func closeOnExecFrom(min int) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd >= min {
			syscall.CloseOnExec(fd)
		}
	}
}
