package identity_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

// noOrg is an installation without an organization: no SCPs bound anyone.
type noOrg struct{}

func (noOrg) SCPLevels(context.Context, string) ([][]identity.NamedDocument, error) { return nil, nil }
func (noOrg) OrgID(context.Context) (string, error)                                 { return "", nil }

const (
	acctA = "111111111111"
	acctB = "222222222222"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newService(t *testing.T) (*identity.Service, *clock) {
	s, c, _ := newServiceWith(t, noOrg{})
	return s, c
}

// newServiceWith is newService with an organization, also returning the store.
func newServiceWith(t *testing.T, org identity.OrgBounds) (*identity.Service, *clock, identity.Store) {
	st := storetest.OpenSQLite(t)
	seal, err := identity.NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	return identity.NewService(st.Identity(), org, seal, c.now, nil), c, st.Identity()
}

func caller(t *testing.T, s *identity.Service, account, user string) identity.Caller {
	t.Helper()
	p, err := s.Principal(context.Background(), account, identity.KindUser, user)
	if err != nil {
		t.Fatal(err)
	}
	return identity.Caller{Account: account, ARN: p.ARN, PrincipalARN: p.ARN, UserID: p.ID, Kind: identity.KindUser, Name: user}
}

// admin is the Call of an account's admin user, bootstrapping the account (managed by acctA)
// the first time.
func admin(t *testing.T, s *identity.Service, account string) identity.Call {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Principal(ctx, account, identity.KindUser, "admin"); errs.Is(err, errs.NotFound) {
		if _, err := s.BootstrapAccount(ctx, account, acctA, nil); err != nil {
			t.Fatal(err)
		}
	}
	return identity.Call{Caller: caller(t, s, account, "admin")}
}

func TestSealerBindsContext(t *testing.T) {
	s, err := identity.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealed := s.Seal("secret", "AKIA1")
	if got, err := s.Open(sealed, "AKIA1"); err != nil || got != "secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open(sealed, "AKIA2"); err == nil {
		t.Error("a sealed secret opened under another key id")
	}
	if strings.Contains(sealed, "secret") {
		t.Error("the sealed form contains the secret")
	}
	if _, err := identity.NewSealer(make([]byte, 16)); err == nil {
		t.Error("a 16-byte master key was accepted")
	}
}

func TestKeysAuthenticate(t *testing.T) {
	ctx := context.Background()
	s, clk := newService(t)
	creds, err := s.BootstrapAccount(ctx, acctA, acctA, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.LookupAccessKey(ctx, creds.Key.ID)
	if err != nil || a.Secret != creds.Key.Secret || a.Caller.ARN != "arn:aws:iam::111111111111:user/admin" {
		t.Fatalf("LookupAccessKey = %+v, %v", a, err)
	}
	if _, err := s.LookupAccessKey(ctx, "AKIANOTAKEY000000000"); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("unknown key: err = %v, want Unauthenticated", err)
	}
	if _, err := s.CreateAccessKey(ctx, admin(t, s, acctA), "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAccessKey(ctx, admin(t, s, acctA), "admin"); !errs.Is(err, errs.LimitExceeded) {
		t.Errorf("third key: err = %v, want LimitExceeded", err)
	}
	_ = clk
}

func TestAssumeRole(t *testing.T) {
	ctx := context.Background()
	s, clk := newService(t)
	for _, acct := range []string{acctA, acctB} {
		if _, err := s.BootstrapAccount(ctx, acct, acctA, nil); err != nil {
			t.Fatal(err)
		}
	}
	// B's OrganizationAccountAccessRole trusts A's root; A's admin may do anything.
	roleB := fmt.Sprintf("arn:aws:iam::%s:role/OrganizationAccountAccessRole", acctB)
	adminA, adminB := caller(t, s, acctA, "admin"), caller(t, s, acctB, "admin")

	sess, err := s.AssumeRole(ctx, identity.Call{Caller: adminA}, roleB, "deploy", identity.AssumeOptions{})
	if err != nil {
		t.Fatalf("trusted AssumeRole: %v", err)
	}
	if sess.AssumedRoleARN != "arn:aws:sts::222222222222:assumed-role/OrganizationAccountAccessRole/deploy" || !strings.HasPrefix(sess.ID, "ASIA") {
		t.Errorf("session = %+v", sess)
	}
	a, err := s.LookupAccessKey(ctx, sess.ID)
	if err != nil || a.SessionToken != sess.SessionToken || a.Caller.ARN != sess.AssumedRoleARN || a.Caller.PrincipalARN != roleB {
		t.Fatalf("session credentials: %+v, %v", a.Caller, err)
	}

	// A role in A trusting only A: B's admin may not assume it.
	trustA := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sts:AssumeRole"}]}`, acctA)
	if _, err := s.CreateRole(ctx, admin(t, s, acctA), identity.RoleSpec{Name: "deployer", TrustPolicy: trustA}); err != nil {
		t.Fatal(err)
	}
	roleA := "arn:aws:iam::111111111111:role/deployer"
	if _, err := s.AssumeRole(ctx, identity.Call{Caller: adminB}, roleA, "x1", identity.AssumeOptions{}); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("untrusted AssumeRole: err = %v, want AccessDenied", err)
	}
	// Trust naming the account root needs the caller's identity policy too: a user without one fails.
	if _, err := s.CreateUser(ctx, admin(t, s, acctA), "nobody", "/", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AssumeRole(ctx, identity.Call{Caller: caller(t, s, acctA, "nobody")}, roleA, "x2", identity.AssumeOptions{}); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("AssumeRole without an identity policy: err = %v, want AccessDenied", err)
	}
	// Within one account the trust policy must allow too: an admin allowed everything may not
	// assume a role whose trust policy names only someone else.
	trustAlice := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/alice"},"Action":"sts:AssumeRole"}]}`
	if _, err := s.CreateRole(ctx, admin(t, s, acctA), identity.RoleSpec{Name: "alice-only", TrustPolicy: trustAlice}); err != nil {
		t.Fatal(err)
	}
	var note identity.Note
	_, err = s.AssumeRole(identity.WithNote(ctx, &note), identity.Call{Caller: adminA}, "arn:aws:iam::111111111111:role/alice-only", "x5", identity.AssumeOptions{})
	if !errs.Is(err, errs.AccessDenied) || !strings.Contains(note.Reason, "trust policy") {
		t.Errorf("same-account AssumeRole the trust policy does not allow: err = %v, audit reason %q; want AccessDenied, the trust policy in the audit", err, note.Reason)
	}
	if _, err := s.AssumeRole(ctx, identity.Call{Caller: adminA}, "arn:aws:iam::111111111111:role/missing", "x3", identity.AssumeOptions{}); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("missing role: err = %v, want AccessDenied (existence is not revealed)", err)
	}
	for _, d := range []time.Duration{time.Minute, 2 * time.Hour} {
		if _, err := s.AssumeRole(ctx, identity.Call{Caller: adminA}, roleA, "x4", identity.AssumeOptions{Duration: d}); !errs.Is(err, errs.Invalid) {
			t.Errorf("DurationSeconds %v: err = %v, want Invalid", d, err)
		}
	}
	if _, err := s.AssumeRole(ctx, identity.Call{Caller: adminA}, roleA, "a", identity.AssumeOptions{}); !errs.Is(err, errs.Invalid) {
		t.Errorf("one-letter session name: err = %v, want Invalid", err)
	}

	clk.t = clk.t.Add(2 * time.Hour)
	if _, err := s.LookupAccessKey(ctx, sess.ID); !errs.Is(err, errs.Unauthenticated) || errs.CodeOf(err) != "ExpiredToken" {
		t.Errorf("expired session: err = %v (code %s), want ExpiredToken", err, errs.CodeOf(err))
	}
}

func TestPoliciesAreValidatedBeforeStored(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	if _, err := s.CreateUser(ctx, admin(t, s, acctA), "u", "/", nil); err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{
		"not json":          `{`,
		"bad effect":        `{"Version":"2012-10-17","Statement":[{"Effect":"Permit","Action":"*","Resource":"*"}]}`,
		"principal in user": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			err := s.PutInlinePolicy(ctx, admin(t, s, acctA), identity.KindUser, "u", "p", doc)
			if errs.CodeOf(err) != "MalformedPolicyDocument" {
				t.Errorf("err = %v (code %q), want MalformedPolicyDocument", err, errs.CodeOf(err))
			}
		})
	}
	if ps, err := s.InlinePolicies(ctx, admin(t, s, acctA), identity.KindUser, "u"); err != nil {
		t.Errorf("InlinePolicies of u: %v", err)
	} else if len(ps) != 0 {
		t.Errorf("malformed policies were stored: %v", ps)
	}
	if err := s.DeletePrincipal(ctx, admin(t, s, acctA), identity.KindUser, "u"); err != nil {
		t.Errorf("deleting a bare user: %v", err)
	}
}

func TestAssumeRoleExternalIDAndSessionPolicies(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	for _, acct := range []string{acctA, acctB} {
		if _, err := s.BootstrapAccount(ctx, acct, acctA, nil); err != nil {
			t.Fatal(err)
		}
	}
	adminB := caller(t, s, acctB, "admin")
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},
		"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"abalone-7f3c"}}}]}`, acctB)
	if _, err := s.CreateRole(ctx, admin(t, s, acctA), identity.RoleSpec{Name: "vendor", TrustPolicy: trust}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutInlinePolicy(ctx, admin(t, s, acctA), identity.KindRole, "vendor", "all", identity.AdminPolicy); err != nil {
		t.Fatal(err)
	}
	role := "arn:aws:iam::111111111111:role/vendor"
	for _, id := range []string{"", "wrong"} {
		if _, err := s.AssumeRole(ctx, identity.Call{Caller: adminB}, role, "v1", identity.AssumeOptions{ExternalID: id}); !errs.Is(err, errs.AccessDenied) {
			t.Errorf("ExternalId %q: err = %v, want AccessDenied", id, err)
		}
	}
	narrow := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:List*","Resource":"*"}]}`
	sess, err := s.AssumeRole(ctx, identity.Call{Caller: adminB}, role, "v2", identity.AssumeOptions{ExternalID: "abalone-7f3c", Policy: narrow})
	if err != nil {
		t.Fatalf("the right ExternalId: %v", err)
	}
	a, err := s.LookupAccessKey(ctx, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	for action, allowed := range map[string]bool{"sagemaker:ListModelPackages": true, "sagemaker:CreateModelPackageGroup": false} {
		_, err := s.Authorize(ctx, a.Caller, identity.Action{Name: action, Resource: "*", ResourceAccount: acctA})
		if (err == nil) != allowed {
			t.Errorf("%s with the session policy: err = %v, want allowed = %v", action, err, allowed)
		}
	}
	if _, err := s.AssumeRole(ctx, identity.Call{Caller: adminB}, role, "v3", identity.AssumeOptions{ExternalID: "abalone-7f3c", Policy: `{"Statement":[]}`}); errs.CodeOf(err) != "MalformedPolicyDocument" {
		t.Errorf("malformed session policy: err = %v, want MalformedPolicyDocument", err)
	}
}

func TestInlinePolicyQuotas(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	if _, err := s.CreateUser(ctx, admin(t, s, acctA), "u", "/", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRole(ctx, admin(t, s, acctA), identity.RoleSpec{Name: "r", TrustPolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}`}); err != nil {
		t.Fatal(err)
	}
	// A policy of about n characters: one statement listing many actions.
	doc := func(n int) string {
		var acts []string
		for i := 0; len(strings.Join(acts, ",")) < n-100; i++ {
			acts = append(acts, fmt.Sprintf(`"sagemaker:Describe%05d"`, i))
		}
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[` + strings.Join(acts, ",") + `],"Resource":"*"}]}`
	}
	if err := s.PutInlinePolicy(ctx, admin(t, s, acctA), identity.KindRole, "r", "big", doc(8000)); err != nil {
		t.Errorf("an 8,000-character inline role policy (role quota 10,240): %v", err)
	}
	if err := s.PutInlinePolicy(ctx, admin(t, s, acctA), identity.KindRole, "r", "more", doc(3000)); errs.CodeOf(err) != "LimitExceeded" {
		t.Errorf("a second policy past the role's aggregate quota: err = %v, want LimitExceeded", err)
	}
	if err := s.PutInlinePolicy(ctx, admin(t, s, acctA), identity.KindRole, "r", "big", doc(9000)); err != nil {
		t.Errorf("replacing a policy counts only the new version: %v", err)
	}
	if err := s.PutInlinePolicy(ctx, admin(t, s, acctA), identity.KindUser, "u", "p", doc(3000)); errs.CodeOf(err) != "LimitExceeded" {
		t.Errorf("a 3,000-character inline user policy (user quota 2,048): err = %v, want LimitExceeded", err)
	}
}

func TestAWSManagedPolicies(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	for _, acct := range []string{acctA, acctB} {
		if _, err := s.CreateUser(ctx, admin(t, s, acct), "ds", "/", nil); err != nil {
			t.Fatal(err)
		}
	}
	ro := "arn:aws:iam::aws:policy/AmazonSageMakerReadOnly"
	if err := s.Attach(ctx, admin(t, s, acctA), identity.KindUser, "ds", ro); err != nil {
		t.Fatalf("attaching an AWS managed policy: %v", err)
	}
	p, err := s.Principal(ctx, acctA, identity.KindUser, "ds")
	if err != nil {
		t.Fatal(err)
	}
	c := identity.Caller{Account: acctA, ARN: p.ARN, PrincipalARN: p.ARN, UserID: p.ID, Kind: identity.KindUser, Name: "ds"}
	for action, allowed := range map[string]bool{"sagemaker:DescribeModelPackage": true, "sagemaker:CreateModelPackage": false} {
		if _, err := s.Authorize(ctx, c, identity.Action{Name: action, Resource: "*", ResourceAccount: acctA}); (err == nil) != allowed {
			t.Errorf("%s under AmazonSageMakerReadOnly: err = %v, want allowed = %v", action, err, allowed)
		}
	}
	// Account B sees the policy, but not A's use of it.
	mp, err := s.DescribeManagedPolicy(ctx, admin(t, s, acctB), ro)
	if err != nil || mp.Attachments != 0 {
		t.Errorf("B's view of %s = %d attachments, %v; want 0", ro, mp.Attachments, err)
	}
	if mp, err := s.DescribeManagedPolicy(ctx, admin(t, s, acctA), ro); err != nil || mp.Attachments != 1 {
		t.Errorf("A's view = %d attachments, %v; want 1", mp.Attachments, err)
	}
	if err := s.DeleteManagedPolicy(ctx, admin(t, s, acctA), ro); !errs.Is(err, errs.Invalid) {
		t.Errorf("deleting an AWS managed policy: err = %v, want Invalid", err)
	}
	all, err := s.ManagedPolicies(ctx, admin(t, s, acctB), "AWS")
	if err != nil {
		t.Fatalf("ManagedPolicies AWS: %v", err)
	}
	local, err := s.ManagedPolicies(ctx, admin(t, s, acctB), "Local")
	if err != nil {
		t.Fatalf("ManagedPolicies Local: %v", err)
	}
	if len(all) != 4 || len(local) != 0 {
		t.Errorf("ListPolicies: %d AWS managed, %d local; want 4 and 0", len(all), len(local))
	}
}

// TestBootstrapAccountResumes interrupts BootstrapAccount after each of its steps (a first start
// killed midway) and calls it again: it must complete, and a further call must change nothing
// and return the same key. A server with another master key cannot open the key and re-issues it.
func TestBootstrapAccountResumes(t *testing.T) {
	ctx := context.Background()
	type interrupted struct{}
	for stopAt := 1; ; stopAt++ {
		st := storetest.OpenSQLite(t)
		seal, err := identity.NewSealer([]byte("0123456789abcdef0123456789abcdef"))
		if err != nil {
			t.Fatal(err)
		}
		s := identity.NewService(st.Identity(), noOrg{}, seal, time.Now, nil)
		n := 0
		stop := func(string) {
			if n++; n == stopAt {
				panic(interrupted{})
			}
		}
		finished := func() (done bool) {
			defer func() {
				if r := recover(); r != nil {
					if _, ok := r.(interrupted); !ok {
						panic(r)
					}
				}
			}()
			if _, err := s.BootstrapAccount(ctx, acctB, acctA, stop); err != nil {
				t.Fatalf("stop at %d: %v", stopAt, err)
			}
			return true
		}()
		creds, err := s.BootstrapAccount(ctx, acctB, acctA, nil)
		if err != nil {
			t.Fatalf("resuming after step %d: %v", stopAt, err)
		}
		var steps []string
		again, err := s.BootstrapAccount(ctx, acctB, acctA, func(w string) { steps = append(steps, w) })
		if err != nil || len(steps) > 0 || again.Key.ID != creds.Key.ID || again.Key.Secret != creds.Key.Secret || again.Reissued {
			t.Fatalf("after step %d, a repeated bootstrap made %v, key %s (was %s), reissued %v, err %v", stopAt, steps, again.Key.ID, creds.Key.ID, again.Reissued, err)
		}
		if a, err := s.LookupAccessKey(ctx, creds.Key.ID); err != nil || a.Secret != creds.Key.Secret {
			t.Fatalf("after step %d: the admin key does not authenticate: %v", stopAt, err)
		}
		if _, err := s.Principal(ctx, acctB, identity.KindRole, identity.AccessRoleName); err != nil {
			t.Fatalf("after step %d: %v", stopAt, err)
		}
		if finished {
			if stopAt < 5 {
				t.Fatalf("BootstrapAccount finished after %d steps; want user, policy, key, role, role policy", stopAt-1)
			}
			other, err := identity.NewSealer([]byte("another master key, 32 bytes...."))
			if err != nil {
				t.Fatal(err)
			}
			s2 := identity.NewService(st.Identity(), noOrg{}, other, time.Now, nil)
			re, err := s2.BootstrapAccount(ctx, acctB, acctA, nil)
			if err != nil || !re.Reissued || re.Key.ID == creds.Key.ID {
				t.Fatalf("another master key: reissued %v, key %s (was %s), err %v; want a new key", re.Reissued, re.Key.ID, creds.Key.ID, err)
			}
			return
		}
	}
}
