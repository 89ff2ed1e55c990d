package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/awsapi/sigv4"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
)

// Cookie names: the session's, and the sign-in form's CSRF token before there is a session.
const (
	SessionCookie = "slipway_console"
	preCookie     = "slipway_console_pre"
)

// LinkSigningService is the SigV4 service name a one-time link request is signed for.
const LinkSigningService = "signin"

// record is a session as the store keeps it.
type record struct {
	KeyID     string    // the access key the session acts with
	BaseKeyID string    // the signed-in key, while KeyID is a switched-into role's session key
	CSRF      string    // the token every form carries
	Created   time.Time // sign-in
	LastSeen  time.Time
	Expires   time.Time // Created + MaxAge
}

// session is a request's session: its record and the principal it acts as.
type session struct {
	hash   string
	rec    record
	caller identity.Caller
}

// Caller is the principal the session acts as.
func (s *session) Caller() identity.Caller { return s.caller }

// Switched reports whether the session acts in a switched-into role.
func (s *session) Switched() bool { return s.rec.BaseKeyID != "" }

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("console: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashOf(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// expiry is when the store may forget the record: its idle or its absolute end.
func (c *Console) expiry(rec record) time.Time {
	idle := rec.LastSeen.Add(c.cfg.IdleTimeout)
	if idle.Before(rec.Expires) {
		return idle
	}
	return rec.Expires
}

func (c *Console) save(ctx context.Context, hash string, rec record) error {
	body, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return c.cfg.Sessions.PutSession(ctx, hash, c.expiry(rec), body)
}

// startSession signs keyID in: a new session record and its cookie.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, keyID string) error {
	now := c.now()
	id := randomToken()
	rec := record{KeyID: keyID, CSRF: randomToken(), Created: now, LastSeen: now, Expires: now.Add(c.cfg.MaxAge)}
	if err := c.save(r.Context(), hashOf(id), rec); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: id, Path: Prefix, HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(c.cfg.MaxAge / time.Second),
	})
	return nil
}

// load finds the request's session and its principal; nil when there is none or it ended.
func (c *Console) load(r *http.Request) *session {
	ck, err := r.Cookie(SessionCookie)
	if err != nil || len(ck.Value) < 20 || len(ck.Value) > 100 {
		return nil
	}
	ctx := r.Context()
	now := c.now()
	hash := hashOf(ck.Value)
	body, err := c.cfg.Sessions.Session(ctx, hash, now)
	if err != nil {
		if !errs.Is(err, errs.NotFound) {
			c.log.Error("cannot read a session", "err", err)
		}
		return nil
	}
	var rec record
	if json.Unmarshal(body, &rec) != nil {
		return nil
	}
	if !now.Before(rec.Expires) || !now.Before(rec.LastSeen.Add(c.cfg.IdleTimeout)) {
		_ = c.cfg.Sessions.DeleteSession(ctx, hash, now)
		return nil
	}
	key, err := c.cfg.Identity.LookupAccessKey(ctx, rec.KeyID)
	if err != nil && rec.BaseKeyID != "" {
		// The switched-into role's session ended: back to the signed-in principal.
		rec.KeyID, rec.BaseKeyID = rec.BaseKeyID, ""
		key, err = c.cfg.Identity.LookupAccessKey(ctx, rec.KeyID)
	}
	if err != nil {
		_ = c.cfg.Sessions.DeleteSession(ctx, hash, now)
		return nil
	}
	if now.Sub(rec.LastSeen) > time.Minute || rec.KeyID != key.Caller.AccessKeyID {
		rec.LastSeen = now
		if err := c.save(ctx, hash, rec); err != nil {
			c.log.Error("cannot touch a session", "err", err)
		}
	}
	caller := key.Caller
	caller.SourceIP = sourceIP(r)
	return &session{hash: hash, rec: rec, caller: caller}
}

// page serves a GET page to a signed-in principal; without a session, it redirects to the
// sign-in page, keeping the target.
func (c *Console) page(fn func(w http.ResponseWriter, r *http.Request, s *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.load(r)
		if s == nil {
			if strings.HasSuffix(r.URL.Path, "/live") {
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "signed out"})
				return
			}
			http.Redirect(w, r, "/console/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		fn(w, r, s)
	})
}

// action serves a POST that changes something: a session and its CSRF token are required.
func (c *Console) action(fn func(w http.ResponseWriter, r *http.Request, s *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		s := c.load(r)
		if s == nil {
			http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, "the form cannot be read", http.StatusBadRequest)
			return
		}
		if !sameToken(r.PostForm.Get("csrf"), s.rec.CSRF) || !sameOrigin(r) {
			http.Error(w, "Forbidden: the form's CSRF token is missing or wrong; reload the page", http.StatusForbidden)
			return
		}
		fn(w, r, s)
	})
}

// sameOrigin refuses a form posted from another origin, when the browser says where it comes
// from (a second line of defence after the CSRF token and SameSite=Strict).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host && (u.Scheme == "https") == (r.TLS != nil)
}

func sameToken(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// safeNext is a redirect target inside the console, or the console's home.
func safeNext(next string) string {
	if strings.HasPrefix(next, Prefix) && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return Prefix
}

type signinData struct {
	Next  string
	Pre   string
	KeyID string
}

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	pre := randomToken()
	http.SetCookie(w, &http.Cookie{Name: preCookie, Value: pre, Path: Prefix, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	c.render(w, r, http.StatusOK, "signin", view{Title: "Sign in", Data: signinData{Next: safeNext(r.URL.Query().Get("next")), Pre: pre}})
}

// signin signs in with an access key and its secret (and session token, for temporary
// credentials), verified against the identity service as a request signature is.
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the form cannot be read", http.StatusBadRequest)
		return
	}
	ck, err := r.Cookie(preCookie)
	if err != nil || !sameToken(r.PostForm.Get("csrf"), ck.Value) || !sameOrigin(r) {
		http.Error(w, "Forbidden: the form's CSRF token is missing or wrong; reload the sign-in page", http.StatusForbidden)
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	keyID := strings.TrimSpace(r.PostForm.Get("access_key_id"))
	secret := r.PostForm.Get("secret_access_key")
	token := strings.TrimSpace(r.PostForm.Get("session_token"))
	refuse := func() {
		c.audit(r, identity.Caller{}, keyID, "signin", "ConsoleLogin", "InvalidClientTokenId", http.StatusUnauthorized)
		c.render(w, r, http.StatusUnauthorized, "signin", view{Title: "Sign in", Error: "The access key or its secret is not valid.",
			Data: signinData{Next: next, Pre: ck.Value, KeyID: keyID}})
	}
	key, err := c.cfg.Identity.LookupAccessKey(r.Context(), keyID)
	if err != nil {
		refuse()
		return
	}
	if subtle.ConstantTimeCompare([]byte(key.Secret), []byte(secret)) != 1 ||
		subtle.ConstantTimeCompare([]byte(key.SessionToken), []byte(token)) != 1 {
		refuse()
		return
	}
	if err := c.startSession(w, r, keyID); err != nil {
		c.log.Error("cannot start a session", "err", err)
		http.Error(w, "cannot start a session; please retry", http.StatusInternalServerError)
		return
	}
	c.audit(r, key.Caller, keyID, "signin", "ConsoleLogin", "", http.StatusSeeOther)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// audit records a sign-in event (no domain call makes it).
func (c *Console) audit(r *http.Request, caller identity.Caller, keyID, service, op, code string, status int) {
	if len(keyID) > 32 {
		keyID = keyID[:32]
	}
	rec := auditRecord(c.now(), caller, keyID, service, op, code, status, sourceIP(r))
	if err := c.cfg.Audit.RecordCall(context.WithoutCancel(r.Context()), rec); err != nil {
		c.log.Error("audit record failed", "operation", op, "err", err)
	}
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.cfg.Sessions.DeleteSession(r.Context(), s.hash, c.now()); err != nil {
		http.Error(w, "cannot sign out; please retry", http.StatusInternalServerError)
		return
	}
	c.forgetAssumed(s)
	c.audit(r, s.caller, s.caller.AccessKeyID, "signin", "ConsoleLogout", "", http.StatusSeeOther)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: Prefix, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
}

// makeLink answers a request signed (SigV4, service "signin") with an access key with a
// one-time sign-in link for that key: `slipway console` asks for it.
func (c *Console) makeLink(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "the body cannot be read"})
		return
	}
	deny := func(msg string) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": msg})
	}
	signed, err := sigv4.Parse(r)
	if err != nil {
		deny("the request must be signed (SigV4): " + err.Error())
		return
	}
	if signed.Service != LinkSigningService {
		deny("the request must be signed for the service " + LinkSigningService)
		return
	}
	if err := signed.CheckTime(c.now()); err != nil {
		deny(err.Error())
		return
	}
	key, err := c.cfg.Identity.LookupAccessKey(r.Context(), signed.AccessKeyID)
	if err != nil {
		c.audit(r, identity.Caller{}, signed.AccessKeyID, "signin", "GetSigninLink", "InvalidClientTokenId", http.StatusForbidden)
		deny("The security token included in the request is invalid.")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if subtle.ConstantTimeCompare([]byte(key.SessionToken), []byte(signed.SecurityToken)) != 1 || signed.Verify(r, body, key.Secret, sigv4.Options{}) != nil {
		c.audit(r, identity.Caller{}, signed.AccessKeyID, "signin", "GetSigninLink", "SignatureDoesNotMatch", http.StatusForbidden)
		deny("The request signature we calculated does not match the signature you provided.")
		return
	}
	token := randomToken()
	expires := c.now().Add(c.cfg.LinkTTL)
	if err := c.cfg.Sessions.PutLink(r.Context(), hashOf(token), signed.AccessKeyID, expires); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "cannot record the link; please retry"})
		return
	}
	c.audit(r, key.Caller, signed.AccessKeyID, "signin", "GetSigninLink", "", http.StatusOK)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	link := scheme + "://" + r.Host + "/console/signin/link?token=" + url.QueryEscape(token)
	writeJSON(w, http.StatusOK, map[string]string{"url": link, "expires": expires.UTC().Format(time.RFC3339), "principal": key.Caller.ARN})
}

// linkPage asks to confirm a one-time link's sign-in: a GET changes nothing (link previews
// and prefetchers do not use the link up).
func (c *Console) linkPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if len(token) > 100 {
		token = ""
	}
	c.render(w, r, http.StatusOK, "link", view{Title: "Sign in", Data: token})
}

// useLink signs in with a one-time link's token: once.
func (c *Console) useLink(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the form cannot be read", http.StatusBadRequest)
		return
	}
	token := r.PostForm.Get("token")
	keyID := ""
	var err error
	if token == "" || len(token) > 100 {
		err = errs.E(errs.NotFound, "no token")
	} else {
		keyID, err = c.cfg.Sessions.UseLink(r.Context(), hashOf(token), c.now())
	}
	var key identity.Authenticated
	if err == nil {
		key, err = c.cfg.Identity.LookupAccessKey(r.Context(), keyID)
	}
	if err != nil {
		c.audit(r, identity.Caller{}, keyID, "signin", "ConsoleLogin", "InvalidSigninLink", http.StatusUnauthorized)
		c.render(w, r, http.StatusUnauthorized, "link", view{Title: "Sign in", Error: "This sign-in link is unknown, expired or already used. Run slipway console again for a new one."})
		return
	}
	if err := c.startSession(w, r, keyID); err != nil {
		http.Error(w, "cannot start a session; please retry", http.StatusInternalServerError)
		return
	}
	c.audit(r, key.Caller, keyID, "signin", "ConsoleLogin", "", http.StatusSeeOther)
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

func (c *Console) switchPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.render(w, r, http.StatusOK, "switch", view{Title: "Switch role", Nav: "switch", Session: s, Caller: s.caller, CSRF: s.rec.CSRF})
}

// switchRole assumes a role (sts:AssumeRole as the session's principal, decided by the
// role's trust policy) and makes the session act as the role's session.
func (c *Console) switchRole(w http.ResponseWriter, r *http.Request, s *session) {
	roleARN := strings.TrimSpace(r.PostForm.Get("role_arn"))
	if acct, role := r.PostForm.Get("account"), r.PostForm.Get("role"); roleARN == "" && acct != "" && role != "" {
		roleARN = "arn:aws:iam::" + strings.TrimSpace(acct) + ":role/" + strings.TrimSpace(role)
	}
	session := "console-" + strings.NewReplacer("/", "-", ":", "-").Replace(s.caller.Name)
	if len(session) > 64 {
		session = session[:64]
	}
	var sess identity.Session
	err := c.call(r.Context(), r, s, "sts", "AssumeRole", func(ctx context.Context, call identity.Call) error {
		var err error
		sess, err = c.cfg.Identity.AssumeRole(ctx, call, roleARN, session, identity.AssumeOptions{})
		return err
	})
	if err != nil {
		c.render(w, r, statusOf(err), "switch", view{Title: "Switch role", Nav: "switch", Session: s, Caller: s.caller, CSRF: s.rec.CSRF, Error: c.problem(err)})
		return
	}
	rec := s.rec
	if rec.BaseKeyID == "" {
		rec.BaseKeyID = rec.KeyID
	}
	rec.KeyID = sess.ID
	if err := c.save(r.Context(), s.hash, rec); err != nil {
		http.Error(w, "cannot update the session; please retry", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/console/registry?flash="+url.QueryEscape("Now acting as "+sess.AssumedRoleARN), http.StatusSeeOther)
}

// switchBack returns to the signed-in principal.
func (c *Console) switchBack(w http.ResponseWriter, r *http.Request, s *session) {
	rec := s.rec
	if rec.BaseKeyID != "" {
		rec.KeyID, rec.BaseKeyID = rec.BaseKeyID, ""
		if err := c.save(r.Context(), s.hash, rec); err != nil {
			http.Error(w, "cannot update the session; please retry", http.StatusInternalServerError)
			return
		}
	}
	http.Redirect(w, r, "/console/registry", http.StatusSeeOther)
}
