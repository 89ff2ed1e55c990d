package inference

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/errs"
)

type entry struct {
	hdr  tar.Header
	data string
}

func file(name, data string) entry {
	return entry{tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))}, data}
}

func archive(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := e.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// listTree returns every path below root, relative, sorted by the walk.
func listTree(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err == nil && p != root {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func TestExtractArchive(t *testing.T) {
	small, err := os.ReadFile(smallModel)
	if err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	dir := filepath.Join(parent, "model")
	exe := file("code/serve.sh", "#!/bin/sh\n")
	exe.hdr.Mode = 0o4755 // set-uid is dropped
	err = ExtractArchive(bytes.NewReader(archive(t,
		entry{tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}, ""},
		file("./xgboost-model", string(small)),
		entry{tar.Header{Name: "code/", Typeflag: tar.TypeDir, Mode: 0o777}, ""},
		exe,
		entry{tar.Header{Name: "code/latest", Typeflag: tar.TypeSymlink, Linkname: "serve.sh"}, ""},
		entry{tar.Header{Name: "model-link", Typeflag: tar.TypeSymlink, Linkname: "code/serve.sh"}, ""},
	)), dir)
	if err != nil {
		t.Fatalf("ExtractArchive: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, "code/serve.sh"))
	if err != nil || fi.Mode().Perm() != 0o755 || fi.Mode()&os.ModeSetuid != 0 {
		t.Errorf("code/serve.sh: %v, %v; want mode 0755 without set-uid", fi.Mode(), err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "code/latest")); err != nil || string(b) != "#!/bin/sh\n" {
		t.Errorf("code/latest = %q, %v", b, err)
	}
	m, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	if got := m.(*Runtime).Signature().Features; got != 3 {
		t.Errorf("features = %d, want 3", got)
	}
}

func TestExtractArchiveRefusals(t *testing.T) {
	tests := []struct {
		name    string
		data    func(t testing.TB) []byte
		maxSize int64
		maxN    int
		msg     string
	}{
		{"not gzip", func(testing.TB) []byte { return []byte("PK\x03\x04 a zip") }, 0, 0, "not gzip"},
		{"not tar", func(t testing.TB) []byte {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(bytes.Repeat([]byte("x"), 1000))
			zw.Close()
			return b.Bytes()
		}, 0, 0, "not a valid tar"},
		{"dotdot", func(t testing.TB) []byte { return archive(t, file("../evil", "x")) }, 0, 0, "outside"},
		{"dotdot inside", func(t testing.TB) []byte { return archive(t, file("a/../../evil", "x")) }, 0, 0, "outside"},
		{"absolute", func(t testing.TB) []byte { return archive(t, file("/tmp/evil", "x")) }, 0, 0, "outside"},
		{"backslash", func(t testing.TB) []byte { return archive(t, file(`..\evil`, "x")) }, 0, 0, "outside"},
		{"link out absolute", func(t testing.TB) []byte {
			return archive(t, entry{tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc"}, ""})
		}, 0, 0, "outside"},
		{"link out dotdot", func(t testing.TB) []byte {
			return archive(t, entry{tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "a/../.."}, ""})
		}, 0, 0, "outside"},
		{"write through a link to the root", func(t testing.TB) []byte {
			// "d" → "." is allowed, but "d/../x" has a ".." element and is refused before the kernel sees it.
			return archive(t, entry{tar.Header{Name: "d", Typeflag: tar.TypeSymlink, Linkname: "."}, ""}, file("d/../evil", "x"))
		}, 0, 0, "outside"},
		{"replace a link", func(t testing.TB) []byte {
			return archive(t, entry{tar.Header{Name: "xgboost-model", Typeflag: tar.TypeSymlink, Linkname: "other"}, ""}, file("xgboost-model", "x"))
		}, 0, 0, "twice"},
		{"hard link", func(t testing.TB) []byte {
			return archive(t, file("a", "x"), entry{tar.Header{Name: "b", Typeflag: tar.TypeLink, Linkname: "a"}, ""})
		}, 0, 0, "not a file"},
		{"device", func(t testing.TB) []byte {
			return archive(t, entry{tar.Header{Name: "null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}, ""})
		}, 0, 0, "not a file"},
		{"bomb", func(t testing.TB) []byte {
			return archive(t, file("a", strings.Repeat("0", 600)), file("b", strings.Repeat("0", 600)))
		}, 1000, 0, "exceed 1000 bytes"},
		{"entries", func(t testing.TB) []byte { return archive(t, file("a", ""), file("b", ""), file("c", "")) }, 0, 2, "more than 2 entries"},
		{"truncated", func(t testing.TB) []byte {
			b := archive(t, file("a", strings.Repeat("abc", 5000)))
			return b[:len(b)/2]
		}, 0, 0, "truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "model")
			maxSize, maxN := tc.maxSize, tc.maxN
			if maxSize == 0 {
				maxSize = MaxArchiveBytes
			}
			if maxN == 0 {
				maxN = MaxArchiveEntries
			}
			err := extract(bytes.NewReader(tc.data(t)), dir, maxSize, maxN)
			if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.Message(err), tc.msg) {
				t.Fatalf("extract = %v, want Invalid containing %q", err, tc.msg)
			}
			for _, p := range listTree(t, parent) {
				if p != "model" && !strings.HasPrefix(p, "model"+string(filepath.Separator)) {
					t.Errorf("%s was written outside the model directory", p)
				}
			}
		})
	}
}

func hdrLink(name, target string) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target}
}
