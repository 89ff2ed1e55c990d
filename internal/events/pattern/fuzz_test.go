package pattern_test

import (
	"encoding/json"
	"reflect"
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

// FuzzDecode holds the event parser to encoding/json: the same value, or both refuse.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":[true,false,null,"x\"y",-0.5e3],"c":{"d":"\u00e9\ud83d\ude00"}}`, `[]`, `{}`, `"s"`, `1e999`, `{"a":1}x`,
		`{"a" : [ 1 , 2 ] }`, "\"\xff\"", `01`, `-`, `1.`, `{"a":1,"a":2}`, `[1,]`, `{"a"}`, "\"a\tb\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, gotErr := pattern.DecodeForTest(data)
		var want any
		wantErr := json.Unmarshal(data, &want)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("decode(%q): err %v; encoding/json: %v", data, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("decode(%q) = %#v; encoding/json: %#v", data, got, want)
		}
	})
}
