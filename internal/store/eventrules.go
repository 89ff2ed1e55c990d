package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events/rules"
	"github.com/slipway-ml/slipway/internal/logs"
)

// RulesStore persists EventBridge's buses, rules, targets and deliveries: a view of the shared
// database.
type RulesStore Store

var (
	_ rules.Store = (*RulesStore)(nil)
	_ rules.Tx    = rulesTx{}
)

// EventRules returns EventBridge's store.
func (s *Store) EventRules() *RulesStore { return (*RulesStore)(s) }

func (r *RulesStore) base() *Store { return (*Store)(r) }

// Update runs fn in one transaction with the rules' view of it.
func (r *RulesStore) Update(ctx context.Context, fn func(tx rules.Tx) error) error {
	return r.base().update(ctx, func(tx *Tx) error { return fn(rulesTx{tx}) })
}

// Once runs fn with key recorded as delivered, in one transaction without an audit record,
// unless key was recorded before.
func (r *RulesStore) Once(ctx context.Context, key string, fn func(tx rules.Tx) error) (bool, error) {
	ran := false
	err := r.base().update(ctx, func(tx *Tx) error {
		tx.audit = nil
		ran = false
		first, err := recordDelivery(ctx, tx, key)
		if err != nil || !first {
			return err
		}
		ran = true
		return fn(rulesTx{tx})
	})
	return ran, err
}

// recordDelivery inserts a delivery's key; first is false when it was there already.
func recordDelivery(ctx context.Context, tx *Tx, key string) (first bool, err error) {
	tx.wrote("event_deliveries")
	res, err := tx.tx.ExecContext(ctx, `INSERT INTO event_deliveries (key, delivered_at) VALUES ($1,$2) ON CONFLICT DO NOTHING`, key, micros(tx.s.now()))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Delivered reports whether a delivery's key is recorded.
func (r *RulesStore) Delivered(ctx context.Context, key string) (bool, error) {
	var one int
	err := r.base().queryRow(ctx, `SELECT 1 FROM event_deliveries WHERE key = $1`, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, internal("store.Delivered", err)
}

// RecordFailure records that a delivery failed for good, unless its key is recorded already.
func (r *RulesStore) RecordFailure(ctx context.Context, key, reason string) error {
	return r.base().update(ctx, func(tx *Tx) error {
		tx.audit = nil
		tx.wrote("event_deliveries")
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO event_deliveries (key, delivered_at, failure) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING`,
			key, micros(tx.s.now()), reason)
		return err
	})
}

// DeadLetters lists the failed deliveries to targets of an account's rules, by key.
func (r *RulesStore) DeadLetters(ctx context.Context, account, after string, limit int) ([]rules.DeadLetterEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	// The key is "event id|rule ARN|target id"; the rule ARN names its account.
	rows, err := r.db.QueryContext(ctx, `SELECT key, delivered_at, failure FROM event_deliveries
		WHERE failure <> '' AND key > $1 AND key LIKE $2 ORDER BY key LIMIT `+strconv.Itoa(limit),
		after, "%|arn:%:events:%:"+account+":rule/%")
	if err != nil {
		return nil, internal("store.DeadLetters", err)
	}
	defer rows.Close()
	var out []rules.DeadLetterEntry
	for rows.Next() {
		var e rules.DeadLetterEntry
		var at int64
		if err := rows.Scan(&e.Key, &at, &e.Reason); err != nil {
			return nil, internal("store.DeadLetters", err)
		}
		parts := strings.Split(e.Key, "|")
		if len(parts) != 3 {
			continue
		}
		e.EventID, e.Rule, e.Target, e.At = parts[0], parts[1], parts[2], fromMicros(at)
		out = append(out, e)
	}
	return out, internal("store.DeadLetters", rows.Err())
}

// AppendLogOnce appends events to a log stream (created when missing) of an existing log
// group, with key recorded as delivered in the same transaction, unless key was recorded
// before; it reports whether it appended. A missing group is errs.NotFound and records nothing.
func (r *RulesStore) AppendLogOnce(ctx context.Context, key string, s logs.Stream, evs []logs.StoredEvent) (bool, error) {
	ran := false
	err := r.base().update(ctx, func(tx *Tx) error {
		tx.audit = nil
		ran = false
		var one int
		err := tx.tx.QueryRowContext(ctx, `SELECT 1 FROM log_groups WHERE account = $1 AND name = $2`, s.Account, s.Group).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "the log group %s does not exist", s.Group)
		}
		if err != nil {
			return err
		}
		first, err := recordDelivery(ctx, tx, key)
		if err != nil || !first {
			return err
		}
		ran = true
		lt := logsTx{tx}
		if err := lt.EnsureStream(ctx, s); err != nil {
			return err
		}
		return lt.AppendEvents(ctx, s.Account, s.Group, s.Name, evs)
	})
	return ran, err
}

type rulesTx struct{ *Tx }

// GetBus returns a bus; an account's default bus exists without a row.
func (r *RulesStore) GetBus(ctx context.Context, account, name string) (rules.Bus, error) {
	var body string
	err := r.base().queryRow(ctx, `SELECT body FROM event_buses WHERE account = $1 AND name = $2`, account, name).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) && name == rules.DefaultBus {
		return rules.Bus{Account: account, Name: rules.DefaultBus}, nil
	}
	if err != nil {
		return rules.Bus{}, notFound(err, "Event bus "+name)
	}
	return decodeBody[rules.Bus](body, "event bus")
}

// ListBuses lists an account's buses by name, the default bus among them.
func (r *RulesStore) ListBuses(ctx context.Context, account, prefix string) ([]rules.Bus, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT body FROM event_buses WHERE account = $1 AND `+prefixOf("name", "$2")+` ORDER BY name`, account, prefix)
	if err != nil {
		return nil, internal("store.ListBuses", err)
	}
	defer rows.Close()
	var out []rules.Bus
	sawDefault := false
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, internal("store.ListBuses", err)
		}
		b, err := decodeBody[rules.Bus](body, "event bus")
		if err != nil {
			return nil, err
		}
		sawDefault = sawDefault || b.Name == rules.DefaultBus
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("store.ListBuses", err)
	}
	if !sawDefault && len(prefix) <= len(rules.DefaultBus) && rules.DefaultBus[:len(prefix)] == prefix {
		out = append([]rules.Bus{{Account: account, Name: rules.DefaultBus}}, out...)
	}
	return out, nil
}

// GetRule returns a rule with the number of its targets.
func (r *RulesStore) GetRule(ctx context.Context, account, bus, name string) (rules.Rule, error) {
	var body string
	err := r.base().queryRow(ctx, `SELECT body FROM event_rules WHERE account = $1 AND bus = $2 AND name = $3`, account, bus, name).Scan(&body)
	if err != nil {
		return rules.Rule{}, notFound(err, "Rule "+name)
	}
	return decodeBody[rules.Rule](body, "rule")
}

func (r *RulesStore) queryRules(ctx context.Context, query string, args ...any) ([]rules.Rule, error) {
	st, err := r.base().stmt(ctx, query)
	if err != nil {
		return nil, internal("store.ListRules", err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, internal("store.ListRules", err)
	}
	defer rows.Close()
	var out []rules.Rule
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, internal("store.ListRules", err)
		}
		x, err := decodeBody[rules.Rule](body, "rule")
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, internal("store.ListRules", rows.Err())
}

// ListRules lists a bus's rules by name.
func (r *RulesStore) ListRules(ctx context.Context, account, bus, prefix, after string, limit int) ([]rules.Rule, error) {
	if limit <= 0 {
		limit = 100
	}
	return r.queryRules(ctx, `SELECT body FROM event_rules WHERE account = $1 AND bus = $2 AND `+prefixOf("name", "$3")+` AND name > $4 ORDER BY name LIMIT `+strconv.Itoa(limit),
		account, bus, prefix, after)
}

// RulesOf returns a bus's enabled rules that have an event pattern.
func (r *RulesStore) RulesOf(ctx context.Context, account, bus string) ([]rules.Rule, error) {
	return r.queryRules(ctx, `SELECT body FROM event_rules WHERE account = $1 AND bus = $2 AND enabled = 1 AND has_pattern = 1 ORDER BY name`, account, bus)
}

// ListTargets lists a rule's targets by id.
func (r *RulesStore) ListTargets(ctx context.Context, account, bus, rule string) ([]rules.Target, error) {
	st, err := r.base().stmt(ctx, `SELECT body FROM event_targets WHERE account = $1 AND bus = $2 AND rule = $3 ORDER BY id`)
	if err != nil {
		return nil, internal("store.ListTargets", err)
	}
	rows, err := st.QueryContext(ctx, account, bus, rule)
	if err != nil {
		return nil, internal("store.ListTargets", err)
	}
	defer rows.Close()
	var out []rules.Target
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, internal("store.ListTargets", err)
		}
		x, err := decodeBody[rules.Target](body, "target")
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, internal("store.ListTargets", rows.Err())
}

func encode(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", errs.E(errs.Internal, "cannot encode", err)
	}
	return string(b), nil
}

func (t rulesTx) CreateBus(ctx context.Context, b rules.Bus) error {
	t.wrote("event_buses")
	body, err := encode(b)
	if err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `INSERT INTO event_buses (account, name, body) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING`, b.Account, b.Name, body)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.Conflict, "Event bus %s already exists.", b.Name)
	}
	return nil
}

func (t rulesTx) PutBus(ctx context.Context, b rules.Bus) error {
	t.wrote("event_buses")
	body, err := encode(b)
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO event_buses (account, name, body) VALUES ($1,$2,$3)
		ON CONFLICT (account, name) DO UPDATE SET body = excluded.body`, b.Account, b.Name, body)
	return err
}

func (t rulesTx) DeleteBus(ctx context.Context, account, name string) error {
	t.wrote("event_buses")
	for _, q := range []string{`DELETE FROM event_targets WHERE account = $1 AND bus = $2`, `DELETE FROM event_rules WHERE account = $1 AND bus = $2`} {
		if _, err := t.tx.ExecContext(ctx, q, account, name); err != nil {
			return err
		}
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM event_buses WHERE account = $1 AND name = $2`, account, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "Event bus %s does not exist.", name)
	}
	return t.bumpRules(ctx, account, name)
}

// bumpRules moves a bus's rules generation on.
func (t rulesTx) bumpRules(ctx context.Context, account, bus string) error {
	t.wrote("event_rule_generations")
	_, err := t.tx.ExecContext(ctx, `INSERT INTO event_rule_generations (account, bus, gen) VALUES ($1,$2,1)
		ON CONFLICT (account, bus) DO UPDATE SET gen = event_rule_generations.gen + 1`, account, bus)
	return err
}

// RulesGeneration returns a bus's rules generation: it differs after any change to its rules.
func (r *RulesStore) RulesGeneration(ctx context.Context, account, bus string) (int64, error) {
	var gen int64
	err := r.base().queryRow(ctx, `SELECT gen FROM event_rule_generations WHERE account = $1 AND bus = $2`, account, bus).Scan(&gen)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return gen, internal("store.RulesGeneration", err)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (t rulesTx) PutRule(ctx context.Context, r rules.Rule) error {
	t.wrote("event_rules")
	body, err := encode(r)
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO event_rules (account, bus, name, enabled, has_pattern, body) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (account, bus, name) DO UPDATE SET enabled = excluded.enabled, has_pattern = excluded.has_pattern, body = excluded.body`,
		r.Account, r.Bus, r.Name, boolInt(r.State == rules.Enabled), boolInt(r.Pattern != ""), body)
	if err != nil {
		return err
	}
	return t.bumpRules(ctx, r.Account, r.Bus)
}

func (t rulesTx) DeleteRule(ctx context.Context, account, bus, name string) error {
	t.wrote("event_rules")
	res, err := t.tx.ExecContext(ctx, `DELETE FROM event_rules WHERE account = $1 AND bus = $2 AND name = $3`, account, bus, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "Rule %s does not exist on EventBus %s.", name, bus)
	}
	return t.bumpRules(ctx, account, bus)
}

func (t rulesTx) PutTarget(ctx context.Context, account, bus, rule string, x rules.Target) error {
	t.wrote("event_targets")
	body, err := encode(x)
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO event_targets (account, bus, rule, id, body) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (account, bus, rule, id) DO UPDATE SET body = excluded.body`, account, bus, rule, x.ID, body)
	return err
}

func (t rulesTx) DeleteTarget(ctx context.Context, account, bus, rule, id string) (bool, error) {
	t.wrote("event_targets")
	res, err := t.tx.ExecContext(ctx, `DELETE FROM event_targets WHERE account = $1 AND bus = $2 AND rule = $3 AND id = $4`, account, bus, rule, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
