package xgboost

import (
	"bytes"
	"context"
	"io"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/errs"
)

func mustParams(t testing.TB, set map[string]string) Params {
	t.Helper()
	p, err := ParseParams(set)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGradients(t *testing.T) {
	const ln2, ln3 = 0.6931471805599453, 1.0986122886681098
	tests := []struct {
		name     string
		set      map[string]string
		margin   []float32
		label, w float32
		want     []gradPair
	}{
		{"squarederror", nil, []float32{2}, 3, 2, []gradPair{{-2, 2}}},
		{"logistic positive", map[string]string{"objective": "binary:logistic"}, []float32{0}, 1, 1, []gradPair{{-0.5, 0.25}}},
		{"logistic scale_pos_weight", map[string]string{"objective": "reg:logistic", "scale_pos_weight": "3"}, []float32{0}, 1, 1,
			[]gradPair{{-1.5, 0.75}}},
		{"logistic negative", map[string]string{"objective": "binary:logitraw", "scale_pos_weight": "3"}, []float32{ln3}, 0, 1,
			[]gradPair{{0.75, 0.1875}}},
		{"pseudohuber", map[string]string{"objective": "reg:pseudohubererror"}, []float32{3}, 0, 1,
			[]gradPair{{float32(3 / math.Sqrt(10)), float32(1 / (10 * math.Sqrt(10)))}}},
		{"pseudohuber slope 2", map[string]string{"objective": "reg:pseudohubererror", "huber_slope": "2"}, []float32{2}, 0, 1,
			// z=2: √(1+1)=√2; g = 2/√2; h = 4/((4+4)√2)
			[]gradPair{{float32(math.Sqrt2), float32(0.5 / math.Sqrt2)}}},
		{"poisson default max_delta_step 0.7", map[string]string{"objective": "count:poisson"}, []float32{0}, 2, 1,
			[]gradPair{{-1, float32(math.Exp(float64(float32(0.7))))}}},
		{"poisson max_delta_step", map[string]string{"objective": "count:poisson", "max_delta_step": "0.3"}, []float32{0}, 2, 2,
			[]gradPair{{-2, 2 * float32(math.Exp(float64(float32(0.3))))}}},
		{"softmax", map[string]string{"objective": "multi:softprob", "num_class": "3"}, []float32{0, 0, ln2}, 2, 1,
			// p = (¼, ¼, ½); g = p - onehot; h = 2p(1-p)
			[]gradPair{{0.25, 0.375}, {0.25, 0.375}, {-0.5, 0.5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLoss(mustParams(t, tt.set))
			got := make([]gradPair, len(tt.want))
			l.rowGradient(tt.margin, tt.label, tt.w, got)
			if !cmp.Equal(got, tt.want, cmp.AllowUnexported(gradPair{}), cmp.Comparer(func(a, b float32) bool {
				return math.Abs(float64(a-b)) <= 1e-6
			})) {
				t.Errorf("gradient = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBaseMargin(t *testing.T) {
	for _, tt := range []struct {
		set  map[string]string
		want float64
	}{
		{nil, 0.5},
		{map[string]string{"objective": "binary:logistic", "base_score": "0.25"}, math.Log(1.0 / 3)},
		{map[string]string{"objective": "binary:logitraw", "base_score": "0.25"}, 0.25},
		{map[string]string{"objective": "count:poisson", "base_score": "2"}, math.Log(2)},
		{map[string]string{"objective": "multi:softmax", "num_class": "3"}, 0.5},
	} {
		if got := newLoss(mustParams(t, tt.set)).baseMargin(); math.Abs(float64(got)-tt.want) > 1e-6 {
			t.Errorf("%v: base margin %v, want %v", tt.set, got, tt.want)
		}
	}
}

func TestLabelDomain(t *testing.T) {
	tests := []struct {
		set   map[string]string
		label []float32
		want  string
	}{
		{map[string]string{"objective": "binary:logistic"}, []float32{0, 1, 2}, "training data row 3: label 2 must be in [0, 1]"},
		{map[string]string{"objective": "reg:logistic"}, []float32{-0.1}, "row 1: label -0.1 must be in [0, 1]"},
		{map[string]string{"objective": "count:poisson"}, []float32{1, -1}, "row 2: label -1 must be a count ≥ 0"},
		{map[string]string{"objective": "multi:softmax", "num_class": "3"}, []float32{0, 3}, "row 2: label 3 must be a class 0 to 2 (num_class 3)"},
		{map[string]string{"objective": "multi:softprob", "num_class": "3"}, []float32{1.5}, "row 1: label 1.5 must be a class"},
		{nil, []float32{float32(math.Inf(1))}, "row 1: label +Inf must be finite"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			d := &dataset.Dense{Rows: len(tt.label), Cols: 1, X: make([]float32, len(tt.label)), Label: tt.label}
			_, err := Train(context.Background(), mustParams(t, tt.set), d, nil, nil)
			if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Train error = %v, want Invalid containing %q", err, tt.want)
			}
		})
	}
}

// oneFeature is a data set of one feature whose squared-error gradients at the base margin 0.5 are g.
func oneFeature(x []float32, g []float32) *dataset.Dense {
	d := &dataset.Dense{Rows: len(x), Cols: 1, X: x, Label: make([]float32, len(x))}
	for i := range g {
		d.Label[i] = 0.5 - g[i]
	}
	return d
}

// TestSplitByHand checks the split, gain and leaf values of one stump against the second-order formulas
// worked by hand: x = 1,2,3,4 with gradients -2,-2,2,2 and hessians 1.
func TestSplitByHand(t *testing.T) {
	d := oneFeature([]float32{1, 2, 3, 4}, []float32{-2, -2, 2, 2})
	tests := []struct {
		name string
		set  map[string]string
		want Tree
	}{
		{
			// root gain 0²/(4+1) = 0; split x<3: (-4)²/(2+1) + 4²/(2+1) = 32/3; leaves ∓(∓4)/3·0.3 = ±0.4
			name: "lambda 1",
			set:  map[string]string{"num_round": "1", "max_depth": "1", "eta": "0.3"},
			want: Tree{LeftChildren: []int32{1, -1, -1}, RightChildren: []int32{2, -1, -1},
				Parents: []int32{RootParent, 0, 0}, SplitIndices: []int32{0, 0, 0},
				SplitConditions: []float32{3, 0.4, -0.4}, DefaultLeft: []bool{false, false, false},
				BaseWeights: []float32{0, 0.4, -0.4}, LossChanges: []float32{32.0 / 3, 0, 0}, SumHessian: []float32{4, 2, 2}},
		},
		{
			// alpha 1 thresholds |G| by 1: (3²/3)·2 = 6; leaf ±3/3·0.5
			name: "alpha 1",
			set:  map[string]string{"num_round": "1", "max_depth": "1", "eta": "0.5", "alpha": "1"},
			want: Tree{LeftChildren: []int32{1, -1, -1}, RightChildren: []int32{2, -1, -1},
				Parents: []int32{RootParent, 0, 0}, SplitIndices: []int32{0, 0, 0},
				SplitConditions: []float32{3, 0.5, -0.5}, DefaultLeft: []bool{false, false, false},
				BaseWeights: []float32{0, 0.5, -0.5}, LossChanges: []float32{6, 0, 0}, SumHessian: []float32{4, 2, 2}},
		},
		{
			// max_delta_step 1 caps the weights 4/3 → 1; gain = -(2Gw + (H+λ)w²) per child = 8-3 = 5, twice
			name: "max_delta_step 1",
			set:  map[string]string{"num_round": "1", "max_depth": "1", "eta": "1", "max_delta_step": "1"},
			want: Tree{LeftChildren: []int32{1, -1, -1}, RightChildren: []int32{2, -1, -1},
				Parents: []int32{RootParent, 0, 0}, SplitIndices: []int32{0, 0, 0},
				SplitConditions: []float32{3, 1, -1}, DefaultLeft: []bool{false, false, false},
				BaseWeights: []float32{0, 1, -1}, LossChanges: []float32{10, 0, 0}, SumHessian: []float32{4, 2, 2}},
		},
		{
			// gamma above the gain (6 with alpha 1): no split, a single leaf of weight 0
			name: "gamma prunes",
			set:  map[string]string{"num_round": "1", "max_depth": "1", "alpha": "1", "gamma": "7"},
			want: Tree{LeftChildren: []int32{-1}, RightChildren: []int32{-1}, Parents: []int32{RootParent},
				SplitIndices: []int32{0}, SplitConditions: []float32{0}, DefaultLeft: []bool{false},
				BaseWeights: []float32{0}, LossChanges: []float32{0}, SumHessian: []float32{4}},
		},
		{
			// min_child_weight 2.5 forbids every split (each side would have hessian ≤ 3 but one ≤ 2)
			name: "min_child_weight",
			set:  map[string]string{"num_round": "1", "max_depth": "1", "min_child_weight": "2.5"},
			want: Tree{LeftChildren: []int32{-1}, RightChildren: []int32{-1}, Parents: []int32{RootParent},
				SplitIndices: []int32{0}, SplitConditions: []float32{0}, DefaultLeft: []bool{false},
				BaseWeights: []float32{0}, LossChanges: []float32{0}, SumHessian: []float32{4}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Train(context.Background(), mustParams(t, tt.set), d, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.NumFeature = 1
			if diff := cmp.Diff(tt.want, b.Trees[0], cmp.Comparer(func(a, b float32) bool {
				return math.Abs(float64(a-b)) <= 1e-6
			}), cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".compiled" }, cmp.Ignore())); diff != "" {
				t.Errorf("tree (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMissingGoesLearnedWay: x = 1, 2, NaN, 4 with gradients -2, 2, -2, 2. Sending the missing row left
// with x=1 (split x<2, default left) separates the gradients perfectly: gain 32/3.
func TestMissingGoesLearnedWay(t *testing.T) {
	nan := float32(math.NaN())
	d := oneFeature([]float32{1, 2, nan, 4}, []float32{-2, 2, -2, 2})
	b, err := Train(context.Background(), mustParams(t, map[string]string{"num_round": "1", "max_depth": "1"}), d, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := b.Trees[0]
	if tr.SplitConditions[0] != 2 || !tr.DefaultLeft[0] || math.Abs(float64(tr.LossChanges[0])-32.0/3) > 1e-5 {
		t.Errorf("root split x<%v default_left %v gain %v, want x<2 default_left true gain 32/3",
			tr.SplitConditions[0], tr.DefaultLeft[0], tr.LossChanges[0])
	}
	pred, err := b.Predict(d, PredictOptions{OutputMargin: true})
	if err != nil {
		t.Fatal(err)
	}
	// left leaf (rows 0, 2): 0.5 + 0.3·4/3; right (rows 1, 3): 0.5 - 0.4
	if want := []float32{0.9, 0.1, 0.9, 0.1}; !cmp.Equal(pred, want, cmp.Comparer(func(a, b float32) bool {
		return math.Abs(float64(a-b)) <= 1e-6
	})) {
		t.Errorf("margins %v, want %v", pred, want)
	}
}

func TestSketch(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	// XGBoost's closing bounds, in float32 arithmetic as there: max + (|max| + 1e-5), min - (|min| + 1e-5)
	var one, two, three, four, ten, eps float32 = 1, 2, 3, 4, 10, 1e-5
	tests := []struct {
		name   string
		x      []float32
		weight []float32
		maxBin int
		want   []float32
		min    float32
	}{
		// few distinct values: every value is a bound (and NaN is skipped)
		{"distinct", []float32{3, 1, 2, 2, float32(math.NaN())}, nil, 256, []float32{2, 3, three + (three + eps)}, one - (one + eps)},
		// pruned to 5 entries 1,4,6,8,10 (XGBoost 1.7.4's split conditions on this data are 4, 6, 8)
		{"pruned", x, nil, 4, []float32{4, 6, 8, ten + (ten + eps)}, one - (one + eps)},
		// weights 5 on 6, 7, 8 pull the bounds there (XGBoost: 6, 7, 8)
		{"weighted", x, []float32{1, 1, 1, 1, 1, 5, 5, 5, 1, 1}, 4, []float32{6, 7, 8, ten + (ten + eps)}, one - (one + eps)},
		{"negative", []float32{-4, -2}, nil, 256, []float32{-2, -two + (two + eps)}, -four - (four + eps)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &dataset.Dense{Rows: len(tt.x), Cols: 1, X: tt.x, Weight: tt.weight}
			c := sketch(d, tt.maxBin, 2)
			if !cmp.Equal(c.bounds[0], tt.want) || c.minVal[0] != tt.min {
				t.Errorf("bounds %v min %v, want %v min %v", c.bounds[0], c.minVal[0], tt.want, tt.min)
			}
			for _, v := range tt.x {
				if v != v {
					continue
				}
				b := binOf(c.bounds[0], v)
				if !(v < c.bounds[0][b]) || (b > 0 && v < c.bounds[0][b-1]) {
					t.Errorf("value %v in bin %d of %v", v, b, c.bounds[0])
				}
			}
		})
	}
}

func TestSortFloats(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{10, 5000, 100000} {
		v := make([]float32, n)
		for i := range v {
			switch i % 4 {
			case 0:
				v[i] = float32(rng.NormFloat64() * 1e6)
			case 1:
				v[i] = float32(rng.IntN(5)) // many ties
			case 2:
				v[i] = -float32(rng.Float64())
			default:
				v[i] = float32(math.Inf(2*rng.IntN(2) - 1))
			}
		}
		want := slices.Clone(v)
		slices.Sort(want)
		sortFloats(v, nil)
		if !slices.Equal(v, want) {
			t.Errorf("n=%d: sortFloats differs from slices.Sort", n)
		}
	}
}

func TestDeterministic(t *testing.T) {
	tr, va, _ := abaloneSplits(t)
	set := map[string]string{"num_round": "10", "subsample": "0.7", "colsample_bynode": "0.6", "seed": "42", "nthread": "2"}
	model := func(set map[string]string) []byte {
		b, err := Train(context.Background(), mustParams(t, set), tr, []Eval{{"validation", va}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := b.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	a, b := model(set), model(set)
	if !bytes.Equal(a, b) {
		t.Error("two runs with the same seed and nthread wrote different models")
	}
	set["seed"] = "43"
	if c := model(set); bytes.Equal(a, c) {
		t.Error("another seed wrote the same model")
	}
}

var logLine = regexp.MustCompile(`^\[(\d+)\]#011train-rmse:\d+\.\d{5}#011train-mae:\d+\.\d{5}#011validation-rmse:\d+\.\d{5}#011validation-mae:(\d+\.\d{5})$`)

func TestLogAndEarlyStopping(t *testing.T) {
	tr, va, _ := abaloneSplits(t)
	// deep trees with a large step overfit quickly: validation MAE (the last metric of the last Eval)
	// stops improving after a few rounds
	set := map[string]string{"num_round": "200", "eta": "0.9", "max_depth": "8", "min_child_weight": "0",
		"eval_metric": "rmse,mae", "early_stopping_rounds": "5"}
	var log bytes.Buffer
	b, err := Train(context.Background(), mustParams(t, set), tr, []Eval{{"train", tr}, {"validation", va}}, &log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(log.String(), "\n"), "\n")
	var maes []string
	for i, l := range lines {
		m := logLine.FindStringSubmatch(l)
		if m == nil || m[1] != itoa(i) {
			t.Fatalf("log line %d %q is not in SageMaker's shape", i, l)
		}
		maes = append(maes, m[2])
	}
	best := 0
	for i := range maes {
		if maes[i] < maes[best] { // same width: string order is numeric order
			best = i
		}
	}
	if len(lines) != best+1+5 || len(lines) >= 200 {
		t.Errorf("trained %d rounds, best %d: want best+5 rounds", len(lines), best)
	}
	if got := b.Attributes["best_iteration"]; got != itoa(best) {
		t.Errorf("best_iteration %q, want %d", got, best)
	}
	if got := b.Attributes["best_ntree_limit"]; got != itoa(best+1) {
		t.Errorf("best_ntree_limit %q, want %d", got, best+1)
	}
	if got := b.Attributes["best_score"]; !strings.HasPrefix(got, strings.TrimRight(maes[best][:len(maes[best])-1], "0")) {
		t.Errorf("best_score %q, log says %s", got, maes[best])
	}
	if len(b.Trees) != len(lines) {
		t.Errorf("%d trees for %d rounds (XGBoost keeps the rounds after the best)", len(b.Trees), len(lines))
	}
}

func TestPyFloat(t *testing.T) {
	tenth, fifth := 0.1, 0.2 // variables: a constant 0.1+0.2 would be exactly 0.3
	// the values Python 3.11 prints with repr()
	for v, want := range map[float64]string{2.25: "2.25", 3: "3.0", 1234567: "1234567.0", 0.0001: "0.0001",
		0.00001234: "1.234e-05", 1e16: "1e+16", 2.5e17: "2.5e+17", 0: "0.0", tenth + fifth: "0.30000000000000004",
		math.NaN(): "nan", -1.5: "-1.5"} {
		if got := pyFloat(v); got != want {
			t.Errorf("pyFloat(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestTrainStopsOnCancel(t *testing.T) {
	tr, _, _ := abaloneSplits(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, DefaultParams(), tr, nil, io.Discard); err == nil {
		t.Error("Train on a cancelled context succeeded")
	}
}

func TestTrainRejectsBadData(t *testing.T) {
	tr, _, _ := abaloneSplits(t)
	narrow := &dataset.Dense{Rows: 1, Cols: 2, X: []float32{1, 2}, Label: []float32{1}}
	noLabel := &dataset.Dense{Rows: 1, Cols: 10, X: make([]float32, 10)}
	weights := &dataset.Dense{Rows: 2, Cols: 1, X: []float32{1, 2}, Label: []float32{1, 2}, Weight: []float32{1, -1}}
	for _, tt := range []struct {
		train *dataset.Dense
		evals []Eval
		set   map[string]string
		want  string
	}{
		{&dataset.Dense{}, nil, nil, "training data is empty"},
		{&dataset.Dense{Rows: 2, Cols: 2, X: []float32{1, 2, 3, float32(math.Inf(-1))}, Label: []float32{1, 2}}, nil, nil,
			"training data row 2 column 2: value -Inf is infinite"},
		{noLabel, nil, nil, "training data has no labels"},
		{weights, nil, nil, "training data row 2: weight -1"},
		{tr, []Eval{{"validation", narrow}}, nil, "validation data has 2 features, the training data 10"},
		{tr, nil, map[string]string{"early_stopping_rounds": "3"}, "early_stopping_rounds needs a validation data set"},
	} {
		_, err := Train(context.Background(), mustParams(t, tt.set), tt.train, tt.evals, nil)
		if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Train error = %v, want Invalid containing %q", err, tt.want)
		}
	}
}

// TestPartitionMatchesPredictor checks on data with many ties, negative values and missing values that
// the rows each leaf was trained on are exactly the rows the predictor's walk (x < cond goes left, NaN
// to the default side) sends there.
func TestPartitionMatchesPredictor(t *testing.T) {
	tr, _, _ := abaloneSplits(t)
	withMissing := *tr
	withMissing.X = append([]float32(nil), tr.X...)
	for i := range withMissing.X {
		switch i % 7 {
		case 0:
			withMissing.X[i] = float32(math.NaN())
		case 3:
			withMissing.X[i] = -withMissing.X[i]
		}
	}
	// bins in one byte (8 bins; 256 bins of complete features, using code 255) and in two (256 bins and
	// a missing code)
	for _, tt := range []struct {
		d      *dataset.Dense
		maxBin int
	}{{&withMissing, 8}, {&withMissing, 256}, {tr, 256}} {
		d, maxBin := tt.d, tt.maxBin
		p := mustParams(t, map[string]string{"max_depth": "10", "max_bin": itoa(maxBin), "min_child_weight": "0", "nthread": "2"})
		grow := treeGrower(d, sketch(d, p.MaxBin, 2), p, 2, nil)
		gp := make([]gradPair, d.Rows)
		newLoss(p).gradients(filled(d.Rows, 10), d.Label, nil, gp, 2) // residuals of both signs
		tree, leaves := grow(gp)
		seen := 0
		for _, l := range leaves {
			for _, r := range l.rows {
				if got := walk(&tree, d.Row(int(r))); got != l.nid {
					t.Fatalf("max_bin %d: row %d trained in leaf %d, the predictor sends it to %d", maxBin, r, l.nid, got)
				}
				seen++
			}
		}
		if seen != d.Rows || len(leaves) < 100 {
			t.Errorf("max_bin %d: %d rows in %d leaves, want all %d rows in many leaves", maxBin, seen, len(leaves), d.Rows)
		}
	}
}

func walk(t *Tree, x []float32) int32 {
	i := int32(0)
	for t.LeftChildren[i] != -1 {
		v := x[t.SplitIndices[i]]
		if v < t.SplitConditions[i] || (v != v && t.DefaultLeft[i]) {
			i = t.LeftChildren[i]
		} else {
			i = t.RightChildren[i]
		}
	}
	return i
}

// TestDegenerateData trains on an all-missing feature, a constant feature, a single row and constant
// labels: no panic, a valid model, and the predictor reproduces the training margins.
func TestDegenerateData(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name string
		d    *dataset.Dense
	}{
		{"all missing and constant features", &dataset.Dense{Rows: 4, Cols: 3,
			X: []float32{nan, 7, 1, nan, 7, 2, nan, 7, 3, nan, 7, 4}, Label: []float32{1, 2, 3, 4}}},
		{"one row", &dataset.Dense{Rows: 1, Cols: 2, X: []float32{1, 2}, Label: []float32{5}}},
		{"constant label", &dataset.Dense{Rows: 3, Cols: 1, X: []float32{1, 2, 3}, Label: []float32{2, 2, 2}}},
		{"zero weights", &dataset.Dense{Rows: 3, Cols: 1, X: []float32{1, 2, 3}, Label: []float32{2, 3, 4},
			Weight: []float32{0, 0, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParams(t, map[string]string{"num_round": "3", "min_child_weight": "0"})
			var log bytes.Buffer
			b, err := Train(context.Background(), p, tt.d, []Eval{{"train", tt.d}}, &log)
			if err != nil {
				t.Fatal(err)
			}
			pred, err := b.Predict(tt.d, PredictOptions{})
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(log.String()), "\n")
			want := "train-rmse:" + formatScore(evalMetric("rmse", tt.d, pred, 1))
			if !strings.HasSuffix(lines[len(lines)-1], want) {
				t.Errorf("last log line %q, predictor gives %s", lines[len(lines)-1], want)
			}
		})
	}
}

// TestRootBelowMinChildWeightIsZeroLeaf: when the whole data set's hessian is below
// min_child_weight, XGBoost's CalcWeight gives the root weight 0 and nothing may split, so the tree
// is one leaf of value 0 and predictions stay at the base score. Four rows of squared error have
// hessian 4; min_child_weight 5 exceeds it. The gradients all point one way (sum -8), so without
// the check the root would get weight 8/(4+1) and the leaf 0.3·1.6 = 0.48.
func TestRootBelowMinChildWeightIsZeroLeaf(t *testing.T) {
	d := oneFeature([]float32{1, 2, 3, 4}, []float32{-2, -2, -2, -2})
	b, err := Train(context.Background(), mustParams(t, map[string]string{
		"num_round": "3", "max_depth": "3", "eta": "0.3", "min_child_weight": "5"}), d, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, tr := range b.Trees {
		want := Tree{LeftChildren: []int32{-1}, RightChildren: []int32{-1}, Parents: []int32{RootParent},
			SplitIndices: []int32{0}, SplitConditions: []float32{0}, DefaultLeft: []bool{false},
			BaseWeights: []float32{0}, LossChanges: []float32{0}, SumHessian: []float32{4}, NumFeature: 1, ID: tr.ID}
		if diff := cmp.Diff(want, tr, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".compiled" }, cmp.Ignore())); diff != "" {
			t.Errorf("tree %d (-want +got):\n%s", i, diff)
		}
	}
	pred, err := b.Predict(d, PredictOptions{OutputMargin: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pred {
		if p != 0.5 {
			t.Errorf("row %d margin %v, want the base score 0.5", i, p)
		}
	}
}
