// Command invoke benchmarks InvokeEndpoint (issue 10): the abalone XGBoost model (trained by the
// real XGBoost) behind a Slipway server on loopback, single-row text/csv from concurrent signed
// clients, beside (a) a bare net/http handler returning a fixed body (the ceiling), (b) the same
// model in a Python Flask + XGBoost server (Debian's packages), (c) the fleet alone (in-process,
// no HTTP, no authorization) and (d) the endpoint with data capture of every invocation. It also
// times CreateEndpoint → InService and a 10,000-row invocation beside XGBoost's own predict.
//
//	go run ./bench/invoke [-duration 5s] [-clients 32] [-pairs 8] [-pair-slice 1s] [-python /usr/bin/python3]
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
	"github.com/slipway-ml/slipway/internal/inference"
)

var (
	duration  = flag.Duration("duration", 5*time.Second, "how long each loaded phase runs")
	pairs     = flag.Int("pairs", 8, "adjacent Slipway/ceiling slice pairs the paired ratio is the median of (0: none)")
	pairSlice = flag.Duration("pair-slice", time.Second, "how long each side of a pair runs")
	clients   = flag.Int("clients", 32, "concurrent clients of the loaded phases")
	python    = flag.String("python", "/usr/bin/python3", "Python with python3-xgboost and python3-flask")
	profile   = flag.String("cpuprofile", "", "write a CPU profile of one loaded phase (server and clients: one process) to this file")
	profiled  = flag.Int("profile-phase", 0, "the loaded phase -cpuprofile profiles: 0 Slipway InvokeEndpoint, 1 with data capture")
)

const row = "1,0,0,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\n"

func main() {
	flag.Parse()
	log.SetFlags(0)
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	tmp, err := os.MkdirTemp("", "bench-invoke")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	model := filepath.Join(tmp, "xgboost-model.json")
	if out, err := exec.Command(*python, "bench/invoke/ref.py", "train", "internal/algorithms/testdata/abalone.csv", model).CombinedOutput(); err != nil {
		return fmt.Errorf("training with XGBoost: %v\n%s", err, out)
	}
	archive, err := tarGz(model)
	if err != nil {
		return err
	}

	cfg := config.Default()
	cfg.DataDir = filepath.Join(tmp, "data")
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	a.Listening(ln.Addr().String())
	a.Start(ctx)
	srv := &http.Server{Handler: a.Handler()}
	go srv.Serve(ln)
	defer func() { srv.Close(); a.Close() }()
	profiles, err := credfile.ReadFile(a.CredentialsPath())
	if err != nil {
		return err
	}
	p := profiles["data-science"]
	creds := aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}
	acfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })}
	sm, s3c, iamc := sagemaker.NewFromConfig(acfg), s3.NewFromConfig(acfg, func(o *s3.Options) { o.UsePathStyle = true }), iam.NewFromConfig(acfg)

	_, err = s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bench")})
	must(err)
	_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String("abalone/model.tar.gz"), Body: bytes.NewReader(archive)})
	must(err)
	_, err = iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("bench"), AssumeRolePolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	must(err)
	_, err = iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("bench"), PolicyName: aws.String("s3"), PolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bench/*"}]}`)})
	must(err)
	_, err = sm.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String("abalone"), ExecutionRoleArn: aws.String("arn:aws:iam::" + p.Account + ":role/bench"),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String("slipway/xgboost"), ModelDataUrl: aws.String("s3://bench/abalone/model.tar.gz")}})
	must(err)
	variants := []smtypes.ProductionVariant{{VariantName: aws.String("AllTraffic"), ModelName: aws.String("abalone"), InitialInstanceCount: aws.Int32(2), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large}}
	_, err = sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String("plain"), ProductionVariants: variants})
	must(err)
	_, err = sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String("capture"), ProductionVariants: variants,
		DataCaptureConfig: &smtypes.DataCaptureConfig{EnableCapture: aws.Bool(true), InitialSamplingPercentage: aws.Int32(100), DestinationS3Uri: aws.String("s3://bench/capture"),
			CaptureOptions:           []smtypes.CaptureOption{{CaptureMode: smtypes.CaptureModeInput}, {CaptureMode: smtypes.CaptureModeOutput}},
			CaptureContentTypeHeader: &smtypes.CaptureContentTypeHeader{CsvContentTypes: []string{"text/csv"}}}})
	must(err)

	fmt.Printf("# InvokeEndpoint, abalone XGBoost (50 trees, depth 5), 2 instances, single-row text/csv, %d clients, %v per phase, GOMAXPROCS %s\n\n",
		*clients, *duration, os.Getenv("GOMAXPROCS"))
	fmt.Println("CreateEndpoint → InService (built-in runtime, target < 500 ms):")
	for i, name := range []string{"plain", "capture", "plain2", "plain3"} {
		conf := "plain"
		if name == "capture" {
			conf = "capture"
		}
		t := time.Now()
		_, err := sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String(conf)})
		must(err)
		for {
			d, err := sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
			must(err)
			if d.EndpointStatus == smtypes.EndpointStatusInService {
				break
			}
			if d.EndpointStatus == smtypes.EndpointStatusFailed {
				return fmt.Errorf("endpoint %s failed: %s", name, aws.ToString(d.FailureReason))
			}
			time.Sleep(2 * time.Millisecond)
		}
		fmt.Printf("  endpoint %d: %.1f ms\n", i+1, float64(time.Since(t).Microseconds())/1000)
	}

	tr := &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 0}
	hc := &http.Client{Transport: tr}
	signer := v4.NewSigner()
	post := func(target string, body []byte) func(context.Context) error {
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])
		return func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, "POST", target, bytes.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "text/csv")
			if err := signer.SignHTTP(ctx, creds, req, hash, "sagemaker", "us-east-1", time.Now()); err != nil {
				return err
			}
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != 200 {
				err = fmt.Errorf("status %d: %s", resp.StatusCode, b)
			}
			return err
		}
	}

	// The ceiling: a bare handler answering what the model answers.
	var answer []byte
	if err := func() error {
		req, _ := http.NewRequest("POST", url+"/endpoints/plain/invocations", strings.NewReader(row))
		req.Header.Set("Content-Type", "text/csv")
		sum := sha256.Sum256([]byte(row))
		signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sagemaker", "us-east-1", time.Now())
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		answer, err = io.ReadAll(resp.Body)
		return err
	}(); err != nil {
		return err
	}
	cln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ceiling := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/csv")
		w.Write(answer)
	})}
	go ceiling.Serve(cln)
	defer ceiling.Close()

	// The Python reference.
	fport, err := freePort()
	if err != nil {
		return err
	}
	flask := exec.Command(*python, "bench/invoke/ref.py", "serve", model, strconv.Itoa(fport))
	flask.Stderr = os.Stderr
	if err := flask.Start(); err != nil {
		return err
	}
	defer func() { flask.Process.Kill(); flask.Wait() }()
	furl := fmt.Sprintf("http://127.0.0.1:%d", fport)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(furl + "/ping"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the Flask server did not answer /ping")
		}
	}

	arn := a.Serving.EndpointARN(p.Account, "plain")
	fleetOnly := func(ctx context.Context) error {
		_, _, err := a.Fleet.Invoke(ctx, arn, "", inference.Request{ContentType: "text/csv", Body: []byte(row)})
		return err
	}
	phases := []struct {
		name string
		op   func(context.Context) error
	}{
		{"Slipway InvokeEndpoint", post(url+"/endpoints/plain/invocations", []byte(row))},
		{"Slipway, data capture 100%", post(url+"/endpoints/capture/invocations", []byte(row))},
		{"ceiling: bare net/http, fixed body", post("http://"+cln.Addr().String()+"/invocations", []byte(row))},
		{"Python Flask + XGBoost", post(furl+"/invocations", []byte(row))},
		{"fleet alone (in process)", fleetOnly},
		{"Slipway InvokeEndpoint, again", post(url+"/endpoints/plain/invocations", []byte(row))},
		{"Slipway, data capture 100%, again", post(url+"/endpoints/capture/invocations", []byte(row))},
	}
	fmt.Printf("\n| %d clients | req/s | p50 | p99 | errors |\n|---|---:|---:|---:|---:|\n", *clients)
	rates := map[string]float64{}
	for i, ph := range phases {
		if i == *profiled && *profile != "" {
			f, err := os.Create(*profile)
			must(err)
			must(pprof.StartCPUProfile(f))
		}
		s := drive(ctx, *clients, *duration, ph.op)
		if i == *profiled && *profile != "" {
			pprof.StopCPUProfile()
		}
		rates[strings.TrimSuffix(ph.name, ", again")] += s.rate()
		fmt.Printf("| %s | %.0f | %s | %s | %d |\n", ph.name, s.rate(), ms(s.pct(.5)), ms(s.pct(.99)), s.errors)
	}
	rates["Slipway InvokeEndpoint"] /= 2 // two runs each, alternated
	rates["Slipway, data capture 100%"] /= 2
	fmt.Printf("\nratio to the ceiling (the table's phases) %.2f (target ≥ 0.60); to Flask %.1f× (target ≥ 10×); data capture costs %.1f%% of the throughput\n",
		rates["Slipway InvokeEndpoint"]/rates["ceiling: bare net/http, fixed body"], rates["Slipway InvokeEndpoint"]/rates["Python Flask + XGBoost"],
		100*(1-rates["Slipway, data capture 100%"]/rates["Slipway InvokeEndpoint"]))
	// The table's phases run seconds apart, and on a shared machine the throughput of both
	// sides drifts more than the difference measured. Adjacent short slices of Slipway and the
	// ceiling see the same machine: their ratios, pair by pair, are the figure to trust.
	if *pairs > 0 {
		slip, ceil := phases[0].op, phases[2].op
		ratios := make([]float64, 0, *pairs)
		for i := range *pairs {
			var s, c stats
			if i%2 == 0 { // alternate which side goes first
				s, c = drive(ctx, *clients, *pairSlice, slip), drive(ctx, *clients, *pairSlice, ceil)
			} else {
				c, s = drive(ctx, *clients, *pairSlice, ceil), drive(ctx, *clients, *pairSlice, slip)
			}
			ratios = append(ratios, s.rate()/c.rate())
		}
		sort.Float64s(ratios)
		med := ratios[len(ratios)/2]
		if len(ratios)%2 == 0 {
			med = (ratios[len(ratios)/2-1] + ratios[len(ratios)/2]) / 2
		}
		fmt.Printf("ratio to the ceiling, %d adjacent pairs of %s slices: median %.2f (min %.2f, max %.2f; target ≥ 0.60)\n",
			len(ratios), *pairSlice, med, ratios[0], ratios[len(ratios)-1])
	}
	a.FlushDataCapture()
	st := a.DataCaptureStats()
	fmt.Printf("data capture: %d records captured (spooled before their answer), %d written in %d files, %d dropped, %d failed, %d bytes left in the spool\n",
		st.Captured, st.Written, st.Files, st.Dropped, st.Failed, st.Spooled)

	fmt.Printf("\n| 1 client | req/s | p50 | p99 |\n|---|---:|---:|---:|\n")
	for _, ph := range phases[:4] {
		s := drive(ctx, 1, *duration/2, ph.op)
		fmt.Printf("| %s | %.0f | %s | %s |\n", ph.name, s.rate(), ms(s.pct(.5)), ms(s.pct(.99)))
	}

	// Batch: 10,000 rows in one invocation beside XGBoost's own predict of the same rows.
	var batch bytes.Buffer
	lines := strings.Split(strings.TrimSpace(mustRead("internal/algorithms/testdata/abalone.csv")), "\n")[1:]
	for i := 0; i < 10000; i++ {
		f := strings.Split(lines[i%len(lines)], ",")
		oh := map[string]string{"M": "1,0,0", "F": "0,1,0", "I": "0,0,1"}[f[0]]
		batch.WriteString(oh + "," + strings.Join(f[1:8], ",") + "\n")
	}
	rows := filepath.Join(tmp, "rows.csv")
	must(os.WriteFile(rows, batch.Bytes(), 0o600))
	invoke := post(url+"/endpoints/plain/invocations", batch.Bytes())
	best := time.Hour
	for range 5 {
		t := time.Now()
		must(invoke(ctx))
		best = min(best, time.Since(t))
	}
	out, err := exec.Command(*python, "bench/invoke/ref.py", "predict", model, rows, "5").Output()
	if err != nil {
		return fmt.Errorf("XGBoost predict: %v", err)
	}
	xs, _ := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	fmt.Printf("\n10,000-row text/csv invocation (best of 5, HTTP and signing included): %s; XGBoost's predict of the same rows (DMatrix included, nthread 1): %.2f ms\n",
		ms(best), xs*1000)
	return nil
}

func mustRead(path string) string {
	b, err := os.ReadFile(path)
	must(err)
	return string(b)
}

func tarGz(model string) ([]byte, error) {
	m, err := os.ReadFile(model)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: "xgboost-model", Mode: 0o644, Size: int64(len(m))}); err != nil {
		return nil, err
	}
	tw.Write(m)
	tw.Close()
	gz.Close()
	return buf.Bytes(), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type stats struct {
	lat     []time.Duration
	errors  int
	elapsed time.Duration
}

func (s stats) rate() float64 { return float64(len(s.lat)) / s.elapsed.Seconds() }

func (s stats) pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	return s.lat[min(len(s.lat)-1, int(p*float64(len(s.lat))))]
}

// drive runs op from n clients for d (after a warm-up of d/5) and returns every latency, sorted.
func drive(ctx context.Context, n int, d time.Duration, op func(context.Context) error) stats {
	warm := time.Now().Add(d / 5)
	for time.Now().Before(warm) {
		op(ctx)
	}
	var mu sync.Mutex
	var all stats
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			errs := 0
			for time.Now().Before(end) {
				t := time.Now()
				if err := op(ctx); err != nil {
					if errs == 0 {
						log.Printf("error: %v", err)
					}
					errs++
					continue
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			all.lat = append(all.lat, lat...)
			all.errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	all.elapsed = time.Since(start)
	sort.Slice(all.lat, func(i, j int) bool { return all.lat[i] < all.lat[j] })
	return all
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }
