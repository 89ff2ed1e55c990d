package org_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/org"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

// bounds adapts the organization to identity's view of SCPs.
type bounds struct{ o *org.Service }

func (b bounds) SCPLevels(ctx context.Context, account string) ([][]identity.NamedDocument, error) {
	levels, err := b.o.SCPLevels(ctx, account)
	out := make([][]identity.NamedDocument, len(levels))
	for i, l := range levels {
		for _, p := range l {
			out[i] = append(out[i], identity.NamedDocument{Name: p.Name, Document: p.Content})
		}
	}
	return out, err
}

func (b bounds) OrgID(ctx context.Context) (string, error) {
	o, err := b.o.Organization(ctx)
	return o.ID, err
}

// withIdentity gives the organization a real identity service over the same store, makes
// every account's admin, and returns each admin's Call by account.
func withIdentity(t *testing.T, s *org.Service, st identity.Store, accts []org.Account) map[string]identity.Call {
	t.Helper()
	ctx := context.Background()
	seal, err := identity.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	id := identity.NewService(st, bounds{s}, seal, time.Now, nil)
	s.UseIdentity(id)
	calls := map[string]identity.Call{}
	for _, a := range accts {
		if _, err := id.BootstrapAccount(ctx, a.ID, accts[0].ID, nil); err != nil {
			t.Fatal(err)
		}
		creds, err := id.LookupAccessKey(ctx, mustKey(t, id, a.ID))
		if err != nil {
			t.Fatal(err)
		}
		calls[a.ID] = identity.Call{Caller: creds.Caller}
	}
	return calls
}

func mustKey(t *testing.T, id *identity.Service, account string) string {
	t.Helper()
	p, err := id.Principal(context.Background(), account, identity.KindUser, "admin")
	if err != nil {
		t.Fatal(err)
	}
	c := identity.Call{Caller: identity.Caller{Kind: identity.KindUser, Account: account, ARN: p.ARN, PrincipalARN: p.ARN, Name: "admin", UserID: p.ID}}
	_, keys, err := id.AccessKeys(context.Background(), c, "admin")
	if err != nil || len(keys) == 0 {
		t.Fatalf("admin keys of %s: %v", account, err)
	}
	return keys[0].ID
}

// Organizations operations decide on the ARNs of the root, OUs, accounts and policies they
// touch, and only principals of the management account may call them.
func TestOrganizationsAuthorizesOnResourceARNs(t *testing.T) {
	ctx := context.Background()
	st := storetest.OpenSQLite(t)
	s := org.NewService(st.Org(), time.Now)
	accts, err := s.Bootstrap(ctx, org.Spec{
		Management: org.AccountSpec{Name: "ds", ID: "111111111111"},
		Units:      []org.UnitSpec{{Name: "prod", Accounts: []org.AccountSpec{{Name: "p1", ID: "222222222222"}}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Before an authorizer is set, nothing is allowed.
	o, err := s.Organization(ctx)
	if err != nil {
		t.Fatalf("Organization: %v", err)
	}
	if _, err := s.ListRoots(ctx, identity.Call{Caller: identity.Caller{Account: o.ManagementAccount}}); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("without an authorizer: err = %v, want AccessDenied", err)
	}
	calls := withIdentity(t, s, st.Identity(), accts)
	admin, member := calls["111111111111"], calls["222222222222"]
	units, err := s.Units(ctx, o.RootID)
	if err != nil || len(units) == 0 {
		t.Fatalf("Units under the root = %v, %v; want the OUs", units, err)
	}
	prod := units[0]

	if _, err := s.ListRoots(ctx, member); errs.CodeOf(err) != "AccessDeniedException" {
		t.Errorf("member account ListRoots: err = %v, want AccessDeniedException", err)
	}
	if _, _, err := s.DescribeOrganization(ctx, member); err != nil {
		t.Errorf("member account DescribeOrganization: %v", err)
	}

	// A user of the management account allowed everything but denied the prod OU, the p1
	// account and one policy.
	seal, err := identity.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	id := identity.NewService(st.Identity(), bounds{s}, seal, time.Now, nil)
	if _, err := id.CreateUser(ctx, admin, "op", "/", nil); err != nil {
		t.Fatal(err)
	}
	scp, err := s.CreatePolicy(ctx, admin, "guard", "", org.SCPType, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Deny","Action":"organizations:*","Resource":["` + prod.ARN + `","arn:aws:organizations::111111111111:account/` + o.ID + `/222222222222","` + scp.ARN + `"]}]}`
	if err := id.PutInlinePolicy(ctx, admin, identity.KindUser, "op", "p", deny); err != nil {
		t.Fatal(err)
	}
	p, err := id.Principal(ctx, o.ManagementAccount, identity.KindUser, "op")
	if err != nil {
		t.Fatalf("Principal op: %v", err)
	}
	op := identity.Call{Caller: identity.Caller{Kind: identity.KindUser, Account: p.Account, ARN: p.ARN, PrincipalARN: p.ARN, Name: "op", UserID: p.ID}}

	for name, call := range map[string]func() error{
		"CreateOrganizationalUnit under prod": func() error { _, err := s.CreateUnit(ctx, op, prod.ID, "x"); return err },
		"DescribeOrganizationalUnit prod":     func() error { _, err := s.DescribeUnit(ctx, op, prod.ID); return err },
		"ListAccountsForParent prod":          func() error { _, err := s.ListAccounts(ctx, op, prod.ID); return err },
		"DescribeAccount p1":                  func() error { _, err := s.DescribeAccount(ctx, op, "222222222222"); return err },
		"MoveAccount p1 to the root":          func() error { return s.MoveAccount(ctx, op, "222222222222", prod.ID, o.RootID) },
		"AttachPolicy guard to the root":      func() error { return s.AttachPolicy(ctx, op, scp.ID, o.RootID) },
		"AttachPolicy FullAWSAccess to prod":  func() error { return s.AttachPolicy(ctx, op, org.FullAccessID, prod.ID) },
		"DescribePolicy guard":                func() error { _, err := s.DescribePolicy(ctx, op, scp.ID); return err },
		"ListTargetsForPolicy guard":          func() error { _, err := s.Targets(ctx, op, scp.ID); return err },
		"ListParents p1":                      func() error { _, err := s.ListParents(ctx, op, "222222222222"); return err },
	} {
		err := call()
		if errs.CodeOf(err) != "AccessDeniedException" {
			t.Errorf("%s: err = %v, want AccessDeniedException", name, err)
		}
		if err != nil && !strings.Contains(errs.Message(err), "explicit deny in an identity-based policy") {
			t.Errorf("%s: message %q does not say an identity-based policy denied", name, errs.Message(err))
		}
	}
	// What the Deny does not name stays allowed.
	if _, err := s.CreateUnit(ctx, op, o.RootID, "staging"); err != nil {
		t.Errorf("CreateOrganizationalUnit under the root: %v", err)
	}
	if _, err := s.DescribeAccount(ctx, op, o.ManagementAccount); err != nil {
		t.Errorf("DescribeAccount of the management account: %v", err)
	}
	// A missing OU is denied the same as an existing one when the Deny covers it.
	if _, err := s.DescribeUnit(ctx, member, "ou-none-00000000"); errs.CodeOf(err) != "AccessDeniedException" {
		t.Errorf("member DescribeOrganizationalUnit of a missing OU: err = %v", err)
	}
}

// An SCP is bounded at 5,120 characters, white space counted, when it is written.
func TestSCPSizeLimit(t *testing.T) {
	ctx := context.Background()
	st := storetest.OpenSQLite(t)
	s := org.NewService(st.Org(), time.Now)
	accts, err := s.Bootstrap(ctx, org.Spec{Management: org.AccountSpec{Name: "ds", ID: "111111111111"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	admin := withIdentity(t, s, st.Identity(), accts)["111111111111"]
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}`
	padded := strings.Replace(doc, `"Version"`, strings.Repeat(" ", 5200)+`"Version"`, 1)
	if _, err := s.CreatePolicy(ctx, admin, "padded", "", org.SCPType, padded); errs.CodeOf(err) != "ConstraintViolationException" {
		t.Errorf("a 5,300-character SCP: err = %v, want ConstraintViolationException", err)
	}
	if _, err := s.CreatePolicy(ctx, admin, "small", "", org.SCPType, doc); err != nil {
		t.Errorf("a small SCP: %v", err)
	}
}
