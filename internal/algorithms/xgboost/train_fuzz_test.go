package xgboost

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
)

// FuzzTrain trains on small arbitrary data (ties, NaN, infinities, zero weights) with arbitrary tree
// parameters: Train never panics, and whatever it returns predicts exactly the margins it trained with
// (the last logged metric, computed from the training margins, equals the metric of the predictions).
func FuzzTrain(f *testing.F) {
	f.Add([]byte{3, 2, 1, 0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120})
	f.Add([]byte{7, 1, 2, 1, 255, 255, 0, 0, 128, 128, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{16, 3, 4, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 200, 201})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 5 {
			return
		}
		rows, cols := 1+int(data[0]%16), 1+int(data[1]%3)
		depth, maxBin, logistic := 1+int(data[2]%4), 2+int(data[3]%6), data[4]%2 == 1
		weighted := data[4]%4 >= 2
		data = data[5:]
		at := func(i int) byte {
			if len(data) == 0 {
				return 0
			}
			return data[i%len(data)]
		}
		d := &dataset.Dense{Rows: rows, Cols: cols, X: make([]float32, rows*cols), Label: make([]float32, rows)}
		for i := range d.X {
			switch b := at(i); {
			case b == 255:
				d.X[i] = float32(math.NaN())
			case b == 254:
				d.X[i] = float32(math.Inf(1))
			default:
				d.X[i] = float32(b%16) - 4
			}
		}
		for i := range d.Label {
			d.Label[i] = float32(at(rows*cols+i) % 8)
			if logistic {
				d.Label[i] = float32(at(rows*cols+i) % 2)
			}
		}
		if weighted {
			d.Weight = make([]float32, rows)
			for i := range d.Weight {
				d.Weight[i] = float32(at(2*rows*cols+i) % 3)
			}
		}
		set := map[string]string{"num_round": "3", "max_depth": itoa(depth), "max_bin": itoa(maxBin),
			"min_child_weight": "0", "nthread": "2"}
		if logistic {
			set["objective"] = "binary:logistic"
		}
		p, err := ParseParams(set)
		if err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		b, err := Train(context.Background(), p, d, []Eval{{"train", d}}, &log)
		if err != nil {
			if hasInf(d.X) {
				return // rejected, as XGBoost rejects infinite inputs
			}
			t.Fatalf("Train: %v", err)
		}
		pred, err := b.Predict(d, PredictOptions{})
		if err != nil {
			t.Fatal(err)
		}
		m := newLoss(p).metric
		lines := strings.Split(strings.TrimSpace(log.String()), "\n")
		if want := "train-" + m + ":" + formatScore(evalMetric(m, d, pred, 1)); !strings.HasSuffix(lines[len(lines)-1], want) {
			t.Fatalf("last log line %q, predictor gives %s", lines[len(lines)-1], want)
		}
	})
}

func hasInf(x []float32) bool {
	for _, v := range x {
		if math.IsInf(float64(v), 0) {
			return true
		}
	}
	return false
}
