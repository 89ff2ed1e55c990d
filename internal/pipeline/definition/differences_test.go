package definition

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDifferences: each differing path carries both sides' values as JSON; a side that lacks
// the member has none; numbers compare by value.
func TestDifferences(t *testing.T) {
	dec := func(s string) any {
		var v any
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	for _, c := range []struct {
		name, a, b string
		want       []Difference
	}{
		{"equal, numbers by value", `{"N":5,"L":[1,"x"]}`, `{"N":5.0,"L":[1,"x"]}`, nil},
		{"changed value", `{"E":{"MSE":"2.5"}}`, `{"E":{"MSE":"4"}}`, []Difference{{Path: "$.E.MSE", Before: raw(`"2.5"`), After: raw(`"4"`)}}},
		{"added and removed", `{"A":1}`, `{"B":{"x":true}}`, []Difference{{Path: "$.A", Before: raw(`1`)}, {Path: "$.B", After: raw(`{"x":true}`)}}},
		{"array length", `{"L":[1]}`, `{"L":[1,2]}`, []Difference{{Path: "$.L", Before: raw(`[1]`), After: raw(`[1,2]`)}}},
		{"array element", `{"L":[{"U":"s3://a"}]}`, `{"L":[{"U":"s3://b"}]}`, []Difference{{Path: "$.L[0].U", Before: raw(`"s3://a"`), After: raw(`"s3://b"`)}}},
		{"type change", `{"V":{"x":1}}`, `{"V":"x"}`, []Difference{{Path: "$.V", Before: raw(`{"x":1}`), After: raw(`"x"`)}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Differences(dec(c.a), dec(c.b))
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("Differences (-want +got):\n%s", diff)
			}
			paths := DiffPaths(dec(c.a), dec(c.b))
			if len(paths) != len(c.want) {
				t.Errorf("DiffPaths = %v, want %d paths", paths, len(c.want))
			}
		})
	}
}
