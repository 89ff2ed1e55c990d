package definition

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// seedDefinitions are the definitions the fuzzers start from: the test definitions, the
// examples and a few random graphs.
func seedDefinitions(f *testing.F) [][]byte {
	seeds := [][]byte{[]byte(small), []byte(`{"Version":"2020-12-01","Steps":[{"Name":"F","Type":"Fail","Arguments":{"ErrorMessage":"x"}}]}`)}
	for _, p := range exampleFiles(f) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	matches, _ := filepath.Glob("testdata/*.json")
	for _, p := range matches {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	for i := uint64(0); i < 5; i++ {
		seeds = append(seeds, randomDefinition(rand.New(rand.NewPCG(i, 99))))
	}
	return seeds
}

// exampleFiles lists the pipeline definitions shipped in examples/.
func exampleFiles(tb testing.TB) []string {
	matches, err := filepath.Glob("../../../examples/*/pipeline.json")
	if err != nil {
		tb.Fatal(err)
	}
	return matches
}

func FuzzParse(f *testing.F) {
	for _, s := range seedDefinitions(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse error %T is not *Error: %v", err, err)
			}
			return
		}
		plan := d.Plan()
		if plan == nil || len(plan.Steps()) != len(d.AllSteps()) {
			t.Fatalf("plan covers %d of %d steps", len(plan.Steps()), len(d.AllSteps()))
		}
		pos := map[string]int{}
		for i, n := range plan.Steps() {
			pos[n] = i
		}
		for _, s := range d.AllSteps() {
			for _, dep := range plan.Dependencies(s.Name) {
				if pos[dep] >= pos[s.Name] {
					t.Fatalf("step %s ordered before its dependency %s", s.Name, dep)
				}
			}
		}
		// Everything Parse accepts resolves or fails with an *Error, and never panics.
		values := map[string]any{}
		for _, p := range d.Parameters {
			values[p.Name] = p.Default
		}
		ctx := testContext()
		ctx.Parameters = values
		for _, s := range d.AllSteps() {
			if _, err := Resolve(s.Arguments, ctx); err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Resolve error %T is not *Error: %v", err, err)
				}
			}
		}
	})
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{
		`{"Get": "Parameters.InstanceType"}`,
		`{"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}`,
		`{"Get": "Steps.Train.FinalMetricDataList['validation:rmse'].Value"}`,
		`{"a": [{"Std:Join": {"On": "/", "Values": ["s3://b", {"Get": "Execution.PipelineExecutionId"}]}}]}`,
		`{"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Prep.PropertyFiles.Report"}, "Path": "metrics.list[1].x"}}`,
		`{"Std:JsonGet": {"S3Uri": {"Std:Join": {"On": "/", "Values": ["s3://b", "exec-1", "out.json"]}}, "Path": "score"}}`,
		`[{"Type": "Or", "Conditions": [{"Type": "Not", "Condition": {"Type": "In", "QueryValue": 1, "Values": [1]}}, {"Type": "LessThan", "LeftValue": "1", "RightValue": 2}]}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decodeJSON(data)
		if err != nil {
			return
		}
		ctx := testContext()
		got, err := Resolve(v, ctx)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Resolve error %T is not *Error: %v", err, err)
			}
		} else {
			if hasExpression(got) {
				b, _ := json.Marshal(got)
				t.Fatalf("resolved value still holds an expression: %s", b)
			}
		}
		if arr, ok := v.([]any); ok {
			_, err := EvaluateConditions(arr, ctx)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("EvaluateConditions error %T is not *Error: %v", err, err)
				}
			}
		}
		if _, err := CacheKey(Processing, got); err != nil && got != nil {
			t.Fatalf("CacheKey: %v", err)
		}
		_ = DiffPaths(v, got)
	})
}

// hasExpression reports whether a resolved tree has an object that is an expression; values
// read from properties or files are data, but the test context has none with such keys.
func hasExpression(v any) bool {
	found := false
	walk(v, root, func(v any, _ jpath) bool {
		if m, ok := v.(map[string]any); ok && exprKind(m) != "" {
			found = true
		}
		return !found
	})
	return found
}
