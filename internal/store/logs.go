package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/logs"
)

// LogsStore persists CloudWatch Logs' groups, streams and events: a view of the shared
// database. Its reads bypass the read cache: logs change with every append, and a follower on
// another server must see them at its next poll.
type LogsStore Store

var (
	_ logs.Store = (*LogsStore)(nil)
	_ logs.Tx    = logsTx{}
)

// Logs returns the logs' store.
func (s *Store) Logs() *LogsStore { return (*LogsStore)(s) }

func (l *LogsStore) base() *Store { return (*Store)(l) }

// Update runs fn in one transaction with the logs' view of it; the call's audit record commits
// with its changes.
func (l *LogsStore) Update(ctx context.Context, fn func(tx logs.Tx) error) error {
	return l.base().update(ctx, func(tx *Tx) error { return fn(logsTx{tx}) })
}

// Ingest runs fn as Update does, but commits no audit record: the platform's own appends (a
// job's output) are not calls of anyone's.
func (l *LogsStore) Ingest(ctx context.Context, fn func(tx logs.Tx) error) error {
	return l.base().update(ctx, func(tx *Tx) error {
		tx.audit = nil
		return fn(logsTx{tx})
	})
}

type logsTx struct{ *Tx }

// CreateGroup inserts a group.
func (t logsTx) CreateGroup(ctx context.Context, g logs.Group) error {
	t.wrote("log_groups")
	res, err := t.tx.ExecContext(ctx, `INSERT INTO log_groups (account, name, created_at) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING`,
		g.Account, g.Name, micros(g.CreatedAt))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.Conflict, "log group %s exists already", g.Name)
	}
	return nil
}

// EnsureGroup inserts a group unless it exists.
func (t logsTx) EnsureGroup(ctx context.Context, g logs.Group) error {
	t.wrote("log_groups")
	_, err := t.tx.ExecContext(ctx, `INSERT INTO log_groups (account, name, created_at) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING`,
		g.Account, g.Name, micros(g.CreatedAt))
	return err
}

// DeleteGroup deletes a group, its streams and their events.
func (t logsTx) DeleteGroup(ctx context.Context, account, name string) error {
	t.wrote("log_groups")
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM log_events WHERE stream_id IN (SELECT id FROM log_streams WHERE account = $1 AND group_name = $2)`, account, name); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM log_sources WHERE stream_id IN (SELECT id FROM log_streams WHERE account = $1 AND group_name = $2)`, account, name); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM log_streams WHERE account = $1 AND group_name = $2`, account, name); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM log_groups WHERE account = $1 AND name = $2`, account, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "log group %s does not exist", name)
	}
	return nil
}

// groupExists reads whether a group exists; on PostgreSQL it holds the group's row against a
// concurrent deletion until the transaction ends (SQLite runs one writer at a time).
func (t logsTx) groupExists(ctx context.Context, account, name string) (bool, error) {
	q := `SELECT 1 FROM log_groups WHERE account = $1 AND name = $2`
	if t.s.dialect == Postgres {
		q += ` FOR SHARE`
	}
	var one int
	err := t.tx.QueryRowContext(ctx, q, account, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (t logsTx) insertStream(ctx context.Context, s logs.Stream) (bool, error) {
	t.wrote("log_streams")
	ok, err := t.groupExists(ctx, s.Account, s.Group)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, errs.E(errs.NotFound, "log group %s does not exist", s.Group)
	}
	res, err := t.tx.ExecContext(ctx, `INSERT INTO log_streams (account, group_name, name, created_at) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING`,
		s.Account, s.Group, s.Name, micros(s.CreatedAt))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// CreateStream inserts a stream.
func (t logsTx) CreateStream(ctx context.Context, s logs.Stream) error {
	made, err := t.insertStream(ctx, s)
	if err == nil && !made {
		return errs.E(errs.Conflict, "log stream %s exists already", s.Name)
	}
	return err
}

// EnsureStream inserts a stream unless it exists.
func (t logsTx) EnsureStream(ctx context.Context, s logs.Stream) error {
	_, err := t.insertStream(ctx, s)
	return err
}

// eventsPerInsert bounds the rows of one INSERT (5 parameters each).
const eventsPerInsert = 500

// AppendEvents adds events to a stream, allocating their sequence numbers from the stream's
// row (which the UPDATE locks until the transaction ends).
func (t logsTx) AppendEvents(ctx context.Context, account, group, stream string, evs []logs.StoredEvent) error {
	if len(evs) == 0 {
		return nil
	}
	t.wrote("log_streams")
	t.wrote("log_events")
	lo, hi, bytes, ingested := evs[0].Timestamp, evs[0].Timestamp, int64(0), int64(0)
	for _, e := range evs {
		lo, hi = min(lo, e.Timestamp), max(hi, e.Timestamp)
		bytes += int64(len(e.Message))
		ingested = max(ingested, e.Ingested)
	}
	var id, last int64
	err := t.tx.QueryRowContext(ctx, `UPDATE log_streams SET next_seq = next_seq + $1,
		first_event = CASE WHEN first_event = 0 OR first_event > $2 THEN $2 ELSE first_event END,
		last_event = CASE WHEN last_event < $3 THEN $3 ELSE last_event END,
		last_ingestion = $4, stored_bytes = stored_bytes + $5
		WHERE account = $6 AND group_name = $7 AND name = $8 RETURNING id, next_seq`,
		int64(len(evs)), lo, hi, ingested, bytes, account, group, stream).Scan(&id, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.E(errs.NotFound, "log stream %s does not exist", stream)
	}
	if err != nil {
		return err
	}
	seq := last - int64(len(evs))
	for start := 0; start < len(evs); start += eventsPerInsert {
		chunk := evs[start:min(start+eventsPerInsert, len(evs))]
		var q strings.Builder
		q.WriteString(`INSERT INTO log_events (stream_id, seq, ts, ingested, message) VALUES `)
		args := make([]any, 0, 5*len(chunk))
		for i, e := range chunk {
			if i > 0 {
				q.WriteByte(',')
			}
			n := len(args)
			q.WriteString("($" + strconv.Itoa(n+1) + ",$" + strconv.Itoa(n+2) + ",$" + strconv.Itoa(n+3) + ",$" + strconv.Itoa(n+4) + ",$" + strconv.Itoa(n+5) + ")")
			seq++
			args = append(args, id, seq, e.Timestamp, e.Ingested, []byte(e.Message))
		}
		if _, err := t.tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// AppendLines appends the lines of source not in the stream yet: the stream's row is locked
// first, so writers of one stream (and source) take turns, then the source's count is read, the
// lines below it skipped and the count moved, all in this transaction.
func (t logsTx) AppendLines(ctx context.Context, account, group, stream, source string, first int64, evs []logs.StoredEvent) (int, error) {
	if len(evs) == 0 {
		return 0, nil
	}
	t.wrote("log_sources")
	var id int64
	err := t.tx.QueryRowContext(ctx, `UPDATE log_streams SET next_seq = next_seq
		WHERE account = $1 AND group_name = $2 AND name = $3 RETURNING id`, account, group, stream).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errs.E(errs.NotFound, "log stream %s does not exist", stream)
	}
	if err != nil {
		return 0, err
	}
	var held int64
	err = t.tx.QueryRowContext(ctx, `SELECT lines FROM log_sources WHERE stream_id = $1 AND source = $2`, id, source).Scan(&held)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	skip := min(max(held-first, 0), int64(len(evs)))
	rest := evs[skip:]
	if len(rest) == 0 {
		return 0, nil
	}
	if err := t.AppendEvents(ctx, account, group, stream, rest); err != nil {
		return 0, err
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO log_sources (stream_id, source, lines) VALUES ($1, $2, $3)
		ON CONFLICT (stream_id, source) DO UPDATE SET lines = excluded.lines`, id, source, first+int64(len(evs))); err != nil {
		return 0, err
	}
	return len(rest), nil
}

// GetGroup returns a group.
func (l *LogsStore) GetGroup(ctx context.Context, account, name string) (logs.Group, error) {
	g := logs.Group{Account: account, Name: name}
	var created int64
	err := l.base().queryRow(ctx, `SELECT created_at FROM log_groups WHERE account = $1 AND name = $2`, account, name).Scan(&created)
	if err != nil {
		return g, notFound(err, "log group "+name)
	}
	g.CreatedAt = fromMicros(created)
	return g, nil
}

// prefixOf is the SQL condition "column starts with $n" (LIKE would treat '_' as a wildcard,
// and is case-insensitive on SQLite).
func prefixOf(column, param string) string {
	return `(` + param + ` = '' OR substr(` + column + `, 1, length(` + param + `)) = ` + param + `)`
}

// ListGroups lists an account's groups by name.
func (l *LogsStore) ListGroups(ctx context.Context, account string, q logs.GroupQuery) ([]logs.Group, error) {
	contains := `strpos(name, $3) > 0`
	if l.dialect == SQLite {
		contains = `instr(name, $3) > 0`
	}
	query := `SELECT name, created_at FROM log_groups WHERE account = $1 AND ` + prefixOf("name", "$2") +
		` AND ($3 = '' OR ` + contains + `) AND name > $4 ORDER BY name LIMIT ` + strconv.Itoa(max(q.Limit, 1))
	rows, err := l.db.QueryContext(ctx, query, account, q.Prefix, q.Contains, q.After)
	if err != nil {
		return nil, internal("store.ListGroups", err)
	}
	defer rows.Close()
	var out []logs.Group
	for rows.Next() {
		g := logs.Group{Account: account}
		var created int64
		if err := rows.Scan(&g.Name, &created); err != nil {
			return nil, internal("store.ListGroups", err)
		}
		g.CreatedAt = fromMicros(created)
		out = append(out, g)
	}
	return out, internal("store.ListGroups", rows.Err())
}

const streamCols = `id, account, group_name, name, created_at, first_event, last_event, last_ingestion, stored_bytes`

func scanStream(sc interface{ Scan(...any) error }) (logs.Stream, error) {
	var s logs.Stream
	var created int64
	err := sc.Scan(&s.ID, &s.Account, &s.Group, &s.Name, &created, &s.FirstEvent, &s.LastEvent, &s.LastIngestion, &s.StoredBytes)
	s.CreatedAt = fromMicros(created)
	return s, err
}

// GetStream returns a stream.
func (l *LogsStore) GetStream(ctx context.Context, account, group, name string) (logs.Stream, error) {
	s, err := scanStream(l.base().queryRow(ctx, `SELECT `+streamCols+` FROM log_streams WHERE account = $1 AND group_name = $2 AND name = $3`, account, group, name))
	if err != nil {
		return s, notFound(err, "log stream "+name)
	}
	return s, nil
}

// ListStreams lists a group's streams by name or by last event time.
func (l *LogsStore) ListStreams(ctx context.Context, account, group string, q logs.StreamQuery) ([]logs.Stream, error) {
	cmp, dir := ">", " ASC"
	if q.Descending {
		cmp, dir = "<", " DESC"
	}
	query := `SELECT ` + streamCols + ` FROM log_streams WHERE account = $1 AND group_name = $2 AND ` + prefixOf("name", "$3")
	args := []any{account, group, q.Prefix}
	switch {
	case q.ByLastEvent:
		if q.HasCursor {
			query += ` AND (last_event, name) ` + cmp + ` ($4, $5)`
			args = append(args, q.AfterLast, q.AfterName)
		}
		query += ` ORDER BY last_event` + dir + `, name` + dir
	default:
		if q.HasCursor {
			query += ` AND name ` + cmp + ` $4`
			args = append(args, q.AfterName)
		}
		query += ` ORDER BY name` + dir
	}
	query += ` LIMIT ` + strconv.Itoa(max(q.Limit, 1))
	rows, err := l.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, internal("store.ListStreams", err)
	}
	defer rows.Close()
	var out []logs.Stream
	for rows.Next() {
		s, err := scanStream(rows)
		if err != nil {
			return nil, internal("store.ListStreams", err)
		}
		out = append(out, s)
	}
	return out, internal("store.ListStreams", rows.Err())
}

// ReadEvents reads a stream's events after (or, backward, before) a position, in that
// direction, within a time range.
func (l *LogsStore) ReadEvents(ctx context.Context, streamID int64, r logs.EventRange) ([]logs.StoredEvent, error) {
	cmp, dir := ">", " ASC"
	if r.Backward {
		cmp, dir = "<", " DESC"
	}
	query := `SELECT seq, ts, ingested, message FROM log_events WHERE stream_id = $1 AND (ts, seq) ` + cmp + ` ($2, $3)
		AND ts >= $4 AND ($5 = 0 OR ts < $5) ORDER BY ts` + dir + `, seq` + dir + ` LIMIT ` + strconv.Itoa(max(r.Limit, 1))
	rows, err := l.db.QueryContext(ctx, query, streamID, r.From.Timestamp, r.From.Seq, r.Start, r.End)
	if err != nil {
		return nil, internal("store.ReadEvents", err)
	}
	defer rows.Close()
	var out []logs.StoredEvent
	for rows.Next() {
		e := logs.StoredEvent{StreamID: streamID}
		var msg []byte
		if err := rows.Scan(&e.Seq, &e.Timestamp, &e.Ingested, &msg); err != nil {
			return nil, internal("store.ReadEvents", err)
		}
		e.Message = string(msg)
		out = append(out, e)
	}
	return out, internal("store.ReadEvents", rows.Err())
}

// ScanEvents reads a group's events across its streams in (timestamp, stream, seq) order.
func (l *LogsStore) ScanEvents(ctx context.Context, account, group string, q logs.ScanQuery) ([]logs.StoredEvent, error) {
	after := logs.ScanKey{Timestamp: -1}
	if q.After != nil {
		after = *q.After
	}
	query := `SELECT s.name, e.stream_id, e.seq, e.ts, e.ingested, e.message FROM log_events e JOIN log_streams s ON s.id = e.stream_id
		WHERE s.account = $1 AND s.group_name = $2 AND ` + prefixOf("s.name", "$3") + ` AND e.ts >= $4 AND ($5 = 0 OR e.ts <= $5)
		AND (e.ts, e.stream_id, e.seq) > ($6, $7, $8)`
	args := []any{account, group, q.Prefix, q.Start, q.End, after.Timestamp, after.StreamID, after.Seq}
	if len(q.Streams) > 0 {
		marks := make([]string, len(q.Streams))
		for i, n := range q.Streams {
			args = append(args, n)
			marks[i] = "$" + strconv.Itoa(len(args))
		}
		query += ` AND s.name IN (` + strings.Join(marks, ",") + `)`
	}
	query += ` ORDER BY e.ts, e.stream_id, e.seq LIMIT ` + strconv.Itoa(max(q.Limit, 1))
	rows, err := l.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, internal("store.ScanEvents", err)
	}
	defer rows.Close()
	var out []logs.StoredEvent
	for rows.Next() {
		var e logs.StoredEvent
		var msg []byte
		if err := rows.Scan(&e.Stream, &e.StreamID, &e.Seq, &e.Timestamp, &e.Ingested, &msg); err != nil {
			return nil, internal("store.ScanEvents", err)
		}
		e.Message = string(msg)
		out = append(out, e)
	}
	return out, internal("store.ScanEvents", rows.Err())
}
