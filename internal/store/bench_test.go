package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/randid"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

// BenchmarkCreatePackage16 creates model packages from 16 concurrent writers, each in its own
// group (so the groups' version counters do not serialize them): what remains shared is the
// event outbox's ordering. Run with
//
//	SLIPWAY_TEST_POSTGRES=… go test -run - -bench CreatePackage16 -benchtime 2000x ./internal/store/
func BenchmarkCreatePackage16(b *testing.B) {
	for _, db := range []struct {
		name string
		open func(testing.TB) *store.Store
	}{{"SQLite", storetest.OpenSQLite}, {"Postgres", storetest.OpenPostgres}} {
		b.Run(db.name, func(b *testing.B) {
			st := db.open(b)
			ctx := context.Background()
			const writers = 16
			r := st.Registry()
			for w := 0; w < writers; w++ {
				g := registry.Group{Account: "111111111111", Name: fmt.Sprintf("g%d", w), ARN: fmt.Sprintf("arn:g%d", w), Status: "Completed"}
				if err := r.Update(ctx, func(tx registry.Tx) error { return tx.CreateGroup(ctx, g) }); err != nil {
					b.Fatal(err)
				}
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					group := fmt.Sprintf("g%d", w)
					for next.Add(1) <= int64(b.N) {
						err := r.Update(ctx, func(tx registry.Tx) error {
							v, err := tx.NextVersion(ctx, "111111111111", group)
							if err != nil {
								return err
							}
							p := registry.Package{Account: "111111111111", GroupName: group, Version: v, ARN: fmt.Sprintf("arn:p/%s/%d", group, v),
								Status: "Completed", ApprovalStatus: registry.Pending, CreatedAt: start, ModifiedAt: start}
							if err := tx.InsertPackage(ctx, p); err != nil {
								return err
							}
							return tx.AppendEvent(ctx, events.Event{ID: randid.UUID(), Account: p.Account, Source: "aws.sagemaker",
								DetailType: "SageMaker Model Package State Change", Time: start, Resources: []string{p.ARN}, Detail: json.RawMessage(`{}`)})
						})
						if err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "packages/s")
		})
	}
}
