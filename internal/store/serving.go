package store

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/serving"
)

// ServingStore persists models, endpoint configurations and endpoints: a view of the shared
// database. They share one table, told apart by kind.
type ServingStore Store

var (
	_ serving.Store = (*ServingStore)(nil)
	_ serving.Tx    = servingTx{}
)

// Serving returns serving's store.
func (s *Store) Serving() *ServingStore { return (*ServingStore)(s) }

func (v *ServingStore) base() *Store { return (*Store)(v) }

// The kinds of the serving table's rows.
const (
	kindModel    = "model"
	kindConfig   = "endpoint-config"
	kindEndpoint = "endpoint"
)

// Update runs fn in one transaction with serving's view of it.
func (v *ServingStore) Update(ctx context.Context, fn func(tx serving.Tx) error) error {
	return v.base().update(ctx, func(tx *Tx) error { return fn(servingTx{tx}) })
}

type servingTx struct{ *Tx }

func getServing[T any](ctx context.Context, v *ServingStore, kind, account, name, what string) (T, error) {
	var out T
	var body string
	err := v.base().queryRow(ctx, `SELECT body FROM serving WHERE account = $1 AND kind = $2 AND name = $3`,
		account, kind, strings.ToLower(name)).Scan(&body)
	if err != nil {
		return out, notFound(err, what+" "+name)
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		return out, errs.E(errs.Internal, "a stored %s does not decode", what, err)
	}
	return out, nil
}

func listServing[T any](ctx context.Context, v *ServingStore, kind, account string, q serving.Query) ([]T, error) {
	order := orderBy(q.SortBy, q.Descending, "name", "created_at,name")
	if q.SortBy == "Status" {
		order = orderBy("Name", q.Descending, "status,created_at,name", "")
	}
	query := `SELECT body FROM serving WHERE account = $1 AND kind = $2
		AND ($3 = '' OR name LIKE '%' || $3 || '%') AND ($4 = '' OR status = $4)
		AND (CAST($5 AS BIGINT) = 0 OR created_at > $5) AND (CAST($6 AS BIGINT) = 0 OR created_at < $6)
		AND (CAST($7 AS BIGINT) = 0 OR modified_at > $7) AND (CAST($8 AS BIGINT) = 0 OR modified_at < $8)` + order + limitOffset(q.Limit, q.Offset)
	rows, err := v.db.QueryContext(ctx, query, account, kind, strings.ToLower(q.NameContains), string(q.Status),
		micros(q.CreatedAfter), micros(q.CreatedBefore), micros(q.ModifiedAfter), micros(q.ModifiedBefore))
	if err != nil {
		return nil, internal("store.ListServing", err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var body string
		var x T
		if err := rows.Scan(&body); err != nil {
			return nil, internal("store.ListServing", err)
		}
		if err := json.Unmarshal([]byte(body), &x); err != nil {
			return nil, errs.E(errs.Internal, "a stored %s does not decode", kind, err)
		}
		out = append(out, x)
	}
	return out, internal("store.ListServing", rows.Err())
}

// GetModel returns a model.
func (v *ServingStore) GetModel(ctx context.Context, account, name string) (serving.Model, error) {
	return getServing[serving.Model](ctx, v, kindModel, account, name, "model")
}

// ListModels lists an account's models.
func (v *ServingStore) ListModels(ctx context.Context, account string, q serving.Query) ([]serving.Model, error) {
	return listServing[serving.Model](ctx, v, kindModel, account, q)
}

// GetConfig returns an endpoint configuration.
func (v *ServingStore) GetConfig(ctx context.Context, account, name string) (serving.Config, error) {
	return getServing[serving.Config](ctx, v, kindConfig, account, name, "endpoint configuration")
}

// ListConfigs lists an account's endpoint configurations.
func (v *ServingStore) ListConfigs(ctx context.Context, account string, q serving.Query) ([]serving.Config, error) {
	return listServing[serving.Config](ctx, v, kindConfig, account, q)
}

// GetEndpoint returns an endpoint.
func (v *ServingStore) GetEndpoint(ctx context.Context, account, name string) (serving.Endpoint, error) {
	return getServing[serving.Endpoint](ctx, v, kindEndpoint, account, name, "endpoint")
}

// ListEndpoints lists an account's endpoints.
func (v *ServingStore) ListEndpoints(ctx context.Context, account string, q serving.Query) ([]serving.Endpoint, error) {
	return listServing[serving.Endpoint](ctx, v, kindEndpoint, account, q)
}

// EndpointARNs lists every endpoint's ARN.
func (v *ServingStore) EndpointARNs(ctx context.Context) ([]string, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT arn FROM serving WHERE kind = $1 ORDER BY account, name`, kindEndpoint)
	if err != nil {
		return nil, internal("store.EndpointARNs", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, internal("store.EndpointARNs", err)
		}
		out = append(out, a)
	}
	return out, internal("store.EndpointARNs", rows.Err())
}

func (t servingTx) insert(ctx context.Context, kind, account, name, arn, status string, created, modified time.Time, x any) error {
	t.wrote("serving")
	body, err := json.Marshal(x)
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the %s", kind, err)
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO serving (account, kind, name, arn, status, created_at, modified_at, body)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, account, kind, strings.ToLower(name), arn, status, micros(created), micros(modified), string(body))
	if err != nil {
		if retryable(err) {
			return err
		}
		return conflictOr(err, kind+" "+name)
	}
	return nil
}

func (t servingTx) delete(ctx context.Context, kind, account, name string) error {
	t.wrote("serving")
	res, err := t.tx.ExecContext(ctx, `DELETE FROM serving WHERE account = $1 AND kind = $2 AND name = $3`, account, kind, strings.ToLower(name))
	if err != nil {
		if retryable(err) {
			return err
		}
		return internal("store.DeleteServing", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "%s %s does not exist", kind, name)
	}
	return nil
}

// InsertModel inserts a new model.
func (t servingTx) InsertModel(ctx context.Context, m serving.Model) error {
	return t.insert(ctx, kindModel, m.Account, m.Name, m.ARN, "", m.CreatedAt, m.CreatedAt, m)
}

// DeleteModel deletes a model.
func (t servingTx) DeleteModel(ctx context.Context, account, name string) error {
	return t.delete(ctx, kindModel, account, name)
}

// InsertConfig inserts a new endpoint configuration.
func (t servingTx) InsertConfig(ctx context.Context, c serving.Config) error {
	return t.insert(ctx, kindConfig, c.Account, c.Name, c.ARN, "", c.CreatedAt, c.CreatedAt, c)
}

// DeleteConfig deletes an endpoint configuration.
func (t servingTx) DeleteConfig(ctx context.Context, account, name string) error {
	return t.delete(ctx, kindConfig, account, name)
}

// InsertEndpoint inserts a new endpoint.
func (t servingTx) InsertEndpoint(ctx context.Context, e serving.Endpoint) error {
	return t.insert(ctx, kindEndpoint, e.Account, e.Name, e.ARN, string(e.Status), e.CreatedAt, e.ModifiedAt, e)
}

// DeleteEndpoint deletes an endpoint.
func (t servingTx) DeleteEndpoint(ctx context.Context, account, name string) error {
	return t.delete(ctx, kindEndpoint, account, name)
}

// LockEndpoint reads an endpoint for a change.
func (t servingTx) LockEndpoint(ctx context.Context, account, name string) (serving.Endpoint, error) {
	q := `SELECT body FROM serving WHERE account = $1 AND kind = $2 AND name = $3`
	if t.s.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var e serving.Endpoint
	var body string
	if err := t.tx.QueryRowContext(ctx, q, account, kindEndpoint, strings.ToLower(name)).Scan(&body); err != nil {
		if retryable(err) {
			return e, err
		}
		return e, notFound(err, "endpoint "+name)
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		return e, errs.E(errs.Internal, "a stored endpoint does not decode", err)
	}
	return e, nil
}

// UpdateEndpoint writes an endpoint's new state.
func (t servingTx) UpdateEndpoint(ctx context.Context, e serving.Endpoint) error {
	t.wrote("serving")
	body, err := json.Marshal(e)
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the endpoint", err)
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE serving SET status = $4, modified_at = $5, body = $6 WHERE account = $1 AND kind = $2 AND name = $3`,
		e.Account, kindEndpoint, strings.ToLower(e.Name), string(e.Status), micros(e.ModifiedAt), string(body))
	if err != nil {
		if retryable(err) {
			return err
		}
		return internal("store.UpdateEndpoint", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.E(errs.NotFound, "endpoint %s does not exist", e.Name)
	}
	return nil
}

// CheckFence fails with errs.Conflict unless f's lease is still the work item's latest.
func (t servingTx) CheckFence(ctx context.Context, f reconcile.Fence) error {
	return (&WorkStore{t.s}).CheckFence(ctx, t.tx, f)
}
