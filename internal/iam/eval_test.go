package iam

import (
	"strings"
	"testing"
	"time"
)

var fixedNow = time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)

const (
	acctA = "111122223333" // the caller's account
	acctB = "444455556666" // another account
)

var (
	alice    = Principal{ARN: "arn:aws:iam::" + acctA + ":user/alice", Account: acctA, UserID: "AIDAALICE", Tags: map[string]string{"team": "ml"}, OrgID: "o-good"}
	session  = Principal{ARN: "arn:aws:sts::" + acctA + ":assumed-role/Deployer/s1", PrincipalARN: "arn:aws:iam::" + acctA + ":role/Deployer", Account: acctA, UserID: "AROADEPLOYER:s1"}
	rootA    = Principal{ARN: "arn:aws:iam::" + acctA + ":root", Account: acctA, UserID: acctA}
	bob      = Principal{ARN: "arn:aws:iam::" + acctB + ":user/bob", Account: acctB, OrgID: "o-other"}
	sagemakr = Principal{Service: "sagemaker.amazonaws.com"}
	anon     = Principal{}
)

func mustParse(t testing.TB, kind Kind, doc string) *Policy {
	t.Helper()
	p, err := ParseKind(kind, doc)
	if err != nil {
		t.Fatalf("ParseKind(%v, %s): %v", kind, doc, err)
	}
	return p
}

// stmt builds a one-statement policy document.
func stmt(effect string, extra string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"` + effect + `",` + extra + `}]}`
}

func TestEvaluate(t *testing.T) {
	id := func(doc string) *Policy { return mustParse(t, Identity, doc) }
	rp := func(doc string) *Policy { return mustParse(t, Resource, doc) }
	scp := func(doc string) *Policy { return mustParse(t, SCP, doc) }
	tp := func(doc string) *Policy { return mustParse(t, Trust, doc) }

	const bucket = "arn:aws:s3:::shared/data.csv"
	allowS3 := id(stmt("Allow", `"Action":"s3:*","Resource":"*"`)).WithName("S3Full")
	allowGet := id(stmt("Allow", `"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"`))
	denyS3 := id(stmt("Deny", `"Sid":"NoS3","Action":"s3:*","Resource":"*"`)).WithName("NoS3")
	fullAccess := scp(stmt("Allow", `"Action":"*","Resource":"*"`)).WithName("FullAWSAccess")
	onlySageMaker := scp(stmt("Allow", `"Action":"sagemaker:*","Resource":"*"`)).WithName("OnlySageMaker")
	resAllow := func(principal string) *Policy {
		return rp(stmt("Allow", `"Sid":"Grant","Principal":{"AWS":"`+principal+`"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"`))
	}

	type tc struct {
		name      string
		p         Principal
		action    string
		resource  string
		resAcct   string
		ctx       map[string][]string
		ps        PolicySet
		want      Outcome
		reasonHas string
	}
	tests := []tc{
		{name: "nothing applies: implicit deny", p: alice, action: "s3:GetObject", resource: bucket, want: ImplicitDeny, reasonHas: "no identity policy statement allows"},
		{name: "identity allow", p: alice, action: "s3:GetObject", resource: bucket, ps: PolicySet{Identity: []*Policy{allowS3}}, want: Allowed, reasonHas: `identity policy "S3Full" Statement[0]`},
		{name: "action is case-insensitive", p: alice, action: "S3:getobject", resource: bucket, ps: PolicySet{Identity: []*Policy{allowGet}}, want: Allowed},
		{name: "resource is case-sensitive", p: alice, action: "s3:GetObject", resource: "arn:aws:s3:::Shared/data.csv", ps: PolicySet{Identity: []*Policy{allowGet}}, want: ImplicitDeny},
		{name: "explicit deny beats allow", p: alice, action: "s3:GetObject", resource: bucket, ps: PolicySet{Identity: []*Policy{allowS3, denyS3}}, want: ExplicitDeny, reasonHas: `explicit deny in identity policy "NoS3" Statement[0] (Sid "NoS3")`},
		{name: "resource policy deny beats identity allow", p: alice, action: "s3:GetObject", resource: bucket,
			ps:   PolicySet{Identity: []*Policy{allowS3}, Resource: rp(stmt("Deny", `"Principal":"*","Action":"s3:*","Resource":"*"`))},
			want: ExplicitDeny, reasonHas: "resource policy"},
		// NotAction / NotResource (docs: "deny everything except IAM", "allow all but one bucket").
		{name: "NotAction allow covers other services", p: alice, action: "sagemaker:ListModels", resource: "*", ps: PolicySet{Identity: []*Policy{id(stmt("Allow", `"NotAction":"iam:*","Resource":"*"`))}}, want: Allowed},
		{name: "NotAction allow excludes iam", p: alice, action: "iam:CreateUser", resource: "*", ps: PolicySet{Identity: []*Policy{id(stmt("Allow", `"NotAction":"iam:*","Resource":"*"`))}}, want: ImplicitDeny},
		{name: "NotResource deny spares the listed bucket", p: alice, action: "s3:GetObject", resource: bucket,
			ps: PolicySet{Identity: []*Policy{allowS3, id(stmt("Deny", `"Action":"s3:*","NotResource":["arn:aws:s3:::shared","arn:aws:s3:::shared/*"]`))}}, want: Allowed},
		{name: "NotResource deny hits other buckets", p: alice, action: "s3:GetObject", resource: "arn:aws:s3:::private/x",
			ps: PolicySet{Identity: []*Policy{allowS3, id(stmt("Deny", `"Action":"s3:*","NotResource":["arn:aws:s3:::shared","arn:aws:s3:::shared/*"]`))}}, want: ExplicitDeny},

		// Same account resource policies.
		{name: "same account: resource policy naming the user allows alone", p: alice, action: "s3:GetObject", resource: bucket, ps: PolicySet{Resource: resAllow(alice.ARN)}, want: Allowed, reasonHas: `resource policy Statement[0] (Sid "Grant")`},
		{name: "same account: resource policy naming the account needs identity", p: alice, action: "s3:GetObject", resource: bucket, ps: PolicySet{Resource: resAllow(acctA)}, want: ImplicitDeny, reasonHas: "names only the account"},
		{name: "same account: account root grant plus identity", p: alice, action: "s3:GetObject", resource: bucket, ps: PolicySet{Resource: resAllow("arn:aws:iam::" + acctA + ":root"), Identity: []*Policy{allowGet}}, want: Allowed},
		{name: "same account: resource policy naming someone else", p: alice, action: "s3:GetObject", resource: bucket, ps: PolicySet{Resource: resAllow("arn:aws:iam::" + acctA + ":user/carol")}, want: ImplicitDeny},
		{name: "same account: role ARN grant covers its sessions", p: session, action: "s3:GetObject", resource: bucket, ps: PolicySet{Resource: resAllow(session.PrincipalARN)}, want: Allowed},
		{name: "same account: session ARN grant", p: session, action: "s3:GetObject", resource: bucket, ps: PolicySet{Resource: resAllow(session.ARN)}, want: Allowed},
		{name: "session ARN grant does not cover other sessions", p: Principal{ARN: "arn:aws:sts::" + acctA + ":assumed-role/Deployer/s2", PrincipalARN: session.PrincipalARN, Account: acctA},
			action: "s3:GetObject", resource: bucket, ps: PolicySet{Resource: resAllow(session.ARN)}, want: ImplicitDeny},

		// Cross account.
		{name: "cross account: identity alone is not enough", p: alice, action: "s3:GetObject", resource: bucket, resAcct: acctB, ps: PolicySet{Identity: []*Policy{allowS3}}, want: ImplicitDeny, reasonHas: "cross-account request: no statement in the resource policy of account 444455556666"},
		{name: "cross account: resource policy alone is not enough", p: alice, action: "s3:GetObject", resource: bucket, resAcct: acctB, ps: PolicySet{Resource: resAllow(alice.ARN)}, want: ImplicitDeny, reasonHas: "the resource policy allows, but no identity policy"},
		{name: "cross account: both allow", p: alice, action: "s3:GetObject", resource: bucket, resAcct: acctB, ps: PolicySet{Resource: resAllow(alice.ARN), Identity: []*Policy{allowGet}}, want: Allowed, reasonHas: "and by resource policy"},
		{name: "cross account: account grant plus identity", p: alice, action: "s3:GetObject", resource: bucket, resAcct: acctB, ps: PolicySet{Resource: resAllow(acctA), Identity: []*Policy{allowGet}}, want: Allowed},
		{name: "cross account: grant to another account", p: alice, action: "s3:GetObject", resource: bucket, resAcct: acctB, ps: PolicySet{Resource: resAllow(acctB), Identity: []*Policy{allowGet}}, want: ImplicitDeny},
		{name: "cross account: identity deny wins", p: alice, action: "s3:GetObject", resource: bucket, resAcct: acctB, ps: PolicySet{Resource: resAllow(alice.ARN), Identity: []*Policy{allowGet, denyS3}}, want: ExplicitDeny},
		{name: "cross account: boundary limits", p: alice, action: "s3:GetObject", resource: bucket, resAcct: acctB,
			ps: PolicySet{Resource: resAllow(alice.ARN), Identity: []*Policy{allowGet}, PermissionsBoundary: id(stmt("Allow", `"Action":"sagemaker:*","Resource":"*"`))}, want: ImplicitDeny, reasonHas: "permissions boundary does not allow"},
		{name: "cross account root: resource policy decides", p: rootA, action: "s3:GetObject", resource: bucket, resAcct: acctB, ps: PolicySet{Resource: resAllow(acctA)}, want: Allowed},

		// NotPrincipal (docs: Deny with NotPrincipal must list the account too).
		{name: "NotPrincipal listing user and account exempts the user", p: alice, action: "s3:GetObject", resource: bucket,
			ps: PolicySet{Identity: []*Policy{allowGet}, Resource: rp(stmt("Deny", `"NotPrincipal":{"AWS":["`+alice.ARN+`","`+acctA+`"]},"Action":"s3:*","Resource":"*"`))}, want: Allowed},
		{name: "NotPrincipal listing only the user denies through the account", p: alice, action: "s3:GetObject", resource: bucket,
			ps: PolicySet{Identity: []*Policy{allowGet}, Resource: rp(stmt("Deny", `"NotPrincipal":{"AWS":"`+alice.ARN+`"},"Action":"s3:*","Resource":"*"`))}, want: ExplicitDeny},
		{name: "NotPrincipal denies everyone else", p: bob, action: "s3:GetObject", resource: bucket, resAcct: acctA,
			ps: PolicySet{Identity: []*Policy{allowGet}, Resource: rp(stmt("Deny", `"NotPrincipal":{"AWS":["`+alice.ARN+`","`+acctA+`"]},"Action":"s3:*","Resource":"*"`))}, want: ExplicitDeny},
		{name: "NotPrincipal session needs session, role and account", p: session, action: "s3:GetObject", resource: bucket,
			ps: PolicySet{Identity: []*Policy{allowGet}, Resource: rp(stmt("Deny", `"NotPrincipal":{"AWS":["`+session.ARN+`","`+session.PrincipalARN+`","`+acctA+`"]},"Action":"s3:*","Resource":"*"`))}, want: Allowed},
		{name: "NotPrincipal session without role listed", p: session, action: "s3:GetObject", resource: bucket,
			ps: PolicySet{Identity: []*Policy{allowGet}, Resource: rp(stmt("Deny", `"NotPrincipal":{"AWS":["`+session.ARN+`","`+acctA+`"]},"Action":"s3:*","Resource":"*"`))}, want: ExplicitDeny},
		{name: "NotPrincipal always denies a principal with a boundary", p: alice, action: "s3:GetObject", resource: bucket,
			ps: PolicySet{Identity: []*Policy{allowGet}, PermissionsBoundary: allowS3, Resource: rp(stmt("Deny", `"NotPrincipal":{"AWS":["`+alice.ARN+`","`+acctA+`"]},"Action":"s3:*","Resource":"*"`))}, want: ExplicitDeny},

		// SCPs.
		{name: "SCP deny statement", p: alice, action: "s3:GetObject", resource: bucket, ps: PolicySet{Identity: []*Policy{allowS3}, SCPs: [][]*Policy{{fullAccess, scp(stmt("Deny", `"Action":"s3:*","Resource":"*"`))}}}, want: ExplicitDeny, reasonHas: "SCP level 0"},
		{name: "SCP allow-list without the action", p: alice, action: "s3:GetObject", resource: bucket, ps: PolicySet{Identity: []*Policy{allowS3}, SCPs: [][]*Policy{{fullAccess}, {onlySageMaker}}}, want: ImplicitDeny, reasonHas: "no service control policy at level 1"},
		{name: "SCP allow-list with the action", p: alice, action: "sagemaker:ListModels", resource: "*", ps: PolicySet{Identity: []*Policy{id(stmt("Allow", `"Action":"*","Resource":"*"`))}, SCPs: [][]*Policy{{fullAccess}, {onlySageMaker}}}, want: Allowed},
		{name: "SCP never grants", p: alice, action: "sagemaker:ListModels", resource: "*", ps: PolicySet{SCPs: [][]*Policy{{fullAccess}}}, want: ImplicitDeny},
		{name: "SCP empty level denies", p: alice, action: "s3:GetObject", resource: bucket, ps: PolicySet{Identity: []*Policy{allowS3}, SCPs: [][]*Policy{{fullAccess}, {}}}, want: ImplicitDeny},
		{name: "SCP bounds same-account resource grants", p: alice, action: "s3:GetObject", resource: bucket, ps: PolicySet{Resource: resAllow(alice.ARN), SCPs: [][]*Policy{{onlySageMaker}}}, want: ImplicitDeny},
		{name: "management account: nil SCPs exempt", p: alice, action: "s3:GetObject", resource: bucket, ps: PolicySet{Identity: []*Policy{allowS3}, SCPs: nil}, want: Allowed},
		{name: "root user is bounded by SCPs", p: rootA, action: "s3:GetObject", resource: bucket, ps: PolicySet{SCPs: [][]*Policy{{onlySageMaker}}}, want: ImplicitDeny},
		{name: "root user needs no identity policy", p: rootA, action: "s3:GetObject", resource: bucket, want: Allowed, reasonHas: "root user"},

		// Permissions boundaries and session policies.
		{name: "boundary intersects identity: allowed by both", p: alice, action: "s3:GetObject", resource: bucket, ps: PolicySet{Identity: []*Policy{allowS3}, PermissionsBoundary: allowGet}, want: Allowed},
		{name: "boundary intersects identity: outside the boundary", p: alice, action: "s3:PutObject", resource: bucket, ps: PolicySet{Identity: []*Policy{allowS3}, PermissionsBoundary: allowGet}, want: ImplicitDeny, reasonHas: "permissions boundary does not allow"},
		{name: "boundary alone grants nothing", p: alice, action: "s3:GetObject", resource: bucket, ps: PolicySet{PermissionsBoundary: allowS3}, want: ImplicitDeny},
		{name: "boundary deny is explicit", p: alice, action: "s3:GetObject", resource: bucket, ps: PolicySet{Identity: []*Policy{allowS3}, PermissionsBoundary: denyS3}, want: ExplicitDeny, reasonHas: "permissions boundary"},
		{name: "boundary does not limit a resource grant to the user", p: alice, action: "s3:GetObject", resource: bucket, ps: PolicySet{Resource: resAllow(alice.ARN), PermissionsBoundary: id(stmt("Allow", `"Action":"sagemaker:*","Resource":"*"`))}, want: Allowed},
		{name: "boundary limits a resource grant to the role", p: session, action: "s3:GetObject", resource: bucket, ps: PolicySet{Resource: resAllow(session.PrincipalARN), PermissionsBoundary: id(stmt("Allow", `"Action":"sagemaker:*","Resource":"*"`))}, want: ImplicitDeny, reasonHas: "allows the role, but the permissions boundary"},
		{name: "boundary allowing the action lets the role grant through", p: session, action: "s3:GetObject", resource: bucket, ps: PolicySet{Resource: resAllow(session.PrincipalARN), PermissionsBoundary: allowS3}, want: Allowed},
		{name: "boundary does not limit a grant to the session ARN", p: session, action: "s3:GetObject", resource: bucket, ps: PolicySet{Resource: resAllow(session.ARN), PermissionsBoundary: id(stmt("Allow", `"Action":"sagemaker:*","Resource":"*"`))}, want: Allowed},
		{name: "session policy limits identity", p: session, action: "s3:PutObject", resource: bucket, ps: PolicySet{Identity: []*Policy{allowS3}, Session: []*Policy{allowGet}}, want: ImplicitDeny, reasonHas: "no session policy allows"},
		{name: "session policy within identity", p: session, action: "s3:GetObject", resource: bucket, ps: PolicySet{Identity: []*Policy{allowS3}, Session: []*Policy{allowGet}}, want: Allowed},
		{name: "session policy limits a role grant", p: session, action: "s3:GetObject", resource: bucket, ps: PolicySet{Resource: resAllow(session.PrincipalARN), Session: []*Policy{id(stmt("Allow", `"Action":"sagemaker:*","Resource":"*"`))}}, want: ImplicitDeny},

		// Callers without identity.
		{name: "service principal allowed by resource policy", p: sagemakr, action: "s3:GetObject", resource: bucket, resAcct: acctA,
			ps: PolicySet{Resource: rp(stmt("Allow", `"Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"s3:GetObject","Resource":"*"`))}, want: Allowed},
		{name: "service principal ignores identity policies", p: sagemakr, action: "s3:GetObject", resource: bucket, resAcct: acctA, ps: PolicySet{Identity: []*Policy{allowS3}}, want: ImplicitDeny},
		{name: "service principal with aws:SourceAccount condition", p: sagemakr, action: "s3:GetObject", resource: bucket, resAcct: acctA, ctx: map[string][]string{"aws:SourceAccount": {acctB}},
			ps: PolicySet{Resource: rp(stmt("Allow", `"Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:SourceAccount":"`+acctA+`"}}`))}, want: ImplicitDeny},
		{name: "anonymous allowed by Principal *", p: anon, action: "s3:GetObject", resource: bucket, resAcct: acctA,
			ps: PolicySet{Resource: rp(stmt("Allow", `"Principal":"*","Action":"s3:GetObject","Resource":"*"`))}, want: Allowed},
		{name: "anonymous not matched by an account", p: anon, action: "s3:GetObject", resource: bucket, resAcct: acctA, ps: PolicySet{Resource: resAllow(acctA)}, want: ImplicitDeny, reasonHas: "anonymous"},

		// Trust policies: sts:AssumeRole is a resource-policy evaluation on the role.
		{name: "trust: cross-account account grant plus identity", p: alice, action: "sts:AssumeRole", resource: "arn:aws:iam::" + acctB + ":role/Reader", resAcct: acctB,
			ps: PolicySet{Resource: tp(stmt("Allow", `"Principal":{"AWS":"arn:aws:iam::`+acctA+`:root"},"Action":"sts:AssumeRole"`)), Identity: []*Policy{id(stmt("Allow", `"Action":"sts:AssumeRole","Resource":"arn:aws:iam::`+acctB+`:role/Reader"`))}}, want: Allowed},
		{name: "trust: cross-account without identity", p: alice, action: "sts:AssumeRole", resource: "arn:aws:iam::" + acctB + ":role/Reader", resAcct: acctB,
			ps: PolicySet{Resource: tp(stmt("Allow", `"Principal":{"AWS":"arn:aws:iam::`+acctA+`:root"},"Action":"sts:AssumeRole"`))}, want: ImplicitDeny},
		{name: "trust: same account naming the user", p: alice, action: "sts:AssumeRole", resource: "arn:aws:iam::" + acctA + ":role/Deployer",
			ps: PolicySet{Resource: tp(stmt("Allow", `"Principal":{"AWS":"`+alice.ARN+`"},"Action":"sts:AssumeRole"`))}, want: Allowed},
		{name: "trust: ExternalId condition", p: alice, action: "sts:AssumeRole", resource: "arn:aws:iam::" + acctA + ":role/Deployer", ctx: map[string][]string{"sts:ExternalId": {"wrong"}},
			ps: PolicySet{Resource: tp(stmt("Allow", `"Principal":{"AWS":"`+alice.ARN+`"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"secret"}}`))}, want: ImplicitDeny},
		{name: "trust required: same account, identity allows, trust names someone else", p: alice, action: "sts:AssumeRole", resource: "arn:aws:iam::" + acctA + ":role/Deployer",
			ps: PolicySet{ResourceRequired: true, Resource: tp(stmt("Allow", `"Principal":{"AWS":"arn:aws:iam::`+acctA+`:user/bob"},"Action":"sts:AssumeRole"`)),
				Identity: []*Policy{id(stmt("Allow", `"Action":"*","Resource":"*"`))}}, want: ImplicitDeny, reasonHas: "allows"},
		{name: "trust required: same account, account grant plus identity", p: alice, action: "sts:AssumeRole", resource: "arn:aws:iam::" + acctA + ":role/Deployer",
			ps: PolicySet{ResourceRequired: true, Resource: tp(stmt("Allow", `"Principal":{"AWS":"arn:aws:iam::`+acctA+`:root"},"Action":"sts:AssumeRole"`)),
				Identity: []*Policy{id(stmt("Allow", `"Action":"sts:AssumeRole","Resource":"*"`))}}, want: Allowed},
		{name: "trust required: same account, account grant without identity", p: alice, action: "sts:AssumeRole", resource: "arn:aws:iam::" + acctA + ":role/Deployer",
			ps: PolicySet{ResourceRequired: true, Resource: tp(stmt("Allow", `"Principal":{"AWS":"arn:aws:iam::`+acctA+`:root"},"Action":"sts:AssumeRole"`))}, want: ImplicitDeny},
		{name: "trust: web identity", p: Principal{Federated: "cognito-identity.amazonaws.com"}, action: "sts:AssumeRoleWithWebIdentity", resource: "arn:aws:iam::" + acctA + ":role/App", resAcct: acctA,
			ps: PolicySet{Resource: tp(stmt("Allow", `"Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity"`))}, want: Allowed},

		// Global keys in conditions.
		{name: "aws:PrincipalOrgID grant to the organization", p: bob, action: "s3:GetObject", resource: bucket, resAcct: acctA,
			ps: PolicySet{Identity: []*Policy{allowS3}, Resource: rp(stmt("Allow", `"Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-good"}}`))}, want: ImplicitDeny},
		{name: "aws:PrincipalOrgID member", p: Principal{ARN: "arn:aws:iam::" + acctB + ":user/eve", Account: acctB, OrgID: "o-good"}, action: "s3:GetObject", resource: bucket, resAcct: acctA,
			ps: PolicySet{Identity: []*Policy{allowS3}, Resource: rp(stmt("Allow", `"Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-good"}}`))}, want: Allowed},
		{name: "caller cannot spoof aws:PrincipalArn", p: bob, action: "s3:GetObject", resource: bucket, resAcct: acctA, ctx: map[string][]string{"AWS:PrincipalArn": {alice.ARN}, "aws:PrincipalTag/team": {"ml"}},
			ps: PolicySet{Identity: []*Policy{allowS3}, Resource: rp(stmt("Allow", `"Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"ArnEquals":{"aws:PrincipalArn":"`+alice.ARN+`"}}`))}, want: ImplicitDeny},
		{name: "ABAC: resource tag equals principal tag", p: alice, action: "sagemaker:DescribeModelPackage", resource: "arn:aws:sagemaker:us-east-1:" + acctA + ":model-package/churn/1", ctx: map[string][]string{"sagemaker:ResourceTag/team": {"ml"}},
			ps: PolicySet{Identity: []*Policy{id(stmt("Allow", `"Action":"sagemaker:*","Resource":"*","Condition":{"StringEquals":{"sagemaker:ResourceTag/team":"${aws:PrincipalTag/team}"}}`))}}, want: Allowed},
		{name: "ABAC: tag mismatch", p: alice, action: "sagemaker:DescribeModelPackage", resource: "arn:aws:sagemaker:us-east-1:" + acctA + ":model-package/churn/1", ctx: map[string][]string{"sagemaker:ResourceTag/team": {"finance"}},
			ps: PolicySet{Identity: []*Policy{id(stmt("Allow", `"Action":"sagemaker:*","Resource":"*","Condition":{"StringEquals":{"sagemaker:ResourceTag/team":"${aws:PrincipalTag/team}"}}`))}}, want: ImplicitDeny},
		{name: "ABAC: principal without the tag", p: session, action: "sagemaker:DescribeModelPackage", resource: "arn:aws:sagemaker:us-east-1:" + acctA + ":model-package/churn/1", ctx: map[string][]string{"sagemaker:ResourceTag/team": {""}},
			ps: PolicySet{Identity: []*Policy{id(stmt("Allow", `"Action":"sagemaker:*","Resource":"*","Condition":{"StringEquals":{"sagemaker:ResourceTag/team":"${aws:PrincipalTag/team}"}}`))}}, want: ImplicitDeny},
		{name: "deny unless TLS", p: alice, action: "s3:GetObject", resource: bucket,
			ps: PolicySet{Identity: []*Policy{allowS3, id(stmt("Deny", `"Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}`))}}, want: ExplicitDeny},
		{name: "deny outside allowed regions", p: alice, action: "sagemaker:CreateModel", resource: "*",
			ps: PolicySet{Identity: []*Policy{id(stmt("Allow", `"Action":"*","Resource":"*"`))}, SCPs: [][]*Policy{{fullAccess, scp(stmt("Deny", `"NotAction":["iam:*","sts:*"],"Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1"]}}`))}}}, want: ExplicitDeny},
		{name: "aws:username in resource", p: alice, action: "s3:GetObject", resource: "arn:aws:s3:::home/alice/notes.txt",
			ps: PolicySet{Identity: []*Policy{id(stmt("Allow", `"Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"`))}}, want: Allowed},
		{name: "aws:username in resource, other user's folder", p: alice, action: "s3:GetObject", resource: "arn:aws:s3:::home/bob/notes.txt",
			ps: PolicySet{Identity: []*Policy{id(stmt("Allow", `"Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"`))}}, want: ImplicitDeny},
		{name: "aws:username is missing for sessions", p: session, action: "s3:GetObject", resource: "arn:aws:s3:::home//notes.txt",
			ps: PolicySet{Identity: []*Policy{id(stmt("Allow", `"Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"`))}}, want: ImplicitDeny},
		{name: "variable default value", p: session, action: "s3:GetObject", resource: "arn:aws:s3:::home/nobody/notes.txt",
			ps: PolicySet{Identity: []*Policy{id(stmt("Allow", `"Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username, 'nobody'}/*"`))}}, want: Allowed},
		{name: "2008 policy: variables are literal", p: alice, action: "s3:GetObject", resource: "arn:aws:s3:::home/alice/notes.txt",
			ps: PolicySet{Identity: []*Policy{id(`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}`)}}, want: ImplicitDeny},
		{name: "2008 policy: literal text matches itself", p: alice, action: "s3:GetObject", resource: "arn:aws:s3:::home/${aws:username}/x",
			ps: PolicySet{Identity: []*Policy{id(`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}`)}}, want: Allowed},
		{name: "${*} is a literal star", p: alice, action: "s3:GetObject", resource: "arn:aws:s3:::b/a*b",
			ps: PolicySet{Identity: []*Policy{id(stmt("Allow", `"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/a${*}b"`))}}, want: Allowed},
		{name: "${*} does not act as a wildcard", p: alice, action: "s3:GetObject", resource: "arn:aws:s3:::b/axxb",
			ps: PolicySet{Identity: []*Policy{id(stmt("Allow", `"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/a${*}b"`))}}, want: ImplicitDeny},
		{name: "substituted wildcard characters are literal", p: Principal{ARN: alice.ARN, Account: acctA, Tags: map[string]string{"prefix": "*"}}, action: "s3:GetObject", resource: "arn:aws:s3:::b/secret",
			ps: PolicySet{Identity: []*Policy{id(stmt("Allow", `"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:PrincipalTag/prefix}"`))}}, want: ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Principal: tt.p, Action: tt.action, Resource: tt.resource, ResourceAccount: tt.resAcct, Context: tt.ctx}.
				WithGlobalKeys(fixedNow, "us-east-1", !strings.Contains(tt.name, "TLS"))
			got := Evaluate(req, tt.ps)
			if got.Effect != tt.want || got.Allowed != (tt.want == Allowed) {
				t.Fatalf("Evaluate = %v (allowed=%v, %q), want %v", got.Effect, got.Allowed, got.Reason, tt.want)
			}
			if tt.reasonHas != "" && !strings.Contains(got.Reason, tt.reasonHas) {
				t.Errorf("Reason = %q, want it to mention %q", got.Reason, tt.reasonHas)
			}
		})
	}
}

func TestEvaluateRequiresGlobalKeys(t *testing.T) {
	p := mustParse(t, Identity, stmt("Allow", `"Action":"*","Resource":"*"`))
	got := Evaluate(Request{Principal: alice, Action: "s3:GetObject", Resource: "*"}, PolicySet{Identity: []*Policy{p}})
	if got.Allowed || !strings.Contains(got.Reason, "WithGlobalKeys") {
		t.Fatalf("Evaluate(unprepared) = %+v, want an implicit deny naming WithGlobalKeys", got)
	}
}

func TestDecisionLocatesStatement(t *testing.T) {
	p := mustParse(t, Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"},{"Sid":"Get","Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}`).WithName("arn:aws:iam::111122223333:policy/Reader")
	req := Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}.WithGlobalKeys(fixedNow, "", true)
	got := Evaluate(req, PolicySet{Identity: []*Policy{p}})
	want := Decision{Allowed: true, Effect: Allowed, Policy: "arn:aws:iam::111122223333:policy/Reader", Statement: 1, Sid: "Get",
		Reason: `allowed by identity policy "arn:aws:iam::111122223333:policy/Reader" Statement[1] (Sid "Get")`}
	if got != want {
		t.Errorf("Evaluate = %+v\nwant %+v", got, want)
	}
	if d := (Decision{}); d.Allowed || d.Effect != ImplicitDeny {
		t.Errorf("zero Decision = %+v, want a deny", d)
	}
}

func TestWithGlobalKeys(t *testing.T) {
	req := Request{Principal: alice, Action: "s3:GetObject", Resource: "*", Context: map[string][]string{"AWS:SourceIp": {"10.1.2.3"}, "aws:username": {"root"}}}.
		WithGlobalKeys(time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), "eu-west-1", true)
	want := map[string]string{
		"aws:sourceip": "10.1.2.3", "aws:username": "alice", "aws:userid": "AIDAALICE", "aws:principalaccount": acctA,
		"aws:principalarn": alice.ARN, "aws:principalorgid": "o-good", "aws:principaltag/team": "ml", "aws:principaltype": "User",
		"aws:currenttime": "2026-01-02T02:04:05Z", "aws:epochtime": "1767319445", "aws:securetransport": "true",
		"aws:requestedregion": "eu-west-1", "aws:resourceaccount": acctA, "aws:principalisawsservice": "false",
	}
	for k, v := range want {
		if got := req.Value(k); len(got) != 1 || got[0] != v {
			t.Errorf("Value(%q) = %q, want [%q]", k, got, v)
		}
	}
	s := Request{Principal: session}.WithGlobalKeys(fixedNow, "", false)
	if got := s.Value("aws:principalarn"); len(got) != 1 || got[0] != session.PrincipalARN {
		t.Errorf("session aws:PrincipalArn = %q, want the role ARN", got)
	}
	if got := s.Value("aws:username"); got != nil {
		t.Errorf("a session has aws:username %q; AWS sets it only for IAM users", got)
	}
	if got := s.Value("aws:principaltype"); len(got) != 1 || got[0] != "AssumedRole" {
		t.Errorf("session aws:PrincipalType = %q", got)
	}
}

// Policies parsed with AnyKind can hold anything; in the wrong slot they must never be broader
// than they read.
func TestAnyKindPoliciesFailSafe(t *testing.T) {
	withPrincipal := mustParse(t, AnyKind, stmt("Allow", `"Principal":{"AWS":"`+bob.ARN+`"},"Action":"*","Resource":"*"`))
	noPrincipalAllow := mustParse(t, AnyKind, stmt("Allow", `"Action":"*","Resource":"*"`))
	noPrincipalDeny := mustParse(t, AnyKind, stmt("Deny", `"Action":"*","Resource":"*"`))
	req := Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}.WithGlobalKeys(fixedNow, "", true)
	tests := []struct {
		name string
		ps   PolicySet
		want Outcome
	}{
		{"identity slot, principal names someone else", PolicySet{Identity: []*Policy{withPrincipal}}, ImplicitDeny},
		{"resource slot, allow without principal", PolicySet{Resource: noPrincipalAllow}, ImplicitDeny},
		{"resource slot, deny without principal", PolicySet{Resource: noPrincipalDeny, Identity: []*Policy{noPrincipalAllow}}, ExplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Evaluate(req, tt.ps); got.Effect != tt.want {
				t.Errorf("Evaluate = %v (%s), want %v", got.Effect, got.Reason, tt.want)
			}
		})
	}
}

// Policies are shared by every request; run with -race to check evaluation only reads them.
func TestConcurrentEvaluate(t *testing.T) {
	req, ps := benchPolicies(t)
	want := Evaluate(req, ps)
	done := make(chan Decision)
	for range 8 {
		go func() {
			var d Decision
			for range 200 {
				d = Evaluate(req, ps)
			}
			done <- d
		}()
	}
	for range 8 {
		if got := <-done; got != want {
			t.Errorf("concurrent Evaluate = %+v, want %+v", got, want)
		}
	}
}
