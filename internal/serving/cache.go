package serving

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The data plane reads an endpoint's record on every invocation. endpointCache keeps those
// records so that an invocation does not query the store: every change this process commits
// to an endpoint (the service's and the engine's writes both go through cachingStore.Update)
// drops its entry once the transaction ends, and an entry older than endpointCacheTTL is read
// again, so a change committed by another server on the same database is seen within it.
// Control-plane reads (DescribeEndpoint, ListEndpoints) never use the cache.
const endpointCacheTTL = time.Second

type cachedEndpoint struct {
	e    Endpoint
	read time.Time
}

type endpointCache struct {
	mu sync.RWMutex
	m  map[string]cachedEndpoint
	// gen counts invalidations: a record read before one is not cached after it, so a reader
	// racing a change cannot put the older record back.
	gen atomic.Uint64
	now func() time.Time // the monotonic clock; tests move it
}

func endpointKey(account, name string) string { return account + "/" + strings.ToLower(name) }

// cachingStore is the serving Store with the data plane's endpoint cache.
type cachingStore struct {
	Store
	cache *endpointCache
}

func newCachingStore(st Store) *cachingStore {
	if c, ok := st.(*cachingStore); ok {
		return c
	}
	return &cachingStore{Store: st, cache: &endpointCache{m: map[string]cachedEndpoint{}, now: time.Now}}
}

// servingEndpoint returns an endpoint's record for an invocation: from the cache when it was
// read less than endpointCacheTTL ago and has not changed here since.
func (s *cachingStore) servingEndpoint(ctx context.Context, account, name string) (Endpoint, error) {
	key := endpointKey(account, name)
	now := s.cache.now()
	s.cache.mu.RLock()
	c, ok := s.cache.m[key]
	s.cache.mu.RUnlock()
	if ok && now.Sub(c.read) < endpointCacheTTL {
		return c.e, nil
	}
	gen := s.cache.gen.Load()
	e, err := s.Store.GetEndpoint(ctx, account, name)
	if err != nil {
		return e, err
	}
	s.cache.mu.Lock()
	if s.cache.gen.Load() == gen {
		s.cache.m[key] = cachedEndpoint{e: e, read: now}
	}
	s.cache.mu.Unlock()
	return e, nil
}

// Update runs fn and then drops the cached records of the endpoints it wrote (committed or
// not: dropping is always safe).
func (s *cachingStore) Update(ctx context.Context, fn func(tx Tx) error) error {
	var touched []string
	err := s.Store.Update(ctx, func(tx Tx) error {
		touched = touched[:0] // a retried transaction starts over
		return fn(&noteTx{Tx: tx, touched: &touched})
	})
	if len(touched) > 0 {
		s.cache.mu.Lock()
		s.cache.gen.Add(1)
		for _, k := range touched {
			delete(s.cache.m, k)
		}
		s.cache.mu.Unlock()
	}
	return err
}

// noteTx notes the endpoints a transaction writes.
type noteTx struct {
	Tx
	touched *[]string
}

func (t *noteTx) InsertEndpoint(ctx context.Context, e Endpoint) error {
	*t.touched = append(*t.touched, endpointKey(e.Account, e.Name))
	return t.Tx.InsertEndpoint(ctx, e)
}

func (t *noteTx) UpdateEndpoint(ctx context.Context, e Endpoint) error {
	*t.touched = append(*t.touched, endpointKey(e.Account, e.Name))
	return t.Tx.UpdateEndpoint(ctx, e)
}

func (t *noteTx) DeleteEndpoint(ctx context.Context, account, name string) error {
	*t.touched = append(*t.touched, endpointKey(account, name))
	return t.Tx.DeleteEndpoint(ctx, account, name)
}
