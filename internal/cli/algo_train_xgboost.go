package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/algorithms/evaluate"
	"github.com/slipway-ml/slipway/internal/algorithms/xgboost"
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
			if err := d.WeightsFromFirstColumn(); err != nil {
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
