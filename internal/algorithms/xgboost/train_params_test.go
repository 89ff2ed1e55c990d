package xgboost

import (
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-ml/slipway/internal/errs"
)

func TestParseParams(t *testing.T) {
	def := DefaultParams()
	tests := []struct {
		name string
		set  map[string]string
		want func(p *Params)
	}{
		{"defaults", nil, func(p *Params) {}},
		{"sagemaker pipeline", map[string]string{"objective": "reg:linear", "num_round": "50", "max_depth": "5",
			"eta": "0.2", "gamma": "4", "min_child_weight": "6", "subsample": "0.7", "verbosity": "0"},
			func(p *Params) {
				p.Objective, p.NumRound, p.MaxDepth, p.Eta, p.Gamma, p.MinChildWeight, p.Subsample, p.Verbosity =
					"reg:squarederror", 50, 5, 0.2, 4, 6, 0.7, 0
			}},
		{"aliases", map[string]string{"learning_rate": "0.1", "min_split_loss": "2", "reg_lambda": "3", "reg_alpha": "0.5"},
			func(p *Params) { p.Eta, p.Gamma, p.Lambda, p.Alpha = 0.1, 2, 3, 0.5 }},
		{"integral float for an integer", map[string]string{"max_depth": "4.0", "num_round": " 7 "},
			func(p *Params) { p.MaxDepth, p.NumRound = 4, 7 }},
		{"eval_metric list", map[string]string{"objective": "binary:logistic", "eval_metric": `["auc", "logloss"]`},
			func(p *Params) { p.Objective, p.EvalMetric = "binary:logistic", []string{"auc", "logloss"} }},
		{"eval_metric comma list", map[string]string{"eval_metric": "rmse,mae,rmse"},
			func(p *Params) { p.EvalMetric = []string{"rmse", "mae"} }},
		{"multiclass", map[string]string{"objective": "multi:softprob", "num_class": "3"},
			func(p *Params) { p.Objective, p.NumClass = "multi:softprob", 3 }},
		{"nthread 0 is all CPUs", map[string]string{"nthread": "0"}, func(p *Params) { p.NThread = runtime.NumCPU() }},
		{"harmless extras", map[string]string{"silent": "1", "booster": "gbtree", "tree_method": "exact",
			"_tuning_objective_metric": "validation:rmse", "csv_weights": "1"},
			func(p *Params) { p.TreeMethod, p.CSVWeights = "exact", true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseParams(tt.set)
			if err != nil {
				t.Fatal(err)
			}
			want := def
			tt.want(&want)
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool {
				return a == b || (math.IsNaN(a) && math.IsNaN(b))
			})); diff != "" {
				t.Errorf("ParseParams(%v) (-want +got):\n%s", tt.set, diff)
			}
		})
	}
}

func TestParseParamsRejects(t *testing.T) {
	tests := []struct {
		set  map[string]string
		want string // in the message
	}{
		{map[string]string{"max_dpeth": "3"}, `unknown hyperparameter "max_dpeth"`},
		{map[string]string{"eta": "fast"}, "eta=\"fast\": not a number (allowed: [0, ∞))"},
		{map[string]string{"eta": "-0.1"}, "eta=\"-0.1\": out of range"},
		{map[string]string{"subsample": "0"}, "allowed: (0, 1]"},
		{map[string]string{"subsample": "1.5"}, "subsample"},
		{map[string]string{"max_depth": "0"}, "max_depth=\"0\": out of range (allowed: 1 to 30)"},
		{map[string]string{"max_depth": "2.5"}, "not an integer"},
		{map[string]string{"max_bin": "1"}, "max_bin"},
		{map[string]string{"objective": "rank:pairwise"}, "objective=\"rank:pairwise\": not supported (allowed: reg:squarederror"},
		{map[string]string{"objective": "multi:softmax"}, "num_class=0: objective multi:softmax needs num_class ≥ 2"},
		{map[string]string{"num_class": "3"}, "num_class=3 is only for multi:softmax and multi:softprob"},
		{map[string]string{"eta": "0.1", "learning_rate": "0.2"}, `"eta" and "learning_rate" are the same parameter`},
		{map[string]string{"eval_metric": "ndcg"}, `metric "ndcg" is not supported`},
		{map[string]string{"eval_metric": "mlogloss"}, "eval_metric=mlogloss does not fit objective reg:squarederror"},
		{map[string]string{"objective": "binary:logistic", "base_score": "1"}, "base_score=1: objective binary:logistic needs base_score in (0, 1)"},
		{map[string]string{"objective": "count:poisson", "base_score": "0"}, "needs base_score > 0"},
		{map[string]string{"grow_policy": "lossguide"}, "grow_policy"},
		{map[string]string{"num_round": "0"}, "num_round"},
		{map[string]string{"eta": "NaN"}, "eta=\"NaN\": not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := ParseParams(tt.set)
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("ParseParams(%v) = %v, want an Invalid error", tt.set, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestValidateParamsBuiltInCode(t *testing.T) {
	for _, tt := range []struct {
		change func(p *Params)
		want   string
	}{
		{func(p *Params) { p.Eta = math.NaN() }, "eta=NaN"},
		{func(p *Params) { p.Lambda = -1 }, "lambda=-1"},
		{func(p *Params) { p.MaxDeltaStep = -1 }, "max_delta_step=-1"},
		{func(p *Params) { p.BaseScore = math.Inf(1) }, "base_score=+Inf"},
		{func(p *Params) { p.NThread = 0 }, "nthread=0"},
		{func(p *Params) { p.ScalePosWeight = 0 }, "scale_pos_weight"},
	} {
		p := DefaultParams()
		tt.change(&p)
		if err := p.Validate(); !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate() = %v, want Invalid containing %q", err, tt.want)
		}
	}
	if err := DefaultParams().Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestDescribe(t *testing.T) {
	docs := DefaultParams().Describe()
	byName := map[string]ParamDoc{}
	for _, d := range docs {
		byName[d.Name] = d
		if d.Range == "" || d.Default == "" && d.Name != "_tuning_objective_metric" {
			t.Errorf("%s: empty range or default: %+v", d.Name, d)
		}
	}
	for name, def := range map[string]string{"eta": "0.3", "max_depth": "6", "max_bin": "256", "lambda": "1",
		"subsample": "1", "base_score": "0.5", "objective": "reg:squarederror", "max_delta_step": "0 (0.7 for count:poisson)"} {
		if got := byName[name].Default; got != def {
			t.Errorf("%s default = %q, want %q", name, got, def)
		}
	}
	if got := byName["eta"].Aliases; !cmp.Equal(got, []string{"learning_rate"}) {
		t.Errorf("eta aliases = %v", got)
	}
	// every documented name and alias parses
	for _, d := range docs {
		for _, n := range append([]string{d.Name}, d.Aliases...) {
			if _, err := ParseParams(map[string]string{n: "x"}); err != nil && strings.Contains(err.Error(), "unknown") {
				t.Errorf("documented %s is unknown to ParseParams", n)
			}
		}
	}
}

func FuzzParseParams(f *testing.F) {
	f.Add("eta", "0.3", "max_depth", "6")
	f.Add("objective", "multi:softmax", "num_class", "4")
	f.Add("subsample", "1e-300", "eval_metric", `["auc",""]`)
	f.Add("num_round", "1e9", "seed", "-9223372036854775808")
	f.Add("base_score", "Inf", "max_bin", "65536")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		p, err := ParseParams(map[string]string{k1: v1, k2: v2})
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("error %v is not Invalid", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("ParseParams accepted parameters that do not validate: %v", err)
		}
		if !(p.Eta >= 0) || !(p.Subsample > 0 && p.Subsample <= 1) || p.MaxDepth < 1 || p.NThread < 1 ||
			math.IsInf(p.BaseScore, 0) || math.IsNaN(p.BaseScore) {
			t.Fatalf("out-of-range value accepted: %+v", p)
		}
	})
}
