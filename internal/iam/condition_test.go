package iam

import (
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/arn"
)

// TestConditionOperators decides one-condition Allow statements against request contexts.
func TestConditionOperators(t *testing.T) {
	type ctx = map[string][]string
	tests := []struct {
		name string
		cond string // the Condition element
		ctx  ctx
		want bool
	}{
		// String operators.
		{"StringEquals match", `{"StringEquals":{"s3:prefix":"home/"}}`, ctx{"s3:prefix": {"home/"}}, true},
		{"StringEquals is case-sensitive", `{"StringEquals":{"s3:prefix":"Home/"}}`, ctx{"s3:prefix": {"home/"}}, false},
		{"StringEquals any of several values", `{"StringEquals":{"s3:prefix":["a","home/"]}}`, ctx{"s3:prefix": {"home/"}}, true},
		{"StringEquals missing key", `{"StringEquals":{"s3:prefix":"home/"}}`, ctx{}, false},
		{"StringEquals key name is case-insensitive", `{"StringEquals":{"S3:PREFIX":"home/"}}`, ctx{"s3:Prefix": {"home/"}}, true},
		{"StringEquals does not use wildcards", `{"StringEquals":{"s3:prefix":"home/*"}}`, ctx{"s3:prefix": {"home/x"}}, false},
		{"StringNotEquals differs", `{"StringNotEquals":{"s3:prefix":"home/"}}`, ctx{"s3:prefix": {"tmp/"}}, true},
		{"StringNotEquals equal", `{"StringNotEquals":{"s3:prefix":"home/"}}`, ctx{"s3:prefix": {"home/"}}, false},
		{"StringNotEquals matches none of the values", `{"StringNotEquals":{"s3:prefix":["a","b"]}}`, ctx{"s3:prefix": {"b"}}, false},
		{"StringNotEquals missing key is true", `{"StringNotEquals":{"s3:prefix":"home/"}}`, ctx{}, true},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"s3:prefix":"HOME/"}}`, ctx{"s3:prefix": {"home/"}}, true},
		{"StringNotEqualsIgnoreCase", `{"StringNotEqualsIgnoreCase":{"s3:prefix":"HOME/"}}`, ctx{"s3:prefix": {"home/"}}, false},
		{"StringLike star", `{"StringLike":{"s3:prefix":"home/*"}}`, ctx{"s3:prefix": {"home/alice/x"}}, true},
		{"StringLike question mark", `{"StringLike":{"s3:prefix":"v?"}}`, ctx{"s3:prefix": {"v12"}}, false},
		{"StringLike is case-sensitive", `{"StringLike":{"s3:prefix":"HOME/*"}}`, ctx{"s3:prefix": {"home/x"}}, false},
		{"StringNotLike", `{"StringNotLike":{"s3:prefix":"home/*"}}`, ctx{"s3:prefix": {"tmp/x"}}, true},
		{"StringNotLike missing key is true", `{"StringNotLike":{"s3:prefix":"home/*"}}`, ctx{}, true},

		// Numeric.
		{"NumericEquals", `{"NumericEquals":{"s3:max-keys":"10"}}`, ctx{"s3:max-keys": {"10.0"}}, true},
		{"NumericNotEquals", `{"NumericNotEquals":{"s3:max-keys":"10"}}`, ctx{"s3:max-keys": {"10"}}, false},
		{"NumericLessThan", `{"NumericLessThan":{"s3:max-keys":"10"}}`, ctx{"s3:max-keys": {"9"}}, true},
		{"NumericLessThan equal", `{"NumericLessThan":{"s3:max-keys":"10"}}`, ctx{"s3:max-keys": {"10"}}, false},
		{"NumericLessThanEquals", `{"NumericLessThanEquals":{"s3:max-keys":"10"}}`, ctx{"s3:max-keys": {"10"}}, true},
		{"NumericGreaterThan", `{"NumericGreaterThan":{"s3:max-keys":"10"}}`, ctx{"s3:max-keys": {"10.5"}}, true},
		{"NumericGreaterThanEquals", `{"NumericGreaterThanEquals":{"s3:max-keys":"10"}}`, ctx{"s3:max-keys": {"9.99"}}, false},
		{"Numeric request value not a number", `{"NumericLessThan":{"s3:max-keys":"10"}}`, ctx{"s3:max-keys": {"many"}}, false},

		// Dates: ISO 8601 and epoch on either side.
		{"DateLessThan ISO", `{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`, nil, true},
		{"DateGreaterThan ISO", `{"DateGreaterThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`, nil, false},
		{"DateLessThanEquals date only", `{"DateLessThanEquals":{"aws:CurrentTime":"2026-11-26"}}`, nil, true},
		{"DateGreaterThanEquals equal", `{"DateGreaterThanEquals":{"aws:CurrentTime":"2026-11-25T18:00:00Z"}}`, nil, true},
		{"DateEquals with zone offset", `{"DateEquals":{"aws:CurrentTime":"2026-11-25T19:00:00+01:00"}}`, nil, true},
		{"DateNotEquals", `{"DateNotEquals":{"aws:CurrentTime":"2026-11-25T18:00:00Z"}}`, nil, false},
		{"DateLessThan epoch policy value vs ISO key", `{"DateLessThan":{"aws:CurrentTime":"1798761600"}}`, nil, true},
		{"DateGreaterThan ISO policy value vs epoch key", `{"DateGreaterThan":{"aws:EpochTime":"2026-01-01T00:00:00Z"}}`, nil, true},
		{"Date token issue time", `{"DateGreaterThan":{"aws:TokenIssueTime":"2026-11-25T00:00:00Z"}}`, ctx{"aws:TokenIssueTime": {"2026-11-24T23:00:00Z"}}, false},

		// Bool, Binary, IP.
		{"Bool true", `{"Bool":{"aws:SecureTransport":"true"}}`, nil, true},
		{"Bool json boolean, other case", `{"Bool":{"aws:MultiFactorAuthPresent":true}}`, ctx{"aws:MultiFactorAuthPresent": {"TRUE"}}, true},
		{"Bool missing key", `{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`, nil, false},
		{"BinaryEquals", `{"BinaryEquals":{"x:key":"QmluYXJ5VmFsdWU="}}`, ctx{"x:key": {"QmluYXJ5VmFsdWU="}}, true},
		{"BinaryEquals differs", `{"BinaryEquals":{"x:key":"QmluYXJ5VmFsdWU="}}`, ctx{"x:key": {"QmluYXJ5VmFsdWF="}}, false},
		{"IpAddress in CIDR", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ctx{"aws:SourceIp": {"203.0.113.7"}}, true},
		{"IpAddress outside", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ctx{"aws:SourceIp": {"198.51.100.7"}}, false},
		{"IpAddress single address", `{"IpAddress":{"aws:SourceIp":"203.0.113.7"}}`, ctx{"aws:SourceIp": {"203.0.113.7"}}, true},
		{"IpAddress IPv6", `{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64"]}}`, ctx{"aws:SourceIp": {"2001:db8:1234:5678::1"}}, true},
		{"IpAddress IPv4-mapped", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ctx{"aws:SourceIp": {"::ffff:203.0.113.7"}}, true},
		{"NotIpAddress", `{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ctx{"aws:SourceIp": {"198.51.100.7"}}, true},
		{"NotIpAddress inside", `{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ctx{"aws:SourceIp": {"203.0.113.9"}}, false},

		// ARN operators.
		{"ArnEquals", `{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:111122223333:topic"}}`, ctx{"aws:SourceArn": {"arn:aws:sns:us-east-1:111122223333:topic"}}, true},
		{"ArnLike wildcard account", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:*:topic"}}`, ctx{"aws:SourceArn": {"arn:aws:sns:eu-west-1:444455556666:topic"}}, true},
		{"ArnLike star stays in its component", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*"}}`, ctx{"aws:SourceArn": {"arn:aws:sns:eu-west-1:444455556666:topic"}}, false},
		{"ArnLike on a non-ARN value", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`, ctx{"aws:SourceArn": {"topic"}}, false},
		{"ArnNotEquals", `{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/Admin"}}`, nil, true},
		{"ArnNotLike role family", `{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/*"}}`, nil, false},

		// Null.
		{"Null true on absent key", `{"Null":{"aws:TokenIssueTime":"true"}}`, nil, true},
		{"Null true on present key", `{"Null":{"aws:TokenIssueTime":"true"}}`, ctx{"aws:TokenIssueTime": {"x"}}, false},
		{"Null false on present key", `{"Null":{"aws:PrincipalTag/team":"false"}}`, nil, true},
		{"Null false on absent key", `{"Null":{"aws:PrincipalTag/cost":false}}`, nil, false},

		// IfExists.
		{"IfExists absent key", `{"StringEqualsIfExists":{"ec2:InstanceType":"t3.micro"}}`, nil, true},
		{"IfExists present key matches", `{"StringEqualsIfExists":{"ec2:InstanceType":"t3.micro"}}`, ctx{"ec2:InstanceType": {"t3.micro"}}, true},
		{"IfExists present key differs", `{"StringEqualsIfExists":{"ec2:InstanceType":"t3.micro"}}`, ctx{"ec2:InstanceType": {"m5.large"}}, false},
		{"negated IfExists absent", `{"StringNotEqualsIfExists":{"ec2:InstanceType":"t3.micro"}}`, nil, true},
		{"Numeric IfExists absent", `{"NumericLessThanIfExists":{"s3:max-keys":"5"}}`, nil, true},
		{"Arn IfExists present", `{"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:sns:*:*:t"}}`, ctx{"aws:SourceArn": {"arn:aws:sns:x:1:u"}}, false},

		// Set qualifiers (docs: multivalued context keys).
		{"ForAllValues subset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}`, ctx{"aws:TagKeys": {"environment"}}, true},
		{"ForAllValues not a subset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}`, ctx{"aws:TagKeys": {"environment", "owner"}}, false},
		{"ForAllValues missing key is true", `{"ForAllValues:StringEquals":{"aws:TagKeys":["environment"]}}`, nil, true},
		{"ForAllValues empty list is true", `{"ForAllValues:StringEquals":{"aws:TagKeys":["environment"]}}`, ctx{"aws:TagKeys": {}}, true},
		{"ForAllValues StringLike", `{"ForAllValues:StringLike":{"aws:TagKeys":["key*"]}}`, ctx{"aws:TagKeys": {"key1", "key2"}}, true},
		{"ForAllValues negated: none in the set", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["secret"]}}`, ctx{"aws:TagKeys": {"a", "b"}}, true},
		{"ForAllValues negated: one in the set", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["secret"]}}`, ctx{"aws:TagKeys": {"a", "secret"}}, false},
		{"ForAnyValue overlap", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}`, ctx{"aws:TagKeys": {"owner", "environment"}}, true},
		{"ForAnyValue no overlap", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["environment"]}}`, ctx{"aws:TagKeys": {"owner"}}, false},
		{"ForAnyValue missing key is false", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["environment"]}}`, nil, false},
		{"ForAnyValue negated missing key is false", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["environment"]}}`, nil, false},
		{"ForAnyValue negated: one outside the set", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["environment"]}}`, ctx{"aws:TagKeys": {"environment", "owner"}}, true},
		{"ForAnyValue negated: all inside the set", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["environment"]}}`, ctx{"aws:TagKeys": {"environment"}}, false},
		{"ForAnyValue IfExists missing key", `{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":["environment"]}}`, nil, true},
		{"empty value list never matches", `{"StringEquals":{"aws:PrincipalTag/team":[]}}`, nil, false},
		{"empty value list, negated", `{"StringNotEquals":{"aws:PrincipalTag/team":[]}}`, nil, true},
		{"single-valued operator, multivalued key", `{"StringEquals":{"aws:TagKeys":"a"}}`, ctx{"aws:TagKeys": {"b", "a"}}, true},
		{"negated operator, multivalued key", `{"StringNotEquals":{"aws:TagKeys":"a"}}`, ctx{"aws:TagKeys": {"b", "a"}}, false},

		// Combination: operators and keys AND, values OR.
		{"two operators both hold", `{"StringEquals":{"aws:PrincipalTag/team":"ml"},"Bool":{"aws:SecureTransport":"true"}}`, nil, true},
		{"two operators one fails", `{"StringEquals":{"aws:PrincipalTag/team":"ml"},"Bool":{"aws:SecureTransport":"false"}}`, nil, false},
		{"two keys one fails", `{"StringEquals":{"aws:PrincipalTag/team":"ml","aws:RequestedRegion":"eu-west-1"}}`, nil, false},

		// Policy variables in condition values.
		{"variable in StringEquals", `{"StringEquals":{"s3:prefix":"home/${aws:username}/"}}`, ctx{"s3:prefix": {"home/alice/"}}, true},
		{"variable in StringLike", `{"StringLike":{"s3:prefix":["home/${aws:username}/*"]}}`, ctx{"s3:prefix": {"home/alice/docs"}}, true},
		{"variable in StringLike, other user", `{"StringLike":{"s3:prefix":["home/${aws:username}/*"]}}`, ctx{"s3:prefix": {"home/bob/docs"}}, false},
		{"variable in ArnLike", `{"ArnLike":{"aws:SourceArn":"arn:aws:iam::${aws:PrincipalAccount}:*"}}`, ctx{"aws:SourceArn": {"arn:aws:iam::111122223333:role/x"}}, true},
		{"missing variable does not match", `{"StringEquals":{"s3:prefix":"${aws:PrincipalTag/nope}"}}`, ctx{"s3:prefix": {""}}, false},
		{"${$} is a dollar", `{"StringEquals":{"s3:prefix":"${$}{x}"}}`, ctx{"s3:prefix": {"${x}"}}, true},
		{"${?} is literal in StringLike", `{"StringLike":{"s3:prefix":"a${?}"}}`, ctx{"s3:prefix": {"ab"}}, false},
		{"variable only in string operators", `{"NumericEquals":{"s3:max-keys":"5"}}`, ctx{"s3:max-keys": {"5"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":`+tt.cond+`}]}`)
			req := Request{Principal: alice, Action: "s3:ListBucket", Resource: "arn:aws:s3:::b", Context: tt.ctx}.WithGlobalKeys(fixedNow, "us-east-1", true)
			got := Evaluate(req, PolicySet{Identity: []*Policy{p}})
			if got.Allowed != tt.want {
				t.Errorf("condition %s with context %v: allowed = %v (%s), want %v", tt.cond, tt.ctx, got.Allowed, got.Reason, tt.want)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s      string
		fold, esc, want bool
	}{
		{`a\*b`, "a*b", false, true, true},
		{`a\*b`, "axb", false, true, false},
		{`a\*b`, `a\xb`, false, false, true}, // unescaped mode: backslash is literal and * is a wildcard
		{`\\*`, `\anything`, false, true, true},
		{`*\?`, "what?", false, true, true},
		{`*\?`, "whatx", false, true, false},
		{"IAM:*", "iam:CreateUser", true, false, true},
		{"iam:Get?", "IAM:GETX", true, false, true},
		{"*", "", false, false, true},
		{"x*", "", false, false, false},
	}
	for _, tt := range tests {
		if got := arn.Glob(tt.pattern, tt.s, tt.fold, tt.esc); got != tt.want {
			t.Errorf("arn.Glob(%q, %q, fold=%v, esc=%v) = %v, want %v", tt.pattern, tt.s, tt.fold, tt.esc, got, tt.want)
		}
	}
}

func FuzzGlob(f *testing.F) {
	f.Add(`a\*b*`, "a*bcd")
	f.Add("\xff", "\xdd")
	f.Fuzz(func(t *testing.T, p, s string) {
		// Without wildcards or escapes a pattern matches exactly itself.
		if !strings.ContainsAny(p, `*?\`) && arn.Glob(p, s, false, true) != (p == s) {
			t.Fatalf("arn.Glob(%q, %q) disagrees with ==", p, s)
		}
		// Escaping every character makes any pattern literal.
		var b strings.Builder
		writeEscaped(&b, p, true)
		if !arn.Glob(b.String(), p, false, true) {
			t.Fatalf("escaped %q does not match itself", p)
		}
		if arn.Glob(p, s, false, false) && !arn.Glob(p, s, true, false) {
			t.Fatalf("folding made %q, %q stricter", p, s)
		}
	})
}
