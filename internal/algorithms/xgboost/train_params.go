package xgboost

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Params are the training hyperparameters, named and defaulted as in XGBoost 1.7 (tree booster,
// tree_method=hist). SageMaker passes every hyperparameter as a string; ParseParams reads them.
type Params struct {
	Objective string // objective: reg:squarederror (default), reg:logistic, reg:pseudohubererror, binary:logistic, binary:logitraw, count:poisson, multi:softmax, multi:softprob
	NumRound  int    // num_round (SageMaker) / num_boost_round: boosting rounds, default 10
	NumClass  int    // num_class: classes of multi:*; 0 otherwise

	Eta            float64 // eta / learning_rate: shrinkage of leaf values, default 0.3
	Gamma          float64 // gamma / min_split_loss: minimum loss reduction of a split, default 0
	MaxDepth       int     // max_depth: default 6
	MinChildWeight float64 // min_child_weight: minimum hessian sum of a child, default 1
	// MaxDeltaStep is max_delta_step: the bound on a leaf weight (0 = none), also the hessian offset
	// of count:poisson. Unset (NaN) it is 0, or 0.7 for count:poisson (trees and objective), as in XGBoost.
	MaxDeltaStep    float64
	Subsample       float64 // subsample: share of rows sampled per tree, default 1
	ColsampleByTree float64 // colsample_bytree: default 1
	ColsampleByLvl  float64 // colsample_bylevel: default 1
	ColsampleByNode float64 // colsample_bynode: default 1
	Lambda          float64 // lambda / reg_lambda: L2 regularisation of leaf weights, default 1
	Alpha           float64 // alpha / reg_alpha: L1 regularisation of leaf weights, default 0
	MaxBin          int     // max_bin: histogram bins per feature, default 256
	TreeMethod      string  // tree_method: accepted for compatibility; training is always hist
	GrowPolicy      string  // grow_policy: depthwise only
	ScalePosWeight  float64 // scale_pos_weight: weight of positive rows for logistic objectives, default 1
	HuberSlope      float64 // huber_slope: delta of reg:pseudohubererror, default 1
	BaseScore       float64 // base_score: initial prediction (output space), default 0.5

	EvalMetric          []string // eval_metric: metrics to report; empty = the objective's default
	EarlyStoppingRounds int      // early_stopping_rounds: stop after this many rounds without improvement on the last Eval (0 = never)
	Seed                int64    // seed: random seed for row and column sampling, default 0
	NThread             int      // nthread: worker goroutines, default runtime.NumCPU()
	Verbosity           int      // verbosity: accepted for compatibility (0-3)
	CSVWeights          bool     // csv_weights (SageMaker): the second CSV column holds instance weights
}

// ParamDoc documents one hyperparameter for the docs page.
type ParamDoc struct {
	Name    string
	Aliases []string
	Default string
	Range   string
	Note    string // how Slipway differs from XGBoost, if it does
}

// Objectives the trainer supports.
var trainObjectives = []string{"reg:squarederror", "reg:logistic", "reg:pseudohubererror", "binary:logistic",
	"binary:logitraw", "count:poisson", "multi:softmax", "multi:softprob"}

// Metrics eval_metric accepts.
var trainMetrics = []string{"rmse", "mae", "logloss", "error", "auc", "merror", "mlogloss", "poisson-nloglik", "mphe"}

// DefaultParams returns XGBoost 1.7's defaults.
func DefaultParams() Params {
	return Params{
		Objective:       "reg:squarederror",
		NumRound:        10,
		Eta:             0.3,
		MaxDepth:        6,
		MinChildWeight:  1,
		MaxDeltaStep:    math.NaN(),
		Subsample:       1,
		ColsampleByTree: 1,
		ColsampleByLvl:  1,
		ColsampleByNode: 1,
		Lambda:          1,
		MaxBin:          256,
		TreeMethod:      "hist",
		GrowPolicy:      "depthwise",
		ScalePosWeight:  1,
		HuberSlope:      1,
		BaseScore:       0.5,
		NThread:         runtime.NumCPU(),
		Verbosity:       1,
	}
}

// paramSpec describes how one name is parsed into Params.
type paramSpec struct {
	names []string // canonical first, then aliases
	rng   string   // allowed values, for errors and docs
	note  string
	def   func(p *Params) string
	set   func(p *Params, v string) error // returns a bare error; ParseParams names the parameter
}

func floatIn(lo, hi float64, loOpen, hiOpen bool, dst func(*Params) *float64) func(*Params, string) error {
	return func(p *Params, s string) error {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(v) {
			return fmt.Errorf("not a number")
		}
		if v < lo || v > hi || (loOpen && v == lo) || (hiOpen && v == hi) {
			return fmt.Errorf("out of range")
		}
		*dst(p) = v
		return nil
	}
}

func intIn(lo, hi int, dst func(*Params) *int) func(*Params, string) error {
	return func(p *Params, s string) error {
		v, err := parseInt(s)
		if err != nil {
			return err
		}
		if v < int64(lo) || v > int64(hi) {
			return fmt.Errorf("out of range")
		}
		*dst(p) = int(v)
		return nil
	}
}

// parseInt accepts an integer, also written as an integral float ("6.0"), as SageMaker's tuner sends them.
func parseInt(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("not an integer")
	}
	return int64(f), nil
}

func oneOf(allowed []string, dst func(*Params) *string) func(*Params, string) error {
	return func(p *Params, s string) error {
		s = strings.TrimSpace(s)
		for _, a := range allowed {
			if s == a {
				*dst(p) = a
				return nil
			}
		}
		return fmt.Errorf("not supported")
	}
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

const inf = math.MaxFloat64

func paramSpecs() []paramSpec {
	return []paramSpec{
		{names: []string{"objective"}, rng: strings.Join(trainObjectives, ", "), note: "reg:linear is read as reg:squarederror",
			def: func(p *Params) string { return p.Objective },
			set: func(p *Params, s string) error {
				if strings.TrimSpace(s) == "reg:linear" {
					s = "reg:squarederror"
				}
				return oneOf(trainObjectives, func(p *Params) *string { return &p.Objective })(p, s)
			}},
		{names: []string{"num_round", "num_boost_round"}, rng: "1 to 100000", note: "required by SageMaker; defaults to 10 here as in xgboost.train",
			def: func(p *Params) string { return strconv.Itoa(p.NumRound) },
			set: intIn(1, 100000, func(p *Params) *int { return &p.NumRound })},
		{names: []string{"num_class"}, rng: "2 to 10000 for multi:* objectives; 0 (or 1) otherwise",
			def: func(p *Params) string { return strconv.Itoa(p.NumClass) },
			set: intIn(0, 10000, func(p *Params) *int { return &p.NumClass })},
		{names: []string{"eta", "learning_rate"}, rng: "[0, ∞)",
			def: func(p *Params) string { return ftoa(p.Eta) },
			set: floatIn(0, inf, false, false, func(p *Params) *float64 { return &p.Eta })},
		{names: []string{"gamma", "min_split_loss"}, rng: "[0, ∞)",
			def: func(p *Params) string { return ftoa(p.Gamma) },
			set: floatIn(0, inf, false, false, func(p *Params) *float64 { return &p.Gamma })},
		{names: []string{"max_depth"}, rng: "1 to 30", note: "0 (no limit, lossguide only in XGBoost) is not supported",
			def: func(p *Params) string { return strconv.Itoa(p.MaxDepth) },
			set: intIn(1, 30, func(p *Params) *int { return &p.MaxDepth })},
		{names: []string{"min_child_weight"}, rng: "[0, ∞)",
			def: func(p *Params) string { return ftoa(p.MinChildWeight) },
			set: floatIn(0, inf, false, false, func(p *Params) *float64 { return &p.MinChildWeight })},
		{names: []string{"max_delta_step"}, rng: "[0, ∞)", note: "unset: 0, or 0.7 for count:poisson (as XGBoost)",
			def: func(p *Params) string {
				if math.IsNaN(p.MaxDeltaStep) {
					return "0 (0.7 for count:poisson)"
				}
				return ftoa(p.MaxDeltaStep)
			},
			set: floatIn(0, inf, false, false, func(p *Params) *float64 { return &p.MaxDeltaStep })},
		{names: []string{"subsample"}, rng: "(0, 1]", note: "random stream differs from XGBoost's: same seed, other sample",
			def: func(p *Params) string { return ftoa(p.Subsample) },
			set: floatIn(0, 1, true, false, func(p *Params) *float64 { return &p.Subsample })},
		{names: []string{"colsample_bytree"}, rng: "(0, 1]",
			def: func(p *Params) string { return ftoa(p.ColsampleByTree) },
			set: floatIn(0, 1, true, false, func(p *Params) *float64 { return &p.ColsampleByTree })},
		{names: []string{"colsample_bylevel"}, rng: "(0, 1]",
			def: func(p *Params) string { return ftoa(p.ColsampleByLvl) },
			set: floatIn(0, 1, true, false, func(p *Params) *float64 { return &p.ColsampleByLvl })},
		{names: []string{"colsample_bynode"}, rng: "(0, 1]",
			def: func(p *Params) string { return ftoa(p.ColsampleByNode) },
			set: floatIn(0, 1, true, false, func(p *Params) *float64 { return &p.ColsampleByNode })},
		{names: []string{"lambda", "reg_lambda"}, rng: "[0, ∞)",
			def: func(p *Params) string { return ftoa(p.Lambda) },
			set: floatIn(0, inf, false, false, func(p *Params) *float64 { return &p.Lambda })},
		{names: []string{"alpha", "reg_alpha"}, rng: "[0, ∞)",
			def: func(p *Params) string { return ftoa(p.Alpha) },
			set: floatIn(0, inf, false, false, func(p *Params) *float64 { return &p.Alpha })},
		{names: []string{"max_bin"}, rng: "2 to 65535",
			def: func(p *Params) string { return strconv.Itoa(p.MaxBin) },
			set: intIn(2, 65535, func(p *Params) *int { return &p.MaxBin })},
		{names: []string{"tree_method"}, rng: "auto, exact, approx, hist", note: "every method trains with hist",
			def: func(p *Params) string { return p.TreeMethod },
			set: oneOf([]string{"auto", "exact", "approx", "hist"}, func(p *Params) *string { return &p.TreeMethod })},
		{names: []string{"grow_policy"}, rng: "depthwise", note: "lossguide is not supported",
			def: func(p *Params) string { return p.GrowPolicy },
			set: oneOf([]string{"depthwise"}, func(p *Params) *string { return &p.GrowPolicy })},
		{names: []string{"scale_pos_weight"}, rng: "(0, ∞)",
			def: func(p *Params) string { return ftoa(p.ScalePosWeight) },
			set: floatIn(0, inf, true, false, func(p *Params) *float64 { return &p.ScalePosWeight })},
		{names: []string{"huber_slope"}, rng: "(0, ∞)",
			def: func(p *Params) string { return ftoa(p.HuberSlope) },
			set: floatIn(0, inf, true, false, func(p *Params) *float64 { return &p.HuberSlope })},
		{names: []string{"base_score"}, rng: "finite; (0, 1) for logistic objectives, (0, ∞) for count:poisson", note: "not estimated from the labels (XGBoost 1.7 does not either)",
			def: func(p *Params) string { return ftoa(p.BaseScore) },
			set: floatIn(-math.MaxFloat32, math.MaxFloat32, false, false, func(p *Params) *float64 { return &p.BaseScore })},
		{names: []string{"eval_metric"}, rng: strings.Join(trainMetrics, ", ") + " (comma-separated list, or a JSON list)",
			def: func(p *Params) string { return "by objective" },
			set: func(p *Params, s string) error {
				s = strings.Trim(strings.TrimSpace(s), "[]")
				var ms []string
				for _, m := range strings.Split(s, ",") {
					m = strings.Trim(strings.TrimSpace(m), `"'`)
					if m == "" {
						continue
					}
					if err := oneOf(trainMetrics, func(*Params) *string { return &m })(p, m); err != nil {
						return fmt.Errorf("metric %q is not supported", m)
					}
					if !contains(ms, m) {
						ms = append(ms, m)
					}
				}
				if len(ms) == 0 {
					return fmt.Errorf("empty")
				}
				p.EvalMetric = ms
				return nil
			}},
		{names: []string{"early_stopping_rounds"}, rng: "0 to 100000",
			def: func(p *Params) string { return strconv.Itoa(p.EarlyStoppingRounds) },
			set: intIn(0, 100000, func(p *Params) *int { return &p.EarlyStoppingRounds })},
		{names: []string{"seed", "random_state"}, rng: "any integer", note: "same seed and nthread give the same model; it is not XGBoost's random stream",
			def: func(p *Params) string { return strconv.FormatInt(p.Seed, 10) },
			set: func(p *Params, s string) error {
				v, err := parseInt(s)
				p.Seed = v
				return err
			}},
		{names: []string{"nthread", "n_jobs"}, rng: "0 to 1024 (0 = all CPUs)",
			def: func(p *Params) string { return "number of CPUs" },
			set: func(p *Params, s string) error {
				if err := intIn(0, 1024, func(p *Params) *int { return &p.NThread })(p, s); err != nil {
					return err
				}
				if p.NThread == 0 {
					p.NThread = runtime.NumCPU()
				}
				return nil
			}},
		{names: []string{"verbosity"}, rng: "0 to 3", note: "accepted, no effect",
			def: func(p *Params) string { return strconv.Itoa(p.Verbosity) },
			set: intIn(0, 3, func(p *Params) *int { return &p.Verbosity })},
		{names: []string{"silent"}, rng: "0 or 1", note: "deprecated in XGBoost; accepted, no effect",
			def: func(p *Params) string { return "0" },
			set: func(p *Params, s string) error { var d int; return intIn(0, 1, func(*Params) *int { return &d })(p, s) }},
		{names: []string{"booster"}, rng: "gbtree", note: "gblinear and dart are not trained here",
			def: func(p *Params) string { return "gbtree" },
			set: func(p *Params, s string) error {
				var d string
				return oneOf([]string{"gbtree"}, func(*Params) *string { return &d })(p, s)
			}},
		{names: []string{"num_parallel_tree"}, rng: "1", note: "random forests are not supported",
			def: func(p *Params) string { return "1" },
			set: func(p *Params, s string) error { var d int; return intIn(1, 1, func(*Params) *int { return &d })(p, s) }},
		{names: []string{"max_leaves"}, rng: "0", note: "no leaf limit (depthwise growth)",
			def: func(p *Params) string { return "0" },
			set: func(p *Params, s string) error { var d int; return intIn(0, 0, func(*Params) *int { return &d })(p, s) }},
		{names: []string{"csv_weights"}, rng: "0 or 1", note: "SageMaker: second CSV column is the instance weight",
			def: func(p *Params) string { return "0" },
			set: func(p *Params, s string) error {
				var d int
				err := intIn(0, 1, func(*Params) *int { return &d })(p, s)
				p.CSVWeights = d == 1
				return err
			}},
		{names: []string{"_tuning_objective_metric"}, rng: "any", note: "set by SageMaker's tuner; accepted, no effect",
			def: func(p *Params) string { return "" },
			set: func(*Params, string) error { return nil }},
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ParseParams reads hyperparameters given as strings (SageMaker's hyperparameters.json) over the
// defaults. An unknown name, a value that does not parse or is out of range, a name given twice
// through aliases, or an inconsistent combination is an errs.Invalid naming the parameter and the
// allowed values.
func ParseParams(set map[string]string) (Params, error) {
	p := DefaultParams()
	specs := paramSpecs()
	byName := map[string]int{}
	for i, s := range specs {
		for _, n := range s.names {
			byName[n] = i
		}
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names) // deterministic error for several bad names
	seen := map[int]string{}
	for _, n := range names {
		i, ok := byName[n]
		if !ok {
			return Params{}, errs.E(errs.Invalid, "unknown hyperparameter %q (known: %s)", n, knownNames(specs))
		}
		if prev, dup := seen[i]; dup {
			return Params{}, errs.E(errs.Invalid, "hyperparameters %q and %q are the same parameter; give one", prev, n)
		}
		seen[i] = n
		if err := specs[i].set(&p, set[n]); err != nil {
			return Params{}, errs.E(errs.Invalid, "hyperparameter %s=%q: %s (allowed: %s)", n, set[n], err.Error(), specs[i].rng)
		}
	}
	if err := p.Validate(); err != nil {
		return Params{}, err
	}
	return p, nil
}

func knownNames(specs []paramSpec) string {
	var ns []string
	for _, s := range specs {
		ns = append(ns, s.names...)
	}
	return strings.Join(ns, ", ")
}

// Validate checks the combination of parameters (ParseParams checks each one's range).
func (p Params) Validate() error {
	multi := strings.HasPrefix(p.Objective, "multi:")
	switch {
	case !contains(trainObjectives, p.Objective):
		return errs.E(errs.Invalid, "hyperparameter objective=%q is not supported (allowed: %s)", p.Objective, strings.Join(trainObjectives, ", "))
	case multi && p.NumClass < 2:
		return errs.E(errs.Invalid, "hyperparameter num_class=%d: objective %s needs num_class ≥ 2", p.NumClass, p.Objective)
	case !multi && p.NumClass > 1:
		return errs.E(errs.Invalid, "hyperparameter num_class=%d is only for multi:softmax and multi:softprob, not %s", p.NumClass, p.Objective)
	case p.NumRound < 1:
		return errs.E(errs.Invalid, "hyperparameter num_round=%d: allowed 1 to 100000", p.NumRound)
	case p.MaxDepth < 1 || p.MaxDepth > 30:
		return errs.E(errs.Invalid, "hyperparameter max_depth=%d: allowed 1 to 30", p.MaxDepth)
	case p.MaxBin < 2 || p.MaxBin > 65535:
		return errs.E(errs.Invalid, "hyperparameter max_bin=%d: allowed 2 to 65535", p.MaxBin)
	case !(p.Subsample > 0 && p.Subsample <= 1) || !(p.ColsampleByTree > 0 && p.ColsampleByTree <= 1) ||
		!(p.ColsampleByLvl > 0 && p.ColsampleByLvl <= 1) || !(p.ColsampleByNode > 0 && p.ColsampleByNode <= 1):
		return errs.E(errs.Invalid, "hyperparameters subsample and colsample_*: allowed (0, 1]")
	case p.NThread < 1:
		return errs.E(errs.Invalid, "hyperparameter nthread=%d: allowed 0 to 1024", p.NThread)
	case p.EarlyStoppingRounds < 0:
		return errs.E(errs.Invalid, "hyperparameter early_stopping_rounds=%d: allowed 0 to 100000", p.EarlyStoppingRounds)
	case math.IsNaN(p.BaseScore) || math.IsInf(p.BaseScore, 0):
		return errs.E(errs.Invalid, "hyperparameter base_score=%g: must be finite", p.BaseScore)
	case !(p.ScalePosWeight > 0) || !(p.HuberSlope > 0):
		return errs.E(errs.Invalid, "hyperparameters scale_pos_weight and huber_slope: allowed (0, ∞)")
	}
	for _, v := range []struct {
		name string
		v    float64
	}{{"eta", p.Eta}, {"gamma", p.Gamma}, {"min_child_weight", p.MinChildWeight}, {"lambda", p.Lambda}, {"alpha", p.Alpha}} {
		if !(v.v >= 0) || math.IsInf(v.v, 1) {
			return errs.E(errs.Invalid, "hyperparameter %s=%g: allowed [0, ∞)", v.name, v.v)
		}
	}
	if p.MaxDeltaStep < 0 || math.IsInf(p.MaxDeltaStep, 1) { // NaN means unset
		return errs.E(errs.Invalid, "hyperparameter max_delta_step=%g: allowed [0, ∞)", p.MaxDeltaStep)
	}
	switch p.Objective {
	case "reg:logistic", "binary:logistic", "binary:logitraw":
		if !(p.BaseScore > 0 && p.BaseScore < 1) {
			return errs.E(errs.Invalid, "hyperparameter base_score=%g: objective %s needs base_score in (0, 1)", p.BaseScore, p.Objective)
		}
	case "count:poisson":
		if !(p.BaseScore > 0) {
			return errs.E(errs.Invalid, "hyperparameter base_score=%g: objective count:poisson needs base_score > 0", p.BaseScore)
		}
	}
	for _, m := range p.EvalMetric {
		if (m == "merror" || m == "mlogloss") != multi {
			return errs.E(errs.Invalid, "hyperparameter eval_metric=%s does not fit objective %s", m, p.Objective)
		}
	}
	return nil
}

// Describe documents every hyperparameter ParseParams accepts, with its default.
func (p Params) Describe() []ParamDoc {
	var docs []ParamDoc
	for _, s := range paramSpecs() {
		docs = append(docs, ParamDoc{Name: s.names[0], Aliases: s.names[1:], Default: s.def(&p), Range: s.rng, Note: s.note})
	}
	return docs
}

// treeMaxDeltaStep is the max_delta_step the tree updater uses.
func (p Params) treeMaxDeltaStep() float64 {
	switch {
	case !math.IsNaN(p.MaxDeltaStep):
		return p.MaxDeltaStep
	case p.Objective == "count:poisson":
		return 0.7 // XGBoost's learner sets it for both the objective and the trees
	}
	return 0
}
