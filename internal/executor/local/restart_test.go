//go:build linux

package local

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/executor"
)

// The test binary plays a server in TestServerSIGKILLed: it starts one job, prints the handle
// and waits to be killed.
const roleEnv = "SLIPWAY_EXECUTOR_TEST_ROLE"

func init() {
	if os.Getenv(roleEnv) != "server" {
		return
	}
	l, err := New(Config{StateDir: os.Getenv("STATE")})
	if err == nil {
		var h executor.Handle
		h, err = l.Start(context.Background(), executor.Spec{
			ID: os.Getenv("JOB_ID"), Dir: os.Getenv("JOB_DIR"),
			Command: []string{"/bin/sh", "-c", os.Getenv("SCRIPT")},
		})
		if err == nil {
			fmt.Println(h)
			time.Sleep(time.Hour) // killed by the test
		}
	}
	fmt.Println("error:", err)
	os.Exit(1)
}

// A server SIGKILLed while its job runs: the job keeps running, and a new executor value (the
// restarted server) gets its exit status from the persisted handle; the job ran exactly once.
func TestServerSIGKILLed(t *testing.T) {
	state := t.TempDir()
	for i := 0; i < 5; i++ {
		dir := t.TempDir()
		gate := filepath.Join(dir, "gate")
		server := exec.Command(os.Args[0], "-test.run=^$")
		server.Env = append(os.Environ(), roleEnv+"=server", "STATE="+state, "JOB_ID="+fmt.Sprintf("kill-%d", i), "JOB_DIR="+dir,
			"SCRIPT=echo once >> $"+executor.EnvOptML+"/count; while [ ! -e "+gate+" ]; do sleep 0.01; done; exit 7")
		out, err := server.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := server.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "{") {
			server.Process.Kill()
			server.Wait()
			t.Fatalf("the server said %q, %v", line, err)
		}
		h := executor.Handle(strings.TrimSpace(line)) // what the jobs engine would have stored
		server.Process.Signal(syscall.SIGKILL)
		server.Wait()

		l := newLocal(t, Config{StateDir: state})
		// The job outlived its server: it is still running, blocked on the gate.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		x, err := l.Wait(ctx, h)
		cancel()
		if err != context.DeadlineExceeded {
			t.Fatalf("run %d: right after the server died, Wait gave %+v, %v; want the job still running", i, x, err)
		}
		os.WriteFile(gate, nil, 0o644)
		for j := 0; j < 2; j++ {
			x, err := l.Wait(context.Background(), h)
			if err != nil || x != (executor.Exit{Code: 7}) {
				t.Fatalf("run %d, Wait %d: %+v, %v; want exit 7", i, j, x, err)
			}
		}
		checkFile(t, filepath.Join(dir, "count"), "once\n")
	}
}

// A shim killed under its job: Wait reports the job lost, every time, and the command died
// with its shim.
func TestShimKilledIsLost(t *testing.T) {
	l := newLocal(t, Config{StateDir: t.TempDir()})
	dir := t.TempDir()
	h, err := l.Start(context.Background(), executor.Spec{ID: "lost", Dir: dir, Command: []string{"/bin/sh", "-c", "sleep 60; true"}})
	if err != nil {
		t.Fatal(err)
	}
	var hd handle
	json.Unmarshal([]byte(h), &hd)
	var cmd procRef
	b, _ := os.ReadFile(filepath.Join(hd.Dir, startedFile))
	if err := json.Unmarshal(b, &cmd); err != nil || !sameProcess(cmd.Pid, cmd.Start) {
		t.Fatalf("the command is not running: %s, %v", b, err)
	}
	// Every process of the job, the grandchild sleep included.
	var sh procRef
	b, _ = os.ReadFile(filepath.Join(hd.Dir, shimFile))
	json.Unmarshal(b, &sh)
	if l.cgroups.MemoryParent != "" && len(sh.Cgroups) == 0 {
		t.Fatalf("shim.json %s names no cgroup", b)
	}
	var procs []procRef
	for deadline := time.Now().Add(5 * time.Second); len(procs) < 2 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		procs = procs[:0]
		for _, dir := range sh.Cgroups {
			for _, pid := range cgroupPIDs(dir) {
				if start, err := procStart(pid); err == nil && pid != hd.Pid {
					procs = append(procs, procRef{Pid: pid, Start: start})
				}
			}
		}
	}
	if l.cgroups.MemoryParent != "" && len(procs) < 2 {
		t.Fatalf("the job's cgroup holds %v; want the shell and its sleep", procs)
	}
	syscall.Kill(hd.Pid, syscall.SIGKILL)
	want := executor.Exit{Code: -1, Reason: executor.ReasonLost}
	for i := 0; i < 2; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		x, err := l.Wait(ctx, h)
		cancel()
		if err != nil || x != want {
			t.Fatalf("Wait %d: %+v, %v; want %+v", i, x, err, want)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for sameProcess(cmd.Pid, cmd.Start) {
		if time.Now().After(deadline) {
			t.Fatalf("the command (pid %d) outlived its shim", cmd.Pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, p := range procs {
		if sameProcess(p.Pid, p.Start) {
			t.Errorf("process %d of the lost job is still running", p.Pid)
		}
	}
	for _, dir := range sh.Cgroups {
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("the lost job's cgroup %s is still there", dir)
		}
	}
	if err := l.Stop(context.Background(), h, time.Second); err != nil {
		t.Errorf("Stop of a lost job: %v", err)
	}
}

// A handle naming a directory outside the executor's state directory is refused.
func TestForeignHandle(t *testing.T) {
	l := newLocal(t, Config{StateDir: t.TempDir()})
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, specFile), []byte("{}"), 0o600)
	b, _ := json.Marshal(handle{Dir: other, Pid: 1, Start: 1})
	if _, err := l.Wait(context.Background(), executor.Handle(b)); err == nil {
		t.Errorf("Wait accepted a handle outside the state directory")
	}
	if err := l.Stop(context.Background(), executor.Handle(b), 0); err == nil {
		t.Errorf("Stop accepted a handle outside the state directory")
	}
}

func checkFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != want {
		t.Errorf("%s: got %q (%v), want %q", path, b, err, want)
	}
}

// FuzzParseHandle: whatever a stored handle holds, parse never panics and accepts only a
// directory directly inside the state directory.
func FuzzParseHandle(f *testing.F) {
	state := f.TempDir()
	os.MkdirAll(filepath.Join(state, "job"), 0o700)
	os.WriteFile(filepath.Join(state, "job", specFile), []byte("{}"), 0o600)
	l, err := New(Config{StateDir: state, Mode: ModeFallback})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{`{"dir":"` + state + `/job","pid":1,"start":2}`, `{"dir":"` + state + `/.."}`, `{"dir":"` + state + `"}`, `{"dir":"/etc"}`, `null`, `{`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hd, err := l.parse(executor.Handle(s))
		if err == nil && hd.Dir != filepath.Join(state, "job") {
			t.Errorf("handle %q accepted for %s", s, hd.Dir)
		}
	})
}

func TestRemove(t *testing.T) {
	l := newLocal(t, Config{StateDir: t.TempDir()})
	ctx := context.Background()
	h, err := l.Start(ctx, executor.Spec{ID: "rm", Dir: t.TempDir(), Command: []string{"/bin/sh", "-c", "sleep 30"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Remove(ctx, h); err == nil {
		t.Fatalf("Remove of a running job succeeded")
	}
	if err := l.Stop(ctx, h, 0); err != nil {
		t.Fatal(err)
	}
	if err := l.Remove(ctx, h); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Wait(ctx, h); err == nil {
		t.Errorf("Wait after Remove succeeded")
	}
	// The attempt id is free again.
	h, err = l.Start(ctx, executor.Spec{ID: "rm", Dir: t.TempDir(), Command: []string{"/bin/true"}})
	if err != nil {
		t.Fatal(err)
	}
	if x, err := l.Wait(ctx, h); err != nil || !x.Success() {
		t.Errorf("%+v %v", x, err)
	}
}

// A server that crashed before storing the handle finds the running attempt by its id.
func TestHandleFor(t *testing.T) {
	l := newLocal(t, Config{StateDir: t.TempDir()})
	ctx := context.Background()
	if _, err := l.HandleFor("never"); err == nil {
		t.Errorf("HandleFor of an attempt never started succeeded")
	}
	if _, err := l.Start(ctx, executor.Spec{ID: "crashed", Dir: t.TempDir(), Command: []string{"/bin/sh", "-c", "sleep 30"}}); err != nil {
		t.Fatal(err)
	}
	h, err := l.HandleFor("crashed")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Stop(ctx, h, time.Second); err != nil {
		t.Fatal(err)
	}
	if x, err := l.Wait(ctx, h); err != nil || x.Reason != executor.ReasonStopped {
		t.Errorf("Wait on a found handle: %+v %v; want stopped", x, err)
	}
}

// A server killed while starting a job leaves its state directory at one of a few points;
// the next Start of the same ID must run the command exactly once from each of them, and
// must refuse (errs.Conflict) once the command has started.
func TestStartTakesOverAnUnlaunchedAttempt(t *testing.T) {
	state := t.TempDir()
	l := newLocal(t, Config{StateDir: state})
	ctx := context.Background()
	marks := t.TempDir()
	spec := func(id string) executor.Spec {
		return executor.Spec{ID: id, Dir: t.TempDir(), Command: []string{"/bin/sh", "-c", "echo ran >> " + filepath.Join(marks, id)}}
	}
	runs := func(id string) int {
		b, _ := os.ReadFile(filepath.Join(marks, id))
		return strings.Count(string(b), "ran")
	}
	// Killed right after making the directory (what older servers could leave).
	os.Mkdir(filepath.Join(state, "empty"), 0o700)
	// Killed while writing the spec (its temporary file only).
	os.Mkdir(filepath.Join(state, "partial"), 0o700)
	os.WriteFile(filepath.Join(state, "partial", specFile+".tmp"), []byte(`{"spec":`), 0o600)
	// Killed after taking the lock, before the shim started the command: the lock is free.
	os.Mkdir(filepath.Join(state, "unlaunched"), 0o700)
	os.WriteFile(filepath.Join(state, "unlaunched", specFile), []byte(`{}`), 0o600)
	os.WriteFile(filepath.Join(state, "unlaunched", lockFile), nil, 0o600)
	for _, id := range []string{"empty", "partial", "unlaunched"} {
		h, err := l.Start(ctx, spec(id))
		if err != nil {
			t.Fatalf("%s: Start: %v", id, err)
		}
		if x, err := l.Wait(ctx, h); err != nil || x.Code != 0 || x.Reason != "" {
			t.Fatalf("%s: Wait: %+v %v", id, x, err)
		}
		if n := runs(id); n != 1 {
			t.Errorf("%s: the command ran %d times, want once", id, n)
		}
		// It started (and ended): starting it again re-attaches, it does not run again.
		if _, err := l.Start(ctx, spec(id)); !errs.Is(err, errs.Conflict) {
			t.Errorf("%s: second Start: %v, want Conflict", id, err)
		}
		if n := runs(id); n != 1 {
			t.Errorf("%s: after a second Start the command ran %d times", id, n)
		}
	}
	// The command started, then its shim vanished: that job is lost, never run a second time.
	os.Mkdir(filepath.Join(state, "vanished"), 0o700)
	os.WriteFile(filepath.Join(state, "vanished", specFile), []byte(`{}`), 0o600)
	os.WriteFile(filepath.Join(state, "vanished", lockFile), nil, 0o600)
	os.WriteFile(filepath.Join(state, "vanished", startedFile), []byte(`{"pid":1,"start":1}`), 0o600)
	if _, err := l.Start(ctx, spec("vanished")); !errs.Is(err, errs.Conflict) {
		t.Fatalf("Start of a job whose command started: %v, want Conflict", err)
	}
	h, err := l.HandleFor("vanished")
	if err != nil {
		t.Fatal(err)
	}
	if x, err := l.Wait(ctx, h); err != nil || x.Reason != executor.ReasonLost {
		t.Errorf("Wait on the vanished job: %+v %v, want lost", x, err)
	}
	if n := runs("vanished"); n != 0 {
		t.Errorf("the vanished job ran %d times here", n)
	}
	// Starts racing for one ID, fresh and taken over: one runs, the others re-attach.
	os.Mkdir(filepath.Join(state, "raced-over"), 0o700)
	for _, id := range []string{"raced", "raced-over"} {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var handles []executor.Handle
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h, err := l.Start(ctx, spec(id))
				if err == nil {
					mu.Lock()
					handles = append(handles, h)
					mu.Unlock()
				} else if !errs.Is(err, errs.Conflict) {
					t.Errorf("%s: racing Start: %v", id, err)
				}
			}()
		}
		wg.Wait()
		if len(handles) != 1 {
			t.Fatalf("%s: %d racing Starts launched, want 1", id, len(handles))
		}
		if _, err := l.Wait(ctx, handles[0]); err != nil {
			t.Fatal(err)
		}
		if n := runs(id); n != 1 {
			t.Errorf("%s: the command ran %d times, want once", id, n)
		}
	}
	// Nothing half-made is left behind.
	ents, _ := os.ReadDir(state)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), newPrefix) {
			t.Errorf("a temporary state directory was left: %s", e.Name())
		}
	}
}
