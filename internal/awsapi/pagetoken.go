package awsapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// PageTokens encodes and decodes opaque pagination tokens (NextToken, Marker): base64url of a
// JSON cursor, followed by an HMAC-SHA256 over the cursor and the token's scope (e.g. the service,
// operation and account), so a client can neither forge a cursor nor reuse a token elsewhere.
type PageTokens struct {
	key []byte
}

// NewPageTokens returns a PageTokens signing with key (keep it secret and stable across restarts
// if tokens should survive them).
func NewPageTokens(key []byte) *PageTokens {
	return &PageTokens{key: append([]byte(nil), key...)}
}

// Encode returns the token for cursor (any JSON-encodable value) within scope.
func (p *PageTokens) Encode(scope string, cursor any) (string, error) {
	b, err := json.Marshal(cursor)
	if err != nil {
		return "", errs.E(errs.Internal, "cannot encode pagination cursor", err)
	}
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(p.mac(scope, b)), nil
}

// Decode verifies token within scope and decodes its cursor into dst. A token that was not made
// by Encode with the same key and scope is an errs.Invalid error ("The pagination token is
// invalid."), which each service maps to its own code (ValidationException, InvalidInput …);
// handlers may add a code with WithCode, e.g. "InvalidNextToken".
func (p *PageTokens) Decode(scope, token string, dst any) error {
	bad := errs.E(errs.Invalid, "The pagination token is invalid.")
	body, sig, ok := strings.Cut(token, ".")
	if !ok {
		return bad
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return bad
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, p.mac(scope, b)) {
		return bad
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return bad
	}
	return nil
}

func (p *PageTokens) mac(scope string, b []byte) []byte {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(scope))
	m.Write([]byte{0})
	m.Write(b)
	return m.Sum(nil)
}
