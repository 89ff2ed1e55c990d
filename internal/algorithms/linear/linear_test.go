package linear

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/algorithms/prep"
	"github.com/slipway-ml/slipway/internal/errs"
)

func dense(rows [][]float32, labels []float32) *dataset.Dense {
	d := &dataset.Dense{Rows: len(rows), Cols: len(rows[0]), Label: labels}
	for _, r := range rows {
		d.X = append(d.X, r...)
	}
	return d
}

func train(t *testing.T, set map[string]string, d *dataset.Dense) *Model {
	t.Helper()
	p, err := ParseParams(set)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Train(context.Background(), p, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestHandComputed(t *testing.T) {
	x := [][]float32{{0}, {1}, {2}, {3}}
	// x has mean 1.5 and population variance 1.25.
	tests := []struct {
		name      string
		set       map[string]string
		y         []float32
		weight    float64
		intercept float64
	}{
		{"exact line", map[string]string{}, []float32{1, 3, 5, 7}, 2, 1},
		// cov(x,y) = 2.5; ridge β = cov/(var + l2) = 2.5/(1.25+1.25) = 1; b = ȳ − β·x̄ = 4 − 1.5.
		{"ridge", map[string]string{"l2": "1.25"}, []float32{1, 3, 5, 7}, 1, 2.5},
		// lasso β = (cov − l1)/var = (2.5 − 0.5)/1.25 = 1.6; b = 4 − 1.6·1.5.
		{"lasso", map[string]string{"l1": "0.5"}, []float32{1, 3, 5, 7}, 1.6, 1.6},
		// l1 ≥ cov zeroes the weight; b = ȳ.
		{"lasso zeroes", map[string]string{"l1": "3"}, []float32{1, 3, 5, 7}, 0, 4},
		// no intercept: β = Σxy/Σx² = (0+3+10+21)/14.
		{"no intercept", map[string]string{"fit_intercept": "false"}, []float32{1, 3, 5, 7}, 34.0 / 14, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := train(t, tc.set, dense(x, tc.y))
			got := []float64{m.Weights[0], m.Intercept}
			if diff := cmp.Diff([]float64{tc.weight, tc.intercept}, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("(weight, intercept) (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLogisticHandComputed(t *testing.T) {
	// One binary feature: x=0 has 1 positive in 4 rows, x=1 has 3 in 4. The maximum-likelihood
	// fit is b = logit(1/4), β = logit(3/4) − logit(1/4) = 2·ln 3.
	x := [][]float32{{0}, {0}, {0}, {0}, {1}, {1}, {1}, {1}}
	y := []float32{1, 0, 0, 0, 1, 1, 1, 0}
	m := train(t, map[string]string{"predictor_type": "binary_classifier"}, dense(x, y))
	got := []float64{m.Weights[0], m.Intercept}
	if diff := cmp.Diff([]float64{2 * math.Log(3), -math.Log(3)}, got, cmpopts.EquateApprox(0, 1e-8)); diff != "" {
		t.Errorf("(weight, intercept) (-want +got):\n%s", diff)
	}
	p, err := m.Predict(dense([][]float32{{0}, {1}}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float32{0.25, 0.75}, p, cmpopts.EquateApprox(0, 1e-6)); diff != "" {
		t.Errorf("probabilities (-want +got):\n%s", diff)
	}
}

// abalone returns the first n rows of abalone, prepared as the pipeline does, with weights 1,2,3,…
// cycling when weighted, and the label binarised (rings ≥ 10) for classification.
func abalone(t testing.TB, n int, binary, weighted bool) *dataset.Dense {
	t.Helper()
	tab, err := prep.ReadTableFile("../testdata/abalone.csv")
	if err != nil {
		t.Fatal(err)
	}
	tab.Rows, tab.Lines = tab.Rows[:n], tab.Lines[:n]
	tr, err := prep.Fit(tab, prep.FitOptions{Label: "rings", Categorical: []string{"sex"}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := tr.Apply(tab)
	if err != nil {
		t.Fatal(err)
	}
	if binary {
		for i, v := range d.Label {
			d.Label[i] = 0
			if v >= 10 {
				d.Label[i] = 1
			}
		}
	}
	if weighted {
		d.Weight = make([]float32, n)
		for i := range d.Weight {
			d.Weight[i] = float32(1 + i%3)
		}
	}
	return d
}

// sklearnScript fits, for each case read from stdin, scikit-learn's estimator matching the
// objective of the package comment, and prints its weights and training predictions. One Python
// process serves every case: importing scikit-learn dominates the cost.
const sklearnScript = `
import json, sys
import numpy as np
from sklearn import linear_model as lm
res = []
for c in json.load(sys.stdin):
    data = np.loadtxt(c["data"], delimiter=",")
    y, X = data[:, 0], data[:, 1:]
    w = np.loadtxt(c["weights"]) if c["weights"] else np.ones(len(y))
    W = w.sum()
    kind, l1, l2 = c["kind"], c["l1"], c["l2"]
    if kind == "regressor":
        if l1 == 0 and l2 == 0:
            m = lm.LinearRegression()
        elif l1 == 0:
            m = lm.Ridge(alpha=W * l2, tol=1e-12, solver="cholesky")
        else:
            m = lm.ElasticNet(alpha=l1 + l2, l1_ratio=l1 / (l1 + l2), tol=1e-14, max_iter=1000000)
        m.fit(X, y, sample_weight=w)
        pred = m.predict(X)
    else:
        if l1 == 0 and l2 == 0:
            m = lm.LogisticRegression(penalty=None, solver="newton-cholesky", tol=1e-12, max_iter=100000)
        elif l1 == 0:
            m = lm.LogisticRegression(C=1 / (W * l2), solver="newton-cholesky", tol=1e-12, max_iter=100000)
        else:
            m = lm.LogisticRegression(penalty="l1", solver="saga", C=1 / (W * l1), tol=1e-12, max_iter=200000)
        m.fit(X, y, sample_weight=w)
        pred = m.predict_proba(X)[:, 1]
    res.append({"coef": np.ravel(m.coef_).tolist(), "intercept": float(np.ravel([m.intercept_])[0]), "pred": pred.tolist()})
print(json.dumps(res))
`

type sklearnResult struct {
	Coef      []float64
	Intercept float64
	Pred      []float64
}

// TestMatchesScikitLearn trains on abalone rows with scikit-learn's matching estimator (see the
// package comment) run live, and compares weights, objective values and predictions.
func TestMatchesScikitLearn(t *testing.T) {
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Fatalf("%s is needed (Debian's python3 with python3-sklearn): %v", py, err)
	}
	tests := []struct {
		kind            string
		l1, l2          float64
		weighted        bool
		compareWeights  bool // false when the optimum's weights are not unique (collinear one-hot, no penalty)
		weightTolerance float64
	}{
		{Regressor, 0, 0, false, false, 0},
		{Regressor, 0, 0.01, false, true, 1e-7},
		{Regressor, 0, 0.01, true, true, 1e-7},
		{Regressor, 0.01, 0, false, true, 1e-6},
		{Regressor, 0.005, 0.02, true, true, 1e-6},
		{BinaryClassifier, 0, 0, false, false, 0},
		{BinaryClassifier, 0, 0.001, false, true, 1e-5},
		{BinaryClassifier, 0, 0.001, true, true, 1e-5},
		{BinaryClassifier, 0.002, 0, false, true, 1e-3},
	}
	dir := t.TempDir()
	data := map[[2]bool]*dataset.Dense{}
	type pyCase struct {
		Data    string  `json:"data"`
		Weights string  `json:"weights"`
		Kind    string  `json:"kind"`
		L1      float64 `json:"l1"`
		L2      float64 `json:"l2"`
	}
	var cases []pyCase
	for _, tc := range tests {
		key := [2]bool{tc.kind == BinaryClassifier, tc.weighted}
		name := filepath.Join(dir, fmt.Sprintf("d-%v-%v.csv", key[0], key[1]))
		wname := ""
		if tc.weighted {
			wname = name + ".w"
		}
		if data[key] == nil {
			d := abalone(t, 800, key[0], key[1])
			data[key] = d
			var b bytes.Buffer
			if err := dataset.WriteCSV(&b, d); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.weighted {
				var s strings.Builder
				for _, v := range d.Weight {
					fmt.Fprintln(&s, v)
				}
				if err := os.WriteFile(wname, []byte(s.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		cases = append(cases, pyCase{Data: name, Weights: wname, Kind: tc.kind, L1: tc.l1, L2: tc.l2})
	}
	in, _ := json.Marshal(cases)
	cmd := exec.Command(py, "-c", sklearnScript)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scikit-learn: %v", err)
	}
	var results []sklearnResult
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(tests) {
		t.Fatalf("scikit-learn printed %d results (%v), want %d", len(results), err, len(tests))
	}
	for k, tc := range tests {
		name := fmt.Sprintf("%s l1=%g l2=%g weighted=%v", tc.kind, tc.l1, tc.l2, tc.weighted)
		t.Run(name, func(t *testing.T) {
			d := data[[2]bool{tc.kind == BinaryClassifier, tc.weighted}]
			want := results[k]
			m := train(t, map[string]string{"predictor_type": tc.kind, "l1": fmt.Sprint(tc.l1), "l2": fmt.Sprint(tc.l2)}, d)
			if tc.compareWeights {
				got := append([]float64{m.Intercept}, m.Weights...)
				w := append([]float64{want.Intercept}, want.Coef...)
				if diff := cmp.Diff(w, got, cmpopts.EquateApprox(0, tc.weightTolerance)); diff != "" {
					t.Errorf("intercept and weights (-sklearn +linear):\n%s", diff)
				}
			}
			// At the optimum, the objective is no higher than at scikit-learn's solution.
			p := m.Params
			x, y, w := make([]float64, len(d.X)), make([]float64, d.Rows), make([]float64, d.Rows)
			wsum := 0.0
			for i, v := range d.X {
				x[i] = float64(v)
			}
			for i := range y {
				y[i], w[i] = float64(d.Label[i]), 1
				if d.Weight != nil {
					w[i] = float64(d.Weight[i])
				}
				wsum += w[i]
			}
			ours := objective(p, x, d.Rows, d.Cols, y, w, wsum, m.Weights, m.Intercept)
			theirs := objective(p, x, d.Rows, d.Cols, y, w, wsum, want.Coef, want.Intercept)
			if ours > theirs+1e-10*math.Abs(theirs) {
				t.Errorf("objective %.12g, scikit-learn's solution reaches %.12g", ours, theirs)
			}
			pred, err := m.Predict(d)
			if err != nil {
				t.Fatal(err)
			}
			maxDiff := 0.0
			for i, p := range pred {
				maxDiff = math.Max(maxDiff, math.Abs(float64(p)-want.Pred[i]))
			}
			if maxDiff > 1e-4 {
				t.Errorf("predictions differ from scikit-learn's by up to %g, want ≤ 1e-4", maxDiff)
			}
		})
	}
}

func TestParseParams(t *testing.T) {
	tests := []struct {
		set  map[string]string
		want string // error substring, "" for success
	}{
		{map[string]string{"predictor_type": "binary_classifier", "l1": "0.1", "wd": "2"}, ""},
		{map[string]string{"predictor_type": "multiclass_classifier"}, "predictor_type=\"multiclass_classifier\": want regressor or binary_classifier"},
		{map[string]string{"l1": "-1"}, "l1=\"-1\": want a finite number ≥ 0"},
		{map[string]string{"l2": "abc"}, "l2=\"abc\""},
		{map[string]string{"fit_intercept": "maybe"}, "fit_intercept=\"maybe\": want true or false"},
		{map[string]string{"max_iterations": "0"}, "max_iterations=\"0\": want an integer in [1, 100000]"},
		{map[string]string{"tolerance": "1"}, "tolerance=\"1\": want a number in (0, 1)"},
		{map[string]string{"eta": "0.1"}, `unknown hyperparameter "eta" for the linear learner: want one of predictor_type, l1, l2`},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.set), func(t *testing.T) {
			p, err := ParseParams(tc.set)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				want := DefaultParams()
				want.PredictorType, want.L1, want.L2 = BinaryClassifier, 0.1, 2
				if diff := cmp.Diff(want, p); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				return
			}
			if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an Invalid error containing %q", err, tc.want)
			}
		})
	}
}

func TestTrainRejects(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name string
		set  map[string]string
		d    *dataset.Dense
		want string
	}{
		{"missing value", nil, dense([][]float32{{1}, {nan}}, []float32{1, 2}), "training row 2 column 1 is missing"},
		{"no labels", nil, dense([][]float32{{1}}, nil), "no labels"},
		{"label not 0/1", map[string]string{"predictor_type": "binary_classifier"}, dense([][]float32{{1}, {2}}, []float32{0, 2}), "training row 2: label 2; the binary classifier wants labels 0 or 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseParams(tc.set)
			if err != nil {
				t.Fatalf("ParseParams(%v): %v", tc.set, err)
			}
			_, err = Train(context.Background(), p, tc.d, nil)
			if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an Invalid error containing %q", err, tc.want)
			}
		})
	}
}

func TestSaveLoad(t *testing.T) {
	m := train(t, map[string]string{"l2": "0.01"}, abalone(t, 300, false, false))
	path := filepath.Join(t.TempDir(), ModelFile)
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Errorf("loaded (-saved +loaded):\n%s", diff)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("the model directory holds %d entries, want only the model (no temporary file left)", len(entries))
	}
	if _, err := m.Predict(dense([][]float32{{1, 2}}, nil)); !errs.Is(err, errs.Invalid) {
		t.Errorf("Predict with 2 columns: got %v, want Invalid", err)
	}
}

func FuzzRead(f *testing.F) {
	m := &Model{Format: Format, Version: Version, PredictorType: Regressor, Weights: []float64{1, -2}, Intercept: 0.5, Params: DefaultParams()}
	var b bytes.Buffer
	if err := m.WriteJSON(&b); err != nil {
		f.Fatal(err)
	}
	f.Add(b.String())
	f.Add(`{"format":"slipway-linear","version":2}`)
	f.Add(`{"format":"slipway-linear","version":1,"predictor_type":"regressor","weights":[1e400]}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Read(strings.NewReader(s), "fuzz.json")
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("error of kind %v: %v", errs.KindOf(err), err)
			}
			return
		}
		row := make([]float32, m.NumFeatures())
		p, err := m.Predict(&dataset.Dense{Rows: 1, Cols: len(row), X: row})
		if err != nil || len(p) != 1 {
			t.Fatalf("Predict on a loaded model: %v, %v", p, err)
		}
	})
}
