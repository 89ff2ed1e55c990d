// Package store persists Slipway's state in SQL: SQLite (the embedded default, pure Go) or
// PostgreSQL (for teams that outgrow one machine). One implementation serves both through
// database/sql with portable SQL ($N placeholders, ON CONFLICT, RETURNING); the few dialect
// differences live in dialect-specific migrations and in switches next to the statements that
// need them (row locks).
//
// Store is the shared handle (pool, dialect, read cache, transactions). Each domain reaches it
// through its own store — IdentityStore, OrgStore, RegistryStore, AuditStore, EventStore — which
// implements the interface that domain declares, and nothing else.
//
// Invariants:
//   - A change, the events it causes (the outbox) and the audit record of the call that makes it
//     commit in one transaction (Update and Tx), or none of them does.
//   - Event sequence numbers increase strictly in commit order: they are drawn at the end of the
//     transaction under the commit-order lock (SQLite: its single writer), so a reader that has
//     seen n never later sees a smaller one commit.
//   - Model package versions are allocated from a per-group counter in the same transaction that
//     inserts the version, so they are 1, 2, 3 … with no gaps and no duplicates under concurrency.
//   - Transactions that lose a race (SQLite busy, PostgreSQL serialization failure or deadlock, a
//     concurrent client token, a moved audit head) are retried whole; callers' functions must
//     therefore be free of side effects outside the tx.
//   - A write drops, when its transaction ends, the cached reads of the tables it wrote.
//   - On SQLite, this process's writes (transactions and autocommit writes) run one at a time,
//     queued on an in-process lock (writelock.go); a write must never start another write while
//     it runs. PostgreSQL's writers run concurrently.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Dialect names the SQL engine behind a Store.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

//go:embed migrations
var migrations embed.FS

// Store is Slipway's metadata store.
type Store struct {
	db      *sql.DB
	dialect Dialect
	log     *slog.Logger
	now     func() time.Time
	cache   *readCache
	hub     *hub
	stmts   sync.Map   // query → *sql.Stmt
	wakers  wakers     // reconcile runtimes to wake after commits that enqueued their work
	writes  *writeLock // SQLite: this process's writes, one at a time (writelock.go)

	// afterFlush, when set (by this package's tests only), runs between a transaction's event
	// inserts and its commit, to hold a transaction there.
	afterFlush func(*Tx)

	auditMu    sync.Mutex // the audit chain's head as this store last wrote it
	auditSeq   int64
	auditHash  string
	auditKnown bool
}

// Option configures Open.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock makes the store read time (the read cache's ages) from now instead of time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Open opens (creating if needed) the store named by dsn and applies pending migrations.
// A dsn starting with postgres:// or postgresql:// selects PostgreSQL; anything else is a SQLite
// file path (an optional "sqlite://" prefix is removed).
func Open(ctx context.Context, dsn string, log *slog.Logger, opts ...Option) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Store{log: log.With("component", "store"), now: o.now, cache: newReadCache(2*time.Second, o.now)}
	var err error
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s.dialect = Postgres
		s.hub = newHub(dsn, s.log.Warn)
		s.db, err = sql.Open("pgx", dsn)
		if err == nil {
			s.db.SetMaxOpenConns(32)
			s.db.SetMaxIdleConns(32)
		}
	default:
		s.dialect = SQLite
		s.hub = newHub("", s.log.Warn)
		file := strings.TrimPrefix(dsn, "sqlite://")
		// WAL lets readers run beside the writer; BEGIN IMMEDIATE takes the write lock up front so
		// two writers never deadlock upgrading read locks. This process's writers queue on
		// writeLock; the busy timeout makes other processes' writers queue.
		q := "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_txlock=immediate"
		// The database holds sealed secrets and the audit trail: only its owner may read it.
		if f, ferr := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600); ferr == nil {
			f.Close()
			os.Chmod(file, 0o600)
		}
		s.db, err = sql.Open("sqlite", "file:"+file+q)
		if err == nil {
			s.db.SetMaxOpenConns(8)
			s.db.SetMaxIdleConns(8)
			s.db.SetConnMaxLifetime(0)
		}
	}
	if err != nil {
		return nil, errs.E(errs.Internal, "cannot open the store", err)
	}
	s.writes = newWriteLock(s.dialect)
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		if s.dialect == SQLite {
			return nil, errs.E(errs.Unavailable, "cannot open the SQLite database %s", strings.TrimPrefix(dsn, "sqlite://"), err)
		}
		return nil, errs.E(errs.Unavailable, "cannot reach PostgreSQL at %s", redactDSN(dsn), err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// redactDSN returns a PostgreSQL DSN without its password, for error messages.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "the --database DSN"
	}
	return u.Redacted()
}

// Dialect reports which SQL engine the store uses.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close closes the database.
func (s *Store) Close() error {
	s.hub.close()
	s.stmts.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
	return s.db.Close()
}

// migrate applies the embedded migrations not yet recorded in schema_migrations, each in its own
// transaction, in version order. A migration NNNN_name.sql applies to every dialect; one named
// NNNN_name.sqlite.sql or NNNN_name.postgres.sql only to that dialect (write both when the SQL
// must differ). Numbers may have gaps, and a lower number may arrive after a higher one was
// applied (branches reserve numbers ahead): every migration not yet recorded is applied.
func (s *Store) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return errs.E(errs.Internal, "cannot read migrations", err)
	}
	return s.migrateFrom(ctx, sub)
}

func (s *Store) migrateFrom(ctx context.Context, fsys fs.FS) error {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return errs.E(errs.Internal, "cannot read migrations", err)
	}
	type mig struct {
		version int
		name    string
	}
	var migs []mig
	seen := map[int]string{}
	for _, e := range entries {
		v, rest, ok := strings.Cut(e.Name(), "_")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || !strings.HasSuffix(rest, ".sql") {
			return errs.E(errs.Internal, "migration %s is not named NNNN_name.sql", e.Name())
		}
		base := strings.TrimSuffix(rest, ".sql")
		if d := path.Ext(base); d == ".sqlite" || d == ".postgres" {
			if d[1:] != string(s.dialect) {
				continue
			}
		}
		// Only one migration per version is ever applied: a second would be skipped silently.
		if other, dup := seen[n]; dup {
			return errs.E(errs.Internal, "migrations %s and %s share version %d", other, e.Name(), n)
		}
		seen[n] = e.Name()
		migs = append(migs, mig{n, e.Name()})
	}
	sort.Slice(migs, func(i, j int) bool { return migs[i].version < migs[j].version })

	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return errs.E(errs.Internal, "cannot create schema_migrations", err)
	}
	for _, m := range migs {
		body, err := fs.ReadFile(fsys, m.name)
		if err != nil {
			return errs.E(errs.Internal, "cannot read migration", err)
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			if s.dialect == Postgres {
				// Two servers starting at once on one database must not both migrate.
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7306)`); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, time.Now().UnixMicro())
			return err
		})
		if err != nil {
			return errs.E(errs.Internal, "cannot migrate the store", err)
		}
	}
	return nil
}

// SchemaVersion reports the highest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	return int(v.Int64), err
}

// tx runs fn in a transaction, retrying the whole transaction when it lost a race to another
// writer. fn must not have effects outside the transaction.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	backoff := time.Millisecond
	for attempt := 0; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil || !retryable(err) || attempt >= 20 {
			return err
		}
		s.log.Debug("retrying transaction", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		if backoff < 100*time.Millisecond {
			backoff *= 2
		}
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	// On SQLite every transaction is a write transaction (BEGIN IMMEDIATE): wait for this
	// process's other writers in Go rather than in SQLite's busy handler.
	release, err := s.writes.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
		if err != nil {
			tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// retryable reports whether err means the transaction lost a race and can run again.
func retryable(err error) bool {
	if errors.Is(err, errRetry) || errors.Is(err, errAuditHeadMoved) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01" // serialization_failure, deadlock_detected
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// isUniqueViolation reports whether err is a unique-constraint violation.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isClientTokenViolation reports whether a unique violation is the client-token index's (and not,
// say, a version's primary key).
func isClientTokenViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.ConstraintName == "model_packages_client_token"
	}
	return strings.Contains(err.Error(), "client_token")
}

// internal wraps an unexpected database error.
func internal(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	return &errs.Error{Kind: errs.Internal, Op: op, Msg: "the store failed", Err: err}
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
