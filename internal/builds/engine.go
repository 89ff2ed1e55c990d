package builds

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/builds/buildspec"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// EngineConfig holds the engine's collaborators.
type EngineConfig struct {
	Service     *Service
	Store       Store
	Sessions    Sessions
	Artifacts   Artifacts
	Executor    Executor
	Logs        Logs
	Credentials Credentials
	// DataDir holds the builds' work directories (DataDir/builds/UUID).
	DataDir string
	// PathDirs are put first on the builds' PATH (the slipway binary's directory).
	PathDirs []string
	Poll     time.Duration
	Grace    time.Duration
	Log      *slog.Logger
}

// Engine runs builds: a reconcile.Reconciler keyed by WorkKey.
type Engine struct{ c EngineConfig }

var _ reconcile.Reconciler = (*Engine)(nil)

// NewEngine returns an engine.
func NewEngine(c EngineConfig) *Engine {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Poll <= 0 {
		c.Poll = 200 * time.Millisecond
	}
	if c.Grace <= 0 {
		c.Grace = 2 * time.Second
	}
	c.Log = c.Log.With("component", "builds")
	return &Engine{c: c}
}

// Resume returns the builds not yet ended, for the runtime to reconcile at start.
func (e *Engine) Resume(ctx context.Context) ([]string, error) { return e.c.Store.ActiveBuilds(ctx) }

// The engine's steps: download the source, the four phases, upload, finalize.
var steps = []string{PhaseDownloadSource, PhaseInstall, PhasePreBuild, PhaseBuild, PhasePostBuild, PhaseUploadArtifacts, PhaseFinalizing}

var specPhase = map[string]string{PhaseInstall: buildspec.Install, PhasePreBuild: buildspec.PreBuild, PhaseBuild: buildspec.Build, PhasePostBuild: buildspec.PostBuild}

// failure is a build's end decided by what it ran (not an engine error).
type failure struct {
	status Status
	code   string
	msg    string
}

// Reconcile runs a build to its end, resuming from the step it stands at.
func (e *Engine) Reconcile(ctx context.Context, key string) (reconcile.Result, error) {
	account, id, ok := ParseWorkKey(key)
	if !ok {
		return reconcile.Result{Forget: true}, nil
	}
	b, err := e.c.Store.GetBuild(ctx, account, id)
	if errs.Is(err, errs.NotFound) {
		return reconcile.Result{Forget: true}, nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	for !b.Status.Terminal() {
		if b.StopRequested && b.Run.Handle == "" {
			return reconcile.Result{}, e.end(ctx, &b, &failure{status: Stopped, code: "BUILD_STOPPED", msg: "the build was stopped"})
		}
		if e.now().After(e.deadline(b)) && b.Run.Handle == "" {
			return reconcile.Result{}, e.end(ctx, &b, &failure{status: TimedOut, code: "BUILD_TIMED_OUT", msg: fmt.Sprintf("the build exceeded its timeout of %d minutes", b.TimeoutInMinutes)})
		}
		step := steps[min(b.Run.Step, len(steps)-1)]
		var f *failure
		switch step {
		case PhaseDownloadSource:
			f, err = e.download(ctx, &b)
		case PhaseUploadArtifacts:
			f, err = e.upload(ctx, &b)
		case PhaseFinalizing:
			return reconcile.Result{}, e.end(ctx, &b, nil)
		default:
			f, err = e.phase(ctx, &b, step)
		}
		if err != nil {
			return reconcile.Result{}, err
		}
		if f != nil && (f.status != Failed || step == PhaseDownloadSource || step == PhaseUploadArtifacts) {
			return reconcile.Result{}, e.end(ctx, &b, f)
		}
	}
	return reconcile.Result{Forget: true}, nil
}

func (e *Engine) now() time.Time { return e.c.Service.nowTime() }

func (e *Engine) deadline(b Build) time.Time {
	return b.StartTime.Add(time.Duration(b.TimeoutInMinutes) * time.Minute)
}

// save writes the build under the reconcile lease's fence.
func (e *Engine) save(ctx context.Context, b *Build) error {
	return e.c.Store.Update(ctx, func(tx Tx) error {
		if f, ok := reconcile.FenceFrom(ctx); ok {
			if err := tx.CheckFence(ctx, f); err != nil {
				return err
			}
		}
		cur, err := tx.LockBuild(ctx, b.Account, b.ID)
		if err != nil {
			return err
		}
		b.StopRequested = b.StopRequested || cur.StopRequested
		return tx.UpdateBuild(ctx, *b)
	})
}

// enter records the start of a phase (once).
func (e *Engine) enter(ctx context.Context, b *Build, phase string) error {
	if n := len(b.Phases); n > 0 && b.Phases[n-1].Type == phase {
		return nil
	}
	if n := len(b.Phases); n > 0 && b.Phases[n-1].Status == "" {
		b.Phases[n-1].Status, b.Phases[n-1].EndTime = Succeeded, e.now()
	}
	b.Phases = append(b.Phases, Phase{Type: phase, StartTime: e.now()})
	b.CurrentPhase = phase
	e.logf(ctx, b, "Entering phase %s", phase)
	return e.save(ctx, b)
}

// complete records the end of the current phase and moves to the next step.
func (e *Engine) complete(ctx context.Context, b *Build, status Status, contexts ...Context) error {
	n := len(b.Phases) - 1
	b.Phases[n].Status, b.Phases[n].EndTime, b.Phases[n].Contexts = status, e.now(), contexts
	e.logf(ctx, b, "Phase complete: %s State: %s", b.Phases[n].Type, status)
	if len(contexts) > 0 {
		e.logf(ctx, b, "Phase context status code: %s Message: %s", contexts[0].StatusCode, contexts[0].Message)
	}
	b.Run.Step++
	b.Run.Handle, b.Run.LogLines = "", 0
	return e.save(ctx, b)
}

// engineSource names the engine's own lines ("[Container] …") among a build's log's sources.
const engineSource = "container"

// logf writes one of the engine's own lines at b.Run.Notes, its position among them, and counts
// it: the build is saved after, so a reconcile that runs again from the saved build writes its
// lines at the same positions, and the log keeps the first of each.
func (e *Engine) logf(ctx context.Context, b *Build, format string, args ...any) {
	if e.c.Logs == nil {
		return
	}
	now := e.now()
	msg := "[Container] " + now.UTC().Format("2006/01/02 15:04:05.000000") + " " + fmt.Sprintf(format, args...)
	if err := e.c.Logs.AppendLines(context.WithoutCancel(ctx), b.Account, b.LogGroup, b.LogStream, engineSource, b.Run.Notes, []LogEvent{{Timestamp: now, Message: msg}}); err != nil {
		e.c.Log.Warn("cannot store a build's log line", "build", b.ARN, "err", err)
	}
	b.Run.Notes++
}

func (e *Engine) dirs(b Build) (root, src, state string) {
	_, uuid, _ := strings.Cut(b.ID, ":")
	root = filepath.Join(e.c.DataDir, "builds", uuid)
	return root, filepath.Join(root, "src"), filepath.Join(root, "state")
}

// session is a session of the project's service role.
func (e *Engine) session(ctx context.Context, b Build) (identity.Caller, error) {
	return e.c.Sessions.EngineSession(ctx, b.Project.ServiceRole, ServicePrincipal)
}

// clientFailure turns a refusal (access denied, a missing object, bad input) into the build's
// failure; anything else is an engine error, retried.
func clientFailure(err error, what string) (*failure, error) {
	if errs.Is(err, errs.AccessDenied) || errs.Is(err, errs.NotFound) || errs.Is(err, errs.Invalid) {
		return &failure{status: Failed, code: "CLIENT_ERROR", msg: what + ": " + errs.Message(err)}, nil
	}
	return nil, err
}

func (e *Engine) getObject(ctx context.Context, caller identity.Caller, bucket, key string) ([]byte, error) {
	rc, err := e.c.Artifacts.GetObject(ctx, caller, bucket, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, MaxArchive+1))
	if err != nil {
		return nil, errs.E(errs.Internal, "cannot read s3://%s/%s: %v", bucket, key, err)
	}
	if len(data) > MaxArchive {
		return nil, errs.E(errs.Invalid, "s3://%s/%s is larger than %d bytes", bucket, key, MaxArchive)
	}
	return data, nil
}

// download makes the work directory, fetches the source as the service role, reads the
// buildspec and issues the build's credentials.
func (e *Engine) download(ctx context.Context, b *Build) (*failure, error) {
	if err := e.enter(ctx, b, PhaseDownloadSource); err != nil {
		return nil, err
	}
	root, src, state := e.dirs(*b)
	if err := os.RemoveAll(root); err != nil {
		return nil, errs.E(errs.Internal, "cannot clear the build's directory: %v", err)
	}
	for _, d := range []string{src, state, filepath.Join(root, "home"), filepath.Join(root, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, errs.E(errs.Internal, "cannot make the build's directory: %v", err)
		}
	}
	b.Run.Dir = root
	fail := func(f *failure) (*failure, error) {
		return f, e.complete(ctx, b, Failed, Context{StatusCode: f.code, Message: f.msg})
	}
	orFail := func(f *failure, err error) (*failure, error) {
		if f != nil {
			return fail(f)
		}
		return nil, err
	}
	if b.Source.Type != "NO_SOURCE" {
		caller, err := e.session(ctx, *b)
		if err != nil {
			return orFail(clientFailure(err, "cannot act as the service role "+b.Project.ServiceRole))
		}
		var refs []ArtifactRef
		if b.Source.Type == "S3" {
			bucket, key, _ := strings.Cut(b.Source.Location, "/")
			refs = []ArtifactRef{{Bucket: bucket, Key: key}}
		} else if b.Pipeline != nil {
			refs = primaryFirst(b.Pipeline.Inputs, b.Pipeline.PrimarySource)
		}
		for i, r := range refs {
			data, err := e.getObject(ctx, caller, r.Bucket, r.Key)
			if err != nil {
				return orFail(clientFailure(err, "cannot download the source s3://"+r.Bucket+"/"+r.Key))
			}
			dir := src
			if i > 0 {
				dir = filepath.Join(root, "src_"+r.Name)
			}
			single := r.File
			if single == "" {
				single = path.Base(r.Key)
			}
			if err := unpack(data, dir, single); err != nil {
				return fail(&failure{status: Failed, code: "CLIENT_ERROR", msg: err.Error()})
			}
		}
	}
	text := b.Source.Buildspec
	if !looksInline(text) {
		name := text
		if name == "" {
			name = "buildspec.yml"
		}
		clean := path.Clean(name)
		if strings.HasPrefix(clean, "/") || strings.HasPrefix(clean, "..") {
			return fail(&failure{status: Failed, code: "YAML_FILE_ERROR", msg: "the buildspec path " + name + " leaves the source directory"})
		}
		data, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(clean)))
		if err != nil {
			return fail(&failure{status: Failed, code: "YAML_FILE_ERROR", msg: "the source has no buildspec file " + name})
		}
		text = string(data)
	}
	spec, err := buildspec.Parse(text)
	if err != nil {
		return fail(&failure{status: Failed, code: "YAML_FILE_ERROR", msg: err.Error()})
	}
	if err := os.WriteFile(filepath.Join(state, "buildspec.yml"), []byte(text), 0o644); err != nil {
		return nil, errs.E(errs.Internal, "cannot keep the buildspec: %v", err)
	}
	if spec.HasReports {
		e.logf(ctx, b, "Note: the buildspec's reports are ignored by this server (no report groups are made)")
	}
	if b.Run.Token == "" {
		token, err := e.c.Credentials.Issue(ctx, Grant{Account: b.Account, RoleARN: b.Project.ServiceRole, SessionName: "CodeBuild",
			Source: b.ARN, Expires: e.deadline(*b).Add(time.Hour)})
		if err != nil {
			return orFail(clientFailure(err, "cannot issue the build's credentials"))
		}
		b.Run.Token = token
	}
	return nil, e.complete(ctx, b, Succeeded)
}

func primaryFirst(in []ArtifactRef, primary string) []ArtifactRef {
	out := append([]ArtifactRef(nil), in...)
	for i, r := range out {
		if r.Name == primary && i > 0 {
			out[0], out[i] = out[i], out[0]
		}
	}
	return out
}

func (e *Engine) spec(b Build) (*buildspec.Spec, error) {
	_, _, state := e.dirs(b)
	data, err := os.ReadFile(filepath.Join(state, "buildspec.yml"))
	if err != nil {
		return nil, errs.E(errs.Internal, "the build's buildspec is gone: %v", err)
	}
	return buildspec.Parse(string(data))
}

// env is a phase's whole environment.
func (e *Engine) env(b Build, spec *buildspec.Spec, src string) map[string]string {
	root, _, _ := e.dirs(b)
	pathDirs := append(append([]string(nil), e.c.PathDirs...), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
	env := map[string]string{
		"PATH": strings.Join(pathDirs, ":"), "HOME": filepath.Join(root, "home"), "TMPDIR": filepath.Join(root, "tmp"),
		"LANG": "C.UTF-8", "CODEBUILD_BUILD_ID": b.ID, "CODEBUILD_BUILD_ARN": b.ARN, "CODEBUILD_BUILD_NUMBER": strconv.FormatInt(b.Number, 10),
		"CODEBUILD_SRC_DIR": src, "CODEBUILD_INITIATOR": b.Initiator, "CODEBUILD_BUILD_IMAGE": b.Project.Environment.Image,
		"CODEBUILD_START_TIME": strconv.FormatInt(b.StartTime.UnixMilli(), 10), "CODEBUILD_BUILD_SUCCEEDING": "1",
		"CODEBUILD_LOG_PATH": b.LogStream,
	}
	if b.Run.Failing {
		env["CODEBUILD_BUILD_SUCCEEDING"] = "0"
	}
	if b.Pipeline != nil {
		for _, r := range b.Pipeline.Inputs {
			if r.Name != "" {
				env["CODEBUILD_SRC_DIR_"+r.Name] = filepath.Join(root, "src_"+r.Name)
			}
		}
		if refs := primaryFirst(b.Pipeline.Inputs, b.Pipeline.PrimarySource); len(refs) > 0 && refs[0].Name != "" {
			env["CODEBUILD_SRC_DIR_"+refs[0].Name] = src
		}
	}
	for k, v := range spec.Variables {
		env[k] = v
	}
	for _, v := range b.Env {
		env[v.Name] = v.Value
	}
	for k, v := range e.c.Credentials.Env(b.Run.Token) {
		env[k] = v
	}
	return env
}

// phase runs one of the buildspec's phases as an executor job.
func (e *Engine) phase(ctx context.Context, b *Build, step string) (*failure, error) {
	name := specPhase[step]
	if b.Run.Aborted || (b.Run.Failing && step != PhasePostBuild) {
		b.Run.Step++ // not run, not recorded (CodeBuild goes on to finalizing)
		return nil, e.save(ctx, b)
	}
	spec, err := e.spec(*b)
	if err != nil {
		return nil, err
	}
	if err := e.enter(ctx, b, step); err != nil {
		return nil, err
	}
	ph := spec.Phases[name]
	if len(ph.Commands)+len(ph.Finally) == 0 {
		return nil, e.complete(ctx, b, Succeeded)
	}
	root, src, state := e.dirs(*b)
	h := b.Run.Handle
	if h == "" {
		script := filepath.Join(state, name+".sh")
		if err := os.WriteFile(script, []byte(phaseScript(state, src, ph, spec.ExportedVariables, !b.Run.Failing)), 0o644); err != nil {
			return nil, errs.E(errs.Internal, "cannot write the phase's script: %v", err)
		}
		_, uuid, _ := strings.Cut(b.ID, ":")
		h, err = e.c.Executor.Start(ctx, ExecSpec{ID: "cb-" + uuid + "-" + name, Dir: root, Command: []string{"/bin/sh", script},
			Env: e.env(*b, spec, src), WorkDir: src})
		if err != nil {
			return nil, err
		}
		b.Run.Handle, b.Run.LogLines = h, 0
		if err := e.save(ctx, b); err != nil {
			return nil, err
		}
	}
	exit, stop, err := e.wait(ctx, b, h, name)
	if err != nil {
		return nil, err
	}
	if stop != nil {
		return stop, e.complete(ctx, b, stop.status, Context{StatusCode: stop.code, Message: stop.msg})
	}
	if exit.Code == 0 && exit.Signal == "" {
		return nil, e.complete(ctx, b, Succeeded)
	}
	all := append(append([]string(nil), ph.Commands...), ph.Finally...)
	msg := fmt.Sprintf("Error while executing the %s phase's script: exit status %d", name, exit.Code)
	if i, rc, ok := phaseOutcome(state); ok && i < len(all) {
		if rc < 0 {
			rc = exit.Code
		}
		msg = fmt.Sprintf("Error while executing command: %s. Reason: exit status %d", strings.TrimSpace(all[i]), rc)
	}
	if exit.Signal != "" {
		msg += " (" + exit.Signal + ")"
	}
	b.Run.Failing = true
	if ph.OnFailure == buildspec.Abort && (step == PhaseInstall || step == PhasePreBuild) {
		b.Run.Aborted = true
	}
	f := &failure{status: Failed, code: "COMMAND_EXECUTION_ERROR", msg: msg}
	return f, e.complete(ctx, b, Failed, Context{StatusCode: f.code, Message: f.msg})
}

// wait waits for a phase's job, copying its output to the build's log stream, and stops it
// when the build is stopped or times out.
func (e *Engine) wait(ctx context.Context, b *Build, h, source string) (Exit, *failure, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var progress atomic.Int64 // lines copied so far, saved now and then so a crash repeats few
	progress.Store(int64(b.Run.LogLines))
	copied := make(chan int, 1)
	go func() { copied <- e.copyLogs(wctx, *b, h, source, &progress) }()
	lastSave, saved := time.Now(), b.Run.LogLines
	type result struct {
		exit Exit
		err  error
	}
	done := make(chan result, 1)
	go func() {
		x, err := e.c.Executor.Wait(wctx, h)
		done <- result{x, err}
	}()
	tick := time.NewTicker(e.c.Poll)
	defer tick.Stop()
	var stop *failure
	for {
		select {
		case r := <-done:
			if r.err != nil {
				if ctx.Err() != nil {
					return Exit{}, nil, ctx.Err()
				}
				return Exit{}, nil, r.err
			}
			select {
			case n := <-copied:
				b.Run.LogLines = n
			case <-time.After(5 * time.Second):
				cancel()
				b.Run.LogLines = <-copied
			}
			if r.exit.Reason == "stopped" && stop == nil {
				stop = &failure{status: Stopped, code: "BUILD_STOPPED", msg: "the build was stopped"}
			}
			return r.exit, stop, nil
		case <-ctx.Done():
			// Shutdown or a lost lease: the phase runs on; whoever reconciles next re-attaches
			// and copies the lines not recorded here.
			cancel()
			select {
			case n := <-copied:
				b.Run.LogLines = n
				if err := e.save(context.WithoutCancel(ctx), b); err != nil {
					e.c.Log.Warn("cannot record a build's log progress", "build", b.ARN, "err", err)
				}
			case <-time.After(2 * time.Second):
			}
			return Exit{}, nil, ctx.Err()
		case <-tick.C:
		}
		if n := int(progress.Load()); n != saved && time.Since(lastSave) > 2*time.Second {
			b.Run.LogLines = n
			if err := e.save(ctx, b); err != nil {
				return Exit{}, nil, err
			}
			lastSave, saved = time.Now(), n
		}
		if stop != nil {
			continue
		}
		if cur, err := e.c.Store.GetBuild(ctx, b.Account, b.ID); err == nil && cur.StopRequested {
			b.StopRequested = true
			stop = &failure{status: Stopped, code: "BUILD_STOPPED", msg: "the build was stopped"}
		} else if !e.now().Before(e.deadline(*b)) {
			stop = &failure{status: TimedOut, code: "BUILD_TIMED_OUT", msg: fmt.Sprintf("the build exceeded its timeout of %d minutes", b.TimeoutInMinutes)}
		}
		if stop != nil {
			if err := e.c.Executor.Stop(ctx, h, e.c.Grace); err != nil {
				e.c.Log.Warn("cannot stop a build's phase", "build", b.ARN, "err", err)
			}
		}
	}
}

// copyLogs copies a phase's output lines, from the first not copied yet, to the log stream;
// it returns how many lines the phase's output has had copied in all. Each line goes with its
// position in the phase's output (source, the phase's name), and the logs skip the
// lines they hold already: b.Run.LogLines, recorded now and then, may lag behind what the
// stream holds (a server killed between an append and the next save) without a line twice.
func (e *Engine) copyLogs(ctx context.Context, b Build, h, source string, progress *atomic.Int64) int {
	n := b.Run.LogLines
	rc, err := e.c.Executor.Logs(ctx, h, true)
	if err != nil {
		e.c.Log.Warn("cannot read a build's output", "build", b.ARN, "err", err)
		return n
	}
	defer rc.Close()
	go func() { <-ctx.Done(); rc.Close() }()
	r := bufio.NewReaderSize(rc, 64<<10)
	var batch []LogEvent
	flush := func() {
		if len(batch) == 0 || e.c.Logs == nil {
			batch = batch[:0]
			return
		}
		if err := e.c.Logs.AppendLines(context.WithoutCancel(ctx), b.Account, b.LogGroup, b.LogStream, source, n-len(batch), batch); err != nil {
			e.c.Log.Warn("cannot store a build's log lines", "build", b.ARN, "err", err)
		}
		batch = batch[:0]
		progress.Store(int64(n))
	}
	seen := 0
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			seen++
			if seen > n {
				n = seen
				batch = append(batch, LogEvent{Timestamp: e.now(), Message: strings.TrimRight(line, "\r\n")})
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
	return n
}

// upload packs and stores the artifacts as the service role.
func (e *Engine) upload(ctx context.Context, b *Build) (*failure, error) {
	if b.Run.Failing || b.Run.Aborted {
		b.Run.Step++
		return nil, e.save(ctx, b)
	}
	if err := e.enter(ctx, b, PhaseUploadArtifacts); err != nil {
		return nil, err
	}
	spec, err := e.spec(*b)
	if err != nil {
		return nil, err
	}
	_, src, _ := e.dirs(*b)
	fail := func(f *failure) (*failure, error) {
		return f, e.complete(ctx, b, Failed, Context{StatusCode: f.code, Message: f.msg})
	}
	orFail := func(f *failure, err error) (*failure, error) {
		if f != nil {
			return fail(f)
		}
		return nil, err
	}
	type job struct {
		decl   buildspec.Artifacts
		bucket string
		key    string
		zip    bool
	}
	var jobs []job
	a := b.Project.Artifacts
	switch {
	case b.Pipeline != nil:
		for i, out := range b.Pipeline.Outputs {
			var decl *buildspec.Artifacts
			if i == 0 && spec.Artifacts != nil {
				decl = spec.Artifacts
			} else if s, ok := spec.Secondary[out.Name]; ok {
				decl = &s
			} else if len(b.Pipeline.Outputs) == 1 && len(spec.Secondary) == 1 && spec.Artifacts == nil {
				for _, s := range spec.Secondary {
					decl = &s
				}
			}
			if decl == nil {
				return fail(&failure{status: Failed, code: "CLIENT_ERROR", msg: "the buildspec declares no artifacts for the output artifact " + out.Name})
			}
			jobs = append(jobs, job{*decl, out.Bucket, out.Key, true})
		}
	case a.Type == "S3" && spec.Artifacts != nil:
		prefix := a.Path
		if a.NamespaceType == "BUILD_ID" {
			_, uuid, _ := strings.Cut(b.ID, ":")
			prefix = path.Join(prefix, uuid)
		}
		name := a.Name
		if spec.Artifacts.Name != "" {
			name = spec.Artifacts.Name
		}
		jobs = append(jobs, job{*spec.Artifacts, a.Location, strings.TrimPrefix(path.Join(prefix, name), "/"), a.Packaging == "ZIP"})
	}
	if len(jobs) == 0 {
		return nil, e.complete(ctx, b, Succeeded)
	}
	caller, err := e.session(ctx, *b)
	if err != nil {
		return orFail(clientFailure(err, "cannot act as the service role"))
	}
	for _, j := range jobs {
		files, err := collect(src, j.decl)
		if err != nil {
			return fail(&failure{status: Failed, code: "CLIENT_ERROR", msg: "cannot collect the artifact's files: " + err.Error()})
		}
		if len(files) == 0 {
			return fail(&failure{status: Failed, code: "CLIENT_ERROR", msg: fmt.Sprintf("no matching artifact paths found (files %v under %q)", j.decl.Files, j.decl.BaseDirectory)})
		}
		if j.zip {
			data, err := zipFiles(files)
			if err != nil {
				return fail(&failure{status: Failed, code: "CLIENT_ERROR", msg: "cannot pack the artifact: " + err.Error()})
			}
			if err := e.c.Artifacts.PutObject(ctx, caller, j.bucket, j.key, bytes.NewReader(data)); err != nil {
				return orFail(clientFailure(err, "cannot upload the artifact to s3://"+j.bucket+"/"+j.key))
			}
		} else {
			for _, f := range files {
				data, err := os.ReadFile(f.src)
				if err != nil {
					return nil, errs.E(errs.Internal, "cannot read %s: %v", f.name, err)
				}
				if err := e.c.Artifacts.PutObject(ctx, caller, j.bucket, j.key+"/"+f.name, bytes.NewReader(data)); err != nil {
					return orFail(clientFailure(err, "cannot upload the artifact to s3://"+j.bucket+"/"+j.key))
				}
			}
		}
		if b.ArtifactLocation == "" {
			b.ArtifactLocation = arn.S3Object(j.bucket, j.key)
		}
	}
	return nil, e.complete(ctx, b, Succeeded)
}

// end finishes a build: FINALIZING and COMPLETED, the exported variables, the credentials
// revoked, the work directory removed, the status set.
func (e *Engine) end(ctx context.Context, b *Build, f *failure) error {
	status := Succeeded
	if b.Run.Failing {
		status = Failed
	}
	if f != nil {
		status = f.status
	}
	now := e.now()
	if n := len(b.Phases); n > 0 && b.Phases[n-1].Status == "" {
		b.Phases[n-1].Status, b.Phases[n-1].EndTime = status, now
		if f != nil {
			b.Phases[n-1].Contexts = []Context{{StatusCode: f.code, Message: f.msg}}
		}
	}
	if b.Run.Token != "" {
		if err := e.c.Credentials.Revoke(ctx, b.Run.Token); err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
	}
	root, _, state := e.dirs(*b)
	if spec, err := e.spec(*b); err == nil {
		b.Exported = readExported(state, spec.ExportedVariables)
	}
	b.Phases = append(b.Phases, Phase{Type: PhaseFinalizing, Status: Succeeded, StartTime: now, EndTime: now}, Phase{Type: PhaseCompleted, StartTime: now})
	b.CurrentPhase, b.Status, b.EndTime = PhaseCompleted, status, now
	b.Run.Handle = ""
	e.logf(ctx, b, "Phase complete: BUILD State: %s", status)
	if err := e.save(ctx, b); err != nil {
		return err
	}
	if root != "" {
		if err := os.RemoveAll(root); err != nil {
			e.c.Log.Warn("cannot remove a build's directory", "dir", root, "err", err)
		}
	}
	return nil
}

// Failure returns a finished build's failure: the first failed phase's context.
func (b Build) Failure() string {
	for _, p := range b.Phases {
		if p.Status != Succeeded && p.Status != "" && len(p.Contexts) > 0 {
			return fmt.Sprintf("Build %s %s in phase %s: %s: %s", b.ID, b.Status, p.Type, p.Contexts[0].StatusCode, p.Contexts[0].Message)
		}
	}
	if b.Status != Succeeded {
		return "Build " + b.ID + " " + string(b.Status)
	}
	return ""
}
