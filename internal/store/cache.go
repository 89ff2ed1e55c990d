package store

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"time"
)

// readCache memoises the reads every API call makes to authenticate and authorize (access keys,
// principals, their policy documents, the organization's structure and SCPs) and the registry's
// point reads (a group with its policy, a package, tags). Those rows are read far more often
// than they change.
//
// Entries live in namespaces (the key's prefix up to its first "/"), each depending on the
// tables its reads join. A write to a table drops the namespaces that read it, and only those,
// as soon as the writing transaction ends; so one server always sees its own changes. Another
// server sharing a PostgreSQL database sees them within ttl — the same eventual consistency
// AWS documents for IAM changes. Writes never go through the cache, and transactions always
// read the database. Entries age by the store's clock.
type readCache struct {
	mu  sync.RWMutex
	ttl time.Duration
	now func() time.Time
	ns  map[string]*cacheSpace
}

// cacheDeps names, for each namespace, the tables its reads depend on.
var cacheDeps = map[string][]string{
	"principal": {"iam_principals"},
	"policies":  {"iam_inline_policies", "iam_attachments", "iam_managed_policies"},
	"key":       {"access_keys", "iam_principals"},
	"org":       {"organizations"},
	"unit":      {"org_units"},
	"account":   {"accounts"},
	"scps":      {"org_policies", "org_policy_targets"},
	"group":     {"model_package_groups"},
	"package":   {"model_packages"},
	"tags":      {"tags"},
}

type cacheSpace struct {
	gen uint64 // bumped by every invalidation, so a read that raced with a write is not kept
	m   map[string]cached
}

type cached struct {
	v  any
	at time.Time
}

func newReadCache(ttl time.Duration, now func() time.Time) *readCache {
	c := &readCache{ttl: ttl, now: now, ns: make(map[string]*cacheSpace, len(cacheDeps))}
	for name := range cacheDeps {
		c.ns[name] = &cacheSpace{m: make(map[string]cached)}
	}
	return c
}

func (c *readCache) space(key string) *cacheSpace {
	name, _, _ := strings.Cut(key, "/")
	sp := c.ns[name]
	if sp == nil {
		panic("store: cache namespace " + name + " is not declared in cacheDeps")
	}
	return sp
}

// get returns a cached value and the generation to pass to put after a miss.
func (c *readCache) get(key string) (any, uint64, bool) {
	sp := c.space(key)
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := sp.m[key]
	if ok && c.now().Sub(e.at) < c.ttl {
		return e.v, sp.gen, true
	}
	return nil, sp.gen, false
}

// put stores v unless its namespace was invalidated since gen was read: a read that raced
// with a write must not bring back what the write replaced.
func (c *readCache) put(key string, gen uint64, v any) {
	sp := c.space(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != sp.gen {
		return
	}
	if len(sp.m) > 10000 {
		clear(sp.m)
	}
	sp.m[key] = cached{v: v, at: c.now()}
}

// invalidate drops every namespace that reads one of tables.
func (c *readCache) invalidate(tables ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, deps := range cacheDeps {
		for _, d := range deps {
			if containsString(tables, d) {
				sp := c.ns[name]
				sp.gen++
				clear(sp.m)
				break
			}
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cachedRead returns the cached result of load under key, loading it on a miss. Errors are not
// cached.
func cachedRead[T any](s *Store, key string, load func() (T, error)) (T, error) {
	v, gen, ok := s.cache.get(key)
	if ok {
		return v.(T), nil
	}
	v2, err := load()
	if err == nil {
		s.cache.put(key, gen, v2)
	}
	return v2, err
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
