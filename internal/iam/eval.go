package iam

import (
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/arn"
)

// Outcome is the kind of a decision.
type Outcome int

// The three outcomes of an evaluation.
const (
	ImplicitDeny Outcome = iota // nothing allows (the zero value: deny by default)
	Allowed                     // allowed
	ExplicitDeny                // a Deny statement matched
)

func (o Outcome) String() string {
	switch o {
	case Allowed:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// Decision is the result of Evaluate.
type Decision struct {
	Allowed bool
	Effect  Outcome
	// Reason says, for a person, what decided: the policy, statement and effect, or what was
	// missing ("no statement allows …").
	Reason string
	// Policy and Statement locate the deciding statement (Statement is its 0-based index, Sid its
	// Sid); Policy is "" and Statement -1 when no statement decided (implicit deny).
	Policy    string
	Statement int
	Sid       string
}

// PolicySet is every policy that applies to a request.
type PolicySet struct {
	// Identity holds the caller's identity-based policies (user, group and role policies, managed
	// and inline). Give each a Name (Policy.WithName) so decisions can cite it.
	Identity []*Policy
	// Resource is the resource's policy (for sts:AssumeRole, the role's trust policy); nil if none.
	Resource *Policy
	// SCPs holds the service control policies of the caller's account, one slice per level from
	// the root down to the account; each level must allow. Nil means no organization, the
	// management account, or a caller SCPs do not restrict (service principals, service-linked
	// roles).
	SCPs [][]*Policy
	// PermissionsBoundary is the caller's boundary (a user's or role's), or nil.
	PermissionsBoundary *Policy
	// Session holds the session policies passed when the role session was created, or nil.
	Session []*Policy
	// ResourceRequired makes the resource policy's Allow necessary even within one account. A
	// role's trust policy works this way: sts:AssumeRole needs the trust policy to allow the
	// caller (and, when it names only the account, the caller's identity policy too) whatever
	// the caller's identity policies say.
	ResourceRequired bool
}

// scan is what one policy says about a request: its first matching Deny and Allow statements,
// and for a resource policy the strongest way an Allow statement named the caller.
type scan struct {
	deny, allow *Statement
	grant       grant
}

func (p *Policy) scan(ctx *evalContext, resource bool) scan {
	var out scan
	for _, st := range p.Statements {
		if out.deny != nil {
			break
		}
		if st.Effect == Allow && out.allow != nil && (!resource || out.grant == grantDirect) {
			continue // already know the answer this statement could give
		}
		// Principal elements are checked wherever they appear, so a policy parsed with AnyKind
		// and used in the wrong slot is never broader than it reads. A resource-slot statement
		// without one (possible only with AnyKind) fails safe: its Deny applies to everyone, its
		// Allow to no one.
		g := grantDirect
		switch {
		case st.NotPrincipal != nil:
			if !st.notPrincipalApplies(&ctx.req.Principal, ctx.hasBoundary) {
				continue
			}
		case st.Principal != nil:
			if g = st.principalGrant(&ctx.req.Principal); g == grantNone {
				continue
			}
		case resource && st.Effect == Allow:
			continue
		}
		if !st.applies(ctx) {
			continue
		}
		if st.Effect == Deny {
			out.deny = st
		} else if out.allow == nil || g > out.grant {
			out.allow, out.grant = st, g
		}
	}
	return out
}

// applies reports whether the statement's Action, Resource and Condition all match. A
// statement with policy variables, in a request with condition keys that differ only in letter
// case, is decided once per colliding key a variable may read: a Deny applies if it applies for
// any of them, an Allow only if it applies for all of them.
func (s *Statement) applies(ctx *evalContext) bool {
	if !s.vars || ctx.req.alts == nil {
		return s.appliesOnce(ctx)
	}
	n := 0
	for _, a := range ctx.req.alts {
		n = max(n, len(a))
	}
	deny := s.Effect == Deny
	defer func() { ctx.alt = 0 }()
	for ctx.alt = 0; ctx.alt < n; ctx.alt++ {
		if s.appliesOnce(ctx) == deny {
			return deny
		}
	}
	return !deny
}

func (s *Statement) appliesOnce(ctx *evalContext) bool {
	req := ctx.req
	m := false
	for i := range s.actions {
		if s.actions[i].match(req.Action) {
			m = true
			break
		}
	}
	if m == (s.NotAction != nil) {
		return false
	}
	if s.resources != nil {
		m = false
		for i := range s.resources {
			if s.resources[i].match(ctx) {
				m = true
				break
			}
		}
		if m == (s.NotResource != nil) {
			return false
		}
	}
	for i := range s.conds {
		if !s.conds[i].eval(ctx, s.Effect == Deny) {
			return false
		}
	}
	return true
}

func (r *resourcePattern) match(ctx *evalContext) bool {
	if r.tmpl == nil {
		if r.any {
			return true
		}
		if !ctx.resIsARN {
			return false
		}
		for i := range r.parts {
			if !arn.Glob(r.parts[i], ctx.resParts[i], false, false) {
				return false
			}
		}
		return true
	}
	pat, ok := r.tmpl.expand(ctx, true)
	return ok && arnLike(pat, true, ctx.resParts, ctx.resIsARN)
}

// Evaluate decides req against ps with AWS's evaluation logic:
//
//  1. An explicit Deny in any policy (SCP, resource, boundary, session, identity) denies.
//  2. Each level of SCPs must allow, else the request is implicitly denied.
//  3. Same account: a resource-policy Allow naming the caller itself (user or session ARN, "*")
//     allows; one naming the caller's role allows if the boundary and session policies also allow;
//     otherwise an identity-policy Allow is needed, within the boundary and session policies.
//     A resource policy naming only the account delegates to identity policies.
//  4. Cross account (ResourceAccount differs from the caller's): the resource policy must name the
//     caller and the identity policies must allow, both.
//  5. Callers without identity (anonymous, services, identity providers) are allowed only by the
//     resource policy. The account root user's identity allows everything (SCPs and denies still
//     apply).
//
// A request whose Context was not prepared by WithGlobalKeys is denied.
func Evaluate(req Request, ps PolicySet) Decision {
	if !req.prepared {
		return implicit("the request context was not prepared with WithGlobalKeys")
	}
	ctx := evalContext{req: &req, hasBoundary: ps.PermissionsBoundary != nil}
	ctx.resParts, ctx.resIsARN = arn.Split(req.Resource)
	ctx.resIsARN = ctx.resIsARN && ctx.resParts[0] == "arn"
	p := &req.Principal

	// 1. Explicit deny anywhere, collecting allows on the way.
	// scpDenied is the first SCP level that does not allow, -1 if all do.
	scpDenied := -1
	for lvl, level := range ps.SCPs {
		allowed := false
		for i, pol := range level {
			s := pol.scan(&ctx, false)
			if s.deny != nil {
				return decided(ExplicitDeny, pol, s.deny, "SCP level "+strconv.Itoa(lvl), i)
			}
			allowed = allowed || s.allow != nil
		}
		if !allowed && scpDenied < 0 {
			scpDenied = lvl
		}
	}
	var res scan
	if ps.Resource != nil {
		res = ps.Resource.scan(&ctx, true)
		if res.deny != nil {
			return decided(ExplicitDeny, ps.Resource, res.deny, "resource policy", -1)
		}
	}
	var boundary scan
	if ps.PermissionsBoundary != nil {
		boundary = ps.PermissionsBoundary.scan(&ctx, false)
		if boundary.deny != nil {
			return decided(ExplicitDeny, ps.PermissionsBoundary, boundary.deny, "permissions boundary", -1)
		}
	}
	var sessionAllow *Statement
	for i, pol := range ps.Session {
		s := pol.scan(&ctx, false)
		if s.deny != nil {
			return decided(ExplicitDeny, pol, s.deny, "session policy", i)
		}
		if sessionAllow == nil {
			sessionAllow = s.allow
		}
	}
	var idAllow *Statement
	var idPolicy *Policy
	if p.hasIdentity() {
		for i, pol := range ps.Identity {
			s := pol.scan(&ctx, false)
			if s.deny != nil {
				return decided(ExplicitDeny, pol, s.deny, "identity policy", i)
			}
			if idAllow == nil && s.allow != nil {
				idAllow, idPolicy = s.allow, pol
			}
		}
	}

	// 2. Every SCP level must allow.
	if scpDenied >= 0 {
		return implicit("no service control policy at level " + strconv.Itoa(scpDenied) + " allows " + req.Action)
	}

	// 5. Callers without an identity: only the resource policy can allow.
	if !p.hasIdentity() {
		if res.allow != nil {
			return decided(Allowed, ps.Resource, res.allow, "resource policy", -1)
		}
		return implicit("no resource policy statement allows " + callerName(p) + " to " + req.Action)
	}

	// The identity side: identity policies (or root) within boundary and session policies.
	limitsOK, limitsWhy := true, ""
	if ps.PermissionsBoundary != nil && boundary.allow == nil {
		limitsOK, limitsWhy = false, "the permissions boundary does not allow "+req.Action
	} else if len(ps.Session) > 0 && sessionAllow == nil {
		limitsOK, limitsWhy = false, "no session policy allows "+req.Action
	}
	identityOK := (idAllow != nil || p.isRoot()) && limitsOK
	identityDecision := func() Decision {
		if idAllow == nil {
			return Decision{Allowed: true, Effect: Allowed, Reason: "allowed: the account root user", Statement: -1}
		}
		return decided(Allowed, idPolicy, idAllow, "identity policy", indexOf(ps.Identity, idPolicy))
	}
	identityWhy := func() string {
		if idAllow == nil && !p.isRoot() {
			return "no identity policy statement allows " + req.Action + " on " + req.Resource
		}
		return limitsWhy
	}

	if req.ResourceAccount == p.Account && ps.ResourceRequired && res.allow == nil {
		return implicit("no statement in the " + resourceName(ps.Resource) + " allows " + callerName(p) + " to " + req.Action)
	}
	if req.ResourceAccount == p.Account {
		// 3. Same account.
		switch {
		case res.allow != nil && res.grant == grantDirect:
			return decided(Allowed, ps.Resource, res.allow, "resource policy", -1)
		case res.allow != nil && res.grant == grantRole && limitsOK:
			return decided(Allowed, ps.Resource, res.allow, "resource policy", -1)
		case identityOK:
			return identityDecision()
		}
		if res.allow != nil && res.grant == grantRole {
			return implicit("the resource policy allows the role, but " + limitsWhy)
		}
		why := identityWhy()
		if res.allow != nil {
			why += " (the resource policy names only the account, which delegates to identity policies)"
		}
		return implicit(why)
	}
	// 4. Cross account.
	if res.allow == nil {
		return implicit("cross-account request: no statement in the resource policy of account " + req.ResourceAccount + " allows " + callerName(p) + " to " + req.Action)
	}
	if !identityOK {
		return implicit("cross-account request: the resource policy allows, but " + identityWhy())
	}
	d := identityDecision()
	var b strings.Builder
	b.WriteString(d.Reason)
	b.WriteString("; and by ")
	describe(&b, ps.Resource, "resource policy", -1, res.allow)
	d.Reason = b.String()
	return d
}

func implicit(why string) Decision {
	return Decision{Effect: ImplicitDeny, Reason: "implicit deny: " + why, Statement: -1}
}

// decided builds the decision a statement made, citing the policy (by name, else by its kind
// and position) and the statement (index and Sid).
func decided(o Outcome, pol *Policy, st *Statement, what string, i int) Decision {
	var b strings.Builder
	b.Grow(64 + len(pol.Name) + len(st.Sid))
	if o == ExplicitDeny {
		b.WriteString("explicit deny in ")
	} else {
		b.WriteString("allowed by ")
	}
	describe(&b, pol, what, i, st)
	return Decision{
		Allowed:   o == Allowed,
		Effect:    o,
		Reason:    b.String(),
		Policy:    pol.Name,
		Statement: st.index,
		Sid:       st.Sid,
	}
}

func describe(b *strings.Builder, pol *Policy, what string, i int, st *Statement) {
	b.WriteString(what)
	switch {
	case pol.Name != "":
		b.WriteString(` "`)
		b.WriteString(pol.Name)
		b.WriteByte('"')
	case i >= 0:
		b.WriteString(" #")
		b.WriteString(strconv.Itoa(i))
	}
	b.WriteString(" Statement[")
	b.WriteString(strconv.Itoa(st.index))
	b.WriteByte(']')
	if st.Sid != "" {
		b.WriteString(` (Sid "`)
		b.WriteString(st.Sid)
		b.WriteString(`")`)
	}
}

func callerName(p *Principal) string {
	switch {
	case p.ARN != "":
		return p.ARN
	case p.Service != "":
		return p.Service
	case p.Federated != "":
		return p.Federated
	}
	return "an anonymous caller"
}

func indexOf(ps []*Policy, p *Policy) int {
	for i, q := range ps {
		if q == p {
			return i
		}
	}
	return -1
}

// resourceName names the resource policy in reasons.
func resourceName(p *Policy) string {
	if p == nil {
		return "resource policy (there is none)"
	}
	if p.Name != "" {
		return p.Name
	}
	return "resource policy"
}
