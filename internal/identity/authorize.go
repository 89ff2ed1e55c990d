package identity

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/iam"
)

// denyAll stands in for a session policy that no longer parses: a session is never widened.
const denyAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`

// policy kinds, as the parser checks them
const (
	policyIdentity = iam.Identity
	policyResource = iam.Resource
	policyTrust    = iam.Trust
	policySCP      = iam.SCP
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
}

// Note records the authorization decision of a request for the audit trail.
type Note struct {
	Resource string
	Decision string // allow | deny
	Reason   string
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

func (c *policyCache) get(kind iam.Kind, doc string) (*iam.Policy, error) {
	k := cacheKey{kind, doc}
	c.mu.RLock()
	p, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return p, nil
	}
	p, err := parsePolicy(kind, doc)
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

// parsePolicy parses a document of a kind, mapping failures to MalformedPolicyDocument.
func parsePolicy(kind iam.Kind, doc string) (*iam.Policy, error) {
	p, err := iam.ParseKind(kind, doc)
	if err != nil {
		return nil, malformedPolicy(err)
	}
	return p, nil
}

// malformedPolicy makes sure a parse error carries the MalformedPolicyDocument code.
func malformedPolicy(err error) error {
	if errs.CodeOf(err) == "" {
		return errs.E(errs.Invalid, "%s", errs.Message(err), err).WithCode("MalformedPolicyDocument")
	}
	return err
}

// CheckPolicy validates a policy document of a kind ("identity", "resource", "trust", "scp").
func CheckPolicy(kind, doc string) error {
	k := map[string]iam.Kind{"identity": iam.Identity, "resource": iam.Resource, "trust": iam.Trust, "scp": iam.SCP}[kind]
	_, err := parsePolicy(k, doc)
	return err
}

// Authorize decides whether caller may perform action. It returns the decision's reason and an
// errs.AccessDenied error unless the policies allow.
func (s *Service) Authorize(ctx context.Context, caller Caller, a Action) (string, error) {
	var ps iam.PolicySet
	docs, err := s.store.PoliciesOf(ctx, caller.Account, caller.Kind, caller.Name)
	if err != nil {
		return "", err
	}
	for _, d := range docs {
		p, err := s.policy.get(iam.Identity, d.Document)
		if err != nil {
			s.log.Warn("an identity policy no longer parses; it allows nothing", "policy", d.Name, "err", err)
			continue
		}
		ps.Identity = append(ps.Identity, p.WithName(d.Name))
	}
	if a.ResourcePolicy != "" {
		kind := a.ResourcePolicyKind
		if kind == 0 {
			kind = iam.Resource
		}
		p, err := s.policy.get(kind, a.ResourcePolicy)
		if err != nil {
			s.log.Warn("a resource policy no longer parses; it allows nothing", "resource", a.Resource, "err", err)
		} else {
			ps.Resource = p.WithName("resource policy of " + a.Resource)
		}
	}
	if a.ResourcePolicyKind == iam.Trust {
		ps.ResourceRequired = true // a role's trust policy must allow, even within its account
		if ps.Resource != nil {
			ps.Resource = ps.Resource.WithName("trust policy of " + a.Resource)
		}
	}
	if caller.Kind == KindRole && caller.AccessKeyID != "" {
		k, err := s.store.GetAccessKey(ctx, caller.AccessKeyID)
		if err != nil {
			return "", err
		}
		for i, doc := range k.SessionPolicies {
			p, err := s.policy.get(iam.Identity, doc)
			if err != nil {
				s.log.Warn("a session policy no longer parses; it allows nothing", "key", k.ID, "err", err)
				p, _ = s.policy.get(iam.Identity, denyAll)
			}
			ps.Session = append(ps.Session, p.WithName(fmt.Sprintf("session policy %d", i+1)))
		}
	}
	levels, err := s.org.SCPLevels(ctx, caller.Account)
	if err != nil {
		return "", err
	}
	for _, level := range levels {
		var ls []*iam.Policy
		for _, d := range level {
			p, err := s.policy.get(iam.SCP, d.Document)
			if err != nil {
				s.log.Warn("an SCP no longer parses; it allows nothing", "policy", d.Name, "err", err)
				continue
			}
			ls = append(ls, p.WithName("SCP "+d.Name))
		}
		if ls == nil {
			ls = []*iam.Policy{} // a level with nothing that parses allows nothing
		}
		ps.SCPs = append(ps.SCPs, ls)
	}
	rc := a.Context
	if rc.Time.IsZero() {
		rc.Time = s.now()
	}
	req := iam.Request{
		Principal: iam.Principal{
			ARN: caller.ARN, Account: caller.Account, PrincipalARN: caller.PrincipalARN,
			UserID: caller.UserID, OrgID: caller.OrgID, Tags: caller.Tags,
		},
		Action:          a.Name,
		Resource:        a.Resource,
		ResourceAccount: a.ResourceAccount,
		Context:         rc.Keys,
	}
	req = req.WithGlobalKeys(rc.Time, rc.Region, rc.Secure)
	d := iam.Evaluate(req, ps)
	if d.Allowed {
		record(ctx, a.Resource, "allow", d.Reason)
		return d.Reason, nil
	}
	record(ctx, a.Resource, "deny", d.Reason)
	return d.Reason, s.deniedBecause(caller, a.Name, a.Resource, d)
}

func (s *Service) deniedBecause(caller Caller, action, resource string, d iam.Decision) error {
	return errs.E(errs.AccessDenied, "User: %s is not authorized to perform: %s on resource: %s because of an %s", caller.ARN, action, resource, d.Reason, denialOf(d))
}

func (s *Service) denied(ctx context.Context, caller Caller, action, resource, reason string) error {
	record(ctx, resource, "deny", reason)
	return errs.E(errs.AccessDenied, "User: %s is not authorized to perform: %s on resource: %s", caller.ARN, action, resource)
}
