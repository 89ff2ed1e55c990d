package container

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const trainPy = `import json, os, sys
out = os.environ["SM_MODEL_DIR"]
with open(os.path.join(out, "args.json"), "w") as f:
    json.dump({"argv": sys.argv, "hps": json.loads(os.environ["SM_HPS"]), "depth": os.environ.get("SM_HP_MAX_DEPTH"), "cwd": os.getcwd()}, f)
if "--fail" in sys.argv:
    print("boom: bad things", file=sys.stderr)
    sys.exit(3)
`

func scriptJob(t *testing.T, hp map[string]string, files map[string][]byte) (Paths, string) {
	t.Helper()
	root := jobDir(t, hp, "text/csv", map[string]string{"train": "1,2\n"})
	src := filepath.Join(t.TempDir(), "sourcedir.tar.gz")
	writeTarGz(t, src, files)
	hp2 := map[string]string{}
	for k, v := range hp {
		hp2[k] = strings.ReplaceAll(v, "SRC", "file://"+src)
	}
	js, _ := json.Marshal(hp2)
	must(t, os.WriteFile(filepath.Join(root, "input/config/hyperparameters.json"), js, 0o644))
	return paths(root), root
}

// TestRunScript: the SDK's JSON-encoded hyperparameters select and fetch the program, which runs in
// the code directory with the others as --name value and the toolkit's SM_HP variables.
func TestRunScript(t *testing.T) {
	hp := map[string]string{"sagemaker_program": `"train.py"`, "sagemaker_submit_directory": `"SRC"`, "max_depth": "5", "objective": `"reg:squarederror"`}
	p, root := scriptJob(t, hp, map[string][]byte{"train.py": []byte(trainPy)})
	must(t, os.MkdirAll(p.Model, 0o755))
	var out, errb bytes.Buffer
	env := append(os.Environ(), "SM_MODEL_DIR="+p.Model)
	if err := RunScript(context.Background(), Script{Paths: p, Python: debianPython, Stdout: &out, Stderr: &errb, Environ: env}); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	var got struct {
		Argv  []string
		HPs   map[string]string
		Depth string
		Cwd   string
	}
	raw, err := os.ReadFile(filepath.Join(p.Model, "args.json"))
	must(t, err)
	must(t, json.Unmarshal(raw, &got))
	if strings.Join(got.Argv, " ") != "train.py --max_depth 5 --objective reg:squarederror" || got.Depth != "5" || got.Cwd != filepath.Join(root, "code") {
		t.Errorf("script saw %+v", got)
	}
	if _, err := os.Stat(filepath.Join(root, "output", "failure")); err == nil {
		t.Error("a successful run wrote output/failure")
	}
}

func TestRunScriptFailures(t *testing.T) {
	cases := []struct {
		name  string
		hp    map[string]string
		files map[string][]byte
		want  string
	}{
		{"script exits 3", map[string]string{"sagemaker_program": "train.py", "sagemaker_submit_directory": "SRC", "fail": "1"},
			map[string][]byte{"train.py": []byte(trainPy)}, "ExitCode 3"},
		{"no program", map[string]string{"sagemaker_submit_directory": "SRC"}, map[string][]byte{"train.py": []byte(trainPy)}, "sagemaker_program"},
		{"program not in archive", map[string]string{"sagemaker_program": "other.py", "sagemaker_submit_directory": "SRC"},
			map[string][]byte{"train.py": []byte(trainPy)}, "no such file"},
		{"archive escapes", map[string]string{"sagemaker_program": "train.py", "sagemaker_submit_directory": "SRC"},
			map[string][]byte{"../evil.py": []byte("x")}, "outside the source directory"},
		{"program escapes", map[string]string{"sagemaker_program": "../x.py", "sagemaker_submit_directory": "SRC"},
			map[string][]byte{"train.py": []byte(trainPy)}, "inside the source directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, root := scriptJob(t, c.hp, c.files)
			must(t, os.MkdirAll(p.Model, 0o755))
			env := append(os.Environ(), "SM_MODEL_DIR="+p.Model)
			err := RunScript(context.Background(), Script{Paths: p, Python: debianPython, Environ: env})
			if err == nil {
				t.Fatal("RunScript succeeded")
			}
			failure, _ := os.ReadFile(filepath.Join(root, "output", "failure"))
			if !strings.Contains(string(failure), c.want) {
				t.Errorf("failure %q, want it to contain %q", failure, c.want)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(root), "evil.py")); err == nil {
				t.Error("the archive wrote outside the code directory")
			}
		})
	}
	if f := string(mustRead(t, filepath.Join(jobFailureRoot(t), "output", "failure"))); !strings.Contains(f, "boom: bad things") {
		t.Errorf("failure %q does not carry the script's last stderr lines", f)
	}
}

// jobFailureRoot runs the failing script once more and returns its root, to check the message.
func jobFailureRoot(t *testing.T) string {
	p, root := scriptJob(t, map[string]string{"sagemaker_program": "train.py", "sagemaker_submit_directory": "SRC", "fail": "1"}, map[string][]byte{"train.py": []byte(trainPy)})
	must(t, os.MkdirAll(p.Model, 0o755))
	_ = RunScript(context.Background(), Script{Paths: p, Python: debianPython, Environ: append(os.Environ(), "SM_MODEL_DIR="+p.Model)})
	return root
}

func mustRead(t testing.TB, path string) []byte {
	b, err := os.ReadFile(path)
	must(t, err)
	return b
}

func FuzzExtractTarGz(f *testing.F) {
	var buf bytes.Buffer
	dir := f.TempDir()
	writeTarGz(f, filepath.Join(dir, "a.tar.gz"), map[string][]byte{"a/b.py": []byte("x")})
	seed, _ := os.ReadFile(filepath.Join(dir, "a.tar.gz"))
	f.Add(seed)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		out := t.TempDir()
		_ = ExtractTarGz(bytes.NewReader(data), filepath.Join(out, "code"))
		entries, _ := os.ReadDir(out)
		if len(entries) > 1 {
			t.Fatalf("extraction wrote beside the code directory: %v", entries)
		}
	})
}

func TestRunLinear(t *testing.T) {
	train, val, _ := abaloneCSVs(t)
	root := jobDir(t, map[string]string{"l2": "0.01"}, "text/csv", map[string]string{"train": train, "validation": val})
	var log bytes.Buffer
	if err := RunLinear(context.Background(), paths(root), &log); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(log.String(), "train-rmse:") || !strings.Contains(log.String(), "#011validation-rmse:") {
		t.Errorf("log %q", log.String())
	}
	if _, err := os.Stat(filepath.Join(root, "model", "linear-model.json")); err != nil {
		t.Error(err)
	}
}
