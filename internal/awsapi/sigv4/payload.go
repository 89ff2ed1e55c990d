package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
)

// PayloadHashReader passes a body through while hashing it, and at its end compares the SHA-256
// with the hex digest the client declared in x-amz-content-sha256 (after Verify with
// DeferPayloadHash). Read returns io.EOF only when the digest matches; a mismatch is an *Error
// with Reason PayloadMismatch, and a caller must then discard whatever it read.
func PayloadHashReader(body io.Reader, declaredHex string) io.Reader {
	return &payloadHashReader{r: body, h: sha256.New(), want: declaredHex}
}

type payloadHashReader struct {
	r    io.Reader
	h    hash.Hash
	want string
	done error
}

func (p *payloadHashReader) Read(b []byte) (int, error) {
	if p.done != nil {
		return 0, p.done
	}
	n, err := p.r.Read(b)
	p.h.Write(b[:n])
	if err == io.EOF {
		var sum [sha256.Size]byte
		if hex.EncodeToString(p.h.Sum(sum[:0])) != p.want {
			p.done = fail(PayloadMismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
			return n, p.done
		}
		p.done = io.EOF
	}
	return n, err
}
