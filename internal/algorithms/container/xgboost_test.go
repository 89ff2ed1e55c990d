package container

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/algorithms/xgboost"
)

// debianPython has XGBoost 1.7.4, pandas and scikit-learn (Debian's packages): the libraries the
// classic evaluation script imports.
const debianPython = "/usr/bin/python3"

// abaloneCSVs writes the abalone data set as the classic pipeline's preprocessing leaves it — label
// (rings) first, no header, sex one-hot — split 70/15/15 into train, validation and test lines.
func abaloneCSVs(t testing.TB) (train, validation, test string) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "abalone.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var parts [3]strings.Builder
	for i, r := range recs[1:] {
		row := []string{r[8], b01(r[0] == "F"), b01(r[0] == "I"), b01(r[0] == "M")}
		row = append(row, r[1:8]...)
		k := 0
		switch i % 20 {
		case 14, 15, 16:
			k = 1
		case 17, 18, 19:
			k = 2
		}
		parts[k].WriteString(strings.Join(row, ",") + "\n")
	}
	return parts[0].String(), parts[1].String(), parts[2].String()
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// jobDir lays out an /opt/ml-like directory with the given hyperparameters and channel files.
func jobDir(t testing.TB, hp map[string]string, contentType string, channels map[string]string) string {
	t.Helper()
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
	js, _ := json.Marshal(hp)
	write("input/config/hyperparameters.json", string(js))
	idc := map[string]map[string]string{}
	for ch, data := range channels {
		name, file, _ := strings.Cut(ch, "/")
		if file == "" {
			file = name + ".csv"
		}
		write(filepath.Join("input/data", name, file), data)
		idc[name] = map[string]string{"ContentType": contentType, "TrainingInputMode": "File"}
	}
	js, _ = json.Marshal(idc)
	write("input/config/inputdataconfig.json", string(js))
	return root
}

var abaloneHP = map[string]string{
	"objective": "reg:squarederror", "num_round": "50", "max_depth": "5", "eta": "0.2", "gamma": "4",
	"min_child_weight": "6", "subsample": "0.7",
}

func paths(root string) Paths { return PathsFromEnv(root, func(string) string { return "" }) }

// TestClassicEvaluateScript trains as image 1.0-1 does, packs the model directory into model.tar.gz
// as the platform does, and runs the classic pickle-loading evaluation script with the real XGBoost:
// its mse must be ours.
func TestClassicEvaluateScript(t *testing.T) {
	train, val, test := abaloneCSVs(t)
	root := jobDir(t, abaloneHP, "text/csv", map[string]string{"train": train, "validation": val})
	var log bytes.Buffer
	if err := RunXGBoost(context.Background(), paths(root), fmtOf(t, "1.0-1"), &log); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	round := regexp.MustCompile(`^\[(\d+)\]#011train-rmse:[0-9.]+#011validation-rmse:([0-9.]+)$`)
	if len(lines) != 50 || !round.MatchString(lines[0]) || !round.MatchString(lines[49]) {
		t.Fatalf("log has %d lines, first %q, last %q; want 50 like [0]#011train-rmse:…#011validation-rmse:…", len(lines), lines[0], lines[len(lines)-1])
	}
	model, err := os.ReadFile(filepath.Join(root, "model", XGBoostModelFile))
	if err != nil {
		t.Fatal(err)
	}
	if !xgboost.IsPickle(model) {
		t.Fatalf("image 1.0-1 wrote %q…, want a pickle", model[:8])
	}
	work := t.TempDir()
	tarGz := filepath.Join(work, "model.tar.gz")
	writeTarGz(t, tarGz, map[string][]byte{XGBoostModelFile: model})
	testCSV := filepath.Join(work, "test.csv")
	must(t, os.WriteFile(testCSV, []byte(test), 0o644))

	cmd := exec.Command(debianPython, mustAbs(t, "testdata/evaluate.py"), tarGz, testCSV, filepath.Join(work, "evaluation.json"))
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("evaluate.py: %v\n%s", err, out)
	}
	var rep struct {
		RegressionMetrics struct {
			MSE struct{ Value float64 } `json:"mse"`
		} `json:"regression_metrics"`
	}
	raw, err := os.ReadFile(filepath.Join(work, "evaluation.json"))
	must(t, err)
	must(t, json.Unmarshal(raw, &rep))

	b, err := xgboost.LoadModel(filepath.Join(root, "model", XGBoostModelFile))
	must(t, err)
	d, err := dataset.Read(strings.NewReader(test), "test.csv", dataset.Options{Format: dataset.FormatCSV})
	must(t, err)
	pred, err := b.Predict(d, xgboost.PredictOptions{})
	must(t, err)
	var mse float64
	for i, p := range pred {
		e := float64(d.Label[i]) - float64(p)
		mse += e * e
	}
	mse /= float64(len(pred))
	if got := rep.RegressionMetrics.MSE.Value; math.Abs(got-mse) > 1e-4*mse || mse > 6 {
		t.Errorf("evaluate.py mse %g, ours %g (and the pipeline's threshold is 6)", got, mse)
	}
}

// TestBinaryModelLoads: image 1.7-1 writes XGBoost's binary format, which Booster().load_model reads
// and predicts with as we do.
func TestBinaryModelLoads(t *testing.T) {
	train, val, test := abaloneCSVs(t)
	hp := map[string]string{"num_round": "10", "max_depth": "3"}
	root := jobDir(t, hp, "csv", map[string]string{"train": train, "validation": val})
	if err := RunXGBoost(context.Background(), paths(root), fmtOf(t, "1.7-1"), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "model", XGBoostModelFile)
	raw, err := os.ReadFile(path)
	must(t, err)
	if !bytes.HasPrefix(raw, []byte("binf")) {
		t.Fatalf("image 1.7-1 wrote %q…, want XGBoost's binary format", raw[:8])
	}
	d, err := dataset.Read(strings.NewReader(test), "test.csv", dataset.Options{Format: dataset.FormatCSV})
	must(t, err)
	x := &dataset.Dense{Rows: d.Rows, Cols: d.Cols, X: d.X}
	features := filepath.Join(t.TempDir(), "x.csv")
	f, err := os.Create(features)
	must(t, err)
	must(t, dataset.WriteCSV(f, x))
	must(t, f.Close())
	cmd := exec.Command(debianPython, "testdata/load_binary.py", path, features)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("load_binary.py: %v\n%s", err, out)
	}
	b, err := xgboost.LoadModel(path)
	must(t, err)
	pred, err := b.Predict(x, xgboost.PredictOptions{})
	must(t, err)
	got := strings.Fields(string(out))
	if len(got) != len(pred) {
		t.Fatalf("XGBoost predicted %d rows, we %d", len(got), len(pred))
	}
	for i, s := range got {
		v, _ := strconv.ParseFloat(s, 64)
		if math.Abs(v-float64(pred[i])) > 1e-5 {
			t.Fatalf("row %d: XGBoost %g, ours %g", i, v, pred[i])
		}
	}
}

func TestModelFormatByVersion(t *testing.T) {
	for v, want := range map[string]ModelFormat{
		"0.90-1": FormatPickle, "0.90-2": FormatPickle, "1.0-1": FormatPickle, "1.2-1": FormatPickle, "1.2-2": FormatPickle,
		"1.3-1": FormatBinary, "1.5-1": FormatBinary, "1.7-1": FormatBinary, "": FormatBinary, "1": FormatPickle,
	} {
		got, err := XGBoostModelFormat(v)
		if err != nil || got != want {
			t.Errorf("XGBoostModelFormat(%q) = %q, %v; want %q", v, got, err, want)
		}
	}
	if _, err := XGBoostModelFormat("x.y"); err == nil {
		t.Error("XGBoostModelFormat(x.y) accepted it")
	}
}

// TestFailures: bad input fails with output/failure naming the hyperparameter and its range, the
// file, line and column; no model is left behind.
func TestFailures(t *testing.T) {
	good := "1,2,3\n4,5,6\n"
	cases := []struct {
		name     string
		hp       map[string]string
		ct       string
		channels map[string]string
		want     string
	}{
		{"max_depth out of range", map[string]string{"num_round": "5", "max_depth": "-1"}, "text/csv", map[string]string{"train": good}, `max_depth="-1"`},
		{"eta not a number", map[string]string{"num_round": "5", "eta": "fast"}, "text/csv", map[string]string{"train": good}, `eta="fast"`},
		{"unknown hyperparameter", map[string]string{"num_round": "5", "depth": "3"}, "text/csv", map[string]string{"train": good}, `unknown hyperparameter "depth"`},
		{"num_round missing", map[string]string{}, "text/csv", map[string]string{"train": good}, "num_round is required"},
		{"ragged csv", map[string]string{"num_round": "2"}, "text/csv", map[string]string{"train": "1,2,3\n4,5\n"}, "train/train.csv line 2"},
		{"non-numeric csv", map[string]string{"num_round": "2"}, "text/csv", map[string]string{"train": "1,2,3\n4,x,6\n"}, "train/train.csv line 2 column 2"},
		{"no train channel", map[string]string{"num_round": "2"}, "text/csv", map[string]string{"validation": good}, "train channel is required"},
		{"unsupported content type", map[string]string{"num_round": "2"}, "application/x-recordio-protobuf", map[string]string{"train": good}, "x-recordio-protobuf"},
		{"validation columns differ", map[string]string{"num_round": "2"}, "text/csv", map[string]string{"train": good, "validation": "1,2\n"}, "feature columns"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := jobDir(t, c.hp, c.ct, c.channels)
			err := RunXGBoost(context.Background(), paths(root), fmtOf(t, "1.7-1"), &bytes.Buffer{})
			if err == nil {
				t.Fatal("RunXGBoost succeeded")
			}
			failure, rerr := os.ReadFile(filepath.Join(root, "output", "failure"))
			if rerr != nil {
				t.Fatalf("no output/failure: %v", rerr)
			}
			if !strings.Contains(string(failure), c.want) || strings.Contains(string(failure), root) {
				t.Errorf("failure %q: want it to contain %q and not the host path", failure, c.want)
			}
			if _, err := os.Stat(filepath.Join(root, "model", XGBoostModelFile)); err == nil {
				t.Error("a model was written")
			}
		})
	}
}

// TestPathsFromEnv: JOB_OPT_ML moves the root; SM_* variables move single directories.
func TestPathsFromEnv(t *testing.T) {
	env := map[string]string{EnvOptML: "/j", "SM_MODEL_DIR": "/m", "SM_CHANNEL_TRAIN": "/t"}
	p := PathsFromEnv("", func(k string) string { return env[k] })
	got := fmt.Sprint(p.InputConfig, " ", p.Model, " ", p.Output, " ", p.Channel("train"), " ", p.Channel("validation"))
	if want := "/j/input/config /m /j/output /t /j/input/data/validation"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if p := PathsFromEnv("", func(string) string { return "" }); p.Model != "/opt/ml/model" {
		t.Errorf("default model dir %s", p.Model)
	}
}

// TestLibSVMChannels: libsvm files of different widths join, the default content type is libsvm.
func TestLibSVMChannels(t *testing.T) {
	root := jobDir(t, map[string]string{"num_round": "3"}, "", map[string]string{
		"train/a.libsvm": "1 0:1 1:2\n0 0:3\n", "train/b.libsvm": "1 2:5\n", "validation": "0 0:1\n",
	})
	if err := RunXGBoost(context.Background(), paths(root), fmtOf(t, "1.5-1"), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	b, err := xgboost.LoadModel(filepath.Join(root, "model", XGBoostModelFile))
	must(t, err)
	if b.NumFeatures() != 3 {
		t.Errorf("model has %d features, want 3", b.NumFeatures())
	}
}

func writeTarGz(t testing.TB, path string, files map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, data := range files {
		must(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}))
		_, err := tw.Write(data)
		must(t, err)
	}
	must(t, tw.Close())
	must(t, gz.Close())
	must(t, os.WriteFile(path, buf.Bytes(), 0o644))
}

func mustAbs(t testing.TB, p string) string {
	a, err := filepath.Abs(p)
	must(t, err)
	return a
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func fmtOf(t testing.TB, version string) ModelFormat {
	f, err := XGBoostModelFormat(version)
	must(t, err)
	return f
}
