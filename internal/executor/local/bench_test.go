//go:build linux

package local

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/executor"
)

// BenchmarkLaunch measures launch overhead: from calling Start to the user's command running
// (it opens a fifo the benchmark reads), for a trivial command; and to Wait returning its exit.
// Run with -benchtime=200x for the figures of bench/README.md.
func BenchmarkLaunch(b *testing.B) {
	for _, mode := range []Mode{ModeNamespace, ModeFallback} {
		b.Run(string(mode), func(b *testing.B) {
			// SLIPWAY_BENCH_SHIM measures another shim command, e.g. a built slipway-shim
			// or "bin/slipway executor-shim"; the default is this test binary.
			l, err := New(Config{StateDir: b.TempDir(), Mode: mode, Shim: strings.Fields(os.Getenv("SLIPWAY_BENCH_SHIM"))})
			if err != nil {
				b.Fatal(err)
			}
			dir := b.TempDir()
			fifo := filepath.Join(b.TempDir(), "fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			// SLIPWAY_BENCH_PACE leaves that long between a job's end and the next Start, outside
			// the timings, as a pipeline's engine does between steps: the spare shim started
			// after a Start (spare.go) is then ready for the next. Back to back (the default), the
			// next Start usually comes before it is.
			pace, _ := time.ParseDuration(os.Getenv("SLIPWAY_BENCH_PACE"))
			launch := make([]time.Duration, 0, b.N)
			total := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sp := executor.Spec{ID: fmt.Sprintf("bench-%d", i), Dir: dir, Command: []string{"/bin/sh", "-c", "echo x > " + fifo}}
				began := time.Now()
				hc := make(chan executor.Handle, 1)
				go func() {
					h, err := l.Start(ctx, sp)
					if err != nil {
						b.Error(err)
					}
					hc <- h
				}()
				f, err := os.Open(fifo) // returns once the command opened it for writing
				if err != nil {
					b.Fatal(err)
				}
				launch = append(launch, time.Since(began))
				io.ReadAll(f) // a close before the write would end the command with SIGPIPE
				f.Close()
				h := <-hc
				if h == "" {
					b.FailNow()
				}
				if x, err := l.Wait(ctx, h); err != nil || !x.Success() {
					b.Fatalf("%+v %v", x, err)
				}
				total = append(total, time.Since(began))
				if pace > 0 {
					b.StopTimer()
					time.Sleep(pace)
					b.StartTimer()
				}
			}
			b.StopTimer()
			slices.Sort(launch)
			slices.Sort(total)
			b.ReportMetric(ms(launch, 0.50), "launch-p50-ms")
			b.ReportMetric(ms(launch, 0.99), "launch-p99-ms")
			b.ReportMetric(ms(total, 0.50), "start-to-exit-p50-ms")
			b.ReportMetric(ms(total, 0.99), "start-to-exit-p99-ms")
		})
	}
}

// BenchmarkLaunch/bare is the reference measured beside it: the same command started directly
// with os/exec, no shim, no namespace, no cgroup, no state.
func BenchmarkLaunchBare(b *testing.B) {
	fifo := filepath.Join(b.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		b.Fatal(err)
	}
	launch := make([]time.Duration, 0, b.N)
	for i := 0; i < b.N; i++ {
		began := time.Now()
		cmd := exec.Command("/bin/sh", "-c", "echo x > "+fifo)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		f, err := os.Open(fifo)
		if err != nil {
			b.Fatal(err)
		}
		launch = append(launch, time.Since(began))
		io.ReadAll(f)
		f.Close()
		cmd.Wait()
	}
	slices.Sort(launch)
	b.ReportMetric(ms(launch, 0.50), "launch-p50-ms")
	b.ReportMetric(ms(launch, 0.99), "launch-p99-ms")
}

func ms(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(q*float64(len(sorted)-1))].Microseconds()) / 1000
}
