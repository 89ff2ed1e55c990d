package iam

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// Principal is the caller a request is evaluated for.
type Principal struct {
	// ARN is the caller's own ARN: arn:aws:iam::A:user/x, arn:aws:sts::A:assumed-role/R/s,
	// arn:aws:sts::A:federated-user/x or arn:aws:iam::A:root. Empty for anonymous callers and for
	// service or federated principals.
	ARN string
	// Account is the caller's account id.
	Account string
	// PrincipalARN is what aws:PrincipalArn holds: the role ARN (arn:aws:iam::A:role/path/R) for
	// an assumed-role session, else the same as ARN (WithGlobalKeys fills it in when empty). A
	// resource policy naming the role matches every session of the role.
	PrincipalARN string
	UserID       string            // aws:userid: AIDA… for users, AROA…:session for sessions, the account id for root
	Tags         map[string]string // principal tags (session tags win over role tags; the caller merges them)
	OrgID        string            // aws:PrincipalOrgID, "" outside an organization
	OrgPaths     []string          // aws:PrincipalOrgPaths, e.g. "o-a1b2c3/r-ab12/ou-ab12-11111111/"
	// Service is set, instead of ARN, when an AWS service principal (e.g.
	// "sagemaker.amazonaws.com") makes the request.
	Service string
	// Federated is set, instead of ARN, for AssumeRoleWithWebIdentity/SAML: the identity provider
	// ("cognito-identity.amazonaws.com" or a SAML provider ARN) a trust policy must name.
	Federated     string
	CanonicalUser string // S3 canonical user id, rarely used
}

func (p *Principal) isRoot() bool {
	return p.ARN != "" && strings.HasSuffix(p.ARN, ":root") && strings.Contains(p.ARN, ":iam::")
}

// anonymous callers, services and identity providers have no identity policies.
func (p *Principal) hasIdentity() bool { return p.ARN != "" }

// principalType is aws:PrincipalType.
func (p *Principal) principalType() string {
	switch {
	case p.Service != "":
		return "Service"
	case p.Federated != "":
		return "WebIdentity"
	case p.ARN == "":
		return "Anonymous"
	case p.isRoot():
		return "Account"
	case strings.Contains(p.ARN, ":assumed-role/"):
		return "AssumedRole"
	case strings.Contains(p.ARN, ":federated-user/"):
		return "FederatedUser"
	}
	return "User"
}

// Request is what is being decided: who does what to which resource, in which context.
type Request struct {
	Principal Principal
	Action    string // service:Action, e.g. "sagemaker:DescribeModelPackage"
	Resource  string // the resource ARN, or "*" for actions without one
	// ResourceAccount owns the resource; "" means the principal's account (same-account).
	ResourceAccount string
	// Context holds the condition keys of the request (service keys such as
	// sagemaker:ResourceTag/team, aws:SourceIp, aws:TagKeys …). Keys are case-insensitive.
	// Evaluate needs a context prepared by WithGlobalKeys: add request keys before calling it.
	//
	// Keys that differ only in letter case are all kept (resource tags are case-sensitive on
	// the resource, condition keys are not): a condition on such a key holds in a Deny statement
	// when it holds for ANY of the colliding keys' values, and in an Allow statement only when it
	// holds for ALL of them, so the decision never depends on map order and a collision can only
	// make a request more denied. The source address of the call goes in KeySourceIP.
	Context map[string][]string

	prepared bool
	g        globals // the call's facts the global keys are rendered from (Value)
	// alts holds, per lower-cased key that several keys of Context (or principal tags) collide
	// on, the value lists of each, ordered by the original key's bytes.
	alts map[string][][]string
}

// KeySourceIP is the context key for the caller's source address (IPv4 or IPv6, no port), as
// IpAddress and NotIpAddress conditions read it.
const KeySourceIP = "aws:SourceIp"

// WithGlobalKeys returns a copy of r whose context also holds the global condition keys derived
// from the principal and the call: aws:PrincipalAccount, aws:PrincipalArn, aws:PrincipalOrgID,
// aws:PrincipalOrgPaths, aws:PrincipalTag/*, aws:PrincipalType, aws:PrincipalIsAWSService,
// aws:PrincipalServiceName, aws:userid, aws:username (IAM users only), aws:CurrentTime,
// aws:EpochTime, aws:SecureTransport, aws:RequestedRegion (when region is not empty) and
// aws:ResourceAccount. These overwrite any value of the same name the caller put in Context, so
// request parameters cannot spoof them; other keys (aws:SourceIp, aws:SourceAccount, service
// keys) are kept. Keys are stored lower-cased; read them with Value. Evaluate refuses requests
// not prepared this way.
//
// The principal's tags go into Context here; the other global keys are rendered only when a
// condition or policy variable reads them (most decisions read none), so preparing a request
// costs no map of a dozen strings.
func (r Request) WithGlobalKeys(now time.Time, region string, secure bool) Request {
	p := &r.Principal
	if p.PrincipalARN == "" {
		p.PrincipalARN = p.ARN
	}
	if r.ResourceAccount == "" {
		r.ResourceAccount = p.Account
	}
	r.alts = nil
	r.g = globals{now: now, region: region, secure: secure}
	if len(r.Context) == 0 && len(p.Tags) == 0 {
		r.Context = nil
		r.prepared = true
		return r
	}
	ctx := make(map[string][]string, len(r.Context)+len(p.Tags))
	var collided map[string]bool // lower-cased keys that several keys share
	add := func(lk string, v []string) {
		if _, dup := ctx[lk]; dup {
			if collided == nil {
				collided = map[string]bool{}
			}
			collided[lk] = true
			return
		}
		ctx[lk] = v
	}
	for k, v := range r.Context {
		lk := strings.ToLower(k)
		if isGlobalKey(lk) {
			continue // principal- and call-derived keys come only from below
		}
		add(lk, v)
	}
	// One backing array for all tag values: each key gets a full slice expression of it.
	vals := make([]string, 0, len(p.Tags))
	for k, v := range p.Tags {
		if lk := "aws:principaltag/" + strings.ToLower(k); ctx[lk] == nil {
			vals = append(vals, v)
			ctx[lk] = vals[len(vals)-1 : len(vals) : len(vals)]
		} else {
			add(lk, nil) // a collision: collect below reads every spelling again
		}
	}
	if collided != nil {
		// Keys that differ only in case: keep all of them, in a fixed order; the context
		// holds the first.
		r.alts = r.collect(collided)
		for lk, a := range r.alts {
			ctx[lk] = a[0]
		}
	}
	r.Context = ctx
	r.prepared = true
	return r
}

// globals is what the global keys WithGlobalKeys does not put in Context are rendered from.
type globals struct {
	now    time.Time
	region string
	secure bool
}

// Value returns the values of a lower-cased condition key of a prepared request: a key of
// Context (request keys, principal tags), or a global key rendered from the principal and the
// call. A key the request does not have is nil.
func (r *Request) Value(lowerKey string) []string {
	if v, ok := r.Context[lowerKey]; ok {
		return v
	}
	if !r.prepared || !strings.HasPrefix(lowerKey, "aws:") {
		return nil
	}
	p := &r.Principal
	switch lowerKey {
	case "aws:principalaccount":
		return nonEmpty(p.Account)
	case "aws:principalarn":
		return nonEmpty(p.PrincipalARN)
	case "aws:principalorgid":
		return nonEmpty(p.OrgID)
	case "aws:principalorgpaths":
		if len(p.OrgPaths) == 0 {
			return nil
		}
		return p.OrgPaths
	case "aws:principaltype":
		return []string{p.principalType()}
	case "aws:principalisawsservice":
		return []string{strconv.FormatBool(p.Service != "")}
	case "aws:principalservicename":
		return nonEmpty(p.Service)
	case "aws:userid":
		return nonEmpty(p.UserID)
	case "aws:username":
		if p.principalType() == "User" {
			if i := strings.LastIndexByte(p.ARN, '/'); i >= 0 {
				return []string{p.ARN[i+1:]}
			}
		}
		return nil
	case "aws:currenttime":
		return []string{r.g.now.UTC().Format(time.RFC3339)}
	case "aws:epochtime":
		return []string{strconv.FormatInt(r.g.now.Unix(), 10)}
	case "aws:securetransport":
		return []string{strconv.FormatBool(r.g.secure)}
	case "aws:requestedregion":
		return nonEmpty(r.g.region)
	case "aws:resourceaccount":
		return nonEmpty(r.ResourceAccount)
	}
	return nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// collect returns, for each lower-cased key in collided, the values of every key of Context
// and of the principal's tags that lowers to it, ordered by the original key's bytes.
func (r *Request) collect(collided map[string]bool) map[string][][]string {
	type kv struct {
		key  string
		vals []string
	}
	groups := make(map[string][]kv, len(collided))
	for k, v := range r.Context {
		if lk := strings.ToLower(k); collided[lk] {
			groups[lk] = append(groups[lk], kv{k, v})
		}
	}
	for k, v := range r.Principal.Tags {
		if lk := "aws:principaltag/" + strings.ToLower(k); collided[lk] {
			groups[lk] = append(groups[lk], kv{k, []string{v}})
		}
	}
	alts := make(map[string][][]string, len(groups))
	for lk, g := range groups {
		sort.Slice(g, func(i, j int) bool { return g[i].key < g[j].key })
		a := make([][]string, len(g))
		for i := range g {
			a[i] = g[i].vals
		}
		alts[lk] = a
	}
	return alts
}

// isGlobalKey reports whether WithGlobalKeys owns the (lower-cased) key.
func isGlobalKey(lowerKey string) bool {
	switch lowerKey {
	case "aws:principalaccount", "aws:principalarn", "aws:principalorgid", "aws:principalorgpaths",
		"aws:principaltype", "aws:principalisawsservice", "aws:principalservicename", "aws:userid", "aws:username",
		"aws:currenttime", "aws:epochtime", "aws:securetransport", "aws:requestedregion", "aws:resourceaccount":
		return true
	}
	return strings.HasPrefix(lowerKey, "aws:principaltag/")
}

// evalContext is the per-decision state: the request with its resource split once.
type evalContext struct {
	req         *Request
	resParts    [6]string
	resIsARN    bool
	hasBoundary bool
	// alt chooses, while a statement with policy variables is evaluated once per alternative,
	// which colliding key a variable reads (see Statement.applies).
	alt int
}

// lookup returns the values of a key, as a policy variable reads it: for colliding keys, the
// alternative that ctx.alt chooses.
func (c *evalContext) lookup(lowerKey string) []string {
	if a, ok := c.req.alts[lowerKey]; ok {
		return a[c.alt%len(a)]
	}
	return c.req.Value(lowerKey)
}

// alternatives returns the value lists of the keys colliding on lowerKey, or nil.
func (c *evalContext) alternatives(lowerKey string) [][]string {
	return c.req.alts[lowerKey]
}
