package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/alarms"
	"github.com/slipway-ml/slipway/internal/errs"
)

// AlarmsStore persists CloudWatch's custom metrics' datapoints, alarms and their history: a
// view of the shared database. Its reads bypass the read cache: the evaluator must see the
// datapoints another server wrote at its next evaluation.
type AlarmsStore Store

var (
	_ alarms.Store = (*AlarmsStore)(nil)
	_ alarms.Tx    = alarmsTx{}
)

// Alarms returns the alarms' store.
func (s *Store) Alarms() *AlarmsStore { return (*AlarmsStore)(s) }

func (v *AlarmsStore) base() *Store { return (*Store)(v) }

// Update runs fn in one transaction; the call's audit record commits with its changes.
func (v *AlarmsStore) Update(ctx context.Context, fn func(tx alarms.Tx) error) error {
	return v.base().update(ctx, func(tx *Tx) error { return fn(alarmsTx{tx}) })
}

// Ingest runs fn as Update does, without an audit record (the evaluator's transitions).
func (v *AlarmsStore) Ingest(ctx context.Context, fn func(tx alarms.Tx) error) error {
	return v.base().update(ctx, func(tx *Tx) error {
		tx.audit = nil
		return fn(alarmsTx{tx})
	})
}

// Datapoints returns a metric's data in [start, end).
func (v *AlarmsStore) Datapoints(ctx context.Context, account string, m alarms.Metric, start, end time.Time) ([]alarms.Datum, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT ts, unit, sample_count, sum_value, min_value, max_value FROM metric_data
		WHERE account = $1 AND namespace = $2 AND name = $3 AND dims = $4 AND ts >= $5 AND ts < $6 ORDER BY ts`,
		account, m.Namespace, m.Name, m.DimensionKey(), start.UnixMilli(), end.UnixMilli())
	if err != nil {
		return nil, internal("store.Datapoints", err)
	}
	defer rows.Close()
	var out []alarms.Datum
	for rows.Next() {
		d := alarms.Datum{Account: account, Metric: m}
		var ts int64
		if err := rows.Scan(&ts, &d.Unit, &d.Stats.Count, &d.Stats.Sum, &d.Stats.Min, &d.Stats.Max); err != nil {
			return nil, internal("store.Datapoints", err)
		}
		d.Time = time.UnixMilli(ts).UTC()
		out = append(out, d)
	}
	return out, internal("store.Datapoints", rows.Err())
}

// Metrics lists an account's distinct metrics.
func (v *AlarmsStore) Metrics(ctx context.Context, account string, q alarms.MetricQuery) ([]alarms.Metric, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT DISTINCT namespace, name, dims FROM metric_data
		WHERE account = $1 AND ($2 = '' OR namespace = $2) AND ($3 = '' OR name = $3) ORDER BY namespace, name, dims`,
		account, q.Namespace, q.Name)
	if err != nil {
		return nil, internal("store.Metrics", err)
	}
	defer rows.Close()
	var out []alarms.Metric
	for rows.Next() {
		var m alarms.Metric
		var dims string
		if err := rows.Scan(&m.Namespace, &m.Name, &dims); err != nil {
			return nil, internal("store.Metrics", err)
		}
		m.Dimensions = alarms.ParseDimensionKey(dims)
		out = append(out, m)
	}
	return out, internal("store.Metrics", rows.Err())
}

// GetAlarm returns an alarm.
func (v *AlarmsStore) GetAlarm(ctx context.Context, account, name string) (alarms.Alarm, error) {
	var body string
	err := v.db.QueryRowContext(ctx, `SELECT body FROM alarms WHERE account = $1 AND name = $2`, account, name).Scan(&body)
	if err != nil {
		return alarms.Alarm{}, notFound(err, "alarm "+name)
	}
	return decodeBody[alarms.Alarm](body, "alarm")
}

// ListAlarms lists an account's alarms by name.
func (v *AlarmsStore) ListAlarms(ctx context.Context, account string, q alarms.AlarmQuery) ([]alarms.Alarm, error) {
	query := `SELECT body FROM alarms WHERE account = $1 AND name > $2 AND ($3 = '' OR state = $3)`
	args := []any{account, q.After, string(q.State)}
	if q.Prefix != "" {
		args = append(args, q.Prefix)
		query += ` AND substr(name, 1, length(CAST($4 AS TEXT))) = CAST($4 AS TEXT)`
	}
	if q.Metric != nil {
		n := len(args)
		args = append(args, q.Metric.Namespace, q.Metric.Name)
		query += ` AND namespace = $` + strconv.Itoa(n+1) + ` AND metric_name = $` + strconv.Itoa(n+2)
	}
	if q.Names != nil {
		if len(q.Names) == 0 {
			return nil, nil
		}
		marks := make([]string, len(q.Names))
		for i, n := range q.Names {
			args = append(args, n)
			marks[i] = "$" + strconv.Itoa(len(args))
		}
		query += ` AND name IN (` + strings.Join(marks, ",") + `)`
	}
	query += ` ORDER BY name LIMIT ` + strconv.Itoa(q.Limit)
	as, err := listBodies[alarms.Alarm](ctx, v.base(), "store.ListAlarms", "alarm", query, args...)
	if err != nil || q.Metric == nil {
		return as, err
	}
	out := as[:0]
	for _, a := range as {
		if a.Metric.DimensionKey() == q.Metric.DimensionKey() {
			out = append(out, a)
		}
	}
	return out, nil
}

// History lists history items, newest first unless Ascending.
func (v *AlarmsStore) History(ctx context.Context, account string, q alarms.HistoryQuery) ([]alarms.HistoryItem, error) {
	query := `SELECT body FROM alarm_history WHERE account = $1 AND ($2 = '' OR alarm = $2) AND ($3 = '' OR item_type = $3)
		AND (CAST($4 AS BIGINT) = 0 OR ts >= $4) AND (CAST($5 AS BIGINT) = 0 OR ts <= $5)
		AND (CAST($6 AS BIGINT) = 0 OR ($7 AND seq < $6) OR (NOT $7 AND seq > $6))`
	order := " ORDER BY seq DESC"
	if q.Ascending {
		order = " ORDER BY seq"
	}
	var start, end int64
	if !q.Start.IsZero() {
		start = q.Start.UnixMilli()
	}
	if !q.End.IsZero() {
		end = q.End.UnixMilli()
	}
	return listBodies[alarms.HistoryItem](ctx, v.base(), "store.AlarmHistory", "alarm history item", query+order+` LIMIT `+strconv.Itoa(q.Limit),
		account, q.Alarm, q.Type, start, end, q.Before, !q.Ascending)
}

type alarmsTx struct{ *Tx }

func (t alarmsTx) forUpdate() string {
	if t.s.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// PutData inserts datapoints.
func (t alarmsTx) PutData(ctx context.Context, data []alarms.Datum) error {
	t.wrote("metric_data")
	for _, d := range data {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO metric_data (account, namespace, name, dims, ts, unit, sample_count, sum_value, min_value, max_value)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`, d.Account, d.Metric.Namespace, d.Metric.Name, d.Metric.DimensionKey(), d.Time.UnixMilli(),
			d.Unit, d.Stats.Count, d.Stats.Sum, d.Stats.Min, d.Stats.Max); err != nil {
			return internal("store.PutData", err)
		}
	}
	return nil
}

// PruneData deletes up to limit datapoints older than before, oldest first (by the
// metric_data_by_time index), naming them by their row's address: metric_data has no key.
func (t alarmsTx) PruneData(ctx context.Context, before time.Time, limit int) (int, error) {
	t.wrote("metric_data")
	q := `DELETE FROM metric_data WHERE rowid IN (SELECT rowid FROM metric_data WHERE ts < $1 ORDER BY ts LIMIT $2)`
	if t.s.dialect == Postgres {
		q = `DELETE FROM metric_data WHERE ctid = ANY(ARRAY(SELECT ctid FROM metric_data WHERE ts < $1 ORDER BY ts LIMIT $2))`
	}
	res, err := t.tx.ExecContext(ctx, q, before.UnixMilli(), limit)
	if err != nil {
		return 0, internal("store.PruneData", err)
	}
	n, err := res.RowsAffected()
	return int(n), internal("store.PruneData", err)
}

// LockAlarm reads an alarm for a change.
func (t alarmsTx) LockAlarm(ctx context.Context, account, name string) (alarms.Alarm, error) {
	var body string
	err := t.tx.QueryRowContext(ctx, `SELECT body FROM alarms WHERE account = $1 AND name = $2`+t.forUpdate(), account, name).Scan(&body)
	if err != nil {
		return alarms.Alarm{}, notFound(err, "alarm "+name)
	}
	return decodeBody[alarms.Alarm](body, "alarm")
}

// PutAlarm inserts or replaces an alarm.
func (t alarmsTx) PutAlarm(ctx context.Context, a alarms.Alarm) error {
	t.wrote("alarms")
	body, err := encodeBody(a, "alarm")
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO alarms (account, name, namespace, metric_name, state, body) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (account, name) DO UPDATE SET namespace = excluded.namespace, metric_name = excluded.metric_name,
		state = excluded.state, body = excluded.body`, a.Account, a.Name, a.Metric.Namespace, a.Metric.Name, string(a.State), body)
	return internal("store.PutAlarm", err)
}

// DeleteAlarm deletes an alarm and its history.
func (t alarmsTx) DeleteAlarm(ctx context.Context, account, name string) error {
	t.wrote("alarms")
	res, err := t.tx.ExecContext(ctx, `DELETE FROM alarms WHERE account = $1 AND name = $2`, account, name)
	if err != nil {
		return internal("store.DeleteAlarm", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "alarm %s does not exist", name)
	}
	_, err = t.tx.ExecContext(ctx, `DELETE FROM alarm_history WHERE account = $1 AND alarm = $2`, account, name)
	return internal("store.DeleteAlarm", err)
}

// AlarmsOn lists the names of an account's alarms on a metric.
func (t alarmsTx) AlarmsOn(ctx context.Context, account, namespace, name string) ([]string, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT name FROM alarms WHERE account = $1 AND namespace = $2 AND metric_name = $3`, account, namespace, name)
	if err != nil {
		return nil, internal("store.AlarmsOn", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, internal("store.AlarmsOn", err)
		}
		out = append(out, n)
	}
	return out, internal("store.AlarmsOn", rows.Err())
}

// AddHistory appends a history item, numbering it after the account's last.
func (t alarmsTx) AddHistory(ctx context.Context, h alarms.HistoryItem) error {
	t.wrote("alarm_history")
	var last sql.NullInt64
	if err := t.tx.QueryRowContext(ctx, `SELECT MAX(seq) FROM alarm_history WHERE account = $1`, h.Account).Scan(&last); err != nil {
		return internal("store.AddHistory", err)
	}
	h.Seq = last.Int64 + 1
	body, err := encodeBody(h, "alarm history item")
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO alarm_history (seq, account, alarm, ts, item_type, body) VALUES ($1,$2,$3,$4,$5,$6)`,
		h.Seq, h.Account, h.Alarm, h.Time.UnixMilli(), h.Type, body)
	if isUniqueViolation(err) {
		return errRetry // another transaction took the number: run again
	}
	return internal("store.AddHistory", err)
}
