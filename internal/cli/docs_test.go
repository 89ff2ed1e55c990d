package cli

import (
	"os"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/algorithms/linear"
	"github.com/slipway-ml/slipway/internal/algorithms/xgboost"
)

const docsPath = "../../docs/algorithms.md"

func mdCell(s string) string {
	if s == "" {
		return "—"
	}
	return strings.ReplaceAll(s, "|", `\|`)
}

// TestDocsHyperparameterTables checks that the hyperparameter tables of docs/algorithms.md are
// what the trainers describe; with -update it rewrites them.
func TestDocsHyperparameterTables(t *testing.T) {
	var xgb strings.Builder
	xgb.WriteString("| name | aliases | default | range | notes |\n|---|---|---|---|---|\n")
	for _, d := range xgboost.DefaultParams().Describe() {
		xgb.WriteString("| `" + d.Name + "` | " + mdCell(strings.Join(d.Aliases, ", ")) + " | " + mdCell(d.Default) + " | " +
			mdCell(d.Range) + " | " + mdCell(d.Note) + " |\n")
	}
	var lin strings.Builder
	lin.WriteString("| name | default | range | notes |\n|---|---|---|---|\n")
	for _, d := range linear.DefaultParams().Describe() {
		lin.WriteString("| `" + d.Name + "` | " + mdCell(d.Default) + " | " + mdCell(d.Range) + " | " + mdCell(d.Note) + " |\n")
	}
	src, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src)
	for _, block := range []struct{ begin, end, body string }{
		{"<!-- BEGIN xgboost-params (generated) -->\n", "<!-- END xgboost-params -->", xgb.String()},
		{"<!-- BEGIN linear-params (generated) -->\n", "<!-- END linear-params -->", lin.String()},
	} {
		i, j := strings.Index(doc, block.begin), strings.Index(doc, block.end)
		if i < 0 || j < i {
			t.Fatalf("%s lacks the markers %q … %q", docsPath, block.begin, block.end)
		}
		i += len(block.begin)
		if doc[i:j] != block.body {
			if !*update {
				t.Errorf("%s: the table between %q and %q is stale; run go test ./internal/cli -run TestDocs -update", docsPath, block.begin, block.end)
			}
			doc = doc[:i] + block.body + doc[j:]
		}
	}
	if *update && doc != string(src) {
		if err := os.WriteFile(docsPath, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
