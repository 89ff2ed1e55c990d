package definition

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// small is a complete definition with every feature the parser knows, used as a base that
// tests modify.
const small = `{
  "Version": "2020-12-01",
  "Metadata": {},
  "Parameters": [
    {"Name": "InstanceType", "Type": "String", "DefaultValue": "ml.m5.xlarge"},
    {"Name": "InstanceCount", "Type": "Integer", "DefaultValue": 1},
    {"Name": "Threshold", "Type": "Float", "DefaultValue": 6.0},
    {"Name": "Flag", "Type": "Boolean", "DefaultValue": false},
    {"Name": "Status", "Type": "String", "DefaultValue": "PendingManualApproval", "EnumValues": ["PendingManualApproval", "Approved"]},
    {"Name": "InputData"}
  ],
  "PipelineExperimentConfig": {"ExperimentName": {"Get": "Execution.PipelineName"}, "TrialName": {"Get": "Execution.PipelineExecutionId"}},
  "Steps": [
    {"Name": "Prep", "Type": "Processing",
     "Arguments": {
       "ProcessingResources": {"ClusterConfig": {"InstanceType": {"Get": "Parameters.InstanceType"}, "InstanceCount": {"Get": "Parameters.InstanceCount"}, "VolumeSizeInGB": 30}},
       "AppSpecification": {"ImageUri": "slipway/prep:latest"},
       "RoleArn": "arn:aws:iam::111111111111:role/R",
       "ProcessingInputs": [{"InputName": "input", "S3Input": {"S3Uri": {"Get": "Parameters.InputData"}, "LocalPath": "/opt/ml/processing/input"}}],
       "ProcessingOutputConfig": {"Outputs": [
         {"OutputName": "train", "S3Output": {"S3Uri": {"Std:Join": {"On": "/", "Values": ["s3://b", {"Get": "Execution.PipelineExecutionId"}, "train"]}}, "LocalPath": "/opt/ml/processing/train", "S3UploadMode": "EndOfJob"}},
         {"OutputName": "evaluation", "S3Output": {"S3Uri": "s3://b/eval", "LocalPath": "/opt/ml/processing/evaluation", "S3UploadMode": "EndOfJob"}}
       ]}
     },
     "CacheConfig": {"Enabled": true, "ExpireAfter": "P30D"},
     "RetryPolicies": [{"ExceptionType": ["Step.SERVICE_FAULT", "Step.THROTTLING"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 5}],
     "PropertyFiles": [{"PropertyFileName": "Report", "OutputName": "evaluation", "FilePath": "evaluation.json"}],
     "DisplayName": "Preprocess", "Description": "prepares data"},
    {"Name": "Train", "Type": "Training",
     "Arguments": {
       "AlgorithmSpecification": {"TrainingImage": "slipway/xgboost:latest", "TrainingInputMode": "File"},
       "OutputDataConfig": {"S3OutputPath": "s3://b/model"},
       "ResourceConfig": {"InstanceCount": 1, "InstanceType": {"Get": "Parameters.InstanceType"}, "VolumeSizeInGB": 30},
       "RoleArn": "arn:aws:iam::111111111111:role/R",
       "HyperParameters": {"max_depth": "5", "eta": "0.2"},
       "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": {"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}}}}]
     }},
    {"Name": "Check", "Type": "Condition", "DependsOn": ["Train"],
     "Arguments": {
       "Conditions": [{"Type": "LessThanOrEqualTo",
         "LeftValue": {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Prep.PropertyFiles.Report"}, "Path": "metrics.mse.value"}},
         "RightValue": {"Get": "Parameters.Threshold"}}],
       "IfSteps": [
         {"Name": "Register", "Type": "RegisterModel", "Arguments": {
            "ModelPackageGroupName": "abalone", "ModelApprovalStatus": {"Get": "Parameters.Status"},
            "InferenceSpecification": {"Containers": [{"Image": "slipway/xgboost:latest", "ModelDataUrl": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}}],
              "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]}}}
       ],
       "ElseSteps": [
         {"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": {"Std:Join": {"On": " ", "Values": ["mse above", {"Get": "Parameters.Threshold"}]}}}}
       ]
     }},
    {"Name": "Notify", "Type": "Lambda", "FunctionArn": "arn:aws:lambda:us-east-1:111111111111:function:f",
     "Arguments": {"model": {"Get": "Steps.Register.ModelPackageArn"}},
     "OutputParameters": [{"OutputName": "ok", "OutputType": "Boolean"}],
     "CacheConfig": {"Enabled": false}},
    {"Name": "Wait", "Type": "Callback", "SqsQueueUrl": "https://sqs.us-east-1.amazonaws.com/111111111111/q",
     "Arguments": {"ok": {"Get": "Steps.Notify.OutputParameters['ok']"}},
     "OutputParameters": [{"OutputName": "answer"}]}
  ]
}`

func mustParse(t *testing.T, s string) *Definition {
	t.Helper()
	d, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return d
}

// mustStep returns the named step of d, failing the test when there is none.
func mustStep(t *testing.T, d *Definition, name string) *Step {
	t.Helper()
	s, ok := d.Step(name)
	if !ok {
		t.Fatalf("no step %q", name)
	}
	return s
}

// mustParameter returns the named parameter of d, failing the test when there is none.
func mustParameter(t *testing.T, d *Definition, name string) *Parameter {
	t.Helper()
	p, ok := d.Parameter(name)
	if !ok {
		t.Fatalf("no parameter %q", name)
	}
	return p
}

// edit decodes small, lets f change it, and re-encodes it.
func edit(t *testing.T, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(small), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func steps(m map[string]any) []any { return m["Steps"].([]any) }
func step(m map[string]any, i int) map[string]any {
	return steps(m)[i].(map[string]any)
}
func args(m map[string]any, i int) map[string]any {
	return step(m, i)["Arguments"].(map[string]any)
}

func TestParseSmall(t *testing.T) {
	d := mustParse(t, small)
	if got, want := len(d.AllSteps()), 7; got != want {
		t.Fatalf("AllSteps = %d, want %d", got, want)
	}
	reg, ok := d.Step("Register")
	if !ok || reg.Parent != "Check" || reg.Branch != IfBranch || reg.Type != RegisterModel {
		t.Errorf("Register = %+v", reg)
	}
	stop := mustStep(t, d, "Stop")
	if stop.Branch != ElseBranch || stop.Path != "$.Steps[2].Arguments.ElseSteps[0]" {
		t.Errorf("Stop = %+v", stop)
	}
	prep := mustStep(t, d, "Prep")
	if prep.Cache == nil || !prep.Cache.Enabled || prep.Cache.ExpireAfter != 30*24*time.Hour {
		t.Errorf("Prep cache = %+v", prep.Cache)
	}
	if len(prep.Retry) != 1 || prep.Retry[0].MaxAttempts != 5 || len(prep.Retry[0].ExceptionTypes) != 2 {
		t.Errorf("Prep retry = %+v", prep.Retry)
	}
	if f, ok := prep.PropertyFile("Report"); !ok || f.OutputName != "evaluation" || f.FilePath != "evaluation.json" {
		t.Errorf("Prep property file = %+v", f)
	}
	if prep.DisplayName != "Preprocess" || prep.Description != "prepares data" {
		t.Errorf("Prep names = %q %q", prep.DisplayName, prep.Description)
	}
	p := mustParameter(t, d, "InstanceCount")
	if p.Type != Integer || p.Default != int64(1) {
		t.Errorf("InstanceCount = %+v", p)
	}
	p = mustParameter(t, d, "InputData")
	if p.Type != String || p.HasDefault {
		t.Errorf("InputData = %+v", p)
	}
	cond := mustStep(t, d, "Check")
	if len(cond.Conditions) != 1 || len(cond.IfSteps) != 1 || len(cond.ElseSteps) != 1 {
		t.Errorf("Check = %+v", cond)
	}
	if _, ok := cond.Arguments.(map[string]any)["IfSteps"]; ok {
		t.Errorf("Condition Arguments keep IfSteps; they belong to the branch steps")
	}
	notify := mustStep(t, d, "Notify")
	if notify.FunctionArn == "" || len(notify.Outputs) != 1 || notify.Outputs[0].Type != Boolean {
		t.Errorf("Notify = %+v", notify)
	}
	wait := mustStep(t, d, "Wait")
	if wait.SqsQueueURL == "" || wait.Outputs[0].Type != String {
		t.Errorf("Wait = %+v", wait)
	}
	wantDeps := map[string][]string{
		"Prep": nil, "Train": {"Prep"}, "Check": {"Prep", "Train"}, "Register": {"Check", "Train"},
		"Stop": {"Check"}, "Notify": {"Register"}, "Wait": {"Notify"},
	}
	for n, want := range wantDeps {
		if got := d.Plan().Dependencies(n); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("Dependencies(%s) = %v, want %v", n, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		def      []byte
		wantStep string
		wantPath string
		wantMsg  string
	}{
		{"not json", []byte(`{`), "", "$", "not valid JSON"},
		{"trailing", []byte(small + `{}`), "", "$", "not valid JSON"},
		{"array", []byte(`[]`), "", "$", "JSON object"},
		{"too big", []byte(`{"Steps": [], "Metadata": {"a": "` + strings.Repeat("x", MaxSize) + `"}}`), "", "$", "limit"},
		{"version", edit(t, func(m map[string]any) { m["Version"] = "2019-01-01" }), "", "$.Version", "unsupported Version"},
		{"unknown top", edit(t, func(m map[string]any) { m["Triggers"] = []any{} }), "", "$.Triggers", "unknown field"},
		{"no steps", edit(t, func(m map[string]any) { m["Steps"] = []any{} }), "", "$.Steps", "no steps"},
		{"unknown type", edit(t, func(m map[string]any) { step(m, 1)["Type"] = "Magic" }), "Train", "$.Steps[1].Type", "unknown step type \"Magic\""},
		{"unsupported type", edit(t, func(m map[string]any) { step(m, 1)["Type"] = "Tuning" }), "Train", "$.Steps[1].Type", "not supported"},
		{"duplicate", edit(t, func(m map[string]any) { step(m, 1)["Name"] = "Prep" }), "Prep", "$.Steps[1].Name", "duplicate step name"},
		{"duplicate nested", edit(t, func(m map[string]any) {
			args(m, 2)["ElseSteps"].([]any)[0].(map[string]any)["Name"] = "Train"
		}), "Train", "$.Steps[2].Arguments.ElseSteps[0].Name", "duplicate step name"},
		{"unknown step field", edit(t, func(m map[string]any) { step(m, 1)["Timeout"] = 5 }), "Train", "$.Steps[1].Timeout", "unknown or unsupported step field"},
		{"cache on register", edit(t, func(m map[string]any) {
			args(m, 2)["IfSteps"].([]any)[0].(map[string]any)["CacheConfig"] = map[string]any{"Enabled": true}
		}), "Register", "$.Steps[2].Arguments.IfSteps[0].CacheConfig", "not supported on RegisterModel"},
		{"bad duration", edit(t, func(m map[string]any) {
			step(m, 0)["CacheConfig"] = map[string]any{"Enabled": true, "ExpireAfter": "30 days"}
		}), "Prep", "$.Steps[0].CacheConfig.ExpireAfter", "ISO 8601"},
		{"bad exception", edit(t, func(m map[string]any) {
			step(m, 0)["RetryPolicies"].([]any)[0].(map[string]any)["ExceptionType"] = []any{"Step.BOOM"}
		}), "Prep", "$.Steps[0].RetryPolicies[0].ExceptionType[0]", "Step.BOOM"},
		{"missing dep", edit(t, func(m map[string]any) { step(m, 1)["DependsOn"] = []any{"Nope"} }), "Train", "$.Steps[1].DependsOn[0]", "\"Nope\""},
		{"missing param", edit(t, func(m map[string]any) {
			args(m, 1)["ResourceConfig"].(map[string]any)["InstanceType"] = map[string]any{"Get": "Parameters.Nope"}
		}), "Train", "$.Steps[1].Arguments.ResourceConfig.InstanceType.Get", "parameter \"Nope\""},
		{"missing step ref", edit(t, func(m map[string]any) {
			args(m, 1)["OutputDataConfig"].(map[string]any)["S3OutputPath"] = map[string]any{"Get": "Steps.Nope.X"}
		}), "Train", "$.Steps[1].Arguments.OutputDataConfig.S3OutputPath.Get", "step \"Nope\""},
		{"missing output", edit(t, func(m map[string]any) {
			args(m, 1)["InputDataConfig"].([]any)[0].(map[string]any)["DataSource"].(map[string]any)["S3DataSource"].(map[string]any)["S3Uri"] =
				map[string]any{"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['validation'].S3Output.S3Uri"}
		}), "Train", "S3Uri.Get", "no processing output \"validation\""},
		{"missing property file", edit(t, func(m map[string]any) {
			args(m, 2)["Conditions"].([]any)[0].(map[string]any)["LeftValue"] = map[string]any{"Std:JsonGet": map[string]any{"PropertyFile": map[string]any{"Get": "Steps.Prep.PropertyFiles.Other"}, "Path": "a"}}
		}), "Check", "$.Steps[2].Arguments.Conditions[0].LeftValue.Std:JsonGet.PropertyFile.Get", "no property file \"Other\""},
		{"property file by name unknown", edit(t, func(m map[string]any) {
			args(m, 2)["Conditions"].([]any)[0].(map[string]any)["LeftValue"] = map[string]any{"Std:JsonGet": map[string]any{"PropertyFile": "Other", "Path": "a"}}
		}), "Check", "PropertyFile", "no step declares property file \"Other\""},
		{"property file output", edit(t, func(m map[string]any) {
			step(m, 0)["PropertyFiles"].([]any)[0].(map[string]any)["OutputName"] = "nope"
		}), "Prep", "$.Steps[0].PropertyFiles[0].OutputName", "does not declare"},
		{"property file outside JsonGet", edit(t, func(m map[string]any) {
			args(m, 1)["OutputDataConfig"].(map[string]any)["S3OutputPath"] = map[string]any{"Get": "Steps.Prep.PropertyFiles.Report"}
		}), "Train", "S3OutputPath.Get", "read it with Std:JsonGet"},
		{"unknown execution variable", edit(t, func(m map[string]any) {
			args(m, 1)["OutputDataConfig"].(map[string]any)["S3OutputPath"] = map[string]any{"Get": "Execution.Nope"}
		}), "Train", "S3OutputPath.Get", "unknown execution variable \"Nope\""},
		{"unknown function", edit(t, func(m map[string]any) {
			args(m, 1)["OutputDataConfig"].(map[string]any)["S3OutputPath"] = map[string]any{"Std:Concat": []any{}}
		}), "Train", "S3OutputPath.Std:Concat", "unsupported function"},
		{"expression with extra member", edit(t, func(m map[string]any) {
			args(m, 1)["OutputDataConfig"].(map[string]any)["S3OutputPath"] = map[string]any{"Get": "Parameters.InstanceType", "X": 1}
		}), "Train", "S3OutputPath", "exactly one member"},
		{"self ref", edit(t, func(m map[string]any) {
			args(m, 1)["OutputDataConfig"].(map[string]any)["S3OutputPath"] = map[string]any{"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
		}), "Train", "S3OutputPath.Get", "its own properties"},
		{"cycle", edit(t, func(m map[string]any) { step(m, 0)["DependsOn"] = []any{"Wait"} }), "Prep", "$.Steps[0]", "Prep -> Check -> Register -> Notify -> Wait -> Prep"},
		{"condition type", edit(t, func(m map[string]any) {
			args(m, 2)["Conditions"].([]any)[0].(map[string]any)["Type"] = "Between"
		}), "Check", "$.Steps[2].Arguments.Conditions[0].Type", "unknown condition type"},
		{"condition bool ordering", edit(t, func(m map[string]any) {
			args(m, 2)["Conditions"].([]any)[0].(map[string]any)["RightValue"] = true
		}), "Check", "Conditions[0].RightValue", "boolean"},
		{"condition boolean parameter", edit(t, func(m map[string]any) {
			args(m, 2)["Conditions"].([]any)[0].(map[string]any)["RightValue"] = map[string]any{"Get": "Parameters.Flag"}
		}), "Check", "$.Steps[2].Arguments.Conditions[0].RightValue", "cannot compare a Boolean"},
		{"condition string against number parameter", edit(t, func(m map[string]any) {
			args(m, 2)["Conditions"].([]any)[0] = map[string]any{"Type": "Not", "Condition": map[string]any{"Type": "GreaterThan", "LeftValue": "high", "RightValue": map[string]any{"Get": "Parameters.Threshold"}}}
		}), "Check", "$.Steps[2].Arguments.Conditions[0].Condition.LeftValue", "not one"},
		{"wrong param type", edit(t, func(m map[string]any) {
			args(m, 1)["ResourceConfig"].(map[string]any)["InstanceCount"] = map[string]any{"Get": "Parameters.InstanceType"}
		}), "Train", "$.Steps[1].Arguments.ResourceConfig.InstanceCount", "must be an Integer, not a String"},
		{"wrong literal type", edit(t, func(m map[string]any) {
			args(m, 1)["ResourceConfig"].(map[string]any)["InstanceType"] = 5
		}), "Train", "$.Steps[1].Arguments.ResourceConfig.InstanceType", "must be a String"},
		{"approval status", edit(t, func(m map[string]any) {
			args(m, 2)["IfSteps"].([]any)[0].(map[string]any)["Arguments"].(map[string]any)["ModelApprovalStatus"] = "Maybe"
		}), "Register", "ModelApprovalStatus", "must be one of"},
		{"param default type", edit(t, func(m map[string]any) {
			m["Parameters"].([]any)[1].(map[string]any)["DefaultValue"] = "one"
		}), "", "$.Parameters[1].DefaultValue", "not a Integer"},
		{"param float as int", edit(t, func(m map[string]any) {
			m["Parameters"].([]any)[1].(map[string]any)["DefaultValue"] = 1.5
		}), "", "$.Parameters[1].DefaultValue", "not an integer"},
		{"param type", edit(t, func(m map[string]any) {
			m["Parameters"].([]any)[1].(map[string]any)["Type"] = "Number"
		}), "", "$.Parameters[1].Type", "unknown Type"},
		{"param dup", edit(t, func(m map[string]any) {
			m["Parameters"].([]any)[1].(map[string]any)["Name"] = "InstanceType"
		}), "", "$.Parameters[1].Name", "duplicate parameter"},
		{"enum default", edit(t, func(m map[string]any) {
			m["Parameters"].([]any)[4].(map[string]any)["DefaultValue"] = "Rejected"
		}), "", "$.Parameters[4].DefaultValue", "EnumValues"},
		{"lambda without arn", edit(t, func(m map[string]any) { delete(step(m, 3), "FunctionArn") }), "Notify", "$.Steps[3].FunctionArn", "FunctionArn"},
		{"undeclared lambda output", edit(t, func(m map[string]any) {
			args(m, 4)["ok"] = map[string]any{"Get": "Steps.Notify.OutputParameters['nope']"}
		}), "Wait", "$.Steps[4].Arguments.ok.Get", "no output parameter \"nope\""},
		{"condition property", edit(t, func(m map[string]any) {
			args(m, 4)["ok"] = map[string]any{"Get": "Steps.Check.Result"}
		}), "Wait", "$.Steps[4].Arguments.ok.Get", "only the property Outcome"},
		{"unknown argument", edit(t, func(m map[string]any) { args(m, 1)["HyperParameter"] = map[string]any{} }), "Train", "$.Steps[1].Arguments.HyperParameter", "unknown member \"HyperParameter\" in the Arguments of a Training step"},
		{"unknown register argument", edit(t, func(m map[string]any) {
			args(m, 2)["IfSteps"].([]any)[0].(map[string]any)["Arguments"].(map[string]any)["ApprovalStatus"] = "Approved"
		}), "Register", "ApprovalStatus", "unknown member"},
		{"register without group", edit(t, func(m map[string]any) {
			delete(args(m, 2)["IfSteps"].([]any)[0].(map[string]any)["Arguments"].(map[string]any), "ModelPackageGroupName")
		}), "Register", "ModelPackageGroupName", "needs ModelPackageGroupName"},
		{"missing required argument", edit(t, func(m map[string]any) { delete(args(m, 1), "ResourceConfig") }), "Train", "$.Steps[1].Arguments.ResourceConfig", "needs ResourceConfig"},
		{"join values", edit(t, func(m map[string]any) {
			args(m, 1)["OutputDataConfig"].(map[string]any)["S3OutputPath"] = map[string]any{"Std:Join": map[string]any{"On": "/", "Values": []any{map[string]any{"a": 1}}}}
		}), "Train", "Values[0]", "found an object"},
		{"jsonget path", edit(t, func(m map[string]any) {
			args(m, 2)["Conditions"].([]any)[0].(map[string]any)["LeftValue"] = map[string]any{"Std:JsonGet": map[string]any{"PropertyFile": "Report", "Path": "a[x"}}
		}), "Check", "Path", "invalid JSON path"},
		{"experiment config type", edit(t, func(m map[string]any) {
			m["PipelineExperimentConfig"] = map[string]any{"TrialName": 5}
		}), "", "$.PipelineExperimentConfig.TrialName", "string or an expression"},
		{"experiment config ref", edit(t, func(m map[string]any) {
			m["PipelineExperimentConfig"] = map[string]any{"ExperimentName": map[string]any{"Get": "Steps.Train.X"}}
		}), "", "$.PipelineExperimentConfig.ExperimentName.Get", "only refer to parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.def)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse error = %v (%T), want *Error", err, err)
			}
			if e.Step != tt.wantStep {
				t.Errorf("Step = %q, want %q (%v)", e.Step, tt.wantStep, err)
			}
			if !strings.Contains(e.Path, tt.wantPath) {
				t.Errorf("Path = %q, want it to contain %q (%v)", e.Path, tt.wantPath, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Error() = %q, want it to contain %q", err.Error(), tt.wantMsg)
			}
			if tt.wantStep != "" && !strings.Contains(err.Error(), `"`+tt.wantStep+`"`) {
				t.Errorf("Error() = %q does not name the step", err.Error())
			}
		})
	}
}

func TestCycleNamesSteps(t *testing.T) {
	_, err := Parse(edit(t, func(m map[string]any) { step(m, 0)["DependsOn"] = []any{"Train"} }))
	if err == nil || !strings.Contains(err.Error(), "Prep -> Train -> Prep") && !strings.Contains(err.Error(), "Train -> Prep -> Train") {
		t.Fatalf("err = %v, want a cycle naming Prep and Train", err)
	}
}

func TestPropertyFileByNameIsBound(t *testing.T) {
	d := mustParse(t, string(edit(t, func(m map[string]any) {
		args(m, 2)["Conditions"].([]any)[0].(map[string]any)["LeftValue"] = map[string]any{"Std:JsonGet": map[string]any{"PropertyFile": "Report", "Path": "metrics.mse.value"}}
	})))
	c := mustStep(t, d, "Check")
	got := c.Conditions[0].(map[string]any)["LeftValue"].(map[string]any)["Std:JsonGet"].(map[string]any)["PropertyFile"]
	if show(got) != `{"Get":"Steps.Prep.PropertyFiles.Report"}` {
		t.Errorf("PropertyFile = %s", show(got))
	}
}

func TestParameterValues(t *testing.T) {
	d := mustParse(t, small)
	got, err := d.ParameterValues(map[string]string{"InstanceCount": "3", "Threshold": "7.5", "Flag": "True", "InputData": "s3://b/in"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"InstanceType": "ml.m5.xlarge", "InstanceCount": int64(3), "Threshold": 7.5, "Flag": true,
		"Status": "PendingManualApproval", "InputData": "s3://b/in"}
	if show(got) != show(want) {
		t.Errorf("ParameterValues = %s, want %s", show(got), show(want))
	}
	for _, bad := range []map[string]string{
		{"InputData": "x", "Nope": "1"},
		{"InputData": "x", "InstanceCount": "1.5"},
		{"InputData": "x", "Threshold": "high"},
		{"InputData": "x", "Flag": "yes"},
		{"InputData": "x", "Status": "Rejected"},
		{}, // InputData has no default
	} {
		if _, err := d.ParameterValues(bad); err == nil {
			t.Errorf("ParameterValues(%v) succeeded", bad)
		} else if _, ok := err.(*Error); !ok {
			t.Errorf("ParameterValues(%v) error %T, want *Error", bad, err)
		}
	}
}

func TestParseDuration(t *testing.T) {
	const day = 24 * time.Hour
	good := map[string]time.Duration{"P30D": 30 * day, "p30d": 30 * day, "P4DT12H": 4*day + 12*time.Hour, "T12H": 12 * time.Hour,
		"PT1H30M": 90 * time.Minute, "PT0.5S": 500 * time.Millisecond, "P1W": 7 * day, "P1Y": 365 * day, "P1M": 30 * day, "PT1M": time.Minute}
	for s, want := range good {
		if got, err := ParseDuration(s); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "P", "PT", "P1H", "PT1D", "P1D2W", "PDT", "P-1D", "1 day", "P1DT"} {
		if got, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", s, got)
		}
	}
}
