package logs_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/logs"
	"github.com/slipway-ml/slipway/internal/org"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

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

// fixture is a real SQLite store, a real organization with its accounts' admins, and the logs
// service over them.
type fixture struct {
	svc         *logs.Service
	id          *identity.Service
	ds, staging logs.Call
}

func newFixture(t *testing.T) *fixture {
	ctx := context.Background()
	st := storetest.OpenSQLite(t)
	clock := func() time.Time { return now }
	o := org.NewService(st.Org(), clock)
	seal, err := identity.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	id := identity.NewService(st.Identity(), bounds{o}, seal, clock, nil)
	o.UseIdentity(id)
	accounts, err := o.Bootstrap(ctx, org.DefaultSpec(), nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{svc: logs.NewService(st.Logs(), id, "us-east-1", clock), id: id}
	calls := map[string]*logs.Call{"data-science": &f.ds, "staging": &f.staging}
	for _, a := range accounts {
		if _, err := id.BootstrapAccount(ctx, a.ID, accounts[0].ID, nil); err != nil {
			t.Fatal(err)
		}
		p, err := id.Principal(ctx, a.ID, identity.KindUser, "admin")
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := calls[a.Name]; ok {
			*c = logs.Call{Caller: identity.Caller{
				Account: a.ID, ARN: p.ARN, PrincipalARN: p.ARN, UserID: p.ID, Kind: identity.KindUser, Name: "admin",
			}, Context: identity.RequestContext{Region: "us-east-1", Secure: true}}
		}
	}
	return f
}

func (f *fixture) stream(t *testing.T, group, stream string) {
	t.Helper()
	ctx := context.Background()
	if _, err := f.svc.CreateGroup(ctx, f.ds, group); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.CreateStream(ctx, f.ds, group, stream); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) put(t *testing.T, group, stream string, from, n int) {
	t.Helper()
	var evs []logs.InputEvent
	for i := from; i < from+n; i++ {
		evs = append(evs, logs.InputEvent{Timestamp: now.UnixMilli() - 60_000 + int64(i), Message: fmt.Sprintf("line %d", i)})
	}
	if _, err := f.svc.PutEvents(context.Background(), f.ds, group, stream, evs); err != nil {
		t.Fatal(err)
	}
}

func messages(evs []logs.StoredEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Message)
	}
	return out
}

// TestTokens pages a stream forward from its head and backward from its tail: each direction
// ends when the token given comes back, and a follower holding the forward token sees the
// events appended afterwards.
func TestTokens(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.stream(t, "/app", "s")
	f.put(t, "/app", "s", 0, 7)

	var got []string
	in := logs.GetInput{GroupName: "/app", Stream: "s", FromHead: true, Limit: 3}
	pages := 0
	for {
		out, err := f.svc.GetEvents(ctx, f.ds, in)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, messages(out.Events)...)
		if out.NextForward == in.Token {
			break
		}
		if pages > 10 {
			t.Fatal("the forward token never repeats")
		}
		in.Token = out.NextForward
	}
	if want := "line 0,line 1,line 2,line 3,line 4,line 5,line 6"; strings.Join(got, ",") != want {
		t.Fatalf("forward pages = %q, want %q", got, want)
	}
	if pages != 4 { // 3 + 3 + 1, then the empty page that answers the same token
		t.Errorf("forward pages = %d, want 4", pages)
	}
	follow := in.Token

	// Backward from the tail: the newest first page, then older ones.
	got = nil
	in = logs.GetInput{GroupName: "/app", Stream: "s", Limit: 3}
	for pages = 0; ; pages++ {
		out, err := f.svc.GetEvents(ctx, f.ds, in)
		if err != nil {
			t.Fatal(err)
		}
		got = append(messages(out.Events), got...)
		if out.NextBack == in.Token {
			break
		}
		if pages > 10 {
			t.Fatal("the backward token never repeats")
		}
		in.Token = out.NextBack
	}
	if want := "line 0,line 1,line 2,line 3,line 4,line 5,line 6"; strings.Join(got, ",") != want {
		t.Fatalf("backward pages = %q, want %q", got, want)
	}

	// The follower's token reads what is appended later, then repeats again.
	f.put(t, "/app", "s", 7, 2)
	out, err := f.svc.GetEvents(ctx, f.ds, logs.GetInput{GroupName: "/app", Stream: "s", FromHead: true, Token: follow})
	if err != nil || strings.Join(messages(out.Events), ",") != "line 7,line 8" {
		t.Fatalf("after appending, the follower read %q (%v), want line 7,line 8", messages(out.Events), err)
	}
	again, err := f.svc.GetEvents(ctx, f.ds, logs.GetInput{GroupName: "/app", Stream: "s", FromHead: true, Token: out.NextForward})
	if err != nil || len(again.Events) != 0 || again.NextForward != out.NextForward {
		t.Errorf("at the end: %d events, token %q, %v; want none and the same token %q", len(again.Events), again.NextForward, err, out.NextForward)
	}

	// Time bounds: start inclusive, end exclusive.
	start, end := now.UnixMilli()-60_000+2, now.UnixMilli()-60_000+4
	out, _ = f.svc.GetEvents(ctx, f.ds, logs.GetInput{GroupName: "/app", Stream: "s", FromHead: true, Start: &start, End: &end})
	if strings.Join(messages(out.Events), ",") != "line 2,line 3" {
		t.Errorf("[start, end) = %q, want line 2,line 3", messages(out.Events))
	}

	for _, bad := range []string{"x", "f/123", "f/" + strings.Repeat("9", 40), "c/" + strings.Repeat("0", 40)} {
		if _, err := f.svc.GetEvents(ctx, f.ds, logs.GetInput{GroupName: "/app", Stream: "s", Token: bad}); !errs.Is(err, errs.Invalid) {
			t.Errorf("token %q: err = %v, want Invalid", bad, err)
		}
	}
}

func TestPutEventsRules(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.stream(t, "/app", "s")
	ts := now.UnixMilli()
	ev := func(dt time.Duration, msg string) logs.InputEvent {
		return logs.InputEvent{Timestamp: ts + dt.Milliseconds(), Message: msg}
	}
	big := strings.Repeat("x", logs.MaxBatchBytes/2)
	many := make([]logs.InputEvent, logs.MaxBatchEvents+1)
	for i := range many {
		many[i] = ev(0, "m")
	}
	for _, tc := range []struct {
		name string
		evs  []logs.InputEvent
	}{
		{"out of order", []logs.InputEvent{ev(time.Second, "b"), ev(0, "a")}},
		{"empty message", []logs.InputEvent{ev(0, "")}},
		{"too large", []logs.InputEvent{ev(0, big), ev(0, big)}},
		{"too many", many},
		{"none", nil},
		{"span over 24 h", []logs.InputEvent{ev(-25*time.Hour, "a"), ev(0, "b")}},
	} {
		if _, err := f.svc.PutEvents(ctx, f.ds, "/app", "s", tc.evs); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: err = %v, want Invalid", tc.name, err)
		}
	}
	for _, tc := range []struct{ group, stream string }{{"bad:name", "s"}, {"aws/x", "s"}, {"/app", "a:b"}, {"/app", "a*"}, {"/app", ""}} {
		if _, err := f.svc.PutEvents(ctx, f.ds, tc.group, tc.stream, []logs.InputEvent{ev(0, "x")}); !errs.Is(err, errs.Invalid) {
			t.Errorf("names %q %q: err = %v, want Invalid", tc.group, tc.stream, err)
		}
	}
	out, err := f.svc.GetEvents(ctx, f.ds, logs.GetInput{GroupName: "/app", Stream: "s", FromHead: true})
	if err != nil {
		t.Fatalf("GetEvents after the refused batches: %v", err)
	}
	if len(out.Events) != 0 {
		t.Fatalf("refused batches stored %d events", len(out.Events))
	}

	// Too old and too new events are reported and skipped; the rest is stored.
	rej, err := f.svc.PutEvents(ctx, f.ds, "/app", "s", []logs.InputEvent{
		ev(-15*24*time.Hour, "old"), ev(-time.Minute, "kept 1"), ev(0, "kept 2"), ev(3*time.Hour, "new"),
	})
	if err != nil || rej.TooOldEnd == nil || *rej.TooOldEnd != 1 || rej.TooNewStart == nil || *rej.TooNewStart != 3 {
		t.Fatalf("PutEvents = %+v, %v; want too old before 1, too new from 3", rej, err)
	}
	out, _ = f.svc.GetEvents(ctx, f.ds, logs.GetInput{GroupName: "/app", Stream: "s", FromHead: true})
	if strings.Join(messages(out.Events), ",") != "kept 1,kept 2" {
		t.Errorf("stored %q, want kept 1,kept 2", messages(out.Events))
	}
	if _, err := f.svc.PutEvents(ctx, f.ds, "/app", "nope", []logs.InputEvent{ev(0, "x")}); !errs.Is(err, errs.NotFound) || !strings.Contains(errs.Message(err), "log stream") {
		t.Errorf("missing stream: err = %v, want NotFound about the stream", err)
	}
	if _, err := f.svc.PutEvents(ctx, f.ds, "/nope", "s", []logs.InputEvent{ev(0, "x")}); !errs.Is(err, errs.NotFound) || !strings.Contains(errs.Message(err), "log group") {
		t.Errorf("missing group: err = %v, want NotFound about the group", err)
	}
}

// TestOtherAccount: another account's admin, allowed everything in its own account, can
// neither read nor write a group it names by ARN, and by name finds only its own account's.
func TestOtherAccount(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.stream(t, "/app", "s")
	f.put(t, "/app", "s", 0, 1)
	groupARN := f.svc.GroupARN(f.ds.Caller.Account, "/app")
	if _, err := f.svc.GetEvents(ctx, f.staging, logs.GetInput{GroupIdentifier: groupARN, Stream: "s"}); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("GetEvents by ARN from another account: err = %v, want AccessDenied", err)
	}
	if _, err := f.svc.FilterEvents(ctx, f.staging, logs.FilterInput{GroupIdentifier: groupARN + ":*"}); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("FilterEvents by ARN from another account: err = %v, want AccessDenied", err)
	}
	if _, err := f.svc.DescribeStreams(ctx, f.staging, logs.StreamsInput{GroupIdentifier: groupARN}); !errs.Is(err, errs.AccessDenied) {
		t.Errorf("DescribeStreams by ARN from another account: err = %v, want AccessDenied", err)
	}
	if _, err := f.svc.GetEvents(ctx, f.staging, logs.GetInput{GroupName: "/app", Stream: "s"}); !errs.Is(err, errs.NotFound) {
		t.Errorf("GetEvents by name from another account: err = %v, want NotFound (its own account has no such group)", err)
	}
	if _, err := f.svc.GetEvents(ctx, f.ds, logs.GetInput{GroupIdentifier: strings.Replace(groupARN, "us-east-1", "eu-west-1", 1), Stream: "s"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("GetEvents by an ARN of another region: err = %v, want Invalid", err)
	}
	if out, err := f.svc.GetEvents(ctx, f.ds, logs.GetInput{GroupIdentifier: groupARN, Stream: "s", FromHead: true}); err != nil || len(out.Events) != 1 {
		t.Errorf("GetEvents by ARN in its own account = %d events, %v; want 1", len(out.Events), err)
	}
}

func TestFilter(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.stream(t, "/app", "a/1")
	if err := f.svc.CreateStream(ctx, f.ds, "/app", "b/1"); err != nil {
		t.Fatal(err)
	}
	f.put(t, "/app", "a/1", 0, 10)
	ts := now.UnixMilli()
	if _, err := f.svc.PutEvents(ctx, f.ds, "/app", "b/1", []logs.InputEvent{
		{Timestamp: ts, Message: "ERROR disk full"}, {Timestamp: ts + 1, Message: "WARN disk at 90%"}, {Timestamp: ts + 2, Message: "ERROR retrying"},
	}); err != nil {
		t.Fatal(err)
	}
	filter := func(in logs.FilterInput) []string {
		t.Helper()
		in.GroupName = "/app"
		var got []string
		for i := 0; ; i++ {
			out, err := f.svc.FilterEvents(ctx, f.ds, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range out.Events {
				got = append(got, e.Stream+":"+e.Message)
			}
			if out.Next == nil || i > 20 {
				return got
			}
			in.After = out.Next
		}
	}
	for _, tc := range []struct {
		in   logs.FilterInput
		want string
	}{
		{logs.FilterInput{Pattern: "ERROR -retrying"}, "b/1:ERROR disk full"},
		{logs.FilterInput{Pattern: `"disk full" ?WARN ?ERROR`}, "b/1:ERROR disk full"},
		{logs.FilterInput{Pattern: "?WARN ?retrying"}, "b/1:WARN disk at 90%,b/1:ERROR retrying"},
		{logs.FilterInput{Pattern: "line", Prefix: "a/", Limit: 3}, "a/1:line 0,a/1:line 1,a/1:line 2,a/1:line 3,a/1:line 4,a/1:line 5,a/1:line 6,a/1:line 7,a/1:line 8,a/1:line 9"},
		{logs.FilterInput{Streams: []string{"b/1"}, Limit: 1}, "b/1:ERROR disk full,b/1:WARN disk at 90%,b/1:ERROR retrying"},
	} {
		if got := strings.Join(filter(tc.in), ","); got != tc.want {
			t.Errorf("FilterEvents(%+v) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if _, err := f.svc.FilterEvents(ctx, f.ds, logs.FilterInput{GroupName: "/app", Streams: []string{"a/1"}, Prefix: "a"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("names and prefix together: err = %v, want Invalid", err)
	}
	if _, err := f.svc.FilterEvents(ctx, f.ds, logs.FilterInput{GroupName: "/app", Pattern: "{ $.x = 1 }"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("a JSON pattern: err = %v, want Invalid", err)
	}
}

// TestAppendWakesFollowers: the platform's Append creates the group and the stream, and wakes
// a follower of the group at once (long before its poll interval).
func TestAppendWakesFollowers(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	acct := f.ds.Caller.Account
	woke := make(chan time.Duration, 1)
	waiting := f.svc.Changed(acct, logs.TrainingJobsGroup)
	go func() {
		start := time.Now()
		logs.Wait(ctx, waiting, time.Minute)
		woke <- time.Since(start)
	}()
	if err := f.svc.Append(ctx, acct, logs.TrainingJobsGroup, "t1/algo-1-1764000000", []logs.Event{
		{Timestamp: now, Message: "[0]#011train-rmse:3.1"}, {Message: "no time: now"},
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-woke:
		if d > 10*time.Second {
			t.Errorf("the follower woke after %v", d)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the follower was not woken by Append")
	}
	select {
	case <-f.svc.Changed(acct, logs.TrainingJobsGroup):
		t.Error("the channel Changed returns after the append is closed already")
	default:
	}
	out, err := f.svc.GetEvents(ctx, f.ds, logs.GetInput{GroupName: logs.TrainingJobsGroup, Stream: "t1/algo-1-1764000000", FromHead: true})
	if err != nil || strings.Join(messages(out.Events), ",") != "[0]#011train-rmse:3.1,no time: now" {
		t.Fatalf("GetEvents after Append = %q, %v", messages(out.Events), err)
	}
	ss, err := f.svc.DescribeStreams(ctx, f.ds, logs.StreamsInput{GroupName: logs.TrainingJobsGroup, Query: logs.StreamQuery{Prefix: "t1/"}})
	if err != nil || len(ss) != 1 || ss[0].LastEvent != now.UnixMilli() {
		t.Errorf("DescribeStreams = %+v, %v", ss, err)
	}
	if err := f.svc.Append(ctx, acct, "bad:group", "s", []logs.Event{{Message: "x"}}); err == nil {
		t.Error("Append to an invalid group name succeeded")
	}
}

// TestAppendLinesOnce: a copier that offers its lines again from an older position (as one
// restarted after a kill does) leaves each line in the stream once, in order; bad input
// changes nothing.
func TestAppendLinesOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	acct := f.ds.Caller.Account
	const group, stream = "/aws/codebuild/lines", "b1"
	offer := func(source string, first, n int) {
		t.Helper()
		evs := make([]logs.Event, n)
		for i := range evs {
			evs[i] = logs.Event{Timestamp: now, Message: fmt.Sprintf("%s%d", source, first+i)}
		}
		if err := f.svc.AppendLines(ctx, acct, group, stream, source, int64(first), evs); err != nil {
			t.Fatal(err)
		}
	}
	offer("build", 0, 3)
	offer("build", 0, 5) // restarted from the start: build3 build4 are new
	offer("container", 0, 1)
	offer("build", 2, 4) // restarted from a lagging save: build5 is new
	for _, bad := range []struct {
		source string
		first  int64
	}{{"", 0}, {"build", -1}} {
		if err := f.svc.AppendLines(ctx, acct, group, stream, bad.source, bad.first, []logs.Event{{Message: "bad"}}); err == nil {
			t.Errorf("AppendLines(source %q, first %d) succeeded", bad.source, bad.first)
		}
	}
	out, err := f.svc.GetEvents(ctx, f.ds, logs.GetInput{GroupName: group, Stream: stream, FromHead: true})
	if got, want := strings.Join(messages(out.Events), ","), "build0,build1,build2,build3,build4,container0,build5"; err != nil || got != want {
		t.Errorf("GetEvents = %q, %v; want %q", got, err, want)
	}
}
