package identity_test

import (
	"context"
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
