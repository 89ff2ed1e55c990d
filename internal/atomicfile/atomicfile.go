// Package atomicfile writes files so that a reader, or a restart after a crash, sees either the
// old content or the complete new content, never a partial file: the data goes to a temporary
// file in the same directory, is synced, and is renamed over the target; then the directory is
// synced so the rename survives a crash too.
package atomicfile

import (
	"bytes"
	"io"
	"os"
	"path/filepath"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Write replaces path with data, with the given permissions.
func Write(path string, data []byte, mode os.FileMode) error {
	return WriteFunc(path, mode, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFunc replaces path with what write produces. If write fails, path is left as it was and
// no temporary file remains.
func WriteFunc(path string, mode os.FileMode, write func(w io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return errs.E(errs.Internal, "cannot write %s", path, err)
	}
	tmp := f.Name()
	err = f.Chmod(mode)
	if err == nil {
		err = write(f)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		// The rename itself is durable only once the directory is synced.
		if d, derr := os.Open(filepath.Dir(path)); derr == nil {
			err = d.Sync()
			d.Close()
		}
	}
	if err != nil {
		os.Remove(tmp)
		if errs.KindOf(err) != errs.Other {
			return err
		}
		return errs.E(errs.Internal, "cannot write %s", path, err)
	}
	return nil
}

// WriteBuffered runs encode into memory first and writes the file only if it succeeded, for
// encoders that may fail half-way.
func WriteBuffered(path string, mode os.FileMode, encode func(w io.Writer) error) error {
	var b bytes.Buffer
	if err := encode(&b); err != nil {
		return err
	}
	return Write(path, b.Bytes(), mode)
}
