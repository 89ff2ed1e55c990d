package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// aggMemStore is an in-memory Store: the chain as AppendAudit builds it, and a switch that makes
// appends fail.
type aggMemStore struct {
	mu   sync.Mutex
	recs []Stored
	fail bool
}

func (s *aggMemStore) AppendAudit(_ context.Context, times []time.Time, bodies [][]byte, hash func(string, int64, []byte) string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("store unavailable")
	}
	prev, seq := "", int64(0)
	if n := len(s.recs); n > 0 {
		prev, seq = s.recs[n-1].Hash, s.recs[n-1].Seq
	}
	for i, b := range bodies {
		seq++
		h := hash(prev, seq, b)
		s.recs = append(s.recs, Stored{Seq: seq, Time: times[i], Body: b, PrevHash: prev, Hash: h})
		prev = h
	}
	return nil
}

func (s *aggMemStore) AuditRecords(_ context.Context, after int64, limit int) ([]Stored, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Stored
	for _, r := range s.recs {
		if r.Seq > after && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *aggMemStore) AuditHead(context.Context) (int64, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.recs); n > 0 {
		return s.recs[n-1].Seq, s.recs[n-1].Hash, nil
	}
	return 0, "", nil
}

func (s *aggMemStore) setFail(v bool) { s.mu.Lock(); s.fail = v; s.mu.Unlock() }

// records returns the stored records, decoded.
func (s *aggMemStore) records(t *testing.T) []Record {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, len(s.recs))
	for i, r := range s.recs {
		if err := json.Unmarshal(r.Body, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// aggStart runs a Log over a fresh store and an Aggregator of cfg on it; the cleanup closes
// both, aggregator first.
func aggStart(t *testing.T, cfg AggregatorConfig) (*aggMemStore, *Log, *Aggregator) {
	t.Helper()
	st := &aggMemStore{}
	l := NewLog(st, nil)
	a := l.NewAggregator(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); l.Run(ctx) }()
	go func() { defer wg.Done(); a.Run(ctx) }()
	t.Cleanup(func() {
		_ = a.Close(context.Background())
		l.Close()
		wg.Wait()
		cancel()
	})
	return st, l, a
}

// aggInvocation is an allowed invocation of endpoint by principal, at t.
func aggInvocation(principal, endpoint string, status int, t time.Time) Record {
	return Record{
		Time: t, RequestID: fmt.Sprintf("req-%d", t.UnixNano()), Account: "111111111111", PrincipalARN: principal,
		AccessKeyID: "AKIAEXAMPLE", Service: "sagemaker-runtime", Operation: "InvokeEndpoint",
		Resource: "arn:aws:sagemaker:us-east-1:111111111111:endpoint/" + endpoint, Decision: "allow",
		Reason: "identity policy", HTTPStatus: status, SourceIP: "127.0.0.1", UserAgent: "sdk", Variant: "AllTraffic",
	}
}

// aggCounts sums, per principal, endpoint and status, the calls the aggregate records stand for.
func aggCounts(t *testing.T, recs []Record) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, r := range recs {
		if r.Aggregate == nil {
			t.Errorf("record %+v is not an aggregate", r)
			continue
		}
		out[fmt.Sprintf("%s %s %d", r.PrincipalARN, r.Resource, r.HTTPStatus)] += r.Aggregate.Count
	}
	return out
}

// TestAggregatorCountsExactlyUnderConcurrency: 8 goroutines count 4,000 invocations over four
// distinct calls while windows of 2 ms flush under them; after Close the aggregates in the trail
// sum to exactly what was counted, per distinct call, and the chain verifies.
func TestAggregatorCountsExactlyUnderConcurrency(t *testing.T) {
	st, _, a := aggStart(t, AggregatorConfig{Window: 2 * time.Millisecond})
	principals := []string{"arn:aws:iam::111111111111:user/alice", "arn:aws:iam::111111111111:user/bob"}
	const workers, each = 8, 500
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				status := 200
				if i%5 == 0 {
					status = 424 // ModelError
				}
				r := aggInvocation(principals[w%2], "scorer", status, t0.Add(time.Duration(w*each+i)))
				if err := a.Add(context.Background(), r, Tally{Latency: time.Millisecond, BytesIn: 10, BytesOut: 3}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := st.records(t)
	got := aggCounts(t, recs)
	ep := "arn:aws:sagemaker:us-east-1:111111111111:endpoint/scorer"
	want := map[string]int64{
		principals[0] + " " + ep + " 200": 4 * each * 4 / 5, principals[0] + " " + ep + " 424": 4 * each / 5,
		principals[1] + " " + ep + " 200": 4 * each * 4 / 5, principals[1] + " " + ep + " 424": 4 * each / 5,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("aggregated counts = %v, want %v", got, want)
	}
	var bytesIn, latency int64
	for _, r := range recs {
		bytesIn += r.Aggregate.BytesIn
		latency += r.Aggregate.LatencySumMicros
		if r.Aggregate.LatencyMaxMicros != 1000 || r.Variant != "AllTraffic" || r.RequestID == "" || r.UserAgent != "sdk" {
			t.Errorf("aggregate %+v", r)
		}
		if r.Aggregate.Last.Before(r.Time) {
			t.Errorf("aggregate ends (%v) before it starts (%v)", r.Aggregate.Last, r.Time)
		}
	}
	if bytesIn != 10*workers*each || latency != 1000*workers*each {
		t.Errorf("bytes in %d, latency sum %d µs; want %d, %d", bytesIn, latency, 10*workers*each, 1000*workers*each)
	}
	if a.Counted() != workers*each || a.Appended() != workers*each {
		t.Errorf("counted %d, appended %d; want %d", a.Counted(), a.Appended(), workers*each)
	}
	if n, p, err := Verify(context.Background(), st); err != nil || p != nil || n != int64(len(recs)) {
		t.Errorf("Verify = %d, %v, %v", n, p, err)
	}
}

// TestAggregatorFlushesEachWindow: without Close, a window's calls reach the trail as one record
// with their count, first and last time, latency and bytes.
func TestAggregatorFlushesEachWindow(t *testing.T) {
	st, _, a := aggStart(t, AggregatorConfig{Window: 20 * time.Millisecond})
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for i, lat := range []time.Duration{time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond} {
		if err := a.Add(context.Background(), aggInvocation("arn:aws:iam::111111111111:user/alice", "scorer", 200, t0.Add(time.Duration(i)*time.Second)), Tally{Latency: lat, BytesIn: 100, BytesOut: 7}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(st.records(t)) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	recs := st.records(t)
	if len(recs) != 1 || recs[0].Aggregate == nil {
		t.Fatalf("after a window the trail holds %+v, want one aggregate", recs)
	}
	r := recs[0]
	want := Aggregate{Count: 3, Last: t0.Add(2 * time.Second), LatencySumMicros: 6000, LatencyMaxMicros: 3000, BytesIn: 300, BytesOut: 21}
	if !r.Time.Equal(t0) || !r.Aggregate.Last.Equal(want.Last) || r.Aggregate.Count != want.Count || r.Aggregate.LatencySumMicros != want.LatencySumMicros ||
		r.Aggregate.LatencyMaxMicros != want.LatencyMaxMicros || r.Aggregate.BytesIn != want.BytesIn || r.Aggregate.BytesOut != want.BytesOut {
		t.Errorf("aggregate at %v: %+v, want at %v: %+v", r.Time, *r.Aggregate, t0, want)
	}
	if r.Aggregate.MeanLatency() != 2*time.Millisecond || r.Aggregate.MaxLatency() != 3*time.Millisecond || r.Calls() != 3 {
		t.Errorf("mean %v, max %v, calls %d", r.Aggregate.MeanLatency(), r.Aggregate.MaxLatency(), r.Calls())
	}
}

// TestAggregatorFlushesOnClose: a window far from its end is appended by Close; calls counted
// after Close are recorded one by one, at once.
func TestAggregatorFlushesOnClose(t *testing.T) {
	st, _, a := aggStart(t, AggregatorConfig{Window: time.Hour})
	now := time.Now()
	for i := range 5 {
		if err := a.Add(context.Background(), aggInvocation("arn:aws:iam::111111111111:user/alice", "scorer", 200, now.Add(time.Duration(i))), Tally{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(st.records(t)); n != 0 {
		t.Fatalf("%d records appended before the window ended", n)
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := st.records(t)
	if len(recs) != 1 || recs[0].Calls() != 5 {
		t.Fatalf("after Close the trail holds %+v, want one aggregate of 5", recs)
	}
	late := aggInvocation("arn:aws:iam::111111111111:user/alice", "scorer", 200, now)
	if err := a.Add(context.Background(), late, Tally{}); err != nil {
		t.Fatal(err)
	}
	recs = st.records(t)
	if len(recs) != 2 || recs[1].Aggregate != nil || recs[1].RequestID != late.RequestID {
		t.Errorf("a call after Close was not recorded alone: %+v", recs)
	}
}

// TestAggregatorFlushesEarlyAtMaxKeys: a window holding MaxKeys distinct calls is appended
// before its time.
func TestAggregatorFlushesEarlyAtMaxKeys(t *testing.T) {
	st, _, a := aggStart(t, AggregatorConfig{Window: time.Hour, MaxKeys: 4})
	for i := range 4 {
		if err := a.Add(context.Background(), aggInvocation("arn:aws:iam::111111111111:user/alice", fmt.Sprint("ep", i), 200, time.Now()), Tally{}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(st.records(t)) < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(st.records(t)); n != 4 {
		t.Errorf("a full window appended %d records, want 4", n)
	}
}

// TestAggregatorKeepsWhatFailsToCommit: aggregates whose commit fails are counted into the next
// window, which appends them once the store is back; the log is unhealthy meanwhile.
func TestAggregatorKeepsWhatFailsToCommit(t *testing.T) {
	st, l, a := aggStart(t, AggregatorConfig{Window: time.Hour})
	add := func(n int) {
		for range n {
			if err := a.Add(context.Background(), aggInvocation("arn:aws:iam::111111111111:user/alice", "scorer", 200, time.Now()), Tally{BytesIn: 1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(3)
	st.setFail(true)
	if err := a.Flush(context.Background()); err == nil {
		t.Fatal("a flush whose commit failed reported no error")
	}
	if l.Healthy() || a.Appended() != 0 {
		t.Errorf("healthy %v, appended %d after a failed flush", l.Healthy(), a.Appended())
	}
	st.setFail(false)
	add(2)
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := st.records(t)
	if len(recs) != 1 || recs[0].Calls() != 5 || recs[0].Aggregate.BytesIn != 5 || a.Appended() != 5 || !l.Healthy() {
		t.Errorf("after recovery: %+v, appended %d, healthy %v; want one aggregate of 5", recs, a.Appended(), l.Healthy())
	}
}

// TestAggregateRecordsAreTamperEvident: changing an aggregate's count breaks the chain.
func TestAggregateRecordsAreTamperEvident(t *testing.T) {
	st, _, a := aggStart(t, AggregatorConfig{Window: time.Hour})
	for range 3 {
		if err := a.Add(context.Background(), aggInvocation("arn:aws:iam::111111111111:user/alice", "scorer", 200, time.Now()), Tally{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	tampered := strings.Replace(string(st.recs[0].Body), `"count":3`, `"count":1`, 1)
	if tampered == string(st.recs[0].Body) {
		t.Fatalf("no count of 3 in %s", st.recs[0].Body)
	}
	st.recs[0].Body = []byte(tampered)
	st.mu.Unlock()
	if _, p, err := Verify(context.Background(), st); err != nil || p == nil || p.Seq != 1 {
		t.Errorf("Verify of a lowered count = %v, %v; want a problem at record 1", p, err)
	}
}
