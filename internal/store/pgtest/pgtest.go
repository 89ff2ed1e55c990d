// Package pgtest gives tests a fresh PostgreSQL database on the throwaway server `make test`
// starts. It depends on nothing of Slipway's, so the store's own tests and the storetest
// conformance suite can both use it.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create and drop the database
)

// Env names the variable holding an admin DSN of a throwaway PostgreSQL (make test sets it).
const Env = "SLIPWAY_TEST_POSTGRES"

// Database returns a DSN of a fresh, empty database on the throwaway server, dropped when the
// test ends. Without the server it fails the test: PostgreSQL tests always run.
func Database(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(Env)
	if admin == "" {
		t.Fatalf("%s is not set: run the tests with `make test`, which starts a throwaway PostgreSQL, "+
			"or set it to the DSN of a PostgreSQL server you can create databases on", Env)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "slipway_test_" + hex.EncodeToString(b[:])
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		db.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		db.Close()
	})
	i := strings.LastIndex(admin, "/")
	q := strings.Index(admin[i:], "?")
	if q < 0 {
		return admin[:i+1] + name
	}
	return admin[:i+1] + name + admin[i+q:]
}
