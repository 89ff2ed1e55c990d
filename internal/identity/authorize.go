package identity

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/iam"
	"github.com/slipway-ml/slipway/internal/randid"
)

// RequestContext carries the request facts that global condition keys need.
type RequestContext struct {
	Region string
	Secure bool
	Time   time.Time
	// Keys holds service-specific condition keys (e.g. sagemaker:ModelApprovalStatus).
	Keys map[string][]string
}

// Action is one thing a caller wants to do, on one resource.
type Action struct {
	Name               string // service:Operation
	Resource           string // the resource ARN ("*" when the operation has none)
	ResourceAccount    string // the account owning the resource
	ResourcePolicy     string // the resource's policy document, "" when it has none
	ResourcePolicyKind iam.Kind
	Context            RequestContext
	// Bare makes a denial say only who may not do what on which resource, without the kind of
	// policy that decided: AssumeRole answers so, whether the role exists or not.
	Bare bool
}

// Note records the authorization decision of a request for the audit trail.
type Note struct {
	Resource string
	Decision string // allow | deny
	Reason   string
	// Variant is the production variant an invocation reached (set by the data plane).
	Variant string
}

type noteKey struct{}

// WithNote returns a context whose authorization decisions are recorded in n.
func WithNote(ctx context.Context, n *Note) context.Context {
	return context.WithValue(ctx, noteKey{}, n)
}

func record(ctx context.Context, resource, decision, reason string) {
	if n, ok := ctx.Value(noteKey{}).(*Note); ok {
		n.Resource, n.Decision, n.Reason = resource, decision, reason
	}
}

// EngineRecord is the audit record of a decision made for an engine acting as a role session
// (API calls are recorded by the transport; engines have no transport).
type EngineRecord struct {
	ID        string // unique, "engine-…"; stands where an API call has its request id
	Time      time.Time
	Caller    Caller // Caller.InvokedBy names the engine
	Action    string
	Resource  string
	Decision  string // allow | deny
	Reason    string
	ErrorCode string
}

// EngineRecorder records the decisions made for engines. A decision that cannot be recorded
// does not stand: the engine's call fails.
type EngineRecorder interface {
	RecordEngineCall(ctx context.Context, r EngineRecord) error
}

// policyCache memoises parsed policy documents by their text; parsing is the expensive part of
// a decision and documents change rarely.
type policyCache struct {
	mu  sync.RWMutex
	max int
	m   map[cacheKey]*iam.Policy
}

type cacheKey struct {
	kind iam.Kind
	doc  string
}

func newPolicyCache(max int) *policyCache {
	return &policyCache{max: max, m: make(map[cacheKey]*iam.Policy)}
}

// get parses a stored document for a decision.
func (c *policyCache) get(kind iam.Kind, doc string) (*iam.Policy, error) {
	k := cacheKey{kind, doc}
	c.mu.RLock()
	p, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return p, nil
	}
	p, err := parseStored(kind, doc)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m) // documents are few; a full cache means churn, so start over
	}
	c.m[k] = p
	c.mu.Unlock()
	return p, nil
}

// parseStored parses a document that was accepted when written. Sizes were checked then, with
// the limit of where it was written (iam.Validate); decisions read it with no size limit. Any
// failure here makes the decision Deny.
func parseStored(kind iam.Kind, doc string) (*iam.Policy, error) {
	return iam.ParseStored(kind, doc)
}

// validate checks a document where it is written: the size limit of its use, then the grammar,
// mapping grammar failures to MalformedPolicyDocument.
func validate(use iam.Use, doc string) (*iam.Policy, error) {
	p, err := iam.Validate(use, doc)
	if err != nil {
		return nil, malformedPolicy(err)
	}
	return p, nil
}

// malformedPolicy makes sure a parse error carries the MalformedPolicyDocument code (a size
// past a quota keeps its own kind and code).
func malformedPolicy(err error) error {
	if errs.CodeOf(err) == "" && errs.KindOf(err) == errs.Invalid {
		return errs.E(errs.Invalid, "%s", errs.Message(err), err).WithCode("MalformedPolicyDocument")
	}
	return err
}

// CheckPolicy validates a policy document where it is written: "identity" (a managed policy),
// "resource" (a resource-based policy), "trust" or "scp", each with its own size limit.
func CheckPolicy(kind, doc string) error {
	use, ok := map[string]iam.Use{"identity": iam.ManagedPolicy, "resource": iam.ResourcePolicy, "trust": iam.TrustPolicy, "scp": iam.ServiceControlPolicy}[kind]
	if !ok {
		return errs.E(errs.Internal, "unknown policy kind %q", kind)
	}
	_, err := validate(use, doc)
	return err
}

// The kinds of policy a denial may name to the caller, as AWS names them.
const (
	byIdentity = "identity-based policy"
	byResource = "resource-based policy"
	bySCP      = "service control policy"
	bySession  = "session policy"
	byBoundary = "permissions boundary"
)

// verdict is a decision with the kind of policy that made it.
type verdict struct {
	iam.Decision
	by         string
	failClosed bool
}

// unusable is the verdict when a policy that applies cannot be evaluated.
func unusable(by, name string, err error) verdict {
	return verdict{
		Decision:   iam.Decision{Effect: iam.ExplicitDeny, Statement: -1, Policy: name, Reason: "fail closed: " + name + " no longer parses: " + errs.Message(err)},
		by:         by,
		failClosed: true,
	}
}

// Authorize decides whether caller may perform action. It returns the decision's reason and an
// errs.AccessDenied error unless the policies allow.
func (s *Service) Authorize(ctx context.Context, caller Caller, a Action) (string, error) {
	v, err := s.decide(ctx, caller, a)
	if err != nil {
		return "", err
	}
	decision := "deny"
	if v.Allowed {
		decision = "allow"
	}
	record(ctx, a.Resource, decision, v.Reason)
	if caller.InvokedBy != "" {
		if err := s.recordEngine(ctx, caller, a, decision, v.Reason); err != nil {
			return "", err
		}
	}
	if v.Allowed {
		return v.Reason, nil
	}
	if v.failClosed {
		s.log.Warn("a stored policy no longer parses; the request is denied", "reason", v.Reason)
	}
	return v.Reason, errs.E(errs.AccessDenied, "%s", denialMessage(caller, a, v), denialOf(v.Decision))
}

func (s *Service) recordEngine(ctx context.Context, caller Caller, a Action, decision, reason string) error {
	if s.engines == nil {
		return errs.E(errs.Internal, "no recorder for engine calls: %s by %s is refused", a.Name, caller.InvokedBy)
	}
	rec := EngineRecord{ID: "engine-" + randid.String(20, upperDigits), Time: s.now(), Caller: caller, Action: a.Name, Resource: a.Resource, Decision: decision, Reason: reason}
	if decision == "deny" {
		rec.ErrorCode = "AccessDenied"
	}
	if err := s.engines.RecordEngineCall(ctx, rec); err != nil {
		return errs.E(errs.Internal, "cannot record %s by %s for the audit trail: %w", a.Name, caller.InvokedBy, err)
	}
	return nil
}

// denialMessage is what the caller sees: who, what, on which resource, and the kind of policy
// that decided — never another account's policy names, Sids or statement indexes.
func denialMessage(caller Caller, a Action, v verdict) string {
	msg := fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s", caller.ARN, a.Name, a.Resource)
	switch {
	case a.Bare:
		return msg
	case v.failClosed:
		return msg + " because a policy that applies to the request could not be evaluated"
	case v.Effect == iam.ExplicitDeny:
		article := "a"
		if v.by == byIdentity {
			article = "an"
		}
		return msg + " with an explicit deny in " + article + " " + v.by
	}
	return msg + " because no " + v.by + " allows the " + a.Name + " action"
}

// decide gathers every policy that applies and evaluates them.
func (s *Service) decide(ctx context.Context, caller Caller, a Action) (verdict, error) {
	var ps iam.PolicySet
	by := map[string]string{} // policy name → the kind a denial may name
	if caller.Kind != "" {
		docs, err := s.store.PoliciesOf(ctx, caller.Account, caller.Kind, caller.Name)
		if err != nil {
			return verdict{}, err
		}
		for _, d := range docs {
			p, err := s.policy.get(iam.Identity, d.Document)
			if err != nil {
				return unusable(byIdentity, d.Name, err), nil
			}
			ps.Identity = append(ps.Identity, p.WithName(d.Name))
			by[d.Name] = byIdentity
		}
	}
	if a.ResourcePolicy != "" {
		kind := a.ResourcePolicyKind
		if kind == 0 {
			kind = iam.Resource
		}
		name := "resource policy of " + a.Resource
		if kind == iam.Trust {
			name = "trust policy of " + a.Resource
		}
		p, err := s.policy.get(kind, a.ResourcePolicy)
		if err != nil {
			return unusable(byResource, name, err), nil
		}
		ps.Resource = p.WithName(name)
		by[name] = byResource
	}
	if a.ResourcePolicyKind == iam.Trust {
		ps.ResourceRequired = true // a role's trust policy must allow, even within its account
	}
	if caller.Kind == KindRole && caller.AccessKeyID != "" {
		k, err := s.store.GetAccessKey(ctx, caller.AccessKeyID)
		if err != nil {
			return verdict{}, err
		}
		for i, doc := range k.SessionPolicies {
			name := fmt.Sprintf("session policy %d", i+1)
			p, err := s.policy.get(iam.Identity, doc)
			if err != nil {
				return unusable(bySession, name, err), nil
			}
			ps.Session = append(ps.Session, p.WithName(name))
			by[name] = bySession
		}
	}
	// SCPs bound the caller's account, whichever account owns the resource.
	var levels [][]NamedDocument
	var orgPath string
	var err error
	if op, ok := s.org.(OrgPather); ok {
		levels, orgPath, err = op.Bounds(ctx, caller.Account)
	} else {
		levels, err = s.org.SCPLevels(ctx, caller.Account)
	}
	if err != nil {
		return verdict{}, err
	}
	for _, level := range levels {
		ls := []*iam.Policy{} // a level with no policy allows nothing
		for _, d := range level {
			name := "SCP " + d.Name
			p, err := s.policy.get(iam.SCP, d.Document)
			if err != nil {
				return unusable(bySCP, name, err), nil
			}
			ls = append(ls, p.WithName(name))
			by[name] = bySCP
		}
		ps.SCPs = append(ps.SCPs, ls)
	}
	rc := a.Context
	if rc.Time.IsZero() {
		rc.Time = s.now()
	}
	keys := make(map[string][]string, len(rc.Keys)+1)
	for k, v := range rc.Keys {
		keys[k] = v
	}
	delete(keys, "aws:SourceIp") // only the transport knows where a request came from
	if caller.SourceIP != "" {
		keys["aws:SourceIp"] = []string{caller.SourceIP}
	}
	var orgPaths []string
	if orgPath != "" && caller.OrgID != "" {
		orgPaths = []string{orgPath}
	}
	req := iam.Request{
		Principal: iam.Principal{
			ARN: caller.ARN, Account: caller.Account, PrincipalARN: caller.PrincipalARN,
			UserID: caller.UserID, OrgID: caller.OrgID, OrgPaths: orgPaths, Tags: caller.Tags,
		},
		Action:          a.Name,
		Resource:        a.Resource,
		ResourceAccount: a.ResourceAccount,
		Context:         keys,
	}
	req = req.WithGlobalKeys(rc.Time, rc.Region, rc.Secure)
	d := iam.Evaluate(req, ps)
	v := verdict{Decision: d, by: by[d.Policy]}
	if v.by == "" {
		v.by = implicitKind(d.Reason)
	}
	return v, nil
}

// implicitKind tells, from an implicit deny's reason, which kind of policy failed to allow.
func implicitKind(reason string) string {
	if i := strings.LastIndex(reason, " but "); i >= 0 {
		reason = reason[i:] // "the resource policy allows, but no identity policy …"
	}
	if i := strings.Index(reason, " ("); i >= 0 {
		reason = reason[:i] // asides name other policies
	}
	switch {
	case strings.Contains(reason, "service control policy"):
		return bySCP
	case strings.Contains(reason, "permissions boundary"):
		return byBoundary
	case strings.Contains(reason, "session policy"):
		return bySession
	case strings.Contains(reason, "resource policy"), strings.Contains(reason, "trust policy"):
		return byResource
	}
	return byIdentity
}

// denied records a denial that needed no policy evaluation and returns what the caller sees.
func (s *Service) denied(ctx context.Context, caller Caller, action, resource, reason string) error {
	record(ctx, resource, "deny", reason)
	return errs.E(errs.AccessDenied, "User: %s is not authorized to perform: %s on resource: %s", caller.ARN, action, resource)
}
