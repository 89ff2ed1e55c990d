package rules

import (
	"strings"
	"testing"
)

const envelope = `{"version":"0","id":"e1","detail-type":"SageMaker Model Package State Change","source":"aws.sagemaker","account":"111122223333",` +
	`"time":"2026-12-03T07:00:00Z","region":"us-east-1","resources":["arn:aws:sagemaker:us-east-1:111122223333:model-package/g/3"],` +
	`"detail":{"ModelPackageVersion":3,"ModelApprovalStatus":"Approved","Note":"say \"hi\" <b>","Metrics":{"mse":4.2}}}`

func TestInput(t *testing.T) {
	for _, c := range []struct {
		name string
		t    Target
		want string
	}{
		{"event", Target{}, envelope},
		{"constant", Target{Input: `{"go":true}`}, `{"go":true}`},
		{"path", Target{InputPath: "$.detail.Metrics"}, `{"mse":4.2}`},
		{"index", Target{InputPath: "$.resources[0]"}, `"arn:aws:sagemaker:us-east-1:111122223333:model-package/g/3"`},
		{"whole", Target{InputPath: "$"}, envelope},
		{"missing", Target{InputPath: "$.detail.nope"}, `null`},
		{"transformer", Target{InputTransformer: &InputTransformer{
			InputPathsMap: map[string]string{"v": "$.detail.ModelPackageVersion", "s": "$.detail.ModelApprovalStatus", "n": "$.detail.Note", "m": "$.detail.Metrics", "x": "$.nope"},
			InputTemplate: `{"version":<v>,"status":"<s>","note":"<n>","metrics":<m>,"rule":"<aws.events.rule-name>","x":"<x>","unknown":"<y>"}`}},
			`{"version":3,"status":"Approved","note":"say \"hi\" <b>","metrics":{"mse":4.2},"rule":"r","x":"","unknown":"<y>"}`},
		{"text template", Target{InputTransformer: &InputTransformer{
			InputPathsMap: map[string]string{"s": "$.detail.ModelApprovalStatus"}, InputTemplate: `Package <s> by <aws.events.rule-arn>`}},
			`Package Approved by arn:rule`},
	} {
		got, err := Input(c.t, []byte(envelope), "arn:rule", "r")
		if err != nil || string(got) != c.want {
			t.Errorf("%s: Input = %s, %v; want %s", c.name, got, err, c.want)
		}
	}
}

func TestParsePathRejects(t *testing.T) {
	for _, p := range []string{"", "detail", "$.", "$..a", "$.a[", "$.a[x]", "$.a[-1]", "$.a[0]b", "$.a b", "$." + strings.Repeat("a", 300)} {
		if _, err := parsePath(p); err == nil {
			t.Errorf("parsePath(%q) succeeded", p)
		}
	}
}

// FuzzParsePath: a path either parses, and then looks up any event without panicking, or is
// refused.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"$", "$.detail.a", "$.resources[0]", "$.a[1][2].b", "$.a[", "$..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		steps, err := parsePath(p)
		if err != nil {
			return
		}
		if _, err := Input(Target{InputPath: p}, []byte(envelope), "", ""); err != nil {
			t.Fatalf("Input with the parsed path %q: %v", p, err)
		}
		_ = steps
	})
}
