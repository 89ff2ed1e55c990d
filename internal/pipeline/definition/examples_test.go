package definition

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readExample(t *testing.T, name string) *Definition {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", name, "pipeline.json"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

// TestExamplesAndShapesParse parses every shipped definition and the SDK shapes collected in
// testdata.
func TestExamplesAndShapesParse(t *testing.T) {
	files := exampleFiles(t)
	if len(files) < 2 {
		t.Fatalf("found %d examples, want abalone and abalone-sdk", len(files))
	}
	shapes, _ := filepath.Glob("testdata/*.json")
	for _, p := range append(files, shapes...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(b); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestSDKShapes(t *testing.T) {
	b, err := os.ReadFile("testdata/sdk-shapes.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]StepType{}
	for _, s := range d.AllSteps() {
		types[s.Name] = s.Type
	}
	want := map[string]StepType{"Prepare": Processing, "Train": Training, "AbaloneModel-CreateModel": Model, "LegacyCreateModel": CreateModel,
		"BatchScore": Transform, "Gate": Condition, "AbaloneModel-RegisterModel": RegisterModel, "Notify": Lambda, "Approve": Callback,
		"Inner": Condition, "NotApproved": Fail, "TooHigh": Fail, "Empty": Fail}
	if fmt.Sprint(types) != fmt.Sprint(want) {
		t.Errorf("step types = %v, want %v", types, want)
	}
	prep := mustStep(t, d, "Prepare")
	if prep.Cache.ExpireAfter.Hours() != 12 || len(prep.Retry) != 2 || prep.Retry[1].ExpireAfterMin != 60 || prep.Retry[1].MaxAttempts != 0 {
		t.Errorf("Prepare cache/retry = %+v %+v", prep.Cache, prep.Retry)
	}
	gate := mustStep(t, d, "Gate")
	if got := d.Plan().Dependencies("Gate"); fmt.Sprint(got) != "[BatchScore Prepare Train]" {
		t.Errorf("Gate depends on %v", got)
	}
	if len(gate.IfSteps) != 4 || len(gate.ElseSteps) != 1 {
		t.Errorf("Gate branches: %d if, %d else", len(gate.IfSteps), len(gate.ElseSteps))
	}
	if got := d.Plan().Dependencies("NotApproved"); fmt.Sprint(got) != "[Inner]" {
		t.Errorf("NotApproved depends on %v", got)
	}
	if got := d.Plan().Dependencies("Inner"); fmt.Sprint(got) != "[Approve Gate]" {
		t.Errorf("Inner depends on %v", got)
	}
	// The name-only PropertyFile was bound to the step that declares it.
	if b, _ := json.Marshal(gate.Conditions[4]); !strings.Contains(string(b), `Steps.Prepare.PropertyFiles.Report`) {
		t.Errorf("name-only property file not bound: %s", b)
	}
}

// simulation runs a definition the way an engine would, with fake jobs whose Describe responses
// follow from their resolved arguments.
type simulation struct {
	t        *testing.T
	d        *Definition
	ctx      Context
	props    map[string]map[string]any
	resolved map[string]any // step → resolved arguments
	ran      []string
	failure  string // the Fail step's resolved ErrorMessage
}

func simulate(t *testing.T, d *Definition, params map[string]string, execID string, evaluation string) *simulation {
	t.Helper()
	values, err := d.ParameterValues(params)
	if err != nil {
		t.Fatal(err)
	}
	sim := &simulation{t: t, d: d, props: map[string]map[string]any{}, resolved: map[string]any{}}
	sim.ctx = Context{
		Parameters: values,
		Execution: map[string]any{"PipelineExecutionId": execID, "PipelineName": "abalone-build",
			"PipelineExecutionArn": "arn:aws:sagemaker:us-east-1:111122223333:pipeline/abalone-build/execution/" + execID,
			"PipelineArn":          "arn:aws:sagemaker:us-east-1:111122223333:pipeline/abalone-build", "StartDateTime": "2026-12-03T07:00:00Z"},
		StepProperties: func(step string) (map[string]any, bool) { p, ok := sim.props[step]; return p, ok },
		PropertyFile: func(step, file string) ([]byte, error) {
			s := mustStep(t, d, step)
			f, ok := s.PropertyFile(file)
			if !ok || f.FilePath != "evaluation.json" {
				return nil, fmt.Errorf("no property file %s", file)
			}
			return []byte(evaluation), nil
		},
	}
	pr := Progress{Done: map[string]bool{}, Running: map[string]bool{}, Failed: map[string]bool{}, Outcomes: map[string]bool{}}
	for !d.Plan().Finished(pr) {
		ready := d.Plan().Ready(pr, 1)
		if len(ready) == 0 {
			if len(pr.Failed) == 0 {
				t.Fatalf("stalled: %+v", pr)
			}
			break // a failed step ends the execution
		}
		for _, n := range ready {
			s := mustStep(t, d, n)
			sim.ran = append(sim.ran, n)
			if s.Type == Condition {
				ok, err := EvaluateConditions(s.Conditions, sim.ctx)
				if err != nil {
					t.Fatalf("%s: %v", n, err)
				}
				pr.Outcomes[n] = ok
				sim.props[n] = map[string]any{"Outcome": strings.Title(fmt.Sprint(ok))}
				pr.Done[n] = true
				continue
			}
			args, err := Resolve(s.Arguments, sim.ctx)
			if err != nil {
				t.Fatalf("%s: %v", n, err)
			}
			sim.resolved[n] = args
			am := args.(map[string]any)
			switch s.Type {
			case Processing:
				sim.props[n] = map[string]any{"ProcessingJobName": "pipelines-" + execID + "-" + n, "ProcessingOutputConfig": am["ProcessingOutputConfig"]}
			case Training:
				out := am["OutputDataConfig"].(map[string]any)["S3OutputPath"].(string)
				sim.props[n] = map[string]any{"ModelArtifacts": map[string]any{"S3ModelArtifacts": out + "/pipelines-" + execID + "-" + n + "/output/model.tar.gz"}}
			case RegisterModel:
				sim.props[n] = map[string]any{"ModelPackageArn": "arn:aws:sagemaker:us-east-1:111122223333:model-package/abalone/1"}
			case Fail:
				sim.failure, _ = am["ErrorMessage"].(string)
				pr.Failed[n] = true
				continue
			}
			pr.Done[n] = true
		}
	}
	return sim
}

func (s *simulation) arg(step string, path ...any) any {
	var cur any = s.resolved[step]
	for _, p := range path {
		switch k := p.(type) {
		case string:
			cur = cur.(map[string]any)[k]
		case int:
			cur = cur.([]any)[k]
		}
	}
	return cur
}

func TestAbaloneExampleRuns(t *testing.T) {
	d := readExample(t, "abalone")
	if got := d.Plan().Steps(); fmt.Sprint(got) != "[PreprocessAbaloneData TrainAbaloneModel EvaluateAbaloneModel CheckMSEAbaloneEvaluation RegisterAbaloneModel AbaloneMSEFail]" {
		t.Errorf("steps = %v", got)
	}
	for _, p := range []string{"ProcessingInstanceType", "TrainingInstanceType", "ModelApprovalStatus", "InputDataUrl"} {
		if prm, ok := d.Parameter(p); !ok || prm.Type != String || !prm.HasDefault {
			t.Errorf("parameter %s = %+v", p, prm)
		}
	}
	if prm := mustParameter(t, d, "ModelApprovalStatus"); prm.Default != "PendingManualApproval" {
		t.Errorf("ModelApprovalStatus default = %v", prm.Default)
	}

	good := simulate(t, d, nil, "exec-1", `{"regression_metrics": {"mse": {"value": 4.94, "standard_deviation": 2.2}}}`)
	if fmt.Sprint(good.ran) != "[PreprocessAbaloneData TrainAbaloneModel EvaluateAbaloneModel CheckMSEAbaloneEvaluation RegisterAbaloneModel]" {
		t.Errorf("ran %v", good.ran)
	}
	prepared := "s3://ds-data/abalone-pipeline/exec-1/prepared"
	checks := []struct {
		step string
		path []any
		want any
	}{
		{"PreprocessAbaloneData", []any{"ProcessingInputs", 0, "S3Input", "S3Uri"}, "s3://ds-data/abalone/abalone.csv"},
		{"PreprocessAbaloneData", []any{"ProcessingOutputConfig", "Outputs", 0, "S3Output", "S3Uri"}, prepared},
		{"PreprocessAbaloneData", []any{"ProcessingResources", "ClusterConfig", "InstanceType"}, "ml.m5.xlarge"},
		{"TrainAbaloneModel", []any{"InputDataConfig", 0, "DataSource", "S3DataSource", "S3Uri"}, prepared + "/train.csv"},
		{"TrainAbaloneModel", []any{"InputDataConfig", 1, "DataSource", "S3DataSource", "S3Uri"}, prepared + "/validation.csv"},
		{"TrainAbaloneModel", []any{"HyperParameters", "objective"}, "reg:squarederror"},
		{"TrainAbaloneModel", []any{"HyperParameters", "num_round"}, "50"},
		{"TrainAbaloneModel", []any{"HyperParameters", "subsample"}, "0.7"},
		{"EvaluateAbaloneModel", []any{"ProcessingInputs", 0, "S3Input", "S3Uri"}, "s3://ds-data/abalone-pipeline/exec-1/model/pipelines-exec-1-TrainAbaloneModel/output/model.tar.gz"},
		{"EvaluateAbaloneModel", []any{"ProcessingInputs", 1, "S3Input", "S3Uri"}, prepared + "/test.csv"},
		{"RegisterAbaloneModel", []any{"ModelPackageGroupName"}, "abalone"},
		{"RegisterAbaloneModel", []any{"ModelApprovalStatus"}, "PendingManualApproval"},
		{"RegisterAbaloneModel", []any{"InferenceSpecification", "Containers", 0, "ModelDataUrl"}, "s3://ds-data/abalone-pipeline/exec-1/model/pipelines-exec-1-TrainAbaloneModel/output/model.tar.gz"},
		{"RegisterAbaloneModel", []any{"ModelMetrics", "ModelQuality", "Statistics", "S3Uri"}, "s3://ds-data/abalone-pipeline/exec-1/evaluation/evaluation.json"},
	}
	for _, c := range checks {
		if got := good.arg(c.step, c.path...); got != c.want {
			t.Errorf("%s %v = %v, want %v", c.step, c.path, got, c.want)
		}
	}

	bad := simulate(t, d, map[string]string{"ModelApprovalStatus": "Approved"}, "exec-2", `{"regression_metrics": {"mse": {"value": 7.25}}}`)
	if fmt.Sprint(bad.ran) != "[PreprocessAbaloneData TrainAbaloneModel EvaluateAbaloneModel CheckMSEAbaloneEvaluation AbaloneMSEFail]" {
		t.Errorf("ran %v", bad.ran)
	}
	if bad.failure != "The model's test mse 7.25 is above 6.0" {
		t.Errorf("failure = %q", bad.failure)
	}

	// Cache keys: equal across executions; a training parameter changes the training step's key
	// only, and explain-cache names the path.
	keys := func(sim *simulation, ctx Context) map[string]string {
		out := map[string]string{}
		for _, n := range []string{"PreprocessAbaloneData", "TrainAbaloneModel", "EvaluateAbaloneModel"} {
			s := mustStep(t, d, n)
			a, err := CacheArguments(s, ctx)
			if err != nil {
				t.Fatal(err)
			}
			out[n], _ = CacheKey(s.Type, a)
		}
		return out
	}
	k1 := keys(good, good.ctx)
	// A later execution whose upstream steps were cache hits sees their earlier outputs: every
	// key is the same although the execution variables differ.
	later := good.ctx
	later.Execution = bad.ctx.Execution
	if k2 := keys(good, later); fmt.Sprint(k1) != fmt.Sprint(k2) {
		t.Errorf("cache keys differ between executions: %v vs %v", k1, k2)
	}
	// An execution that re-ran the preprocessing (bad) wrote new outputs: training misses.
	if k2 := keys(bad, bad.ctx); k2["PreprocessAbaloneData"] != k1["PreprocessAbaloneData"] || k2["TrainAbaloneModel"] == k1["TrainAbaloneModel"] {
		t.Errorf("re-run upstream: keys %v vs %v", k1, k2)
	}
	changed := good.ctx
	changed.Parameters = map[string]any{}
	for k, v := range good.ctx.Parameters {
		changed.Parameters[k] = v
	}
	changed.Parameters["TrainingInstanceType"] = "ml.m5.2xlarge"
	k3 := keys(good, changed)
	if k3["PreprocessAbaloneData"] != k1["PreprocessAbaloneData"] || k3["TrainAbaloneModel"] == k1["TrainAbaloneModel"] {
		t.Errorf("changing TrainingInstanceType: keys %v → %v", k1, k3)
	}
	train := mustStep(t, d, "TrainAbaloneModel")
	a1, err := CacheArguments(train, good.ctx)
	if err != nil {
		t.Fatalf("CacheArguments with the first parameters: %v", err)
	}
	a3, err := CacheArguments(train, changed)
	if err != nil {
		t.Fatalf("CacheArguments with TrainingInstanceType changed: %v", err)
	}
	if got := DiffPaths(a1, a3); fmt.Sprint(got) != "[$.ResourceConfig.InstanceType]" {
		t.Errorf("DiffPaths = %v", got)
	}
}

func TestAbaloneSDKExampleRuns(t *testing.T) {
	d := readExample(t, "abalone-sdk")
	good := simulate(t, d, nil, "exec-1", `{"regression_metrics": {"mse": {"value": 4.9, "standard_deviation": 2.2}}}`)
	if fmt.Sprint(good.ran) != "[PreprocessAbaloneData TrainAbaloneModel EvaluateAbaloneModel CheckMSEAbaloneEvaluation RegisterAbaloneModel-RegisterModel]" {
		t.Errorf("ran %v", good.ran)
	}
	out := "s3://sagemaker-us-east-1-111122223333/AbalonePipeline/exec-1/PreprocessAbaloneData/output/"
	checks := []struct {
		step string
		path []any
		want any
	}{
		{"PreprocessAbaloneData", []any{"AppSpecification", "ContainerArguments", 1}, "s3://sagemaker-us-east-1-111122223333/abalone/abalone-dataset.csv"},
		{"PreprocessAbaloneData", []any{"ProcessingResources", "ClusterConfig", "InstanceCount"}, int64(1)},
		{"TrainAbaloneModel", []any{"InputDataConfig", 0, "DataSource", "S3DataSource", "S3Uri"}, out + "train"},
		{"TrainAbaloneModel", []any{"InputDataConfig", 1, "DataSource", "S3DataSource", "S3Uri"}, out + "validation"},
		{"EvaluateAbaloneModel", []any{"ProcessingInputs", 1, "S3Input", "S3Uri"}, out + "test"},
		{"RegisterAbaloneModel-RegisterModel", []any{"ModelApprovalStatus"}, "PendingManualApproval"},
		{"RegisterAbaloneModel-RegisterModel", []any{"ModelMetrics", "ModelQuality", "Statistics", "S3Uri"}, "s3://sagemaker-us-east-1-111122223333/AbalonePipeline/exec-1/EvaluateAbaloneModel/output/evaluation/evaluation.json"},
	}
	for _, c := range checks {
		if got := good.arg(c.step, c.path...); got != c.want {
			t.Errorf("%s %v = %v (%T), want %v", c.step, c.path, got, got, c.want)
		}
	}
	bad := simulate(t, d, nil, "exec-2", `{"regression_metrics": {"mse": {"value": 6.01}}}`)
	if bad.failure != "Execution failed due to MSE > 6.0" {
		t.Errorf("failure = %q", bad.failure)
	}
}

// TestDocumentedError checks the message docs/pipeline-definitions.md shows.
func TestDocumentedError(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "abalone-sdk", "pipeline.json"))
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(b), "Outputs['train']", "Outputs['training']", 1)
	_, err = Parse([]byte(bad))
	want := `step "TrainAbaloneModel": $.Steps[1].Arguments.InputDataConfig[0].DataSource.S3DataSource.S3Uri.Get: step "PreprocessAbaloneData" has no processing output "training" (it has: train, validation, test)`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "pipeline-definitions.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), want) {
		t.Errorf("docs/pipeline-definitions.md does not show the message")
	}
}
