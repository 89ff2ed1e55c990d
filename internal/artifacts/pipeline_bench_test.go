package artifacts

import (
	"context"
	"crypto/sha256"
	"hash"
	"io"
	"testing"

	"github.com/slipway-ml/slipway/internal/blob"
)

// BenchmarkWriteBody stores a 256 MiB body into the local blob store the way a PutObject does
// (the transport's SHA-256 check in the body's reads, MD5 for the ETag, a CRC32 the client asked
// for, fdatasync and rename), one stream at a time: "sequential" is the digester's Read path
// (every step in turn, as before the pipeline), "pipelined" the path writeBlob takes.
//
//	go test -run '^$' -bench WriteBody -benchtime 4x ./internal/artifacts/
func BenchmarkWriteBody(b *testing.B) {
	const size = 256 << 20
	store, err := blob.OpenLocal(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	block := make([]byte, 1<<20)
	for i := range block {
		block[i] = byte(i*31 + i>>9)
	}
	for _, mode := range []string{"sequential", "pipelined"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(size)
			for range b.N {
				body := &shaReader{r: io.LimitReader(repeatReader(block), size), h: sha256.New()}
				d := newDigester(body, []string{"CRC32"})
				var n int64
				if mode == "sequential" {
					n, err = store.Put(context.Background(), "bench/body", d)
				} else {
					src := d.parallel()
					n, err = store.Put(context.Background(), "bench/body", src)
					src.close()
				}
				if err != nil || n != size || d.n != size {
					b.Fatalf("Put = %d, %v; digested %d", n, err, d.n)
				}
				_ = d.etag()
			}
		})
	}
}

// shaReader hashes what it reads, as SigV4's payload check does.
type shaReader struct {
	r io.Reader
	h hash.Hash
}

func (s *shaReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.h.Write(p[:n])
	return n, err
}

// repeatReader reads block over and over, in pieces of at most 64 KiB (as a socket delivers).
func repeatReader(block []byte) io.Reader { return &repeating{block: block} }

type repeating struct {
	block []byte
	off   int
}

func (r *repeating) Read(p []byte) (int, error) {
	p = p[:min(len(p), 64<<10)]
	n := copy(p, r.block[r.off:])
	r.off = (r.off + n) % len(r.block)
	return n, nil
}
