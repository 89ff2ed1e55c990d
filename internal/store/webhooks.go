package store

import (
	"context"
	"strconv"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events/webhooks"
)

// WebhooksStore persists EventBridge's connections and API destinations: a view of the
// shared database.
type WebhooksStore Store

var (
	_ webhooks.Store = (*WebhooksStore)(nil)
	_ webhooks.Tx    = webhooksTx{}
)

// Webhooks returns the connections and API destinations store.
func (s *Store) Webhooks() *WebhooksStore { return (*WebhooksStore)(s) }

func (w *WebhooksStore) base() *Store { return (*Store)(w) }

// Update runs fn in one transaction.
func (w *WebhooksStore) Update(ctx context.Context, fn func(tx webhooks.Tx) error) error {
	return w.base().update(ctx, func(tx *Tx) error { return fn(webhooksTx{tx}) })
}

type webhooksTx struct{ *Tx }

// GetConnection returns a connection.
func (w *WebhooksStore) GetConnection(ctx context.Context, account, name string) (webhooks.Connection, error) {
	var body string
	err := w.base().queryRow(ctx, `SELECT body FROM event_connections WHERE account = $1 AND name = $2`, account, name).Scan(&body)
	if err != nil {
		return webhooks.Connection{}, notFound(err, "Connection "+name)
	}
	return decodeBody[webhooks.Connection](body, "connection")
}

// GetDestination returns an API destination.
func (w *WebhooksStore) GetDestination(ctx context.Context, account, name string) (webhooks.Destination, error) {
	var body string
	err := w.base().queryRow(ctx, `SELECT body FROM event_api_destinations WHERE account = $1 AND name = $2`, account, name).Scan(&body)
	if err != nil {
		return webhooks.Destination{}, notFound(err, "API destination "+name)
	}
	return decodeBody[webhooks.Destination](body, "API destination")
}

func listWebhookBodies[T any](ctx context.Context, s *Store, table, what, account, prefix, after string, limit int) ([]T, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT body FROM `+table+` WHERE account = $1 AND `+prefixOf("name", "$2")+
		` AND name > $3 ORDER BY name LIMIT `+strconv.Itoa(limit), account, prefix, after)
	if err != nil {
		return nil, internal("store.list "+what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, internal("store.list "+what, err)
		}
		x, err := decodeBody[T](body, what)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, internal("store.list "+what, rows.Err())
}

// ListConnections lists an account's connections by name.
func (w *WebhooksStore) ListConnections(ctx context.Context, account, prefix, after string, limit int) ([]webhooks.Connection, error) {
	return listWebhookBodies[webhooks.Connection](ctx, w.base(), "event_connections", "connection", account, prefix, after, limit)
}

// ListDestinations lists an account's API destinations by name.
func (w *WebhooksStore) ListDestinations(ctx context.Context, account, prefix, after string, limit int) ([]webhooks.Destination, error) {
	return listWebhookBodies[webhooks.Destination](ctx, w.base(), "event_api_destinations", "API destination", account, prefix, after, limit)
}

func (t webhooksTx) CreateConnection(ctx context.Context, c webhooks.Connection) error {
	t.wrote("event_connections")
	body, err := encode(c)
	if err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `INSERT INTO event_connections (account, name, body) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING`, c.Account, c.Name, body)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.Conflict, "Connection %s already exists.", c.Name)
	}
	return nil
}

func (t webhooksTx) PutConnection(ctx context.Context, c webhooks.Connection) error {
	t.wrote("event_connections")
	body, err := encode(c)
	if err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE event_connections SET body = $3 WHERE account = $1 AND name = $2`, c.Account, c.Name, body)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "Connection %s does not exist.", c.Name)
	}
	return nil
}

func (t webhooksTx) DeleteConnection(ctx context.Context, account, name string) error {
	t.wrote("event_connections")
	res, err := t.tx.ExecContext(ctx, `DELETE FROM event_connections WHERE account = $1 AND name = $2`, account, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "Connection %s does not exist.", name)
	}
	return nil
}

func (t webhooksTx) CreateDestination(ctx context.Context, d webhooks.Destination) error {
	t.wrote("event_api_destinations")
	body, err := encode(d)
	if err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `INSERT INTO event_api_destinations (account, name, connection, body) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING`,
		d.Account, d.Name, d.ConnectionARN, body)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.Conflict, "An api-destination %s already exists.", d.Name)
	}
	return nil
}

func (t webhooksTx) PutDestination(ctx context.Context, d webhooks.Destination) error {
	t.wrote("event_api_destinations")
	body, err := encode(d)
	if err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE event_api_destinations SET connection = $3, body = $4 WHERE account = $1 AND name = $2`,
		d.Account, d.Name, d.ConnectionARN, body)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "An api-destination %s does not exist.", d.Name)
	}
	return nil
}

func (t webhooksTx) DeleteDestination(ctx context.Context, account, name string) error {
	t.wrote("event_api_destinations")
	res, err := t.tx.ExecContext(ctx, `DELETE FROM event_api_destinations WHERE account = $1 AND name = $2`, account, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "An api-destination %s does not exist.", name)
	}
	return nil
}

func (t webhooksTx) DestinationsUsing(ctx context.Context, account, connectionARN string) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM event_api_destinations WHERE account = $1 AND connection = $2`, account, connectionARN).Scan(&n)
	return n, err
}
