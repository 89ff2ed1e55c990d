package prep

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Fractions are the shares of the rows that go to train, validation and test.
type Fractions [3]float64

// check checks f: each share in [0,1], train > 0, summing to 1 (within 1e-6).
func (f Fractions) check() error {
	total := 0.0
	for _, v := range f {
		if !(v >= 0 && v <= 1) {
			return errs.E(errs.Invalid, "split %v: each fraction must be in [0, 1]", f[:])
		}
		total += v
	}
	if f[0] == 0 {
		return errs.E(errs.Invalid, "split %v: the train fraction must be positive", f[:])
	}
	if math.Abs(total-1) > 1e-6 {
		return errs.E(errs.Invalid, "split %v: the fractions sum to %g, want 1", f[:], total)
	}
	return nil
}

// Split assigns the indexes 0..n-1 to train, validation and test. Train and validation hold
// round(n·fraction) rows and test the rest, each in a seeded random order. With strata (one key per
// row, e.g. the class label), every stratum is split in those proportions (within one row, the
// totals still exact), so every part keeps the class balance. The result depends only on the
// arguments: it uses its own Fisher–Yates shuffle over the PCG generator, whose output the Go
// project specifies.
func Split(n int, f Fractions, seed uint64, strata []string) ([3][]int, error) {
	var parts [3][]int
	if err := f.check(); err != nil {
		return parts, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x736c6970776179)) // "slipway"
	order := make([]int, n)                              // order[i]: the position of row i in the shuffled output
	perm := shuffled(rng, n)
	for pos, i := range perm {
		order[i] = pos
	}
	var groups [][]int
	if strata == nil {
		groups = [][]int{perm}
	} else {
		byKey := make(map[string][]int)
		for i, k := range strata {
			byKey[k] = append(byKey[k], i)
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			g := byKey[k]
			sg := make([]int, len(g))
			for i, j := range shuffled(rng, len(g)) {
				sg[i] = g[j]
			}
			groups = append(groups, sg)
		}
	}
	sizes := make([]int, len(groups))
	for k, g := range groups {
		sizes[k] = len(g)
	}
	nTrain := allocate(sizes, f[0], int(math.Round(float64(n)*f[0])))
	rest := make([]int, len(groups))
	for k := range rest {
		rest[k] = sizes[k] - nTrain[k]
	}
	valTotal := min(int(math.Round(float64(n)*f[1])), n-sum(nTrain))
	if f[2] == 0 { // no test part: validation takes the rest
		valTotal = n - sum(nTrain)
	}
	// Validation's share of what train left, so each group keeps the proportions.
	nVal := make([]int, len(groups))
	if f[1] > 0 {
		nVal = allocate(rest, f[1]/(f[1]+f[2]), valTotal)
	}
	for k, g := range groups {
		parts[0] = append(parts[0], g[:nTrain[k]]...)
		parts[1] = append(parts[1], g[nTrain[k]:nTrain[k]+nVal[k]]...)
		parts[2] = append(parts[2], g[nTrain[k]+nVal[k]:]...)
	}
	for p := range parts {
		slices.SortFunc(parts[p], func(a, b int) int { return order[a] - order[b] })
	}
	return parts, nil
}

// shuffled returns a seeded random permutation of 0..n-1 (Fisher–Yates with rejection sampling, so
// no bias and no dependence on math/rand's helper algorithms).
func shuffled(rng *rand.Rand, n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := boundedUint(rng, uint64(i+1))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

func boundedUint(rng *rand.Rand, n uint64) int {
	limit := math.MaxUint64 - math.MaxUint64%n
	for {
		if v := rng.Uint64(); v < limit {
			return int(v % n)
		}
	}
}

// allocate splits total across groups of the given sizes in proportion frac: each group gets the
// floor of its share, and the rows still missing go one each to the groups with the largest
// remainders (ties to the earlier group), never more than a group holds.
func allocate(sizes []int, frac float64, total int) []int {
	out := make([]int, len(sizes))
	rem := make([]float64, len(sizes))
	got := 0
	for k, m := range sizes {
		share := float64(m) * frac
		out[k] = min(int(math.Floor(share)), m)
		rem[k] = share - float64(out[k])
		got += out[k]
	}
	order := make([]int, len(sizes))
	for k := range order {
		order[k] = k
	}
	sort.SliceStable(order, func(a, b int) bool { return rem[order[a]] > rem[order[b]] })
	for got < total {
		moved := false
		for _, k := range order {
			if got < total && out[k] < sizes[k] {
				out[k]++
				got++
				moved = true
			}
		}
		if !moved {
			break
		}
	}
	for got > total { // only from rounding total down below the floors' sum
		for k := len(order) - 1; k >= 0 && got > total; k-- {
			if j := order[k]; out[j] > 0 {
				out[j]--
				got--
			}
		}
	}
	return out
}

func sum(s []int) int {
	t := 0
	for _, v := range s {
		t += v
	}
	return t
}
