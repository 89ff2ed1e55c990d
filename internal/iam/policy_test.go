package iam

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/slipway-ml/slipway/internal/errs"
)

func TestParseShapes(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		doc  string
		want []*Statement
	}{
		{"single statement object", Identity,
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`,
			[]*Statement{{Effect: Allow, Action: []string{"s3:GetObject"}, Resource: []string{"*"}}}},
		{"arrays and Sid", Identity,
			`{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Deny","NotAction":["iam:*","sts:*"],"NotResource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}`,
			[]*Statement{{Sid: "A", Effect: Deny, NotAction: []string{"iam:*", "sts:*"}, NotResource: []string{"arn:aws:s3:::b", "arn:aws:s3:::b/*"}}}},
		{"principal star", Resource,
			`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sagemaker:Describe*","Resource":"*"}]}`,
			[]*Statement{{Effect: Allow, Principal: &Principals{Any: true}, Action: []string{"sagemaker:Describe*"}, Resource: []string{"*"}}}},
		{"principal kinds", Trust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::444455556666:role/R"],"Service":"sagemaker.amazonaws.com","Federated":"cognito-identity.amazonaws.com"},"Action":["sts:AssumeRole","sts:AssumeRoleWithWebIdentity"]}]}`,
			[]*Statement{{Effect: Allow, Principal: &Principals{AWS: []string{"111122223333", "arn:aws:iam::444455556666:role/R"}, Service: []string{"sagemaker.amazonaws.com"}, Federated: []string{"cognito-identity.amazonaws.com"}},
				Action: []string{"sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"}}}},
		{"effect in any case, booleans, empty blocks, sorted", Identity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"10"},"StringLike":{},"StringNotEquals":{"aws:username":[]},"Bool":{"aws:SecureTransport":true},"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}}]}`,
			[]*Statement{{Effect: Allow, Action: []string{"*"}, Resource: []string{"*"}, Condition: []Condition{
				{"Bool", "aws:SecureTransport", []string{"true"}},
				{"NumericLessThan", "s3:max-keys", []string{"10"}},
				{"StringEquals", "aws:RequestedRegion", []string{"us-east-1", "eu-west-1"}},
				{"StringNotEquals", "aws:username", []string{}},
			}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseKind(tt.kind, tt.doc)
			if err != nil {
				t.Fatalf("ParseKind: %v", err)
			}
			if diff := cmp.Diff(tt.want, p.Statements, cmpopts.IgnoreUnexported(Statement{})); diff != "" {
				t.Errorf("statements mismatch (-want +got):\n%s", diff)
			}
			if p.Document() != tt.doc {
				t.Errorf("Document() = %q, want the input", p.Document())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const v = `"Version":"2012-10-17",`
	big := `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":["` + strings.Repeat("arn:aws:s3:::bucket/key-of-some-length-", 200) + `"]}]}`
	tests := []struct {
		name, reason string
		kind         Kind
		doc          string
	}{
		{"not json", "not valid JSON", AnyKind, `{"Statement":`},
		{"json syntax offset", "not valid JSON at character 15", AnyKind, `{"Statement": x}`},
		{"trailing", "text after", AnyKind, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}} x`},
		{"array root", "JSON object", AnyKind, `[]`},
		{"bad version", `Version must be "2012-10-17" or "2008-10-17", not "2012-10-18"`, AnyKind, `{"Version":"2012-10-18","Statement":[]}`},
		{"unknown top", `unknown policy element "Statements"`, AnyKind, `{"Statements":[]}`},
		{"no statement", "has no Statement", AnyKind, `{` + v[:len(v)-1] + `}`},
		{"empty statement", "at least one statement", AnyKind, `{` + v + `"Statement":[]}`},
		{"statement string", "Statement must be an object or an array", AnyKind, `{"Statement":"x"}`},
		{"effect", `Statement[1]: Effect must be Allow or Deny, not "Permit"`, AnyKind,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Permit","Action":"*","Resource":"*"}]}`},
		{"effect missing, sid named", `Statement[0] (Sid "S"): Effect is missing`, AnyKind, `{"Statement":[{"Sid":"S","Action":"*","Resource":"*"}]}`},
		{"unknown element", `unknown element "Actions"`, AnyKind, `{"Statement":[{"Effect":"Allow","Actions":"*","Resource":"*"}]}`},
		{"action and notaction", "both Action and NotAction", AnyKind, `{"Statement":[{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}]}`},
		{"no action", "needs an Action or NotAction", AnyKind, `{"Statement":[{"Effect":"Allow","Resource":"*"}]}`},
		{"action without service", `Action "GetObject" must be "*" or service:action`, AnyKind, `{"Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"*"}]}`},
		{"action with two colons", `Action "s3:Get:Object" can contain only one colon`, AnyKind, `{"Statement":[{"Effect":"Allow","Action":"s3:Get:Object","Resource":"*"}]}`},
		{"action vendor wildcard", `service prefix "s*"`, AnyKind, `{"Statement":[{"Effect":"Allow","Action":"s*:GetObject","Resource":"*"}]}`},
		{"empty action list", "Action must not be an empty list", AnyKind, `{"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}`},
		{"action number", "Action must hold strings", AnyKind, `{"Statement":[{"Effect":"Allow","Action":[1],"Resource":"*"}]}`},
		{"no resource", "needs a Resource or NotResource", Identity, `{"Statement":[{"Effect":"Allow","Action":"*"}]}`},
		{"resource not arn", `Resource "bucket": must be "*" or an ARN`, Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"bucket"}]}`},
		{"principal in identity", "Principal is not allowed in an identity policy", Identity,
			`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`},
		{"notprincipal in scp", "NotPrincipal is not allowed in a service control policy", SCP,
			`{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"*","Resource":"*"}]}`},
		{"resource policy without principal", "must name a Principal", Resource, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`},
		{"trust without principal", "must name a Principal", Trust, `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`},
		{"trust with resource", "Resource and NotResource are not allowed in a trust policy", Trust,
			`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Resource":"*"}]}`},
		{"trust notprincipal", "NotPrincipal is not allowed in a trust policy", Trust,
			`{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}]}`},
		{"notprincipal allow", `NotPrincipal can only be used with "Effect": "Deny"`, Resource,
			`{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},"Action":"*","Resource":"*"}]}`},
		{"principal partial wildcard", "wildcards cannot match part of a principal", Resource,
			`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/*"},"Action":"*","Resource":"*"}]}`},
		{"principal bad account", "must be an account id", Resource,
			`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"1234"},"Action":"*","Resource":"*"}]}`},
		{"principal type", `unknown principal type`, Resource,
			`{"Statement":[{"Effect":"Allow","Principal":{"Aws":"111122223333"},"Action":"*","Resource":"*"}]}`},
		{"principal string", `Principal must be "*" or an object`, Resource,
			`{"Statement":[{"Effect":"Allow","Principal":"111122223333","Action":"*","Resource":"*"}]}`},
		{"both principals", "both Principal and NotPrincipal", Resource,
			`{"Statement":[{"Effect":"Deny","Principal":"*","NotPrincipal":{"AWS":"111122223333"},"Action":"*","Resource":"*"}]}`},
		{"duplicate sid", `Sid "A" is already used by Statement[0]`, AnyKind,
			`{"Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"*","Resource":"*"}]}`},
		{"unknown operator", "unknown condition operator StringEqualz", AnyKind,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"aws:username":"a"}}}]}`},
		{"unknown qualifier", `unknown condition set qualifier "ForSomeValues"`, AnyKind,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForSomeValues:StringEquals":{"aws:TagKeys":"a"}}}]}`},
		{"null ifexists", "Null takes neither IfExists", AnyKind,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NullIfExists":{"aws:username":"true"}}}]}`},
		{"key without service", "the condition key must be service:name", AnyKind,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"username":"a"}}}]}`},
		{"number", `"ten" is not a number`, AnyKind,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"ten"}}}]}`},
		{"date", `"yesterday" is not a date`, AnyKind,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"yesterday"}}}]}`},
		{"ip", `"10.0.0.300/8" is not an IP address`, AnyKind,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.300/8"}}}]}`},
		{"bool", `"yes" is not true or false`, AnyKind,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}]}`},
		{"binary", `is not base64`, AnyKind,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"BinaryEquals":{"s3:x":"!!"}}}]}`},
		{"condition value object", "values must be strings or booleans", AnyKind,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":{"a":1}}}}]}`},
		{"condition number", `write the number 10 as a string, "10"`, AnyKind,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":10}}}]}`},
		{"operator case", "unknown condition operator stringEquals (operator names are case-sensitive: StringEquals)", AnyKind,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"stringEquals":{"aws:username":"a"}}}]}`},
		{"qualifier case", `unknown condition set qualifier "forAnyValue"`, AnyKind,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"forAnyValue:StringEquals":{"aws:TagKeys":"a"}}}]}`},
		{"null without value", "Null takes one value", AnyKind,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"aws:username":[]}}}]}`},
		{"condition not object", "Condition must be an object", AnyKind,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":"x"}]}`},
		{"bad variable default", "default value must be in single quotes", AnyKind,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${aws:username, none}"}]}`},
		{"too long for identity", "the limit is 6144", Identity, big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseKind(tt.kind, tt.doc)
			if err == nil {
				t.Fatalf("ParseKind(%v) = %+v, want error %q", tt.kind, p, tt.reason)
			}
			if !errs.Is(err, errs.Invalid) || errs.CodeOf(err) != "MalformedPolicyDocument" {
				t.Errorf("error kind/code = %v/%q, want Invalid/MalformedPolicyDocument", errs.KindOf(err), errs.CodeOf(err))
			}
			if msg := errs.Message(err); !strings.Contains(msg, tt.reason) {
				t.Errorf("message %q does not contain %q", msg, tt.reason)
			}
		})
	}
	// The same oversized document is fine where the limit is larger.
	if _, err := ParseResource(strings.Replace(big, `"Effect"`, `"Principal":"*","Effect"`, 1)); err != nil {
		t.Errorf("ParseResource(9k document) = %v, want it accepted under the 20480 limit", err)
	}
}

// roundTrip checks that a parsed policy marshals to a document that parses to the same policy.
func roundTrip(t *testing.T, p *Policy) {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	q, err := parse(p.kind, string(b), 1<<30)
	if err != nil {
		t.Fatalf("re-parse of %s: %v", b, err)
	}
	opts := cmp.Options{cmpopts.IgnoreUnexported(Policy{}, Statement{})}
	if diff := cmp.Diff(p.Statements, q.Statements, opts); diff != "" || p.Version != q.Version || p.ID != q.ID {
		t.Fatalf("round trip through %s changed the policy (-first +second):\n%s", b, diff)
	}
	b2, _ := json.Marshal(q)
	if string(b) != string(b2) {
		t.Fatalf("marshal is not canonical:\n%s\n%s", b, b2)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, doc := range seedPolicies {
		p, err := Parse(doc)
		if err != nil {
			t.Fatalf("Parse(%s): %v", doc, err)
		}
		roundTrip(t, p)
	}
}

var seedPolicies = []string{
	`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`,
	`{"Version":"2008-10-17","Id":"x","Statement":[{"Sid":"1","Effect":"Deny","NotAction":"iam:*","NotResource":"arn:aws:iam::*:role/${aws:username}"}]}`,
	`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:root"],"Service":"a.amazonaws.com"},"Action":"*","Resource":"*","Condition":{"ForAnyValue:StringLike":{"aws:TagKeys":["a*","b?"]},"NumericLessThanEquals":{"s3:max-keys":"5"},"Bool":{"aws:SecureTransport":false}}}]}`,
	`{"Statement":[{"Effect":"Deny","NotPrincipal":"*","Action":"*","Resource":"*","Condition":{"Null":{"aws:PrincipalTag/x":"true"},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","::1"]},"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}}]}`,
}

func FuzzParse(f *testing.F) {
	for _, s := range seedPolicies {
		f.Add(s)
	}
	f.Add(`{"Statement":[]}`)
	f.Add(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::${aws:username}/${*}${?}${$}${x:y, 'd'}"}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		for _, k := range []Kind{AnyKind, Identity, Resource, Trust, SCP} {
			p, err := ParseKind(k, doc)
			if err != nil {
				if !errs.Is(err, errs.Invalid) || errs.CodeOf(err) != "MalformedPolicyDocument" {
					t.Fatalf("ParseKind(%v): error %v is not Invalid/MalformedPolicyDocument", k, err)
				}
				continue
			}
			roundTrip(t, p)
			// Evaluating any parsed policy must not panic.
			req := Request{Principal: Principal{ARN: "arn:aws:iam::111122223333:user/u", Account: "111122223333"},
				Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}.WithGlobalKeys(fixedNow, "us-east-1", true)
			switch k {
			case Resource, Trust:
				Evaluate(req, PolicySet{Resource: p})
			case SCP:
				Evaluate(req, PolicySet{SCPs: [][]*Policy{{p}}})
			default:
				Evaluate(req, PolicySet{Identity: []*Policy{p}})
			}
		}
	})
}
