package blob

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Local is the default backend: one file per blob under a root directory. See the package
// documentation for its layout.
type Local struct {
	data string // root/data: the blobs
	tmp  string // root/tmp: puts in progress
}

var _ Store = (*Local)(nil)

// OpenLocal opens (creating it if needed) the local store rooted at root, and removes the
// temporary files a crashed process left behind.
func OpenLocal(root string) (*Local, error) {
	s := &Local{data: filepath.Join(root, "data"), tmp: filepath.Join(root, "tmp")}
	if err := os.RemoveAll(s.tmp); err != nil {
		return nil, errs.E(errs.Internal, "cannot sweep the blob store's temporary files in %s", s.tmp, err)
	}
	for _, dir := range []string{s.data, s.tmp} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, errs.E(errs.Internal, "cannot create the blob store directory %s", dir, err)
		}
	}
	return s, nil
}

// path is the file of key, which must be valid.
func (s *Local) path(key string) string {
	return filepath.Join(s.data, filepath.FromSlash(storedName(key)))
}

// Put implements Store.
func (s *Local) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := ValidKey(key); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return 0, errs.E(errs.Internal, "cannot create a temporary blob file", err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	var n int64
	if src, ok := r.(*os.File); ok {
		n, err = copyFile(ctx, f, src)
	} else if wt, ok := r.(io.WriterTo); ok {
		// The source hands over its own buffers: no copy, one write each.
		n, err = wt.WriteTo(&fileWriter{ctx: ctx, f: f})
	} else {
		// writerOnly hides the file's ReadFrom so that the copy goes through a buffer of our
		// size and ctxReader sees every read.
		n, err = io.CopyBuffer(writerOnly{f}, ctxReader{ctx, r}, make([]byte, 256<<10))
	}
	if err != nil {
		return 0, errs.E(errs.KindOf(err), "cannot store blob %q", key, err)
	}
	if err := fdatasync(f); err != nil {
		return 0, errs.E(errs.Internal, "cannot sync blob %q", key, err)
	}
	if err := f.Close(); err != nil {
		return 0, errs.E(errs.Internal, "cannot close blob %q", key, err)
	}
	final := s.path(key)
	for attempt := 0; ; attempt++ {
		if err = s.mkdirs(filepath.Dir(final)); err == nil {
			err = os.Rename(tmp, final)
		}
		// A concurrent Delete may prune the directory between mkdirs and the rename.
		if err == nil || !errors.Is(err, fs.ErrNotExist) || attempt == 10 {
			break
		}
	}
	if err != nil {
		return 0, errs.E(errs.Internal, "cannot store blob %q", key, err)
	}
	done = true
	if err := syncDir(filepath.Dir(final)); err != nil {
		return 0, errs.E(errs.Internal, "cannot sync the directory of blob %q", key, err)
	}
	return n, nil
}

// copyFile copies the rest of src to dst in steps of 64 MiB, checking ctx between them. Each
// step is the file's ReadFrom, which lets the kernel copy (copy_file_range, splice) where it can:
// a job's output file goes into the store without passing through user space.
func copyFile(ctx context.Context, dst, src *os.File) (int64, error) {
	const step = 64 << 20
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := dst.ReadFrom(&io.LimitedReader{R: src, N: step})
		total += n
		if err != nil || n < step {
			return total, err
		}
	}
}

// mkdirs creates dir and its missing parents under s.data, syncing the directory that gains
// each new entry so that the new path survives a crash.
func (s *Local) mkdirs(dir string) error {
	if dir == s.data {
		return nil
	}
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	parent := filepath.Dir(dir)
	if err := s.mkdirs(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Open implements Store.
func (s *Local) Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := ValidKey(key); err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, errs.E(errs.Invalid, "blob range offset %d is negative", off)
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		return nil, notFoundOr(key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, errs.E(errs.Internal, "cannot read blob %q", key, err)
	}
	size := fi.Size()
	if off > size {
		f.Close()
		return nil, errs.E(errs.Invalid, "blob range offset %d is past the end of blob %q (%d bytes)", off, key, size)
	}
	if n < 0 || n > size-off {
		n = size - off
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return nil, errs.E(errs.Internal, "cannot read blob %q", key, err)
	}
	return &fileRange{f: f, lr: io.LimitedReader{R: f, N: n}}, nil
}

// fileRange reads a range of a file. WriteTo hands the *io.LimitedReader of an *os.File to the
// destination, so copying to a socket can use sendfile.
type fileRange struct {
	f  *os.File
	lr io.LimitedReader
}

func (r *fileRange) Read(p []byte) (int, error)         { return r.lr.Read(p) }
func (r *fileRange) WriteTo(w io.Writer) (int64, error) { return io.Copy(w, &r.lr) }
func (r *fileRange) Close() error                       { return r.f.Close() }

// fileWriter writes to a blob's temporary file, stopping once ctx ends, and asks the kernel to
// start writing each 8 MiB back as soon as it is complete, so that the final sync has less left
// to wait for (the fdatasync before the rename is still what makes the blob durable).
//
// O_DIRECT was tried here for whole aligned buffers: it cut the write's CPU (no copy into the
// page cache) but left the blob out of the page cache, and reading it back right after was 2–3×
// slower on a busy machine, so the writes stay buffered.
type fileWriter struct {
	ctx     context.Context
	f       *os.File
	off     int64 // bytes written
	flushed int64 // bytes handed to writeback
}

const writebackStep = 8 << 20

func (w *fileWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.flushed >= writebackStep {
		end := w.off &^ (writebackStep - 1)
		startWriteback(w.f, w.flushed, end-w.flushed)
		w.flushed = end
	}
	return n, err
}

// startWriteback starts writing back a range of f's dirty pages without waiting for it
// (sync_file_range with SYNC_FILE_RANGE_WRITE). It is a hint: errors are ignored, and a later
// fdatasync reports any write failure.
func startWriteback(f *os.File, off, n int64) {
	const syncFileRangeWrite = 2
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			syscall.Syscall6(syscall.SYS_SYNC_FILE_RANGE, fd, uintptr(off), uintptr(n), syncFileRangeWrite, 0, 0)
		})
	}
}

// fdatasync flushes f's data and the metadata needed to read it back (its size), which is all a
// new blob needs before its rename; the rename's directory sync makes the name durable.
func fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}

// writerOnly hides the ReadFrom of the writer it wraps.
type writerOnly struct{ w io.Writer }

func (w writerOnly) Write(p []byte) (int, error) { return w.w.Write(p) }

// ctxReader stops reading once its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Size implements Store.
func (s *Local) Size(ctx context.Context, key string) (int64, error) {
	if err := ValidKey(key); err != nil {
		return 0, err
	}
	fi, err := os.Stat(s.path(key))
	if err != nil {
		return 0, notFoundOr(key, err)
	}
	return fi.Size(), nil
}

func notFoundOr(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return errs.E(errs.NotFound, "blob %q does not exist", key)
	}
	return errs.E(errs.Internal, "cannot read blob %q", key, err)
}

// Delete implements Store. It also removes the directories the blob leaves empty.
func (s *Local) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	p := s.path(key)
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return errs.E(errs.Internal, "cannot delete blob %q", key, err)
	}
	dir := filepath.Dir(p)
	if err := syncDir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errs.E(errs.Internal, "cannot sync the directory of blob %q", key, err)
	}
	// Prune empty directories; a directory that is not empty (or gained an entry from a
	// concurrent Put) stops the climb.
	for ; dir != s.data; dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// List implements Store.
func (s *Local) List(ctx context.Context, prefix string, fn func(key string, size int64) error) error {
	return list(ctx, prefix, s.level, fn)
}

// level lists one directory of the tree; a directory that does not exist is empty.
func (s *Local) level(ctx context.Context, dir string) ([]entry, error) {
	p := filepath.Join(s.data, filepath.FromSlash(dir))
	des, err := os.ReadDir(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ENAMETOOLONG) {
			return nil, nil
		}
		return nil, errs.E(errs.Internal, "cannot list blobs", err)
	}
	entries := make([]entry, 0, len(des))
	for _, de := range des {
		e := entry{name: de.Name(), isDir: de.IsDir()}
		if !e.isDir {
			fi, err := de.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // deleted while listing
				}
				return nil, errs.E(errs.Internal, "cannot list blobs", err)
			}
			e.size = fi.Size()
		}
		entries = append(entries, e)
	}
	return entries, nil
}
