package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var (
	streamNow   = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	streamCreds = aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "stream-secret"}
)

// chunked describes an aws-chunked upload to build.
type chunked struct {
	mode      string
	payload   []byte
	chunkSize int
	trailer   string            // checksum trailer name, for the trailer modes
	header    map[string]string // headers to set before signing ("" deletes)
}

// build signs a PUT of c with aws-sdk-go-v2's signer (the seed) and signs its chunks with the
// SDK's StreamSigner; the trailer signature, which the SDK does not produce, is computed here
// from the specification. It returns the request (headers only) and the wire body.
func (c chunked) build(t testing.TB) (*http.Request, []byte) {
	t.Helper()
	// The wire's length does not depend on the signatures' values: build it once with zeros to
	// learn Content-Length, which the signer signs.
	length := len(c.wire(t, nil))
	r := httptest.NewRequest("PUT", "http://localhost:9440/bucket/some/key.bin", nil)
	r.ContentLength = int64(length)
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Content-Sha256", c.mode)
	r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(c.payload)))
	if c.trailer != "" {
		r.Header.Set("X-Amz-Trailer", c.trailer)
	}
	for k, v := range c.header {
		if r.Header.Del(k); v != "" {
			r.Header.Set(k, v)
		}
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), streamCreds, r, c.mode, "s3", "us-east-1", streamNow); err != nil {
		t.Fatal(err)
	}
	auth, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := hex.DecodeString(auth.Signature)
	return r, c.wire(t, v4.NewStreamSigner(streamCreds, "s3", "us-east-1", seed))
}

// wire encodes the body; with a nil signer the signatures are zeros.
func (c chunked) wire(t testing.TB, ss *v4.StreamSigner) []byte {
	t.Helper()
	signed := c.mode != StreamingUnsignedPayloadTrailer
	prev := strings.Repeat("0", 64)
	sign := func(chunk []byte) string {
		if ss == nil {
			return prev
		}
		sig, err := ss.GetSignature(context.Background(), nil, chunk, streamNow)
		if err != nil {
			t.Fatal(err)
		}
		prev = hex.EncodeToString(sig)
		return prev
	}
	var b bytes.Buffer
	rest := c.payload
	for {
		n := min(c.chunkSize, len(rest))
		chunk := rest[:n]
		rest = rest[n:]
		fmt.Fprintf(&b, "%x", n)
		if signed {
			b.WriteString(";chunk-signature=" + sign(chunk))
		}
		b.WriteString("\r\n")
		if n == 0 {
			break
		}
		b.Write(chunk)
		b.WriteString("\r\n")
	}
	if c.trailer == "" {
		b.WriteString("\r\n")
		return b.Bytes()
	}
	h := newChecksum(c.trailer)
	h.Write(c.payload)
	line := c.trailer + ":" + base64.StdEncoding.EncodeToString(h.Sum(nil)) + "\n"
	b.WriteString(strings.TrimSuffix(line, "\n") + "\r\n")
	if signed {
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + streamNow.Format(TimeFormat) + "\n" + streamNow.Format("20060102") +
			"/us-east-1/s3/aws4_request\n" + prev + "\n" + HashHex([]byte(line))
		sig := strings.Repeat("0", 64)
		if ss != nil {
			sig = Signature(SigningKey(streamCreds.SecretAccessKey, Scope{Date: streamNow.Format("20060102"), Region: "us-east-1", Service: "s3"}), sts)
		}
		b.WriteString("x-amz-trailer-signature:" + sig + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// decodeStreaming takes a request through Parse, CheckTime, Verify and ChunkReader and returns
// the decoded payload. wrap, if not nil, wraps the body reader (to vary read sizes).
func decodeStreaming(r *http.Request, wire []byte, secret string, wrap func(io.Reader) io.Reader) ([]byte, error) {
	s, err := Parse(r)
	if err != nil {
		return nil, err
	}
	if err := s.CheckTime(streamNow); err != nil {
		return nil, err
	}
	if err := s.Verify(r, nil, secret, Options{S3: true}); err != nil {
		return nil, err
	}
	var body io.Reader = bytes.NewReader(wire)
	if wrap != nil {
		body = wrap(body)
	}
	cr, err := s.ChunkReader(body, r.Header, secret)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(cr)
}

func payloadOf(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i/251)
	}
	return p
}

func TestChunkReaderSDK(t *testing.T) {
	wraps := map[string]func(io.Reader) io.Reader{
		"whole": nil, "one byte": iotest.OneByteReader, "half": iotest.HalfReader, "data err": iotest.DataErrReader,
	}
	tests := []chunked{
		{mode: StreamingSignedPayload, payload: nil, chunkSize: 8192},
		{mode: StreamingSignedPayload, payload: payloadOf(1), chunkSize: 8192},
		{mode: StreamingSignedPayload, payload: payloadOf(8192), chunkSize: 8192},
		{mode: StreamingSignedPayload, payload: payloadOf(100_000), chunkSize: 8192},
		{mode: StreamingSignedPayload, payload: payloadOf(70_000), chunkSize: 65536},
		{mode: StreamingSignedPayloadTrailer, payload: payloadOf(20_000), chunkSize: 8192, trailer: "x-amz-checksum-crc32"},
		{mode: StreamingSignedPayloadTrailer, payload: nil, chunkSize: 8192, trailer: "x-amz-checksum-sha256"},
		{mode: StreamingUnsignedPayloadTrailer, payload: payloadOf(20_000), chunkSize: 8192, trailer: "x-amz-checksum-crc32"},
		{mode: StreamingUnsignedPayloadTrailer, payload: payloadOf(20_000), chunkSize: 4096, trailer: "x-amz-checksum-crc32c"},
		{mode: StreamingUnsignedPayloadTrailer, payload: payloadOf(20_000), chunkSize: 4096, trailer: "x-amz-checksum-crc64nvme"},
		{mode: StreamingUnsignedPayloadTrailer, payload: payloadOf(3), chunkSize: 4096, trailer: "x-amz-checksum-sha1"},
		{mode: StreamingUnsignedPayloadTrailer, payload: payloadOf(3), chunkSize: 4096, trailer: "x-amz-checksum-sha256"},
	}
	for _, c := range tests {
		r, wire := c.build(t)
		for wname, wrap := range wraps {
			t.Run(fmt.Sprintf("%s/%d/%d/%s/%s", c.mode, len(c.payload), c.chunkSize, c.trailer, wname), func(t *testing.T) {
				got, err := decodeStreaming(r, wire, streamCreds.SecretAccessKey, wrap)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, c.payload) {
					t.Errorf("decoded %d bytes, want the %d sent", len(got), len(c.payload))
				}
			})
		}
	}
	t.Run("wrong secret", func(t *testing.T) {
		r, wire := chunked{mode: StreamingSignedPayload, payload: payloadOf(10), chunkSize: 8192}.build(t)
		if _, err := decodeStreaming(r, wire, "other", nil); reasonOf(err) != Mismatch {
			t.Errorf("got %v, want Mismatch", err)
		}
	})
}

// TestChecksums checks each checksum trailer's algorithm against a published check value
// ("123456789"), so a wrong table or polynomial cannot pass by agreeing with itself.
func TestChecksums(t *testing.T) {
	for name, want := range map[string]string{
		"x-amz-checksum-crc32":     "cbf43926",
		"x-amz-checksum-crc32c":    "e3069283",
		"x-amz-checksum-crc64nvme": "ae8b14860a799888",
		"x-amz-checksum-sha1":      "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
		"x-amz-checksum-sha256":    "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225",
	} {
		h := newChecksum(name)
		h.Write([]byte("123456789"))
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	if newChecksum("x-amz-checksum-md5") != nil {
		t.Error("an unknown checksum was accepted")
	}
}

// TestChunkReaderBad feeds hand-broken bodies: each must fail with the right reason, and never
// with io.EOF (which would tell the consumer the body is whole and verified).
func TestChunkReaderBad(t *testing.T) {
	signed := chunked{mode: StreamingSignedPayload, payload: payloadOf(20_000), chunkSize: 8192}
	signedTrailer := chunked{mode: StreamingSignedPayloadTrailer, payload: payloadOf(20_000), chunkSize: 8192, trailer: "x-amz-checksum-crc32c"}
	unsignedTrailer := chunked{mode: StreamingUnsignedPayloadTrailer, payload: payloadOf(20_000), chunkSize: 8192, trailer: "x-amz-checksum-crc32"}
	firstData := func(w []byte) int { return bytes.Index(w, []byte("\r\n")) + 2 }
	sigAt := func(w []byte, n int) int { // the n-th chunk signature's first byte
		i := 0
		for ; n >= 0; n-- {
			i += bytes.Index(w[i:], []byte("chunk-signature=")) + len("chunk-signature=")
		}
		return i
	}
	replace := func(old, new string) func([]byte) []byte {
		return func(w []byte) []byte { return bytes.Replace(w, []byte(old), []byte(new), 1) }
	}
	flip := func(at func([]byte) int) func([]byte) []byte {
		return func(w []byte) []byte { w[at(w)] ^= 1; return w }
	}
	flipHex := func(at func([]byte) int) func([]byte) []byte { // keeps a hex digit a hex digit
		return func(w []byte) []byte {
			if i := at(w); w[i] == '0' {
				w[i] = '1'
			} else {
				w[i] = '0'
			}
			return w
		}
	}
	tests := []struct {
		name   string
		c      chunked
		header map[string]string // set before signing
		after  map[string]string // set after signing
		mutate func([]byte) []byte
		want   Reason
	}{
		{name: "flipped data byte", c: signed, mutate: flip(firstData), want: Mismatch},
		{name: "flipped byte in last chunk", c: signed, mutate: flip(func(w []byte) int { return bytes.LastIndex(w, []byte("\r\n0;")) - 1 }), want: Mismatch},
		{name: "flipped chunk signature", c: signed, mutate: flipHex(func(w []byte) int { return sigAt(w, 1) + 5 }), want: Mismatch},
		{name: "flipped final chunk signature", c: signed, mutate: flipHex(func(w []byte) int { return sigAt(w, 3) }), want: Mismatch},
		{name: "upper-case signature", c: signed, mutate: func(w []byte) []byte {
			i := sigAt(w, 0)
			copy(w[i:], bytes.ToUpper(w[i:i+64]))
			return w
		}, want: BadBody},
		{name: "chunks swapped", c: chunked{mode: StreamingSignedPayload, payload: payloadOf(16384), chunkSize: 8192}, mutate: func(w []byte) []byte {
			i := bytes.Index(w[1:], []byte("\r\n2000;")) + 3
			j := bytes.Index(w, []byte("\r\n0;")) + 2
			return append(append(append([]byte{}, w[i:j]...), w[:i]...), w[j:]...)
		}, want: Mismatch},
		{name: "truncated in data", c: signed, mutate: func(w []byte) []byte { return w[:len(w)/2] }, want: BadBody},
		{name: "truncated before final chunk", c: signed, mutate: func(w []byte) []byte { return w[:bytes.Index(w, []byte("\r\n0;"))+2] }, want: BadBody},
		{name: "missing final CRLF", c: signed, mutate: func(w []byte) []byte { return w[:len(w)-2] }, want: BadBody},
		{name: "bytes after the end", c: signed, mutate: func(w []byte) []byte { return append(w, 'x') }, want: BadBody},
		{name: "oversize chunk-size hex", c: signed, mutate: replace("2000;", "1000001;"), want: BadBody},
		{name: "chunk size overflowing int64", c: signed, mutate: replace("2000;", "ffffffffffffffff;"), want: BadBody},
		{name: "seventeen hex digits", c: signed, mutate: replace("2000;", "00000000000002000;"), want: BadBody},
		{name: "negative chunk size", c: signed, mutate: replace("2000;", "-2000;"), want: BadBody},
		{name: "chunk size larger than data", c: signed, mutate: replace("2000;", "2001;"), want: BadBody},
		{name: "chunk size smaller than data", c: signed, mutate: replace("2000;", "1fff;"), want: BadBody},
		{name: "LF only", c: signed, mutate: func(w []byte) []byte {
			i := bytes.Index(w, []byte("\r\n"))
			return append(w[:i:i], w[i+1:]...)
		}, want: BadBody},
		{name: "no chunk signature", c: signed, mutate: func(w []byte) []byte { i := bytes.IndexByte(w, ';'); return append([]byte("2000"), w[i+81:]...) }, want: BadBody},
		{name: "other chunk extension", c: signed, mutate: replace(";chunk-signature=", ";chunk-signaturx="), want: BadBody},
		{name: "long header line", c: signed, mutate: func(w []byte) []byte { return append([]byte("2000"+strings.Repeat(" ", 5000)), w[4:]...) }, want: BadBody},
		{name: "decoded length larger", c: signed, header: map[string]string{"X-Amz-Decoded-Content-Length": "20001"}, want: BadBody},
		{name: "decoded length smaller", c: signed, header: map[string]string{"X-Amz-Decoded-Content-Length": "19999"}, want: BadBody},
		{name: "decoded length changed after signing", c: signed, after: map[string]string{"X-Amz-Decoded-Content-Length": "20001"}, want: Mismatch},
		{name: "trailer name changed after signing", c: unsignedTrailer, after: map[string]string{"X-Amz-Trailer": "x-amz-checksum-sha256"}, want: Mismatch},
		{name: "seed signature from another request", c: signed, mutate: func(w []byte) []byte {
			_, other := chunked{mode: StreamingSignedPayload, payload: payloadOf(20_000), chunkSize: 4096}.build(t)
			return other
		}, want: Mismatch},

		{name: "trailer: wrong checksum", c: unsignedTrailer, mutate: func(w []byte) []byte {
			i := bytes.Index(w, []byte("x-amz-checksum-crc32:")) + len("x-amz-checksum-crc32:")
			copy(w[i:], "AAAAAA==")
			return w
		}, want: BadDigest},
		{name: "trailer: flipped data byte", c: unsignedTrailer, mutate: flip(firstData), want: BadDigest},
		{name: "trailer: checksum not base64", c: unsignedTrailer, mutate: func(w []byte) []byte {
			i := bytes.Index(w, []byte("x-amz-checksum-crc32:")) + len("x-amz-checksum-crc32:")
			copy(w[i:], "!!!!")
			return w
		}, want: BadDigest},
		{name: "trailer: missing", c: unsignedTrailer, mutate: func(w []byte) []byte { return append(w[:bytes.Index(w, []byte("x-amz-checksum"))], "\r\n"...) }, want: BadBody},
		{name: "trailer: another checksum than announced", c: unsignedTrailer, mutate: replace("x-amz-checksum-crc32:", "x-amz-checksum-sha1:"), want: BadBody},
		{name: "trailer: twice", c: unsignedTrailer, mutate: func(w []byte) []byte {
			i := bytes.Index(w, []byte("x-amz-checksum"))
			line := w[i : len(w)-2]
			return append(append(w[:len(w)-2:len(w)-2], line...), "\r\n"...)
		}, want: BadBody},
		{name: "trailer: signature in unsigned mode", c: unsignedTrailer, mutate: func(w []byte) []byte {
			return append(w[:len(w)-2], "x-amz-trailer-signature:"+strings.Repeat("a", 64)+"\r\n\r\n"...)
		}, want: BadBody},
		{name: "trailer: unannounced", c: unsignedTrailer, header: map[string]string{"X-Amz-Trailer": "x-amz-checksum-sha256"}, want: BadBody},
		{name: "trailer: too short for decoded length", c: unsignedTrailer, header: map[string]string{"X-Amz-Decoded-Content-Length": "20001"}, want: BadBody},
		{name: "trailer: too long for decoded length", c: unsignedTrailer, header: map[string]string{"X-Amz-Decoded-Content-Length": "19999"}, want: BadBody},
		{name: "trailer: bytes after the end", c: unsignedTrailer, mutate: func(w []byte) []byte { return append(w, "0\r\n"...) }, want: BadBody},
		{name: "trailer: chunk signature in unsigned mode", c: unsignedTrailer, mutate: replace("2000\r\n", "2000;chunk-signature="+strings.Repeat("a", 64)+"\r\n"), want: BadBody},

		{name: "signed trailer: wrong checksum", c: signedTrailer, mutate: func(w []byte) []byte {
			// A consistent trailer signature cannot be made without the key: the signature fails first.
			i := bytes.Index(w, []byte("x-amz-checksum-crc32c:")) + len("x-amz-checksum-crc32c:")
			copy(w[i:], "AAAAAA==")
			return w
		}, want: Mismatch},
		{name: "signed trailer: flipped trailer signature", c: signedTrailer, mutate: flipHex(func(w []byte) int { return bytes.Index(w, []byte("x-amz-trailer-signature:")) + 30 }), want: Mismatch},
		{name: "signed trailer: no trailer signature", c: signedTrailer, mutate: func(w []byte) []byte {
			return append(w[:bytes.Index(w, []byte("x-amz-trailer-signature:"))], "\r\n"...)
		}, want: Mismatch},
		{name: "signed trailer: flipped data byte", c: signedTrailer, mutate: flip(firstData), want: Mismatch},
		{name: "signed trailer: missing", c: signedTrailer, mutate: func(w []byte) []byte { return append(w[:bytes.Index(w, []byte("x-amz-checksum"))], "\r\n"...) }, want: BadBody},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			c.header = tc.header
			r, wire := c.build(t)
			for k, v := range tc.after {
				r.Header.Set(k, v)
			}
			if tc.mutate != nil {
				wire = tc.mutate(wire)
			}
			got, err := decodeStreaming(r, wire, streamCreds.SecretAccessKey, nil)
			if reasonOf(err) != tc.want {
				t.Fatalf("got %v (%d bytes), want reason %v", err, len(got), tc.want)
			}
			// A body longer than announced fails before the excess is handed out.
			if n, _ := strconv.Atoi(r.Header.Get("X-Amz-Decoded-Content-Length")); len(got) > n {
				t.Errorf("read %d bytes of a body announced as %d", len(got), n)
			}
		})
	}
}

// TestChunkReaderHeaders checks the headers a streaming body needs.
func TestChunkReaderHeaders(t *testing.T) {
	c := chunked{mode: StreamingUnsignedPayloadTrailer, payload: payloadOf(10), chunkSize: 8192, trailer: "x-amz-checksum-crc32"}
	tests := []struct {
		name   string
		header map[string]string
	}{
		{"no decoded length", map[string]string{"X-Amz-Decoded-Content-Length": ""}},
		{"negative decoded length", map[string]string{"X-Amz-Decoded-Content-Length": "-1"}},
		{"no trailer name", map[string]string{"X-Amz-Trailer": ""}},
		{"unknown trailer", map[string]string{"X-Amz-Trailer": "x-amz-checksum-md5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := c
			c.header = tc.header
			r, wire := c.build(t)
			if _, err := decodeStreaming(r, wire, streamCreds.SecretAccessKey, nil); reasonOf(err) != Incomplete {
				t.Errorf("got %v, want Incomplete", err)
			}
		})
	}
	t.Run("unknown streaming mode", func(t *testing.T) {
		r, wire := chunked{mode: "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", payload: payloadOf(10), chunkSize: 8192}.build(t)
		if _, err := decodeStreaming(r, wire, streamCreds.SecretAccessKey, nil); reasonOf(err) != Incomplete {
			t.Errorf("got %v, want Incomplete", err)
		}
	})
	t.Run("presigned", func(t *testing.T) {
		s := &Signed{Presigned: true, Authorization: Authorization{Signature: strings.Repeat("0", 64)}}
		h := http.Header{}
		h.Set("X-Amz-Content-Sha256", StreamingSignedPayload)
		h.Set("X-Amz-Decoded-Content-Length", "0")
		if _, err := s.ChunkReader(strings.NewReader("0;chunk-signature="+strings.Repeat("0", 64)+"\r\n\r\n"), h, "x"); reasonOf(err) != Incomplete {
			t.Errorf("a presigned streaming request: got %v, want Incomplete", err)
		}
	})
	t.Run("source error passes through", func(t *testing.T) {
		r, wire := chunked{mode: StreamingSignedPayload, payload: payloadOf(10), chunkSize: 8192}.build(t)
		boom := errors.New("boom")
		_, err := decodeStreaming(r, wire, streamCreds.SecretAccessKey, func(io.Reader) io.Reader { return iotest.ErrReader(boom) })
		if !errors.Is(err, boom) {
			t.Errorf("got %v, want the source's error", err)
		}
	})
}

// FuzzChunkDecoder feeds arbitrary bodies to the decoder in each mode, with the key and seed
// signature of a real signed request: it must not panic, must not allocate by a chunk's announced
// size, and may report success only for the payload the signer sent (signed modes) or a payload
// whose crc32 is in its trailer (unsigned).
func FuzzChunkDecoder(f *testing.F) {
	modes := []chunked{
		{mode: StreamingSignedPayload, payload: payloadOf(100), chunkSize: 40},
		{mode: StreamingSignedPayloadTrailer, payload: payloadOf(100), chunkSize: 64, trailer: "x-amz-checksum-crc32"},
		{mode: StreamingUnsignedPayloadTrailer, payload: payloadOf(100), chunkSize: 64, trailer: "x-amz-checksum-crc32"},
	}
	seeds := make([]string, len(modes))
	for i, c := range modes {
		r, wire := c.build(f)
		a, err := ParseAuthorization(r.Header.Get("Authorization"))
		if err != nil {
			f.Fatal(err)
		}
		seeds[i] = a.Signature
		f.Add(uint8(i), wire)
	}
	f.Add(uint8(2), []byte("ffffff\r\n"))
	f.Add(uint8(2), []byte("0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"))
	key := SigningKey(streamCreds.SecretAccessKey, Scope{Date: "20261125", Region: "us-east-1", Service: "s3"})
	f.Fuzz(func(t *testing.T, m uint8, wire []byte) {
		i := int(m) % len(modes)
		c := modes[i]
		cr, err := newChunkReader(bytes.NewReader(wire), c.mode, key, streamNow.Format(TimeFormat), "20261125/us-east-1/s3/aws4_request",
			seeds[i], int64(len(c.payload)), c.trailer)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(cr)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			if len(got) > len(c.payload) {
				t.Fatalf("handed out %d bytes of a body announced as %d", len(got), len(c.payload))
			}
			return
		}
		if c.mode != StreamingUnsignedPayloadTrailer {
			if !bytes.Equal(got, c.payload) {
				t.Fatalf("accepted a signed body whose payload is not the signer's: %q", got)
			}
			return
		}
		h := crc32.ChecksumIEEE(got)
		if len(got) != len(c.payload) || !strings.Contains(string(wire), base64.StdEncoding.EncodeToString([]byte{byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h)})) {
			t.Fatalf("accepted %d bytes whose crc32 is not in the trailer", len(got))
		}
	})
}

// BenchmarkChunkReader decodes a signed 64 MiB body sent in 64 KiB chunks (the size SDKs use),
// and an unsigned-trailer body with a crc32 trailer; b.SetBytes makes it report MB/s and
// ReportAllocs the memory per request.
func BenchmarkChunkReader(b *testing.B) {
	for _, c := range []chunked{
		{mode: StreamingSignedPayload, payload: payloadOf(64 << 20), chunkSize: 64 << 10},
		{mode: StreamingUnsignedPayloadTrailer, payload: payloadOf(64 << 20), chunkSize: 64 << 10, trailer: "x-amz-checksum-crc32"},
		{mode: StreamingSignedPayloadTrailer, payload: payloadOf(64 << 20), chunkSize: 64 << 10, trailer: "x-amz-checksum-crc32c"},
	} {
		b.Run(c.mode, func(b *testing.B) {
			r, wire := c.build(b)
			s, err := Parse(r)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 32<<10)
			b.SetBytes(int64(len(c.payload)))
			b.ReportAllocs()
			for b.Loop() {
				cr, err := s.ChunkReader(bytes.NewReader(wire), r.Header, streamCreds.SecretAccessKey)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{cr}, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSHA256 is the reference for BenchmarkChunkReader: hashing the same bytes once with
// SHA-256, which a signed body needs at least.
func BenchmarkSHA256(b *testing.B) {
	p := payloadOf(64 << 20)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		sha256.Sum256(p)
	}
}

// TestChunkReaderMemory: what a request costs does not grow with its body: decoding 16 chunks
// and 256 chunks makes the same number of allocations (none per chunk), within the noise.
func TestChunkReaderMemory(t *testing.T) {
	for _, mode := range []string{StreamingSignedPayload, StreamingSignedPayloadTrailer, StreamingUnsignedPayloadTrailer} {
		allocs := func(chunks int) float64 {
			c := chunked{mode: mode, payload: payloadOf(chunks * 1024), chunkSize: 1024}
			if mode != StreamingSignedPayload {
				c.trailer = "x-amz-checksum-crc32c"
			}
			r, wire := c.build(t)
			s, err := Parse(r)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4096)
			return testing.AllocsPerRun(5, func() {
				cr, err := s.ChunkReader(bytes.NewReader(wire), r.Header, streamCreds.SecretAccessKey)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{cr}, buf); err != nil {
					t.Fatal(err)
				}
			})
		}
		// 240 more chunks must not mean more allocations; a couple either way is the runtime's
		// own (the race detector's instrumentation allocates now and then).
		if small, large := allocs(16), allocs(256); large > small+2 {
			t.Errorf("%s: %v allocations for 16 chunks, %v for 256", mode, small, large)
		}
	}
}
