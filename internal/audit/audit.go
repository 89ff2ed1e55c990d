// Package audit keeps the append-only audit trail of every API call: who (account, principal,
// access key, source address), what (service, operation, resource), the authorization decision
// with its deciding statement, and the outcome (error code, HTTP status, request id).
//
// Invariants:
//   - Records are only appended. Each carries the SHA-256 of its predecessor's hash and its own
//     canonical JSON, so changing, removing or reordering any record breaks the chain, and
//     Verify finds the first record where it breaks.
//   - A call that changes something commits its record in the change's own transaction (see
//     Pending): if the record cannot be appended, the change is not made.
//   - RecordCall (calls that changed nothing: reads, refusals) returns only after the record is
//     committed. Concurrent calls are committed together in one transaction (group commit), so
//     auditing every read stays cheap. Records that fail to commit are counted (Failed) and
//     make the log unhealthy until a group commit succeeds again.
//   - Allowed data-plane calls (invocations of endpoints) may instead be counted by an
//     Aggregator and appended as one record per distinct call per window (Record.Aggregate),
//     in the same chain; a crash loses at most the window not yet appended.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Record is one audited API call.
type Record struct {
	Time         time.Time `json:"time"`
	RequestID    string    `json:"requestId"`
	Account      string    `json:"account,omitempty"`
	PrincipalARN string    `json:"principalArn,omitempty"`
	AccessKeyID  string    `json:"accessKeyId,omitempty"`
	Service      string    `json:"service,omitempty"`
	Operation    string    `json:"operation,omitempty"`
	Resource     string    `json:"resource,omitempty"`
	Decision     string    `json:"decision,omitempty"` // allow | deny | "" (no authorization happened)
	Reason       string    `json:"reason,omitempty"`
	ErrorCode    string    `json:"errorCode,omitempty"`
	HTTPStatus   int       `json:"httpStatus"`
	SourceIP     string    `json:"sourceIp,omitempty"`
	UserAgent    string    `json:"userAgent,omitempty"`
	// Variant is the production variant an invocation reached, when it reached one.
	Variant string `json:"variant,omitempty"`
	// Aggregate, when set, makes the record stand for Aggregate.Count calls (see Aggregator);
	// RequestID then names the aggregate, and Time is the first call's.
	Aggregate *Aggregate `json:"aggregate,omitempty"`
}

// Stored is a record as the store holds it.
type Stored struct {
	Seq      int64
	Time     time.Time
	Body     []byte // the record's canonical JSON
	PrevHash string
	Hash     string
}

// Store appends and reads audit records.
type Store interface {
	// AppendAudit appends bodies in order in one transaction, numbering them after the last
	// record and chaining each with hash(prev, seq, body).
	AppendAudit(ctx context.Context, times []time.Time, bodies [][]byte, hash func(prev string, seq int64, body []byte) string) error
	Reader
}

// Reader reads audit records: all that Verify needs.
type Reader interface {
	// AuditRecords returns up to limit records with Seq > after, in order.
	AuditRecords(ctx context.Context, after int64, limit int) ([]Stored, error)
	// AuditHead returns the sequence number and hash of the last record appended (0 and "" for
	// none), kept apart from the records so that cutting records off the end is detected.
	AuditHead(ctx context.Context) (int64, string, error)
}

// Hash is the chain function: SHA-256 over the previous hash, the sequence number and the body.
func Hash(prev string, seq int64, body []byte) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(seq, 10)))
	h.Write([]byte{0})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Log writes records with group commit.
type Log struct {
	store  Store
	linger time.Duration // how long a batch waits for more records after its first
	log    *slog.Logger
	queue  chan pending
	done   chan struct{}
	once   sync.Once

	failed   atomic.Int64 // records whose group commit failed, since the start
	lastFail atomic.Bool  // the last group commit failed
}

type pending struct {
	rec  Record
	body []byte
	errc chan error
}

// NewLog returns a Log; call Run to start committing and Close to stop.
func NewLog(st Store, log *slog.Logger) *Log {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Log{store: st, linger: 300 * time.Microsecond, log: log.With("component", "audit"), queue: make(chan pending, 4096), done: make(chan struct{})}
}

// RecordCall appends a record and waits until it is committed.
func (l *Log) RecordCall(ctx context.Context, r Record) error {
	body, err := json.Marshal(r)
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the audit record", err)
	}
	p := pending{rec: r, body: body, errc: make(chan error, 1)}
	select {
	case l.queue <- p:
	case <-l.done:
		return errs.E(errs.Unavailable, "the audit log is closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-p.errc:
		return err
	case <-ctx.Done():
		// The record is queued and will be committed; the caller just stops waiting.
		return ctx.Err()
	}
}

// Run commits queued records in batches until Close is called, then drains the queue.
func (l *Log) Run(ctx context.Context) {
	batch := make([]pending, 0, 256)
	lastSize := 0
	for {
		var first pending
		select {
		case first = <-l.queue:
		case <-l.done:
			// Drain what is queued so no accepted record is lost.
			batch = batch[:0]
			for {
				select {
				case p := <-l.queue:
					batch = append(batch, p)
				default:
					if len(batch) > 0 {
						l.commit(context.WithoutCancel(ctx), batch)
					}
					return
				}
			}
		}
		batch = append(batch[:0], first)
		// Under concurrency (the last batch had company), linger briefly for more records: a
		// commit's fixed cost is most of its cost, and the callers of concurrent requests wait
		// on this batch anyway. A lone caller never waits for company that will not come.
		var linger <-chan time.Time
		var timer *time.Timer
		if lastSize > 1 {
			timer = time.NewTimer(l.linger)
			linger = timer.C
		}
	fill:
		for len(batch) < cap(batch) {
			select {
			case p := <-l.queue:
				batch = append(batch, p)
				continue
			default:
			}
			if linger == nil {
				break
			}
			select {
			case p := <-l.queue:
				batch = append(batch, p)
			case <-linger:
				break fill
			case <-l.done:
				break fill
			}
		}
		if timer != nil {
			timer.Stop()
		}
		lastSize = len(batch)
		l.commit(context.WithoutCancel(ctx), batch)
	}
}

func (l *Log) commit(ctx context.Context, batch []pending) {
	times := make([]time.Time, len(batch))
	bodies := make([][]byte, len(batch))
	for i, p := range batch {
		times[i], bodies[i] = p.rec.Time, p.body
	}
	err := l.store.AppendAudit(ctx, times, bodies, Hash)
	if err != nil {
		l.log.Error("cannot append audit records", "count", len(batch), "err", err)
		l.failed.Add(int64(len(batch)))
	}
	l.lastFail.Store(err != nil)
	for _, p := range batch {
		p.errc <- err
	}
}

// Failed returns how many records failed to commit since the log started.
func (l *Log) Failed() int64 { return l.failed.Load() }

// Healthy reports whether the last group commit succeeded; a server whose audit records do
// not commit is degraded.
func (l *Log) Healthy() bool { return !l.lastFail.Load() }

// Close stops accepting records; Run drains the queue and returns.
func (l *Log) Close() {
	l.once.Do(func() { close(l.done) })
}

// Problem is where the chain breaks.
type Problem struct {
	Seq    int64
	Reason string
}

func (p Problem) String() string { return fmt.Sprintf("record %d: %s", p.Seq, p.Reason) }

// Verify walks the whole chain and returns the number of records checked and the first problem
// found (nil when the chain is intact).
func Verify(ctx context.Context, st Reader) (int64, *Problem, error) {
	headSeq, headHash, err := st.AuditHead(ctx)
	if err != nil {
		return 0, nil, err
	}
	var prev string
	var after, n int64
	for {
		recs, err := st.AuditRecords(ctx, after, 1000)
		if err != nil {
			return n, nil, err
		}
		if len(recs) == 0 {
			if after < headSeq {
				return n, &Problem{Seq: after + 1, Reason: fmt.Sprintf("missing: the trail ends at %d but %d records were appended (records were cut off the end)", after, headSeq)}, nil
			}
			if after > headSeq || prev != headHash {
				return n, &Problem{Seq: after, Reason: "the last record does not match the head of the chain"}, nil
			}
			return n, nil, nil
		}
		for _, r := range recs {
			if r.Seq != after+1 {
				return n, &Problem{Seq: after + 1, Reason: fmt.Sprintf("missing: the next record is %d", r.Seq)}, nil
			}
			if r.PrevHash != prev {
				return n, &Problem{Seq: r.Seq, Reason: "its previous-hash does not match the record before it"}, nil
			}
			if want := Hash(prev, r.Seq, r.Body); r.Hash != want {
				return n, &Problem{Seq: r.Seq, Reason: "its content does not match its hash (modified)"}, nil
			}
			var rec Record
			if err := json.Unmarshal(r.Body, &rec); err != nil {
				return n, &Problem{Seq: r.Seq, Reason: "its body is not a record"}, nil
			}
			prev, after = r.Hash, r.Seq
			n++
		}
	}
}
