// Command blob measures writing and reading a file through the blob store's backends beside `cp`
// of the same file on the same disk, in the same run:
//
//	(a) cp          `cp SRC DST` then fsync(DST) (the durability a Put gives); read: `cp DST /dev/null`
//	(b) local       blob.Local Put from the file / Open and read to the end
//	(c) versitygw   an S3-compatible server on loopback (scripts/s3-throwaway.sh, or -s3 URL) through
//	                aws-sdk-go-v2's transfer manager: Uploader from the file, Downloader (parallel
//	                ranged GETs) into a discarding WriterAt
//	(c') blob.S3    the blob store's S3 backend on the same server: Put (Uploader) / Open (one GET)
//
//	(d) Slipway   Slipway's own S3 API, served in this process on loopback (SQLite, local blobs),
//	              through the same transfer manager.
//
//	go run ./bench/blob [-sizes 1MiB,1GiB] [-reps 3] [-dir DIR] [-s3 s3://bucket?endpoint=…]
//	                    [-targets a,b,c,c',d] [-concurrency 5] [-cpuprofile FILE]
//
// It prints MB/s (10^6 bytes a second, best of -reps) and each figure's ratio to cp's, and the
// CPU time of the best write (this process's for the in-process targets, cp's for cp).
// -targets picks targets by letter (cp always runs: it is the reference); without c and c',
// versitygw is not started. -cpuprofile profiles the whole run (client and server alike).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/blob"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
)

// target is one way to store a file's bytes and read them back.
type target struct {
	name     string
	write    func(ctx context.Context, src, key string) error
	read     func(ctx context.Context, key string, size int64) error // reads the whole blob
	mkBucket func(ctx context.Context) error                         // S3 targets: create the bucket
}

func main() {
	sizesFlag := flag.String("sizes", "1MiB,1GiB", "comma-separated sizes (KiB, MiB, GiB suffixes)")
	reps := flag.Int("reps", 3, "repetitions of each measurement; the best counts")
	dirFlag := flag.String("dir", "", "work directory, on the disk to measure (default: a new temporary directory)")
	s3Flag := flag.String("s3", "", "blob store URL of an S3-compatible server (default: start versitygw with scripts/s3-throwaway.sh)")
	unsigned := flag.Bool("unsigned", false, "the transfer manager sends UNSIGNED-PAYLOAD instead of hashing each body with SHA-256 for SigV4, as it does over HTTPS")
	targetsFlag := flag.String("targets", "a,b,c,c',d", "targets to measure, by letter (cp always runs)")
	flag.IntVar(&uploadConcurrency, "concurrency", manager.DefaultUploadConcurrency, "parts the transfer manager's Uploader sends at once (1: one stream)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	selected = map[string]bool{"a": true}
	for _, t := range strings.Split(*targetsFlag, ",") {
		selected[strings.TrimSpace(t)] = true
	}
	if err := run(*sizesFlag, *reps, *dirFlag, *s3Flag, *unsigned); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench/blob:", err)
		os.Exit(1)
	}
}

// uploadConcurrency is the Uploader's Concurrency.
var uploadConcurrency int

// selected holds the letters of the targets to measure.
var selected map[string]bool

func run(sizesFlag string, reps int, dir, s3URL string, unsigned bool) error {
	ctx := context.Background()
	var sizes []int64
	for _, s := range strings.Split(sizesFlag, ",") {
		n, err := parseSize(s)
		if err != nil {
			return err
		}
		sizes = append(sizes, n)
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "slipway-bench-blob-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	targets := []*target{cpTarget(filepath.Join(dir, "cp"))}
	if selected["b"] {
		local, err := blob.OpenLocal(filepath.Join(dir, "local"))
		if err != nil {
			return err
		}
		targets = append(targets, storeTarget("(b) blob.Local", local))
	}
	var endpoint string
	if selected["c"] || selected["c'"] {
		if s3URL == "" {
			out, err := exec.Command("scripts/s3-throwaway.sh", "start", filepath.Join(dir, "s3")).Output()
			if err != nil {
				return fmt.Errorf("start versitygw (run from the repository root): %w", err)
			}
			defer exec.Command("scripts/s3-throwaway.sh", "stop", filepath.Join(dir, "s3")).Run()
			s3URL = strings.TrimSpace(string(out))
		}
		u, err := url.Parse(s3URL)
		if err != nil {
			return err
		}
		q := u.Query()
		endpoint = q.Get("endpoint")
		if selected["c"] {
			vgw, err := transferManagerTarget("(c) versitygw", endpoint, q.Get("region"), q.Get("access_key"), q.Get("secret_key"), u.Host, unsigned)
			if err != nil {
				return err
			}
			targets = append(targets, vgw)
		}
		if selected["c'"] {
			s3Store, err := blob.OpenURL(ctx, s3URL, "")
			if err != nil {
				return err
			}
			targets = append(targets, storeTarget("(c') blob.S3 on versitygw", s3Store))
		}
	}
	if selected["d"] {
		slipwayURL, key, stop, err := startSlipway(ctx, filepath.Join(dir, "slipway"))
		if err != nil {
			return fmt.Errorf("start Slipway: %w", err)
		}
		defer stop()
		sw, err := transferManagerTarget("(d) Slipway S3 API", slipwayURL, "us-east-1", key.AccessKeyID, key.SecretAccessKey, "bench", unsigned)
		if err != nil {
			return err
		}
		if err := sw.mkBucket(ctx); err != nil {
			return fmt.Errorf("Slipway CreateBucket: %w", err)
		}
		targets = append(targets, sw)
	}

	fmt.Printf("work directory %s; S3 endpoint %s; unsigned payloads %v; best of %d\n", dir, endpoint, unsigned, reps)
	fmt.Printf("%-8s %-28s %12s %8s %10s %12s %8s\n", "size", "target", "write MB/s", "vs cp", "write CPU", "read MB/s", "vs cp")
	for _, size := range sizes {
		src := filepath.Join(dir, "src")
		if err := writeSource(src, size); err != nil {
			return err
		}
		// Small sizes repeat within a measurement, so that each one moves at least 64 MiB.
		count := max(1, int((64<<20)/size))
		key := fmt.Sprintf("bench/%d", size)
		// The targets take turns, rep after rep, so that each sees the machine in the same
		// moods; the best of each counts.
		write := make([]time.Duration, len(targets))
		writeCPU := make([]time.Duration, len(targets))
		read := make([]time.Duration, len(targets))
		for range reps {
			for i, t := range targets {
				who := syscall.RUSAGE_SELF
				if i == 0 {
					who = syscall.RUSAGE_CHILDREN // cp
				}
				cpu0 := cpuTime(who)
				d, err := timed(count, func() error { return t.write(ctx, src, key) })
				if err != nil {
					return fmt.Errorf("%s write: %w", t.name, err)
				}
				if write[i] == 0 || d < write[i] {
					write[i], writeCPU[i] = d, cpuTime(who)-cpu0
				}
			}
			for i, t := range targets {
				d, err := timed(count, func() error { return t.read(ctx, key, size) })
				if err != nil {
					return fmt.Errorf("%s read: %w", t.name, err)
				}
				if read[i] == 0 || d < read[i] {
					read[i] = d
				}
			}
		}
		mbs := func(d time.Duration) float64 { return float64(size) * float64(count) / d.Seconds() / 1e6 }
		for i, t := range targets {
			w, r := mbs(write[i]), mbs(read[i])
			fmt.Printf("%-8s %-28s %12.0f %7.2fx %9.2fs %12.0f %7.2fx\n", formatSize(size), t.name, w, w/mbs(write[0]), writeCPU[i].Seconds(), r, r/mbs(read[0]))
		}
		os.Remove(src)
	}
	return nil
}

// cpuTime is the user and system CPU time of this process (RUSAGE_SELF) or of its waited-for
// children (RUSAGE_CHILDREN).
func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(who, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// timed runs fn count times and returns how long that took.
func timed(count int, fn func() error) (time.Duration, error) {
	start := time.Now()
	for range count {
		if err := fn(); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

func cpTarget(dir string) *target {
	os.MkdirAll(dir, 0o700)
	path := func(key string) string { return filepath.Join(dir, strings.ReplaceAll(key, "/", "_")) }
	return &target{
		name: "(a) cp",
		write: func(ctx context.Context, src, key string) error {
			dst := path(key)
			if out, err := exec.CommandContext(ctx, "cp", src, dst).CombinedOutput(); err != nil {
				return fmt.Errorf("cp: %v: %s", err, out)
			}
			f, err := os.OpenFile(dst, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			err = f.Sync()
			f.Close()
			return err
		},
		read: func(ctx context.Context, key string, _ int64) error {
			if out, err := exec.CommandContext(ctx, "cp", path(key), "/dev/null").CombinedOutput(); err != nil {
				return fmt.Errorf("cp: %v: %s", err, out)
			}
			return nil
		},
	}
}

// storeTarget measures a blob.Store: Put from the file, Open and read to the end through a
// 1 MiB buffer (as a server copying to its client would).
func storeTarget(name string, s blob.Store) *target {
	return &target{
		name: name,
		write: func(ctx context.Context, src, key string) error {
			f, err := os.Open(src)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = s.Put(ctx, key, f)
			return err
		},
		read: func(ctx context.Context, key string, size int64) error {
			rc, err := s.Open(ctx, key, 0, -1)
			if err != nil {
				return err
			}
			defer rc.Close()
			n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{rc}, make([]byte, 1<<20))
			if err == nil && n != size {
				err = fmt.Errorf("read %d bytes, want %d", n, size)
			}
			return err
		},
	}
}

// transferManagerTarget measures an S3 endpoint (path-style, on loopback or not) through
// aws-sdk-go-v2's transfer manager with its default part size and concurrency: the Uploader from
// the file, the Downloader into a discarding io.WriterAt. Slipway's own S3 API is measured by
// calling it with the server's endpoint and an access key allowed to write bucket. Over plain
// HTTP the SDK hashes every body with SHA-256 for SigV4 (about 300 MB/s of one core here);
// unsigned sends UNSIGNED-PAYLOAD instead, as the SDK does over HTTPS.
func transferManagerTarget(name, endpoint, region, accessKey, secretKey, bucket string, unsigned bool) (*target, error) {
	if region == "" {
		region = "us-east-1"
	}
	client := s3.New(s3.Options{
		Region:                     region,
		BaseEndpoint:               aws.String(endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	var opts []func(*s3.Options)
	if unsigned {
		opts = append(opts, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	}
	up := manager.NewUploader(client, func(u *manager.Uploader) { u.Concurrency = uploadConcurrency })
	down := manager.NewDownloader(client)
	return &target{
		name: name,
		mkBucket: func(ctx context.Context) error {
			_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
			return err
		},
		write: func(ctx context.Context, src, key string) error {
			f, err := os.Open(src)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: f}, manager.WithUploaderRequestOptions(opts...))
			return err
		},
		read: func(ctx context.Context, key string, size int64) error {
			n, err := down.Download(ctx, discardAt{}, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err == nil && n != size {
				err = fmt.Errorf("downloaded %d bytes, want %d", n, size)
			}
			return err
		},
	}, nil
}

type discardAt struct{}

func (discardAt) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }

// writeSource writes size incompressible bytes to path and syncs them.
func writeSource(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	chunk := make([]byte, 8<<20)
	rand.NewChaCha8([32]byte{byte(size)}).Read(chunk)
	for left := size; left > 0; {
		n := min(left, int64(len(chunk)))
		if _, err := f.Write(chunk[:n]); err != nil {
			f.Close()
			return err
		}
		left -= n
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = v, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. 1MiB or 1GiB)", s)
	}
	return n * mult, nil
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return strconv.FormatInt(n, 10)
}

// startSlipway runs Slipway's server in this process on a free loopback port with a fresh data
// directory (local blob store, SQLite) and returns its URL and the data-science admin's keys.
func startSlipway(ctx context.Context, dataDir string) (string, aws.Credentials, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", aws.Credentials{}, nil, err
	}
	cfg := config.Default()
	cfg.DataDir, cfg.Listen = dataDir, l.Addr().String()
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), nil)
	if err != nil {
		l.Close()
		return "", aws.Credentials{}, nil, err
	}
	a.Start(ctx)
	srv := &http.Server{Handler: a.Handler()}
	go srv.Serve(l)
	url := "http://" + l.Addr().String()
	a.Listening(url)
	stop := func() { srv.Close(); a.Close() }
	profiles, err := credfile.ReadFile(a.CredentialsPath())
	if err != nil {
		stop()
		return "", aws.Credentials{}, nil, err
	}
	p := profiles["data-science"]
	return url, aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}, stop, nil
}
