package store

import (
	"context"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/pipeline"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// PipelineStore persists pipelines, their versions, executions and steps: a view of the
// shared database.
type PipelineStore Store

var (
	_ pipeline.Store = (*PipelineStore)(nil)
	_ pipeline.Tx    = pipelineTx{}
)

// Pipelines returns the pipelines' store.
func (s *Store) Pipelines() *PipelineStore { return (*PipelineStore)(s) }

func (v *PipelineStore) base() *Store { return (*Store)(v) }

// Update runs fn in one transaction with the pipelines' view of it.
func (v *PipelineStore) Update(ctx context.Context, fn func(tx pipeline.Tx) error) error {
	return v.base().update(ctx, func(tx *Tx) error { return fn(pipelineTx{tx}) })
}

type pipelineTx struct{ *Tx }

// listBodies runs a query whose one column is a JSON body and decodes each row.
func listBodies[T any](ctx context.Context, s *Store, op, what, query string, args ...any) ([]T, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, internal(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, internal(op, err)
		}
		x, err := decodeBody[T](body, what)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, internal(op, rows.Err())
}

// GetPipeline returns a pipeline.
func (v *PipelineStore) GetPipeline(ctx context.Context, account, name string) (pipeline.Pipeline, error) {
	var body string
	err := v.base().queryRow(ctx, `SELECT body FROM pipelines WHERE account = $1 AND name = $2`, account, strings.ToLower(name)).Scan(&body)
	if err != nil {
		return pipeline.Pipeline{}, notFound(err, "pipeline "+name)
	}
	return decodeBody[pipeline.Pipeline](body, "pipeline")
}

// ListPipelines lists an account's pipelines.
func (v *PipelineStore) ListPipelines(ctx context.Context, account string, q pipeline.Query) ([]pipeline.Pipeline, error) {
	query := `SELECT body FROM pipelines WHERE account = $1 AND ($2 = '' OR name LIKE $2 || '%')
		AND (CAST($3 AS BIGINT) = 0 OR created_at > $3) AND (CAST($4 AS BIGINT) = 0 OR created_at < $4)` +
		orderBy(q.SortBy, q.Descending, "name", "created_at,name") + limitOffset(q.Limit, q.Offset)
	return listBodies[pipeline.Pipeline](ctx, v.base(), "store.ListPipelines", "pipeline", query,
		account, strings.ToLower(q.NamePrefix), micros(q.CreatedAfter), micros(q.CreatedBefore))
}

// GetVersion returns a version of a pipeline.
func (v *PipelineStore) GetVersion(ctx context.Context, pipelineARN string, version int64) (pipeline.Version, error) {
	var body string
	err := v.base().queryRow(ctx, `SELECT body FROM pipeline_versions WHERE pipeline_arn = $1 AND version = $2`, pipelineARN, version).Scan(&body)
	if err != nil {
		return pipeline.Version{}, notFound(err, "pipeline version")
	}
	return decodeBody[pipeline.Version](body, "pipeline version")
}

// ListVersions lists a pipeline's versions.
func (v *PipelineStore) ListVersions(ctx context.Context, pipelineARN string, q pipeline.Query) ([]pipeline.Version, error) {
	query := `SELECT body FROM pipeline_versions WHERE pipeline_arn = $1
		AND (CAST($2 AS BIGINT) = 0 OR created_at > $2) AND (CAST($3 AS BIGINT) = 0 OR created_at < $3)` +
		orderBy("", q.Descending, "", "version") + limitOffset(q.Limit, q.Offset)
	return listBodies[pipeline.Version](ctx, v.base(), "store.ListPipelineVersions", "pipeline version", query,
		pipelineARN, micros(q.CreatedAfter), micros(q.CreatedBefore))
}

// GetExecution returns an execution.
func (v *PipelineStore) GetExecution(ctx context.Context, arn string) (pipeline.Execution, error) {
	var body string
	err := v.base().queryRow(ctx, `SELECT body FROM pipeline_executions WHERE arn = $1`, arn).Scan(&body)
	if err != nil {
		return pipeline.Execution{}, notFound(err, "pipeline execution "+arn)
	}
	return decodeBody[pipeline.Execution](body, "pipeline execution")
}

// ExecutionDefinition returns the definition an execution runs.
func (v *PipelineStore) ExecutionDefinition(ctx context.Context, arn string) (string, error) {
	var def string
	err := v.base().queryRow(ctx, `SELECT definition FROM pipeline_executions WHERE arn = $1`, arn).Scan(&def)
	if err != nil {
		return "", notFound(err, "pipeline execution "+arn)
	}
	return def, nil
}

// ListExecutions lists a pipeline's executions.
func (v *PipelineStore) ListExecutions(ctx context.Context, pipelineARN string, q pipeline.Query) ([]pipeline.Execution, error) {
	query := `SELECT body FROM pipeline_executions WHERE pipeline_arn = $1
		AND (CAST($2 AS BIGINT) = 0 OR created_at > $2) AND (CAST($3 AS BIGINT) = 0 OR created_at < $3)` +
		executionOrder(q) + limitOffset(q.Limit, q.Offset)
	return listBodies[pipeline.Execution](ctx, v.base(), "store.ListPipelineExecutions", "pipeline execution", query,
		pipelineARN, micros(q.CreatedAfter), micros(q.CreatedBefore))
}

func executionOrder(q pipeline.Query) string {
	if q.SortBy == "PipelineExecutionArn" {
		return orderBy("", q.Descending, "", "arn")
	}
	return orderBy("", q.Descending, "", "created_at,arn")
}

// ListSteps lists an execution's steps in the order they started.
func (v *PipelineStore) ListSteps(ctx context.Context, executionARN string) ([]pipeline.Step, error) {
	return listBodies[pipeline.Step](ctx, v.base(), "store.ListPipelineExecutionSteps", "pipeline step",
		`SELECT body FROM pipeline_steps WHERE execution_arn = $1 ORDER BY position, name`, executionARN)
}

// CacheHit finds the latest cache entry of a pipeline's key at or after notBefore.
func (v *PipelineStore) CacheHit(ctx context.Context, pipelineARN, key string, notBefore time.Time) (string, string, error) {
	var execution, step string
	err := v.base().queryRow(ctx, `SELECT execution_arn, step_name FROM pipeline_step_cache
		WHERE pipeline_arn = $1 AND cache_key = $2 AND created_at >= $3 ORDER BY created_at DESC, execution_arn LIMIT 1`,
		pipelineARN, key, micros(notBefore)).Scan(&execution, &step)
	if err != nil {
		return "", "", notFound(err, "cache entry")
	}
	return execution, step, nil
}

// StepByCallbackToken finds the Callback step, of an execution not yet ended, that published
// token (through the index on callback_token).
func (v *PipelineStore) StepByCallbackToken(ctx context.Context, token string) (pipeline.Step, error) {
	steps, err := listBodies[pipeline.Step](ctx, v.base(), "store.StepByCallbackToken", "pipeline step",
		`SELECT s.body FROM pipeline_steps s JOIN pipeline_executions x ON x.arn = s.execution_arn
		WHERE s.callback_token = $1 AND x.status IN ('Executing', 'Stopping') ORDER BY s.execution_arn, s.name LIMIT 1`, token)
	if err != nil {
		return pipeline.Step{}, err
	}
	if len(steps) == 0 || token == "" {
		return pipeline.Step{}, errs.E(errs.NotFound, "no pipeline step waits for callback token %s", token)
	}
	return steps[0], nil
}

// ActiveExecutions lists every execution not yet ended.
func (v *PipelineStore) ActiveExecutions(ctx context.Context) ([]string, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT arn FROM pipeline_executions WHERE status IN ('Executing', 'Stopping') ORDER BY created_at, arn`)
	if err != nil {
		return nil, internal("store.ActiveExecutions", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, internal("store.ActiveExecutions", err)
		}
		out = append(out, a)
	}
	return out, internal("store.ActiveExecutions", rows.Err())
}

func (t pipelineTx) exec(ctx context.Context, table, op string, wantRow bool, what, query string, args ...any) error {
	t.wrote(table)
	res, err := t.tx.ExecContext(ctx, query, args...)
	if err != nil {
		if retryable(err) {
			return err
		}
		return conflictOr(err, what)
	}
	if wantRow {
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.NotFound, "%s does not exist", what)
		}
	}
	return nil
}

// InsertPipeline inserts a new pipeline.
func (t pipelineTx) InsertPipeline(ctx context.Context, p pipeline.Pipeline) error {
	body, err := encodeBody(p, "pipeline")
	if err != nil {
		return err
	}
	return t.exec(ctx, "pipelines", "store.InsertPipeline", false, "pipeline "+p.Name,
		`INSERT INTO pipelines (account, name, arn, created_at, body) VALUES ($1,$2,$3,$4,$5)`,
		p.Account, strings.ToLower(p.Name), p.ARN, micros(p.CreatedAt), body)
}

// lock reads one body for a change (FOR UPDATE on PostgreSQL; SQLite has one writer).
func (t pipelineTx) lock(ctx context.Context, what, query string, args ...any) (string, error) {
	if t.s.dialect == Postgres {
		query += ` FOR UPDATE`
	}
	var body string
	if err := t.tx.QueryRowContext(ctx, query, args...).Scan(&body); err != nil {
		if retryable(err) {
			return "", err
		}
		return "", notFound(err, what)
	}
	return body, nil
}

// LockPipeline reads a pipeline for a change.
func (t pipelineTx) LockPipeline(ctx context.Context, account, name string) (pipeline.Pipeline, error) {
	body, err := t.lock(ctx, "pipeline "+name, `SELECT body FROM pipelines WHERE account = $1 AND name = $2`, account, strings.ToLower(name))
	if err != nil {
		return pipeline.Pipeline{}, err
	}
	return decodeBody[pipeline.Pipeline](body, "pipeline")
}

// UpdatePipeline writes a pipeline's new state.
func (t pipelineTx) UpdatePipeline(ctx context.Context, p pipeline.Pipeline) error {
	body, err := encodeBody(p, "pipeline")
	if err != nil {
		return err
	}
	return t.exec(ctx, "pipelines", "store.UpdatePipeline", true, "pipeline "+p.Name,
		`UPDATE pipelines SET body = $3 WHERE account = $1 AND name = $2`, p.Account, strings.ToLower(p.Name), body)
}

// DeletePipeline deletes a pipeline and its versions.
func (t pipelineTx) DeletePipeline(ctx context.Context, account, name string) error {
	var arn string
	if err := t.tx.QueryRowContext(ctx, `SELECT arn FROM pipelines WHERE account = $1 AND name = $2`, account, strings.ToLower(name)).Scan(&arn); err != nil {
		if retryable(err) {
			return err
		}
		return notFound(err, "pipeline "+name)
	}
	if err := t.exec(ctx, "pipeline_versions", "store.DeletePipeline", false, "pipeline "+name,
		`DELETE FROM pipeline_versions WHERE pipeline_arn = $1`, arn); err != nil {
		return err
	}
	return t.exec(ctx, "pipelines", "store.DeletePipeline", true, "pipeline "+name,
		`DELETE FROM pipelines WHERE account = $1 AND name = $2`, account, strings.ToLower(name))
}

// InsertVersion inserts a pipeline's new version.
func (t pipelineTx) InsertVersion(ctx context.Context, v pipeline.Version) error {
	body, err := encodeBody(v, "pipeline version")
	if err != nil {
		return err
	}
	return t.exec(ctx, "pipeline_versions", "store.InsertPipelineVersion", false, "pipeline version",
		`INSERT INTO pipeline_versions (pipeline_arn, version, created_at, body) VALUES ($1,$2,$3,$4)`,
		v.PipelineARN, v.Version, micros(v.CreatedAt), body)
}

// InsertExecution inserts a new execution with the definition it runs.
func (t pipelineTx) InsertExecution(ctx context.Context, e pipeline.Execution, definition string) error {
	body, err := encodeBody(e, "pipeline execution")
	if err != nil {
		return err
	}
	return t.exec(ctx, "pipeline_executions", "store.InsertPipelineExecution", false, "pipeline execution "+e.ARN,
		`INSERT INTO pipeline_executions (arn, account, pipeline_arn, status, client_token, created_at, definition, body)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		e.ARN, e.Account, e.PipelineARN, string(e.Status), e.ClientToken, micros(e.CreatedAt), definition, body)
}

// ExecutionByToken finds the execution a pipeline started for a client token.
func (t pipelineTx) ExecutionByToken(ctx context.Context, pipelineARN, token string) (pipeline.Execution, error) {
	var body string
	err := t.tx.QueryRowContext(ctx, `SELECT body FROM pipeline_executions WHERE pipeline_arn = $1 AND client_token = $2`, pipelineARN, token).Scan(&body)
	if err != nil {
		if retryable(err) {
			return pipeline.Execution{}, err
		}
		return pipeline.Execution{}, notFound(err, "pipeline execution")
	}
	return decodeBody[pipeline.Execution](body, "pipeline execution")
}

// LockExecution reads an execution for a change.
func (t pipelineTx) LockExecution(ctx context.Context, arn string) (pipeline.Execution, error) {
	body, err := t.lock(ctx, "pipeline execution "+arn, `SELECT body FROM pipeline_executions WHERE arn = $1`, arn)
	if err != nil {
		return pipeline.Execution{}, err
	}
	return decodeBody[pipeline.Execution](body, "pipeline execution")
}

// UpdateExecution writes an execution's new state.
func (t pipelineTx) UpdateExecution(ctx context.Context, e pipeline.Execution) error {
	body, err := encodeBody(e, "pipeline execution")
	if err != nil {
		return err
	}
	return t.exec(ctx, "pipeline_executions", "store.UpdatePipelineExecution", true, "pipeline execution "+e.ARN,
		`UPDATE pipeline_executions SET status = $2, body = $3 WHERE arn = $1`, e.ARN, string(e.Status), body)
}

// ExecutionsOf lists the ARNs of a pipeline's executions not yet ended.
func (t pipelineTx) ExecutionsOf(ctx context.Context, pipelineARN string) ([]string, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT arn FROM pipeline_executions WHERE pipeline_arn = $1 AND status IN ('Executing', 'Stopping') ORDER BY arn`, pipelineARN)
	if err != nil {
		if retryable(err) {
			return nil, err
		}
		return nil, internal("store.ExecutionsOf", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, internal("store.ExecutionsOf", err)
		}
		out = append(out, a)
	}
	return out, internal("store.ExecutionsOf", rows.Err())
}

// PutStep inserts or replaces a step.
func (t pipelineTx) PutStep(ctx context.Context, s pipeline.Step) error {
	body, err := encodeBody(s, "pipeline step")
	if err != nil {
		return err
	}
	return t.exec(ctx, "pipeline_steps", "store.PutPipelineStep", false, "pipeline step "+s.Name,
		`INSERT INTO pipeline_steps (execution_arn, name, position, body, callback_token) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (execution_arn, name) DO UPDATE SET position = excluded.position, body = excluded.body, callback_token = excluded.callback_token`,
		s.ExecutionARN, s.Name, s.Order, body, s.CallbackToken())
}

// PutCacheEntry records a step's success under its cache key.
func (t pipelineTx) PutCacheEntry(ctx context.Context, pipelineARN, key, executionARN, step string, at time.Time) error {
	return t.exec(ctx, "pipeline_step_cache", "store.PutCacheEntry", false, "cache entry",
		`INSERT INTO pipeline_step_cache (pipeline_arn, cache_key, execution_arn, step_name, created_at) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (pipeline_arn, cache_key, execution_arn, step_name) DO NOTHING`, pipelineARN, key, executionARN, step, micros(at))
}

// CheckFence fails with errs.Conflict unless f's lease is still the work item's latest.
func (t pipelineTx) CheckFence(ctx context.Context, f reconcile.Fence) error {
	return (&WorkStore{t.s}).CheckFence(ctx, t.tx, f)
}
