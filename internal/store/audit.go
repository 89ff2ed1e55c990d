package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/audit"
)

// AuditStore is the audit trail's store: a view of the shared database.
type AuditStore Store

var _ audit.Store = (*AuditStore)(nil)

// Audit returns the audit trail's store.
func (s *Store) Audit() *AuditStore { return (*AuditStore)(s) }

func (s *AuditStore) base() *Store { return (*Store)(s) }

// AppendAudit appends records to the chain in one transaction, as one row: SQLite parses every
// statement it runs, so a batch costs three statements whatever its size.
func (s *AuditStore) AppendAudit(ctx context.Context, times []time.Time, bodies [][]byte, hash func(string, int64, []byte) string) error {
	if len(bodies) == 0 {
		return nil
	}
	var head chainHead
	err := s.base().tx(ctx, func(tx *sql.Tx) error {
		locked, err := s.base().lockCommitOrder(ctx, tx, false)
		if err != nil {
			return err
		}
		head, err = s.base().appendAudit(ctx, tx, locked, nil, times, bodies, hash)
		return err
	})
	if err != nil {
		s.base().forgetAuditHead()
		return err
	}
	s.base().rememberAuditHead(head)
	return nil
}

// chainHead is the audit chain's newest record: its seq and hash. known is false when it must
// be read.
type chainHead struct {
	seq   int64
	hash  string
	known bool
}

// lockCommitOrder takes the lock under which event numbers are drawn and the audit chain
// grows, held until the transaction ends: writers serialize only for the end of their
// transactions. On PostgreSQL that is the audit head's row, locked FOR UPDATE, which returns
// the latest committed head in the same round trip. SQLite runs one writer at a time already;
// there the head is read by appendAudit (or remembered from the last append).
//
// With notify, the same statement asks PostgreSQL to wake every server's event listeners when,
// and only if, the transaction commits.
func (s *Store) lockCommitOrder(ctx context.Context, tx *sql.Tx, notify bool) (chainHead, error) {
	if s.dialect != Postgres {
		return chainHead{}, nil
	}
	var h chainHead
	q := `SELECT value, hash FROM counters WHERE name = 'audit' FOR UPDATE`
	var args []any
	if notify {
		q, args = `SELECT value, hash, pg_notify($1, '') IS NULL FROM counters WHERE name = 'audit' FOR UPDATE`, []any{eventsChannel}
	}
	row := tx.QueryRowContext(ctx, q, args...)
	var err error
	if notify {
		var ignored bool
		err = row.Scan(&h.seq, &h.hash, &ignored)
	} else {
		err = row.Scan(&h.seq, &h.hash)
	}
	h.known = err == nil
	return h, err
}

// appendAudit appends records after the chain's head inside tx, which holds the commit-order
// lock, and returns the new head. The head lives apart from the records (counters 'audit'), so
// records cut off the end are noticed.
//
// On SQLite the head is remembered between transactions (one statement less per batch); the
// UPDATE at the end moves it only if it is still where this store left it, so a batch appended
// meanwhile by another process makes this transaction reload the head and run again.
//
// evs, the transaction's events, are inserted first: on PostgreSQL in the same statement, so
// that a change's whole serialized tail is one round trip besides the lock and the commit.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, head chainHead, evs []pendingEvent, times []time.Time, bodies [][]byte, hash func(string, int64, []byte) string) (chainHead, error) {
	if s.dialect != Postgres {
		if err := s.insertEvents(ctx, tx, evs); err != nil {
			return chainHead{}, err
		}
	}
	if !head.known {
		s.auditMu.Lock()
		head = chainHead{s.auditSeq, s.auditHash, s.auditKnown}
		s.auditMu.Unlock()
	}
	if !head.known {
		if err := tx.QueryRowContext(ctx, `SELECT value, hash FROM counters WHERE name = 'audit'`).Scan(&head.seq, &head.hash); err != nil {
			return chainHead{}, err
		}
	}
	seq, prev := head.seq, head.hash
	texts := make([]string, len(bodies))
	hashes := make([]string, len(bodies))
	for i, body := range bodies {
		seq++
		prev = hash(prev, seq, body)
		texts[i], hashes[i] = string(body), prev
	}
	recs, err := json.Marshal(texts)
	if err != nil {
		return chainHead{}, err
	}
	hs, err := json.Marshal(hashes)
	if err != nil {
		return chainHead{}, err
	}
	args := []any{head.seq + 1, seq, micros(times[0]), string(recs), head.hash, string(hs), head.seq}
	var n int64
	if s.dialect == Postgres {
		// One round trip: the transaction holds the commit-order lock, so every statement
		// saved is time other writers do not wait.
		args = append(args, prev)
		q := `WITH `
		if len(evs) > 0 {
			var b strings.Builder
			b.WriteString(`ev AS (INSERT INTO events (seq, id, account, source, detail_type, time, body) VALUES `)
			for i, p := range evs {
				if i > 0 {
					b.WriteString(",")
				}
				n := len(args)
				fmt.Fprintf(&b, "(nextval('events_seq'),$%d,$%d,$%d,$%d,$%d,$%d)", n+1, n+2, n+3, n+4, n+5, n+6)
				args = append(args, p.ev.ID, p.ev.Account, p.ev.Source, p.ev.DetailType, micros(p.ev.Time), p.body)
			}
			b.WriteString(`), `)
			q += b.String()
		}
		q += `batch AS (
				INSERT INTO audit_log (first_seq, last_seq, time, records, prev_hash, hashes) VALUES ($1,$2,$3,$4,$5,$6)
			), moved AS (
				UPDATE counters SET value = $2, hash = $8 WHERE name = 'audit' AND value = $7 RETURNING 1
			) SELECT COUNT(*) FROM moved`
		err = tx.QueryRowContext(ctx, q, args...).Scan(&n)
	} else {
		if _, err = tx.ExecContext(ctx, `INSERT INTO audit_log (first_seq, last_seq, time, records, prev_hash, hashes) VALUES ($1,$2,$3,$4,$5,$6)`, args[:6]...); err == nil {
			var res sql.Result
			if res, err = tx.ExecContext(ctx, `UPDATE counters SET value = $1, hash = $2 WHERE name = 'audit' AND value = $3`, seq, prev, head.seq); err == nil {
				n, _ = res.RowsAffected()
			}
		}
	}
	if err != nil {
		if isUniqueViolation(err) && strings.Contains(err.Error(), "audit_log") {
			s.forgetAuditHead()
			return chainHead{}, errAuditHeadMoved
		}
		return chainHead{}, err
	}
	if n != 1 {
		s.forgetAuditHead()
		return chainHead{}, errAuditHeadMoved
	}
	return chainHead{seq, prev, true}, nil
}

// errAuditHeadMoved makes the transaction run again (retryable): another process appended.
var errAuditHeadMoved = errors.New("the audit chain's head moved: another server appended")

func (s *Store) forgetAuditHead() {
	s.auditMu.Lock()
	s.auditKnown = false
	s.auditMu.Unlock()
}

// rememberAuditHead keeps the head a committed append left (used on SQLite only: on
// PostgreSQL other servers append too, and the head is read under the lock every time).
func (s *Store) rememberAuditHead(h chainHead) {
	if s.dialect != SQLite {
		return
	}
	s.auditMu.Lock()
	s.auditSeq, s.auditHash, s.auditKnown = h.seq, h.hash, true
	s.auditMu.Unlock()
}

// AuditRecords returns up to about limit records after seq (whole batches), in order.
func (s *AuditStore) AuditRecords(ctx context.Context, after int64, limit int) ([]audit.Stored, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT first_seq, last_seq, time, records, prev_hash, hashes FROM audit_log
		WHERE last_seq > $1 ORDER BY first_seq LIMIT $2`, after, max(1, limit/16))
	if err != nil {
		return nil, internal("store.AuditRecords", err)
	}
	defer rows.Close()
	var out []audit.Stored
	for rows.Next() {
		var first, last, t int64
		var recs, prev, hs string
		if err := rows.Scan(&first, &last, &t, &recs, &prev, &hs); err != nil {
			return nil, internal("store.AuditRecords", err)
		}
		var texts, hashes []string
		if err := json.Unmarshal([]byte(recs), &texts); err != nil {
			return nil, internal("store.AuditRecords", err)
		}
		if err := json.Unmarshal([]byte(hs), &hashes); err != nil {
			return nil, internal("store.AuditRecords", err)
		}
		if len(texts) != len(hashes) || int64(len(texts)) != last-first+1 {
			// Report the batch as records with what can be read; Verify finds the break.
			n := min(len(texts), len(hashes))
			texts, hashes = texts[:n], hashes[:n]
		}
		for i := range texts {
			seq := first + int64(i)
			if seq <= after {
				prev = hashes[i]
				continue
			}
			out = append(out, audit.Stored{Seq: seq, Time: fromMicros(t), Body: []byte(texts[i]), PrevHash: prev, Hash: hashes[i]})
			prev = hashes[i]
		}
	}
	return out, internal("store.AuditRecords", rows.Err())
}

// AuditHead returns the last appended sequence number and hash.
func (s *AuditStore) AuditHead(ctx context.Context) (int64, string, error) {
	var seq int64
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT value, hash FROM counters WHERE name = 'audit'`).Scan(&seq, &hash)
	return seq, hash, internal("store.AuditHead", err)
}
