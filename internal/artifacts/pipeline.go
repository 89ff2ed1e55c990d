package artifacts

import (
	"io"
	"sync"
	"sync/atomic"
)

// The write pipeline: one goroutine reads the body into pooled 256 KiB buffers (the transport's
// own work, e.g. SigV4's payload SHA-256, happens in its reads), a goroutine per hash (MD5 for
// the ETag, each checksum the client asked for) digests every buffer, and the blob store writes
// the same buffers, all at once. A buffer goes back to the pool when its last user is done;
// nothing is copied between the body and the file but the read itself.

// chunkSize is the size of the pipeline's buffers: large reads and writes, few system calls.
// Streamed bodies are not charged to the server's body memory budget, so a write holds at most
// (chunkDepth+2) × chunkSize = 768 KiB, whatever the body's size.
const chunkSize = 256 << 10

// chunkDepth is how many buffers may wait for each consumer.
const chunkDepth = 1

var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// chunk is one filled buffer shared, read-only, by the hashers and the writer.
type chunk struct {
	buf  *[]byte
	b    []byte
	refs atomic.Int32
}

func (c *chunk) release() {
	if c.refs.Add(-1) == 0 {
		chunkPool.Put(c.buf)
	}
}

// chunkSource is what the blob store reads: Read copies out of the buffers (for stores that
// only read), WriteTo hands each buffer to the writer as it is (one large write each).
type chunkSource struct {
	out  chan *chunk
	stop chan struct{} // closed by close: the producer and hashers give up
	wg   sync.WaitGroup
	d    *digester
	cur  *chunk // Read: the chunk being copied out
	off  int
	once sync.Once
}

// parallel starts digesting d's body into a chunkSource. The caller must call close on it
// before reading d's counts, hashes or error.
func (d *digester) parallel() *chunkSource {
	s := &chunkSource{d: d, out: make(chan *chunk, chunkDepth), stop: make(chan struct{})}
	hashers := make([]chan *chunk, 0, 1+len(d.sums))
	start := func(w io.Writer) {
		in := make(chan *chunk, chunkDepth)
		hashers = append(hashers, in)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for c := range in {
				w.Write(c.b) // hash.Hash.Write never fails
				c.release()
			}
		}()
	}
	start(d.md5)
	for _, h := range d.sums {
		start(h)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(s.out)
		defer func() {
			for _, in := range hashers {
				close(in)
			}
		}()
		for {
			buf := chunkPool.Get().(*[]byte)
			n, err := io.ReadFull(d.r, *buf)
			if n > 0 {
				d.n += int64(n)
				c := &chunk{buf: buf, b: (*buf)[:n]}
				c.refs.Store(int32(len(hashers) + 1))
				for _, in := range hashers {
					in <- c // hashers always drain their input
				}
				select {
				case s.out <- c:
				case <-s.stop:
					c.release()
					return
				}
			} else {
				chunkPool.Put(buf)
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return
			}
			if err != nil {
				d.err = err // the transport's verdict; the consumer sees it once out is closed
				return
			}
		}
	}()
	return s
}

// next returns the next chunk, or nil and the reader's error (nil at the end of the body).
func (s *chunkSource) next() (*chunk, error) {
	c, ok := <-s.out
	if !ok {
		if s.d.err != nil {
			return nil, s.d.err
		}
		return nil, io.EOF
	}
	return c, nil
}

func (s *chunkSource) Read(p []byte) (int, error) {
	if s.cur == nil {
		c, err := s.next()
		if err != nil {
			return 0, err
		}
		s.cur, s.off = c, 0
	}
	n := copy(p, s.cur.b[s.off:])
	s.off += n
	if s.off == len(s.cur.b) {
		s.cur.release()
		s.cur = nil
	}
	return n, nil
}

// WriteTo writes each buffer to w as it is.
func (s *chunkSource) WriteTo(w io.Writer) (int64, error) {
	var total int64
	if s.cur != nil {
		n, err := w.Write(s.cur.b[s.off:])
		total += int64(n)
		s.cur.release()
		s.cur = nil
		if err != nil {
			return total, err
		}
	}
	for {
		c, err := s.next()
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		n, err := w.Write(c.b)
		total += int64(n)
		c.release()
		if err != nil {
			return total, err
		}
	}
}

// close stops the pipeline (if the consumer gave up early) and waits for every goroutine; after
// it, the digester's counts, hashes and error are final.
func (s *chunkSource) close() {
	s.once.Do(func() { close(s.stop) })
	if s.cur != nil {
		s.cur.release()
		s.cur = nil
	}
	for c := range s.out { // chunks already queued
		c.release()
	}
	s.wg.Wait()
}
