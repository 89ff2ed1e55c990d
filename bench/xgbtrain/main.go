// Command xgbtrain benchmarks Slipway's XGBoost-compatible trainer against the real XGBoost 1.7.4
// (Debian's python3-xgboost, run with /usr/bin/python3) in the same run, on the same data and
// hyperparameters (tree_method=hist): training wall time, peak resident memory of the process
// (data included, as each holds it), and test RMSE.
//
//	go run ./bench/xgbtrain [-rows 1000000] [-rounds 100] [-depth 6] [-nthread 2]
//
// Data sets: abalone (testdata, one-hot sex, the 70/15/15 split's train and test parts) and abalone's
// train part replicated with small Gaussian noise to -rows rows (tested on the same test part).
// Each trainer runs in its own child process so that its peak RSS (getrusage) is its own.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/algorithms/metric"
	"github.com/slipway-ml/slipway/internal/algorithms/xgboost"
)

const cols = 10

type result struct {
	TrainSeconds float64 `json:"train_seconds"`
	CPUSeconds   float64 `json:"cpu_seconds"` // user+system time of the training call
	RMSE         float64 `json:"rmse"`
	MaxRSSMB     float64 `json:"-"`
}

func main() {
	rows := flag.Int("rows", 1_000_000, "rows of the replicated data set")
	rounds := flag.Int("rounds", 100, "boosting rounds")
	depth := flag.Int("depth", 6, "max_depth")
	nthread := flag.Int("nthread", 2, "threads for both trainers")
	worker := flag.String("worker", "", "internal: train on the data with this prefix and print a result")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of our trainer on the replicated data set here")
	keep := flag.String("keep", "", "write the data sets into this directory and keep them (to rerun a worker by hand)")
	abalone := flag.String("abalone", "internal/algorithms/testdata/abalone.csv", "abalone.csv")
	flag.Parse()
	if *worker != "" {
		if err := runWorker(*worker, *rounds, *depth, *nthread, *cpuprofile); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if err := run(*abalone, *rows, *rounds, *depth, *nthread, *cpuprofile, *keep); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(abalonePath string, rows, rounds, depth, nthread int, profile, keep string) error {
	dir, err := os.MkdirTemp("", "xgbtrain-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if keep != "" {
		dir = keep
	}
	train, test, err := readAbalone(abalonePath)
	if err != nil {
		return err
	}
	big := replicate(train, rows)
	sets := []struct {
		name        string
		train, test *dataset.Dense
	}{{"abalone", train, test}, {fmt.Sprintf("abalonex%d", rows), big, test}}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	script, err := filepath.Abs("bench/xgbtrain/xgb_bench.py")
	if err != nil {
		return err
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("load average at start: %s", load)
	fmt.Printf("rounds %d, max_depth %d, nthread %d, eta 0.3, max_bin 256, tree_method hist; GOMAXPROCS %d, %d CPUs\n\n",
		rounds, depth, nthread, runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Printf("%-16s %8s | %-23s | %-23s | %-20s | %s\n", "", "", "train wall s", "train CPU s", "peak RSS MB", "test RMSE")
	fmt.Printf("%-16s %8s | %7s %7s %7s | %7s %7s %7s | %6s %6s %6s | %7s %7s %7s\n", "data set", "rows",
		"ours", "xgboost", "ratio", "ours", "xgboost", "ratio", "ours", "xgb", "ratio", "ours", "xgboost", "Δ")
	for _, s := range sets {
		prefix := filepath.Join(dir, s.name)
		if err := writeBin(prefix+"_train", s.train); err != nil {
			return err
		}
		if err := writeBin(prefix+"_test", s.test); err != nil {
			return err
		}
		args := []string{"-worker", prefix, "-rounds", strconv.Itoa(rounds), "-depth", strconv.Itoa(depth),
			"-nthread", strconv.Itoa(nthread)}
		oursArgs := args
		if profile != "" && s.train.Rows == rows {
			oursArgs = append(oursArgs, "-cpuprofile", profile)
		}
		ours, err := child(exec.Command(self, oursArgs...))
		if err != nil {
			return fmt.Errorf("slipway trainer: %w", err)
		}
		theirs, err := child(exec.Command("/usr/bin/python3", append([]string{script}, args...)...))
		if err != nil {
			return fmt.Errorf("xgboost: %w", err)
		}
		fmt.Printf("%-16s %8d | %7.2f %7.2f %7.2f | %7.2f %7.2f %7.2f | %6.0f %6.0f %6.2f | %7.4f %7.4f %+6.2f%%\n", s.name, s.train.Rows,
			ours.TrainSeconds, theirs.TrainSeconds, ours.TrainSeconds/theirs.TrainSeconds,
			ours.CPUSeconds, theirs.CPUSeconds, ours.CPUSeconds/theirs.CPUSeconds,
			ours.MaxRSSMB, theirs.MaxRSSMB, ours.MaxRSSMB/theirs.MaxRSSMB,
			ours.RMSE, theirs.RMSE, 100*(ours.RMSE-theirs.RMSE)/theirs.RMSE)
	}
	load, _ = os.ReadFile("/proc/loadavg")
	fmt.Printf("\nload average at end: %s", load)
	return nil
}

// child runs a worker and reads its result line; the peak RSS comes from the kernel's accounting.
func child(cmd *exec.Cmd) (result, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return result{}, err
	}
	var r result
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &r); err != nil {
		return result{}, fmt.Errorf("bad worker output %q: %w", out.String(), err)
	}
	r.MaxRSSMB = float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024
	return r, nil
}

func runWorker(prefix string, rounds, depth, nthread int, cpuprofile string) error {
	train, err := readBin(prefix + "_train")
	if err != nil {
		return err
	}
	test, err := readBin(prefix + "_test")
	if err != nil {
		return err
	}
	p := xgboost.DefaultParams()
	p.NumRound, p.MaxDepth, p.NThread = rounds, depth, nthread
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start, cpu0 := time.Now(), cpuSeconds()
	b, err := xgboost.Train(context.Background(), p, train, nil, nil)
	if err != nil {
		return err
	}
	secs, cpu := time.Since(start).Seconds(), cpuSeconds()-cpu0
	pred, err := b.Predict(test, xgboost.PredictOptions{})
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(result{TrainSeconds: secs, CPUSeconds: cpu, RMSE: metric.RMSE(test.Label, pred, nil)})
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// readAbalone one-hot encodes sex after the seven measurements and returns the 70% train and the
// last 15% test part of a seeded shuffle (the split the package tests use).
func readAbalone(path string) (train, test *dataset.Dense, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, nil, err
	}
	recs = recs[1:]
	rand.New(rand.NewPCG(7, 7)).Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	mk := func(rs [][]string) (*dataset.Dense, error) {
		d := &dataset.Dense{Rows: len(rs), Cols: cols, X: make([]float32, len(rs)*cols), Label: make([]float32, len(rs))}
		for i, r := range rs {
			for j := 1; j <= 8; j++ {
				v, err := strconv.ParseFloat(r[j], 32)
				if err != nil {
					return nil, err
				}
				if j == 8 {
					d.Label[i] = float32(v)
				} else {
					d.X[i*cols+j-1] = float32(v)
				}
			}
			d.X[i*cols+7+map[string]int{"F": 0, "I": 1, "M": 2}[r[0]]] = 1
		}
		return d, nil
	}
	n := len(recs)
	if train, err = mk(recs[:n*70/100]); err != nil {
		return nil, nil, err
	}
	test, err = mk(recs[n*85/100:])
	return train, test, err
}

// replicate draws rows of d with replacement and adds Gaussian noise of 1% of each measurement's value
// (the one-hot columns stay 0/1) and of the label, so the copies are not exact duplicates.
func replicate(d *dataset.Dense, rows int) *dataset.Dense {
	rng := rand.New(rand.NewPCG(1, 2))
	out := &dataset.Dense{Rows: rows, Cols: cols, X: make([]float32, rows*cols), Label: make([]float32, rows)}
	for i := 0; i < rows; i++ {
		r := rng.IntN(d.Rows)
		for j := 0; j < cols; j++ {
			v := d.X[r*cols+j]
			if j < 7 {
				v *= float32(1 + 0.01*rng.NormFloat64())
			}
			out.X[i*cols+j] = v
		}
		out.Label[i] = float32(math.Max(1, float64(d.Label[r])*(1+0.01*rng.NormFloat64())))
	}
	return out
}

// writeBin writes prefix.x (float32 row-major) and prefix.y (float32 labels), little-endian.
func writeBin(prefix string, d *dataset.Dense) error {
	if err := os.WriteFile(prefix+".x", f32bytes(d.X), 0o644); err != nil {
		return err
	}
	return os.WriteFile(prefix+".y", f32bytes(d.Label), 0o644)
}

func f32bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func readBin(prefix string) (*dataset.Dense, error) {
	read := func(path string) ([]float32, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		v := make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return v, nil
	}
	x, err := read(prefix + ".x")
	if err != nil {
		return nil, err
	}
	y, err := read(prefix + ".y")
	if err != nil {
		return nil, err
	}
	return &dataset.Dense{Rows: len(y), Cols: cols, X: x, Label: y}, nil
}
