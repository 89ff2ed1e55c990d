package linear

import (
	"context"
	"testing"
)

// BenchmarkTrain measures training on 4,000 prepared abalone rows (10 features).
func BenchmarkTrain(b *testing.B) {
	for _, bc := range []struct {
		name   string
		binary bool
		set    map[string]string
	}{
		{"ols", false, map[string]string{}},
		{"ridge", false, map[string]string{"l2": "0.01"}},
		{"elasticnet", false, map[string]string{"l1": "0.01", "l2": "0.01"}},
		{"logistic-l2", true, map[string]string{"predictor_type": "binary_classifier", "l2": "0.001"}},
		{"logistic-l1", true, map[string]string{"predictor_type": "binary_classifier", "l1": "0.001"}},
	} {
		d := abalone(b, 4000, bc.binary, false)
		p, err := ParseParams(bc.set)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Train(context.Background(), p, d, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
