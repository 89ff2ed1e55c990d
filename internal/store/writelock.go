package store

import (
	"bytes"
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
)

// writeLock serializes this process's writes to a SQLite database.
//
// SQLite has one writer. Without this lock, concurrent write transactions (BEGIN IMMEDIATE)
// and autocommit writes queue in SQLite's busy handler, which polls with sleeps of up to
// 100 ms: an API call and the event-delivery consumer writing at the same moment cost the
// loser tens of milliseconds, and waiters hold pool connections readers then lack. Queueing
// them on a channel instead hands the database over as soon as the writer commits, in arrival
// order, and a waiter gives up when its context ends. The busy handler stays for other
// processes on the same file.
//
// It is safe only because no write opens another write while it holds the lock: a write
// transaction's function must not start a second transaction or autocommit write on this
// store (it would wait for itself). The same goroutine doing so is caught (see acquire); a
// transaction function that hands a write to another goroutine and waits for it is not, and
// must not be written.
//
// PostgreSQL has no such lock: its writers run concurrently.
type writeLock struct {
	sem    chan struct{} // nil: no lock (PostgreSQL)
	holder atomic.Int64  // the goroutine holding the lock, 0 when free
}

// maxWriteWait bounds a wait for the write lock, like the busy timeout it replaces.
const maxWriteWait = 10 * time.Second

func newWriteLock(d Dialect) *writeLock {
	if d != SQLite {
		return &writeLock{}
	}
	return &writeLock{sem: make(chan struct{}, 1)}
}

// acquire waits for the lock or for ctx to end, and returns the function that releases it.
// A goroutine that already holds the lock and asks again made a nested write: that is a bug
// which would otherwise deadlock, so it panics in tests and is an Internal error elsewhere.
func (l *writeLock) acquire(ctx context.Context) (release func(), err error) {
	if l.sem == nil {
		return func() {}, nil
	}
	g := goid()
	if l.holder.Load() == g {
		const msg = "nested write: a SQLite write transaction started another write on the same goroutine (it would wait for itself)"
		if testing.Testing() {
			panic(msg)
		}
		return nil, errs.E(errs.Internal, msg)
	}
	select {
	case l.sem <- struct{}{}:
	default:
		t := time.NewTimer(maxWriteWait)
		defer t.Stop()
		select {
		case l.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
			// As SQLite's busy timeout did: a writer stuck this long (a transaction waiting
			// for a write it handed to another goroutine) must not hang its callers for ever.
			return nil, errs.E(errs.Unavailable, "the database has been busy for %v (goroutine %d holds its write lock)", maxWriteWait, l.holder.Load())
		}
	}
	l.holder.Store(g)
	return func() {
		l.holder.Store(0)
		<-l.sem
	}, nil
}

// autocommit runs one autocommit write statement (fn) under the write lock.
func (s *Store) autocommit(ctx context.Context, fn func() error) error {
	release, err := s.writes.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	return fn()
}

// goid returns the calling goroutine's id, read from the header of its stack trace
// ("goroutine 42 [running]:"). It costs about a microsecond; a SQLite commit costs a hundred.
func goid() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseInt(string(b), 10, 64)
	return id
}
