package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/algorithms/prep"
)

func algoPrep(args []string, stdout, stderr io.Writer) error {
	fs := newCommand("slipway algo prep", helpText{
		usage: "slipway algo prep --input FILE.csv --label NAME [--categorical A,B] [--split 0.7,0.15,0.15] [--seed N] [--stratify] --out DIR",
		desc: `Splits a CSV with a header into train.csv, validation.csv and test.csv (headerless, label
first, as the trainers read them) and fits the preprocessing transform on the training rows:
median imputation and standard scaling of numeric columns, one-hot encoding of --categorical
columns. The transform is written to transform.json for predict --transform.`,
		example: `slipway algo prep --input internal/algorithms/sample/abalone.csv --label rings \
    --categorical sex --split 0.7,0.15,0.15 --seed 42 --out prepped/`,
	}, stdout, stderr)
	input := fs.String("input", "", "CSV file with a header")
	label := fs.String("label", "", "the label column")
	categorical := fs.String("categorical", "", "comma-separated columns to one-hot encode (every other column must be numeric)")
	split := fs.String("split", "0.7,0.15,0.15", "train,validation,test fractions (a 0 share is not written)")
	seed := fs.Uint64("seed", 0, "seed of the split; the same seed gives the same split")
	stratify := fs.Bool("stratify", false, "split each label class separately, keeping the class balance")
	out := fs.String("out", "", "output directory for train.csv, validation.csv, test.csv and transform.json")
	if err := parseFlags(fs, args, "input", "label", "out"); err != nil {
		return err
	}
	fr, err := parseFractions(*split)
	if err != nil {
		return err
	}
	var cats []string
	for _, c := range strings.Split(*categorical, ",") {
		if c = strings.TrimSpace(c); c != "" {
			cats = append(cats, c)
		}
	}
	tab, err := prep.ReadTableFile(*input)
	if err != nil {
		return err
	}
	res, err := prep.Run(tab, prep.Options{Label: *label, Categorical: cats, Split: fr, Seed: *seed, Stratify: *stratify}, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "read %d rows of %d columns from %s\n", len(tab.Rows), len(tab.Header), *input)
	fmt.Fprintf(stdout, "features (%d): %s\n", res.Transform.NumFeatures(), strings.Join(res.Transform.FeatureNames, ", "))
	if res.Transform.LabelClasses != nil {
		fmt.Fprintf(stdout, "label %q classes: %s\n", *label, strings.Join(res.Transform.LabelClasses, ", "))
	}
	names := [3]string{prep.TrainFile, prep.ValidationFile, prep.TestFile}
	for p, n := range res.Rows {
		if fr[p] > 0 {
			fmt.Fprintf(stdout, "wrote %s (%d rows)\n", names[p], n)
		}
	}
	fmt.Fprintf(stdout, "wrote %s\n", prep.TransformFile)
	return nil
}

func parseFractions(s string) (prep.Fractions, error) {
	var f prep.Fractions
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return f, fmt.Errorf("%w: --split %q: want three fractions train,validation,test such as 0.7,0.15,0.15", errUsage, s)
	}
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return f, fmt.Errorf("%w: --split %q: %q is not a number", errUsage, s, p)
		}
		f[i] = v
	}
	return f, nil
}
