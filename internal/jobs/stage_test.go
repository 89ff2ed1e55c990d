package jobs

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestRelativeKey(t *testing.T) {
	for _, c := range []struct{ prefix, key, want string }{
		{"train/", "train/a.csv", "a.csv"},
		{"train", "train/a.csv", "a.csv"},
		{"train", "train2/a.csv", "train2/a.csv"},
		{"data/train", "data/train2/a.csv", "train2/a.csv"},
		{"data/abalone.csv", "data/abalone.csv", "abalone.csv"},
		{"", "x/y.csv", "x/y.csv"},
	} {
		if got := relativeKey(c.prefix, c.key); got != c.want {
			t.Errorf("relativeKey(%q, %q) = %q, want %q", c.prefix, c.key, got, c.want)
		}
	}
}

// FuzzSafeRel: an object key (or a tar entry's name) accepted as a relative path never leads
// out of the directory it is joined to.
func FuzzSafeRel(f *testing.F) {
	for _, s := range []string{"a/b.csv", "../x", "/etc/passwd", "a/../../b", ".", "", "a//b", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rel, ok := safeRel(s)
		if !ok {
			return
		}
		joined := filepath.Join("/root/dir", rel)
		if !strings.HasPrefix(joined, "/root/dir/") {
			t.Fatalf("%q -> %q escapes to %q", s, rel, joined)
		}
	})
}
