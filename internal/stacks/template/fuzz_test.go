package template

import (
	"os"
	"testing"
)

// FuzzParse: any body either parses into a template whose plan and evaluation do not panic,
// or is refused with a ValidationError.
func FuzzParse(f *testing.F) {
	seed, err := os.ReadFile("testdata/endpoint.yml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(seed))
	for _, s := range []string{
		`{"Resources": {"A": {"Type": "X", "Properties": {"P": {"Fn::Sub": "${AWS::Region}-${B.Arn}"}}}, "B": {"Type": "Y"}}}`,
		"Resources: {A: {Type: X, DependsOn: B}, B: {Type: X, DependsOn: A}}",
		"Conditions: {C: !Equals [!Ref P, x]}\nParameters: {P: {Type: String, Default: x}}\nResources: {A: {Type: X, Condition: C, Properties: {Q: !If [C, !Ref AWS::NoValue, [1]]}}}",
		"Resources: {A: {Type: X, Properties: {P: !Cidr ['10.0.0.0/16', 4, 8], Q: !Base64 x, R: !Select [0, !Split [',', 'a,b']]}}}",
		"Parameters: {L: {Type: List<Number>, Default: '1,2', MinValue: 0}}\nResources: {A: {Type: X, Properties: {P: !Join [',', !Ref L]}}}",
		"Rules: {R: {Assertions: [{Assert: !Equals [a, a]}]}}\nResources: {A: {Type: X}}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		tpl, err := Parse([]byte(body))
		if err != nil {
			if Message(err) == "" {
				t.Fatalf("an error without a message: %#v", err)
			}
			return
		}
		values := map[string]any{}
		for name, p := range tpl.Parameters {
			if p.Default != nil {
				values[name], _ = p.resolve(*p.Default)
			} else {
				values[name] = "x"
			}
		}
		e := env(values)
		conds, err := tpl.EvalConditions(e)
		if err != nil {
			return
		}
		e.Conditions = conds
		_ = tpl.CheckRules(e)
		plan, err := tpl.Plan(conds)
		if err != nil {
			t.Fatalf("a parsed template has no plan: %v", err)
		}
		for _, wave := range plan.Create {
			for _, name := range wave {
				for _, d := range plan.DependsOn[name] {
					if _, ok := e.Resources[d]; !ok {
						t.Fatalf("%s planned before its dependency %s", name, d)
					}
				}
				if _, err := tpl.Properties(e, name); err != nil && Message(err) == "" {
					t.Fatalf("an evaluation error without a message")
				}
				e.Resources[name] = Created{PhysicalID: name, Attributes: map[string]any{"Arn": "arn"}}
			}
		}
		_, _ = tpl.EvalOutputs(e)
	})
}

// FuzzEval evaluates arbitrary JSON expressions against a fixed template.
func FuzzEval(f *testing.F) {
	for _, s := range []string{`{"Ref": "R"}`, `{"Fn::Sub": "${R.Arn}${!x}${P}"}`, `{"Fn::Join": ["-", [{"Fn::Select": [1, {"Fn::Split": [",", "a,b"]}]}]]}`,
		`{"Fn::If": ["C", {"Ref": "AWS::NoValue"}, [1, {"Fn::GetAZs": ""}]]}`, `{"Fn::Cidr": ["10.0.0.0/8", 256, 4]}`,
		`{"Fn::FindInMap": ["M", "a", "b"]}`, `{"Fn::Base64": {"Fn::Equals": [1, "1"]}}`, `{"Fn::Cidr": ["::/0", 2, 120]}`} {
		f.Add(s)
	}
	tpl, err := Parse([]byte("Parameters: {P: {Type: String, Default: p}}\nMappings: {M: {a: {b: c}}}\nConditions: {C: !Equals [!Ref P, p]}\nResources: {R: {Type: X}}"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		v, err := decode([]byte(`{"x": ` + expr + `}`))
		if err != nil {
			return
		}
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		e := env(map[string]any{"P": "p"})
		e.Conditions = map[string]bool{"C": true}
		e.Resources["R"] = Created{PhysicalID: "r", Attributes: map[string]any{"Arn": "arn"}}
		got, err := tpl.Eval(e, "X", m["x"])
		if err != nil {
			if Message(err) == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		if NoValue(got) {
			return
		}
	})
}
