package artifacts

import (
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Range is a byte range of a GetObject: bytes First..Last (Last < 0: to the end), or the
// last Suffix bytes when Suffix > 0.
type Range struct {
	First, Last int64
	Suffix      int64
}

// ParseRange reads an HTTP Range header of one byte range ("bytes=0-99", "bytes=100-",
// "bytes=-500"). It returns nil for a header S3 ignores (empty, another unit, several ranges or
// bad syntax): the whole object is answered then.
func ParseRange(h string) *Range {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return nil
	}
	num := func(s string) (int64, bool) {
		if s == "" || len(s) > 18 {
			return 0, false
		}
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	if first == "" {
		n, ok := num(last)
		if !ok {
			return nil
		}
		if n == 0 {
			return &Range{First: 1, Last: 0} // unsatisfiable: resolve says so
		}
		return &Range{Suffix: n}
	}
	f, ok := num(first)
	if !ok {
		return nil
	}
	if last == "" {
		return &Range{First: f, Last: -1}
	}
	l, ok := num(last)
	if !ok || l < f {
		return nil
	}
	return &Range{First: f, Last: l}
}

// resolve returns the offset and length of r in an object of size bytes, or InvalidRange.
func (r *Range) resolve(size int64) (off, n int64, err error) {
	if r == nil {
		return 0, size, nil
	}
	if r.Suffix > 0 {
		n = min(r.Suffix, size)
		if n == 0 {
			return 0, 0, invalidRange(size)
		}
		return size - n, n, nil
	}
	if r.First >= size || r.Last >= 0 && r.Last < r.First {
		return 0, 0, invalidRange(size)
	}
	last := r.Last
	if last < 0 || last >= size {
		last = size - 1
	}
	return r.First, last - r.First + 1, nil
}

func invalidRange(size int64) error {
	return errs.E(errs.Invalid, "The requested range is not satisfiable (the object has %d bytes)", size).WithCode("InvalidRange")
}
