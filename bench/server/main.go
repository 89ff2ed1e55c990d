// Command server benchmarks a whole Slipway server over loopback, with the reference it is judged
// against measured in the same run:
//
//   - reads: signed DescribeModelPackage requests from -clients concurrent clients for -duration
//     against `slipway server` on a fresh SQLite data directory, and the same clients, signing
//     and request against a bare net/http handler (a separate process, like the server) that
//     answers with the bytes Slipway answered — the ceiling. It prints requests/s, p50 and p99
//     of both and their ratio (target: Slipway ≥ 40% of the ceiling, p99 < 5 ms).
//   - writes: CreateModelPackage into one group from -writers concurrent writers until -writes
//     versions exist, on SQLite and, when SLIPWAY_TEST_POSTGRES holds an admin DSN, on a fresh
//     PostgreSQL database; it prints versions/s and checks through ListModelPackages that the
//     versions are exactly 1..N (no gaps, no duplicates).
//
// Usage (from the module root):
//
//	go run ./bench/server [-duration 10s] [-clients 32] [-writers 16] [-writes 2000] [-slipway BIN]
//
// With -cpuprofile FILE the server runs from this program's own copy of internal/app (still in a
// separate process, started the way `slipway server` starts it) and writes a CPU profile of the
// whole run to FILE: go tool pprof -top FILE.
//
// The exit status is 1 when a request fails or the versions are not 1..N; the targets are
// reported, not enforced.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to create the benchmark database

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
)

const region = "us-east-1"

type options struct {
	duration time.Duration
	clients  int
	writers  int
	writes   int
	slipway  string
	postgres string
	profile  string
}

func main() {
	// Internal mode: serve a fixed body, as the ceiling's separate process.
	if len(os.Args) == 4 && os.Args[1] == "-serve-fixed" {
		if err := serveFixed(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "serve-fixed:", err)
			os.Exit(1)
		}
		return
	}
	// Internal mode: Slipway's app with a CPU profile, for -cpuprofile.
	if len(os.Args) >= 5 && os.Args[1] == "-serve-app" {
		if err := serveApp(os.Args[2], os.Args[3], os.Args[4], os.Args[5:]); err != nil {
			fmt.Fprintln(os.Stderr, "serve-app:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long each read phase runs")
	flag.IntVar(&o.clients, "clients", 32, "concurrent readers")
	flag.IntVar(&o.writers, "writers", 16, "concurrent writers")
	flag.IntVar(&o.writes, "writes", 2000, "model package versions each write phase creates")
	flag.StringVar(&o.slipway, "slipway", "", "slipway binary (default: go build ./cmd/slipway into a temporary directory)")
	flag.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of the SQLite server to this file")
	flag.Parse()
	o.postgres = os.Getenv("SLIPWAY_TEST_POSTGRES")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/server:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	tmp, err := os.MkdirTemp("", "slipway-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.slipway == "" {
		o.slipway = filepath.Join(tmp, "slipway")
		build := exec.CommandContext(ctx, "go", "build", "-o", o.slipway, "github.com/slipway-ml/slipway/cmd/slipway")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("cannot build slipway: %w", err)
		}
	}
	fmt.Printf("Slipway server benchmark: %s %s/%s, %d CPUs, GOMAXPROCS %d\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average before the run: %s (other work on the machine skews both sides; the ratio less so)\n",
			strings.Join(strings.Fields(string(load))[:3], " "))
	}
	failed := false

	// Reads on SQLite, and the ceiling.
	var srv *slipway
	if o.profile != "" {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		abs, err := filepath.Abs(o.profile)
		if err != nil {
			return err
		}
		srv, err = startProcess(ctx, filepath.Join(tmp, "sqlite"), func(addr, dataDir string) *exec.Cmd {
			return exec.Command(self, "-serve-app", dataDir, addr, abs)
		})
	} else {
		srv, err = startSlipway(ctx, o.slipway, filepath.Join(tmp, "sqlite"))
	}
	if err != nil {
		return err
	}
	readsOK, err := benchReads(ctx, o, srv, tmp)
	if err != nil {
		srv.stop()
		return err
	}
	failed = failed || !readsOK
	ok, err := benchWrites(ctx, o, srv, "SQLite")
	srv.stop()
	if err != nil {
		return err
	}
	failed = failed || !ok

	if o.postgres == "" {
		fmt.Println("writes on PostgreSQL: skipped (set SLIPWAY_TEST_POSTGRES to an admin DSN, e.g. from scripts/pg-throwaway.sh)")
	} else {
		dsn, drop, err := freshDatabase(ctx, o.postgres)
		if err != nil {
			return err
		}
		defer drop()
		pg, err := startSlipway(ctx, o.slipway, filepath.Join(tmp, "postgres"), "--database", dsn)
		if err != nil {
			return err
		}
		ok, err := benchWrites(ctx, o, pg, "PostgreSQL")
		pg.stop()
		if err != nil {
			return err
		}
		failed = failed || !ok
	}
	if failed {
		return errors.New("some requests failed or the versions were not 1..N (see above)")
	}
	return nil
}

// --- the server under test ---

// serveApp runs Slipway's app (as `slipway server` does) on addr with dataDir, profiling the CPU
// into profile until SIGTERM. extra may hold a PostgreSQL DSN.
func serveApp(dataDir, addr, profile string, extra []string) error {
	cfg := config.Default()
	cfg.DataDir, cfg.Listen = dataDir, addr
	if len(extra) > 0 {
		cfg.Database = extra[0]
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	f, err := os.Create(profile)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return a.Serve(ctx, nil)
}

type slipway struct {
	url    string
	creds  aws.Credentials
	stderr *bytes.Buffer
	stop   func()
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startSlipway runs `slipway server` on a free loopback port with dataDir, and waits until
// /healthz answers and the credentials file exists.
func startSlipway(ctx context.Context, bin, dataDir string, extra ...string) (*slipway, error) {
	return startProcess(ctx, dataDir, func(addr, dataDir string) *exec.Cmd {
		args := append([]string{"server", "--data-dir", dataDir, "--listen", addr, "--log-level", "warn"}, extra...)
		return exec.Command(bin, args...)
	})
}

// startProcess starts the server command made by mk for a free loopback address and dataDir,
// and waits until it is ready.
func startProcess(ctx context.Context, dataDir string, mk func(addr, dataDir string) *exec.Cmd) (*slipway, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := mk(addr, dataDir)
	var stderr bytes.Buffer
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return stderr.Write(p) })
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start slipway: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	s := &slipway{url: "http://" + addr, stderr: &stderr}
	s.stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	credsFile := filepath.Join(dataDir, "credentials")
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			mu.Lock()
			defer mu.Unlock()
			return nil, fmt.Errorf("slipway exited before it was ready (%v):\n%s", err, stderr.String())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		default:
		}
		if resp, err := http.Get(s.url + "/healthz"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if c, err := readProfile(credsFile, "data-science"); err == nil {
					s.creds = c
					return s, nil
				}
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("slipway not ready within 60 s:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// readProfile reads one profile's keys from an AWS shared-credentials file.
func readProfile(path, profile string) (aws.Credentials, error) {
	profiles, err := credfile.ReadFile(path)
	if err != nil {
		return aws.Credentials{}, err
	}
	p := profiles[profile]
	if p.AccessKeyID == "" || p.SecretAccessKey == "" {
		return aws.Credentials{}, fmt.Errorf("%s: no keys for profile %s", path, profile)
	}
	return aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}, nil
}

func (s *slipway) sdk() *sagemaker.Client {
	return sagemaker.New(sagemaker.Options{
		Region:           region,
		BaseEndpoint:     aws.String(s.url),
		Credentials:      credentials.StaticCredentialsProvider{Value: s.creds},
		RetryMaxAttempts: 1,
	})
}

// --- signed raw requests, the same for Slipway and the ceiling ---

// caller sends signed SageMaker JSON requests over one shared keep-alive transport.
type caller struct {
	client *http.Client
	signer *v4.Signer
	creds  aws.Credentials
}

func newCaller(creds aws.Credentials, conns int) *caller {
	tr := &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, IdleConnTimeout: time.Minute}
	return &caller{client: &http.Client{Transport: tr, Timeout: 30 * time.Second}, signer: v4.NewSigner(), creds: creds}
}

// call sends operation with body to endpoint and returns the response body; a status other than
// 200 is an error carrying the body.
func (c *caller) call(ctx context.Context, endpoint, operation string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "SageMaker."+operation)
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hex.EncodeToString(sum[:]), "sagemaker", region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d: %s", operation, resp.StatusCode, out)
	}
	return out, nil
}

// --- load driver ---

type stats struct {
	n, errors int
	elapsed   time.Duration
	lat       []time.Duration // sorted
	firstErr  error
}

func (s stats) rate() float64 { return float64(s.n) / s.elapsed.Seconds() }

func (s stats) pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	return s.lat[min(len(s.lat)-1, int(p*float64(len(s.lat))))]
}

// drive runs op from workers goroutines until ctx ends or op reports done, and gathers latencies.
func drive(ctx context.Context, workers int, op func(ctx context.Context) (done bool, err error)) stats {
	var wg sync.WaitGroup
	lats := make([][]time.Duration, workers)
	errCount := make([]int, workers)
	var firstErr atomic.Pointer[error]
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				done, err := op(ctx)
				if done {
					return
				}
				if err != nil {
					if ctx.Err() != nil {
						return // cut off by the deadline, not a failure
					}
					errCount[w]++
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				lats[w] = append(lats[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	s := stats{elapsed: time.Since(start)}
	for w := range workers {
		s.lat = append(s.lat, lats[w]...)
		s.errors += errCount[w]
	}
	s.n = len(s.lat)
	slices.Sort(s.lat)
	if p := firstErr.Load(); p != nil {
		s.firstErr = *p
	}
	return s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func report(name string, s stats) {
	fmt.Printf("  %-44s %8d req  %9.0f req/s  p50 %9s  p99 %9s  errors %d\n", name, s.n, s.rate(), ms(s.pct(0.50)), ms(s.pct(0.99)), s.errors)
	if s.firstErr != nil {
		fmt.Printf("    first error: %v\n", s.firstErr)
	}
}

// --- reads and the ceiling ---

func benchReads(ctx context.Context, o options, srv *slipway, tmp string) (bool, error) {
	sm := srv.sdk()
	if _, err := sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{
		ModelPackageGroupName: aws.String("bench"),
	}); err != nil {
		return false, fmt.Errorf("CreateModelPackageGroup: %w", err)
	}
	pkg, err := sm.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{
		ModelPackageGroupName:  aws.String("bench"),
		InferenceSpecification: inferenceSpec(),
		ModelApprovalStatus:    smtypes.ModelApprovalStatusApproved,
	})
	if err != nil {
		return false, fmt.Errorf("CreateModelPackage: %w", err)
	}
	body, _ := json.Marshal(map[string]string{"ModelPackageName": *pkg.ModelPackageArn})

	c := newCaller(srv.creds, o.clients)
	fixed, err := c.call(ctx, srv.url, "DescribeModelPackage", body)
	if err != nil {
		return false, err
	}
	fixedFile := filepath.Join(tmp, "describe.json")
	if err := os.WriteFile(fixedFile, fixed, 0o600); err != nil {
		return false, err
	}
	ceiling, stopCeiling, err := startCeiling(ctx, fixedFile)
	if err != nil {
		return false, err
	}
	defer stopCeiling()

	reads := func(endpoint string, clients int, d time.Duration) stats {
		phase := func(d time.Duration) stats {
			pctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return drive(pctx, clients, func(ctx context.Context) (bool, error) {
				_, err := c.call(ctx, endpoint, "DescribeModelPackage", body)
				return false, err
			})
		}
		phase(time.Second) // warm-up: connections, caches
		return phase(d)
	}
	fmt.Printf("\nreads: DescribeModelPackage, %d clients, %v each, signed with aws-sdk-go-v2's v4 signer, %d-byte response\n",
		o.clients, o.duration, len(fixed))
	s := reads(srv.url, o.clients, o.duration)
	report("Slipway (SQLite)", s)
	cs := reads(ceiling, o.clients, o.duration)
	report("ceiling: bare net/http, fixed body", cs)
	ratio := s.rate() / cs.rate()
	fmt.Printf("  Slipway/ceiling throughput %.2f (target >= 0.40: %s); Slipway p99 %s (target < 5 ms: %s)\n",
		ratio, verdict(ratio >= 0.40), ms(s.pct(0.99)), verdict(s.pct(0.99) < 5*time.Millisecond))
	fmt.Printf("  (a closed loop of %d clients waits clients/throughput on average: %s at the ceiling's rate, so p99 < 5 ms\n"+
		"   with %d clients needs well over %.0f req/s; the unloaded latency below is the service time alone)\n",
		o.clients, ms(time.Duration(float64(o.clients)/cs.rate()*float64(time.Second))), o.clients, float64(o.clients)/0.005)

	d1 := max(o.duration/3, time.Second).Round(100 * time.Millisecond)
	fmt.Printf("\nunloaded latency: DescribeModelPackage, 1 client, %v each\n", d1)
	s1 := reads(srv.url, 1, d1)
	report("Slipway (SQLite)", s1)
	c1 := reads(ceiling, 1, d1)
	report("ceiling: bare net/http, fixed body", c1)
	fmt.Printf("  Slipway p99 %s (target < 5 ms: %s)\n", ms(s1.pct(0.99)), verdict(s1.pct(0.99) < 5*time.Millisecond))
	return s.errors == 0 && cs.errors == 0 && s1.errors == 0 && c1.errors == 0, nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func inferenceSpec() *smtypes.InferenceSpecification {
	return &smtypes.InferenceSpecification{
		Containers: []smtypes.ModelPackageContainerDefinition{{
			Image:        aws.String("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"),
			ModelDataUrl: aws.String("s3://sagemaker-us-east-1-abalone/model/model.tar.gz"),
		}},
		SupportedContentTypes:      []string{"text/csv"},
		SupportedResponseMIMETypes: []string{"text/csv"},
	}
}

// startCeiling runs this program again as the ceiling server: a separate process, like Slipway.
func startCeiling(ctx context.Context, bodyFile string) (string, func(), error) {
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "-serve-fixed", addr, bodyFile)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }
	base := "http://" + addr
	for range 200 {
		if resp, err := http.Get(base + "/ready"); err == nil {
			resp.Body.Close()
			return base, stop, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	stop()
	return "", nil, errors.New("the ceiling server did not start")
}

// serveFixed answers every request with the contents of bodyFile, as a JSON-protocol service would.
func serveFixed(addr, bodyFile string) error {
	body, err := os.ReadFile(bodyFile)
	if err != nil {
		return err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Requestid", "00000000-0000-0000-0000-000000000000")
		w.Write(body)
	})
	srv := &http.Server{Addr: addr, Handler: h}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// --- writes ---

func benchWrites(ctx context.Context, o options, srv *slipway, store string) (bool, error) {
	const group = "bench-writes"
	sm := srv.sdk()
	if _, err := sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{
		ModelPackageGroupName: aws.String(group),
	}); err != nil {
		return false, fmt.Errorf("CreateModelPackageGroup: %w", err)
	}
	body, _ := json.Marshal(map[string]any{
		"ModelPackageGroupName": group,
		"InferenceSpecification": map[string]any{
			"Containers":                 []map[string]string{{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "ModelDataUrl": "s3://bench/model.tar.gz"}},
			"SupportedContentTypes":      []string{"text/csv"},
			"SupportedResponseMIMETypes": []string{"text/csv"},
		},
		"ModelMetrics": map[string]any{"ModelQuality": map[string]any{"Statistics": map[string]string{
			"ContentType": "application/json", "S3Uri": "s3://bench/evaluation.json"}}},
	})
	c := newCaller(srv.creds, o.writers)
	var next atomic.Int64
	s := drive(ctx, o.writers, func(ctx context.Context) (bool, error) {
		if next.Add(1) > int64(o.writes) {
			return true, nil
		}
		_, err := c.call(ctx, srv.url, "CreateModelPackage", body)
		return false, err
	})
	fmt.Printf("\nwrites: CreateModelPackage into one group, %d writers, %d versions\n", o.writers, o.writes)
	fmt.Printf("  %-44s %8d ok   %9.0f versions/s  p50 %9s  p99 %9s  errors %d\n",
		"Slipway ("+store+")", s.n, s.rate(), ms(s.pct(0.50)), ms(s.pct(0.99)), s.errors)
	if s.firstErr != nil {
		fmt.Printf("    first error: %v\n", s.firstErr)
	}

	// Every acknowledged write must be there exactly once, numbered 1..n.
	var versions []int
	pages := sagemaker.NewListModelPackagesPaginator(sm, &sagemaker.ListModelPackagesInput{
		ModelPackageGroupName: aws.String(group), MaxResults: aws.Int32(100),
	})
	for pages.HasMorePages() {
		p, err := pages.NextPage(ctx)
		if err != nil {
			return false, fmt.Errorf("ListModelPackages: %w", err)
		}
		for _, m := range p.ModelPackageSummaryList {
			versions = append(versions, int(aws.ToInt32(m.ModelPackageVersion)))
		}
	}
	slices.Sort(versions)
	gaps, dups := 0, 0
	for i := 1; i < len(versions); i++ {
		switch d := versions[i] - versions[i-1]; {
		case d == 0:
			dups++
		case d > 1:
			gaps += d - 1
		}
	}
	ok := len(versions) == s.n && gaps == 0 && dups == 0 && (len(versions) == 0 || versions[0] == 1)
	first, last := 0, 0
	if len(versions) > 0 {
		first, last = versions[0], versions[len(versions)-1]
	}
	fmt.Printf("  ListModelPackages: %d versions, %d..%d, %d gaps, %d duplicates, %d acknowledged: %s\n",
		len(versions), first, last, gaps, dups, s.n, map[bool]string{true: "consistent", false: "INCONSISTENT"}[ok])
	return ok && s.errors == 0, nil
}

// freshDatabase creates a database for one run on the PostgreSQL server of adminDSN and returns
// its DSN and a function that drops it.
func freshDatabase(ctx context.Context, adminDSN string) (string, func(), error) {
	u, err := url.Parse(adminDSN)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("SLIPWAY_TEST_POSTGRES must be a postgres:// URL: %q", adminDSN)
	}
	db, err := sql.Open("pgx", adminDSN)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("slipway_bench_%d", time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("cannot create the benchmark database: %w", err)
	}
	u.Path = "/" + name
	drop := func() {
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "bench/server: cannot drop database %s: %v\n", name, err)
		}
		db.Close()
	}
	return u.String(), drop, nil
}
