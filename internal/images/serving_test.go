package images

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResolveServing(t *testing.T) {
	tb := table(t,
		Mapping{Image: "123456789012.dkr.ecr.*.amazonaws.com/flask-model:*", Command: []string{"/usr/bin/python3", "/srv/serve.py"}, Env: map[string]string{"WORKERS": "2"}},
		Mapping{Image: "*/sagemaker-xgboost:1.7-1-custom", Command: []string{"/opt/xgb/serve"}},
	)
	xgb := "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:"
	inProcess := Runtime{Env: map[string]string{}, Kind: KindInProcess}
	cases := []struct {
		name  string
		image string
		env   map[string]string
		want  Runtime
	}{
		{"user mapping gets serve", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/flask-model:3", nil,
			Runtime{Command: []string{"/usr/bin/python3", "/srv/serve.py", "serve"}, Env: map[string]string{"WORKERS": "2"}, Kind: KindCommand}},
		{"a mapping overrides a built-in image", "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1-custom", nil,
			Runtime{Command: []string{"/opt/xgb/serve", "serve"}, Env: map[string]string{}, Kind: KindCommand}},
		{"sagemaker xgboost", xgb + "1.7-1", nil, inProcess},
		{"sagemaker xgboost SDK tag", xgb + "1.0-1-cpu-py3", map[string]string{"OTHER": "x"}, inProcess},
		{"first-generation xgboost", "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest", nil, inProcess},
		{"slipway/xgboost", "slipway/xgboost", nil, inProcess},
		{"slipway/linear:1", "slipway/linear:1", nil, inProcess},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := tb.ResolveServing(c.image, c.env)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("ResolveServing(%q) (-want +got):\n%s", c.image, diff)
			}
		})
	}
}

func TestResolveServingRefuses(t *testing.T) {
	tb := table(t)
	cases := []struct {
		image string
		env   map[string]string
		want  string // in the message
	}{
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", map[string]string{"SAGEMAKER_PROGRAM": "inference.py"}, "script-mode serving"},
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1", nil, "inference script"},
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:9.9-9", nil, "versions with a runtime here"},
		{"slipway/prep", nil, "Processing jobs"},
		{"slipway/evaluate:2", nil, "Processing jobs"},
		{"slipway/nope", nil, "slipway/xgboost and slipway/linear"},
		{"my-registry.example.com/team/model:1", nil, `under "images"`},
		{"", nil, "no runtime here"},
	}
	for _, c := range cases {
		_, err := tb.ResolveServing(c.image, c.env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ResolveServing(%q, %v) = %v, want an error containing %q", c.image, c.env, err, c.want)
		}
	}
}

func TestResolveServingDoesNotAlias(t *testing.T) {
	m := Mapping{Image: "a/*", Command: []string{"/bin/serve"}, Env: map[string]string{"K": "v"}}
	tb := table(t, m)
	rt, err := tb.ResolveServing("a/b", nil)
	if err != nil {
		t.Fatal(err)
	}
	rt.Command[0], rt.Env["K"] = "/changed", "changed"
	again, err := tb.ResolveServing("a/b", nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Command[0] != "/bin/serve" || again.Env["K"] != "v" || len(again.Command) != 2 {
		t.Errorf("the table changed through a returned runtime: %+v", again)
	}
}
