package artifacts

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// The pipeline hands the consumer exactly the body's bytes, in order, through Read or WriteTo,
// and its hashes are those of the body, for sizes around the buffer size.
func TestPipelineDigestsAndDelivers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize + chunkSize/2} {
		body := make([]byte, size)
		for i := range body {
			body[i] = byte(rng.Uint32())
		}
		wantMD5 := md5.Sum(body)
		wantSHA := sha256.Sum256(body)
		for _, mode := range []string{"WriteTo", "Read", "small reads"} {
			// iotest.HalfReader makes the body arrive in uneven pieces, as a network body does.
			d := newDigester(iotest.HalfReader(bytes.NewReader(body)), []string{"SHA256", "CRC32"})
			src := d.parallel()
			var got bytes.Buffer
			var err error
			switch mode {
			case "WriteTo":
				_, err = src.WriteTo(&got)
			case "Read":
				_, err = io.Copy(&got, struct{ io.Reader }{src})
			default:
				_, err = io.CopyBuffer(&got, struct{ io.Reader }{src}, make([]byte, 1000))
			}
			src.close()
			if err != nil || d.err != nil {
				t.Fatalf("%d bytes, %s: err %v, digester err %v", size, mode, err, d.err)
			}
			if !bytes.Equal(got.Bytes(), body) || d.n != int64(size) {
				t.Fatalf("%d bytes, %s: delivered %d bytes (counted %d), not the body", size, mode, got.Len(), d.n)
			}
			if d.etag() != `"`+hex.EncodeToString(wantMD5[:])+`"` {
				t.Errorf("%d bytes, %s: etag %s", size, mode, d.etag())
			}
			if s := d.checksums()["SHA256"]; s != base64.StdEncoding.EncodeToString(wantSHA[:]) {
				t.Errorf("%d bytes, %s: SHA256 %s", size, mode, s)
			}
		}
	}
}

// A read error reaches the consumer after the bytes read before it, and is the digester's
// error; a consumer that gives up early stops the pipeline without a leak or a hang.
func TestPipelineErrorsAndEarlyStop(t *testing.T) {
	boom := errors.New("payload mismatch")
	body := bytes.Repeat([]byte("x"), 2*chunkSize+10)
	d := newDigester(io.MultiReader(bytes.NewReader(body), iotest.ErrReader(boom)), nil)
	src := d.parallel()
	n, err := src.WriteTo(io.Discard)
	src.close()
	if !errors.Is(err, boom) || !errors.Is(d.err, boom) || n != int64(len(body)) {
		t.Errorf("WriteTo = %d, %v (digester %v); want %d bytes then the read error", n, err, d.err, len(body))
	}

	// The producer may run ahead of a stopped consumer by what the queues hold: each of the
	// consumers (the reader here, MD5, CRC32) has a buffer in hand and chunkDepth queued, and the
	// producer one more being read — how much of that is filled depends on the scheduler, so the
	// bound is that whole allowance, far below the body.
	const size = 32 * chunkSize
	d = newDigester(bytes.NewReader(make([]byte, size)), []string{"CRC32"})
	src = d.parallel()
	buf := make([]byte, 10)
	if _, err := src.Read(buf); err != nil {
		t.Fatal(err)
	}
	src.close() // must return with chunks still queued and the producer blocked
	if limit := (3*(chunkDepth+1) + 2) * chunkSize; d.n > int64(limit) {
		t.Errorf("the producer read %d bytes of %d after the consumer stopped; want at most %d", d.n, size, limit)
	}
}
