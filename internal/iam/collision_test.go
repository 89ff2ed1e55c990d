package iam

import "testing"

// TestConditionKeyCaseCollisions is issue 6 hole 4: a group tagged frozen=true and FROZEN=false
// under a Deny on aws:ResourceTag/frozen = true. Condition keys are case-insensitive, so both
// tags answer the key; the decision must be the same every time (map order must not matter) and
// a collision may only make a request more denied: a Deny's condition holds if any colliding
// value satisfies it, an Allow's only if all do.
func TestConditionKeyCaseCollisions(t *testing.T) {
	const group = "arn:aws:sagemaker:us-east-1:" + acctA + ":model-package-group/g"
	allowAll := mustParse(t, Identity, stmt("Allow", `"Action":"*","Resource":"*"`))
	id := func(doc string) *Policy { return mustParse(t, Identity, doc) }
	tags := func(kv ...string) map[string][]string {
		m := map[string][]string{}
		for i := 0; i < len(kv); i += 2 {
			m["aws:ResourceTag/"+kv[i]] = []string{kv[i+1]}
		}
		return m
	}
	tests := []struct {
		name     string
		ctx      map[string][]string
		ptags    map[string]string
		resource string
		policies []*Policy
		want     Outcome
	}{
		{"deny on frozen=true, tags frozen=true FROZEN=false", tags("frozen", "true", "FROZEN", "false"), nil, group,
			[]*Policy{allowAll, id(stmt("Deny", `"Action":"sagemaker:Describe*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/frozen":"true"}}`))}, ExplicitDeny},
		{"deny on frozen=true, tags frozen=false FROZEN=true", tags("frozen", "false", "FROZEN", "true"), nil, group,
			[]*Policy{allowAll, id(stmt("Deny", `"Action":"sagemaker:Describe*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/frozen":"true"}}`))}, ExplicitDeny},
		{"deny key spelled in capitals", tags("frozen", "false", "Frozen", "true"), nil, group,
			[]*Policy{allowAll, id(stmt("Deny", `"Action":"sagemaker:Describe*","Resource":"*","Condition":{"StringEquals":{"AWS:RESOURCETAG/FROZEN":"true"}}`))}, ExplicitDeny},
		{"negated deny: unless frozen=false", tags("frozen", "false", "FROZEN", "true"), nil, group,
			[]*Policy{allowAll, id(stmt("Deny", `"Action":"sagemaker:Describe*","Resource":"*","Condition":{"StringNotEquals":{"aws:ResourceTag/frozen":"false"}}`))}, ExplicitDeny},
		{"no collision, deny does not match", tags("frozen", "false"), nil, group,
			[]*Policy{allowAll, id(stmt("Deny", `"Action":"sagemaker:Describe*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/frozen":"true"}}`))}, Allowed},
		{"allow needs every colliding value", tags("team", "ml", "TEAM", "ops"), nil, group,
			[]*Policy{id(stmt("Allow", `"Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"ml"}}`))}, ImplicitDeny},
		{"allow where every colliding value satisfies", tags("team", "ml", "TEAM", "ml-ops"), nil, group,
			[]*Policy{id(stmt("Allow", `"Action":"*","Resource":"*","Condition":{"StringLike":{"aws:ResourceTag/team":"ml*"}}`))}, Allowed},
		{"principal tags collide: deny", nil, map[string]string{"team": "ml", "TEAM": "ops"}, group,
			[]*Policy{allowAll, id(stmt("Deny", `"Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"ops"}}`))}, ExplicitDeny},
		{"principal tags collide: allow", nil, map[string]string{"team": "ml", "TEAM": "ops"}, group,
			[]*Policy{id(stmt("Allow", `"Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"ml"}}`))}, ImplicitDeny},
		{"variable in a deny's resource reads every colliding value", tags("owner", "x", "OWNER", "g"), nil, group,
			[]*Policy{allowAll, id(stmt("Deny", `"Action":"*","Resource":"arn:aws:sagemaker:*:*:model-package-group/${aws:ResourceTag/owner}"`))}, ExplicitDeny},
		{"variable in a deny's resource, other order", tags("owner", "g", "OWNER", "x"), nil, group,
			[]*Policy{allowAll, id(stmt("Deny", `"Action":"*","Resource":"arn:aws:sagemaker:*:*:model-package-group/${aws:ResourceTag/owner}"`))}, ExplicitDeny},
		{"variable in an allow's resource needs every colliding value", tags("owner", "g", "OWNER", "x"), nil, group,
			[]*Policy{id(stmt("Allow", `"Action":"*","Resource":"arn:aws:sagemaker:*:*:model-package-group/${aws:ResourceTag/owner}"`))}, ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := alice
			p.Tags = tt.ptags
			// Each repetition builds its maps afresh, so Go's randomised map order varies.
			for i := range 1000 {
				ctx := map[string][]string{}
				for k, v := range tt.ctx {
					ctx[k] = v
				}
				req := Request{Principal: p, Action: "sagemaker:DescribeModelPackageGroup", Resource: tt.resource, Context: ctx}.WithGlobalKeys(fixedNow, "us-east-1", true)
				if d := Evaluate(req, PolicySet{Identity: tt.policies}); d.Effect != tt.want {
					t.Fatalf("repetition %d: Evaluate = %v (%s), want %v", i, d.Effect, d.Reason, tt.want)
				}
			}
		})
	}
}

// TestCollidingKeysReadTheSame: the context a prepared request holds for colliding keys is the
// first key's in byte order ("FROZEN" < "frozen"), whatever the map order.
func TestCollidingKeysReadTheSame(t *testing.T) {
	for i := range 1000 {
		req := Request{Principal: alice, Action: "s3:GetObject", Resource: "*", Context: map[string][]string{
			"aws:ResourceTag/frozen": {"true"}, "aws:ResourceTag/FROZEN": {"false"}, "aws:ResourceTag/Frozen": {"maybe"}}}.WithGlobalKeys(fixedNow, "", true)
		if got := req.Context["aws:resourcetag/frozen"]; len(got) != 1 || got[0] != "false" {
			t.Fatalf("repetition %d: context holds %q, want [false] (FROZEN's)", i, got)
		}
		if got := len(req.alts["aws:resourcetag/frozen"]); got != 3 {
			t.Fatalf("repetition %d: %d alternatives, want 3", i, got)
		}
	}
}

// TestSourceIP: aws:SourceIp (KeySourceIP), as the transport puts the caller's address in the
// request context, with IpAddress and NotIpAddress over IPv4 and IPv6 CIDR blocks.
func TestSourceIP(t *testing.T) {
	tests := []struct {
		name, cond, ip string // ip "" leaves the key out
		want           bool
	}{
		{"v4 inside", `{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, "192.0.2.77", true},
		{"v4 outside", `{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, "192.0.3.1", false},
		{"v4 /32", `{"IpAddress":{"aws:SourceIp":"192.0.2.1/32"}}`, "192.0.2.1", true},
		{"v4 against a v6 block", `{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`, "192.0.2.1", false},
		{"v6 inside", `{"IpAddress":{"aws:SourceIp":"2001:db8:1234::/48"}}`, "2001:db8:1234:ffff::1", true},
		{"v6 outside", `{"IpAddress":{"aws:SourceIp":"2001:db8:1234::/48"}}`, "2001:db8:1235::1", false},
		{"v6 loopback", `{"IpAddress":{"aws:SourceIp":"::1"}}`, "::1", true},
		{"v6 with a zone", `{"IpAddress":{"aws:SourceIp":"fe80::/10"}}`, "fe80::1%eth0", true},
		{"v4-mapped v6 address", `{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, "::ffff:192.0.2.9", true},
		{"either family listed", `{"IpAddress":{"aws:SourceIp":["192.0.2.0/24","2001:db8::/32"]}}`, "2001:db8::5", true},
		{"NotIpAddress v4 outside", `{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, "198.51.100.1", true},
		{"NotIpAddress v4 inside", `{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, "192.0.2.1", false},
		{"NotIpAddress v6 inside", `{"NotIpAddress":{"aws:SourceIp":"2001:db8::/32"}}`, "2001:db8::1", false},
		{"NotIpAddress v6 outside", `{"NotIpAddress":{"aws:SourceIp":"2001:db8::/32"}}`, "2001:db9::1", true},
		{"address with a port never matches", `{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, "192.0.2.1:443", false},
		{"IpAddress, no address", `{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, "", false},
		{"NotIpAddress, no address", `{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, "", true},
		{"IpAddressIfExists, no address", `{"IpAddressIfExists":{"aws:SourceIp":"192.0.2.0/24"}}`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := map[string][]string{}
			if tt.ip != "" {
				ctx[KeySourceIP] = []string{tt.ip}
			}
			req := Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: ctx}.WithGlobalKeys(fixedNow, "us-east-1", true)
			allow := mustParse(t, Identity, stmt("Allow", `"Action":"*","Resource":"*","Condition":`+tt.cond))
			if got := Evaluate(req, PolicySet{Identity: []*Policy{allow}}).Allowed; got != tt.want {
				t.Errorf("Allow if %s, address %q: allowed = %v, want %v", tt.cond, tt.ip, got, tt.want)
			}
			// The same condition in a Deny (the usual "deny unless from our network" shape).
			all := mustParse(t, Identity, stmt("Allow", `"Action":"*","Resource":"*"`))
			deny := mustParse(t, Identity, stmt("Deny", `"Action":"*","Resource":"*","Condition":`+tt.cond))
			if got := Evaluate(req, PolicySet{Identity: []*Policy{all, deny}}).Effect == ExplicitDeny; got != tt.want {
				t.Errorf("Deny if %s, address %q: denied = %v, want %v", tt.cond, tt.ip, got, tt.want)
			}
		})
	}
}
