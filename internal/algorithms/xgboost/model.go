package xgboost

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Booster is the in-memory form of an XGBoost 1.7 JSON model with a tree booster ("gbtree", or "dart" with
// per-tree weights). A trainer builds one directly: fill the learner fields, append Trees and TreeInfo in
// boosting order, and call Validate before use. Fields map one to one onto the JSON model; the names in
// the comments are XGBoost's.
//
// A Booster caches a compiled form of its trees for prediction, so use it by pointer and do not copy it.
// Appending trees or changing the objective, BaseScore, NumClass or NumFeature is noticed; after changing
// an existing tree in place (or WeightDrop), call ResetPredictor.
type Booster struct {
	// Version is the XGBoost version that wrote the model; SaveModel writes XGBoostVersion.
	Version [3]int

	// Attributes are the learner's string attributes (learner.attributes), e.g. "best_iteration".
	Attributes map[string]string
	// FeatureNames and FeatureTypes are nil or hold NumFeature entries (types: "float", "int", "i", "q", "c").
	FeatureNames []string
	FeatureTypes []string

	Learner LearnerModelParam // learner.learner_model_param
	Obj     Objective         // learner.objective (the method Objective returns its name)

	// gradient_booster.
	BoosterName     string // "gbtree" (default when empty) or "dart"
	NumParallelTree int    // gbtree_model_param.num_parallel_tree (0 is read as 1)
	Trees           []Tree
	TreeInfo        []int     // output group (class) of each tree; len(TreeInfo) == len(Trees)
	WeightDrop      []float32 // dart only: the weight of each tree; nil for gbtree

	compiled atomic.Pointer[forest] // prediction cache; see predict.go
}

// LearnerModelParam is learner.learner_model_param. XGBoost writes every field as a string.
type LearnerModelParam struct {
	BaseScore        float32 // in output space; margins start at the objective's ProbToMargin(BaseScore)
	NumClass         int     // 0 for single-output objectives, ≥ 2 for multi:softmax / multi:softprob
	NumFeature       int
	NumTarget        int  // always 1 for XGBoost 1.7 tree models (0 is read as 1)
	BoostFromAverage bool // XGBoost writes true by default
}

// XGBoostVersion is the version WriteJSON and SaveModel write into the model (the format is XGBoost
// 1.7.4's). Treat it as a constant: the writer does not read it.
var XGBoostVersion = [3]int{1, 7, 4}

// Objective is learner.objective: the objective's name and its parameter sections as XGBoost writes them,
// e.g. {"reg_loss_param": {"scale_pos_weight": "1"}}. Values are strings in XGBoost's own formatting
// (FormatParam). DefaultObjectiveParams gives XGBoost's defaults for a name.
type Objective struct {
	Name   string
	Params map[string]map[string]string
}

// Tree is one regression tree as XGBoost stores it: parallel arrays indexed by node id, node 0 the root.
// A leaf has LeftChildren[i] == -1 (and RightChildren[i] == -1); its value is SplitConditions[i] (already
// multiplied by the learning rate) and SplitIndices[i] is 0. An inner node sends a row left when
// x[SplitIndices[i]] < SplitConditions[i] (float32 comparison), and sends a missing value (NaN) left when
// DefaultLeft[i]. The root's parent is RootParent. Deleted nodes (NumDeleted) are unreachable.
type Tree struct {
	ID         int // tree's index in the model (trees[i].id == i)
	NumFeature int // tree_param.num_feature
	NumDeleted int // tree_param.num_deleted

	LeftChildren    []int32
	RightChildren   []int32
	Parents         []int32
	SplitIndices    []int32
	SplitConditions []float32
	DefaultLeft     []bool
	SplitType       []uint8 // 0 numerical, 1 categorical; nil means all numerical
	BaseWeights     []float32
	LossChanges     []float32
	SumHessian      []float32

	// Categorical splits (split_type 1): node CategoriesNodes[k] has the sorted category list
	// Categories[CategoriesSegments[k] : CategoriesSegments[k]+CategoriesSizes[k]]. A row whose category
	// is in the list goes right, any other category goes left, a missing value follows DefaultLeft.
	Categories         []int32
	CategoriesNodes    []int32
	CategoriesSegments []int64
	CategoriesSizes    []int64
}

// RootParent is the parent id XGBoost writes for a root node.
const RootParent = math.MaxInt32

// Node types.
const (
	SplitNumerical   = 0
	SplitCategorical = 1
)

// NumNodes is the number of nodes, deleted ones included.
func (t *Tree) NumNodes() int { return len(t.LeftChildren) }

// IsLeaf reports whether node i is a leaf.
func (t *Tree) IsLeaf(i int) bool { return t.LeftChildren[i] == -1 }

// NumTrees is the number of trees.
func (b *Booster) NumTrees() int { return len(b.Trees) }

// NumFeatures is the number of features a row must have (learner_model_param.num_feature).
func (b *Booster) NumFeatures() int { return b.Learner.NumFeature }

// NumClass is the number of classes, 0 for single-output objectives.
func (b *Booster) NumClass() int { return b.Learner.NumClass }

// Objective is the objective's name, e.g. "reg:squarederror".
func (b *Booster) Objective() string { return b.Obj.Name }

// numGroups is the number of output groups (margins per row).
func (b *Booster) numGroups() int { return max(b.Learner.NumClass, 1) }

// ResetPredictor drops the compiled prediction form, for after a tree was changed in place.
func (b *Booster) ResetPredictor() { b.compiled.Store(nil) }

// DefaultObjectiveParams returns XGBoost 1.7's default parameter sections for an objective, as written in
// its JSON model (numClass is used by the multi-class objectives). Unknown names get no sections.
func DefaultObjectiveParams(name string, numClass int) map[string]map[string]string {
	switch name {
	case "reg:squarederror", "reg:squaredlogerror", "reg:logistic", "binary:logistic", "binary:logitraw",
		"reg:linear":
		return map[string]map[string]string{"reg_loss_param": {"scale_pos_weight": "1"}}
	case "reg:pseudohubererror":
		return map[string]map[string]string{"pseudo_huber_param": {"huber_slope": "1"}}
	case "count:poisson":
		return map[string]map[string]string{"poisson_regression_param": {"max_delta_step": FormatParam(0.7)}}
	case "reg:tweedie":
		return map[string]map[string]string{"tweedie_regression_param": {"tweedie_variance_power": "1.5"}}
	case "multi:softmax", "multi:softprob":
		return map[string]map[string]string{"softmax_multiclass_param": {"num_class": strconv.Itoa(numClass)}}
	case "rank:pairwise", "rank:ndcg", "rank:map":
		return map[string]map[string]string{"lambda_rank_param": {"fix_list_weight": "0", "num_pairsample": "1"}}
	}
	return map[string]map[string]string{}
}

// FormatParam formats a float parameter the way XGBoost writes it in a model's parameter sections
// (C++ stream output with 9 significant digits: 0.7 is "0.699999988", 1 is "1").
func FormatParam(v float32) string {
	return strconv.FormatFloat(float64(v), 'g', 9, 64) // 'g' drops trailing zeros like the C++ stream
}

// Validate checks that b is a well-formed model: consistent array lengths, children and split features in
// range, every node reachable once from the root, a supported objective. LoadModel, ReadModel, SaveModel
// and Predict rely on it; a trainer calls it on what it built.
func (b *Booster) Validate() error {
	if _, ok := objectiveOf(b.Obj.Name); !ok {
		return errs.E(errs.Invalid, "objective %q is not supported (supported: %s)", b.Obj.Name, supportedObjectives())
	}
	multi := b.Obj.Name == "multi:softmax" || b.Obj.Name == "multi:softprob"
	switch {
	case multi && b.Learner.NumClass < 2:
		return errs.E(errs.Invalid, "objective %s needs num_class ≥ 2, have %d", b.Obj.Name, b.Learner.NumClass)
	case !multi && b.Learner.NumClass > 1:
		return errs.E(errs.Invalid, "objective %s has num_class %d; only multi:softmax/softprob have classes", b.Obj.Name, b.Learner.NumClass)
	case b.Learner.NumClass < 0:
		return errs.E(errs.Invalid, "num_class %d is negative", b.Learner.NumClass)
	}
	if b.Learner.NumTarget > 1 {
		return errs.E(errs.Invalid, "num_target %d: multi-target models are not supported", b.Learner.NumTarget)
	}
	if b.Learner.NumFeature < 0 || b.Learner.NumFeature > 1<<24 {
		return errs.E(errs.Invalid, "num_feature %d is out of range", b.Learner.NumFeature)
	}
	if b.FeatureNames != nil && len(b.FeatureNames) != b.Learner.NumFeature {
		return errs.E(errs.Invalid, "%d feature names for %d features", len(b.FeatureNames), b.Learner.NumFeature)
	}
	if b.FeatureTypes != nil && len(b.FeatureTypes) != b.Learner.NumFeature {
		return errs.E(errs.Invalid, "%d feature types for %d features", len(b.FeatureTypes), b.Learner.NumFeature)
	}
	if f := b.Learner.BaseScore; f != f || math.IsInf(float64(f), 0) {
		return errs.E(errs.Invalid, "base_score %v is not finite", f)
	}
	switch b.BoosterName {
	case "", "gbtree":
		if b.WeightDrop != nil {
			return errs.E(errs.Invalid, "gbtree model has dart tree weights")
		}
	case "dart":
		if len(b.WeightDrop) != len(b.Trees) {
			return errs.E(errs.Invalid, "dart model has %d tree weights for %d trees", len(b.WeightDrop), len(b.Trees))
		}
	default:
		return errs.E(errs.Invalid, "booster %q is not supported (gbtree or dart)", b.BoosterName)
	}
	if len(b.TreeInfo) != len(b.Trees) {
		return errs.E(errs.Invalid, "tree_info has %d entries for %d trees", len(b.TreeInfo), len(b.Trees))
	}
	for i, g := range b.TreeInfo {
		if g < 0 || g >= b.numGroups() {
			return errs.E(errs.Invalid, "tree %d: output group %d is not below %d", i, g, b.numGroups())
		}
	}
	for i := range b.Trees {
		if err := b.Trees[i].validate(b.Learner.NumFeature); err != nil {
			return invalidf(err, "tree %d: ", i)
		}
	}
	return nil
}

func (t *Tree) validate(numFeature int) error {
	n := len(t.LeftChildren)
	if n == 0 {
		return errs.E(errs.Invalid, "no nodes")
	}
	if n > 1<<28 {
		return errs.E(errs.Invalid, "%d nodes is too many", n)
	}
	lens := []struct {
		name string
		n    int
	}{
		{"right_children", len(t.RightChildren)}, {"parents", len(t.Parents)},
		{"split_indices", len(t.SplitIndices)}, {"split_conditions", len(t.SplitConditions)},
		{"default_left", len(t.DefaultLeft)}, {"base_weights", len(t.BaseWeights)},
		{"loss_changes", len(t.LossChanges)}, {"sum_hessian", len(t.SumHessian)},
	}
	if t.SplitType != nil {
		lens = append(lens, struct {
			name string
			n    int
		}{"split_type", len(t.SplitType)})
	}
	for _, l := range lens {
		if l.n != n {
			return errs.E(errs.Invalid, "%s has %d entries, left_children %d", l.name, l.n, n)
		}
	}
	if len(t.CategoriesNodes) != len(t.CategoriesSegments) || len(t.CategoriesNodes) != len(t.CategoriesSizes) {
		return errs.E(errs.Invalid, "categories_nodes, categories_segments and categories_sizes differ in length")
	}
	for k, node := range t.CategoriesNodes {
		seg, size := t.CategoriesSegments[k], t.CategoriesSizes[k]
		if node < 0 || int(node) >= n || seg < 0 || size < 0 || seg+size > int64(len(t.Categories)) {
			return errs.E(errs.Invalid, "categorical split %d (node %d) is out of range", k, node)
		}
		if t.SplitType == nil || t.SplitType[node] != SplitCategorical {
			return errs.E(errs.Invalid, "node %d has categories but is not a categorical split", node)
		}
	}
	seen := make([]bool, n)
	stack := []int32{0}
	seen[0] = true
	if t.Parents[0] != RootParent && t.Parents[0] != -1 {
		return errs.E(errs.Invalid, "root has parent %d", t.Parents[0])
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		l, r := t.LeftChildren[i], t.RightChildren[i]
		if l == -1 {
			if r != -1 {
				return errs.E(errs.Invalid, "node %d has a right child but no left child", i)
			}
			if f := t.SplitConditions[i]; f != f {
				return errs.E(errs.Invalid, "leaf %d has value NaN", i)
			}
			continue
		}
		if t.SplitType != nil && t.SplitType[i] > SplitCategorical {
			return errs.E(errs.Invalid, "node %d has split type %d", i, t.SplitType[i])
		}
		if f := t.SplitIndices[i]; f < 0 || int(f) >= numFeature {
			return errs.E(errs.Invalid, "node %d splits on feature %d, not below num_feature %d", i, f, numFeature)
		}
		for _, c := range [2]int32{l, r} {
			if c <= 0 || int(c) >= n {
				return errs.E(errs.Invalid, "node %d has child %d out of range [1, %d)", i, c, n)
			}
			if seen[c] {
				return errs.E(errs.Invalid, "node %d is reached twice", c)
			}
			seen[c] = true
			stack = append(stack, c)
		}
	}
	return nil
}

// invalidf returns an errs.Invalid error whose message is the formatted prefix followed by err's message,
// keeping err's cause (not err itself, whose message would then appear twice).
func invalidf(err error, format string, args ...any) error {
	return &errs.Error{Kind: errs.Invalid, Msg: fmt.Sprintf(format, args...) + errs.Message(err), Err: errors.Unwrap(err)}
}

func (b *Booster) String() string {
	return fmt.Sprintf("xgboost.Booster{objective %s, %d trees, %d features, %d classes}",
		b.Obj.Name, len(b.Trees), b.Learner.NumFeature, b.Learner.NumClass)
}
