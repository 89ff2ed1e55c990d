package inference

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Limits of ExtractArchive.
const (
	MaxArchiveBytes   = 8 << 30 // total size of the extracted files
	MaxArchiveEntries = 100_000
)

// ExtractArchive unpacks a model.tar.gz into dir (created if needed; it should be empty). It refuses,
// with errs.Invalid and nothing outside dir touched:
//   - an entry whose name is absolute or has a ".." element;
//   - a symbolic link whose target is absolute or has a ".." element (a link can only point down, so
//     no chain of links leads out of dir); hard links, devices, FIFOs;
//   - a second entry for the same path (it could replace a link by a file or the reverse);
//   - more than MaxArchiveEntries entries or MaxArchiveBytes of files (a decompression bomb).
//
// Files get mode 0644 (0755 when executable by the owner in the archive), directories 0755; no
// ownership, set-id bits or times are kept. On a refusal the files written so far stay in dir, which
// the caller discards.
func ExtractArchive(r io.Reader, dir string) error {
	return extract(r, dir, MaxArchiveBytes, MaxArchiveEntries)
}

func extract(r io.Reader, dir string, maxBytes int64, maxEntries int) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return errs.E(errs.Invalid, "the model archive is not gzip-compressed (SageMaker expects model.tar.gz)", err)
	}
	defer gz.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errs.E(errs.Internal, "cannot create the model directory", err)
	}
	tr := tar.NewReader(gz)
	seen := map[string]bool{}
	var total int64
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return errs.E(errs.Invalid, "the model archive is truncated", err)
		}
		if err != nil {
			return errs.E(errs.Invalid, "the model archive is not a valid tar.gz", err)
		}
		if n >= maxEntries {
			return errs.E(errs.Invalid, "the model archive has more than %d entries", maxEntries)
		}
		name, err := entryName(h.Name)
		if err != nil {
			return err
		}
		if name == "" {
			continue // the archive's root "./"
		}
		if seen[name] {
			if h.Typeflag == tar.TypeDir {
				continue
			}
			return errs.E(errs.Invalid, "the model archive holds %q twice", h.Name)
		}
		seen[name] = true
		dst := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return errs.E(errs.Invalid, "cannot create the directory %q", h.Name, err)
			}
		case tar.TypeReg, tar.TypeRegA:
			if h.Size < 0 || h.Size > maxBytes-total {
				return errs.E(errs.Invalid, "the model archive's files exceed %d bytes", maxBytes)
			}
			total += h.Size
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return errs.E(errs.Invalid, "cannot create the directory of %q", h.Name, err)
			}
			mode := os.FileMode(0o644)
			if h.Mode&0o100 != 0 {
				mode = 0o755
			}
			// O_EXCL: never write through a link or over an earlier entry.
			f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
			if err != nil {
				return errs.E(errs.Invalid, "cannot create %q", h.Name, err)
			}
			_, err = io.Copy(f, io.LimitReader(tr, h.Size))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return errs.E(errs.Invalid, "cannot extract %q: the model archive is truncated or corrupt", h.Name, err)
			}
		case tar.TypeSymlink:
			t := h.Linkname
			if t == "" || path.IsAbs(t) || strings.HasPrefix(t, `\`) || hasDotDot(t) {
				return errs.E(errs.Invalid, "the model archive's link %q points to %q, outside the archive", h.Name, h.Linkname)
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return errs.E(errs.Invalid, "cannot create the directory of %q", h.Name, err)
			}
			if err := os.Symlink(filepath.FromSlash(t), dst); err != nil {
				return errs.E(errs.Invalid, "cannot create the link %q", h.Name, err)
			}
		case tar.TypeXGlobalHeader:
			continue
		default:
			return errs.E(errs.Invalid, "the model archive's entry %q is not a file, a directory or a link within the archive", h.Name)
		}
	}
}

// entryName checks an archive entry's name and returns it cleaned, slash-separated and relative ("" for
// the root).
func entryName(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, 0) {
		return "", errs.E(errs.Invalid, "the model archive has an entry with an empty or invalid name")
	}
	n := strings.ReplaceAll(name, `\`, "/")
	if path.IsAbs(n) || hasDotDot(n) || (len(n) >= 2 && n[1] == ':') {
		return "", errs.E(errs.Invalid, "the model archive's entry %q points outside the archive", name)
	}
	n = path.Clean(n)
	if n == "." {
		return "", nil
	}
	return n, nil
}

// hasDotDot reports whether a slash-separated path has a ".." element.
func hasDotDot(p string) bool {
	for _, e := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if e == ".." {
			return true
		}
	}
	return false
}
