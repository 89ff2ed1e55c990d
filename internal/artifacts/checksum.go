package artifacts

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// The checksum algorithms S3 clients send (x-amz-checksum-*), by S3's names.
var checksumAlgorithms = map[string]func() hash.Hash{
	"CRC32":     func() hash.Hash { return crc32.NewIEEE() },
	"CRC32C":    func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	"CRC64NVME": func() hash.Hash { return crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5)) },
	"SHA1":      sha1.New,
	"SHA256":    sha256.New,
}

// ChecksumAlgorithm returns S3's name of a checksum algorithm, or an InvalidRequest error.
func ChecksumAlgorithm(name string) (string, error) {
	n := strings.ToUpper(name)
	if _, ok := checksumAlgorithms[n]; !ok {
		return "", errs.E(errs.Invalid, "Checksum algorithm %q is not supported", name).WithCode("InvalidRequest")
	}
	return n, nil
}

// digester passes bytes through while counting them and computing their MD5 and checksums. It
// keeps the first read error that is not io.EOF: the transport's verdict on the payload.
type digester struct {
	r    io.Reader
	n    int64
	md5  hash.Hash
	sums map[string]hash.Hash
	err  error
}

func newDigester(r io.Reader, algs []string) *digester {
	d := &digester{r: r, md5: md5.New(), sums: map[string]hash.Hash{}}
	for _, a := range algs {
		if f, ok := checksumAlgorithms[a]; ok {
			d.sums[a] = f()
		}
	}
	return d
}

func (d *digester) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if n > 0 {
		d.n += int64(n)
		d.md5.Write(p[:n])
		for _, h := range d.sums {
			h.Write(p[:n])
		}
	}
	if err != nil && err != io.EOF && d.err == nil {
		d.err = err
	}
	return n, err
}

func (d *digester) checksums() map[string]string {
	if len(d.sums) == 0 {
		return nil
	}
	out := make(map[string]string, len(d.sums))
	for a, h := range d.sums {
		out[a] = base64.StdEncoding.EncodeToString(h.Sum(nil))
	}
	return out
}

// verify compares what the client declared with what arrived.
func (d *digester) verify(contentMD5 string, declared map[string]string, length *int64) error {
	if length != nil && *length >= 0 && *length != d.n {
		return errs.E(errs.Invalid, "You did not provide the number of bytes specified by the Content-Length HTTP header").WithCode("IncompleteBody")
	}
	if contentMD5 != "" {
		want, err := base64.StdEncoding.DecodeString(contentMD5)
		if err != nil || len(want) != md5.Size {
			return errs.E(errs.Invalid, "The Content-MD5 you specified is not valid.").WithCode("InvalidDigest")
		}
		if !bytes.Equal(want, d.md5.Sum(nil)) {
			return errs.E(errs.Invalid, "The Content-MD5 you specified did not match what we received.").WithCode("BadDigest")
		}
	}
	got := d.checksums()
	for a, want := range declared {
		if got[a] != want {
			return errs.E(errs.Invalid, "The %s you specified did not match the calculated checksum.", a).WithCode("BadDigest")
		}
	}
	return nil
}

func (d *digester) etag() string { return `"` + hex.EncodeToString(d.md5.Sum(nil)) + `"` }

// writeBlob streams r into a fresh blob, digesting it. On any failure nothing references the
// blob and it is deleted; the error is the payload's own (the transport's wire error) when
// reading it failed.
func (s *Service) writeBlob(ctx context.Context, r io.Reader, algs []string) (Blob, *digester, error) {
	start := s.now()
	key := newBlobKey(start)
	d := newDigester(r, algs)
	src := d.parallel()
	n, err := s.blobs.Put(ctx, key, src)
	src.close()
	if d.err != nil {
		err = d.err
	}
	if err == nil && n != d.n {
		err = errs.E(errs.Internal, "the blob store kept %d of %d bytes", n, d.n)
	}
	if err == nil && s.hooks.afterBlob != nil {
		s.hooks.afterBlob(key)
	}
	if err == nil && s.now().Sub(start) > MaxWriteTime {
		// Past MaxWriteTime the sweeper may take this blob for an orphan: never commit it.
		s.dropBlobs(Blob{Key: key})
		return Blob{}, nil, writeTimedOut()
	}
	if err != nil {
		s.dropBlobs(Blob{Key: key})
		if errs.KindOf(err) == errs.Other && d.err != nil {
			return Blob{}, nil, d.err // the transport's error, as it is
		}
		return Blob{}, nil, errs.E(errs.KindOf(err), "cannot store the object's bytes", err)
	}
	return Blob{Key: key, Size: n}, d, nil
}

// dropBlobs deletes blobs no row references any more; a failure leaves orphans, logged.
func (s *Service) dropBlobs(bs ...Blob) {
	ctx := context.Background()
	for _, b := range bs {
		if b.Key == "" {
			continue
		}
		if err := s.blobs.Delete(ctx, b.Key); err != nil {
			s.log.Warn("cannot delete an unreferenced blob; it stays as an orphan", "blob", b.Key, "err", err)
		}
	}
}

// multipartETag is S3's ETag of a multipart object: the MD5 of the parts' binary MD5s, "-N".
func multipartETag(parts []Part) string {
	h := md5.New()
	for _, p := range parts {
		raw, _ := hex.DecodeString(strings.Trim(p.ETag, `"`))
		h.Write(raw)
	}
	return `"` + hex.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts)) + `"`
}

func isMultipartETag(etag string) bool { return strings.Contains(etag, "-") }

// compositeChecksum is S3's checksum of a multipart object of type COMPOSITE: the checksum of
// the parts' binary checksums, "-N".
func compositeChecksum(alg string, parts []Part) (string, bool) {
	f, ok := checksumAlgorithms[alg]
	if !ok {
		return "", false
	}
	h := f()
	for _, p := range parts {
		raw, err := base64.StdEncoding.DecodeString(p.Checksums[alg])
		if err != nil || len(raw) == 0 {
			return "", false
		}
		h.Write(raw)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts)), true
}

func sortedAlgs(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for a := range m {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// VerifyChecksums checks a whole in-memory body against declared checksums (base64 by
// algorithm), as S3 checks the bodies of its XML requests.
func VerifyChecksums(body []byte, declared map[string]string) error {
	if len(declared) == 0 {
		return nil
	}
	algs, err := algorithmsOf(declared, "")
	if err != nil {
		return err
	}
	d := newDigester(bytes.NewReader(body), algs)
	if _, err := io.Copy(io.Discard, d); err != nil {
		return err
	}
	return d.verify("", declared, nil)
}
