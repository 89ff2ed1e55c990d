// Package fileblob is a minimal blob store on local files, enough for the artifact store to run
// until package blob (which the composition root will open with blob.OpenURL) replaces it. It
// keeps blob.Store's contract: Put is atomic (a temporary file, fsync, rename, fsync of the
// directory), Open of a missing key is errs.NotFound, Delete of a missing key succeeds.
//
// TO BE REPLACED by internal/blob's local backend.
package fileblob

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Store keeps each blob in a file under Dir, named by its key.
type Store struct{ Dir string }

// New returns a Store under dir, creating it.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, errs.E(errs.Internal, "cannot create the blob directory %s", dir, err)
	}
	return &Store{Dir: dir}, nil
}

func (s *Store) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "..") || strings.ContainsRune(key, 0) {
		return "", errs.E(errs.Invalid, "invalid blob key %q", key)
	}
	return filepath.Join(s.Dir, filepath.FromSlash(key)), nil
}

// Put stores r under key atomically.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	p, err := s.path(key)
	if err != nil {
		return 0, err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, errs.E(errs.Internal, "cannot create a blob directory", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return 0, errs.E(errs.Internal, "cannot create a blob file", err)
	}
	tmp := f.Name()
	n, err := io.Copy(f, readerCtx{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return n, err // the reader's error as it is: it may carry the wire's verdict
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return n, nil
}

type readerCtx struct {
	ctx context.Context
	r   io.Reader
}

func (r readerCtx) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// Open reads n bytes from off (n < 0: to the end).
func (s *Store) Open(_ context.Context, key string, off, n int64) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errs.E(errs.NotFound, "blob %s does not exist", key)
	}
	if err != nil {
		return nil, errs.E(errs.Internal, "cannot open a blob", err)
	}
	if off > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return nil, errs.E(errs.Internal, "cannot seek in a blob", err)
		}
	}
	if n < 0 {
		return f, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, n), f}, nil
}

// Size returns a blob's size.
func (s *Store) Size(_ context.Context, key string) (int64, error) {
	p, err := s.path(key)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, errs.E(errs.NotFound, "blob %s does not exist", key)
	}
	if err != nil {
		return 0, errs.E(errs.Internal, "cannot stat a blob", err)
	}
	return fi.Size(), nil
}

// Delete removes a blob.
func (s *Store) Delete(_ context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errs.E(errs.Internal, "cannot delete a blob", err)
	}
	return nil
}

// List calls fn for each blob whose key begins with prefix.
func (s *Store) List(_ context.Context, prefix string, fn func(key string, size int64) error) error {
	return filepath.WalkDir(s.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		rel, _ := filepath.Rel(s.Dir, p)
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return fn(key, fi.Size())
	})
}
