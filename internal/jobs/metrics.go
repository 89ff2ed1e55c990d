package jobs

import (
	"regexp"
	"strconv"
	"time"
)

// metricScanner finds MetricDefinitions' values in log lines, keeping the last of each.
type metricScanner struct {
	defs []MetricDefinition
	res  []*regexp.Regexp
}

func newMetricScanner(defs []MetricDefinition) *metricScanner {
	s := &metricScanner{}
	for _, d := range defs {
		re, err := compileMetric(d.Regex)
		if err != nil {
			continue // Validate refused it at creation
		}
		s.defs = append(s.defs, d)
		s.res = append(s.res, re)
	}
	return s
}

// scan updates ms with the values line holds: a definition's first group when it has one, the
// whole match otherwise, if it parses as a number. It reports whether anything changed.
func (s *metricScanner) scan(line string, at time.Time, ms []Metric) ([]Metric, bool) {
	changed := false
	for i, re := range s.res {
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		text := m[0]
		if len(m) > 1 {
			text = m[1]
		}
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			continue
		}
		ms = setMetric(ms, Metric{Name: s.defs[i].Name, Value: v, Timestamp: at})
		changed = true
	}
	return ms, changed
}

func setMetric(ms []Metric, m Metric) []Metric {
	for i := range ms {
		if ms[i].Name == m.Name {
			ms[i] = m
			return ms
		}
	}
	return append(ms, m)
}
