package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/alarms"
)

// TestServerPrunesOldMetricData: the server's retention runtime deletes stored datapoints older
// than alarms.DataRetention and keeps newer ones.
func TestServerPrunesOldMetricData(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	m := alarms.Metric{Namespace: "Retention", Name: "Errors"}
	now := time.Now()
	one := alarms.Stats{Count: 1, Sum: 1, Min: 1, Max: 1}
	mustOK(t, s.app.Store.Alarms().Update(ctx, func(tx alarms.Tx) error {
		return tx.PutData(ctx, []alarms.Datum{
			{Account: "111111111111", Metric: m, Time: now.Add(-alarms.DataRetention - time.Hour), Stats: one},
			{Account: "111111111111", Metric: m, Time: now.Add(-time.Hour), Stats: one},
		})
	}))
	var due bool
	for _, rt := range s.app.Runtimes.Runtimes() {
		if rt.Kind() == "alarms-retention" {
			mustOK(t, rt.Enqueue(ctx, "sweep"))
			due = true
		}
	}
	if !due {
		t.Fatal("the server has no metric retention runtime")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds, err := s.app.Store.Alarms().Datapoints(ctx, "111111111111", m, now.Add(-30*24*time.Hour), now)
		mustOK(t, err)
		if len(ds) == 1 {
			if !ds[0].Time.After(now.Add(-2 * time.Hour)) {
				t.Fatalf("the sweep kept the old datum and took the new one: %+v", ds[0])
			}
			break
		}
		if len(ds) != 2 || time.Now().After(deadline) {
			t.Fatalf("%d datapoints after %v, want the new one alone", len(ds), 10*time.Second)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
