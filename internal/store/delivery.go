package store

import (
	"context"
	"database/sql"

	"github.com/slipway-ml/slipway/internal/delivery"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// DeliveryStore persists deploy pipelines and their executions: a view of the shared database.
type DeliveryStore Store

var (
	_ delivery.Store = (*DeliveryStore)(nil)
	_ delivery.Tx    = deliveryTx{}
)

// Delivery returns the deploy pipelines' store.
func (s *Store) Delivery() *DeliveryStore { return (*DeliveryStore)(s) }

func (v *DeliveryStore) base() *Store { return (*Store)(v) }

// Update runs fn in one transaction with delivery's view of it.
func (v *DeliveryStore) Update(ctx context.Context, fn func(tx delivery.Tx) error) error {
	return v.base().update(ctx, func(tx *Tx) error { return fn(deliveryTx{tx}) })
}

type deliveryTx struct{ *Tx }

const activeStatuses = `('InProgress','Stopping')`

// GetPipeline returns a pipeline.
func (v *DeliveryStore) GetPipeline(ctx context.Context, account, name string) (delivery.Pipeline, error) {
	var body string
	err := v.base().queryRow(ctx, `SELECT body FROM delivery_pipelines WHERE account = $1 AND name = $2`, account, name).Scan(&body)
	if err != nil {
		return delivery.Pipeline{}, notFound(err, "pipeline "+name)
	}
	return decodeBody[delivery.Pipeline](body, "deploy pipeline")
}

// ListPipelines lists an account's pipelines by name.
func (v *DeliveryStore) ListPipelines(ctx context.Context, account string) ([]delivery.Pipeline, error) {
	return listBodies[delivery.Pipeline](ctx, v.base(), "store.ListDeployPipelines", "deploy pipeline",
		`SELECT body FROM delivery_pipelines WHERE account = $1 ORDER BY name`, account)
}

// GetExecution returns an execution.
func (v *DeliveryStore) GetExecution(ctx context.Context, account, id string) (delivery.Execution, error) {
	var body string
	err := v.base().queryRow(ctx, `SELECT body FROM delivery_executions WHERE account = $1 AND id = $2`, account, id).Scan(&body)
	if err != nil {
		return delivery.Execution{}, notFound(err, "pipeline execution "+id)
	}
	return decodeBody[delivery.Execution](body, "deploy pipeline execution")
}

// ListExecutions lists a pipeline's executions, newest first.
func (v *DeliveryStore) ListExecutions(ctx context.Context, account, pipeline string) ([]delivery.Execution, error) {
	return listBodies[delivery.Execution](ctx, v.base(), "store.ListDeployExecutions", "deploy pipeline execution",
		`SELECT body FROM delivery_executions WHERE account = $1 AND pipeline = $2 ORDER BY seq DESC`, account, pipeline)
}

// ActiveExecutions lists the work keys of the executions not yet ended.
func (v *DeliveryStore) ActiveExecutions(ctx context.Context) ([]string, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT account, id FROM delivery_executions WHERE status IN `+activeStatuses+` ORDER BY account, id`)
	if err != nil {
		return nil, internal("store.ActiveDeployExecutions", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var account, id string
		if err := rows.Scan(&account, &id); err != nil {
			return nil, internal("store.ActiveDeployExecutions", err)
		}
		out = append(out, delivery.WorkKey(account, id))
	}
	return out, internal("store.ActiveDeployExecutions", rows.Err())
}

func (t deliveryTx) fail(op string, err error, what string) error {
	if retryable(err) {
		return err
	}
	return conflictOr(err, what)
}

// InsertPipeline inserts a pipeline.
func (t deliveryTx) InsertPipeline(ctx context.Context, p delivery.Pipeline) error {
	t.wrote("delivery_pipelines")
	body, err := encodeBody(p, "deploy pipeline")
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO delivery_pipelines (account, name, created_at, body) VALUES ($1,$2,$3,$4)`,
		p.Account, p.Name, micros(p.CreatedAt), body)
	if err != nil {
		return t.fail("InsertPipeline", err, "pipeline "+p.Name)
	}
	return nil
}

// LockPipeline reads a pipeline for a change.
func (t deliveryTx) LockPipeline(ctx context.Context, account, name string) (delivery.Pipeline, error) {
	q := `SELECT body FROM delivery_pipelines WHERE account = $1 AND name = $2`
	if t.s.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var body string
	if err := t.tx.QueryRowContext(ctx, q, account, name).Scan(&body); err != nil {
		if retryable(err) {
			return delivery.Pipeline{}, err
		}
		return delivery.Pipeline{}, notFound(err, "pipeline "+name)
	}
	return decodeBody[delivery.Pipeline](body, "deploy pipeline")
}

// UpdatePipeline writes a pipeline's new declaration.
func (t deliveryTx) UpdatePipeline(ctx context.Context, p delivery.Pipeline) error {
	t.wrote("delivery_pipelines")
	body, err := encodeBody(p, "deploy pipeline")
	if err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE delivery_pipelines SET body = $3 WHERE account = $1 AND name = $2`, p.Account, p.Name, body)
	if err != nil {
		return t.fail("UpdatePipeline", err, "pipeline "+p.Name)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.E(errs.NotFound, "pipeline %s does not exist", p.Name)
	}
	return nil
}

// DeletePipeline deletes a pipeline; its executions stay.
func (t deliveryTx) DeletePipeline(ctx context.Context, account, name string) error {
	t.wrote("delivery_pipelines")
	res, err := t.tx.ExecContext(ctx, `DELETE FROM delivery_pipelines WHERE account = $1 AND name = $2`, account, name)
	if err != nil {
		if retryable(err) {
			return err
		}
		return internal("store.DeleteDeployPipeline", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.E(errs.NotFound, "pipeline %s does not exist", name)
	}
	return nil
}

// InsertExecution inserts an execution.
func (t deliveryTx) InsertExecution(ctx context.Context, e delivery.Execution) error {
	t.wrote("delivery_executions")
	body, err := encodeBody(e, "deploy pipeline execution")
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO delivery_executions (account, id, pipeline, seq, status, client_token, started_at, body) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		e.Account, e.ID, e.PipelineName, e.Seq, string(e.Status), e.ClientToken, micros(e.StartedAt), body)
	if err != nil {
		if isUniqueViolation(err) {
			return errRetry // another execution took the sequence number first
		}
		return t.fail("InsertExecution", err, "execution "+e.ID)
	}
	return nil
}

// LockExecution reads an execution for a change.
func (t deliveryTx) LockExecution(ctx context.Context, account, id string) (delivery.Execution, error) {
	q := `SELECT body FROM delivery_executions WHERE account = $1 AND id = $2`
	if t.s.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var body string
	if err := t.tx.QueryRowContext(ctx, q, account, id).Scan(&body); err != nil {
		if retryable(err) {
			return delivery.Execution{}, err
		}
		return delivery.Execution{}, notFound(err, "pipeline execution "+id)
	}
	return decodeBody[delivery.Execution](body, "deploy pipeline execution")
}

// UpdateExecution writes an execution's new state.
func (t deliveryTx) UpdateExecution(ctx context.Context, e delivery.Execution) error {
	t.wrote("delivery_executions")
	body, err := encodeBody(e, "deploy pipeline execution")
	if err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE delivery_executions SET status = $3, body = $4 WHERE account = $1 AND id = $2`,
		e.Account, e.ID, string(e.Status), body)
	if err != nil {
		return t.fail("UpdateExecution", err, "execution "+e.ID)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.E(errs.NotFound, "pipeline execution %s does not exist", e.ID)
	}
	return nil
}

// ActiveExecutionsOf lists a pipeline's executions not yet ended, oldest first.
func (t deliveryTx) ActiveExecutionsOf(ctx context.Context, account, pipeline string) ([]delivery.Execution, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT body FROM delivery_executions WHERE account = $1 AND pipeline = $2 AND status IN `+activeStatuses+` ORDER BY seq`, account, pipeline)
	if err != nil {
		if retryable(err) {
			return nil, err
		}
		return nil, internal("store.ActiveExecutionsOf", err)
	}
	defer rows.Close()
	var out []delivery.Execution
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, internal("store.ActiveExecutionsOf", err)
		}
		e, err := decodeBody[delivery.Execution](body, "deploy pipeline execution")
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, internal("store.ActiveExecutionsOf", rows.Err())
}

// NextSeq returns the sequence number of a pipeline's next execution.
func (t deliveryTx) NextSeq(ctx context.Context, account, pipeline string) (int64, error) {
	var seq sql.NullInt64
	if err := t.tx.QueryRowContext(ctx, `SELECT MAX(seq) FROM delivery_executions WHERE account = $1 AND pipeline = $2`, account, pipeline).Scan(&seq); err != nil {
		if retryable(err) {
			return 0, err
		}
		return 0, internal("store.NextSeq", err)
	}
	return seq.Int64 + 1, nil
}

// ExecutionByToken finds the execution a pipeline started for a ClientRequestToken.
func (t deliveryTx) ExecutionByToken(ctx context.Context, account, pipeline, token string) (delivery.Execution, error) {
	var body string
	err := t.tx.QueryRowContext(ctx, `SELECT body FROM delivery_executions WHERE account = $1 AND pipeline = $2 AND client_token = $3`, account, pipeline, token).Scan(&body)
	if err != nil {
		if retryable(err) {
			return delivery.Execution{}, err
		}
		return delivery.Execution{}, notFound(err, "execution for token")
	}
	return decodeBody[delivery.Execution](body, "deploy pipeline execution")
}

// CheckFence fails with errs.Conflict unless f's lease is still the work item's latest.
func (t deliveryTx) CheckFence(ctx context.Context, f reconcile.Fence) error {
	return (&WorkStore{t.s}).CheckFence(ctx, t.tx, f)
}
