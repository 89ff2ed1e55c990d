package iam

import (
	"fmt"
	"strings"
	"testing"
)

// benchPolicies is the benchmark's policy set: a 10-statement identity policy (the allowing
// statement last, with a condition), a resource policy granting the caller's account, and a
// two-level SCP set (FullAWSAccess at the root, a region guard on the account).
func benchPolicies(tb testing.TB) (Request, PolicySet) {
	var stmts []string
	for i := 0; i < 9; i++ {
		stmts = append(stmts, fmt.Sprintf(`{"Sid":"S%d","Effect":"Allow","Action":["ec2:Describe*","s3:List%d*"],"Resource":"arn:aws:s3:::bucket-%d/*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"team-%d"}}}`, i, i, i, i))
	}
	stmts = append(stmts, `{"Sid":"Registry","Effect":"Allow","Action":["sagemaker:Describe*","sagemaker:List*","sagemaker:CreateModelPackage"],"Resource":"arn:aws:sagemaker:*:*:model-package/${aws:PrincipalTag/team}-*","Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]},"Bool":{"aws:SecureTransport":"true"}}}`)
	identity := mustParse(tb, Identity, `{"Version":"2012-10-17","Statement":[`+strings.Join(stmts, ",")+`]}`).WithName("DataScientist")
	resource := mustParse(tb, Resource, `{"Version":"2012-10-17","Statement":[
		{"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"sagemaker:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}},
		{"Sid":"Account","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["sagemaker:DescribeModelPackage","sagemaker:ListModelPackages"],"Resource":"*"}]}`)
	full := mustParse(tb, SCP, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	regions := mustParse(tb, SCP, `{"Version":"2012-10-17","Statement":[
		{"Sid":"Regions","Effect":"Deny","NotAction":["iam:*","sts:*","organizations:*"],"Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}},
		{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	req := Request{
		Principal: Principal{ARN: "arn:aws:sts::111122223333:assumed-role/DataScientist/alice", PrincipalARN: "arn:aws:iam::111122223333:role/DataScientist",
			Account: "111122223333", UserID: "AROAEXAMPLE:alice", Tags: map[string]string{"team": "churn"}, OrgID: "o-abc"},
		Action:   "sagemaker:DescribeModelPackage",
		Resource: "arn:aws:sagemaker:us-east-1:111122223333:model-package/churn-model/3",
	}.WithGlobalKeys(fixedNow, "us-east-1", true)
	return req, PolicySet{Identity: []*Policy{identity}, Resource: resource, SCPs: [][]*Policy{{full}, {regions}}}
}

func BenchmarkEvaluate(b *testing.B) {
	req, ps := benchPolicies(b)
	if d := Evaluate(req, ps); !d.Allowed || d.Sid != "Registry" {
		b.Fatalf("benchmark request is not allowed by the Registry statement: %+v", d)
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(req, ps)
	}
}

// BenchmarkEvaluateDeny measures the common "nothing allows" path, which scans every statement.
func BenchmarkEvaluateDeny(b *testing.B) {
	req, ps := benchPolicies(b)
	req.Action = "sagemaker:DeleteModelPackage"
	if d := Evaluate(req, ps); d.Allowed {
		b.Fatalf("want a deny, got %+v", d)
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(req, ps)
	}
}

func BenchmarkWithGlobalKeys(b *testing.B) {
	req, _ := benchPolicies(b)
	b.ReportAllocs()
	for b.Loop() {
		req.WithGlobalKeys(fixedNow, "us-east-1", true)
	}
}

func BenchmarkParse(b *testing.B) {
	doc := seedPolicies[2]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluateFloor is the same-run reference for BenchmarkEvaluate: one "Allow * on *"
// statement and nothing else, i.e. the fixed cost of a decision. Report BenchmarkEvaluate as a
// ratio to it; absolute figures on a shared machine drift with load.
func BenchmarkEvaluateFloor(b *testing.B) {
	req, _ := benchPolicies(b)
	ps := PolicySet{Identity: []*Policy{mustParse(b, Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(req, ps)
	}
}
