package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/algorithms/linear"
	"github.com/slipway-ml/slipway/internal/algorithms/metric"
	"github.com/slipway-ml/slipway/internal/errs"
)

// RunLinear trains the built-in linear learner (the slipway/linear image) on the train channel
// (CSV, label first, no header), reports the metrics of train and validation on one line, and
// writes model/linear-model.json. On failure it writes output/failure.
func RunLinear(ctx context.Context, p Paths, log io.Writer) error {
	err := runLinear(ctx, p, log)
	if err != nil {
		if werr := p.WriteFailure(failureText(err)); werr != nil {
			return errors.Join(err, werr)
		}
	}
	return err
}

func runLinear(ctx context.Context, p Paths, log io.Writer) error {
	hp, err := ReadHyperparameters(filepath.Join(p.InputConfig, "hyperparameters.json"))
	if err != nil {
		return err
	}
	set := map[string]string{}
	for k, v := range hp {
		if !strings.HasPrefix(k, "sagemaker_") {
			set[k] = v
		}
	}
	params, err := linear.ParseParams(set)
	if err != nil {
		return err
	}
	types, err := readContentTypes(filepath.Join(p.InputConfig, "inputdataconfig.json"))
	if err != nil {
		return err
	}
	format := func(ch string) string {
		if f, ok := types[ch]; ok {
			return f
		}
		return dataset.FormatCSV
	}
	train, err := readChannel(p, "train", format("train"), true)
	if err != nil {
		return err
	}
	val, err := readChannel(p, "validation", format("validation"), false)
	if err != nil {
		return err
	}
	m, err := linear.Train(ctx, params, train, io.Discard)
	if err != nil {
		return err
	}
	var line []string
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
		if params.PredictorType == linear.Regressor {
			line = append(line, fmt.Sprintf("%s-rmse:%.5f", e.name, metric.RMSE(e.d.Label, pred, e.d.Weight)))
		} else {
			line = append(line, fmt.Sprintf("%s-logloss:%.5f#011%s-error:%.5f", e.name, metric.LogLoss(e.d.Label, pred, e.d.Weight),
				e.name, metric.ErrorRate(e.d.Label, pred, e.d.Weight)))
		}
	}
	fmt.Fprintf(log, "%s\n", strings.Join(line, "#011"))
	if err := os.MkdirAll(p.Model, 0o755); err != nil {
		return errs.E(errs.Internal, "cannot create the model directory %s", p.Model, err)
	}
	return m.Save(filepath.Join(p.Model, linear.ModelFile))
}
