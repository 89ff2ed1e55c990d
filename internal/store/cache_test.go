package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/registry"
)

// TestReadCache checks that cached reads age by the store's clock, and that a write drops the
// entries of the tables it wrote and only those.
func TestReadCache(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s, err := Open(ctx, t.TempDir()+"/c.db", nil, WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := s.Registry()
	g := registry.Group{Account: "111111111111", Name: "g", ARN: "arn:g", Description: "one", Status: "Completed"}
	if err := r.Update(ctx, func(tx registry.Tx) error { return tx.CreateGroup(ctx, g) }); err != nil {
		t.Fatal(err)
	}
	describe := func() string {
		t.Helper()
		got, err := r.GetGroup(ctx, g.Account, g.Name)
		if err != nil {
			t.Fatal(err)
		}
		return got.Description
	}
	behindTheCache := func(desc string) {
		t.Helper()
		if _, err := s.db.ExecContext(ctx, `UPDATE model_package_groups SET description = $1 WHERE name = 'g'`, desc); err != nil {
			t.Fatal(err)
		}
	}
	if d := describe(); d != "one" {
		t.Fatalf("description %q", d)
	}
	behindTheCache("two")
	if d := describe(); d != "one" {
		t.Fatalf("read within the ttl = %q, want the cached %q", d, "one")
	}
	// A write to another table keeps the group cached.
	if err := r.Update(ctx, func(tx registry.Tx) error { return tx.AddTags(ctx, "arn:g", map[string]string{"k": "v"}) }); err != nil {
		t.Fatal(err)
	}
	if d := describe(); d != "one" {
		t.Fatalf("after a write to tags, the group read = %q, want still cached %q", d, "one")
	}
	// Time passes on the store's clock, not the wall clock.
	advance(3 * time.Second)
	if d := describe(); d != "two" {
		t.Fatalf("after the ttl on the injected clock = %q, want %q", d, "two")
	}
	// A write to the group's table drops the entry at once.
	behindTheCache("three")
	if err := r.Update(ctx, func(tx registry.Tx) error { return tx.SetGroupPolicy(ctx, g.Account, g.Name, "") }); err != nil {
		t.Fatal(err)
	}
	if d := describe(); d != "three" {
		t.Fatalf("after a write to the group's table = %q, want %q", d, "three")
	}
}
