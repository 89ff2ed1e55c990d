package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/slipway-ml/slipway/internal/audit"
)

var _ audit.Store = (*Store)(nil)

// AppendAudit appends records to the chain in one transaction, as one row: SQLite parses every
// statement it runs, so a batch costs three statements whatever its size.
func (s *Store) AppendAudit(ctx context.Context, times []time.Time, bodies [][]byte, hash func(string, int64, []byte) string) error {
	if len(bodies) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// On SQLite the head of the chain is remembered between batches (one statement less
		// per batch); the UPDATE at the end moves it only if it is still where this store left
		// it, so a batch appended meanwhile by another process makes this one reload the head
		// and run again.
		// On PostgreSQL, where several servers may share the database, the head is read and
		// locked every time: remembering it only makes servers retry each other's batches.
		s.auditMu.Lock()
		seq, prev, known := s.auditSeq, s.auditHash, s.auditKnown && s.dialect == SQLite
		s.auditMu.Unlock()
		if !known {
			q := `SELECT value, hash FROM counters WHERE name = 'audit'`
			if s.dialect == Postgres {
				q += ` FOR UPDATE`
			}
			if err := tx.QueryRowContext(ctx, q).Scan(&seq, &prev); err != nil {
				return err
			}
		}
		headSeq := seq
		first, firstPrev := seq+1, prev
		texts := make([]string, len(bodies))
		hashes := make([]string, len(bodies))
		for i, body := range bodies {
			seq++
			prev = hash(prev, seq, body)
			texts[i], hashes[i] = string(body), prev
		}
		recs, err := json.Marshal(texts)
		if err != nil {
			return err
		}
		hs, err := json.Marshal(hashes)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (first_seq, last_seq, time, records, prev_hash, hashes) VALUES ($1,$2,$3,$4,$5,$6)`,
			first, seq, micros(times[0]), string(recs), firstPrev, string(hs)); err != nil {
			if isUniqueViolation(err) {
				return errAuditHeadMoved
			}
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE counters SET value = $1, hash = $2 WHERE name = 'audit' AND value = $3`, seq, prev, headSeq)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			s.forgetAuditHead()
			return errAuditHeadMoved
		}
		s.auditMu.Lock()
		s.auditSeq, s.auditHash, s.auditKnown = seq, prev, true
		s.auditMu.Unlock()
		return nil
	})
	if err != nil {
		s.forgetAuditHead()
	}
	if errors.Is(err, errAuditHeadMoved) {
		return s.AppendAudit(ctx, times, bodies, hash)
	}
	return err
}

var errAuditHeadMoved = errors.New("the audit chain's head moved: another server appended")

func (s *Store) forgetAuditHead() {
	s.auditMu.Lock()
	s.auditKnown = false
	s.auditMu.Unlock()
}

// AuditRecords returns up to about limit records after seq (whole batches), in order.
func (s *Store) AuditRecords(ctx context.Context, after int64, limit int) ([]audit.Stored, error) {
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
func (s *Store) AuditHead(ctx context.Context) (int64, string, error) {
	var seq int64
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT value, hash FROM counters WHERE name = 'audit'`).Scan(&seq, &hash)
	return seq, hash, internal("store.AuditHead", err)
}

// DeleteAuditForTest removes the audit batches that end after seq, to prove Verify notices.
// Tests only.
func (s *Store) DeleteAuditForTest(ctx context.Context, after int64) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM audit_log WHERE last_seq > $1`, after)
	s.forgetAuditHead()
	return err
}

// TamperAuditForTest rewrites the body of one audit record, to prove Verify notices. Tests only.
func (s *Store) TamperAuditForTest(ctx context.Context, seq int64, body string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var first int64
		var recs string
		if err := tx.QueryRowContext(ctx, `SELECT first_seq, records FROM audit_log WHERE first_seq <= $1 AND last_seq >= $1`, seq).Scan(&first, &recs); err != nil {
			return err
		}
		var texts []string
		if err := json.Unmarshal([]byte(recs), &texts); err != nil {
			return err
		}
		texts[seq-first] = body
		b, _ := json.Marshal(texts)
		_, err := tx.ExecContext(ctx, `UPDATE audit_log SET records = $1 WHERE first_seq = $2`, string(b), first)
		return err
	})
}
