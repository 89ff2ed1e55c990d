package projects

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/stacks/template"
)

func builtinNamed(t *testing.T, name string) Template {
	t.Helper()
	all, err := BuiltIns()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range all {
		if b.Name() == name {
			return b
		}
	}
	t.Fatalf("no built-in template %s", name)
	return Template{}
}

// evalAll resolves a template's parameters and evaluates every active resource's properties
// with made-up attributes, as the stack engine will: what the template names must exist.
func evalAll(t *testing.T, body string, params map[string]string) (*template.Template, map[string]map[string]any) {
	t.Helper()
	tpl, err := template.Parse([]byte(body))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	in := map[string]template.ParameterValue{}
	for k, v := range params {
		in[k] = template.ParameterValue{Value: v}
	}
	values, _, err := tpl.ResolveParameters(in, nil)
	if err != nil {
		t.Fatalf("ResolveParameters: %v", err)
	}
	env := &template.Env{Pseudo: template.Pseudo{AccountID: "111111111111", Region: "us-east-1", StackName: "s", StackID: "id", Partition: "aws", URLSuffix: "amazonaws.com"},
		Params: values, Resources: map[string]template.Created{}}
	if env.Conditions, err = tpl.EvalConditions(env); err != nil {
		t.Fatal(err)
	}
	plan, err := tpl.Plan(env.Conditions)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	props := map[string]map[string]any{}
	for _, name := range slices.Concat(plan.Create...) {
		p, err := tpl.Properties(env, name)
		if err != nil {
			t.Fatalf("Properties(%s): %v", name, err)
		}
		props[name] = p
		env.Resources[name] = template.Created{PhysicalID: "phys-" + name, Attributes: map[string]any{
			"Arn": "arn:aws:x:us-east-1:111111111111:" + name, "ModelName": "m-" + name, "EndpointConfigName": "ec-" + name}}
	}
	return tpl, props
}

// The built-in multi-account-deployment parses and evaluates: its resources, their order, the
// rule that matches approvals only, the pipeline's stages, and the seed's endpoint template
// with each stage's configuration.
func TestMultiAccountDeploymentTemplate(t *testing.T) {
	b := builtinNamed(t, "multi-account-deployment")
	for _, mode := range []string{"manual", "automated"} {
		t.Run(mode, func(t *testing.T) {
			_, props := evalAll(t, b.Body, map[string]string{ParamProjectName: "abalone", ParamProjectID: "p-abc",
				"StagingOrganizationalUnitIds": "ou-ab12-11111111,ou-ab12-22222222", "ProductionOrganizationalUnitIds": "ou-ab12-33333333", "PromotionMode": mode})
			rule := props["ModelApprovedRule"]["EventPattern"].(map[string]any)
			detail := rule["detail"].(map[string]any)
			if got := detail["ModelApprovalStatus"]; !equalJSON(got, []any{"Approved"}) {
				t.Errorf("rule matches ModelApprovalStatus %v, want only Approved", got)
			}
			if got := detail["ModelPackageGroupName"]; !equalJSON(got, []any{"abalone"}) {
				t.Errorf("rule matches group %v, want abalone", got)
			}
			stages := props["DeployPipeline"]["Stages"].([]any)
			var names []string
			for _, s := range stages {
				names = append(names, s.(map[string]any)["Name"].(string))
			}
			if got := strings.Join(names, ","); got != "Source,Build,DeployStaging,TestStaging,ApproveDeployment,DeployProd" {
				t.Errorf("stages = %s", got)
			}
			approve := stages[4].(map[string]any)["Actions"].([]any)[0].(map[string]any)["ActionTypeId"].(map[string]any)
			if want := map[bool]string{true: "Manual", false: "CodeBuild"}[mode == "manual"]; approve["Provider"] != want {
				t.Errorf("ApproveDeployment provider = %v, want %s", approve["Provider"], want)
			}
			staging := stages[2].(map[string]any)["Actions"].([]any)[0].(map[string]any)["Configuration"].(map[string]any)
			if staging["DeploymentTargets"] != "ou-ab12-11111111,ou-ab12-22222222" {
				t.Errorf("staging targets = %v", staging["DeploymentTargets"])
			}
			policy, _ := json.Marshal(props["ModelPackageGroup"]["ModelPackageGroupPolicy"])
			for _, ou := range []string{"*/ou-ab12-11111111/*", "*/ou-ab12-22222222/*", "*/ou-ab12-33333333/*"} {
				if !strings.Contains(string(policy), ou) {
					t.Errorf("group policy %s does not name %s", policy, ou)
				}
			}
			var def map[string]any
			body := props["ModelBuildPipeline"]["PipelineDefinition"].(map[string]any)["PipelineDefinitionBody"].(string)
			if err := json.Unmarshal([]byte(body), &def); err != nil {
				t.Fatalf("pipeline definition: %v", err)
			}
			if !strings.Contains(body, `"ModelPackageGroupName": "abalone"`) || !strings.Contains(body, "s3://phys-ArtifactBucket/data/abalone.csv") {
				t.Errorf("pipeline definition does not register into the group or read the bucket: %.300s", body)
			}
		})
	}
	seed := map[string]string{}
	for _, f := range b.Seed {
		seed[f.Path] = string(f.Content)
	}
	for _, stage := range []string{"staging-config.json", "prod-config.json"} {
		var cfg struct{ Parameters map[string]string }
		if err := json.Unmarshal([]byte(seed[stage]), &cfg); err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		cfg.Parameters["SageMakerProjectName"] = "abalone"
		cfg.Parameters["ModelPackageName"] = "arn:aws:sagemaker:us-east-1:111111111111:model-package/abalone/1"
		cfg.Parameters["ArtifactBucket"] = "b"
		cfg.Parameters["DataScienceAccountId"] = "111111111111"
		_, props := evalAll(t, seed["endpoint-config-template.yml"], cfg.Parameters)
		if props["Endpoint"]["EndpointName"] != "abalone-"+cfg.Parameters["StageName"] {
			t.Errorf("%s: endpoint name %v", stage, props["Endpoint"]["EndpointName"])
		}
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestParseTemplateRefuses(t *testing.T) {
	man := func(s string) File { return File{Path: ManifestFile, Content: []byte(s)} }
	body := File{Path: TemplateFile, Content: []byte("Parameters:\n  A: {Type: String}\nResources:\n  B: {Type: AWS::S3::Bucket}\nOutputs:\n  Bucket: {Value: !Ref B}\n")}
	for _, tc := range []struct {
		name  string
		files []File
		want  string
	}{
		{"no manifest", []File{body}, "no manifest.json"},
		{"bad name", []File{man(`{"Name":"a b"}`), body}, "Name"},
		{"no template", []File{man(`{"Name":"t"}`)}, "no template.yaml"},
		{"undeclared doc", []File{man(`{"Name":"t","Parameters":[{"Name":"Z"}]}`), body}, "does not declare"},
		{"escaping path", []File{man(`{"Name":"t"}`), body, {Path: "../x", Content: nil}}, "paths are relative"},
		{"stray file", []File{man(`{"Name":"t"}`), body, {Path: "x.txt"}}, "holds manifest.json"},
		{"seed without place", []File{man(`{"Name":"t"}`), body, {Path: "seed/a"}}, "no SeedCode"},
		{"seed output missing", []File{man(`{"Name":"t","SeedCode":{"BucketOutput":"Nope","Prefix":"s"}}`), body, {Path: "seed/a"}}, "not an output"},
		{"bad template", []File{man(`{"Name":"t"}`), {Path: TemplateFile, Content: []byte("Resources: 3")}}, "template.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTemplate(tc.files)
			if !errs.Is(err, errs.Invalid) || !strings.Contains(errs.Message(err), tc.want) {
				t.Errorf("err = %v, want Invalid with %q", err, tc.want)
			}
		})
	}
	got, err := ParseTemplate([]File{man(`{"Name":"t","SeedCode":{"BucketOutput":"Bucket","Prefix":"s"}}`), body, {Path: "seed/b/c.txt", Content: []byte("x")}})
	if err != nil || got.Name() != "t" || len(got.Seed) != 1 || got.Seed[0].Path != "b/c.txt" {
		t.Errorf("ParseTemplate = %+v, %v", got, err)
	}
}

func FuzzParseTemplate(f *testing.F) {
	f.Add(`{"Name":"t","SeedCode":{"BucketOutput":"Bucket","Prefix":"s"}}`, "Resources:\n  B: {Type: AWS::S3::Bucket}\nOutputs:\n  Bucket: {Value: !Ref B}\n", "seed/x")
	f.Add(`{"Name":"t","Parameters":[{"Name":"A"}]}`, `{"Parameters":{"A":{"Type":"String"}},"Resources":{}}`, "../y")
	f.Fuzz(func(t *testing.T, manifest, body, seedPath string) {
		tpl, err := ParseTemplate([]File{{Path: ManifestFile, Content: []byte(manifest)}, {Path: TemplateFile, Content: []byte(body)}, {Path: seedPath, Content: []byte("s")}})
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("error of kind %v: %v", errs.KindOf(err), err)
			}
			return
		}
		if !templateNameRE.MatchString(tpl.Name()) {
			t.Fatalf("accepted name %q", tpl.Name())
		}
		for _, s := range tpl.Seed {
			if strings.HasPrefix(s.Path, "/") || strings.Contains(s.Path, "..") && strings.HasPrefix(s.Path, "..") {
				t.Fatalf("accepted seed path %q", s.Path)
			}
		}
	})
}
