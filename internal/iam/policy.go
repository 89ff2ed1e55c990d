package iam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
)

// Kind is the type of policy a document is parsed as; each has its own structural rules and
// size limit.
type Kind int

const (
	// AnyKind checks only the policy language itself (no rules about Principal).
	AnyKind Kind = iota
	// Identity policies (managed and inline, permissions boundaries, session policies) must not
	// name a Principal or NotPrincipal: the principal is whoever the policy is attached to.
	Identity
	// Resource policies (e.g. model package group policies) must name a Principal or NotPrincipal
	// in every statement.
	Resource
	// Trust policies (a role's AssumeRolePolicyDocument) must name a Principal in every statement
	// and have no Resource, NotResource or NotPrincipal.
	Trust
	// SCP is an Organizations service control policy: no Principal, no NotPrincipal.
	SCP
)

func (k Kind) String() string {
	switch k {
	case Identity:
		return "identity"
	case Resource:
		return "resource-based"
	case Trust:
		return "trust"
	case SCP:
		return "service control"
	}
	return "IAM"
}

func (k Kind) withArticle() string {
	if k == Identity || k == AnyKind {
		return "an " + k.String()
	}
	return "a " + k.String()
}

// maxLength is the size limit ParseKind and its kind-named wrappers apply (AWS's default quota
// for the kind's most common use). New code uses Validate at write time and ParseStored at
// decision time instead.
func (k Kind) maxLength() int {
	switch k {
	case Identity:
		return 6144
	case Trust:
		return 2048
	case SCP:
		return 5120
	}
	return 20480
}

// The policy language versions. A document without Version is read with 2008-10-17 semantics:
// ${...} is literal text, not a policy variable.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Effect of a statement.
type Effect string

// The two statement effects.
const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Policy is a parsed, validated policy document. It is immutable after Parse (WithName returns a
// copy) and safe for concurrent evaluation. The exported fields describe the document; treat them
// as read-only: evaluation uses the forms compiled at Parse time.
type Policy struct {
	Name       string // how decisions name this policy, e.g. its ARN or inline name; not part of the document
	Version    string // "" when the document has none
	ID         string
	Statements []*Statement

	kind     Kind
	document string
}

// Statement is one statement of a policy. Absent elements are nil.
type Statement struct {
	Sid          string
	Effect       Effect
	Principal    *Principals
	NotPrincipal *Principals
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	Condition    []Condition // sorted by operator, then key

	index      int
	vars       bool // Resource or a condition value has a policy variable
	actions    []actionPattern
	principals []principalEntry // compiled Principal or NotPrincipal
	resources  []resourcePattern
	conds      []condition
}

// Principals is the value of a Principal or NotPrincipal element. Any is the bare "*" form.
type Principals struct {
	Any           bool
	AWS           []string
	Service       []string
	Federated     []string
	CanonicalUser []string
}

// Condition is one operator/key pair of a Condition element with its values (numbers and
// booleans in their JSON text form).
type Condition struct {
	Operator string
	Key      string
	Values   []string
}

// Parse parses a stored document for a decision with the rules of the policy language only (no
// rules about which elements a kind of policy may have) and no size limit. It accepts every
// document that Validate accepts for any Use. Prefer ParseStored, which also applies the kind's
// rules.
func Parse(document string) (*Policy, error) { return parse(AnyKind, document, noLimit) }

// ParseStored parses a document that was checked by Validate when it was written, to decide a
// request with it. It applies the grammar of kind and no size limit: size limits belong to the
// place a document is written, and a document accepted there must never fail here. Every
// document Validate(use, d) accepts, ParseStored(use.Kind(), d) accepts too (FuzzWriteThenDecide).
// A stored document that still fails to parse must make the decision deny, never be skipped.
func ParseStored(kind Kind, document string) (*Policy, error) { return parse(kind, document, noLimit) }

// noLimit is the size bound of decision-time parsing: none.
const noLimit = int(^uint(0) >> 1)

// ParseIdentity parses an identity-based policy with the managed-policy size limit.
//
// Deprecated: use Validate at write time and ParseStored at decision time.
func ParseIdentity(document string) (*Policy, error) { return ParseKind(Identity, document) }

// ParseResource parses a resource-based policy with a 20,480-character size limit.
//
// Deprecated: use Validate at write time and ParseStored at decision time.
func ParseResource(document string) (*Policy, error) { return ParseKind(Resource, document) }

// ParseTrust parses a role trust policy with the 2,048-character size limit.
//
// Deprecated: use Validate at write time and ParseStored at decision time.
func ParseTrust(document string) (*Policy, error) { return ParseKind(Trust, document) }

// ParseSCP parses a service control policy with the 5,120-character size limit.
//
// Deprecated: use Validate at write time and ParseStored at decision time.
func ParseSCP(document string) (*Policy, error) { return ParseKind(SCP, document) }

// ParseKind parses document as a policy of the given kind, bounded by one size limit per kind
// (identity 6,144, trust 2,048, SCP 5,120, others 20,480, white space not counted). Every error
// is errs.Invalid with code MalformedPolicyDocument and a message naming the element at fault.
//
// Deprecated: one limit per kind is wrong for both ends: a role's inline policy may hold
// 10,240 characters, a user's only 2,048. Use Validate at write time and ParseStored at
// decision time.
func ParseKind(kind Kind, document string) (*Policy, error) {
	return parse(kind, document, kind.maxLength())
}

// ParseInline parses an identity policy embedded in a user, group or role, bounded by the
// largest aggregate quota (a role's 10,240 characters); the caller checks the principal's own
// aggregate quota with Length.
//
// Deprecated: use Validate with UserInlinePolicy, GroupInlinePolicy or RoleInlinePolicy.
func ParseInline(document string) (*Policy, error) {
	return parse(Identity, document, InlineRoleQuota)
}

// The aggregate quotas of inline policies per principal, in characters other than white space.
const (
	InlineUserQuota  = 2048
	InlineGroupQuota = 5120
	InlineRoleQuota  = 10240
)

// Length is a document's size as IAM's quotas count it: characters other than white space.
func Length(document string) int { return countNonSpace(document) }

// WithName returns a copy of p that decisions call name.
func (p *Policy) WithName(name string) *Policy {
	c := *p
	c.Name = name
	return &c
}

// Kind returns the kind p was parsed as.
func (p *Policy) Kind() Kind { return p.kind }

// Document returns the document exactly as it was parsed.
func (p *Policy) Document() string { return p.document }

type parseError struct{ msg string }

func (e *parseError) Error() string { return e.msg }

func errorf(format string, args ...any) error { return &parseError{fmt.Sprintf(format, args...)} }

func malformed(err error) error {
	return errs.E(errs.Invalid, "%s", err.Error()).WithCode("MalformedPolicyDocument")
}

func parse(kind Kind, document string, limit int) (*Policy, error) {
	p, err := parseDoc(kind, document, limit)
	if err != nil {
		return nil, malformed(err)
	}
	return p, nil
}

func parseDoc(kind Kind, document string, limit int) (*Policy, error) {
	if limit == noLimit {
		// decision time: the document was bounded where it was written
	} else if n := countNonSpace(document); n > limit {
		return nil, errorf("the %s policy is %d characters long not counting white space; the limit is %d", kind, n, limit)
	}
	dec := json.NewDecoder(strings.NewReader(document))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, errorf("the policy is not valid JSON at character %d: %v", se.Offset, err)
		}
		return nil, errorf("the policy is not valid JSON: %v", err)
	}
	if strings.TrimSpace(document[dec.InputOffset():]) != "" {
		return nil, errorf("the policy has text after the closing brace of the document")
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, errorf("the policy must be a JSON object with Version and Statement")
	}
	p := &Policy{kind: kind, document: document}
	for k := range obj {
		switch k {
		case "Version", "Id", "Statement":
		default:
			return nil, errorf("unknown policy element %q (the top level has Version, Id and Statement)", k)
		}
	}
	if v, ok := obj["Version"]; ok {
		s, ok := v.(string)
		if !ok || (s != Version2012 && s != Version2008) {
			return nil, errorf("Version must be %q or %q, not %s", Version2012, Version2008, jsonText(v))
		}
		p.Version = s
	}
	if v, ok := obj["Id"]; ok {
		s, ok := v.(string)
		if !ok {
			return nil, errorf("Id must be a string, not %s", jsonText(v))
		}
		p.ID = s
	}
	raw, ok := obj["Statement"]
	if !ok {
		return nil, errorf("the policy has no Statement")
	}
	var list []any
	switch v := raw.(type) {
	case map[string]any:
		list = []any{v}
	case []any:
		list = v
	default:
		return nil, errorf("Statement must be an object or an array of objects, not %s", jsonText(raw))
	}
	if len(list) == 0 {
		return nil, errorf("Statement must hold at least one statement")
	}
	sids := map[string]int{}
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, errorf("Statement[%d] must be an object, not %s", i, jsonText(item))
		}
		st, err := parseStatement(kind, p.Version == Version2012, i, m)
		if err != nil {
			return nil, errorf("Statement[%d]%s: %v", i, sidNote(m), err)
		}
		if st.Sid != "" {
			if j, dup := sids[st.Sid]; dup {
				return nil, errorf("Statement[%d]: Sid %q is already used by Statement[%d]; Sids must be unique in a policy", i, st.Sid, j)
			}
			sids[st.Sid] = i
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

func sidNote(m map[string]any) string {
	if s, ok := m["Sid"].(string); ok && s != "" {
		return fmt.Sprintf(" (Sid %q)", s)
	}
	return ""
}

func parseStatement(kind Kind, vars bool, index int, m map[string]any) (*Statement, error) {
	st := &Statement{index: index}
	for k := range m {
		switch k {
		case "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition":
		default:
			return nil, errorf("unknown element %q (a statement has Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource and Condition)", k)
		}
	}
	if v, ok := m["Sid"]; ok {
		s, ok := v.(string)
		if !ok {
			return nil, errorf("Sid must be a string, not %s", jsonText(v))
		}
		st.Sid = s
	}
	switch e := m["Effect"].(type) {
	case string:
		// IAM accepts the effect in any letter case; it is stored canonically.
		switch {
		case strings.EqualFold(e, string(Allow)):
			st.Effect = Allow
		case strings.EqualFold(e, string(Deny)):
			st.Effect = Deny
		default:
			return nil, errorf("Effect must be Allow or Deny, not %q", e)
		}
	case nil:
		return nil, errorf("Effect is missing; it must be Allow or Deny")
	default:
		return nil, errorf("Effect must be Allow or Deny, not %s", jsonText(e))
	}

	// Principal / NotPrincipal.
	_, hasP := m["Principal"]
	_, hasNP := m["NotPrincipal"]
	switch {
	case hasP && hasNP:
		return nil, errorf("has both Principal and NotPrincipal; use one")
	case (kind == Identity || kind == SCP) && (hasP || hasNP):
		el := "Principal"
		if hasNP {
			el = "NotPrincipal"
		}
		return nil, errorf("%s is not allowed in %s policy: it applies to whoever it is attached to", el, kind.withArticle())
	case kind == Trust && hasNP:
		return nil, errorf("NotPrincipal is not allowed in a trust policy; name the trusted principals in Principal")
	case (kind == Resource || kind == Trust) && !hasP && !hasNP:
		return nil, errorf("%s policy statement must name a Principal", kind.withArticle())
	}
	if hasP || hasNP {
		name := "Principal"
		if hasNP {
			name = "NotPrincipal"
			if st.Effect != Deny {
				return nil, errorf("NotPrincipal can only be used with \"Effect\": \"Deny\"")
			}
		}
		ps, entries, err := parsePrincipals(name, m[name])
		if err != nil {
			return nil, err
		}
		st.principals = entries
		if hasNP {
			st.NotPrincipal = ps
		} else {
			st.Principal = ps
		}
	}

	// Action / NotAction.
	_, hasA := m["Action"]
	_, hasNA := m["NotAction"]
	switch {
	case hasA && hasNA:
		return nil, errorf("has both Action and NotAction; use one")
	case !hasA && !hasNA:
		return nil, errorf("needs an Action or NotAction")
	}
	name := "Action"
	if hasNA {
		name = "NotAction"
	}
	actions, err := stringList(name, m[name])
	if err != nil {
		return nil, err
	}
	for _, a := range actions {
		if a == "*" {
			continue
		}
		svc, act, ok := strings.Cut(a, ":")
		switch {
		case !ok || svc == "" || act == "":
			return nil, errorf("%s %q must be \"*\" or service:action, e.g. \"sagemaker:CreateModelPackage\"", name, a)
		case strings.Contains(act, ":"):
			return nil, errorf("%s %q can contain only one colon", name, a)
		case svc != "*" && !validVendor(svc):
			return nil, errorf("%s %q: service prefix %q may contain only letters, digits, '-' and '.'", name, a, svc)
		}
	}
	if hasNA {
		st.NotAction = actions
	} else {
		st.Action = actions
	}
	for _, a := range actions {
		st.actions = append(st.actions, compileAction(a))
	}

	// Resource / NotResource.
	_, hasR := m["Resource"]
	_, hasNR := m["NotResource"]
	switch {
	case kind == Trust && (hasR || hasNR):
		return nil, errorf("Resource and NotResource are not allowed in a trust policy: the resource is the role itself")
	case hasR && hasNR:
		return nil, errorf("has both Resource and NotResource; use one")
	case kind != Trust && !hasR && !hasNR:
		return nil, errorf("needs a Resource or NotResource (use \"*\" for all resources)")
	}
	if hasR || hasNR {
		name := "Resource"
		if hasNR {
			name = "NotResource"
		}
		res, err := stringList(name, m[name])
		if err != nil {
			return nil, err
		}
		for _, r := range res {
			rp, err := compileResource(r, vars)
			if err != nil {
				return nil, errorf("%s %q: %v", name, r, err)
			}
			st.resources = append(st.resources, rp)
		}
		if hasNR {
			st.NotResource = res
		} else {
			st.Resource = res
		}
	}

	// Condition.
	if v, ok := m["Condition"]; ok {
		conds, compiled, err := parseConditions(v, vars)
		if err != nil {
			return nil, err
		}
		st.Condition, st.conds = conds, compiled
	}
	for _, r := range st.resources {
		st.vars = st.vars || r.tmpl != nil
	}
	for _, c := range st.conds {
		for _, v := range c.vals {
			st.vars = st.vars || v.tmpl != nil
		}
	}
	return st, nil
}

func validVendor(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// stringList reads a JSON string or non-empty array of strings.
func stringList(name string, v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		if len(v) == 0 {
			return nil, errorf("%s must not be an empty list", name)
		}
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, errorf("%s must hold strings, not %s", name, jsonText(e))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, errorf("%s must be a string or an array of strings, not %s", name, jsonText(v))
}

type resourcePattern struct {
	pattern string    // the pattern as written
	any     bool      // "*"
	parts   [6]string // its ARN components (when not "*")
	tmpl    *template // non-nil when the pattern has policy variables
}

func compileResource(r string, vars bool) (resourcePattern, error) {
	if r == "" {
		return resourcePattern{}, errorf("must be \"*\" or an ARN")
	}
	if r != "*" {
		if _, ok := arn.Split(r); !ok || !strings.HasPrefix(r, "arn:") {
			return resourcePattern{}, errorf("must be \"*\" or an ARN (arn:partition:service:region:account:resource, wildcards allowed)")
		}
	}
	rp := resourcePattern{pattern: r, any: r == "*"}
	rp.parts, _ = arn.Split(r)
	if vars {
		t, err := compileTemplate(r)
		if err != nil {
			return resourcePattern{}, err
		}
		rp.tmpl = t
	}
	return rp, nil
}

// jsonText renders a decoded JSON value for an error message, shortened.
func jsonText(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}

func countNonSpace(s string) int {
	n := 0
	for _, r := range s {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// MarshalJSON renders p in a canonical form: elements in the documented order, every list as an
// array, Condition operators and keys sorted. Parsing the result gives an equal Policy.
func (p *Policy) MarshalJSON() ([]byte, error) {
	var o jsonObject
	field := o.field
	if p.Version != "" {
		field("Version", p.Version)
	}
	if p.ID != "" {
		field("Id", p.ID)
	}
	stmts := make([]json.RawMessage, 0, len(p.Statements))
	for _, s := range p.Statements {
		raw, err := s.marshal()
		if err != nil {
			return nil, err
		}
		stmts = append(stmts, raw)
	}
	field("Statement", stmts)
	return o.bytes(), nil
}

// jsonObject writes a JSON object field by field, in the order given.
type jsonObject struct {
	b bytes.Buffer
}

func (o *jsonObject) field(name string, v any) {
	if o.b.Len() == 0 {
		o.b.WriteByte('{')
	} else {
		o.b.WriteByte(',')
	}
	k, _ := json.Marshal(name)
	o.b.Write(k)
	o.b.WriteByte(':')
	enc, _ := json.Marshal(v)
	o.b.Write(enc)
}

func (o *jsonObject) bytes() []byte {
	if o.b.Len() == 0 {
		o.b.WriteByte('{')
	}
	o.b.WriteByte('}')
	return o.b.Bytes()
}

func (s *Statement) marshal() (json.RawMessage, error) {
	var o jsonObject
	field := o.field
	if s.Sid != "" {
		field("Sid", s.Sid)
	}
	field("Effect", s.Effect)
	if s.Principal != nil {
		field("Principal", s.Principal.jsonValue())
	}
	if s.NotPrincipal != nil {
		field("NotPrincipal", s.NotPrincipal.jsonValue())
	}
	for _, l := range []struct {
		name string
		v    []string
	}{{"Action", s.Action}, {"NotAction", s.NotAction}, {"Resource", s.Resource}, {"NotResource", s.NotResource}} {
		if l.v != nil {
			field(l.name, l.v)
		}
	}
	if s.Condition != nil {
		c := map[string]map[string][]string{}
		for _, cd := range s.Condition {
			if c[cd.Operator] == nil {
				c[cd.Operator] = map[string][]string{}
			}
			c[cd.Operator][cd.Key] = cd.Values
		}
		field("Condition", c)
	}
	return o.bytes(), nil
}

func (p *Principals) jsonValue() any {
	if p.Any {
		return "*"
	}
	m := map[string][]string{}
	for _, e := range []struct {
		k string
		v []string
	}{{"AWS", p.AWS}, {"Service", p.Service}, {"Federated", p.Federated}, {"CanonicalUser", p.CanonicalUser}} {
		if e.v != nil {
			m[e.k] = e.v
		}
	}
	return m
}

func sortConditions(c []Condition) {
	sort.Slice(c, func(i, j int) bool {
		if c[i].Operator != c[j].Operator {
			return c[i].Operator < c[j].Operator
		}
		return c[i].Key < c[j].Key
	})
}
