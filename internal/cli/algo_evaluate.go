package cli

import (
	"fmt"
	"io"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/algorithms/evaluate"
)

func algoEvaluate(args []string, stdout, stderr io.Writer) error {
	fs := newCommand("slipway algo evaluate", helpText{
		usage: "slipway algo evaluate --model FILE|DIR --test FILE [--out evaluation.json]",
		desc: `Evaluates a model on a labelled test set and writes evaluation.json: regression metrics
(mse with its standard deviation, rmse, mae, r2) for a regression objective, classification
metrics (accuracy, precision, recall, f1, auc) for a binary one.`,
		example: `slipway algo evaluate --model model/xgboost-model --test prepped/test.csv --out evaluation.json`,
	}, stdout, stderr)
	model := fs.String("model", "", "model file (xgboost-model, linear-model.json or model.tar.gz) or the model directory")
	test := fs.String("test", "", "labelled test data (headerless CSV with the label first, or libsvm)")
	out := fs.String("out", "", "write evaluation.json here (default: print it)")
	var in inputFlags
	in.register(fs)
	if err := parseFlags(fs, args, "model", "test"); err != nil {
		return err
	}
	opt, err := in.options()
	if err != nil {
		return err
	}
	m, err := evaluate.LoadModel(*model)
	if err != nil {
		return err
	}
	d, err := dataset.ReadFile(*test, opt)
	if err != nil {
		return err
	}
	r, err := evaluate.Evaluate(m, d)
	if err != nil {
		return err
	}
	if *out == "" {
		return r.WriteJSON(stdout)
	}
	if err := r.WriteFile(*out); err != nil {
		return err
	}
	switch {
	case r.Regression != nil:
		fmt.Fprintf(stdout, "%d rows: mse %.6g, rmse %.6g, mae %.6g, r2 %.6g\n", d.Rows, r.Regression.MSE.Value,
			r.Regression.RMSE.Value, r.Regression.MAE.Value, r.Regression.R2.Value)
	case r.Binary != nil:
		fmt.Fprintf(stdout, "%d rows: accuracy %.6g, f1 %.6g, auc %.6g\n", d.Rows, r.Binary.Accuracy.Value, r.Binary.F1.Value, r.Binary.AUC.Value)
	case r.Multiclass != nil:
		fmt.Fprintf(stdout, "%d rows: accuracy %.6g, weighted f1 %.6g\n", d.Rows, r.Multiclass.Accuracy.Value, r.Multiclass.WeightedF1.Value)
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}
