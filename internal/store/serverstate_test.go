package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

// TestClaimStateFirstWins claims one name from many goroutines (on PostgreSQL, through two
// stores, as two servers would): exactly one value is recorded and every claimer gets it back.
func TestClaimStateFirstWins(t *testing.T) {
	for _, db := range []struct {
		name string
		open func(t testing.TB) []*store.Store
	}{
		{"SQLite", func(t testing.TB) []*store.Store { return []*store.Store{storetest.OpenSQLite(t)} }},
		{"PostgreSQL", func(t testing.TB) []*store.Store {
			dsn := storetest.PostgresDSN(t)
			var out []*store.Store
			for range 2 {
				st, err := store.Open(context.Background(), dsn, nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				out = append(out, st)
			}
			return out
		}},
	} {
		t.Run(db.name, func(t *testing.T) {
			ctx := context.Background()
			stores := db.open(t)
			if v, err := stores[0].State(ctx, "key"); err != nil || v != "" {
				t.Fatalf("State before any claim = %q, %v; want \"\"", v, err)
			}
			const claimers = 16
			got := make([]string, claimers)
			var wg sync.WaitGroup
			for i := range claimers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					v, err := stores[i%len(stores)].ClaimState(ctx, "key", fmt.Sprint("value-", i))
					if err != nil {
						t.Error(err)
					}
					got[i] = v
				}()
			}
			wg.Wait()
			for i, v := range got {
				if v != got[0] || v == "" {
					t.Fatalf("claimer %d got %q, claimer 0 got %q: the claims disagree", i, v, got[0])
				}
			}
			if err := stores[0].SetState(ctx, "key", "replaced"); err != nil {
				t.Fatal(err)
			}
			if v, err := stores[len(stores)-1].State(ctx, "key"); err != nil || v != "replaced" {
				t.Errorf("State after SetState = %q, %v; want replaced", v, err)
			}
		})
	}
}
