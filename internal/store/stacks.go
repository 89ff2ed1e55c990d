package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/stacks"
)

// StacksStore persists CloudFormation stacks and their events: a view of the shared database.
type StacksStore Store

var (
	_ stacks.Store = (*StacksStore)(nil)
	_ stacks.Tx    = stacksTx{}
)

// Stacks returns the stacks' store.
func (s *Store) Stacks() *StacksStore { return (*StacksStore)(s) }

func (v *StacksStore) base() *Store { return (*Store)(v) }

// Update runs fn in one transaction with the stacks' view of it.
func (v *StacksStore) Update(ctx context.Context, fn func(tx stacks.Tx) error) error {
	return v.base().update(ctx, func(tx *Tx) error { return fn(stacksTx{tx}) })
}

type stacksTx struct{ *Tx }

func decodeStack(body string) (stacks.Stack, error) {
	var st stacks.Stack
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		return st, errs.E(errs.Internal, "a stored stack does not decode", err)
	}
	if st.Resources == nil {
		st.Resources = map[string]*stacks.Resource{}
	}
	return st, nil
}

func stackQuery(nameOrID string) (string, bool) {
	if strings.HasPrefix(nameOrID, "arn:") {
		return `SELECT body FROM stacks WHERE account = $1 AND id = $2`, true
	}
	return `SELECT body FROM stacks WHERE account = $1 AND name = $2 AND status <> 'DELETE_COMPLETE'`, false
}

// GetStack finds a stack by ARN or by the name of a stack that is not deleted.
func (v *StacksStore) GetStack(ctx context.Context, account, nameOrID string) (stacks.Stack, error) {
	q, _ := stackQuery(nameOrID)
	var body string
	if err := v.base().queryRow(ctx, q, account, nameOrID).Scan(&body); err != nil {
		return stacks.Stack{}, notFound(err, "stack "+nameOrID)
	}
	return decodeStack(body)
}

// ListStacks lists an account's stacks, newest first.
func (v *StacksStore) ListStacks(ctx context.Context, account string) ([]stacks.Stack, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT body FROM stacks WHERE account = $1 ORDER BY created_at DESC, id`, account)
	if err != nil {
		return nil, internal("store.ListStacks", err)
	}
	defer rows.Close()
	var out []stacks.Stack
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, internal("store.ListStacks", err)
		}
		st, err := decodeStack(body)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, internal("store.ListStacks", rows.Err())
}

// StackEvents lists a stack's events, newest first.
func (v *StacksStore) StackEvents(ctx context.Context, stackID string) ([]stacks.Event, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT body FROM stack_events WHERE stack_id = $1 ORDER BY seq DESC`, stackID)
	if err != nil {
		return nil, internal("store.StackEvents", err)
	}
	defer rows.Close()
	var out []stacks.Event
	for rows.Next() {
		var body string
		var ev stacks.Event
		if err := rows.Scan(&body); err != nil {
			return nil, internal("store.StackEvents", err)
		}
		if err := json.Unmarshal([]byte(body), &ev); err != nil {
			return nil, errs.E(errs.Internal, "a stored stack event does not decode", err)
		}
		out = append(out, ev)
	}
	return out, internal("store.StackEvents", rows.Err())
}

// ActiveStackIDs lists the stacks whose operation is in progress.
func (v *StacksStore) ActiveStackIDs(ctx context.Context) ([]string, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT id FROM stacks WHERE status LIKE '%IN_PROGRESS' AND status <> 'REVIEW_IN_PROGRESS' ORDER BY id`)
	if err != nil {
		return nil, internal("store.ActiveStackIDs", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, internal("store.ActiveStackIDs", err)
		}
		out = append(out, id)
	}
	return out, internal("store.ActiveStackIDs", rows.Err())
}

// InsertStack inserts a new stack.
func (t stacksTx) InsertStack(ctx context.Context, st stacks.Stack) error {
	t.wrote("stacks")
	body, err := json.Marshal(st)
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the stack", err)
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO stacks (id, account, name, status, created_at, updated_at, body) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		st.ID, st.Account, st.Name, string(st.Status), micros(st.CreatedAt), micros(st.UpdatedAt), string(body))
	if err != nil {
		if retryable(err) {
			return err
		}
		return conflictOr(err, "stack "+st.Name)
	}
	return nil
}

// LockStack reads a stack for a change.
func (t stacksTx) LockStack(ctx context.Context, id string) (stacks.Stack, error) {
	q := `SELECT body FROM stacks WHERE id = $1`
	if t.s.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var body string
	if err := t.tx.QueryRowContext(ctx, q, id).Scan(&body); err != nil {
		if retryable(err) {
			return stacks.Stack{}, err
		}
		return stacks.Stack{}, notFound(err, "stack "+id)
	}
	return decodeStack(body)
}

// UpdateStack writes a stack's new state.
func (t stacksTx) UpdateStack(ctx context.Context, st stacks.Stack) error {
	t.wrote("stacks")
	body, err := json.Marshal(st)
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the stack", err)
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE stacks SET status = $2, updated_at = $3, body = $4 WHERE id = $1`,
		st.ID, string(st.Status), micros(st.UpdatedAt), string(body))
	if err != nil {
		if retryable(err) {
			return err
		}
		return conflictOr(err, "stack "+st.Name)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.E(errs.NotFound, "stack %s does not exist", st.ID)
	}
	return nil
}

// AppendStackEvent appends an event to its stack's.
func (t stacksTx) AppendStackEvent(ctx context.Context, ev stacks.Event) error {
	t.wrote("stack_events")
	body, err := json.Marshal(ev)
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the stack event", err)
	}
	var seq sql.NullInt64
	if err := t.tx.QueryRowContext(ctx, `SELECT MAX(seq) FROM stack_events WHERE stack_id = $1`, ev.StackID).Scan(&seq); err != nil {
		if retryable(err) {
			return err
		}
		return internal("store.AppendStackEvent", err)
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO stack_events (stack_id, seq, body) VALUES ($1,$2,$3)`, ev.StackID, seq.Int64+1, string(body))
	if err != nil {
		if retryable(err) {
			return err
		}
		if isUniqueViolation(err) {
			return errRetry // another writer numbered an event of this stack first
		}
		return internal("store.AppendStackEvent", err)
	}
	return nil
}

// CheckFence fails with errs.Conflict unless f's lease is still the work item's latest.
func (t stacksTx) CheckFence(ctx context.Context, f reconcile.Fence) error {
	return (&WorkStore{t.s}).CheckFence(ctx, t.tx, f)
}
