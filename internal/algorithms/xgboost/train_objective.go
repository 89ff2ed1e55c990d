package xgboost

import (
	"math"
	"strconv"

	"github.com/slipway-ml/slipway/internal/errs"
)

// gradPair is one row's first and second derivative of the loss at the current margin, in float32
// as XGBoost keeps them.
type gradPair struct{ g, h float32 }

// lossFunc is a training objective: gradients of the loss with respect to the margin, the margin of
// base_score, the output transform and the label domain, as XGBoost 1.7 defines them.
type lossFunc struct {
	name    string
	k       int // outputs per row (num_class for multi:*, else 1)
	params  Params
	metric  string                 // default eval metric
	outputs func(margin []float32) // in place: margin → prediction the metrics see
}

func newLoss(p Params) lossFunc {
	l := lossFunc{name: p.Objective, k: 1, params: p}
	switch p.Objective {
	case "reg:squarederror", "reg:logistic":
		l.metric = "rmse"
	case "reg:pseudohubererror":
		l.metric = "mphe"
	case "binary:logistic", "binary:logitraw":
		l.metric = "logloss"
	case "count:poisson":
		l.metric = "poisson-nloglik"
	case "multi:softmax", "multi:softprob":
		l.k = p.NumClass
		l.metric = "mlogloss"
	}
	return l
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

// checkLabels rejects labels outside the objective's domain, naming the first bad row (1-based).
func (l lossFunc) checkLabels(label []float32, what string) error {
	for i, y := range label {
		var bad string
		switch l.name {
		case "reg:logistic", "binary:logistic", "binary:logitraw":
			if !(y >= 0 && y <= 1) {
				bad = "must be in [0, 1] for " + l.name
			}
		case "count:poisson":
			if !(y >= 0) {
				bad = "must be a count ≥ 0 for count:poisson"
			}
		case "multi:softmax", "multi:softprob":
			if !(y >= 0 && y < float32(l.k) && y == float32(math.Trunc(float64(y)))) {
				bad = "must be a class 0 to " + itoa(l.k-1) + " (num_class " + itoa(l.k) + ")"
			}
		default:
			if math.IsNaN(float64(y)) || math.IsInf(float64(y), 0) {
				bad = "must be finite"
			}
		}
		if bad != "" {
			return errs.E(errs.Invalid, "%s row %d: label %g %s", what, i+1, y, bad)
		}
	}
	return nil
}

func itoa(i int) string { return strconv.Itoa(i) }

// baseMargin is base_score on the margin scale (XGBoost's ProbToMargin), computed exactly as the
// predictor computes it so that training margins and predictions start from the same value.
// (binary:logitraw starts at base_score itself, not its logit, as XGBoost 1.7.4 does.)
func (l lossFunc) baseMargin() float32 {
	o, _ := objectiveOf(l.name)
	return o.probToMargin(float32(l.params.BaseScore))
}

// gradients computes the gradient pair of every row and output from the margins (row-major
// rows×k), weighting each by its instance weight. Rows are split over nthread goroutines.
func (l lossFunc) gradients(margin, label, weight []float32, out []gradPair, nthread int) {
	n := len(label)
	parallelRange(n, nthread, 4096, func(lo, hi int) {
		switch {
		case l.name == "reg:squarederror" && weight == nil: // the common case, without the per-row switch
			for i := lo; i < hi; i++ {
				out[i] = gradPair{margin[i] - label[i], 1}
			}
			return
		case l.name == "binary:logistic" && weight == nil && l.params.ScalePosWeight == 1:
			for i := lo; i < hi; i++ {
				p := sigmoid(margin[i])
				out[i] = gradPair{p - label[i], max(p*(1-p), 1e-16)}
			}
			return
		}
		for i := lo; i < hi; i++ {
			w := float32(1)
			if weight != nil {
				w = weight[i]
			}
			l.rowGradient(margin[i*l.k:(i+1)*l.k], label[i], w, out[i*l.k:(i+1)*l.k])
		}
	})
}

func (l lossFunc) rowGradient(m []float32, y, w float32, out []gradPair) {
	switch l.name {
	case "reg:squarederror":
		out[0] = gradPair{(m[0] - y) * w, w}
	case "reg:logistic", "binary:logistic", "binary:logitraw":
		if y == 1 {
			w *= float32(l.params.ScalePosWeight)
		}
		p := sigmoid(m[0])
		out[0] = gradPair{(p - y) * w, max(p*(1-p), 1e-16) * w}
	case "reg:pseudohubererror":
		slope := float32(l.params.HuberSlope)
		z := m[0] - y
		scaleSqrt := float32(math.Sqrt(float64(1 + z*z/(slope*slope))))
		scale := slope*slope + z*z
		out[0] = gradPair{z / scaleSqrt * w, slope * slope / (scale * scaleSqrt) * w}
	case "count:poisson":
		mds := l.params.MaxDeltaStep
		if math.IsNaN(mds) {
			mds = 0.7
		}
		out[0] = gradPair{(float32(math.Exp(float64(m[0]))) - y) * w, float32(math.Exp(float64(m[0])+float64(float32(mds)))) * w}
	case "multi:softmax", "multi:softprob":
		// softmax with the maximum subtracted, in float32 as XGBoost
		wmax := m[0]
		for _, v := range m[1:] {
			wmax = max(wmax, v)
		}
		var sum float64
		for _, v := range m {
			sum += math.Exp(float64(v - wmax))
		}
		c := int(y)
		for k, v := range m {
			p := float32(math.Exp(float64(v-wmax)) / sum)
			h := max(2*p*(1-p), 1e-16)
			if k == c {
				p -= 1
			}
			out[k] = gradPair{p * w, h * w}
		}
	}
}

// transform turns margins (row-major rows×k) into what the metrics compare with labels:
// probabilities for logistic and multi:* objectives, means for count:poisson, the margin otherwise.
func (l lossFunc) transform(margin []float32) []float32 {
	out := make([]float32, len(margin))
	switch l.name {
	case "reg:logistic", "binary:logistic":
		for i, v := range margin {
			out[i] = sigmoid(v)
		}
	case "count:poisson":
		for i, v := range margin {
			out[i] = float32(math.Exp(float64(v)))
		}
	case "multi:softmax", "multi:softprob":
		for r := 0; r+l.k <= len(margin); r += l.k {
			m := margin[r : r+l.k]
			wmax := m[0]
			for _, v := range m[1:] {
				wmax = max(wmax, v)
			}
			var sum float64
			for _, v := range m {
				sum += math.Exp(float64(v - wmax))
			}
			for k, v := range m {
				out[r+k] = float32(math.Exp(float64(v-wmax)) / sum)
			}
		}
	default: // squared error, pseudo-Huber, logitraw: the margin is the prediction
		copy(out, margin)
	}
	return out
}
