package console

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/internal/alarms"
	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/delivery"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/jobs"
	"github.com/slipway-ml/slipway/internal/logs"
	"github.com/slipway-ml/slipway/internal/org"
	"github.com/slipway-ml/slipway/internal/pipeline"
	"github.com/slipway-ml/slipway/internal/randid"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/serving"
	"github.com/slipway-ml/slipway/internal/stacks"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is where the console is served.
const Prefix = "/console/"

// Sessions persists sessions and one-time links by the hashes the console computes.
type Sessions interface {
	PutSession(ctx context.Context, idHash string, expires time.Time, body []byte) error
	Session(ctx context.Context, idHash string, now time.Time) ([]byte, error)
	DeleteSession(ctx context.Context, idHash string, now time.Time) error
	PutLink(ctx context.Context, tokenHash, accessKeyID string, expires time.Time) error
	UseLink(ctx context.Context, tokenHash string, now time.Time) (string, error)
}

// Recorder records the audit record of a call that committed no change.
type Recorder interface {
	RecordCall(ctx context.Context, r audit.Record) error
}

// Config is what the console works with.
type Config struct {
	Identity  *identity.Service
	Org       *org.Service
	Registry  *registry.Service
	Pipelines *pipeline.Service
	Serving   *serving.Service
	Delivery  *delivery.Service
	Artifacts *artifacts.Service
	Jobs      *jobs.Service   // the pipelines' jobs, for a model version's lineage
	Metrics   *alarms.Service // CloudWatch's metrics, for an endpoint's charts
	Logs      *logs.Service   // the jobs' log lines, for a pipeline step's page
	Stacks    *stacks.Service // the deploy pipelines' stacks, for the deployments' "where" view
	Audit     Recorder
	Trail     audit.Reader // the audit trail, for the audit page
	Sessions  Sessions
	Region    string
	Now       func() time.Time
	Log       *slog.Logger
	// IdleTimeout ends a session not used for this long (default 30 minutes); MaxAge ends
	// any session this long after sign-in (default 12 hours). LinkTTL bounds a one-time
	// sign-in link (default 5 minutes).
	IdleTimeout time.Duration
	MaxAge      time.Duration
	LinkTTL     time.Duration
}

// Console serves the web console. It is an http.Handler for Prefix and below.
type Console struct {
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	pages map[string]*template.Template
	mux   *http.ServeMux
	// assumed caches the role sessions the "where" view assumed, by session and role (where.go).
	assumed sync.Map
}

// New builds the console.
func New(cfg Config) (*Console, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 12 * time.Hour
	}
	if cfg.LinkTTL <= 0 {
		cfg.LinkTTL = 5 * time.Minute
	}
	c := &Console{cfg: cfg, log: cfg.Log.With("component", "console"), now: cfg.Now, pages: map[string]*template.Template{}}
	base, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if n == "templates/layout.html" {
			continue
		}
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := t.ParseFS(templateFS, n); err != nil {
			return nil, err
		}
		c.pages[strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")] = t
	}
	c.routes()
	return c, nil
}

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: under no-referrer a browser sends "Origin: null" with
	// every form, and sameOrigin refuses them all. same-origin still sends no Referer to
	// another site, and a form from another origin still arrives with its own origin or null.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	c.mux.ServeHTTP(w, r)
}

func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServer(http.FS(static))))
	m.HandleFunc("GET /console/signin", c.signinPage)
	m.HandleFunc("POST /console/signin", c.signin)
	m.HandleFunc("GET /console/signin/link", c.linkPage)
	m.HandleFunc("POST /console/signin/link", c.useLink)
	m.HandleFunc("POST /console/link", c.makeLink)
	m.Handle("POST /console/signout", c.action(c.signout))
	m.Handle("GET /console/{$}", c.page(func(w http.ResponseWriter, r *http.Request, s *session) {
		http.Redirect(w, r, "/console/registry", http.StatusSeeOther)
	}))
	m.Handle("GET /console/switch", c.page(c.switchPage))
	m.Handle("POST /console/switch", c.action(c.switchRole))
	m.Handle("POST /console/switch/back", c.action(c.switchBack))
	m.Handle("GET /console/org", c.page(c.orgPage))
	m.Handle("GET /console/registry", c.page(c.registryPage))
	m.Handle("GET /console/registry/{group}", c.page(c.groupPage))
	m.Handle("GET /console/registry/{group}/compare", c.page(c.comparePage))
	m.Handle("GET /console/registry/{group}/{version}", c.page(c.versionPage))
	m.Handle("POST /console/registry/{group}/{version}/status", c.action(c.setStatus))
	m.Handle("GET /console/pipelines", c.page(c.pipelinesPage))
	m.Handle("GET /console/pipelines/{name}", c.page(c.pipelinePage))
	m.Handle("POST /console/pipelines/{name}/start", c.action(c.startExecution))
	m.Handle("GET /console/pipelines/{name}/executions/{id}", c.page(c.executionPage))
	m.Handle("GET /console/pipelines/{name}/executions/{id}/live", c.page(c.executionLive))
	m.Handle("GET /console/pipelines/{name}/executions/{id}/steps/{step}", c.page(c.stepPage))
	m.Handle("GET /console/pipelines/{name}/executions/{id}/steps/{step}/live", c.page(c.stepLive))
	m.Handle("GET /console/pipelines/{name}/executions/{id}/steps/{step}/explain", c.page(c.explainPage))
	m.Handle("POST /console/pipelines/{name}/executions/{id}/stop", c.action(c.stopExecution))
	m.Handle("POST /console/pipelines/{name}/executions/{id}/retry", c.action(c.retryExecution))
	m.Handle("GET /console/endpoints", c.page(c.endpointsPage))
	m.Handle("GET /console/endpoints/live", c.page(c.endpointsLive))
	m.Handle("GET /console/endpoints/{name}", c.page(c.endpointPage))
	m.Handle("GET /console/endpoints/{name}/live", c.page(c.endpointLive))
	m.Handle("GET /console/deployments", c.page(c.deploymentsPage))
	m.Handle("GET /console/where", c.page(c.wherePage))
	m.Handle("GET /console/deployments/{name}", c.page(c.deploymentPage))
	m.Handle("GET /console/deployments/{name}/live", c.page(c.deploymentLive))
	m.Handle("POST /console/deployments/{name}/approval", c.action(c.approval))
	m.Handle("POST /console/deployments/{name}/transition", c.action(c.transition))
	m.Handle("GET /console/audit", c.page(c.auditPage))
	m.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	c.mux = m
}

// view is what every page template receives.
type view struct {
	Title   string
	Nav     string
	Session *session
	Caller  identity.Caller
	CSRF    string
	Flash   string // the outcome of the action that led here
	Error   string // a refusal (AccessDenied, validation) to show instead of the content
	Poll    string // the URL of the page's live JSON, if any
	Data    any
}

// render writes a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	t := c.pages[name]
	if t == nil {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	if v.Flash == "" {
		v.Flash = r.URL.Query().Get("flash")
		if len(v.Flash) > 300 {
			v.Flash = v.Flash[:300]
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, "layout", v); err != nil {
		c.log.Error("cannot render a page", "page", name, "err", err)
	}
}

// writeJSON writes a live update.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// call runs one domain call as the session's principal and audits it as the API audits a
// call: the record commits with the change the call makes, or is recorded after it.
func (c *Console) call(ctx context.Context, r *http.Request, s *session, service, operation string, fn func(ctx context.Context, call identity.Call) error) error {
	return c.callAs(ctx, r, s.caller, service, operation, fn)
}

// callAs is call as another principal of the session: a role session it assumed to read
// another account (the deployments' "where" view).
func (c *Console) callAs(ctx context.Context, r *http.Request, caller identity.Caller, service, operation string, fn func(ctx context.Context, call identity.Call) error) error {
	note := &identity.Note{}
	rec := audit.Record{
		Time: c.now(), RequestID: randid.UUID(), Account: caller.Account, PrincipalARN: caller.ARN,
		AccessKeyID: caller.AccessKeyID, Service: service, Operation: operation,
		SourceIP: sourceIP(r), UserAgent: "slipway-console",
	}
	build := func() audit.Record {
		out := rec
		out.Resource, out.Decision, out.Reason = note.Resource, note.Decision, note.Reason
		out.HTTPStatus = 200
		return out
	}
	actx, p := audit.WithPending(identity.WithNote(ctx, note), build)
	err := fn(actx, identity.Call{Caller: caller, Context: identity.RequestContext{Region: c.cfg.Region, Secure: r.TLS != nil, Time: rec.Time}})
	if p.WasCommitted() && err == nil {
		return nil
	}
	out := build()
	if err != nil {
		out.ErrorCode = codeOf(err)
		out.HTTPStatus = statusOf(err)
	}
	if rerr := c.cfg.Audit.RecordCall(context.WithoutCancel(ctx), out); rerr != nil {
		c.log.Error("audit record failed", "operation", service+":"+operation, "err", rerr)
		if err == nil {
			return errs.E(errs.Internal, "the call's audit record could not be written", rerr)
		}
	}
	return err
}

// statusOf is the HTTP status the API answers an error with.
func statusOf(err error) int {
	switch errs.KindOf(err) {
	case errs.AccessDenied:
		return http.StatusForbidden
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Invalid:
		return http.StatusBadRequest
	case errs.Conflict:
		return http.StatusConflict
	case errs.Unauthenticated:
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

// problem is how a page shows a refusal: the API's message (an AccessDenied names who may not
// do what on which resource), or a generic one for an internal error.
func (c *Console) problem(err error) string {
	if k := errs.KindOf(err); k == errs.Other || k == errs.Internal {
		c.log.Error("console call failed", "err", err)
		return "InternalFailure: please retry"
	}
	return codeOf(err) + ": " + errs.Message(err)
}

// codeOf is the error code the API would answer with.
func codeOf(err error) string {
	if code := errs.CodeOf(err); code != "" {
		return code
	}
	switch errs.KindOf(err) {
	case errs.AccessDenied:
		return "AccessDenied"
	case errs.NotFound:
		return "ResourceNotFound"
	case errs.Invalid:
		return "ValidationException"
	}
	return errs.KindOf(err).String()
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

var funcs = template.FuncMap{
	"time":       fmtTime,
	"waitingSig": waitingSig,
	"dur": func(d time.Duration) string {
		if d <= 0 {
			return ""
		}
		return d.Round(100 * time.Millisecond).String()
	},
	"num":   func(f float64) string { return fmt.Sprintf("%.4g", f) },
	"lower": strings.ToLower,
}

func auditRecord(now time.Time, caller identity.Caller, keyID, service, op, code string, status int, ip string) audit.Record {
	return audit.Record{
		Time: now, RequestID: randid.UUID(), Account: caller.Account, PrincipalARN: caller.ARN, AccessKeyID: keyID,
		Service: service, Operation: op, ErrorCode: code, HTTPStatus: status, SourceIP: ip, UserAgent: "slipway-console",
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
