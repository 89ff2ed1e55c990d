package linear

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/errs"
)

// Train fits a model to train, which must be labelled and have no missing values. For the binary
// classifier the labels must be 0 or 1. It logs one line per Newton step of the classifier (and one
// line for the regressor) to log, which may be nil.
func Train(ctx context.Context, p Params, train *dataset.Dense, log io.Writer) (*Model, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = io.Discard
	}
	if err := checkTrain(p, train); err != nil {
		return nil, err
	}
	n, d := train.Rows, train.Cols
	w := make([]float64, n)
	wsum := 0.0
	for i := range w {
		w[i] = 1
		if train.Weight != nil {
			w[i] = float64(train.Weight[i])
		}
		wsum += w[i]
	}
	if !(wsum > 0) {
		return nil, errs.E(errs.Invalid, "the instance weights sum to %v; want a positive sum", wsum)
	}
	x := make([]float64, n*d)
	for i, v := range train.X {
		x[i] = float64(v)
	}
	y := make([]float64, n)
	for i, v := range train.Label {
		y[i] = float64(v)
	}
	q := quadratic{x: x, n: n, d: d, l1: p.L1, l2: p.L2, intercept: p.FitIntercept, tol: p.Tolerance, maxSweeps: 100 * p.MaxIterations}
	m := &Model{Format: Format, Version: Version, PredictorType: p.PredictorType, Params: p,
		FeatureNames: slices.Clone(train.FeatureNames)}
	beta := make([]float64, d)
	var b float64
	if p.PredictorType == Regressor {
		v := make([]float64, n)
		for i := range v {
			v[i] = w[i] / wsum
		}
		var err error
		if beta, b, err = q.solve(v, y, beta); err != nil {
			return nil, err
		}
		m.Iterations = 1
		fmt.Fprintf(log, "linear regressor: objective %.6g\n", objective(p, x, n, d, y, w, wsum, beta, b))
	} else {
		var err error
		if beta, b, m.Iterations, err = trainLogistic(ctx, p, q, y, w, wsum, log); err != nil {
			return nil, err
		}
	}
	m.Weights, m.Intercept = beta, b
	return m, nil
}

func checkTrain(p Params, t *dataset.Dense) error {
	if t == nil || t.Rows == 0 {
		return errs.E(errs.Invalid, "the training set is empty")
	}
	if t.Label == nil {
		return errs.E(errs.Invalid, "the training set has no labels")
	}
	if t.Cols == 0 {
		return errs.E(errs.Invalid, "the training set has no feature columns")
	}
	for i := 0; i < t.Rows; i++ {
		for j, v := range t.Row(i) {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return errs.E(errs.Invalid, "training row %d column %d is missing or infinite; the linear learner needs complete rows (impute them with prep)", i+1, j+1)
			}
		}
		l := t.Label[i]
		if math.IsInf(float64(l), 0) {
			return errs.E(errs.Invalid, "training row %d: the label is infinite", i+1)
		}
		if p.PredictorType == BinaryClassifier && l != 0 && l != 1 {
			return errs.E(errs.Invalid, "training row %d: label %v; the binary classifier wants labels 0 or 1", i+1, l)
		}
	}
	return nil
}

// objective is F(β, b) of the package comment.
func objective(p Params, x []float64, n, d int, y, w []float64, wsum float64, beta []float64, b float64) float64 {
	loss := 0.0
	for i := 0; i < n; i++ {
		f := b + dot(x[i*d:(i+1)*d], beta)
		if p.PredictorType == Regressor {
			loss += w[i] * 0.5 * (y[i] - f) * (y[i] - f)
		} else {
			loss += w[i] * (softplus(f) - y[i]*f)
		}
	}
	return loss/wsum + penalty(p.L1, p.L2, beta)
}

func penalty(l1, l2 float64, beta []float64) float64 {
	s1, s2 := 0.0, 0.0
	for _, v := range beta {
		s1 += math.Abs(v)
		s2 += v * v
	}
	return l1*s1 + l2/2*s2
}

func softplus(f float64) float64 { return math.Max(f, 0) + math.Log1p(math.Exp(-math.Abs(f))) }

func sigmoid(f float64) float64 {
	if f >= 0 {
		return 1 / (1 + math.Exp(-f))
	}
	e := math.Exp(f)
	return e / (1 + e)
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// trainLogistic runs proximal Newton steps with a backtracking line search on F.
func trainLogistic(ctx context.Context, p Params, q quadratic, y, w []float64, wsum float64, log io.Writer) ([]float64, float64, int, error) {
	n, d := q.n, q.d
	beta := make([]float64, d)
	b := 0.0
	if p.FitIntercept { // start at the log-odds of the weighted base rate
		pos := 0.0
		for i := range y {
			pos += w[i] * y[i]
		}
		r := math.Min(math.Max(pos/wsum, 1e-12), 1-1e-12)
		b = math.Log(r / (1 - r))
	}
	obj := objective(p, q.x, n, d, y, w, wsum, beta, b)
	v := make([]float64, n)
	z := make([]float64, n)
	cand := make([]float64, d)
	it := 0
	for it < p.MaxIterations {
		if err := ctx.Err(); err != nil {
			return nil, 0, it, err
		}
		it++
		for i := 0; i < n; i++ {
			f := b + dot(q.x[i*d:(i+1)*d], beta)
			pr := sigmoid(f)
			h := math.Max(pr*(1-pr), 1e-10)
			v[i] = w[i] * h / wsum
			z[i] = f + (y[i]-pr)/h
		}
		nb, nc, err := q.solve(v, z, slices.Clone(beta))
		if err != nil {
			return nil, 0, it, err
		}
		// Backtrack along the Newton direction until F decreases.
		step, newObj := 1.0, math.Inf(1)
		for k := 0; k < 40; k++ {
			for j := range cand {
				cand[j] = beta[j] + step*(nb[j]-beta[j])
			}
			cb := b + step*(nc-b)
			newObj = objective(p, q.x, n, d, y, w, wsum, cand, cb)
			if newObj <= obj {
				copy(beta, cand)
				b = cb
				break
			}
			step /= 2
		}
		fmt.Fprintf(log, "[%d] objective %.10g step %g\n", it, newObj, step)
		if !(newObj <= obj) {
			break // no descent along the Newton direction: at the optimum to machine precision
		}
		done := obj-newObj <= p.Tolerance*math.Max(1, math.Abs(newObj))
		obj = newObj
		if done {
			break
		}
	}
	return beta, b, it, nil
}

// quadratic solves min over (β, b) of ½ Σᵢ vᵢ (zᵢ − xᵢ·β − b)² + l1‖β‖₁ + (l2/2)‖β‖² on the
// row-major n×d matrix x.
type quadratic struct {
	x         []float64
	n, d      int
	l1, l2    float64
	intercept bool
	tol       float64
	maxSweeps int
}

// solve returns (β, b), starting coordinate descent from beta (which it may overwrite).
func (q quadratic) solve(v, z, beta []float64) ([]float64, float64, error) {
	n, d := q.n, q.d
	vsum := 0.0
	for _, vi := range v {
		vsum += vi
	}
	xbar := make([]float64, d)
	zbar := 0.0
	if q.intercept && vsum > 0 {
		for i := 0; i < n; i++ {
			row := q.x[i*d : (i+1)*d]
			for j, xv := range row {
				xbar[j] += v[i] * xv
			}
			zbar += v[i] * z[i]
		}
		for j := range xbar {
			xbar[j] /= vsum
		}
		zbar /= vsum
	}
	// Gram matrix A = Xcᵀ V Xc and c = Xcᵀ V zc over the centred data.
	a := make([]float64, d*d)
	c := make([]float64, d)
	xc := make([]float64, d)
	for i := 0; i < n; i++ {
		row := q.x[i*d : (i+1)*d]
		for j := range xc {
			xc[j] = row[j] - xbar[j]
		}
		vi := v[i]
		zi := z[i] - zbar
		for j := 0; j < d; j++ {
			s := vi * xc[j]
			if s == 0 {
				continue
			}
			c[j] += s * zi
			aj := a[j*d : (j+1)*d]
			for k := j; k < d; k++ {
				aj[k] += s * xc[k]
			}
		}
	}
	for j := 0; j < d; j++ {
		for k := 0; k < j; k++ {
			a[j*d+k] = a[k*d+j]
		}
	}
	var err error
	switch {
	case q.l1 > 0:
		beta = q.coordinateDescent(a, c, beta)
	case q.l2 > 0:
		beta, err = solveCholesky(a, c, d, q.l2)
	default:
		beta = solvePinv(a, c, d)
	}
	if err != nil {
		return nil, 0, err
	}
	return beta, zbar - dot(xbar, beta), nil
}

func (q quadratic) coordinateDescent(a, c []float64, beta []float64) []float64 {
	d := q.d
	// r = c − A·β, kept up to date as coordinates move.
	r := slices.Clone(c)
	for j := 0; j < d; j++ {
		for k := 0; k < d; k++ {
			r[j] -= a[j*d+k] * beta[k]
		}
	}
	for sweep := 0; sweep < q.maxSweeps; sweep++ {
		maxDelta, maxBeta := 0.0, 0.0
		for j := 0; j < d; j++ {
			ajj := a[j*d+j]
			old := beta[j]
			rho := r[j] + ajj*old
			nv := 0.0
			if den := ajj + q.l2; den > 0 {
				nv = softThreshold(rho, q.l1) / den
			}
			if delta := nv - old; delta != 0 {
				beta[j] = nv
				aj := a[j*d : (j+1)*d]
				for k := range r {
					r[k] -= aj[k] * delta // A is symmetric: column j is row j
				}
				maxDelta = math.Max(maxDelta, math.Abs(delta)*math.Sqrt(ajj))
			}
			maxBeta = math.Max(maxBeta, math.Abs(nv)*math.Sqrt(ajj))
		}
		if maxDelta <= q.tol*math.Max(maxBeta, 1e-300) {
			break
		}
	}
	return beta
}

func softThreshold(x, t float64) float64 {
	switch {
	case x > t:
		return x - t
	case x < -t:
		return x + t
	}
	return 0
}

// solveCholesky solves (A + l2·I) β = c; A + l2·I is positive definite since A is a Gram matrix.
func solveCholesky(a, c []float64, d int, l2 float64) ([]float64, error) {
	s := mat.NewSymDense(d, slices.Clone(a))
	for j := 0; j < d; j++ {
		s.SetSym(j, j, s.At(j, j)+l2)
	}
	var ch mat.Cholesky
	if !ch.Factorize(s) {
		return nil, errs.E(errs.Invalid, "the regularised normal equations are not positive definite (features of extreme scale?)")
	}
	var out mat.VecDense
	if err := ch.SolveVecTo(&out, mat.NewVecDense(d, slices.Clone(c))); err != nil {
		return nil, errs.E(errs.Invalid, "cannot solve the normal equations", err)
	}
	return slices.Clone(out.RawVector().Data), nil
}

// solvePinv returns the minimum-norm solution of A β = c for the symmetric positive semi-definite
// A, through its eigendecomposition, dropping eigenvalues below d·ε·λmax (as numpy's lstsq drops
// small singular values), so collinear features (a full one-hot block with an intercept) are fine.
func solvePinv(a, c []float64, d int) []float64 {
	var eig mat.EigenSym
	if !eig.Factorize(mat.NewSymDense(d, slices.Clone(a)), true) {
		return make([]float64, d)
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	maxv := 0.0
	for _, l := range vals {
		maxv = math.Max(maxv, math.Abs(l))
	}
	cut := float64(d) * 2.2e-16 * maxv * 1e3
	beta := make([]float64, d)
	for k, l := range vals {
		if l <= cut {
			continue
		}
		proj := 0.0
		for j := 0; j < d; j++ {
			proj += vecs.At(j, k) * c[j]
		}
		proj /= l
		for j := 0; j < d; j++ {
			beta[j] += proj * vecs.At(j, k)
		}
	}
	return beta
}
