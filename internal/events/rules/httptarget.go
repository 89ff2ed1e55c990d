package rules

import (
	"encoding/json"
	"net/textproto"
	"regexp"
	"strings"

	"github.com/slipway-ml/slipway/internal/arn"
)

// APIDestinationKind is the Deliverers key of API destination targets (their ARNs name the
// events service, like buses, so the resource decides).
const APIDestinationKind = "events/api-destination"

// IsAPIDestination reports whether a target ARN names an API destination.
func IsAPIDestination(s string) bool {
	_, _, _, ok := arn.APIDestinationOf(s)
	return ok
}

// EventBridge's bounds on HttpParameters.
const (
	maxHTTPParams   = 100
	maxHTTPValueLen = 512
)

var (
	headerKeyRE = regexp.MustCompile(`^[!#$%&'*+\-.^_` + "`" + `|~0-9a-zA-Z]{1,512}$`)
	queryKeyRE  = regexp.MustCompile(`^[^\x00-\x1F\x7F]{1,512}$`)
)

// Headers a target may not set: the connection's authorization and what the transport owns.
var reservedHeaders = map[string]bool{
	"Authorization": true, "Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true,
	"Proxy-Authorization": true, "Te": true, "Upgrade": true, "Expect": true, "Trailer": true, "Keep-Alive": true,
}

// checkHTTP validates an API destination target: it acts as a role, and its HttpParameters
// are within EventBridge's bounds (JSONPath values parse).
func checkHTTP(t Target) error {
	if t.RoleARN == "" {
		return invalid("Target %s: RoleArn is required for an API destination target (it must be allowed events:InvokeApiDestination)", t.ID)
	}
	h := t.HTTP
	if h == nil {
		return nil
	}
	if len(h.PathParameterValues) > maxHTTPParams || len(h.HeaderParameters) > maxHTTPParams || len(h.QueryStringParameters) > maxHTTPParams {
		return invalid("Target %s: HttpParameters has more than %d entries of one kind", t.ID, maxHTTPParams)
	}
	value := func(what, v string) error {
		if len(v) > maxHTTPValueLen || strings.ContainsAny(v, "\r\n\x00") {
			return invalid("Target %s: HttpParameters %s value is longer than %d characters or holds a control character", t.ID, what, maxHTTPValueLen)
		}
		if strings.HasPrefix(v, "$.") {
			if _, err := parsePath(v); err != nil {
				return invalid("Target %s: HttpParameters %s value %s", t.ID, what, err.Error())
			}
		}
		return nil
	}
	for _, v := range h.PathParameterValues {
		if err := value("path", v); err != nil {
			return err
		}
	}
	for k, v := range h.HeaderParameters {
		if !headerKeyRE.MatchString(k) || reservedHeaders[textproto.CanonicalMIMEHeaderKey(k)] {
			return invalid("Target %s: HttpParameters header %q is not a header name a target may set", t.ID, k)
		}
		if err := value("header "+k, v); err != nil {
			return err
		}
	}
	for k, v := range h.QueryStringParameters {
		if !queryKeyRE.MatchString(k) {
			return invalid("Target %s: HttpParameters query parameter name %q is not valid", t.ID, k)
		}
		if err := value("query "+k, v); err != nil {
			return err
		}
	}
	return nil
}

// HTTPValue resolves one HttpParameters value against an event's envelope: a "$." JSONPath
// yields the string it leads to (or the JSON text of anything else); a literal is itself.
// ok is false when the path leads nowhere.
func HTTPValue(v string, envelope []byte) (string, bool) {
	if !strings.HasPrefix(v, "$.") {
		return v, true
	}
	path, err := parsePath(v)
	if err != nil {
		return "", false
	}
	raw, ok := lookup(envelope, path)
	if !ok {
		return "", false
	}
	var s string
	if len(raw) > 0 && raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err == nil {
			return s, true
		}
	}
	return string(raw), true
}
