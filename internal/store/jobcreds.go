package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/jobcreds"
)

// JobCredsStore persists the grants behind job credentials tokens: a view of the shared
// database.
type JobCredsStore Store

var _ jobcreds.Store = (*JobCredsStore)(nil)

// JobCreds returns the job credentials' store.
func (s *Store) JobCreds() *JobCredsStore { return (*JobCredsStore)(s) }

func (s *JobCredsStore) base() *Store { return (*Store)(s) }

// CreateGrant inserts a grant.
func (s *JobCredsStore) CreateGrant(ctx context.Context, r jobcreds.Record) error {
	_, err := s.base().exec(ctx, []string{"job_credentials"},
		`INSERT INTO job_credentials (token_hash, account, role_arn, session_name, source, created_at, expires_at, revoked_at, last_minted_at)
		 VALUES ($1,$2,$3,$4,$5,$6,$7,0,0)`,
		r.TokenHash, r.Account, r.RoleARN, r.SessionName, r.Source, micros(r.CreatedAt), micros(r.Expires))
	return conflictOr(err, "the job credentials grant")
}

const grantColumns = `token_hash, account, role_arn, session_name, source, created_at, expires_at, revoked_at`

type scanner interface{ Scan(dest ...any) error }

func scanGrant(row scanner) (jobcreds.Record, error) {
	var r jobcreds.Record
	var created, expires, revoked int64
	err := row.Scan(&r.TokenHash, &r.Account, &r.RoleARN, &r.SessionName, &r.Source, &created, &expires, &revoked)
	r.CreatedAt, r.Expires, r.RevokedAt = fromMicros(created), fromMicros(expires), fromMicros(revoked)
	return r, err
}

// GetGrant returns a grant by its token's hash. It always reads the database: a revocation by
// another server must apply at once.
func (s *JobCredsStore) GetGrant(ctx context.Context, tokenHash string) (jobcreds.Record, error) {
	r, err := scanGrant(s.base().queryRow(ctx, `SELECT `+grantColumns+` FROM job_credentials WHERE token_hash = $1`, tokenHash))
	if err != nil {
		return jobcreds.Record{}, notFound(err, "the job credentials grant")
	}
	return r, nil
}

// AddGrantKey records a key minted for a standing grant. The UPDATE takes the grant's row
// lock (PostgreSQL re-reads revoked_at after waiting for a revocation holding it; SQLite has one
// writer), so a key is either recorded before a revocation reads the keys, or refused.
func (s *JobCredsStore) AddGrantKey(ctx context.Context, tokenHash, keyID string, at, expires time.Time) error {
	err := s.base().write(ctx, []string{"job_credentials", "job_credential_keys"}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE job_credentials SET last_minted_at = $2 WHERE token_hash = $1 AND revoked_at = 0`, tokenHash, micros(at))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.Conflict, "the job credentials grant is revoked or gone")
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO job_credential_keys (token_hash, key_id, expires_at) VALUES ($1,$2,$3)`, tokenHash, keyID, micros(expires))
		return err
	})
	return internal("store.AddGrantKey", err)
}

// RevokeGrant marks a grant revoked and returns it with its keys.
func (s *JobCredsStore) RevokeGrant(ctx context.Context, tokenHash string, at time.Time) (jobcreds.Record, []string, error) {
	var r jobcreds.Record
	var keys []string
	err := s.base().write(ctx, []string{"job_credentials"}, func(tx *sql.Tx) error {
		keys = nil
		// Revoked first: it takes the row lock that AddGrantKey's UPDATE waits for.
		if _, err := tx.ExecContext(ctx, `UPDATE job_credentials SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at = 0`, tokenHash, micros(at)); err != nil {
			return err
		}
		var err error
		if r, err = scanGrant(tx.QueryRowContext(ctx, `SELECT `+grantColumns+` FROM job_credentials WHERE token_hash = $1`, tokenHash)); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT key_id FROM job_credential_keys WHERE token_hash = $1 ORDER BY key_id`, tokenHash)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				return err
			}
			keys = append(keys, k)
		}
		return rows.Err()
	})
	if errors.Is(err, sql.ErrNoRows) {
		return r, nil, errs.E(errs.NotFound, "no such job credentials token")
	}
	if err != nil {
		return r, nil, internal("store.RevokeGrant", err)
	}
	return r, keys, nil
}

// DeleteExpiredGrants deletes the grants that expired before t, with their key records.
func (s *JobCredsStore) DeleteExpiredGrants(ctx context.Context, t time.Time) (int, error) {
	var n int64
	err := s.base().write(ctx, []string{"job_credentials", "job_credential_keys"}, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM job_credential_keys WHERE token_hash IN (SELECT token_hash FROM job_credentials WHERE expires_at < $1)`, micros(t)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM job_credentials WHERE expires_at < $1`, micros(t))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, internal("store.DeleteExpiredGrants", err)
	}
	return int(n), nil
}
