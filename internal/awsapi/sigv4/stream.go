package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The x-amz-content-sha256 values that announce an aws-chunked body (Content-Encoding: aws-chunked).
const (
	// StreamingSignedPayload: every chunk carries a signature chained from the seed signature of
	// the Authorization header.
	StreamingSignedPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	// StreamingSignedPayloadTrailer: signed chunks, then a checksum trailer with its own signature.
	StreamingSignedPayloadTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	// StreamingUnsignedPayloadTrailer: plain chunks, then a checksum trailer (not signed).
	StreamingUnsignedPayloadTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// MaxChunkSize is the largest chunk a ChunkReader accepts (16 MiB). SDKs send 8 KiB to 1 MiB
// chunks. The reader never allocates by a chunk's size, so the cap bounds nothing in memory; it
// refuses absurd sizes early.
const MaxChunkSize = 16 << 20

const (
	chunkLineMax   = 4096 // the longest chunk-header or trailer line (bufio buffer size)
	maxTrailers    = 4    // trailer lines besides the signature
	chunkSigPrefix = ";chunk-signature="
	trailerSigName = "x-amz-trailer-signature"
	emptySHA256    = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// IsStreaming reports whether an x-amz-content-sha256 value announces an aws-chunked body of
// some kind (known to this package or not).
func IsStreaming(contentSHA256 string) bool { return strings.HasPrefix(contentSHA256, "STREAMING-") }

// knownStreaming reports whether v is one of the streaming modes this package verifies.
func knownStreaming(v string) bool {
	return v == StreamingSignedPayload || v == StreamingSignedPayloadTrailer || v == StreamingUnsignedPayloadTrailer
}

func unsupportedPayloadHash() *Error {
	return fail(Incomplete, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, %s, %s, %s or a SHA-256 hex digest",
		StreamingSignedPayload, StreamingSignedPayloadTrailer, StreamingUnsignedPayloadTrailer)
}

// A ChunkReader decodes an aws-chunked request body and verifies it as it goes: each chunk's
// signature (signed modes), the framing, the total against x-amz-decoded-content-length, and the
// checksum trailer with its signature (trailer modes). It holds one small buffer and the hash
// states, whatever the body's size.
//
// Read returns a chunk's bytes before that chunk's signature can be checked (the signature covers
// the whole chunk), so bytes read are authenticated only once Read has returned io.EOF. Callers
// must treat any other error as an abort: discard everything read, store nothing, and answer
// with the error. Errors are *Error (reasons Mismatch, BadBody, BadDigest) or the error of the
// underlying reader (for example *http.MaxBytesError), returned again by every later Read.
type ChunkReader struct {
	src  *bufio.Reader
	mode string

	// Signed modes: the chain of signatures.
	mac      hash.Hash // HMAC-SHA256 with the signing key, reset for each signature
	prefix   []byte    // "AWS4-HMAC-SHA256-PAYLOAD\nTIME\nSCOPE\n"
	timeSc   string    // "TIME\nSCOPE\n"
	prevSig  [64]byte  // hex signature of the previous chunk (the seed at first)
	chunkSig [64]byte  // hex signature announced for the current chunk
	chunk    hash.Hash
	sum      [2 * sha256.Size]byte // scratch: a hex digest
	dig      [sha256.Size]byte     // scratch: a digest
	sig      [sha256.Size]byte     // scratch: a decoded signature

	remaining int64 // bytes of the current chunk not yet read
	inChunk   bool  // a chunk header has been read and its data and CRLF not finished
	decoded   int64 // payload bytes returned so far
	want      int64 // x-amz-decoded-content-length

	trailer     string    // the trailer x-amz-trailer names, lower-case ("" for none)
	checksum    hash.Hash // over the decoded payload, for the trailer
	err         error     // sticky; io.EOF once everything is verified
	checksumSum [64]byte  // scratch: the trailer checksum's digest
}

// ChunkReader returns a reader of the decoded payload of an aws-chunked body, verified against
// this request's signature. header is the request's header (x-amz-content-sha256,
// x-amz-decoded-content-length, x-amz-trailer); secret is the access key's secret. Call it after
// Verify succeeded. It fails (reason Incomplete) when the headers do not describe a streaming
// body this package can verify.
func (s *Signed) ChunkReader(body io.Reader, header http.Header, secret string) (*ChunkReader, error) {
	mode := header.Get("X-Amz-Content-Sha256")
	if !knownStreaming(mode) {
		return nil, unsupportedPayloadHash()
	}
	if s.Presigned {
		return nil, fail(Incomplete, "A presigned request cannot carry a streaming payload")
	}
	dl := header.Get("X-Amz-Decoded-Content-Length")
	want, err := strconv.ParseInt(dl, 10, 64)
	if dl == "" || err != nil || want < 0 {
		return nil, fail(Incomplete, "x-amz-decoded-content-length must be given as a non-negative integer with a streaming payload")
	}
	var trailer string
	if mode != StreamingSignedPayload {
		trailer = strings.ToLower(strings.TrimSpace(header.Get("X-Amz-Trailer")))
		if trailer == "" {
			return nil, fail(Incomplete, "x-amz-trailer must name the trailer of a %s payload", mode)
		}
	}
	return newChunkReader(body, mode, SigningKey(secret, s.Scope), s.RawTimeBasic(), s.Scope.String(), s.Signature, want, trailer)
}

// newChunkReader is ChunkReader without a request: the signing key, the signing time
// (YYYYMMDDTHHMMSSZ), the scope string and the seed signature.
func newChunkReader(body io.Reader, mode string, key []byte, amzDate, scope, seed string, want int64, trailer string) (*ChunkReader, error) {
	c := &ChunkReader{
		src: bufio.NewReaderSize(body, chunkLineMax), mode: mode,
		timeSc: amzDate + "\n" + scope + "\n", want: want, trailer: trailer,
	}
	if c.signed() {
		if !validSignature(seed) {
			return nil, fail(Incomplete, "The seed signature must be 64 lower-case hexadecimal characters")
		}
		copy(c.prevSig[:], seed)
		c.prefix = []byte("AWS4-HMAC-SHA256-PAYLOAD\n" + c.timeSc)
		c.mac = hmac.New(sha256.New, key)
		c.chunk = sha256.New()
	}
	if trailer != "" {
		if c.checksum = newChecksum(trailer); c.checksum == nil {
			return nil, fail(Incomplete, "The trailer %q is not supported: use x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1 or -sha256", truncate(trailer, 40))
		}
	}
	return c, nil
}

func (c *ChunkReader) signed() bool { return c.mode != StreamingUnsignedPayloadTrailer }

// DecodedLength is the payload's length as x-amz-decoded-content-length announced it; a body
// that does not hold exactly that many bytes fails.
func (c *ChunkReader) DecodedLength() int64 { return c.want }

// newChecksum returns the hash a checksum trailer names, or nil.
func newChecksum(name string) hash.Hash {
	switch name {
	case "x-amz-checksum-crc32":
		return crc32.NewIEEE()
	case "x-amz-checksum-crc32c":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "x-amz-checksum-crc64nvme":
		return crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5))
	case "x-amz-checksum-sha1":
		return sha1.New()
	case "x-amz-checksum-sha256":
		return sha256.New()
	}
	return nil
}

func badBody(format string, args ...any) *Error { return fail(BadBody, format, args...) }

// Read reads decoded payload bytes. See the type's comment for what an error means.
func (c *ChunkReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for c.remaining == 0 {
		if err := c.next(); err != nil {
			c.err = err
			return 0, err
		}
	}
	if int64(len(p)) > c.remaining {
		p = p[:c.remaining]
	}
	n, err := c.src.Read(p)
	c.remaining -= int64(n)
	c.decoded += int64(n)
	if c.chunk != nil {
		c.chunk.Write(p[:n])
	}
	if c.checksum != nil {
		c.checksum.Write(p[:n])
	}
	if err != nil {
		c.err = c.sourceErr(err)
		return n, c.err
	}
	return n, nil
}

// sourceErr turns an error of the underlying reader into the reader's error: an end of input
// in the middle of the body is a truncated body; anything else is passed on.
func (c *ChunkReader) sourceErr(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return badBody("The request body ended before the end of the aws-chunked encoding")
	}
	if errors.Is(err, bufio.ErrBufferFull) {
		return badBody("A chunk header or trailer line is longer than %d bytes", chunkLineMax)
	}
	return err
}

// next finishes the current chunk (its CRLF and, signed, its signature) and starts the next
// one. At the final zero-size chunk it verifies the end of the body and returns io.EOF.
func (c *ChunkReader) next() error {
	if c.inChunk {
		if err := c.expectCRLF(); err != nil {
			return err
		}
		if err := c.verifyChunk(); err != nil {
			return err
		}
		c.inChunk = false
	}
	line, err := c.line()
	if err != nil {
		return err
	}
	size, sig, err := c.parseHeader(line)
	if err != nil {
		return err
	}
	c.remaining, c.inChunk = size, true
	copy(c.chunkSig[:], sig)
	if c.chunk != nil {
		c.chunk.Reset()
	}
	if c.decoded+size > c.want {
		return badBody("The aws-chunked body holds more than the %d bytes of x-amz-decoded-content-length", c.want)
	}
	if size > 0 {
		return nil
	}
	// The final chunk: verify it, then what follows it.
	if err := c.verifyChunk(); err != nil {
		return err
	}
	c.inChunk = false
	if err := c.finish(); err != nil {
		return err
	}
	return io.EOF
}

// line reads one CRLF-terminated line and returns it without the CRLF. The line is valid only
// until the next read.
func (c *ChunkReader) line() ([]byte, error) {
	l, err := c.src.ReadSlice('\n')
	if err != nil {
		return nil, c.sourceErr(err)
	}
	if len(l) < 2 || l[len(l)-2] != '\r' {
		return nil, badBody("A chunk header line must end with CRLF")
	}
	return l[:len(l)-2], nil
}

func (c *ChunkReader) expectCRLF() error {
	cr, err := c.src.ReadByte()
	if err != nil {
		return c.sourceErr(err)
	}
	lf, err := c.src.ReadByte()
	if err != nil {
		return c.sourceErr(err)
	}
	if cr != '\r' || lf != '\n' {
		return badBody("A chunk's data must be followed by CRLF: the chunk is longer than its size says")
	}
	return nil
}

// parseHeader parses "hex-size;chunk-signature=sig" (signed modes) or "hex-size" (unsigned). The
// signature returned aliases line.
func (c *ChunkReader) parseHeader(line []byte) (size int64, sig []byte, err error) {
	hexSize := line
	if c.signed() {
		i := bytes.IndexByte(line, ';')
		if i < 0 || !bytes.HasPrefix(line[i:], []byte(chunkSigPrefix)) {
			return 0, nil, badBody("A chunk header must read hex-size;chunk-signature=signature")
		}
		hexSize, sig = line[:i], line[i+len(chunkSigPrefix):]
		if !validSignatureBytes(sig) {
			return 0, nil, badBody("A chunk signature must be 64 lower-case hexadecimal characters")
		}
	}
	if len(hexSize) == 0 || len(hexSize) > 16 {
		return 0, nil, badBody("A chunk size must be 1 to 16 hexadecimal digits")
	}
	var u uint64
	for _, d := range hexSize {
		switch {
		case d >= '0' && d <= '9':
			d -= '0'
		case d >= 'a' && d <= 'f':
			d -= 'a' - 10
		case d >= 'A' && d <= 'F':
			d -= 'A' - 10
		default:
			return 0, nil, badBody("A chunk size must be hexadecimal")
		}
		u = u<<4 | uint64(d) // 16 digits at most: no overflow
	}
	if u > MaxChunkSize {
		return 0, nil, badBody("A chunk must not be larger than %d bytes", MaxChunkSize)
	}
	return int64(u), sig, nil
}

func validSignatureBytes(b []byte) bool {
	if len(b) != 64 {
		return false
	}
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// verifyChunk checks the current chunk's signature against the chain.
func (c *ChunkReader) verifyChunk() error {
	if !c.signed() {
		return nil
	}
	hex.Encode(c.sum[:], c.chunk.Sum(c.dig[:0]))
	c.mac.Reset()
	c.mac.Write(c.prefix)
	c.mac.Write(c.prevSig[:])
	c.mac.Write(emptyHashLine)
	c.mac.Write(c.sum[:])
	if !c.macEqual(c.chunkSig[:]) {
		return fail(Mismatch, MismatchMessage)
	}
	c.prevSig = c.chunkSig
	return nil
}

var emptyHashLine = []byte("\n" + emptySHA256 + "\n")

// macEqual compares the HMAC in c.mac with a hex signature in constant time.
func (c *ChunkReader) macEqual(sig []byte) bool {
	_, err := hex.Decode(c.sig[:], sig)
	return err == nil && hmac.Equal(c.mac.Sum(c.dig[:0]), c.sig[:])
}

// finish reads what follows the final chunk: a CRLF (no trailer), or the trailer lines, the
// trailer signature (signed trailer mode) and an empty line. Nothing may follow.
func (c *ChunkReader) finish() error {
	if c.decoded != c.want {
		return badBody("You did not provide the number of bytes specified by the x-amz-decoded-content-length HTTP header (%d of %d)", c.decoded, c.want)
	}
	if c.trailer == "" {
		if err := c.expectCRLF(); err != nil {
			return err
		}
		return c.expectEOF()
	}
	var canonical strings.Builder
	var value, sig string
	var haveValue, haveSig bool
	for n := 0; ; n++ {
		l, err := c.src.ReadSlice('\n')
		if err == io.EOF && len(l) == 0 && (haveValue || haveSig) {
			break // the final empty line may be left out
		}
		if err != nil {
			return c.sourceErr(err)
		}
		l = bytes.TrimSuffix(bytes.TrimSuffix(l, []byte("\n")), []byte("\r"))
		if len(l) == 0 {
			break
		}
		if n >= maxTrailers || haveSig {
			return badBody("Unexpected lines after the trailer")
		}
		name, val, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			return badBody("A trailer line must read name:value")
		}
		k := strings.ToLower(string(bytes.TrimSpace(name)))
		v := string(bytes.TrimSpace(val))
		switch {
		case k == trailerSigName && c.signed():
			sig, haveSig = v, true
		case k == c.trailer && !haveValue:
			value, haveValue = v, true
			canonical.WriteString(k + ":" + v + "\n")
		default:
			return badBody("The trailer %q was not announced in x-amz-trailer", truncate(k, 40))
		}
	}
	if !haveValue {
		return badBody("The trailer %s announced in x-amz-trailer is missing", c.trailer)
	}
	if c.signed() {
		if !haveSig || !validSignature(sig) {
			return fail(Mismatch, "The trailer must carry an x-amz-trailer-signature")
		}
		sum := sha256.Sum256([]byte(canonical.String()))
		c.mac.Reset()
		c.mac.Write([]byte("AWS4-HMAC-SHA256-TRAILER\n" + c.timeSc + string(c.prevSig[:]) + "\n" + hex.EncodeToString(sum[:])))
		if !c.macEqual([]byte(sig)) {
			return fail(Mismatch, MismatchMessage)
		}
	}
	got := c.checksum.Sum(c.checksumSum[:0])
	if want, err := base64.StdEncoding.DecodeString(value); err != nil || !hmac.Equal(got, want) {
		return fail(BadDigest, "The %s you specified did not match the calculated checksum.", checksumName(c.trailer))
	}
	return c.expectEOF()
}

func (c *ChunkReader) expectEOF() error {
	if _, err := c.src.ReadByte(); err != io.EOF {
		if err != nil {
			return err
		}
		return badBody("Unexpected bytes after the end of the aws-chunked body")
	}
	return nil
}

// checksumName is how S3 names a checksum algorithm in its messages: "x-amz-checksum-crc32c" → "CRC32C".
func checksumName(trailer string) string {
	return strings.ToUpper(strings.TrimPrefix(trailer, "x-amz-checksum-"))
}
