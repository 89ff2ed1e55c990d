package xgboost

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"

	"github.com/slipway-ml/slipway/internal/errs"
)

// XGBoost's legacy binary model format, as XGBoost 1.x writes it for save_model("model.bin") (any name not
// ending in .json or .ubj): an optional "binf" magic, then little-endian C structs and dmlc strings
// (uint64 length + bytes):
//
//	LearnerModelParamLegacy (136 bytes: base_score f32, num_feature u32, num_class i32,
//	    contain_extra_attrs i32, contain_eval_metrics i32, major_version u32, minor_version u32,
//	    num_target u32, boost_from_average i32, reserved)
//	objective name, booster name
//	GBTreeModelParam (160 bytes: num_trees i32, num_parallel_tree i32, …, size_leaf_vector i32 at 36)
//	per tree: TreeParam (148 bytes: num_nodes i32 at 4, num_deleted at 8, num_feature at 16,
//	    size_leaf_vector at 20), nodes (20 bytes: parent i32, left i32, right i32,
//	    sindex u32 with the default-left bit 31, split condition or leaf value f32), stats (16 bytes:
//	    loss_chg, sum_hess, base_weight f32, leaf_child_cnt i32)
//	tree_info (i32 per tree); dart: weight_drop (u64 count + f32s)
//	if contain_extra_attrs: attributes (u64 count + string pairs), "objective" holding the objective's
//	    JSON configuration
//	count:poisson: max_delta_step as a string
//
// Categorical splits and feature names are not stored in this format.
const (
	legacyLearnerParamSize = 136
	legacyGBTreeParamSize  = 160
	legacyTreeParamSize    = 148
	legacyNodeSize         = 20
	legacyStatSize         = 16
)

type legacyReader struct {
	data []byte
	off  int
	err  error
}

func (r *legacyReader) fail(what string) {
	if r.err == nil {
		r.err = errs.E(errs.Invalid, "the legacy binary model is truncated or corrupt at byte %d (%s)", r.off, what)
	}
}

func (r *legacyReader) bytes(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.data)-r.off {
		r.fail(what)
		return nil
	}
	b := r.data[r.off : r.off+n]
	r.off += n
	return b
}

func (r *legacyReader) string(what string) string {
	b := r.bytes(8, what)
	if b == nil {
		return ""
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(r.data)) {
		r.fail(what)
		return ""
	}
	return string(r.bytes(int(n), what))
}

func u32(b []byte, at int) uint32 { return binary.LittleEndian.Uint32(b[at:]) }
func i32(b []byte, at int) int32  { return int32(binary.LittleEndian.Uint32(b[at:])) }
func f32(b []byte, at int) float32 {
	return math.Float32frombits(binary.LittleEndian.Uint32(b[at:]))
}

// decodeLegacy reads a legacy binary model.
func decodeLegacy(data []byte) (*Booster, error) {
	r := &legacyReader{data: data}
	if bytes.HasPrefix(data, []byte("binf")) {
		r.off = 4
	}
	mp := r.bytes(legacyLearnerParamSize, "learner parameters")
	if mp == nil {
		return nil, r.err
	}
	major, minor := u32(mp, 20), u32(mp, 24)
	if major > 1 {
		return nil, errs.E(errs.Invalid, "legacy binary model version %d.%d is not supported", major, minor)
	}
	b := &Booster{
		Version: [3]int{int(major), int(minor), 0},
		Learner: LearnerModelParam{
			BaseScore:        f32(mp, 0),
			NumFeature:       int(u32(mp, 4)),
			NumClass:         int(i32(mp, 8)),
			NumTarget:        max(int(u32(mp, 28)), 1),
			BoostFromAverage: i32(mp, 32) != 0,
		},
	}
	if b.Learner.NumFeature > 1<<24 || b.Learner.NumClass < 0 || b.Learner.NumClass > 1<<16 {
		return nil, errs.E(errs.Invalid, "the legacy binary model's parameters are out of range")
	}
	extraAttrs, evalMetrics := i32(mp, 12) != 0, i32(mp, 16) != 0
	b.Obj.Name = r.string("objective name")
	b.BoosterName = r.string("booster name")
	if r.err != nil {
		return nil, r.err
	}
	if b.BoosterName != "gbtree" && b.BoosterName != "dart" {
		return nil, errs.E(errs.Invalid, "booster %q in the legacy binary model is not supported (gbtree or dart)", b.BoosterName)
	}
	gp := r.bytes(legacyGBTreeParamSize, "gbtree parameters")
	if gp == nil {
		return nil, r.err
	}
	numTrees := int(i32(gp, 0))
	b.NumParallelTree = max(int(i32(gp, 4)), 1)
	if numTrees < 0 || numTrees > (len(data)-r.off)/legacyTreeParamSize {
		return nil, errs.E(errs.Invalid, "the legacy binary model claims %d trees", numTrees)
	}
	if i32(gp, 36) != 0 {
		return nil, errs.E(errs.Invalid, "vector leaves are not supported")
	}
	b.Trees = make([]Tree, numTrees)
	for i := range b.Trees {
		if err := r.tree(&b.Trees[i], i); err != nil {
			return nil, err
		}
	}
	ti := r.bytes(4*numTrees, "tree_info")
	if ti == nil && numTrees > 0 {
		return nil, r.err
	}
	b.TreeInfo = make([]int, numTrees)
	for i := range b.TreeInfo {
		b.TreeInfo[i] = int(i32(ti, 4*i))
	}
	if b.BoosterName == "dart" {
		hdr := r.bytes(8, "dart weights")
		if hdr == nil {
			return nil, r.err
		}
		n := binary.LittleEndian.Uint64(hdr)
		if n != uint64(numTrees) {
			return nil, errs.E(errs.Invalid, "the legacy binary model has %d dart weights for %d trees", n, numTrees)
		}
		w := r.bytes(4*numTrees, "dart weights")
		if w == nil && numTrees > 0 {
			return nil, r.err
		}
		b.WeightDrop = make([]float32, numTrees)
		for i := range b.WeightDrop {
			b.WeightDrop[i] = f32(w, 4*i)
		}
	}
	var objectiveConfig string
	if extraAttrs {
		hdr := r.bytes(8, "attributes")
		if hdr == nil {
			return nil, r.err
		}
		n := binary.LittleEndian.Uint64(hdr)
		if n > uint64(len(data)) {
			return nil, errs.E(errs.Invalid, "the legacy binary model claims %d attributes", n)
		}
		b.Attributes = map[string]string{}
		for range n {
			k, v := r.string("attribute name"), r.string("attribute value")
			if k == "objective" {
				objectiveConfig = v
				continue
			}
			b.Attributes[k] = v
		}
	}
	b.Obj.Params = DefaultObjectiveParams(b.Obj.Name, b.Learner.NumClass)
	if b.Obj.Name == "count:poisson" && r.off < len(data) { // older versions append max_delta_step
		if s := r.string("poisson max_delta_step"); r.err == nil && s != "" {
			b.Obj.Params["poisson_regression_param"]["max_delta_step"] = s
		}
	}
	_ = evalMetrics // the evaluation metric names that may follow do not matter for prediction
	if r.err != nil {
		return nil, r.err
	}
	if objectiveConfig != "" {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(objectiveConfig), &raw); err != nil {
			return nil, errs.E(errs.Invalid, "the legacy binary model's objective configuration is not JSON", err)
		}
		obj, err := decodeObjective(raw)
		if err != nil {
			return nil, err
		}
		if obj.Name != b.Obj.Name {
			return nil, errs.E(errs.Invalid, "the legacy binary model names objective %q and configures %q", b.Obj.Name, obj.Name)
		}
		b.Obj = obj
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return b, nil
}

func (r *legacyReader) tree(t *Tree, i int) error {
	tp := r.bytes(legacyTreeParamSize, "tree parameters")
	if tp == nil {
		return r.err
	}
	n := int(i32(tp, 4))
	t.ID = i
	t.NumDeleted = int(i32(tp, 8))
	t.NumFeature = int(i32(tp, 16))
	if i32(tp, 20) != 0 {
		return errs.E(errs.Invalid, "tree %d: vector leaves are not supported", i)
	}
	if n <= 0 || n > (len(r.data)-r.off)/(legacyNodeSize+legacyStatSize) {
		return errs.E(errs.Invalid, "tree %d claims %d nodes", i, n)
	}
	nodes := r.bytes(n*legacyNodeSize, "tree nodes")
	stats := r.bytes(n*legacyStatSize, "tree statistics")
	if r.err != nil {
		return r.err
	}
	t.LeftChildren = make([]int32, n)
	t.RightChildren = make([]int32, n)
	t.Parents = make([]int32, n)
	t.SplitIndices = make([]int32, n)
	t.SplitConditions = make([]float32, n)
	t.DefaultLeft = make([]bool, n)
	t.SplitType = make([]uint8, n)
	t.BaseWeights = make([]float32, n)
	t.LossChanges = make([]float32, n)
	t.SumHessian = make([]float32, n)
	t.Categories, t.CategoriesNodes, t.CategoriesSegments, t.CategoriesSizes = []int32{}, []int32{}, []int64{}, []int64{}
	for k := 0; k < n; k++ {
		nd := nodes[k*legacyNodeSize:]
		t.Parents[k] = i32(nd, 0) & math.MaxInt32 // bit 31 marks a left child
		t.LeftChildren[k] = i32(nd, 4)
		t.RightChildren[k] = i32(nd, 8)
		sindex := u32(nd, 12)
		if sindex != math.MaxUint32 { // deleted nodes keep 0
			t.SplitIndices[k] = int32(sindex & math.MaxInt32)
			t.DefaultLeft[k] = sindex>>31 != 0
		}
		t.SplitConditions[k] = f32(nd, 16)
		st := stats[k*legacyStatSize:]
		t.LossChanges[k] = f32(st, 0)
		t.SumHessian[k] = f32(st, 4)
		t.BaseWeights[k] = f32(st, 8)
	}
	return nil
}
