package pattern_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/slipway-ml/slipway/internal/events/pattern"
)

// rules1000 is a realistic rule set: 1,000 rules over 50 sources and detail types, each also
// filtering on its detail (exact, anything-but, numeric, prefix), a tenth with no indexable field.
func rules1000(b *testing.B) *pattern.Set {
	set := pattern.NewSet()
	for i := 0; i < 1000; i++ {
		var text string
		switch {
		case i%10 == 9:
			text = fmt.Sprintf(`{"detail":{"n":[{"numeric":[">",%d,"<",%d]}],"name":[{"prefix":"job-%d"}]}}`, i, i+1, i)
		default:
			text = fmt.Sprintf(`{"source":["svc.%d"],"detail-type":["Type %d"],"detail":{"status":[{"anything-but":"Failed"}],"group":["g%d","h%d"]}}`, i%50, i%20, i, i)
		}
		p, err := pattern.Compile(text)
		if err != nil {
			b.Fatal(err)
		}
		set.Add(fmt.Sprint(i), p)
	}
	return set
}

const benchEvent = `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Type 7","source":"svc.7",` +
	`"account":"111122223333","time":"2026-12-03T07:00:00Z","region":"us-east-1","resources":["arn:aws:sagemaker:us-east-1:111122223333:model-package/g/1"],` +
	`"detail":{"status":"Approved","group":"g207","n":12.5,"name":"job-x","ModelPackageVersion":1}}`

// BenchmarkMatch1000Rules measures events per second against 1,000 rules: the event parsed from
// its JSON each time (as delivery does), and pre-parsed (matching alone).
func BenchmarkMatch1000Rules(b *testing.B) {
	set := rules1000(b)
	b.Run("parse+match", func(b *testing.B) {
		matched := 0
		for b.Loop() {
			ev, err := pattern.Parse([]byte(benchEvent))
			if err != nil {
				b.Fatal(err)
			}
			set.Match(ev, func(string) { matched++ })
		}
		if matched == 0 {
			b.Fatal("no rule matched")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	// Reference: the same with encoding/json parsing the event.
	b.Run("encoding-json+match", func(b *testing.B) {
		matched := 0
		for b.Loop() {
			var v map[string]any
			if err := json.Unmarshal([]byte(benchEvent), &v); err != nil {
				b.Fatal(err)
			}
			set.Match(pattern.FromValue(v), func(string) { matched++ })
		}
		if matched == 0 {
			b.Fatal("no rule matched")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("match", func(b *testing.B) {
		ev, err := pattern.Parse([]byte(benchEvent))
		if err != nil {
			b.Fatal(err)
		}
		matched := 0
		for b.Loop() {
			set.Match(ev, func(string) { matched++ })
		}
		if matched == 0 {
			b.Fatal("no rule matched")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	// Reference: trying every rule without the index.
	b.Run("brute-force", func(b *testing.B) {
		var ps []*pattern.Pattern
		for i := 0; i < 1000; i++ {
			text := fmt.Sprintf(`{"source":["svc.%d"],"detail-type":["Type %d"],"detail":{"status":[{"anything-but":"Failed"}],"group":["g%d","h%d"]}}`, i%50, i%20, i, i)
			p, err := pattern.Compile(text)
			if err != nil {
				b.Fatal(err)
			}
			ps = append(ps, p)
		}
		ev, err := pattern.Parse([]byte(benchEvent))
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			for _, p := range ps {
				p.Match(ev)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
