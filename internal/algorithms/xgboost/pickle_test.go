package xgboost

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
)

// TestPickleAndBinaryInterop writes a model trained here as a pickled Booster and in the legacy binary
// format, and has the real XGBoost 1.7.4 load both (pickle.load; Booster.load_model) and predict what
// this package predicts. The binary file must equal, byte for byte, what XGBoost's own save_model writes
// for the same model; and the pickles XGBoost writes (protocols 2 to 5) must read back here.
func TestPickleAndBinaryInterop(t *testing.T) {
	requireXGBoost(t)
	tr, va, te := abaloneSplits(t)
	cases := []map[string]string{
		{"objective": "reg:squarederror", "num_round": "10", "max_depth": "4", "eta": "0.3"},
		{"objective": "binary:logistic", "num_round": "5", "max_depth": "3"},
		{"objective": "count:poisson", "num_round": "5"},
	}
	for i, set := range cases {
		t.Run(set["objective"], func(t *testing.T) {
			p, err := ParseParams(set)
			if err != nil {
				t.Fatal(err)
			}
			train, valid := unnamed(tr), unnamed(va) // as a headerless CSV channel gives them
			if set["objective"] == "binary:logistic" {
				train, valid = binaryLabels(train), binaryLabels(valid)
			}
			b, err := Train(context.Background(), p, train, []Eval{{Name: "validation", Data: valid}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			x := &dataset.Dense{Rows: te.Rows, Cols: te.Cols, X: te.X}
			writeCSVFile(t, filepath.Join(dir, "test.csv"), x)
			pred, err := b.Predict(x, PredictOptions{})
			if err != nil {
				t.Fatal(err)
			}
			raw := make([]byte, 4*len(pred))
			for k, v := range pred {
				binary.LittleEndian.PutUint32(raw[4*k:], math.Float32bits(v))
			}
			must(t, os.WriteFile(filepath.Join(dir, "pred.f32"), raw, 0o644))
			must(t, b.SaveModel(filepath.Join(dir, "model.json")))
			must(t, b.SavePickle(filepath.Join(dir, "model.pickle"), PickleState{BestIteration: p.NumRound - 1, BestNTreeLimit: p.NumRound}))
			must(t, b.SaveLegacy(filepath.Join(dir, "model.bin")))
			proto := strconv.Itoa(2 + i%4)
			cmd := exec.Command(debianPython, "testdata/pickle_interop.py", dir, proto)
			cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("pickle_interop.py: %v\n%s", err, out)
			}
			ours, _ := os.ReadFile(filepath.Join(dir, "model.bin"))
			theirs, _ := os.ReadFile(filepath.Join(dir, "xgb_saved.bin"))
			if !bytes.Equal(ours, theirs) {
				n := 0
				for n < min(len(ours), len(theirs)) && ours[n] == theirs[n] {
					n++
				}
				t.Errorf("legacy binary differs from XGBoost's save_model at byte %d (ours %d bytes, XGBoost's %d)", n, len(ours), len(theirs))
			}
			for _, f := range []string{"model.pickle", "model.bin", "xgb.pickle", "xgb5.pickle"} {
				back, err := LoadModel(filepath.Join(dir, f))
				if err != nil {
					t.Fatalf("read %s (protocol %s): %v", f, proto, err)
				}
				got, err := back.Predict(x, PredictOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if d := maxDiff(got, pred); d > 1e-6 {
					t.Errorf("%s: predictions differ by %g", f, d)
				}
			}
		})
	}
}

func unnamed(d *dataset.Dense) *dataset.Dense {
	c := *d
	c.FeatureNames = nil
	return &c
}

func binaryLabels(d *dataset.Dense) *dataset.Dense {
	c := *d
	c.Label = make([]float32, len(d.Label))
	for i, y := range d.Label {
		if y > 9 {
			c.Label[i] = 1
		}
	}
	return &c
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadPickleRejects: anything but a pickled Booster's shape is refused before any model decoding.
func TestReadPickleRejects(t *testing.T) {
	var good bytes.Buffer
	b := stump("reg:squarederror", 0.5)
	if err := b.WritePickle(&good, PickleState{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPickle(good.Bytes()); err != nil {
		t.Fatalf("own pickle: %v", err)
	}
	g := good.Bytes()
	for name, data := range map[string][]byte{
		"empty":         nil,
		"protocol 0":    []byte("(dp0\n."),
		"other class":   bytes.Replace(g, []byte("xgboost.core\nBooster"), []byte("os.system\nBooster"), 1),
		"truncated":     g[:len(g)/2],
		"no stop":       g[:len(g)-1],
		"os.system":     []byte("\x80\x03cos\nsystem\nX\x02\x00\x00\x00lsq\x00\x85R."),
		"handle is int": []byte("\x80\x03cxgboost.core\nBooster\n)\x81}(X\x06\x00\x00\x00handleK\x01ub."),
	} {
		if _, err := ReadPickle(data); err == nil {
			t.Errorf("%s: ReadPickle accepted it", name)
		}
	}
}

func FuzzReadPickle(f *testing.F) {
	var good bytes.Buffer
	if err := stump("reg:squarederror", 0.5).WritePickle(&good, PickleState{BestIteration: 1, BestNTreeLimit: 2}); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add([]byte("\x80\x05."))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ReadPickle(data)
		if err == nil {
			if err := b.Validate(); err != nil {
				t.Fatalf("accepted an invalid model: %v", err)
			}
		}
	})
}
