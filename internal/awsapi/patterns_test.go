package awsapi

import (
	"strings"
	"testing"
)

// TestPatternWordsNameModelPatterns: every pattern explained in words is a pattern of a model
// this server serves (a typo would never be used), and a violation shows the words and the
// pattern.
func TestPatternWordsNameModelPatterns(t *testing.T) {
	used := map[string]bool{}
	for _, name := range []string{"sagemaker", "iam", "sts", "organizations", "sagemaker-runtime"} {
		m, err := LoadModel(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range m.Shapes {
			used[s.Pattern] = true
		}
	}
	for p, w := range patternWords {
		if !used[p] {
			t.Errorf("pattern %q (%s) is in no model", p, w)
		}
	}
	got := patternConstraint(`[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`)
	if !strings.Contains(got, "1 to 63 letters, digits and hyphens") || !strings.Contains(got, "(regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})") {
		t.Errorf("constraint = %q", got)
	}
	if got := patternConstraint(`x+`); got != "Member must satisfy regular expression pattern: x+" {
		t.Errorf("unknown pattern: %q", got)
	}
}
