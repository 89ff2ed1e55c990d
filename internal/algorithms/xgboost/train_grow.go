package xgboost

import (
	"math"
	"math/rand/v2"
	"slices"
)

// ghSum is a sum of gradient pairs, in float64 as XGBoost's histograms.
type ghSum struct{ g, h float64 }

func (a ghSum) sub(b ghSum) ghSum { return ghSum{a.g - b.g, a.h - b.h} }

// binType is the storage of a bin index: uint8 when every feature has at most 255 bins plus its
// missing slot, else uint16.
type binType interface{ ~uint8 | ~uint16 }

// binMatrix is the training data quantised to bins, row-major for building histograms (a row's bins
// share a cache line) and column-major for partitioning (one feature's bins of all rows fit in
// cache where the row-major matrix does not). Feature f uses the histogram slots offset[f] …
// offset[f]+nbins[f]; the last of them (local bin nbins[f]) holds the missing values, so building a
// histogram needs no branch.
type binMatrix[B binType] struct {
	rows, cols int
	bins       []B // row-major
	colBins    []B // column-major
	nbins      []int32
	offset     []int32
	nslots     int
}

func quantise[B binType](x []float32, rows, cols int, c cuts, nthread int) *binMatrix[B] {
	m := &binMatrix[B]{rows: rows, cols: cols, bins: make([]B, rows*cols), colBins: make([]B, rows*cols),
		nbins: make([]int32, cols), offset: make([]int32, cols)}
	for f := 0; f < cols; f++ {
		m.nbins[f] = int32(len(c.bounds[f]))
		m.offset[f] = int32(m.nslots)
		m.nslots += len(c.bounds[f]) + 1
	}
	parallelRange(rows, nthread, 8192, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			for f := 0; f < cols; f++ {
				v := x[r*cols+f]
				b := B(m.nbins[f])
				if v == v && m.nbins[f] > 0 {
					b = B(binOf(c.bounds[f], v))
				}
				m.bins[r*cols+f] = b
				m.colBins[f*rows+r] = b
			}
		}
	})
	return m
}

// growParams are the tree parameters in the precision XGBoost keeps them (float32).
type growParams struct {
	eta, lambda, alpha, gamma, minChildWeight, maxDeltaStep float64
	maxDepth                                                int
	colsampleTree, colsampleLevel, colsampleNode            float64
}

func newGrowParams(p Params) growParams {
	f := func(v float64) float64 { return float64(float32(v)) }
	return growParams{eta: f(p.Eta), lambda: f(p.Lambda), alpha: f(p.Alpha), gamma: f(p.Gamma),
		minChildWeight: f(p.MinChildWeight), maxDeltaStep: f(p.treeMaxDeltaStep()), maxDepth: p.MaxDepth,
		colsampleTree: p.ColsampleByTree, colsampleLevel: p.ColsampleByLvl, colsampleNode: p.ColsampleByNode}
}

func thresholdL1(w, alpha float64) float64 {
	switch {
	case w > alpha:
		return w - alpha
	case w < -alpha:
		return w + alpha
	}
	return 0
}

// weight is XGBoost's CalcWeight: the optimal leaf weight of a node, before shrinkage.
func (p *growParams) weight(s ghSum) float32 {
	if s.h < p.minChildWeight || s.h <= 0 {
		return 0
	}
	dw := -thresholdL1(s.g, p.alpha) / (s.h + p.lambda)
	if p.maxDeltaStep != 0 && math.Abs(dw) > p.maxDeltaStep {
		dw = math.Copysign(p.maxDeltaStep, dw)
	}
	return float32(dw)
}

// gain is the split evaluator's CalcGainGivenWeight with the node's own weight.
func (p *growParams) gain(s ghSum) float32 {
	if s.h <= 0 {
		return 0
	}
	if p.maxDeltaStep == 0 {
		t := thresholdL1(s.g, p.alpha)
		return float32(t * t / (s.h + p.lambda))
	}
	w := float64(p.weight(s))
	return float32(-(2*s.g*w + (s.h+p.lambda)*w*w))
}

// split is the best split found for a node. A row goes left when its bin is ≤ bin (bin -1: no
// present value goes left), a missing value when defaultLeft; cond is the matching bound, so the
// predictor's test x < cond sends exactly the same rows left.
type split struct {
	lossChg     float32
	feature     int
	bin         int
	defaultLeft bool
	cond        float32
	left, right ghSum
}

// growNode is a node of the tree being grown: its rows are idx[begin:end].
type growNode struct {
	nid        int32
	begin, end int
	sum        ghSum
	hist       []ghSum
	best       split
}

// leafSpan is a finished leaf: its rows (a part of the grower's row index, valid until the next
// tree) and its value (after shrinkage).
type leafSpan struct {
	nid   int32
	rows  []uint32
	value float32
}

// grower grows one tree at a time on a binMatrix, keeping its buffers between trees.
type grower[B binType] struct {
	m       *binMatrix[B]
	c       cuts
	p       growParams
	nthread int
	rng     *rand.Rand
	idx     []uint32   // rows, grouped by node
	gp      []gradPair // gp[k] is the gradient pair of row idx[k]: read in order when building histograms
	tmp     []uint32
	tmpGp   []gradPair
	free    [][]ghSum // histogram buffers to reuse
	scratch [][]ghSum // per worker: a buffer per node of the level being built
}

func newGrower[B binType](m *binMatrix[B], c cuts, p growParams, nthread int, rng *rand.Rand) *grower[B] {
	return &grower[B]{m: m, c: c, p: p, nthread: nthread, rng: rng,
		idx: make([]uint32, m.rows), tmp: make([]uint32, m.rows),
		gp: make([]gradPair, m.rows), tmpGp: make([]gradPair, m.rows)}
}

func (g *grower[B]) getHist() []ghSum {
	if n := len(g.free); n > 0 {
		h := g.free[n-1]
		g.free = g.free[:n-1]
		clear(h)
		return h
	}
	return make([]ghSum, g.m.nslots)
}

func (g *grower[B]) putHist(h []ghSum) {
	if h != nil {
		g.free = append(g.free, h)
	}
}

// sample returns a random share frac of feats (at least one), in ascending order, as XGBoost's
// ColumnSampler.
func (g *grower[B]) sample(feats []int, frac float64) []int {
	if frac >= 1 {
		return feats
	}
	n := max(1, int(frac*float64(len(feats))))
	s := slices.Clone(feats)
	g.rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	s = s[:n]
	slices.Sort(s)
	return s
}

// grow builds one tree from the gradient pairs of every row and returns it with its leaves' row
// spans (in g.idx), for updating the training margins without walking the tree.
func (g *grower[B]) grow(gp []gradPair) (Tree, []leafSpan) {
	for i := range g.idx {
		g.idx[i] = uint32(i)
	}
	copy(g.gp, gp)
	t := Tree{}
	root := &growNode{nid: 0, begin: 0, end: g.m.rows, sum: g.sumAll(gp)}
	rootWeight := g.p.weight(root.sum)
	addNode(&t, RootParent, float32(rootWeight)*float32(g.p.eta), rootWeight, root.sum.h)
	g.buildHists([]*growNode{root})

	all := make([]int, g.m.cols)
	for f := range all {
		all[f] = f
	}
	treeFeats := g.sample(all, g.p.colsampleTree)
	var leaves []leafSpan
	level := []*growNode{root}
	for depth := 0; len(level) > 0; depth++ {
		levelFeats := g.sample(treeFeats, g.p.colsampleLevel)
		var splitting []*growNode
		for _, n := range level {
			if depth < g.p.maxDepth {
				g.evaluate(n, g.sample(levelFeats, g.p.colsampleNode))
			}
			b := n.best
			if depth >= g.p.maxDepth || b.lossChg <= 1e-6 || b.left.h == 0 || b.right.h == 0 || float64(b.lossChg) < g.p.gamma {
				leaves = append(leaves, leafSpan{n.nid, g.idx[n.begin:n.end], t.SplitConditions[n.nid]})
				g.putHist(n.hist)
				continue
			}
			splitting = append(splitting, n)
		}
		if len(splitting) == 0 {
			break
		}
		nleft := g.partition(splitting)
		var next, build []*growNode
		for i, n := range splitting {
			b := n.best
			l := &growNode{nid: int32(len(t.LeftChildren)), begin: n.begin, end: n.begin + nleft[i], sum: b.left}
			r := &growNode{nid: l.nid + 1, begin: n.begin + nleft[i], end: n.end, sum: b.right}
			wl, wr := g.p.weight(b.left), g.p.weight(b.right)
			addNode(&t, n.nid, wl*float32(g.p.eta), wl*float32(g.p.eta), b.left.h)
			addNode(&t, n.nid, wr*float32(g.p.eta), wr*float32(g.p.eta), b.right.h)
			t.LeftChildren[n.nid], t.RightChildren[n.nid] = l.nid, r.nid
			t.SplitIndices[n.nid] = int32(b.feature)
			t.SplitConditions[n.nid] = b.cond
			t.DefaultLeft[n.nid] = b.defaultLeft
			t.LossChanges[n.nid] = b.lossChg
			t.BaseWeights[n.nid] = g.p.weight(n.sum)
			next = append(next, l, r)
			if depth+1 < g.p.maxDepth {
				// histogram subtraction: build the smaller child, the larger is parent minus smaller
				if l.end-l.begin <= r.end-r.begin {
					build = append(build, l)
				} else {
					build = append(build, r)
				}
			}
		}
		if len(build) > 0 {
			g.buildHists(build)
			for i, n := range splitting {
				l, r := next[2*i], next[2*i+1]
				small, large := l, r
				if l.hist == nil {
					small, large = r, l
				}
				large.hist = n.hist
				for s := range large.hist {
					large.hist[s].g -= small.hist[s].g
					large.hist[s].h -= small.hist[s].h
				}
				n.hist = nil
			}
		} else {
			for _, n := range splitting {
				g.putHist(n.hist)
				n.hist = nil
			}
		}
		level = next
	}
	return t, leaves
}

// addNode appends a leaf to t.
func addNode(t *Tree, parent int32, value, baseWeight float32, hess float64) {
	t.LeftChildren = append(t.LeftChildren, -1)
	t.RightChildren = append(t.RightChildren, -1)
	t.Parents = append(t.Parents, parent)
	t.SplitIndices = append(t.SplitIndices, 0)
	t.SplitConditions = append(t.SplitConditions, value)
	t.DefaultLeft = append(t.DefaultLeft, false)
	t.BaseWeights = append(t.BaseWeights, baseWeight)
	t.LossChanges = append(t.LossChanges, 0)
	t.SumHessian = append(t.SumHessian, float32(hess))
}

// sumAll sums the gradient pairs of all rows, in a fixed order per nthread.
func (g *grower[B]) sumAll(gp []gradPair) ghSum {
	parts := make([]ghSum, g.nthread)
	parallelRange(len(gp), g.nthread, 1<<14, func(lo, hi int) {
		var s ghSum
		for _, v := range gp[lo:hi] {
			s.g += float64(v.g)
			s.h += float64(v.h)
		}
		parts[lo*g.nthread/len(gp)] = s
	})
	var s ghSum
	for _, p := range parts {
		s.g += p.g
		s.h += p.h
	}
	return s
}

// evaluate finds the best split of n over the features feats, as XGBoost's hist evaluator:
// enumerate bins upwards with missing values going right, and, when the node has missing values
// of the feature, downwards with them going left; a tie keeps the earlier candidate, so the
// lower feature wins.
func (g *grower[B]) evaluate(n *growNode, feats []int) {
	p := &g.p
	rootGain := p.gain(n.sum)
	best := split{feature: -1}
	consider := func(lc float32, f, bin int, defaultLeft bool, cond float32, l, r ghSum) {
		if lc > best.lossChg && !math.IsInf(float64(lc), 0) {
			best = split{lossChg: lc, feature: f, bin: bin, defaultLeft: defaultLeft, cond: cond, left: l, right: r}
		}
	}
	for _, f := range feats {
		off, nb := int(g.m.offset[f]), int(g.m.nbins[f])
		h := n.hist[off : off+nb+1]
		bounds := g.c.bounds[f]
		var acc ghSum
		for i := 0; i < nb; i++ {
			acc.g += h[i].g
			acc.h += h[i].h
			rest := n.sum.sub(acc)
			if acc.h >= p.minChildWeight && rest.h >= p.minChildWeight {
				lc := (p.gain(acc) + p.gain(rest)) - rootGain
				consider(lc, f, i, false, bounds[i], acc, rest)
			}
		}
		if miss := h[nb]; miss.g == 0 && miss.h == 0 {
			continue
		}
		acc = ghSum{}
		for i := nb - 1; i >= 0; i-- {
			acc.g += h[i].g
			acc.h += h[i].h
			rest := n.sum.sub(acc)
			if acc.h >= p.minChildWeight && rest.h >= p.minChildWeight {
				lc := (p.gain(rest) + p.gain(acc)) - rootGain
				cond := g.c.minVal[f]
				if i > 0 {
					cond = bounds[i-1]
				}
				consider(lc, f, i-1, true, cond, rest, acc)
			}
		}
	}
	n.best = best
}

// buildHists gives every node in nodes its histogram. The rows of all nodes, taken in order, are
// cut into nthread equal parts; each worker sums its part into a buffer per node it touches, and
// the buffers are added up in worker order, so the sums depend only on nthread.
func (g *grower[B]) buildHists(nodes []*growNode) {
	total := 0
	for _, n := range nodes {
		total += n.end - n.begin
	}
	parts := g.nthread
	if total < parts*4096 {
		parts = 1
	}
	for len(g.scratch) < parts*len(nodes) {
		g.scratch = append(g.scratch, nil)
	}
	parallelFor(parts, func(t int) {
		lo, hi := total*t/parts, total*(t+1)/parts
		pos := 0
		for k, n := range nodes {
			size := n.end - n.begin
			a, b := max(lo-pos, 0), min(hi-pos, size)
			pos += size
			if a >= b {
				continue
			}
			buf := g.scratch[t*len(nodes)+k]
			if len(buf) != g.m.nslots {
				buf = make([]ghSum, g.m.nslots)
				g.scratch[t*len(nodes)+k] = buf
			} else {
				clear(buf)
			}
			accumulate(buf, g.m, g.idx[n.begin+a:n.begin+b], g.gp[n.begin+a:n.begin+b])
		}
	})
	pos := 0
	for k, n := range nodes {
		size := n.end - n.begin
		n.hist = g.getHist()
		for t := 0; t < parts; t++ {
			lo, hi := total*t/parts, total*(t+1)/parts
			if max(lo-pos, 0) >= min(hi-pos, size) {
				continue
			}
			buf := g.scratch[t*len(nodes)+k]
			for s, v := range buf {
				n.hist[s].g += v.g
				n.hist[s].h += v.h
			}
		}
		pos += size
	}
}

// accumulate adds the gradient pairs of rows (gp[k] of row rows[k]) into hist: the hot loop of
// training.
func accumulate[B binType](hist []ghSum, m *binMatrix[B], rows []uint32, gp []gradPair) {
	cols := m.cols
	offset := m.offset[:cols]
	gp = gp[:len(rows)]
	for k, r := range rows {
		v := gp[k]
		gv, hv := float64(v.g), float64(v.h)
		rb := m.bins[int(r)*cols : int(r)*cols+cols]
		for f, b := range rb {
			e := &hist[int(offset[f])+int(b)]
			e.g += gv
			e.h += hv
		}
	}
}

// partitionBlock is the number of rows one partition task handles.
const partitionBlock = 16384

// partition splits each node's rows into its left then its right child, keeping their order, and
// returns the number of left rows per node.
func (g *grower[B]) partition(nodes []*growNode) []int {
	type task struct {
		k, lo, hi, nl int
	}
	var tasks []task
	for k, n := range nodes {
		for lo := n.begin; lo < n.end; lo += partitionBlock {
			tasks = append(tasks, task{k: k, lo: lo, hi: min(lo+partitionBlock, n.end)})
		}
	}
	parallelRange(len(tasks), g.nthread, 2, func(a, b int) {
		for ti := a; ti < b; ti++ {
			tk := &tasks[ti]
			bs := nodes[tk.k].best
			col := g.m.colBins[bs.feature*g.m.rows : (bs.feature+1)*g.m.rows]
			// A missing value has code nbins, above every bin: it goes left only when it matches
			// leftMissing (-1 when missing values go right, or the feature has none, as a feature
			// without missing values may use every code of B for bins).
			bin, leftMissing := bs.bin, -1
			if g.c.missing[bs.feature] && bs.defaultLeft {
				leftMissing = int(g.m.nbins[bs.feature])
			}
			// branch-free: the side of a row is unpredictable, so write it to both ends and move one
			rows, gps := g.idx[tk.lo:tk.hi], g.gp[tk.lo:tk.hi]
			gps = gps[:len(rows)]
			tmp, tmpGp := g.tmp[tk.lo:tk.hi], g.tmpGp[tk.lo:tk.hi]
			tmpGp = tmpGp[:len(tmp)]
			l, r := 0, len(rows)
			for k, row := range rows {
				v := int(col[row])
				left := int(b2i(v <= bin) | b2i(v == leftMissing))
				gv := gps[k]
				tmp[l], tmpGp[l] = row, gv
				tmp[r-1], tmpGp[r-1] = row, gv
				l += left
				r -= 1 - left
			}
			tk.nl = l
		}
	})
	nleft := make([]int, len(nodes))
	leftPos := make([]int, len(tasks))
	rightPos := make([]int, len(tasks))
	for i, tk := range tasks {
		leftPos[i] = nleft[tk.k]
		nleft[tk.k] += tk.nl
	}
	rightSeen := make([]int, len(nodes))
	for i, tk := range tasks {
		rightPos[i] = rightSeen[tk.k]
		rightSeen[tk.k] += tk.hi - tk.lo - tk.nl
	}
	parallelRange(len(tasks), g.nthread, 2, func(a, b int) {
		for ti := a; ti < b; ti++ {
			tk := tasks[ti]
			n := nodes[tk.k]
			copy(g.idx[n.begin+leftPos[ti]:], g.tmp[tk.lo:tk.lo+tk.nl])
			copy(g.gp[n.begin+leftPos[ti]:], g.tmpGp[tk.lo:tk.lo+tk.nl])
			at := n.begin + nleft[tk.k] + rightPos[ti]
			dst, dstGp := g.idx[at:], g.gp[at:]
			rights, rightsGp := g.tmp[tk.lo+tk.nl:tk.hi], g.tmpGp[tk.lo+tk.nl:tk.hi]
			for j := range rights {
				dst[j], dstGp[j] = rights[len(rights)-1-j], rightsGp[len(rights)-1-j]
			}
		}
	})
	return nleft
}
