// Package executortest is the conformance suite every executor.Executor implementation runs.
package executortest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/executor"
)

// OptMLRemapper is implemented by executors that may run without remapping /opt/ml; the suite
// then checks /opt/ml itself only when RemapsOptML is true. Executors that do not implement it
// must always remap.
type OptMLRemapper interface {
	RemapsOptML() bool
}

// Run runs the suite. newExecutor returns a new executor value each time it is called, over the
// same backing state for the whole run (a second value stands for a restarted server).
func Run(t *testing.T, newExecutor func(t *testing.T) executor.Executor) {
	s := &suite{newExecutor: newExecutor, prefix: fmt.Sprintf("t%d", time.Now().UnixNano())}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"ExitCodes", s.exitCodes},
		{"Signal", s.signal},
		{"Env", s.env},
		{"SignalsNotIgnored", s.signalsDefault},
		{"NoInheritedFiles", s.fds},
		{"OptML", s.optML},
		{"WorkDir", s.workDir},
		{"Mounts", s.mounts},
		{"Logs", s.logs},
		{"LogsFollow", s.logsFollow},
		{"StopGrace", s.stopGrace},
		{"StopKillsAfterGrace", s.stopKill},
		{"StopRightAfterStart", s.stopAtOnce},
		{"OutlivesExecutorValue", s.outlives},
		{"BadSpec", s.badSpec},
		{"Enforced", s.enforced},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.fn)
	}
}

type suite struct {
	newExecutor func(t *testing.T) executor.Executor
	prefix      string
	n           int
}

const waitLimit = 30 * time.Second

func (s *suite) id(t *testing.T) string {
	s.n++
	return fmt.Sprintf("%s-%s-%d", s.prefix, strings.ReplaceAll(filepath.Base(t.Name()), "/", "-"), s.n)
}

// sh is a spec running script with /bin/sh in a fresh job directory.
func (s *suite) sh(t *testing.T, script string) executor.Spec {
	return executor.Spec{ID: s.id(t), Dir: t.TempDir(), Command: []string{"/bin/sh", "-c", script}}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return c
}

func start(t *testing.T, e executor.Executor, sp executor.Spec) executor.Handle {
	t.Helper()
	h, err := e.Start(ctx(t), sp)
	if err != nil {
		t.Fatalf("Start(%v): %v", sp.Command, err)
	}
	return h
}

func wait(t *testing.T, e executor.Executor, h executor.Handle) executor.Exit {
	t.Helper()
	x, err := e.Wait(ctx(t), h)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return x
}

func run(t *testing.T, e executor.Executor, sp executor.Spec) (executor.Exit, string) {
	t.Helper()
	h := start(t, e, sp)
	x := wait(t, e, h)
	return x, logs(t, e, h, false)
}

func logs(t *testing.T, e executor.Executor, h executor.Handle, follow bool) string {
	t.Helper()
	r, err := e.Logs(ctx(t), h, follow)
	if err != nil {
		t.Fatalf("Logs: %v", err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading logs: %v", err)
	}
	return string(b)
}

func remaps(e executor.Executor) bool {
	r, ok := e.(OptMLRemapper)
	return !ok || r.RemapsOptML()
}

func (s *suite) exitCodes(t *testing.T) {
	e := s.newExecutor(t)
	for _, code := range []int{0, 1, 3, 127} {
		x, _ := run(t, e, s.sh(t, fmt.Sprintf("exit %d", code)))
		want := executor.Exit{Code: code}
		if x != want {
			t.Errorf("exit %d: got %+v, want %+v", code, x, want)
		}
		if x.Success() != (code == 0) {
			t.Errorf("exit %d: Success() = %v", code, x.Success())
		}
	}
}

func (s *suite) signal(t *testing.T) {
	e := s.newExecutor(t)
	for sig, want := range map[string]executor.Exit{
		"KILL": {Code: 137, Signal: "SIGKILL"},
		"TERM": {Code: 143, Signal: "SIGTERM"},
	} {
		x, _ := run(t, e, s.sh(t, "kill -"+sig+" $$"))
		if x != want {
			t.Errorf("kill -%s: got %+v, want %+v", sig, x, want)
		}
	}
}

// The command starts with no signal blocked or ignored (both are inherited across exec).
func (s *suite) signalsDefault(t *testing.T) {
	e := s.newExecutor(t)
	x, out := run(t, e, s.sh(t, "grep -E '^Sig(Blk|Ign)' /proc/self/status"))
	var blk, ign uint64
	if _, err := fmt.Sscanf(out, "SigBlk:\t%x\nSigIgn:\t%x\n", &blk, &ign); err != nil || !x.Success() {
		t.Fatalf("got %+v %q (%v)", x, out, err)
	}
	// Signals 32 and 33 (bits 31 and 32) belong to the C library's threads implementation, not
	// to programs (glibc's SIGRTMIN is 34); once a test run was seen with 32 ignored from the
	// environment. Every other signal must reach the command with its default disposition.
	const libc = 1<<31 | 1<<32
	if blk != 0 || ign&^libc != 0 {
		t.Errorf("got %+v %q, want no blocked and no ignored signal", x, out)
	}
}

// The command holds stdin, stdout and stderr only: no lock, pipe or file of its supervisor
// (a leaked lock would keep a lost job looking alive).
func (s *suite) fds(t *testing.T) {
	e := s.newExecutor(t)
	x, out := run(t, e, s.sh(t, "ls /proc/self/fd"))
	if !x.Success() || out != "0\n1\n2\n3\n" { // 3: the directory ls is reading
		t.Errorf("got %+v %q, want only 0, 1, 2 (and ls's own 3)", x, out)
	}
}

func (s *suite) env(t *testing.T) {
	t.Setenv("SLIPWAY_EXECUTORTEST_SERVER_SECRET", "leaked")
	e := s.newExecutor(t)
	sp := s.sh(t, `echo "a=$A b=$B secret=${SLIPWAY_EXECUTORTEST_SERVER_SECRET-unset} path=${PATH:+set} optml=$`+executor.EnvOptML+`"`)
	sp.Env = map[string]string{"A": "1", "B": "two words"}
	x, out := run(t, e, sp)
	optML := executor.OptML
	if !remaps(e) {
		optML = sp.Dir
	}
	want := fmt.Sprintf("a=1 b=two words secret=unset path=set optml=%s\n", optML)
	if !x.Success() || out != want {
		t.Errorf("got %+v %q, want success and %q", x, out, want)
	}
}

func (s *suite) optML(t *testing.T) {
	e := s.newExecutor(t)
	sp := s.sh(t, `mkdir -p "$`+executor.EnvOptML+`/model" && echo trained > "$`+executor.EnvOptML+`/model/x" && cat "$`+executor.EnvOptML+`/input/config/hp.json"`)
	os.MkdirAll(filepath.Join(sp.Dir, "input", "config"), 0o755)
	os.WriteFile(filepath.Join(sp.Dir, "input", "config", "hp.json"), []byte(`{"eta":"0.2"}`), 0o644)
	x, out := run(t, e, sp)
	if !x.Success() || out != `{"eta":"0.2"}` {
		t.Fatalf("got %+v %q", x, out)
	}
	checkFile(t, filepath.Join(sp.Dir, "model", "x"), "trained\n")
	if !remaps(e) {
		return
	}
	// The hard-coded path: what unmodified SageMaker scripts use.
	sp = s.sh(t, `test "$(cat /opt/ml/input/config/hp.json)" = '{"eta":"0.2"}' || exit 9
mkdir -p /opt/ml/model /opt/ml/processing/output && echo hard > /opt/ml/model/y && echo out > /opt/ml/processing/output/z`)
	os.MkdirAll(filepath.Join(sp.Dir, "input", "config"), 0o755)
	os.WriteFile(filepath.Join(sp.Dir, "input", "config", "hp.json"), []byte(`{"eta":"0.2"}`), 0o644)
	x, out = run(t, e, sp)
	if !x.Success() {
		t.Fatalf("writing /opt/ml: got %+v %q", x, out)
	}
	checkFile(t, filepath.Join(sp.Dir, "model", "y"), "hard\n")
	checkFile(t, filepath.Join(sp.Dir, "processing", "output", "z"), "out\n")
	if _, err := os.Stat(filepath.Join(executor.OptML, "model", "y")); err == nil {
		t.Errorf("%s/model/y exists on the host: the job wrote through to the host's /opt/ml", executor.OptML)
	}
}

func checkFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != want {
		t.Errorf("%s: got %q (%v), want %q", path, b, err, want)
	}
}

func (s *suite) workDir(t *testing.T) {
	e := s.newExecutor(t)
	sp := s.sh(t, "pwd")
	x, out := run(t, e, sp)
	if !x.Success() || out != "/\n" {
		t.Errorf("without code/: got %+v %q, want /", x, out)
	}
	sp = s.sh(t, "pwd")
	os.Mkdir(filepath.Join(sp.Dir, "code"), 0o755)
	want := executor.OptML + "/code\n"
	if !remaps(e) {
		want = sp.Dir + "/code\n"
	}
	if x, out = run(t, e, sp); !x.Success() || out != want {
		t.Errorf("with code/: got %+v %q, want %q", x, out, want)
	}
	sp = s.sh(t, "pwd")
	sp.WorkDir = "/tmp"
	if x, out = run(t, e, sp); !x.Success() || out != "/tmp\n" {
		t.Errorf("WorkDir /tmp: got %+v %q", x, out)
	}
}

func (s *suite) mounts(t *testing.T) {
	e := s.newExecutor(t)
	in, out := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(in, "data.csv"), []byte("1,2\n"), 0o644)
	sp := s.sh(t, `in=$`+executor.EnvOptML+`/processing/input; o=$`+executor.EnvOptML+`/processing/output
cat "$in/data.csv" && echo result > "$o/r.txt" && echo ok`)
	sp.Mounts = []executor.Mount{
		{Host: in, Target: executor.OptML + "/processing/input", ReadOnly: true},
		{Host: out, Target: executor.OptML + "/processing/output"},
	}
	x, got := run(t, e, sp)
	if !x.Success() || got != "1,2\nok\n" {
		t.Fatalf("got %+v %q", x, got)
	}
	checkFile(t, filepath.Join(out, "r.txt"), "result\n")
	if !remaps(e) {
		return
	}
	// Read-only is enforced, and a target outside /opt/ml resolves.
	elsewhere := filepath.Join(t.TempDir(), "not-yet", "input")
	sp = s.sh(t, `cat /opt/ml/processing/input/data.csv `+elsewhere+`/data.csv && if touch /opt/ml/processing/input/new 2>/dev/null; then echo writable; else echo read-only; fi`)
	sp.Mounts = []executor.Mount{
		{Host: in, Target: executor.OptML + "/processing/input", ReadOnly: true},
		{Host: in, Target: elsewhere, ReadOnly: true},
	}
	if x, got = run(t, e, sp); !x.Success() || got != "1,2\n1,2\nread-only\n" {
		t.Fatalf("got %+v %q", x, got)
	}
	if _, err := os.Stat(filepath.Join(in, "new")); err == nil {
		t.Errorf("a read-only mount was written")
	}
}

func (s *suite) logs(t *testing.T) {
	e := s.newExecutor(t)
	x, out := run(t, e, s.sh(t, "echo one; echo two >&2; echo three"))
	if !x.Success() || out != "one\ntwo\nthree\n" {
		t.Errorf("got %+v %q", x, out)
	}
}

func (s *suite) logsFollow(t *testing.T) {
	e := s.newExecutor(t)
	gate := filepath.Join(t.TempDir(), "gate")
	h := start(t, e, s.sh(t, `echo before; while [ ! -e `+gate+` ]; do sleep 0.01; done; echo after; exit 4`))
	r, err := e.Logs(ctx(t), h, true)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	br := bufio.NewReader(r)
	line, err := br.ReadString('\n')
	if err != nil || line != "before\n" {
		t.Fatalf("first line: %q, %v", line, err)
	}
	// The job is still blocked on the gate: following must wait, not end.
	os.WriteFile(gate, nil, 0o644)
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "after\n" {
		t.Errorf("rest: %q, %v", rest, err)
	}
	if x := wait(t, e, h); x.Code != 4 {
		t.Errorf("exit: %+v", x)
	}
	// A follower of an ended job reads everything and ends.
	if got := logs(t, e, h, true); got != "before\nafter\n" {
		t.Errorf("following an ended job: %q", got)
	}
}

func (s *suite) stopGrace(t *testing.T) {
	e := s.newExecutor(t)
	sp := s.sh(t, `trap 'echo got TERM; exit 0' TERM; echo ready; while :; do sleep 0.05; done`)
	h := start(t, e, sp)
	waitLog(t, e, h, "ready\n")
	if err := e.Stop(ctx(t), h, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	x := wait(t, e, h)
	if x.Reason != executor.ReasonStopped || x.Code != 0 {
		t.Errorf("got %+v, want code 0 (the trap) and Reason %q", x, executor.ReasonStopped)
	}
	if out := logs(t, e, h, false); !strings.Contains(out, "got TERM") {
		t.Errorf("log %q: the job did not see SIGTERM", out)
	}
	// Stopping an ended job does nothing.
	if err := e.Stop(ctx(t), h, time.Second); err != nil {
		t.Errorf("Stop of an ended job: %v", err)
	}
	if x2 := wait(t, e, h); x2 != x {
		t.Errorf("second Wait: %+v, want %+v", x2, x)
	}
}

func (s *suite) stopKill(t *testing.T) {
	e := s.newExecutor(t)
	h := start(t, e, s.sh(t, `trap '' TERM; echo ready; sleep 60`))
	waitLog(t, e, h, "ready\n")
	began := time.Now()
	if err := e.Stop(ctx(t), h, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	x := wait(t, e, h)
	want := executor.Exit{Code: 137, Signal: "SIGKILL", Reason: executor.ReasonStopped}
	if x != want {
		t.Errorf("got %+v, want %+v", x, want)
	}
	if took < 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("Stop took %v with a 300ms grace", took)
	}
}

func (s *suite) stopAtOnce(t *testing.T) {
	e := s.newExecutor(t)
	for i := 0; i < 5; i++ {
		h := start(t, e, s.sh(t, "sleep 30"))
		if err := e.Stop(ctx(t), h, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		if x := wait(t, e, h); x.Reason != executor.ReasonStopped {
			t.Fatalf("run %d: a job stopped right after it started ended %+v, want Reason %q", i, x, executor.ReasonStopped)
		}
	}
}

// waitLog waits until the job's log holds want.
func waitLog(t *testing.T, e executor.Executor, h executor.Handle, want string) {
	t.Helper()
	r, err := e.Logs(ctx(t), h, true)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, len(want))
	if _, err := io.ReadFull(r, buf); err != nil || string(buf) != want {
		t.Fatalf("log: %q, %v; want %q", buf, err, want)
	}
}

func (s *suite) outlives(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "gate")
	e1 := s.newExecutor(t)
	sp := s.sh(t, `echo started; while [ ! -e `+gate+` ]; do sleep 0.01; done; echo "ran once" >> "$`+executor.EnvOptML+`/count"; exit 42`)
	h := start(t, e1, sp)
	stored := string(h) // what the jobs engine persists
	e2 := s.newExecutor(t)
	waitLog(t, e2, executor.Handle(stored), "started\n")
	os.WriteFile(gate, nil, 0o644)
	for i := 0; i < 2; i++ {
		if x := wait(t, e2, executor.Handle(stored)); x != (executor.Exit{Code: 42}) {
			t.Errorf("Wait %d from a new executor value: %+v", i, x)
		}
	}
	checkFile(t, filepath.Join(sp.Dir, "count"), "ran once\n")
	if got := logs(t, e2, executor.Handle(stored), false); got != "started\n" {
		t.Errorf("logs from a new executor value: %q", got)
	}
}

func (s *suite) badSpec(t *testing.T) {
	e := s.newExecutor(t)
	good := s.sh(t, "exit 0")
	cases := map[string]func(sp *executor.Spec){
		"relative command": func(sp *executor.Spec) { sp.Command = []string{"sh", "-c", "true"} },
		"no command":       func(sp *executor.Spec) { sp.Command = nil },
		"missing command":  func(sp *executor.Spec) { sp.Command = []string{"/nonexistent/bin/x"} },
		"bad id":           func(sp *executor.Spec) { sp.ID = "../escape" },
		"relative dir":     func(sp *executor.Spec) { sp.Dir = "rel" },
		"missing dir":      func(sp *executor.Spec) { sp.Dir = "/nonexistent/dir" },
		"missing mount": func(sp *executor.Spec) {
			sp.Mounts = []executor.Mount{{Host: "/nonexistent/m", Target: "/opt/ml/processing/in"}}
		},
		"mount over /": func(sp *executor.Spec) { sp.Mounts = []executor.Mount{{Host: sp.Dir, Target: "/"}} },
	}
	for name, mutate := range cases {
		sp := good
		sp.ID = s.id(t)
		mutate(&sp)
		if _, err := e.Start(ctx(t), sp); errs.KindOf(err) != errs.Invalid {
			t.Errorf("%s: got %v, want an Invalid error", name, err)
		}
	}
	// A failed start leaves nothing behind: the same attempt can be made again, once.
	sp := good
	sp.Command = []string{"/nonexistent/bin/x"}
	e.Start(ctx(t), sp)
	h := start(t, e, good)
	if _, err := e.Start(ctx(t), good); errs.KindOf(err) != errs.Conflict {
		t.Errorf("starting %s twice: got %v, want a Conflict", good.ID, err)
	}
	wait(t, e, h)
	if _, err := e.Wait(ctx(t), executor.Handle("garbage")); err == nil {
		t.Errorf("Wait on a garbage handle succeeded")
	}
}

func (s *suite) enforced(t *testing.T) {
	if got := s.newExecutor(t).Enforced(); got == "" {
		t.Errorf("Enforced() is empty")
	}
}
