package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/algorithms/linear"
	"github.com/slipway-ml/slipway/internal/algorithms/metric"
	"github.com/slipway-ml/slipway/internal/errs"
)

func algoTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	algo := "xgboost|linear"
	if len(args) > 0 && (args[0] == "xgboost" || args[0] == "linear") {
		algo = args[0]
	}
	fs := newCommand("slipway algo train", helpText{
		usage: "slipway algo train " + algo + " --train FILE [--validation FILE] [--set k=v,...] --model-dir DIR",
		desc: `Trains a model with a built-in algorithm and writes it to --model-dir: xgboost writes
xgboost-model (XGBoost's JSON model format, loadable by the XGBoost library), linear writes
linear-model.json. It prints the training (and validation) metric of every round. The
hyperparameters, their defaults and ranges: docs/algorithms.md.`,
		example: `slipway algo train xgboost --train prepped/train.csv --validation prepped/validation.csv \
    --set objective=reg:squarederror,num_round=50,max_depth=5,eta=0.2 --model-dir model/
slipway algo train linear --train prepped/train.csv --set predictor_type=regressor --model-dir linear-model/`,
	}, stdout, stderr)
	trainPath := fs.String("train", "", "training data (headerless CSV with the label first, or libsvm)")
	valPath := fs.String("validation", "", "validation data, evaluated every round (optional)")
	modelDir := fs.String("model-dir", "", "directory to write the model to")
	set := setFlag{}
	fs.Var(set, "set", "hyperparameters as name=value, comma-separated (repeatable); see docs/algorithms.md")
	var in inputFlags
	in.register(fs)
	if wantsHelp(args) {
		return parseFlags(fs, []string{"-h"})
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: name the algorithm: slipway algo train xgboost|linear … (see slipway algo train -h)", errUsage)
	}
	if algo != args[0] {
		return fmt.Errorf("%w: unknown algorithm %q: want xgboost or linear", errUsage, args[0])
	}
	if err := parseFlags(fs, args[1:], "train", "model-dir"); err != nil {
		return err
	}
	opt, err := in.options()
	if err != nil {
		return err
	}
	train, err := dataset.ReadFile(*trainPath, opt)
	if err != nil {
		return err
	}
	var val *dataset.Dense
	if *valPath != "" {
		if val, err = dataset.ReadFile(*valPath, opt); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(*modelDir, 0o755); err != nil {
		return errs.E(errs.Internal, "cannot create %s", *modelDir, err)
	}
	if algo == "xgboost" {
		return trainXGBoost(ctx, set, train, val, *modelDir, stdout, stderr)
	}
	p, err := linear.ParseParams(set)
	if err != nil {
		return err
	}
	m, err := linear.Train(ctx, p, train, stderr)
	if err != nil {
		return err
	}
	line := ""
	for _, e := range []struct {
		name string
		d    *dataset.Dense
	}{{"train", train}, {"validation", val}} {
		if e.d == nil {
			continue
		}
		pred, err := m.Predict(e.d)
		if err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		if p.PredictorType == linear.Regressor {
			line += fmt.Sprintf("%s-rmse:%.5f\t", e.name, metric.RMSE(e.d.Label, pred, e.d.Weight))
		} else {
			line += fmt.Sprintf("%s-logloss:%.5f\t%s-error:%.5f\t", e.name, metric.LogLoss(e.d.Label, pred, e.d.Weight),
				e.name, metric.ErrorRate(e.d.Label, pred, e.d.Weight))
		}
	}
	fmt.Fprintf(stdout, "%s\n", line[:len(line)-1])
	path := filepath.Join(*modelDir, linear.ModelFile)
	if err := m.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s\n", path)
	return nil
}
