package fleet

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/algorithms/linear"
	"github.com/slipway-ml/slipway/internal/images"
	"github.com/slipway-ml/slipway/internal/inference"
)

// TestImageLoader: one endpoint, two variants — a built-in image served in-process by
// inference.LoadDir and a mapped image served by its Flask serve command — as the server wires it.
func TestImageLoader(t *testing.T) {
	o, model := flask(t, "")
	script, _ := filepath.Abs("testdata/serve.py")
	tb, err := images.New(images.Options{Slipway: "/usr/local/bin/slipway", Mappings: []images.Mapping{
		{Image: "example.com/flask-model:*", Command: []string{python, script}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	linearDir := t.TempDir()
	lm := &linear.Model{Format: linear.Format, Version: linear.Version, PredictorType: linear.Regressor, Weights: []float64{1, 2}, Intercept: 0.5}
	if err := lm.Save(filepath.Join(linearDir, linear.ModelFile)); err != nil {
		t.Fatal(err)
	}
	f := New(Options{Load: ImageLoader(tb.ResolveServing, ModelLoader(inference.LoadDir), o)})
	defer f.Close()
	ctx := context.Background()
	err = f.Deploy(ctx, "ep", []VariantSpec{
		{Name: "Builtin", Weight: 1, Instances: 2, Model: ModelSpec{Image: "slipway/linear", ModelDir: linearDir}},
		{Name: "Flask", Weight: 1, Instances: 1, Model: ModelSpec{Image: "example.com/flask-model:2", ModelDir: model("10")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ target, want string }{{"Builtin", "5.5"}, {"Flask", "30"}} {
		variant, resp, err := f.Invoke(ctx, "ep", c.target, inference.Request{ContentType: "text/csv", Body: []byte("1,2\n")})
		if err != nil {
			t.Fatal(err)
		}
		if variant != c.target || strings.TrimSpace(string(resp.Body)) != c.want {
			t.Errorf("%s answered %s: %q, want %s", c.target, variant, resp.Body, c.want)
		}
	}
	// An image with no runtime fails the deploy, naming it; the endpoint keeps serving.
	err = f.Deploy(ctx, "ep", []VariantSpec{{Name: "X", Weight: 1, Instances: 1, Model: ModelSpec{Image: "example.com/unknown:1", ModelDir: linearDir}}})
	if err == nil || !strings.Contains(err.Error(), "example.com/unknown:1 has no runtime here") {
		t.Errorf("deploying an unmapped image: %v", err)
	}
	if _, _, err := f.Invoke(ctx, "ep", "Builtin", inference.Request{ContentType: "text/csv", Body: []byte("1,2\n")}); err != nil {
		t.Error(err)
	}
}
