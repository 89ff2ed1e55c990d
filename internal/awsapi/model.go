package awsapi

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/textproto"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

//go:generate go run ./models/gen -out models

// modelFiles holds the compact service models written by models/gen. It is read-only.
//
//go:embed models/*.json
var modelFiles embed.FS

// The protocols of botocore's models.
const (
	ProtocolJSON     = "json"      // awsJson1_0 / awsJson1_1
	ProtocolQuery    = "query"     // awsQuery
	ProtocolRESTJSON = "rest-json" // restJson1
	ProtocolRESTXML  = "rest-xml"  // restXml
)

// Model is one service's API model: the operations Slipway serves and the shapes they reach,
// compiled for decoding, validation and encoding. A Model is immutable after LoadModel and safe for
// concurrent use.
type Model struct {
	Name     string // the botocore service name, e.g. "sagemaker-runtime"
	Protocol string // ProtocolJSON, ProtocolQuery, ProtocolRESTJSON or ProtocolRESTXML
	// Protocols lists every protocol of the model the Server speaks, Protocol among them: a
	// service whose model declares several (CloudWatch: smithy-rpc-v2-cbor, json, query) is
	// reachable by each, as old and new SDKs pick different ones.
	Protocols []string
	// QueryCompatible reports awsQueryCompatible: its JSON answers carry the query protocol's
	// error codes (also in the x-amzn-query-error header), and Protocol is ProtocolQuery so
	// that errors are spelled the query way whichever protocol carried the call.
	QueryCompatible bool
	APIVersion      string // e.g. "2010-05-08" (the query protocol's Version)
	TargetPrefix    string // the X-Amz-Target prefix of json services
	JSONVersion     string // "1.0" or "1.1"
	SigningName     string // the SigV4 scope's service name
	EndpointPrefix  string
	XMLNamespace    string // the query protocol's response namespace

	Operations map[string]*Operation
	Shapes     map[string]*Shape
	// SkippedPatterns lists the shapes whose pattern Go's regexp cannot compile; those patterns
	// are not enforced.
	SkippedPatterns []string
	// RelaxedPatterns lists the shapes whose pattern uses what Go's regexp lacks (lookaround
	// assertions, repetition counts above 1000): they are enforced without those parts, so
	// slightly more permissively.
	RelaxedPatterns []string
}

// Operation is one operation of a Model.
type Operation struct {
	Name          string
	Method        string // HTTP method (REST protocols)
	RequestURI    string // path template, e.g. "/endpoints/{EndpointName}/invocations"
	ResponseCode  int    // success status of REST operations (default 200)
	Input         *Shape // nil when the operation takes no input
	Output        *Shape // nil when the operation returns nothing
	ResultWrapper string // the query protocol's result element, e.g. "GetUserResult"
	Errors        []*Shape

	path []pathSegment
}

// Shape is a compiled botocore shape.
type Shape struct {
	Name string
	Type string // structure, list, map, string, integer, long, float, double, boolean, timestamp, blob

	Members []*Member          // structure members, sorted by name
	byName  map[string]*Member // structure members by name
	Member  *Member            // list element
	Key     *Member            // map key
	Value   *Member            // map value
	Payload string             // structure member bound to the HTTP body (REST protocols)
	// LocationName and XMLNamespace name the root element of a restXml document of this shape.
	LocationName string
	XMLNamespace string
	Required     []string

	Min, Max       float64 // length or value bounds
	HasMin, HasMax bool
	Pattern        string
	re             *regexp.Regexp
	Enum           []string
	enumSet        map[string]bool
	Flattened      bool
	Sensitive      bool

	Exception   bool
	ErrorCode   string // error.code, else the shape name
	HTTPStatus  int    // error.httpStatusCode, 0 when the model does not say
	SenderFault bool   // error.senderFault
}

// Member is a reference from a structure, list or map to a shape, with its serialization traits.
type Member struct {
	Name         string // the member name in the model (and in canonical JSON)
	Shape        *Shape
	Location     string // uri, querystring, header, headers, statusCode (REST protocols)
	LocationName string // the wire name, when it differs from Name
	Flattened    bool
	Required     bool
	Streaming    bool
	XMLNamespace string // the namespace of the element it is written as (restXml payloads)
	jsonPath     string // the member name as AWS's validation messages spell it
	headerKey    string // the wire name as net/http keys headers (canonical MIME form), computed once
}

// wireName is the member's name on the wire (locationName or Name).
func (m *Member) wireName() string {
	if m.LocationName != "" {
		return m.LocationName
	}
	return m.Name
}

// MemberByName returns the structure member called name, or nil.
func (s *Shape) MemberByName(name string) *Member { return s.byName[name] }

type pathSegment struct {
	literal string // when label is empty
	label   string // a {Label} or {Label+}
	greedy  bool
}

// rawShape and rawModel are the JSON forms of the compact model files.
type rawRef struct {
	Shape        string `json:"shape"`
	Location     string `json:"location"`
	LocationName string `json:"locationName"`
	Flattened    bool   `json:"flattened"`
	Streaming    bool   `json:"streaming"`
	XMLNamespace struct {
		URI string `json:"uri"`
	} `json:"xmlNamespace"`
}

type rawShape struct {
	Type      string             `json:"type"`
	Members   map[string]*rawRef `json:"members"`
	Member    *rawRef            `json:"member"`
	Key       *rawRef            `json:"key"`
	Value     *rawRef            `json:"value"`
	Required  []string           `json:"required"`
	Min       *float64           `json:"min"`
	Max       *float64           `json:"max"`
	Pattern   string             `json:"pattern"`
	Enum      []string           `json:"enum"`
	Flattened bool               `json:"flattened"`
	Sensitive bool               `json:"sensitive"`
	Payload   string             `json:"payload"`
	Exception bool               `json:"exception"`
	// restXml: the root element's name and namespace
	LocationName string `json:"locationName"`
	XMLNamespace struct {
		URI string `json:"uri"`
	} `json:"xmlNamespace"`
	Error *struct {
		Code        string `json:"code"`
		Status      int    `json:"httpStatusCode"`
		SenderFault bool   `json:"senderFault"`
	} `json:"error"`
}

type rawOperation struct {
	HTTP struct {
		Method       string `json:"method"`
		RequestURI   string `json:"requestUri"`
		ResponseCode int    `json:"responseCode"`
	} `json:"http"`
	Input  *rawRef `json:"input"`
	Output *struct {
		Shape         string `json:"shape"`
		ResultWrapper string `json:"resultWrapper"`
	} `json:"output"`
	Errors []rawRef `json:"errors"`
}

type rawModel struct {
	Metadata struct {
		APIVersion     string          `json:"apiVersion"`
		EndpointPrefix string          `json:"endpointPrefix"`
		JSONVersion    string          `json:"jsonVersion"`
		Protocol       string          `json:"protocol"`
		Protocols      []string        `json:"protocols"`
		QueryCompat    json.RawMessage `json:"awsQueryCompatible"`
		SigningName    string          `json:"signingName"`
		TargetPrefix   string          `json:"targetPrefix"`
		XMLNamespace   string          `json:"xmlNamespace"`
	} `json:"metadata"`
	Operations map[string]*rawOperation `json:"operations"`
	Shapes     map[string]*rawShape     `json:"shapes"`
}

// ModelNames lists the services whose models are embedded.
func ModelNames() []string {
	entries, _ := modelFiles.ReadDir("models")
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, n)
		}
	}
	return names
}

// LoadModel compiles the embedded model of service (a botocore service name such as "sagemaker",
// "iam", "sts", "organizations", "sagemaker-runtime"). Each call returns a new Model.
func LoadModel(service string) (*Model, error) {
	b, err := modelFiles.ReadFile("models/" + service + ".json")
	if err != nil {
		return nil, fmt.Errorf("awsapi: no model for service %q", service)
	}
	return ParseModel(service, b)
}

// ParseModel compiles a model in botocore's service-2.json format.
func ParseModel(service string, data []byte) (*Model, error) {
	var raw rawModel
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("awsapi: model %s: %w", service, err)
	}
	md := raw.Metadata
	m := &Model{
		Name: service, Protocol: md.Protocol, APIVersion: md.APIVersion, TargetPrefix: md.TargetPrefix,
		JSONVersion: md.JSONVersion, SigningName: md.SigningName, EndpointPrefix: md.EndpointPrefix,
		XMLNamespace: md.XMLNamespace,
		Operations:   make(map[string]*Operation, len(raw.Operations)),
		Shapes:       make(map[string]*Shape, len(raw.Shapes)),
	}
	if m.SigningName == "" {
		m.SigningName = md.EndpointPrefix
	}
	m.QueryCompatible = len(md.QueryCompat) > 0
	declared := md.Protocols
	if len(declared) == 0 {
		declared = []string{md.Protocol}
	}
	for _, p := range declared {
		if _, ok := codecs[p]; ok {
			m.Protocols = append(m.Protocols, p)
		}
	}
	if _, ok := codecs[m.Protocol]; !ok && len(m.Protocols) > 0 {
		m.Protocol = m.Protocols[0] // the first the Server speaks (CloudWatch's smithy-rpc-v2-cbor is not)
	}
	if m.QueryCompatible && slices.Contains(m.Protocols, ProtocolQuery) {
		m.Protocol = ProtocolQuery
	}
	for name := range raw.Shapes {
		m.Shapes[name] = &Shape{Name: name}
	}
	ref := func(r *rawRef) (*Member, error) {
		s, ok := m.Shapes[r.Shape]
		if !ok {
			return nil, fmt.Errorf("awsapi: model %s: unknown shape %q", service, r.Shape)
		}
		return &Member{Shape: s, Location: r.Location, LocationName: r.LocationName, Flattened: r.Flattened, Streaming: r.Streaming,
			XMLNamespace: r.XMLNamespace.URI}, nil
	}
	for name, rs := range raw.Shapes {
		s := m.Shapes[name]
		s.Type, s.Required, s.Pattern, s.Enum = rs.Type, rs.Required, rs.Pattern, rs.Enum
		s.Flattened, s.Sensitive, s.Payload, s.Exception = rs.Flattened, rs.Sensitive, rs.Payload, rs.Exception
		s.LocationName, s.XMLNamespace = rs.LocationName, rs.XMLNamespace.URI
		if rs.Min != nil {
			s.Min, s.HasMin = *rs.Min, true
		}
		if rs.Max != nil {
			s.Max, s.HasMax = *rs.Max, true
		}
		if len(rs.Enum) > 0 {
			s.enumSet = make(map[string]bool, len(rs.Enum))
			for _, e := range rs.Enum {
				s.enumSet[e] = true
			}
		}
		if rs.Pattern != "" && (s.Type == "string") {
			re, relaxed, err := compilePattern(rs.Pattern)
			switch {
			case err != nil:
				m.SkippedPatterns = append(m.SkippedPatterns, name)
			case relaxed:
				m.RelaxedPatterns = append(m.RelaxedPatterns, name)
				s.re = re
			default:
				s.re = re
			}
		}
		s.ErrorCode = name
		if rs.Error != nil {
			if rs.Error.Code != "" {
				s.ErrorCode = rs.Error.Code
			}
			s.HTTPStatus, s.SenderFault = rs.Error.Status, rs.Error.SenderFault
		}
		var err error
		switch s.Type {
		case "structure":
			s.byName = make(map[string]*Member, len(rs.Members))
			for mn, r := range rs.Members {
				mem, err := ref(r)
				if err != nil {
					return nil, err
				}
				mem.Name, mem.jsonPath = mn, lowerFirst(mn)
				mem.headerKey = textproto.CanonicalMIMEHeaderKey(mem.wireName())
				s.Members = append(s.Members, mem)
				s.byName[mn] = mem
			}
			sort.Slice(s.Members, func(i, j int) bool { return s.Members[i].Name < s.Members[j].Name })
			for _, rn := range rs.Required {
				if mem := s.byName[rn]; mem != nil {
					mem.Required = true
				}
			}
		case "list":
			if rs.Member == nil {
				return nil, fmt.Errorf("awsapi: model %s: list %s has no member", service, name)
			}
			if s.Member, err = ref(rs.Member); err != nil {
				return nil, err
			}
			s.Member.Name = "member"
		case "map":
			if rs.Key == nil || rs.Value == nil {
				return nil, fmt.Errorf("awsapi: model %s: map %s needs key and value", service, name)
			}
			if s.Key, err = ref(rs.Key); err != nil {
				return nil, err
			}
			if s.Value, err = ref(rs.Value); err != nil {
				return nil, err
			}
			s.Key.Name, s.Value.Name = "key", "value"
		}
	}
	sort.Strings(m.SkippedPatterns)
	sort.Strings(m.RelaxedPatterns)
	for name, ro := range raw.Operations {
		op := &Operation{Name: name, Method: ro.HTTP.Method, RequestURI: ro.HTTP.RequestURI, ResponseCode: ro.HTTP.ResponseCode}
		if op.ResponseCode == 0 {
			op.ResponseCode = 200
		}
		if ro.Input != nil {
			if op.Input = m.Shapes[ro.Input.Shape]; op.Input == nil {
				return nil, fmt.Errorf("awsapi: model %s: %s: unknown input shape", service, name)
			}
		}
		if ro.Output != nil {
			if op.Output = m.Shapes[ro.Output.Shape]; op.Output == nil {
				return nil, fmt.Errorf("awsapi: model %s: %s: unknown output shape", service, name)
			}
			op.ResultWrapper = ro.Output.ResultWrapper
		}
		for _, e := range ro.Errors {
			if s := m.Shapes[e.Shape]; s != nil {
				op.Errors = append(op.Errors, s)
			}
		}
		op.path = parsePathTemplate(op.RequestURI)
		m.Operations[name] = op
	}
	return m, nil
}

// compilePattern compiles a model pattern (Java/ECMAScript syntax) for Go, anchored at both ends
// as AWS matches the whole value, with . matching newlines too (AWS accepts pretty-printed JSON
// documents in members whose pattern is .*). \uXXXX escapes become \x{XXXX} and Java's \p{Print} its ASCII
// range. What RE2 cannot express is relaxed (relaxed reports that): lookaround assertions are
// dropped, and repetition counts above RE2's limit of 1000 become open-ended (the shape's length
// bounds still apply).
func compilePattern(p string) (re *regexp.Regexp, relaxed bool, err error) {
	p = translateUnicodeEscapes(p)
	p = strings.ReplaceAll(p, `[\p{Print}]`, `[\x20-\x7E]`)
	p = strings.ReplaceAll(p, `\p{Print}`, `\x20-\x7E`)
	re, err = regexp.Compile(`(?s)^(?:` + p + `)$`)
	if err == nil {
		return re, false, nil
	}
	q, dropped := dropLookarounds(p)
	q, capped := capRepetitions(q)
	if !dropped && !capped {
		return nil, false, err
	}
	re, err = regexp.Compile(`(?s)^(?:` + q + `)$`)
	return re, true, err
}

// bigRepeat matches counted repetitions {m,n} or {m} whose numbers may exceed RE2's limit.
var bigRepeat = regexp.MustCompile(`\{(\d+)(,(\d*))?\}`)

// capRepetitions rewrites {m,n} with n > 1000 as {m,} (and m > 1000 as 1000).
func capRepetitions(p string) (string, bool) {
	changed := false
	out := bigRepeat.ReplaceAllStringFunc(p, func(rep string) string {
		sub := bigRepeat.FindStringSubmatch(rep)
		lo, hi := sub[1], sub[3]
		big := func(n string) bool { return len(n) > 4 || len(n) == 4 && n > "1000" }
		if !big(lo) && !big(hi) {
			return rep
		}
		changed = true
		if big(lo) {
			lo = "1000"
		}
		return "{" + lo + ",}"
	})
	return out, changed
}

// translateUnicodeEscapes rewrites \uXXXX as \x{XXXX}.
func translateUnicodeEscapes(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+6 <= len(p) && p[i+1] == 'u' && isHex(p[i+2:i+6]) {
			b.WriteString(`\x{` + p[i+2:i+6] + `}`)
			i += 5
			continue
		}
		if p[i] == '\\' && i+1 < len(p) {
			b.WriteByte(p[i])
			b.WriteByte(p[i+1])
			i++
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// dropLookarounds removes (?=…), (?!…), (?<=…) and (?<!…) groups from p.
func dropLookarounds(p string) (string, bool) {
	var b strings.Builder
	dropped := false
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) {
			b.WriteString(p[i : i+2])
			i++
			continue
		}
		if strings.HasPrefix(p[i:], "(?=") || strings.HasPrefix(p[i:], "(?!") || strings.HasPrefix(p[i:], "(?<=") || strings.HasPrefix(p[i:], "(?<!") {
			depth := 0
			j := i
			for ; j < len(p); j++ {
				if p[j] == '\\' {
					j++
					continue
				}
				if p[j] == '(' {
					depth++
				} else if p[j] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			i = j
			dropped = true
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String(), dropped
}

func parsePathTemplate(uri string) []pathSegment {
	path, _, _ := strings.Cut(uri, "?")
	if path == "" || path == "/" {
		return nil
	}
	var segs []pathSegment
	for _, part := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		if strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") {
			label := part[1 : len(part)-1]
			greedy := strings.HasSuffix(label, "+")
			segs = append(segs, pathSegment{label: strings.TrimSuffix(label, "+"), greedy: greedy})
			continue
		}
		segs = append(segs, pathSegment{literal: part})
	}
	return segs
}

// lowerFirst turns a member name into the camelCase form AWS uses in validation messages.
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r >= 'A' && r <= 'Z' {
		return string(r+'a'-'A') + s[n:]
	}
	return s
}
