package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/console"
	"github.com/slipway-ml/slipway/internal/credfile"
	"github.com/slipway-ml/slipway/internal/store"
)

// dpauditRecords reads every record of the trail, decoded.
func dpauditRecords(t *testing.T, st audit.Reader) []audit.Record {
	t.Helper()
	stored, err := st.AuditRecords(context.Background(), 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]audit.Record, len(stored))
	for i, r := range stored {
		if err := json.Unmarshal(r.Body, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// dpauditInvocations returns the trail's InvokeEndpoint records: the aggregates and the single ones.
func dpauditInvocations(recs []audit.Record) (aggregates, single []audit.Record) {
	for _, r := range recs {
		if r.Operation != "InvokeEndpoint" {
			continue
		}
		if r.Aggregate != nil {
			aggregates = append(aggregates, r)
		} else {
			single = append(single, r)
		}
	}
	return aggregates, single
}

// TestInvocationsAreAuditedInAggregate: allowed invocations from concurrent clients reach the
// audit trail as one record per distinct call per window, with their exact count, the variant,
// latency and bytes; a refused invocation is recorded alone and at once, as is every
// control-plane call; the aggregates are found by principal and endpoint as the console's audit
// search finds them; a graceful shutdown appends the window still open; the chain verifies.
func TestInvocationsAreAuditedInAggregate(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.AuditWindow = time.Hour // only Flush and Close append the aggregates here
	s, stop := dpauditStart(t, cfg)
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"]}
	name := e.endpoint()["EndpointName"]
	keyID, secret := newUser(t, s, "dpaudit-refused", "")
	refused := sagemakerruntime.NewFromConfig(s.cfgFor(credentials.NewStaticCredentialsProvider(keyID, secret, "")))
	invoke := func(c *sagemakerruntime.Client, endpoint string) error {
		_, err := c.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(endpoint), ContentType: aws.String("text/csv"), Body: []byte("1,2\n")})
		return err
	}
	trail := s.app.Store.Audit()

	const clients, each = 8, 10
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := invoke(e.admin.rt, name); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for range 3 { // allowed, but no such endpoint: a 4xx of its own aggregate
		if err := invoke(e.admin.rt, "dpaudit-missing"); code(err) != "ValidationError" {
			t.Fatalf("an invocation of a missing endpoint: %v", err)
		}
	}
	if err := invoke(refused, name); code(err) != "AccessDeniedException" {
		t.Fatalf("an invocation by a user without permissions: %v", err)
	}
	// The refusal is in the trail as soon as it is answered, alone; the allowed calls are not yet.
	aggs, single := dpauditInvocations(dpauditRecords(t, trail))
	if len(aggs) != 0 {
		t.Errorf("aggregates appended before the window ended: %+v", aggs)
	}
	if len(single) != 1 || single[0].Decision != "deny" || !strings.HasSuffix(single[0].PrincipalARN, ":user/dpaudit-refused") ||
		single[0].HTTPStatus < 400 || single[0].ErrorCode != "AccessDeniedException" || !strings.HasSuffix(single[0].Resource, ":endpoint/"+name) {
		t.Fatalf("single InvokeEndpoint records = %+v, want the one refusal", single)
	}

	if err := s.app.Invocations.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	recs := dpauditRecords(t, trail)
	aggs, single = dpauditInvocations(recs)
	if len(single) != 1 || len(aggs) != 2 {
		t.Fatalf("after the flush: %d aggregates, %d single records; want 2 and 1:\n%+v", len(aggs), len(single), aggs)
	}
	byEndpoint := map[string]audit.Record{}
	for _, r := range aggs {
		byEndpoint[r.Resource[strings.LastIndex(r.Resource, "/")+1:]] = r
	}
	ok, missing := byEndpoint[name], byEndpoint["dpaudit-missing"]
	if ok.Aggregate == nil || ok.Aggregate.Count != clients*each || ok.HTTPStatus != 200 || ok.ErrorCode != "" || ok.Variant != "AllTraffic" ||
		ok.Decision != "allow" || ok.Reason == "" || ok.Account != e.account || !strings.HasSuffix(ok.PrincipalARN, ":user/admin") ||
		ok.Aggregate.BytesIn != 4*clients*each || ok.Aggregate.BytesOut == 0 || ok.Aggregate.LatencyMaxMicros <= 0 ||
		ok.Aggregate.LatencySumMicros < ok.Aggregate.LatencyMaxMicros || ok.Aggregate.Last.Before(ok.Time) {
		t.Errorf("the invocations' aggregate = %+v %+v", ok, ok.Aggregate)
	}
	if missing.Aggregate == nil || missing.Aggregate.Count != 3 || missing.HTTPStatus != 400 || missing.ErrorCode != "ValidationError" || missing.Decision != "allow" {
		t.Errorf("the missing endpoint's aggregate = %+v", missing)
	}
	// The control plane is still one record per call: CreateEndpoint's, committed with it.
	n := 0
	for _, r := range recs {
		if r.Operation == "CreateEndpoint" {
			n++
			if r.Aggregate != nil {
				t.Errorf("a control-plane call was aggregated: %+v", r)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d CreateEndpoint records, want 1", n)
	}

	// Found as the console's search finds records: by principal, by endpoint, by time.
	for _, q := range []string{"principal=user/admin&action=InvokeEndpoint", "action=InvokeEndpoint&resource=endpoint/" + name, "action=InvokeEndpoint&resource=endpoint/" + name + "&from=" + ok.Time.UTC().Add(-time.Millisecond).Format(time.RFC3339Nano)} {
		values, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		query, err := console.ParseAuditQuery(values)
		if err != nil {
			t.Fatal(err)
		}
		var calls int64
		for _, r := range recs {
			if query.Match(r) && r.Decision == "allow" {
				calls += r.Calls()
			}
		}
		if want := int64(clients * each); strings.HasPrefix(q, "principal") {
			want += 3
			if calls != want {
				t.Errorf("search %q found %d allowed invocations, want %d", q, calls, want)
			}
		} else if calls != want {
			t.Errorf("search %q found %d allowed invocations, want %d", q, calls, want)
		}
	}

	// The console's audit page shows the aggregate with its count.
	admin := s.profile["data-science"]
	b := signedIn(t, s, admin.AccessKeyID, admin.SecretAccessKey)
	p := b.get("/console/audit?action=InvokeEndpoint&resource=endpoint/" + name + "&verify=1")
	if p.status != 200 || !strings.Contains(p.body, fmt.Sprintf(`data-aggregate="%d"`, clients*each)) || !strings.Contains(p.body, `data-chain="intact"`) ||
		!strings.Contains(p.body, fmt.Sprintf("(%d calls)", clients*each+1)) {
		t.Errorf("the console's audit page: %d\n%s", p.status, p.body)
	}

	// A graceful shutdown appends the open window.
	for range 5 {
		if err := invoke(e.admin.rt, name); err != nil {
			t.Fatal(err)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, cfg.DatabaseDSN(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	aggs, _ = dpauditInvocations(dpauditRecords(t, st.Audit()))
	var total int64
	for _, r := range aggs {
		if strings.HasSuffix(r.Resource, "/"+name) {
			total += r.Calls()
		}
	}
	if total != clients*each+5 {
		t.Errorf("after the shutdown the aggregates count %d invocations, want %d", total, clients*each+5)
	}
	if n, p, err := audit.Verify(ctx, st.Audit()); err != nil || p != nil {
		t.Errorf("audit.Verify = %d, %v, %v", n, p, err)
	}
}

// dpauditStart starts a server of cfg like startConfig, and returns a stop function that the
// test may call itself (a graceful shutdown) before the cleanup does.
func dpauditStart(t *testing.T, cfg config.Config) (*server, func() error) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(context.Background(), cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Start(context.Background())
	hs := httptest.NewServer(a.Handler())
	a.Listening(hs.URL)
	var once sync.Once
	var cerr error
	stop := func() error { once.Do(func() { hs.Close(); cerr = a.Close() }); return cerr }
	t.Cleanup(func() { _ = stop() })
	s := &server{app: a, url: hs.URL, profile: map[string]aws.Credentials{}, account: map[string]string{}}
	profiles, err := credfile.ReadFile(a.CredentialsPath())
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range profiles {
		s.profile[name] = aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}
		s.account[name] = p.Account
	}
	return s, stop
}
