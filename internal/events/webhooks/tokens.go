package webhooks

import (
	"context"
	"strconv"
	"sync"

	"github.com/slipway-ml/slipway/internal/errs"
)

// tokenCache holds OAuth access tokens in memory, by connection ARN and revision (a change of
// the connection makes its old token unused).
type tokenCache struct {
	mu sync.Mutex
	m  map[string]Token
}

func tokenKey(c Connection) string {
	return c.ARN + "@" + strconv.FormatInt(c.ModifiedAt.UnixNano(), 10)
}

func (c *tokenCache) get(key string) (Token, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[key]
	return t, ok
}

func (c *tokenCache) put(key string, t Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 10000 {
		clear(c.m)
	}
	c.m[key] = t
}

func (c *tokenCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

// token returns an access token of an OAuth connection: the cached one while it lasts (unless
// fresh), else one fetched from the authorization endpoint within the egress allow-list. A
// refusal (off the allow-list, a 4xx answer, an answer without a usable token) deauthorizes
// the connection and is final; a network failure, a 429 or a 5xx is retried by the caller.
// The first token of an AUTHORIZING connection authorizes it.
func (d *Deliverer) token(ctx context.Context, conn Connection, clientSecret string, fresh bool) (string, error) {
	key := tokenKey(conn)
	if !fresh {
		if t, ok := d.tokens.get(key); ok && d.cfg.Now().Before(t.Expires) {
			return t.Value, nil
		}
	}
	d.tokens.drop(key)
	req, err := TokenRequest(conn, clientSecret, func(sealed string) (string, error) { return d.cfg.Seal.Open(sealed, conn.ARN) })
	if err != nil {
		return "", err
	}
	code, body, err := d.cfg.Sender.Fetch(ctx, req, MaxTokenBytes+1)
	switch {
	case err != nil && errs.Is(err, errs.AccessDenied):
		reason := "the authorization endpoint: " + errs.Message(err)
		d.setState(ctx, conn, Deauthorized, reason)
		return "", errs.E(errs.AccessDenied, "connection %s: %s", conn.ARN, reason)
	case err != nil:
		return "", errs.E(errs.Unavailable, "connection %s: fetching a token failed: %s", conn.ARN, errs.Message(err))
	case code == 429 || code >= 500:
		return "", errs.E(errs.Unavailable, "connection %s: the authorization endpoint answered %d", conn.ARN, code)
	case code < 200 || code >= 300:
		reason := "the authorization endpoint answered " + strconv.Itoa(code)
		d.setState(ctx, conn, Deauthorized, reason)
		return "", errs.E(errs.Invalid, "connection %s: %s", conn.ARN, reason)
	}
	t, err := ParseToken(body, d.cfg.Now())
	if err != nil {
		d.setState(ctx, conn, Deauthorized, errs.Message(err))
		return "", errs.E(errs.Invalid, "connection %s: %s", conn.ARN, errs.Message(err))
	}
	d.tokens.put(key, t)
	if conn.State != Authorized {
		d.setState(ctx, conn, Authorized, "")
	}
	return t.Value, nil
}

// setState records what a token fetch found, unless the connection changed since it was read.
func (d *Deliverer) setState(ctx context.Context, conn Connection, state ConnectionState, reason string) {
	// Read apart from the write (a store may serve one connection at a time): a change made in
	// between has a new ModifiedAt, and its own fetch records its state.
	cur, err := d.cfg.Store.GetConnection(ctx, conn.Account, conn.Name)
	if err != nil || cur.ARN != conn.ARN || !cur.ModifiedAt.Equal(conn.ModifiedAt) || (cur.State == Deauthorized && cur.Sealed == "") {
		return
	}
	cur.State, cur.StateReason = state, reason
	if state == Authorized {
		cur.AuthorizedAt = d.cfg.Now()
	}
	if err := d.cfg.Store.Update(ctx, func(tx Tx) error { return tx.PutConnection(ctx, cur) }); err != nil {
		d.log.Warn("cannot record a connection's state", "connection", conn.ARN, "state", state, "err", err)
	}
}

// Authorize fetches the first token of an AUTHORIZING OAuth connection in the background (the
// connections service calls it once a change is committed). A connection left AUTHORIZING
// (the endpoint was down, the server stopped) is authorized by its first delivery.
func (d *Deliverer) Authorize(account, name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.bgCtx.Err() != nil {
		return
	}
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		ctx, cancel := context.WithTimeout(d.bgCtx, 2*Timeout)
		defer cancel()
		conn, err := d.cfg.Store.GetConnection(ctx, account, name)
		if err != nil || conn.AuthType != OAuth || conn.State != Authorizing || conn.Sealed == "" {
			return
		}
		secret, err := d.cfg.Seal.Open(conn.Sealed, conn.ARN)
		if err != nil {
			d.setState(ctx, conn, Deauthorized, "the client secret does not open with this server's master key")
			return
		}
		if _, err := d.token(ctx, conn, secret, true); err != nil {
			d.log.Debug("a connection's first token", "connection", conn.ARN, "err", errs.Message(err))
		}
	}()
}

// Close stops the token fetches Authorize started and waits for them.
func (d *Deliverer) Close() {
	d.mu.Lock()
	d.bgCancel()
	d.mu.Unlock()
	d.bg.Wait()
}
