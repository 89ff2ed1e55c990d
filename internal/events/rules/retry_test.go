package rules_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/events/rules"
	"github.com/slipway-ml/slipway/internal/store"
)

// flaky fails every delivery with err until it has failed failures times.
type flaky struct {
	mu       sync.Mutex
	err      error
	failures int
	calls    map[string]int
}

func (f *flaky) Deliver(ctx context.Context, d rules.Delivery) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[d.Key]++
	if f.calls[d.Key] <= f.failures {
		return f.err
	}
	return nil
}

// recorder records what a (dead-letter) log group receives.
type recorder struct {
	mu   sync.Mutex
	msgs map[string][]byte
}

func (r *recorder) Deliver(ctx context.Context, d rules.Delivery) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs[d.Key] = d.Input
	return nil
}

const acct = "111122223333"

// TestRetryPolicy: a transient failure is handed back (the subscription retries the event)
// while the target's policy allows; past MaximumRetryAttempts, or once the event is older than
// MaximumEventAgeInSeconds, the delivery is dead-lettered with its reason (in the list, and in
// the target's dead-letter log group) and never tried again; a final failure is dead-lettered
// at once.
func TestRetryPolicy(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rs := st.EventRules()
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	svc := rules.NewService(rs, nil, "us-east-1", func() time.Time { return now }, "sagemaker", "logs")
	dlq := "arn:aws:logs:us-east-1:" + acct + ":log-group:/dlq"
	target := func(id string, rp *rules.RetryPolicy) rules.Target {
		return rules.Target{ID: id, ARN: "arn:aws:sagemaker:us-east-1:" + acct + ":pipeline/p", RoleARN: "arn:aws:iam::" + acct + ":role/r", RetryPolicy: rp, DeadLetter: dlq}
	}
	err = rs.Update(ctx, func(tx rules.Tx) error {
		if err := tx.PutRule(ctx, rules.Rule{Account: acct, Bus: rules.DefaultBus, Name: "r", Pattern: `{"source":["my.app"]}`, State: rules.Enabled}); err != nil {
			return err
		}
		for _, x := range []rules.Target{
			target("two", &rules.RetryPolicy{MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600}),
			target("young", &rules.RetryPolicy{MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 60}),
		} {
			if err := tx.PutTarget(ctx, acct, rules.DefaultBus, "r", x); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sm := &flaky{err: errs.E(errs.Unavailable, "the pipeline service is busy"), failures: 1000, calls: map[string]int{}}
	dl := &recorder{msgs: map[string][]byte{}}
	d := rules.NewDispatcher(rules.DispatcherConfig{Store: rs, Service: svc, Deliverers: map[string]rules.Deliverer{"sagemaker": sm, "logs": dl},
		Now: func() time.Time { return now }})
	ev := events.Event{ID: "e1", Account: acct, Region: "us-east-1", Source: "my.app", DetailType: "x", Time: now, Detail: json.RawMessage(`{}`)}
	ruleARN := svc.RuleARN(acct, rules.DefaultBus, "r")
	key := func(id string) string { return "e1|" + ruleARN + "|" + id }

	// Attempts 1 and 2 are retried; the third failure exhausts "two" (2 retries).
	for i := 1; i <= 3; i++ {
		err := d.Handle(ctx, ev)
		if i < 3 && !errs.Is(err, errs.Unavailable) {
			t.Fatalf("attempt %d: Handle = %v, want the transient error back", i, err)
		}
		if i == 3 && !errs.Is(err, errs.Unavailable) {
			t.Fatalf("attempt 3: Handle = %v, want the transient error of the young target", err)
		}
	}
	if got := sm.calls[key("two")]; got != 3 {
		t.Errorf("target two was tried %d times, want 3 (1 + 2 retries)", got)
	}
	if done, err := rs.Delivered(ctx, key("two")); err != nil {
		t.Errorf("Delivered two: %v", err)
	} else if !done {
		t.Errorf("target two's delivery is not recorded as failed for good")
	}
	// The event grows older than "young"'s 60 s: dead-lettered on its next failure.
	now = now.Add(61 * time.Second)
	if err := d.Handle(ctx, ev); err != nil {
		t.Fatalf("Handle after both targets are dead-lettered: %v", err)
	}
	before := sm.calls[key("two")] + sm.calls[key("young")]
	if err := d.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if after := sm.calls[key("two")] + sm.calls[key("young")]; after != before {
		t.Errorf("a dead-lettered delivery was tried again (%d → %d calls)", before, after)
	}
	dead, err := rs.DeadLetters(ctx, acct, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 2 {
		t.Fatalf("dead letters = %+v, want two", dead)
	}
	for _, x := range dead {
		if x.EventID != "e1" || x.Rule != ruleARN || x.Reason == "" {
			t.Errorf("dead letter %+v: want event e1, rule %s and a reason", x, ruleARN)
		}
		var m rules.DeadLetter
		if err := json.Unmarshal(dl.msgs["dead-letter|"+x.Key], &m); err != nil || m.Target != x.Target || m.Reason != x.Reason {
			t.Errorf("the dead-letter log group got %q for %s: %v", dl.msgs["dead-letter|"+x.Key], x.Key, err)
		}
	}

	// A final failure (access denied) is dead-lettered on its first attempt.
	sm.err, sm.calls = errs.E(errs.AccessDenied, "not allowed"), map[string]int{}
	ev2 := ev
	ev2.ID = "e2"
	if err := d.Handle(ctx, ev2); err != nil {
		t.Fatalf("Handle of a final failure = %v, want nil", err)
	}
	if sm.calls["e2|"+ruleARN+"|two"] != 1 {
		t.Errorf("a final failure was tried %d times, want 1", sm.calls["e2|"+ruleARN+"|two"])
	}
}
