package jobcreds_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/jobcreds"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

const acct = "111111111111"

type noOrg struct{}

func (noOrg) SCPLevels(context.Context, string) ([][]identity.NamedDocument, error) { return nil, nil }
func (noOrg) OrgID(context.Context) (string, error)                                 { return "", nil }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type engineLog struct {
	mu   sync.Mutex
	recs []identity.EngineRecord
}

func (l *engineLog) RecordEngineCall(_ context.Context, r identity.EngineRecord) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r)
	return nil
}

func (l *engineLog) count(decision string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if r.Decision == decision {
			n++
		}
	}
	return n
}

type fixture struct {
	id    *identity.Service
	creds *jobcreds.Service
	clock *clock
	log   *engineLog
	role  string // trusts sagemaker.amazonaws.com
	other string // trusts another service only
}

const ttl = time.Hour

func newFixture(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	seal, err := identity.NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
	id := identity.NewService(st.Identity(), noOrg{}, seal, c.now, nil)
	log := &engineLog{}
	id.RecordEnginesWith(log)
	if _, err := id.BootstrapAccount(ctx, acct, acct, nil); err != nil {
		t.Fatal(err)
	}
	p, err := id.Principal(ctx, acct, identity.KindUser, "admin")
	if err != nil {
		t.Fatal(err)
	}
	admin := identity.Call{Caller: identity.Caller{Account: acct, ARN: p.ARN, PrincipalARN: p.ARN, UserID: p.ID, Kind: identity.KindUser, Name: "admin"}}
	trust := func(svc string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + svc + `"},"Action":"sts:AssumeRole"}]}`
	}
	for name, svc := range map[string]string{"job": "sagemaker.amazonaws.com", "lambda-only": "lambda.amazonaws.com"} {
		if _, err := id.CreateRole(ctx, admin, identity.RoleSpec{Name: name, TrustPolicy: trust(svc)}); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{id: id, clock: c, log: log, role: "arn:aws:iam::" + acct + ":role/job", other: "arn:aws:iam::" + acct + ":role/lambda-only"}
	f.creds = jobcreds.NewService(st.JobCreds(), id, jobcreds.Config{Region: "us-east-1", SessionTTL: ttl, Now: c.now})
	return f
}

func (f *fixture) grant(role string, d time.Duration) jobcreds.Grant {
	return jobcreds.Grant{Account: acct, RoleARN: role, SessionName: "SageMaker", Source: "arn:aws:sagemaker:us-east-1:" + acct + ":training-job/t1", Expires: f.clock.now().Add(d)}
}

func (f *fixture) issue(t *testing.T, g jobcreds.Grant) string {
	t.Helper()
	tok, err := f.creds.Issue(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// works reports whether a key authenticates, and as whom.
func (f *fixture) works(key string) (string, bool) {
	a, err := f.id.LookupAccessKey(context.Background(), key)
	if err != nil {
		return "", false
	}
	return a.Caller.ARN, true
}

func stores(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Run("SQLite", func(t *testing.T) { fn(t, storetest.OpenSQLite(t)) })
	t.Run("Postgres", func(t *testing.T) { fn(t, storetest.OpenPostgres(t)) })
}

func TestIssueRefusesBadGrants(t *testing.T) {
	f := newFixture(t, storetest.OpenSQLite(t))
	good := f.grant(f.role, time.Hour)
	for name, change := range map[string]func(g *jobcreds.Grant){
		"bad account":          func(g *jobcreds.Grant) { g.Account = "12" },
		"role of another acct": func(g *jobcreds.Grant) { g.RoleARN = "arn:aws:iam::222222222222:role/job" },
		"not a role":           func(g *jobcreds.Grant) { g.RoleARN = "arn:aws:iam::" + acct + ":user/admin" },
		"garbage role":         func(g *jobcreds.Grant) { g.RoleARN = "role" },
		"short session":        func(g *jobcreds.Grant) { g.SessionName = "x" },
		"bad session":          func(g *jobcreds.Grant) { g.SessionName = "a b" },
		"no source":            func(g *jobcreds.Grant) { g.Source = "" },
		"expired":              func(g *jobcreds.Grant) { g.Expires = f.clock.now() },
	} {
		g := good
		change(&g)
		if tok, err := f.creds.Issue(context.Background(), g); !errs.Is(err, errs.Invalid) || tok != "" {
			t.Errorf("%s: token %q, err %v; want Invalid", name, tok, err)
		}
	}
}

// A token gets a session of the grant's role; a chatty job reuses it until half its life has
// passed; revoking the grant stops the token and every session minted for it.
func TestCredentialsLifecycle(t *testing.T) {
	stores(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		tok := f.issue(t, f.grant(f.role, 3*time.Hour))
		if !strings.HasPrefix(tok, "slwjc_") || len(tok) != 49 {
			t.Errorf("token %q", tok)
		}
		c1, err := f.creds.Credentials(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if arn, ok := f.works(c1.AccessKeyID); !ok || arn != "arn:aws:sts::"+acct+":assumed-role/job/SageMaker" {
			t.Errorf("the minted key authenticates as %q (%v)", arn, ok)
		}
		if want := f.clock.now().Add(ttl); !c1.Expiration.Equal(want) || c1.Account != acct {
			t.Errorf("Expiration %v, account %s; want %v, %s", c1.Expiration, c1.Account, want, acct)
		}
		f.clock.add(ttl/2 - time.Minute)
		if c2, err := f.creds.Credentials(ctx, tok); err != nil || c2.AccessKeyID != c1.AccessKeyID {
			t.Errorf("within half the session's life: %v, %v; want the same key", c2.AccessKeyID, err)
		}
		if n := f.log.count("allow"); n != 1 {
			t.Errorf("%d sessions minted and audited, want 1", n)
		}
		f.clock.add(2 * time.Minute)
		c3, err := f.creds.Credentials(ctx, tok)
		if err != nil || c3.AccessKeyID == c1.AccessKeyID || !c3.Expiration.After(c1.Expiration) {
			t.Fatalf("past half the session's life: %v (expires %v), %v; want a new, later session", c3.AccessKeyID, c3.Expiration, err)
		}
		if _, ok := f.works(c1.AccessKeyID); !ok {
			t.Error("the first session stopped working before its expiry")
		}
		if err := f.creds.Revoke(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := f.creds.Credentials(ctx, tok); !errs.Is(err, errs.AccessDenied) || !strings.Contains(errs.Message(err), "revoked") {
			t.Errorf("after Revoke: %v, want AccessDenied (revoked)", err)
		}
		for _, k := range []string{c1.AccessKeyID, c3.AccessKeyID} {
			if _, ok := f.works(k); ok {
				t.Errorf("session %s still works after Revoke", k)
			}
		}
		if err := f.creds.Revoke(ctx, tok); err != nil {
			t.Errorf("a second Revoke: %v", err)
		}
		if err := f.creds.Revoke(ctx, "slwjc_"+strings.Repeat("A", 43)); !errs.Is(err, errs.NotFound) {
			t.Errorf("Revoke of an unknown token: %v, want NotFound", err)
		}
	})
}

func TestCredentialsRefused(t *testing.T) {
	stores(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		tok := f.issue(t, f.grant(f.role, time.Hour))
		untrusting := f.issue(t, f.grant(f.other, time.Hour))
		gone := f.issue(t, f.grant("arn:aws:iam::"+acct+":role/missing", time.Hour))
		for name, token := range map[string]string{
			"empty":                      "",
			"malformed":                  "Bearer " + tok,
			"another token":              "slwjc_" + strings.Repeat("A", 43),
			"one character off":          tok[:len(tok)-1] + string(rune(tok[len(tok)-1])^1),
			"role that does not trust":   untrusting,
			"role that does not exist":   gone,
			"token with trailing space":  tok + " ",
			"token with a byte appended": tok + "A",
		} {
			c, err := f.creds.Credentials(ctx, token)
			if !errs.Is(err, errs.AccessDenied) || c.AccessKeyID != "" {
				t.Errorf("%s: %+v, %v; want AccessDenied", name, c.AccessKeyID, err)
			}
		}
		if n := f.log.count("deny"); n != 2 {
			t.Errorf("%d refused engine sessions audited, want 2 (untrusting and missing role)", n)
		}
		if _, err := f.creds.Credentials(ctx, tok); err != nil {
			t.Fatalf("the good token: %v", err)
		}
		f.clock.add(time.Hour)
		if _, err := f.creds.Credentials(ctx, tok); !errs.Is(err, errs.AccessDenied) || !strings.Contains(errs.Message(err), "expired") {
			t.Errorf("at the grant's expiry: %v, want AccessDenied (expired)", err)
		}
	})
}

// A session never outlives the grant it was minted for.
func TestSessionEndsWithTheGrant(t *testing.T) {
	f := newFixture(t, storetest.OpenSQLite(t))
	g := f.grant(f.role, 10*time.Minute)
	c, err := f.creds.Credentials(context.Background(), f.issue(t, g))
	if err != nil {
		t.Fatal(err)
	}
	if c.Expiration.After(g.Expires) {
		t.Errorf("session expires %v, after the grant (%v)", c.Expiration, g.Expires)
	}
}

// hookMinter runs a hook between minting a session and the service recording it.
type hookMinter struct {
	jobcreds.Minter
	after func()
}

func (h hookMinter) EngineCredentials(ctx context.Context, roleARN, engine, sessionName, source string, ttl time.Duration) (identity.Session, error) {
	s, err := h.Minter.EngineCredentials(ctx, roleARN, engine, sessionName, source, ttl)
	h.after()
	return s, err
}

// A revocation that lands while a session is being minted wins: the session is deleted and
// the token refused.
func TestRevokeDuringMint(t *testing.T) {
	stores(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		var tok string
		var minted []string
		svc := jobcreds.NewService(st.JobCreds(), hookMinter{Minter: recording{f.id, &minted}, after: func() {
			if err := f.creds.Revoke(ctx, tok); err != nil {
				t.Errorf("Revoke: %v", err)
			}
		}}, jobcreds.Config{Region: "us-east-1", Now: f.clock.now})
		tok = f.issue(t, f.grant(f.role, time.Hour))
		if _, err := svc.Credentials(ctx, tok); !errs.Is(err, errs.AccessDenied) {
			t.Errorf("credentials minted across a revocation: %v, want AccessDenied", err)
		}
		if len(minted) != 1 {
			t.Fatalf("minted %d sessions, want 1", len(minted))
		}
		if _, ok := f.works(minted[0]); ok {
			t.Error("the session minted across the revocation still works")
		}
	})
}

type recording struct {
	*identity.Service
	keys *[]string
}

func (r recording) EngineCredentials(ctx context.Context, roleARN, engine, sessionName, source string, ttl time.Duration) (identity.Session, error) {
	s, err := r.Service.EngineCredentials(ctx, roleARN, engine, sessionName, source, ttl)
	if err == nil {
		*r.keys = append(*r.keys, s.ID)
	}
	return s, err
}

func TestEnv(t *testing.T) {
	f := newFixture(t, storetest.OpenSQLite(t))
	f.creds.UseEndpoints(jobcreds.Endpoints{API: "http://127.0.0.1:9330", Credentials: "http://127.0.0.1:9330/c", Proxy: "http://127.0.0.1:4444", CABundle: "/d/ca.pem"})
	env := f.creds.Env("TOK")
	for k, v := range map[string]string{
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9330/c", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "TOK",
		"AWS_ENDPOINT_URL": "http://127.0.0.1:9330", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
		"HTTPS_PROXY": "http://127.0.0.1:4444", "NO_PROXY": "127.0.0.1,localhost", "AWS_CA_BUNDLE": "/d/ca.pem",
	} {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	f.creds.UseEndpoints(jobcreds.Endpoints{API: "http://127.0.0.1:9330", Credentials: "http://127.0.0.1:9330/c"})
	if env := f.creds.Env("TOK"); env["HTTPS_PROXY"] != "" || env["AWS_CA_BUNDLE"] != "" {
		t.Errorf("without a proxy: %v", env)
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add("slwjc_" + strings.Repeat("A", 43))
	f.Add("slwjc_" + strings.Repeat("-", 42) + "é")
	f.Add("Bearer x")
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := jobcreds.ParseToken(h)
		if !ok {
			if tok != "" {
				t.Fatalf("refused %q but returned %q", h, tok)
			}
			return
		}
		if tok != h || len(tok) != 49 || !strings.HasPrefix(tok, "slwjc_") || strings.ContainsAny(tok, " \t\r\n") {
			t.Fatalf("accepted %q as %q", h, tok)
		}
	})
}

// A chatty job asking many times at once mints one session.
func TestConcurrentRequestsMintOnce(t *testing.T) {
	f := newFixture(t, storetest.OpenSQLite(t))
	tok := f.issue(t, f.grant(f.role, time.Hour))
	var wg sync.WaitGroup
	keys := make([]string, 16)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := f.creds.Credentials(context.Background(), tok)
			if err != nil {
				t.Error(err)
			}
			keys[i] = c.AccessKeyID
		}()
	}
	wg.Wait()
	for _, k := range keys {
		if k != keys[0] {
			t.Fatalf("concurrent requests got different sessions: %v", keys)
		}
	}
	if n := f.log.count("allow"); n != 1 {
		t.Errorf("%d sessions minted, want 1", n)
	}
}
