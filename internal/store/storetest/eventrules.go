package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/events/rules"
	"github.com/slipway-ml/slipway/internal/logs"
	"github.com/slipway-ml/slipway/internal/randid"
	"github.com/slipway-ml/slipway/internal/store"
)

// testEventRules: every account has a default bus without a row; custom buses are unique per
// account; rules and targets round-trip and list in name order; only enabled rules with a
// pattern are delivered to; deleting a bus takes its rules and targets; a delivery's key
// makes it happen once (Once, AppendLogOnce), and a delivery that fails records nothing.
func testEventRules(t *testing.T, st *store.Store) {
	ctx := context.Background()
	rs := st.EventRules()
	acct, other := "111111111111", "222222222222"
	upd := func(fn func(tx rules.Tx) error) error { return rs.Update(ctx, fn) }

	if b, err := rs.GetBus(ctx, acct, rules.DefaultBus); err != nil || b.Name != rules.DefaultBus || b.Account != acct {
		t.Fatalf("GetBus(default) = %+v, %v", b, err)
	}
	if _, err := rs.GetBus(ctx, acct, "custom"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("GetBus(custom) before creation: %v, want NotFound", err)
	}
	bus := rules.Bus{Account: acct, Name: "custom", Description: "d", Tags: map[string]string{"a": "b"}, CreatedAt: t0, ModifiedAt: t0}
	if err := upd(func(tx rules.Tx) error { return tx.CreateBus(ctx, bus) }); err != nil {
		t.Fatal(err)
	}
	if err := upd(func(tx rules.Tx) error { return tx.CreateBus(ctx, bus) }); !errs.Is(err, errs.Conflict) {
		t.Fatalf("second CreateBus: %v, want Conflict", err)
	}
	if got, err := rs.GetBus(ctx, acct, "custom"); err != nil || !cmp.Equal(got, bus) {
		t.Fatalf("GetBus = %+v, %v; want %+v", got, err, bus)
	}
	names := func(bs []rules.Bus) []string {
		var out []string
		for _, b := range bs {
			out = append(out, b.Name)
		}
		return out
	}
	if bs, err := rs.ListBuses(ctx, acct, ""); err != nil || !cmp.Equal(names(bs), []string{"custom", "default"}) && !cmp.Equal(names(bs), []string{"default", "custom"}) {
		t.Fatalf("ListBuses = %v, %v", names(bs), err)
	}
	if bs, err := rs.ListBuses(ctx, acct, "cu"); err != nil || !cmp.Equal(names(bs), []string{"custom"}) {
		t.Fatalf("ListBuses(cu) = %v, %v", names(bs), err)
	}
	if bs, err := rs.ListBuses(ctx, other, ""); err != nil || !cmp.Equal(names(bs), []string{"default"}) {
		t.Fatalf("another account's ListBuses = %v, %v", names(bs), err)
	}
	// The default bus gets a row when its policy is written, and stays one bus in listings.
	def := rules.Bus{Account: acct, Name: rules.DefaultBus, Policy: `{"Version":"2012-10-17","Statement":[]}`}
	if err := upd(func(tx rules.Tx) error { return tx.PutBus(ctx, def) }); err != nil {
		t.Fatal(err)
	}
	if got, err := rs.GetBus(ctx, acct, rules.DefaultBus); err != nil || got.Policy != def.Policy {
		t.Fatalf("GetBus(default) after PutBus = %+v, %v", got, err)
	}
	if bs, err := rs.ListBuses(ctx, acct, ""); err != nil || len(bs) != 2 {
		t.Fatalf("ListBuses after the default bus's row = %v, %v", names(bs), err)
	}

	gen := func(bus string) int64 {
		t.Helper()
		g, err := rs.RulesGeneration(ctx, acct, bus)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	if g := gen("default"); g != 0 {
		t.Fatalf("RulesGeneration before any rule = %d, want 0", g)
	}
	mk := func(name, bus string, state rules.State, pattern string) rules.Rule {
		return rules.Rule{Account: acct, Bus: bus, Name: name, Pattern: pattern, State: state, Tags: map[string]string{"k": name}, CreatedAt: t0, ModifiedAt: t0}
	}
	all := []rules.Rule{
		mk("a_1", "default", rules.Enabled, `{"source":["x"]}`),
		mk("aX1", "default", rules.Disabled, `{"source":["x"]}`),
		mk("b", "default", rules.Enabled, ""),
		mk("c", "default", rules.Enabled, `{"source":["y"]}`),
		mk("a_1", "custom", rules.Enabled, `{"source":["z"]}`),
	}
	for _, r := range all {
		if err := upd(func(tx rules.Tx) error { return tx.PutRule(ctx, r) }); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := rs.GetRule(ctx, acct, "default", "a_1"); err != nil || !cmp.Equal(got, all[0]) {
		t.Fatalf("GetRule = %+v, %v", got, err)
	}
	ruleNames := func(r []rules.Rule) []string {
		var out []string
		for _, x := range r {
			out = append(out, x.Bus+"/"+x.Name)
		}
		return out
	}
	for _, c := range []struct {
		prefix, after string
		limit         int
		want          []string
	}{
		{"", "", 0, []string{"default/aX1", "default/a_1", "default/b", "default/c"}},
		{"a_", "", 0, []string{"default/a_1"}}, // '_' is not a wildcard
		{"", "a_1", 2, []string{"default/b", "default/c"}},
		{"", "", 1, []string{"default/aX1"}},
	} {
		got, err := rs.ListRules(ctx, acct, "default", c.prefix, c.after, c.limit)
		if err != nil || !cmp.Equal(ruleNames(got), c.want) {
			t.Errorf("ListRules(%q, %q, %d) = %v, %v; want %v", c.prefix, c.after, c.limit, ruleNames(got), err, c.want)
		}
	}
	if got, err := rs.RulesOf(ctx, acct, "default"); err != nil || !cmp.Equal(ruleNames(got), []string{"default/a_1", "default/c"}) {
		t.Errorf("RulesOf = %v, %v", ruleNames(got), err)
	}
	// Disabling takes a rule out of delivery, and moves the generation on.
	before := gen("default")
	if before == 0 || gen("other") != 0 {
		t.Fatalf("RulesGeneration after PutRule = %d (another bus %d)", before, gen("other"))
	}
	c := all[3]
	c.State = rules.Disabled
	if err := upd(func(tx rules.Tx) error { return tx.PutRule(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	if got, _ := rs.RulesOf(ctx, acct, "default"); !cmp.Equal(ruleNames(got), []string{"default/a_1"}) {
		t.Errorf("RulesOf after disabling c = %v", ruleNames(got))
	}
	if g := gen("default"); g <= before {
		t.Errorf("RulesGeneration after a change = %d, was %d", g, before)
	}
	before = gen("default")
	if err := upd(func(tx rules.Tx) error { return tx.DeleteRule(ctx, acct, "default", "b") }); err != nil {
		t.Fatal(err)
	}
	if g := gen("default"); g <= before {
		t.Errorf("RulesGeneration after DeleteRule = %d, was %d", g, before)
	}

	tg := rules.Target{ID: "t1", ARN: "arn:aws:logs:us-east-1:" + acct + ":log-group:/events/x", InputTransformer: &rules.InputTransformer{InputPathsMap: map[string]string{"s": "$.source"}, InputTemplate: `"<s>"`}}
	if err := upd(func(tx rules.Tx) error {
		if err := tx.PutTarget(ctx, acct, "default", "a_1", tg); err != nil {
			return err
		}
		return tx.PutTarget(ctx, acct, "custom", "a_1", rules.Target{ID: "t2", ARN: "arn:aws:events:us-east-1:" + other + ":event-bus/default"})
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := rs.ListTargets(ctx, acct, "default", "a_1"); err != nil || !cmp.Equal(got, []rules.Target{tg}) {
		t.Fatalf("ListTargets = %+v, %v", got, err)
	}
	var gone, again bool
	if err := upd(func(tx rules.Tx) (err error) {
		if gone, err = tx.DeleteTarget(ctx, acct, "default", "a_1", "t1"); err != nil {
			return err
		}
		again, err = tx.DeleteTarget(ctx, acct, "default", "a_1", "t1")
		return err
	}); err != nil || !gone || again {
		t.Fatalf("DeleteTarget twice = %v, %v, %v; want true, false", gone, again, err)
	}
	if err := upd(func(tx rules.Tx) error { return tx.DeleteRule(ctx, acct, "default", "nope") }); !errs.Is(err, errs.NotFound) {
		t.Fatalf("DeleteRule(nope) = %v, want NotFound", err)
	}
	if err := upd(func(tx rules.Tx) error { return tx.DeleteBus(ctx, acct, "custom") }); err != nil {
		t.Fatal(err)
	}
	if got, _ := rs.ListRules(ctx, acct, "custom", "", "", 0); len(got) != 0 {
		t.Errorf("rules of a deleted bus: %v", ruleNames(got))
	}
	if got, _ := rs.ListTargets(ctx, acct, "custom", "a_1"); len(got) != 0 {
		t.Errorf("targets of a deleted bus: %v", got)
	}
	if err := upd(func(tx rules.Tx) error { return tx.DeleteBus(ctx, acct, "custom") }); !errs.Is(err, errs.NotFound) {
		t.Errorf("DeleteBus twice: %v, want NotFound", err)
	}

	// Once: the event it appends commits with the key; the second call runs nothing.
	outbox, err := st.Events().EventsAfter(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	fwd := events.Event{ID: randid.UUID(), Account: acct, Region: "us-east-1", Source: "s", DetailType: "d", Time: t0, Detail: []byte(`{}`),
		Bus: "arn:aws:events:us-east-1:" + other + ":event-bus/default"}
	for i, want := range []bool{true, false} {
		ran, err := rs.Once(ctx, "k1", func(tx rules.Tx) error { return tx.AppendEvent(ctx, fwd) })
		if err != nil || ran != want {
			t.Fatalf("Once #%d = %v, %v; want %v", i+1, ran, err, want)
		}
	}
	after, _ := st.Events().EventsAfter(ctx, 0, 1000)
	if len(after) != len(outbox)+1 || after[len(after)-1].Bus != fwd.Bus {
		t.Fatalf("after Once: %d events (was %d), last %+v", len(after), len(outbox), after[len(after)-1])
	}
	// A failing fn records no key: the next try runs.
	if _, err := rs.Once(ctx, "k2", func(tx rules.Tx) error { return errs.E(errs.Unavailable, "boom") }); err == nil {
		t.Fatal("Once with a failing fn succeeded")
	}
	if ran, err := rs.Once(ctx, "k2", func(tx rules.Tx) error { return nil }); err != nil || !ran {
		t.Fatalf("Once after a failure = %v, %v; want it to run", ran, err)
	}

	// A delivery that failed for good is recorded and never made afterwards.
	if err := rs.RecordFailure(ctx, "k3", "denied"); err != nil {
		t.Fatal(err)
	}
	if ok, err := rs.Delivered(ctx, "k3"); err != nil || !ok {
		t.Fatalf("Delivered after RecordFailure = %v, %v", ok, err)
	}
	if ran, err := rs.Once(ctx, "k3", func(tx rules.Tx) error { return nil }); err != nil || ran {
		t.Fatalf("Once after RecordFailure = %v, %v; want it not to run", ran, err)
	}
	if ok, err := rs.Delivered(ctx, "k4"); err != nil || ok {
		t.Fatalf("Delivered(unknown) = %v, %v", ok, err)
	}

	// AppendLogOnce: a missing group fails and records nothing; then once only.
	stream := logs.Stream{Account: acct, Group: "/events/x", Name: "ev-1", CreatedAt: t0}
	evs := []logs.StoredEvent{{Timestamp: t0.UnixMilli(), Ingested: t0.UnixMilli(), Message: `{"a":1}`}}
	if _, err := rs.AppendLogOnce(ctx, "log1", stream, evs); !errs.Is(err, errs.NotFound) {
		t.Fatalf("AppendLogOnce to a missing group: %v, want NotFound", err)
	}
	if err := st.Logs().Update(ctx, func(tx logs.Tx) error {
		return tx.CreateGroup(ctx, logs.Group{Account: acct, Name: "/events/x", CreatedAt: t0})
	}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		ran, err := rs.AppendLogOnce(ctx, "log1", stream, evs)
		if err != nil || ran != want {
			t.Fatalf("AppendLogOnce #%d = %v, %v; want %v", i+1, ran, err, want)
		}
	}
	s, err := st.Logs().GetStream(ctx, acct, "/events/x", "ev-1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.Logs().ReadEvents(ctx, s.ID, logs.EventRange{Limit: 10})
	if err != nil || len(got) != 1 || got[0].Message != `{"a":1}` {
		t.Fatalf("the log stream holds %+v, %v; want the one event", got, err)
	}
	if ok, err := rs.Delivered(ctx, "log1"); err != nil || !ok {
		t.Fatalf("Delivered(log1) = %v, %v", ok, err)
	}
}
