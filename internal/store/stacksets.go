package store

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/stacksets"
)

// StackSetsStore persists CloudFormation stack sets: a view of the shared database.
type StackSetsStore Store

var (
	_ stacksets.Store = (*StackSetsStore)(nil)
	_ stacksets.Tx    = stackSetsTx{}
)

// StackSets returns the stack sets' store.
func (s *Store) StackSets() *StackSetsStore { return (*StackSetsStore)(s) }

func (v *StackSetsStore) base() *Store { return (*Store)(v) }

// Update runs fn in one transaction with the stack sets' view of it.
func (v *StackSetsStore) Update(ctx context.Context, fn func(tx stacksets.Tx) error) error {
	return v.base().update(ctx, func(tx *Tx) error { return fn(stackSetsTx{tx}) })
}

type stackSetsTx struct{ *Tx }

func decodeStackSet(body string) (stacksets.StackSet, error) {
	var s stacksets.StackSet
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		return s, errs.E(errs.Internal, "a stored stack set does not decode", err)
	}
	return s, nil
}

// GetStackSet finds a set by ARN, by StackSetId (NAME:UUID) or by the name of a live set.
func (v *StackSetsStore) GetStackSet(ctx context.Context, account, nameOrID string) (stacksets.StackSet, error) {
	q := `SELECT body FROM stack_sets WHERE account = $1 AND name = $2 AND status <> 'DELETED'`
	switch {
	case strings.HasPrefix(nameOrID, "arn:"):
		q = `SELECT body FROM stack_sets WHERE account = $1 AND arn = $2`
	case strings.Contains(nameOrID, ":"):
		q = `SELECT body FROM stack_sets WHERE account = $1 AND set_id = $2`
	}
	var body string
	if err := v.base().queryRow(ctx, q, account, nameOrID).Scan(&body); err != nil {
		return stacksets.StackSet{}, notFound(err, "stack set "+nameOrID)
	}
	return decodeStackSet(body)
}

func (v *StackSetsStore) list(ctx context.Context, op, q string, args ...any) ([]stacksets.StackSet, error) {
	rows, err := v.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, internal(op, err)
	}
	defer rows.Close()
	var out []stacksets.StackSet
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, internal(op, err)
		}
		s, err := decodeStackSet(body)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, internal(op, rows.Err())
}

// ListStackSets lists an account's stack sets, oldest first.
func (v *StackSetsStore) ListStackSets(ctx context.Context, account string) ([]stacksets.StackSet, error) {
	return v.list(ctx, "store.ListStackSets", `SELECT body FROM stack_sets WHERE account = $1 ORDER BY created_at, arn`, account)
}

// ActiveStackSetARNs lists the sets with an operation to run or automatic deployment on.
func (v *StackSetsStore) ActiveStackSetARNs(ctx context.Context) ([]string, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT arn FROM stack_sets WHERE active = 1 ORDER BY arn`)
	if err != nil {
		return nil, internal("store.ActiveStackSetARNs", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, internal("store.ActiveStackSetARNs", err)
		}
		out = append(out, a)
	}
	return out, internal("store.ActiveStackSetARNs", rows.Err())
}

func activeSet(s stacksets.StackSet) int {
	if s.Status != "ACTIVE" {
		return 0
	}
	if s.PermissionModel == stacksets.ServiceManaged && s.AutoDeployment.Enabled {
		return 1
	}
	for _, op := range s.Operations {
		if op.Status == stacksets.OpQueued || op.Status == stacksets.OpRunning {
			return 1
		}
	}
	return 0
}

// InsertStackSet inserts a new stack set.
func (t stackSetsTx) InsertStackSet(ctx context.Context, s stacksets.StackSet) error {
	t.wrote("stack_sets")
	body, err := json.Marshal(s)
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the stack set", err)
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO stack_sets (arn, account, name, set_id, status, active, created_at, body) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		s.ARN, s.Account, s.Name, s.ID, s.Status, activeSet(s), micros(s.CreatedAt), string(body))
	if err != nil {
		if retryable(err) {
			return err
		}
		return conflictOr(err, "stack set "+s.Name)
	}
	return nil
}

// LockStackSet reads a stack set (by ARN) for a change.
func (t stackSetsTx) LockStackSet(ctx context.Context, arn string) (stacksets.StackSet, error) {
	q := `SELECT body FROM stack_sets WHERE arn = $1`
	if t.s.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var body string
	if err := t.tx.QueryRowContext(ctx, q, arn).Scan(&body); err != nil {
		if retryable(err) {
			return stacksets.StackSet{}, err
		}
		return stacksets.StackSet{}, notFound(err, "stack set "+arn)
	}
	return decodeStackSet(body)
}

// UpdateStackSet writes a stack set's new state.
func (t stackSetsTx) UpdateStackSet(ctx context.Context, s stacksets.StackSet) error {
	t.wrote("stack_sets")
	body, err := json.Marshal(s)
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the stack set", err)
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE stack_sets SET status = $2, active = $3, body = $4 WHERE arn = $1`,
		s.ARN, s.Status, activeSet(s), string(body))
	if err != nil {
		if retryable(err) {
			return err
		}
		return conflictOr(err, "stack set "+s.Name)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.E(errs.NotFound, "stack set %s does not exist", s.ARN)
	}
	return nil
}

// CheckFence fails with errs.Conflict unless f's lease is still the work item's latest.
func (t stackSetsTx) CheckFence(ctx context.Context, f reconcile.Fence) error {
	return (&WorkStore{t.s}).CheckFence(ctx, t.tx, f)
}
