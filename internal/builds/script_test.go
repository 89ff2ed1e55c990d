package builds

import (
	"archive/zip"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/builds/buildspec"
)

// runPhase runs a phase's script with the real /bin/sh and returns its output and status.
func runPhase(t *testing.T, state, src string, ph buildspec.Phase, exported []string) (string, int) {
	t.Helper()
	script := filepath.Join(state, "p.sh")
	if err := os.WriteFile(script, []byte(phaseScript(state, src, ph, exported, true)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", script)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	code := 0
	if x, ok := err.(*exec.ExitError); ok {
		code = x.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// TestPhaseScripts: exports and the working directory carry from phase to phase; the first
// failing command stops its phase and is recorded with its status; finally runs regardless; a
// command that exits the shell is found by the marker; quotes survive.
func TestPhaseScripts(t *testing.T) {
	state, src := t.TempDir(), t.TempDir()
	if err := os.Mkdir(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, code := runPhase(t, state, src, buildspec.Phase{Commands: []string{"export A='it''s'", "cd sub", `B="x y"`}}, []string{"A"})
	if code != 0 {
		t.Fatalf("phase 1: %d %s", code, out)
	}
	out, code = runPhase(t, state, src, buildspec.Phase{Commands: []string{`echo "A=$A B=$B pwd=$(basename "$(pwd)")"`, "false", "echo never"}, Finally: []string{"echo finally"}}, []string{"A"})
	if code != 1 || !strings.Contains(out, "A=its B= pwd=sub") || strings.Contains(out, "\nnever") || !strings.Contains(out, "finally\n") {
		t.Errorf("phase 2: %d\n%s", code, out)
	}
	if i, rc, ok := phaseOutcome(state); !ok || i != 1 || rc != 1 {
		t.Errorf("phaseOutcome = %d %d %v, want command 1 status 1", i, rc, ok)
	}
	_, code = runPhase(t, state, src, buildspec.Phase{Commands: []string{"echo ok", "exit 7"}}, nil)
	if i, rc, ok := phaseOutcome(state); code != 7 || !ok || i != 1 || rc != -1 {
		t.Errorf("a command that exits: status %d, outcome %d %d %v", code, i, rc, ok)
	}
	if got := readExported(state, []string{"A", "MISSING"}); len(got) != 1 || got[0].Value != "its" {
		t.Errorf("exported = %+v", got)
	}
}

func TestUnpackRefusesEscapes(t *testing.T) {
	for _, name := range []string{"../evil", "/abs", "a/../../evil"} {
		var buf bytes.Buffer
		z := zip.NewWriter(&buf)
		w, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("x"))
		z.Close()
		dir := t.TempDir()
		if err := unpack(buf.Bytes(), filepath.Join(dir, "src"), ""); err == nil && name != "/abs" {
			t.Errorf("unpack accepted %q", name)
		}
		if _, err := os.Stat(filepath.Join(dir, "evil")); err == nil {
			t.Errorf("%q escaped the source directory", name)
		}
	}
	dir := t.TempDir()
	if err := unpack([]byte("plain"), dir, "template.json"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "template.json")); string(b) != "plain" {
		t.Errorf("a single-file source = %q", b)
	}
}

func TestCollect(t *testing.T) {
	src := t.TempDir()
	for _, f := range []string{"out/a.json", "out/d/b.json", "out/d/c.txt", "top.json"} {
		p := filepath.Join(src, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(f), 0o644)
	}
	names := func(a buildspec.Artifacts) string {
		fs, err := collect(src, a)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range fs {
			out = append(out, f.name)
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		a    buildspec.Artifacts
		want string
	}{
		{buildspec.Artifacts{Files: []string{"**/*"}, BaseDirectory: "out"}, "a.json,d/b.json,d/c.txt"},
		{buildspec.Artifacts{Files: []string{"**/*.json"}, BaseDirectory: "out", DiscardPaths: true}, "a.json,b.json"},
		{buildspec.Artifacts{Files: []string{"*.json"}}, "top.json"},
		{buildspec.Artifacts{Files: []string{"out/d/*"}}, "out/d/b.json,out/d/c.txt"},
	} {
		if got := names(c.a); got != c.want {
			t.Errorf("collect(%+v) = %s, want %s", c.a, got, c.want)
		}
	}
}
