package identity_test

import (
	"context"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
)

// TestEnsureServiceLinkedRole: the role is made under /aws-service-role/SERVICE/ with its
// policy, made once however often it is ensured, and only its service may act as it.
func TestEnsureServiceLinkedRole(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	s.RecordEnginesWith(&engineLog{})
	r := identity.ServiceLinkedRole{Service: "stacksets.example.internal", Name: "ServiceRoleForTests", PolicyName: "p",
		Policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`}
	want := "arn:aws:iam::111111111111:role/aws-service-role/stacksets.example.internal/ServiceRoleForTests"
	if r.ARN(acctA) != want {
		t.Fatalf("ARN = %s, want %s", r.ARN(acctA), want)
	}
	first, err := s.EnsureServiceLinkedRole(ctx, acctA, r)
	if err != nil || first.ARN != want {
		t.Fatalf("EnsureServiceLinkedRole = %+v, %v", first, err)
	}
	again, err := s.EnsureServiceLinkedRole(ctx, acctA, r)
	if err != nil || again.ID != first.ID {
		t.Fatalf("ensured again = %+v, %v; want the same role %s", again, err, first.ID)
	}
	c, err := s.EngineSession(ctx, want, r.Service)
	if err != nil || c.InvokedBy != r.Service {
		t.Fatalf("EngineSession as the service = %+v, %v", c, err)
	}
	if _, err := s.EngineSession(ctx, want, "other.example.internal"); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("another engine acting as the role: %v, want AccessDenied", err)
	}
	if _, err := s.EnsureServiceLinkedRole(ctx, acctA, identity.ServiceLinkedRole{Service: "Not A Service", Name: "x"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("a service that is no service principal: %v, want Invalid", err)
	}
}

// TestServiceLinkedRoleRefusesTheAPI: a role under /aws-service-role/ is changed by no
// API-facing operation, whoever asks (UnmodifiableEntity, once the caller is allowed the
// action; AccessDenied before that), and none can make one there; ensuring it still works,
// and an ordinary role squatting its name is not acted through.
func TestServiceLinkedRoleRefusesTheAPI(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	a := admin(t, s, acctA)
	r := identity.ServiceLinkedRole{Service: "stacksets.example.internal", Name: "ServiceRoleForTests", PolicyName: "p",
		Policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`}
	if _, err := s.EnsureServiceLinkedRole(ctx, acctA, r); err != nil {
		t.Fatal(err)
	}
	mp, err := s.CreateManagedPolicy(ctx, a, "extra", "/", "", identity.AdminPolicy)
	if err != nil {
		t.Fatal(err)
	}
	changes := []struct {
		name string
		do   func(identity.Call) error
	}{
		{"DeleteRole", func(c identity.Call) error { return s.DeletePrincipal(ctx, c, identity.KindRole, r.Name) }},
		{"PutRolePolicy", func(c identity.Call) error {
			return s.PutInlinePolicy(ctx, c, identity.KindRole, r.Name, r.PolicyName, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`)
		}},
		{"DeleteRolePolicy", func(c identity.Call) error {
			return s.DeleteInlinePolicy(ctx, c, identity.KindRole, r.Name, r.PolicyName)
		}},
		{"AttachRolePolicy", func(c identity.Call) error { return s.Attach(ctx, c, identity.KindRole, r.Name, mp.ARN) }},
		{"DetachRolePolicy", func(c identity.Call) error { return s.Detach(ctx, c, identity.KindRole, r.Name, mp.ARN) }},
	}
	if _, err := s.CreateUser(ctx, a, "nobody", "/", nil); err != nil {
		t.Fatal(err)
	}
	nobody := identity.Call{Caller: caller(t, s, acctA, "nobody")}
	for _, ch := range changes {
		if err := ch.do(a); errs.CodeOf(err) != "UnmodifiableEntity" || !strings.Contains(errs.Message(err), "'"+r.Name+"'") {
			t.Errorf("%s by the admin: %v; want UnmodifiableEntity naming the role", ch.name, err)
		}
		if err := ch.do(nobody); !errs.Is(err, errs.AccessDenied) {
			t.Errorf("%s by a user allowed nothing: %v; want AccessDenied", ch.name, err)
		}
	}
	ps, err := s.InlinePolicies(ctx, a, identity.KindRole, r.Name)
	if err != nil || len(ps) != 1 || ps[0].Document != r.Policy {
		t.Errorf("the role's policies after the refusals = %+v, %v; want its own policy only", ps, err)
	}
	if att, err := s.Attached(ctx, a, identity.KindRole, r.Name); err != nil || len(att) != 0 {
		t.Errorf("attached after the refusals = %+v, %v; want none", att, err)
	}
	if _, err := s.EnsureServiceLinkedRole(ctx, acctA, r); err != nil {
		t.Errorf("ensured after the refusals: %v", err)
	}

	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"stacksets.example.internal"},"Action":"sts:AssumeRole"}]}`
	for _, path := range []string{"/aws-service-role/", "/aws-service-role/stacksets.example.internal/"} {
		if _, err := s.CreateRole(ctx, a, identity.RoleSpec{Name: "Forged", Path: path, TrustPolicy: trust}); errs.CodeOf(err) != "InvalidInput" {
			t.Errorf("CreateRole at %s: %v; want InvalidInput", path, err)
		}
	}
	if _, err := s.Principal(ctx, acctA, identity.KindRole, "Forged"); !errs.Is(err, errs.NotFound) {
		t.Errorf("the refused role exists: %v", err)
	}
	// An ordinary role of the name a service-linked role will have is not taken for it.
	squat := r
	squat.Name = "ServiceRoleForLater"
	if _, err := s.CreateRole(ctx, a, identity.RoleSpec{Name: squat.Name, TrustPolicy: trust}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnsureServiceLinkedRole(ctx, acctA, squat); !errs.Is(err, errs.Conflict) {
		t.Errorf("ensured over an ordinary role of its name: %v; want Conflict", err)
	}
}
