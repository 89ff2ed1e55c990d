package container

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/algorithms/xgboost"
	"github.com/slipway-ml/slipway/internal/batch"
)

// TestTransformPickledModel: a model the 1.0-1 image wrote (a pickle) transforms CSV rows with an
// id column dropped by InputFilter, joined back to the input and reduced to id and prediction.
func TestTransformPickledModel(t *testing.T) {
	train, val, test := abaloneCSVs(t)
	root := jobDir(t, map[string]string{"num_round": "20", "max_depth": "4"}, "text/csv", map[string]string{"train": train, "validation": val})
	must(t, RunXGBoost(context.Background(), paths(root), FormatPickle, &bytes.Buffer{}))

	// The input: id, then the features (the test rows without their label).
	var in strings.Builder
	lines := strings.Split(strings.TrimSpace(test), "\n")
	for i, l := range lines {
		_, feats, _ := strings.Cut(l, ",")
		fmt.Fprintf(&in, "id%d,%s\n", i, feats)
	}
	inDir, outDir := t.TempDir(), t.TempDir()
	must(t, os.MkdirAll(filepath.Join(inDir, "batch"), 0o755))
	must(t, os.WriteFile(filepath.Join(inDir, "batch", "rows.csv"), []byte(in.String()), 0o644))
	err := RunTransform(context.Background(), Transform{ModelDir: filepath.Join(root, "model"), InputDir: inDir, OutputDir: outDir, Params: batch.Params{
		SplitType: "Line", BatchStrategy: "MultiRecord", MaxPayloadInMB: 1, ContentType: "text/csv", Accept: "text/csv",
		AssembleWith: "Line", InputFilter: "$[1:]", JoinSource: "Input", OutputFilter: "$[0,-1]",
	}})
	must(t, err)
	out, err := os.ReadFile(filepath.Join(outDir, "batch", "rows.csv.out"))
	must(t, err)

	b, err := xgboost.LoadModel(filepath.Join(root, "model", XGBoostModelFile))
	must(t, err)
	d, err := dataset.Read(strings.NewReader(test), "test.csv", dataset.Options{Format: dataset.FormatCSV})
	must(t, err)
	want, err := b.Predict(d, xgboost.PredictOptions{})
	must(t, err)
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(got) != len(want) {
		t.Fatalf("%d output lines for %d inputs", len(got), len(want))
	}
	for i, l := range got {
		id, v, _ := strings.Cut(l, ",")
		f, _ := strconv.ParseFloat(v, 64)
		if id != fmt.Sprintf("id%d", i) || math.Abs(f-float64(want[i])) > 1e-6 {
			t.Fatalf("line %d = %q, want id%d,%g", i, l, i, want[i])
		}
	}
}

func TestTransformJSONAndFailure(t *testing.T) {
	train, _, _ := abaloneCSVs(t)
	root := jobDir(t, map[string]string{}, "text/csv", map[string]string{"train": train})
	must(t, RunLinear(context.Background(), paths(root), &bytes.Buffer{}))
	p := paths(root)
	must(t, os.RemoveAll(p.InputData)) // a transform job's input is only what it transforms
	// The engine stages the input as the channel "input"; outputs are named by the key under
	// the input prefix (sub/x.csv → sub/x.csv.out), without the channel.
	must(t, os.MkdirAll(filepath.Join(p.InputData, "input", "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(p.InputData, "input", "sub", "x.csv"), []byte("0,1,0,0.5,0.4,0.1,0.5,0.2,0.1,0.15\n"), 0o644))
	must(t, RunTransformJob(context.Background(), p, batch.Params{SplitType: "Line", ContentType: "text/csv", Accept: "application/json"}))
	out, err := os.ReadFile(filepath.Join(p.OutputData, "sub", "x.csv.out"))
	must(t, err)
	var resp struct{ Predictions []struct{ Score float64 } }
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.Predictions) != 1 {
		t.Fatalf("output %q: %v", out, err)
	}

	must(t, os.WriteFile(filepath.Join(p.InputData, "input", "sub", "x.csv"), []byte("1,2\n"), 0o644))
	if err := RunTransformJob(context.Background(), p, batch.Params{SplitType: "Line", ContentType: "text/csv"}); err == nil {
		t.Fatal("a short row was accepted")
	}
	failure, _ := os.ReadFile(filepath.Join(p.Output, "failure"))
	if !strings.Contains(string(failure), "x.csv") || !strings.Contains(string(failure), "2 features") {
		t.Errorf("failure %q", failure)
	}
}
