package audit

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/randid"
)

// Aggregate is what an aggregate record says about the calls it stands for: calls identical in
// every field of the record but their time and request id (same account, principal, access key,
// source, user agent, operation, resource, variant, decision and reason, HTTP status and error
// code). The record's Time is the first call's; Last is the last call's.
type Aggregate struct {
	Count            int64     `json:"count"`
	Last             time.Time `json:"last"`
	LatencySumMicros int64     `json:"latencySumMicros"` // the server's time on the calls, summed
	LatencyMaxMicros int64     `json:"latencyMaxMicros"`
	BytesIn          int64     `json:"bytesIn"`  // request bodies
	BytesOut         int64     `json:"bytesOut"` // response bodies
}

// MeanLatency is the calls' mean latency.
func (g *Aggregate) MeanLatency() time.Duration {
	if g.Count == 0 {
		return 0
	}
	return time.Duration(g.LatencySumMicros/g.Count) * time.Microsecond
}

// MaxLatency is the calls' longest latency.
func (g *Aggregate) MaxLatency() time.Duration {
	return time.Duration(g.LatencyMaxMicros) * time.Microsecond
}

// Calls returns how many calls r stands for: its Aggregate's count, else 1.
func (r Record) Calls() int64 {
	if r.Aggregate != nil {
		return r.Aggregate.Count
	}
	return 1
}

// Tally is what one call adds to its aggregate besides being counted.
type Tally struct {
	Latency           time.Duration
	BytesIn, BytesOut int64
}

// AggregatorConfig bounds what an Aggregator holds.
type AggregatorConfig struct {
	// Window is how long calls are counted before their aggregates are appended (default 1 s):
	// the most a crash of the process (SIGKILL, power loss) can lose.
	Window time.Duration
	// MaxKeys is how many distinct aggregates a window holds before it is flushed early
	// (default 4096). Past twice that, while a flush is under way, calls are recorded one by
	// one, as other calls are.
	MaxKeys int
}

// Aggregator counts allowed data-plane calls (invocations) and appends them to the trail as one
// record per distinct call per window, instead of one record per call: the data plane's volume
// would make the trail's group commit its largest cost. The aggregates are appended through the
// Log, in the same hash chain as every other record, so they are tamper-evident like the rest.
// Refusals and control-plane calls are never aggregated: callers record those with RecordCall.
//
// What is not yet appended lives only in memory: a process that is killed (SIGKILL, power loss)
// loses the counts of at most the last window (and of a flush under way). Close — a graceful
// shutdown — appends everything counted.
type Aggregator struct {
	log     *Log
	window  time.Duration
	maxKeys int

	mu     sync.Mutex
	cur    map[Record]*Aggregate // keyed by the record without time and request id
	first  map[Record]time.Time
	closed bool

	flushMu sync.Mutex // one flush at a time, so aggregates append in window order
	kick    chan struct{}
	done    chan struct{}
	once    sync.Once

	counted  atomic.Int64 // calls counted into aggregates
	appended atomic.Int64 // calls whose aggregate committed
}

// NewAggregator returns an Aggregator appending to l; call Run to flush every window and Close
// to flush the rest.
func (l *Log) NewAggregator(cfg AggregatorConfig) *Aggregator {
	if cfg.Window <= 0 {
		cfg.Window = time.Second
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 4096
	}
	return &Aggregator{
		log: l, window: cfg.Window, maxKeys: cfg.MaxKeys,
		cur: map[Record]*Aggregate{}, first: map[Record]time.Time{},
		kick: make(chan struct{}, 1), done: make(chan struct{}),
	}
}

// aggregateKey is r as its aggregate is keyed: without the fields that differ from call to call.
func aggregateKey(r Record) Record {
	r.Time, r.RequestID, r.Aggregate = time.Time{}, "", nil
	return r
}

// Add counts one allowed call. It does not wait for the store: the call is appended with its
// window's aggregate. After Close, or when the aggregator holds too many distinct calls, it
// records the call on its own (RecordCall) and waits for it.
func (a *Aggregator) Add(ctx context.Context, r Record, t Tally) error {
	key := aggregateKey(r)
	a.mu.Lock()
	g := a.cur[key]
	if g == nil {
		if a.closed || len(a.cur) >= 2*a.maxKeys {
			a.mu.Unlock()
			return a.log.RecordCall(ctx, r)
		}
		g = &Aggregate{}
		a.cur[key] = g
		a.first[key] = r.Time
		if len(a.cur) == a.maxKeys {
			select {
			case a.kick <- struct{}{}:
			default:
			}
		}
	}
	g.Count++
	if r.Time.Before(a.first[key]) {
		a.first[key] = r.Time
	}
	if r.Time.After(g.Last) {
		g.Last = r.Time
	}
	us := t.Latency.Microseconds()
	g.LatencySumMicros += us
	g.LatencyMaxMicros = max(g.LatencyMaxMicros, us)
	g.BytesIn += t.BytesIn
	g.BytesOut += t.BytesOut
	a.mu.Unlock()
	a.counted.Add(1)
	return nil
}

// Run flushes every window (or as soon as a window holds MaxKeys distinct calls) until Close.
func (a *Aggregator) Run(ctx context.Context) {
	t := time.NewTicker(a.window)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-a.kick:
		case <-a.done:
			return
		}
		if err := a.Flush(ctx); err != nil {
			a.log.log.Error("cannot append the invocations' audit aggregates; they are kept for the next window", "err", err)
		}
	}
}

// Flush appends the aggregates counted so far, one record each, and waits for their commit.
// Aggregates that fail to commit are counted again into the current window (unless closed).
func (a *Aggregator) Flush(ctx context.Context) error {
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	a.mu.Lock()
	cur, first := a.cur, a.first
	if len(cur) == 0 {
		a.mu.Unlock()
		return nil
	}
	a.cur, a.first = make(map[Record]*Aggregate, len(cur)), make(map[Record]time.Time, len(cur))
	a.mu.Unlock()

	recs := make([]Record, 0, len(cur))
	var calls int64
	for key, g := range cur {
		r := key
		r.Time, r.RequestID, r.Aggregate = first[key], "aggregate-"+randid.String(20, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), g
		recs = append(recs, r)
		calls += g.Count
	}
	// In the order of their first call, so the trail reads in time order within a flush.
	sort.Slice(recs, func(i, j int) bool { return recs[i].Time.Before(recs[j].Time) })
	failed, err := a.log.recordAll(context.WithoutCancel(ctx), recs)
	var lostCalls int64
	for _, r := range failed {
		lostCalls += r.Calls()
	}
	a.appended.Add(calls - lostCalls)
	if err == nil {
		return nil
	}
	a.mu.Lock()
	keep := !a.closed
	if keep {
		for _, r := range failed {
			a.merge(r)
		}
	}
	a.mu.Unlock()
	if keep {
		return errs.E(errs.Unavailable, "%d audit aggregates (%d calls) could not be appended; they are counted into the next window", len(failed), lostCalls, err)
	}
	return errs.E(errs.Unavailable, "%d audit aggregates (%d calls) could not be appended and are lost", len(failed), lostCalls, err)
}

// merge counts an aggregate that failed to commit back into the current window. a.mu is held.
func (a *Aggregator) merge(r Record) {
	key := aggregateKey(r)
	g := a.cur[key]
	if g == nil {
		c := *r.Aggregate
		a.cur[key], a.first[key] = &c, r.Time
		return
	}
	g.Count += r.Aggregate.Count
	if r.Time.Before(a.first[key]) {
		a.first[key] = r.Time
	}
	if r.Aggregate.Last.After(g.Last) {
		g.Last = r.Aggregate.Last
	}
	g.LatencySumMicros += r.Aggregate.LatencySumMicros
	g.LatencyMaxMicros = max(g.LatencyMaxMicros, r.Aggregate.LatencyMaxMicros)
	g.BytesIn += r.Aggregate.BytesIn
	g.BytesOut += r.Aggregate.BytesOut
}

// Close stops Run, appends every aggregate counted and waits for the commit; calls counted after
// Close are recorded one by one. Close the aggregator before the Log.
func (a *Aggregator) Close(ctx context.Context) error {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.once.Do(func() { close(a.done) })
	return a.Flush(ctx)
}

// Counted returns how many calls were counted into aggregates since the start.
func (a *Aggregator) Counted() int64 { return a.counted.Load() }

// Appended returns how many counted calls have their aggregate committed.
func (a *Aggregator) Appended() int64 { return a.appended.Load() }

// recordAll queues recs together (so that one group commit usually takes them all) and waits
// for them; it returns the records that failed and the first error.
func (l *Log) recordAll(ctx context.Context, recs []Record) ([]Record, error) {
	ps := make([]pending, 0, len(recs))
	var failed []Record
	var first error
queue:
	for i, r := range recs {
		body, err := json.Marshal(r)
		if err != nil {
			failed, first = append(failed, r), errs.E(errs.Internal, "cannot encode the audit record", err)
			continue
		}
		p := pending{rec: r, body: body, errc: make(chan error, 1)}
		select {
		case l.queue <- p:
			ps = append(ps, p)
		case <-l.done:
			failed, first = append(failed, recs[i:]...), errs.E(errs.Unavailable, "the audit log is closed")
			break queue
		}
	}
	for _, p := range ps {
		if err := <-p.errc; err != nil {
			failed = append(failed, p.rec)
			if first == nil {
				first = err
			}
		}
	}
	return failed, first
}
