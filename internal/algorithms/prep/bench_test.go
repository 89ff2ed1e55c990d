package prep

import "testing"

// BenchmarkFitApply measures fitting and applying the abalone transform (4,177 rows).
func BenchmarkFitApply(b *testing.B) {
	tab, err := ReadTableFile("../testdata/abalone.csv")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		tr, err := Fit(tab, FitOptions{Label: "rings", Categorical: []string{"sex"}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tr.Apply(tab); err != nil {
			b.Fatal(err)
		}
	}
}
