package webhooks

import (
	"encoding/base64"
	"encoding/json"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
)

// OAuth client credentials (RFC 6749 §4.4): the connection's client id and secret, sent as
// HTTP Basic credentials (§2.3.1) with grant_type=client_credentials and the connection's
// OAuthHttpParameters, buy an access token that API destination calls carry as a Bearer
// token until it expires.

// OAuthInput is an OAuthParameters member as CreateConnection and UpdateConnection give it
// (on update, what is omitted is kept).
type OAuthInput struct {
	Endpoint     string
	Method       string
	ClientID     string
	ClientSecret string
	HasClient    bool // ClientParameters given
	// Params, when not nil, replace the connection's OAuthHttpParameters.
	Params *OAuthParams
}

// OAuthParams are an OAuthHttpParameters member.
type OAuthParams struct {
	Headers, Query, Body []ParamInput
}

// ParamInput is one parameter as a call gives it.
type ParamInput struct {
	Key    string
	Value  string
	Secret bool // IsValueSecret
}

// MaxOAuthParams is how many parameters of each kind a connection may hold.
const MaxOAuthParams = 100

var oauthMethods = map[string]bool{"GET": true, "POST": true, "PUT": true}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkParams validates one kind of parameters: keys of at most 512 characters (header names
// for headers), values of at most 512 characters without control characters.
func checkParams(kind string, ps []ParamInput, headers bool) error {
	if len(ps) > MaxOAuthParams {
		return invalid("OAuthHttpParameters.%s holds more than %d parameters", kind, MaxOAuthParams)
	}
	seen := map[string]bool{}
	for _, p := range ps {
		k := p.Key
		if headers {
			k = textproto.CanonicalMIMEHeaderKey(k)
		}
		switch {
		case p.Key == "" || len(p.Key) > 512 || strings.ContainsAny(p.Key, "\x00\r\n"):
			return invalid("OAuthHttpParameters.%s: a Key must be 1 to 512 characters without control characters", kind)
		case headers && !token(p.Key):
			return invalid("OAuthHttpParameters.HeaderParameters: %q is not a valid header name", p.Key)
		case headers && (k == "Authorization" || k == "Host" || k == "Content-Length" || k == "Content-Type"):
			return invalid("OAuthHttpParameters.HeaderParameters: the %s header is the server's to set", k)
		case len(p.Value) > 512 || strings.ContainsFunc(p.Value, func(r rune) bool { return r < 0x20 || r == 0x7f }):
			return invalid("OAuthHttpParameters.%s: the value of %q must be at most 512 characters without control characters", kind, p.Key)
		case seen[k]:
			return invalid("OAuthHttpParameters.%s: %q is given more than once", kind, p.Key)
		}
		seen[k] = true
	}
	return nil
}

// CheckOAuth validates an OAuthParameters member given in full (at creation, or when a
// connection changes to OAUTH_CLIENT_CREDENTIALS).
func CheckOAuth(o OAuthInput) error {
	if len(o.Endpoint) == 0 || len(o.Endpoint) > 2048 {
		return invalid("OAuthParameters.AuthorizationEndpoint must be 1 to 2048 characters")
	}
	if _, err := endpointURL(o.Endpoint, nil); err != nil || strings.Contains(o.Endpoint, "*") {
		return invalid("OAuthParameters.AuthorizationEndpoint %q must be an http:// or https:// URL with a host, without user information, fragment or wildcard", o.Endpoint)
	}
	if !oauthMethods[o.Method] {
		return invalid("1 validation error detected: Value '%s' at 'authParameters.oAuthParameters.httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [GET, POST, PUT]", o.Method)
	}
	if !o.HasClient {
		return invalid("OAuthParameters.ClientParameters is required")
	}
	if len(o.ClientID) > 512 || !usernameRE.MatchString(o.ClientID) {
		return invalid("OAuthParameters.ClientParameters.ClientID must be 1 to 512 printable characters without ':'")
	}
	if len(o.ClientSecret) > 512 || !secretRE.MatchString(o.ClientSecret) {
		return invalid("OAuthParameters.ClientParameters.ClientSecret must be 1 to 512 printable characters")
	}
	if p := o.Params; p != nil {
		if err := checkParams("HeaderParameters", p.Headers, true); err != nil {
			return err
		}
		if err := checkParams("QueryStringParameters", p.Query, false); err != nil {
			return err
		}
		if err := checkParams("BodyParameters", p.Body, false); err != nil {
			return err
		}
	}
	return nil
}

// oauthConfig validates o and returns what the connection keeps (secret parameters sealed)
// and the client secret to seal.
func (s *Service) oauthConfig(conn *Connection, o OAuthInput) (OAuthConfig, string, error) {
	if err := CheckOAuth(o); err != nil {
		return OAuthConfig{}, "", err
	}
	cfg := OAuthConfig{Endpoint: o.Endpoint, Method: o.Method, ClientID: o.ClientID}
	if p := o.Params; p != nil {
		seal := func(in []ParamInput) []Param {
			var out []Param
			for _, x := range in {
				if x.Secret {
					out = append(out, Param{Key: x.Key, Secret: true, Sealed: s.seal.Seal(x.Value, conn.ARN)})
				} else {
					out = append(out, Param{Key: x.Key, Value: x.Value})
				}
			}
			return out
		}
		cfg.Headers, cfg.Query, cfg.Body = seal(p.Headers), seal(p.Query), seal(p.Body)
	}
	return cfg, o.ClientSecret, nil
}

// mergeOAuth fills what an UpdateConnection omits from the connection: the endpoint, the
// method, the client and its secret, the parameters (secret ones opened to be sealed again).
func (s *Service) mergeOAuth(conn Connection, o OAuthInput) (OAuthInput, error) {
	cur := conn.OAuth
	if cur == nil {
		return o, nil
	}
	if o.Endpoint == "" {
		o.Endpoint = cur.Endpoint
	}
	if o.Method == "" {
		o.Method = cur.Method
	}
	if !o.HasClient || o.ClientID == "" {
		o.ClientID = cur.ClientID
	}
	if !o.HasClient || o.ClientSecret == "" {
		if conn.Sealed == "" {
			return o, invalid("connection %s is deauthorized: give its ClientSecret to authorize it again", conn.Name)
		}
		old, err := s.seal.Open(conn.Sealed, conn.ARN)
		if err != nil {
			return o, err
		}
		o.ClientSecret = old
	}
	o.HasClient = true
	if o.Params == nil {
		open := func(ps []Param) ([]ParamInput, error) {
			var out []ParamInput
			for _, p := range ps {
				v := p.Value
				if p.Secret {
					var err error
					if v, err = s.seal.Open(p.Sealed, conn.ARN); err != nil {
						return nil, err
					}
				}
				out = append(out, ParamInput{Key: p.Key, Value: v, Secret: p.Secret})
			}
			return out, nil
		}
		var p OAuthParams
		var err error
		if p.Headers, err = open(cur.Headers); err != nil {
			return o, err
		}
		if p.Query, err = open(cur.Query); err != nil {
			return o, err
		}
		if p.Body, err = open(cur.Body); err != nil {
			return o, err
		}
		o.Params = &p
	}
	return o, nil
}

// TokenRequest builds the token request of an OAuth connection whose client secret and secret
// parameters are opened (open returns a sealed value's plaintext).
func TokenRequest(conn Connection, clientSecret string, open func(sealed string) (string, error)) (Request, error) {
	o := conn.OAuth
	if o == nil {
		return Request{}, errs.E(errs.Invalid, "connection %s has no OAuth parameters", conn.ARN)
	}
	u, err := endpointURL(o.Endpoint, nil)
	if err != nil {
		return Request{}, err
	}
	value := func(p Param) (string, error) {
		if !p.Secret {
			return p.Value, nil
		}
		v, err := open(p.Sealed)
		if err != nil {
			return "", errs.E(errs.Invalid, "a secret parameter of connection %s does not open with this server's master key", conn.ARN)
		}
		return v, nil
	}
	q := u.Query()
	for _, p := range o.Query {
		v, err := value(p)
		if err != nil {
			return Request{}, err
		}
		q.Set(p.Key, v)
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	for _, p := range o.Body {
		v, err := value(p)
		if err != nil {
			return Request{}, err
		}
		form.Set(p.Key, v)
	}
	req := Request{Method: o.Method, Header: map[string][]string{"User-Agent": {UserAgent}, "Accept": {"application/json"}}}
	if o.Method == "GET" { // a GET has no body: its form goes in the query
		for k, v := range form {
			q[k] = v
		}
	} else {
		req.Body = []byte(form.Encode())
		req.Header["Content-Type"] = []string{"application/x-www-form-urlencoded"}
	}
	u.RawQuery = q.Encode()
	req.URL = u.String()
	for _, p := range o.Headers {
		v, err := value(p)
		if err != nil {
			return Request{}, err
		}
		req.Header[textproto.CanonicalMIMEHeaderKey(p.Key)] = []string{v}
	}
	// RFC 6749 §2.3.1: the client id and secret, form-encoded, as Basic credentials.
	cred := url.QueryEscape(o.ClientID) + ":" + url.QueryEscape(clientSecret)
	req.Header["Authorization"] = []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(cred))}
	return req, nil
}

// Token is an access token and when it stops being used.
type Token struct {
	Value   string
	Expires time.Time
}

// MaxTokenBytes bounds a token endpoint's answer.
const MaxTokenBytes = 64 << 10

// DefaultTokenLifetime is how long a token whose answer gives no expires_in is used.
const DefaultTokenLifetime = time.Hour

// ParseToken reads a token endpoint's successful answer (RFC 6749 §5.1): access_token, a
// token_type of Bearer when given, expires_in seconds when given. A token is used until 30
// seconds (or a tenth of its life, when shorter) before it expires.
func ParseToken(body []byte, now time.Time) (Token, error) {
	if len(body) > MaxTokenBytes {
		return Token{}, errs.E(errs.Invalid, "the token endpoint's answer is larger than %d bytes", MaxTokenBytes)
	}
	var t struct {
		AccessToken *string  `json:"access_token"`
		TokenType   *string  `json:"token_type"`
		ExpiresIn   *float64 `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &t); err != nil {
		return Token{}, errs.E(errs.Invalid, "the token endpoint's answer is not a JSON object with access_token")
	}
	if t.AccessToken == nil || *t.AccessToken == "" || len(*t.AccessToken) > 8192 || !secretRE.MatchString(*t.AccessToken) {
		return Token{}, errs.E(errs.Invalid, "the token endpoint's answer has no usable access_token")
	}
	if t.TokenType != nil && !strings.EqualFold(*t.TokenType, "bearer") {
		return Token{}, errs.E(errs.Invalid, "the token endpoint's token_type %q is not Bearer", *t.TokenType)
	}
	life := DefaultTokenLifetime
	if t.ExpiresIn != nil {
		if *t.ExpiresIn <= 0 || *t.ExpiresIn > 366*24*3600 {
			return Token{}, errs.E(errs.Invalid, "the token endpoint's expires_in %v is not a positive number of seconds", *t.ExpiresIn)
		}
		life = time.Duration(*t.ExpiresIn * float64(time.Second))
	}
	margin := min(30*time.Second, life/10)
	return Token{Value: *t.AccessToken, Expires: now.Add(life - margin)}, nil
}
