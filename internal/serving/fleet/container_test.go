package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/executor/local"
	"github.com/slipway-ml/slipway/internal/images"
	"github.com/slipway-ml/slipway/internal/inference"
)

func TestMain(m *testing.M) {
	local.MaybeRunShim()
	if len(os.Args) > 1 && os.Args[1] == goServerArg {
		os.Exit(goServer())
	}
	os.Exit(m.Run())
}

// goServerArg makes this test binary a minimal model server in Go (for the proxy benchmark):
// /ping answers 200, /invocations echoes the body with the request's content type.
const goServerArg = "fleet-test-go-server"

func goServer() int {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /invocations", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		w.Write(b)
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv(EnvBindToPort), mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

const python = "/usr/bin/python3"

// flask returns container options that serve testdata/serve.py (a plain Flask server) through
// the local executor, and a model directory holding coefficient coef.
func flask(t *testing.T, mode local.Mode) (ContainerOptions, func(coef string) string) {
	t.Helper()
	exec, err := local.New(local.Config{StateDir: t.TempDir(), Mode: mode, NoCgroups: true})
	if err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs("testdata/serve.py")
	if err != nil {
		t.Fatal(err)
	}
	tb, err := images.New(images.Options{Slipway: "/usr/local/bin/slipway", Mappings: []images.Mapping{
		{Image: "example.com/flask-model:*", Command: []string{python, script}, Env: map[string]string{"PYTHONUNBUFFERED": "1"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	o := ContainerOptions{
		Exec: exec, Dir: t.TempDir(), ReadyTimeout: 30 * time.Second, StopGrace: 2 * time.Second,
		RestartMin: 100 * time.Millisecond, RestartMax: time.Second,
		Command: func(m ModelSpec) ([]string, map[string]string, error) {
			rt, err := tb.ResolveServing(m.Image, m.Environment)
			return rt.Command, rt.Env, err
		},
	}
	models := t.TempDir()
	model := func(coef string) string {
		dir := filepath.Join(models, "m"+strconv.Itoa(len(coef))+coef)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if coef != "" {
			if err := os.WriteFile(filepath.Join(dir, "coef.txt"), []byte(coef), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	return o, model
}

// attrs parses the Flask server's answer attributes "req;accept=…;pid=…;argv=…".
func attr(resp inference.Response, key string) string {
	for _, kv := range strings.Split(resp.CustomAttributes, ";") {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

func TestContainerServesAFlaskModel(t *testing.T) {
	for _, mode := range []local.Mode{local.ModeNamespace, local.ModeFallback} {
		t.Run(string(mode), func(t *testing.T) {
			o, model := flask(t, mode)
			load := ContainerLoader(o)
			ctx := context.Background()
			inst, err := load(ctx, ModelSpec{Image: "example.com/flask-model:1", ModelDir: model("2.5")}, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer inst.Close()
			if err := inst.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			resp, err := inst.Invoke(ctx, inference.Request{ContentType: "text/csv", Accept: "text/csv", CustomAttributes: "trace=abc", Body: []byte("1,2\n3,4\n")})
			if err != nil {
				t.Fatal(err)
			}
			if string(resp.Body) != "7.5\n17.5\n" || !strings.HasPrefix(resp.ContentType, "text/csv") {
				t.Errorf("answer %q (%s), want 7.5 and 17.5 as text/csv", resp.Body, resp.ContentType)
			}
			if !strings.HasPrefix(resp.CustomAttributes, "trace=abc;") || attr(resp, "accept") != "text/csv" || attr(resp, "argv") != "serve" {
				t.Errorf("custom attributes %q: want the request's echoed, Accept passed, argv serve", resp.CustomAttributes)
			}
			// The model's refusals are ModelErrors quoting it, as SageMaker's.
			for _, c := range []struct {
				req      inference.Request
				want     string
				original int
			}{
				{inference.Request{ContentType: "application/json", Body: []byte("{}")}, `Received client error (415) from primary with message "this model speaks text/csv, not application/json"`, 415},
				{inference.Request{ContentType: "text/csv", Body: []byte("1,x")}, "Received client error (400)", 400},
			} {
				_, err := inst.Invoke(ctx, c.req)
				var ie *inference.Error
				if !errors.As(err, &ie) || ie.Status != 424 || ie.Code != inference.CodeModel || !strings.Contains(ie.Message, c.want) ||
					ie.OriginalStatus != c.original || ie.OriginalMessage == "" || !strings.Contains(ie.Message, ie.OriginalMessage) {
					t.Errorf("Invoke(%s %q) = %#v, want a 424 ModelError containing %q, original status %d and the model's message", c.req.ContentType, c.req.Body, err, c.want, c.original)
				}
			}
			pid, _ := strconv.Atoi(attr(resp, "pid"))
			if err := inst.Close(); err != nil {
				t.Fatal(err)
			}
			if syscall.Kill(pid, 0) == nil {
				t.Errorf("model server %d still runs after Close", pid)
			}
			if _, err := inst.Invoke(ctx, inference.Request{ContentType: "text/csv", Body: []byte("1")}); !errors.Is(err, ErrUnavailable) {
				t.Errorf("Invoke after Close: %v, want ErrUnavailable", err)
			}
			if left, _ := os.ReadDir(o.Dir); len(left) != 0 {
				t.Errorf("Close left %d directories in %s", len(left), o.Dir)
			}
		})
	}
}

func TestContainerStartFailureSaysWhy(t *testing.T) {
	o, model := flask(t, "")
	load := ContainerLoader(o)
	_, err := load(context.Background(), ModelSpec{Image: "example.com/flask-model:1", ModelDir: model("")}, 0)
	for _, want := range []string{"ended before answering GET /ping", "exit status 1", "coef.txt"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("a model server that cannot read its model: %v, want it to say %q", err, want)
		}
	}
	_, err = load(context.Background(), ModelSpec{Image: "example.com/other:1", ModelDir: model("1")}, 0)
	if err == nil || !strings.Contains(err.Error(), "no runtime here") {
		t.Errorf("an unmapped image: %v", err)
	}
	if left, _ := os.ReadDir(o.Dir); len(left) != 0 {
		t.Errorf("failed starts left %d directories", len(left))
	}
}

// TestContainerRestart: kill -9 one of two model servers; it leaves the pool (every request goes
// to the other), is restarted, and rejoins once /ping answers.
func TestContainerRestart(t *testing.T) {
	o, model := flask(t, "")
	f := New(Options{Load: ContainerLoader(o), HealthEvery: 50 * time.Millisecond})
	defer f.Close()
	ctx := context.Background()
	if err := f.Deploy(ctx, "ep", []VariantSpec{{Name: "AllTraffic", Weight: 1, Instances: 2, Model: ModelSpec{Image: "example.com/flask-model:1", ModelDir: model("1")}}}); err != nil {
		t.Fatal(err)
	}
	pids := map[string]bool{}
	for range 40 {
		_, resp, err := f.Invoke(ctx, "ep", "", inference.Request{ContentType: "text/csv", Body: []byte("1")})
		if err != nil {
			t.Fatal(err)
		}
		pids[attr(resp, "pid")] = true
	}
	if len(pids) != 2 {
		t.Fatalf("40 requests reached %d model servers, want 2", len(pids))
	}
	var victim, survivor string
	for p := range pids {
		if victim == "" {
			victim = p
		} else {
			survivor = p
		}
	}
	// Clients keep invoking across the kill: requests in flight on the victim are retried on the
	// survivor, so none fails.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failed, served atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := f.Invoke(ctx, "ep", "", inference.Request{ContentType: "text/csv", Body: []byte("1")}); err != nil {
					failed.Add(1)
					t.Errorf("a request failed across the kill: %v", err)
				}
				served.Add(1)
			}
		}()
	}
	defer func() {
		close(stop)
		wg.Wait()
		t.Logf("%d requests across the kill and restart, %d failed", served.Load(), failed.Load())
	}()
	time.Sleep(100 * time.Millisecond)
	pid, _ := strconv.Atoi(victim)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// Until it is back, every request succeeds on the survivor; then a new process serves too.
	var excluded bool
	for {
		_, resp, err := f.Invoke(ctx, "ep", "", inference.Request{ContentType: "text/csv", Body: []byte("1")})
		if err != nil {
			t.Fatalf("a request failed while one model server was dead: %v", err)
		}
		p := attr(resp, "pid")
		if p == victim {
			t.Fatal("a request reached the killed model server")
		}
		st := f.Status("ep")[0]
		if st.Healthy == 1 {
			excluded = true
		}
		if p != survivor {
			t.Logf("restarted as pid %s, serving %s after the kill", p, time.Since(killed).Round(time.Millisecond))
			break
		}
		if time.Since(killed) > 30*time.Second {
			t.Fatalf("the killed model server was not back within 30s: %v", f.Status("ep"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !excluded {
		t.Error("Status never showed the killed instance out of the pool")
	}
	waitStatus(t, f, "ep", "AllTraffic", 2)
}

// TestContainerDeployUnderLoad: clients invoke a Flask-served endpoint without pause while it is
// redeployed with another model, and then with a model that cannot start: no request fails,
// after the first Deploy only the new model answers, after the failed one it still does, and the
// replaced model servers are stopped.
func TestContainerDeployUnderLoad(t *testing.T) {
	o, model := flask(t, "")
	f := New(Options{Load: ContainerLoader(o), HealthEvery: 100 * time.Millisecond})
	defer f.Close()
	ctx := context.Background()
	spec := func(coef string, n int) []VariantSpec {
		return []VariantSpec{{Name: "AllTraffic", Weight: 1, Instances: n, Model: ModelSpec{Image: "example.com/flask-model:1", ModelDir: model(coef)}}}
	}
	if err := f.Deploy(ctx, "ep", spec("1", 2)); err != nil {
		t.Fatal(err)
	}
	var (
		stop           = make(chan struct{})
		wg             sync.WaitGroup
		failed, served atomic.Int64
		mu             sync.Mutex
		oldPids        = map[string]bool{}
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, resp, err := f.Invoke(ctx, "ep", "", inference.Request{ContentType: "text/csv", Body: []byte("1,1")})
				served.Add(1)
				if err != nil {
					failed.Add(1)
					t.Errorf("request failed during the deploy: %v", err)
					continue
				}
				if string(resp.Body) == "2\n" {
					mu.Lock()
					oldPids[attr(resp, "pid")] = true
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	if err := f.Deploy(ctx, "ep", spec("3", 2)); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		for range 20 {
			_, resp, err := f.Invoke(ctx, "ep", "", inference.Request{ContentType: "text/csv", Body: []byte("1,1")})
			if err != nil || string(resp.Body) != "6\n" {
				t.Fatalf("%s: %q %v, want the new model's 6", when, resp.Body, err)
			}
		}
	}
	check("after the deploy")
	err := f.Deploy(ctx, "ep", spec("", 1))
	if errs.KindOf(err) != errs.Invalid || !strings.Contains(err.Error(), "coef.txt") || !strings.Contains(err.Error(), "variant AllTraffic instance 1") {
		t.Errorf("a deploy of a model that cannot start: %v, want Invalid naming the instance and the missing file", err)
	}
	check("after a failed deploy")
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || served.Load() < 20 {
		t.Fatalf("%d of %d requests failed", failed.Load(), served.Load())
	}
	t.Logf("%d requests across two deploys, none failed", served.Load())
	deadline := time.Now().Add(20 * time.Second)
	for p := range oldPids {
		pid, _ := strconv.Atoi(p)
		for syscall.Kill(pid, 0) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("replaced model server %d still runs", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestSweepContainers(t *testing.T) {
	o, model := flask(t, "")
	inst, err := ContainerLoader(o)(context.Background(), ModelSpec{Image: "example.com/flask-model:1", ModelDir: model("1")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := inst.Invoke(context.Background(), inference.Request{ContentType: "text/csv", Body: []byte("1")})
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(attr(resp, "pid"))
	// The server "crashed": nobody closes inst. A new server sweeps what it left.
	if err := SweepContainers(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("model server %d survived the sweep", pid)
	}
	if left, _ := os.ReadDir(o.Dir); len(left) != 0 {
		t.Errorf("the sweep left %d directories", len(left))
	}
	inst.Close()
}

// TestContainerRestartsAHungServer: a model server that keeps failing /ping is killed and
// restarted; it serves again once its /ping answers.
func TestContainerRestartsAHungServer(t *testing.T) {
	o, model := flask(t, "")
	o.RestartAfterPings = 3
	dir := model("1")
	inst, err := ContainerLoader(o)(context.Background(), ModelSpec{Image: "example.com/flask-model:1", ModelDir: dir}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	ctx := context.Background()
	resp, err := inst.Invoke(ctx, inference.Request{ContentType: "text/csv", Body: []byte("1")})
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(attr(resp, "pid"))
	sick := filepath.Join(dir, "sick")
	if err := os.WriteFile(sick, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := inst.Ping(ctx); err == nil {
			t.Fatalf("ping %d of a sick server succeeded", i+1)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the hung model server was not killed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := inst.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("ping while restarting: %v, want ErrUnavailable", err)
	}
	os.Remove(sick)
	for inst.Ping(ctx) != nil {
		if time.Now().After(deadline.Add(20 * time.Second)) {
			t.Fatal("the restarted model server never answered /ping")
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err = inst.Invoke(ctx, inference.Request{ContentType: "text/csv", Body: []byte("1")})
	if err != nil || attr(resp, "pid") == strconv.Itoa(pid) {
		t.Fatalf("after the restart: %v, pid %s (old %d)", err, attr(resp, "pid"), pid)
	}
}

// TestContainerServesGunicorn: the same unmodified Flask app under gunicorn with two workers,
// bound to the contract's port by a shell wrapper, as a user's image mapping would run it.
func TestContainerServesGunicorn(t *testing.T) {
	o, model := flask(t, "")
	dir, _ := filepath.Abs("testdata")
	o.Command = func(m ModelSpec) ([]string, map[string]string, error) {
		// The mapping's command; "serve" (appended by ResolveServing) becomes the shell's $0.
		return []string{"/bin/sh", "-c", `exec ` + python + ` -m gunicorn --chdir ` + dir + ` --workers 2 --bind 127.0.0.1:"$SAGEMAKER_BIND_TO_PORT" serve:app`, images.ServeArg}, nil, nil
	}
	f := New(Options{Load: ContainerLoader(o)})
	defer f.Close()
	ctx := context.Background()
	if err := f.Deploy(ctx, "ep", []VariantSpec{{Name: "AllTraffic", Weight: 1, Instances: 1, Model: ModelSpec{Image: "example.com/flask-model:1", ModelDir: model("4")}}}); err != nil {
		t.Fatal(err)
	}
	workers := map[string]bool{}
	for i := 0; i < 200 && len(workers) < 2; i++ {
		_, resp, err := f.Invoke(ctx, "ep", "", inference.Request{ContentType: "text/csv", Body: []byte("1,1\n")})
		if err != nil || string(resp.Body) != "8\n" {
			t.Fatalf("gunicorn answered %q, %v; want 8", resp.Body, err)
		}
		workers[attr(resp, "pid")] = true
	}
	t.Logf("answered by %d gunicorn workers", len(workers))
}

func TestPortSetNeverHandsOutAHeldPort(t *testing.T) {
	p := &portSet{used: map[int]bool{}}
	held := map[int]bool{}
	for range 300 {
		port, err := p.take()
		if err != nil {
			t.Fatal(err)
		}
		if held[port] {
			t.Fatalf("port %d handed out twice", port)
		}
		held[port] = true
	}
	for port := range held {
		p.release(port)
	}
	if len(p.used) != 0 {
		t.Errorf("%d ports still held after release", len(p.used))
	}
}
