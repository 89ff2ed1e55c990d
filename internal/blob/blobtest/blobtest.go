// Package blobtest is the conformance suite every blob.Store implementation runs: the same
// behaviour, proven against the real backend (files on disk, a real S3-compatible server).
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/blob"
	"github.com/slipway-ml/slipway/internal/errs"
)

// Run runs the suite. newStore returns an empty store for one subtest (its cleanup registered on
// t); the stores of different subtests must not see each other's blobs.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Empty", testEmpty},
		{"Large", testLarge},
		{"Ranges", testRanges},
		{"Overwrite", testOverwrite},
		{"PutFromFile", testPutFromFile},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ReadersSeeWholeBlobs", testReadersSeeWholeBlobs},
		{"FailedPutKeepsOld", testFailedPutKeepsOld},
		{"CancelledPutKeepsOld", testCancelledPutKeepsOld},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"FlatNamespace", testFlatNamespace},
		{"List", testList},
		{"BadKeys", testBadKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// Data returns n pseudo-random bytes that depend on seed.
func Data(seed uint64, n int) []byte {
	b := make([]byte, n)
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	rand.NewChaCha8(s).Read(b)
	return b
}

// onlyReader hides every method but Read (no Seek, no WriteTo, no Len), as a network body would.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func put(t *testing.T, s blob.Store, key string, data []byte) {
	t.Helper()
	n, err := s.Put(context.Background(), key, onlyReader{bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	if n != int64(len(data)) {
		t.Fatalf("Put(%q) = %d bytes, want %d", key, n, len(data))
	}
}

func read(t *testing.T, s blob.Store, key string, off, n int64) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), key, off, n)
	if err != nil {
		t.Fatalf("Open(%q, %d, %d): %v", key, off, n, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q [%d,+%d): %v", key, off, n, err)
	}
	return b
}

func wantKind(t *testing.T, what string, err error, kind errs.Kind) {
	t.Helper()
	if !errs.Is(err, kind) {
		t.Errorf("%s: got error %v (kind %v), want kind %v", what, err, errs.KindOf(err), kind)
	}
}

func testRoundTrip(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := []byte("hello, blob")
	put(t, s, "models/v1/model.tar.gz", data)
	if got := read(t, s, "models/v1/model.tar.gz", 0, -1); !bytes.Equal(got, data) {
		t.Errorf("read back %q, want %q", got, data)
	}
	size, err := s.Size(ctx, "models/v1/model.tar.gz")
	if err != nil || size != int64(len(data)) {
		t.Errorf("Size = %d, %v; want %d", size, err, len(data))
	}
	// Keys are bytes: odd but valid characters round-trip.
	for _, key := range []string{"sp ace/ü+%20&=?#;x", ".hidden", "a..b/...", "-", strings.Repeat("k", blob.MaxSegmentLen)} {
		put(t, s, key, []byte(key))
		if got := read(t, s, key, 0, -1); string(got) != key {
			t.Errorf("key %q read back %q", key, got)
		}
	}
}

func testEmpty(t *testing.T, s blob.Store) {
	ctx := context.Background()
	put(t, s, "empty", nil)
	if size, err := s.Size(ctx, "empty"); err != nil || size != 0 {
		t.Errorf("Size = %d, %v; want 0", size, err)
	}
	for _, r := range [][2]int64{{0, -1}, {0, 0}, {0, 10}} {
		if got := read(t, s, "empty", r[0], r[1]); len(got) != 0 {
			t.Errorf("Open(empty, %d, %d) read %q, want nothing", r[0], r[1], got)
		}
	}
	_, err := s.Open(ctx, "empty", 1, -1)
	wantKind(t, "Open(empty, 1, -1)", err, errs.Invalid)
}

func testLarge(t *testing.T, s blob.Store) {
	const size = 64 << 20
	data := Data(1, size)
	put(t, s, "large/blob", data)
	rc, err := s.Open(context.Background(), "large/blob", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil || n != size {
		t.Fatalf("read %d bytes, %v; want %d", n, err, size)
	}
	if got, want := h.Sum(nil), sha256.Sum256(data); !bytes.Equal(got, want[:]) {
		t.Fatalf("64 MiB blob read back differs")
	}
	// A range across the middle, and the last byte.
	mid := int64(size/2 - 3)
	if got := read(t, s, "large/blob", mid, 7); !bytes.Equal(got, data[mid:mid+7]) {
		t.Errorf("middle range = %x, want %x", got, data[mid:mid+7])
	}
	if got := read(t, s, "large/blob", size-1, -1); !bytes.Equal(got, data[size-1:]) {
		t.Errorf("last byte = %x, want %x", got, data[size-1:])
	}
}

func testRanges(t *testing.T, s blob.Store) {
	data := Data(2, 1000)
	put(t, s, "r", data)
	for _, tc := range []struct {
		off, n int64
		want   []byte
	}{
		{0, -1, data},
		{0, 0, nil},
		{0, 1, data[:1]},
		{0, 1000, data},
		{0, 5000, data},
		{10, 100, data[10:110]},
		{500, -1, data[500:]},
		{999, -1, data[999:]},
		{999, 1, data[999:]},
		{999, 5, data[999:]},
		{1000, -1, nil},
		{1000, 0, nil},
		{1000, 3, nil},
		{10, math.MaxInt64, data[10:]},
	} {
		if got := read(t, s, "r", tc.off, tc.n); !bytes.Equal(got, tc.want) {
			t.Errorf("Open(r, %d, %d) read %d bytes, want %d", tc.off, tc.n, len(got), len(tc.want))
		}
	}
	ctx := context.Background()
	for _, r := range [][2]int64{{1001, -1}, {1001, 1}, {5000, 0}, {-1, -1}, {-1, 10}} {
		rc, err := s.Open(ctx, "r", r[0], r[1])
		if err == nil {
			rc.Close()
		}
		wantKind(t, fmt.Sprintf("Open(r, %d, %d)", r[0], r[1]), err, errs.Invalid)
	}
	_, err := s.Open(ctx, "missing", 10, 5)
	wantKind(t, "Open(missing, 10, 5)", err, errs.NotFound)
}

func testOverwrite(t *testing.T, s blob.Store) {
	long, short := Data(3, 100_000), Data(4, 10)
	put(t, s, "k", long)
	put(t, s, "k", short)
	if got := read(t, s, "k", 0, -1); !bytes.Equal(got, short) {
		t.Errorf("after overwrite read %d bytes, want the %d of the second Put", len(got), len(short))
	}
	if size, err := s.Size(context.Background(), "k"); err != nil || size != int64(len(short)) {
		t.Errorf("Size = %d, %v; want %d", size, err, len(short))
	}
}

// testPutFromFile puts from an *os.File, which backends may copy by other means than Read (a
// kernel copy, parallel ranged reads): the rest of the file from its offset is stored, and the
// file is left at its end, as reading it would.
func testPutFromFile(t *testing.T, s blob.Store) {
	data := Data(14, 12<<20+5)
	path := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(3, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	n, err := s.Put(context.Background(), "from/file", f)
	if err != nil || n != int64(len(data)-3) {
		t.Fatalf("Put from a file = %d, %v; want %d", n, err, len(data)-3)
	}
	if got := read(t, s, "from/file", 0, -1); !bytes.Equal(got, data[3:]) {
		t.Fatalf("read back %d bytes that differ from the file's rest", len(got))
	}
	if pos, _ := f.Seek(0, io.SeekCurrent); pos != int64(len(data)) {
		t.Errorf("after Put the file is at %d, want its end %d", pos, len(data))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.Seek(0, io.SeekStart)
	if _, err := s.Put(ctx, "from/file", f); err == nil {
		t.Fatal("Put from a file with an ended context succeeded")
	}
	if got := read(t, s, "from/file", 0, -1); !bytes.Equal(got, data[3:]) {
		t.Fatal("a failed Put from a file changed the blob")
	}
}

// barrierReader yields half of data, then waits at the barrier before yielding the rest.
type barrierReader struct {
	data     []byte
	off      int
	arrived  chan<- struct{}
	release  <-chan struct{}
	waited   bool
	failWith error // if set, fail at the barrier instead of waiting
}

func (r *barrierReader) Read(p []byte) (int, error) {
	half := len(r.data) / 2
	if r.off >= half && !r.waited {
		r.waited = true
		if r.arrived != nil {
			r.arrived <- struct{}{}
		}
		if r.failWith != nil {
			return 0, r.failWith
		}
		if r.release != nil {
			<-r.release
		}
	}
	end := len(r.data)
	if !r.waited {
		end = half
	}
	n := copy(p, r.data[r.off:end])
	r.off += n
	if n == 0 && r.off == len(r.data) {
		return 0, io.EOF
	}
	return n, nil
}

// testConcurrentWriters runs two Puts of different contents to one key whose readers meet at a
// barrier half-way, so both Puts are provably in progress at once; the key must end holding
// exactly one of the two contents.
func testConcurrentWriters(t *testing.T, s blob.Store) {
	a, b := Data(5, 300_000), Data(6, 700_001)
	for round := range 3 {
		arrived := make(chan struct{}, 2)
		release := make(chan struct{})
		var wg sync.WaitGroup
		errc := make(chan error, 2)
		for _, d := range [][]byte{a, b} {
			wg.Go(func() {
				_, err := s.Put(context.Background(), "shared/key", &barrierReader{data: d, arrived: arrived, release: release})
				errc <- err
			})
		}
		timeout := time.After(30 * time.Second)
		for range 2 {
			select {
			case <-arrived:
			case err := <-errc:
				close(release)
				t.Fatalf("round %d: a Put ended before both writers were half-way: %v", round, err)
			case <-timeout:
				close(release)
				t.Fatalf("round %d: the two Puts never were in progress together (does Put serialize writers?)", round)
			}
		}
		close(release)
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatalf("round %d: Put: %v", round, err)
			}
		}
		got := read(t, s, "shared/key", 0, -1)
		if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
			t.Fatalf("round %d: the key holds %d bytes that are neither writer's whole blob (%d or %d bytes)", round, len(got), len(a), len(b))
		}
	}
}

// testReadersSeeWholeBlobs reads a key while two writers keep replacing it: every read sees one
// whole version.
func testReadersSeeWholeBlobs(t *testing.T, s blob.Store) {
	a, b := Data(7, 200_000), Data(8, 90_000)
	put(t, s, "hot", a)
	done := make(chan struct{})
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	for _, d := range [][]byte{a, b} {
		wg.Go(func() {
			for range 15 {
				if _, err := s.Put(context.Background(), "hot", onlyReader{bytes.NewReader(d)}); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	reads := 0
	for {
		got := read(t, s, "hot", 0, -1)
		reads++
		if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
			t.Fatalf("read %d saw %d bytes that are no whole version", reads, len(got))
		}
		select {
		case <-done:
			select {
			case err := <-errc:
				t.Fatalf("Put: %v", err)
			default:
			}
			return
		default:
		}
	}
}

var errBroken = errors.New("blobtest: the body broke")

func testFailedPutKeepsOld(t *testing.T, s blob.Store) {
	ctx := context.Background()
	old := Data(9, 50_000)
	put(t, s, "k", old)
	for _, size := range []int{100_000, 12 << 20} { // a single PutObject, and a multipart upload
		_, err := s.Put(ctx, "k", &barrierReader{data: Data(10, size), failWith: errBroken})
		if !errors.Is(err, errBroken) {
			t.Errorf("Put of a %d-byte body that breaks half-way: got %v, want an error wrapping the reader's", size, err)
		}
		if got := read(t, s, "k", 0, -1); !bytes.Equal(got, old) {
			t.Fatalf("after a failed Put the key holds %d bytes, want the old %d", len(got), len(old))
		}
		_, err = s.Put(ctx, "new", &barrierReader{data: Data(11, size), failWith: errBroken})
		if err == nil {
			t.Fatal("Put to a new key with a broken body succeeded")
		}
		_, err = s.Size(ctx, "new")
		wantKind(t, "Size after a failed first Put", err, errs.NotFound)
	}
	assertKeys(t, s, "", []string{"k"})
}

func testCancelledPutKeepsOld(t *testing.T, s blob.Store) {
	old := Data(12, 1000)
	put(t, s, "k", old)
	ctx, cancel := context.WithCancel(context.Background())
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	go func() { <-arrived; cancel(); close(release) }()
	_, err := s.Put(ctx, "k", &barrierReader{data: Data(13, 100_000), arrived: arrived, release: release})
	if err == nil {
		t.Fatal("Put whose context ends half-way succeeded")
	}
	if got := read(t, s, "k", 0, -1); !bytes.Equal(got, old) {
		t.Fatalf("after a cancelled Put the key holds %d bytes, want the old %d", len(got), len(old))
	}
}

func testMissing(t *testing.T, s blob.Store) {
	ctx := context.Background()
	_, err := s.Open(ctx, "nope", 0, -1)
	wantKind(t, "Open(missing)", err, errs.NotFound)
	_, err = s.Size(ctx, "nope/deeper")
	wantKind(t, "Size(missing)", err, errs.NotFound)
	put(t, s, "dir/file", []byte("x"))
	_, err = s.Size(ctx, "dir") // a prefix of a key is no blob
	wantKind(t, "Size(a key's directory)", err, errs.NotFound)
	_, err = s.Open(ctx, "dir/file/below", 0, -1)
	wantKind(t, "Open(below a blob)", err, errs.NotFound)
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	put(t, s, "a/b", []byte("1"))
	put(t, s, "a/c", []byte("2"))
	if err := s.Delete(ctx, "a/b"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Size(ctx, "a/b")
	wantKind(t, "Size after Delete", err, errs.NotFound)
	_, err = s.Open(ctx, "a/b", 0, -1)
	wantKind(t, "Open after Delete", err, errs.NotFound)
	for _, key := range []string{"a/b", "never", "x/y/z"} {
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) of a missing blob: %v", key, err)
		}
	}
	assertKeys(t, s, "", []string{"a/c"})
	if err := s.Delete(ctx, "a/c"); err != nil {
		t.Fatal(err)
	}
	assertKeys(t, s, "", nil)
	put(t, s, "a/c/d", []byte("3")) // where the emptied directory was
	assertKeys(t, s, "", []string{"a/c/d"})
}

func testFlatNamespace(t *testing.T, s blob.Store) {
	put(t, s, "a", []byte("file a"))
	put(t, s, "a/b", []byte("file a/b"))
	put(t, s, "a/b/c", []byte("file a/b/c"))
	for _, key := range []string{"a", "a/b", "a/b/c"} {
		if got := read(t, s, key, 0, -1); string(got) != "file "+key {
			t.Errorf("%q holds %q", key, got)
		}
	}
	assertKeys(t, s, "", []string{"a", "a/b", "a/b/c"})
}

func assertKeys(t *testing.T, s blob.Store, prefix string, want []string) {
	t.Helper()
	var got []string
	if err := s.List(context.Background(), prefix, func(key string, size int64) error {
		got = append(got, key)
		return nil
	}); err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List(%q) (-want +got):\n%s", prefix, diff)
	}
}

func testList(t *testing.T, s blob.Store) {
	ctx := context.Background()
	keys := []string{"a", "a-c", "a/b", "a/b/c", "a/bc", "a0", "ab", "b", "b/z/y", "~", "é"}
	sizes := map[string]int64{}
	for i, key := range slices.Backward(keys) { // stored out of order
		data := Data(uint64(20+i), i*7)
		put(t, s, key, data)
		sizes[key] = int64(len(data))
	}
	var got []string
	err := s.List(ctx, "", func(key string, size int64) error {
		got = append(got, key)
		if size != sizes[key] {
			t.Errorf("List reports %q with %d bytes, want %d", key, size, sizes[key])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(keys, got); diff != "" {
		t.Errorf("List(\"\") is not every key in byte order (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"a", []string{"a", "a-c", "a/b", "a/b/c", "a/bc", "a0", "ab"}},
		{"a/", []string{"a/b", "a/b/c", "a/bc"}},
		{"a/b", []string{"a/b", "a/b/c", "a/bc"}},
		{"a/b/", []string{"a/b/c"}},
		{"a/b/c", []string{"a/b/c"}},
		{"a/b/c/", nil},
		{"b/", []string{"b/z/y"}},
		{"b/z", []string{"b/z/y"}},
		{"c", nil},
		{"zz/top", nil},
		{"a//", nil},
		{"../", nil},
		{"/", nil},
		{"é", []string{"é"}},
	} {
		assertKeys(t, s, tc.prefix, tc.want)
	}
	stop := errors.New("stop")
	calls := 0
	err = s.List(ctx, "", func(string, int64) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List whose callback fails: %v after %d calls; want the callback's error after 1", err, calls)
	}
}

// BadKeys are keys every Store refuses.
var BadKeys = []string{
	"", "/", "/a", "a/", "a//b", ".", "..", "../a", "a/..", "a/../b", "./a", "a/./b",
	"a\x00b", "\xff", "ok/\xc3", strings.Repeat("k", blob.MaxSegmentLen+1),
	strings.Repeat("abc/", blob.MaxKeyLen/4) + "x",
}

func testBadKeys(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for _, key := range BadKeys {
		_, err := s.Put(ctx, key, strings.NewReader("x"))
		wantKind(t, fmt.Sprintf("Put(%q)", key), err, errs.Invalid)
		_, err = s.Open(ctx, key, 0, -1)
		wantKind(t, fmt.Sprintf("Open(%q)", key), err, errs.Invalid)
		_, err = s.Size(ctx, key)
		wantKind(t, fmt.Sprintf("Size(%q)", key), err, errs.Invalid)
		err = s.Delete(ctx, key)
		wantKind(t, fmt.Sprintf("Delete(%q)", key), err, errs.Invalid)
	}
	for _, prefix := range []string{"a\x00", "\xff", strings.Repeat("p", blob.MaxKeyLen+1)} {
		err := s.List(ctx, prefix, func(string, int64) error { return nil })
		wantKind(t, fmt.Sprintf("List(%q)", prefix), err, errs.Invalid)
	}
	assertKeys(t, s, "", nil) // nothing was stored
}
