package identity_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
)

// fakeOrg is an organization whose SCPs are given per account (one level each).
type fakeOrg struct {
	scps map[string][]identity.NamedDocument
}

func (o fakeOrg) SCPLevels(_ context.Context, account string) ([][]identity.NamedDocument, error) {
	if l, ok := o.scps[account]; ok {
		return [][]identity.NamedDocument{l}, nil
	}
	return nil, nil
}
func (fakeOrg) OrgID(context.Context) (string, error) { return "o-test", nil }

const (
	fullAccess = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	trustA     = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}`
)

// bigDeny is one Deny statement of about n characters: the action plus padding actions.
func bigDeny(action string, n int) string {
	acts := []string{`"` + action + `"`}
	for i := 0; len(strings.Join(acts, ",")) < n-100; i++ {
		acts = append(acts, fmt.Sprintf(`"sagemaker:Padding%05d"`, i))
	}
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":[` + strings.Join(acts, ",") + `],"Resource":"*"}]}`
}

// session assumes role as the admin of acctA and returns the session's Caller.
func session(t *testing.T, s *identity.Service, roleARN string) identity.Caller {
	t.Helper()
	ctx := context.Background()
	sess, err := s.AssumeRole(ctx, admin(t, s, acctA), roleARN, "test-session", identity.AssumeOptions{})
	if err != nil {
		t.Fatalf("AssumeRole %s: %v", roleARN, err)
	}
	a, err := s.LookupAccessKey(ctx, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	return a.Caller
}

// Hole 1: a role inline Deny longer than a managed policy may be (but within the role's inline
// quota) is enforced, and a stored policy that no longer parses denies instead of being skipped.
func TestLargeInlineDenyAndUnparsablePoliciesDeny(t *testing.T) {
	ctx := context.Background()
	s, _, st := newServiceWith(t, noOrg{})
	a := admin(t, s, acctA)
	if _, err := s.CreateRole(ctx, a, identity.RoleSpec{Name: "big", TrustPolicy: trustA}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutInlinePolicy(ctx, a, identity.KindRole, "big", "admin", identity.AdminPolicy); err != nil {
		t.Fatal(err)
	}
	deny := bigDeny("sagemaker:CreateModelPackageGroup", 7600)
	if n := len(strings.Join(strings.Fields(deny), "")); n < 7500 || n > 10240-200 {
		t.Fatalf("the Deny is %d characters; want about 7,600", n)
	}
	if err := s.PutInlinePolicy(ctx, a, identity.KindRole, "big", "deny", deny); err != nil {
		t.Fatalf("PutRolePolicy of a 7,600-character Deny: %v", err)
	}
	sess := session(t, s, "arn:aws:iam::111111111111:role/big")
	group := identity.Action{Name: "sagemaker:CreateModelPackageGroup", Resource: "arn:aws:sagemaker:us-east-1:111111111111:model-package-group/g", ResourceAccount: acctA}
	if _, err := s.Authorize(ctx, sess, group); !errs.Is(err, errs.AccessDenied) || !strings.Contains(errs.Message(err), "explicit deny") {
		t.Errorf("CreateModelPackageGroup under the large Deny: err = %v, want an explicit deny", err)
	}
	// Write-time limits per kind: a managed policy is bounded at 6,144 characters.
	if _, err := s.CreateManagedPolicy(ctx, a, "too-big", "/", "", bigDeny("s3:GetObject", 7000)); errs.CodeOf(err) != "LimitExceeded" {
		t.Errorf("a 7,000-character managed policy: err = %v, want LimitExceeded", err)
	}
	longTrust := strings.Replace(trustA, `"sts:AssumeRole"`, `["sts:AssumeRole"`+strings.Repeat(`,"sts:TagSession"`, 130)+`]`, 1)
	if _, err := s.CreateRole(ctx, a, identity.RoleSpec{Name: "t", TrustPolicy: longTrust}); errs.CodeOf(err) != "LimitExceeded" {
		t.Errorf("a %d-character trust policy (limit 2,048): err = %v, want LimitExceeded", len(longTrust), err)
	}
	if _, err := s.AssumeRole(ctx, a, "arn:aws:iam::111111111111:role/big", "sess", identity.AssumeOptions{Policy: bigDeny("s3:GetObject", 3000)}); !errs.Is(err, errs.Invalid) || !strings.Contains(errs.Message(err), "session policy") {
		t.Errorf("a 3,000-character session policy (limit 2,048): err = %v, want Invalid naming the session policy", err)
	}
	// Fail closed: a document that no longer parses (here written behind the service's back)
	// denies, though another policy allows everything.
	other := identity.Action{Name: "sagemaker:ListModelPackages", Resource: "*", ResourceAccount: acctA}
	if _, err := s.Authorize(ctx, sess, other); err != nil {
		t.Fatalf("before the broken policy: %v", err)
	}
	for name, doc := range map[string]string{
		"not json":                      `{"Version":`,
		"an unknown condition operator": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"aws:username":"x"}}}]}`,
	} {
		if err := st.PutInlinePolicy(ctx, acctA, identity.KindRole, "big", identity.InlinePolicy{Name: "broken", Document: doc}); err != nil {
			t.Fatal(err)
		}
		var note identity.Note
		_, err := s.Authorize(identity.WithNote(ctx, &note), sess, other)
		if !errs.Is(err, errs.AccessDenied) || !strings.Contains(note.Reason, "fail closed") {
			t.Errorf("%s: err = %v, audit reason %q; want AccessDenied, failing closed", name, err, note.Reason)
		}
	}
}

// Hole 5: a caller who may not assume a role gets the same answer whether it exists or not,
// whatever duration or policy ARNs it asks for; DurationSeconds 899 is refused, 900 accepted.
func TestAssumeRoleIsNoExistenceOracle(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	a, b := admin(t, s, acctA), admin(t, s, acctB)
	if _, err := s.CreateRole(ctx, a, identity.RoleSpec{Name: "private", TrustPolicy: trustA}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateManagedPolicy(ctx, a, "exists", "/", "", fullAccess); err != nil {
		t.Fatal(err)
	}
	answer := func(role string, opt identity.AssumeOptions) string {
		_, err := s.AssumeRole(ctx, b, "arn:aws:iam::111111111111:role/"+role, "probe", opt)
		return fmt.Sprintf("%v|%s|%s", errs.KindOf(err), errs.CodeOf(err), strings.ReplaceAll(errs.Message(err), role, "ROLE"))
	}
	want := answer("missing", identity.AssumeOptions{})
	if !strings.HasPrefix(want, fmt.Sprint(errs.AccessDenied)) {
		t.Fatalf("missing role: %s, want AccessDenied", want)
	}
	for name, opt := range map[string]identity.AssumeOptions{
		"plain":                     {},
		"over MaxSessionDuration":   {Duration: 12 * time.Hour},
		"a missing policy ARN":      {PolicyARNs: []string{"arn:aws:iam::111111111111:policy/none"}},
		"an existing policy ARN":    {PolicyARNs: []string{"arn:aws:iam::111111111111:policy/exists"}},
		"an external id and policy": {ExternalID: "x", Policy: fullAccess},
	} {
		for _, role := range []string{"private", "missing"} {
			if got := answer(role, opt); got != want {
				t.Errorf("%s, role %s: answer %q, want %q", name, role, got, want)
			}
		}
	}
	roleA := "arn:aws:iam::111111111111:role/private"
	if _, err := s.AssumeRole(ctx, a, roleA, "short", identity.AssumeOptions{Duration: 899 * time.Second}); errs.CodeOf(err) != "ValidationError" {
		t.Errorf("DurationSeconds 899: err = %v, want ValidationError", err)
	}
	if _, err := s.AssumeRole(ctx, a, roleA, "short", identity.AssumeOptions{Duration: 900 * time.Second}); err != nil {
		t.Errorf("DurationSeconds 900: %v", err)
	}
	// Once allowed, the role's own limits are told.
	if _, err := s.AssumeRole(ctx, a, roleA, "long", identity.AssumeOptions{Duration: 2 * time.Hour}); errs.CodeOf(err) != "ValidationError" {
		t.Errorf("an allowed caller over MaxSessionDuration: err = %v, want ValidationError", err)
	}
	if _, err := s.AssumeRole(ctx, a, roleA, "pol", identity.AssumeOptions{PolicyARNs: []string{"arn:aws:iam::111111111111:policy/none"}}); errs.CodeOf(err) != "NoSuchEntity" {
		t.Errorf("an allowed caller naming a missing policy: err = %v, want NoSuchEntity", err)
	}
}

// Hole 6: IAM operations decide on the principal's real ARN, path included.
func TestIAMOperationsAuthorizeOnTheRealPath(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	a := admin(t, s, acctA)
	if _, err := s.CreateUser(ctx, a, "bob", "/protected/", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, a, "carol", "/", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, a, "op", "/", nil); err != nil {
		t.Fatal(err)
	}
	guard := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Deny","Action":"iam:*","Resource":"arn:aws:iam::111111111111:user/protected/*"}]}`
	if err := s.PutInlinePolicy(ctx, a, identity.KindUser, "op", "guard", guard); err != nil {
		t.Fatal(err)
	}
	op := identity.Call{Caller: caller(t, s, acctA, "op")}
	for name, call := range map[string]func() error{
		"CreateAccessKey": func() error { _, err := s.CreateAccessKey(ctx, op, "bob"); return err },
		"PutUserPolicy":   func() error { return s.PutInlinePolicy(ctx, op, identity.KindUser, "bob", "p", fullAccess) },
		"AttachUserPolicy": func() error {
			return s.Attach(ctx, op, identity.KindUser, "bob", "arn:aws:iam::aws:policy/AmazonSageMakerReadOnly")
		},
		"GetUser":    func() error { _, err := s.DescribePrincipal(ctx, op, identity.KindUser, "bob"); return err },
		"DeleteUser": func() error { return s.DeletePrincipal(ctx, op, identity.KindUser, "bob") },
		"CreateUser": func() error { _, err := s.CreateUser(ctx, op, "dave", "/protected/", nil); return err },
	} {
		if err := call(); !errs.Is(err, errs.AccessDenied) {
			t.Errorf("%s on /protected/bob: err = %v, want AccessDenied", name, err)
		}
	}
	if _, err := s.CreateAccessKey(ctx, op, "carol"); err != nil {
		t.Errorf("CreateAccessKey on /carol: %v", err)
	}
}

// Denials show the caller only what AWS shows; the deciding statement stays in the audit note.
func TestDenialsHideForeignPolicies(t *testing.T) {
	ctx := context.Background()
	org := fakeOrg{scps: map[string][]identity.NamedDocument{acctB: {
		{Name: "FullAWSAccess", Document: fullAccess},
		{Name: "secret-guard", Document: `{"Version":"2012-10-17","Statement":[{"Sid":"HiddenScpSid","Effect":"Deny","Action":"s3:*","Resource":"*"}]}`},
	}}}
	s, _, _ := newServiceWith(t, org)
	b := admin(t, s, acctB)
	resourcePolicy := `{"Version":"2012-10-17","Statement":[{"Sid":"ForeignSid","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"sagemaker:*","Resource":"*"}]}`
	for _, c := range []struct {
		name  string
		a     identity.Action
		shows string
		hides []string
	}{
		{"resource policy", identity.Action{Name: "sagemaker:DescribeModelPackageGroup", Resource: "arn:aws:sagemaker:us-east-1:111111111111:model-package-group/g", ResourceAccount: acctA, ResourcePolicy: resourcePolicy},
			"with an explicit deny in a resource-based policy", []string{"ForeignSid", "Statement", "resource policy of"}},
		{"SCP", identity.Action{Name: "s3:GetObject", Resource: "arn:aws:s3:::b/k", ResourceAccount: acctB},
			"with an explicit deny in a service control policy", []string{"secret-guard", "HiddenScpSid", "Statement"}},
		{"implicit cross-account", identity.Action{Name: "sagemaker:ListModelPackages", Resource: "arn:aws:sagemaker:us-east-1:111111111111:model-package-group/g", ResourceAccount: acctA},
			"because no resource-based policy allows the sagemaker:ListModelPackages action", []string{"111111111111 allows"}},
	} {
		var note identity.Note
		_, err := s.Authorize(identity.WithNote(ctx, &note), b.Caller, c.a)
		msg := errs.Message(err)
		if !errs.Is(err, errs.AccessDenied) || !strings.Contains(msg, c.shows) {
			t.Errorf("%s: message %q, want it to say %q", c.name, msg, c.shows)
		}
		for _, h := range c.hides {
			if strings.Contains(msg, h) {
				t.Errorf("%s: message %q reveals %q", c.name, msg, h)
			}
		}
		if c.name != "implicit cross-account" && !strings.Contains(note.Reason, c.hides[0]) {
			t.Errorf("%s: audit reason %q does not name %q", c.name, note.Reason, c.hides[0])
		}
	}
}

// Expired session keys are deleted when presented and by the sweep.
func TestExpiredSessionsAreDeleted(t *testing.T) {
	ctx := context.Background()
	s, clk, st := newServiceWith(t, noOrg{})
	a := admin(t, s, acctA)
	if _, err := s.CreateRole(ctx, a, identity.RoleSpec{Name: "r", TrustPolicy: trustA}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, name := range []string{"presented", "swept", "alive"} {
		d := time.Hour
		if name == "alive" {
			d = time.Hour
		}
		sess, err := s.AssumeRole(ctx, a, "arn:aws:iam::111111111111:role/r", name, identity.AssumeOptions{Duration: d})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sess.ID)
		if name == "swept" {
			clk.t = clk.t.Add(30 * time.Minute) // "alive" is issued half an hour later
		}
	}
	clk.t = clk.t.Add(45 * time.Minute) // the first two expired, the third has 15 minutes left
	if _, err := s.LookupAccessKey(ctx, ids[0]); errs.CodeOf(err) != "ExpiredToken" {
		t.Fatalf("expired key: err = %v, want ExpiredToken", err)
	}
	if _, err := st.GetAccessKey(ctx, ids[0]); !errs.Is(err, errs.NotFound) {
		t.Errorf("the expired key presented is still stored: %v", err)
	}
	n, err := s.SweepExpiredSessions(ctx)
	if err != nil || n != 1 {
		t.Errorf("SweepExpiredSessions = %d, %v; want 1", n, err)
	}
	if _, err := st.GetAccessKey(ctx, ids[1]); !errs.Is(err, errs.NotFound) {
		t.Errorf("the swept key is still stored: %v", err)
	}
	if _, err := s.LookupAccessKey(ctx, ids[2]); err != nil {
		t.Errorf("the live session: %v", err)
	}
	if _, keys, err := s.AccessKeys(ctx, a, "admin"); err != nil || len(keys) != 1 {
		t.Errorf("the sweep touched long-term keys: %d left, %v; want 1", len(keys), err)
	}
}

// iam:PolicyARN, iam:PassedToService and aws:SourceIp reach the decision.
func TestConditionKeys(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	a := admin(t, s, acctA)
	for _, u := range []string{"attacher", "target"} {
		if _, err := s.CreateUser(ctx, a, u, "/", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateRole(ctx, a, identity.RoleSpec{Name: "job", TrustPolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}`}); err != nil {
		t.Fatal(err)
	}
	ro, fa := "arn:aws:iam::aws:policy/AmazonSageMakerReadOnly", "arn:aws:iam::aws:policy/AdministratorAccess"
	p := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"iam:AttachUserPolicy","Resource":"*","Condition":{"ArnEquals":{"iam:PolicyARN":"` + ro + `"}}},
		{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"sagemaker.amazonaws.com"}}},
		{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"},
		{"Effect":"Deny","Action":"iam:GetUser","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`
	if err := s.PutInlinePolicy(ctx, a, identity.KindUser, "attacher", "p", p); err != nil {
		t.Fatal(err)
	}
	c := identity.Call{Caller: caller(t, s, acctA, "attacher")}
	if err := s.Attach(ctx, c, identity.KindUser, "target", ro); err != nil {
		t.Errorf("attaching the allowed policy: %v", err)
	}
	if err := s.Attach(ctx, c, identity.KindUser, "target", fa); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("attaching another policy: err = %v, want AccessDenied", err)
	}
	role := "arn:aws:iam::111111111111:role/job"
	if _, err := s.PassRole(ctx, c, role, "sagemaker.amazonaws.com"); err != nil {
		t.Errorf("PassRole to sagemaker: %v", err)
	}
	if _, err := s.PassRole(ctx, c, role, "codepipeline.amazonaws.com"); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("PassRole to codepipeline: err = %v, want AccessDenied", err)
	}
	for ip, allowed := range map[string]bool{"10.1.2.3": true, "192.0.2.7": false, "": false} {
		c.Caller.SourceIP = ip
		c.Context.Keys = map[string][]string{"aws:SourceIp": {"10.9.9.9"}} // never believed
		_, err := s.DescribePrincipal(ctx, c, identity.KindUser, "target")
		if (err == nil) != allowed {
			t.Errorf("GetUser from %q: err = %v, want allowed = %v", ip, err, allowed)
		}
	}
}

// A role session is judged by its role's ARN (path included), and SCPs come from the caller's
// account, not the resource's.
func TestSessionsAreJudgedByTheRoleAndSCPsByTheCallersAccount(t *testing.T) {
	ctx := context.Background()
	org := fakeOrg{scps: map[string][]identity.NamedDocument{
		acctB: {{Name: "FullAWSAccess", Document: fullAccess}, {Name: "no-sagemaker", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sagemaker:*","Resource":"*"}]}`}},
	}}
	s, _, _ := newServiceWith(t, org)
	a, b := admin(t, s, acctA), admin(t, s, acctB)
	if _, err := s.CreateRole(ctx, a, identity.RoleSpec{Name: "deployer", Path: "/team/", TrustPolicy: trustA}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutInlinePolicy(ctx, a, identity.KindRole, "deployer", "admin", identity.AdminPolicy); err != nil {
		t.Fatal(err)
	}
	roleARN := "arn:aws:iam::111111111111:role/team/deployer"
	sess := session(t, s, roleARN)
	if sess.PrincipalARN != roleARN || sess.ARN != "arn:aws:sts::111111111111:assumed-role/deployer/test-session" {
		t.Fatalf("session caller = %+v", sess)
	}
	groupIn := func(account string) string {
		return "arn:aws:sagemaker:us-east-1:" + account + ":model-package-group/g"
	}
	grantRole := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + roleARN + `"},"Action":"sagemaker:DescribeModelPackageGroup","Resource":"*"}]}`
	denyRole := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sagemaker:*","Resource":"*"},
		{"Effect":"Deny","Principal":"*","Action":"sagemaker:*","Resource":"*","Condition":{"ArnEquals":{"aws:PrincipalArn":"` + roleARN + `"}}}]}`
	describe := func(account, policy string) identity.Action {
		return identity.Action{Name: "sagemaker:DescribeModelPackageGroup", Resource: groupIn(account), ResourceAccount: account, ResourcePolicy: policy}
	}
	// Account C has no SCPs; a resource there granting the role admits the session.
	const acctC = "333333333333"
	if _, err := s.Authorize(ctx, sess, describe(acctC, grantRole)); err != nil {
		t.Errorf("a grant naming the role: %v", err)
	}
	if _, err := s.Authorize(ctx, sess, describe(acctC, denyRole)); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("a Deny on aws:PrincipalArn = the role: err = %v, want AccessDenied", err)
	}
	// B's SCP denies sagemaker:* for B's principals, wherever the resource is...
	grantB := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"sagemaker:*","Resource":"*"}]}`
	if _, err := s.Authorize(ctx, b.Caller, describe(acctA, grantB)); !errs.Is(err, errs.AccessDenied) || !strings.Contains(errs.Message(err), "service control policy") {
		t.Errorf("B's admin on A's resource: err = %v, want B's SCP to deny", err)
	}
	// ...and does not bind A's principals acting on B's resources.
	grantA := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sagemaker:*","Resource":"*"}]}`
	if _, err := s.Authorize(ctx, a.Caller, describe(acctB, grantA)); err != nil {
		t.Errorf("A's admin on B's resource: %v (B's SCP must not apply)", err)
	}
}

// engineLog records engine decisions in memory.
type engineLog struct {
	mu   sync.Mutex
	recs []identity.EngineRecord
	fail bool
}

func (l *engineLog) RecordEngineCall(_ context.Context, r identity.EngineRecord) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return fmt.Errorf("the audit log is down")
	}
	l.recs = append(l.recs, r)
	return nil
}

// Engines act as sessions of a role that trusts them: judged by the role's policies and its
// account's SCPs, and recorded with the engine as invokedBy.
func TestEngineSession(t *testing.T) {
	ctx := context.Background()
	org := fakeOrg{scps: map[string][]identity.NamedDocument{
		acctB: {{Name: "FullAWSAccess", Document: fullAccess}, {Name: "no-user-reads", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:GetUser","Resource":"*"}]}`}},
	}}
	s, _, _ := newServiceWith(t, org)
	const engine = "pipelines.slipway.internal"
	trustEngine := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + engine + `"},"Action":"sts:AssumeRole"}]}`
	reads := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetRole","iam:GetUser"],"Resource":"*"},
		{"Effect":"Deny","Action":"iam:GetRole","Resource":"arn:aws:iam::*:role/secret"}]}`
	for _, acct := range []string{acctA, acctB} {
		c := admin(t, s, acct)
		for _, role := range []string{"runner", "secret"} {
			if _, err := s.CreateRole(ctx, c, identity.RoleSpec{Name: role, TrustPolicy: trustEngine}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.PutInlinePolicy(ctx, c, identity.KindRole, "runner", "reads", reads); err != nil {
			t.Fatal(err)
		}
	}
	runnerA := "arn:aws:iam::111111111111:role/runner"
	if _, err := s.EngineSession(ctx, runnerA, engine); err == nil {
		t.Error("an engine session without an audit recorder was allowed")
	}
	log := &engineLog{}
	s.RecordEnginesWith(log)
	if _, err := s.EngineSession(ctx, runnerA, "other.slipway.internal"); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("an engine the trust policy does not name: err = %v, want AccessDenied", err)
	}
	if _, err := s.EngineSession(ctx, "arn:aws:iam::111111111111:role/none", engine); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("a missing role: err = %v, want AccessDenied", err)
	}
	c, err := s.EngineSession(ctx, runnerA, engine)
	if err != nil {
		t.Fatal(err)
	}
	if c.PrincipalARN != runnerA || c.InvokedBy != engine || c.AuthMethod != identity.AuthEngine {
		t.Errorf("engine caller = %+v", c)
	}
	call := identity.Call{Caller: c}
	if _, err := s.DescribePrincipal(ctx, call, identity.KindRole, "runner"); err != nil {
		t.Errorf("GetRole allowed by the role's policy: %v", err)
	}
	if _, err := s.DescribePrincipal(ctx, call, identity.KindRole, "secret"); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("GetRole the role's policy denies: err = %v, want AccessDenied", err)
	}
	if _, err := s.CreateUser(ctx, call, "x", "/", nil); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("CreateUser the role's policy does not allow: err = %v, want AccessDenied", err)
	}
	// In B, the same role policy is bounded by B's SCPs.
	cb, err := s.EngineSession(ctx, "arn:aws:iam::222222222222:role/runner", engine)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DescribePrincipal(ctx, identity.Call{Caller: cb}, identity.KindUser, "admin"); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("GetUser under B's SCP: err = %v, want AccessDenied", err)
	}
	log.mu.Lock()
	var allowed, denied int
	for _, r := range log.recs {
		if r.Caller.InvokedBy != engine && r.Caller.InvokedBy != "other.slipway.internal" {
			t.Errorf("record without the engine as invokedBy: %+v", r)
		}
		switch r.Decision {
		case "allow":
			allowed++
		case "deny":
			denied++
		}
	}
	log.mu.Unlock()
	if allowed != 3 || denied != 5 { // 2 sessions + 1 GetRole; 2 refused sessions + 3 refused calls
		t.Errorf("recorded %d allows and %d denies, want 3 and 5: %+v", allowed, denied, log.recs)
	}
	// A decision that cannot be recorded does not stand.
	log.fail = true
	if _, err := s.DescribePrincipal(ctx, call, identity.KindRole, "runner"); err == nil {
		t.Error("an engine call went through while its audit record failed")
	}
}
