package randid

import (
	"regexp"
	"strings"
	"testing"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestUUIDIsVersion4AndUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := UUID()
		if !uuidRE.MatchString(id) {
			t.Fatalf("UUID() = %q, not a version-4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("UUID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestStringUsesOnlyAndAllOfTheAlphabet(t *testing.T) {
	const alphabet = "ab7"
	got := String(3000, alphabet)
	if len(got) != 3000 {
		t.Fatalf("len = %d, want 3000", len(got))
	}
	for _, c := range alphabet {
		// Each has probability 1/3; 3000 draws put each well above 800 unless the draw is biased.
		if n := strings.Count(got, string(c)); n < 800 {
			t.Errorf("%q drawn %d times of 3000", c, n)
		}
	}
	if strings.Trim(got, alphabet) != "" {
		t.Errorf("String drew characters outside %q: %q", alphabet, strings.Trim(got, alphabet))
	}
}

func BenchmarkUUID(b *testing.B) {
	for b.Loop() {
		UUID()
	}
}
