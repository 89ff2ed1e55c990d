package metric

import (
	"math"
	"testing"
)

func near(got, want float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return math.Abs(got-want) <= 1e-12*math.Max(1, math.Abs(want))
}

// The binary example: predictions with a three-way tie at 0.4, as checked against XGBoost 1.7.4
// (auc 0.888…, logloss 0.48250909770528, error 0.333… unweighted; auc 0.86111, logloss 0.62710295865933,
// error 0.5555… weighted).
var (
	binLabel  = []float64{0, 1, 0, 1, 1, 0}
	binPred   = []float64{0.1, 0.4, 0.4, 0.8, 0.4, 0.2}
	binWeight = []float64{1, 2, 1, 1, 3, 1}
)

func TestBinaryMetrics(t *testing.T) {
	ones := []float64{1, 1, 1, 1, 1, 1}
	tests := []struct {
		name   string
		f      func(l, p, w []float64) float64
		label  []float64
		weight []float64
		want   float64
	}{
		// pairs (pos,neg): 0.4 beats 0.1 and 0.2, ties 0.4 (½), twice; 0.8 beats all three → 8/9
		{"auc", AUC[float64], binLabel, nil, 8.0 / 9},
		// positive weight 6, negative 3; pair weights: 0.8 (w1)·3 + 0.4 (w5)·(1+1+½) = 15.5 of 18
		{"auc weighted", AUC[float64], binLabel, binWeight, 15.5 / 18},
		{"auc one class", AUC[float64], ones, nil, math.NaN()},
		{"logloss", LogLoss[float64], binLabel, nil,
			-(math.Log(0.9) + math.Log(0.4) + math.Log(0.6) + math.Log(0.8) + math.Log(0.4) + math.Log(0.8)) / 6},
		{"logloss weighted", LogLoss[float64], binLabel, binWeight,
			-(math.Log(0.9) + 2*math.Log(0.4) + math.Log(0.6) + math.Log(0.8) + 3*math.Log(0.4) + math.Log(0.8)) / 9},
		// only 0.8 is above the threshold: rows 1 and 4 (positives) are wrong
		{"error", ErrorRate[float64], binLabel, nil, 2.0 / 6},
		{"error weighted", ErrorRate[float64], binLabel, binWeight, 5.0 / 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f(tt.label, binPred, tt.weight); !near(got, tt.want) {
				t.Errorf("got %.15g, want %.15g", got, tt.want)
			}
		})
	}
}

func TestRegressionMetrics(t *testing.T) {
	label := []float32{1, 2, 4}
	pred := []float32{2, 2, 1}
	w := []float32{1, 3, 2}
	tests := []struct {
		name   string
		f      func(l, p, w []float32) float64
		weight []float32
		want   float64
	}{
		{"rmse", RMSE[float32], nil, math.Sqrt((1 + 0 + 9) / 3.0)},
		{"rmse weighted", RMSE[float32], w, math.Sqrt((1 + 0 + 18) / 6.0)},
		{"mae", MAE[float32], nil, 4.0 / 3},
		{"mae weighted", MAE[float32], w, (1 + 0 + 6) / 6.0},
		// log(y!) + mu - y log mu: (0 + 2 - log 2) + (log 2 + 2 - 2 log 2) + (log 24 + 1 - 0)
		// slope 2: 4·(√(1+(1/2)²) − 1) + 0 + 4·(√(1+(3/2)²) − 1)
		{"mphe", func(l, p, w []float32) float64 { return PseudoHuber(l, p, w, 2) }, nil,
			(4*(math.Sqrt(1.25)-1) + 4*(math.Sqrt(3.25)-1)) / 3},
		{"poisson-nloglik", PoissonNLogLik[float32], nil, ((2 - math.Log(2)) + (2 - math.Log(2)) + (math.Log(24) + 1)) / 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f(label, pred, tt.weight); !near(got, tt.want) {
				t.Errorf("got %.15g, want %.15g", got, tt.want)
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		if got := RMSE[float32](nil, nil, nil); !math.IsNaN(got) {
			t.Errorf("got %g, want NaN", got)
		}
	})
	t.Run("poisson clips mean", func(t *testing.T) {
		// mu = 0 is clipped to 1e-16: 0! term 0, + 1e-16 - 1*log(1e-16)
		got := PoissonNLogLik([]float64{1}, []float64{0}, nil)
		if want := 1e-16 - math.Log(1e-16); !near(got, want) {
			t.Errorf("got %g, want %g", got, want)
		}
	})
	t.Run("logloss of margins", func(t *testing.T) {
		// XGBoost 1.7.4 reports -log 2 for label 0 and "probability" -1 (binary:logitraw margins)
		got := LogLoss([]float64{0, 1}, []float64{-1, 1.5}, nil)
		if want := (-math.Log(2) - math.Log(1.5)) / 2; !near(got, want) {
			t.Errorf("got %g, want %g", got, want)
		}
	})
	t.Run("logloss clips probabilities", func(t *testing.T) {
		got := LogLoss([]float64{1, 0}, []float64{0, 1}, nil)
		if want := -math.Log(1e-16); !near(got, want) {
			t.Errorf("got %g, want %g", got, want)
		}
	})
}

func TestMulticlassMetrics(t *testing.T) {
	label := []float64{0, 2, 1}
	pred := []float64{
		0.7, 0.2, 0.1, // right
		0.5, 0.1, 0.4, // wrong (says 0)
		0.3, 0.3, 0.4, // wrong (says 2)
	}
	w := []float64{2, 1, 1}
	tests := []struct {
		name   string
		f      func(l, p, w []float64, k int) float64
		weight []float64
		want   float64
	}{
		{"merror", MError[float64], nil, 2.0 / 3},
		{"merror weighted", MError[float64], w, 2.0 / 4},
		{"mlogloss", MLogLoss[float64], nil, -(math.Log(0.7) + math.Log(0.4) + math.Log(0.3)) / 3},
		{"mlogloss weighted", MLogLoss[float64], w, -(2*math.Log(0.7) + math.Log(0.4) + math.Log(0.3)) / 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f(label, pred, tt.weight, 3); !near(got, tt.want) {
				t.Errorf("got %.15g, want %.15g", got, tt.want)
			}
		})
	}
}

// TestAgainstXGBoostFigures pins the values XGBoost 1.7.4 printed for the binary example.
func TestAgainstXGBoostFigures(t *testing.T) {
	for _, tt := range []struct {
		name string
		got  float64
		want float64
	}{
		{"logloss", LogLoss(binLabel, binPred, nil), 0.4825090977052848},
		{"logloss weighted", LogLoss(binLabel, binPred, binWeight), 0.627102958659331},
		{"auc weighted", AUC(binLabel, binPred, binWeight), 0.8611111111111112},
	} {
		if math.Abs(tt.got-tt.want) > 1e-7 {
			t.Errorf("%s: got %.15g, XGBoost %.15g", tt.name, tt.got, tt.want)
		}
	}
}
