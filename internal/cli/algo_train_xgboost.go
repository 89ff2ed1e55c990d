package cli

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/algorithms/evaluate"
	"github.com/slipway-ml/slipway/internal/algorithms/xgboost"
	"github.com/slipway-ml/slipway/internal/errs"
)

// trainXGBoost trains with the hist trainer, logging each round to stdout in SageMaker's shape, and
// writes modelDir/xgboost-model.
func trainXGBoost(ctx context.Context, set map[string]string, train, val *dataset.Dense, modelDir string, stdout, stderr io.Writer) error {
	p, err := xgboost.ParseParams(set)
	if err != nil {
		return err
	}
	if p.CSVWeights { // SageMaker: the column after the label holds the instance weight
		for _, d := range []*dataset.Dense{train, val} {
			if d == nil {
				continue
			}
			if err := weightsFromFirstColumn(d); err != nil {
				return err
			}
		}
	}
	evals := []xgboost.Eval{{Name: "train", Data: train}}
	if val != nil {
		evals = append(evals, xgboost.Eval{Name: "validation", Data: val})
	}
	b, err := xgboost.Train(ctx, p, train, evals, stdout)
	if err != nil {
		return err
	}
	path := filepath.Join(modelDir, evaluate.XGBoostModelFile)
	if err := b.SaveModel(path); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s\n", path)
	return nil
}

// weightsFromFirstColumn moves the first feature column of d into its instance weights.
func weightsFromFirstColumn(d *dataset.Dense) error {
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
