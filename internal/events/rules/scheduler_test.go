package rules_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/events/rules"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/store"
)

type allowAll struct{}

func (allowAll) Authorize(ctx context.Context, c identity.Caller, a identity.Action) (string, error) {
	return "allowed", nil
}

// TestScheduler: a scheduled rule fires at each firing time of its expression as the clock
// moves, each firing once — also when the scheduler is called again, or a new one (a restart)
// is — as a "Scheduled Event" from aws.events naming the rule; a server down across several
// firings makes only the latest; a disabled rule stops firing.
func TestScheduler(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rs := st.EventRules()
	now := time.Date(2026, 12, 3, 8, 0, 30, 0, time.UTC)
	clock := func() time.Time { return now }
	svc := rules.NewService(rs, allowAll{}, "us-east-1", clock, "logs")
	c := rules.Call{Caller: identity.Caller{Account: acct, ARN: "arn:aws:iam::" + acct + ":root"}}
	cronARN, err := svc.PutRule(ctx, c, rules.RuleInput{Name: "quarter", Schedule: "cron(0/15 * * * ? *)"})
	if err != nil {
		t.Fatal(err)
	}
	rateARN, err := svc.PutRule(ctx, c, rules.RuleInput{Name: "five", Schedule: "rate(5 minutes)"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutRule(ctx, c, rules.RuleInput{Name: "bad", Schedule: "cron(0 10 * * * *)"}); err == nil {
		t.Error("PutRule accepted a cron with both day fields set")
	}
	fired := func() map[string][]time.Time {
		evs, err := st.Events().EventsAfter(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]time.Time{}
		for _, e := range evs {
			if e.Source != rules.ScheduledSource || e.DetailType != rules.ScheduledDetailType || len(e.Resources) != 1 {
				t.Fatalf("unexpected event %+v", e)
			}
			out[e.Resources[0]] = append(out[e.Resources[0]], e.Time.UTC())
		}
		return out
	}
	sched := rules.NewScheduler(rs, clock, nil)
	step := func(key string, wantNext time.Duration) {
		t.Helper()
		res, err := sched.Reconcile(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if res.RequeueAfter != wantNext {
			t.Errorf("%s at %v: requeue after %v, want %v", key, now, res.RequeueAfter, wantNext)
		}
	}
	step(cronARN, 14*time.Minute+30*time.Second)
	step(rateARN, 5*time.Minute)
	if f := fired(); len(f) != 0 {
		t.Fatalf("fired before any firing time: %v", f)
	}
	now = now.Add(14*time.Minute + 30*time.Second) // 08:15:00
	step(cronARN, 15*time.Minute)
	step(cronARN, 15*time.Minute)              // again: no second event
	sched = rules.NewScheduler(rs, clock, nil) // a restart
	step(cronARN, 15*time.Minute)
	step(rateARN, 30*time.Second) // 08:05:30, 08:10:30 → only the latest, 08:10:30
	f := fired()
	if want := []time.Time{time.Date(2026, 12, 3, 8, 15, 0, 0, time.UTC)}; len(f[cronARN]) != 1 || !f[cronARN][0].Equal(want[0]) {
		t.Errorf("cron firings %v, want %v", f[cronARN], want)
	}
	if want := time.Date(2026, 12, 3, 8, 10, 30, 0, time.UTC); len(f[rateARN]) != 1 || !f[rateARN][0].Equal(want) {
		t.Errorf("rate firings %v, want [%v]", f[rateARN], want)
	}
	// Down for an hour: of the 08:30 … 09:15 firings, only 09:15 is made.
	now = now.Add(time.Hour)
	step(cronARN, 15*time.Minute)
	if f := fired()[cronARN]; len(f) != 2 || !f[1].Equal(time.Date(2026, 12, 3, 9, 15, 0, 0, time.UTC)) {
		t.Errorf("after an hour down: firings %v, want 08:15 and 09:15", f)
	}
	if err := svc.SetState(ctx, c, "quarter", "", rules.Disabled); err != nil {
		t.Fatal(err)
	}
	now = now.Add(15 * time.Minute)
	res, err := sched.Reconcile(ctx, cronARN)
	if err != nil || !res.Forget {
		t.Errorf("a disabled rule's work: %+v, %v; want it forgotten", res, err)
	}
	if f := fired()[cronARN]; len(f) != 2 {
		t.Errorf("a disabled rule fired: %v", f)
	}

	// Delivery: a firing goes to its rule's targets only, not to a pattern rule that matches it.
	logARN := "arn:aws:logs:us-east-1:" + acct + ":log-group:g"
	if _, err := svc.PutTargets(ctx, c, "five", "", []rules.Target{{ID: "log", ARN: logARN}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutRule(ctx, c, rules.RuleInput{Name: "all-aws-events", Pattern: `{"source":["aws.events"]}`}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutTargets(ctx, c, "all-aws-events", "", []rules.Target{{ID: "log", ARN: logARN}}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{msgs: map[string][]byte{}}
	d := rules.NewDispatcher(rules.DispatcherConfig{Store: rs, Service: svc, Deliverers: map[string]rules.Deliverer{"logs": rec}})
	evs, err := st.Events().EventsAfter(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if err := d.Handle(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.msgs) != 1 {
		t.Errorf("deliveries %v, want the one firing of rule five", keysOf(rec.msgs))
	}
	for k := range rec.msgs {
		if !strings.Contains(k, rateARN) {
			t.Errorf("delivery %s is not to rule five", k)
		}
	}
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
