package xgboost

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/algorithms/metric"
)

// TestTrainInterop trains models here and checks them against the real XGBoost 1.7.4: (a) XGBoost loads
// each model and predicts what this package predicts (max abs diff ≤ 1e-5); (b) XGBoost, trained with the
// same hyperparameters (tree_method=hist) on the same data, reaches a test metric within 2% of ours.
func TestTrainInterop(t *testing.T) {
	requireXGBoost(t)
	dir := t.TempDir()
	tr, va, te := abaloneSplits(t)
	for name, d := range map[string]*dataset.Dense{"abalone_train": tr, "abalone_valid": va, "abalone_test": te} {
		writeCSVFile(t, filepath.Join(dir, name+".csv"), d)
	}
	oracle(t, "data", dir)
	var weights strings.Builder
	for i := 0; i < tr.Rows; i++ {
		fmt.Fprintf(&weights, "%g\n", []float32{0.5, 1, 2, 3}[i%4])
	}
	if err := os.WriteFile(filepath.Join(dir, "abalone_weights.txt"), []byte(weights.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	type trainCase struct {
		Name    string            `json:"name"`
		Data    string            `json:"data"`
		Params  map[string]string `json:"params"`
		Weights string            `json:"weights,omitempty"` // file of instance weights of the training rows
		metric  string
		// sampled: row or column sampling draws other rows/columns than XGBoost's generator, so the
		// models differ by chance; then ours must not be worse by more than 2% (better is fine).
		sampled bool
	}
	cases := []trainCase{
		// the reference abalone pipeline (row sampling: same distribution, not the same sample)
		{Name: "abalone_pipeline", Data: "abalone", metric: "rmse", sampled: true, Params: map[string]string{
			"objective": "reg:squarederror", "num_round": "50", "max_depth": "5", "eta": "0.2", "gamma": "4",
			"min_child_weight": "6", "subsample": "0.7"}},
		{Name: "abalone_default", Data: "abalone", metric: "rmse", Params: map[string]string{"num_round": "30"}},
		{Name: "abalone_weighted", Data: "abalone", Weights: "abalone_weights.txt", metric: "rmse", Params: map[string]string{
			"num_round": "20", "max_depth": "4", "min_child_weight": "3"}},
		{Name: "abalone_poisson", Data: "abalone", metric: "poisson-nloglik", Params: map[string]string{
			"objective": "count:poisson", "num_round": "20", "alpha": "0.5", "max_bin": "64"}},
		{Name: "cancer_logistic", Data: "cancer", metric: "logloss", Params: map[string]string{
			"objective": "binary:logistic", "num_round": "30", "eval_metric": "logloss,auc", "max_depth": "4"}},
		{Name: "digits_softprob", Data: "digits", metric: "mlogloss", sampled: true, Params: map[string]string{
			"objective": "multi:softprob", "num_class": "10", "num_round": "15", "colsample_bytree": "0.8"}},
		{Name: "digits_softmax", Data: "digits", metric: "merror", Params: map[string]string{
			"objective": "multi:softmax", "num_class": "10", "num_round": "10", "max_depth": "3"}},
	}
	ours := map[string][]float32{}
	tests := map[string]*dataset.Dense{}
	for _, c := range cases {
		p, err := ParseParams(c.Params)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		p.NThread = 2
		read := func(part string) *dataset.Dense {
			d, err := dataset.ReadFile(filepath.Join(dir, c.Data+"_"+part+".csv"), dataset.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		train, valid, test := read("train"), read("valid"), read("test")
		if c.Weights != "" {
			train.Weight = make([]float32, train.Rows)
			for i := range train.Weight {
				train.Weight[i] = []float32{0.5, 1, 2, 3}[i%4]
			}
		}
		b, err := Train(context.Background(), p, train, []Eval{{"train", train}, {"validation", valid}}, io.Discard)
		if err != nil {
			t.Fatalf("%s: Train: %v", c.Name, err)
		}
		if err := b.SaveModel(filepath.Join(dir, c.Name+".json")); err != nil {
			t.Fatal(err)
		}
		pred, err := b.Predict(test, PredictOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ours[c.Name], tests[c.Name] = pred, test
	}
	raw, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cases.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	oracle(t, "compare", dir)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			byXGB := readF32(t, filepath.Join(dir, c.Name+".ours.f32"))
			if d := maxDiff(ours[c.Name], byXGB); d > 1e-5 {
				t.Errorf("XGBoost's predictions from our model differ from ours by up to %g", d)
			}
			theirs := readF32(t, filepath.Join(dir, c.Name+".theirs.f32"))
			test := tests[c.Name]
			got, want := testMetric(c.metric, test, ours[c.Name]), testMetric(c.metric, test, theirs)
			t.Logf("test %s: ours %.5f, XGBoost %.5f", c.metric, got, want)
			diff := got - want // every metric here is a loss: lower is better
			if !c.sampled {
				diff = math.Abs(diff)
			}
			if diff > 0.02*math.Abs(want) {
				t.Errorf("test %s = %.5f, XGBoost's %.5f: more than 2%% apart", c.metric, got, want)
			}
		})
	}
}

// testMetric scores predictions as XGBoost's predict returns them (classes for multi:softmax).
func testMetric(name string, d *dataset.Dense, pred []float32) float64 {
	switch name {
	case "merror": // pred holds classes
		var wrong float64
		for i, y := range d.Label {
			if pred[i] != y {
				wrong++
			}
		}
		return wrong / float64(d.Rows)
	case "mlogloss":
		return metric.MLogLoss(d.Label, pred, d.Weight, len(pred)/d.Rows)
	}
	return evalMetric(name, d, pred, 1)
}

func oracle(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(debianPython, append([]string{"testdata/train_oracle.py"}, args...)...)
	// OpenMP threads that sleep instead of spinning: the results are the same, and a loaded machine
	// (a parallel go test) does not stall XGBoost for seconds
	cmd.Env = append(os.Environ(), "OMP_WAIT_POLICY=PASSIVE")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("train_oracle.py %v: %v\n%s", args, err, out)
	}
}

func writeCSVFile(t testing.TB, path string, d *dataset.Dense) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := dataset.WriteCSV(f, d); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
