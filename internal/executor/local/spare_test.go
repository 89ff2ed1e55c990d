//go:build linux

package local

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/executor"
)

// spareWait returns the executor's spare shim once it is ready.
func spareWait(t *testing.T, l *Local) *spare {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		l.spares.mu.Lock()
		s := l.spares.ready
		l.spares.mu.Unlock()
		if s != nil {
			return s
		}
	}
	t.Fatal("no spare shim was started")
	return nil
}

// spareRun starts a job that writes its log and ends with code, waits for it and returns its handle.
func spareRun(t *testing.T, l *Local, id string, code int) handle {
	t.Helper()
	ctx := context.Background()
	h, err := l.Start(ctx, executor.Spec{ID: id, Dir: t.TempDir(), Command: []string{"/bin/sh", "-c", "echo from " + id + "; exit " + strconv.Itoa(code)}})
	if err != nil {
		t.Fatalf("Start %s: %v", id, err)
	}
	x, err := l.Wait(ctx, h)
	if err != nil || x.Code != code || x.Reason != "" {
		t.Fatalf("Wait %s: %+v %v, want code %d", id, x, err, code)
	}
	b, err := os.ReadFile(filepath.Join(l.cfg.StateDir, id, logFile))
	if err != nil || string(b) != "from "+id+"\n" {
		t.Fatalf("log of %s: %q %v", id, b, err)
	}
	var hd handle
	if err := json.Unmarshal([]byte(h), &hd); err != nil {
		t.Fatal(err)
	}
	return hd
}

// After a Start, the executor starts a spare shim, and the next Start hands its job to it: the
// handle names the spare, and the job runs as any other (exit code, log, Stop).
func TestSpareShimTakesTheNextJob(t *testing.T) {
	for _, mode := range []Mode{ModeNamespace, ModeFallback} {
		t.Run(string(mode), func(t *testing.T) {
			l := newLocal(t, Config{StateDir: t.TempDir(), Mode: mode})
			first := spareRun(t, l, "first", 0)
			s := spareWait(t, l)
			if s.pid == first.Pid {
				t.Fatalf("the spare is the first job's shim (%d)", s.pid)
			}
			second := spareRun(t, l, "second", 3)
			if second.Pid != s.pid || second.Start != s.start {
				t.Fatalf("the second job ran under shim %d, want the spare %d", second.Pid, s.pid)
			}
			// A job handed to a spare can be stopped like any other: its shim got the signal handler.
			s = spareWait(t, l)
			ctx := context.Background()
			h, err := l.Start(ctx, executor.Spec{ID: "stopped", Dir: t.TempDir(), Command: []string{"/bin/sleep", "60"}})
			if err != nil {
				t.Fatal(err)
			}
			var hd handle
			json.Unmarshal([]byte(h), &hd)
			if hd.Pid != s.pid {
				t.Fatalf("the job to stop ran under shim %d, want the spare %d", hd.Pid, s.pid)
			}
			if err := l.Stop(ctx, h, time.Second); err != nil {
				t.Fatal(err)
			}
			if x, err := l.Wait(ctx, h); err != nil || x.Reason != executor.ReasonStopped {
				t.Fatalf("Wait after Stop: %+v %v", x, err)
			}
		})
	}
}

// A spare that died before it got a job is passed over: the job gets a shim of its own. A
// spare dismissed (its socket closed, as when the server exits) ends.
func TestSpareShimGone(t *testing.T) {
	l := newLocal(t, Config{StateDir: t.TempDir()})
	spareRun(t, l, "first", 0)
	s := spareWait(t, l)
	syscall.Kill(s.pid, syscall.SIGKILL)
	spareGone(t, s)
	if hd := spareRun(t, l, "second", 0); hd.Pid == s.pid {
		t.Fatal("the job was handed to the dead spare")
	}
	s = spareWait(t, l)
	if l.takeSpare() != s {
		t.Fatal("takeSpare did not return the spare")
	}
	s.dismiss()
	spareGone(t, s)
}

func spareGone(t *testing.T, s *spare) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); sameProcess(s.pid, s.start); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the spare shim %d did not end", s.pid)
		}
	}
}
