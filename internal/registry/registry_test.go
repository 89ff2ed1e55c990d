package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/slipway-ml/slipway/internal/events"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/org"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

func TestApprovalTransitions(t *testing.T) {
	states := []registry.ApprovalStatus{registry.Pending, registry.Approved, registry.Rejected, "Bogus"}
	allowed := map[[2]registry.ApprovalStatus]bool{
		{registry.Pending, registry.Pending}:   true,
		{registry.Pending, registry.Approved}:  true,
		{registry.Pending, registry.Rejected}:  true,
		{registry.Approved, registry.Approved}: true,
		{registry.Approved, registry.Rejected}: true,
		{registry.Rejected, registry.Rejected}: true,
		{registry.Rejected, registry.Approved}: true,
	}
	for _, from := range states {
		for _, to := range states {
			t.Run(fmt.Sprintf("%s→%s", from, to), func(t *testing.T) {
				if got, want := from.CanMoveTo(to), allowed[[2]registry.ApprovalStatus{from, to}]; got != want {
					t.Errorf("CanMoveTo = %v, want %v", got, want)
				}
			})
		}
	}
}

// fixture is a real store, a real organization with three accounts and their admins, and the
// registry over them.
// registryEvents lists the events the registry wrote (the organization's creation wrote its
// own before the test began).
func (f *fixture) registryEvents(t *testing.T) []events.Event {
	t.Helper()
	all, err := f.st.Events().EventsAfter(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []events.Event
	for _, ev := range all {
		if ev.Source == "aws.sagemaker" {
			out = append(out, ev)
		}
	}
	return out
}

type fixture struct {
	st                      *store.Store
	reg                     *registry.Service
	id                      *identity.Service
	org                     *org.Service
	ds, staging, production registry.Call
}

type bounds struct{ o *org.Service }

func (b bounds) SCPLevels(ctx context.Context, account string) ([][]identity.NamedDocument, error) {
	levels, err := b.o.SCPLevels(ctx, account)
	var out [][]identity.NamedDocument
	for _, l := range levels {
		var docs []identity.NamedDocument
		for _, p := range l {
			docs = append(docs, identity.NamedDocument{Name: p.Name, Document: p.Content})
		}
		out = append(out, docs)
	}
	return out, err
}

func (b bounds) OrgID(ctx context.Context) (string, error) {
	o, err := b.o.Organization(ctx)
	return o.ID, err
}

// group makes the group name, without a policy, in the data-science account.
func (f *fixture) group(t *testing.T, name string) {
	t.Helper()
	if _, err := f.reg.CreateGroup(context.Background(), f.ds, name, "", nil); err != nil {
		t.Fatalf("CreateGroup %s: %v", name, err)
	}
}

func newFixture(t *testing.T) *fixture { return newFixtureOn(t, storetest.OpenSQLite(t)) }

func newFixtureOn(t *testing.T, st *store.Store) *fixture {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }
	o := org.NewService(st.Org(), now)
	seal, err := identity.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	id := identity.NewService(st.Identity(), bounds{o}, seal, now, nil)
	o.UseIdentity(id)
	accounts, err := o.Bootstrap(ctx, org.DefaultSpec(), nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, id: id, org: o, reg: registry.NewService(st.Registry(), id, "us-east-1", now)}
	calls := map[string]*registry.Call{"data-science": &f.ds, "staging": &f.staging, "production": &f.production}
	for _, a := range accounts {
		if _, err := id.BootstrapAccount(ctx, a.ID, accounts[0].ID, nil); err != nil {
			t.Fatal(err)
		}
		p, err := id.Principal(ctx, a.ID, identity.KindUser, "admin")
		if err != nil {
			t.Fatal(err)
		}
		*calls[a.Name] = registry.Call{Caller: identity.Caller{
			Account: a.ID, ARN: p.ARN, PrincipalARN: p.ARN, UserID: p.ID, Kind: identity.KindUser, Name: "admin",
		}, Context: identity.RequestContext{Region: "us-east-1", Secure: true}}
	}
	return f
}

func TestCrossAccountNeedsGroupPolicy(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.group(t, "abalone")
	spec := map[string]json.RawMessage{"InferenceSpecification": json.RawMessage(`{"Containers":[{"Image":"x"}]}`)}
	p, err := f.reg.CreatePackage(ctx, f.ds, registry.CreateInput{Group: "abalone", Details: spec})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.DescribePackage(ctx, f.staging, p.ARN); !errs.Is(err, errs.AccessDenied) {
		t.Fatalf("staging describes without a group policy: err = %v, want AccessDenied", err)
	}
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},
		"Action":["sagemaker:DescribeModelPackage","sagemaker:ListModelPackages"],
		"Resource":["arn:aws:sagemaker:us-east-1:%s:model-package/abalone/*","arn:aws:sagemaker:us-east-1:%s:model-package-group/abalone"]}]}`,
		f.staging.Caller.Account, f.ds.Caller.Account, f.ds.Caller.Account)
	if err := f.reg.PutGroupPolicy(ctx, f.ds, "abalone", policy); err != nil {
		t.Fatal(err)
	}
	got, err := f.reg.DescribePackage(ctx, f.staging, p.ARN)
	if err != nil {
		t.Fatalf("staging describes with the group policy: %v", err)
	}
	if string(got.Details["InferenceSpecification"]) != `{"Containers":[{"Image":"x"}]}` {
		t.Errorf("details = %s", got.Details["InferenceSpecification"])
	}
	groupARN := f.reg.GroupARN(f.ds.Caller.Account, "abalone")
	if ps, err := f.reg.ListPackages(ctx, f.staging, registry.PackageQuery{GroupName: groupARN}); err != nil || len(ps) != 1 {
		t.Errorf("staging lists by group ARN: %d packages, %v", len(ps), err)
	}
	if _, err := f.reg.DescribePackage(ctx, f.production, p.ARN); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("production (not in the policy): err = %v, want AccessDenied", err)
	}
	// The policy grants describe, not update.
	if _, err := f.reg.UpdatePackage(ctx, f.staging, registry.UpdateInput{ARN: p.ARN, ApprovalStatus: registry.Approved}); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("staging approves: err = %v, want AccessDenied", err)
	}
	// A missing group in another account is AccessDenied, not NotFound: existence is not revealed.
	other := fmt.Sprintf("arn:aws:sagemaker:us-east-1:%s:model-package/nothing/1", f.ds.Caller.Account)
	if _, err := f.reg.DescribePackage(ctx, f.staging, other); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("describing a missing package of another account: err = %v, want AccessDenied", err)
	}
}

func TestSCPDeniesUpdateInProductionOnly(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	o, err := f.org.Organization(ctx)
	if err != nil {
		t.Fatalf("Organization: %v", err)
	}
	units, err := f.org.Units(ctx, o.RootID)
	if err != nil {
		t.Fatalf("Units under the root: %v", err)
	}
	var prodOU string
	for _, u := range units {
		if u.Name == "production" {
			prodOU = u.ID
		}
	}
	scp, err := f.org.CreatePolicy(ctx, identity.Call{Caller: f.ds.Caller, Context: f.ds.Context}, "no-approvals", "", org.SCPType,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sagemaker:UpdateModelPackage","Resource":"*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.org.AttachPolicy(ctx, identity.Call{Caller: f.ds.Caller, Context: f.ds.Context}, scp.ID, prodOU); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		call   registry.Call
		denied bool
	}{{"production", f.production, true}, {"staging", f.staging, false}, {"data-science (management, exempt)", f.ds, false}} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := f.reg.CreateGroup(ctx, c.call, "g", "", nil); err != nil {
				t.Fatal(err)
			}
			p, err := f.reg.CreatePackage(ctx, c.call, registry.CreateInput{Group: "g"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.reg.UpdatePackage(ctx, c.call, registry.UpdateInput{ARN: p.ARN, ApprovalStatus: registry.Approved})
			if got := errs.Is(err, errs.AccessDenied); got != c.denied {
				t.Fatalf("update: err = %v, denied = %v, want %v", err, got, c.denied)
			}
			if c.denied && !strings.Contains(errs.Message(err), "explicit deny") {
				t.Errorf("message %q does not say an explicit deny decided", errs.Message(err))
			}
		})
	}
}

func TestUpdateRecordsWhoAndEmitsEvents(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.group(t, "abalone")
	p, err := f.reg.CreatePackage(ctx, f.ds, registry.CreateInput{Group: "abalone"})
	if err != nil {
		t.Fatal(err)
	}
	desc := "metrics look good"
	up, err := f.reg.UpdatePackage(ctx, f.ds, registry.UpdateInput{ARN: p.ARN, ApprovalStatus: registry.Approved, ApprovalDescription: &desc})
	if err != nil {
		t.Fatal(err)
	}
	if up.ModifiedBy == nil || up.ModifiedBy.IamIdentity.Arn != f.ds.Caller.ARN || up.ApprovalDescription != desc {
		t.Errorf("updated package = %+v", up)
	}
	if _, err := f.reg.UpdatePackage(ctx, f.ds, registry.UpdateInput{ARN: p.ARN, ApprovalStatus: registry.Pending}); !errs.Is(err, errs.Invalid) {
		t.Errorf("Approved → Pending: err = %v, want Invalid", err)
	}
	evs := f.registryEvents(t)
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2 (creation, approval)", len(evs))
	}
	var detail struct {
		ModelApprovalStatus string
		ModelPackageArn     string
		ModelPackageVersion int
	}
	if err := json.Unmarshal(evs[1].Detail, &detail); err != nil {
		t.Fatal(err)
	}
	env := evs[1].Envelope()
	if detail.ModelApprovalStatus != "Approved" || detail.ModelPackageArn != p.ARN || detail.ModelPackageVersion != 1 ||
		env.DetailType != "SageMaker Model Package State Change" || env.Source != "aws.sagemaker" || env.Resources[0] != p.ARN {
		t.Errorf("approval event = %+v detail %s", env, evs[1].Detail)
	}
}

// TestApprovalHistory: a package's history holds its status at creation and every update of
// its approval status or description, with who and when; a metadata-only update and a refused
// update add nothing; the history keeps the newest MaxHistory entries.
func TestApprovalHistory(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.group(t, "abalone")
	p, err := f.reg.CreatePackage(ctx, f.ds, registry.CreateInput{Group: "abalone"})
	if err != nil {
		t.Fatal(err)
	}
	ok, again := "looks good", "rejected after review"
	for _, in := range []registry.UpdateInput{
		{ARN: p.ARN, ApprovalStatus: registry.Approved, ApprovalDescription: &ok},
		{ARN: p.ARN, CustomerMetadataProperties: map[string]string{"k": "v"}},
		{ARN: p.ARN, ApprovalStatus: registry.Rejected, ApprovalDescription: &again},
	} {
		if _, err := f.reg.UpdatePackage(ctx, f.ds, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.reg.UpdatePackage(ctx, f.ds, registry.UpdateInput{ARN: p.ARN, ApprovalStatus: registry.Pending}); err == nil {
		t.Fatal("Rejected → Pending accepted")
	}
	got, err := f.reg.DescribePackage(ctx, f.ds, p.ARN)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, h := range got.History {
		if h.By != f.ds.Caller.ARN || h.At.IsZero() {
			t.Errorf("history entry %+v lacks who or when", h)
		}
		steps = append(steps, string(h.Status)+"|"+h.Description)
	}
	want := []string{"PendingManualApproval|", "Approved|looks good", "Rejected|rejected after review"}
	if strings.Join(steps, ",") != strings.Join(want, ",") {
		t.Errorf("history = %q, want %q", steps, want)
	}
	for i := range registry.MaxHistory {
		d := strconv.Itoa(i)
		if _, err := f.reg.UpdatePackage(ctx, f.ds, registry.UpdateInput{ARN: p.ARN, ApprovalDescription: &d}); err != nil {
			t.Fatal(err)
		}
	}
	got, _ = f.reg.DescribePackage(ctx, f.ds, p.ARN)
	if n := len(got.History); n != registry.MaxHistory || got.History[n-1].Description != strconv.Itoa(registry.MaxHistory-1) || got.History[0].Description != "0" {
		t.Errorf("a long history: %d entries, first %+v", n, got.History[0])
	}
}

func TestConcurrentCreateHasNoGaps(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.group(t, "race")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				if _, err := f.reg.CreatePackage(ctx, f.ds, registry.CreateInput{Group: "race"}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	ps, err := f.reg.ListPackages(ctx, f.ds, registry.PackageQuery{GroupName: "race", SortBy: "Name", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		if p.Version != i+1 {
			t.Fatalf("version at %d is %d", i, p.Version)
		}
	}
	if len(ps) != 40 {
		t.Errorf("%d packages, want 40", len(ps))
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.group(t, "g")
	cases := []struct {
		name string
		do   func() error
		kind errs.Kind
	}{
		{"bad group name", func() error { _, err := f.reg.CreateGroup(ctx, f.ds, "bad name!", "", nil); return err }, errs.Invalid},
		{"duplicate group", func() error { _, err := f.reg.CreateGroup(ctx, f.ds, "g", "", nil); return err }, errs.Conflict},
		{"missing group", func() error {
			_, err := f.reg.CreatePackage(ctx, f.ds, registry.CreateInput{Group: "nope"})
			return err
		}, errs.NotFound},
		{"bad status", func() error {
			_, err := f.reg.CreatePackage(ctx, f.ds, registry.CreateInput{Group: "g", ApprovalStatus: "Maybe"})
			return err
		}, errs.Invalid},
		{"malformed policy", func() error { return f.reg.PutGroupPolicy(ctx, f.ds, "g", `{"Statement":[{"Effect":"Allow"}]}`) }, errs.Invalid},
		{"not an ARN", func() error { _, err := f.reg.DescribePackage(ctx, f.ds, "abalone/1"); return err }, errs.Invalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.do(); !errs.Is(err, c.kind) {
				t.Errorf("err = %v, want kind %v", err, c.kind)
			}
		})
	}
	if evs := f.registryEvents(t); len(evs) != 0 {
		t.Errorf("bad input wrote %d events", len(evs))
	}
	if g, err := f.reg.DescribeGroup(ctx, f.ds, "g"); err != nil {
		t.Errorf("DescribeGroup g: %v", err)
	} else if g.Policy != "" {
		t.Errorf("a malformed policy was stored: %q", g.Policy)
	}
}

func TestResourceAndRequestTagConditions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if _, err := f.reg.CreateGroup(ctx, f.ds, "frozen", "", map[string]string{"stage": "frozen"}); err != nil {
		t.Fatal(err)
	}
	f.group(t, "open")
	if _, err := f.id.CreateUser(ctx, identity.Call{Caller: f.ds.Caller, Context: f.ds.Context}, "reader", "/", nil); err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["sagemaker:DescribeModelPackageGroup","sagemaker:CreateModelPackageGroup"],"Resource":"*"},
		{"Effect":"Deny","Action":"sagemaker:DescribeModelPackageGroup","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/stage":"frozen"}}},
		{"Effect":"Deny","Action":"sagemaker:CreateModelPackageGroup","Resource":"*","Condition":{"Null":{"aws:RequestTag/team":"true"}}}]}`
	if err := f.id.PutInlinePolicy(ctx, identity.Call{Caller: f.ds.Caller, Context: f.ds.Context}, identity.KindUser, "reader", "p", policy); err != nil {
		t.Fatal(err)
	}
	p, err := f.id.Principal(ctx, f.ds.Caller.Account, identity.KindUser, "reader")
	if err != nil {
		t.Fatalf("Principal reader: %v", err)
	}
	reader := registry.Call{Caller: identity.Caller{Account: p.Account, ARN: p.ARN, PrincipalARN: p.ARN, UserID: p.ID, Kind: identity.KindUser, Name: "reader"}}
	if _, err := f.reg.DescribeGroup(ctx, reader, "open"); err != nil {
		t.Errorf("untagged group: %v", err)
	}
	if _, err := f.reg.DescribeGroup(ctx, reader, "frozen"); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("group tagged stage=frozen: err = %v, want AccessDenied", err)
	}
	if _, err := f.reg.CreateGroup(ctx, reader, "untagged", "", nil); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("create without a team tag: err = %v, want AccessDenied", err)
	}
	if _, err := f.reg.CreateGroup(ctx, reader, "tagged", "", map[string]string{"team": "ml"}); err != nil {
		t.Errorf("create with a team tag: %v", err)
	}
}
