package xgboost

import (
	"encoding/csv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
)

// abaloneSplits reads testdata/abalone.csv, one-hot encodes sex (F, I, M) after the seven numeric
// columns, and splits the rows 70/15/15 (train, validation, test) after a seeded shuffle.
func abaloneSplits(t testing.TB) (train, valid, test *dataset.Dense) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "abalone.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	recs = recs[1:]
	rand.New(rand.NewPCG(7, 7)).Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	const cols = 10
	names := []string{"length", "diameter", "height", "whole_weight", "shucked_weight", "viscera_weight",
		"shell_weight", "sex_F", "sex_I", "sex_M"}
	mk := func(rs [][]string) *dataset.Dense {
		d := &dataset.Dense{Rows: len(rs), Cols: cols, X: make([]float32, len(rs)*cols), Label: make([]float32, len(rs)),
			FeatureNames: names}
		for i, r := range rs {
			for j := 1; j <= 7; j++ {
				v, err := strconv.ParseFloat(r[j], 32)
				if err != nil {
					t.Fatal(err)
				}
				d.X[i*cols+j-1] = float32(v)
			}
			d.X[i*cols+7+map[string]int{"F": 0, "I": 1, "M": 2}[r[0]]] = 1
			y, err := strconv.ParseFloat(r[8], 32)
			if err != nil {
				t.Fatal(err)
			}
			d.Label[i] = float32(y)
		}
		return d
	}
	n := len(recs)
	a, b := n*70/100, n*85/100
	return mk(recs[:a]), mk(recs[a:b]), mk(recs[b:])
}
