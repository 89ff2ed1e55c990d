package fleet

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/slipway-ml/slipway/internal/algorithms/linear"
	"github.com/slipway-ml/slipway/internal/inference"
)

// BenchmarkInvoke measures what the fleet's routing adds to an in-process model's invocation:
// direct calls of the model beside the same calls through Fleet.Invoke (2 variants, 2 instances
// each, least outstanding, weighted), from GOMAXPROCS parallel clients.
func BenchmarkInvoke(b *testing.B) {
	dir := b.TempDir()
	lm := &linear.Model{Format: linear.Format, Version: linear.Version, PredictorType: linear.Regressor, Weights: []float64{1, 2, 3, 4, 5, 6, 7, 8}, Intercept: 0.5}
	if err := lm.Save(filepath.Join(dir, linear.ModelFile)); err != nil {
		b.Fatal(err)
	}
	req := inference.Request{ContentType: "text/csv", Body: []byte("1,2,3,4,5,6,7,8\n")}
	ctx := context.Background()
	b.Run("direct", func(b *testing.B) {
		m, err := inference.LoadDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := m.Invoke(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("fleet", func(b *testing.B) {
		f := New(Options{Load: ModelLoader(inference.LoadDir)})
		defer f.Close()
		spec := ModelSpec{Image: "slipway/linear", ModelDir: dir}
		if err := f.Deploy(ctx, "ep", []VariantSpec{{Name: "A", Weight: 1, Instances: 2, Model: spec}, {Name: "B", Weight: 2, Instances: 2, Model: spec}}); err != nil {
			b.Fatal(err)
		}
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := f.Invoke(ctx, "ep", "", req); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
