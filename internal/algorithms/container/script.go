package container

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Fetch copies the object at an s3:// URI to w. The CLI supplies one that calls S3 as the job's
// role; RunScript itself reads file:// URIs and local paths.
type Fetch func(ctx context.Context, uri string, w io.Writer) error

// Script is a script-mode training run.
type Script struct {
	Paths   Paths
	Python  string // the interpreter; "" = /usr/bin/python3
	Fetch   Fetch  // for s3:// submit directories
	Stdout  io.Writer
	Stderr  io.Writer
	Environ []string // the job's environment (os.Environ()); the SM_* variables of the toolkit are added
}

// maxSourceBytes bounds the submitted source archive.
const maxSourceBytes = 1 << 30

// RunScript runs a training job in script mode as the SageMaker training toolkit does: the
// hyperparameters (JSON-encoded by the SageMaker SDK, plain strings by hand) name the program
// (sagemaker_program) and its source archive (sagemaker_submit_directory, a .tar.gz at an s3:// or
// file:// URI), which is unpacked into the code directory; the interpreter runs the program there
// with every other hyperparameter as `--name value` (sorted by name), and SM_HPS, SM_HP_<NAME>,
// SM_USER_ARGS and SM_MODULE_DIR added to the environment. A failure writes output/failure.
func RunScript(ctx context.Context, s Script) error {
	err := runScript(ctx, s)
	if err != nil {
		if werr := s.Paths.WriteFailure(failureText(err)); werr != nil {
			return errors.Join(err, werr)
		}
	}
	return err
}

func runScript(ctx context.Context, s Script) error {
	raw, err := ReadHyperparameters(filepath.Join(s.Paths.InputConfig, "hyperparameters.json"))
	if err != nil {
		return err
	}
	hp := map[string]string{}
	for k, v := range raw {
		hp[k] = decodeHP(v)
	}
	program := hp["sagemaker_program"]
	if program == "" {
		return errs.E(errs.Invalid, "script mode needs the hyperparameter sagemaker_program (the script to run)")
	}
	if filepath.IsAbs(program) || strings.Contains(filepath.ToSlash(program), "..") {
		return errs.E(errs.Invalid, "hyperparameter sagemaker_program=%q: want a path inside the source directory", program)
	}
	if dir := hp["sagemaker_submit_directory"]; dir != "" {
		if err := s.unpack(ctx, dir); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(s.Paths.Code, program)); err != nil {
		return errs.E(errs.Invalid, "hyperparameter sagemaker_program=%q: no such file in the source directory", program)
	}
	user := map[string]string{}
	var names []string
	for k, v := range hp {
		if strings.HasPrefix(k, "sagemaker_") || k == "_tuning_objective_metric" {
			continue
		}
		user[k] = v
		names = append(names, k)
	}
	sort.Strings(names)
	var args []string
	for _, k := range names {
		args = append(args, "--"+k, user[k])
	}
	python := s.Python
	if python == "" {
		python = "/usr/bin/python3"
	}
	hps, _ := json.Marshal(user)
	userArgs, _ := json.Marshal(args)
	env := append([]string(nil), s.Environ...)
	env = append(env, "SM_HPS="+string(hps), "SM_USER_ARGS="+string(userArgs), "SM_MODULE_DIR="+hp["sagemaker_submit_directory"],
		"SM_USER_ENTRY_POINT="+program, "SM_MODULE_NAME="+strings.TrimSuffix(filepath.Base(program), ".py"))
	for _, k := range names {
		env = append(env, "SM_HP_"+strings.ToUpper(k)+"="+user[k])
	}
	cmd := exec.CommandContext(ctx, python, append([]string{program}, args...)...)
	cmd.Dir = s.Paths.Code
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = s.Stdout, s.Stderr
	tail := &tailWriter{max: 2048}
	if s.Stderr != nil {
		cmd.Stderr = io.MultiWriter(s.Stderr, tail)
	} else {
		cmd.Stderr = tail
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return errs.E(errs.Other, "ExecuteUserScriptError:\nExitCode %d\nErrorMessage %q\nCommand %q", ee.ExitCode(),
				strings.TrimSpace(tail.String()), strings.Join(append([]string{python, program}, args...), " "))
		}
		return errs.E(errs.Internal, "cannot run %s", python, err)
	}
	return nil
}

// decodeHP undoes the SageMaker SDK's JSON encoding of a hyperparameter value ("\"train.py\"" →
// train.py); a value that is not a JSON string is kept as written.
func decodeHP(v string) string {
	var s string
	if len(v) >= 2 && v[0] == '"' && json.Unmarshal([]byte(v), &s) == nil {
		return s
	}
	return v
}

// unpack fetches the source archive and extracts it into the code directory.
func (s Script) unpack(ctx context.Context, uri string) error {
	var buf bytes.Buffer
	switch {
	case strings.HasPrefix(uri, "s3://"):
		if s.Fetch == nil {
			return errs.E(errs.Internal, "no S3 client to fetch %s", uri)
		}
		if err := s.Fetch(ctx, uri, &limitWriter{w: &buf, n: maxSourceBytes}); err != nil {
			return errs.E(errs.Invalid, "cannot fetch sagemaker_submit_directory %s", uri, err)
		}
	default:
		path := strings.TrimPrefix(uri, "file://")
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			return copyDir(path, s.Paths.Code)
		}
		f, err := os.Open(path)
		if err != nil {
			return errs.E(errs.Invalid, "cannot read sagemaker_submit_directory %s", uri, err)
		}
		defer f.Close()
		if _, err := io.Copy(&limitWriter{w: &buf, n: maxSourceBytes}, f); err != nil {
			return errs.E(errs.Invalid, "cannot read sagemaker_submit_directory %s", uri, err)
		}
	}
	return ExtractTarGz(bytes.NewReader(buf.Bytes()), s.Paths.Code)
}

// ExtractTarGz unpacks a .tar.gz into dir: regular files and directories only, every path inside
// dir (an entry that would escape it, a link or a device is refused).
func ExtractTarGz(r io.Reader, dir string) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return errs.E(errs.Invalid, "the source archive is not gzip-compressed", err)
	}
	tr := tar.NewReader(gz)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errs.E(errs.Internal, "cannot create %s", dir, err)
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return errs.E(errs.Invalid, "the source archive is not a valid tar", err)
		}
		name := filepath.Clean(filepath.FromSlash(h.Name))
		if name == "." {
			continue
		}
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
			return errs.E(errs.Invalid, "the source archive entry %q points outside the source directory", h.Name)
		}
		dst := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return errs.E(errs.Internal, "cannot create %s", name, err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return errs.E(errs.Internal, "cannot create %s", name, err)
			}
			f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, os.FileMode(h.Mode&0o755)|0o600)
			if err != nil {
				return errs.E(errs.Internal, "cannot create %s", name, err)
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return errs.E(errs.Invalid, "cannot extract %s", name, err)
			}
		default:
			return errs.E(errs.Invalid, "the source archive entry %q is not a regular file or directory", h.Name)
		}
	}
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, fmt.Errorf("larger than %d bytes", maxSourceBytes)
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}

// tailWriter keeps the last max bytes written.
type tailWriter struct {
	max int
	buf []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailWriter) String() string { return string(t.buf) }

// ScriptModeRequested reports whether the job's hyperparameters ask for script mode
// (sagemaker_program), which SageMaker's framework images honour whatever entrypoint runs: the
// XGBoost entrypoint hands such a job to RunScript.
func ScriptModeRequested(p Paths) (bool, error) {
	hp, err := ReadHyperparameters(filepath.Join(p.InputConfig, "hyperparameters.json"))
	if err != nil {
		return false, err
	}
	_, ok := hp["sagemaker_program"]
	return ok, nil
}
