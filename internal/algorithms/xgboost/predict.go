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

// node is one node of the compiled form: 12 bytes, children adjacent, all trees in one slice.
//
// A numerical split goes to its second child exactly when s·x ≥ cond, an ordered comparison that is false
// for a missing x. When XGBoost's default (missing) direction is left, s = +1 and cond and children are
// XGBoost's. When it is right, the node is mirrored: s = −1 (flagNegate), the children are swapped, and
// cond is the least float32 above −split, so s·x ≥ cond ⇔ x < split and missing x lands on the first child,
// XGBoost's right one. One compare, no test for NaN.
//
// A leaf points to itself with a NaN condition, so stepping from a leaf stays there; the fast path can
// take a fixed number of steps per tree without branching on the node kind.
type node struct {
	cond float32 // see above; NaN for a leaf or a categorical split
	feat uint32  // split feature | flagNegate | flagCategorical; 0 for a leaf
	left int32   // absolute index of the first child (the second is left+1); the node's own index for a leaf
}

const (
	flagNegate      = 1 << 31 // numerical: compare −x (the sign bit); categorical: missing goes right
	flagCategorical = 1 << 30
	featMask        = flagCategorical - 1
)

// blockRows is how many rows are pushed through one tree at a time (XGBoost's CPU predictor uses 64 too,
// so leaf values are summed in the same order).
const blockRows = 64

// forest is the compiled prediction form of a Booster, immutable once built.
type forest struct {
	nodes  []node
	value  []float32 // per node: the leaf value (times the dart weight), 0 for inner nodes
	leafID []int32   // per node: XGBoost's node id
	roots  []int32
	depth  []int32 // per tree: the longest root-to-leaf path
	group  []int32
	cats   map[int32][]uint64 // categorical split → bitset of the categories that go right

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

// fast reports whether rows with numFeature values can take the branch-free path.
func (f *forest) fast() bool { return f.cats == nil && f.numFeature > 0 }

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
		depth:      make([]int32, len(b.Trees)),
		group:      make([]int32, len(b.Trees)),
	}
	total := 0
	for i := range b.Trees {
		total += len(b.Trees[i].LeftChildren)
	}
	f.nodes = make([]node, 0, total)
	f.value = make([]float32, 0, total)
	f.leafID = make([]int32, 0, total)
	nan := float32(math.NaN())
	type item struct{ id, at, depth int32 }
	var queue []item
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
		f.value = append(f.value, 0)
		f.leafID = append(f.leafID, 0)
		queue = append(queue[:0], item{0, root, 0})
		for len(queue) > 0 {
			it := queue[0]
			queue = queue[1:]
			id, at := it.id, it.at
			f.leafID[at] = id
			if t.LeftChildren[id] == -1 {
				v := t.SplitConditions[id]
				if weight != 1 {
					v *= weight
				}
				f.nodes[at] = node{cond: nan, left: at}
				f.value[at] = v
				f.depth[ti] = max(f.depth[ti], it.depth)
				continue
			}
			left := int32(len(f.nodes))
			f.nodes = append(f.nodes, node{}, node{})
			f.value = append(f.value, 0, 0)
			f.leafID = append(f.leafID, 0, 0)
			n := node{cond: t.SplitConditions[id], feat: uint32(t.SplitIndices[id]), left: left}
			first, second := t.LeftChildren[id], t.RightChildren[id]
			if t.SplitType != nil && t.SplitType[id] == SplitCategorical {
				n.feat |= flagCategorical
				n.cond = nan
				if !t.DefaultLeft[id] {
					n.feat |= flagNegate
				}
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
			} else if !t.DefaultLeft[id] {
				n.feat |= flagNegate
				n.cond = mirrorCond(n.cond)
				first, second = second, first
			} else if n.cond != n.cond {
				n.cond = float32(math.Inf(-1)) // XGBoost sends every non-missing value right of a NaN split
			}
			f.nodes[at] = n
			queue = append(queue, item{first, left, it.depth + 1}, item{second, left + 1, it.depth + 1})
		}
	}
	return f, nil
}

// mirrorCond is the condition of a mirrored node for XGBoost's split: −x ≥ mirrorCond(split) ⇔ x < split.
func mirrorCond(split float32) float32 {
	if split != split || math.IsInf(float64(split), -1) {
		return float32(math.NaN()) // x < split never holds: every non-missing value goes right
	}
	return math.Nextafter32(-split, float32(math.Inf(1)))
}

// step moves from numerical split (or leaf) n one level down for row x, which must have more values than
// n's split feature. It compiles to an XOR of the sign bit, one compare and a SETcc, no branches; a leaf
// steps to itself.
func step(n *node, x []float32) int32 {
	v := math.Float32frombits(math.Float32bits(x[n.feat&featMask]) ^ n.feat&flagNegate)
	return n.left + b2i(v >= n.cond)
}

// b2i is 1 for true; the compiler turns it into a SETcc instruction.
func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// leafFast returns the compiled index of the leaf row x reaches in the tree (root, depth); f.fast() and
// len(x) ≥ f.numFeature.
func (f *forest) leafFast(root, depth int32, x []float32) int32 {
	nodes := f.nodes
	i := root
	for range depth {
		i = step(&nodes[i], x)
	}
	return i
}

// marginsFast adds every tree's leaf value for row x to the margins m, walking four trees at a time so the
// four dependent chains of loads overlap; values are still added in tree order. f.fast() and
// len(x) ≥ f.numFeature.
func (f *forest) marginsFast(x []float32, m []float32) {
	nodes, value, roots, depth, group := f.nodes, f.value, f.roots, f.depth, f.group
	t := 0
	for ; t+4 <= len(roots); t += 4 {
		i0, i1, i2, i3 := roots[t], roots[t+1], roots[t+2], roots[t+3]
		for range max(depth[t], depth[t+1], depth[t+2], depth[t+3]) {
			i0 = step(&nodes[i0], x)
			i1 = step(&nodes[i1], x)
			i2 = step(&nodes[i2], x)
			i3 = step(&nodes[i3], x)
		}
		m[group[t]] += value[i0]
		m[group[t+1]] += value[i1]
		m[group[t+2]] += value[i2]
		m[group[t+3]] += value[i3]
	}
	for ; t < len(roots); t++ {
		m[group[t]] += value[f.leafFast(roots[t], depth[t], x)]
	}
}

// leaf returns the compiled index of the leaf x reaches in the tree at root, for any model and any row
// length (features beyond len(x) are missing).
func (f *forest) leaf(root int32, x []float32) int32 {
	nodes := f.nodes
	i := root
	for {
		n := &nodes[i]
		if n.left == i {
			return i
		}
		k := n.feat & featMask
		v := float32(math.NaN())
		if int(k) < len(x) {
			v = x[k]
		}
		if n.feat&flagCategorical != 0 {
			i = f.categoricalChild(i, n, v)
			continue
		}
		v = math.Float32frombits(math.Float32bits(v) ^ n.feat&flagNegate)
		i = n.left + b2i(v >= n.cond)
	}
}

func (f *forest) categoricalChild(i int32, n *node, v float32) int32 {
	if v != v {
		return n.left + int32(n.feat>>31)
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

// walkBlock sets ix[r] to the leaf that row r of the block x (rows of cols values) reaches in the tree
// (root, depth), stepping all rows one level at a time. It is a function of its own so the compiler keeps
// the loop's variables in registers.
//
//go:noinline
func (f *forest) walkBlock(root, depth int32, x []float32, cols int, ix []int32) {
	for r := range ix {
		ix[r] = root
	}
	nodes := f.nodes
	for range depth {
		off := 0
		for r, i := range ix { // step, with the row offset folded into the feature index
			n := &nodes[i]
			v := math.Float32frombits(math.Float32bits(x[off+int(n.feat&featMask)]) ^ n.feat&flagNegate)
			ix[r] = n.left + b2i(v >= n.cond)
			off += cols
		}
	}
}

// rowLeaf is the leaf of tree t for row x by whichever path applies.
func (f *forest) rowLeaf(t int, x []float32) int32 {
	if f.fast() && len(x) >= f.numFeature {
		return f.leafFast(f.roots[t], f.depth[t], x)
	}
	return f.leaf(f.roots[t], x)
}

// PredictRow predicts one row into out, which must hold OutputsPerRow(PredictOptions{}) values. Features
// beyond len(x) count as missing; values beyond NumFeatures are ignored (Predict rejects such data). It does not allocate (unless num_class > 64 with multi:softmax) and is
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
		for t := range f.roots {
			out[t] = float32(f.leafID[f.rowLeaf(t, x)])
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
	if f.fast() && len(x) >= f.numFeature {
		f.marginsFast(x[:f.numFeature], m)
	} else {
		for t, root := range f.roots {
			m[f.group[t]] += f.value[f.leaf(root, x)]
		}
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
// Each tree takes a block of rows level by level: every row steps once per level, so the loads of
// different rows overlap and no branch depends on the data.
func (f *forest) predictBlocks(d *dataset.Dense, opt PredictOptions, out []float32, per int, claim func() int, blocks int) {
	ng, nf := f.numGroups, f.numFeature
	margins := make([]float32, blockRows*ng)
	idx := make([]int32, blockRows)
	fast := f.fast()
	var padded []float32 // rows widened to nf columns when the data has fewer
	if fast && d.Cols < nf {
		padded = make([]float32, blockRows*nf)
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
		x, cols := d.X[lo*d.Cols:hi*d.Cols], d.Cols
		if padded != nil {
			for r := 0; r < nb; r++ {
				row := padded[r*nf : (r+1)*nf]
				n := copy(row, x[r*cols:(r+1)*cols])
				for k := n; k < nf; k++ {
					row[k] = float32(math.NaN())
				}
			}
			x, cols = padded[:nb*nf], nf
		}
		m := margins[:nb*ng]
		for i := range m {
			m[i] = f.base
		}
		for t, root := range f.roots {
			ix := idx[:nb]
			if fast {
				f.walkBlock(root, f.depth[t], x, cols, ix)
			} else {
				for r := range ix {
					ix[r] = f.leaf(root, x[r*cols:(r+1)*cols])
				}
			}
			switch {
			case opt.PredLeaf:
				for r, i := range ix {
					out[(lo+r)*per+t] = float32(f.leafID[i])
				}
			case ng == 1:
				for r, i := range ix {
					m[r] += f.value[i]
				}
			default:
				g := int(f.group[t])
				for r, i := range ix {
					m[r*ng+g] += f.value[i]
				}
			}
		}
		switch {
		case opt.PredLeaf:
		case opt.OutputMargin:
			copy(out[lo*per:hi*per], m)
		default:
			for r := 0; r < nb; r++ {
				f.obj.apply(m[r*ng:(r+1)*ng], out[(lo+r)*per:(lo+r+1)*per])
			}
		}
	}
}
