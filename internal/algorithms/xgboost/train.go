package xgboost

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/algorithms/metric"
	"github.com/slipway-ml/slipway/internal/errs"
)

// Eval is a data set evaluated after every round, reported under Name ("train", "validation").
type Eval struct {
	Name string
	Data *dataset.Dense
}

// Train grows a gradient-boosted tree model on train with XGBoost 1.7's hist algorithm and returns it.
//
// After every round it evaluates every Eval and writes one line to log in SageMaker's shape,
// "[12]#011train-rmse:1.23400#011validation-rmse:2.34500\n". With EarlyStoppingRounds it stops when the
// last metric on the last Eval has not improved for that many rounds, and records best_iteration,
// best_score and best_ntree_limit in the model's attributes, as xgboost.train does; the trees after the
// best round stay in the model, as in XGBoost.
func Train(ctx context.Context, p Params, train *dataset.Dense, evals []Eval, log io.Writer) (*Booster, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	loss := newLoss(p)
	if err := checkData(train, "training data", -1, loss); err != nil {
		return nil, err
	}
	for _, e := range evals {
		if err := checkData(e.Data, e.Name+" data", train.Cols, loss); err != nil {
			return nil, err
		}
	}
	if p.EarlyStoppingRounds > 0 && len(evals) == 0 {
		return nil, errs.E(errs.Invalid, "hyperparameter early_stopping_rounds needs a validation data set")
	}
	metrics := p.EvalMetric
	if len(metrics) == 0 {
		metrics = []string{loss.metric}
	}
	nthread := max(p.NThread, 1)
	c := sketch(train, p.MaxBin, nthread)
	t := &trainer{p: p, loss: loss, train: train, evals: evals, metrics: metrics, nthread: nthread, log: log}
	t.rng = rand.New(rand.NewPCG(uint64(p.Seed), 0x736c6970776179)) // "slipway"
	t.grow = treeGrower(train, c, p, nthread, t.rng)
	return t.run(ctx)
}

// treeGrower quantises the training data with one byte per bin when every feature's bins (and its
// missing code, if it has missing values) fit, else two.
func treeGrower(train *dataset.Dense, c cuts, p Params, nthread int, rng *rand.Rand) func(gp []gradPair) (Tree, []leafSpan) {
	narrow := true
	for f := range c.bounds {
		codes := len(c.bounds[f])
		if c.missing[f] {
			codes++
		}
		narrow = narrow && codes <= 256
	}
	if narrow {
		return newGrower(quantise[uint8](train.X, train.Rows, train.Cols, c, nthread), c, newGrowParams(p), nthread, rng).grow
	}
	return newGrower(quantise[uint16](train.X, train.Rows, train.Cols, c, nthread), c, newGrowParams(p), nthread, rng).grow
}

func checkData(d *dataset.Dense, what string, cols int, loss lossFunc) error {
	switch {
	case d == nil || d.Rows == 0:
		return errs.E(errs.Invalid, "%s is empty", what)
	case len(d.X) != d.Rows*d.Cols:
		return errs.E(errs.Invalid, "%s has %d values for %d rows of %d columns", what, len(d.X), d.Rows, d.Cols)
	case len(d.Label) != d.Rows:
		return errs.E(errs.Invalid, "%s has no labels", what)
	case d.Weight != nil && len(d.Weight) != d.Rows:
		return errs.E(errs.Invalid, "%s has %d weights for %d rows", what, len(d.Weight), d.Rows)
	case cols >= 0 && d.Cols != cols:
		return errs.E(errs.Invalid, "%s has %d features, the training data %d", what, d.Cols, cols)
	}
	for i, v := range d.X {
		if math.IsInf(float64(v), 0) {
			// as XGBoost: "Input data contains `inf` or a value too large"
			return errs.E(errs.Invalid, "%s row %d column %d: value %g is infinite (missing values are NaN or empty)",
				what, i/d.Cols+1, i%d.Cols+1, v)
		}
	}
	for i, w := range d.Weight {
		if !(w >= 0) || math.IsInf(float64(w), 0) {
			return errs.E(errs.Invalid, "%s row %d: weight %g is not a finite number ≥ 0", what, i+1, w)
		}
	}
	return loss.checkLabels(d.Label, what)
}

type trainer struct {
	p       Params
	loss    lossFunc
	train   *dataset.Dense
	evals   []Eval
	metrics []string
	nthread int
	log     io.Writer
	rng     *rand.Rand
	grow    func(gp []gradPair) (Tree, []leafSpan)
}

func (t *trainer) run(ctx context.Context) (*Booster, error) {
	k, n := t.loss.k, t.train.Rows
	base := t.loss.baseMargin()
	margin := filled(n*k, base)
	evalMargins := make([][]float32, len(t.evals))
	for i, e := range t.evals {
		if e.Data == t.train {
			evalMargins[i] = margin // shares the training margins, updated in place
		} else {
			evalMargins[i] = filled(e.Data.Rows*k, base)
		}
	}
	b := t.newBooster()
	gp := make([]gradPair, n*k)
	var col []gradPair
	if k > 1 || t.p.Subsample < 1 {
		col = make([]gradPair, n)
	}
	stop := earlyStop{rounds: t.p.EarlyStoppingRounds}
	for round := 0; round < t.p.NumRound; round++ {
		if err := ctx.Err(); err != nil {
			return nil, errs.E(errs.Unavailable, "training stopped at round %d", round, err)
		}
		t.loss.gradients(margin, t.train.Label, t.train.Weight, gp, t.nthread)
		for class := 0; class < k; class++ {
			g := gp
			if col != nil {
				for i := range col {
					col[i] = gp[i*k+class]
				}
				t.subsample(col)
				g = col
			}
			tree, leaves := t.grow(g)
			tree.ID = len(b.Trees)
			tree.NumFeature = t.train.Cols
			t.addLeaves(margin, leaves, k, class)
			for i, e := range t.evals {
				if e.Data != t.train {
					addTree(&tree, e.Data, evalMargins[i], k, class, t.nthread)
				}
			}
			b.Trees = append(b.Trees, tree)
			b.TreeInfo = append(b.TreeInfo, class)
		}
		var line strings.Builder
		fmt.Fprintf(&line, "[%d]", round)
		var last float64
		for i, e := range t.evals {
			pred := t.loss.transform(evalMargins[i])
			for _, m := range t.metrics {
				last = evalMetric(m, e.Data, pred, k)
				fmt.Fprintf(&line, "#011%s-%s:%s", e.Name, m, formatScore(last))
			}
		}
		line.WriteByte('\n')
		if t.log != nil && len(t.evals) > 0 {
			if _, err := io.WriteString(t.log, line.String()); err != nil {
				return nil, errs.E(errs.Internal, "cannot write the training log", err)
			}
		}
		if len(t.evals) > 0 && stop.update(round, last, maximised(t.metrics[len(t.metrics)-1]), b) {
			break
		}
	}
	if err := b.Validate(); err != nil {
		return nil, errs.E(errs.Internal, "the trainer built an invalid model", err)
	}
	return b, nil
}

func filled(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// subsample zeroes the gradient pairs of rows left out of this tree, as XGBoost's hist does (a row with
// a zero gradient is left out too, as there).
func (t *trainer) subsample(gp []gradPair) {
	if t.p.Subsample >= 1 {
		return
	}
	for i := range gp {
		if !(gp[i].h >= 0 && t.rng.Float64() < t.p.Subsample) || gp[i].g == 0 {
			gp[i] = gradPair{}
		}
	}
}

// addLeaves adds every leaf's value to the training margins of its rows, in chunks of rows so that
// one large leaf does not leave a thread idle.
func (t *trainer) addLeaves(margin []float32, leaves []leafSpan, k, class int) {
	const chunk = 1 << 14
	type span struct {
		rows  []uint32
		value float32
	}
	var spans []span
	for _, l := range leaves {
		for lo := 0; lo < len(l.rows); lo += chunk {
			spans = append(spans, span{l.rows[lo:min(lo+chunk, len(l.rows))], l.value})
		}
	}
	parallelRange(len(spans), t.nthread, 1, func(lo, hi int) {
		for _, s := range spans[lo:hi] {
			for _, r := range s.rows {
				margin[int(r)*k+class] += s.value
			}
		}
	})
}

// addTree adds the tree's output for every row of d to margins (the predictor's walk: x < cond goes
// left, NaN goes to the default child).
func addTree(tr *Tree, d *dataset.Dense, margin []float32, k, class, nthread int) {
	parallelRange(d.Rows, nthread, 4096, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			x := d.X[r*d.Cols : (r+1)*d.Cols]
			i := int32(0)
			for tr.LeftChildren[i] != -1 {
				v := x[tr.SplitIndices[i]]
				switch {
				case v != v:
					if tr.DefaultLeft[i] {
						i = tr.LeftChildren[i]
					} else {
						i = tr.RightChildren[i]
					}
				case v < tr.SplitConditions[i]:
					i = tr.LeftChildren[i]
				default:
					i = tr.RightChildren[i]
				}
			}
			margin[r*k+class] += tr.SplitConditions[i]
		}
	})
}

func evalMetric(name string, d *dataset.Dense, pred []float32, k int) float64 {
	switch name {
	case "rmse":
		return metric.RMSE(d.Label, pred, d.Weight)
	case "mae":
		return metric.MAE(d.Label, pred, d.Weight)
	case "logloss":
		return metric.LogLoss(d.Label, pred, d.Weight)
	case "error":
		return metric.ErrorRate(d.Label, pred, d.Weight)
	case "auc":
		return metric.AUC(d.Label, pred, d.Weight)
	case "merror":
		return metric.MError(d.Label, pred, d.Weight, k)
	case "mlogloss":
		return metric.MLogLoss(d.Label, pred, d.Weight, k)
	case "poisson-nloglik":
		return metric.PoissonNLogLik(d.Label, pred, d.Weight)
	case "mphe":
		return metric.PseudoHuber(d.Label, pred, d.Weight, 1) // XGBoost 1.7's mphe ignores huber_slope
	}
	return math.NaN()
}

// maximised reports whether a larger value of the metric is better (XGBoost's early stopping rule).
func maximised(m string) bool {
	for _, p := range []string{"auc", "aucpr", "map", "ndcg", "pre"} {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}

// formatScore prints a metric as XGBoost's Python monitor does ("%.5f"; "nan" for NaN).
func formatScore(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'f', 5, 64)
}

// pyFloat formats v as Python's repr(float) (which xgboost.train stores as best_score): the shortest
// digits that read back as v, in plain notation when the decimal exponent is in [-4, 16), else in
// exponent notation, and ".0" after an integral plain number.
func pyFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case v == 0:
		return strconv.FormatFloat(v, 'f', 1, 64) // "0.0" or "-0.0"
	}
	if exp := int(math.Floor(math.Log10(math.Abs(v)))); exp < -4 || exp >= 16 {
		return strconv.FormatFloat(v, 'e', -1, 64) // Go writes the exponent as Python does: e-05, e+16
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// earlyStop is xgboost.callback.EarlyStopping with its defaults (min_delta 0, save_best false).
type earlyStop struct {
	rounds  int
	best    float64
	started bool
	since   int
}

func (s *earlyStop) update(round int, score float64, maximise bool, b *Booster) bool {
	if s.rounds <= 0 {
		return false
	}
	improved := !s.started || (maximise && score > s.best) || (!maximise && score < s.best)
	if improved {
		s.started, s.best, s.since = true, score, 0
		b.Attributes["best_iteration"] = strconv.Itoa(round)
		b.Attributes["best_score"] = pyFloat(score)
		b.Attributes["best_ntree_limit"] = strconv.Itoa(round + 1)
	} else {
		s.since++
	}
	return s.since >= s.rounds
}

func (t *trainer) newBooster() *Booster {
	name := t.p.Objective
	params := DefaultObjectiveParams(name, t.p.NumClass)
	switch name {
	case "reg:squarederror", "reg:logistic", "binary:logistic", "binary:logitraw":
		params["reg_loss_param"]["scale_pos_weight"] = FormatParam(float32(t.p.ScalePosWeight))
	case "reg:pseudohubererror":
		params["pseudo_huber_param"]["huber_slope"] = FormatParam(float32(t.p.HuberSlope))
	case "count:poisson":
		mds := t.p.MaxDeltaStep
		if math.IsNaN(mds) {
			mds = 0.7
		}
		params["poisson_regression_param"]["max_delta_step"] = FormatParam(float32(mds))
	}
	numClass := 0
	if t.loss.k > 1 {
		numClass = t.p.NumClass
	}
	b := &Booster{
		Version:    XGBoostVersion,
		Attributes: map[string]string{},
		Learner: LearnerModelParam{BaseScore: float32(t.p.BaseScore), NumClass: numClass,
			NumFeature: t.train.Cols, NumTarget: 1, BoostFromAverage: true},
		Obj:             Objective{Name: name, Params: params},
		BoosterName:     "gbtree",
		NumParallelTree: 1,
	}
	if t.train.FeatureNames != nil {
		b.FeatureNames = append([]string(nil), t.train.FeatureNames...)
	}
	return b
}
