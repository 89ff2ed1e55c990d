package store

import (
	"context"
	"database/sql"
	"errors"
)

// ClaimState records value under name unless a value is recorded already, and returns the
// recorded value: the caller's when it was first, the earlier one otherwise. Servers sharing a
// database agree through it (the master key's check value, the server that bootstraps).
func (s *Store) ClaimState(ctx context.Context, name, value string) (string, error) {
	var got string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO server_state (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM server_state WHERE name = $1`, name).Scan(&got)
	})
	if err != nil {
		return "", internal("store.ClaimState", err)
	}
	return got, nil
}

// State returns the value recorded under name, or "" if none is.
func (s *Store) State(ctx context.Context, name string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM server_state WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", internal("store.State", err)
	}
	return v, nil
}

// SetState records value under name, replacing any earlier value.
func (s *Store) SetState(ctx context.Context, name, value string) error {
	err := s.autocommit(ctx, func() error {
		_, err := s.db.ExecContext(ctx, `INSERT INTO server_state (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
		return err
	})
	if err != nil {
		return internal("store.SetState", err)
	}
	return nil
}
