package reconcile_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/reconcile/reconciletest"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

func TestSQLite(t *testing.T) { reconciletest.Run(t, openSQLite) }

// TestPostgres shares one database among the subtests (each works its own kind): creating one
// per subtest costs seconds each.
func TestPostgres(t *testing.T) {
	h := openPostgres(t)
	reconciletest.Run(t, func(testing.TB) reconciletest.Harness { return h })
}

func openSQLite(t testing.TB) reconciletest.Harness {
	file := t.TempDir() + "/slipway.db"
	return harness(t, file, "sqlite", "file:"+file+"?_pragma=busy_timeout(10000)",
		`CREATE TABLE reconcile_notes (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, key TEXT NOT NULL, token BIGINT NOT NULL, note TEXT NOT NULL)`)
}

func openPostgres(t testing.TB) reconciletest.Harness {
	dsn := storetest.PostgresDSN(t)
	return harness(t, dsn, "pgx", dsn,
		`CREATE TABLE reconcile_notes (id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL, token BIGINT NOT NULL, note TEXT NOT NULL)`)
}

// harness opens a store on dsn and, beside it, a side table that the suite's fenced writes go to.
func harness(t testing.TB, dsn, driver, driverDSN, ddl string) reconciletest.Harness {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db, err := sql.Open(driver, driverDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		t.Fatal(err)
	}
	w := st.Work()
	return reconciletest.Harness{
		Store: w,
		FencedInsert: func(ctx context.Context, f reconcile.Fence, note string) error {
			return w.Fenced(ctx, f, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO reconcile_notes (kind, key, token, note) VALUES ($1, $2, $3, $4)`, f.Kind, f.Key, f.Token, note)
				return err
			})
		},
		Notes: func(ctx context.Context, kind, key string) ([]string, error) {
			rows, err := db.QueryContext(ctx, `SELECT note FROM reconcile_notes WHERE kind = $1 AND key = $2 ORDER BY id`, kind, key)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var n string
				if err := rows.Scan(&n); err != nil {
					return nil, err
				}
				out = append(out, n)
			}
			return out, rows.Err()
		},
	}
}
