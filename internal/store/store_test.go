package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/randid"
	"github.com/slipway-ml/slipway/internal/registry"
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
				if err := st.Audit().AppendAudit(ctx, []time.Time{time.Now()}, [][]byte{body}, audit.Hash); err != nil {
					t.Errorf("store %d: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	n, prob, err := audit.Verify(ctx, stores[0].Audit())
	if err != nil || prob != nil || n != 80 {
		t.Fatalf("Verify = %d, %v, %v; want 80 intact records", n, prob, err)
	}
}

// TestSubscriptionAcrossServers commits events through one store and expects a consumer of
// another store on the same PostgreSQL database (another server) to be woken by LISTEN/NOTIFY.
func TestSubscriptionAcrossServers(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.PostgresDSN(t)
	a, err := store.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := store.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := storetest.StartConsumer(t, a.Events(), "across", nil)
	for i := 1; i <= 3; i++ {
		err := b.Registry().Update(ctx, func(tx registry.Tx) error {
			return tx.AppendEvent(ctx, events.Event{ID: randid.UUID(), Account: "111111111111", Source: "test", DetailType: "x", Time: time.Now()})
		})
		if err != nil {
			t.Fatal(err)
		}
		if ev := c.Next(t); ev.Seq != int64(i) {
			t.Fatalf("event %d delivered as seq %d", i, ev.Seq)
		}
	}
}
