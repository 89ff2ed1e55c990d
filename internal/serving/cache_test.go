package serving

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeStore holds endpoints in a map; reads can be held to race them against changes.
type fakeStore struct {
	Store
	mu    sync.Mutex
	eps   map[string]Endpoint
	reads int
	hold  chan struct{} // when set, a read takes its copy, then waits for it to close
}

func (f *fakeStore) GetEndpoint(_ context.Context, account, name string) (Endpoint, error) {
	f.mu.Lock()
	e := f.eps[endpointKey(account, name)]
	f.reads++
	hold := f.hold
	f.mu.Unlock()
	if hold != nil {
		<-hold
	}
	return e, nil
}

func (f *fakeStore) Update(ctx context.Context, fn func(tx Tx) error) error { return fn(fakeTx{f: f}) }

type fakeTx struct {
	Tx
	f *fakeStore
}

func (t fakeTx) UpdateEndpoint(_ context.Context, e Endpoint) error {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	t.f.eps[endpointKey(e.Account, e.Name)] = e
	return nil
}

// TestEndpointCache: invocations read an endpoint from the store once; a change made here
// drops it at once; a record read before a change is never cached after it; and a change made
// elsewhere (straight in the store) is seen within the TTL.
func TestEndpointCache(t *testing.T) {
	ctx := context.Background()
	f := &fakeStore{eps: map[string]Endpoint{"111/ep": {Account: "111", Name: "ep", Status: InService}}}
	s := newCachingStore(f)
	clock := time.Now()
	s.cache.now = func() time.Time { return clock }
	read := func() Endpoint {
		t.Helper()
		e, err := s.servingEndpoint(ctx, "111", "EP")
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	read()
	read()
	if f.reads != 1 {
		t.Fatalf("two invocations read the store %d times, want 1", f.reads)
	}
	if err := s.Update(ctx, func(tx Tx) error {
		return tx.UpdateEndpoint(ctx, Endpoint{Account: "111", Name: "ep", Status: Updating})
	}); err != nil {
		t.Fatal(err)
	}
	if e := read(); e.Status != Updating || f.reads != 2 {
		t.Fatalf("after a change here: %s after %d reads, want Updating read again", e.Status, f.reads)
	}

	// A read that took its copy before a change must not cache it after the change.
	f.hold = make(chan struct{})
	clock = clock.Add(2 * endpointCacheTTL)
	done := make(chan Endpoint)
	go func() { e, _ := s.servingEndpoint(ctx, "111", "ep"); done <- e }()
	for {
		f.mu.Lock()
		n := f.reads
		f.mu.Unlock()
		if n == 3 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.Update(ctx, func(tx Tx) error {
		return tx.UpdateEndpoint(ctx, Endpoint{Account: "111", Name: "ep", Status: InService})
	}); err != nil {
		t.Fatal(err)
	}
	close(f.hold)
	if e := <-done; e.Status != Updating {
		t.Fatalf("the racing read returned %s, want the Updating it read", e.Status)
	}
	f.hold = nil
	if e := read(); e.Status != InService {
		t.Fatalf("after the racing read: %s, want InService (the stale copy must not be cached)", e.Status)
	}

	// A change made by another server: seen once the entry is older than the TTL.
	f.eps["111/ep"] = Endpoint{Account: "111", Name: "ep", Status: Deleting}
	if e := read(); e.Status != InService {
		t.Fatalf("within the TTL: %s, want the cached InService", e.Status)
	}
	clock = clock.Add(endpointCacheTTL)
	if e := read(); e.Status != Deleting {
		t.Fatalf("after the TTL: %s, want Deleting", e.Status)
	}
}
