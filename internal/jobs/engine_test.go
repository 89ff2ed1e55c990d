package jobs_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/jobs"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/store"
)

const (
	account = "111122223333"
	role    = "arn:aws:iam::111122223333:role/trainer"
)

type env struct {
	t     *testing.T
	st    *store.Store
	svc   *jobs.Service
	art   *memArtifacts
	exec  *procExecutor
	logs  *memLogs
	img   scripts
	dir   string
	rt    *reconcile.Runtime
	calls identity.Call
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	e := &env{
		t: t, st: st, svc: jobs.NewService(st.Jobs(), allow{}, allow{}, "us-east-1", time.Now),
		art: newArtifacts(), exec: newExecutor(filepath.Join(dir, "logs")), logs: &memLogs{}, img: scripts{}, dir: dir,
		calls: identity.Call{Caller: identity.Caller{Account: account, ARN: "arn:aws:iam::" + account + ":user/alice"}},
	}
	return e
}

// start starts a reconcile runtime with a new engine (as a restarted server would).
func (e *env) start() {
	e.t.Helper()
	eng := jobs.NewEngine(jobs.EngineConfig{
		Service: e.svc, Store: e.st.Jobs(), Sessions: sessions{}, Artifacts: e.art, Executor: e.exec, Logs: e.logs, Images: e.img,
		DataDir: e.dir, Poll: 20 * time.Millisecond, Grace: time.Second,
	})
	rt := reconcile.New(e.st.Work(), jobs.WorkKind, eng, reconcile.Options{Poll: 20 * time.Millisecond, Backoff: reconcile.Backoff{Base: 50 * time.Millisecond, Max: time.Second}})
	rt.Start(context.Background())
	e.rt = rt
	e.t.Cleanup(func() { rt.Close(context.Background()) })
}

func (e *env) stop() {
	e.t.Helper()
	if err := e.rt.Close(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func training(name, image string) jobs.Job {
	return jobs.Job{Kind: jobs.TrainingJob, Name: name, RoleARN: role, Spec: jobs.Spec{
		Image: image, InstanceType: "ml.m5.large", InstanceCount: 1, OutputPath: "s3://models/out",
		Inputs:          []jobs.Input{{Name: "train", S3URI: "s3://data/train/"}},
		HyperParameters: map[string]string{"num_round": "3", "eta": "0.2"},
	}}
}

func (e *env) create(j jobs.Job) jobs.Job {
	e.t.Helper()
	out, err := e.svc.Create(context.Background(), e.calls, j)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// wait polls the job until cond holds.
func (e *env) wait(j jobs.Job, what string, cond func(jobs.Job) bool) jobs.Job {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := e.svc.Describe(context.Background(), e.calls, j.Kind, j.Name)
		if err != nil {
			e.t.Fatal(err)
		}
		if cond(got) {
			e.t.Logf("%s: %s after %v", j.Name, what, time.Since(deadline.Add(-30*time.Second)))
			return got
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: job never got %s: %+v", j.Name, what, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) ended(j jobs.Job) jobs.Job {
	return e.wait(j, "to an end", func(j jobs.Job) bool { return j.Status.Terminal() })
}

func tarFiles(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if h.Typeflag == tar.TypeReg {
			out[h.Name] = string(body)
		}
	}
}

const trainScript = `set -e
test "$SM_CHANNELS" = '["train"]'
test "$SM_HP_NUM_ROUND" = 3
cat "$SM_CHANNEL_TRAIN/a.csv" "$SM_CHANNEL_TRAIN/sub/b.csv" > "$SM_MODEL_DIR/model.txt"
cp /opt/ml/input/config/hyperparameters.json "$SM_MODEL_DIR/hp.json"
for i in 0 1 2; do echo "[$i]#011train-rmse:0.$((9-i))"; done
echo "validation accuracy=0.75"
`

func TestTrainingJobCompletes(t *testing.T) {
	e := newEnv(t)
	e.img["trainer:1"] = trainScript
	e.art.put("data", "train/a.csv", "1,2\n")
	e.art.put("data", "train/sub/b.csv", "3,4\n")
	e.start()
	j := training("t1", "trainer:1")
	j.Spec.Metrics = []jobs.MetricDefinition{{Name: "train:rmse", Regex: `train-rmse:([0-9.]+)`}, {Name: "validation:accuracy", Regex: `accuracy=([0-9.]+)`}}
	j = e.create(j)
	got := e.ended(j)
	if got.Status != jobs.Completed || got.Secondary != jobs.SecCompleted {
		t.Fatalf("status %s/%s, failure %q", got.Status, got.Secondary, got.FailureReason)
	}
	var phases []string
	for _, tr := range got.Transitions {
		phases = append(phases, string(tr.Status))
		if tr.Status == jobs.Training && !(strings.Contains(tr.StatusMessage, " Limits of ml.") && strings.HasSuffix(tr.StatusMessage, ": nothing (test executor).")) {
			t.Errorf("the Training transition says %q, not what the executor enforces", tr.StatusMessage)
		}
		if tr.EndTime.IsZero() || tr.EndTime.Before(tr.StartTime) {
			t.Errorf("transition %s has times %v..%v", tr.Status, tr.StartTime, tr.EndTime)
		}
	}
	if want := "Starting Downloading Training Uploading Completed"; strings.Join(phases, " ") != want {
		t.Errorf("phases %v, want %s", phases, want)
	}
	metrics := map[string]float64{}
	for _, m := range got.Metrics {
		metrics[m.Name] = m.Value
	}
	if metrics["train:rmse"] != 0.7 || metrics["validation:accuracy"] != 0.75 {
		t.Errorf("metrics %v, want the last values train:rmse=0.7 validation:accuracy=0.75", metrics)
	}
	if got.ModelArtifacts != "s3://models/out/t1/output/model.tar.gz" {
		t.Errorf("ModelArtifacts = %q", got.ModelArtifacts)
	}
	b, ok := e.art.get("models", "out/t1/output/model.tar.gz")
	if !ok {
		t.Fatalf("no model.tar.gz; objects %v", e.art.keys("models", ""))
	}
	files := tarFiles(t, b)
	if files["model.txt"] != "1,2\n3,4\n" || !strings.Contains(files["hp.json"], `"num_round": "3"`) {
		t.Errorf("model.tar.gz holds %v", files)
	}
	if lines := e.logs.all("/aws/sagemaker/TrainingJobs"); len(lines) != 4 || lines[3] != "validation accuracy=0.75" {
		t.Errorf("log lines %q", lines)
	}
	d := got.Description()
	if d["TrainingJobStatus"] != "Completed" || d["BillableTimeInSeconds"] == nil || d["TrainingStartTime"] == nil {
		t.Errorf("description %v", d)
	}
	// The work directory goes once the job's end is committed.
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		_, err := os.Stat(filepath.Join(e.dir, "jobs", account, "training", "t1"))
		if os.IsNotExist(err) {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("the work directory is still there: %v", err)
		}
	}
}

func TestMaxRuntimeStopsTheJob(t *testing.T) {
	e := newEnv(t)
	e.img["sleeper"] = "echo started; sleep 30; echo done > $SM_MODEL_DIR/m"
	e.art.put("data", "train/a.csv", "1\n")
	e.start()
	j := training("slow", "sleeper")
	j.Spec.MaxRuntime = time.Second
	j = e.create(j)
	began := time.Now()
	got := e.ended(j)
	if got.Status != jobs.Stopped || got.Secondary != jobs.MaxRuntimeExceeded {
		t.Fatalf("status %s/%s (%q), want Stopped/MaxRuntimeExceeded", got.Status, got.Secondary, got.FailureReason)
	}
	if took := time.Since(began); took > 15*time.Second {
		t.Errorf("the job ran %v", took)
	}
	if keys := e.art.keys("models", ""); len(keys) != 0 {
		t.Errorf("a stopped job uploaded %v", keys)
	}
}

func TestStopStopsTheJob(t *testing.T) {
	e := newEnv(t)
	e.img["sleeper"] = "echo started; sleep 30"
	e.art.put("data", "train/a.csv", "1\n")
	e.start()
	j := e.create(training("stopme", "sleeper"))
	e.wait(j, "its workers started", func(j jobs.Job) bool { return len(j.Run.Handles) == 1 })
	if err := e.svc.Stop(context.Background(), e.calls, jobs.TrainingJob, "stopme"); err != nil {
		t.Fatal(err)
	}
	got := e.ended(j)
	if got.Status != jobs.Stopped || got.Secondary != jobs.SecStopped {
		t.Fatalf("status %s/%s", got.Status, got.Secondary)
	}
	if err := e.svc.Stop(context.Background(), e.calls, jobs.TrainingJob, "stopme"); !errs.Is(err, errs.Invalid) {
		t.Errorf("stopping a stopped job: %v, want ValidationException", err)
	}
}

// TestStopWhileUploading: a job stopped while it uploads its model (held there by the test until
// the stop is committed) ends Stopped — not Failed with an empty FailureReason — and names no
// model artifacts.
func TestStopWhileUploading(t *testing.T) {
	e := newEnv(t)
	e.img["quick"] = `echo model > "$SM_MODEL_DIR/model.txt"`
	e.art.put("data", "train/a.csv", "1\n")
	uploading, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e.art.beforePut = func(bucket, key string) {
		if bucket == "models" {
			once.Do(func() { close(uploading) })
			<-release
		}
	}
	e.start()
	var released sync.Once
	free := func() { released.Do(func() { close(release) }) }
	t.Cleanup(free) // before the runtime closes: a failed test must not leave the upload held
	j := e.create(training("stopupload", "quick"))
	select {
	case <-uploading:
	case <-time.After(30 * time.Second):
		t.Fatal("the job never uploaded")
	}
	if got := e.wait(j, "Uploading", func(j jobs.Job) bool { return j.Secondary == jobs.Uploading }); got.Status != jobs.InProgress {
		t.Fatalf("while uploading: %s", got.Status)
	}
	if err := e.svc.Stop(context.Background(), e.calls, jobs.TrainingJob, "stopupload"); err != nil {
		t.Fatalf("StopTrainingJob while Uploading: %v", err)
	}
	free()
	got := e.ended(j)
	if got.Status != jobs.Stopped || got.Secondary != jobs.SecStopped || got.FailureReason != "" || got.ModelArtifacts != "" {
		t.Fatalf("stopped while uploading: %s/%s reason %q artifacts %q; want Stopped/Stopped, no reason, no artifacts",
			got.Status, got.Secondary, got.FailureReason, got.ModelArtifacts)
	}
	var phases []string
	for _, tr := range got.Transitions {
		phases = append(phases, string(tr.Status))
	}
	if want := "Starting Downloading Training Uploading Stopping Stopped"; strings.Join(phases, " ") != want {
		t.Errorf("phases %s, want %s", strings.Join(phases, " "), want)
	}
}

func TestUnreadableInputFailsWithAccessDenied(t *testing.T) {
	e := newEnv(t)
	e.img["trainer:1"] = "touch /opt/ml/model/m"
	e.art.put("secret", "train/a.csv", "1\n")
	e.art.denyRead["secret"] = true
	e.start()
	j := training("denied", "trainer:1")
	j.Spec.Inputs[0].S3URI = "s3://secret/train/"
	got := e.ended(e.create(j))
	if got.Status != jobs.Failed || !strings.Contains(got.FailureReason, "AccessDenied") || !strings.Contains(got.FailureReason, role) {
		t.Fatalf("status %s, FailureReason %q", got.Status, got.FailureReason)
	}
	if e.exec.startsOf("") != 0 || len(got.Run.Handles) != 0 {
		t.Errorf("a worker started")
	}
}

func TestFailureFileIsTheFailureReason(t *testing.T) {
	e := newEnv(t)
	e.img["bad"] = "echo 'ValueError: column 3 of line 7 is not a number' > /opt/ml/output/failure; echo partial > $SM_MODEL_DIR/m; exit 2"
	e.img["crash"] = "echo something went wrong; exit 3"
	e.art.put("data", "train/a.csv", "1\n")
	e.start()
	got := e.ended(e.create(training("fails", "bad")))
	if got.Status != jobs.Failed || got.FailureReason != "AlgorithmError: ValueError: column 3 of line 7 is not a number" {
		t.Errorf("status %s, FailureReason %q", got.Status, got.FailureReason)
	}
	if got.ModelArtifacts != "" {
		t.Errorf("a failed job names model artifacts %q", got.ModelArtifacts)
	}
	got = e.ended(e.create(training("crashes", "crash")))
	if got.Status != jobs.Failed || !strings.Contains(got.FailureReason, "exited with code 3") || !strings.Contains(got.FailureReason, "something went wrong") {
		t.Errorf("status %s, FailureReason %q", got.Status, got.FailureReason)
	}
	if keys := e.art.keys("models", ""); len(keys) != 0 {
		t.Errorf("failed jobs uploaded %v", keys)
	}
	got = e.ended(e.create(training("noimage", "unknown:1")))
	if got.Status != jobs.Failed || !strings.Contains(got.FailureReason, "images.unknown:1") {
		t.Errorf("unknown image: status %s, FailureReason %q", got.Status, got.FailureReason)
	}
	j := training("untrusting", "bad")
	j.RoleARN = "arn:aws:iam::111122223333:role/untrusted"
	got = e.ended(e.create(j))
	if got.Status != jobs.Failed || !strings.Contains(got.FailureReason, "cannot assume the role") {
		t.Errorf("untrusting role: status %s, FailureReason %q", got.Status, got.FailureReason)
	}
}

// TestResumeAfterRestart stops the engine while a job runs, as a killed server would leave it
// (the worker runs on; its handle is in the store), and starts a new engine: it waits on the
// worker it finds and finishes the job; the worker started once.
func TestResumeAfterRestart(t *testing.T) {
	e := newEnv(t)
	marker := filepath.Join(e.dir, "starts")
	gate := filepath.Join(e.dir, "gate")
	e.img["once"] = "echo x >> " + marker + "; while [ ! -e " + gate + " ]; do sleep 0.05; done; echo loss=0.25; echo ok > $SM_MODEL_DIR/m"
	e.art.put("data", "train/a.csv", "1\n")
	e.start()
	j := training("resume", "once")
	j.Spec.Metrics = []jobs.MetricDefinition{{Name: "loss", Regex: `loss=([0-9.]+)`}}
	j = e.create(j)
	running := e.wait(j, "its workers started", func(j jobs.Job) bool { return len(j.Run.Handles) == 1 })
	e.stop()
	e.start()
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := e.ended(j)
	if got.Status != jobs.Completed || len(got.Metrics) != 1 || got.Metrics[0].Value != 0.25 {
		t.Fatalf("status %s (%q), metrics %v", got.Status, got.FailureReason, got.Metrics)
	}
	b, _ := os.ReadFile(marker)
	if n := strings.Count(string(b), "x"); n != 1 || got.Run.Restarted || got.Run.Attempt != 1 {
		t.Errorf("worker started %d times (restarted %v, attempt %d)", n, got.Run.Restarted, got.Run.Attempt)
	}
	if e.exec.startsOf(running.Run.Handles[0]) != 1 {
		t.Errorf("the executor started the worker %d times", e.exec.startsOf(running.Run.Handles[0]))
	}
}

// TestLostWorkerRestartsOnce: a worker the executor lost is started again once, recorded; lost
// again, the job fails.
func TestLostWorkerRestartsOnce(t *testing.T) {
	e := newEnv(t)
	gate := filepath.Join(e.dir, "gate")
	// A worker the test made the executor forget is still a process: it also ends when the
	// test's directory goes, so none outlives the test.
	e.img["waits"] = "while [ ! -e " + gate + " ] && [ -d " + e.dir + " ]; do sleep 0.05; done; echo ok > $SM_MODEL_DIR/m"
	e.art.put("data", "train/a.csv", "1\n")
	e.start()
	j := e.create(training("lost", "waits"))
	first := e.wait(j, "its workers started", func(j jobs.Job) bool { return len(j.Run.Handles) == 1 })
	e.stop()
	e.exec.mu.Lock()
	e.exec.forget[first.Run.Handles[0]] = true
	e.exec.mu.Unlock()
	e.start()
	second := e.wait(j, "a second attempt", func(j jobs.Job) bool { return j.Run.Attempt == 2 && len(j.Run.Handles) == 1 })
	if !second.Run.Restarted || second.Run.Handles[0] == first.Run.Handles[0] {
		t.Fatalf("run %+v", second.Run)
	}
	os.WriteFile(gate, nil, 0o644)
	if got := e.ended(j); got.Status != jobs.Completed {
		t.Fatalf("status %s (%q)", got.Status, got.FailureReason)
	}

	os.Remove(gate)
	j = e.create(training("lost2", "waits"))
	for attempt := 1; attempt <= 2; attempt++ {
		run := e.wait(j, "its workers started", func(j jobs.Job) bool { return j.Run.Attempt == attempt && len(j.Run.Handles) == 1 })
		e.stop()
		e.exec.mu.Lock()
		e.exec.forget[run.Run.Handles[0]] = true
		e.exec.mu.Unlock()
		e.start()
	}
	if got := e.ended(j); got.Status != jobs.Failed || !strings.Contains(got.FailureReason, "lost twice") {
		t.Fatalf("status %s (%q)", got.Status, got.FailureReason)
	}
	os.WriteFile(gate, nil, 0o644)
}

// TestShardedInputsAndProcessingOutputs: ShardedByS3Key gives each instance its share of the
// objects; each instance's output files are uploaded.
func TestShardedInputsAndProcessingOutputs(t *testing.T) {
	e := newEnv(t)
	e.img["prep"] = `set -e; for f in /opt/ml/processing/input/*.csv; do cp "$f" /opt/ml/processing/output/; done; ls /opt/ml/processing/input | tr '\n' ' '; echo`
	for _, k := range []string{"a", "b", "c", "d"} {
		e.art.put("data", "raw/"+k+".csv", k)
	}
	e.start()
	j := e.create(jobs.Job{Kind: jobs.ProcessingJob, Name: "prep1", RoleARN: role, Spec: jobs.Spec{
		Image: "prep", InstanceType: "ml.m5.large", InstanceCount: 2,
		Inputs:  []jobs.Input{{Name: "raw", S3URI: "s3://data/raw", Distribution: "ShardedByS3Key", LocalPath: "/opt/ml/processing/input"}},
		Outputs: []jobs.Output{{Name: "out", S3URI: "s3://data/prepared", LocalPath: "/opt/ml/processing/output"}},
	}})
	got := e.ended(j)
	if got.Status != jobs.Completed {
		t.Fatalf("status %s (%q)", got.Status, got.FailureReason)
	}
	if keys := e.art.keys("data", "prepared/"); strings.Join(keys, " ") != "prepared/a.csv prepared/b.csv prepared/c.csv prepared/d.csv" {
		t.Errorf("outputs %v", keys)
	}
	lines := e.logs.all("/aws/sagemaker/ProcessingJobs")
	if strings.Join(lines, "|") != "a.csv c.csv |b.csv d.csv " {
		t.Errorf("instances saw %q", lines)
	}
}

// TestManifestFileInput: a ManifestFile input stages exactly the objects its manifest lists
// (keys relative to its "prefix", sub-paths kept), and a manifest that is not one fails the
// job with a ClientError naming it.
func TestManifestFileInput(t *testing.T) {
	e := newEnv(t)
	e.img["prep"] = `set -e; cd /opt/ml/processing/input; find . -type f | sort | tr '\n' ' '; echo; cat sub/b.csv`
	for _, k := range []string{"a.csv", "sub/b.csv", "c.csv"} {
		e.art.put("data", "raw/"+k, "content of "+k)
	}
	e.art.put("data", "lists/two.manifest", `[{"prefix": "s3://data/raw/"}, "a.csv", "sub/b.csv"]`)
	e.art.put("data", "lists/bad.manifest", `{"prefix": "s3://data/raw/"}`)
	e.start()
	job := func(name, manifest string) jobs.Job {
		return e.create(jobs.Job{Kind: jobs.ProcessingJob, Name: name, RoleARN: role, Spec: jobs.Spec{
			Image: "prep", InstanceType: "ml.m5.large", InstanceCount: 1,
			Inputs: []jobs.Input{{Name: "raw", S3URI: "s3://data/lists/" + manifest, DataType: "ManifestFile", LocalPath: "/opt/ml/processing/input"}},
		}})
	}
	got := e.ended(job("listed", "two.manifest"))
	if got.Status != jobs.Completed {
		t.Fatalf("status %s (%q)", got.Status, got.FailureReason)
	}
	if lines := e.logs.all("/aws/sagemaker/ProcessingJobs"); strings.Join(lines, "|") != "./a.csv ./sub/b.csv |content of sub/b.csv" {
		t.Errorf("the job saw %q, want the two listed objects", lines)
	}
	got = e.ended(job("bad", "bad.manifest"))
	if got.Status != jobs.Failed || !strings.Contains(got.FailureReason, "ClientError: manifest s3://data/lists/bad.manifest") {
		t.Errorf("a manifest that is not a JSON array: %s %q", got.Status, got.FailureReason)
	}
}

// TestFailedUploadLeavesNoPartialOutputs: a processing job with two outputs whose role may write
// the first location but not the second fails, and the first location holds nothing of it (the
// upload takes back what it wrote); an object that was there before the job stays.
func TestFailedUploadLeavesNoPartialOutputs(t *testing.T) {
	e := newEnv(t)
	e.img["prep"] = `mkdir -p /opt/ml/processing/a /opt/ml/processing/b; echo 1 > /opt/ml/processing/a/x.csv; echo 2 > /opt/ml/processing/a/y.csv; echo 3 > /opt/ml/processing/b/z.csv`
	e.art.denyWrite["locked"] = true
	e.art.put("open", "out/before.csv", "kept")
	e.start()
	got := e.ended(e.create(jobs.Job{Kind: jobs.ProcessingJob, Name: "half", RoleARN: role, Spec: jobs.Spec{
		Image: "prep", InstanceType: "ml.m5.large", InstanceCount: 1,
		Outputs: []jobs.Output{
			{Name: "a", S3URI: "s3://open/out", LocalPath: "/opt/ml/processing/a"},
			{Name: "b", S3URI: "s3://locked/out", LocalPath: "/opt/ml/processing/b"},
		},
	}}))
	if got.Status != jobs.Failed || !strings.Contains(got.FailureReason, "s3://locked/out/z.csv") {
		t.Fatalf("status %s, reason %q; want Failed naming s3://locked/out/z.csv", got.Status, got.FailureReason)
	}
	if strings.Contains(got.FailureReason, "could not be removed") {
		t.Errorf("the reason says objects were left behind: %q", got.FailureReason)
	}
	if keys := e.art.keys("open", ""); strings.Join(keys, ",") != "out/before.csv" {
		t.Errorf("the first output location holds %v after the failed upload; want only the object from before the job", keys)
	}
}

// TestUnwritableOutputFailsWithAccessDenied: a job whose role may not write its output fails
// with AccessDenied in its FailureReason, naming the output.
func TestUnwritableOutputFailsWithAccessDenied(t *testing.T) {
	e := newEnv(t)
	e.img["prep"] = `echo result > /opt/ml/processing/output/r.csv`
	e.art.denyWrite["locked"] = true
	e.start()
	got := e.ended(e.create(jobs.Job{Kind: jobs.ProcessingJob, Name: "nowrite", RoleARN: role, Spec: jobs.Spec{
		Image: "prep", InstanceType: "ml.m5.large", InstanceCount: 1,
		Outputs: []jobs.Output{{Name: "out", S3URI: "s3://locked/out", LocalPath: "/opt/ml/processing/output"}},
	}}))
	if got.Status != jobs.Failed || !strings.Contains(got.FailureReason, "AccessDenied") || !strings.Contains(got.FailureReason, "s3://locked/out/r.csv") {
		t.Errorf("status %s, reason %q; want Failed with AccessDenied on s3://locked/out/r.csv", got.Status, got.FailureReason)
	}
	if keys := e.art.keys("locked", ""); len(keys) != 0 {
		t.Errorf("the denied output holds %v", keys)
	}
}

// TestPhasesWithNothingToDoStillShow: a processing job with nothing to download or upload
// passes through Downloading and Uploading in the transactions of its neighbours, yet shows
// every phase, with times, and emits one state change event per phase, in order.
func TestPhasesWithNothingToDoStillShow(t *testing.T) {
	e := newEnv(t)
	e.img["noop"] = `echo done`
	e.start()
	got := e.ended(e.create(jobs.Job{Kind: jobs.ProcessingJob, Name: "noop1", RoleARN: role, Spec: jobs.Spec{
		Image: "noop", InstanceType: "ml.m5.large", InstanceCount: 1,
	}}))
	if got.Status != jobs.Completed {
		t.Fatalf("status %s, reason %q", got.Status, got.FailureReason)
	}
	var phases []string
	for i, tr := range got.Transitions {
		phases = append(phases, string(tr.Status))
		if tr.EndTime.IsZero() || tr.EndTime.Before(tr.StartTime) {
			t.Errorf("transition %s has times %v..%v", tr.Status, tr.StartTime, tr.EndTime)
		}
		if i > 0 && tr.StartTime.Before(got.Transitions[i-1].EndTime) {
			t.Errorf("transition %s starts before the one before it ends", tr.Status)
		}
	}
	if want := "Starting Downloading Training Uploading Completed"; strings.Join(phases, " ") != want {
		t.Errorf("phases %v, want %s", phases, want)
	}
	if lines := e.logs.all("/aws/sagemaker/ProcessingJobs"); strings.Join(lines, "|") != "done" {
		t.Errorf("log lines %q", lines)
	}
	evs, err := e.st.Events().EventsAfter(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, ev := range evs {
		var d struct {
			ProcessingJobStatus string
			ProcessingEndTime   *time.Time
		}
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatal(err)
		}
		end := ""
		if d.ProcessingEndTime != nil {
			end = "(ended)"
		}
		seen = append(seen, d.ProcessingJobStatus+end)
	}
	// Starting (the create), Downloading, Training, Uploading, Completed.
	if want := "InProgress InProgress InProgress InProgress Completed(ended)"; strings.Join(seen, " ") != want {
		t.Errorf("events %v, want %s", seen, want)
	}
}
