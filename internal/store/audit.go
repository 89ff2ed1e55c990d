package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/slipway-ml/slipway/internal/audit"
)

var _ audit.Store = (*Store)(nil)

// AppendAudit appends records to the chain in one transaction.
func (s *Store) AppendAudit(ctx context.Context, times []time.Time, bodies [][]byte, hash func(string, int64, []byte) string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		q := `SELECT value, hash FROM counters WHERE name = 'audit'`
		if s.dialect == Postgres {
			q += ` FOR UPDATE`
		}
		var seq int64
		var prev string
		if err := tx.QueryRowContext(ctx, q).Scan(&seq, &prev); err != nil {
			return err
		}
		for i, body := range bodies {
			seq++
			h := hash(prev, seq, body)
			if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (seq, time, record, prev_hash, hash) VALUES ($1,$2,$3,$4,$5)`,
				seq, micros(times[i]), string(body), prev, h); err != nil {
				return err
			}
			prev = h
		}
		_, err := tx.ExecContext(ctx, `UPDATE counters SET value = $1, hash = $2 WHERE name = 'audit'`, seq, prev)
		return err
	})
}

// AuditRecords returns records after seq.
func (s *Store) AuditRecords(ctx context.Context, after int64, limit int) ([]audit.Stored, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, time, record, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, internal("store.AuditRecords", err)
	}
	defer rows.Close()
	var out []audit.Stored
	for rows.Next() {
		var r audit.Stored
		var t int64
		var body string
		if err := rows.Scan(&r.Seq, &t, &body, &r.PrevHash, &r.Hash); err != nil {
			return nil, internal("store.AuditRecords", err)
		}
		r.Time, r.Body = fromMicros(t), []byte(body)
		out = append(out, r)
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

// DeleteAuditForTest removes audit records after seq, to prove Verify notices. Tests only.
func (s *Store) DeleteAuditForTest(ctx context.Context, after int64) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM audit_log WHERE seq > $1`, after)
	return err
}

// TamperAuditForTest rewrites one audit record's body, to prove Verify notices. Tests only.
func (s *Store) TamperAuditForTest(ctx context.Context, seq int64, body string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE audit_log SET record = $1 WHERE seq = $2`, body, seq)
	return err
}
