package pipeline

import (
	"testing"

	"github.com/slipway-ml/slipway/internal/pipeline/definition"
)

// FuzzLambdaOutputs: whatever a Lambda command writes on stdout, reading its outputs never
// panics, and when it succeeds every declared output is there, once, and of its type.
func FuzzLambdaOutputs(f *testing.F) {
	for _, seed := range []string{`{"N": 3, "Ok": true, "S": "x"}`, `{"N": "3"}`, `{"N": 1.5}`, `[]`, `null`, `{"N":3}{"N":4}`,
		`{"N": 3, "Ok": "yes"}`, ``, `{"N": 99999999999999999999}`, `{"N": 3, "Ok": false, "S": {"a": [1]}}`} {
		f.Add([]byte(seed))
	}
	sd := &definition.Step{Name: "L", Type: definition.Lambda, Outputs: []definition.OutputParameter{
		{Name: "N", Type: definition.Integer}, {Name: "Ok", Type: definition.Boolean}, {Name: "S", Type: definition.String}}}
	f.Fuzz(func(t *testing.T, stdout []byte) {
		outs, err := lambdaOutputs(sd, stdout)
		if err != nil {
			return
		}
		if len(outs) != len(sd.Outputs) {
			t.Fatalf("outputs %v for %d declared", outs, len(sd.Outputs))
		}
		for i, o := range outs {
			if o.Name != sd.Outputs[i].Name {
				t.Fatalf("output %d is %q, want %q", i, o.Name, sd.Outputs[i].Name)
			}
			if _, err := typedOutput(sd.Outputs[i].Type, o.Value); err != nil {
				t.Fatalf("accepted output %q of the wrong type: %v", o.Value, err)
			}
		}
		props := outputProperties(sd, outs)
		if list := props["OutputParameters"].([]any); len(list) != len(outs) {
			t.Fatalf("properties %v", props)
		}
	})
}
