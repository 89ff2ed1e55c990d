package template

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/errs"
)

func mustParse(t *testing.T, body string) *Template {
	t.Helper()
	tpl, err := Parse([]byte(body))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return tpl
}

func env(params map[string]any) *Env {
	return &Env{Pseudo: Pseudo{AccountID: "111122223333", Region: "us-east-1", StackName: "s1",
		StackID: "arn:aws:cloudformation:us-east-1:111122223333:stack/s1/abc", Partition: "aws", URLSuffix: "amazonaws.com"},
		Params: params, Resources: map[string]Created{}}
}

func TestEndpointTemplate(t *testing.T) {
	body, err := os.ReadFile("testdata/endpoint.yml")
	if err != nil {
		t.Fatal(err)
	}
	tpl := mustParse(t, string(body))
	for _, stage := range []struct {
		name, capture string
		wantCapture   bool
		wantOutputs   int
	}{{"staging", "", false, 1}, {"prod", "s3://b/capture", true, 2}} {
		t.Run(stage.name, func(t *testing.T) {
			values, text, err := tpl.ResolveParameters(map[string]ParameterValue{
				"SageMakerProjectName": {Value: "abalone"}, "ModelExecutionRoleArn": {Value: "arn:aws:iam::111122223333:role/r"},
				"ModelPackageName": {Value: "arn:aws:sagemaker:us-east-1:111122223333:model-package/abalone/1"},
				"StageName":        {Value: stage.name}, "DataCaptureUploadPath": {Value: stage.capture}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if text["EndpointInstanceCount"] != "1" {
				t.Errorf("default EndpointInstanceCount = %q", text["EndpointInstanceCount"])
			}
			e := env(values)
			if e.Conditions, err = tpl.EvalConditions(e); err != nil {
				t.Fatal(err)
			}
			plan, err := tpl.Plan(e.Conditions)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([][]string{{"Model"}, {"EndpointConfig"}, {"Endpoint"}}, plan.Create); diff != "" {
				t.Errorf("create order (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([][]string{{"Endpoint"}, {"EndpointConfig"}, {"Model"}}, plan.Delete); diff != "" {
				t.Errorf("delete order (-want +got):\n%s", diff)
			}
			m, err := tpl.Properties(e, "Model")
			if err != nil {
				t.Fatal(err)
			}
			if got := m["Containers"].([]any)[0].(map[string]any)["ModelPackageName"]; got != "arn:aws:sagemaker:us-east-1:111122223333:model-package/abalone/1" {
				t.Errorf("ModelPackageName = %v", got)
			}
			if _, err := tpl.Properties(e, "EndpointConfig"); err == nil || !strings.Contains(err.Error(), "Resources/EndpointConfig/Properties/ProductionVariants/0/ModelName/Fn::GetAtt") {
				t.Errorf("EndpointConfig before Model: err = %v, want one naming the path", err)
			}
			e.Resources["Model"] = Created{PhysicalID: "m-1", Attributes: map[string]any{"ModelName": "m-1"}}
			ec, err := tpl.Properties(e, "EndpointConfig")
			if err != nil {
				t.Fatal(err)
			}
			_, hasCapture := ec["DataCaptureConfig"]
			if hasCapture != stage.wantCapture {
				t.Errorf("DataCaptureConfig present = %v, want %v", hasCapture, stage.wantCapture)
			}
			if v := ec["ProductionVariants"].([]any)[0].(map[string]any); v["ModelName"] != "m-1" || v["InitialInstanceCount"] != "1" {
				t.Errorf("variant = %v", v)
			}
			e.Resources["EndpointConfig"] = Created{PhysicalID: "ec-1", Attributes: map[string]any{"EndpointConfigName": "ec-1"}}
			ep, err := tpl.Properties(e, "Endpoint")
			if err != nil {
				t.Fatal(err)
			}
			if ep["EndpointName"] != "abalone-"+stage.name {
				t.Errorf("EndpointName = %v", ep["EndpointName"])
			}
			wantSize := map[string]string{"staging": "1", "prod": "2"}[stage.name]
			if got := ep["Tags"].([]any)[0].(map[string]any)["Value"]; got != wantSize {
				t.Errorf("FindInMap = %v, want %s", got, wantSize)
			}
			e.Resources["Endpoint"] = Created{PhysicalID: "arn:ep", Attributes: map[string]any{"EndpointName": "abalone-" + stage.name}}
			outs, err := tpl.EvalOutputs(e)
			if err != nil {
				t.Fatal(err)
			}
			if len(outs) != stage.wantOutputs || outs[0].ExportName != "s1-EndpointName" || outs[0].Value != "abalone-"+stage.name {
				t.Errorf("outputs = %+v", outs)
			}
			if stage.name == "prod" && outs[1].Value != "us-east-1:arn:ep" {
				t.Errorf("ProdOnly = %q", outs[1].Value)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"empty", "", "Template format error: the template is empty"},
		{"not object", "[1]", "not a JSON or YAML object"},
		{"bad json", `{"Resources": `, "JSON not well-formed"},
		{"bad yaml", "Resources: [", "YAML not well-formed"},
		{"no resources", "Description: x", "At least one Resources member must be defined."},
		{"unknown section", "Foo: 1\nResources: {A: {Type: X}}", "Invalid template property or properties [Foo]"},
		{"version", "AWSTemplateFormatVersion: 2011-01-01\nResources: {A: {Type: X}}", "AWSTemplateFormatVersion must be 2010-09-09"},
		{"no type", "Resources: {A: {Properties: {}}}", "[/Resources/A] Every Resources object must contain a Type member."},
		{"bad attribute", "Resources: {A: {Type: X, Foo: 1}}", "[/Resources/A] Invalid resource attribute Foo"},
		{"bad name", "Resources: {a-b: {Type: X}}", "Resource name a-b is non alphanumeric."},
		{"unknown tag", "Resources: {A: {Type: X, Properties: {P: !Nope x}}}", "unknown tag !Nope"},
		{"unknown fn", `{"Resources": {"A": {"Type": "X", "Properties": {"P": {"Fn::Nope": 1}}}}}`, "[Resources/A/Properties/P] Unrecognized function Fn::Nope"},
		{"undefined ref", "Resources: {A: {Type: X, Properties: {P: !Ref B}}}", "Unresolved resource dependencies [B] in the Resources block of the template (Resources/A)"},
		{"undefined getatt", "Resources: {A: {Type: X, Properties: {P: !GetAtt B.Arn}}}", "references undefined resource B"},
		{"undefined sub", "Resources: {A: {Type: X, Properties: {P: !Sub 'x-${Nope}'}}}", "Unresolved resource dependencies [Nope]"},
		{"undefined dependson", "Resources: {A: {Type: X, DependsOn: B}}", "Unresolved resource dependencies [B] in the Resources block of the template (Resources/A/DependsOn)"},
		{"cycle", "Resources: {A: {Type: X, DependsOn: B}, B: {Type: X, Properties: {P: !GetAtt C.Arn}}, C: {Type: X, Properties: {Q: !Ref A}}}", "Circular dependency between resources: [A, B, C]"},
		{"self cycle", "Resources: {A: {Type: X, Properties: {P: !Ref A}}}", "Circular dependency between resources: [A]"},
		{"undefined condition", "Resources: {A: {Type: X, Condition: C}}", "Condition C is not defined"},
		{"if undefined condition", "Resources: {A: {Type: X, Properties: {P: !If [C, 1, 2]}}}", "Condition C is not defined (Resources/A)"},
		{"resource in condition", "Conditions: {C: !Equals [!Ref A, x]}\nResources: {A: {Type: X}}", "Cannot reference resources in the Conditions block"},
		{"condition cycle", "Conditions: {C: !Condition D, D: !Condition C}\nResources: {A: {Type: X}}", "Circular condition dependency"},
		{"bad param type", "Parameters: {P: {Type: AWS::SSM::Parameter::Value<String>}}\nResources: {A: {Type: X}}", "Unrecognized parameter type: AWS::SSM::Parameter::Value<String> in Parameters/P"},
		{"bad param default", "Parameters: {P: {Type: Number, Default: abc}}\nResources: {A: {Type: X}}", "Default value of parameter P does not meet its constraints"},
		{"bad pattern", "Parameters: {P: {Type: String, AllowedPattern: '('}}\nResources: {A: {Type: X}}", "Parameters/P/AllowedPattern is not a valid pattern"},
		{"bad deletion policy", "Resources: {A: {Type: X, DeletionPolicy: Keep}}", "Unrecognized DeletionPolicy Keep"},
		{"transform", "Transform: AWS::Serverless-2016-10-31\nResources: {A: {Type: X}}", "Transform is not supported"},
		{"output without value", "Resources: {A: {Type: X}}\nOutputs: {O: {Description: d}}", "[/Outputs/O] must have a Value"},
		{"output bad ref", "Resources: {A: {Type: X}}\nOutputs: {O: {Value: !Ref B}}", "Unresolved resource dependencies [B] in the Resources block of the template (Outputs/O)"},
		{"getatt short", "Resources: {A: {Type: X, Properties: {P: !GetAtt B}}}", "!GetAtt \"B\" at line 1 must be Resource.Attribute"},
		{"alias", "Resources: {A: &x {Type: X}, B: *x}", "YAML aliases are not supported"},
		{"duplicate key", "Resources:\n  A: {Type: X}\n  A: {Type: Y}", "duplicate key"},
		{"unterminated sub", "Resources: {A: {Type: X, Properties: {P: !Sub 'x-${A'}}}", "unterminated ${"},
		{"join arity", "Resources: {A: {Type: X, Properties: {P: !If [C]}}}\nConditions: {C: !Equals [a, a]}", "Fn::If requires a list of a condition name and two values"},
		{"rule references resource", "Rules: {R: {Assertions: [{Assert: !Equals [!Ref A, x]}]}}\nResources: {A: {Type: X}}", "rules can reference only parameters, not A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.body))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error containing %q", tc.want)
			}
			var e *errs.Error
			if !errors.As(err, &e) || e.Kind != errs.Invalid || e.Code != "ValidationError" {
				t.Errorf("error %#v is not an Invalid ValidationError", err)
			}
			if !strings.Contains(errs.Message(err), tc.want) {
				t.Errorf("error = %q, want it to contain %q", errs.Message(err), tc.want)
			}
		})
	}
}

func TestParameters(t *testing.T) {
	tpl := mustParse(t, `
Parameters:
  S: {Type: String, MinLength: 2, MaxLength: 4, AllowedPattern: "[a-z]+"}
  N: {Type: Number, MinValue: 1, MaxValue: 10, Default: 5}
  L: {Type: List<Number>, Default: "1,2"}
  C: {Type: CommaDelimitedList, Default: "a, b,c"}
  E: {Type: String, AllowedValues: [x, y], Default: x, NoEcho: true}
  D: {Type: String, AllowedPattern: "[0-9]+", ConstraintDescription: digits only, Default: "1"}
Resources: {A: {Type: X}}
`)
	if !tpl.Parameters["E"].NoEcho {
		t.Error("NoEcho not parsed")
	}
	for _, tc := range []struct {
		name  string
		given map[string]ParameterValue
		want  string // error substring; empty = ok
	}{
		{"ok", map[string]ParameterValue{"S": {Value: "abc"}}, ""},
		{"missing", nil, "Parameters: [S] must have values"},
		{"unknown", map[string]ParameterValue{"S": {Value: "abc"}, "Z": {Value: "1"}}, "Parameters: [Z] do not exist in the template"},
		{"too short", map[string]ParameterValue{"S": {Value: "a"}}, "Parameter 'S' must contain at least 2 characters"},
		{"too long", map[string]ParameterValue{"S": {Value: "abcde"}}, "Parameter 'S' must contain at most 4 characters"},
		{"pattern", map[string]ParameterValue{"S": {Value: "ab1"}}, "Parameter 'S' must match pattern [a-z]+"},
		{"not number", map[string]ParameterValue{"S": {Value: "ab"}, "N": {Value: "x"}}, "Parameter 'N' must be a number"},
		{"below min", map[string]ParameterValue{"S": {Value: "ab"}, "N": {Value: "0"}}, "not less than 1"},
		{"above max", map[string]ParameterValue{"S": {Value: "ab"}, "N": {Value: "10.5"}}, "not greater than 10"},
		{"list number", map[string]ParameterValue{"S": {Value: "ab"}, "L": {Value: "1,x"}}, "Parameter 'L' must be a number"},
		{"allowed", map[string]ParameterValue{"S": {Value: "ab"}, "E": {Value: "z"}}, "Parameter 'E' must be one of AllowedValues"},
		{"constraint description", map[string]ParameterValue{"S": {Value: "ab"}, "D": {Value: "x"}}, "failed to satisfy constraint: digits only"},
		{"previous", map[string]ParameterValue{"S": {UsePreviousValue: true}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values, _, err := tpl.ResolveParameters(tc.given, map[string]string{"S": "prev"})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]any{"a", "b", "c"}, values["C"]); diff != "" {
					t.Errorf("C (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff([]any{"1", "2"}, values["L"]); diff != "" {
					t.Errorf("L (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil || !strings.Contains(errs.Message(err), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestIntrinsics(t *testing.T) {
	tpl := mustParse(t, `
Parameters:
  Env: {Type: String, Default: prod}
  Subnets: {Type: CommaDelimitedList, Default: "s-1,s-2,s-3"}
Mappings:
  M: {prod: {Size: large, List: [a, b]}}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition IsProd]
  Both: !And [!Condition IsProd, !Equals [a, a]]
  Either: !Or [!Condition NotProd, !Equals [a, b]]
Resources:
  R: {Type: X}
`)
	e := env(map[string]any{"Env": "prod", "Subnets": []any{"s-1", "s-2", "s-3"}})
	var err error
	if e.Conditions, err = tpl.EvalConditions(e); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]bool{"IsProd": true, "NotProd": false, "Both": true, "Either": false}, e.Conditions); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
	e.Resources["R"] = Created{PhysicalID: "r-1", Attributes: map[string]any{"Arn": "arn:r", "Endpoint.Address": "h"}}
	for _, tc := range []struct {
		name string
		expr string
		want any
	}{
		{"ref param", `{"Ref": "Env"}`, "prod"},
		{"ref resource", `{"Ref": "R"}`, "r-1"},
		{"ref pseudo", `{"Ref": "AWS::AccountId"}`, "111122223333"},
		{"ref partition", `{"Ref": "AWS::Partition"}`, "aws"},
		{"ref stack id", `{"Ref": "AWS::StackId"}`, "arn:aws:cloudformation:us-east-1:111122223333:stack/s1/abc"},
		{"url suffix", `{"Ref": "AWS::URLSuffix"}`, "amazonaws.com"},
		{"getatt", `{"Fn::GetAtt": ["R", "Arn"]}`, "arn:r"},
		{"getatt dotted", `{"Fn::GetAtt": ["R", "Endpoint.Address"]}`, "h"},
		{"sub", `{"Fn::Sub": "${AWS::Region}-${Env}-${R}-${R.Arn}-${!Literal}"}`, "us-east-1-prod-r-1-arn:r-${Literal}"},
		{"sub vars", `{"Fn::Sub": ["${A}/${Env}", {"A": {"Ref": "R"}}]}`, "r-1/prod"},
		{"join", `{"Fn::Join": ["-", ["a", {"Ref": "Env"}, 3]]}`, "a-prod-3"},
		{"join list param", `{"Fn::Join": [",", {"Ref": "Subnets"}]}`, "s-1,s-2,s-3"},
		{"select", `{"Fn::Select": ["1", {"Ref": "Subnets"}]}`, "s-2"},
		{"select split", `{"Fn::Select": [2, {"Fn::Split": ["/", "a/b/c"]}]}`, "c"},
		{"if", `{"Fn::If": ["IsProd", "big", "small"]}`, "big"},
		{"if novalue", `{"A": {"Fn::If": ["NotProd", "x", {"Ref": "AWS::NoValue"}]}, "B": 1}`, map[string]any{"B": 1.0}},
		{"list novalue", `[1, {"Ref": "AWS::NoValue"}, 2]`, []any{1.0, 2.0}},
		{"findinmap", `{"Fn::FindInMap": ["M", {"Ref": "Env"}, "Size"]}`, "large"},
		{"findinmap list", `{"Fn::FindInMap": ["M", "prod", "List"]}`, []any{"a", "b"}},
		{"getazs", `{"Fn::GetAZs": ""}`, []any{"us-east-1a", "us-east-1b", "us-east-1c"}},
		{"base64", `{"Fn::Base64": {"Fn::Sub": "hi ${Env}"}}`, "aGkgcHJvZA=="},
		{"cidr", `{"Fn::Cidr": ["10.0.0.0/16", 3, 8]}`, []any{"10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"}},
		{"cidr small", `{"Fn::Cidr": ["192.168.0.0/24", 2, 5]}`, []any{"192.168.0.0/27", "192.168.0.32/27"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := decode([]byte(`{"x": ` + tc.expr + `}`))
			if err != nil {
				t.Fatal(err)
			}
			got, err := tpl.Eval(e, "Test", v.(map[string]any)["x"])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	for _, tc := range []struct{ name, expr, want string }{
		{"select out of range", `{"Fn::Select": [5, ["a"]]}`, "Template error: Fn::Select index 5 is out of bounds of a list of 1 (at Test/Fn::Select)"},
		{"getatt unknown attribute", `{"Fn::GetAtt": ["R", "Nope"]}`, "R of type X does not support attribute Nope"},
		{"findinmap missing", `{"Fn::FindInMap": ["M", "dev", "Size"]}`, "Unable to get mapping for M::dev::Size"},
		{"import missing", `{"Fn::ImportValue": "x"}`, "No export named x found"},
		{"join not list", `{"Fn::Join": [",", "a"]}`, "the Fn::Join values must be a list (at Test/Fn::Join/1)"},
		{"condition outside", `{"Condition": "IsProd"}`, "Condition is a function only in condition expressions"},
		{"split empty", `{"Fn::Split": ["", "abc"]}`, "delimiter must not be empty"},
		{"cidr too many", `{"Fn::Cidr": ["10.0.0.0/24", 3, 7]}`, "cannot fit 3 subnets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := decode([]byte(`{"x": ` + tc.expr + `}`))
			if err != nil {
				t.Fatal(err)
			}
			_, err = tpl.Eval(e, "Test", v.(map[string]any)["x"])
			if err == nil || !strings.Contains(errs.Message(err), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	e.Import = func(n string) (string, bool) { return "v-" + n, n == "ok" }
	got, err := tpl.Eval(e, "T", map[string]any{"Fn::ImportValue": "ok"})
	if err != nil || got != "v-ok" {
		t.Errorf("ImportValue = %v, %v", got, err)
	}
}

func TestRules(t *testing.T) {
	tpl := mustParse(t, `
Parameters:
  Env: {Type: String}
  Size: {Type: String}
Rules:
  ProdSize:
    RuleCondition: !Equals [!Ref Env, prod]
    Assertions:
      - Assert: !Not [!Equals [!Ref Size, small]]
        AssertDescription: prod needs a bigger size
Resources: {A: {Type: X}}
`)
	for _, tc := range []struct {
		env, size string
		ok        bool
	}{{"prod", "large", true}, {"dev", "small", true}, {"prod", "small", false}} {
		err := tpl.CheckRules(env(map[string]any{"Env": tc.env, "Size": tc.size}))
		if (err == nil) != tc.ok {
			t.Errorf("%s/%s: err = %v, want ok=%v", tc.env, tc.size, err, tc.ok)
		}
		if err != nil && !strings.Contains(errs.Message(err), "prod needs a bigger size") {
			t.Errorf("err = %v", err)
		}
	}
}

func TestPlanConditionsAndWaves(t *testing.T) {
	tpl := mustParse(t, `
Parameters: {On: {Type: String}}
Conditions: {IsOn: !Equals [!Ref On, "yes"]}
Resources:
  Role: {Type: AWS::IAM::Role}
  Bucket: {Type: AWS::S3::Bucket}
  Logs: {Type: AWS::Logs::LogGroup, Condition: IsOn}
  Model: {Type: AWS::SageMaker::Model, Properties: {R: !GetAtt Role.Arn, L: !If [IsOn, !Ref Logs, x]}}
  Config: {Type: AWS::SageMaker::EndpointConfig, DependsOn: [Bucket], Properties: {M: !Sub "${Model.ModelName}"}}
`)
	for _, tc := range []struct {
		on   bool
		want [][]string
	}{
		{true, [][]string{{"Bucket", "Logs", "Role"}, {"Model"}, {"Config"}}},
		{false, [][]string{{"Bucket", "Role"}, {"Model"}, {"Config"}}},
	} {
		p, err := tpl.Plan(map[string]bool{"IsOn": tc.on})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, p.Create); diff != "" {
			t.Errorf("on=%v create (-want +got):\n%s", tc.on, diff)
		}
	}
	if diff := cmp.Diff([]string{"AWS::IAM::Role", "AWS::Logs::LogGroup", "AWS::S3::Bucket", "AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Model"}, tpl.ResourceTypes()); diff != "" {
		t.Error(diff)
	}
}

func TestJSONAndYAMLAgree(t *testing.T) {
	y := mustParse(t, "Resources:\n  A:\n    Type: X\n    Properties:\n      P: !Join ['', [!Ref 'AWS::Region', !Select [0, !GetAZs '']]]\n      N: 3\n      B: true\n      Z: null\n")
	j := mustParse(t, `{"Resources": {"A": {"Type": "X", "Properties": {"P": {"Fn::Join": ["", [{"Ref": "AWS::Region"}, {"Fn::Select": ["0", {"Fn::GetAZs": ""}]}]]}, "N": 3, "B": true, "Z": null}}}}`)
	e := env(nil)
	py, err := y.Properties(e, "A")
	if err != nil {
		t.Fatal(err)
	}
	pj, err := j.Properties(e, "A")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pj, py); diff != "" {
		t.Errorf("JSON vs YAML (-json +yaml):\n%s", diff)
	}
	if py["P"] != "us-east-1us-east-1a" {
		t.Errorf("P = %v", py["P"])
	}
}
