package jobs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// EngineConfig holds the engine's collaborators. Credentials and Models may be nil: workers
// then get no credentials, and transform jobs fail for want of models. Without Artifacts,
// Executor or Images every job fails with a reason that says so; without Logs the workers'
// lines are not kept.
type EngineConfig struct {
	Service     *Service
	Store       Store
	Sessions    Sessions
	Artifacts   Artifacts
	Executor    Executor
	Logs        Logs
	Images      Images
	Credentials Credentials
	Models      Models
	DataDir     string        // work directories live under DataDir/jobs
	Poll        time.Duration // how often a running job's state is looked at (500 ms)
	Grace       time.Duration // between SIGTERM and SIGKILL when stopping (10 s)
	Log         *slog.Logger
}

// Engine runs jobs: a reconcile.Reconciler keyed by job ARN.
type Engine struct {
	c EngineConfig
}

var _ reconcile.Reconciler = (*Engine)(nil)

// NewEngine returns an engine.
func NewEngine(c EngineConfig) *Engine {
	if c.Poll <= 0 {
		c.Poll = 500 * time.Millisecond
	}
	if c.Grace <= 0 {
		c.Grace = 10 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	c.Log = c.Log.With("component", "jobs")
	return &Engine{c: c}
}

// failure is a job's end in failure, with the reason Describe shows.
type failure struct{ reason string }

func (f *failure) Error() string { return f.reason }

func fail(format string, args ...any) error { return &failure{reason: fmt.Sprintf(format, args...)} }

// errStopRequested ends the preparation of a job asked to stop before its workers started.
var errStopRequested = errors.New("the job was asked to stop")

// Reconcile brings the job named by key (its ARN) forward: it stages and starts a new job,
// re-attaches to the workers of a started one, and finishes it when they end.
func (e *Engine) Reconcile(ctx context.Context, key string) (reconcile.Result, error) {
	account, kind, name, ok := ParseKey(key)
	if !ok {
		return reconcile.Result{Forget: true}, nil
	}
	j, err := e.c.Store.GetJob(ctx, account, kind, name)
	if errs.Is(err, errs.NotFound) {
		return reconcile.Result{Forget: true}, nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	if j.Status.Terminal() {
		e.cleanup(ctx, j)
		return reconcile.Result{Forget: true}, nil
	}
	err = e.run(ctx, &j)
	var f *failure
	switch {
	case errors.As(err, &f):
		err = e.end(ctx, &j, SecFailed, f.reason)
	case errors.Is(err, errStopRequested):
		err = e.end(ctx, &j, SecStopped, "")
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	if !j.Status.Terminal() {
		return reconcile.Result{RequeueAfter: e.c.Poll}, nil
	}
	e.cleanup(ctx, j)
	return reconcile.Result{Forget: true}, nil
}

// run moves a job on until its workers end and it is finished, or until ctx is done.
func (e *Engine) run(ctx context.Context, j *Job) error {
	if len(j.Run.Handles) == 0 {
		if j.StopRequested {
			return e.end(ctx, j, SecStopped, "")
		}
		if err := e.prepare(ctx, j); err != nil {
			return err
		}
	}
	return e.watch(ctx, j)
}

// update changes the job in one transaction under the reconcile lease's fence: fn is applied
// to the job as stored (a Stop call may have changed it since it was read), and a change of
// state sends the job's state change event. On success *j is the job as committed.
func (e *Engine) update(ctx context.Context, j *Job, fn func(j *Job) error) error {
	fence, fenced := reconcile.FenceFrom(ctx)
	actx, _ := audit.ForEngine(ctx, audit.Record{
		Time: e.c.Service.now(), Account: j.Account, PrincipalARN: ServicePrincipal, UserAgent: ServicePrincipal,
		Service: "sagemaker", Operation: "Update" + j.Kind.Noun(), Resource: j.ARN, Decision: "allow",
		Reason: "the jobs engine records the job's progress",
	})
	var out Job
	err := e.c.Store.Update(actx, func(tx Tx) error {
		if fenced {
			if err := tx.CheckFence(actx, fence); err != nil {
				return err
			}
		}
		cur, err := tx.LockJob(actx, j.Account, j.Kind, j.Name)
		if err != nil {
			return err
		}
		before, moves := cur.Secondary, len(cur.Transitions)
		if err := fn(&cur); err != nil {
			return err
		}
		cur.ModifiedAt = e.c.Service.now()
		if err := tx.UpdateJob(actx, cur); err != nil {
			return err
		}
		if cur.Secondary != before {
			// fn may have moved the job through more than one phase (a job with nothing to
			// stage or upload): each phase passed through still gets its event, in order.
			for _, passed := range passedThrough(cur, moves) {
				if err := e.appendEvent(actx, tx, passed); err != nil {
					return err
				}
			}
			if err := e.appendEvent(actx, tx, cur); err != nil {
				return err
			}
			if err := wakeWaiter(actx, tx, cur, before, e.c.Service); err != nil {
				return err
			}
		}
		out = cur
		return nil
	})
	if err != nil {
		return err
	}
	*j = out
	return nil
}

func (e *Engine) appendEvent(ctx context.Context, tx Tx, j Job) error {
	ev, err := e.c.Service.event(j)
	if err != nil {
		return err
	}
	return tx.AppendEvent(ctx, ev)
}

// passedThrough returns the job as it was in each phase it entered after its first moves
// transitions and left again in the same change (all but the last of the new transitions).
func passedThrough(j Job, moves int) []Job {
	if moves < 0 || len(j.Transitions)-moves < 2 {
		return nil
	}
	var out []Job
	for i := moves; i < len(j.Transitions)-1; i++ {
		p := j
		p.Transitions = append([]Transition(nil), j.Transitions[:i+1]...)
		p.Transitions[i].EndTime = time.Time{}
		p.Secondary, p.Status = j.Transitions[i].Status, j.Transitions[i].Status.Status()
		p.EndedAt, p.FailureReason = time.Time{}, ""
		out = append(out, p)
	}
	return out
}

// advance moves the job to phase to, unless it is there or past it already (a restarted
// attempt goes through its steps again).
func (e *Engine) advance(ctx context.Context, j *Job, to Secondary, message string, also func(j *Job)) error {
	return e.advanceVia(ctx, j, nil, to, message, also)
}

// phase is a phase to move through and its transition's message.
type phase struct {
	to      Secondary
	message string
}

// advanceVia is advance through the phases via first, in the same transaction (each with its
// event): the phases of a job with nothing to do in them cost no transaction of their own.
func (e *Engine) advanceVia(ctx context.Context, j *Job, via []phase, to Secondary, message string, also func(j *Job)) error {
	return e.update(ctx, j, func(cur *Job) error {
		if cur.StopRequested && (len(cur.Run.Handles) == 0 || to == Uploading) {
			// Before the workers started, or after they ended (a stop that came as they
			// exited, before the engine saw it): nothing more is done; the job ends Stopped.
			return errStopRequested
		}
		for _, p := range append(via, phase{to, message}) {
			if cur.Secondary.CanMoveTo(p.to) {
				if err := e.c.Service.move(cur, p.to, p.message); err != nil {
					return err
				}
			}
		}
		if also != nil {
			also(cur)
		}
		return nil
	})
}

// end finishes the job in phase to (SecCompleted, SecFailed, SecStopped, MaxRuntimeExceeded).
func (e *Engine) end(ctx context.Context, j *Job, to Secondary, reason string) error {
	return e.endVia(ctx, j, nil, to, reason, nil)
}

// endVia is end, moving first through the phases via (when it ends SecCompleted) and
// applying also, in the same transaction.
func (e *Engine) endVia(ctx context.Context, j *Job, via []phase, to Secondary, reason string, also func(j *Job)) error {
	err := e.update(ctx, j, func(cur *Job) error {
		if cur.Secondary.Terminal() {
			return nil
		}
		if also != nil {
			also(cur)
		}
		if to == SecCompleted && cur.StopRequested && len(via) > 0 {
			// Asked to stop as the workers ended (advance's rule for Uploading).
			to, via = SecStopped, nil
		}
		for _, p := range via {
			if cur.Secondary.CanMoveTo(p.to) {
				if err := e.c.Service.move(cur, p.to, p.message); err != nil {
					return err
				}
			}
		}
		if to == MaxRuntimeExceeded || to == SecStopped {
			if cur.Secondary != SecStopping {
				if err := e.c.Service.move(cur, SecStopping, "Stopping the job"); err != nil {
					return err
				}
			}
		}
		msg := map[Secondary]string{SecCompleted: "Job completed", SecFailed: "Job failed", SecStopped: "Job stopped",
			MaxRuntimeExceeded: "Job stopped: it ran longer than StoppingCondition.MaxRuntimeInSeconds"}[to]
		if to == SecCompleted && cur.Secondary == SecStopping {
			// Stopped while uploading: the upload finished, the job ends as asked.
			to, msg = SecStopped, "Job stopped"
		}
		if !cur.Secondary.CanMoveTo(to) {
			// Never with an empty reason: whoever reads a Failed job learns why.
			why := fmt.Sprintf("InternalServerError: the job could not end %s from %s", to, cur.Secondary)
			if reason != "" {
				why += ": " + reason
			}
			reason = why
			to, msg = SecFailed, "Job failed"
		}
		if err := e.c.Service.move(cur, to, msg); err != nil {
			return err
		}
		if to == SecFailed {
			cur.FailureReason = truncate(reason, 1024)
		}
		if to != SecCompleted && cur.Kind == TrainingJob {
			cur.ModelArtifacts = "" // nothing was uploaded
		}
		return nil
	})
	if err == nil && e.c.Credentials != nil && j.Run.Token != "" {
		if rerr := e.c.Credentials.Revoke(context.WithoutCancel(ctx), j.Run.Token); rerr != nil {
			e.c.Log.Warn("cannot revoke a job's credentials", "job", j.ARN, "err", rerr)
		}
	}
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// workDir is the job's work directory; instance i's /opt/ml is workDir/algo-<i+1>.
func (e *Engine) workDir(j Job) string {
	return filepath.Join(e.c.DataDir, "jobs", j.Account, string(j.Kind), j.Name)
}

func host(i int) string { return fmt.Sprintf("algo-%d", i+1) }

// cleanup removes a finished job's work directory.
func (e *Engine) cleanup(ctx context.Context, j Job) {
	if err := os.RemoveAll(e.workDir(j)); err != nil {
		e.c.Log.Warn("cannot remove a job's work directory", "job", j.ARN, "err", err)
	}
}

// prepare stages the job's inputs as its role, writes its configuration, and starts its
// workers, recording the attempt before the start and the handles after it.
func (e *Engine) prepare(ctx context.Context, j *Job) error {
	if e.c.Artifacts == nil || e.c.Executor == nil || e.c.Images == nil {
		return fail("InternalServerError: this server cannot run jobs: it has no artifact store, executor or image table configured")
	}
	role := j.RoleARN
	var model Model
	if j.Kind == TransformJob {
		if e.c.Models == nil {
			return fail("ClientError: models are not available on this server, so transform job %s cannot run model %s", j.Name, j.Spec.Transform.ModelName)
		}
		m, err := e.c.Models.Model(ctx, j.Account, j.Spec.Transform.ModelName)
		if errs.Is(err, errs.NotFound) {
			return fail("ClientError: model %s does not exist", j.Spec.Transform.ModelName)
		}
		if err != nil {
			return err
		}
		model, role = m, m.RoleARN
		j.Spec.Image = m.Image
	}
	caller, err := e.c.Sessions.EngineSession(ctx, role, ServicePrincipal)
	if errs.Is(err, errs.AccessDenied) || errs.Is(err, errs.Invalid) {
		return fail("ClientError: SageMaker cannot assume the role %s: %s", role, errs.Message(err))
	}
	if err != nil {
		return err
	}
	rt, err := e.c.Images.Resolve(j.Spec.Image, j.Kind, j.Spec)
	if err != nil {
		return fail("ClientError: %s", errs.Message(err))
	}
	// A job with nothing to download passes through Downloading in the transaction that
	// records its attempt: the phase has no work to show, and a transaction less per job
	// counts in a pipeline of many small steps.
	downloading := []phase{{Downloading, "Downloading input data"}}
	if len(j.Spec.Inputs) > 0 || j.Kind == TransformJob {
		if err := e.advance(ctx, j, Downloading, "Downloading input data", nil); err != nil {
			return err
		}
		downloading = nil
	}
	dir := e.workDir(*j)
	n := j.Spec.InstanceCount
	// An attempt on record may have workers running already (the server died between
	// recording it and saving their handles): they write into this directory, so it is kept
	// as staged, and starting the same IDs below re-attaches to them.
	if j.Run.AttemptID == "" {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		for i := range n {
			if err := makeLayout(filepath.Join(dir, host(i)), *j); err != nil {
				return err
			}
		}
		if j.Kind == TransformJob && model.ModelDataURL != "" {
			if err := e.stageModel(ctx, caller, *j, dir, model.ModelDataURL); err != nil {
				return err
			}
		}
		if err := e.stage(ctx, caller, *j, dir); err != nil {
			return err
		}
	}
	cpus, memory, _ := InstanceResources(j.Spec.InstanceType)
	token := j.Run.Token
	var credEnv map[string]string
	if e.c.Credentials != nil {
		if token == "" {
			maxRT := j.Spec.MaxRuntime
			if maxRT == 0 {
				maxRT = DefaultMaxRuntime
			}
			token, err = e.c.Credentials.Issue(ctx, Grant{Account: j.Account, RoleARN: role, SessionName: "SageMaker", Source: j.ARN,
				Expires: e.c.Service.now().Add(maxRT + time.Hour)})
			if err != nil {
				return err
			}
		}
		credEnv = e.c.Credentials.Env(token)
	}
	specs := make([]ExecSpec, n)
	for i := range n {
		env := workerEnv(*j, i, cpus, rt.Env, model.Environment)
		for k, v := range credEnv {
			env[k] = v
		}
		cmd := append(append([]string(nil), rt.Command...), j.Spec.Arguments...)
		switch {
		case rt.Complete:
			cmd = append([]string(nil), rt.Command...)
		case len(j.Spec.Entrypoint) > 0:
			cmd = append(append([]string(nil), j.Spec.Entrypoint...), j.Spec.Arguments...)
		}
		if len(cmd) == 0 {
			return fail("ClientError: image %s has no command to run", j.Spec.Image)
		}
		if !filepath.IsAbs(cmd[0]) {
			// A ContainerEntrypoint names its interpreter as a container would ("python3"):
			// the executor wants a host path.
			p, err := exec.LookPath(cmd[0])
			if err != nil {
				return fail("ClientError: the entrypoint %s is not a program on this server's PATH", cmd[0])
			}
			cmd[0] = p
		}
		specs[i] = ExecSpec{Dir: filepath.Join(dir, host(i)), Command: cmd, Env: env, CPUs: cpus, Memory: memory}
	}
	// Record the attempt before starting anything: a server that dies from here on finds it
	// and starts the same IDs, which re-attaches, instead of starting a second copy.
	now := e.c.Service.now()
	streams := make([]string, n)
	for i := range n {
		streams[i] = fmt.Sprintf("%s/%s-%d", j.Name, host(i), now.Unix())
		if j.Kind == TransformJob {
			streams[i] = j.Name + "/" + host(i)
		}
	}
	// The message says what of the instance type's limits the executor enforces: DescribeTrainingJob
	// shows it in SecondaryStatusTransitions.
	message := map[Kind]string{TrainingJob: "Training image download completed. Training in progress.",
		ProcessingJob: "Processing in progress.", TransformJob: "Transform in progress."}[j.Kind]
	if enforced := e.c.Executor.Enforced(); enforced != "" {
		message += " Limits of " + j.Spec.InstanceType + ": " + enforced + "."
	}
	err = e.advanceVia(ctx, j, downloading, Training, message, func(cur *Job) {
		if cur.Run.AttemptID == "" {
			cur.Run.Attempt++
			cur.Run.AttemptID = fmt.Sprintf("%s-%s-%s-%d", cur.Account, cur.Kind, cur.Name, cur.Run.Attempt)
			cur.Run.Streams = streams
			cur.Run.LogLines = make([]int, n)
		}
		cur.Run.Dir, cur.Run.Token = dir, token
		if cur.StartedAt.IsZero() {
			cur.StartedAt = now
		}
		cur.Enforced = e.c.Executor.Enforced()
	})
	if err != nil {
		return err
	}
	handles := make([]string, n)
	for i := range n {
		specs[i].ID = fmt.Sprintf("%s-%s", j.Run.AttemptID, host(i))
		h, err := e.c.Executor.Start(ctx, specs[i])
		if err != nil {
			for _, started := range handles[:i] {
				e.c.Executor.Stop(context.WithoutCancel(ctx), started, 0)
			}
			return fail("InternalServerError: cannot start worker %s: %v", host(i), err)
		}
		handles[i] = h
	}
	return e.update(ctx, j, func(cur *Job) error { cur.Run.Handles = handles; return nil })
}

// makeLayout makes SageMaker's /opt/ml directories of one instance under root.
func makeLayout(root string, j Job) error {
	dirs := []string{"input/data", "input/config", "model", "output/data", "code", "config"}
	for _, o := range j.Spec.Outputs {
		dirs = append(dirs, strings.TrimPrefix(o.LocalPath, "/opt/ml/"))
	}
	for _, in := range j.Spec.Inputs {
		if in.LocalPath != "" {
			dirs = append(dirs, strings.TrimPrefix(in.LocalPath, "/opt/ml/"))
		} else {
			dirs = append(dirs, "input/data/"+in.Name)
		}
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(d)), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// logState is what the log copiers of a watch share.
type logState struct {
	mu      sync.Mutex
	lines   []int
	tail    [][]string // the last lines of each instance, for a failure's reason
	metrics []Metric
	changed bool
}

// watch waits for the job's workers, copying their logs, enforcing the run time limit and
// acting on a stop request, then finishes the job.
func (e *Engine) watch(ctx context.Context, j *Job) error {
	n := len(j.Run.Handles)
	st := &logState{lines: append([]int(nil), j.Run.LogLines...), tail: make([][]string, n), metrics: append([]Metric(nil), j.Metrics...)}
	for len(st.lines) < n {
		st.lines = append(st.lines, 0)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		i    int
		exit Exit
		err  error
	}
	results := make(chan result, n)
	var copiers sync.WaitGroup
	scanner := newMetricScanner(j.Spec.Metrics)
	job := *j // the copiers read this copy: the engine goes on updating *j while they run
	for i, h := range j.Run.Handles {
		copiers.Add(1)
		go func() {
			defer copiers.Done()
			e.copyLogs(wctx, job, i, h, st, scanner)
		}()
		go func() {
			exit, err := e.c.Executor.Wait(wctx, h)
			results <- result{i, exit, err}
		}()
	}
	maxRT := j.Spec.MaxRuntime
	if maxRT == 0 {
		maxRT = DefaultMaxRuntime
	}
	deadline := j.StartedAt.Add(maxRT)
	exits := make([]Exit, n)
	var lost error
	stopping, limit := false, false
	tick := time.NewTicker(e.c.Poll)
	defer tick.Stop()
	lastSave := time.Now()
	for done := 0; done < n; {
		select {
		case r := <-results:
			done++
			if r.err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				lost = fmt.Errorf("worker %s: %w", host(r.i), r.err)
			}
			exits[r.i] = r.exit
			continue
		case <-ctx.Done():
			// Shutdown or a lost lease: the workers run on, and whoever reconciles the job
			// next waits on the handles it finds.
			e.saveProgress(context.WithoutCancel(ctx), j, st)
			return ctx.Err()
		case <-tick.C:
		}
		if !stopping {
			cur, err := e.c.Store.GetJob(ctx, j.Account, j.Kind, j.Name)
			if err == nil && cur.StopRequested {
				stopping = true
			}
			if !stopping && !e.c.Service.now().Before(deadline) {
				stopping, limit = true, true
				if err := e.advance(ctx, j, SecStopping, "Stopping the job: it reached StoppingCondition.MaxRuntimeInSeconds", nil); err != nil {
					return err
				}
			}
			if stopping {
				for _, h := range j.Run.Handles {
					if err := e.c.Executor.Stop(ctx, h, e.c.Grace); err != nil {
						e.c.Log.Warn("cannot stop a worker", "job", j.ARN, "err", err)
					}
				}
			}
		}
		if time.Since(lastSave) > 5*time.Second {
			e.saveProgress(ctx, j, st)
			lastSave = time.Now()
		}
	}
	// The workers ended: their logs end too. Copy what remains (bounded), then finish.
	if lost != nil {
		cancel() // a lost worker's log may never end
	}
	drained := make(chan struct{})
	go func() { copiers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(10 * time.Second):
		cancel()
		<-drained
	}
	st.mu.Lock()
	lines, metrics, tails := append([]int(nil), st.lines...), append([]Metric(nil), st.metrics...), st.tail
	st.mu.Unlock()
	saveLogs := func(cur *Job) { cur.Run.LogLines, cur.Metrics = lines, metrics }
	succeeded := lost == nil && !stopping
	for _, x := range exits {
		succeeded = succeeded && x.Code == 0 && x.Signal == "" && !x.OOMKilled
	}
	if !succeeded {
		if err := e.update(ctx, j, func(cur *Job) error { saveLogs(cur); return nil }); err != nil {
			return err
		}
	}
	switch {
	case lost != nil && !stopping:
		return e.lost(ctx, j, lost)
	case limit:
		return e.end(ctx, j, MaxRuntimeExceeded, "")
	case stopping:
		return e.end(ctx, j, SecStopped, "")
	}
	for i, x := range exits {
		if x.Code != 0 || x.Signal != "" || x.OOMKilled {
			return fail("%s", e.failureReason(*j, i, x, tails[i]))
		}
	}
	uploading := phase{Uploading, "Uploading generated training model"}
	if j.Kind == ProcessingJob && len(j.Spec.Outputs) == 0 {
		// Nothing to upload: the logs' progress, Uploading and the end commit together.
		return e.endVia(ctx, j, []phase{uploading}, SecCompleted, "", saveLogs)
	}
	if err := e.advance(ctx, j, Uploading, uploading.message, saveLogs); err != nil {
		if errors.Is(err, errStopRequested) {
			// Stopped as the workers ended: the job ends Stopped, with its logs' progress.
			if err := e.update(ctx, j, func(cur *Job) error { saveLogs(cur); return nil }); err != nil {
				return err
			}
		}
		return err
	}
	if err := e.upload(ctx, j); err != nil {
		return err
	}
	return e.end(ctx, j, SecCompleted, "")
}

// lost handles workers that vanished (the executor lost them): they are started again once;
// lost again, the job fails.
func (e *Engine) lost(ctx context.Context, j *Job, cause error) error {
	if j.Run.Restarted {
		return fail("InternalServerError: the job's workers were lost twice (%v)", cause)
	}
	e.c.Log.Warn("a job's worker was lost; starting the job's workers again, once", "job", j.ARN, "err", cause)
	for _, h := range j.Run.Handles {
		e.c.Executor.Stop(context.WithoutCancel(ctx), h, 0)
	}
	err := e.update(ctx, j, func(cur *Job) error {
		cur.Run.Restarted, cur.Run.Handles, cur.Run.AttemptID = true, nil, ""
		return nil
	})
	if err != nil {
		return err
	}
	return e.run(ctx, j)
}

// failureReason is why a worker failed: its output/failure file, else its exit and last lines.
func (e *Engine) failureReason(j Job, i int, x Exit, tail []string) string {
	prefix := "AlgorithmError: "
	if j.Kind != TrainingJob {
		prefix = ""
	}
	b, err := os.ReadFile(filepath.Join(j.Run.Dir, host(i), "output", "failure"))
	if err == nil && strings.TrimSpace(string(b)) != "" {
		return prefix + strings.TrimSpace(string(b))
	}
	how := fmt.Sprintf("exited with code %d", x.Code)
	switch {
	case x.OOMKilled:
		how = "was killed for using more memory than its instance type allows"
	case x.Signal != "":
		how = "was killed by signal " + x.Signal
	}
	msg := fmt.Sprintf("%s%s %s", prefix, host(i), how)
	if x.Reason != "" {
		msg += " (" + x.Reason + ")"
	}
	if len(tail) > 0 {
		msg += ". Last log lines: " + strings.Join(tail, " | ")
	}
	return msg
}

// saveProgress records the log lines copied and the metrics found so far.
func (e *Engine) saveProgress(ctx context.Context, j *Job, st *logState) {
	st.mu.Lock()
	if !st.changed {
		st.mu.Unlock()
		return
	}
	lines, metrics := append([]int(nil), st.lines...), append([]Metric(nil), st.metrics...)
	st.changed = false
	st.mu.Unlock()
	if err := e.update(ctx, j, func(cur *Job) error { cur.Run.LogLines, cur.Metrics = lines, metrics; return nil }); err != nil {
		e.c.Log.Warn("cannot record a job's progress", "job", j.ARN, "err", err)
	}
}

// copyLogs copies instance i's log lines, from the first not copied yet, to the logs service,
// scanning them for metrics.
func (e *Engine) copyLogs(ctx context.Context, j Job, i int, h string, st *logState, sc *metricScanner) {
	if e.c.Logs == nil {
		return
	}
	rc, err := e.c.Executor.Logs(ctx, h, true)
	if err != nil {
		e.c.Log.Warn("cannot read a worker's logs", "job", j.ARN, "err", err)
		return
	}
	defer rc.Close()
	go func() { <-ctx.Done(); rc.Close() }()
	st.mu.Lock()
	skip := st.lines[i]
	st.mu.Unlock()
	stream := j.Name + "/" + host(i)
	if i < len(j.Run.Streams) {
		stream = j.Run.Streams[i]
	}
	source := j.Run.AttemptID + "-" + host(i) // the worker's executor id: one per attempt
	r := bufio.NewReaderSize(rc, 64<<10)
	var batch []LogEvent
	first := skip // the position of batch[0] in the worker's output
	flush := func() {
		if len(batch) == 0 {
			return
		}
		// The logs skip the lines of this attempt's instance they hold already: st.lines,
		// recorded now and then, may lag behind them (a server killed between an append and
		// the next save) without a line landing twice.
		if err := e.c.Logs.AppendLines(context.WithoutCancel(ctx), j.Account, j.Kind.LogGroup(), stream, source, first, batch); err != nil {
			e.c.Log.Warn("cannot store a job's log lines", "job", j.ARN, "err", err)
		}
		st.mu.Lock()
		st.lines[i] += len(batch)
		st.changed = true
		st.mu.Unlock()
		first += len(batch)
		batch = batch[:0]
	}
	seen := 0
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			seen++
			if seen > skip {
				line = strings.TrimRight(line, "\r\n")
				now := e.c.Service.now()
				batch = append(batch, LogEvent{Timestamp: now, Message: line})
				st.mu.Lock()
				st.metrics, _ = sc.scan(line, now, st.metrics)
				t := append(st.tail[i], truncate(line, 200))
				if len(t) > 5 {
					t = t[len(t)-5:]
				}
				st.tail[i] = t
				st.mu.Unlock()
				if len(batch) >= 100 || r.Buffered() == 0 {
					flush()
				}
			}
		}
		if err != nil {
			break
		}
	}
	flush()
}
