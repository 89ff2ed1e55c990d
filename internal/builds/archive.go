package builds

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/slipway-ml/slipway/internal/builds/buildspec"
)

// Bounds on what a build unpacks and packs.
const (
	MaxArchive = 512 << 20
	MaxFiles   = 100000
)

// unpack writes a source: a zip archive is extracted into dir (no member may leave it); any
// other object becomes the file single in dir.
func unpack(data []byte, dir, single string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if !bytes.HasPrefix(data, []byte("PK\x03\x04")) && !bytes.HasPrefix(data, []byte("PK\x05\x06")) {
		if single == "" || strings.ContainsAny(single, "/\\") || single == "." || single == ".." {
			single = "source"
		}
		return os.WriteFile(filepath.Join(dir, single), data, 0o644)
	}
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("the source is not a valid zip archive: %v", err)
	}
	if len(z.File) > MaxFiles {
		return fmt.Errorf("the source archive has more than %d members", MaxFiles)
	}
	var total uint64
	for _, f := range z.File {
		name := path.Clean(strings.ReplaceAll(f.Name, "\\", "/"))
		if strings.HasPrefix(name, "/") || name == ".." || strings.HasPrefix(name, "../") || strings.ContainsRune(name, 0) {
			return fmt.Errorf("the source archive's member %q leaves the source directory", f.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		}
		if !f.Mode().IsRegular() {
			continue // symlinks and devices are not extracted
		}
		total += f.UncompressedSize64
		if total > MaxArchive {
			return fmt.Errorf("the source archive unpacks to more than %d bytes", MaxArchive)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("cannot read %s from the source archive: %v", f.Name, err)
		}
		mode := os.FileMode(0o644)
		if f.Mode()&0o111 != 0 {
			mode = 0o755
		}
		out, err := os.OpenFile(target, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
		if err != nil {
			rc.Close()
			return err
		}
		_, err = io.Copy(out, io.LimitReader(rc, MaxArchive))
		rc.Close()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// collected is a file an artifact holds: its path in the source and its name in the artifact.
type collected struct {
	src, name string
}

// collect lists the files of srcDir an artifact declaration selects.
func collect(srcDir string, a buildspec.Artifacts) ([]collected, error) {
	base := filepath.Join(srcDir, filepath.FromSlash(a.BaseDirectory))
	var out []collected
	seen := map[string]bool{}
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(base, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		for _, pat := range a.Files {
			if buildspec.Match(path.Clean(pat), rel) {
				name := rel
				if a.DiscardPaths {
					name = path.Base(rel)
				}
				if !seen[name] {
					seen[name] = true
					out = append(out, collected{p, name})
				}
				break
			}
		}
		if len(out) > MaxFiles {
			return fmt.Errorf("the artifact selects more than %d files", MaxFiles)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// zipFiles packs files into a zip archive.
func zipFiles(files []collected) ([]byte, error) {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, f := range files {
		fi, err := os.Stat(f.src)
		if err != nil {
			return nil, err
		}
		h, err := zip.FileInfoHeader(fi)
		if err != nil {
			return nil, err
		}
		h.Name, h.Method = f.name, zip.Deflate
		w, err := z.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		in, err := os.Open(f.src)
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(w, in)
		in.Close()
		if err != nil {
			return nil, err
		}
		if buf.Len() > MaxArchive {
			return nil, fmt.Errorf("the artifact is larger than %d bytes", MaxArchive)
		}
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
