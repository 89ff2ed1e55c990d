package org_test

import (
	"context"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/org"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

func TestSpecValidate(t *testing.T) {
	ok := org.DefaultSpec()
	if err := ok.Validate(); err != nil {
		t.Fatalf("the default spec: %v", err)
	}
	cases := map[string]org.Spec{
		"no management name": {},
		"bad id":             {Management: org.AccountSpec{Name: "m", ID: "12345"}},
		"duplicate account": {Management: org.AccountSpec{Name: "m"},
			Units: []org.UnitSpec{{Name: "a", Accounts: []org.AccountSpec{{Name: "m"}}}}},
		"duplicate id": {Management: org.AccountSpec{Name: "m", ID: "111111111111"},
			Accounts: []org.AccountSpec{{Name: "n", ID: "111111111111"}}},
		"duplicate OU":  {Management: org.AccountSpec{Name: "m"}, Units: []org.UnitSpec{{Name: "a"}, {Name: "a"}}},
		"empty OU name": {Management: org.AccountSpec{Name: "m"}, Units: []org.UnitSpec{{Name: " "}}},
	}
	for name, spec := range cases {
		t.Run(name, func(t *testing.T) {
			if err := spec.Validate(); !errs.Is(err, errs.Invalid) {
				t.Errorf("Validate = %v, want Invalid", err)
			}
		})
	}
}

func TestBootstrapAndSCPLevels(t *testing.T) {
	ctx := context.Background()
	st := storetest.OpenSQLite(t)
	s := org.NewService(st.Org(), time.Now)
	spec := org.Spec{
		Management: org.AccountSpec{Name: "ds", ID: "111111111111"},
		Units: []org.UnitSpec{{Name: "prod", Accounts: []org.AccountSpec{{Name: "p1", ID: "222222222222"}},
			Units: []org.UnitSpec{{Name: "eu", Accounts: []org.AccountSpec{{Name: "p2", ID: "333333333333"}}}}}},
	}
	accts, err := s.Bootstrap(ctx, spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	admin := withIdentity(t, s, st.Identity(), accts)[accts[0].ID]
	if len(accts) != 3 || accts[0].ID != "111111111111" {
		t.Fatalf("accounts = %+v", accts)
	}
	// Bootstrap again (a first start that was killed runs it again): it finds everything and
	// creates nothing.
	var steps []string
	again, err := s.Bootstrap(ctx, spec, func(what string) { steps = append(steps, what) })
	if err != nil {
		t.Fatalf("second bootstrap: %v", err)
	}
	if len(steps) != 0 || len(again) != 3 || again[1].ID != accts[1].ID || again[2].ID != accts[2].ID {
		t.Errorf("second bootstrap made steps %v and returned %+v; want no steps and the same accounts", steps, again)
	}
	other := spec
	other.Management = org.AccountSpec{Name: "someone-else"}
	if _, err := s.Bootstrap(ctx, other, nil); !errs.Is(err, errs.Conflict) {
		t.Errorf("bootstrap of another organization: err = %v, want Conflict", err)
	}
	o, err := s.Organization(ctx)
	if err != nil {
		t.Fatalf("Organization: %v", err)
	}
	under, err := s.AccountsUnder(ctx, o.RootID)
	if err != nil || len(under) != 3 {
		t.Errorf("AccountsUnder(root) = %d, %v; want 3", len(under), err)
	}
	// The management account is exempt; p2 is bounded at root, prod, eu and itself.
	if levels, err := s.SCPLevels(ctx, "111111111111"); err != nil || levels != nil {
		t.Errorf("management account levels = %v, %v; want nil", levels, err)
	}
	levels, err := s.SCPLevels(ctx, "333333333333")
	if err != nil || len(levels) != 4 {
		t.Fatalf("SCPLevels(p2) = %d levels, %v; want 4", len(levels), err)
	}
	for i, l := range levels {
		if len(l) != 1 || l[0].ID != org.FullAccessID {
			t.Errorf("level %d = %+v, want FullAWSAccess only", i, l)
		}
	}
	units, err := s.Units(ctx, o.RootID)
	if err != nil || len(units) == 0 {
		t.Fatalf("Units under the root = %v, %v; want the OUs", units, err)
	}
	if err := s.MoveAccount(ctx, admin, "333333333333", units[0].ID, o.RootID); !errs.Is(err, errs.NotFound) {
		t.Errorf("move from the wrong parent: err = %v, want NotFound", err)
	}
	if err := s.DetachPolicy(ctx, admin, org.FullAccessID, units[0].ID); err != nil {
		t.Fatal(err)
	}
	levels, _ = s.SCPLevels(ctx, "222222222222")
	if len(levels) != 3 || len(levels[1]) != 0 {
		t.Errorf("after detaching FullAWSAccess from prod, p1's prod level = %+v, want empty", levels)
	}
	if _, err := s.CreateUnit(ctx, admin, o.RootID, "prod"); errs.CodeOf(err) != "DuplicateOrganizationalUnitException" {
		t.Errorf("duplicate OU: err = %v", err)
	}
	if _, err := s.CreatePolicy(ctx, admin, "x", "", "TAG_POLICY", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`); !errs.Is(err, errs.Invalid) {
		t.Errorf("tag policy: err = %v, want Invalid", err)
	}
}
