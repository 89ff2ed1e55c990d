package iam

import "testing"

// Tests that mutation testing showed missing (issue 6): each fails when the line it names is
// broken.

// TestSCPLevelIsUnionOfItsPolicies: a level allows what any of its policies allows. FullAWSAccess
// next to a narrower SCP at one level allows what FullAWSAccess allows, in either order (a level
// judged by its last policy only would deny s3 below).
func TestSCPLevelIsUnionOfItsPolicies(t *testing.T) {
	full := mustParse(t, SCP, stmt("Allow", `"Action":"*","Resource":"*"`)).WithName("FullAWSAccess")
	narrow := mustParse(t, SCP, stmt("Allow", `"Action":"sagemaker:*","Resource":"*"`)).WithName("OnlySageMaker")
	allowAll := mustParse(t, Identity, stmt("Allow", `"Action":"*","Resource":"*"`))
	tests := []struct {
		name   string
		levels [][]*Policy
		action string
		want   Outcome
	}{
		{"full then narrow, outside narrow", [][]*Policy{{full, narrow}}, "s3:GetObject", Allowed},
		{"narrow then full, outside narrow", [][]*Policy{{narrow, full}}, "s3:GetObject", Allowed},
		{"full then narrow, inside narrow", [][]*Policy{{full, narrow}}, "sagemaker:ListModels", Allowed},
		{"root full, OU full+narrow, account full", [][]*Policy{{full}, {full, narrow}, {full}}, "s3:GetObject", Allowed},
		{"a level with only the narrow SCP still bounds", [][]*Policy{{full}, {narrow}}, "s3:GetObject", ImplicitDeny},
		{"an empty level allows nothing", [][]*Policy{{full}, {}}, "sagemaker:ListModels", ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Principal: alice, Action: tt.action, Resource: "*"}.WithGlobalKeys(fixedNow, "us-east-1", true)
			if d := Evaluate(req, PolicySet{Identity: []*Policy{allowAll}, SCPs: tt.levels}); d.Effect != tt.want {
				t.Errorf("Evaluate = %v (%s), want %v", d.Effect, d.Reason, tt.want)
			}
		})
	}
}

// TestOrderingOperatorsAtEquality: the strict operators are false at equality, the non-strict
// ones true, for numbers and dates.
func TestOrderingOperatorsAtEquality(t *testing.T) {
	const now = "2026-11-25T18:00:00Z" // fixedNow
	tests := []struct {
		op   string
		key  string
		val  string
		want bool
	}{
		{"NumericGreaterThan", "s3:max-keys", "10", false},
		{"NumericLessThan", "s3:max-keys", "10", false},
		{"NumericGreaterThanEquals", "s3:max-keys", "10", true},
		{"NumericLessThanEquals", "s3:max-keys", "10", true},
		{"NumericEquals", "s3:max-keys", "10", true},
		{"NumericNotEquals", "s3:max-keys", "10", false},
		{"DateGreaterThan", "aws:CurrentTime", now, false},
		{"DateLessThan", "aws:CurrentTime", now, false},
		{"DateGreaterThanEquals", "aws:CurrentTime", now, true},
		{"DateLessThanEquals", "aws:CurrentTime", now, true},
		{"DateEquals", "aws:CurrentTime", now, true},
		{"DateNotEquals", "aws:CurrentTime", now, false},
		// one step either side, so a test that only checks equality cannot pass by denying all
		{"NumericGreaterThan", "s3:max-keys", "9.5", true},
		{"NumericLessThan", "s3:max-keys", "10.5", true},
		{"DateGreaterThan", "aws:CurrentTime", "2026-11-25T17:59:59Z", true},
		{"DateLessThan", "aws:CurrentTime", "2026-11-25T18:00:01Z", true},
	}
	for _, tt := range tests {
		t.Run(tt.op+" "+tt.val, func(t *testing.T) {
			p := mustParse(t, Identity, stmt("Allow", `"Action":"*","Resource":"*","Condition":{"`+tt.op+`":{"`+tt.key+`":"`+tt.val+`"}}`))
			req := Request{Principal: alice, Action: "s3:ListBucket", Resource: "arn:aws:s3:::b",
				Context: map[string][]string{"s3:max-keys": {"10"}}}.WithGlobalKeys(fixedNow, "us-east-1", true)
			if got := Evaluate(req, PolicySet{Identity: []*Policy{p}}).Allowed; got != tt.want {
				t.Errorf("%s %s against 10 / %s: %v, want %v", tt.op, tt.val, now, got, tt.want)
			}
		})
	}
}

// TestActionWildcards: a wildcard in the middle of an action matches only what the whole
// pattern matches (never as a prefix), and action matching ignores letter case for every shape
// of pattern.
func TestActionWildcards(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"sagemaker:Describe*Group", "sagemaker:DescribeModelPackageGroup", true},
		{"sagemaker:Describe*Group", "sagemaker:DescribeGroup", true},
		{"sagemaker:Describe*Group", "sagemaker:DescribeModelPackage", false},
		{"sagemaker:Describe*Group", "sagemaker:DescribeModelPackageGroupX", false},
		{"sagemaker:Describe*Group", "sagemaker:Describe", false},
		{"sagemaker:Describe?odel", "sagemaker:DescribeModel", true},
		{"sagemaker:Describe?odel", "sagemaker:DescribeModels", false},
		// letter case, for each compiled shape: exact, prefix, general glob
		{"SageMaker:describemodel", "sagemaker:DescribeModel", true},
		{"SAGEMAKER:describe*", "sagemaker:DescribeModel", true},
		{"sagemaker:DESCRIBE*group", "SageMaker:DescribeModelPackageGroup", true},
		{"sagemaker:describe?ODEL", "sagemaker:DescribeModel", true},
		{"*:describemodel", "sagemaker:DescribeModel", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.action, func(t *testing.T) {
			for _, effect := range []string{"Allow", "Deny"} {
				p := mustParse(t, Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"`+effect+`","Action":"`+tt.pattern+`","Resource":"*"}]}`)
				if effect == "Allow" {
					p = mustParse(t, Identity, stmt("Allow", `"Action":"`+tt.pattern+`","Resource":"*"`))
				}
				req := Request{Principal: alice, Action: tt.action, Resource: "*"}.WithGlobalKeys(fixedNow, "", true)
				d := Evaluate(req, PolicySet{Identity: []*Policy{p}})
				matched := d.Allowed
				if effect == "Deny" {
					matched = d.Effect == ExplicitDeny
				}
				if matched != tt.want {
					t.Errorf("%s %q on %q: matched = %v (%s), want %v", effect, tt.pattern, tt.action, matched, d.Reason, tt.want)
				}
			}
		})
	}
}

// TestRoleSessionJudgedByRoleARN: a role session is named by its role's ARN — in a resource
// policy's Principal (for Deny and Allow) and in aws:PrincipalArn — and not by another role's.
func TestRoleSessionJudgedByRoleARN(t *testing.T) {
	const group = "arn:aws:sagemaker:us-east-1:" + acctA + ":model-package-group/g"
	role := session.PrincipalARN
	allowAll := mustParse(t, Identity, stmt("Allow", `"Action":"*","Resource":"*"`))
	rp := func(effect, principal string) *Policy {
		return mustParse(t, Resource, stmt(effect, `"Principal":{"AWS":"`+principal+`"},"Action":"sagemaker:*","Resource":"*"`))
	}
	other := "arn:aws:iam::" + acctA + ":role/Other"
	tests := []struct {
		name string
		p    Principal
		ps   PolicySet
		want Outcome
	}{
		{"resource Deny naming the role denies its session", session, PolicySet{Identity: []*Policy{allowAll}, Resource: rp("Deny", role)}, ExplicitDeny},
		{"resource Deny naming another role does not", session, PolicySet{Identity: []*Policy{allowAll}, Resource: rp("Deny", other)}, Allowed},
		{"resource Allow naming the role allows its session alone", session, PolicySet{Resource: rp("Allow", role)}, Allowed},
		{"resource Allow naming the role, cross account, needs identity", Principal{ARN: "arn:aws:sts::" + acctB + ":assumed-role/R/s", PrincipalARN: "arn:aws:iam::" + acctB + ":role/R", Account: acctB},
			PolicySet{Resource: rp("Allow", "arn:aws:iam::"+acctB+":role/R")}, ImplicitDeny},
		{"identity Deny on aws:PrincipalArn = the role", session, PolicySet{Identity: []*Policy{allowAll,
			mustParse(t, Identity, stmt("Deny", `"Action":"*","Resource":"*","Condition":{"ArnEquals":{"aws:PrincipalArn":"`+role+`"}}`))}}, ExplicitDeny},
		{"aws:PrincipalArn is not the session ARN", session, PolicySet{Identity: []*Policy{allowAll,
			mustParse(t, Identity, stmt("Deny", `"Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalArn":"`+session.ARN+`"}}`))}}, Allowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Principal: tt.p, Action: "sagemaker:DescribeModelPackageGroup", Resource: group, ResourceAccount: acctA}.WithGlobalKeys(fixedNow, "us-east-1", true)
			if d := Evaluate(req, tt.ps); d.Effect != tt.want {
				t.Errorf("Evaluate = %v (%s), want %v", d.Effect, d.Reason, tt.want)
			}
		})
	}
}
