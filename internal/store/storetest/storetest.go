// Package storetest is the store conformance suite: one set of tests that every store backend
// (SQLite and PostgreSQL) must pass, plus helpers that open a fresh store of each kind.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/org"
	"github.com/slipway-ml/slipway/internal/randid"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/store/pgtest"
)

// PostgresEnv names the variable holding an admin DSN of a throwaway PostgreSQL (make test sets it).
const PostgresEnv = pgtest.Env

// OpenSQLite opens a fresh SQLite store in a temporary directory.
func OpenSQLite(t testing.TB) *store.Store {
	t.Helper()
	file := t.TempDir() + "/slipway.db"
	st, err := store.Open(context.Background(), file, nil)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	remember(t, st, "sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	return st
}

// PostgresDSN returns a DSN of a fresh, empty database on the throwaway PostgreSQL server,
// dropped when the test ends. Without the server it fails the test: PostgreSQL runs always.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	return pgtest.Database(t)
}

// OpenPostgres opens a store on a fresh PostgreSQL database.
func OpenPostgres(t testing.TB) *store.Store {
	t.Helper()
	dsn := PostgresDSN(t)
	st, err := store.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	remember(t, st, "pgx", dsn)
	return st
}

// Run runs the conformance suite against stores made by open (a fresh one per subtest).
func Run(t *testing.T, open func(t testing.TB) *store.Store) {
	t.Run("Migrations", func(t *testing.T) { testMigrations(t, open) })
	t.Run("Organization", func(t *testing.T) { testOrganization(t, open(t)) })
	t.Run("Identity", func(t *testing.T) { testIdentity(t, open(t)) })
	t.Run("Registry", func(t *testing.T) { testRegistry(t, open(t)) })
	t.Run("ConcurrentVersions", func(t *testing.T) { testConcurrentVersions(t, open(t)) })
	t.Run("ClientToken", func(t *testing.T) { testClientToken(t, open(t)) })
	t.Run("EventsOrdered", func(t *testing.T) { testEventsOrdered(t, open(t)) })
	t.Run("EventFailureRollsBack", func(t *testing.T) { testEventFailureRollsBack(t, open(t)) })
	t.Run("Subscription", func(t *testing.T) { testSubscription(t, open(t)) })
	t.Run("AuditChain", func(t *testing.T) { testAuditChain(t, open(t)) })
	t.Run("AuditTailRewritten", func(t *testing.T) { testAuditTailRewritten(t, open(t)) })
	t.Run("AuditInTransaction", func(t *testing.T) { testAuditInTransaction(t, open(t)) })
	t.Run("KeyQuotaUnderConcurrency", func(t *testing.T) { testKeyQuota(t, open(t)) })
	t.Run("DeleteGroupRacesCreate", func(t *testing.T) { testDeleteGroupRace(t, open(t)) })
	t.Run("Logs", func(t *testing.T) { testLogs(t, open(t)) })
	t.Run("Jobs", func(t *testing.T) { testJobs(t, open(t)) })
	t.Run("JobBatch", func(t *testing.T) { testJobBatch(t, open(t)) })
	t.Run("Serving", func(t *testing.T) { testServing(t, open(t)) })
	t.Run("EventRules", func(t *testing.T) { testEventRules(t, open(t)) })
	t.Run("ServingRollout", func(t *testing.T) { testServingRollout(t, open(t)) })
	t.Run("Stacks", func(t *testing.T) { testStacks(t, open(t)) })
	t.Run("StackSets", func(t *testing.T) { testStackSets(t, open(t)) })
	t.Run("Pipelines", func(t *testing.T) { testPipelines(t, open(t)) })
	t.Run("Delivery", func(t *testing.T) { testDelivery(t, open(t)) })
	t.Run("Builds", func(t *testing.T) { testBuilds(t, open(t)) })
	t.Run("Webhooks", func(t *testing.T) { testWebhooks(t, open(t)) })
	t.Run("Projects", func(t *testing.T) { testProjects(t, open(t)) })
	t.Run("Console", func(t *testing.T) { testConsole(t, open(t)) })
	t.Run("Alarms", func(t *testing.T) { testAlarms(t, open(t)) })
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func testMigrations(t *testing.T, open func(t testing.TB) *store.Store) {
	st := open(t)
	v, err := st.SchemaVersion(context.Background())
	if err != nil || v < 1 {
		t.Fatalf("SchemaVersion = %d, %v; want ≥ 1", v, err)
	}
}

func testOrganization(t *testing.T, st *store.Store) {
	ctx := context.Background()
	if _, err := st.Org().GetOrganization(ctx); !errs.Is(err, errs.NotFound) {
		t.Fatalf("GetOrganization on an empty store: err = %v, want NotFound", err)
	}
	o := org.Organization{ID: "o-abc", ARN: "arn:o", ManagementAccount: "111111111111", RootID: "r-ab12", CreatedAt: t0}
	mgmt := org.Account{ID: "111111111111", ARN: "arn:a", Name: "ds", Email: "ds@x", ParentID: "r-ab12", Status: "ACTIVE", JoinedMethod: "CREATED", JoinedAt: t0, CreateRequestID: "car-1"}
	full := org.Policy{ID: org.FullAccessID, ARN: "arn:p", Name: org.FullAccessName, Type: org.SCPType, Content: "{}", AWSManaged: true}
	if err := st.Org().CreateOrganization(ctx, o, mgmt, full); err != nil {
		t.Fatal(err)
	}
	if err := st.Org().CreateOrganization(ctx, o, mgmt, full); !errs.Is(err, errs.Conflict) {
		t.Errorf("second CreateOrganization: err = %v, want Conflict", err)
	}
	got, err := st.Org().GetOrganization(ctx)
	if err != nil || !cmp.Equal(got, o) {
		t.Errorf("GetOrganization = %+v, %v; want %+v", got, err, o)
	}
	u := org.Unit{ID: "ou-ab12-1", ARN: "arn:u", Name: "staging", ParentID: "r-ab12"}
	if err := st.Org().CreateUnit(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := st.Org().CreateUnit(ctx, org.Unit{ID: "ou-ab12-2", Name: "staging", ParentID: "r-ab12"}); !errs.Is(err, errs.Conflict) {
		t.Errorf("duplicate OU name: err = %v, want Conflict", err)
	}
	acct := org.Account{ID: "222222222222", ARN: "arn:a2", Name: "staging", Email: "st@x", ParentID: u.ID, Status: "ACTIVE", JoinedMethod: "CREATED", JoinedAt: t0, CreateRequestID: "car-2"}
	orgEvent := func(name string) events.Event {
		return events.Event{ID: randid.UUID(), Account: "111111111111", Source: org.EventSource, DetailType: org.EventDetailType,
			Time: t0, Detail: json.RawMessage(`{"eventName":"` + name + `"}`)}
	}
	// orgEvents returns the names of the organization events committed so far.
	orgEvents := func() []string {
		evs, err := st.Events().EventsAfter(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, ev := range evs {
			if ev.Source == org.EventSource {
				var d org.EventDetail
				json.Unmarshal(ev.Detail, &d)
				names = append(names, d.EventName)
			}
		}
		return names
	}
	if err := st.Org().CreateAccount(ctx, acct, orgEvent("CreateAccount")); err != nil {
		t.Fatal(err)
	}
	if err := st.Org().CreateAccount(ctx, org.Account{ID: "333333333333", Name: "staging", Email: "o@x", CreateRequestID: "car-3"}, orgEvent("CreateAccount")); !errs.Is(err, errs.Conflict) {
		t.Errorf("duplicate account name: err = %v, want Conflict", err)
	}
	if a, err := st.Org().GetAccountByRequest(ctx, "car-2"); err != nil || a.ID != acct.ID {
		t.Errorf("GetAccountByRequest = %v, %v", a.ID, err)
	}
	if as, _ := st.Org().ListAccounts(ctx, u.ID); len(as) != 1 || as[0].Name != "staging" {
		t.Errorf("ListAccounts(ou) = %+v", as)
	}
	if as, _ := st.Org().ListAccounts(ctx, ""); len(as) != 2 {
		t.Errorf("ListAccounts(all) = %d accounts, want 2", len(as))
	}
	if err := st.Org().MoveAccount(ctx, acct.ID, "r-ab12", u.ID, orgEvent("MoveAccount")); !errs.Is(err, errs.NotFound) {
		t.Errorf("MoveAccount from the wrong parent: err = %v, want NotFound", err)
	}
	if err := st.Org().MoveAccount(ctx, acct.ID, u.ID, "r-ab12", orgEvent("MoveAccount")); err != nil {
		t.Fatal(err)
	}
	// A change commits its event; a refused one (a duplicate, a wrong parent) commits none.
	if got, want := orgEvents(), []string{"CreateAccount", "MoveAccount"}; !cmp.Equal(got, want) {
		t.Errorf("organization events = %v; want %v", got, want)
	}
	scp := org.Policy{ID: "p-deny", ARN: "arn:p2", Name: "deny", Type: org.SCPType, Content: `{"x":1}`}
	if err := st.Org().CreatePolicy(ctx, scp); err != nil {
		t.Fatal(err)
	}
	if err := st.Org().AttachPolicy(ctx, scp.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.Org().AttachPolicy(ctx, scp.ID, u.ID); !errs.Is(err, errs.Conflict) {
		t.Errorf("double attach: err = %v, want Conflict", err)
	}
	ps, err := st.Org().ListPoliciesForTarget(ctx, u.ID)
	if err != nil || len(ps) != 1 || ps[0].Content != `{"x":1}` {
		t.Errorf("ListPoliciesForTarget = %+v, %v", ps, err)
	}
	if err := st.Org().DetachPolicy(ctx, scp.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.Org().DetachPolicy(ctx, scp.ID, u.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("double detach: err = %v, want NotFound", err)
	}
}

func testIdentity(t *testing.T, st *store.Store) {
	ctx := context.Background()
	u := identity.Principal{Account: "111111111111", Kind: identity.KindUser, Name: "alice", ID: "AIDA1", ARN: "arn:aws:iam::111111111111:user/alice", Path: "/", Tags: map[string]string{"team": "ml"}, CreatedAt: t0}
	if err := st.Identity().CreatePrincipal(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := st.Identity().CreatePrincipal(ctx, u); !errs.Is(err, errs.Conflict) {
		t.Errorf("duplicate user: err = %v, want Conflict", err)
	}
	got, err := st.Identity().GetPrincipal(ctx, u.Account, u.Kind, u.Name)
	if err != nil || !cmp.Equal(got, u) {
		t.Errorf("GetPrincipal = %+v, %v\nwant %+v", got, err, u)
	}
	if _, err := st.Identity().GetPrincipal(ctx, "222222222222", u.Kind, u.Name); !errs.Is(err, errs.NotFound) {
		t.Errorf("principal of another account: err = %v, want NotFound", err)
	}
	if err := st.Identity().PutInlinePolicy(ctx, u.Account, u.Kind, u.Name, identity.InlinePolicy{Name: "p", Document: "d1"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Identity().PutInlinePolicy(ctx, u.Account, u.Kind, u.Name, identity.InlinePolicy{Name: "p", Document: "d2"}); err != nil {
		t.Fatal(err)
	}
	mp := identity.ManagedPolicy{Account: u.Account, Name: "m", ID: "ANPA1", ARN: "arn:aws:iam::111111111111:policy/m", Path: "/", Document: "d3", CreatedAt: t0, UpdatedAt: t0}
	if err := st.Identity().CreateManagedPolicy(ctx, mp); err != nil {
		t.Fatal(err)
	}
	if err := st.Identity().Attach(ctx, u.Account, u.Kind, u.Name, mp.ARN); err != nil {
		t.Fatal(err)
	}
	docs, err := st.Identity().PoliciesOf(ctx, u.Account, u.Kind, u.Name)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, d := range docs {
		texts = append(texts, d.Document)
	}
	sort.Strings(texts)
	if diff := cmp.Diff([]string{"d2", "d3"}, texts); diff != "" {
		t.Errorf("PoliciesOf documents (-want +got):\n%s", diff)
	}
	if err := st.Identity().DeletePrincipal(ctx, u.Account, u.Kind, u.Name); !errs.Is(err, errs.Conflict) {
		t.Errorf("deleting a user with policies: err = %v, want Conflict", err)
	}
	k := identity.AccessKey{ID: "AKIAEXAMPLE", Account: u.Account, UserName: u.Name, SealedSecret: "sealed", Status: "Active", CreatedAt: t0}
	if err := st.Identity().CreateAccessKey(ctx, k, 2); err != nil {
		t.Fatal(err)
	}
	gk, err := st.Identity().GetAccessKey(ctx, k.ID)
	if err != nil || !cmp.Equal(gk, k) {
		t.Errorf("GetAccessKey = %+v, %v; want %+v", gk, err, k)
	}
	for _, step := range []func() error{
		func() error { return st.Identity().DeleteAccessKey(ctx, u.Account, u.Name, k.ID) },
		func() error { return st.Identity().Detach(ctx, u.Account, u.Kind, u.Name, mp.ARN) },
		func() error { return st.Identity().DeleteInlinePolicy(ctx, u.Account, u.Kind, u.Name, "p") },
		func() error { return st.Identity().DeletePrincipal(ctx, u.Account, u.Kind, u.Name) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Identity().GetAccessKey(ctx, k.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("deleted key: err = %v, want NotFound", err)
	}
}

func newPackage(account, group string, v int, token string) (registry.Package, events.Event) {
	p := registry.Package{
		Account: account, GroupName: group, Version: v, ARN: fmt.Sprintf("arn:pkg/%s/%d", group, v),
		Status: "Completed", ApprovalStatus: registry.Pending, ClientToken: token, CreatedAt: t0.Add(time.Duration(v) * time.Second),
		ModifiedAt: t0, Details: map[string]json.RawMessage{"ModelMetrics": json.RawMessage(`{"a":1}`)},
	}
	ev := events.Event{ID: randid.UUID(), Account: account, Source: "aws.sagemaker", DetailType: "x", Time: t0, Resources: []string{p.ARN}, Detail: json.RawMessage(fmt.Sprintf(`{"v":%d}`, v))}
	return p, ev
}

func createGroup(t *testing.T, st *store.Store, account, name string) {
	t.Helper()
	g := registry.Group{Account: account, Name: name, ARN: "arn:group/" + account + "/" + name, Status: "Completed", CreatedAt: t0}
	if err := update(context.Background(), st, func(tx registry.Tx) error { return tx.CreateGroup(context.Background(), g) }); err != nil {
		t.Fatal(err)
	}
}

func update(ctx context.Context, st *store.Store, fn func(tx registry.Tx) error) error {
	return st.Registry().Update(ctx, fn)
}

// createPackage does what the registry does to create a package: the client token's package
// if there is one, or the next version with its event.
func createPackage(ctx context.Context, st *store.Store, account, group, token string) (registry.Package, error) {
	var out registry.Package
	err := update(ctx, st, func(tx registry.Tx) error {
		if token != "" {
			p, err := tx.PackageByClientToken(ctx, account, group, token)
			if err == nil {
				out = p
				return nil
			}
			if !errs.Is(err, errs.NotFound) {
				return err
			}
		}
		v, err := tx.NextVersion(ctx, account, group)
		if err != nil {
			return err
		}
		p, ev := newPackage(account, group, v, token)
		if err := tx.InsertPackage(ctx, p); err != nil {
			return err
		}
		out = p
		return tx.AppendEvent(ctx, ev)
	})
	return out, err
}

// updatePackage changes a package as the registry does, with its event.
func updatePackage(ctx context.Context, st *store.Store, account, group string, version int, change func(p *registry.Package) (events.Event, error)) (registry.Package, error) {
	var out registry.Package
	err := update(ctx, st, func(tx registry.Tx) error {
		p, err := tx.LockPackage(ctx, account, group, version)
		if err != nil {
			return err
		}
		ev, err := change(&p)
		if err != nil {
			return err
		}
		if err := tx.UpdatePackage(ctx, p); err != nil {
			return err
		}
		out = p
		return tx.AppendEvent(ctx, ev)
	})
	return out, err
}

func testRegistry(t *testing.T, st *store.Store) {
	ctx := context.Background()
	createGroup(t, st, "111111111111", "abalone")
	if err := update(ctx, st, func(tx registry.Tx) error {
		return tx.CreateGroup(ctx, registry.Group{Account: "111111111111", Name: "abalone", ARN: "arn:other"})
	}); !errs.Is(err, errs.Conflict) {
		t.Errorf("duplicate group: err = %v, want Conflict", err)
	}
	if _, err := createPackage(ctx, st, "111111111111", "nope", ""); !errs.Is(err, errs.NotFound) {
		t.Errorf("package in a missing group: err = %v, want NotFound", err)
	}
	for i := 0; i < 3; i++ {
		p, err := createPackage(ctx, st, "111111111111", "abalone", "")
		if err != nil || p.Version != i+1 {
			t.Fatalf("CreatePackage #%d: version %d, %v", i+1, p.Version, err)
		}
	}
	got, err := st.Registry().GetPackage(ctx, "111111111111", "abalone", 2)
	if err != nil || string(got.Details["ModelMetrics"]) != `{"a":1}` {
		t.Fatalf("GetPackage = %+v, %v", got, err)
	}
	change := registry.ApprovalChange{Status: registry.Approved, Description: "ok <b>", By: "arn:aws:iam::111111111111:user/a", At: t0.Add(time.Minute)}
	up, err := updatePackage(ctx, st, "111111111111", "abalone", 2, func(p *registry.Package) (events.Event, error) {
		p.ApprovalStatus = registry.Approved
		p.History = append(p.History, change)
		_, ev := newPackage("111111111111", "abalone", 2, "")
		return ev, nil
	})
	if err != nil || up.ApprovalStatus != registry.Approved {
		t.Fatalf("UpdatePackage = %+v, %v", up, err)
	}
	if got, err := st.Registry().GetPackage(ctx, "111111111111", "abalone", 2); err != nil || len(got.History) != 1 || !got.History[0].At.Equal(change.At) ||
		got.History[0].Status != change.Status || got.History[0].Description != change.Description || got.History[0].By != change.By {
		t.Errorf("the approval history after UpdatePackage = %+v, %v; want [%+v]", got.History, err, change)
	}
	approved, err := st.Registry().ListPackages(ctx, "111111111111", registry.PackageQuery{GroupName: "abalone", ApprovalStatus: registry.Approved})
	if err != nil || len(approved) != 1 || approved[0].Version != 2 {
		t.Errorf("ListPackages(Approved) = %+v, %v", approved, err)
	}
	desc, _ := st.Registry().ListPackages(ctx, "111111111111", registry.PackageQuery{GroupName: "abalone", SortBy: "CreationTime", Descending: true, Limit: 2, Offset: 1})
	if len(desc) != 2 || desc[0].Version != 2 || desc[1].Version != 1 {
		t.Errorf("ListPackages(desc, offset 1, limit 2) versions = %v", versions(desc))
	}
	// A failed change writes nothing: neither the package nor its event.
	before, _ := st.Events().EventsAfter(ctx, 0, 1000)
	_, err = updatePackage(ctx, st, "111111111111", "abalone", 3, func(p *registry.Package) (events.Event, error) {
		p.ApprovalStatus = registry.Rejected
		return events.Event{}, errs.E(errs.Invalid, "no")
	})
	if !errs.Is(err, errs.Invalid) {
		t.Errorf("failing change: err = %v, want Invalid", err)
	}
	after, _ := st.Events().EventsAfter(ctx, 0, 1000)
	if p3, _ := st.Registry().GetPackage(ctx, "111111111111", "abalone", 3); p3.ApprovalStatus != registry.Pending || len(after) != len(before) {
		t.Errorf("a failed change left traces: status %s, events %d → %d", p3.ApprovalStatus, len(before), len(after))
	}
	if err := update(ctx, st, func(tx registry.Tx) error { return tx.DeleteGroup(ctx, "111111111111", "abalone") }); !errs.Is(err, errs.Conflict) {
		t.Errorf("deleting a non-empty group: err = %v, want Conflict", err)
	}
	if err := update(ctx, st, func(tx registry.Tx) error { return tx.SetGroupPolicy(ctx, "111111111111", "abalone", `{"p":1}`) }); err != nil {
		t.Fatal(err)
	}
	if g, _ := st.Registry().GetGroup(ctx, "111111111111", "abalone"); g.Policy != `{"p":1}` {
		t.Errorf("group policy = %q", g.Policy)
	}
	if err := update(ctx, st, func(tx registry.Tx) error { return tx.AddTags(ctx, "arn:x", map[string]string{"a": "1", "b": "2"}) }); err != nil {
		t.Fatal(err)
	}
	update(ctx, st, func(tx registry.Tx) error { return tx.AddTags(ctx, "arn:x", map[string]string{"a": "3"}) })
	update(ctx, st, func(tx registry.Tx) error { return tx.DeleteTags(ctx, "arn:x", []string{"b"}) })
	if tags, _ := st.Registry().ListTags(ctx, "arn:x"); !cmp.Equal(tags, map[string]string{"a": "3"}) {
		t.Errorf("tags = %v", tags)
	}
}

func versions(ps []registry.Package) []int {
	var v []int
	for _, p := range ps {
		v = append(v, p.Version)
	}
	return v
}

// testConcurrentVersions creates packages from 16 goroutines and checks the versions are exactly
// 1..N: no gaps, no duplicates.
func testConcurrentVersions(t *testing.T, st *store.Store) {
	ctx := context.Background()
	createGroup(t, st, "111111111111", "race")
	const writers, each = 16, 10
	var wg sync.WaitGroup
	errc := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				_, err := createPackage(ctx, st, "111111111111", "race", "")
				if err != nil {
					errc <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("concurrent CreatePackage: %v", err)
	}
	ps, err := st.Registry().ListPackages(ctx, "111111111111", registry.PackageQuery{GroupName: "race", SortBy: "Name", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		if p.Version != i+1 {
			t.Fatalf("versions are not 1..%d: position %d holds %d", writers*each, i, p.Version)
		}
	}
	if len(ps) != writers*each {
		t.Errorf("%d packages, want %d", len(ps), writers*each)
	}
}

func testClientToken(t *testing.T, st *store.Store) {
	ctx := context.Background()
	createGroup(t, st, "111111111111", "idem")
	var wg sync.WaitGroup
	got := make([]int, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := createPackage(ctx, st, "111111111111", "idem", "token-1")
			if err != nil {
				t.Errorf("CreatePackage with a client token: %v", err)
			}
			got[i] = p.Version
		}()
	}
	wg.Wait()
	for _, v := range got {
		if v != 1 {
			t.Fatalf("retries with one client token made versions %v, want all 1", got)
		}
	}
}

func testEventsOrdered(t *testing.T, st *store.Store) {
	ctx := context.Background()
	createGroup(t, st, "111111111111", "ev")
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				createPackage(ctx, st, "111111111111", "ev", "")
			}
		}()
	}
	wg.Wait()
	var all []events.Event
	var after int64
	for {
		page, err := st.Events().EventsAfter(ctx, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1].Seq
	}
	if len(all) != 40 {
		t.Fatalf("%d events, want 40", len(all))
	}
	for i, ev := range all {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: sequence must be 1..N in order", i, ev.Seq)
		}
		var d struct{ V int }
		if err := json.Unmarshal(ev.Detail, &d); err != nil || d.V < 1 {
			t.Fatalf("event detail %s: %v", ev.Detail, err)
		}
	}
}

// testEventFailureRollsBack makes the event insert of a package creation fail (its id is taken)
// and checks that nothing of the transaction stays: not the package, not its tags, not its
// version number.
func testEventFailureRollsBack(t *testing.T, st *store.Store) {
	ctx := context.Background()
	createGroup(t, st, "111111111111", "outbox")
	first, err := createPackage(ctx, st, "111111111111", "outbox", "")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := st.Events().EventsAfter(ctx, 0, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("EventsAfter = %v, %v; want the first package's event", evs, err)
	}
	taken := evs[0].ID
	err = update(ctx, st, func(tx registry.Tx) error {
		v, err := tx.NextVersion(ctx, "111111111111", "outbox")
		if err != nil {
			return err
		}
		p, ev := newPackage("111111111111", "outbox", v, "tok")
		if err := tx.InsertPackage(ctx, p); err != nil {
			return err
		}
		if err := tx.AddTags(ctx, p.ARN, map[string]string{"stage": "dev"}); err != nil {
			return err
		}
		ev.ID = taken
		return tx.AppendEvent(ctx, ev)
	})
	if err == nil {
		t.Fatal("a package whose event cannot be inserted was committed")
	}
	if _, err := st.Registry().GetPackage(ctx, "111111111111", "outbox", first.Version+1); !errs.Is(err, errs.NotFound) {
		t.Errorf("the package of the failed transaction: err = %v, want NotFound", err)
	}
	if tags, _ := st.Registry().ListTags(ctx, "arn:pkg/outbox/2"); len(tags) != 0 {
		t.Errorf("the failed transaction's tags stayed: %v", tags)
	}
	if evs, _ := st.Events().EventsAfter(ctx, 0, 10); len(evs) != 1 {
		t.Errorf("%d events after the failed transaction, want 1", len(evs))
	}
	next, err := createPackage(ctx, st, "111111111111", "outbox", "")
	if err != nil || next.Version != first.Version+1 {
		t.Errorf("next package: version %d, %v; want %d (the failed one's number was not used)", next.Version, err, first.Version+1)
	}
}

// Consumer runs a subscription of st's events for a test and collects what it is handed.
type Consumer struct {
	Got  chan events.Event
	stop context.CancelFunc
	done chan error
}

// StartConsumer runs the named consumer on feed until Stop. It is woken only by commits: its
// resync interval is an hour, so a missing wake-up fails the test instead of being papered
// over by polling. fail, if not nil, may refuse an event (it is then handed over again).
func StartConsumer(t testing.TB, feed events.Feed, name string, fail func(events.Event) bool) *Consumer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Consumer{Got: make(chan events.Event, 100), stop: cancel, done: make(chan error, 1)}
	sub := events.Subscribe(feed, name, func(ctx context.Context, ev events.Event) error {
		c.Got <- ev
		if fail != nil && fail(ev) {
			return errs.E(errs.Unavailable, "refused once")
		}
		return nil
	}, nil)
	sub.Resync = time.Hour
	sub.MaxBackoff = 20 * time.Millisecond
	go func() { c.done <- sub.Run(ctx) }()
	t.Cleanup(c.Stop)
	return c
}

// Stop stops the consumer and waits for it.
func (c *Consumer) Stop() {
	if c.stop != nil {
		c.stop()
		<-c.done
		c.stop = nil
	}
}

// Next returns the next event handed over, failing the test after 10 s without one.
func (c *Consumer) Next(t testing.TB) events.Event {
	t.Helper()
	select {
	case ev := <-c.Got:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event was delivered within 10 s (was the consumer woken on commit?)")
		return events.Event{}
	}
}

// testSubscription checks delivery in order, wake-up on commit, redelivery after a handler
// error, and a restarted consumer resuming after its stored cursor.
func testSubscription(t *testing.T, st *store.Store) {
	ctx := context.Background()
	createGroup(t, st, "111111111111", "sub")
	failed := false
	picky := StartConsumer(t, st.Events(), "picky", func(ev events.Event) bool {
		if ev.Seq == 2 && !failed {
			failed = true
			return true
		}
		return false
	})
	c := StartConsumer(t, st.Events(), "c", nil)
	for i := 0; i < 3; i++ {
		if _, err := createPackage(ctx, st, "111111111111", "sub", ""); err != nil {
			t.Fatal(err)
		}
	}
	var seqs []int64
	for i := 0; i < 3; i++ {
		seqs = append(seqs, c.Next(t).Seq)
	}
	if !sort.SliceIsSorted(seqs, func(i, j int) bool { return seqs[i] < seqs[j] }) || seqs[0] != 1 {
		t.Fatalf("delivered seqs %v, want increasing from 1", seqs)
	}
	var picked []int64
	for i := 0; i < 4; i++ {
		picked = append(picked, picky.Next(t).Seq)
	}
	if want := []int64{1, 2, 2, 3}; !cmp.Equal(picked, want) {
		t.Errorf("a consumer refusing seq 2 once was handed %v, want %v", picked, want)
	}

	c.Stop()
	if cur, err := st.Events().Cursor(ctx, "c"); err != nil || cur != seqs[2] {
		t.Fatalf("Cursor(c) = %d, %v; want %d", cur, err, seqs[2])
	}
	for i := 0; i < 2; i++ {
		if _, err := createPackage(ctx, st, "111111111111", "sub", ""); err != nil {
			t.Fatal(err)
		}
	}
	again := StartConsumer(t, st.Events(), "c", nil)
	if ev := again.Next(t); ev.Seq != seqs[2]+1 {
		t.Fatalf("the restarted consumer began at seq %d, want %d (after its cursor)", ev.Seq, seqs[2]+1)
	}
	if ev := again.Next(t); ev.Seq != seqs[2]+2 {
		t.Fatalf("then seq %d, want %d", ev.Seq, seqs[2]+2)
	}
	if err := st.Events().SaveCursor(ctx, "c", 1); err != nil {
		t.Fatal(err)
	}
	if cur, _ := st.Events().Cursor(ctx, "c"); cur < seqs[2] {
		t.Errorf("SaveCursor moved a cursor back to %d", cur)
	}
}

func testAuditChain(t *testing.T, st *store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := audit.NewLog(st.Audit(), nil)
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.RecordCall(ctx, audit.Record{Time: t0, RequestID: fmt.Sprint(i), Service: "sagemaker", Operation: "DescribeModelPackage", HTTPStatus: 200}); err != nil {
				t.Errorf("RecordCall: %v", err)
			}
		}()
	}
	wg.Wait()
	n, prob, err := audit.Verify(ctx, st.Audit())
	if err != nil || prob != nil || n != 50 {
		t.Fatalf("Verify = %d, %v, %v; want 50 intact", n, prob, err)
	}
	// Five more, one at a time: each is its own group commit.
	for i := 51; i <= 55; i++ {
		if err := l.RecordCall(ctx, audit.Record{Time: t0, RequestID: fmt.Sprint(i), HTTPStatus: 200}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	<-done
	if n, prob, err := audit.Verify(ctx, st.Audit()); err != nil || prob != nil || n != 55 {
		t.Fatalf("Verify = %d, %v, %v; want 55 intact", n, prob, err)
	}
	RawExec(t, st, `DELETE FROM audit_log WHERE last_seq > $1`, 52)
	_, prob, err = audit.Verify(ctx, st.Audit())
	if err != nil || prob == nil || prob.Seq != 53 || !strings.Contains(prob.Reason, "cut off") {
		t.Fatalf("Verify after cutting off records 53..55 = %v, %v; want a problem at 53", prob, err)
	}
	TamperAudit(t, st, 17, `{"time":"2026-11-25T12:00:00Z","requestId":"forged","httpStatus":200}`)
	_, prob, err = audit.Verify(ctx, st.Audit())
	if err != nil || prob == nil || prob.Seq != 17 {
		t.Fatalf("Verify after tampering with record 17 = %v, %v; want a problem at 17", prob, err)
	}
}

// testAuditTailRewritten rewrites the last records with hashes that chain consistently: only
// the head, kept apart from the records, shows the trail was rewritten.
func testAuditTailRewritten(t *testing.T, st *store.Store) {
	ctx := context.Background()
	for i := 1; i <= 10; i++ {
		body, _ := json.Marshal(audit.Record{Time: t0, RequestID: fmt.Sprint(i), HTTPStatus: 200})
		if err := st.Audit().AppendAudit(ctx, []time.Time{t0}, [][]byte{body}, audit.Hash); err != nil {
			t.Fatal(err)
		}
	}
	RewriteAuditTail(t, st, 8, `{"time":"2026-11-25T12:00:00Z","requestId":"innocent","httpStatus":200}`)
	n, prob, err := audit.Verify(ctx, st.Audit())
	if err != nil || prob == nil {
		t.Fatalf("Verify after rewriting records 8..10 with consistent hashes = %d, %v, %v; want a problem", n, prob, err)
	}
}

// testAuditInTransaction checks that a change made during a call commits the call's audit
// record in its own transaction, and that a change whose record cannot be appended is not made.
func testAuditInTransaction(t *testing.T, st *store.Store) {
	createGroup(t, st, "111111111111", "audited")
	ctx, pending := audit.WithPending(context.Background(), func() audit.Record {
		return audit.Record{Time: t0, RequestID: "req-1", Service: "sagemaker", Operation: "CreateModelPackage", HTTPStatus: 0}
	})
	if _, err := createPackage(ctx, st, "111111111111", "audited", ""); err != nil {
		t.Fatal(err)
	}
	if !pending.WasCommitted() {
		t.Error("the change committed but its record is not marked committed")
	}
	recs, err := st.Audit().AuditRecords(ctx, 0, 100)
	if err != nil || len(recs) != 1 || !strings.Contains(string(recs[0].Body), `"requestId":"req-1"`) || !strings.Contains(string(recs[0].Body), `"httpStatus":200`) {
		t.Fatalf("audit records = %+v, %v; want the call's record", recs, err)
	}
	if n, prob, err := audit.Verify(ctx, st.Audit()); err != nil || prob != nil || n != 1 {
		t.Fatalf("Verify = %d, %v, %v", n, prob, err)
	}
	// A read does not append: nothing changed.
	if _, err := st.Registry().GetGroup(ctx, "111111111111", "audited"); err != nil {
		t.Fatal(err)
	}
	// Break the chain's head: the record cannot be appended, so the change must fail.
	RawExec(t, st, `DELETE FROM counters WHERE name = 'audit'`)
	ctx2, _ := audit.WithPending(context.Background(), func() audit.Record {
		return audit.Record{Time: t0, RequestID: "req-2", Operation: "CreateModelPackage"}
	})
	if _, err := createPackage(ctx2, st, "111111111111", "audited", ""); err == nil {
		t.Fatal("a change whose audit record could not be appended was committed")
	}
	if _, err := st.Registry().GetPackage(ctx, "111111111111", "audited", 2); !errs.Is(err, errs.NotFound) {
		t.Errorf("package 2: err = %v, want NotFound (the change must roll back with its record)", err)
	}
}

// testKeyQuota creates keys for one user from 12 goroutines with a quota of 2: exactly 2 succeed.
func testKeyQuota(t *testing.T, st *store.Store) {
	ctx := context.Background()
	u := identity.Principal{Account: "111111111111", Kind: identity.KindUser, Name: "q", ID: "AIDAQ", ARN: "arn:aws:iam::111111111111:user/q", Path: "/", CreatedAt: t0}
	if err := st.Identity().CreatePrincipal(ctx, u); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, limited := 0, 0
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := st.Identity().CreateAccessKey(ctx, identity.AccessKey{ID: fmt.Sprintf("AKIAQUOTA%07d", i), Account: u.Account, UserName: u.Name, Status: "Active", SealedSecret: "s", CreatedAt: t0}, 2)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errs.Is(err, errs.LimitExceeded):
				limited++
			default:
				t.Errorf("CreateAccessKey: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 2 || limited != 10 {
		t.Errorf("%d keys created and %d refused, want 2 and 10", ok, limited)
	}
}

// testDeleteGroupRace deletes a group while packages are created in it: either the delete fails
// (the group holds packages) or no package of the group survives it.
func testDeleteGroupRace(t *testing.T, st *store.Store) {
	ctx := context.Background()
	for round := 0; round < 5; round++ {
		createGroup(t, st, "111111111111", "doomed")
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				createPackage(ctx, st, "111111111111", "doomed", "")
			}()
		}
		delErr := update(ctx, st, func(tx registry.Tx) error { return tx.DeleteGroup(ctx, "111111111111", "doomed") })
		wg.Wait()
		ps, err := st.Registry().ListPackages(ctx, "111111111111", registry.PackageQuery{GroupName: "doomed", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		_, gerr := st.Registry().GetGroup(ctx, "111111111111", "doomed")
		if errs.Is(gerr, errs.NotFound) && len(ps) > 0 {
			t.Fatalf("round %d: the group is gone but %d of its packages remain (delete: %v)", round, len(ps), delErr)
		}
		// Clean up for the next round.
		for _, p := range ps {
			_, ev := newPackage("111111111111", "doomed", p.Version, "")
			if err := update(ctx, st, func(tx registry.Tx) error {
				if err := tx.DeletePackage(ctx, "111111111111", "doomed", p.Version); err != nil {
					return err
				}
				return tx.AppendEvent(ctx, ev)
			}); err != nil {
				t.Fatal(err)
			}
		}
		if gerr == nil {
			if err := update(ctx, st, func(tx registry.Tx) error { return tx.DeleteGroup(ctx, "111111111111", "doomed") }); err != nil {
				t.Fatal(err)
			}
		}
	}
}
