// Package schedule parses EventBridge schedule expressions — rate(N minute|minutes|hour|hours|
// day|days) and cron(Minutes Hours Day-of-month Month Day-of-week Year) in AWS's syntax (with
// , - * ? / L W #) — and computes their firing times, in UTC.
//
// Invariants: Parse accepts only what EventBridge accepts (of the features above) and every
// Schedule it returns answers Next without looping forever: Next(t) is strictly after t, or
// zero when the expression never fires again (its years are past).
package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed expression.
type Schedule interface {
	// Next returns the first firing time strictly after t (zero: none).
	Next(t time.Time) time.Time
}

// Parse parses a schedule expression.
func Parse(expr string) (Schedule, error) {
	switch {
	case strings.HasPrefix(expr, "rate(") && strings.HasSuffix(expr, ")"):
		return parseRate(expr[5 : len(expr)-1])
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		return parseCron(expr[5 : len(expr)-1])
	}
	return nil, fmt.Errorf("%q is neither rate(…) nor cron(…)", expr)
}

// Rate fires every Every, at whole multiples of it after the Unix epoch's minute boundaries
// (a rule's firings are anchored by its scheduler, not here).
type Rate struct{ Every time.Duration }

func parseRate(s string) (Schedule, error) {
	num, unit, ok := strings.Cut(s, " ")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n <= 0 || num != strconv.Itoa(n) || n > 1_000_000 {
		return nil, fmt.Errorf("rate(%s): the value must be a positive whole number followed by a unit", s)
	}
	units := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
	base := strings.TrimSuffix(unit, "s")
	d, ok := units[base]
	if !ok {
		return nil, fmt.Errorf("rate(%s): the unit must be minute(s), hour(s) or day(s)", s)
	}
	if (n == 1) != (unit == base) {
		return nil, fmt.Errorf("rate(%s): use %q for 1 and %q otherwise", s, base, base+"s")
	}
	return Rate{Every: time.Duration(n) * d}, nil
}

// Next returns the next multiple of Every (from the epoch) after t.
func (r Rate) Next(t time.Time) time.Time {
	return t.UTC().Truncate(r.Every).Add(r.Every)
}

// Cron is a parsed cron expression.
type Cron struct {
	minutes, hours, months [64]bool
	years                  map[int]bool // nil: every year
	dom                    dayOfMonth   // nil when '?'
	dow                    dayOfWeek    // nil when '?'
}

type dayOfMonth func(y int, m time.Month, d int) bool
type dayOfWeek func(y int, m time.Month, d int, wd time.Weekday) bool

var monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
var dayNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

func parseCron(s string) (Schedule, error) {
	f := strings.Fields(s)
	if len(f) != 6 {
		return nil, fmt.Errorf("cron(%s): want 6 fields (minutes hours day-of-month month day-of-week year), got %d", s, len(f))
	}
	c := &Cron{}
	if err := set(f[0], 0, 59, nil, c.minutes[:]); err != nil {
		return nil, fmt.Errorf("cron(%s): minutes: %w", s, err)
	}
	if err := set(f[1], 0, 23, nil, c.hours[:]); err != nil {
		return nil, fmt.Errorf("cron(%s): hours: %w", s, err)
	}
	if err := set(f[3], 1, 12, monthNames, c.months[:]); err != nil {
		return nil, fmt.Errorf("cron(%s): month: %w", s, err)
	}
	if f[5] != "*" {
		var years [2200]bool
		if err := set(f[5], 1970, 2199, nil, years[:]); err != nil {
			return nil, fmt.Errorf("cron(%s): year: %w", s, err)
		}
		c.years = map[int]bool{}
		for y := 1970; y <= 2199; y++ {
			if years[y] {
				c.years[y] = true
			}
		}
	}
	switch {
	case f[2] == "?" && f[4] == "?":
		return nil, fmt.Errorf("cron(%s): only one of day-of-month and day-of-week may be '?'", s)
	case f[2] != "?" && f[4] != "?":
		return nil, fmt.Errorf("cron(%s): one of day-of-month and day-of-week must be '?'", s)
	case f[2] != "?":
		dom, err := parseDOM(f[2])
		if err != nil {
			return nil, fmt.Errorf("cron(%s): day-of-month: %w", s, err)
		}
		c.dom = dom
	default:
		dow, err := parseDOW(f[4])
		if err != nil {
			return nil, fmt.Errorf("cron(%s): day-of-week: %w", s, err)
		}
		c.dow = dow
	}
	return c, nil
}

// value parses a number or a name in [lo, hi].
func value(s string, lo, hi int, names map[string]int) (int, error) {
	if v, ok := names[strings.ToUpper(s)]; ok {
		return v, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi || s != strconv.Itoa(n) {
		return 0, fmt.Errorf("%q is not a value in %d-%d", s, lo, hi)
	}
	return n, nil
}

// set marks the values a list of *, a, a-b, */n, a/n, a-b/n selects.
func set(field string, lo, hi int, names map[string]int, out []bool) error {
	for _, part := range strings.Split(field, ",") {
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n <= 0 || n > hi || stepText != strconv.Itoa(n) {
				return fmt.Errorf("%q: the increment must be a whole number in 1-%d", part, hi)
			}
			step = n
		}
		from, to := lo, hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if from, err = value(a, lo, hi, names); err != nil {
				return err
			}
			if to, err = value(b, lo, hi, names); err != nil {
				return err
			}
			if to < from {
				return fmt.Errorf("%q: the range is backwards", rng)
			}
		default:
			v, err := value(rng, lo, hi, names)
			if err != nil {
				return err
			}
			from = v
			if !hasStep {
				to = v
			}
		}
		for v := from; v <= to; v += step {
			out[v] = true
		}
	}
	return nil
}

func daysIn(y int, m time.Month) int { return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// parseDOM parses a day-of-month field: a list, L (the last day), nW (the weekday nearest day
// n, within the month) or LW (the last weekday).
func parseDOM(f string) (dayOfMonth, error) {
	switch {
	case f == "L":
		return func(y int, m time.Month, d int) bool { return d == daysIn(y, m) }, nil
	case f == "LW":
		return func(y int, m time.Month, d int) bool { return d == nearestWeekday(y, m, daysIn(y, m)) }, nil
	case strings.HasSuffix(f, "W"):
		n, err := value(strings.TrimSuffix(f, "W"), 1, 31, nil)
		if err != nil {
			return nil, err
		}
		return func(y int, m time.Month, d int) bool { return n <= daysIn(y, m) && d == nearestWeekday(y, m, n) }, nil
	}
	var days [64]bool
	if err := set(f, 1, 31, nil, days[:]); err != nil {
		return nil, err
	}
	return func(y int, m time.Month, d int) bool { return days[d] }, nil
}

// nearestWeekday is the Monday–Friday nearest day n of the month, not leaving the month.
func nearestWeekday(y int, m time.Month, n int) int {
	last := daysIn(y, m)
	switch time.Date(y, m, n, 0, 0, 0, 0, time.UTC).Weekday() {
	case time.Saturday:
		if n == 1 {
			return 3
		}
		return n - 1
	case time.Sunday:
		if n == last {
			return n - 2
		}
		return n + 1
	}
	return n
}

// parseDOW parses a day-of-week field (1-7 or SUN-SAT, 1 is Sunday): a list, L (Saturday),
// nL (the last such day of the month) or n#k (the k-th such day of the month).
func parseDOW(f string) (dayOfWeek, error) {
	if f == "L" {
		return func(_ int, _ time.Month, _ int, wd time.Weekday) bool { return wd == time.Saturday }, nil
	}
	if a, b, ok := strings.Cut(f, "#"); ok {
		day, err := value(a, 1, 7, dayNames)
		if err != nil {
			return nil, err
		}
		k, err := value(b, 1, 5, nil)
		if err != nil {
			return nil, err
		}
		return func(_ int, _ time.Month, d int, wd time.Weekday) bool {
			return int(wd) == day-1 && (d-1)/7 == k-1
		}, nil
	}
	if a, ok := strings.CutSuffix(f, "L"); ok {
		day, err := value(a, 1, 7, dayNames)
		if err != nil {
			return nil, err
		}
		return func(y int, m time.Month, d int, wd time.Weekday) bool {
			return int(wd) == day-1 && d+7 > daysIn(y, m)
		}, nil
	}
	var days [64]bool
	if err := set(f, 1, 7, dayNames, days[:]); err != nil {
		return nil, err
	}
	return func(_ int, _ time.Month, _ int, wd time.Weekday) bool { return days[int(wd)+1] }, nil
}

func (c *Cron) dayMatches(t time.Time) bool {
	y, m, d := t.Date()
	if c.years != nil && !c.years[y] || !c.months[m] {
		return false
	}
	if c.dom != nil {
		return c.dom(y, m, d)
	}
	return c.dow(y, m, d, t.Weekday())
}

// Next returns the first minute matching the expression strictly after t.
func (c *Cron) Next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Minute).Add(time.Minute)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	for ; day.Year() <= 2199; day = day.AddDate(0, 0, 1) {
		if !c.dayMatches(day) {
			continue
		}
		for h := 0; h < 24; h++ {
			if !c.hours[h] {
				continue
			}
			for mi := 0; mi < 60; mi++ {
				if at := day.Add(time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute); c.minutes[mi] && !at.Before(t) {
					return at
				}
			}
		}
	}
	return time.Time{}
}
