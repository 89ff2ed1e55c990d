package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestContainerCommand: `slipway container` is hidden from the command list, trains through the
// CLI with --root, and exits 1 with output/failure on bad input; a hyperparameter sagemaker_program
// sends the XGBoost image to script mode.
func TestContainerCommand(t *testing.T) {
	var help bytes.Buffer
	Run(context.Background(), []string{"--help"}, &help, &help)
	if strings.Contains(help.String(), "container") {
		t.Errorf("slipway --help lists the hidden container command:\n%s", help.String())
	}
	root := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("input/config/hyperparameters.json", `{"num_round": "3", "max_depth": "2"}`)
	write("input/config/inputdataconfig.json", `{"train": {"ContentType": "text/csv"}}`)
	write("input/data/train/a.csv", "1,0.5\n0,0.1\n1,0.9\n0,0.2\n")
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"container", "xgboost", "--root", root, "--image-version", "1.2-2"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "[0]#011train-rmse:") {
		t.Errorf("stdout %q", out.String())
	}
	if b, err := os.ReadFile(filepath.Join(root, "model", "xgboost-model")); err != nil || b[0] != 0x80 {
		t.Errorf("image 1.2-2 did not write a pickle: %v", err)
	}

	write("input/config/hyperparameters.json", `{"num_round": "0"}`)
	if code := Run(context.Background(), []string{"container", "xgboost", "--root", root}, &out, &errb); code != 1 {
		t.Errorf("bad num_round: exit %d, want 1", code)
	}
	if f, _ := os.ReadFile(filepath.Join(root, "output", "failure")); !strings.Contains(string(f), "num_round") {
		t.Errorf("output/failure %q", f)
	}

	write("input/config/hyperparameters.json", `{"sagemaker_program": "\"train.py\"", "sagemaker_submit_directory": "\"file://`+filepath.Join(root, "src")+`\""}`)
	write("src/train.py", "import os\nopen(os.path.join(os.environ['SM_MODEL_DIR'], 'done'), 'w').write('ok')\n")
	t.Setenv("SM_MODEL_DIR", filepath.Join(root, "model"))
	t.Setenv("SLIPWAY_PYTHON", "/usr/bin/python3")
	errb.Reset()
	if code := Run(context.Background(), []string{"container", "xgboost", "--root", root}, &out, &errb); code != 0 {
		t.Fatalf("script mode: exit %d: %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(root, "model", "done")); err != nil {
		t.Errorf("the script did not run: %v", err)
	}
	if code := Run(context.Background(), []string{"container", "nope"}, &out, &errb); code != 2 {
		t.Errorf("unknown entrypoint: exit %d, want 2", code)
	}
}

func TestContainerExec(t *testing.T) {
	var gotPath string
	var gotArgv []string
	execve := func(path string, argv, env []string) error { gotPath, gotArgv = path, argv; return nil }
	if err := containerExec([]string{"python3", "/opt/ml/processing/input/code/evaluate.py", "--x"}, "/usr/bin/python3", execve); err != nil {
		t.Fatal(err)
	}
	if gotPath != "/usr/bin/python3" || strings.Join(gotArgv, " ") != "/usr/bin/python3 /opt/ml/processing/input/code/evaluate.py --x" {
		t.Errorf("exec %s %q", gotPath, gotArgv)
	}
	if err := containerExec([]string{"sh", "-c", "true"}, "", execve); err != nil || gotPath != "/usr/bin/sh" && gotPath != "/bin/sh" {
		t.Errorf("sh: %v %s", err, gotPath)
	}
	if err := containerExec(nil, "", execve); err == nil || !strings.Contains(err.Error(), "ContainerEntrypoint") {
		t.Errorf("no entrypoint: %v", err)
	}
	if err := containerExec([]string{"no-such-program-here"}, "", execve); err == nil {
		t.Error("a missing program was accepted")
	}
}
