package jobcreds

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
)

// Grant is what a token stands for: a session of RoleARN (a role of Account) named
// SessionName, for Source (the job's ARN), until Expires.
type Grant struct {
	Account     string
	RoleARN     string
	SessionName string
	Source      string
	Expires     time.Time
}

// Record is a stored grant: its token's hash and its state.
type Record struct {
	Grant
	TokenHash string // hex SHA-256 of the token
	CreatedAt time.Time
	RevokedAt time.Time // zero while the grant stands
}

// Store persists grants. GetGrant returns errs.NotFound; CreateGrant errs.Conflict when the
// hash exists.
type Store interface {
	CreateGrant(ctx context.Context, r Record) error
	GetGrant(ctx context.Context, tokenHash string) (Record, error)
	// AddGrantKey records a session key minted for a grant, unless the grant is revoked (or
	// gone): then it returns errs.Conflict and records nothing. It serializes with RevokeGrant.
	AddGrantKey(ctx context.Context, tokenHash, keyID string, at, expires time.Time) error
	// RevokeGrant marks a grant revoked (once; later calls keep the first time) and returns
	// every session key recorded for it.
	RevokeGrant(ctx context.Context, tokenHash string, at time.Time) (Record, []string, error)
	// DeleteExpiredGrants deletes the grants (and their key records) that expired before t.
	DeleteExpiredGrants(ctx context.Context, t time.Time) (int, error)
}

// Minter mints and ends role sessions for an engine; identity.Service is one.
type Minter interface {
	EngineCredentials(ctx context.Context, roleARN, engine, sessionName, source string, ttl time.Duration) (identity.Session, error)
	EndEngineCredentials(ctx context.Context, account string, keyIDs ...string) error
}

var _ Minter = (*identity.Service)(nil)

// Credentials is what the endpoint answers.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
	Account         string
}

// Endpoints are where a job reaches Slipway; the composition root sets them once it listens.
type Endpoints struct {
	API         string // AWS_ENDPOINT_URL: http://127.0.0.1:PORT
	Credentials string // AWS_CONTAINER_CREDENTIALS_FULL_URI: a loopback http URL
	Proxy       string // HTTPS_PROXY for SDKs that do not read AWS_ENDPOINT_URL; "" for none
	CABundle    string // AWS_CA_BUNDLE: the PEM of the proxy's CA; "" for none
}

// Config configures a Service.
type Config struct {
	Region string
	// Engine is the service principal the roles' trust policies must allow (default
	// sagemaker.amazonaws.com, as for SageMaker's jobs).
	Engine string
	// SessionTTL is how long a minted session lasts (default one hour). SDKs refresh before
	// its Expiration.
	SessionTTL time.Duration
	Now        func() time.Time
	Log        *slog.Logger
}

// Service issues, serves and revokes job credentials.
type Service struct {
	store  Store
	minter Minter
	cfg    Config

	mu        sync.Mutex
	endpoints Endpoints
	sessions  map[string]*entry // by token hash
}

type entry struct {
	mu    sync.Mutex
	creds Credentials
}

// NewService returns a Service.
func NewService(st Store, m Minter, cfg Config) *Service {
	if cfg.Engine == "" {
		cfg.Engine = "sagemaker.amazonaws.com"
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.Log = cfg.Log.With("component", "jobcreds")
	return &Service{store: st, minter: m, cfg: cfg, sessions: map[string]*entry{}}
}

// UseEndpoints sets where jobs reach Slipway (see Env).
func (s *Service) UseEndpoints(e Endpoints) {
	s.mu.Lock()
	s.endpoints = e
	s.mu.Unlock()
}

// tokenPrefix marks Slipway's job-credentials tokens (so a leaked one is recognisable).
const tokenPrefix = "slwjc_"

// tokenLen is the length of a token: the prefix and 32 random bytes in unpadded base64url.
const tokenLen = len(tokenPrefix) + 43

// ParseToken checks the value of the Authorization header the SDKs send (the token itself,
// as AWS_CONTAINER_AUTHORIZATION_TOKEN holds it) and returns the token.
func ParseToken(header string) (string, bool) {
	if len(header) != tokenLen || !strings.HasPrefix(header, tokenPrefix) {
		return "", false
	}
	for i := len(tokenPrefix); i < len(header); i++ {
		c := header[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return "", false
		}
	}
	return header, true
}

func hashOf(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// sessionNameOK is what STS allows as a role session name.
func sessionNameOK(n string) bool {
	if len(n) < 2 || len(n) > 64 {
		return false
	}
	for _, c := range n {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("_+=,.@-", c)) {
			return false
		}
	}
	return true
}

// Issue records a grant and returns its token, which only the caller ever sees.
func (s *Service) Issue(ctx context.Context, g Grant) (string, error) {
	if !arn.ValidAccountID(g.Account) {
		return "", errs.E(errs.Invalid, "cannot issue job credentials: account %q is not an account id", g.Account)
	}
	role, err := arn.ParseIAM(g.RoleARN)
	if err != nil || role.Type != identity.KindRole || role.Account != g.Account {
		return "", errs.E(errs.Invalid, "cannot issue job credentials: %q is not a role ARN of account %s", g.RoleARN, g.Account)
	}
	if !sessionNameOK(g.SessionName) {
		return "", errs.E(errs.Invalid, "cannot issue job credentials: session name %q must be 2 to 64 characters of letters, digits and +=,.@_-", g.SessionName)
	}
	if g.Source == "" || len(g.Source) > 2048 {
		return "", errs.E(errs.Invalid, "cannot issue job credentials: the source must be 1 to 2,048 characters")
	}
	now := s.cfg.Now()
	if !g.Expires.After(now) {
		return "", errs.E(errs.Invalid, "cannot issue job credentials: the grant expires at %s, in the past", g.Expires.UTC().Format(time.RFC3339))
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", errs.E(errs.Internal, "cannot make a token", err)
	}
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	if err := s.store.CreateGrant(ctx, Record{Grant: g, TokenHash: hashOf(token), CreatedAt: now}); err != nil {
		return "", err
	}
	return token, nil
}

// Revoke ends a grant: its token gets nothing more, and the sessions minted for it stop
// working. Revoking twice is not an error; an unknown token is errs.NotFound.
func (s *Service) Revoke(ctx context.Context, token string) error {
	token, ok := ParseToken(token)
	if !ok {
		return errs.E(errs.NotFound, "no such job credentials token")
	}
	h := hashOf(token)
	s.mu.Lock()
	delete(s.sessions, h)
	s.mu.Unlock()
	rec, keys, err := s.store.RevokeGrant(ctx, h, s.cfg.Now())
	if err != nil {
		return err
	}
	return s.minter.EndEngineCredentials(ctx, rec.Account, keys...)
}

// SweepExpired deletes grants that expired more than a day ago; the server runs it at start.
func (s *Service) SweepExpired(ctx context.Context) (int, error) {
	return s.store.DeleteExpiredGrants(ctx, s.cfg.Now().Add(-24*time.Hour))
}

func refused(why string) error {
	return errs.E(errs.AccessDenied, "the job credentials token %s", why).WithCode("AccessDenied")
}

// Credentials answers the credentials endpoint for a token: the current session of the
// grant's role, minting one when there is none or half of its lifetime has passed.
func (s *Service) Credentials(ctx context.Context, token string) (Credentials, error) {
	token, ok := ParseToken(token)
	if !ok {
		return Credentials{}, refused("is missing or malformed")
	}
	h := hashOf(token)
	rec, err := s.store.GetGrant(ctx, h)
	if errs.Is(err, errs.NotFound) {
		return Credentials{}, refused("is not valid")
	}
	if err != nil {
		return Credentials{}, err
	}
	if subtle.ConstantTimeCompare([]byte(rec.TokenHash), []byte(h)) != 1 {
		return Credentials{}, refused("is not valid")
	}
	now := s.cfg.Now()
	if !rec.RevokedAt.IsZero() {
		s.forget(h)
		return Credentials{}, refused("was revoked: the job has ended")
	}
	if !now.Before(rec.Expires) {
		s.forget(h)
		return Credentials{}, refused("has expired")
	}

	s.mu.Lock()
	e := s.sessions[h]
	if e == nil {
		s.sweepLocked(now)
		e = &entry{}
		s.sessions[h] = e
	}
	s.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.creds; c.AccessKeyID != "" && c.Expiration.Sub(now) > s.cfg.SessionTTL/2 {
		return c, nil
	}
	ttl := s.cfg.SessionTTL
	if left := rec.Expires.Sub(now); left < ttl {
		ttl = left.Truncate(time.Second)
	}
	if ttl < time.Second {
		return Credentials{}, refused("has expired")
	}
	sess, err := s.minter.EngineCredentials(ctx, rec.RoleARN, s.engineFor(rec.Source), rec.SessionName, rec.Source, ttl)
	if err != nil {
		return Credentials{}, err
	}
	if err := s.store.AddGrantKey(ctx, h, sess.ID, now, sess.ExpiresAt); err != nil {
		if eerr := s.minter.EndEngineCredentials(ctx, rec.Account, sess.ID); eerr != nil {
			s.cfg.Log.Error("cannot delete a session minted for a revoked grant", "key", sess.ID, "err", eerr)
		}
		if errs.Is(err, errs.Conflict) {
			return Credentials{}, refused("was revoked: the job has ended")
		}
		return Credentials{}, err
	}
	e.creds = Credentials{AccessKeyID: sess.ID, SecretAccessKey: sess.Secret, SessionToken: sess.SessionToken, Expiration: sess.ExpiresAt, Account: rec.Account}
	return e.creds, nil
}

// engineFor is the service principal a grant's sessions are minted for, which the role's
// trust policy must allow: CodeBuild's for a build (its source is the build's ARN), the
// configured engine otherwise.
func (s *Service) engineFor(source string) string {
	if strings.HasPrefix(source, "arn:aws:codebuild:") {
		return "codebuild.amazonaws.com"
	}
	return s.cfg.Engine
}

func (s *Service) forget(h string) {
	s.mu.Lock()
	delete(s.sessions, h)
	s.mu.Unlock()
}

// sweepLocked drops cached sessions that have expired, when the cache grows.
func (s *Service) sweepLocked(now time.Time) {
	if len(s.sessions) < 256 {
		return
	}
	for h, e := range s.sessions {
		if e.mu.TryLock() {
			if !e.creds.Expiration.After(now) {
				delete(s.sessions, h)
			}
			e.mu.Unlock()
		}
	}
}

// Env returns the environment a job needs to call AWS as its role and reach Slipway: the
// container credentials provider's URL and token, the endpoint, the region, and, for SDKs
// too old to read AWS_ENDPOINT_URL, the loopback HTTPS proxy and its CA bundle.
func (s *Service) Env(token string) map[string]string {
	s.mu.Lock()
	e := s.endpoints
	s.mu.Unlock()
	env := map[string]string{
		"AWS_CONTAINER_AUTHORIZATION_TOKEN": token,
		"AWS_REGION":                        s.cfg.Region,
		"AWS_DEFAULT_REGION":                s.cfg.Region,
	}
	set := func(k, v string) {
		if v != "" {
			env[k] = v
		}
	}
	set("AWS_CONTAINER_CREDENTIALS_FULL_URI", e.Credentials)
	set("AWS_ENDPOINT_URL", e.API)
	if e.Proxy != "" {
		// Both spellings: curl-style tools read the lower-case one, others the upper.
		set("HTTPS_PROXY", e.Proxy)
		set("https_proxy", e.Proxy)
		set("NO_PROXY", "127.0.0.1,localhost")
		set("no_proxy", "127.0.0.1,localhost")
		set("AWS_CA_BUNDLE", e.CABundle)
	}
	return env
}
