package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events/egress"
	"github.com/slipway-ml/slipway/internal/events/rules"
	"github.com/slipway-ml/slipway/internal/identity"
)

// UserAgent is what calls to API destinations say they are.
const UserAgent = "Amazon/EventBridge/ApiDestinations"

// Doer sends HTTP requests (egress.Allow's client in production).
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Sessions lets delivery act as the role a target names (package identity implements it).
type Sessions interface {
	EngineSession(ctx context.Context, roleARN, engine string) (identity.Caller, error)
}

// Recorder records a delivery's key once it is made (the rules store implements it).
type Recorder interface {
	Once(ctx context.Context, key string, fn func(tx rules.Tx) error) (bool, error)
}

// DelivererConfig is what a Deliverer needs.
type DelivererConfig struct {
	Store    Store
	Seal     Sealer
	Authz    Authorizer
	Sessions Sessions
	Record   Recorder
	Allow    *egress.Allow // where calls may go; nil or empty: nowhere
	Client   Doer          // nil: Allow.Client(5 s)
	Region   string
	Log      *slog.Logger
}

// Deliverer is the rules.Deliverer of API destination targets.
type Deliverer struct {
	cfg DelivererConfig
	log *slog.Logger

	mu     sync.Mutex
	pacers map[string]*pacer // destination ARN → its rate
}

var _ rules.Deliverer = (*Deliverer)(nil)

// Timeout is how long one call may take (EventBridge's: 5 s).
const Timeout = 5 * time.Second

// NewDeliverer returns a Deliverer.
func NewDeliverer(cfg DelivererConfig) *Deliverer {
	if cfg.Client == nil {
		cfg.Client = cfg.Allow.Client(Timeout)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Deliverer{cfg: cfg, log: log.With("component", "api-destinations"), pacers: map[string]*pacer{}}
}

// Deliver calls the target's API destination with the delivery's input. A refusal (another
// account's destination, a Deny, an address off the allow-list, a deauthorized connection, a
// 4xx answer EventBridge does not retry) is final; a network failure or a 401, 407, 409, 429
// or 5xx answer is retried by the dispatcher within the target's RetryPolicy.
func (d *Deliverer) Deliver(ctx context.Context, dl rules.Delivery) error {
	a, name, _, ok := arn.APIDestinationOf(dl.Target.ARN)
	switch {
	case !ok:
		return errs.E(errs.Invalid, "%s is not an API destination ARN", dl.Target.ARN)
	case a.Account != dl.Rule.Account:
		return errs.E(errs.AccessDenied, "API destination %s belongs to another account than rule %s", dl.Target.ARN, dl.RuleARN)
	case a.Region != d.cfg.Region:
		return errs.E(errs.Invalid, "API destination %s is in another region", dl.Target.ARN)
	case dl.Target.RoleARN == "":
		return errs.E(errs.Invalid, "target %s names no RoleArn", dl.Target.ID)
	}
	dest, err := d.cfg.Store.GetDestination(ctx, a.Account, name)
	if errs.Is(err, errs.NotFound) || (err == nil && dest.ARN != dl.Target.ARN) {
		return errs.E(errs.NotFound, "API destination %s does not exist", dl.Target.ARN)
	}
	if err != nil {
		return err
	}
	caller, err := d.cfg.Sessions.EngineSession(ctx, dl.Target.RoleARN, rules.Engine)
	if err != nil {
		return err
	}
	if _, err := d.cfg.Authz.Authorize(ctx, caller, identity.Action{
		Name: "events:InvokeApiDestination", Resource: dest.ARN, ResourceAccount: dest.Account,
		Context: identity.RequestContext{Region: d.cfg.Region, Secure: true},
	}); err != nil {
		return err
	}
	if dest.State != Active {
		return errs.E(errs.Invalid, "API destination %s is %s", dest.ARN, dest.State)
	}
	_, connName, _, _ := arn.EventConnectionOf(dest.ConnectionARN)
	conn, err := d.cfg.Store.GetConnection(ctx, dest.Account, connName)
	if errs.Is(err, errs.NotFound) || (err == nil && conn.ARN != dest.ConnectionARN) {
		return errs.E(errs.NotFound, "connection %s of API destination %s does not exist", dest.ConnectionARN, dest.ARN)
	}
	if err != nil {
		return err
	}
	if conn.State != Authorized || conn.Sealed == "" {
		return errs.E(errs.Invalid, "connection %s is %s", conn.ARN, conn.State)
	}
	secret, err := d.cfg.Seal.Open(conn.Sealed, conn.ARN)
	if err != nil {
		return errs.E(errs.Invalid, "the secret of connection %s does not open with this server's master key", conn.ARN)
	}
	envelope, err := json.Marshal(dl.Event.Envelope())
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the event %s", dl.Event.ID, err)
	}
	req, err := buildRequest(ctx, dest, conn, secret, dl.Target.HTTP, envelope, dl.Input)
	if err != nil {
		return err
	}
	if _, err := d.cfg.Allow.CheckURL(req.URL.String()); err != nil {
		return err
	}
	if err := d.pace(ctx, dest); err != nil {
		return err
	}
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		if errs.Is(err, errs.AccessDenied) {
			return errs.E(errs.AccessDenied, "%s", errs.Message(err))
		}
		return errs.E(errs.Unavailable, "calling API destination %s failed: %s", dest.ARN, networkReason(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		_, err := d.cfg.Record.Once(ctx, dl.Key, func(rules.Tx) error { return nil })
		return err
	case code == 401, code == 407, code == 409, code == 429, code >= 500:
		return errs.E(errs.Unavailable, "API destination %s answered %s", dest.ARN, resp.Status)
	default:
		return errs.E(errs.Invalid, "API destination %s answered %s", dest.ARN, resp.Status)
	}
}

// networkReason is a transport failure's reason without the URL (whose query may carry what
// a target put there).
func networkReason(err error) string {
	var ue *url.Error
	for e := err; e != nil; {
		if u, ok := e.(*url.Error); ok {
			ue = u
			break
		}
		w, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = w.Unwrap()
	}
	if ue != nil && ue.Err != nil {
		return ue.Err.Error()
	}
	return err.Error()
}

// buildRequest makes the call: the endpoint's "*" wildcards filled with the path values,
// the target's query parameters added to the endpoint's, its headers, and the connection's
// authorization last (a target cannot override it).
func buildRequest(ctx context.Context, dest Destination, conn Connection, secret string, hp *rules.HTTPParameters, envelope, body []byte) (*http.Request, error) {
	var p rules.HTTPParameters
	if hp != nil {
		p = *hp
	}
	values := make([]string, len(p.PathParameterValues))
	for i, v := range p.PathParameterValues {
		x, ok := rules.HTTPValue(v, envelope)
		if !ok {
			return nil, errs.E(errs.Invalid, "path parameter %s leads nowhere in the event", v)
		}
		values[i] = x
	}
	u, err := endpointURL(dest.Endpoint, values)
	if err != nil {
		return nil, err
	}
	if len(p.QueryStringParameters) > 0 {
		q := u.Query()
		for _, k := range sortedKeys(p.QueryStringParameters) {
			x, ok := rules.HTTPValue(p.QueryStringParameters[k], envelope)
			if !ok {
				return nil, errs.E(errs.Invalid, "query parameter %s leads nowhere in the event", k)
			}
			q.Set(k, x)
		}
		u.RawQuery = q.Encode()
	}
	var rd io.Reader
	switch dest.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, dest.Method, u.String(), rd)
	if err != nil {
		return nil, errs.E(errs.Invalid, "cannot build the call to %s", dest.ARN)
	}
	req.Header.Set("User-Agent", UserAgent)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	for _, k := range sortedKeys(p.HeaderParameters) {
		x, ok := rules.HTTPValue(p.HeaderParameters[k], envelope)
		if !ok {
			return nil, errs.E(errs.Invalid, "header %s leads nowhere in the event", k)
		}
		if strings.ContainsAny(x, "\r\n\x00") {
			return nil, errs.E(errs.Invalid, "header %s's value from the event holds a control character", k)
		}
		req.Header.Set(k, x)
	}
	switch conn.AuthType {
	case APIKey:
		req.Header.Set(conn.APIKeyName, secret)
	case Basic:
		req.SetBasicAuth(conn.Username, secret)
	}
	return req, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// endpointURL parses an InvocationEndpoint and, when values is not nil, replaces the "*"
// wildcards of its path with them in order (path-escaped); a wildcard without a value is an
// error.
func endpointURL(raw string, values []string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil || u.Fragment != "" {
		return nil, errs.E(errs.Invalid, "not an http(s) URL with a host, without user information or fragment")
	}
	if values == nil {
		return u, nil
	}
	parts := strings.Split(u.EscapedPath(), "*")
	if len(parts)-1 > len(values) {
		return nil, errs.E(errs.Invalid, "the endpoint's path has %d wildcards; the target gives %d PathParameterValues", len(parts)-1, len(values))
	}
	var b strings.Builder
	for i, part := range parts {
		b.WriteString(part)
		if i < len(parts)-1 {
			b.WriteString(url.PathEscape(values[i]))
		}
	}
	path, err := url.PathUnescape(b.String())
	if err != nil {
		return nil, errs.E(errs.Invalid, "the endpoint's path does not unescape")
	}
	u.Path, u.RawPath = path, b.String()
	return u, nil
}

// pacer spaces one destination's calls 1/rate apart.
type pacer struct {
	mu   sync.Mutex
	next time.Time
}

// pace waits for the destination's next slot (InvocationRateLimitPerSecond).
func (d *Deliverer) pace(ctx context.Context, dest Destination) error {
	rate := dest.RateLimit
	if rate <= 0 {
		rate = DefaultRateLimit
	}
	d.mu.Lock()
	p := d.pacers[dest.ARN]
	if p == nil {
		if len(d.pacers) > 10000 {
			clear(d.pacers)
		}
		p = &pacer{}
		d.pacers[dest.ARN] = p
	}
	d.mu.Unlock()
	gap := time.Second / time.Duration(rate)
	p.mu.Lock()
	now := time.Now()
	at := p.next
	if at.Before(now) {
		at = now
	}
	p.next = at.Add(gap)
	p.mu.Unlock()
	wait := at.Sub(now)
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
