package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// WorkStore keeps the reconcile runtime's work items (table reconcile_work) on the store's
// database. Leases are rows: claiming one increments its fencing token, and CheckFence lets a
// write made for a lease verify, inside the write's own transaction, that the lease still holds.
type WorkStore struct{ s *Store }

var (
	_ reconcile.Store    = (*WorkStore)(nil)
	_ reconcile.Enqueuer = (*Tx)(nil)
)

// Work returns the store of reconcile work items.
func (s *Store) Work() *WorkStore { return &WorkStore{s} }

const enqueueWork = `INSERT INTO reconcile_work (kind, key, due_at) VALUES ($1, $2, $3)
ON CONFLICT (kind, key) DO UPDATE SET generation = reconcile_work.generation + 1,
  due_at = CASE WHEN reconcile_work.due_at > excluded.due_at THEN excluded.due_at ELSE reconcile_work.due_at END`

// Enqueue makes the items due at at (or keeps them due sooner), creating missing ones, and
// wakes this process's runtime of kind.
func (w *WorkStore) Enqueue(ctx context.Context, kind string, keys []string, at time.Time) error {
	if err := w.enqueue(ctx, kind, keys, at); err != nil {
		return err
	}
	w.s.wakers.wake(kind)
	return nil
}

func (w *WorkStore) enqueue(ctx context.Context, kind string, keys []string, at time.Time) error {
	if len(keys) == 1 {
		st, err := w.s.stmt(ctx, enqueueWork)
		if err == nil {
			err = w.s.autocommit(ctx, func() error {
				_, err := st.ExecContext(ctx, kind, keys[0], micros(at))
				return err
			})
		}
		return internal("store.Work.Enqueue", err)
	}
	err := w.s.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, enqueueWork)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, k := range keys {
			if _, err := st.ExecContext(ctx, kind, k, micros(at)); err != nil {
				return err
			}
		}
		return nil
	})
	return internal("store.Work.Enqueue", err)
}

// Enqueue makes the work item (kind, key) due at at inside the transaction: it commits with
// the transaction's other writes or not at all, and once the transaction commits this
// process's runtime of kind is woken (WorkStore.OnEnqueue). A domain's view of a transaction
// embeds *Tx, so it has Enqueue too.
func (t *Tx) Enqueue(ctx context.Context, kind, key string, at time.Time) error {
	if _, err := t.tx.ExecContext(ctx, enqueueWork, kind, key, micros(at)); err != nil {
		return internal("store.Tx.Enqueue", err) // a lost race stays retryable through the wrapping
	}
	if t.enqueued == nil {
		t.enqueued = map[string]bool{}
	}
	t.enqueued[kind] = true
	return nil
}

// OnEnqueue calls wake after every commit in this process that enqueued items of kind, until
// stop is called.
func (w *WorkStore) OnEnqueue(kind string, wake func()) (stop func()) {
	return w.s.wakers.add(kind, wake)
}

// wakers are the functions to call after a commit that enqueued work, by kind.
type wakers struct {
	mu    sync.Mutex
	next  int
	hooks map[string]map[int]func()
}

func (ws *wakers) add(kind string, wake func()) (stop func()) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.hooks == nil {
		ws.hooks = map[string]map[int]func(){}
	}
	if ws.hooks[kind] == nil {
		ws.hooks[kind] = map[int]func(){}
	}
	ws.next++
	id := ws.next
	ws.hooks[kind][id] = wake
	return func() {
		ws.mu.Lock()
		defer ws.mu.Unlock()
		delete(ws.hooks[kind], id)
	}
}

// wake calls the wakers of kind.
func (ws *wakers) wake(kind string) {
	ws.mu.Lock()
	fns := make([]func(), 0, len(ws.hooks[kind]))
	for _, f := range ws.hooks[kind] {
		fns = append(fns, f)
	}
	ws.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

// Claim leases up to n due, unleased items of kind to owner until now+ttl, earliest first. On
// PostgreSQL, rows another server is claiming are skipped, not waited for; on SQLite the
// statement holds the database's write lock.
func (w *WorkStore) Claim(ctx context.Context, kind, owner string, now time.Time, ttl time.Duration, n int) ([]reconcile.Lease, error) {
	// SQLite runs one writer at a time, so the statement sees no concurrent claim; naming the
	// rows by rowid keeps it from scanning every due item to match the subquery's keys.
	q := `UPDATE reconcile_work SET lease_owner = $1, lease_until = $2, due_at = $2, token = token + 1
WHERE rowid IN (
  SELECT rowid FROM reconcile_work WHERE kind = $3 AND due_at <= $4 AND lease_until <= $4 ORDER BY due_at LIMIT $5)
RETURNING key, token, generation, attempts`
	if w.s.dialect == Postgres {
		// A CTE runs once; a locking subquery under IN may run again per row and, seeing the
		// rows already updated, pick more than n.
		q = `WITH picked AS (
  SELECT key FROM reconcile_work WHERE kind = $3 AND due_at <= $4 AND lease_until <= $4
  ORDER BY due_at LIMIT $5 FOR UPDATE SKIP LOCKED)
UPDATE reconcile_work w SET lease_owner = $1, lease_until = $2, due_at = $2, token = w.token + 1
FROM picked WHERE w.kind = $3 AND w.key = picked.key
RETURNING w.key, w.token, w.generation, w.attempts`
	}
	st, err := w.s.stmt(ctx, q)
	if err != nil {
		return nil, internal("store.Work.Claim", err)
	}
	until := now.Add(ttl)
	var out []reconcile.Lease
	err = w.s.autocommit(ctx, func() error {
		rows, err := st.QueryContext(ctx, owner, micros(until), kind, micros(now), n)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			l := reconcile.Lease{Kind: kind, Owner: owner, Until: until}
			if err := rows.Scan(&l.Key, &l.Token, &l.Generation, &l.Attempts); err != nil {
				return err
			}
			out = append(out, l)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, internal("store.Work.Claim", err)
	}
	return out, nil
}

// Renew extends a lease still held by its owner with its token.
func (w *WorkStore) Renew(ctx context.Context, l reconcile.Lease, until time.Time) (bool, error) {
	return w.exec1(ctx, "store.Work.Renew",
		`UPDATE reconcile_work SET lease_until = $1 WHERE kind = $2 AND key = $3 AND token = $4 AND lease_owner = $5`,
		micros(until), l.Kind, l.Key, l.Token, l.Owner)
}

// Release ends a lease: the item is due at r.Next, or sooner if a wake-up came during the lease
// (its generation moved); r.Forget deletes it instead, unless such a wake-up came.
func (w *WorkStore) Release(ctx context.Context, l reconcile.Lease, r reconcile.Release) (bool, error) {
	if r.Forget {
		ok, err := w.exec1(ctx, "store.Work.Release",
			`DELETE FROM reconcile_work WHERE kind = $1 AND key = $2 AND token = $3 AND lease_owner = $4 AND generation = $5`,
			l.Kind, l.Key, l.Token, l.Owner, l.Generation)
		if err != nil || ok {
			return ok, err
		}
	}
	return w.exec1(ctx, "store.Work.Release",
		`UPDATE reconcile_work SET lease_owner = '', lease_until = 0, attempts = $1, last_error = $2,
  due_at = CASE WHEN generation = $3 OR due_at > $4 THEN $4 ELSE due_at END
WHERE kind = $5 AND key = $6 AND token = $7 AND lease_owner = $8`,
		r.Attempts, r.LastError, l.Generation, micros(r.Next), l.Kind, l.Key, l.Token, l.Owner)
}

// NextDue reports the earliest due time among the kind's items not leased at now.
func (w *WorkStore) NextDue(ctx context.Context, kind string, now time.Time) (time.Time, bool, error) {
	var due int64
	err := w.s.queryRow(ctx, `SELECT due_at FROM reconcile_work WHERE kind = $1 AND lease_until <= $2 ORDER BY due_at LIMIT 1`,
		kind, micros(now)).Scan(&due)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, internal("store.Work.NextDue", err)
	}
	return time.UnixMicro(due).UTC(), true, nil
}

// Get returns an item's state.
func (w *WorkStore) Get(ctx context.Context, kind, key string) (reconcile.Item, error) {
	it := reconcile.Item{Kind: kind, Key: key}
	var due, until int64
	err := w.s.queryRow(ctx, `SELECT due_at, generation, lease_owner, lease_until, token, attempts, last_error
FROM reconcile_work WHERE kind = $1 AND key = $2`, kind, key).
		Scan(&due, &it.Generation, &it.Owner, &until, &it.Token, &it.Attempts, &it.LastError)
	if errors.Is(err, sql.ErrNoRows) {
		return it, errs.E(errs.NotFound, "no work item %s/%s", kind, key)
	}
	if err != nil {
		return it, internal("store.Work.Get", err)
	}
	it.Due, it.LeaseUntil = time.UnixMicro(due).UTC(), fromMicros(until)
	return it, nil
}

// CheckFence fails with errs.Conflict unless f's lease is the item's latest (no other owner has
// claimed the key since). Call it inside the transaction of a write made for the lease: on
// PostgreSQL it share-locks the item's row until that transaction ends, so no claim can commit
// in between; on SQLite the transaction holds the database's write lock already.
func (w *WorkStore) CheckFence(ctx context.Context, tx *sql.Tx, f reconcile.Fence) error {
	q := `SELECT token FROM reconcile_work WHERE kind = $1 AND key = $2`
	if w.s.dialect == Postgres {
		q += ` FOR SHARE`
	}
	var token int64
	err := tx.QueryRowContext(ctx, q, f.Kind, f.Key).Scan(&token)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.E(errs.Conflict, "the lease on %s/%s is lost: the work item is gone", f.Kind, f.Key)
	}
	if err != nil {
		return internal("store.Work.CheckFence", err)
	}
	if token != f.Token {
		return errs.E(errs.Conflict, "the lease on %s/%s is lost: fencing token %d, now %d", f.Kind, f.Key, f.Token, token)
	}
	return nil
}

// Fenced runs fn in a transaction that first checks f (CheckFence), so fn's writes commit only
// while the lease holds. Like every store transaction it may run fn more than once.
func (w *WorkStore) Fenced(ctx context.Context, f reconcile.Fence, fn func(tx *sql.Tx) error) error {
	return w.s.tx(ctx, func(tx *sql.Tx) error {
		if err := w.CheckFence(ctx, tx, f); err != nil {
			return err
		}
		return fn(tx)
	})
}

// exec1 runs a prepared statement and reports whether it changed exactly one row.
func (w *WorkStore) exec1(ctx context.Context, op, q string, args ...any) (bool, error) {
	st, err := w.s.stmt(ctx, q)
	if err != nil {
		return false, internal(op, err)
	}
	var n int64
	err = w.s.autocommit(ctx, func() error {
		res, err := st.ExecContext(ctx, args...)
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	return n == 1, internal(op, err)
}
