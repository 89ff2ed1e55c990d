package storetest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/logs"
	"github.com/slipway-ml/slipway/internal/store"
)

// testLogs covers the logs' store: groups, streams, appends with their sequences, reads in
// both directions, group scans, stream listings and their cursors, deletion, and which writes
// carry the call's audit record.
func testLogs(t *testing.T, st *store.Store) {
	ctx := context.Background()
	ls := st.Logs()
	const acct, other = "111111111111", "222222222222"
	upd := func(fn func(tx logs.Tx) error) error { return ls.Update(ctx, fn) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	must(upd(func(tx logs.Tx) error {
		return tx.CreateGroup(ctx, logs.Group{Account: acct, Name: "/app/a_b", CreatedAt: now})
	}))
	if err := upd(func(tx logs.Tx) error {
		return tx.CreateGroup(ctx, logs.Group{Account: acct, Name: "/app/a_b", CreatedAt: now})
	}); !errs.Is(err, errs.Conflict) {
		t.Fatalf("second CreateGroup: err = %v, want Conflict", err)
	}
	must(upd(func(tx logs.Tx) error {
		return tx.EnsureGroup(ctx, logs.Group{Account: acct, Name: "/app/a_b", CreatedAt: now})
	}))
	must(upd(func(tx logs.Tx) error {
		return tx.CreateGroup(ctx, logs.Group{Account: acct, Name: "/app/aXb", CreatedAt: now})
	}))
	must(upd(func(tx logs.Tx) error {
		return tx.CreateGroup(ctx, logs.Group{Account: other, Name: "/app/a_b", CreatedAt: now})
	}))
	g, err := ls.GetGroup(ctx, acct, "/app/a_b")
	if err != nil || !g.CreatedAt.Equal(now) {
		t.Fatalf("GetGroup = %+v, %v", g, err)
	}
	// '_' is no wildcard, and prefixes are case-sensitive.
	gs, err := ls.ListGroups(ctx, acct, logs.GroupQuery{Prefix: "/app/a_", Limit: 10})
	if err != nil || len(gs) != 1 || gs[0].Name != "/app/a_b" {
		t.Fatalf("ListGroups(prefix /app/a_) = %+v, %v; want /app/a_b only", gs, err)
	}
	if gs, _ := ls.ListGroups(ctx, acct, logs.GroupQuery{Prefix: "/APP", Limit: 10}); len(gs) != 0 {
		t.Errorf("ListGroups(prefix /APP) = %+v, want none", gs)
	}
	if gs, _ := ls.ListGroups(ctx, acct, logs.GroupQuery{Contains: "Xb", Limit: 10}); len(gs) != 1 || gs[0].Name != "/app/aXb" {
		t.Errorf("ListGroups(contains Xb) = %+v, want /app/aXb", gs)
	}
	// Names sort by their bytes: 'X' before '_'.
	if gs, _ := ls.ListGroups(ctx, acct, logs.GroupQuery{Limit: 10}); len(gs) != 2 || gs[0].Name != "/app/aXb" {
		t.Errorf("ListGroups = %+v, want /app/aXb, /app/a_b", gs)
	}
	if gs, _ := ls.ListGroups(ctx, acct, logs.GroupQuery{After: "/app/aXb", Limit: 10}); len(gs) != 1 || gs[0].Name != "/app/a_b" {
		t.Errorf("ListGroups(after /app/aXb) = %+v, want /app/a_b", gs)
	}

	stream := func(name string) logs.Stream {
		return logs.Stream{Account: acct, Group: "/app/a_b", Name: name, CreatedAt: now}
	}
	for _, n := range []string{"s1", "s2", "t1/algo-1"} {
		must(upd(func(tx logs.Tx) error { return tx.CreateStream(ctx, stream(n)) }))
	}
	if err := upd(func(tx logs.Tx) error { return tx.CreateStream(ctx, stream("s1")) }); !errs.Is(err, errs.Conflict) {
		t.Errorf("second CreateStream: err = %v, want Conflict", err)
	}
	if err := upd(func(tx logs.Tx) error {
		return tx.CreateStream(ctx, logs.Stream{Account: acct, Group: "/missing", Name: "s", CreatedAt: now})
	}); !errs.Is(err, errs.NotFound) {
		t.Errorf("CreateStream in a missing group: err = %v, want NotFound", err)
	}
	if err := upd(func(tx logs.Tx) error {
		return tx.AppendEvents(ctx, acct, "/app/a_b", "nope", []logs.StoredEvent{{Timestamp: 1, Message: "x"}})
	}); !errs.Is(err, errs.NotFound) {
		t.Errorf("AppendEvents to a missing stream: err = %v, want NotFound", err)
	}

	// Events out of time order across batches are read back in (timestamp, seq) order; a NUL
	// byte and any UTF-8 survive.
	put := func(name string, evs ...logs.StoredEvent) {
		t.Helper()
		must(upd(func(tx logs.Tx) error { return tx.AppendEvents(ctx, acct, "/app/a_b", name, evs) }))
	}
	put("s1", logs.StoredEvent{Timestamp: 1000, Ingested: 5000, Message: "a"}, logs.StoredEvent{Timestamp: 3000, Ingested: 5000, Message: "c\x00é"})
	put("s1", logs.StoredEvent{Timestamp: 2000, Ingested: 6000, Message: "b"}, logs.StoredEvent{Timestamp: 3000, Ingested: 6000, Message: "d"})
	put("s2", logs.StoredEvent{Timestamp: 2500, Ingested: 6000, Message: "s2-x"})
	s1, err := ls.GetStream(ctx, acct, "/app/a_b", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if s1.FirstEvent != 1000 || s1.LastEvent != 3000 || s1.LastIngestion != 6000 || s1.StoredBytes != int64(len("a")+len("c\x00é")+len("b")+len("d")) {
		t.Errorf("stream s1 = %+v", s1)
	}
	msgs := func(evs []logs.StoredEvent) string {
		var out []string
		for _, e := range evs {
			out = append(out, e.Message)
		}
		return strings.Join(out, ",")
	}
	fwd, err := ls.ReadEvents(ctx, s1.ID, logs.EventRange{Limit: 10})
	if err != nil || msgs(fwd) != "a,b,c\x00é,d" {
		t.Fatalf("ReadEvents forward = %q, %v", msgs(fwd), err)
	}
	if fwd[0].Seq != 1 || fwd[1].Seq != 3 || fwd[2].Seq != 2 || fwd[3].Seq != 4 {
		t.Errorf("sequences = %d %d %d %d, want 1 3 2 4", fwd[0].Seq, fwd[1].Seq, fwd[2].Seq, fwd[3].Seq)
	}
	after, _ := ls.ReadEvents(ctx, s1.ID, logs.EventRange{From: logs.Key{Timestamp: 2000, Seq: 3}, Limit: 10})
	if msgs(after) != "c\x00é,d" {
		t.Errorf("ReadEvents after (2000,3) = %q", msgs(after))
	}
	back, _ := ls.ReadEvents(ctx, s1.ID, logs.EventRange{From: logs.Key{Timestamp: 3000, Seq: 4}, Backward: true, Limit: 2})
	if msgs(back) != "c\x00é,b" {
		t.Errorf("ReadEvents backward before (3000,4) = %q, want the two before it, nearest first", msgs(back))
	}
	ranged, _ := ls.ReadEvents(ctx, s1.ID, logs.EventRange{Start: 2000, End: 3000, Limit: 10})
	if msgs(ranged) != "b" {
		t.Errorf("ReadEvents [2000,3000) = %q, want b", msgs(ranged))
	}

	// Group scans: by time across streams, filtered by names or prefix, from a cursor.
	scan := func(q logs.ScanQuery) string {
		t.Helper()
		q.Limit = 100
		evs, err := ls.ScanEvents(ctx, acct, "/app/a_b", q)
		if err != nil {
			t.Fatal(err)
		}
		return msgs(evs)
	}
	if got := scan(logs.ScanQuery{}); got != "a,b,s2-x,c\x00é,d" {
		t.Errorf("ScanEvents = %q", got)
	}
	if got := scan(logs.ScanQuery{Streams: []string{"s2"}}); got != "s2-x" {
		t.Errorf("ScanEvents(s2) = %q", got)
	}
	if got := scan(logs.ScanQuery{Prefix: "s1"}); got != "a,b,c\x00é,d" {
		t.Errorf("ScanEvents(prefix s1) = %q", got)
	}
	if got := scan(logs.ScanQuery{Start: 2000, End: 2500}); got != "b,s2-x" {
		t.Errorf("ScanEvents [2000,2500] = %q", got)
	}
	first, _ := ls.ScanEvents(ctx, acct, "/app/a_b", logs.ScanQuery{Limit: 2})
	k := logs.ScanKey{Timestamp: first[1].Timestamp, StreamID: first[1].StreamID, Seq: first[1].Seq}
	if got := scan(logs.ScanQuery{After: &k}); got != "s2-x,c\x00é,d" {
		t.Errorf("ScanEvents after the second = %q", got)
	}

	// Stream listings: by name or last event, both directions, with cursors.
	names := func(q logs.StreamQuery) string {
		t.Helper()
		ss, err := ls.ListStreams(ctx, acct, "/app/a_b", q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range ss {
			out = append(out, s.Name)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		q    logs.StreamQuery
		want string
	}{
		{logs.StreamQuery{Limit: 10}, "s1,s2,t1/algo-1"},
		{logs.StreamQuery{Limit: 10, Descending: true}, "t1/algo-1,s2,s1"},
		{logs.StreamQuery{Limit: 10, Prefix: "t1/"}, "t1/algo-1"},
		{logs.StreamQuery{Limit: 10, HasCursor: true, AfterName: "s1"}, "s2,t1/algo-1"},
		{logs.StreamQuery{Limit: 10, ByLastEvent: true}, "t1/algo-1,s2,s1"},
		{logs.StreamQuery{Limit: 10, ByLastEvent: true, Descending: true}, "s1,s2,t1/algo-1"},
		{logs.StreamQuery{Limit: 10, ByLastEvent: true, HasCursor: true, AfterLast: 2500, AfterName: "s2"}, "s1"},
		{logs.StreamQuery{Limit: 1, ByLastEvent: true, Descending: true, HasCursor: true, AfterLast: 3000, AfterName: "s1"}, "s2"},
	} {
		if got := names(tc.q); got != tc.want {
			t.Errorf("ListStreams(%+v) = %s, want %s", tc.q, got, tc.want)
		}
	}

	// Concurrent appends to one stream: every sequence once, none lost.
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				err := upd(func(tx logs.Tx) error {
					return tx.AppendEvents(ctx, acct, "/app/a_b", "s2", []logs.StoredEvent{
						{Timestamp: 9000, Message: fmt.Sprintf("w%d-%d-a", w, i)}, {Timestamp: 9000, Message: fmt.Sprintf("w%d-%d-b", w, i)}})
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	s2, _ := ls.GetStream(ctx, acct, "/app/a_b", "s2")
	all, err := ls.ReadEvents(ctx, s2.ID, logs.EventRange{Limit: 1000})
	if err != nil || len(all) != 81 {
		t.Fatalf("s2 holds %d events (%v), want 81", len(all), err)
	}
	var seqs []int
	for i, e := range all {
		seqs = append(seqs, int(e.Seq))
		// A batch's two events are adjacent: a batch is never interleaved with another.
		if strings.HasSuffix(e.Message, "-a") && all[i+1].Message != strings.TrimSuffix(e.Message, "a")+"b" {
			t.Errorf("event %d is %q, followed by %q", i, e.Message, all[i+1].Message)
		}
	}
	sort.Ints(seqs)
	for i, s := range seqs {
		if s != i+1 {
			t.Fatalf("sequences %v are not 1..81", seqs)
		}
	}

	// Ingest writes no audit record; Update under a call's pending record writes it.
	before, _ := st.Audit().AuditRecords(ctx, 0, 1000)
	actx, pending := audit.WithPending(ctx, func() audit.Record {
		return audit.Record{Time: now, RequestID: "logs-1", Service: "logs", Operation: "PutLogEvents"}
	})
	must(ls.Ingest(actx, func(tx logs.Tx) error {
		if err := tx.EnsureStream(ctx, stream("ingested")); err != nil {
			return err
		}
		return tx.AppendEvents(ctx, acct, "/app/a_b", "ingested", []logs.StoredEvent{{Timestamp: 1, Message: "from a job"}})
	}))
	if pending.WasCommitted() {
		t.Error("Ingest committed the call's audit record")
	}
	must(ls.Update(actx, func(tx logs.Tx) error {
		return tx.AppendEvents(ctx, acct, "/app/a_b", "ingested", []logs.StoredEvent{{Timestamp: 2, Message: "from a call"}})
	}))
	recs, _ := st.Audit().AuditRecords(ctx, 0, 1000)
	if len(recs) != len(before)+1 || !strings.Contains(string(recs[len(recs)-1].Body), `"requestId":"logs-1"`) {
		t.Errorf("audit records went from %d to %d; want one more, the call's", len(before), len(recs))
	}

	testLogLines(t, ls, acct, now)

	// Deleting a group deletes its streams and events, and only its own.
	must(upd(func(tx logs.Tx) error { return tx.DeleteGroup(ctx, acct, "/app/a_b") }))
	if _, err := ls.GetStream(ctx, acct, "/app/a_b", "s1"); !errs.Is(err, errs.NotFound) {
		t.Errorf("stream after its group's deletion: err = %v, want NotFound", err)
	}
	if evs, _ := ls.ReadEvents(ctx, s1.ID, logs.EventRange{Limit: 10}); len(evs) != 0 {
		t.Errorf("events after their group's deletion: %d", len(evs))
	}
	if err := upd(func(tx logs.Tx) error { return tx.DeleteGroup(ctx, acct, "/app/a_b") }); !errs.Is(err, errs.NotFound) {
		t.Errorf("second DeleteGroup: err = %v, want NotFound", err)
	}
	if _, err := ls.GetGroup(ctx, other, "/app/a_b"); err != nil {
		t.Errorf("the other account's group of the same name: %v", err)
	}
	if diff := cmp.Diff([]string{"/app/aXb"}, groupNames(ls, acct)); diff != "" {
		t.Errorf("groups left (-want +got):\n%s", diff)
	}
}

func groupNames(ls *store.LogsStore, account string) []string {
	gs, _ := ls.ListGroups(context.Background(), account, logs.GroupQuery{Limit: 50})
	var out []string
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out
}

// testLogLines covers AppendLines: a source's lines land once whatever positions a copier
// offers them from (again, overlapping, concurrently), sources count apart, and a deleted
// stream's counts go with it.
func testLogLines(t *testing.T, ls *store.LogsStore, acct string, now time.Time) {
	ctx := context.Background()
	const group = "/app/lines"
	ensure := func() {
		t.Helper()
		err := ls.Ingest(ctx, func(tx logs.Tx) error {
			if err := tx.EnsureGroup(ctx, logs.Group{Account: acct, Name: group, CreatedAt: now}); err != nil {
				return err
			}
			return tx.EnsureStream(ctx, logs.Stream{Account: acct, Group: group, Name: "s", CreatedAt: now})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// One timestamp for all: the stream's order is the order of the appends.
	lines := func(source string, first, n int) []logs.StoredEvent {
		evs := make([]logs.StoredEvent, n)
		for i := range evs {
			evs[i] = logs.StoredEvent{Timestamp: 1000, Message: fmt.Sprintf("%s%d", source, first+i)}
		}
		return evs
	}
	appendLines := func(source string, first, n int) (int, error) {
		var added int
		err := ls.Ingest(ctx, func(tx logs.Tx) error {
			var err error
			added, err = tx.AppendLines(ctx, acct, group, "s", source, int64(first), lines(source, first, n))
			return err
		})
		return added, err
	}
	read := func() string {
		t.Helper()
		s, err := ls.GetStream(ctx, acct, group, "s")
		if err != nil {
			t.Fatal(err)
		}
		evs, err := ls.ReadEvents(ctx, s.ID, logs.EventRange{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, e := range evs {
			msgs = append(msgs, e.Message)
		}
		return strings.Join(msgs, " ")
	}
	ensure()
	err := ls.Ingest(ctx, func(tx logs.Tx) error {
		_, err := tx.AppendLines(ctx, acct, group, "nope", "p", 0, lines("p", 0, 1))
		return err
	})
	if !errs.Is(err, errs.NotFound) {
		t.Errorf("AppendLines to a missing stream: err = %v, want NotFound", err)
	}
	for _, tc := range []struct {
		source    string
		first, n  int
		wantAdded int
	}{
		{"p", 0, 3, 3}, // p0 p1 p2
		{"p", 1, 4, 2}, // p1 p2 held: p3 p4
		{"p", 0, 1, 0}, // a copier started again from the beginning
		{"q", 0, 1, 1}, // another source counts apart
		{"p", 7, 1, 1}, // a gap (lines lost before): appended, the count moves past it
		{"p", 5, 3, 0}, // below the count now
	} {
		added, err := appendLines(tc.source, tc.first, tc.n)
		if err != nil || added != tc.wantAdded {
			t.Errorf("AppendLines(%s, first %d, %d lines) = %d, %v; want %d appended", tc.source, tc.first, tc.n, added, err, tc.wantAdded)
		}
	}
	if got, want := read(), "p0 p1 p2 p3 p4 q0 p7"; got != want {
		t.Errorf("stream holds %q, want %q", got, want)
	}

	// Copiers offering overlapping batches of one source at once: each line once, in order.
	var wg sync.WaitGroup
	for w := 1; w <= 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for first := 0; first < 30; first += w {
				if _, err := appendLines("c", first, min(w+1, 30-first)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var want []string
	for i := range 30 {
		want = append(want, fmt.Sprintf("c%d", i))
	}
	if got := read(); !strings.HasSuffix(got, " "+strings.Join(want, " ")) {
		t.Errorf("stream holds %q, want c0 … c29 once each after p7", got)
	}

	// A deleted stream's counts go with it: the stream made again takes the lines again.
	if err := ls.Update(ctx, func(tx logs.Tx) error { return tx.DeleteGroup(ctx, acct, group) }); err != nil {
		t.Fatal(err)
	}
	ensure()
	if added, err := appendLines("p", 0, 2); err != nil || added != 2 {
		t.Errorf("AppendLines after the group was made again = %d, %v; want 2 appended", added, err)
	}
	if err := ls.Update(ctx, func(tx logs.Tx) error { return tx.DeleteGroup(ctx, acct, group) }); err != nil {
		t.Fatal(err)
	}
}
