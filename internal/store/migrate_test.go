package store

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// TestMigrationsWithGaps applies migrations numbered with gaps, then a set where a lower number
// arrived after a higher one was applied, and expects every migration applied exactly once.
func TestMigrationsWithGaps(t *testing.T) {
	for name, dsn := range map[string]string{"SQLite": t.TempDir() + "/m.db", "Postgres": postgresDSN(t)} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(ctx, dsn, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			table := func(n string) *fstest.MapFile {
				return &fstest.MapFile{Data: []byte("CREATE TABLE gap_" + n + " (x INTEGER)")}
			}
			first := fstest.MapFS{"0101_a.sql": table("a"), "0103_c.sql": table("c"), "0106_f.sql": table("f")}
			if err := s.migrateFrom(ctx, first); err != nil {
				t.Fatal(err)
			}
			later := fstest.MapFS{"0101_a.sql": table("a"), "0103_c.sql": table("c"), "0106_f.sql": table("f"),
				"0105_e.sqlite.sql": table("e"), "0105_e.postgres.sql": table("e"), "0107_g.sql": table("g")}
			if err := s.migrateFrom(ctx, later); err != nil {
				t.Fatal(err)
			}
			rows, err := s.db.QueryContext(ctx, `SELECT version FROM schema_migrations WHERE version > 100 ORDER BY version`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var got []int
			for rows.Next() {
				var v int
				rows.Scan(&v)
				got = append(got, v)
			}
			if want := []int{101, 103, 105, 106, 107}; !cmp.Equal(got, want) {
				t.Errorf("applied %v, want %v", got, want)
			}
			dup := fstest.MapFS{"0108_x.sql": table("x"), "0108_y.sql": table("y")}
			if err := s.migrateFrom(ctx, dup); err == nil {
				t.Error("two migrations sharing a version were accepted (one would be skipped silently)")
			}
		})
	}
}
