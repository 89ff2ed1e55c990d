package iam

import (
	"sort"
	"strings"

	"github.com/slipway-ml/slipway/internal/arn"
)

type principalKind uint8

const (
	pAny principalKind = iota
	pAccount
	pARN
	pService
	pFederated
	pCanonical
)

type principalEntry struct {
	kind  principalKind
	value string // account id, ARN, service or provider name, canonical id
}

// parsePrincipals reads a Principal or NotPrincipal value: "*" or an object whose keys are AWS,
// Service, Federated and CanonicalUser. AWS entries are "*", 12-digit account ids, or ARNs;
// partial wildcards are rejected because AWS does not match them.
func parsePrincipals(name string, v any) (*Principals, []principalEntry, error) {
	if s, ok := v.(string); ok {
		if s != "*" {
			return nil, nil, errorf("%s must be \"*\" or an object such as {\"AWS\": \"arn:aws:iam::123456789012:root\"}, not %q", name, s)
		}
		return &Principals{Any: true}, []principalEntry{{kind: pAny}}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil, errorf("%s must be \"*\" or an object such as {\"AWS\": \"arn:aws:iam::123456789012:root\"}, not %s", name, jsonText(v))
	}
	if len(m) == 0 {
		return nil, nil, errorf("%s must name at least one principal", name)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ps := &Principals{}
	var entries []principalEntry
	for _, k := range keys {
		vals, err := stringList(name+"."+k, m[k])
		if err != nil {
			return nil, nil, err
		}
		for _, s := range vals {
			e, err := principalFor(k, s)
			if err != nil {
				return nil, nil, errorf("%s %s %q: %v", name, k, s, err)
			}
			entries = append(entries, e)
		}
		switch k {
		case "AWS":
			ps.AWS = vals
		case "Service":
			ps.Service = vals
		case "Federated":
			ps.Federated = vals
		case "CanonicalUser":
			ps.CanonicalUser = vals
		default:
			return nil, nil, errorf("%s type %q is unknown (use AWS, Service, Federated or CanonicalUser)", name, k)
		}
	}
	return ps, entries, nil
}

func principalFor(typ, s string) (principalEntry, error) {
	if s == "" {
		return principalEntry{}, errorf("must not be empty")
	}
	if s == "*" {
		if typ != "AWS" {
			return principalEntry{}, errorf("the wildcard \"*\" is only allowed as \"*\" or {\"AWS\": \"*\"}")
		}
		return principalEntry{kind: pAny}, nil
	}
	if strings.ContainsAny(s, "*?") {
		return principalEntry{}, errorf("wildcards cannot match part of a principal; use \"*\" with a condition on aws:PrincipalArn")
	}
	switch typ {
	case "AWS":
		if isAccountID(s) {
			return principalEntry{kind: pAccount, value: s}, nil
		}
		c, ok := arn.Split(s)
		if !ok || c[0] != "arn" || (c[2] != "iam" && c[2] != "sts") || !isAccountID(c[4]) || c[5] == "" {
			return principalEntry{}, errorf("must be an account id, an IAM or STS ARN such as arn:aws:iam::123456789012:role/Name, or \"*\"")
		}
		if c[2] == "iam" && c[5] == "root" {
			return principalEntry{kind: pAccount, value: c[4]}, nil
		}
		return principalEntry{kind: pARN, value: s}, nil
	case "Service":
		return principalEntry{kind: pService, value: strings.ToLower(s)}, nil
	case "Federated":
		return principalEntry{kind: pFederated, value: s}, nil
	case "CanonicalUser":
		return principalEntry{kind: pCanonical, value: s}, nil
	}
	return principalEntry{}, errorf("unknown principal type (use AWS, Service, Federated or CanonicalUser)")
}

// grant says how a resource-policy statement named the caller, strongest last.
type grant uint8

const (
	grantNone    grant = iota
	grantAccount       // via the account ("123456789012" or arn:...:root): delegates to identity policies
	grantRole          // via the role ARN of an assumed-role session: bounded by boundary and session policies
	grantDirect        // via the caller's own ARN (user, session) or "*", or a service/federated name
)

func (g grant) String() string {
	switch g {
	case grantAccount:
		return "the principal's account"
	case grantRole:
		return "the principal's role"
	case grantDirect:
		return "the principal"
	}
	return "nobody"
}

// match reports how e names p.
func (e principalEntry) match(p *Principal) grant {
	switch e.kind {
	case pAny:
		return grantDirect
	case pAccount:
		if p.ARN != "" && p.Account == e.value {
			return grantAccount
		}
	case pARN:
		if p.ARN != "" && e.value == p.ARN {
			return grantDirect
		}
		if p.PrincipalARN != "" && p.PrincipalARN != p.ARN && e.value == p.PrincipalARN {
			return grantRole
		}
	case pService:
		if p.Service != "" && strings.EqualFold(e.value, p.Service) {
			return grantDirect
		}
	case pFederated:
		if p.Federated != "" && e.value == p.Federated {
			return grantDirect
		}
	case pCanonical:
		if p.CanonicalUser != "" && e.value == p.CanonicalUser {
			return grantDirect
		}
	}
	return grantNone
}

// principalGrant is the strongest way the statement's Principal names p.
func (s *Statement) principalGrant(p *Principal) grant {
	best := grantNone
	for _, e := range s.principals {
		if g := e.match(p); g > best {
			best = g
			if best == grantDirect {
				break
			}
		}
	}
	return best
}

// notPrincipalApplies reports whether a NotPrincipal statement applies to p. AWS checks each
// identity of the caller — its account, its role (for a session) and itself — and the statement
// applies if any of them is not listed; a caller with a permissions boundary is never exempt.
func (s *Statement) notPrincipalApplies(p *Principal, hasBoundary bool) bool {
	if hasBoundary && p.ARN != "" {
		return true
	}
	listed := func(want principalEntry) bool {
		for _, e := range s.principals {
			if e.kind == pAny || e == want {
				return true
			}
		}
		return false
	}
	switch {
	case p.Service != "":
		return !listed(principalEntry{kind: pService, value: strings.ToLower(p.Service)})
	case p.Federated != "":
		return !listed(principalEntry{kind: pFederated, value: p.Federated})
	case p.CanonicalUser != "":
		return !listed(principalEntry{kind: pCanonical, value: p.CanonicalUser})
	case p.ARN == "":
		return !listed(principalEntry{kind: pAny})
	}
	if !listed(principalEntry{kind: pAccount, value: p.Account}) {
		return true
	}
	if p.PrincipalARN != "" && p.PrincipalARN != p.ARN && !listed(principalEntry{kind: pARN, value: p.PrincipalARN}) {
		return true
	}
	if p.isRoot() {
		return false
	}
	return !listed(principalEntry{kind: pARN, value: p.ARN})
}
