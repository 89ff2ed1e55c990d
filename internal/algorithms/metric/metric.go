// Package metric computes the evaluation metrics of XGBoost 1.7 (rmse, mae, logloss, error, auc,
// merror, mlogloss, poisson-nloglik, mphe) with XGBoost's definitions, including its clipping constants
// and its treatment of ties and instance weights.
//
// Every function takes labels, predictions and optional instance weights (nil means every weight
// is 1) and returns the weighted mean of the per-row loss, except AUC, which is a ranking measure.
// Predictions are on the output scale (probabilities for the classification metrics), never margins.
// An empty input (or a zero total weight) gives NaN.
package metric

import (
	"math"
	"sort"
)

// Float is the element type the metrics accept.
type Float interface{ ~float32 | ~float64 }

// eps is XGBoost's clipping constant for logarithms of probabilities and Poisson means.
const eps = 1e-16

func weightAt[F Float](w []F, i int) float64 {
	if w == nil {
		return 1
	}
	return float64(w[i])
}

// mean returns the weighted mean of loss(i) over n rows.
func mean[F Float](n int, w []F, loss func(i int) float64) float64 {
	var sum, wsum float64
	for i := 0; i < n; i++ {
		wi := weightAt(w, i)
		sum += wi * loss(i)
		wsum += wi
	}
	if wsum == 0 {
		return math.NaN()
	}
	return sum / wsum
}

// RMSE is the root of the weighted mean squared error.
func RMSE[F Float](label, pred, weight []F) float64 {
	return math.Sqrt(mean(len(label), weight, func(i int) float64 {
		d := float64(label[i]) - float64(pred[i])
		return d * d
	}))
}

// MAE is the weighted mean absolute error.
func MAE[F Float](label, pred, weight []F) float64 {
	return mean(len(label), weight, func(i int) float64 {
		return math.Abs(float64(label[i]) - float64(pred[i]))
	})
}

// LogLoss is the weighted negative log-likelihood of labels in [0,1] under probabilities pred,
// with p and 1-p each clipped below at 1e-16 as XGBoost 1.7 does (a prediction outside [0,1], as
// binary:logitraw's margins, is not clipped further, so the loss can be negative, as in XGBoost).
func LogLoss[F Float](label, pred, weight []F) float64 {
	return mean(len(label), weight, func(i int) float64 {
		y, p := float64(label[i]), float64(pred[i])
		var l float64
		if y != 0 {
			l -= y * math.Log(math.Max(p, eps))
		}
		if y != 1 {
			l -= (1 - y) * math.Log(math.Max(1-p, eps))
		}
		return l
	})
}

// ErrorRate is XGBoost's "error": the weighted share of rows whose prediction falls on the wrong
// side of 0.5 (a prediction above 0.5 means class 1).
func ErrorRate[F Float](label, pred, weight []F) float64 {
	return mean(len(label), weight, func(i int) float64 {
		y := float64(label[i])
		if float64(pred[i]) > 0.5 {
			return 1 - y
		}
		return y
	})
}

// AUC is the area under the ROC curve of binary labels (label > 0.5 is positive): the weighted
// share of (positive, negative) pairs ranked correctly, a tie counting one half, as XGBoost computes
// it with the trapezoid rule over weighted true and false positives. It is NaN when the data have no
// positive or no negative weight, as in XGBoost 1.7.
func AUC[F Float](label, pred, weight []F) float64 {
	n := len(label)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return pred[idx[a]] > pred[idx[b]] })
	var tp, fp, area float64
	for i := 0; i < n; {
		// one group of tied predictions: one trapezoid
		var dtp, dfp float64
		j := i
		for ; j < n && pred[idx[j]] == pred[idx[i]]; j++ {
			w := weightAt(weight, idx[j])
			if float64(label[idx[j]]) > 0.5 {
				dtp += w
			} else {
				dfp += w
			}
		}
		area += dfp * (tp + tp + dtp) / 2
		tp += dtp
		fp += dfp
		i = j
	}
	if tp <= 0 || fp <= 0 {
		return math.NaN()
	}
	return area / (tp * fp)
}

// MError is the weighted share of rows whose most probable class (first maximum of the row of
// pred, which is row-major len(label)×k) differs from the label.
func MError[F Float](label, pred, weight []F, k int) float64 {
	return mean(len(label), weight, func(i int) float64 {
		row := pred[i*k : (i+1)*k]
		best := 0
		for c := 1; c < k; c++ {
			if row[c] > row[best] {
				best = c
			}
		}
		if best != int(label[i]) {
			return 1
		}
		return 0
	})
}

// MLogLoss is the weighted mean of -log(p[label]) over rows of class probabilities (pred is
// row-major len(label)×k), each probability clipped below at 1e-16.
func MLogLoss[F Float](label, pred, weight []F, k int) float64 {
	return mean(len(label), weight, func(i int) float64 {
		p := float64(pred[i*k+int(label[i])])
		return -math.Log(math.Max(p, eps))
	})
}

// PoissonNLogLik is the weighted mean negative Poisson log-likelihood of count labels under means
// pred (clipped below at 1e-16): log(y!) + mu - y*log(mu).
func PoissonNLogLik[F Float](label, pred, weight []F) float64 {
	return mean(len(label), weight, func(i int) float64 {
		y, mu := float64(label[i]), math.Max(float64(pred[i]), eps)
		lg, _ := math.Lgamma(y + 1)
		return lg + mu - math.Log(mu)*y
	})
}

// PseudoHuber is the weighted mean pseudo-Huber loss slope²·(√(1+((pred-label)/slope)²) − 1).
// XGBoost 1.7's "mphe" is PseudoHuber with slope 1, whatever huber_slope the objective uses.
func PseudoHuber[F Float](label, pred, weight []F, slope float64) float64 {
	return mean(len(label), weight, func(i int) float64 {
		z := (float64(pred[i]) - float64(label[i])) / slope
		return slope * slope * (math.Sqrt(1+z*z) - 1)
	})
}
