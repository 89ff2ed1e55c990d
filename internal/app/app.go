// Package app is Slipway's composition root: it builds the store, the domain services and the
// API server from a Config, bootstraps the organization on first start, and runs and stops
// them in order. Nothing else wires components together.
package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/slipway-ml/slipway/internal/alarms"
	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/cfnapi"
	"github.com/slipway-ml/slipway/internal/awsapi/cloudwatchapi"
	"github.com/slipway-ml/slipway/internal/awsapi/codebuildapi"
	"github.com/slipway-ml/slipway/internal/awsapi/codepipelineapi"
	"github.com/slipway-ml/slipway/internal/awsapi/containercreds"
	"github.com/slipway-ml/slipway/internal/awsapi/eventsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/iamapi"
	"github.com/slipway-ml/slipway/internal/awsapi/logsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/orgsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/runtimeapi"
	"github.com/slipway-ml/slipway/internal/awsapi/s3api"
	"github.com/slipway-ml/slipway/internal/awsapi/sagemakerapi"
	"github.com/slipway-ml/slipway/internal/awsproxy"
	"github.com/slipway-ml/slipway/internal/blob"
	"github.com/slipway-ml/slipway/internal/builds"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/delivery"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events/rules"
	"github.com/slipway-ml/slipway/internal/events/webhooks"
	"github.com/slipway-ml/slipway/internal/executor/local"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/jobcreds"
	"github.com/slipway-ml/slipway/internal/jobs"
	"github.com/slipway-ml/slipway/internal/logs"
	"github.com/slipway-ml/slipway/internal/org"
	"github.com/slipway-ml/slipway/internal/pipeline"
	"github.com/slipway-ml/slipway/internal/projects"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/serving"
	"github.com/slipway-ml/slipway/internal/serving/fleet"
	"github.com/slipway-ml/slipway/internal/stacks"
	"github.com/slipway-ml/slipway/internal/stacksets"
	"github.com/slipway-ml/slipway/internal/store"
)

// App is a running Slipway server's parts.
type App struct {
	cfg   config.Config
	log   *slog.Logger
	now   func() time.Time
	Store *store.Store

	Org      *org.Service
	Identity *identity.Service
	Registry *registry.Service
	Logs     *logs.Service // CloudWatch Logs; the jobs engine appends its jobs' output (Append)
	// Alarms is CloudWatch's metrics and alarms; its evaluator is a runtime (alarms.go).
	Alarms *alarms.Service
	Jobs   *jobs.Service
	// Serving is models, endpoint configurations and endpoints; Fleet runs the endpoints'
	// model instances in this process (serving.go).
	Serving     *serving.Service
	Fleet       *fleet.Fleet
	servingLoad *lateLoader
	Stacks      *stacks.Service    // CloudFormation stacks (stacks.go)
	StackSets   *stacksets.Service // CloudFormation stack sets (stacksets.go)
	Audit       *audit.Log
	// Invocations counts allowed data-plane calls into aggregate audit records, one per
	// distinct call per window (cfg.AuditWindow); nil when every invocation is recorded alone.
	Invocations *audit.Aggregator
	API         *awsapi.Server

	servingMeter *servingMeter // endpoints' invocation metrics on /metrics (serving_metrics.go)
	// JobCreds gives the code inside jobs its role's credentials and Slipway's endpoints;
	// jobProxy (nil when configured off) serves the SDKs that cannot be given an endpoint.
	JobCreds *jobcreds.Service
	jobProxy *awsproxy.Proxy
	// Blobs holds object bytes; Artifacts is the artifact store (S3 API) over it.
	Blobs     artifacts.Blobs
	Artifacts *artifacts.Service
	// Executor runs jobs' workers as local processes that survive a server restart.
	Executor *local.Local
	// Runtimes are the background engines' reconcile runtimes, on Store.Work(): Start starts
	// them in the order added, Close stops them in reverse before the audit log drains.
	Runtimes reconcile.Group
	// Rules is EventBridge; rules delivers the outbox's events to its targets (eventrules.go).
	Rules *rules.Service
	// Webhooks is EventBridge's connections and API destinations (webhooks.go).
	Webhooks *webhooks.Service
	sealer   *identity.Sealer
	apiAddr  atomic.Pointer[string] // host:port the API listens on (Listening), for TemplateURLs
	rules    eventRulesParts
	// Pipelines is SageMaker Pipelines: pipelines, executions and their engine (pipelines.go).
	Pipelines *pipeline.Service
	Delivery  *delivery.Service // deploy pipelines, CodePipeline (delivery.go)
	Builds    *builds.Service   // build projects, CodeBuild (builds.go)
	Projects  *projects.Service // SageMaker Projects and the template catalog (projects.go)

	handler http.Handler
	svcs    []*awsapi.Service
	wg      sync.WaitGroup
	cancel  context.CancelFunc
	steps   int // steps of the first start done so far (see step)
}

// New builds every component, opens the store (applying migrations) and, on an empty store,
// creates the organization and the credentials file. now is the clock (time.Now in production).
func New(ctx context.Context, cfg config.Config, log *slog.Logger, now func() time.Time) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, errs.E(errs.Invalid, "cannot create the data directory %s: %v; choose another with --data-dir", cfg.DataDir, err)
	}
	a := &App{cfg: cfg, log: log, now: now}
	st, err := store.Open(ctx, cfg.DatabaseDSN(), log, store.WithClock(now))
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, cfg.StoreHint())
	}
	a.Store = st
	key, source, err := masterKey(ctx, cfg, st)
	if err == nil {
		err = checkMasterKey(ctx, st, key, source)
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	a.step("master key")
	sealer, err := identity.NewSealer(key)
	if err != nil {
		st.Close()
		return nil, err
	}
	a.sealer = sealer
	a.Org = org.NewService(st.Org(), now)
	a.Identity = identity.NewService(st.Identity(), orgBounds{a.Org}, sealer, now, log)
	a.Org.UseIdentity(a.Identity)
	a.Registry = registry.NewService(st.Registry(), a.Identity, cfg.Region, now)
	a.Logs = logs.NewService(st.Logs(), a.Identity, cfg.Region, now)
	if a.Blobs, err = blob.OpenURL(ctx, cfg.Blob, cfg.DataDir); err != nil {
		st.Close()
		return nil, err
	}
	a.Artifacts = artifacts.NewService(st.Artifacts(), a.Blobs, a.Identity, cfg.Region, now, log)
	a.Jobs = jobs.NewService(st.Jobs(), a.Identity, a.Identity, cfg.Region, now)
	if err := a.servingService(); err != nil {
		st.Close()
		return nil, err
	}
	a.Alarms = alarms.NewService(st.Alarms(), a.Identity, a.servingMeter.cloudwatch, cfg.Region, now)
	if err := a.eventRules(); err != nil {
		st.Close()
		return nil, err
	}
	a.stacksService()
	a.stackSetsService()
	a.pipelineService()
	a.deliveryService()
	a.buildsService()
	if err := a.projectsService(); err != nil {
		st.Close()
		return nil, err
	}
	a.Audit = audit.NewLog(st.Audit(), log)
	if cfg.AuditWindow > 0 {
		a.Invocations = a.Audit.NewAggregator(audit.AggregatorConfig{Window: cfg.AuditWindow})
	}
	a.Identity.RecordEnginesWith(auditor{log: a.Audit})
	if n, err := a.Identity.SweepExpiredSessions(ctx); err != nil {
		st.Close()
		return nil, err
	} else if n > 0 {
		log.Info("deleted expired session keys", "count", n)
	}

	if err := a.bootstrap(ctx); err != nil {
		st.Close()
		return nil, err
	}

	tokens := awsapi.NewPageTokens(derive(key, "pagination tokens"))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(a.servingMeter.collectors()...)
	services, err := a.services(tokens)
	if err != nil {
		st.Close()
		return nil, err
	}
	a.svcs = services
	a.API = awsapi.NewServer(awsapi.Config{
		Services: services,
		Auth:     authenticator{a.Identity},
		Audit:    auditor{log: a.Audit, invocations: a.Invocations},
		Now:      now,
		Logger:   log,
		Metrics:  reg,
		Region:   cfg.Region,
	})
	mux := http.NewServeMux()
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "slipway_audit_record_failures_total",
		Help: "Audit records of calls that changed nothing (reads, refusals) that failed to commit.",
	}, func() float64 { return float64(a.Audit.Failed()) }))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !a.Audit.Healthy() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, `{"status":"degraded","reason":"audit records fail to commit"}`)
			return
		}
		fmt.Fprintln(w, `{"status":"ok"}`)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/v2/health/", runtimeapi.Health()) // the Open Inference Protocol's server health, unsigned
	mux.Handle("/", s3api.VirtualHosts(a.API))
	if err := a.mountConsole(mux, s3api.VirtualHosts(a.API)); err != nil { // the web console (console.go)
		st.Close()
		return nil, err
	}
	a.handler = mux
	if err := a.jobCredentials(ctx, sealer, mux); err != nil {
		st.Close()
		return nil, err
	}
	// The jobs engine acts as each job's role: it reads and writes artifacts, runs workers on
	// the local executor and copies their logs (see jobs.go for the adapters).
	engine, err := a.jobsEngine(cfg.DataDir)
	if err != nil {
		st.Close()
		return nil, err
	}
	a.Runtimes.Add(reconcile.New(st.Work(), jobs.WorkKind, engine, reconcile.Options{Workers: 64, Log: log}))
	servingRT, err := a.servingRuntime(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	a.Runtimes.Add(servingRT)
	sweeper, err := a.orphanSweeper(ctx, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	a.Runtimes.Add(sweeper)
	stacksRT, err := a.stacksRuntime(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	a.Runtimes.Add(stacksRT)
	stackSetsRT, err := a.stackSetsRuntime(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	a.Runtimes.Add(stackSetsRT)
	pipelineRT, err := a.pipelineRuntime(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	a.Runtimes.Add(pipelineRT)
	deliveryRT, err := a.deliveryRuntime(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	a.Runtimes.Add(deliveryRT)
	buildsRT, err := a.buildsRuntime(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	a.Runtimes.Add(buildsRT)
	projectsRT, err := a.projectsRuntime(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	a.Runtimes.Add(projectsRT)
	a.Runtimes.Add(a.alarmsRuntime())
	retentionRT, err := a.metricRetentionSweeper(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	a.Runtimes.Add(retentionRT)
	for _, rt := range a.Runtimes.Runtimes() {
		rt.SetLeaseTTL(cfg.ReconcileLeaseTTL)
	}
	return a, nil
}

// jobCredentials builds the job credentials service, mounts its endpoint on the API and
// starts the loopback proxy for old SDKs (its CA lives, sealed, in DATA_DIR/job-proxy).
func (a *App) jobCredentials(ctx context.Context, sealer *identity.Sealer, mux *http.ServeMux) error {
	a.JobCreds = jobcreds.NewService(a.Store.JobCreds(), a.Identity, jobcreds.Config{
		Region: a.cfg.Region, SessionTTL: a.cfg.JobCredentialsTTL, Now: a.now, Log: a.log,
	})
	if _, err := a.JobCreds.SweepExpired(ctx); err != nil {
		return err
	}
	creds := containercreds.Handler(a.JobCreds, a.log)
	mux.Handle("GET "+containercreds.Path, creds)
	if a.cfg.JobProxyListen != "off" {
		ca, err := awsproxy.LoadCA(filepath.Join(a.cfg.DataDir, "job-proxy"), sealer, a.now)
		if err != nil {
			return err
		}
		a.jobProxy = awsproxy.New(awsproxy.Config{CA: ca, API: a.handler, Local: creds, LocalPath: containercreds.Path, Log: a.log})
		if err := a.jobProxy.Listen(a.cfg.JobProxyListen); err != nil {
			return err
		}
	}
	a.Listening(a.cfg.Listen)
	return nil
}

// Listening tells the app where its API listens (host:port, or a URL), so jobs are given
// endpoints that reach it: Serve calls it once bound; so do tests serving Handler themselves.
// An API on loopback or on every interface is reached at 127.0.0.1; on another address, the
// credentials endpoint is reached through the loopback proxy (SDKs take it only from loopback).
func (a *App) Listening(addr string) {
	addr = strings.TrimPrefix(addr, "http://")
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return
	}
	a.apiAddr.Store(&addr)
	ip := net.ParseIP(host)
	e := jobcreds.Endpoints{API: "http://" + addr}
	if ip != nil && (ip.IsUnspecified() || ip.To4() != nil && ip.IsLoopback()) || host == "" || host == "localhost" {
		e.API = "http://127.0.0.1:" + port
		e.Credentials = e.API + containercreds.Path
	}
	if a.jobProxy != nil {
		e.Proxy = a.jobProxy.URL()
		e.CABundle = filepath.Join(a.cfg.DataDir, "job-proxy", awsproxy.CertFile)
		if e.Credentials == "" {
			e.Credentials = e.Proxy + containercreds.Path
		}
	}
	if e.Credentials == "" {
		e.Credentials = e.API + containercreds.Path
	}
	a.JobCreds.UseEndpoints(e)
}

// Services returns the services the API serves: each with its model and handlers.
func (a *App) Services() []*awsapi.Service { return a.svcs }

// services builds every service the API serves: each service package declares its model,
// operations and error codes; adding a service is one line here.
func (a *App) services(tokens *awsapi.PageTokens) ([]*awsapi.Service, error) {
	ia := &iamapi.API{Identity: a.Identity, Tokens: tokens}
	var out []*awsapi.Service
	for _, build := range []func() (*awsapi.Service, error){
		(&sagemakerapi.API{Registry: a.Registry, Jobs: a.Jobs, Serving: a.Serving, Pipelines: a.Pipelines, Projects: a.Projects, Tokens: tokens}).Service,
		ia.IAMService,
		ia.STSService,
		(&orgsapi.API{Org: a.Org, Tokens: tokens}).Service,
		(&runtimeapi.API{Serving: a.Serving, Ready: a.Serving}).Service,
		(&logsapi.API{Logs: a.Logs, Tokens: tokens}).Service,
		(&cloudwatchapi.API{Alarms: a.Alarms, Tokens: tokens}).Service,
		(&eventsapi.API{Rules: a.Rules, Webhooks: a.Webhooks, Tokens: tokens}).Service,
		(&s3api.API{Artifacts: a.Artifacts}).Service,
		(&cfnapi.API{Stacks: a.Stacks, Sets: a.StackSets, Tokens: tokens}).Service,
		(&codepipelineapi.API{Delivery: a.Delivery, Tokens: tokens}).Service,
		(&codebuildapi.API{Builds: a.Builds, Tokens: tokens}).Service,
	} {
		svc, err := build()
		if err != nil {
			return nil, err
		}
		out = append(out, svc)
	}
	return out, nil
}

// Handler returns the HTTP handler serving the API, /healthz and /metrics.
func (a *App) Handler() http.Handler { return a.handler }

// ManagementProfile names the credentials profile of the management account.
func (a *App) ManagementProfile(ctx context.Context) string {
	o, err := a.Org.Organization(ctx)
	if err != nil {
		return "data-science"
	}
	acct, err := a.Org.Account(ctx, o.ManagementAccount)
	if err != nil {
		return "data-science"
	}
	return acct.Name
}

// CredentialsPath is where the shared-credentials file of the bootstrap lives. Only the server
// that created the organization writes it; the others of its database have none.
func (a *App) CredentialsPath() string { return filepath.Join(a.cfg.DataDir, "credentials") }

// Start starts background work: the audit log's group commit, then the reconcile runtimes, and
// the data capture's uploader (which first uploads what a killed process left in its spool).
func (a *App) Start(ctx context.Context) {
	ctx, a.cancel = context.WithCancel(context.WithoutCancel(ctx))
	a.servingMeter.capture.Start()
	a.wg.Add(1)
	go func() { defer a.wg.Done(); a.Audit.Run(ctx) }()
	if a.Invocations != nil {
		a.wg.Add(1)
		go func() { defer a.wg.Done(); a.Invocations.Run(ctx) }()
	}
	a.Runtimes.Start(ctx)
	a.startEventRules(ctx)
}

// Close stops background work after draining it — the runtimes (their reconciles return and
// release their keys), then the invocations' audit aggregates, then the audit log — and closes
// the store.
func (a *App) Close() error {
	rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	if err := a.Runtimes.Close(rctx); err != nil {
		a.log.Warn("reconcile runtimes did not stop in time; their leases expire by themselves", "err", err)
	}
	cancel()
	a.stopEventRules()
	if err := a.Fleet.Close(); err != nil {
		a.log.Warn("the model fleet did not close cleanly", "err", err)
	}
	a.servingMeter.capture.Close() // writes the data capture still held (serving_capture.go)
	if a.jobProxy != nil {
		pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := a.jobProxy.Close(pctx); err != nil {
			a.log.Warn("the job proxy did not stop in time", "err", err)
		}
		cancel()
	}
	if a.Invocations != nil {
		// Every invocation counted so far is appended before the audit log stops; later ones
		// (none, once the HTTP server has shut down) are recorded one by one.
		if err := a.Invocations.Close(context.Background()); err != nil {
			a.log.Error("the invocations' audit aggregates could not be appended at shutdown", "err", err)
		}
	}
	a.Audit.Close()
	a.wg.Wait()
	if a.cancel != nil {
		a.cancel()
	}
	return a.Store.Close()
}

// Serve listens on the configured address and serves until ctx is done, then shuts down
// gracefully: in-flight requests finish (up to 10 s), the audit log drains, the store closes.
// ready, if not nil, is called with the bound address once the listener is open.
func (a *App) Serve(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return errs.E(errs.Unavailable, "cannot listen on %s: %v", a.cfg.Listen, err)
	}
	a.Listening(ln.Addr().String())
	a.Start(ctx)
	// Headers must arrive within 10 s and stay under 256 KiB; bodies get a deadline per request
	// from the API server (see awsapi.Config.BodyReadTimeout); idle keep-alives close after 2 min.
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 256 << 10}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("serving", "addr", ln.Addr().String(), "data_dir", a.cfg.DataDir, "store", string(a.Store.Dialect()))
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
		a.log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	return err
}

// derive makes a purpose-bound key from the master key.
func derive(master []byte, purpose string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// orgBounds adapts the organization to what identity needs.
type orgBounds struct{ org *org.Service }

func (b orgBounds) SCPLevels(ctx context.Context, account string) ([][]identity.NamedDocument, error) {
	levels, _, err := b.Bounds(ctx, account)
	return levels, err
}

// Bounds is an account's SCP levels and its aws:PrincipalOrgPaths entry, from one walk.
func (b orgBounds) Bounds(ctx context.Context, account string) ([][]identity.NamedDocument, string, error) {
	levels, path, err := b.org.Bounds(ctx, account)
	if err != nil || levels == nil {
		return nil, path, err
	}
	out := make([][]identity.NamedDocument, len(levels))
	for i, l := range levels {
		out[i] = make([]identity.NamedDocument, 0, len(l))
		for _, p := range l {
			out[i] = append(out[i], identity.NamedDocument{Name: p.Name, Document: p.Content})
		}
	}
	return out, path, nil
}

func (b orgBounds) OrgID(ctx context.Context) (string, error) {
	o, err := b.org.Organization(ctx)
	if errs.Is(err, errs.NotFound) {
		return "", nil
	}
	return o.ID, err
}

// authenticator adapts identity to the API's key lookup.
type authenticator struct{ id *identity.Service }

func (a authenticator) LookupAccessKey(ctx context.Context, id string) (awsapi.Credential, error) {
	k, err := a.id.LookupAccessKey(ctx, id)
	if err != nil {
		return awsapi.Credential{}, err
	}
	return awsapi.Credential{Secret: k.Secret, SessionToken: k.SessionToken, Expires: k.ExpiresAt, Caller: k.Caller}, nil
}

// auditor adapts the audit log to the API's records and to the decisions made for engines.
// An allowed data-plane call (an invocation) is counted into its aggregate when invocations is
// set; every other call — refusals, failed authentication, the control plane — is recorded
// alone, and waits for its commit.
type auditor struct {
	log         *audit.Log
	invocations *audit.Aggregator
}

var _ awsapi.TxAuditor = auditor{}

// RecordEngineCall records an engine's call as CloudTrail records a service acting for an
// account: the engine as the user agent (CloudTrail's invokedBy). A decision made for the
// session an engine's change runs as (audit.ForEngine, Log.Engine) is noted in the change's
// pending record instead: it commits with the change, or Log.Engine records it at the end.
func (a auditor) RecordEngineCall(ctx context.Context, r identity.EngineRecord) error {
	if audit.PendingFrom(ctx).Decide(r.Caller.ARN, r.Resource, r.Decision, r.Reason, r.ErrorCode) {
		return nil
	}
	service, op, _ := strings.Cut(r.Action, ":")
	return a.log.RecordCall(ctx, audit.Record{
		Time: r.Time, RequestID: r.ID, Account: r.Caller.Account, PrincipalARN: r.Caller.ARN,
		Service: service, Operation: op, Resource: r.Resource, Decision: r.Decision, Reason: r.Reason,
		ErrorCode: r.ErrorCode, UserAgent: r.Caller.InvokedBy,
	})
}

func (a auditor) RecordCall(ctx context.Context, r awsapi.AuditRecord) error {
	if a.invocations != nil && r.DataPlane && r.Decision == "allow" {
		return a.invocations.Add(ctx, auditRecord(r), audit.Tally{Latency: r.Latency, BytesIn: r.BytesIn, BytesOut: r.BytesOut})
	}
	return a.log.RecordCall(ctx, auditRecord(r))
}

// Begin lets the call's changes commit its record in their transactions.
func (a auditor) Begin(ctx context.Context, record func() awsapi.AuditRecord) (context.Context, func() bool) {
	ctx, p := audit.WithPending(ctx, func() audit.Record { return auditRecord(record()) })
	return ctx, p.WasCommitted
}

func auditRecord(r awsapi.AuditRecord) audit.Record {
	return audit.Record{
		Time: r.Time, RequestID: r.RequestID, Account: r.Account, PrincipalARN: r.PrincipalARN, AccessKeyID: r.AccessKeyID,
		Service: r.Service, Operation: r.Operation, Resource: r.Resource, Decision: r.Decision, Reason: r.Reason,
		ErrorCode: r.ErrorCode, HTTPStatus: r.HTTPStatus, SourceIP: r.SourceIP, UserAgent: r.UserAgent, Variant: r.Variant,
	}
}
