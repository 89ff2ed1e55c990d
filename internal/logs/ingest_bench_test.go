package logs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/logs"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

// BenchmarkIngestBatch compares a copier's batch of 100 lines appended as is (Append) with the
// same batch appended exactly once (AppendLines: the stream's row locked first, the source's
// count read and moved in the same transaction), on SQLite.
func BenchmarkIngestBatch(b *testing.B) {
	const batch = 100
	evs := make([]logs.Event, batch)
	for i := range evs {
		evs[i] = logs.Event{Message: fmt.Sprintf("[%d] a line of a build's output, as long as most are", i)}
	}
	for _, mode := range []string{"Append", "AppendLines"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			svc := logs.NewService(storetest.OpenSQLite(b).Logs(), nil, "us-east-1", time.Now)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				var err error
				if mode == "Append" {
					err = svc.Append(ctx, "111111111111", "/aws/codebuild/bench", "s", evs)
				} else {
					err = svc.AppendLines(ctx, "111111111111", "/aws/codebuild/bench", "s", "build", int64(i*batch), evs)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/line")
		})
	}
}
