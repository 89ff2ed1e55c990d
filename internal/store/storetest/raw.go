package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"sync"
	"testing"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/store"
)

// raw remembers the database behind each store the helpers opened, so tests can reach it with
// plain SQL (to tamper with the audit trail, or break the store on purpose) without the
// production type offering such doors.
var raw sync.Map // *store.Store → rawDB

type rawDB struct{ driver, dsn string }

func remember(t testing.TB, st *store.Store, driver, dsn string) {
	raw.Store(st, rawDB{driver, dsn})
	t.Cleanup(func() { raw.Delete(st) })
}

// RawDB opens a plain connection to the database behind st (a store made by OpenSQLite or
// OpenPostgres), closed when the test ends.
func RawDB(t testing.TB, st *store.Store) *sql.DB {
	t.Helper()
	v, ok := raw.Load(st)
	if !ok {
		t.Fatal("RawDB: the store was not opened by storetest")
	}
	r := v.(rawDB)
	db, err := sql.Open(r.driver, r.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// RawExec runs one statement on the database behind st.
func RawExec(t testing.TB, st *store.Store, query string, args ...any) {
	t.Helper()
	if _, err := RawDB(t, st).ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// auditBatch is one stored group commit of the audit trail.
type auditBatch struct {
	first, last int64
	prev        string
	texts       []string
	hashes      []string
}

func readAudit(t testing.TB, db *sql.DB) []auditBatch {
	t.Helper()
	rows, err := db.Query(`SELECT first_seq, last_seq, prev_hash, records, hashes FROM audit_log ORDER BY first_seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []auditBatch
	for rows.Next() {
		var b auditBatch
		var recs, hs string
		if err := rows.Scan(&b.first, &b.last, &b.prev, &recs, &hs); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(recs), &b.texts); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(hs), &b.hashes); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func writeBatch(t testing.TB, db *sql.DB, b auditBatch) {
	t.Helper()
	recs, _ := json.Marshal(b.texts)
	hs, _ := json.Marshal(b.hashes)
	if _, err := db.Exec(`UPDATE audit_log SET records = $1, hashes = $2, prev_hash = $3 WHERE first_seq = $4`, string(recs), string(hs), b.prev, b.first); err != nil {
		t.Fatal(err)
	}
}

// TamperAudit rewrites the body of record seq, leaving its hash: Verify must notice.
func TamperAudit(t testing.TB, st *store.Store, seq int64, body string) {
	t.Helper()
	db := RawDB(t, st)
	for _, b := range readAudit(t, db) {
		if b.first <= seq && seq <= b.last {
			b.texts[seq-b.first] = body
			writeBatch(t, db, b)
			return
		}
	}
	t.Fatalf("TamperAudit: no record %d", seq)
}

// RewriteAuditTail replaces the bodies of the records from seq on with body and recomputes
// every hash from there, so the records chain consistently among themselves: only the head
// kept apart from them can tell.
func RewriteAuditTail(t testing.TB, st *store.Store, from int64, body string) {
	t.Helper()
	db := RawDB(t, st)
	prev := ""
	for _, b := range readAudit(t, db) {
		if b.last < from {
			prev = b.hashes[len(b.hashes)-1]
			continue
		}
		if b.first >= from {
			b.prev = prev
		}
		for i := range b.texts {
			seq := b.first + int64(i)
			if seq >= from {
				b.texts[i] = body
				b.hashes[i] = audit.Hash(prev, seq, []byte(body))
			}
			prev = b.hashes[i]
		}
		writeBatch(t, db, b)
	}
}
