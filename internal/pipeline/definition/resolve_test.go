package definition

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// testContext is an execution in which Prep and Train have finished.
func testContext() Context {
	props := map[string]string{
		"Prep": `{"ProcessingJobName": "pipelines-abc-Prep", "ProcessingOutputConfig": {"Outputs": [
			{"OutputName": "train", "S3Output": {"S3Uri": "s3://b/exec-1/train"}},
			{"OutputName": "evaluation", "S3Output": {"S3Uri": "s3://b/eval"}}]}}`,
		"Train": `{"ModelArtifacts": {"S3ModelArtifacts": "s3://b/model/model.tar.gz"},
			"FinalMetricDataList": [{"MetricName": "validation:rmse", "Value": 2.5}],
			"HyperParameters": {"eta": "0.2"}}`,
		"Notify": `{"OutputParameters": [{"Name": "ok", "Value": "true"}]}`,
		"Check":  `{"Outcome": "True"}`,
	}
	files := map[string]string{
		"Prep/Report": `{"metrics": {"mse": {"value": 4.25, "standard_deviation": 1.5}, "list": [10, {"x": "y"}], "odd key": "v"}}`,
	}
	return Context{
		Parameters: map[string]any{"InstanceType": "ml.m5.xlarge", "InstanceCount": int64(2), "Threshold": 6.0, "Flag": true,
			"Status": "PendingManualApproval", "InputData": "s3://b/in"},
		Execution: map[string]any{"PipelineExecutionId": "exec-1", "PipelineExecutionArn": "arn:aws:sagemaker:us-east-1:111111111111:pipeline/p/execution/exec-1",
			"PipelineName": "p", "PipelineArn": "arn:aws:sagemaker:us-east-1:111111111111:pipeline/p", "StartDateTime": "2026-12-03T07:00:00Z"},
		ExperimentConfig: map[string]any{"ExperimentName": "p", "TrialName": "exec-1"},
		StepProperties: func(step string) (map[string]any, bool) {
			s, ok := props[step]
			if !ok {
				return nil, false
			}
			v, err := decodeJSON([]byte(s))
			if err != nil {
				panic(err)
			}
			return v.(map[string]any), true
		},
		PropertyFile: func(step, file string) ([]byte, error) {
			s, ok := files[step+"/"+file]
			if !ok {
				return nil, fmt.Errorf("no such file")
			}
			return []byte(s), nil
		},
		ReadURI: func(uri string) ([]byte, error) {
			if uri == "s3://b/exec-1/out.json" {
				return []byte(`{"score": 0.9}`), nil
			}
			return nil, fmt.Errorf("NoSuchKey")
		},
	}
}

func decode(t *testing.T, s string) any {
	t.Helper()
	v, err := decodeJSON([]byte(s))
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func TestResolve(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"plain"`, `"plain"`},
		{`{"a": [1, 2.5, true, null]}`, `{"a":[1,2.5,true,null]}`},
		{`{"Get": "Parameters.InstanceType"}`, `"ml.m5.xlarge"`},
		{`{"Get": "Parameters.InstanceCount"}`, `2`},
		{`{"Get": "Parameters.Threshold"}`, `6`},
		{`{"Get": "Parameters.Flag"}`, `true`},
		{`{"Get": "Execution.PipelineExecutionId"}`, `"exec-1"`},
		{`{"Get": "Execution.StartDateTime"}`, `"2026-12-03T07:00:00Z"`},
		{`{"Get": "PipelineExperimentConfig.TrialName"}`, `"exec-1"`},
		{`{"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}`, `"s3://b/model/model.tar.gz"`},
		{`{"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}`, `"s3://b/exec-1/train"`},
		{`{"Get": "Steps.Prep.ProcessingOutputConfig.Outputs[1].S3Output.S3Uri"}`, `"s3://b/eval"`},
		{`{"Get": "Steps.Train.FinalMetricDataList['validation:rmse'].Value"}`, `2.5`},
		{`{"Get": "Steps.Train.HyperParameters['eta']"}`, `"0.2"`},
		{`{"Get": "Steps.Notify.OutputParameters['ok']"}`, `"true"`},
		{`{"Get": "Steps.Check.Outcome"}`, `"True"`},
		{`{"Std:Join": {"On": "/", "Values": ["s3://b", {"Get": "Execution.PipelineExecutionId"}, "x"]}}`, `"s3://b/exec-1/x"`},
		{`{"Std:Join": {"On": ",", "Values": [{"Get": "Parameters.Threshold"}, {"Get": "Parameters.InstanceCount"}, {"Get": "Parameters.Flag"}, 1.5, 3]}}`, `"6.0,2,true,1.5,3"`},
		{`{"Std:Join": {"Values": ["a", "b"]}}`, `"ab"`},
		{`{"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Prep.PropertyFiles.Report"}, "Path": "metrics.mse.value"}}`, `4.25`},
		{`{"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Prep.PropertyFiles.Report"}, "Path": "$.metrics.list[1].x"}}`, `"y"`},
		{`{"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Prep.PropertyFiles.Report"}, "Path": "metrics['odd key']"}}`, `"v"`},
		{`{"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Prep.PropertyFiles.Report"}, "Path": "metrics.mse"}}`, `{"standard_deviation":1.5,"value":4.25}`},
		{`{"Std:JsonGet": {"S3Uri": {"Std:Join": {"On": "/", "Values": ["s3://b", {"Get": "Execution.PipelineExecutionId"}, "out.json"]}}, "Path": "score"}}`, `0.9`},
		{`{"Args": [{"Get": "Parameters.InputData"}, {"Nested": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}}]}`, `{"Args":["s3://b/in",{"Nested":"s3://b/model/model.tar.gz"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			in := decode(t, tt.in)
			before := show(in)
			got, err := Resolve(in, testContext())
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			b, _ := json.Marshal(got)
			if string(b) != tt.want {
				t.Errorf("Resolve = %s, want %s", b, tt.want)
			}
			if show(in) != before {
				t.Errorf("Resolve modified its input")
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct{ in, wantPath, wantMsg string }{
		{`{"Get": "Parameters.Nope"}`, "$.Get", "no value for parameter"},
		{`{"Get": "Execution.CurrentDateTime"}`, "$.Get", "not available"},
		{`{"Get": "Execution.Bogus"}`, "$.Get", "unknown execution variable"},
		{`{"Get": "Steps.Later.X"}`, "$.Get", "has not run"},
		{`{"x": {"Get": "Steps.Train.ModelArtifacts.Missing"}}`, "$.x.Get", "ModelArtifacts.Missing: no such member"},
		{`{"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['nope'].S3Output"}`, "$.Get", `no element named "nope"`},
		{`{"Get": "Steps.Prep.ProcessingOutputConfig.Outputs[7]"}`, "$.Get", "out of range"},
		{`{"Get": "Steps.Prep.PropertyFiles.Report"}`, "$.Get", "Std:JsonGet"},
		{`{"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Prep.PropertyFiles.Report"}, "Path": "metrics.rmse.value"}}`, `$.Std:JsonGet.Path`, `path "metrics.rmse.value" not found in property file Report of step Prep`},
		{`{"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Prep.PropertyFiles.Gone"}, "Path": "a"}}`, `$.Std:JsonGet`, "no such file"},
		{`{"Std:JsonGet": {"S3Uri": "s3://b/missing.json", "Path": "a"}}`, `$.Std:JsonGet`, "NoSuchKey"},
		{`{"Std:JsonGet": {"PropertyFile": "Report", "Path": "a"}}`, `$.Std:JsonGet.PropertyFile`, "without its step"},
		{`{"Std:Join": {"On": 1, "Values": []}}`, `$.Std:Join.On`, "On must be a string"},
		{`{"Std:Nope": 1}`, `$.Std:Nope`, "unsupported function"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Resolve(decode(t, tt.in), testContext())
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Resolve error = %v, want *Error", err)
			}
			if e.Path != tt.wantPath || !strings.Contains(e.Msg, tt.wantMsg) {
				t.Errorf("Resolve error = %q at %q, want %q at %q", e.Msg, e.Path, tt.wantMsg, tt.wantPath)
			}
		})
	}
}

func TestResolveSmallArguments(t *testing.T) {
	d := mustParse(t, small)
	ctx := testContext()
	train := mustStep(t, d, "Train")
	got, err := Resolve(train.Arguments, ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	if strings.Contains(string(b), `"Get"`) || strings.Contains(string(b), "Std:") {
		t.Errorf("resolved arguments still hold expressions: %s", b)
	}
	for _, want := range []string{`"InstanceType":"ml.m5.xlarge"`, `"S3Uri":"s3://b/exec-1/train"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("resolved arguments %s lack %s", b, want)
		}
	}
	stop := mustStep(t, d, "Stop")
	got, err = Resolve(stop.Arguments, ctx)
	if err != nil || show(got) != `{"ErrorMessage":"mse above 6.0"}` {
		t.Errorf("Fail arguments = %s, %v", show(got), err)
	}
}

func TestEvaluateConditions(t *testing.T) {
	jsonGet := `{"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Prep.PropertyFiles.Report"}, "Path": "metrics.mse.value"}}`
	tests := []struct {
		conds string
		want  bool
	}{
		{`[{"Type": "LessThanOrEqualTo", "LeftValue": ` + jsonGet + `, "RightValue": 6.0}]`, true},
		{`[{"Type": "LessThanOrEqualTo", "LeftValue": ` + jsonGet + `, "RightValue": 4.25}]`, true},
		{`[{"Type": "LessThan", "LeftValue": ` + jsonGet + `, "RightValue": 4.25}]`, false},
		{`[{"Type": "GreaterThan", "LeftValue": ` + jsonGet + `, "RightValue": {"Get": "Parameters.Threshold"}}]`, false},
		{`[{"Type": "GreaterThanOrEqualTo", "LeftValue": {"Get": "Parameters.InstanceCount"}, "RightValue": 2}]`, true},
		{`[{"Type": "GreaterThan", "LeftValue": "10", "RightValue": 9}]`, true},                 // numeric, not lexical
		{`[{"Type": "GreaterThan", "LeftValue": "10", "RightValue": "9"}]`, true},               // numeric strings compare as numbers
		{`[{"Type": "LessThan", "LeftValue": "2026-01-01", "RightValue": "2026-12-03"}]`, true}, // lexical
		{`[{"Type": "Equals", "LeftValue": 2, "RightValue": 2.0}]`, true},
		{`[{"Type": "Equals", "LeftValue": {"Get": "Parameters.InstanceCount"}, "RightValue": "2"}]`, true},
		{`[{"Type": "Equals", "LeftValue": {"Get": "Parameters.Flag"}, "RightValue": "True"}]`, true},
		{`[{"Type": "Equals", "LeftValue": {"Get": "Parameters.Flag"}, "RightValue": false}]`, false},
		{`[{"Type": "Equals", "LeftValue": "a", "RightValue": "A"}]`, false},
		{`[{"Type": "NotEquals", "LeftValue": "a", "RightValue": "A"}]`, true},
		{`[{"Type": "In", "QueryValue": {"Get": "Parameters.InstanceType"}, "Values": ["ml.t3.medium", "ml.m5.xlarge"]}]`, true},
		{`[{"Type": "In", "QueryValue": 2, "Values": [1, "2.0"]}]`, true},
		{`[{"Type": "In", "Value": "x", "In": ["y"]}]`, false},
		{`[{"Type": "NotIn", "Value": "x", "In": ["y"]}]`, true},
		{`[{"Type": "Not", "Condition": {"Type": "Equals", "LeftValue": 1, "RightValue": 1}}]`, false},
		{`[{"Type": "Not", "Expression": {"Type": "Equals", "LeftValue": 1, "RightValue": 2}}]`, true},
		{`[{"Type": "Or", "Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 2}, {"Type": "LessThan", "LeftValue": 1, "RightValue": 2}]}]`, true},
		{`[{"Type": "Or", "Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 2}, {"Type": "In", "QueryValue": 3, "Values": [4]}]}]`, false},
		{`[{"Type": "Equals", "LeftValue": 1, "RightValue": 1}, {"Type": "Equals", "LeftValue": 1, "RightValue": 2}]`, false}, // all must hold
		{`[{"Type": "Equals", "LeftValue": {"Get": "Steps.Train.FinalMetricDataList['validation:rmse'].Value"}, "RightValue": 2.5}]`, true},
	}
	for _, tt := range tests {
		t.Run(tt.conds, func(t *testing.T) {
			got, err := EvaluateConditions(decode(t, tt.conds).([]any), testContext())
			if err != nil {
				t.Fatalf("EvaluateConditions: %v", err)
			}
			if got != tt.want {
				t.Errorf("EvaluateConditions = %v, want %v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{
		`[{"Type": "GreaterThan", "LeftValue": {"Get": "Parameters.Flag"}, "RightValue": 1}]`,
		`[{"Type": "GreaterThan", "LeftValue": "abc", "RightValue": {"Get": "Parameters.Threshold"}}]`,
		`[{"Type": "LessThan", "LeftValue": ` + strings.Replace(jsonGet, "value", "nope", 1) + `, "RightValue": 1}]`,
		`[{"Type": "Maybe"}]`,
		`[{"Type": "Equals", "LeftValue": 1}]`,
	} {
		if _, err := EvaluateConditions(decode(t, bad).([]any), testContext()); err == nil {
			t.Errorf("EvaluateConditions(%s) succeeded", bad)
		}
	}
}

func TestCacheKey(t *testing.T) {
	d := mustParse(t, small)
	prep := mustStep(t, d, "Prep")
	key := func(ctx Context) (string, any) {
		a, err := CacheArguments(prep, ctx)
		if err != nil {
			t.Fatal(err)
		}
		k, err := CacheKey(prep.Type, a)
		if err != nil {
			t.Fatal(err)
		}
		return k, a
	}
	ctx1 := testContext()
	k1, a1 := key(ctx1)
	ctx2 := testContext()
	ctx2.Execution = map[string]any{"PipelineExecutionId": "exec-2", "PipelineExecutionArn": "other", "StartDateTime": "later"}
	k2, _ := key(ctx2)
	if k1 != k2 {
		t.Errorf("cache key changes with the execution: %s vs %s", k1, k2)
	}
	if strings.Contains(show(a1), "RoleArn") {
		t.Errorf("cache arguments keep RoleArn: %s", show(a1))
	}
	ctx3 := testContext()
	ctx3.Parameters["InstanceCount"] = int64(3)
	k3, a3 := key(ctx3)
	if k3 == k1 {
		t.Errorf("cache key ignores a parameter change")
	}
	if got := DiffPaths(a1, a3); strings.Join(got, " ") != "$.ProcessingResources.ClusterConfig.InstanceCount" {
		t.Errorf("DiffPaths = %v", got)
	}
	// Numbers compare by value whatever their Go type.
	numKey := func(st StepType, n any) string {
		k, err := CacheKey(st, map[string]any{"n": n})
		if err != nil {
			t.Fatalf("CacheKey(%s, %T): %v", st, n, err)
		}
		return k
	}
	ka, kb, kc := numKey(Training, json.Number("5")), numKey(Training, 5.0), numKey(Processing, int64(5))
	if ka != kb || ka == kc {
		t.Errorf("CacheKey number handling: %s %s %s", ka, kb, kc)
	}
}

func TestDiffPaths(t *testing.T) {
	a := decode(t, `{"A": 1, "B": {"C": "x", "D": [1, 2]}, "E": [1], "F": "same", "G": {"k": 1}}`)
	b := decode(t, `{"A": 1.0, "B": {"C": "y", "D": [1, 3]}, "E": [1, 2], "F": "same", "H": true, "G": "k"}`)
	got := DiffPaths(a, b)
	want := []string{"$.B.C", "$.B.D[1]", "$.E", "$.G", "$.H"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("DiffPaths = %v, want %v", got, want)
	}
	if got := DiffPaths(a, a); len(got) != 0 {
		t.Errorf("DiffPaths(a, a) = %v", got)
	}
}

func TestResolveExperimentConfig(t *testing.T) {
	d := mustParse(t, small)
	got, err := d.ResolveExperimentConfig(testContext())
	if err != nil {
		t.Fatal(err)
	}
	if show(got) != `{"ExperimentName":"p","TrialName":"exec-1"}` {
		t.Errorf("ResolveExperimentConfig = %s", show(got))
	}
	d.ExperimentConfig = nil
	if got, err := d.ResolveExperimentConfig(testContext()); got != nil || err != nil {
		t.Errorf("no config: %v, %v", got, err)
	}
	d = mustParse(t, string(edit(t, func(m map[string]any) {
		m["PipelineExperimentConfig"] = map[string]any{"ExperimentName": map[string]any{"Std:Join": map[string]any{"On": "-", "Values": []any{"abalone", map[string]any{"Get": "Parameters.InstanceCount"}}}}}
	})))
	if got, err := d.ResolveExperimentConfig(testContext()); err != nil || show(got) != `{"ExperimentName":"abalone-2"}` {
		t.Errorf("ResolveExperimentConfig = %s, %v", show(got), err)
	}
}
