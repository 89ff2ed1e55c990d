package alarms_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/alarms"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

type alarmsAllowAll struct{}

func (alarmsAllowAll) Authorize(context.Context, identity.Caller, identity.Action) (string, error) {
	return "", nil
}

// TestPruneData: PruneData deletes every account's datapoints older than DataRetention on the
// service's clock, in batches, and keeps the rest; as the clock moves on, the next pass takes
// what has aged out since.
func TestPruneData(t *testing.T) {
	ctx := context.Background()
	st := storetest.OpenSQLite(t)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	svc := alarms.NewService(st.Alarms(), alarmsAllowAll{}, nil, "us-east-1", func() time.Time { return now })
	call := func(account string) identity.Call {
		return identity.Call{Caller: identity.Caller{Kind: identity.KindUser, Account: account, ARN: "arn:aws:iam::" + account + ":user/u"}}
	}
	m := alarms.Metric{Name: "Errors", Dimensions: []alarms.Dimension{{Name: "Model", Value: "v2"}}}
	put := func(account string, ages ...time.Duration) {
		var data []alarms.Datum
		for _, age := range ages {
			v := age.Hours()
			data = append(data, alarms.Datum{Metric: m, Time: now.Add(-age), Stats: alarms.Stats{Count: 1, Sum: v, Min: v, Max: v}})
		}
		if err := svc.PutData(ctx, call(account), "App", data); err != nil {
			t.Fatal(err)
		}
	}
	day := 24 * time.Hour
	put("111111111111", 13*day, 12*day+time.Hour, 12*day, 11*day, time.Hour)
	put("222222222222", 13*day+time.Hour, 13*day, 12*day+2*time.Hour, 2*time.Hour)
	ns := alarms.Metric{Namespace: "App", Name: m.Name, Dimensions: m.Dimensions}
	left := func(account string) (hours []float64) {
		ds, err := st.Alarms().Datapoints(ctx, account, ns, time.Time{}, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			hours = append(hours, d.Stats.Sum)
		}
		return hours
	}

	if n, err := svc.PruneData(ctx, 2); err != nil || n != 0 {
		t.Fatalf("PruneData with nothing older than %v = %d, %v; want 0", alarms.DataRetention, n, err)
	}
	// Three days on, the cut is 12 days before the first clock: 5 datapoints are older than
	// it (the one exactly at it stays), taken 2, 2 and 1 at a time.
	now = now.Add(3 * day)
	if n, err := svc.PruneData(ctx, 2); err != nil || n != 5 {
		t.Fatalf("PruneData three days on = %d, %v; want 5", n, err)
	}
	if got := left("111111111111"); !cmp.Equal(got, []float64{12 * 24, 11 * 24, 1}) {
		t.Fatalf("account 1 keeps datapoints %v hours old, want 288, 264, 1", got)
	}
	if got := left("222222222222"); !cmp.Equal(got, []float64{2}) {
		t.Fatalf("account 2 keeps datapoints %v hours old, want 2", got)
	}
	if n, err := svc.PruneData(ctx, 0); err != nil || n != 0 {
		t.Fatalf("a second pass = %d, %v; want 0", n, err)
	}
	// Fifteen days after the newest, every datapoint is gone (the default batch).
	now = now.Add(15 * day)
	if n, err := svc.PruneData(ctx, 0); err != nil || n != 4 {
		t.Fatalf("PruneData fifteen days later = %d, %v; want 4", n, err)
	}
	if got := append(left("111111111111"), left("222222222222")...); len(got) != 0 {
		t.Fatalf("datapoints left after %v: %v", alarms.DataRetention, got)
	}
}
