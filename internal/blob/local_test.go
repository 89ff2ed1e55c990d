package blob_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/slipway-ml/slipway/internal/blob"
	"github.com/slipway-ml/slipway/internal/blob/blobtest"
)

func TestLocalConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := blob.OpenLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestLocalFailedPutsLeaveNoFiles checks that failed puts clean up after themselves: the tree
// holds exactly the blobs afterwards.
func TestLocalFailedPutsLeaveNoFiles(t *testing.T) {
	root := t.TempDir()
	s, err := blob.OpenLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, "a/b", bytes.NewReader(make([]byte, 1<<20))); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	if _, err := s.Put(context.Background(), "a/b", io.MultiReader(bytes.NewReader(make([]byte, 1000)), errReader{})); err == nil {
		t.Fatal("Put with a broken body succeeded")
	}
	if files := filesUnder(t, root); len(files) != 0 {
		t.Errorf("failed puts left %v", files)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func filesUnder(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			files = append(files, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// The crash test runs this test binary as a child that puts a blob whose body stops half-way;
// once the child reports that half the body reached its temporary file, the test SIGKILLs it.
const crashChildEnv = "SLIPWAY_BLOB_CRASH_CHILD"

func TestMain(m *testing.M) {
	if root := os.Getenv(crashChildEnv); root != "" {
		crashChild(root)
		return
	}
	os.Exit(m.Run())
}

// crashChild overwrites "k" with a body that, after its first half has been written, says
// "half" on stdout and blocks forever.
func crashChild(root string) {
	s, err := blob.OpenLocal(root)
	if err != nil {
		panic(err)
	}
	r := &stallingReader{data: bytes.Repeat([]byte("N"), 4<<20)}
	s.Put(context.Background(), "dir/k", r)
	panic("the put finished")
}

type stallingReader struct {
	data []byte
	off  int
}

func (r *stallingReader) Read(p []byte) (int, error) {
	if r.off >= len(r.data)/2 {
		// Every byte handed out before was written: Put writes what one Read gave before the next.
		os.Stdout.WriteString("half\n")
		select {}
	}
	n := copy(p, r.data[r.off:len(r.data)/2])
	r.off += n
	return n, nil
}

func TestLocalCrashMidPutLeavesOldBlob(t *testing.T) {
	root := t.TempDir()
	s, err := blob.OpenLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	old := []byte("the old blob")
	if _, err := s.Put(context.Background(), "dir/k", bytes.NewReader(old)); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+root)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "half\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q, %v; want half", line, err)
	}
	tmps, _ := filepath.Glob(filepath.Join(root, "tmp", "put-*"))
	if len(tmps) != 1 {
		t.Errorf("mid-put the child has temporary files %v, want one", tmps)
	} else if fi, err := os.Stat(tmps[0]); err != nil || fi.Size() != 2<<20 {
		t.Errorf("mid-put temporary file: %v, %v; want 2 MiB written", fi, err)
	}
	cmd.Process.Kill()
	cmd.Wait()

	// What another process sees before any recovery, then after reopening.
	if got := readAll(t, s, "dir/k"); !bytes.Equal(got, old) {
		t.Errorf("after the crash the key holds %d bytes, want the old blob", len(got))
	}
	s2, err := blob.OpenLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s2, "dir/k"); !bytes.Equal(got, old) {
		t.Errorf("after reopening the key holds %d bytes, want the old blob", len(got))
	}
	if files := filesUnder(t, root); len(files) != 1 {
		t.Errorf("after reopening the tree holds %v, want only the blob (the temporary file swept)", files)
	}
}

func readAll(t *testing.T, s blob.Store, key string) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLocalPutFromFile covers the kernel-copy path a file source takes: the whole rest of the
// file from its offset, and a context that has ended stops it.
func TestLocalPutFromFile(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.OpenLocal(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	data := blobtest.Data(1, 70<<20+5) // more than one 64 MiB step
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(3, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	n, err := s.Put(context.Background(), "k", f)
	if err != nil || n != int64(len(data)-3) {
		t.Fatalf("Put from a file = %d, %v; want %d", n, err, len(data)-3)
	}
	if got := readAll(t, s, "k"); !bytes.Equal(got, data[3:]) {
		t.Fatalf("read back %d bytes that differ from the file's", len(got))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.Seek(0, io.SeekStart)
	if _, err := s.Put(ctx, "k", f); err == nil {
		t.Fatal("Put from a file with an ended context succeeded")
	}
	if got := readAll(t, s, "k"); !bytes.Equal(got, data[3:]) {
		t.Fatal("a failed Put from a file changed the blob")
	}
}
