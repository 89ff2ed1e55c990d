package schedule

import (
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestNext: examples from EventBridge's documentation of schedule expressions, and each
// special character.
func TestNext(t *testing.T) {
	for _, c := range []struct{ expr, after, want string }{
		{"cron(0 10 * * ? *)", "2026-12-03 08:10", "2026-12-03 10:00"},           // 10:00 every day
		{"cron(0 10 * * ? *)", "2026-12-03 10:00", "2026-12-04 10:00"},           // strictly after
		{"cron(15 12 * * ? *)", "2026-12-03 13:00", "2026-12-04 12:15"},          // 12:15 every day
		{"cron(0 18 ? * MON-FRI *)", "2026-12-04 18:30", "2026-12-07 18:00"},     // Friday evening → Monday
		{"cron(0 8 1 * ? *)", "2026-12-03 08:10", "2027-01-01 08:00"},            // the first of every month
		{"cron(0/15 * * * ? *)", "2026-12-03 08:10", "2026-12-03 08:15"},         // every 15 minutes
		{"cron(0/10 * ? * MON-FRI *)", "2026-12-05 00:00", "2026-12-07 00:00"},   // weekdays only
		{"cron(0/5 8-17 ? * MON-FRI *)", "2026-12-03 17:56", "2026-12-04 08:00"}, // working hours
		{"cron(0 9 ? * 2#1 *)", "2026-12-03 00:00", "2026-12-07 09:00"},          // first Monday (Dec 1 is a Tuesday)
		{"cron(0 0 L * ? *)", "2026-02-10 00:00", "2026-02-28 00:00"},            // last day of the month
		{"cron(0 0 L * ? *)", "2028-02-10 00:00", "2028-02-29 00:00"},            // leap year
		{"cron(0 0 ? * 6L *)", "2026-12-01 00:00", "2026-12-25 00:00"},           // last Friday
		{"cron(0 0 15W * ? *)", "2026-08-01 00:00", "2026-08-14 00:00"},          // the 15th is a Saturday → Friday 14th
		{"cron(0 0 1W * ? *)", "2026-07-31 00:00", "2026-08-03 00:00"},           // the 1st is a Saturday → Monday 3rd
		{"cron(0 0 LW * ? *)", "2026-05-01 00:00", "2026-05-29 00:00"},           // May 31 is a Sunday → Friday 29th
		{"cron(0 12 ? * L *)", "2026-12-03 00:00", "2026-12-05 12:00"},           // L alone: Saturday
		{"cron(30 6 ? * SUN,SAT 2027)", "2026-12-03 00:00", "2027-01-02 06:30"},  // a year
		{"cron(0 0 1 JAN ? 2020)", "2026-12-03 00:00", ""},                       // never again
		{"rate(5 minutes)", "2026-12-03 08:12", "2026-12-03 08:15"},
		{"rate(1 hour)", "2026-12-03 08:12", "2026-12-03 09:00"},
	} {
		s, err := Parse(c.expr)
		if err != nil {
			t.Errorf("Parse(%s): %v", c.expr, err)
			continue
		}
		got := s.Next(at(c.after))
		if c.want == "" {
			if !got.IsZero() {
				t.Errorf("%s after %s = %v, want none", c.expr, c.after, got)
			}
			continue
		}
		if !got.Equal(at(c.want)) {
			t.Errorf("%s after %s = %v, want %s", c.expr, c.after, got, c.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, expr := range []string{
		"rate(0 minutes)", "rate(1 minutes)", "rate(5 minute)", "rate(5 weeks)", "rate(-1 days)", "rate(05 days)", "rate(5)",
		"cron(0 10 * * * *)", "cron(0 10 ? * ? *)", "cron(0 10 * *)", "cron(60 10 * * ? *)", "cron(0 24 * * ? *)",
		"cron(0 0 32 * ? *)", "cron(0 0 ? * 8 *)", "cron(0 0 ? * 2#6 *)", "cron(0 0 1 13 ? *)", "cron(0 0 1 * ? 2200)",
		"cron(0/0 * * * ? *)", "cron(5-1 * * * ? *)", "cron(0 0 0W * ? *)", "every day", "cron()",
	} {
		if _, err := Parse(expr); err == nil {
			t.Errorf("Parse(%s) accepted it", expr)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"rate(5 minutes)", "cron(0/5 8-17 ? * MON-FRI *)", "cron(0 0 LW * ? *)", "cron(0 9 ? * 2#1 2027)", "cron(0 0 ? * 6L *)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := Parse(expr)
		if err != nil {
			return
		}
		from := time.Date(2026, 12, 3, 8, 10, 0, 0, time.UTC)
		if n := s.Next(from); !n.IsZero() && !n.After(from) {
			t.Fatalf("%s: Next(%v) = %v is not after it", expr, from, n)
		}
	})
}
