package definition

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses an ISO 8601 duration as CacheConfig.ExpireAfter holds it: P[nY][nM][nW][nD][T[nH][nM][nS]],
// case-insensitive, with the leading P optional as the SDK's examples write it ("T12H"). A year
// counts 365 days and a month 30. Fractions are allowed on the last component.
func ParseDuration(s string) (time.Duration, error) {
	in := s
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "P")
	if s == "" || s == "T" {
		return 0, fmt.Errorf("invalid ISO 8601 duration %q", in)
	}
	const day = 24 * time.Hour
	datePart, timePart, hasT := strings.Cut(s, "T")
	if hasT && timePart == "" {
		return 0, fmt.Errorf("invalid ISO 8601 duration %q: nothing after T", in)
	}
	var total float64
	parse := func(part string, units map[byte]time.Duration, order string) error {
		last := -1
		for len(part) > 0 {
			i := 0
			for i < len(part) && (part[i] >= '0' && part[i] <= '9' || part[i] == '.' || part[i] == ',') {
				i++
			}
			if i == 0 || i == len(part) {
				return fmt.Errorf("invalid ISO 8601 duration %q", in)
			}
			n, err := strconv.ParseFloat(strings.Replace(part[:i], ",", ".", 1), 64)
			if err != nil {
				return fmt.Errorf("invalid ISO 8601 duration %q", in)
			}
			u, ok := units[part[i]]
			at := strings.IndexByte(order, part[i])
			if !ok || at <= last {
				return fmt.Errorf("invalid ISO 8601 duration %q: unexpected %q", in, part[i])
			}
			last = at
			total += n * float64(u)
			part = part[i+1:]
		}
		return nil
	}
	if err := parse(datePart, map[byte]time.Duration{'Y': 365 * day, 'M': 30 * day, 'W': 7 * day, 'D': day}, "YMWD"); err != nil {
		return 0, err
	}
	if err := parse(timePart, map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second}, "HMS"); err != nil {
		return 0, err
	}
	if total > math.MaxInt64/2 {
		return 0, fmt.Errorf("ISO 8601 duration %q is too long", in)
	}
	return time.Duration(total), nil
}
