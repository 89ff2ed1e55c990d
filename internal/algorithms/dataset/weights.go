package dataset

import (
	"math"

	"github.com/slipway-ml/slipway/internal/errs"
)

// WeightsFromFirstColumn moves the first feature column of d into its instance weights: SageMaker's
// csv_weights=1, where the column after the label holds each row's weight.
func (d *Dense) WeightsFromFirstColumn() error {
	if d.Cols < 2 {
		return errs.E(errs.Invalid, "csv_weights=1 needs a weight column and at least one feature after the label")
	}
	if d.Weight != nil {
		return errs.E(errs.Invalid, "csv_weights=1 and --weight both name instance weights; use one")
	}
	cols := d.Cols - 1
	x := make([]float32, 0, d.Rows*cols)
	d.Weight = make([]float32, d.Rows)
	for i := 0; i < d.Rows; i++ {
		row := d.Row(i)
		if w := row[0]; !(w >= 0) || math.IsInf(float64(w), 0) {
			return errs.E(errs.Invalid, "row %d: instance weight %v (csv_weights=1: the column after the label); want a finite number ≥ 0", i+1, w)
		}
		d.Weight[i] = row[0]
		x = append(x, row[1:]...)
	}
	d.X, d.Cols = x, cols
	if d.FeatureNames != nil {
		d.FeatureNames = d.FeatureNames[1:]
	}
	return nil
}
