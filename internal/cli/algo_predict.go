package cli

import (
	"bufio"
	"io"
	"os"
	"strconv"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/algorithms/evaluate"
	"github.com/slipway-ml/slipway/internal/algorithms/prep"
	"github.com/slipway-ml/slipway/internal/errs"
)

func algoPredict(args []string, stdout, stderr io.Writer) error {
	fs := newCommand("slipway algo predict", helpText{
		usage: "slipway algo predict --model FILE|DIR --input FILE [--transform transform.json] [--labelled]",
		desc: `Prints one prediction per input row. The input holds features (as train read them), or
raw rows of the original CSV with --transform (prep's transform.json applies the same
imputation, scaling and one-hot encoding).`,
		example: `slipway algo predict --model model/ --input prepped/test.csv --labelled
slipway algo predict --model model/ --transform prepped/transform.json --input new-rows.csv`,
	}, stdout, stderr)
	model := fs.String("model", "", "model file (xgboost-model, linear-model.json or model.tar.gz) or the model directory")
	input := fs.String("input", "", "rows to predict: features (headerless CSV or libsvm), or raw rows with --transform")
	transform := fs.String("transform", "", "prep's transform.json: --input holds raw rows (header optional, label column optional)")
	labelled := fs.Bool("labelled", false, "the first column of the headerless CSV input is a label, to ignore (e.g. prep's test.csv)")
	var in inputFlags
	in.register(fs)
	if err := parseFlags(fs, args, "model", "input"); err != nil {
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
	var d *dataset.Dense
	if *transform != "" {
		tr, err := prep.LoadTransform(*transform)
		if err != nil {
			return err
		}
		f, err := os.Open(*input)
		if err != nil {
			return errs.E(errs.Invalid, "cannot open %s", *input, err)
		}
		d, err = tr.ApplyCSV(f, *input)
		f.Close()
		if err != nil {
			return err
		}
	} else {
		opt.NoLabel = !*labelled && opt.Label == ""
		if d, err = dataset.ReadFile(*input, opt); err != nil {
			return err
		}
	}
	pred, err := m.Predict(d)
	if err != nil {
		return err
	}
	k := m.OutputsPerRow()
	w := bufio.NewWriter(stdout)
	var buf []byte
	for i := 0; i < d.Rows; i++ {
		buf = buf[:0]
		for j, v := range pred[i*k : (i+1)*k] {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendFloat(buf, float64(v), 'g', -1, 32)
		}
		buf = append(buf, '\n')
		w.Write(buf)
	}
	return w.Flush()
}
