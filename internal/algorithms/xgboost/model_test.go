package xgboost

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/errs"
)

var nan = float32(math.NaN())

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stump builds, the way a trainer does, a model with one split on feature 0 at 0.5 (missing goes right)
// and leaves -1 and 2.
func stump(objective string, baseScore float32) *Booster {
	return &Booster{
		Learner: LearnerModelParam{BaseScore: baseScore, NumFeature: 2, NumTarget: 1, BoostFromAverage: true},
		Obj:     Objective{Name: objective, Params: DefaultObjectiveParams(objective, 0)},
		Trees: []Tree{{
			NumFeature:      2,
			LeftChildren:    []int32{1, -1, -1},
			RightChildren:   []int32{2, -1, -1},
			Parents:         []int32{RootParent, 0, 0},
			SplitIndices:    []int32{0, 0, 0},
			SplitConditions: []float32{0.5, -1, 2},
			DefaultLeft:     []bool{false, false, false},
			BaseWeights:     []float32{0, -1, 2},
			LossChanges:     []float32{3, 0, 0},
			SumHessian:      []float32{10, 4, 6},
		}},
		TreeInfo: []int{0},
	}
}

func TestStumpPredictions(t *testing.T) {
	tests := []struct {
		objective string
		base      float32
		x         []float32
		want      float32
	}{
		{"reg:squarederror", 0.5, []float32{0, 0}, -0.5},
		{"reg:squarederror", 0.5, []float32{0.5, 0}, 2.5}, // x == split goes right
		{"reg:squarederror", 0.5, []float32{nan, 0}, 2.5}, // missing follows default (right)
		{"reg:squarederror", 0.5, []float32{}, 2.5},       // absent features are missing
		{"binary:logistic", 0.5, []float32{0, 0}, float32(1 / (1 + math.Exp(1)))},
		{"binary:logistic", 0.25, []float32{1, 0}, float32(1 / (1 + math.Exp(-(2 + math.Log(1.0/3)))))},
		{"binary:logitraw", 0.25, []float32{1, 0}, 2.25},
		{"count:poisson", 2, []float32{0, 0}, float32(2 * math.Exp(-1))},
		{"binary:hinge", 0.5, []float32{0, 0}, 0},
		{"binary:hinge", 0.5, []float32{1, 0}, 1},
	}
	for _, tt := range tests {
		b := stump(tt.objective, tt.base)
		out := make([]float32, 1)
		b.PredictRow(tt.x, out)
		if math.Abs(float64(out[0]-tt.want)) > 1e-6 {
			t.Errorf("%s base %v x %v: PredictRow = %v, want %v", tt.objective, tt.base, tt.x, out[0], tt.want)
		}
	}
}

func TestTrainerBuiltRoundTrip(t *testing.T) {
	b := stump("reg:squarederror", 0.5)
	path := filepath.Join(t.TempDir(), "model.json")
	if err := b.SaveModel(path); err != nil {
		t.Fatalf("SaveModel: %v", err)
	}
	back, err := LoadModel(path)
	if err != nil {
		t.Fatalf("LoadModel: %v", err)
	}
	b.Version = XGBoostVersion
	b.NumParallelTree, b.BoosterName, b.Trees[0].SplitType = 1, "gbtree", []uint8{0, 0, 0}
	back.Attributes = nil
	if diff := cmp.Diff(b, back, cmpopts.IgnoreUnexported(Booster{}), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("round trip (-saved +loaded):\n%s", diff)
	}
}

func TestCategoricalSplit(t *testing.T) {
	// testdata/categorical.json: XGBoost 1.7.4, enable_categorical, root splits feature "c" on {0, 2}.
	b, err := ReadModel(bytes.NewReader(readTestdata(t, "categorical.json")), "categorical.json")
	if err != nil {
		t.Fatal(err)
	}
	d := &dataset.Dense{Rows: 5, Cols: 2, X: []float32{0, 0, 1, 0, 2, 1, 3, -1, nan, 0}}
	got, err := b.Predict(d, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// XGBoost 1.7.4's predictions for these rows.
	want := []float32{0.2867794632911682, 1.237877607345581, 0.42535123229026794, 1.237877607345581, 1.237877607345581}
	if diff := maxDiff(got, want); diff > 1e-6 {
		t.Errorf("Predict = %v, want %v", got, want)
	}
}

func TestReadModelErrors(t *testing.T) {
	small := string(readTestdata(t, "small.json"))
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"empty", "", "the file is empty"},
		{"not json", "PK\x03\x04zip", "it is neither JSON nor XGBoost's legacy binary format: the legacy binary model is truncated or corrupt at byte 0 (learner parameters)"},
		{"truncated legacy binary", string(readTestdata(t, "small.bin")[:300]), "the legacy binary model is truncated or corrupt at byte 177 (gbtree parameters)"},
		{"truncated ubjson", "{L\x00\x00\x00\x00\x00\x00\x00\x07learner{", "the UBJSON model is truncated or corrupt at byte 18 (object key)"},
		{"ubjson bad marker", "{L\x00\x00\x00\x00\x00\x00\x00\x07learnerX", "the UBJSON model is truncated or corrupt at byte 17 (unknown marker 'X')"},
		{"truncated", small[:len(small)/2], "the JSON is truncated"},
		{"syntax", `{"learner":}`, "JSON syntax error at byte 12"},
		{"no version", `{"learner":{}}`, "no version"},
		{"version 2", strings.Replace(small, `"version":[1,7,4]`, `"version":[2,0,3]`, 1), "model version 2.0.3 is not supported"},
		{"no learner", `{"version":[1,7,4]}`, "no learner"},
		{"wrong type", strings.Replace(small, `"tree_info":[0,0]`, `"tree_info":"x"`, 1), "field learner.gradient_booster.model.tree_info holds a JSON string"},
		{"unknown objective", strings.Replace(small, `"name":"binary:logistic"`, `"name":"survival:aft"`, 1), `objective "survival:aft" is not supported`},
		{"child out of range", strings.Replace(small, `"left_children":[1,-1,-1]`, `"left_children":[5,-1,-1]`, 1), "tree 0: node 0 has child 5 out of range [1, 3)"},
		{"cycle", strings.Replace(small, `"right_children":[2,-1,-1]`, `"right_children":[1,-1,-1]`, 1), "tree 0: node 1 is reached twice"},
		{"split feature", strings.Replace(small, `"split_indices":[0,`, `"split_indices":[7,`, 1), "tree 0: node 0 splits on feature 7, not below num_feature 3"},
		{"num_nodes", strings.Replace(small, `"num_nodes":"3"`, `"num_nodes":"2"`, 1), "tree 0: num_nodes is 2 but left_children has 3 entries"},
		{"num_trees", strings.Replace(small, `"num_trees":"2"`, `"num_trees":"3"`, 1), "num_trees is 3 but there are 2 trees"},
		{"bad float", strings.Replace(small, `"split_conditions":[`, `"split_conditions":["x",`, 1), `"\"x\"" is not a number`},
		{"array length", strings.Replace(small, `"sum_hessian":[`, `"sum_hessian":[1,`, 1), "tree 0: sum_hessian has 4 entries, left_children 3"},
		{"base score", strings.Replace(small, `"base_score":"3E-1"`, `"base_score":"x"`, 1), `learner_model_param.base_score "x" is not a number`},
		{"num_class", strings.Replace(small, `"num_class":"0"`, `"num_class":"3"`, 1), "objective binary:logistic has num_class 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadModel(strings.NewReader(tt.input), "m.json")
			if err == nil {
				t.Fatalf("ReadModel succeeded, want an error containing %q", tt.want)
			}
			msg := errs.Message(err)
			if !strings.HasPrefix(msg, "m.json is not a usable XGBoost model: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("error = %q, want it to name m.json and contain %q", msg, tt.want)
			}
			if !errs.Is(err, errs.Invalid) {
				t.Errorf("kind = %v, want Invalid", errs.KindOf(err))
			}
		})
	}
}

func TestReadLegacyBinary(t *testing.T) {
	// small.bin and small.json are the same XGBoost 1.7.4 model saved in both formats.
	bin, err := ReadModel(bytes.NewReader(readTestdata(t, "small.bin")), "small.bin")
	if err != nil {
		t.Fatalf("ReadModel(small.bin): %v", err)
	}
	js, err := ReadModel(bytes.NewReader(readTestdata(t, "small.json")), "small.json")
	if err != nil {
		t.Fatal(err)
	}
	js.FeatureNames = nil // the binary format keeps neither the feature names nor the patch version
	js.Version[2] = 0
	if diff := cmp.Diff(js, bin, cmpopts.IgnoreUnexported(Booster{}), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("binary and JSON models differ (-json +binary):\n%s", diff)
	}
}

func TestReadUBJSON(t *testing.T) {
	// small.ubj is small.json saved by XGBoost 1.7.4 as UBJSON.
	ubj, err := ReadModel(bytes.NewReader(readTestdata(t, "small.ubj")), "small.ubj")
	if err != nil {
		t.Fatalf("ReadModel(small.ubj): %v", err)
	}
	js, err := ReadModel(bytes.NewReader(readTestdata(t, "small.json")), "small.json")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(js, ubj, cmpopts.IgnoreUnexported(Booster{}), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("UBJSON and JSON models differ (-json +ubjson):\n%s", diff)
	}
}

func TestLoadModelMissingFile(t *testing.T) {
	_, err := LoadModel(filepath.Join(t.TempDir(), "absent.json"))
	if !errs.Is(err, errs.NotFound) {
		t.Errorf("err = %v, want NotFound", err)
	}
}

func TestSaveModelAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := stump("reg:squarederror", 0.5)
	bad.Trees[0].LeftChildren[0] = 5
	if err := bad.SaveModel(path); !errs.Is(err, errs.Invalid) {
		t.Fatalf("SaveModel of an invalid model: err = %v, want Invalid", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("a failed save changed the file to %q", got)
	}
	if err := stump("reg:squarederror", 0.5).SaveModel(path); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after save, want only model.json", len(entries))
	}
	if _, err := LoadModel(path); err != nil {
		t.Errorf("LoadModel of the saved model: %v", err)
	}
	if err := stump("reg:squarederror", 0.5).SaveModel(filepath.Join(dir, "no", "such", "m.json")); err == nil {
		t.Errorf("SaveModel into a missing directory succeeded")
	}
}

func TestPredictRowDoesNotAllocate(t *testing.T) {
	b, err := ReadModel(bytes.NewReader(readTestdata(t, "small.json")), "small.json")
	if err != nil {
		t.Fatal(err)
	}
	x, out := []float32{0.3, nan, -1}, make([]float32, 1)
	b.PredictRow(x, out) // compile
	if n := testing.AllocsPerRun(100, func() { b.PredictRow(x, out) }); n != 0 {
		t.Errorf("PredictRow allocates %v times per call, want 0", n)
	}
}

func TestPredictConcurrent(t *testing.T) {
	b := stump("reg:logistic", 0.5)
	d := &dataset.Dense{Rows: 1000, Cols: 2, X: make([]float32, 2000)}
	for i := range d.X {
		d.X[i] = float32(i%7) / 7
	}
	want, err := b.Predict(d, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := b.Predict(d, PredictOptions{})
			if err != nil || maxDiff(got, want) != 0 {
				t.Errorf("concurrent Predict differs (err %v)", err)
			}
			out := make([]float32, 1)
			for r := 0; r < d.Rows; r++ {
				b.PredictRow(d.Row(r), out)
				if out[0] != want[r] {
					t.Errorf("row %d: concurrent PredictRow = %v, want %v", r, out[0], want[r])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestPredictNoticesChanges(t *testing.T) {
	b := stump("reg:squarederror", 0.5)
	out := make([]float32, 1)
	b.PredictRow([]float32{0, 0}, out)
	if out[0] != -0.5 {
		t.Fatalf("PredictRow = %v, want -0.5", out[0])
	}
	b.Trees = append(b.Trees, b.Trees[0])
	b.TreeInfo = append(b.TreeInfo, 0)
	b.PredictRow([]float32{0, 0}, out)
	if out[0] != -1.5 {
		t.Errorf("after appending a tree PredictRow = %v, want -1.5", out[0])
	}
	b.Trees[1].SplitConditions = []float32{0.5, -2, 2}
	b.ResetPredictor()
	b.PredictRow([]float32{0, 0}, out)
	if out[0] != -2.5 {
		t.Errorf("after changing a leaf and ResetPredictor PredictRow = %v, want -2.5", out[0])
	}
}

func TestPredictTooManyColumns(t *testing.T) {
	b := stump("reg:squarederror", 0.5)
	_, err := b.Predict(&dataset.Dense{Rows: 1, Cols: 3, X: []float32{1, 2, 3}}, PredictOptions{})
	if !errs.Is(err, errs.Invalid) {
		t.Errorf("err = %v, want Invalid", err)
	}
}

func TestFormatFloat(t *testing.T) {
	tests := []struct {
		v    float32
		want string
	}{
		{0.5, "5E-1"}, {50, "5E1"}, {0, "0E0"}, {-0.0018322120, "-1.832212E-3"}, {190.72177, "1.9072177E2"},
		{float32(math.Inf(-1)), "-Infinity"}, {nan, "NaN"}, {1e-40, "1E-40"},
	}
	for _, tt := range tests {
		if got := formatFloat(tt.v); got != tt.want {
			t.Errorf("formatFloat(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
	if got := FormatParam(0.7); got != "0.699999988" {
		t.Errorf("FormatParam(0.7) = %q, want 0.699999988", got)
	}
}

func FuzzReadModel(f *testing.F) {
	for _, name := range []string{"small.json", "categorical.json", "small.bin", "small.ubj"} {
		s := readTestdata(f, name)
		f.Add(s)
		f.Add(s[:len(s)/3])
	}
	f.Add([]byte(`{"learner":{},"version":[1,7,4]}`))
	f.Add([]byte(`[NaN,-Infinity]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ReadModel(bytes.NewReader(data), "f.json")
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("error of kind %v: %v", errs.KindOf(err), err)
			}
			return
		}
		var buf bytes.Buffer
		if err := b.WriteJSON(&buf); err != nil {
			t.Fatalf("WriteJSON of a model ReadModel accepted: %v", err)
		}
		back, err := ReadModel(bytes.NewReader(buf.Bytes()), "rewritten.json")
		if err != nil {
			t.Fatalf("ReadModel of what WriteJSON wrote: %v", err)
		}
		var again bytes.Buffer
		if err := back.WriteJSON(&again); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
			t.Fatalf("second WriteJSON differs (err %v)", err)
		}
		x := make([]float32, min(b.NumFeatures(), 1000)) // the rest count as missing
		for i := range x {
			x[i] = float32(i) - 0.5
		}
		for _, opt := range []PredictOptions{{}, {OutputMargin: true}, {PredLeaf: true}} {
			out := make([]float32, b.OutputsPerRow(opt))
			b.PredictRowWith(x, out, opt)
		}
	})
}

func TestPredictShortRows(t *testing.T) {
	// Data with fewer columns than the model: the missing columns count as missing values, in the batch
	// path (rows widened block by block) and in PredictRow alike.
	b, err := ReadModel(bytes.NewReader(readTestdata(t, "small.json")), "small.json")
	if err != nil {
		t.Fatal(err)
	}
	short := &dataset.Dense{Rows: 3, Cols: 1, X: []float32{-1, 0, nan}}
	wide := &dataset.Dense{Rows: 3, Cols: 3, X: []float32{-1, nan, nan, 0, nan, nan, nan, nan, nan}}
	for _, opt := range []PredictOptions{{}, {OutputMargin: true}, {PredLeaf: true}} {
		got, err := b.Predict(short, opt)
		if err != nil {
			t.Fatal(err)
		}
		want, err := b.Predict(wide, opt)
		if err != nil {
			t.Fatal(err)
		}
		if diff := maxDiff(got, want); diff != 0 {
			t.Errorf("%+v: short rows predict %v, NaN-padded rows %v", opt, got, want)
		}
		row := make([]float32, b.OutputsPerRow(opt))
		b.PredictRowWith(short.Row(1), row, opt)
		if diff := maxDiff(row, want[b.OutputsPerRow(opt):2*b.OutputsPerRow(opt)]); diff != 0 {
			t.Errorf("%+v: PredictRow of a short row = %v, want %v", opt, row, want)
		}
	}
}

func TestSplitRuleEdgeCases(t *testing.T) {
	// Every (split, default direction, x) combination against XGBoost's rule written plainly: missing →
	// default child, else x < split → left, else right. Mirrored nodes must agree on signed zeros,
	// infinities, subnormals and NaN split conditions.
	inf := float32(math.Inf(1))
	values := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, 0.5, -0.5, 1, -1, inf, -inf,
		math.MaxFloat32, -math.MaxFloat32, math.Nextafter32(0.5, 1), math.Nextafter32(0.5, 0)}
	splits := append(append([]float32{}, values...), nan)
	for _, split := range splits {
		for _, defaultLeft := range []bool{true, false} {
			b := stump("reg:squarederror", 0)
			b.Trees[0].SplitConditions[0] = split
			b.Trees[0].DefaultLeft[0] = defaultLeft
			for _, x := range append(append([]float32{}, values...), nan) {
				want := float32(2) // right leaf
				if x != x && defaultLeft || x == x && x < split {
					want = -1
				}
				out := make([]float32, 1)
				b.PredictRow([]float32{x, 0}, out)
				batch, err := b.Predict(&dataset.Dense{Rows: 1, Cols: 2, X: []float32{x, 0}}, PredictOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if out[0] != want || batch[0] != want {
					t.Errorf("split %v defaultLeft %v x %v: PredictRow %v, Predict %v, want %v",
						split, defaultLeft, x, out[0], batch[0], want)
				}
			}
		}
	}
}

// referenceMargin walks the XGBoost arrays of every tree with XGBoost's rule, as plainly as possible.
func referenceMargin(b *Booster, x []float32) []float32 {
	obj, _ := objectiveOf(b.Obj.Name)
	m := make([]float32, b.numGroups())
	for g := range m {
		m[g] = obj.probToMargin(b.Learner.BaseScore)
	}
	for ti := range b.Trees {
		t := &b.Trees[ti]
		i := int32(0)
		for t.LeftChildren[i] != -1 {
			v := float32(math.NaN())
			if f := int(t.SplitIndices[i]); f < len(x) {
				v = x[f]
			}
			switch {
			case v != v && t.DefaultLeft[i], v == v && v < t.SplitConditions[i]:
				i = t.LeftChildren[i]
			default:
				i = t.RightChildren[i]
			}
		}
		m[b.TreeInfo[ti]] += t.SplitConditions[i]
	}
	return m
}

// FuzzPredictMatchesReference grows random trees from the fuzz input and checks the compiled predictor
// (batch and single-row, full and short rows) against referenceMargin.
func FuzzPredictMatchesReference(f *testing.F) {
	f.Add([]byte{3, 1, 200, 7, 9, 0, 255, 128, 64, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add([]byte("the quick brown fox jumps over the lazy dog, twice over"))
	f.Fuzz(func(t *testing.T, data []byte) {
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			c := data[0]
			data = data[1:]
			return c
		}
		specials := []float32{0, float32(math.Copysign(0, -1)), nan, float32(math.Inf(1)), float32(math.Inf(-1)), 1e-45}
		value := func() float32 {
			c := next()
			if c < 24 {
				return specials[int(c)%len(specials)]
			}
			return float32(int(c)-128) / 16
		}
		const nf = 3
		b := &Booster{
			Learner: LearnerModelParam{BaseScore: 0.5, NumFeature: nf, NumTarget: 1},
			Obj:     Objective{Name: "reg:squarederror"},
		}
		for range 1 + int(next()%4) {
			tr := Tree{}
			add := func(parent int32) int32 {
				tr.LeftChildren = append(tr.LeftChildren, -1)
				tr.RightChildren = append(tr.RightChildren, -1)
				tr.Parents = append(tr.Parents, parent)
				tr.SplitIndices = append(tr.SplitIndices, 0)
				tr.SplitConditions = append(tr.SplitConditions, float32(int(next())-128)/8)
				tr.DefaultLeft = append(tr.DefaultLeft, false)
				tr.BaseWeights = append(tr.BaseWeights, 0)
				tr.LossChanges = append(tr.LossChanges, 0)
				tr.SumHessian = append(tr.SumHessian, 0)
				return int32(len(tr.LeftChildren) - 1)
			}
			add(RootParent)
			for i := int32(0); i < int32(len(tr.LeftChildren)) && len(tr.LeftChildren) < 40; i++ {
				if next()%3 == 0 {
					continue // stays a leaf
				}
				tr.SplitIndices[i] = int32(next() % nf)
				tr.SplitConditions[i] = value()
				tr.DefaultLeft[i] = next()%2 == 0
				l := add(i)
				r := add(i)
				tr.LeftChildren[i], tr.RightChildren[i] = l, r
			}
			b.Trees = append(b.Trees, tr)
			b.TreeInfo = append(b.TreeInfo, 0)
		}
		rows := 70 // more than one block
		d := &dataset.Dense{Rows: rows, Cols: nf, X: make([]float32, rows*nf)}
		for i := range d.X {
			d.X[i] = value()
		}
		got, err := b.Predict(d, PredictOptions{OutputMargin: true})
		if err != nil {
			t.Fatalf("Predict: %v", err)
		}
		short := &dataset.Dense{Rows: rows, Cols: 1, X: make([]float32, rows)}
		for r := 0; r < rows; r++ {
			short.X[r] = d.X[r*nf]
		}
		gotShort, err := b.Predict(short, PredictOptions{OutputMargin: true})
		if err != nil {
			t.Fatalf("Predict short rows: %v", err)
		}
		row := make([]float32, 1)
		for r := 0; r < rows; r++ {
			want := referenceMargin(b, d.Row(r))[0]
			b.PredictRowWith(d.Row(r), row, PredictOptions{OutputMargin: true})
			if got[r] != want || row[0] != want {
				t.Fatalf("row %d %v: Predict %v, PredictRow %v, reference %v", r, d.Row(r), got[r], row[0], want)
			}
			wantShort := referenceMargin(b, short.Row(r))[0]
			b.PredictRowWith(short.Row(r), row, PredictOptions{OutputMargin: true})
			if gotShort[r] != wantShort || row[0] != wantShort {
				t.Fatalf("short row %d %v: Predict %v, PredictRow %v, reference %v", r, short.Row(r), gotShort[r], row[0], wantShort)
			}
		}
	})
}
