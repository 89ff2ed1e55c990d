// Command xgbpredict compares Slipway's XGBoost predictor with XGBoost's own: it has XGBoost 1.7.4
// (Debian's /usr/bin/python3) train a 100-tree depth-6 model and write 1,000,000 rows, checks that both
// predict the same, then alternates timed runs of Booster.inplace_predict (nthread=2) and
// xgboost.Booster.Predict (GOMAXPROCS goroutines) and prints the best rows/s of each and their ratio.
//
//	go run ./bench/xgbpredict [-rows 1000000] [-rounds 3] [-reps 3]
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/algorithms/xgboost"
)

const python = "/usr/bin/python3"

func main() {
	rows := flag.Int("rows", 1_000_000, "rows to predict")
	rounds := flag.Int("rounds", 3, "alternating measurement rounds (XGBoost, then Go)")
	reps := flag.Int("reps", 3, "timed predictions per round; the best counts")
	flag.Parse()
	if err := run(*rows, *rounds, *reps); err != nil {
		fmt.Fprintln(os.Stderr, "xgbpredict:", err)
		os.Exit(1)
	}
}

func run(rows, rounds, reps int) error {
	_, self, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(self), "xgb.py")
	dir, err := os.MkdirTemp("", "xgbpredict")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if out, err := pythonCmd(script, "prepare", dir, fmt.Sprint(rows)).CombinedOutput(); err != nil {
		return fmt.Errorf("xgb.py prepare: %v\n%s", err, out)
	}
	b, err := xgboost.LoadModel(filepath.Join(dir, "model.json"))
	if err != nil {
		return err
	}
	x, err := readF32(filepath.Join(dir, "X.f32"))
	if err != nil {
		return err
	}
	want, err := readF32(filepath.Join(dir, "want.f32"))
	if err != nil {
		return err
	}
	d := &dataset.Dense{Rows: rows, Cols: len(x) / rows, X: x}
	got, err := b.Predict(d, xgboost.PredictOptions{})
	if err != nil {
		return err
	}
	var diff float64
	for i := range got {
		diff = max(diff, math.Abs(float64(got[i]-want[i])))
	}
	fmt.Printf("model: %d trees, depth ≤ 6, %d features; %d rows; max |Go - XGBoost| = %.2g\n",
		b.NumTrees(), b.NumFeatures(), rows, diff)
	if diff > 1e-5 {
		return fmt.Errorf("predictions differ from XGBoost's by %g", diff)
	}

	bestXGB, bestGo := math.Inf(1), math.Inf(1)
	cpuXGB, cpuGo := math.Inf(1), math.Inf(1)
	for r := 0; r < rounds; r++ {
		out, err := pythonCmd(script, "time", dir, fmt.Sprint(rows), fmt.Sprint(reps)).Output()
		if err != nil {
			return fmt.Errorf("xgb.py time: %v", err)
		}
		var res struct {
			Seconds    float64 `json:"seconds"`
			CPUSeconds float64 `json:"cpu_seconds"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			return fmt.Errorf("xgb.py time printed %q: %v", out, err)
		}
		bestXGB, cpuXGB = min(bestXGB, res.Seconds), min(cpuXGB, res.CPUSeconds)
		for i := 0; i < reps; i++ {
			start, startCPU := time.Now(), cpuSeconds()
			if _, err := b.Predict(d, xgboost.PredictOptions{}); err != nil {
				return err
			}
			bestGo, cpuGo = min(bestGo, time.Since(start).Seconds()), min(cpuGo, cpuSeconds()-startCPU)
		}
		fmt.Printf("round %d: best wall (CPU) seconds: XGBoost %.3f (%.3f), Go %.3f (%.3f)\n",
			r+1, bestXGB, cpuXGB, bestGo, cpuGo)
	}
	fmt.Printf("XGBoost 1.7.4 inplace_predict (nthread=2): %.0f rows/s\n", float64(rows)/bestXGB)
	fmt.Printf("Slipway Predict (GOMAXPROCS=%d):           %.0f rows/s\n", runtime.GOMAXPROCS(0), float64(rows)/bestGo)
	fmt.Printf("ratio Go/XGBoost: %.2f× by wall time, %.2f× by CPU time\n", bestXGB/bestGo, cpuXGB/cpuGo)
	return nil
}

// pythonCmd runs the XGBoost side with passive OpenMP waiting: spinning OpenMP workers stall for seconds
// when other processes compete for the cores, and their spinning would count as XGBoost's CPU time.
func pythonCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(python, args...)
	cmd.Env = append(os.Environ(), "OMP_WAIT_POLICY=PASSIVE")
	return cmd
}

// cpuSeconds is the CPU time of this process, all threads.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func readF32(path string) ([]float32, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v, nil
}
