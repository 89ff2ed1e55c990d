package inference

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// benchFixture is the benchmark's model and rows, made once per test binary by xgb_models.py bench, with
// XGBoost's own timings of the same rows.
type benchFixture struct {
	model *Runtime
	rows  []byte             // 10,000 rows of text/csv
	xgb   map[string]float64 // XGBoost's median seconds: "predict", "dmatrix+predict", "inplace_predict"
}

var (
	benchOnce sync.Once
	bench     benchFixture
	benchDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

func loadBench(b *testing.B) *benchFixture {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "inference-bench")
		if err != nil {
			b.Fatal(err)
		}
		benchDir = dir
		cmd := exec.Command(debianPython, "testdata/xgb_models.py", "bench", abaloneCSV, dir, "10000", "20")
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("xgb_models.py bench: %v\n%s", err, out)
		}
		bench.xgb = map[string]float64{}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), " ")
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatalf("xgb_models.py bench printed %q", sc.Text())
			}
			bench.xgb[k] = f
		}
		if bench.rows, err = os.ReadFile(filepath.Join(dir, "bench.csv")); err != nil {
			b.Fatal(err)
		}
		m := loadFile(b, filepath.Join(dir, "bench.json"), XGBoostModelFile)
		bench.model = m.(*Runtime)
	})
	if bench.model == nil {
		b.Fatal("the benchmark fixture failed")
	}
	return &bench
}

// BenchmarkInvokeCSVSingleRow: one abalone row as text/csv through an abalone model (100 trees of depth
// 6), as a single-row InvokeEndpoint reaches the in-process runtime.
func BenchmarkInvokeCSVSingleRow(b *testing.B) {
	f := loadBench(b)
	row, _, _ := bytes.Cut(f.rows, []byte("\n"))
	req := Request{ContentType: TypeCSV, Accept: TypeCSV, Body: row}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.model.Invoke(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInvokeCSVSingleRowParallel is the same from GOMAXPROCS goroutines.
func BenchmarkInvokeCSVSingleRowParallel(b *testing.B) {
	f := loadBench(b)
	row, _, _ := bytes.Cut(f.rows, []byte("\n"))
	req := Request{ContentType: TypeCSV, Accept: TypeCSV, Body: row}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.model.Invoke(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkInvokeCSV10000 invokes with 10,000 text/csv rows (parse, predict, encode) and reports beside
// it XGBoost's own time for the same rows and model, measured by xgb_models.py in the same run:
// Booster.predict on a prepared DMatrix, DMatrix construction plus predict, and inplace_predict.
func BenchmarkInvokeCSV10000(b *testing.B) {
	f := loadBench(b)
	req := Request{ContentType: TypeCSV, Accept: TypeCSV, Body: f.rows}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(f.rows)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.model.Invoke(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	ms := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / 1e6
	b.ReportMetric(f.xgb["predict"]*1e3, "xgb-predict-ms")
	b.ReportMetric(f.xgb["dmatrix+predict"]*1e3, "xgb-dmatrix+predict-ms")
	b.ReportMetric(f.xgb["inplace_predict"]*1e3, "xgb-inplace-ms")
	b.ReportMetric(ms, "slipway-ms")
	fmt.Fprintf(os.Stderr, "10,000-row text/csv invoke: Slipway %.2f ms (parse+predict+encode); XGBoost 1.7.4 predict %.2f ms (DMatrix prepared), DMatrix+predict %.2f ms, inplace_predict %.2f ms\n",
		ms, f.xgb["predict"]*1e3, f.xgb["dmatrix+predict"]*1e3, f.xgb["inplace_predict"]*1e3)
}
