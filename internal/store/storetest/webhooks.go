package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events/webhooks"
	"github.com/slipway-ml/slipway/internal/store"
)

// testWebhooks: connections and API destinations are unique by name per account, round-trip,
// list by name after a cursor with a prefix, update only what exists, count the destinations
// using a connection, and a failed transaction keeps nothing.
func testWebhooks(t *testing.T, st *store.Store) {
	ctx := context.Background()
	ws := st.Webhooks()
	acct, other := "111111111111", "222222222222"
	upd := func(fn func(tx webhooks.Tx) error) error { return ws.Update(ctx, fn) }
	conn := func(account, name string) webhooks.Connection {
		return webhooks.Connection{Account: account, Name: name, ID: "id-" + name, ARN: "arn:aws:events:us-east-1:" + account + ":connection/" + name + "/id-" + name,
			AuthType: webhooks.APIKey, State: webhooks.Authorized, APIKeyName: "x-api-key", Sealed: "sealed", CreatedAt: t0, ModifiedAt: t0, AuthorizedAt: t0}
	}
	for _, c := range []webhooks.Connection{conn(acct, "b"), conn(acct, "a"), conn(acct, "ab"), conn(other, "a")} {
		if err := upd(func(tx webhooks.Tx) error { return tx.CreateConnection(ctx, c) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := upd(func(tx webhooks.Tx) error { return tx.CreateConnection(ctx, conn(acct, "a")) }); !errs.Is(err, errs.Conflict) {
		t.Fatalf("a second connection a: %v, want Conflict", err)
	}
	if got, err := ws.GetConnection(ctx, acct, "a"); err != nil || !cmp.Equal(got, conn(acct, "a")) {
		t.Fatalf("GetConnection = %+v, %v", got, err)
	}
	names := func(cs []webhooks.Connection) (out []string) {
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	if cs, err := ws.ListConnections(ctx, acct, "a", "", 10); err != nil || !cmp.Equal(names(cs), []string{"a", "ab"}) {
		t.Fatalf("ListConnections(prefix a) = %v, %v", names(cs), err)
	}
	if cs, err := ws.ListConnections(ctx, acct, "", "a", 1); err != nil || !cmp.Equal(names(cs), []string{"ab"}) {
		t.Fatalf("ListConnections(after a, 1) = %v, %v", names(cs), err)
	}
	changed := conn(acct, "a")
	changed.State, changed.Sealed = webhooks.Deauthorized, ""
	if err := upd(func(tx webhooks.Tx) error { return tx.PutConnection(ctx, changed) }); err != nil {
		t.Fatal(err)
	}
	if got, _ := ws.GetConnection(ctx, acct, "a"); !cmp.Equal(got, changed) {
		t.Fatalf("after PutConnection: %+v", got)
	}
	if err := upd(func(tx webhooks.Tx) error { return tx.PutConnection(ctx, conn(acct, "zz")) }); !errs.Is(err, errs.NotFound) {
		t.Fatalf("PutConnection of a missing connection: %v, want NotFound", err)
	}

	dest := webhooks.Destination{Account: acct, Name: "d", ID: "i", ARN: "arn:aws:events:us-east-1:" + acct + ":api-destination/d/i", ConnectionARN: conn(acct, "b").ARN,
		Endpoint: "https://h.example.com/*", Method: "POST", RateLimit: 7, State: webhooks.Active, CreatedAt: t0, ModifiedAt: t0}
	if err := upd(func(tx webhooks.Tx) error { return tx.CreateDestination(ctx, dest) }); err != nil {
		t.Fatal(err)
	}
	if err := upd(func(tx webhooks.Tx) error { return tx.CreateDestination(ctx, dest) }); !errs.Is(err, errs.Conflict) {
		t.Fatalf("a second destination d: %v, want Conflict", err)
	}
	if got, err := ws.GetDestination(ctx, acct, "d"); err != nil || !cmp.Equal(got, dest) {
		t.Fatalf("GetDestination = %+v, %v", got, err)
	}
	if _, err := ws.GetDestination(ctx, other, "d"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("another account's GetDestination: %v, want NotFound", err)
	}
	count := func(connARN string) int {
		var n int
		if err := upd(func(tx webhooks.Tx) (err error) { n, err = tx.DestinationsUsing(ctx, acct, connARN); return err }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count(conn(acct, "b").ARN) != 1 || count(conn(acct, "a").ARN) != 0 {
		t.Fatalf("DestinationsUsing: b %d, a %d; want 1, 0", count(conn(acct, "b").ARN), count(conn(acct, "a").ARN))
	}
	dest.ConnectionARN = conn(acct, "a").ARN
	if err := upd(func(tx webhooks.Tx) error { return tx.PutDestination(ctx, dest) }); err != nil {
		t.Fatal(err)
	}
	if count(conn(acct, "b").ARN) != 0 || count(conn(acct, "a").ARN) != 1 {
		t.Fatal("PutDestination did not move the destination to connection a")
	}
	// A transaction that fails keeps nothing.
	err := upd(func(tx webhooks.Tx) error {
		if err := tx.DeleteDestination(ctx, acct, "d"); err != nil {
			return err
		}
		return errs.E(errs.Invalid, "abort")
	})
	if !errs.Is(err, errs.Invalid) {
		t.Fatalf("aborted transaction: %v", err)
	}
	if ds, err := ws.ListDestinations(ctx, acct, "", "", 10); err != nil || len(ds) != 1 {
		t.Fatalf("after an aborted delete: %d destinations, %v", len(ds), err)
	}
	if err := upd(func(tx webhooks.Tx) error { return tx.DeleteDestination(ctx, acct, "d") }); err != nil {
		t.Fatal(err)
	}
	if err := upd(func(tx webhooks.Tx) error { return tx.DeleteDestination(ctx, acct, "d") }); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a second DeleteDestination: %v, want NotFound", err)
	}
	if err := upd(func(tx webhooks.Tx) error { return tx.DeleteConnection(ctx, acct, "a") }); err != nil {
		t.Fatal(err)
	}
	if _, err := ws.GetConnection(ctx, acct, "a"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("GetConnection after delete: %v", err)
	}
	if got, err := ws.GetConnection(ctx, other, "a"); err != nil || got.Account != other {
		t.Fatalf("the other account's connection a: %+v, %v", got, err)
	}
}
