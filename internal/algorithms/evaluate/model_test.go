package evaluate

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/algorithms/linear"
	"github.com/slipway-ml/slipway/internal/algorithms/prep"
	"github.com/slipway-ml/slipway/internal/errs"
)

// xgbScript trains small models of each task with the real XGBoost 1.7 on prep's abalone split,
// saves them as JSON and prints scikit-learn's metrics of XGBoost's own predictions on test.csv.
const xgbScript = `
import json, sys
import numpy as np
import xgboost as xgb
from sklearn import metrics as m
d = sys.argv[1]
def load(name):
    a = np.loadtxt(d + "/" + name, delimiter=",")
    return a[:, 1:], a[:, 0]
Xtr, ytr = load("train.csv")
Xte, yte = load("test.csv")
def cls(y): return np.digitize(y, [8, 11])  # 0: <8, 1: 8..10, 2: >10
tasks = {
    "reg": ({"objective": "reg:squarederror", "max_depth": 5, "eta": 0.2}, ytr, yte),
    "bin": ({"objective": "binary:logistic", "max_depth": 3}, (ytr >= 10).astype(float), (yte >= 10).astype(float)),
    "raw": ({"objective": "binary:logitraw", "max_depth": 3}, (ytr >= 10).astype(float), (yte >= 10).astype(float)),
    "prob": ({"objective": "multi:softprob", "num_class": 3, "max_depth": 3}, cls(ytr), cls(yte)),
    "max": ({"objective": "multi:softmax", "num_class": 3, "max_depth": 3}, cls(ytr), cls(yte)),
}
out = {}
for name, (params, y, yt) in tasks.items():
    params["nthread"] = 1
    b = xgb.train(params, xgb.DMatrix(Xtr, label=y), num_boost_round=10)
    b.save_model(d + "/" + name + ".json")
    p = b.predict(xgb.DMatrix(Xte))
    if name == "reg":
        out[name] = {"mse": m.mean_squared_error(yt, p), "r2": m.r2_score(yt, p)}
    elif name in ("bin", "raw"):
        prob = p if name == "bin" else 1 / (1 + np.exp(-p))
        out[name] = {"accuracy": m.accuracy_score(yt, prob >= 0.5), "auc": m.roc_auc_score(yt, prob)}
    else:
        c = np.argmax(p, axis=1) if p.ndim == 2 else p.astype(int)
        out[name] = {"accuracy": m.accuracy_score(yt, c), "f1": m.f1_score(yt, c, average="weighted")}
print(json.dumps(out))
`

// TestXGBoostModels evaluates models trained by the real XGBoost and compares the report with
// scikit-learn's metrics of XGBoost's own predictions.
func TestXGBoostModels(t *testing.T) {
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Fatalf("%s is needed (Debian's python3 with python3-xgboost and python3-sklearn): %v", py, err)
	}
	dir := t.TempDir()
	tab, err := prep.ReadTableFile("../testdata/abalone.csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prep.Run(tab, prep.Options{Label: "rings", Categorical: []string{"sex"}, Split: prep.Fractions{0.7, 0.15, 0.15}, Seed: 7}, dir); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", xgbScript, dir)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1") // the tests run in parallel with others: no spinning threads
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("XGBoost: %v", err)
	}
	var want map[string]map[string]float64
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	test, err := dataset.ReadFile(filepath.Join(dir, "test.csv"), dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	relabel := func(f func(float32) float32) *dataset.Dense {
		c := *test
		c.Label = make([]float32, len(test.Label))
		for i, v := range test.Label {
			c.Label[i] = f(v)
		}
		return &c
	}
	binary := relabel(func(v float32) float32 {
		if v >= 10 {
			return 1
		}
		return 0
	})
	classes := relabel(func(v float32) float32 {
		switch {
		case v < 8:
			return 0
		case v < 11:
			return 1
		}
		return 2
	})
	tests := []struct {
		name string
		task Task
		test *dataset.Dense
		got  func(r *Report) map[string]float64
	}{
		{"reg", TaskRegression, test, func(r *Report) map[string]float64 {
			return map[string]float64{"mse": r.Regression.MSE.Value, "r2": r.Regression.R2.Value}
		}},
		{"bin", TaskBinary, binary, func(r *Report) map[string]float64 {
			return map[string]float64{"accuracy": r.Binary.Accuracy.Value, "auc": r.Binary.AUC.Value}
		}},
		{"raw", TaskBinary, binary, func(r *Report) map[string]float64 {
			return map[string]float64{"accuracy": r.Binary.Accuracy.Value, "auc": r.Binary.AUC.Value}
		}},
		{"prob", TaskMulticlass, classes, func(r *Report) map[string]float64 {
			return map[string]float64{"accuracy": r.Multiclass.Accuracy.Value, "f1": r.Multiclass.WeightedF1.Value}
		}},
		{"max", TaskMulticlass, classes, func(r *Report) map[string]float64 {
			return map[string]float64{"accuracy": r.Multiclass.Accuracy.Value, "f1": r.Multiclass.WeightedF1.Value}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := LoadModel(filepath.Join(dir, tc.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if m.Algorithm != "xgboost" || m.Task != tc.task {
				t.Errorf("loaded as %s %s, want xgboost %s", m.Algorithm, m.Task, tc.task)
			}
			r, err := Evaluate(m, tc.test)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want[tc.name], tc.got(r), cmpopts.EquateApprox(1e-5, 0)); diff != "" {
				t.Errorf("(-xgboost+sklearn +evaluate):\n%s", diff)
			}
		})
	}
}

func TestLoadModelSniffsLinear(t *testing.T) {
	d := &dataset.Dense{Rows: 4, Cols: 1, X: []float32{0, 1, 2, 3}, Label: []float32{1, 3, 5, 7}}
	lm, err := linear.Train(context.Background(), linear.DefaultParams(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := lm.Save(filepath.Join(dir, linear.ModelFile)); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, linear.ModelFile), dir} {
		m, err := LoadModel(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Evaluate(m, d)
		if err != nil {
			t.Fatal(err)
		}
		if m.Algorithm != "linear" || r.Regression == nil || math.Abs(r.Regression.MSE.Value) > 1e-9 {
			t.Errorf("LoadModel(%s): %s model, report %+v; want a linear regressor with mse 0", path, m.Algorithm, r)
		}
	}
}

func TestLoadModelErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		kind errs.Kind
		want string
	}{
		{filepath.Join(dir, "missing"), errs.NotFound, "does not exist"},
		{dir, errs.NotFound, "holds neither xgboost-model nor linear-model.json"},
		{junk, errs.Invalid, "junk"},
	}
	for _, tc := range tests {
		_, err := LoadModel(tc.path)
		if !errs.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadModel(%s): got %v, want %v containing %q", tc.path, err, tc.kind, tc.want)
		}
	}
}

func TestLoadModelFromTarGz(t *testing.T) {
	d := &dataset.Dense{Rows: 4, Cols: 1, X: []float32{0, 1, 2, 3}, Label: []float32{1, 3, 5, 7}}
	lm, err := linear.Train(context.Background(), linear.DefaultParams(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	var model bytes.Buffer
	if err := lm.WriteJSON(&model); err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	zw := gzip.NewWriter(&archive)
	tw := tar.NewWriter(zw)
	for _, f := range []struct {
		name string
		body []byte
	}{{"README", []byte("hello")}, {"./linear-model.json", model.Bytes()}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(f.body)
	}
	tw.Close()
	zw.Close()
	path := filepath.Join(t.TempDir(), "model.tar.gz")
	if err := os.WriteFile(path, archive.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Predict(&dataset.Dense{Rows: 1, Cols: 1, X: []float32{10}})
	if err != nil || math.Abs(float64(p[0])-21) > 1e-4 {
		t.Errorf("Predict(10) = %v, %v; want 21", p, err)
	}
	empty := filepath.Join(t.TempDir(), "empty.tar.gz")
	var e bytes.Buffer
	ezw := gzip.NewWriter(&e)
	tar.NewWriter(ezw).Close()
	ezw.Close()
	os.WriteFile(empty, e.Bytes(), 0o644)
	if _, err := LoadModel(empty); !errs.Is(err, errs.NotFound) {
		t.Errorf("archive without a model: got %v, want NotFound", err)
	}
}

func FuzzLoadModel(f *testing.F) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	tw := tar.NewWriter(zw)
	body := []byte(`{"format":"slipway-linear","version":1,"predictor_type":"regressor","weights":[1],"intercept":0,"params":{}}`)
	tw.WriteHeader(&tar.Header{Name: "linear-model.json", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write(body)
	tw.Close()
	zw.Close()
	f.Add(gz.Bytes())
	f.Add(body)
	f.Add([]byte(`{"learner":{}}`))
	f.Add([]byte{0x1f, 0x8b, 0})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "model")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := LoadModel(path)
		if err != nil {
			if k := errs.KindOf(err); k != errs.Invalid && k != errs.NotFound {
				t.Fatalf("error of kind %v: %v", k, err)
			}
			return
		}
		row := make([]float32, m.NumFeatures)
		if _, err := m.Predict(&dataset.Dense{Rows: 1, Cols: len(row), X: row}); err != nil {
			t.Fatalf("Predict on a loaded model: %v", err)
		}
	})
}
