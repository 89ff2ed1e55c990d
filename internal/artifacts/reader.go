package artifacts

import (
	"context"
	"io"
	"strconv"

	"github.com/slipway-ml/slipway/internal/errs"
)

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }

// partsReader reads n bytes from off across an object's blobs, opening each only when the read
// reaches it.
type partsReader struct {
	ctx   context.Context
	blobs Blobs
	parts []Blob
	off   int64 // into the current first part
	left  int64
	cur   io.ReadCloser
	err   error
}

// open returns a reader of n bytes from off of an object made of parts.
func (s *Service) open(ctx context.Context, parts []Blob, off, n int64) io.ReadCloser {
	for len(parts) > 0 && off >= parts[0].Size && parts[0].Size >= 0 {
		off -= parts[0].Size
		parts = parts[1:]
	}
	return &partsReader{ctx: ctx, blobs: s.blobs, parts: parts, off: off, left: n}
}

func (r *partsReader) Read(p []byte) (int, error) {
	for {
		if r.err != nil {
			return 0, r.err
		}
		if r.left <= 0 {
			return 0, io.EOF
		}
		if r.cur == nil {
			if len(r.parts) == 0 {
				r.err = errs.E(errs.Internal, "an object's blobs hold fewer bytes than its size")
				return 0, r.err
			}
			part := r.parts[0]
			n := min(part.Size-r.off, r.left)
			rc, err := r.blobs.Open(r.ctx, part.Key, r.off, n)
			if err != nil {
				r.err = errs.E(errs.Internal, "cannot read the object's bytes", err)
				return 0, r.err
			}
			r.cur, r.parts, r.off = rc, r.parts[1:], 0
		}
		if int64(len(p)) > r.left {
			p = p[:r.left]
		}
		n, err := r.cur.Read(p)
		r.left -= int64(n)
		if err == io.EOF {
			r.cur.Close()
			r.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err != nil {
			r.err = err
		}
		return n, err
	}
}

func (r *partsReader) Close() error {
	if r.cur != nil {
		err := r.cur.Close()
		r.cur = nil
		return err
	}
	return nil
}
