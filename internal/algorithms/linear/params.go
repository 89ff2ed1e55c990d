package linear

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// The predictor types.
const (
	Regressor        = "regressor"
	BinaryClassifier = "binary_classifier"
)

// Params are the linear learner's hyperparameters.
type Params struct {
	PredictorType string  `json:"predictor_type"` // Regressor or BinaryClassifier
	L1            float64 `json:"l1"`             // L1 penalty weight, ≥ 0
	L2            float64 `json:"l2"`             // L2 penalty weight, ≥ 0
	FitIntercept  bool    `json:"fit_intercept"`
	MaxIterations int     `json:"max_iterations"` // Newton steps (classifier) and coordinate-descent sweeps ×100
	Tolerance     float64 `json:"tolerance"`      // relative change at which the solvers stop
}

// DefaultParams returns the defaults: a regressor without penalties, with an intercept.
func DefaultParams() Params {
	return Params{PredictorType: Regressor, FitIntercept: true, MaxIterations: 100, Tolerance: 1e-10}
}

// ParamDoc documents one hyperparameter.
type ParamDoc struct {
	Name, Default, Range, Note string
}

// Describe documents every hyperparameter, for docs/algorithms.md.
func (Params) Describe() []ParamDoc {
	d := DefaultParams()
	return []ParamDoc{
		{"predictor_type", d.PredictorType, "regressor, binary_classifier", "required by SageMaker's linear learner; defaults to regressor here"},
		{"l1", fmtFloat(d.L1), "[0, ∞)", "L1 penalty on the weights (not the intercept); the loss is averaged over the (weighted) rows"},
		{"l2", fmtFloat(d.L2), "[0, ∞)", "L2 penalty (l2/2)·‖β‖²; SageMaker calls it wd"},
		{"fit_intercept", strconv.FormatBool(d.FitIntercept), "true, false", ""},
		{"max_iterations", strconv.Itoa(d.MaxIterations), "[1, 100000]", "Newton steps of the classifier; coordinate descent runs up to 100× as many sweeps"},
		{"tolerance", fmtFloat(d.Tolerance), "(0, 1)", "relative change of the objective or weights at which the solvers stop"},
	}
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// ParseParams parses hyperparameters given as strings (as SageMaker passes them). Unknown names and
// bad values are errs.Invalid naming the parameter and the allowed values. "wd" is accepted as
// SageMaker's name for l2.
func ParseParams(set map[string]string) (Params, error) {
	p := DefaultParams()
	names := make([]string, 0, len(set))
	for k := range set {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := strings.TrimSpace(set[k])
		var err error
		switch k {
		case "predictor_type":
			if v != Regressor && v != BinaryClassifier {
				return p, errs.E(errs.Invalid, "hyperparameter predictor_type=%q: want %s or %s", v, Regressor, BinaryClassifier)
			}
			p.PredictorType = v
		case "l1":
			p.L1, err = parsePenalty(k, v)
		case "l2", "wd":
			p.L2, err = parsePenalty(k, v)
		case "fit_intercept":
			b, perr := strconv.ParseBool(v)
			if perr != nil {
				err = errs.E(errs.Invalid, "hyperparameter fit_intercept=%q: want true or false", v)
			}
			p.FitIntercept = b
		case "max_iterations":
			n, perr := strconv.Atoi(v)
			if perr != nil || n < 1 || n > 100000 {
				err = errs.E(errs.Invalid, "hyperparameter max_iterations=%q: want an integer in [1, 100000]", v)
			}
			p.MaxIterations = n
		case "tolerance":
			f, perr := strconv.ParseFloat(v, 64)
			if perr != nil || !(f > 0 && f < 1) {
				err = errs.E(errs.Invalid, "hyperparameter tolerance=%q: want a number in (0, 1)", v)
			}
			p.Tolerance = f
		default:
			known := make([]string, 0)
			for _, d := range p.Describe() {
				known = append(known, d.Name)
			}
			return p, errs.E(errs.Invalid, "unknown hyperparameter %q for the linear learner: want one of %s (or wd)", k, strings.Join(known, ", "))
		}
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

func parsePenalty(name, v string) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 0) || math.IsInf(f, 0) {
		return 0, errs.E(errs.Invalid, "hyperparameter %s=%q: want a finite number ≥ 0", name, v)
	}
	return f, nil
}

// validate checks a Params built in code rather than parsed.
func (p Params) validate() error {
	if p.PredictorType != Regressor && p.PredictorType != BinaryClassifier {
		return errs.E(errs.Invalid, "predictor_type %q: want %s or %s", p.PredictorType, Regressor, BinaryClassifier)
	}
	for _, v := range []float64{p.L1, p.L2} {
		if !(v >= 0) || math.IsInf(v, 0) {
			return errs.E(errs.Invalid, "penalties l1=%v, l2=%v: want finite numbers ≥ 0", p.L1, p.L2)
		}
	}
	if p.MaxIterations < 1 || !(p.Tolerance > 0 && p.Tolerance < 1) {
		return errs.E(errs.Invalid, "max_iterations=%d, tolerance=%v: want ≥ 1 and in (0, 1)", p.MaxIterations, p.Tolerance)
	}
	return nil
}
