// Package sigv4 verifies AWS Signature Version 4 on incoming HTTP requests, signed either with an
// Authorization header or as a presigned URL (X-Amz-* query parameters).
//
// It knows nothing about services or key stores: the caller parses the request (Parse), looks up
// the secret for the access key in the credential scope, checks the session token and the scope's
// service, and then calls Verify, which rebuilds the canonical request exactly as the
// specification describes and compares signatures in constant time.
//
// Bodies sent aws-chunked (x-amz-content-sha256 STREAMING-…) are decoded by ChunkReader, which
// verifies each chunk's signature, the framing, the decoded length and the checksum trailer as it
// streams, in bounded memory.
//
// Invariants: Verify never reports success for a request whose time lies outside the skew window
// (or, presigned, past its expiry); signatures are compared with crypto/subtle; nothing here logs
// or returns secrets or signatures in error messages.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Algorithm is the only signing algorithm Slipway accepts.
const Algorithm = "AWS4-HMAC-SHA256"

// MaxSkew is how far a request's signing time may lie from the server's clock.
const MaxSkew = 15 * time.Minute

// MaxPresignExpiry is the longest X-Amz-Expires a presigned URL may carry (7 days).
const MaxPresignExpiry = 7 * 24 * time.Hour

// UnsignedPayload is the payload hash S3 clients send when they do not sign the body.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// TimeFormat is the ISO 8601 basic format of X-Amz-Date.
const TimeFormat = "20060102T150405Z"

// Reason classifies a verification failure, so that each protocol can report it with its own code.
type Reason int

// The reasons a request fails verification.
const (
	Missing         Reason = iota + 1 // no signature at all
	Incomplete                        // a signature whose parts are missing or malformed
	Mismatch                          // the signature does not match, or the scope is wrong
	Skewed                            // the signing time is outside the skew window
	PresignExpired                    // a presigned URL past its X-Amz-Expires
	BadBody                           // an aws-chunked body whose framing or length is wrong
	BadDigest                         // a payload whose checksum trailer does not match
	PayloadMismatch                   // a payload whose SHA-256 is not the x-amz-content-sha256 declared
)

func (r Reason) String() string {
	switch r {
	case Missing:
		return "Missing"
	case Incomplete:
		return "Incomplete"
	case Mismatch:
		return "Mismatch"
	case Skewed:
		return "Skewed"
	case PresignExpired:
		return "PresignExpired"
	case BadBody:
		return "BadBody"
	case BadDigest:
		return "BadDigest"
	case PayloadMismatch:
		return "PayloadMismatch"
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// Error is a verification failure. Msg is safe to show to the caller.
type Error struct {
	Reason Reason
	Msg    string
}

func (e *Error) Error() string { return "sigv4: " + e.Reason.String() + ": " + e.Msg }

func fail(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Msg: fmt.Sprintf(format, args...)}
}

// MismatchMessage is what AWS says when a signature does not match.
const MismatchMessage = "The request signature we calculated does not match the signature you provided. " +
	"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// Scope is the credential scope: AKID/DATE/REGION/SERVICE/aws4_request.
type Scope struct {
	AccessKeyID string
	Date        string // YYYYMMDD
	Region      string
	Service     string
}

// String returns the scope without the access key, as used in the string to sign.
func (s Scope) String() string { return s.Date + "/" + s.Region + "/" + s.Service + "/aws4_request" }

// Authorization is a parsed Authorization header.
type Authorization struct {
	Scope
	SignedHeaders []string // lower-case, in the order given
	Signature     string   // lower-case hex
}

// Signed is the signature of one request, from its Authorization header or its presigned query.
type Signed struct {
	Authorization
	Time          time.Time     // X-Amz-Date (or Date)
	RawTime       string        // the time as sent
	Presigned     bool          // signed in the query string
	Expires       time.Duration // X-Amz-Expires, for presigned requests
	SecurityToken string        // X-Amz-Security-Token, header or query
}

// ParseAuthorization parses an Authorization header value of the form
//
//	AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex
func ParseAuthorization(h string) (Authorization, error) {
	var a Authorization
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || alg != Algorithm {
		if alg == "" {
			return a, fail(Missing, "Missing Authentication Token")
		}
		return a, fail(Incomplete, "Unsupported AWS 'algorithm': '%s'", truncate(alg, 40))
	}
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for _, part := range strings.Split(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return a, fail(Incomplete, "'%s' not a valid key=value pair (missing equal-sign) in Authorization header", truncate(part, 40))
		}
		switch k {
		case "Credential":
			cred, haveCred = v, true
		case "SignedHeaders":
			signed, haveSigned = v, true
		case "Signature":
			sig, haveSig = v, true
		}
	}
	var missing []string
	if !haveCred {
		missing = append(missing, "Authorization header requires 'Credential' parameter.")
	}
	if !haveSig {
		missing = append(missing, "Authorization header requires 'Signature' parameter.")
	}
	if !haveSigned {
		missing = append(missing, "Authorization header requires 'SignedHeaders' parameter.")
	}
	if len(missing) > 0 {
		return a, fail(Incomplete, "%s", strings.Join(missing, " "))
	}
	var err error
	if a.Scope, err = ParseCredential(cred); err != nil {
		return a, err
	}
	if a.SignedHeaders, err = parseSignedHeaders(signed); err != nil {
		return a, err
	}
	if !validSignature(sig) {
		return a, fail(Incomplete, "Signature must be 64 lower-case hexadecimal characters")
	}
	a.Signature = sig
	return a, nil
}

// ParseCredential parses AKID/DATE/REGION/SERVICE/aws4_request.
func ParseCredential(cred string) (Scope, error) {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[0] == "" || parts[2] == "" || parts[3] == "" {
		return Scope{}, fail(Incomplete, "Credential should be of the form AKID/YYYYMMDD/region/service/aws4_request")
	}
	if _, err := time.Parse("20060102", parts[1]); err != nil {
		return Scope{}, fail(Incomplete, "Credential date must be YYYYMMDD")
	}
	return Scope{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}, nil
}

func parseSignedHeaders(s string) ([]string, error) {
	if s == "" {
		return nil, fail(Incomplete, "SignedHeaders must not be empty")
	}
	hs := strings.Split(s, ";")
	host := false
	for _, h := range hs {
		if h == "" || h != strings.ToLower(h) || strings.ContainsAny(h, " \t:") {
			return nil, fail(Incomplete, "SignedHeaders must be lower-case header names separated by ';'")
		}
		if h == "host" {
			host = true
		}
	}
	if !host {
		return nil, fail(Mismatch, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	return hs, nil
}

func validSignature(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Parse extracts the signature of r from its Authorization header or, failing that, from its
// presigned query parameters. It checks the form only; Verify checks the signature.
func Parse(r *http.Request) (*Signed, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		a, err := ParseAuthorization(h)
		if err != nil {
			return nil, err
		}
		s := &Signed{Authorization: a, SecurityToken: r.Header.Get("X-Amz-Security-Token")}
		if v := r.Header.Get("X-Amz-Date"); v != "" {
			t, err := time.Parse(TimeFormat, v)
			if err != nil {
				return nil, fail(Incomplete, "X-Amz-Date must be in the ISO 8601 basic format YYYYMMDD'T'HHMMSS'Z'")
			}
			s.Time, s.RawTime = t, v
		} else if v := r.Header.Get("Date"); v != "" {
			t, err := http.ParseTime(v)
			if err != nil {
				return nil, fail(Incomplete, "Date header must be an HTTP date")
			}
			s.Time, s.RawTime = t.UTC(), v
		} else {
			return nil, fail(Incomplete, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
		}
		return s, nil
	}
	q := r.URL.Query()
	if !q.Has("X-Amz-Algorithm") && !q.Has("X-Amz-Signature") && !q.Has("X-Amz-Credential") {
		return nil, fail(Missing, "Missing Authentication Token")
	}
	if alg := q.Get("X-Amz-Algorithm"); alg != Algorithm {
		return nil, fail(Incomplete, "X-Amz-Algorithm only supports 'AWS4-HMAC-SHA256'")
	}
	var missing []string
	for _, k := range []string{"X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
		if !q.Has(k) {
			missing = append(missing, "AWS query-string parameters must include '"+k+"'.")
		}
	}
	if len(missing) > 0 {
		return nil, fail(Incomplete, "%s", strings.Join(missing, " "))
	}
	scope, err := ParseCredential(q.Get("X-Amz-Credential"))
	if err != nil {
		return nil, err
	}
	signed, err := parseSignedHeaders(q.Get("X-Amz-SignedHeaders"))
	if err != nil {
		return nil, err
	}
	sig := q.Get("X-Amz-Signature")
	if !validSignature(sig) {
		return nil, fail(Incomplete, "X-Amz-Signature must be 64 lower-case hexadecimal characters")
	}
	t, err := time.Parse(TimeFormat, q.Get("X-Amz-Date"))
	if err != nil {
		return nil, fail(Incomplete, "X-Amz-Date must be in the ISO 8601 basic format YYYYMMDD'T'HHMMSS'Z'")
	}
	exp, err := parseExpires(q.Get("X-Amz-Expires"))
	if err != nil {
		return nil, err
	}
	return &Signed{
		Authorization: Authorization{Scope: scope, SignedHeaders: signed, Signature: sig},
		Time:          t, RawTime: q.Get("X-Amz-Date"), Presigned: true,
		Expires:       exp,
		SecurityToken: q.Get("X-Amz-Security-Token"),
	}, nil
}

// parseExpires parses X-Amz-Expires: decimal digits only (no sign), at most MaxPresignExpiry.
// The number is compared before it becomes a Duration, which a large value would overflow.
func parseExpires(v string) (time.Duration, error) {
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return 0, fail(Incomplete, "X-Amz-Expires should be a number")
	}
	const max = int64(MaxPresignExpiry / time.Second)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n > max { // a range error is a number too large
		return 0, fail(Incomplete, "X-Amz-Expires must be less than a week (in seconds) that is 604800")
	}
	return time.Duration(n) * time.Second, nil
}

// CheckTime checks the signing time against now: within MaxSkew, and for presigned requests not
// past the expiry. It also checks that the scope's date is the signing time's date.
func (s *Signed) CheckTime(now time.Time) error {
	now = now.UTC()
	if s.Time.Format("20060102") != s.Scope.Date {
		return fail(Mismatch, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s'",
			s.Scope.Date, s.Time.Format("20060102"))
	}
	if s.Presigned {
		if s.Time.After(now.Add(MaxSkew)) {
			return fail(Skewed, "Request is not yet valid")
		}
		if now.After(s.Time.Add(s.Expires)) {
			return fail(PresignExpired, "Request has expired")
		}
		return nil
	}
	if s.Time.Before(now.Add(-MaxSkew)) {
		return fail(Skewed, "Signature expired: %s is now earlier than %s (%s - 15 min.)",
			s.Time.Format(TimeFormat), now.Add(-MaxSkew).Format(TimeFormat), now.Format(TimeFormat))
	}
	if s.Time.After(now.Add(MaxSkew)) {
		return fail(Skewed, "Signature not yet current: %s is still later than %s (%s + 15 min.)",
			s.Time.Format(TimeFormat), now.Add(MaxSkew).Format(TimeFormat), now.Format(TimeFormat))
	}
	return nil
}

// Options say how a service canonicalizes requests.
type Options struct {
	// S3 disables the second URI encoding of the path and takes the payload hash from the
	// X-Amz-Content-Sha256 header (which may be UNSIGNED-PAYLOAD).
	S3 bool
	// DeferPayloadHash, with S3, trusts the header's payload hash for the signature and leaves
	// checking the body against it to the caller, which streams the body through
	// PayloadHashReader: the body has not been read when Verify runs.
	DeferPayloadHash bool
}

// Verify recomputes the signature of r (whose body has been read into body) with secret and
// compares it with the one sent, in constant time. Call CheckTime first. With a streaming
// x-amz-content-sha256 (STREAMING-…, any service) the signature covers the headers only and body
// is not looked at: read the body through ChunkReader, which verifies the chunks chained from it.
func (s *Signed) Verify(r *http.Request, body []byte, secret string, opt Options) error {
	var payloadHash string
	switch h := r.Header.Get("X-Amz-Content-Sha256"); {
	case IsStreaming(h):
		// Any service: the signature covers the headers; the chunks, chained from it, are
		// verified as the body is decoded (ChunkReader).
		if !knownStreaming(h) {
			return unsupportedPayloadHash()
		}
		payloadHash = h
	case opt.S3:
		payloadHash = h
		if payloadHash == "" {
			if !s.Presigned {
				return fail(Incomplete, "Missing required header for this request: x-amz-content-sha256")
			}
			payloadHash = UnsignedPayload
		}
		if payloadHash != UnsignedPayload && !opt.DeferPayloadHash && payloadHash != HashHex(body) {
			return fail(PayloadMismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
	default:
		payloadHash = HashHex(body)
	}
	rawQuery := r.URL.RawQuery
	if s.Presigned {
		rawQuery = withoutSignature(rawQuery)
	}
	header := requestHeader{r}
	key := cachedSigningKey(secret, s.Scope)
	path := rawPath(r)
	if s.matches(key, canonicalRequest(r.Method, path, rawQuery, header, s.SignedHeaders, payloadHash, !opt.S3)) {
		return nil
	}
	// Some signers (botocore) normalize the path before signing, as the specification says for
	// services other than S3; accept that form too.
	if !opt.S3 {
		if np := NormalizePath(path); np != path &&
			s.matches(key, canonicalRequest(r.Method, np, rawQuery, header, s.SignedHeaders, payloadHash, true)) {
			return nil
		}
	}
	return fail(Mismatch, MismatchMessage)
}

func (s *Signed) matches(key []byte, canonicalRequest string) bool {
	want := Signature(key, StringToSign(s.RawTimeBasic(), s.Scope, canonicalRequest))
	return subtle.ConstantTimeCompare([]byte(want), []byte(s.Signature)) == 1
}

// NormalizePath removes empty, "." and ".." segments from a path as RFC 3986 describes, keeping a
// trailing slash.
func NormalizePath(p string) string {
	if p == "" {
		return "/"
	}
	var out []string
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	n := "/" + strings.Join(out, "/")
	if strings.HasSuffix(p, "/") && n != "/" {
		n += "/"
	}
	return n
}

// RawTimeBasic is the signing time in the ISO 8601 basic format used in the string to sign.
func (s *Signed) RawTimeBasic() string {
	if _, err := time.Parse(TimeFormat, s.RawTime); err == nil {
		return s.RawTime
	}
	return s.Time.UTC().Format(TimeFormat)
}

// rawPath is the path exactly as the client sent it (still percent-encoded).
func rawPath(r *http.Request) string {
	if r.RequestURI != "" && r.RequestURI != "*" && strings.HasPrefix(r.RequestURI, "/") {
		p, _, _ := strings.Cut(r.RequestURI, "?")
		return p
	}
	return r.URL.EscapedPath()
}

func withoutSignature(rawQuery string) string {
	parts := strings.Split(rawQuery, "&")
	out := parts[:0]
	for _, p := range parts {
		if k, _, _ := strings.Cut(p, "="); k == "X-Amz-Signature" {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, "&")
}

// CanonicalRequest builds the canonical request of the specification from the request's parts:
// method, the path as sent (percent-encoded), the raw query, the headers (which must include Host)
// and the payload hash. With escapePath (all services but S3) each byte of the path other than an
// unreserved character or '/' is percent-encoded once more.
func CanonicalRequest(method, path, rawQuery string, header http.Header, signedHeaders []string, payloadHash string, escapePath bool) string {
	return canonicalRequest(method, path, rawQuery, header, signedHeaders, payloadHash, escapePath)
}

// headerValues gives the values of a header by lower-case name.
type headerValues interface {
	Values(name string) []string
}

// requestHeader is a server request's header as the client sent it: net/http moves Host out of
// the header map into r.Host, and may keep Content-Length only in r.ContentLength.
type requestHeader struct{ r *http.Request }

func (h requestHeader) Values(name string) []string {
	if v := h.r.Header.Values(name); len(v) > 0 {
		return v
	}
	switch name {
	case "host":
		return []string{h.r.Host}
	case "content-length":
		if h.r.ContentLength > 0 {
			return []string{strconv.FormatInt(h.r.ContentLength, 10)}
		}
	}
	return nil
}

func canonicalRequest(method, path, rawQuery string, header headerValues, signedHeaders []string, payloadHash string, escapePath bool) string {
	var b strings.Builder
	b.Grow(256)
	b.WriteString(method)
	b.WriteByte('\n')
	if path == "" {
		path = "/"
	}
	if escapePath {
		b.WriteString(uriEncode(path, false))
	} else {
		b.WriteString(path)
	}
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(rawQuery))
	b.WriteByte('\n')
	for _, h := range signedHeaders {
		b.WriteString(h)
		b.WriteByte(':')
		vals := header.Values(h)
		for i, v := range vals {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(trimHeaderValue(v))
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// canonicalQuery decodes the query parameters, re-encodes them per RFC 3986 and sorts them by key,
// then by value.
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	type kv struct{ k, v string }
	var pairs []kv
	for _, p := range strings.Split(raw, "&") {
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		pairs = append(pairs, kv{uriEncode(k, true), uriEncode(v, true)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// uriEncode percent-encodes every byte but the unreserved characters (and '/' unless encodeSlash).
func uriEncode(s string, encodeSlash bool) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' && !encodeSlash {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
	return b.String()
}

// trimHeaderValue trims a header value and collapses runs of spaces into one.
func trimHeaderValue(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") && !strings.ContainsAny(v, "\t\n\r") {
		return v
	}
	return strings.Join(strings.Fields(v), " ")
}

// StringToSign builds AWS4-HMAC-SHA256\nTIME\nSCOPE\nhex(sha256(canonical request)).
func StringToSign(amzDate string, scope Scope, canonicalRequest string) string {
	return Algorithm + "\n" + amzDate + "\n" + scope.String() + "\n" + HashHex([]byte(canonicalRequest))
}

// SigningKey derives the signing key for a scope from the secret access key.
func SigningKey(secret string, scope Scope) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), scope.Date)
	k = hmacSHA256(k, scope.Region)
	k = hmacSHA256(k, scope.Service)
	return hmacSHA256(k, "aws4_request")
}

// signingKeys remembers derived signing keys: a key changes only with the secret and the scope
// (a day, a region, a service), and deriving one is four HMACs on every request otherwise. The
// cache is emptied when it reaches maxSigningKeys, so scopes a client makes up cannot grow it.
var signingKeys struct {
	sync.Map // signingKeyID → []byte
	n        atomic.Int64
}

const maxSigningKeys = 4096

type signingKeyID struct{ secret, date, region, service string }

// cachedSigningKey is SigningKey(secret, scope), derived once per secret and scope.
func cachedSigningKey(secret string, scope Scope) []byte {
	id := signingKeyID{secret, scope.Date, scope.Region, scope.Service}
	if k, ok := signingKeys.Load(id); ok {
		return k.([]byte)
	}
	k := SigningKey(secret, scope)
	if signingKeys.n.Add(1) > maxSigningKeys {
		signingKeys.Clear()
		signingKeys.n.Store(0)
	}
	signingKeys.Store(id, k)
	return k
}

// Signature is hex(HMAC-SHA256(key, stringToSign)).
func Signature(key []byte, stringToSign string) string {
	return hex.EncodeToString(hmacSHA256(key, stringToSign))
}

// HashHex is hex(sha256(b)).
func HashHex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
