package logs

import (
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/errs"
)

func TestPattern(t *testing.T) {
	tests := []struct {
		pattern string
		match   []string
		miss    []string
	}{
		{"", []string{"", "anything"}, nil},
		{"ERROR", []string{"ERROR: disk full", "an ERROR"}, []string{"error: disk full", "ERRO"}},
		{"ERROR disk", []string{"ERROR: disk full"}, []string{"ERROR: memory", "disk full"}},
		{`"disk full"`, []string{"ERROR: disk full now"}, []string{"disk is full"}},
		{`"a \"quoted\" word"`, []string{`x a "quoted" word y`}, []string{"a quoted word"}},
		{"?ERROR ?WARN", []string{"ERROR x", "WARN y"}, []string{"INFO z"}},
		{"ERROR -retrying", []string{"ERROR fatal"}, []string{"ERROR retrying"}},
		{`train -"validation-rmse"`, []string{"[1]#011train-rmse:1.2"}, []string{"[1]#011train-rmse:1.2#011validation-rmse:1.3"}},
		{"  spaced   terms  ", []string{"terms spaced"}, []string{"spaced"}},
		{"train-rmse:", []string{"[0]#011train-rmse:3.1"}, []string{"train-mae:"}},
	}
	for _, tc := range tests {
		p, err := ParsePattern(tc.pattern)
		if err != nil {
			t.Errorf("ParsePattern(%q): %v", tc.pattern, err)
			continue
		}
		for _, m := range tc.match {
			if !p.Match(m) {
				t.Errorf("%q does not match %q; want a match", tc.pattern, m)
			}
		}
		for _, m := range tc.miss {
			if p.Match(m) {
				t.Errorf("%q matches %q; want none", tc.pattern, m)
			}
		}
	}
}

func TestPatternRefused(t *testing.T) {
	for _, s := range []string{
		`{ $.level = "error" }`, `[ip, user, status=404]`, `%ERR.*%`, `"unterminated`, `?`, `-`, `a"b`, `"a"b`,
		strings.Repeat("x", MaxPatternLength+1), "bad\xffutf8",
	} {
		if _, err := ParsePattern(s); !errs.Is(err, errs.Invalid) {
			t.Errorf("ParsePattern(%q) = %v, want an Invalid error", s, err)
		}
	}
}

// FuzzPattern checks that no pattern crashes the parser, that an accepted pattern matches
// deterministically, and that every plain term of an accepted pattern, alone, finds itself.
func FuzzPattern(f *testing.F) {
	for _, s := range []string{"", "ERROR", `"a b" -c ?d ?e`, `{ $.x = 1 }`, `"\"`, `?"x\\"`, "- a", "a\tb\n"} {
		f.Add(s, "some message ERROR a b d")
	}
	f.Fuzz(func(t *testing.T, pattern, message string) {
		p, err := ParsePattern(pattern)
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("ParsePattern(%q) = %v, want an Invalid error", pattern, err)
			}
			return
		}
		if p.Match(message) != p.Match(message) {
			t.Fatal("Match is not deterministic")
		}
		for _, term := range p.all {
			if !p.Match(strings.Join(p.all, " ")+" "+strings.Join(p.any, " ")) && len(p.none) == 0 {
				t.Fatalf("pattern %q does not match the message made of its own terms (%q)", pattern, term)
			}
		}
	})
}
