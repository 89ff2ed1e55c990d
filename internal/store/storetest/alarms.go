package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/alarms"
	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/store"
)

// testAlarms: datapoints are kept per account and metric (dimensions in any order are one
// metric) and read back in [start, end) by time; metrics list distinct and filtered; alarms
// round-trip, are replaced by name, listed by name after a cursor with a prefix, a state, a
// metric (its dimensions too) or a set of names; deleting one takes its history; history items
// are numbered per account, also under concurrency, and queried by alarm, type, time and cursor
// either way; Ingest appends no audit record; a failed transaction keeps nothing.
func testAlarms(t *testing.T, st *store.Store) {
	ctx := context.Background()
	as := st.Alarms()
	acct, other := "111111111111", "222222222222"
	upd := func(fn func(tx alarms.Tx) error) error { return as.Update(ctx, fn) }

	// ---- datapoints
	lat := alarms.Metric{Namespace: "App", Name: "Latency", Dimensions: []alarms.Dimension{{Name: "Host", Value: "a"}, {Name: "Env", Value: "prod"}}}
	latSwapped := alarms.Metric{Namespace: "App", Name: "Latency", Dimensions: []alarms.Dimension{{Name: "Env", Value: "prod"}, {Name: "Host", Value: "a"}}}
	latB := alarms.Metric{Namespace: "App", Name: "Latency", Dimensions: []alarms.Dimension{{Name: "Env", Value: "prod"}, {Name: "Host", Value: "b"}}}
	errsM := alarms.Metric{Namespace: "App", Name: "Errors"}
	other1 := alarms.Metric{Namespace: "Other", Name: "Latency"}
	datum := func(account string, m alarms.Metric, at time.Time, v float64) alarms.Datum {
		return alarms.Datum{Account: account, Metric: m, Time: at, Unit: "Milliseconds", Stats: alarms.Stats{Count: 2, Sum: 2 * v, Min: v - 1, Max: v + 1}}
	}
	in := []alarms.Datum{
		datum(acct, lat, t0.Add(2*time.Minute), 30),
		datum(acct, lat, t0, 10),
		datum(acct, latSwapped, t0.Add(time.Minute), 20),
		datum(acct, lat, t0.Add(3*time.Minute), 40), // at end: outside [start, end)
		datum(acct, latB, t0.Add(time.Minute), 99),
		datum(acct, errsM, t0, 1),
		datum(acct, other1, t0, 1),
		datum(other, lat, t0.Add(time.Minute), 77),
	}
	if err := upd(func(tx alarms.Tx) error { return tx.PutData(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	got, err := as.Datapoints(ctx, acct, latSwapped, t0, t0.Add(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	values := func(ds []alarms.Datum) (out []float64) {
		for _, d := range ds {
			out = append(out, d.Stats.Sum/d.Stats.Count)
		}
		return out
	}
	if !cmp.Equal(values(got), []float64{10, 20, 30}) {
		t.Fatalf("Datapoints(Latency, host a) = %v, want 10, 20, 30 in time order", values(got))
	}
	want := datum(acct, lat, t0, 10)
	if g := got[0]; g.Account != acct || !g.Time.Equal(t0) || g.Unit != want.Unit || g.Stats != want.Stats || g.Metric.DimensionKey() != lat.DimensionKey() {
		t.Fatalf("Datapoints[0] = %+v, want %+v", g, want)
	}
	if got, err := as.Datapoints(ctx, other, lat, t0, t0.Add(time.Hour)); err != nil || !cmp.Equal(values(got), []float64{77}) {
		t.Fatalf("another account's Datapoints = %v, %v; want only its own 77", values(got), err)
	}
	if got, err := as.Datapoints(ctx, acct, alarms.Metric{Namespace: "App", Name: "Latency"}, t0, t0.Add(time.Hour)); err != nil || len(got) != 0 {
		t.Fatalf("Datapoints of Latency without dimensions = %v, %v; want none (another metric)", values(got), err)
	}
	key := func(ms []alarms.Metric) (out []string) {
		for _, m := range ms {
			out = append(out, m.Namespace+"/"+m.Name+"/"+m.DimensionKey())
		}
		return out
	}
	if ms, err := as.Metrics(ctx, acct, alarms.MetricQuery{}); err != nil ||
		!cmp.Equal(key(ms), key([]alarms.Metric{errsM, lat, latB, other1})) {
		t.Fatalf("Metrics = %q, %v", key(ms), err)
	}
	if ms, err := as.Metrics(ctx, acct, alarms.MetricQuery{Namespace: "App", Name: "Latency"}); err != nil ||
		!cmp.Equal(key(ms), key([]alarms.Metric{lat, latB})) {
		t.Fatalf("Metrics(App, Latency) = %q, %v", key(ms), err)
	}
	if ms, err := as.Metrics(ctx, acct, alarms.MetricQuery{Name: "Latency"}); err != nil || len(ms) != 3 {
		t.Fatalf("Metrics(name Latency) = %q, %v; want 3", key(ms), err)
	}
	if ms, err := as.Metrics(ctx, acct, alarms.MetricQuery{}); err != nil || !cmp.Equal(ms[1].Dimensions, []alarms.Dimension{{Name: "Env", Value: "prod"}, {Name: "Host", Value: "a"}}) {
		t.Fatalf("Metrics' dimensions do not round-trip sorted: %+v, %v", ms, err)
	}

	// ---- pruning: at most limit of every account's datapoints older than the cut, oldest first
	old := []alarms.Datum{
		datum(acct, lat, t0.Add(-3*time.Hour), 1),
		datum(other, errsM, t0.Add(-2*time.Hour), 2),
		datum(acct, errsM, t0.Add(-time.Hour), 3),
	}
	if err := upd(func(tx alarms.Tx) error { return tx.PutData(ctx, old) }); err != nil {
		t.Fatal(err)
	}
	prune := func(limit int) int {
		var n int
		if err := as.Ingest(ctx, func(tx alarms.Tx) (err error) { n, err = tx.PruneData(ctx, t0, limit); return err }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := prune(2); n != 2 {
		t.Fatalf("PruneData(limit 2) deleted %d, want 2", n)
	}
	if got, _ := as.Datapoints(ctx, acct, lat, t0.Add(-24*time.Hour), t0); len(got) != 0 {
		t.Fatalf("the oldest datum survived the first batch: %v", values(got))
	}
	if got, _ := as.Datapoints(ctx, acct, errsM, t0.Add(-24*time.Hour), t0); !cmp.Equal(values(got), []float64{3}) {
		t.Fatalf("the newest old datum went in the first batch (not oldest first): %v", values(got))
	}
	if n := prune(2); n != 1 {
		t.Fatalf("the second PruneData deleted %d, want the 1 left", n)
	}
	if n := prune(2); n != 0 {
		t.Fatalf("a third PruneData deleted %d, want 0", n)
	}
	if got, _ := as.Datapoints(ctx, acct, lat, t0, t0.Add(time.Hour)); !cmp.Equal(values(got), []float64{10, 20, 30, 40}) {
		t.Fatalf("PruneData took data at or after the cut: %v", values(got))
	}

	// ---- alarms
	alarm := func(account, name string, m alarms.Metric, state alarms.State) alarms.Alarm {
		return alarms.Alarm{Account: account, Name: name, Description: "d " + name, ActionsEnabled: true, Metric: m, Statistic: "Average",
			Period: 60, EvaluationPeriods: 3, DatapointsToAlarm: 2, Threshold: 25.5, ComparisonOperator: alarms.Greater,
			TreatMissingData: alarms.MissingMissing, Unit: "Milliseconds", State: state, StateReason: "r", StateReasonData: `{"x":1}`,
			StateUpdated: t0, ConfigUpdated: t0}
	}
	defs := []alarms.Alarm{
		alarm(acct, "web-latency", lat, alarms.OK),
		alarm(acct, "web-latency-b", latB, alarms.Alarming),
		alarm(acct, "errors", errsM, alarms.InsufficientData),
		alarm(acct, "webby", other1, alarms.OK),
		alarm(other, "web-latency", lat, alarms.OK),
	}
	for _, a := range defs {
		if err := upd(func(tx alarms.Tx) error { return tx.PutAlarm(ctx, a) }); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := as.GetAlarm(ctx, acct, "web-latency"); err != nil || !cmp.Equal(got, defs[0]) {
		t.Fatalf("GetAlarm = %+v, %v; want %+v", got, err, defs[0])
	}
	if _, err := as.GetAlarm(ctx, acct, "nope"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("GetAlarm(missing): %v, want NotFound", err)
	}
	if _, err := as.GetAlarm(ctx, "333333333333", "web-latency"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("GetAlarm from a third account: %v, want NotFound", err)
	}
	// PutAlarm replaces: a new metric, state and threshold.
	changed := defs[3]
	changed.Metric, changed.State, changed.Threshold = errsM, alarms.Alarming, 3
	if err := upd(func(tx alarms.Tx) error { return tx.PutAlarm(ctx, changed) }); err != nil {
		t.Fatal(err)
	}
	var locked alarms.Alarm
	if err := upd(func(tx alarms.Tx) (err error) { locked, err = tx.LockAlarm(ctx, acct, "webby"); return err }); err != nil || !cmp.Equal(locked, changed) {
		t.Fatalf("LockAlarm after the replacement = %+v, %v; want %+v", locked, err, changed)
	}
	if err := upd(func(tx alarms.Tx) error { _, err := tx.LockAlarm(ctx, acct, "nope"); return err }); !errs.Is(err, errs.NotFound) {
		t.Fatalf("LockAlarm(missing): %v, want NotFound", err)
	}
	names := func(xs []alarms.Alarm) (out []string) {
		for _, a := range xs {
			out = append(out, a.Name)
		}
		return out
	}
	for _, c := range []struct {
		q    alarms.AlarmQuery
		want []string
	}{
		{alarms.AlarmQuery{Limit: 10}, []string{"errors", "web-latency", "web-latency-b", "webby"}},
		{alarms.AlarmQuery{Limit: 2}, []string{"errors", "web-latency"}},
		{alarms.AlarmQuery{After: "web-latency", Limit: 10}, []string{"web-latency-b", "webby"}},
		{alarms.AlarmQuery{Prefix: "web-", Limit: 10}, []string{"web-latency", "web-latency-b"}},
		{alarms.AlarmQuery{Prefix: "web", After: "web-latency-b", Limit: 10}, []string{"webby"}},
		{alarms.AlarmQuery{Prefix: "%", Limit: 10}, nil},
		{alarms.AlarmQuery{State: alarms.Alarming, Limit: 10}, []string{"web-latency-b", "webby"}},
		{alarms.AlarmQuery{Metric: &latSwapped, Limit: 10}, []string{"web-latency"}},
		{alarms.AlarmQuery{Metric: &errsM, Limit: 10}, []string{"errors", "webby"}},
		{alarms.AlarmQuery{Names: []string{"webby", "errors", "nope"}, Limit: 10}, []string{"errors", "webby"}},
		{alarms.AlarmQuery{Names: []string{}, Limit: 10}, nil},
		{alarms.AlarmQuery{Names: []string{"web-latency", "web-latency-b"}, State: alarms.OK, Limit: 10}, []string{"web-latency"}},
	} {
		if got, err := as.ListAlarms(ctx, acct, c.q); err != nil || !cmp.Equal(names(got), c.want) {
			t.Errorf("ListAlarms(%+v) = %q, %v; want %q", c.q, names(got), err, c.want)
		}
	}
	if got, err := as.ListAlarms(ctx, other, alarms.AlarmQuery{Limit: 10}); err != nil || !cmp.Equal(got, defs[4:]) {
		t.Fatalf("another account's ListAlarms = %q, %v", names(got), err)
	}
	var on []string
	if err := upd(func(tx alarms.Tx) (err error) { on, err = tx.AlarmsOn(ctx, acct, "App", "Errors"); return err }); err != nil {
		t.Fatal(err)
	}
	sort.Strings(on)
	if !cmp.Equal(on, []string{"errors", "webby"}) {
		t.Fatalf("AlarmsOn(App, Errors) = %q", on)
	}
	if err := upd(func(tx alarms.Tx) (err error) { on, err = tx.AlarmsOn(ctx, other, "App", "Errors"); return err }); err != nil || len(on) != 0 {
		t.Fatalf("another account's AlarmsOn(App, Errors) = %q, %v", on, err)
	}

	// ---- history
	item := func(account, alarm, typ string, at time.Time) alarms.HistoryItem {
		return alarms.HistoryItem{Account: account, Alarm: alarm, Time: at, Type: typ, Summary: typ + " of " + alarm, Data: `{"version":"1.0"}`, AlarmType: "MetricAlarm"}
	}
	hist := []alarms.HistoryItem{
		item(acct, "web-latency", "ConfigurationUpdate", t0),
		item(acct, "web-latency", "StateUpdate", t0.Add(time.Minute)),
		item(other, "web-latency", "StateUpdate", t0.Add(time.Minute)),
		item(acct, "errors", "StateUpdate", t0.Add(2*time.Minute)),
		item(acct, "web-latency", "StateUpdate", t0.Add(3*time.Minute)),
	}
	for _, h := range hist {
		if err := upd(func(tx alarms.Tx) error { return tx.AddHistory(ctx, h) }); err != nil {
			t.Fatal(err)
		}
	}
	seqs := func(hs []alarms.HistoryItem) (out []string) {
		for _, h := range hs {
			out = append(out, fmt.Sprintf("%d:%s", h.Seq, h.Alarm))
		}
		return out
	}
	all, err := as.History(ctx, acct, alarms.HistoryQuery{Limit: 10})
	if err != nil || !cmp.Equal(seqs(all), []string{"4:web-latency", "3:errors", "2:web-latency", "1:web-latency"}) {
		t.Fatalf("History = %q, %v; want the account's items numbered 1.. newest first", seqs(all), err)
	}
	first := hist[0]
	first.Seq = 1
	if !cmp.Equal(all[3], first) {
		t.Fatalf("History item = %+v, want %+v", all[3], first)
	}
	for _, c := range []struct {
		q    alarms.HistoryQuery
		want []string
	}{
		{alarms.HistoryQuery{Alarm: "web-latency", Limit: 10}, []string{"4:web-latency", "2:web-latency", "1:web-latency"}},
		{alarms.HistoryQuery{Type: "StateUpdate", Limit: 10}, []string{"4:web-latency", "3:errors", "2:web-latency"}},
		{alarms.HistoryQuery{Start: t0.Add(time.Minute), End: t0.Add(2 * time.Minute), Limit: 10}, []string{"3:errors", "2:web-latency"}},
		{alarms.HistoryQuery{Limit: 2}, []string{"4:web-latency", "3:errors"}},
		{alarms.HistoryQuery{Before: 3, Limit: 10}, []string{"2:web-latency", "1:web-latency"}},
		{alarms.HistoryQuery{Ascending: true, Limit: 2}, []string{"1:web-latency", "2:web-latency"}},
		{alarms.HistoryQuery{Ascending: true, Before: 2, Limit: 10}, []string{"3:errors", "4:web-latency"}},
		{alarms.HistoryQuery{Alarm: "nope", Limit: 10}, nil},
	} {
		if got, err := as.History(ctx, acct, c.q); err != nil || !cmp.Equal(seqs(got), c.want) {
			t.Errorf("History(%+v) = %q, %v; want %q", c.q, seqs(got), err, c.want)
		}
	}
	if got, err := as.History(ctx, other, alarms.HistoryQuery{Limit: 10}); err != nil || !cmp.Equal(seqs(got), []string{"1:web-latency"}) {
		t.Fatalf("another account's History = %q, %v", seqs(got), err)
	}

	// Concurrent history items of one account all commit, each with its own number.
	const writers = 8
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- as.Ingest(ctx, func(tx alarms.Tx) error {
				return tx.AddHistory(ctx, item(acct, "errors", "StateUpdate", t0.Add(time.Hour)))
			})
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatalf("a concurrent AddHistory: %v", err)
		}
	}
	got8, err := as.History(ctx, acct, alarms.HistoryQuery{Alarm: "errors", Ascending: true, Limit: 100})
	if err != nil || len(got8) != writers+1 {
		t.Fatalf("History(errors) after %d concurrent items = %q, %v", writers, seqs(got8), err)
	}
	for i, h := range got8[1:] {
		if h.Seq != int64(5+i) {
			t.Fatalf("concurrent history numbers = %q, want 5..%d each once", seqs(got8), 4+writers)
		}
	}

	// ---- deleting
	if err := upd(func(tx alarms.Tx) error { return tx.DeleteAlarm(ctx, acct, "web-latency") }); err != nil {
		t.Fatal(err)
	}
	if _, err := as.GetAlarm(ctx, acct, "web-latency"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("GetAlarm after DeleteAlarm: %v, want NotFound", err)
	}
	if got, err := as.History(ctx, acct, alarms.HistoryQuery{Alarm: "web-latency", Limit: 10}); err != nil || len(got) != 0 {
		t.Fatalf("the deleted alarm's history = %q, %v; want none", seqs(got), err)
	}
	if got, err := as.GetAlarm(ctx, other, "web-latency"); err != nil || !cmp.Equal(got, defs[4]) {
		t.Fatalf("another account's alarm of the same name after the delete = %+v, %v", got, err)
	}
	if got, err := as.History(ctx, other, alarms.HistoryQuery{Limit: 10}); err != nil || len(got) != 1 {
		t.Fatalf("another account's history after the delete = %q, %v", seqs(got), err)
	}
	if err := upd(func(tx alarms.Tx) error { return tx.DeleteAlarm(ctx, acct, "web-latency") }); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a second DeleteAlarm: %v, want NotFound", err)
	}
	// The next item after a delete still numbers after the account's last.
	if err := upd(func(tx alarms.Tx) error {
		return tx.AddHistory(ctx, item(acct, "errors", "StateUpdate", t0.Add(2*time.Hour)))
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := as.History(ctx, acct, alarms.HistoryQuery{Limit: 1}); err != nil || len(got) != 1 || got[0].Seq != 5+writers {
		t.Fatalf("newest history item after the delete = %q, %v; want number %d", seqs(got), err, 5+writers)
	}

	// ---- a failed transaction keeps nothing: data, alarm, history, event, work item
	boom := errors.New("boom")
	err = upd(func(tx alarms.Tx) error {
		if err := tx.PutData(ctx, []alarms.Datum{datum(acct, errsM, t0.Add(time.Minute), 5)}); err != nil {
			return err
		}
		if err := tx.PutAlarm(ctx, alarm(acct, "doomed", errsM, alarms.OK)); err != nil {
			return err
		}
		if err := tx.AddHistory(ctx, item(acct, "doomed", "ConfigurationUpdate", t0)); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, alarmEvent(acct, "doomed")); err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, alarms.WorkKind, acct+"/doomed", t0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("the failed transaction: %v, want boom", err)
	}
	if got, _ := as.Datapoints(ctx, acct, errsM, t0, t0.Add(time.Hour)); len(got) != 1 {
		t.Errorf("the failed transaction's datum was kept: %d datapoints, want 1", len(got))
	}
	if _, err := as.GetAlarm(ctx, acct, "doomed"); !errs.Is(err, errs.NotFound) {
		t.Errorf("the failed transaction's alarm: %v, want NotFound", err)
	}
	if got, _ := as.History(ctx, acct, alarms.HistoryQuery{Alarm: "doomed", Limit: 10}); len(got) != 0 {
		t.Errorf("the failed transaction's history was kept: %q", seqs(got))
	}
	if evs, err := st.Events().EventsAfter(ctx, 0, 100); err != nil || len(evs) != 0 {
		t.Errorf("the failed transaction's event was kept: %d events, %v", len(evs), err)
	}

	// ---- an alarm's transition commits with its event; Update carries the call's audit
	// record, Ingest (the evaluator's own writes) none.
	ctxA, pending := audit.WithPending(ctx, func() audit.Record {
		return audit.Record{Time: t0, RequestID: "req-alarm", Service: "monitoring", Operation: "SetAlarmState"}
	})
	if err := as.Update(ctxA, func(tx alarms.Tx) error {
		a := alarm(acct, "errors", errsM, alarms.Alarming)
		if err := tx.PutAlarm(ctxA, a); err != nil {
			return err
		}
		return tx.AppendEvent(ctxA, alarmEvent(acct, "errors"))
	}); err != nil {
		t.Fatal(err)
	}
	if !pending.WasCommitted() {
		t.Error("Update: the call's audit record is not marked committed")
	}
	ctxB, pendingB := audit.WithPending(ctx, func() audit.Record {
		return audit.Record{Time: t0, RequestID: "req-ingest", Operation: "Evaluate"}
	})
	if err := as.Ingest(ctxB, func(tx alarms.Tx) error {
		return tx.PutAlarm(ctxB, alarm(acct, "errors", errsM, alarms.OK))
	}); err != nil {
		t.Fatal(err)
	}
	if pendingB.WasCommitted() {
		t.Error("Ingest committed an audit record")
	}
	recs, err := st.Audit().AuditRecords(ctx, 0, 100)
	if err != nil || len(recs) != 1 || !strings.Contains(string(recs[0].Body), "req-alarm") {
		t.Fatalf("audit records = %d, %v; want only the Update's", len(recs), err)
	}
	if evs, err := st.Events().EventsAfter(ctx, 0, 100); err != nil || len(evs) != 1 || evs[0].DetailType != alarms.StateChangeType {
		t.Fatalf("events after the transition = %+v, %v; want its one state change", evs, err)
	}
	if got, _ := as.GetAlarm(ctx, acct, "errors"); got.State != alarms.OK {
		t.Fatalf("after Ingest the alarm is %s, want OK", got.State)
	}
}

func alarmEvent(account, name string) events.Event {
	return events.Event{ID: "ev-" + name, Account: account, Region: "us-east-1", Source: alarms.EventSource, DetailType: alarms.StateChangeType,
		Time: t0, Resources: []string{"arn:aws:cloudwatch:us-east-1:" + account + ":alarm:" + name}, Detail: json.RawMessage(`{"alarmName":"` + name + `"}`)}
}
