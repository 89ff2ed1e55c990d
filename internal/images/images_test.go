package images

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const slipway = "/usr/local/bin/slipway"

func table(t testing.TB, maps ...Mapping) *Table {
	t.Helper()
	tb, err := New(Options{Slipway: slipway, Mappings: maps})
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestResolve(t *testing.T) {
	tb := table(t, Mapping{Image: "123456789012.dkr.ecr.*.amazonaws.com/my-trainer:*", Command: []string{"/opt/bin/train", "--fast"}, Env: map[string]string{"A": "1"}})
	xgb := "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:"
	skl := "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:"
	withVersion := func(v string) map[string]string {
		return map[string]string{EnvPython: DefaultPython, EnvImageVersion: v}
	}
	cases := []struct {
		name  string
		image string
		mode  Mode
		job   Job
		want  Runtime
	}{
		{"xgboost 1.0-1 algorithm mode", xgb + "1.0-1", Training, Job{HyperParameters: map[string]string{"num_round": "5"}},
			Runtime{Command: []string{slipway, "container", "xgboost", "--image-version", "1.0-1"}, Env: withVersion("1.0-1"), Kind: KindBuiltinXGBoost}},
		{"xgboost SDK tag with processor and python", xgb + "0.90-1-cpu-py3", Training, Job{},
			Runtime{Command: []string{slipway, "container", "xgboost", "--image-version", "0.90-1"}, Env: withVersion("0.90-1"), Kind: KindBuiltinXGBoost}},
		{"xgboost arm64 tag", xgb + "1.5-1-arm64", Training, Job{},
			Runtime{Command: []string{slipway, "container", "xgboost", "--image-version", "1.5-1"}, Env: withVersion("1.5-1"), Kind: KindBuiltinXGBoost}},
		{"xgboost in another region", "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1", Training, Job{},
			Runtime{Command: []string{slipway, "container", "xgboost", "--image-version", "1.7-1"}, Env: withVersion("1.7-1"), Kind: KindBuiltinXGBoost}},
		{"xgboost in China", "450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.2-1", Training, Job{},
			Runtime{Command: []string{slipway, "container", "xgboost", "--image-version", "1.2-1"}, Env: withVersion("1.2-1"), Kind: KindBuiltinXGBoost}},
		{"xgboost script mode (training)", xgb + "1.7-1", Training, Job{HyperParameters: map[string]string{"sagemaker_program": "train.py", "sagemaker_submit_directory": "s3://b/k.tar.gz"}},
			Runtime{Command: []string{slipway, "container", "script"}, Env: withVersion("1.7-1"), Kind: KindScript}},
		{"xgboost as ScriptProcessor(command=[python3])", xgb + "1.0-1-cpu-py3", Processing,
			Job{ContainerEntrypoint: []string{"python3", "/opt/ml/processing/input/code/evaluate.py"}, ContainerArguments: []string{"--x", "1"}},
			Runtime{Command: []string{DefaultPython, "/opt/ml/processing/input/code/evaluate.py", "--x", "1"}, Env: withVersion("1.0-1"), Kind: KindScript}},
		{"xgboost processing without entrypoint", xgb + "1.0-1", Processing, Job{},
			Runtime{Command: []string{slipway, "container", "exec"}, Env: withVersion("1.0-1"), Kind: KindScript}},
		{"xgboost transform", xgb + "1.7-1", Transform, Job{},
			Runtime{Command: []string{slipway, "container", "transform"}, Env: withVersion("1.7-1"), Kind: KindBuiltinXGBoost}},
		{"first-generation xgboost image", "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1", Training, Job{},
			Runtime{Command: []string{slipway, "container", "xgboost", "--image-version", "1"}, Env: withVersion("1"), Kind: KindBuiltinXGBoost}},
		{"SKLearnProcessor", skl + "0.23-1-cpu-py3", Processing,
			Job{ContainerEntrypoint: []string{"python3", "/opt/ml/processing/input/code/preprocess.py"}},
			Runtime{Command: []string{DefaultPython, "/opt/ml/processing/input/code/preprocess.py"}, Env: withVersion("0.23-1"), Kind: KindScript}},
		{"sklearn entrypoint with a python path", skl + "1.2-1", Processing, Job{ContainerEntrypoint: []string{"/usr/local/bin/python3.9", "p.py"}},
			Runtime{Command: []string{DefaultPython, "p.py"}, Env: withVersion("1.2-1"), Kind: KindScript}},
		{"sklearn estimator", skl + "1.2-1", Training, Job{HyperParameters: map[string]string{"sagemaker_program": "train.py"}},
			Runtime{Command: []string{slipway, "container", "script"}, Env: withVersion("1.2-1"), Kind: KindScript}},
		{"user mapping", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-trainer:v3", Training, Job{},
			Runtime{Command: []string{"/opt/bin/train", "--fast"}, Env: map[string]string{"A": "1"}, Kind: KindCommand}},
		{"user mapping in processing takes the arguments", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-trainer:v3", Processing, Job{ContainerArguments: []string{"--in", "x"}},
			Runtime{Command: []string{"/opt/bin/train", "--fast", "--in", "x"}, Env: map[string]string{"A": "1"}, Kind: KindCommand}},
		{"slipway/xgboost", "slipway/xgboost", Training, Job{},
			Runtime{Command: []string{slipway, "container", "xgboost", "--model-format", "json"}, Env: map[string]string{}, Kind: KindBuiltinXGBoost}},
		{"slipway/linear:latest", "slipway/linear:latest", Training, Job{},
			Runtime{Command: []string{slipway, "container", "linear"}, Env: map[string]string{}, Kind: KindBuiltin}},
		{"slipway/prep", "slipway/prep", Processing, Job{ContainerArguments: []string{"--input", "/opt/ml/processing/input/a.csv"}},
			Runtime{Command: []string{slipway, "algo", "prep", "--input", "/opt/ml/processing/input/a.csv"}, Env: map[string]string{}, Kind: KindBuiltin}},
		{"slipway/linear transform", "slipway/linear", Transform, Job{},
			Runtime{Command: []string{slipway, "container", "transform"}, Env: map[string]string{}, Kind: KindBuiltin}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := tb.ResolveJob(c.image, c.mode, c.job)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(c.want, got); d != "" {
				t.Errorf("ResolveJob(%s, %s) (-want +got):\n%s", c.image, c.mode, d)
			}
		})
	}
}

func TestResolveRefuses(t *testing.T) {
	tb := table(t)
	cases := []struct {
		image string
		mode  Mode
		job   Job
		want  string
	}{
		{"my-registry.example.com/team/trainer:1", Training, Job{}, `under "images"`},
		{"111111111111.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", Training, Job{}, `under "images"`}, // not SageMaker's account
		{"246618743249.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", Training, Job{}, `under "images"`}, // us-west-2's account in us-east-1
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5", Training, Job{}, "versions with a runtime here are 0.90-1"},
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1-gpu", Training, Job{}, "versions with a runtime here"},
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1", Training, Job{}, "only in script mode"},
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1", Transform, Job{}, "not supported"},
		{"slipway/prep", Training, Job{}, "runs in Processing jobs"},
		{"slipway/nope", Training, Job{}, "slipway/evaluate, slipway/linear"},
		{"slipway/xgboost", "Serving", Job{}, "unknown job mode"},
	}
	for _, c := range cases {
		_, err := tb.ResolveJob(c.image, c.mode, c.job)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ResolveJob(%s, %s) = %v; want an error containing %q", c.image, c.mode, err, c.want)
		}
	}
}

// TestEveryRegion: the XGBoost image resolves in every region the table lists, from that region's
// account only.
func TestEveryRegion(t *testing.T) {
	tb := table(t)
	regions := Regions("sagemaker-xgboost")
	if len(regions) < 30 {
		t.Fatalf("only %d regions", len(regions))
	}
	for _, r := range regions {
		domain := "amazonaws.com"
		if strings.HasPrefix(r, "cn-") {
			domain = "amazonaws.com.cn"
		}
		acct := ecrAccounts["sagemaker-xgboost"][r]
		for v := range xgboostVersions {
			img := acct + ".dkr.ecr." + r + "." + domain + "/sagemaker-xgboost:" + v
			if rt, err := tb.Resolve(img, Training); err != nil || rt.Kind != KindBuiltinXGBoost {
				t.Errorf("%s: %v %v", img, rt, err)
			}
		}
	}
}

func TestResolveDoesNotAlias(t *testing.T) {
	tb := table(t, Mapping{Image: "x", Command: []string{"/bin/x"}, Env: map[string]string{"A": "1"}})
	rt, err := tb.Resolve("x", Training)
	if err != nil {
		t.Fatal(err)
	}
	rt.Command[0], rt.Env["A"] = "/bin/y", "2"
	again, err := tb.Resolve("x", Training)
	if err != nil {
		t.Fatal(err)
	}
	if again.Command[0] != "/bin/x" || again.Env["A"] != "1" {
		t.Errorf("the table changed through a returned Runtime: %v", again)
	}
}

func TestNewValidates(t *testing.T) {
	for name, o := range map[string]Options{
		"relative slipway": {Slipway: "slipway"},
		"relative python":  {Slipway: slipway, Python: "python3"},
		"empty image":      {Slipway: slipway, Mappings: []Mapping{{Command: []string{"/bin/true"}}}},
		"relative command": {Slipway: slipway, Mappings: []Mapping{{Image: "x", Command: []string{"true"}}}},
		"no command":       {Slipway: slipway, Mappings: []Mapping{{Image: "x"}}},
		"bad env":          {Slipway: slipway, Mappings: []Mapping{{Image: "x", Command: []string{"/bin/true"}, Env: map[string]string{"A=B": "1"}}}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func FuzzResolve(f *testing.F) {
	tb := table(f, Mapping{Image: "a*b", Command: []string{"/bin/ab"}})
	for _, s := range []string{"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3", "slipway/xgboost", "a--b", ""} {
		f.Add(s, "python3")
	}
	f.Fuzz(func(t *testing.T, image, entry string) {
		for _, mode := range []Mode{Training, Processing, Transform} {
			rt, err := tb.ResolveJob(image, mode, Job{ContainerEntrypoint: []string{entry}})
			if err != nil {
				if !strings.Contains(err.Error(), ConfigKey) && !strings.Contains(err.Error(), "runs") {
					// every refusal says what to do
					if !strings.Contains(err.Error(), "script mode") {
						t.Fatalf("%q: %v", image, err)
					}
				}
				continue
			}
			if len(rt.Command) == 0 || (!filepath.IsAbs(rt.Command[0]) && rt.Command[0] != entry) {
				t.Fatalf("%q %s: command %q", image, mode, rt.Command)
			}
		}
		rt, err := tb.ResolveServing(image, map[string]string{EnvProgram: entry})
		switch {
		case err != nil && !strings.Contains(err.Error(), ConfigKey) && !strings.Contains(err.Error(), "Processing jobs"):
			t.Fatalf("%q serving: %v", image, err) // every refusal says what to do
		case err == nil && rt.Kind == KindInProcess && len(rt.Command) != 0,
			err == nil && rt.Kind == KindCommand && (len(rt.Command) < 2 || !filepath.IsAbs(rt.Command[0]) || rt.Command[len(rt.Command)-1] != ServeArg),
			err == nil && rt.Kind != KindInProcess && rt.Kind != KindCommand:
			t.Fatalf("%q serving: %+v", image, rt)
		}
	})
}
