package xgboost

import (
	"math"
	"slices"
	"sort"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
)

// cuts are the histogram bin boundaries of every feature, chosen as XGBoost 1.7's hist does:
// a weighted quantile summary of at most max_bin+1 entries per feature; its entries 1 … max_bin-1
// become upper bounds of bins, and one more bound above the maximum closes the last bin. A value
// v falls in the first bin whose bound is greater than v, so "bin ≤ i" is exactly "v < bound[i]",
// the predictor's test: every split condition is a bound, a real data value.
type cuts struct {
	bounds [][]float32 // per feature, strictly increasing; len = bins of the feature (0 for a feature never present)
	minVal []float32   // per feature, below every value: the condition of a split that sends all present values right
	// missing says which features have a missing value in the training data: only they need a bin code
	// for it, so up to 256 bins of a complete feature fit a byte.
	missing []bool
}

// summaryEntry is an entry of a weighted quantile summary (XGBoost's WQSummary::Entry, whose
// ranks are float32).
type summaryEntry struct {
	rmin, rmax, wmin float32
	value            float32
}

// sketch computes the cut points of every feature of d (NaN values are skipped), in parallel
// over features.
func sketch(d *dataset.Dense, maxBin, nthread int) cuts {
	c := cuts{bounds: make([][]float32, d.Cols), minVal: make([]float32, d.Cols), missing: make([]bool, d.Cols)}
	parallelRange(d.Cols, nthread, 1, func(lo, hi int) {
		type vw struct{ v, w float32 }
		var vals []float32
		var scratch []uint32
		var pairs []vw
		for f := lo; f < hi; f++ {
			var summary []summaryEntry
			nan := 0
			if d.Weight == nil {
				vals = vals[:0]
				for r := 0; r < d.Rows; r++ {
					if v := d.X[r*d.Cols+f]; v == v {
						vals = append(vals, v)
					}
				}
				scratch = sortFloats(vals, scratch)
				for i := 0; i < len(vals); {
					j := i + 1
					for j < len(vals) && vals[j] == vals[i] {
						j++
					}
					summary = append(summary, summaryEntry{rmin: float32(i), rmax: float32(j), wmin: float32(j - i), value: vals[i]})
					i = j
				}
			} else {
				pairs = pairs[:0]
				for r := 0; r < d.Rows; r++ {
					if v := d.X[r*d.Cols+f]; v != v {
						nan++
					} else if d.Weight[r] > 0 {
						pairs = append(pairs, vw{v, d.Weight[r]})
					}
				}
				sort.Slice(pairs, func(a, b int) bool { return pairs[a].v < pairs[b].v })
				var rank float32
				for i := 0; i < len(pairs); {
					var w float32
					j := i
					for ; j < len(pairs) && pairs[j].v == pairs[i].v; j++ {
						w += pairs[j].w
					}
					summary = append(summary, summaryEntry{rmin: rank, rmax: rank + w, wmin: w, value: pairs[i].v})
					rank += w
					i = j
				}
			}
			// XGBoost prunes twice: to max_bin·8 entries when merging the per-thread sketches,
			// then to max_bin+1 when making the cuts; both limits count present values, not
			// distinct ones.
			present := 0
			if d.Weight == nil {
				present = len(vals)
				nan = d.Rows - present
			} else {
				present = len(pairs) // rows of weight 0 do not count, as in XGBoost
			}
			// a feature with no (weighted) value has no bins: all its values take the missing code
			c.missing[f] = nan > 0 || present == 0
			bins := min(present, maxBin)
			summary = prune(prune(summary, min(present, 8*maxBin)), bins+1)
			c.bounds[f], c.minVal[f] = cutsFromSummary(summary, bins)
		}
	})
	return c
}

// sortFloats sorts v (no NaN) ascending: by a least-significant-digit radix sort on the bits for
// large inputs (4 passes of a byte, faster than comparison sorting a million values), else by
// slices.Sort. scratch is reused between calls and returned.
func sortFloats(v []float32, scratch []uint32) []uint32 {
	if len(v) < 1<<12 {
		slices.Sort(v)
		return scratch
	}
	if cap(scratch) < 2*len(v) {
		scratch = make([]uint32, 2*len(v))
	}
	src, dst := scratch[:len(v)], scratch[len(v):2*len(v)]
	// key: flip every bit of a negative value, only the sign bit of a positive one, so that the keys
	// order as the values (-0 sorts just before +0; they compare equal afterwards anyway)
	for i, f := range v {
		b := math.Float32bits(f)
		if b>>31 == 1 {
			src[i] = ^b
		} else {
			src[i] = b | 1<<31
		}
	}
	for shift := 0; shift < 32; shift += 8 {
		var count [256]int
		for _, k := range src {
			count[(k>>shift)&0xff]++
		}
		if count[(src[0]>>shift)&0xff] == len(src) {
			continue // every key has this byte: the pass would not move anything
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, k := range src {
			d := (k >> shift) & 0xff
			dst[count[d]] = k
			count[d]++
		}
		src, dst = dst, src
	}
	for i, k := range src {
		if k>>31 == 1 {
			v[i] = math.Float32frombits(k &^ (1 << 31))
		} else {
			v[i] = math.Float32frombits(^k)
		}
	}
	return scratch
}

// prune reduces a summary to at most maxSize entries, as XGBoost's WQSummary::SetPrune.
func prune(src []summaryEntry, maxSize int) []summaryEntry {
	if len(src) <= maxSize {
		return src
	}
	begin := src[0].rmax
	rng := src[len(src)-1].rmin - src[0].rmax
	n := maxSize - 1
	out := []summaryEntry{src[0]}
	i, last := 1, 0
	for k := 1; k < n; k++ {
		dx2 := 2 * (float32(k)*rng/float32(n) + begin)
		for i < len(src)-1 && dx2 >= src[i+1].rmax+src[i+1].rmin {
			i++
		}
		if i == len(src)-1 {
			break
		}
		if dx2 < (src[i].rmin+src[i].wmin)+(src[i+1].rmax-src[i+1].wmin) {
			if i != last {
				out = append(out, src[i])
				last = i
			}
		} else if i+1 != last {
			out = append(out, src[i+1])
			last = i + 1
		}
	}
	if last != len(src)-1 {
		out = append(out, src[len(src)-1])
	}
	return out
}

// cutsFromSummary turns a pruned summary into bin bounds and the feature's minimum bound
// (XGBoost's AddCutPoint and MakeCuts).
func cutsFromSummary(s []summaryEntry, maxBin int) (bounds []float32, minVal float32) {
	if len(s) == 0 {
		return nil, 1e-5
	}
	mval := s[0].value
	minVal = mval - (float32(math.Abs(float64(mval))) + 1e-5)
	required := min(len(s), maxBin)
	for i := 1; i < required; i++ {
		if v := s[i].value; i == 1 || v > bounds[len(bounds)-1] {
			bounds = append(bounds, v)
		}
	}
	top := s[len(s)-1].value
	bounds = append(bounds, top+(float32(math.Abs(float64(top)))+1e-5))
	return bounds, minVal
}

// binOf returns the bin of a present value v: the first bound greater than v (clamped to the last bin).
func binOf(bounds []float32, v float32) int {
	lo, hi := 0, len(bounds)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bounds[m] > v {
			hi = m
		} else {
			lo = m + 1
		}
	}
	if lo == len(bounds) {
		lo--
	}
	return lo
}
