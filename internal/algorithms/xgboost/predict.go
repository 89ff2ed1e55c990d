package xgboost

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/errs"
)

// PredictOptions selects what Predict returns.
type PredictOptions struct {
	OutputMargin bool // raw margins (before the objective's transform), one per output group
	PredLeaf     bool // the leaf (XGBoost node id) each row reaches in each tree, as float32
}

// OutputsPerRow is the number of values Predict returns per row: the number of trees for PredLeaf,
// num_class for margins and multi:softprob, else 1.
func (b *Booster) OutputsPerRow(opt PredictOptions) int {
	switch {
	case opt.PredLeaf:
		return len(b.Trees)
	case opt.OutputMargin:
		return b.numGroups()
	case b.Obj.Name == "multi:softmax":
		return 1
	}
	return b.numGroups()
}

// node is one node of the compiled form: 12 bytes, children adjacent (right = left+1), all trees in one slice.
type node struct {
	cond float32 // split condition; a leaf's value (times the dart weight); NaN for a categorical split
	feat uint32  // split feature | flags; for a leaf, XGBoost's node id
	left int32   // absolute index of the left child; 0 marks a leaf (no child has index 0)
}

const (
	flagDefaultLeft = 1 << 31
	flagCategorical = 1 << 30
	featMask        = flagCategorical - 1
)

// blockRows is how many rows are pushed through one tree at a time (XGBoost's CPU predictor uses 64 too,
// so leaf values are summed in the same order).
const blockRows = 64

// forest is the compiled prediction form of a Booster, immutable once built.
type forest struct {
	nodes []node
	roots []int32
	group []int32
	cats  map[int32][]uint64 // categorical split → bitset of the categories that go right

	obj        objective
	base       float32 // base_score in margin space
	numFeature int
	numGroups  int

	// what the forest was compiled from, to notice changes
	ntrees    int
	objName   string
	baseScore float32
	numClass  int
}

func (f *forest) matches(b *Booster) bool {
	return f.ntrees == len(b.Trees) && f.objName == b.Obj.Name && f.baseScore == b.Learner.BaseScore &&
		f.numClass == b.Learner.NumClass && f.numFeature == b.Learner.NumFeature
}

// predictor returns the compiled form of b, compiling it when b changed.
func (b *Booster) predictor() (*forest, error) {
	if f := b.compiled.Load(); f != nil && f.matches(b) {
		return f, nil
	}
	f, err := b.compile()
	if err != nil {
		return nil, err
	}
	b.compiled.Store(f)
	return f, nil
}

func (b *Booster) compile() (*forest, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	obj, _ := objectiveOf(b.Obj.Name)
	f := &forest{
		obj:        obj,
		base:       obj.probToMargin(b.Learner.BaseScore),
		numFeature: b.Learner.NumFeature,
		numGroups:  b.numGroups(),
		ntrees:     len(b.Trees),
		objName:    b.Obj.Name,
		baseScore:  b.Learner.BaseScore,
		numClass:   b.Learner.NumClass,
		roots:      make([]int32, len(b.Trees)),
		group:      make([]int32, len(b.Trees)),
	}
	total := 0
	for i := range b.Trees {
		total += len(b.Trees[i].LeftChildren)
	}
	f.nodes = make([]node, 0, total)
	var queue [][2]int32 // (XGBoost id, compiled index)
	for ti := range b.Trees {
		t := &b.Trees[ti]
		weight := float32(1)
		if b.WeightDrop != nil {
			weight = b.WeightDrop[ti]
		}
		catOf := map[int32]int{}
		for k, n := range t.CategoriesNodes {
			catOf[n] = k
		}
		f.group[ti] = int32(b.TreeInfo[ti])
		root := int32(len(f.nodes))
		f.roots[ti] = root
		f.nodes = append(f.nodes, node{})
		queue = append(queue[:0], [2]int32{0, root})
		for len(queue) > 0 {
			id, at := queue[0][0], queue[0][1]
			queue = queue[1:]
			if t.LeftChildren[id] == -1 {
				v := t.SplitConditions[id]
				if weight != 1 {
					v *= weight
				}
				f.nodes[at] = node{cond: v, feat: uint32(id)}
				continue
			}
			left := int32(len(f.nodes))
			f.nodes = append(f.nodes, node{}, node{})
			n := node{cond: t.SplitConditions[id], feat: uint32(t.SplitIndices[id]), left: left}
			if t.DefaultLeft[id] {
				n.feat |= flagDefaultLeft
			}
			if t.SplitType != nil && t.SplitType[id] == SplitCategorical {
				n.feat |= flagCategorical
				n.cond = float32(math.NaN()) // sends every value to the slow path
				var set []uint64
				if k, ok := catOf[id]; ok {
					seg, size := t.CategoriesSegments[k], t.CategoriesSizes[k]
					for _, c := range t.Categories[seg : seg+size] {
						if c < 0 {
							continue
						}
						for int(c)/64 >= len(set) {
							set = append(set, 0)
						}
						set[c/64] |= 1 << (c % 64)
					}
				}
				if f.cats == nil {
					f.cats = map[int32][]uint64{}
				}
				f.cats[at] = set
			}
			f.nodes[at] = n
			queue = append(queue, [2]int32{t.LeftChildren[id], left}, [2]int32{t.RightChildren[id], left + 1})
		}
	}
	return f, nil
}

// leaf returns the compiled index of the leaf x reaches in the tree at root. Features beyond len(x) are
// missing.
func (f *forest) leaf(root int32, x []float32) int32 {
	nodes := f.nodes
	i := root
	for {
		n := &nodes[i]
		if n.left == 0 {
			return i
		}
		k := n.feat & featMask
		v := float32(math.NaN())
		if int(k) < len(x) {
			v = x[k]
		}
		switch {
		case v < n.cond:
			i = n.left
		case v >= n.cond:
			i = n.left + 1
		default: // missing, or a categorical split
			i = f.slowChild(i, n, v)
		}
	}
}

func (f *forest) slowChild(i int32, n *node, v float32) int32 {
	if v != v {
		if n.feat&flagDefaultLeft != 0 {
			return n.left
		}
		return n.left + 1
	}
	if n.feat&flagCategorical == 0 { // a NaN split condition on a numerical split: XGBoost goes right
		return n.left + 1
	}
	// XGBoost's common::Decision: a valid category in the node's set goes right, anything else left.
	if v < 0 || v >= 1<<24 {
		return n.left
	}
	c := int(v)
	set := f.cats[i]
	if c/64 < len(set) && set[c/64]&(1<<(c%64)) != 0 {
		return n.left + 1
	}
	return n.left
}

// PredictRow predicts one row into out, which must hold OutputsPerRow(PredictOptions{}) values. Features
// beyond len(x) count as missing. It does not allocate (unless num_class > 64 with multi:softmax) and is
// safe for concurrent use. On a Booster that fails Validate it writes NaN.
func (b *Booster) PredictRow(x []float32, out []float32) {
	b.PredictRowWith(x, out, PredictOptions{})
}

// PredictRowWith is PredictRow with options; out must hold OutputsPerRow(opt) values.
func (b *Booster) PredictRowWith(x []float32, out []float32, opt PredictOptions) {
	f, err := b.predictor()
	if err != nil {
		for i := range out {
			out[i] = float32(math.NaN())
		}
		return
	}
	if opt.PredLeaf {
		for t, root := range f.roots {
			out[t] = float32(f.nodes[f.leaf(root, x)].feat)
		}
		return
	}
	var small [64]float32
	m := out[:0]
	switch {
	case len(out) >= f.numGroups:
		m = out[:f.numGroups]
	case f.numGroups <= len(small):
		m = small[:f.numGroups]
	default:
		m = make([]float32, f.numGroups)
	}
	for g := range m {
		m[g] = f.base
	}
	for t, root := range f.roots {
		m[f.group[t]] += f.nodes[f.leaf(root, x)].cond
	}
	if !opt.OutputMargin {
		f.obj.apply(m, out)
	} else {
		copy(out, m)
	}
}

// Predict predicts every row of d and returns Rows×OutputsPerRow(opt) values, row-major. Rows go through
// the trees in blocks of 64, and blocks are shared among GOMAXPROCS goroutines. d may have fewer columns
// than the model (the rest are missing) but not more.
func (b *Booster) Predict(d *dataset.Dense, opt PredictOptions) ([]float32, error) {
	out := make([]float32, d.Rows*b.OutputsPerRow(opt))
	if err := b.PredictInto(d, opt, out); err != nil {
		return nil, err
	}
	return out, nil
}

// PredictInto is Predict writing into out, which must hold d.Rows*OutputsPerRow(opt) values.
func (b *Booster) PredictInto(d *dataset.Dense, opt PredictOptions, out []float32) error {
	f, err := b.predictor()
	if err != nil {
		return err
	}
	if d.Cols > f.numFeature {
		return errs.E(errs.Invalid, "the data has %d features but the model was trained on %d", d.Cols, f.numFeature)
	}
	if len(d.X) != d.Rows*d.Cols {
		return errs.E(errs.Invalid, "the data has %d values for %d×%d", len(d.X), d.Rows, d.Cols)
	}
	per := b.OutputsPerRow(opt)
	if len(out) != d.Rows*per {
		return errs.E(errs.Internal, "PredictInto: output has %d values, want %d", len(out), d.Rows*per)
	}
	blocks := (d.Rows + blockRows - 1) / blockRows
	workers := min(runtime.GOMAXPROCS(0), blocks)
	if workers <= 1 {
		f.predictBlocks(d, opt, out, per, func() int { return -1 }, blocks)
		return nil
	}
	var next atomic.Int64
	claim := func() int { return int(next.Add(1)) - 1 }
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.predictBlocks(d, opt, out, per, claim, blocks)
		}()
	}
	wg.Wait()
	return nil
}

// predictBlocks predicts the blocks handed out by claim (or all blocks in order when claim returns -1).
func (f *forest) predictBlocks(d *dataset.Dense, opt PredictOptions, out []float32, per int, claim func() int, blocks int) {
	ng := f.numGroups
	margins := make([]float32, blockRows*ng)
	var leaves []int32
	if opt.PredLeaf {
		leaves = make([]int32, blockRows)
	}
	seq := 0
	for {
		blk := claim()
		if blk < 0 {
			blk = seq
			seq++
		}
		if blk >= blocks {
			return
		}
		lo := blk * blockRows
		hi := min(lo+blockRows, d.Rows)
		nb := hi - lo
		if opt.PredLeaf {
			for t, root := range f.roots {
				for r := 0; r < nb; r++ {
					leaves[r] = f.leaf(root, d.X[(lo+r)*d.Cols:(lo+r+1)*d.Cols])
				}
				for r := 0; r < nb; r++ {
					out[(lo+r)*per+t] = float32(f.nodes[leaves[r]].feat)
				}
			}
			continue
		}
		m := margins[:nb*ng]
		for i := range m {
			m[i] = f.base
		}
		if ng == 1 {
			for _, root := range f.roots {
				x := d.X[lo*d.Cols : hi*d.Cols]
				for r := range m {
					m[r] += f.nodes[f.leaf(root, x[r*d.Cols:(r+1)*d.Cols])].cond
				}
			}
		} else {
			for t, root := range f.roots {
				g := int(f.group[t])
				for r := 0; r < nb; r++ {
					x := d.X[(lo+r)*d.Cols : (lo+r+1)*d.Cols]
					m[r*ng+g] += f.nodes[f.leaf(root, x)].cond
				}
			}
		}
		if opt.OutputMargin {
			copy(out[lo*per:hi*per], m)
			continue
		}
		for r := 0; r < nb; r++ {
			f.obj.apply(m[r*ng:(r+1)*ng], out[(lo+r)*per:(lo+r+1)*per])
		}
	}
}
