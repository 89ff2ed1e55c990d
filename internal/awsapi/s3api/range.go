package s3api

import (
	"errors"
	"strconv"
	"strings"
)

// sscanRange reads "bytes FIRST-LAST/SIZE".
func sscanRange(s string, first, last, size *int64) (int, error) {
	rest, ok := strings.CutPrefix(s, "bytes ")
	span, total, ok2 := strings.Cut(rest, "/")
	f, l, ok3 := strings.Cut(span, "-")
	if !ok || !ok2 || !ok3 {
		return 0, errors.New("not a content range")
	}
	var err error
	if *first, err = strconv.ParseInt(f, 10, 64); err != nil {
		return 0, err
	}
	if *last, err = strconv.ParseInt(l, 10, 64); err != nil {
		return 1, err
	}
	if *size, err = strconv.ParseInt(total, 10, 64); err != nil {
		return 2, err
	}
	return 3, nil
}
