package store

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// readCache memoises the reads every API call makes to authenticate and authorize (access keys,
// principals, their policy documents, the organization's structure and SCPs) and the registry's
// point reads (a group with its policy, a package). Those rows are read far more often than
// they change.
//
// Every write this store makes to those tables clears the cache at once, so one server always
// sees its own changes. Another server sharing a PostgreSQL database sees them within ttl — the
// same eventual consistency AWS documents for IAM changes. Writes never go through the cache,
// and transactions (version allocation, updates) always read the database.
type readCache struct {
	mu  sync.RWMutex
	ttl time.Duration
	gen uint64
	m   map[string]cached
}

type cached struct {
	v  any
	at time.Time
}

func newReadCache(ttl time.Duration) *readCache {
	return &readCache{ttl: ttl, m: make(map[string]cached)}
}

// get returns a cached value and the generation to pass to put after a miss.
func (c *readCache) get(key string) (any, uint64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[key]
	if ok && time.Since(e.at) < c.ttl {
		return e.v, c.gen, true
	}
	return nil, c.gen, false
}

// put stores v unless the cache was cleared since gen was read: a read that raced with a write
// must not bring back what the write replaced.
func (c *readCache) put(key string, gen uint64, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) > 10000 {
		clear(c.m)
	}
	c.m[key] = cached{v: v, at: time.Now()}
}

// clear forgets everything; every write to a cached table calls it.
func (c *readCache) clear() {
	c.mu.Lock()
	c.gen++
	clear(c.m)
	c.mu.Unlock()
}

// cachedRead returns the cached result of load under key, loading it on a miss. Errors are not
// cached.
func cachedRead[T any](s *Store, key string, load func() (T, error)) (T, error) {
	if v, _, ok := s.cache.get(key); ok {
		return v.(T), nil
	}
	_, gen, _ := s.cache.get("")
	v, err := load()
	if err == nil {
		s.cache.put(key, gen, v)
	}
	return v, err
}

// stmt returns a prepared statement for query, prepared once per store (database/sql then
// prepares it once per connection), so hot queries are not parsed on every call.
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// queryRow runs a single-row query through a prepared statement.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *row {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return &row{err: err}
	}
	return &row{r: st.QueryRowContext(ctx, args...)}
}

// row is a *sql.Row that may carry a preparation error.
type row struct {
	r   *sql.Row
	err error
}

func (r *row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.r.Scan(dest...)
}
