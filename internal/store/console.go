package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
)

// ConsoleStore keeps the web console's sessions and one-time sign-in links (package console
// declares the interface). Keys are hashes the console computes; bodies are its JSON.
type ConsoleStore Store

// Console returns the console's view of the store.
func (s *Store) Console() *ConsoleStore { return (*ConsoleStore)(s) }

// PutSession creates or replaces a session.
func (s *ConsoleStore) PutSession(ctx context.Context, idHash string, expires time.Time, body []byte) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO console_sessions (id_hash, expires_at, body) VALUES ($1, $2, $3)
		ON CONFLICT (id_hash) DO UPDATE SET expires_at = excluded.expires_at, body = excluded.body`,
		idHash, expires.UnixNano(), string(body))
	if err != nil {
		return internal("store.PutSession", err)
	}
	return nil
}

// Session returns a session's body; errs.NotFound when there is none or it expired by now.
func (s *ConsoleStore) Session(ctx context.Context, idHash string, now time.Time) ([]byte, error) {
	var body string
	err := s.db.QueryRowContext(ctx, `SELECT body FROM console_sessions WHERE id_hash = $1 AND expires_at > $2`, idHash, now.UnixNano()).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no such session")
	}
	if err != nil {
		return nil, internal("store.Session", err)
	}
	return []byte(body), nil
}

// DeleteSession deletes a session (signing out); deleting one that is gone is not an error.
// It also deletes every session that expired by now.
func (s *ConsoleStore) DeleteSession(ctx context.Context, idHash string, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM console_sessions WHERE id_hash = $1 OR expires_at <= $2`, idHash, now.UnixNano()); err != nil {
		return internal("store.DeleteSession", err)
	}
	return nil
}

// PutLink records a one-time sign-in link for an access key.
func (s *ConsoleStore) PutLink(ctx context.Context, tokenHash, accessKeyID string, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO console_links (token_hash, access_key_id, expires_at, used_at) VALUES ($1, $2, $3, 0)`,
		tokenHash, accessKeyID, expires.UnixNano())
	if err != nil {
		return internal("store.PutLink", err)
	}
	return nil
}

// UseLink marks a link used and returns its access key: once. A link that is unknown, used or
// expired by now is errs.NotFound, whichever it is.
func (s *ConsoleStore) UseLink(ctx context.Context, tokenHash string, now time.Time) (string, error) {
	var key string
	err := (*Store)(s).tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE console_links SET used_at = $1 WHERE token_hash = $2 AND used_at = 0 AND expires_at > $1`, now.UnixNano(), tokenHash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errs.E(errs.NotFound, "the sign-in link is unknown, used or expired")
		}
		return tx.QueryRowContext(ctx, `SELECT access_key_id FROM console_links WHERE token_hash = $1`, tokenHash).Scan(&key)
	})
	if errs.Is(err, errs.NotFound) {
		return "", err
	}
	if err != nil {
		return "", internal("store.UseLink", err)
	}
	// Links are short-lived: the used and expired ones are of no further use.
	_, _ = s.db.ExecContext(ctx, `DELETE FROM console_links WHERE expires_at <= $1`, now.Add(-time.Hour).UnixNano())
	return key, nil
}
