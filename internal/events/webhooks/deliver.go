package webhooks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/textproto"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events/rules"
	"github.com/slipway-ml/slipway/internal/identity"
)

// UserAgent is what calls to API destinations say they are.
const UserAgent = "Amazon/EventBridge/ApiDestinations"

// Request is one call to an API destination.
type Request struct {
	Method string
	URL    string
	Header map[string][]string // canonical keys
	Body   []byte              // nil: none
}

// Sender makes calls (package egress implements it, within the operator's allow-list). It
// returns the answer's status code; an error of kind AccessDenied is a refusal by the
// allow-list, any other a transport failure.
type Sender interface {
	Send(ctx context.Context, r Request) (status int, err error)
	// Fetch makes a call and returns its answer's status and body (at most limit bytes).
	Fetch(ctx context.Context, r Request, limit int64) (status int, body []byte, err error)
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
	Sender   Sender
	Region   string
	Log      *slog.Logger
	Now      func() time.Time
	// Audited, when set, runs a call (its authorization and the HTTP request) under the
	// audit record of the engine's session (the composition root records it).
	Audited func(ctx context.Context, caller identity.Caller, dl rules.Delivery, fn func(ctx context.Context) error) error
}

// Deliverer is the rules.Deliverer of API destination targets.
type Deliverer struct {
	cfg DelivererConfig
	log *slog.Logger

	mu     sync.Mutex
	pacers map[string]*pacer // destination ARN → its rate

	tokens tokenCache

	// The first-token fetches Authorize starts; Close cancels and waits for them.
	bg       sync.WaitGroup
	bgCtx    context.Context
	bgCancel context.CancelFunc
}

var _ rules.Deliverer = (*Deliverer)(nil)

// Timeout is how long one call may take (EventBridge's: 5 s).
const Timeout = 5 * time.Second

// NewDeliverer returns a Deliverer.
func NewDeliverer(cfg DelivererConfig) *Deliverer {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Deliverer{cfg: cfg, log: log.With("component", "api-destinations"), pacers: map[string]*pacer{},
		tokens: tokenCache{m: map[string]Token{}}, bgCtx: ctx, bgCancel: cancel}
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
	if d.cfg.Audited == nil {
		return d.invoke(ctx, caller, dl, dest)
	}
	return d.cfg.Audited(ctx, caller, dl, func(ctx context.Context) error { return d.invoke(ctx, caller, dl, dest) })
}

// invoke authorizes the session to invoke the destination and calls it.
func (d *Deliverer) invoke(ctx context.Context, caller identity.Caller, dl rules.Delivery, dest Destination) error {
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
	usable := conn.State == Authorized || (conn.AuthType == OAuth && conn.State == Authorizing)
	if !usable || conn.Sealed == "" {
		return errs.E(errs.Invalid, "connection %s is %s", conn.ARN, conn.State)
	}
	secret, err := d.cfg.Seal.Open(conn.Sealed, conn.ARN)
	if err != nil {
		return errs.E(errs.Invalid, "the secret of connection %s does not open with this server's master key", conn.ARN)
	}
	if conn.AuthType == OAuth {
		// The connection's secret buys the token the call carries.
		if secret, err = d.token(ctx, conn, secret, false); err != nil {
			return err
		}
	}
	envelope, err := json.Marshal(dl.Event.Envelope())
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the event %s", dl.Event.ID, err)
	}
	req, err := BuildRequest(dest, conn, secret, dl.Target.HTTP, envelope, dl.Input)
	if err != nil {
		return err
	}
	if err := d.pace(ctx, dest); err != nil {
		return err
	}
	code, err := d.cfg.Sender.Send(ctx, req)
	if err == nil && code == 401 && conn.AuthType == OAuth {
		// The token may have been revoked before it expired: a new one, and the call once more.
		clientSecret, oerr := d.cfg.Seal.Open(conn.Sealed, conn.ARN)
		if oerr != nil {
			return errs.E(errs.Invalid, "the secret of connection %s does not open with this server's master key", conn.ARN)
		}
		tok, terr := d.token(ctx, conn, clientSecret, true)
		if terr != nil {
			return terr
		}
		if req, err = BuildRequest(dest, conn, tok, dl.Target.HTTP, envelope, dl.Input); err != nil {
			return err
		}
		if err := d.pace(ctx, dest); err != nil {
			return err
		}
		code, err = d.cfg.Sender.Send(ctx, req)
	}
	if err != nil {
		if errs.Is(err, errs.AccessDenied) {
			return errs.E(errs.AccessDenied, "API destination %s: %s", dest.ARN, errs.Message(err))
		}
		return errs.E(errs.Unavailable, "calling API destination %s failed: %s", dest.ARN, errs.Message(err))
	}
	switch {
	case code >= 200 && code < 300:
		_, err := d.cfg.Record.Once(ctx, dl.Key, func(rules.Tx) error { return nil })
		return err
	case code == 401, code == 407, code == 409, code == 429, code >= 500:
		return errs.E(errs.Unavailable, "API destination %s answered %d", dest.ARN, code)
	default:
		return errs.E(errs.Invalid, "API destination %s answered %d", dest.ARN, code)
	}
}

// BuildRequest makes the call (secret: the API key's value, the password, or the OAuth
// access token): the endpoint's "*" wildcards filled with the path values,
// the target's query parameters added to the endpoint's, its headers, and the connection's
// authorization last (a target cannot override it). JSONPath values read the envelope; the
// body is the target's input.
func BuildRequest(dest Destination, conn Connection, secret string, hp *rules.HTTPParameters, envelope, body []byte) (Request, error) {
	var p rules.HTTPParameters
	if hp != nil {
		p = *hp
	}
	values := make([]string, len(p.PathParameterValues))
	for i, v := range p.PathParameterValues {
		x, ok := rules.HTTPValue(v, envelope)
		if !ok {
			return Request{}, errs.E(errs.Invalid, "path parameter %s leads nowhere in the event", v)
		}
		values[i] = x
	}
	u, err := endpointURL(dest.Endpoint, values)
	if err != nil {
		return Request{}, err
	}
	if len(p.QueryStringParameters) > 0 {
		q := u.Query()
		for _, k := range sortedKeys(p.QueryStringParameters) {
			x, ok := rules.HTTPValue(p.QueryStringParameters[k], envelope)
			if !ok {
				return Request{}, errs.E(errs.Invalid, "query parameter %s leads nowhere in the event", k)
			}
			q.Set(k, x)
		}
		u.RawQuery = q.Encode()
	}
	req := Request{Method: dest.Method, URL: u.String(), Header: map[string][]string{"User-Agent": {UserAgent}}}
	switch dest.Method {
	case "GET", "HEAD", "OPTIONS":
	default:
		req.Body = body
		if req.Body == nil {
			req.Body = []byte{}
		}
		req.Header["Content-Type"] = []string{"application/json; charset=utf-8"}
	}
	for _, k := range sortedKeys(p.HeaderParameters) {
		x, ok := rules.HTTPValue(p.HeaderParameters[k], envelope)
		if !ok {
			return Request{}, errs.E(errs.Invalid, "header %s leads nowhere in the event", k)
		}
		if !token(k) {
			return Request{}, errs.E(errs.Invalid, "header name %q is not valid", k)
		}
		if strings.ContainsAny(x, "\r\n\x00") {
			return Request{}, errs.E(errs.Invalid, "header %s's value from the event holds a control character", k)
		}
		req.Header[textproto.CanonicalMIMEHeaderKey(k)] = []string{x}
	}
	switch conn.AuthType {
	case APIKey:
		req.Header[textproto.CanonicalMIMEHeaderKey(conn.APIKeyName)] = []string{secret}
	case Basic:
		req.Header["Authorization"] = []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(conn.Username+":"+secret))}
	case OAuth:
		req.Header["Authorization"] = []string{"Bearer " + secret}
	}
	return req, nil
}

// token reports whether s is an HTTP header name (RFC 9110 token).
func token(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return false
		}
	}
	return true
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
