package serving

import (
	"sync"
	"testing"
	"time"
)

// TestHistoryMinutes: invocations land in their minute and variant; minutes without any are
// zero; a minute HistoryMinutes ago is forgotten, not counted again; Forget drops an endpoint.
func TestHistoryMinutes(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 30, 0, time.UTC)
	h := NewHistory(func() time.Time { return now })
	h.Invocation(Invocation{Account: "1", Endpoint: "ep", Variant: "blue", Model: 10 * time.Millisecond})
	h.Invocation(Invocation{Account: "1", Endpoint: "ep", Variant: "blue", Class: "5xx", Model: 30 * time.Millisecond})
	h.Invocation(Invocation{Account: "2", Endpoint: "ep", Variant: "blue"}) // another account's
	now = now.Add(2 * time.Minute)
	h.Invocation(Invocation{Account: "1", Endpoint: "ep", Variant: "green", Class: "4xx", Model: time.Millisecond})
	got := h.Minutes("1", "ep", 3)
	if len(got) != 2 || got[0].Variant != "blue" || got[1].Variant != "green" {
		t.Fatalf("variants = %+v", got)
	}
	blue := got[0].Minutes
	if len(blue) != 3 || blue[0].Invocations != 2 || blue[0].Errors5xx != 1 || blue[0].ModelAverage() != 20*time.Millisecond ||
		blue[0].ModelMax != 30*time.Millisecond || blue[1].Invocations != 0 || blue[2].Invocations != 0 {
		t.Errorf("blue = %+v", blue)
	}
	if !blue[2].Start.Equal(time.Date(2026, 12, 3, 10, 2, 0, 0, time.UTC)) || !blue[0].Start.Equal(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("minutes start %v … %v", blue[0].Start, blue[2].Start)
	}
	if g := got[1].Minutes[2]; g.Invocations != 1 || g.Errors4xx != 1 {
		t.Errorf("green's last minute = %+v", g)
	}
	// The ring's slot of 10:00 is 10:00+HistoryMinutes's: a minute that old reads as zero.
	now = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC).Add(HistoryMinutes * time.Minute)
	for _, v := range h.Minutes("1", "ep", HistoryMinutes) {
		for _, m := range v.Minutes {
			if m.Invocations != 0 && m.Start.Before(now.Add(-HistoryMinutes*time.Minute+time.Minute)) {
				t.Errorf("%s: a minute older than the window counts: %+v", v.Variant, m)
			}
		}
		if v.Minutes[len(v.Minutes)-1].Invocations != 0 {
			t.Errorf("%s: the current minute holds the old slot's invocations: %+v", v.Variant, v.Minutes[len(v.Minutes)-1])
		}
	}
	h.Forget("1", "ep")
	if got := h.Minutes("1", "ep", 5); len(got) != 0 {
		t.Errorf("after Forget: %+v", got)
	}
	if got := h.Minutes("2", "ep", 5); len(got) != 1 {
		t.Errorf("Forget dropped another account's endpoint: %+v", got)
	}
}

// TestHistoryConcurrent: invocations counted from many goroutines while pages read (run with
// -race) are all counted.
func TestHistoryConcurrent(t *testing.T) {
	h := NewHistory(nil)
	const workers, each = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				h.Invocation(Invocation{Account: "1", Endpoint: "ep", Variant: []string{"a", "b"}[w%2], Model: time.Duration(i)})
				if i%100 == 0 {
					_ = h.Minutes("1", "ep", 5)
				}
			}
		}()
	}
	wg.Wait()
	total := int64(0)
	for _, v := range h.Minutes("1", "ep", 2) {
		for _, m := range v.Minutes {
			total += m.Invocations
		}
	}
	if total != workers*each {
		t.Errorf("%d invocations counted, want %d", total, workers*each)
	}
}

// BenchmarkHistoryInvocation is the cost History adds to each invocation (it runs on the
// invocation's goroutine), with goroutines counting in parallel.
func BenchmarkHistoryInvocation(b *testing.B) {
	h := NewHistory(nil)
	b.RunParallel(func(pb *testing.PB) {
		i := Invocation{Account: "111122223333", Endpoint: "ep", Variant: "AllTraffic", Model: time.Millisecond}
		for pb.Next() {
			h.Invocation(i)
		}
	})
}
