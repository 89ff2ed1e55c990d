package evaluate

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-ml/slipway/internal/errs"
)

func TestRegressionHandComputed(t *testing.T) {
	// residuals 1, -1, 2, 0: mse 6/4; mean residual 0.5; absolute residuals 1, 1, 2, 0 with mean 1.
	y := []float32{3, 1, 4, 2}
	p := []float32{2, 2, 2, 2}
	got, err := RegressionMetrics(y, p)
	if err != nil {
		t.Fatal(err)
	}
	sd := math.Sqrt(((1-0.5)*(1-0.5) + (-1-0.5)*(-1-0.5) + (2-0.5)*(2-0.5) + (0-0.5)*(0-0.5)) / 4)
	sdAbs := math.Sqrt(((1-1)*(1-1) + (1-1)*(1-1) + (2-1)*(2-1) + (0-1)*(0-1)) / 4.0)
	want := &Regression{
		MSE:  Value{Value: 1.5, StandardDeviation: &sd},
		RMSE: Value{Value: math.Sqrt(1.5), StandardDeviation: &sd},
		MAE:  Value{Value: 1, StandardDeviation: &sdAbs},
		R2:   Value{Value: 1 - 6/5.0}, // ss_tot = (0.5²+1.5²+1.5²+0.5²) = 5
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestBinaryHandComputed(t *testing.T) {
	y := []float32{1, 1, 1, 0, 0}
	p := []float32{0.9, 0.5, 0.2, 0.6, 0.1} // tp 2 (0.9, 0.5 ≥ 0.5), fn 1, fp 1, tn 1
	got, err := BinaryMetrics(y, p)
	if err != nil {
		t.Fatal(err)
	}
	prec, rec := 2/3.0, 2/3.0
	// AUC: pairs (pos, neg): 0.9>0.6 ✓ 0.9>0.1 ✓ 0.5<0.6 ✗ 0.5>0.1 ✓ 0.2<0.6 ✗ 0.2>0.1 ✓ → 4/6.
	want := &Binary{
		ConfusionMatrix: ConfusionMatrix{"0": {"0": 1, "1": 1}, "1": {"0": 1, "1": 2}},
		Accuracy:        Value{Value: 3 / 5.0}, Precision: Value{Value: prec}, Recall: Value{Value: rec},
		F0_5: Value{Value: 2 / 3.0}, F1: Value{Value: 2 / 3.0}, F2: Value{Value: 2 / 3.0}, AUC: Value{Value: 4 / 6.0},
		TruePositiveRate: Value{Value: 2 / 3.0}, TrueNegativeRate: Value{Value: 0.5},
		FalsePositiveRate: Value{Value: 0.5}, FalseNegativeRate: Value{Value: 1 / 3.0},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestOneClassGivesNullAUC(t *testing.T) {
	b, err := BinaryMetrics([]float32{1, 1}, []float32{0.7, 0.2})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := (&Report{Binary: b}).WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	var v map[string]map[string]map[string]any
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	auc, ok := v["binary_classification_metrics"]["auc"]
	if !ok || auc["value"] != nil {
		t.Errorf("auc = %v, want {\"value\": null}", auc)
	}
}

func TestRejects(t *testing.T) {
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"empty", func() error { _, err := RegressionMetrics(nil, nil); return err }, "the test set is empty"},
		{"missing label", func() error { _, err := RegressionMetrics([]float32{float32(math.NaN())}, []float32{1}); return err }, "test row 1 has no label"},
		{"binary label 2", func() error { _, err := BinaryMetrics([]float32{0, 2}, []float32{0, 1}); return err }, "test row 2: label 2"},
		{"class out of range", func() error { _, err := MulticlassMetrics([]float32{3}, []float32{0.2, 0.3, 0.5}, 3); return err }, "test row 1: label 3; the model has classes 0 to 2"},
		{"fractional class", func() error { _, err := MulticlassMetrics([]float32{0.5}, []float32{0.5, 0.5}, 2); return err }, "label 0.5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an Invalid error containing %q", err, tc.want)
			}
		})
	}
}

const sklearnMetrics = `
import json, sys
import numpy as np
from sklearn import metrics as m
def one(d):
  y, p = np.array(d["y"], dtype=np.float64), np.array(d["p"], dtype=np.float64)
  if d["task"] == "regression":
    e = y - p
    return {"mse": m.mean_squared_error(y, p), "sd": float(np.std(e)), "rmse": m.mean_squared_error(y, p, squared=False),
           "mae": m.mean_absolute_error(y, p), "sdabs": float(np.std(np.abs(e))), "r2": m.r2_score(y, p)}
  elif d["task"] == "binary":
    c = (p >= 0.5).astype(int)
    return {"accuracy": m.accuracy_score(y, c), "precision": m.precision_score(y, c), "recall": m.recall_score(y, c),
           "f0_5": m.fbeta_score(y, c, beta=0.5), "f1": m.f1_score(y, c), "f2": m.fbeta_score(y, c, beta=2),
           "auc": m.roc_auc_score(y, p), "cm": m.confusion_matrix(y, c).tolist()}
  else:
    k = d["k"]
    c = np.argmax(p.reshape(-1, k), axis=1)
    return {"accuracy": m.accuracy_score(y, c),
           "precision": m.precision_score(y, c, average="weighted", zero_division=0),
           "recall": m.recall_score(y, c, average="weighted", zero_division=0),
           "f0_5": m.fbeta_score(y, c, beta=0.5, average="weighted", zero_division=0),
           "f1": m.f1_score(y, c, average="weighted", zero_division=0),
           "f2": m.fbeta_score(y, c, beta=2, average="weighted", zero_division=0),
           "cm": m.confusion_matrix(y, c, labels=list(range(k))).tolist()}
print(json.dumps([one(d) for d in json.load(sys.stdin)]))
`

// sklearn computes the metrics of each input in one Python process (importing scikit-learn is
// the slow part).
func sklearn(t *testing.T, in ...map[string]any) []map[string]any {
	t.Helper()
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Fatalf("%s is needed (Debian's python3 with python3-sklearn): %v", py, err)
	}
	b, _ := json.Marshal(in)
	cmd := exec.Command(py, "-c", sklearnMetrics)
	cmd.Stdin = bytes.NewReader(b)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scikit-learn: %v", err)
	}
	var res []map[string]any
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(in) {
		t.Fatalf("scikit-learn printed %d results (%v), want %d", len(res), err, len(in))
	}
	return res
}

func f64s(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func cm(c ConfusionMatrix, k int) [][]float64 {
	out := make([][]float64, k)
	for a := range out {
		out[a] = make([]float64, k)
		for p := range out[a] {
			out[a][p] = float64(c[itoa(a)][itoa(p)])
		}
	}
	return out
}

func itoa(i int) string { return string(rune('0' + i)) }

func asMatrix(v any) [][]float64 {
	var out [][]float64
	for _, r := range v.([]any) {
		var row []float64
		for _, x := range r.([]any) {
			row = append(row, x.(float64))
		}
		out = append(out, row)
	}
	return out
}

// TestMatchesScikitLearn compares every metric with scikit-learn's on seeded random data.
func TestMatchesScikitLearn(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, k = 500, 4
	approx := cmpopts.EquateApprox(0, 1e-6)
	ry, rp := make([]float32, n), make([]float32, n)
	for i := range ry {
		ry[i] = float32(rng.IntN(20) + 1)
		rp[i] = ry[i] + float32(rng.NormFloat64()*2+0.3)
	}
	by, bp := make([]float32, n), make([]float32, n)
	for i := range by {
		by[i] = float32(rng.IntN(2))
		bp[i] = float32(math.Round((0.35*float64(by[i])+0.65*rng.Float64())*20) / 20) // ties on purpose
	}
	my, mp := make([]float32, n), make([]float32, n*k)
	for i := range my {
		my[i] = float32(rng.IntN(k - 1)) // class 3 never occurs: zero support
		sum := 0.0
		for j := 0; j < k; j++ {
			v := rng.Float64()
			if j == int(my[i]) {
				v += 0.4
			}
			mp[i*k+j] = float32(v)
			sum += v
		}
		for j := 0; j < k; j++ {
			mp[i*k+j] /= float32(sum)
		}
	}
	ref := sklearn(t,
		map[string]any{"task": "regression", "y": f64s(ry), "p": f64s(rp)},
		map[string]any{"task": "binary", "y": f64s(by), "p": f64s(bp)},
		map[string]any{"task": "multiclass", "k": k, "y": f64s(my), "p": f64s(mp)})
	t.Run("regression", func(t *testing.T) {
		r, err := RegressionMetrics(ry, rp)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]any{"mse": r.MSE.Value, "sd": *r.MSE.StandardDeviation, "rmse": r.RMSE.Value,
			"mae": r.MAE.Value, "sdabs": *r.MAE.StandardDeviation, "r2": r.R2.Value}
		if diff := cmp.Diff(ref[0], got, approx); diff != "" {
			t.Errorf("(-sklearn +evaluate):\n%s", diff)
		}
	})
	t.Run("binary", func(t *testing.T) {
		b, err := BinaryMetrics(by, bp)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]any{"accuracy": b.Accuracy.Value, "precision": b.Precision.Value, "recall": b.Recall.Value,
			"f0_5": b.F0_5.Value, "f1": b.F1.Value, "f2": b.F2.Value, "auc": b.AUC.Value, "cm": cm(b.ConfusionMatrix, 2)}
		want := ref[1]
		want["cm"] = asMatrix(want["cm"])
		if diff := cmp.Diff(want, got, approx); diff != "" {
			t.Errorf("(-sklearn +evaluate):\n%s", diff)
		}
	})
	t.Run("multiclass", func(t *testing.T) {
		m, err := MulticlassMetrics(my, mp, k)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]any{"accuracy": m.Accuracy.Value, "precision": m.WeightedPrecision.Value, "recall": m.WeightedRecall.Value,
			"f0_5": m.WeightedF0_5.Value, "f1": m.WeightedF1.Value, "f2": m.WeightedF2.Value, "cm": cm(m.ConfusionMatrix, k)}
		want := ref[2]
		want["cm"] = asMatrix(want["cm"])
		if diff := cmp.Diff(want, got, approx); diff != "" {
			t.Errorf("(-sklearn +evaluate):\n%s", diff)
		}
	})
}
