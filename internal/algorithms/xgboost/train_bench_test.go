package xgboost

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// benchMatrix is 1M rows × 10 features of 256 one-byte bins, and the rows of one node of half of them,
// scattered as after a few partitions.
func benchMatrix(b *testing.B) (*binMatrix[uint8], []uint32, []gradPair) {
	const rows, cols = 1 << 20, 10
	rng := rand.New(rand.NewPCG(1, 1))
	m := &binMatrix[uint8]{rows: rows, cols: cols, bins: make([]uint8, rows*cols), colBins: make([]uint8, rows*cols),
		nbins: make([]int32, cols), offset: make([]int32, cols)}
	for f := 0; f < cols; f++ {
		m.nbins[f], m.offset[f] = 256, int32(f*257)
	}
	m.nslots = cols * 257
	for i := range m.bins {
		m.bins[i] = uint8(rng.IntN(256))
	}
	var idx []uint32
	for r := 0; r < rows; r++ {
		if rng.IntN(2) == 0 {
			idx = append(idx, uint32(r))
		}
	}
	gp := make([]gradPair, rows)
	for i := range gp {
		gp[i] = gradPair{float32(rng.NormFloat64()), 1}
	}
	return m, idx, gp
}

// BenchmarkAccumulate measures the histogram-building loop; ns/op is per row of the node.
func BenchmarkAccumulate(b *testing.B) {
	m, idx, gp := benchMatrix(b)
	gp = gp[:len(idx)]
	hist := make([]ghSum, m.nslots)
	b.ResetTimer()
	for i := 0; i < b.N; i += len(idx) {
		accumulate(hist, m, idx, gp)
	}
}

func BenchmarkAccumulateSequential(b *testing.B) {
	m, _, gp := benchMatrix(b)
	idx := make([]uint32, m.rows)
	for i := range idx {
		idx[i] = uint32(i)
	}
	hist := make([]ghSum, m.nslots)
	b.ResetTimer()
	for i := 0; i < b.N; i += len(idx) {
		accumulate(hist, m, idx, gp)
	}
}

func benchFloats() []float32 {
	rng := rand.New(rand.NewPCG(1, 1))
	v := make([]float32, 1<<20)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func BenchmarkSortFloatsRadix(b *testing.B) {
	src := benchFloats()
	v := make([]float32, len(src))
	var tmp []uint32
	for i := 0; i < b.N; i++ {
		copy(v, src)
		tmp = sortFloats(v, tmp)
	}
}

func BenchmarkSortFloatsPdq(b *testing.B) {
	src := benchFloats()
	v := make([]float32, len(src))
	for i := 0; i < b.N; i++ {
		copy(v, src)
		slices.Sort(v)
	}
}
