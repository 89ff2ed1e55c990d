package artifacts_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/errs"
)

// FuzzRangeHeader: any Range header parses to nothing or to a range that, resolved against a
// size, stays inside the object.
func FuzzRangeHeader(f *testing.F) {
	for _, s := range []string{"bytes=0-99", "bytes=100-", "bytes=-5", "bytes=-0", "bytes=5-1", "bytes=0-1,3-4", "items=0-1", "bytes= 1-2", "bytes=99999999999999999999-", ""} {
		f.Add(s, int64(50))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
		}
		r := artifacts.ParseRange(h)
		if r == nil {
			return
		}
		info, err := artifacts.Resolve(r, size)
		if err != nil {
			if errs.CodeOf(err) != "InvalidRange" {
				t.Fatalf("%q on %d: %v", h, size, err)
			}
			return
		}
		if info[0] < 0 || info[1] <= 0 || info[0]+info[1] > size {
			t.Fatalf("%q on %d resolved to off %d n %d", h, size, info[0], info[1])
		}
	})
}

// FuzzObjectKey: a key is accepted only when S3 would store it, its ARN names it back, and
// nextPrefix bounds every key that begins with it.
func FuzzObjectKey(f *testing.F) {
	for _, s := range []string{"a/b.txt", "é/ü", strings.Repeat("k", 1025), "\x00", "\xff", "a/\U0010FFFF", "/"} {
		f.Add(s, "x")
	}
	f.Fuzz(func(t *testing.T, key, tail string) {
		err := artifacts.CheckKey(key)
		if err != nil {
			if c := errs.CodeOf(err); c != "KeyTooLongError" && c != "InvalidArgument" {
				t.Fatalf("CheckKey(%q): %v", key, err)
			}
			return
		}
		if len(key) > 1024 || !utf8.ValidString(key) {
			t.Fatalf("CheckKey accepted %q", key)
		}
		a, perr := arn.Parse(arn.S3Object("b", key))
		if perr != nil || a.Resource != "b/"+key {
			t.Fatalf("ARN of %q: %+v %v", key, a, perr)
		}
		np := artifacts.NextPrefix(key)
		if np == "" {
			return
		}
		if !utf8.ValidString(np) || np <= key {
			t.Fatalf("nextPrefix(%q) = %q", key, np)
		}
		if utf8.ValidString(tail) && key+tail >= np {
			t.Fatalf("%q+%q sorts after nextPrefix %q", key, tail, np)
		}
	})
}
