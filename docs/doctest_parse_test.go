package docs_test

import (
	"strings"
	"testing"
)

func TestParsePage(t *testing.T) {
	src := "# t\n<!-- doctest: after registry.md -->\n\n```sh server\nslipway server --data-dir d   # comment\n```\n\n" +
		"```text\nSlipway is listening on http://127.0.0.1:9330\n```\n\n```sh\necho hi\n```\nprose\n```text\nnot expected\n```\n" +
		"```sh fails\nfalse\n```\n```text\n  error ... here  \n\n```\n```sh norun\nmake test\n```\n```json\n{}\n```\n"
	p, err := parse("x.md", src)
	if err != nil {
		t.Fatal(err)
	}
	if p.mode != "after" || p.after != "registry.md" {
		t.Errorf("mode %q after %q", p.mode, p.after)
	}
	var kinds []string
	for _, b := range p.blocks {
		kinds = append(kinds, b.kind)
	}
	if got := strings.Join(kinds, ","); got != "server,run,fails,norun" {
		t.Fatalf("kinds = %s", got)
	}
	if len(p.blocks[0].expect) != 1 || len(p.blocks[1].expect) != 0 || p.blocks[2].expect[0].text != "error ... here" || p.blocks[2].expect[0].line != 23 {
		t.Errorf("expectations: %+v", p.blocks)
	}
	for _, bad := range []string{
		"```console\n$ ls\n```\n",
		"```bash\nls\n```\n",
		"```sh weird\nls\n```\n",
		"```sh\nls\n",
		"<!-- doctest: none -->\n```sh\nls\n```\n",
		"```sh server\necho not a server\n```\n",
	} {
		if _, err := parse("bad.md", bad); err == nil {
			t.Errorf("parse accepted %q", bad)
		}
	}
}

func TestMatchOutput(t *testing.T) {
	out := "a\n  {\n    \"Arn\": \"arn:aws:iam::123456789012:user/admin\"\n  }\nTAGS\tk\tv\nlast\n"
	for _, tc := range []struct {
		want []string
		ok   bool
	}{
		{[]string{"a", `"Arn": "arn:aws:iam::...:user/admin"`, "last"}, true},
		{[]string{"{", "...", "last"}, true},
		{[]string{"TAGS\tk\tv"}, true},
		{[]string{"last", "a"}, false}, // order matters
		{[]string{"arn"}, false},       // whole lines only
		{[]string{"...:user/admin"}, false},
		{[]string{"..."}, true},
		{[]string{"a...a"}, false},
	} {
		var want []expectLine
		for i, w := range tc.want {
			want = append(want, expectLine{line: i, text: w})
		}
		if _, ok := matchOutput(want, out); ok != tc.ok {
			t.Errorf("matchOutput(%q) = %v, want %v", tc.want, ok, tc.ok)
		}
	}
}

// FuzzParse: parsing any page terminates without panicking, and every block it returns lies
// within the page.
func FuzzParse(f *testing.F) {
	f.Add("```sh\necho\n```\n```text\nx\n```\n")
	f.Add("<!-- doctest: after a.md -->\n```sh server\nslipway server\n```\n")
	f.Fuzz(func(t *testing.T, src string) {
		p, err := parse("f.md", src)
		if err != nil {
			return
		}
		n := strings.Count(src, "\n") + 1
		for _, b := range p.blocks {
			if b.line < 1 || b.line > n {
				t.Errorf("block at line %d of %d", b.line, n)
			}
		}
	})
}

func TestMatchLine(t *testing.T) {
	for _, tc := range []struct {
		want, got string
		ok        bool
	}{
		{"abc", "abc", true},
		{"a...c", "abbbc", true},
		{"a...c", "ac", true},
		{"a...", "a", true},
		{"...c", "xc", true},
		{"a...b...c", "a1b2c", true},
		{"a...b...c", "a1c2b", false},
		{"ab...ba", "aba", false},
	} {
		if got := matchLine(tc.want, tc.got); got != tc.ok {
			t.Errorf("matchLine(%q, %q) = %v", tc.want, tc.got, got)
		}
	}
}
