package logs

import (
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/errs"
)

// FuzzToken checks GetLogEvents' token parser on any input: it refuses with Invalid or accepts
// a token that prints back to one naming the same position and direction.
func FuzzToken(f *testing.F) {
	for _, s := range []string{"f/" + strings.Repeat("0", 40) + "/s", "b/" + strings.Repeat("9", 19) + strings.Repeat("1", 21), "f/", "x", "f/-0000000000000000001" + strings.Repeat("0", 20)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := parseToken(s)
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("parseToken(%q) = %v, want an Invalid error", s, err)
			}
			return
		}
		again, err := parseToken(tok.String())
		if err != nil || again != tok {
			t.Fatalf("parseToken(%q) = %+v; its String %q parses to %+v, %v", s, tok, tok.String(), again, err)
		}
		if tok.at.Timestamp < 0 || tok.at.Seq < 0 {
			t.Fatalf("parseToken(%q) accepted a negative position %+v", s, tok.at)
		}
	})
}
