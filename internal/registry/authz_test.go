package registry_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to watch the test database's locks

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/org"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

// user creates a user holding policy in the account of c and returns its call.
func (f *fixture) user(t *testing.T, c registry.Call, name, policy string) registry.Call {
	t.Helper()
	ctx := context.Background()
	account := c.Caller.Account
	admin := identity.Call{Caller: c.Caller, Context: c.Context}
	if _, err := f.id.CreateUser(ctx, admin, name, "/", nil); err != nil {
		t.Fatal(err)
	}
	if err := f.id.PutInlinePolicy(ctx, admin, identity.KindUser, name, "p", policy); err != nil {
		t.Fatal(err)
	}
	p, err := f.id.Principal(ctx, account, identity.KindUser, name)
	if err != nil {
		t.Fatal(err)
	}
	return registry.Call{Caller: identity.Caller{
		Account: account, ARN: p.ARN, PrincipalARN: p.ARN, UserID: p.ID, Kind: identity.KindUser, Name: name,
	}, Context: c.Context}
}

// attachSCP attaches a new SCP to the OU named ou.
func (f *fixture) attachSCP(t *testing.T, ou, doc string) {
	t.Helper()
	ctx := context.Background()
	o, err := f.org.Organization(ctx)
	if err != nil {
		t.Fatalf("Organization: %v", err)
	}
	units, err := f.org.Units(ctx, o.RootID)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		if u.Name == ou {
			scp, err := f.org.CreatePolicy(ctx, identity.Call{Caller: f.ds.Caller, Context: f.ds.Context}, "scp-"+ou, "", org.SCPType, doc)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.org.AttachPolicy(ctx, identity.Call{Caller: f.ds.Caller, Context: f.ds.Context}, scp.ID, u.ID); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no OU %s", ou)
}

const allowAll = `{"Effect":"Allow","Action":"*","Resource":"*"}`

// TestListPackagesHonoursExplicitDeny: ListModelPackages may be granted on the group's packages
// or on the group, but an explicit Deny on the packages stands, wherever it is written — an
// identity policy, the group's policy (cross-account) or an SCP. (It used to be retried against
// the group ARN, which the Deny did not name.)
func TestListPackagesHonoursExplicitDeny(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.group(t, "g")
	if _, err := f.reg.CreatePackage(ctx, f.ds, registry.CreateInput{Group: "g"}); err != nil {
		t.Fatal(err)
	}
	ds := f.ds.Caller.Account
	pkgs := fmt.Sprintf("arn:aws:sagemaker:us-east-1:%s:model-package/g/*", ds)
	groupARN := f.reg.GroupARN(ds, "g")
	list := func(c registry.Call) error {
		_, err := f.reg.ListPackages(ctx, c, registry.PackageQuery{GroupName: groupARN, Limit: 10})
		return err
	}

	t.Run("identity policy", func(t *testing.T) {
		u := f.user(t, f.ds, "lister", `{"Version":"2012-10-17","Statement":[`+allowAll+`,
			{"Effect":"Deny","Action":"sagemaker:ListModelPackages","Resource":"`+pkgs+`"}]}`)
		if err := list(u); !identity.ExplicitlyDenied(err) {
			t.Errorf("err = %v, want an explicit deny", err)
		}
	})

	share := func(statements string) {
		t.Helper()
		if err := f.reg.PutGroupPolicy(ctx, f.ds, "g", `{"Version":"2012-10-17","Statement":[`+statements+`]}`); err != nil {
			t.Fatal(err)
		}
	}
	allowStaging := fmt.Sprintf(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sagemaker:ListModelPackages","Resource":["%s","%s"]}`,
		f.staging.Caller.Account, pkgs, groupARN)
	t.Run("group policy, cross-account", func(t *testing.T) {
		share(allowStaging + fmt.Sprintf(`,{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sagemaker:ListModelPackages","Resource":"%s"}`,
			f.staging.Caller.Account, pkgs))
		if err := list(f.staging); !identity.ExplicitlyDenied(err) {
			t.Errorf("err = %v, want an explicit deny", err)
		}
	})
	t.Run("a grant on the group alone still lists", func(t *testing.T) {
		share(fmt.Sprintf(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sagemaker:ListModelPackages","Resource":"%s"}`,
			f.staging.Caller.Account, groupARN))
		if err := list(f.staging); err != nil {
			t.Errorf("implicit deny on the packages, allow on the group: %v", err)
		}
	})
	t.Run("SCP", func(t *testing.T) {
		share(allowStaging)
		if err := list(f.staging); err != nil {
			t.Fatalf("before the SCP: %v", err)
		}
		f.attachSCP(t, "staging", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sagemaker:ListModelPackages","Resource":"`+pkgs+`"}]}`)
		if err := list(f.staging); !identity.ExplicitlyDenied(err) {
			t.Errorf("err = %v, want an explicit deny", err)
		}
	})
}

// TestResourceTagsApplyToPackageCalls: the group's tags are the aws:ResourceTag/* keys of the
// calls that act on its packages as a whole (ListModelPackages, CreateModelPackage), so a
// tag-conditioned Deny stops them.
func TestResourceTagsApplyToPackageCalls(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if _, err := f.reg.CreateGroup(ctx, f.ds, "ice", "", map[string]string{"frozen": "true"}); err != nil {
		t.Fatal(err)
	}
	f.group(t, "open")
	u := f.user(t, f.ds, "builder", `{"Version":"2012-10-17","Statement":[`+allowAll+`,
		{"Effect":"Deny","Action":["sagemaker:ListModelPackages","sagemaker:CreateModelPackage"],"Resource":"*",
		 "Condition":{"StringEquals":{"aws:ResourceTag/frozen":"true"}}}]}`)
	for _, g := range []struct {
		name   string
		denied bool
	}{{"ice", true}, {"open", false}} {
		_, err := f.reg.CreatePackage(ctx, u, registry.CreateInput{Group: g.name})
		if got := identity.ExplicitlyDenied(err); got != g.denied || (!g.denied && err != nil) {
			t.Errorf("CreateModelPackage in %s: err = %v, want denied %v", g.name, err, g.denied)
		}
		_, err = f.reg.ListPackages(ctx, u, registry.PackageQuery{GroupName: g.name, Limit: 10})
		if got := identity.ExplicitlyDenied(err); got != g.denied || (!g.denied && err != nil) {
			t.Errorf("ListModelPackages of %s: err = %v, want denied %v", g.name, err, g.denied)
		}
	}
}

// TestCaseCollidingTagKeysKeepTheDeny: SageMaker tag keys are case-sensitive, so a group may
// carry frozen=true and FROZEN=false; condition keys match without regard to case, so a Deny
// on aws:ResourceTag/frozen=true sees both values and must hold every time (it used to depend
// on map order).
func TestCaseCollidingTagKeysKeepTheDeny(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if _, err := f.reg.CreateGroup(ctx, f.ds, "g", "", map[string]string{"frozen": "true", "FROZEN": "false"}); err != nil {
		t.Fatal(err)
	}
	tags, _, err := f.reg.ListTags(ctx, f.ds, f.reg.GroupARN(f.ds.Caller.Account, "g"), 0, 0)
	if err != nil || len(tags) != 2 {
		t.Fatalf("tags = %v, %v; want both keys, stored as sent", tags, err)
	}
	u := f.user(t, f.ds, "reader", `{"Version":"2012-10-17","Statement":[`+allowAll+`,
		{"Effect":"Deny","Action":"sagemaker:DescribeModelPackageGroup","Resource":"*",
		 "Condition":{"StringEquals":{"aws:ResourceTag/frozen":"true"}}}]}`)
	denied := 0
	for i := 0; i < 30; i++ {
		if _, err := f.reg.DescribeGroup(ctx, u, "g"); identity.ExplicitlyDenied(err) {
			denied++
		}
	}
	if denied != 30 {
		t.Errorf("%d of 30 Describes denied, want 30", denied)
	}
}

// TestApprovalStatusConditionKey: sagemaker:ModelApprovalStatus is the status a call registers
// or sets, so a group policy can let another account register versions for review only.
func TestApprovalStatusConditionKey(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.group(t, "g")
	ds, staging := f.ds.Caller.Account, f.staging.Caller.Account
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},
		"Action":["sagemaker:CreateModelPackage","sagemaker:UpdateModelPackage"],"Resource":"arn:aws:sagemaker:us-east-1:%s:model-package/g/*",
		"Condition":{"StringEquals":{"sagemaker:ModelApprovalStatus":"PendingManualApproval"}}}]}`, staging, ds)
	if err := f.reg.PutGroupPolicy(ctx, f.ds, "g", policy); err != nil {
		t.Fatal(err)
	}
	garn := f.reg.GroupARN(ds, "g")
	for _, status := range []registry.ApprovalStatus{registry.Approved, registry.Rejected} {
		if _, err := f.reg.CreatePackage(ctx, f.staging, registry.CreateInput{Group: garn, ApprovalStatus: status}); !errs.Is(err, errs.AccessDenied) {
			t.Errorf("staging registers %s: err = %v, want AccessDenied", status, err)
		}
	}
	p, err := f.reg.CreatePackage(ctx, f.staging, registry.CreateInput{Group: garn})
	if err != nil {
		t.Fatalf("staging registers with the default status: %v", err)
	}
	if _, err := f.reg.CreatePackage(ctx, f.staging, registry.CreateInput{Group: garn, ApprovalStatus: registry.Pending}); err != nil {
		t.Errorf("staging registers PendingManualApproval: %v", err)
	}
	if _, err := f.reg.UpdatePackage(ctx, f.staging, registry.UpdateInput{ARN: p.ARN, ApprovalStatus: registry.Approved}); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("staging approves: err = %v, want AccessDenied", err)
	}
	ps, err := f.reg.ListPackages(ctx, f.ds, registry.PackageQuery{GroupName: "g", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.ApprovalStatus != registry.Pending {
			t.Errorf("%s is %s; staging may register only PendingManualApproval", p.ARN, p.ApprovalStatus)
		}
	}
	if len(ps) != 2 {
		t.Errorf("%d packages, want 2", len(ps))
	}
}

// TestTagRules: at most 50 tags per resource, paged listing, no tags on another region's ARNs,
// and another account's tags are out of reach even when the group policy shares everything.
func TestTagRules(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	ds := f.ds.Caller.Account
	f.group(t, "g")
	garn := f.reg.GroupARN(ds, "g")
	tags := func(n int, prefix string) map[string]string {
		m := map[string]string{}
		for i := 0; i < n; i++ {
			m[fmt.Sprintf("%s%02d", prefix, i)] = "v"
		}
		return m
	}
	if _, err := f.reg.AddTags(ctx, f.ds, garn, tags(49, "k")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.AddTags(ctx, f.ds, garn, tags(2, "x")); errs.CodeOf(err) != "ValidationException" {
		t.Errorf("a 51st tag: err = %v, want ValidationException", err)
	}
	if _, err := f.reg.AddTags(ctx, f.ds, garn, map[string]string{"k00": "replaced", "x00": "v"}); err != nil {
		t.Errorf("replacing one and adding the 50th: %v", err)
	}
	if _, err := f.reg.CreateGroup(ctx, f.ds, "big", "", tags(51, "k")); errs.CodeOf(err) != "ValidationException" {
		t.Errorf("a group created with 51 tags: err = %v, want ValidationException", err)
	}
	page, more, err := f.reg.ListTags(ctx, f.ds, garn, 0, 20)
	if err != nil || len(page) != 20 || !more || page[0].Key != "k00" || page[0].Value != "replaced" {
		t.Errorf("first page = %v, more %v, %v", page, more, err)
	}
	page, more, err = f.reg.ListTags(ctx, f.ds, garn, 40, 20)
	if err != nil || len(page) != 10 || more || page[9].Key != "x00" {
		t.Errorf("last page = %v, more %v, %v", page, more, err)
	}

	west := strings.Replace(garn, "us-east-1", "us-west-2", 1)
	if _, err := f.reg.AddTags(ctx, f.ds, west, map[string]string{"a": "b"}); errs.CodeOf(err) != "ValidationException" || !strings.Contains(err.Error(), "us-west-2") || !strings.Contains(err.Error(), "us-east-1") {
		t.Errorf("AddTags on %s: err = %v, want a ValidationException naming both regions", west, err)
	}
	if n, err := f.st.Registry().ListTags(ctx, west); err != nil || len(n) != 0 {
		t.Errorf("tags stored under %s: %v, %v", west, n, err)
	}
	if _, err := f.reg.DescribeGroup(ctx, f.ds, west); errs.CodeOf(err) != "ValidationException" {
		t.Errorf("DescribeModelPackageGroup %s: err = %v, want ValidationException", west, err)
	}

	share := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sagemaker:*","Resource":"*"}]}`, f.staging.Caller.Account)
	if err := f.reg.PutGroupPolicy(ctx, f.ds, "g", share); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.AddTags(ctx, f.staging, garn, map[string]string{"evil": "1"}); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("cross-account AddTags: err = %v, want AccessDenied", err)
	}
	if err := f.reg.DeleteTags(ctx, f.staging, garn, []string{"k00"}); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("cross-account DeleteTags: err = %v, want AccessDenied", err)
	}
	if _, _, err := f.reg.ListTags(ctx, f.staging, garn, 0, 0); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("cross-account ListTags: err = %v, want AccessDenied", err)
	}
	missing := f.reg.GroupARN(ds, "nosuch")
	if _, _, err := f.reg.ListTags(ctx, f.staging, missing, 0, 0); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("cross-account ListTags of a missing group: err = %v, want AccessDenied (existence is not revealed)", err)
	}
	if all, err := f.st.Registry().ListTags(ctx, garn); err != nil || len(all) != 50 || all["evil"] != "" {
		t.Errorf("after the cross-account calls the group has %d tags: %v, %v", len(all), all, err)
	}
}

// TestClientTokenRetryReturnsTheFirstPackage: a retry with the same token returns the first
// package, whatever else differs, and writes nothing.
func TestClientTokenRetryReturnsTheFirstPackage(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.group(t, "g")
	first, err := f.reg.CreatePackage(ctx, f.ds, registry.CreateInput{Group: "g", Description: "first", ClientToken: "run-1"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.reg.CreatePackage(ctx, f.ds, registry.CreateInput{Group: "g", Description: "second", ClientToken: "run-1",
		ApprovalStatus: registry.Approved, Tags: map[string]string{"late": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if again.ARN != first.ARN || again.Description != "first" || again.ApprovalStatus != registry.Pending {
		t.Errorf("retry = %s %q %s; want %s %q %s", again.ARN, again.Description, again.ApprovalStatus, first.ARN, "first", registry.Pending)
	}
	other, err := f.reg.CreatePackage(ctx, f.ds, registry.CreateInput{Group: "g", ClientToken: "run-2"})
	if err != nil || other.Version != 2 {
		t.Errorf("another token: version %d, %v; want 2", other.Version, err)
	}
	if evs := f.registryEvents(t); len(evs) != 2 {
		t.Errorf("%d events, want 2 (the retry writes none)", len(evs))
	}
	if tags, err := f.st.Registry().ListTags(ctx, first.ARN); err != nil {
		t.Errorf("ListTags of the first package: %v", err)
	} else if len(tags) != 0 {
		t.Errorf("the retry tagged the first package: %v", tags)
	}
}

// TestClientTokenRace proves the race it tests: in every round two CreateModelPackage calls with
// one token both pass the store's ClientToken check before either commits. The first to reach
// the transaction's inside holds it (and the group's row lock) until PostgreSQL shows the other
// waiting on that lock — the other has then looked for the token and not found it. Exactly one
// package per token must come out, and both calls must return it.
func TestClientTokenRace(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.PostgresDSN(t)
	st, err := store.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	watch, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { watch.Close() })
	f := newFixtureOn(t, st)
	f.group(t, "race")

	var mu sync.Mutex
	inside := map[string]int{} // token → calls that passed the token check
	f.reg.SetCreateHook(func(token string, version int) {
		mu.Lock()
		inside[token]++
		first := inside[token] == 1
		mu.Unlock()
		if !first {
			return
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			var waiting int
			err := watch.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
			if err != nil || waiting > 0 {
				return
			}
		}
	})

	const rounds = 8
	for r := 0; r < rounds; r++ {
		token := fmt.Sprintf("token-%d", r)
		var wg sync.WaitGroup
		start := make(chan struct{})
		arns := make([]string, 2)
		for i := range arns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				p, err := f.reg.CreatePackage(ctx, f.ds, registry.CreateInput{Group: "race", ClientToken: token})
				if err != nil {
					t.Errorf("round %d: %v", r, err)
				}
				arns[i] = p.ARN
			}()
		}
		close(start)
		wg.Wait()
		if arns[0] != arns[1] || arns[0] == "" {
			t.Errorf("round %d: the two calls returned %q and %q", r, arns[0], arns[1])
		}
	}
	interleaved := 0
	for _, n := range inside {
		if n > 1 {
			interleaved++
		}
	}
	t.Logf("%d of %d rounds interleaved inside the ClientToken window", interleaved, rounds)
	if interleaved == 0 {
		t.Fatal("no round raced: the test proves nothing")
	}
	ps, err := f.reg.ListPackages(ctx, f.ds, registry.PackageQuery{GroupName: "race", SortBy: "Name", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != rounds {
		t.Errorf("%d packages, want %d (one per token)", len(ps), rounds)
	}
	for i, p := range ps {
		if p.Version != i+1 || p.ClientToken != fmt.Sprintf("token-%d", i) {
			t.Errorf("package %d: version %d token %q", i, p.Version, p.ClientToken)
		}
	}
}

// TestMissingGroupIsDecidedOnTheOperationsResources: whether a missing group is reported as
// missing or as denied is decided on the same resources as for an existing one — the packages
// pattern for CreateModelPackage — so a caller allowed to register in a group learns that it is
// gone, and one who is not learns nothing.
func TestMissingGroupIsDecidedOnTheOperationsResources(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	pkgs := fmt.Sprintf("arn:aws:sagemaker:us-east-1:%s:model-package/gone/*", f.ds.Caller.Account)
	u := f.user(t, f.ds, "registrar", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:CreateModelPackage","sagemaker:ListModelPackages"],"Resource":"`+pkgs+`"}]}`)
	if _, err := f.reg.CreatePackage(ctx, u, registry.CreateInput{Group: "gone"}); !errs.Is(err, errs.NotFound) {
		t.Errorf("CreateModelPackage in a missing group the caller may register in: err = %v, want NotFound", err)
	}
	if _, err := f.reg.ListPackages(ctx, u, registry.PackageQuery{GroupName: "gone", Limit: 10}); !errs.Is(err, errs.NotFound) {
		t.Errorf("ListModelPackages of a missing group the caller may list: err = %v, want NotFound", err)
	}
	if _, err := f.reg.CreatePackage(ctx, u, registry.CreateInput{Group: "elsewhere"}); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("CreateModelPackage in a missing group the caller may not register in: err = %v, want AccessDenied", err)
	}
}

// TestTagLimitHoldsUnderConcurrency: AddTags calls racing on one resource cannot together take
// it past MaxTags. Ten callers each add five new tags to a group holding none: exactly ten
// calls' worth fits, so all succeed only if the limit is counted alone; with 25 tags present,
// exactly five succeed. On SQLite and on PostgreSQL.
func TestTagLimitHoldsUnderConcurrency(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *store.Store{"sqlite": storetest.OpenSQLite, "postgres": storetest.OpenPostgres} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixtureOn(t, open(t))
			ds := f.ds.Caller.Account
			start := map[string]string{}
			for i := 0; i < 25; i++ {
				start[fmt.Sprintf("base%02d", i)] = "v"
			}
			if _, err := f.reg.CreateGroup(ctx, f.ds, "crowded", "", start); err != nil {
				t.Fatal(err)
			}
			garn := f.reg.GroupARN(ds, "crowded")
			var wg sync.WaitGroup
			var ok, refused atomic.Int32
			for c := 0; c < 10; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tags := map[string]string{}
					for i := 0; i < 5; i++ {
						tags[fmt.Sprintf("c%d-%d", c, i)] = "v"
					}
					_, err := f.reg.AddTags(ctx, f.ds, garn, tags)
					switch {
					case err == nil:
						ok.Add(1)
					case errs.CodeOf(err) == "ValidationException":
						refused.Add(1)
					default:
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			got, err := f.st.Registry().ListTags(ctx, garn)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) > registry.MaxTags || ok.Load() != 5 || refused.Load() != 5 {
				t.Errorf("%d tags after %d accepted and %d refused calls; want 50, 5 and 5", len(got), ok.Load(), refused.Load())
			}
		})
	}
}
