package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

func TestSQLite(t *testing.T) { storetest.Run(t, storetest.OpenSQLite) }

func TestPostgres(t *testing.T) { storetest.Run(t, storetest.OpenPostgres) }

// TestAuditTwoServersOnePostgres appends to one audit chain from two stores sharing a
// PostgreSQL database, as two servers would: the chain must stay whole and in order.
func TestAuditTwoServersOnePostgres(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.PostgresDSN(t)
	var stores []*store.Store
	for i := 0; i < 2; i++ {
		st, err := store.Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores = append(stores, st)
	}
	var wg sync.WaitGroup
	for i, st := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 40; j++ {
				body := []byte(fmt.Sprintf(`{"requestId":"%d-%d"}`, i, j))
				if err := st.AppendAudit(ctx, []time.Time{time.Now()}, [][]byte{body}, audit.Hash); err != nil {
					t.Errorf("store %d: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	n, prob, err := audit.Verify(ctx, stores[0])
	if err != nil || prob != nil || n != 80 {
		t.Fatalf("Verify = %d, %v, %v; want 80 intact records", n, prob, err)
	}
}
