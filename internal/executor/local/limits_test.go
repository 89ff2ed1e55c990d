//go:build linux

package local

import (
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/executor"
)

const python = "/usr/bin/python3"

func runPy(t *testing.T, l *Local, id, code string, r executor.Resources) (executor.Exit, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h, err := l.Start(ctx, executor.Spec{ID: id, Dir: t.TempDir(), Command: []string{python, "-c", code}, Resources: r})
	if err != nil {
		t.Fatal(err)
	}
	x, err := l.Wait(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Logs(ctx, h, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out, _ := io.ReadAll(rc)
	return x, string(out)
}

// hog touches 512 MiB, well over the 96 MiB limit.
const hog = "b = bytearray(b'x') * (512 << 20); print('survived')"

// Memory: with a memory cgroup the kernel kills the job and Wait says so; without one,
// RLIMIT_DATA makes the allocation fail inside the job.
func TestMemoryLimit(t *testing.T) {
	l := newLocal(t, Config{StateDir: t.TempDir()})
	t.Logf("Enforced: %s", l.Enforced())
	x, out := runPy(t, l, "oom", hog, executor.Resources{MemoryBytes: 96 << 20})
	if l.cgroups.MemoryParent != "" {
		if want := (executor.Exit{Code: 137, Signal: "SIGKILL", OOMKilled: true}); x != want {
			t.Errorf("over the cgroup limit: %+v %q; want %+v", x, out, want)
		}
		if !strings.Contains(l.Enforced(), "memory limited by cgroup v") {
			t.Errorf("Enforced() = %q does not name the memory cgroup", l.Enforced())
		}
	} else if x.Code != 1 || !strings.Contains(out, "MemoryError") {
		t.Errorf("over RLIMIT_DATA: %+v %q; want a MemoryError", x, out)
	}
	// Under the limit, nothing happens.
	if x, out := runPy(t, l, "fits", "b = bytearray(b'x') * (16 << 20); print('ok')", executor.Resources{MemoryBytes: 96 << 20}); !x.Success() || out != "ok\n" {
		t.Errorf("under the limit: %+v %q", x, out)
	}

	nocg := newLocal(t, Config{StateDir: t.TempDir(), NoCgroups: true})
	if x, out := runPy(t, nocg, "rlimit", hog, executor.Resources{MemoryBytes: 96 << 20}); x.Code != 1 || x.OOMKilled || !strings.Contains(out, "MemoryError") {
		t.Errorf("over RLIMIT_DATA: %+v %q; want exit 1 with a MemoryError", x, out)
	}
	if want := "memory limited per process by RLIMIT_DATA (cgroups disabled by configuration); CPU not limited: cgroups disabled by configuration; /opt/ml is the job's directory in a private mount namespace"; nocg.Enforced() != want {
		t.Errorf("Enforced() = %q, want %q", nocg.Enforced(), want)
	}
}

// CPU: a job limited to a quarter of a CPU that spins for one second of wall time gets about a
// quarter of a second of CPU time.
func TestCPULimit(t *testing.T) {
	l := newLocal(t, Config{StateDir: t.TempDir()})
	const spin = `import os, time
end = time.monotonic() + 1.0
while time.monotonic() < end: pass
t = os.times(); print(t.user + t.system)`
	x, out := runPy(t, l, "cpu", spin, executor.Resources{CPUs: 0.25})
	used, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
	if !x.Success() || err != nil {
		t.Fatalf("%+v %q", x, out)
	}
	if l.cgroups.CPUParent == "" {
		t.Logf("no cpu cgroup here (%s): used %.2fs", l.Enforced(), used)
		if strings.Contains(l.Enforced(), "CPU limited") {
			t.Errorf("Enforced() = %q claims a CPU limit", l.Enforced())
		}
		return
	}
	if used > 0.5 {
		t.Errorf("a job limited to 0.25 CPU used %.2fs of CPU in 1s", used)
	}
	t.Logf("limited to 0.25 CPU: used %.2fs of CPU in 1s of wall time", used)
}
