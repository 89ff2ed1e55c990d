package definition

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseGet(t *testing.T) {
	good := map[string]string{
		"Parameters.A-b_1":                   "1 A-b_1 []",
		"Execution.PipelineExecutionArn":     "2 PipelineExecutionArn []",
		"Steps.S.A.B":                        "3 S [.A .B]",
		"Steps.S-1.Outputs['train'].X[2]":    "3 S-1 [.Outputs ['train'] .X [2]]",
		`Steps.S.M["odd.key"]`:               "3 S [.M ['odd.key']]",
		"PipelineExperimentConfig.TrialName": "4 TrialName []",
	}
	for in, want := range good {
		r, err := ParseGet(in)
		if err != nil {
			t.Errorf("ParseGet(%q): %v", in, err)
			continue
		}
		var segs []string
		for _, s := range r.Path {
			segs = append(segs, s.String())
		}
		if got := strings.TrimSpace(strings.Join([]string{itoa(int(r.Kind)), r.Name, "[" + strings.Join(segs, " ") + "]"}, " ")); got != want {
			t.Errorf("ParseGet(%q) = %s, want %s", in, got, want)
		}
	}
	for _, bad := range []string{"", "Parameters", "Parameters.", "Parameters.a b", "Execution.Nope", "Steps.S", "Steps.", "Steps.S..A",
		"Steps.S.A[", "Steps.S.A[x]", "Steps.S.A[-1]", "Steps.S.A['x", "Steps.S.A['x'", "Steps.S.A.", "Steps.bad name.A",
		"PipelineExperimentConfig.Other", "Other.X", "Steps.S[0]x"} {
		if r, err := ParseGet(bad); err == nil {
			t.Errorf("ParseGet(%q) = %+v, want an error", bad, r)
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestStringify(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{"s", "s"}, {json.Number("1.50"), "1.50"}, {int64(-3), "-3"}, {7, "7"}, {6.0, "6.0"}, {0.25, "0.25"}, {1e20, "1e+20"},
		{true, "true"}, {nil, "null"}, {map[string]any{"a": 1}, `{"a":1}`}, {[]any{"x", 2}, `["x",2]`},
	}
	for _, tt := range tests {
		if got := Stringify(tt.in); got != tt.want {
			t.Errorf("Stringify(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseMoreErrors(t *testing.T) {
	retry := func(rp map[string]any) []byte {
		return edit(t, func(m map[string]any) { step(m, 0)["RetryPolicies"] = []any{rp} })
	}
	cond := func(c any) []byte {
		return edit(t, func(m map[string]any) { args(m, 2)["Conditions"] = []any{c} })
	}
	jsonGet := func(jg map[string]any) []byte {
		return cond(map[string]any{"Type": "Equals", "LeftValue": map[string]any{"Std:JsonGet": jg}, "RightValue": 1})
	}
	tests := []struct {
		name    string
		def     []byte
		wantMsg string
	}{
		{"retry no type", retry(map[string]any{"MaxAttempts": 2}), "at least one ExceptionType"},
		{"retry single type string", retry(map[string]any{"ExceptionType": "Step.FAULT"}), "Step.FAULT"},
		{"retry attempts", retry(map[string]any{"ExceptionType": "Step.THROTTLING", "MaxAttempts": 21}), "MaxAttempts must be an integer from 1 to 20"},
		{"retry interval", retry(map[string]any{"ExceptionType": "Step.THROTTLING", "IntervalSeconds": 0.5}), "IntervalSeconds"},
		{"retry backoff", retry(map[string]any{"ExceptionType": "Step.THROTTLING", "BackoffRate": 0.5}), "BackoffRate"},
		{"retry expire", retry(map[string]any{"ExceptionType": "Step.THROTTLING", "ExpireAfterMin": "10"}), "ExpireAfterMin"},
		{"retry unknown", retry(map[string]any{"ExceptionType": "Step.THROTTLING", "Jitter": true}), "unknown retry policy field"},
		{"jsonget both", jsonGet(map[string]any{"PropertyFile": "Report", "S3Uri": "s3://b/k", "Path": "a"}), "exactly one of PropertyFile and S3Uri"},
		{"jsonget neither", jsonGet(map[string]any{"Path": "a"}), "exactly one of PropertyFile and S3Uri"},
		{"jsonget no path", jsonGet(map[string]any{"PropertyFile": "Report"}), "needs a Path"},
		{"jsonget bad get", jsonGet(map[string]any{"PropertyFile": map[string]any{"Get": "Steps.Prep.ProcessingJobName"}, "Path": "a"}), "PropertyFile must be Steps.<step>.PropertyFiles.<name>"},
		{"jsonget not property file", jsonGet(map[string]any{"PropertyFile": 3, "Path": "a"}), "PropertyFile must be a property file name"},
		{"jsonget s3uri object", jsonGet(map[string]any{"S3Uri": 5, "Path": "a"}), "S3Uri must be a string or an expression"},
		{"jsonget member", jsonGet(map[string]any{"S3Uri": "s3://b/k", "Path": "a", "Default": 1}), "unknown Std:JsonGet member"},
		{"join no values", cond(map[string]any{"Type": "Equals", "LeftValue": map[string]any{"Std:Join": map[string]any{"On": "/"}}, "RightValue": 1}), "needs Values"},
		{"join member", cond(map[string]any{"Type": "Equals", "LeftValue": map[string]any{"Std:Join": map[string]any{"Values": []any{}, "Sep": "/"}}, "RightValue": 1}), "unknown Std:Join member"},
		{"get not string", cond(map[string]any{"Type": "Equals", "LeftValue": map[string]any{"Get": 1}, "RightValue": 1}), "Get takes a string"},
		{"in without values", cond(map[string]any{"Type": "In", "QueryValue": 1}), "needs Values"},
		{"in extra member", cond(map[string]any{"Type": "In", "QueryValue": 1, "Values": []any{}, "X": 1}), "unknown member \"X\""},
		{"or empty", cond(map[string]any{"Type": "Or", "Conditions": []any{}}), "non-empty"},
		{"not bad", cond(map[string]any{"Type": "Not", "Condition": "x"}), "must be an object"},
		{"operand array", cond(map[string]any{"Type": "Equals", "LeftValue": []any{1}, "RightValue": 1}), "expected a value or an expression"},
		{"conditions empty", edit(t, func(m map[string]any) { args(m, 2)["Conditions"] = []any{} }), "non-empty array"},
		{"condition argument", edit(t, func(m map[string]any) { args(m, 2)["Otherwise"] = []any{} }), "unknown Condition argument"},
		{"fail argument", edit(t, func(m map[string]any) {
			args(m, 2)["ElseSteps"].([]any)[0].(map[string]any)["Arguments"] = map[string]any{"Message": "x"}
		}), "only ErrorMessage"},
		{"callback without queue", edit(t, func(m map[string]any) { delete(step(m, 4), "SqsQueueUrl") }), "SqsQueueUrl"},
		{"output parameter type", edit(t, func(m map[string]any) {
			step(m, 3)["OutputParameters"] = []any{map[string]any{"OutputName": "x", "OutputType": "Date"}}
		}), "OutputType must be"},
		{"output parameter dup", edit(t, func(m map[string]any) {
			step(m, 3)["OutputParameters"] = []any{map[string]any{"OutputName": "ok"}, map[string]any{"OutputName": "ok"}}
		}), "duplicate output parameter"},
		{"lambda output by index", edit(t, func(m map[string]any) {
			args(m, 4)["ok"] = map[string]any{"Get": "Steps.Notify.OutputParameters[0]"}
		}), "select an output parameter by name"},
		{"property file dup", edit(t, func(m map[string]any) {
			pf := step(m, 0)["PropertyFiles"].([]any)
			step(m, 0)["PropertyFiles"] = append(pf, pf[0])
		}), "duplicate property file"},
		{"property file missing member", edit(t, func(m map[string]any) {
			step(m, 0)["PropertyFiles"] = []any{map[string]any{"PropertyFileName": "R", "OutputName": "evaluation"}}
		}), "needs PropertyFileName, OutputName and FilePath"},
		{"step name", edit(t, func(m map[string]any) { step(m, 1)["Name"] = "has space" }), "needs a Name"},
		{"depends on self", edit(t, func(m map[string]any) { step(m, 1)["DependsOn"] = []any{"Train"} }), "cannot depend on itself"},
		{"fail has no properties", edit(t, func(m map[string]any) { args(m, 4)["ok"] = map[string]any{"Get": "Steps.Stop.X"} }), "Fail step has no properties"},
		{"metadata value", edit(t, func(m map[string]any) { m["Metadata"] = map[string]any{"k": 1} }), "Metadata values must be strings"},
		{"enum on integer", edit(t, func(m map[string]any) {
			m["Parameters"].([]any)[1].(map[string]any)["EnumValues"] = []any{"1"}
		}), "only allowed on String"},
		{"negative volume", edit(t, func(m map[string]any) {
			args(m, 1)["ResourceConfig"].(map[string]any)["VolumeSizeInGB"] = -1
		}), "non-negative integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.def)
			if _, ok := err.(*Error); !ok || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Parse error = %v, want an *Error containing %q", err, tt.wantMsg)
			}
		})
	}
}
