package xgboost

import (
	"math"
	"sort"
	"strings"
)

// transform turns a row's margins into predictions.
type transform int

const (
	outIdentity transform = iota
	outSigmoid
	outExp
	outHinge   // 1 when the margin is > 0, else 0
	outSoftmax // multi:softprob: probabilities per class
	outArgmax  // multi:softmax: the class index
)

// baseMargin says how XGBoost 1.7 maps base_score into margin space (ObjFunction::ProbToMargin).
type baseMargin int

const (
	marginIdentity baseMargin = iota
	marginLogit               // -log(1/p - 1)
	marginLog
)

// objective is what prediction needs to know about an objective.
type objective struct {
	out    transform
	margin baseMargin
}

// objectiveOf describes the objectives this package predicts for, as XGBoost 1.7 defines them.
func objectiveOf(name string) (objective, bool) {
	switch name {
	case "reg:squarederror", "reg:linear", "reg:squaredlogerror", "reg:pseudohubererror", "reg:absoluteerror",
		"rank:pairwise", "rank:ndcg", "rank:map":
		return objective{outIdentity, marginIdentity}, true
	case "reg:logistic", "binary:logistic":
		return objective{outSigmoid, marginLogit}, true
	case "binary:logitraw":
		return objective{outIdentity, marginIdentity}, true // XGBoost 1.7's LogisticRaw keeps base_score as the margin
	case "binary:hinge":
		return objective{outHinge, marginIdentity}, true
	case "count:poisson", "reg:gamma", "reg:tweedie":
		return objective{outExp, marginLog}, true
	case "multi:softprob":
		return objective{outSoftmax, marginIdentity}, true
	case "multi:softmax":
		return objective{outArgmax, marginIdentity}, true
	}
	return objective{}, false
}

func supportedObjectives() string {
	names := []string{"reg:squarederror", "reg:linear", "reg:squaredlogerror", "reg:pseudohubererror",
		"reg:absoluteerror", "reg:logistic", "binary:logistic", "binary:logitraw", "binary:hinge", "count:poisson",
		"reg:gamma", "reg:tweedie", "multi:softprob", "multi:softmax", "rank:pairwise", "rank:ndcg", "rank:map"}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// probToMargin is base_score in margin space, computed in float32 like XGBoost.
func (o objective) probToMargin(p float32) float32 {
	switch o.margin {
	case marginLogit:
		return float32(-math.Log(float64(float32(1)/p - 1)))
	case marginLog:
		return float32(math.Log(float64(p)))
	}
	return p
}

// apply writes the predictions for one row's margins m into out (len 1 for argmax, else len(m)).
func (o objective) apply(m, out []float32) {
	switch o.out {
	case outIdentity:
		copy(out, m)
	case outSigmoid:
		for i, v := range m {
			out[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	case outExp:
		for i, v := range m {
			out[i] = float32(math.Exp(float64(v)))
		}
	case outHinge:
		for i, v := range m {
			if v > 0 {
				out[i] = 1
			} else {
				out[i] = 0
			}
		}
	case outSoftmax:
		hi := m[0]
		for _, v := range m[1:] {
			hi = max(hi, v)
		}
		var sum float64
		for i, v := range m {
			e := math.Exp(float64(v - hi))
			out[i] = float32(e)
			sum += e
		}
		for i := range m {
			out[i] = float32(float64(out[i]) / sum)
		}
	case outArgmax:
		best := 0
		for i, v := range m {
			if v > m[best] {
				best = i
			}
		}
		out[0] = float32(best)
	}
}
