package pattern_test

import (
	"testing"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events/pattern"
)

// FuzzCompile: any input either compiles, and then matches any event without panicking, or is
// refused with InvalidEventPatternException.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		`{"source":["aws.sagemaker"],"detail-type":["SageMaker Model Package State Change"],"detail":{"ModelApprovalStatus":["Approved"]}}`,
		`{"detail":{"n":[{"numeric":[">",0,"<=",5]}],"s":[{"anything-but":{"prefix":"x"}}]}}`,
		`{"$or":[{"a":[{"wildcard":"a*b\\*"}]},{"b":[{"cidr":"10.0.0.0/8"},{"exists":false},null,""]}]}`,
		`{"a":[{"prefix":{"equals-ignore-case":"X"}},{"anything-but":{"equals-ignore-case":["y"]}}]}`,
		`{"a":{"b":{"c":[1,2.5,-3e2,true]}}}`,
	} {
		f.Add(s, `{"source":"aws.sagemaker","detail":{"n":3,"s":"xy","a":[{"b":1}]},"a":"aXb*","b":"10.1.2.3"}`)
	}
	f.Fuzz(func(t *testing.T, pat, event string) {
		p, err := pattern.Compile(pat)
		if err != nil {
			if errs.CodeOf(err) != "InvalidEventPatternException" {
				t.Fatalf("Compile(%q): %v without the InvalidEventPatternException code", pat, err)
			}
			return
		}
		ev, err := pattern.Parse([]byte(event))
		if err != nil {
			return
		}
		got := p.Match(ev)
		set := pattern.NewSet()
		set.Add("p", p)
		n := 0
		set.Match(ev, func(string) { n++ })
		if (n == 1) != got {
			t.Fatalf("Set.Match found %d, Match = %v for %q on %q", n, got, pat, event)
		}
	})
}
