package xgboost

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
)

// debianPython is the interpreter with XGBoost 1.7.4 (Debian's python3-xgboost); see REFERENCES.md.
const debianPython = "/usr/bin/python3"

// requireXGBoost fails the test when Debian's Python is not installed: the interoperability tests are the
// proof of compatibility and must not be skipped. interop.py itself fails naming any missing module.
func requireXGBoost(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(debianPython); err != nil {
		t.Fatalf("%s (Debian's python3 with python3-xgboost 1.7.4 and python3-pandas) is required: %v", debianPython, err)
	}
}

func runPython(t testing.TB, args ...string) {
	t.Helper()
	cmd := exec.Command(debianPython, append([]string{"testdata/interop.py"}, args...)...)
	// One OpenMP thread: the models are tiny, and spinning OpenMP workers crawl on a busy machine.
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("interop.py %v: %v\n%s", args, err, out)
	}
}

type interopCase struct {
	Name      string `json:"name"`
	Data      string `json:"data"`
	Rows      int    `json:"rows"`
	Cols      int    `json:"cols"`
	Objective string `json:"objective"`
	Binary    bool   `json:"binary"` // also saved in the legacy binary format as <name>.bin
}

func readF32(t testing.TB, path string) []float32 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v
}

// maxDiff is the largest absolute difference between got and want, +Inf when lengths differ or only one
// is NaN.
func maxDiff(got, want []float32) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var d float64
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) != math.IsNaN(w) {
			return math.Inf(1)
		}
		if !math.IsNaN(g) {
			d = max(d, math.Abs(g-w))
		}
	}
	return d
}

// TestXGBoostInterop trains models for every supported objective with the real XGBoost 1.7.4 and checks
// that this package reads them (JSON, UBJSON and legacy binary), predicts what XGBoost predicts (normal, margin,
// leaf), writes them back
// byte for byte, and that XGBoost predicts identically from the files Go wrote.
func TestXGBoostInterop(t *testing.T) {
	requireXGBoost(t)
	dir := t.TempDir()
	runPython(t, "train", "../testdata/abalone.csv", dir)
	var cases []interopCase
	raw, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 15 {
		t.Fatalf("interop.py listed %d cases, want ≥ 15", len(cases))
	}
	const tol = 1e-5
	modes := []struct {
		ext string
		opt PredictOptions
	}{{"pred", PredictOptions{}}, {"margin", PredictOptions{OutputMargin: true}}, {"leaf", PredictOptions{PredLeaf: true}}}

	data := map[string]*dataset.Dense{}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			d := data[c.Data]
			if d == nil {
				d = &dataset.Dense{Rows: c.Rows, Cols: c.Cols, X: readF32(t, filepath.Join(dir, c.Data))}
				data[c.Data] = d
			}
			path := filepath.Join(dir, c.Name+".json")
			b, err := LoadModel(path)
			if err != nil {
				t.Fatalf("LoadModel: %v", err)
			}
			if got := b.Objective(); got != c.Objective {
				t.Errorf("Objective() = %q, want %q", got, c.Objective)
			}
			for _, m := range modes {
				got, err := b.Predict(d, m.opt)
				if err != nil {
					t.Fatalf("Predict(%+v): %v", m.opt, err)
				}
				want := readF32(t, filepath.Join(dir, c.Name+"."+m.ext))
				diff := maxDiff(got, want)
				if diff > tol {
					t.Errorf("%s: max |Go - XGBoost| = %g over %d values, want ≤ %g (first values: got %v, want %v)",
						m.ext, diff, len(want), tol, got[:min(6, len(got))], want[:min(6, len(want))])
				}
				t.Logf("%s: max |Go - XGBoost| = %g over %d values", m.ext, diff, len(want))
				// PredictRow agrees with Predict exactly.
				per := b.OutputsPerRow(m.opt)
				row := make([]float32, per)
				for _, r := range []int{0, 1, d.Rows / 2, d.Rows - 1} {
					b.PredictRowWith(d.Row(r), row, m.opt)
					if diff := maxDiff(row, got[r*per:(r+1)*per]); diff != 0 {
						t.Errorf("%s row %d: PredictRow = %v, Predict = %v", m.ext, r, row, got[r*per:(r+1)*per])
					}
				}
			}
			other := []string{".ubj"} // the same model in XGBoost's other formats
			if c.Binary {
				other = append(other, ".bin")
			}
			for _, ext := range other {
				ob, err := LoadModel(filepath.Join(dir, c.Name+ext))
				if err != nil {
					t.Fatalf("LoadModel(%s%s): %v", c.Name, ext, err)
				}
				for _, m := range modes {
					got, err := ob.Predict(d, m.opt)
					if err != nil {
						t.Fatal(err)
					}
					want := readF32(t, filepath.Join(dir, c.Name+"."+m.ext))
					if diff := maxDiff(got, want); diff > tol {
						t.Errorf("%s model, %s: max |Go - XGBoost| = %g, want ≤ %g", ext, m.ext, diff, tol)
					}
				}
			}
			var buf bytes.Buffer
			if err := b.WriteJSON(&buf); err != nil {
				t.Fatalf("WriteJSON: %v", err)
			}
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), orig) {
				i := 0
				for i < min(buf.Len(), len(orig)) && buf.Bytes()[i] == orig[i] {
					i++
				}
				t.Errorf("WriteJSON differs from XGBoost's file at byte %d:\n go: %.120s\nxgb: %.120s",
					i, buf.Bytes()[max(0, i-40):], orig[max(0, i-40):])
			}
			if err := b.SaveModel(filepath.Join(dir, c.Name+".go.json")); err != nil {
				t.Fatalf("SaveModel: %v", err)
			}
		})
	}
	if t.Failed() {
		return
	}
	// XGBoost reads the files Go wrote and predicts exactly what it predicted from its own; in the same
	// run it predicts with models built the way the trainer builds them.
	built, checkBuilt := goBuiltModels(t, filepath.Join(dir, "built"))
	runPython(t, append([]string{"predict", dir, ".go"}, built...)...)
	checkBuilt()
	for _, c := range cases {
		for _, m := range modes {
			got := readF32(t, filepath.Join(dir, c.Name+".go."+m.ext))
			want := readF32(t, filepath.Join(dir, c.Name+"."+m.ext))
			if diff := maxDiff(got, want); diff != 0 {
				t.Errorf("%s %s: XGBoost predicts differently from the Go-written model: max diff %g", c.Name, m.ext, diff)
			}
		}
	}
}

// abaloneModel trains (with the real XGBoost) the interop models and returns the abalone pipeline's
// 50-round squared-error model and its input rows.
func abaloneModel(b *testing.B) (*Booster, *dataset.Dense) {
	requireXGBoost(b)
	dir := b.TempDir()
	runPython(b, "train", "../testdata/abalone.csv", dir)
	m, err := LoadModel(filepath.Join(dir, "squarederror.json"))
	if err != nil {
		b.Fatal(err)
	}
	d := &dataset.Dense{Rows: 1500, Cols: 10, X: readF32(b, filepath.Join(dir, "X.f32"))}
	return m, d
}

// BenchmarkPredictRow is the single-row (endpoint) path on the abalone 50-tree depth-5 model.
func BenchmarkPredictRow(b *testing.B) {
	m, d := abaloneModel(b)
	out := make([]float32, 1)
	b.ReportAllocs()
	cpu := cpuNanos()
	for i := 0; b.Loop(); i++ {
		m.PredictRow(d.Row(i%d.Rows), out)
	}
	b.ReportMetric(float64(cpuNanos()-cpu)/float64(b.N), "cpu-ns/op")
}

// cpuNanos is the process's CPU time. On a shared machine wall time mostly measures the wait for a core;
// the CPU time per operation is the steadier figure.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkPredict is the batch path on the same model, 1500 rows per op.
func BenchmarkPredict(b *testing.B) {
	m, d := abaloneModel(b)
	out := make([]float32, d.Rows)
	b.ReportAllocs()
	cpu := cpuNanos()
	for b.Loop() {
		if err := m.PredictInto(d, PredictOptions{}, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*d.Rows), "ns/row")
	b.ReportMetric(float64(cpuNanos()-cpu)/float64(b.N*d.Rows), "cpu-ns/row")
}

// goBuiltModels builds models the way the trainer does (no objective parameters, no attributes) and saves
// them into dir. It returns the arguments of interop.py's predict-models and a check, to call after
// XGBoost predicted, that XGBoost loaded them and predicts what Go predicts.
func goBuiltModels(t *testing.T, dir string) (args []string, check func()) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	d := &dataset.Dense{Rows: 6, Cols: 2, X: []float32{0, 1, 0.5, 0, nan, 2, -3, nan, 0.49, 0.51, 7, -7}}
	raw := make([]byte, 4*len(d.X))
	for i, v := range d.X {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	data := filepath.Join(dir, "X.f32")
	if err := os.WriteFile(data, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	softprob := stump("multi:softprob", 0.5)
	softprob.Learner.NumClass = 2
	second := softprob.Trees[0]
	second.SplitIndices = []int32{1, 0, 0}
	second.DefaultLeft = []bool{true, false, false}
	softprob.Trees = append(softprob.Trees, second)
	softprob.TreeInfo = []int{0, 1}
	models := map[string]*Booster{
		"squarederror": stump("reg:squarederror", 0.5),
		"logistic":     stump("binary:logistic", 0.25),
		"poisson":      stump("count:poisson", 3),
		"softprob":     softprob,
	}
	args = []string{data, "6", "2"}
	for name, b := range models {
		b.Obj.Params = nil
		path := filepath.Join(dir, name+".json")
		if err := b.SaveModel(path); err != nil {
			t.Fatalf("%s: SaveModel: %v", name, err)
		}
		args = append(args, path)
	}
	return args, func() {
		for name, b := range models {
			for _, m := range []struct {
				ext string
				opt PredictOptions
			}{{"pred", PredictOptions{}}, {"margin", PredictOptions{OutputMargin: true}}, {"leaf", PredictOptions{PredLeaf: true}}} {
				got, err := b.Predict(d, m.opt)
				if err != nil {
					t.Fatal(err)
				}
				want := readF32(t, filepath.Join(dir, name+"."+m.ext))
				if diff := maxDiff(got, want); diff > 1e-6 {
					t.Errorf("%s %s: Go %v, XGBoost %v", name, m.ext, got, want)
				}
			}
		}
	}
}
