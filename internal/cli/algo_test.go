package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/algorithms/evaluate"
	"github.com/slipway-ml/slipway/internal/algorithms/prep"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const abalone = "../algorithms/testdata/abalone.csv"

// algo runs "slipway algo args..." and returns stdout, stderr and the error.
func algo(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runAlgo(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func mustAlgo(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, err := algo(t, args...)
	if err != nil {
		t.Fatalf("slipway algo %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
	}
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-golden +got):\n%s", name, diff)
	}
}

// relative replaces the temporary directory in s, so outputs are stable.
func relative(s, dir string) string { return strings.ReplaceAll(s, dir, "$DIR") }

// TestAlgoLinearRecipe runs the abalone recipe with the linear learner: prep → train → evaluate →
// predict, checking the printed outputs against golden files and the predictions against each other.
func TestAlgoLinearRecipe(t *testing.T) {
	dir := t.TempDir()
	prepped, model := filepath.Join(dir, "prepped"), filepath.Join(dir, "model")
	out := mustAlgo(t, "prep", "--input", abalone, "--label", "rings", "--categorical", "sex",
		"--split", "0.7,0.15,0.15", "--seed", "42", "--out", prepped)
	golden(t, "prep.golden", out)

	out = mustAlgo(t, "train", "linear", "--train", filepath.Join(prepped, "train.csv"),
		"--validation", filepath.Join(prepped, "validation.csv"), "--set", "predictor_type=regressor,l2=0.001", "--model-dir", model)
	golden(t, "train-linear.golden", out)

	evalPath := filepath.Join(dir, "evaluation.json")
	out = mustAlgo(t, "evaluate", "--model", filepath.Join(model, "linear-model.json"), "--test", filepath.Join(prepped, "test.csv"), "--out", evalPath)
	golden(t, "evaluate-linear.golden", relative(out, dir))
	report, err := os.ReadFile(evalPath)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "evaluation-linear.json", string(report))
	var r struct {
		RegressionMetrics struct {
			MSE struct{ Value, StandardDeviation float64 } `json:"mse"`
		} `json:"regression_metrics"`
	}
	if err := json.Unmarshal(report, &r); err != nil {
		t.Fatal(err)
	}
	if mse := r.RegressionMetrics.MSE.Value; !(mse > 0 && mse <= 6.0) {
		t.Errorf("linear mse on abalone = %v, want in (0, 6]", mse)
	}

	// Predictions on prep's test.csv (label column skipped) equal predictions on the raw rows through
	// transform.json: the same rows of abalone, prepared at inference time.
	fromTest := mustAlgo(t, "predict", "--model", model, "--input", filepath.Join(prepped, "test.csv"), "--labelled")
	if n := strings.Count(fromTest, "\n"); n != 626 {
		t.Fatalf("predict printed %d lines, want 626", n)
	}
	raw := filepath.Join(dir, "raw.csv")
	src, err := os.ReadFile(abalone)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(src), "\n", 4)
	// header (without rings) and two rows, label dropped: what a client sends.
	var b strings.Builder
	for _, l := range lines[:3] {
		cells := strings.Split(l, ",")
		b.WriteString(strings.Join(cells[:len(cells)-1], ",") + "\n")
	}
	if err := os.WriteFile(raw, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got := mustAlgo(t, "predict", "--model", model, "--input", raw, "--transform", filepath.Join(prepped, "transform.json"))
	preds := strings.Fields(got)
	if len(preds) != 2 {
		t.Fatalf("predict on raw rows printed %q, want 2 values", got)
	}
	for i, p := range preds {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 3 || v > 20 {
			t.Errorf("prediction %d = %q, want a plausible ring count", i, p)
		}
	}
}

func TestAlgoUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "usage: slipway algo <command>"},
		{[]string{"fly"}, `unknown algo command "fly"`},
		{[]string{"prep", "--input", "x.csv"}, "prep needs --label, --out"},
		{[]string{"prep", "--input", "x.csv", "--label", "y", "--out", "o", "--split", "0.5,0.5"}, `--split "0.5,0.5": want three fractions`},
		{[]string{"prep", "--nope"}, "flag provided but not defined: -nope"},
		{[]string{"train"}, "name the algorithm: slipway algo train xgboost|linear"},
		{[]string{"train", "linear", "--train", "t.csv", "--model-dir", "m", "--set", "l2"}, `"l2" is not name=value`},
		{[]string{"train", "linear", "--train", "t.csv", "--model-dir", "m", "--set", "l2=1,l2=2"}, `hyperparameter "l2" is set twice`},
		{[]string{"train", "linear", "--train", "t.csv", "--model-dir", "m", "--format", "parquet"}, `--format "parquet": want csv or libsvm`},
		{[]string{"evaluate", "--model", "m"}, "evaluate needs --test"},
		{[]string{"predict", "--model", "m", "--input", "i", "extra"}, `unexpected argument "extra"`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, _, err := algo(t, tc.args...)
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want a usage error containing %q", err, tc.want)
			}
		})
	}
}

func TestAlgoInputErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("a,y\n1,2\nabc,3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := algo(t, "prep", "--input", bad, "--label", "y", "--split", "1,0,0", "--out", filepath.Join(dir, "out"))
	if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), `bad.csv line 3 column 1 ("a"): "abc" is not a number`) {
		t.Errorf("got %v, want an input error naming bad.csv line 3 column 1", err)
	}
	_, _, err = algo(t, "train", "linear", "--train", bad, "--model-dir", filepath.Join(dir, "m"))
	if err == nil || !strings.Contains(err.Error(), "bad.csv line 1") {
		t.Errorf("got %v, want an input error naming bad.csv line 1 (a header where numbers are expected)", err)
	}
}

// TestAlgoAbaloneXGBoost runs SageMaker's abalone recipe end to end: prep, train XGBoost with the
// example's hyperparameters, evaluate (the pipeline registers the model only when mse ≤ 6.0), and
// predict both on test.csv and on raw rows through transform.json.
func TestAlgoAbaloneXGBoost(t *testing.T) {
	dir := t.TempDir()
	prepped, model := filepath.Join(dir, "prepped"), filepath.Join(dir, "model")
	mustAlgo(t, "prep", "--input", abalone, "--label", "rings", "--categorical", "sex",
		"--split", "0.7,0.15,0.15", "--seed", "42", "--out", prepped)
	out := mustAlgo(t, "train", "xgboost", "--train", filepath.Join(prepped, "train.csv"),
		"--validation", filepath.Join(prepped, "validation.csv"),
		"--set", "objective=reg:squarederror,num_round=50,max_depth=5,eta=0.2,gamma=4,min_child_weight=6,subsample=0.7",
		"--model-dir", model)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 50 || !strings.HasPrefix(lines[0], "[0]#011train-rmse:") || !strings.Contains(lines[49], "#011validation-rmse:") {
		t.Errorf("training log: %d lines, first %q; want 50 lines like [0]#011train-rmse:…#011validation-rmse:…", len(lines), lines[0])
	}
	evalPath := filepath.Join(dir, "evaluation.json")
	mustAlgo(t, "evaluate", "--model", filepath.Join(model, "xgboost-model"), "--test", filepath.Join(prepped, "test.csv"), "--out", evalPath)
	report, err := os.ReadFile(evalPath)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		RegressionMetrics struct {
			MSE struct {
				Value             float64 `json:"value"`
				StandardDeviation float64 `json:"standard_deviation"`
			} `json:"mse"`
		} `json:"regression_metrics"`
	}
	if err := json.Unmarshal(report, &r); err != nil {
		t.Fatal(err)
	}
	mse := r.RegressionMetrics.MSE
	t.Logf("abalone xgboost: test mse %.4f (sd of residuals %.4f)", mse.Value, mse.StandardDeviation)
	if !(mse.Value > 0 && mse.Value <= 6.0) || !(mse.StandardDeviation > 0) {
		t.Errorf("mse = %+v, want value in (0, 6] (the recipe's registration threshold) and a positive sd", mse)
	}
	preds := strings.Fields(mustAlgo(t, "predict", "--model", model, "--input", filepath.Join(prepped, "test.csv"), "--labelled"))
	if len(preds) != 626 {
		t.Fatalf("predict printed %d values, want 626", len(preds))
	}
	// The first raw rows of abalone through transform.json predict what the model predicts for
	// the same rows prepared by prep (headerless raw rows, label included and ignored).
	src, err := os.ReadFile(abalone)
	if err != nil {
		t.Fatal(err)
	}
	raw := filepath.Join(dir, "raw.csv")
	rows := strings.SplitN(string(src), "\n", 4)[1:3]
	if err := os.WriteFile(raw, []byte(strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(mustAlgo(t, "predict", "--model", model, "--input", raw, "--transform", filepath.Join(prepped, "transform.json")))
	if len(got) != 2 {
		t.Fatalf("predict on raw rows printed %q, want 2 values", got)
	}
	tr, err := prep.LoadTransform(filepath.Join(prepped, "transform.json"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := tr.ApplyRecords("raw", [][]string{strings.Split(rows[0], ","), strings.Split(rows[1], ",")}, 2)
	if err != nil {
		t.Fatal(err)
	}
	m, err := evaluate.LoadModel(model)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Predict(d)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range got {
		if p != strconv.FormatFloat(float64(want[i]), 'g', -1, 32) {
			t.Errorf("prediction %d = %s, want %v", i, p, want[i])
		}
	}
}

func writeFile(t *testing.T, path, s string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAlgoCSVWeights(t *testing.T) {
	dir := t.TempDir()
	// label, weight, one feature
	train := writeFile(t, filepath.Join(dir, "train.csv"), "1,1,0.5\n2,2,1.5\n3,1,2.5\n4,0.5,3.5\n")
	mustAlgo(t, "train", "xgboost", "--train", train, "--set", "num_round=2,csv_weights=1", "--model-dir", filepath.Join(dir, "m"))
	m, err := evaluate.LoadModel(filepath.Join(dir, "m"))
	if err != nil {
		t.Fatal(err)
	}
	if m.NumFeatures != 1 {
		t.Errorf("model has %d features, want 1 (the weight column is not a feature)", m.NumFeatures)
	}
	bad := writeFile(t, filepath.Join(dir, "bad.csv"), "1,1,0.5\n2,-2,1.5\n")
	_, _, err = algo(t, "train", "xgboost", "--train", bad, "--set", "num_round=2,csv_weights=1", "--model-dir", filepath.Join(dir, "m2"))
	if err == nil || !strings.Contains(err.Error(), "row 2: instance weight -2") {
		t.Errorf("negative weight: got %v, want an error naming row 2", err)
	}
}

func TestAlgoPredictMulticlassPrintsCSV(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := 0; i < 30; i++ {
		b.WriteString(strconv.Itoa(i%3) + "," + strconv.Itoa(i%3*10+i%2) + "\n")
	}
	train := writeFile(t, filepath.Join(dir, "train.csv"), b.String())
	mustAlgo(t, "train", "xgboost", "--train", train, "--set", "objective=multi:softprob,num_class=3,num_round=3", "--model-dir", dir)
	rows := writeFile(t, filepath.Join(dir, "rows.csv"), "0\n21\n")
	out := mustAlgo(t, "predict", "--model", dir, "--input", rows)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("printed %q, want 2 lines", out)
	}
	for i, l := range lines {
		cells := strings.Split(l, ",")
		sum, best := 0.0, 0
		for j, c := range cells {
			v, err := strconv.ParseFloat(c, 64)
			if err != nil {
				t.Fatalf("line %d: %q", i+1, l)
			}
			sum += v
			if w, _ := strconv.ParseFloat(cells[best], 64); v > w {
				best = j
			}
		}
		if len(cells) != 3 || sum < 0.999 || sum > 1.001 || best != []int{0, 2}[i] {
			t.Errorf("line %d = %q, want 3 probabilities summing to 1, class %d most probable", i+1, l, []int{0, 2}[i])
		}
	}
}

// TestAlgoClassificationRecipe: a yes/no label (abalone with at least 10 rings is "old"), a
// stratified split, the label encoded by prep, and both learners as binary classifiers.
func TestAlgoClassificationRecipe(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(abalone)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimSpace(string(src)), "\n") {
		cells := strings.Split(l, ",")
		last := len(cells) - 1
		switch rings, _ := strconv.Atoi(cells[last]); {
		case i == 0:
			cells[last] = "old"
		case rings >= 10:
			cells[last] = "yes"
		default:
			cells[last] = "no"
		}
		b.WriteString(strings.Join(cells, ",") + "\n")
	}
	input := writeFile(t, filepath.Join(dir, "old.csv"), b.String())
	prepped := filepath.Join(dir, "prepped")
	out := mustAlgo(t, "prep", "--input", input, "--label", "old", "--categorical", "sex", "--stratify", "--seed", "1", "--out", prepped)
	if !strings.Contains(out, `label "old" classes: no, yes`) {
		t.Errorf("prep printed %q, want the label classes", out)
	}
	for _, tc := range []struct {
		algo, set           string
		minAccuracy, minAUC float64
	}{
		{"linear", "predictor_type=binary_classifier,l2=0.0001", 0.75, 0.85},
		{"xgboost", "objective=binary:logistic,num_round=30,max_depth=4,eta=0.3", 0.75, 0.85},
	} {
		t.Run(tc.algo, func(t *testing.T) {
			model := filepath.Join(dir, tc.algo)
			mustAlgo(t, "train", tc.algo, "--train", filepath.Join(prepped, "train.csv"),
				"--validation", filepath.Join(prepped, "validation.csv"), "--set", tc.set, "--model-dir", model)
			report := mustAlgo(t, "evaluate", "--model", model, "--test", filepath.Join(prepped, "test.csv"))
			var r struct {
				M struct {
					Accuracy, AUC struct{ Value float64 }
					CM            map[string]map[string]int `json:"confusion_matrix"`
				} `json:"binary_classification_metrics"`
			}
			if err := json.Unmarshal([]byte(report), &r); err != nil {
				t.Fatalf("%v in\n%s", err, report)
			}
			t.Logf("%s: accuracy %.4f auc %.4f", tc.algo, r.M.Accuracy.Value, r.M.AUC.Value)
			if r.M.Accuracy.Value < tc.minAccuracy || r.M.AUC.Value < tc.minAUC {
				t.Errorf("accuracy %v, auc %v; want ≥ %v and ≥ %v", r.M.Accuracy.Value, r.M.AUC.Value, tc.minAccuracy, tc.minAUC)
			}
			total := 0
			for _, row := range r.M.CM {
				for _, c := range row {
					total += c
				}
			}
			if total != 626 {
				t.Errorf("confusion matrix counts %d rows, want the 626 test rows", total)
			}
		})
	}
}

// TestAlgoOtherInputFormats trains the same linear model from libsvm files and from CSV files with
// a header and a named label; the evaluations equal the headerless CSV one.
func TestAlgoOtherInputFormats(t *testing.T) {
	dir := t.TempDir()
	prepped := filepath.Join(dir, "prepped")
	mustAlgo(t, "prep", "--input", abalone, "--label", "rings", "--categorical", "sex", "--seed", "5", "--out", prepped)
	convert := func(name string, libsvm bool) string {
		src, err := os.ReadFile(filepath.Join(prepped, name))
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if !libsvm {
			b.WriteString("f0,f1,f2,f3,f4,f5,f6,f7,f8,rings,f9\n")
		}
		for _, l := range strings.Split(strings.TrimSpace(string(src)), "\n") {
			cells := strings.Split(l, ",")
			if libsvm {
				b.WriteString(cells[0])
				for j, c := range cells[1:] {
					b.WriteString(" " + strconv.Itoa(j) + ":" + c)
				}
			} else { // label in the second-to-last column
				feats := cells[1:]
				b.WriteString(strings.Join(feats[:9], ",") + "," + cells[0] + "," + feats[9])
			}
			b.WriteString("\n")
		}
		ext := ".csv"
		if libsvm {
			ext = ".libsvm"
		}
		return writeFile(t, filepath.Join(dir, strings.TrimSuffix(name, ".csv")+ext), b.String())
	}
	run := func(train, test string, extra ...string) string {
		model := filepath.Join(dir, filepath.Base(train)+"-model")
		mustAlgo(t, append([]string{"train", "linear", "--train", train, "--set", "l2=0.01", "--model-dir", model}, extra...)...)
		return mustAlgo(t, append([]string{"evaluate", "--model", model, "--test", test}, extra...)...)
	}
	want := run(filepath.Join(prepped, "train.csv"), filepath.Join(prepped, "test.csv"))
	if got := run(convert("train.csv", true), convert("test.csv", true)); got != want {
		t.Errorf("libsvm evaluation:\n%s\nwant (CSV):\n%s", got, want)
	}
	if got := run(convert("train.csv", false), convert("test.csv", false), "--label", "rings"); got != want {
		t.Errorf("header CSV evaluation:\n%s\nwant (headerless CSV):\n%s", got, want)
	}
}

func FuzzSetFlag(f *testing.F) {
	for _, s := range []string{"objective=reg:squarederror,num_round=50", "a=b=c", " x = 1 ,, y=2", "=1", "k", "a=1,a=2", "eval_metric=rmse"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set := setFlag{}
		if err := set.Set(s); err != nil {
			return
		}
		for k := range set {
			if k == "" || strings.ContainsAny(k, ",=") {
				t.Fatalf("key %q from %q", k, s)
			}
		}
		again := setFlag{}
		if err := again.Set(set.String()); err != nil {
			t.Fatalf("String() %q of a parsed set does not parse: %v", set.String(), err)
		}
		if diff := cmp.Diff(map[string]string(set), map[string]string(again)); diff != "" {
			t.Fatalf("round trip of %q (-first +second):\n%s", s, diff)
		}
	})
}
