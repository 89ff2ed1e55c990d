package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
)

const algoUsage = `usage: slipway algo <command> [flags]

commands:
  prep      split a CSV with a header into train/validation/test and fit the preprocessing transform
  train     train a model: slipway algo train xgboost|linear [flags]
  evaluate  evaluate a model on a labelled test set and write evaluation.json
  predict   print a model's predictions for rows of features (or raw rows, with --transform)

Run "slipway algo <command> -h" for the flags of a command and an example.

example:
  slipway algo prep --input internal/algorithms/sample/abalone.csv --label rings --categorical sex --seed 42 --out prepped/
  slipway algo train xgboost --train prepped/train.csv --model-dir model/
`

// runAlgo runs the built-in algorithms locally, on files: the same code the training, processing
// and serving containers of the server run.
func runAlgo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, algoUsage)
	}
	switch args[0] {
	case "prep":
		return algoPrep(args[1:], stdout, stderr)
	case "train":
		return algoTrain(ctx, args[1:], stdout, stderr)
	case "evaluate":
		return algoEvaluate(args[1:], stdout, stderr)
	case "predict":
		return algoPredict(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		io.WriteString(stdout, algoUsage)
		return flag.ErrHelp
	}
	return fmt.Errorf("%w: unknown algo command %q\n\n%s", errUsage, args[0], algoUsage)
}

// parseFlags parses args, refuses positional arguments, and checks the required flags are set.
func parseFlags(fs *flag.FlagSet, args []string, required ...string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: unexpected argument %q", errUsage, fs.Name(), fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var missing []string
	for _, r := range required {
		if !set[r] {
			missing = append(missing, "--"+r)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s needs %s (see -h)", errUsage, fs.Name(), strings.Join(missing, ", "))
	}
	return nil
}

// inputFlags are the flags every command that reads algorithm inputs takes; they become
// dataset.Options.
type inputFlags struct {
	format, label, weight string
}

func (f *inputFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.format, "format", "", `input format: csv or libsvm (default: by extension, .libsvm/.svm are libsvm)`)
	fs.StringVar(&f.label, "label", "", "the label column of CSV files with a header (default: headerless, label first)")
	fs.StringVar(&f.weight, "weight", "", "the instance-weight column of CSV files with a header")
}

func (f *inputFlags) options() (dataset.Options, error) {
	switch f.format {
	case "", dataset.FormatCSV, dataset.FormatLibSVM:
	default:
		return dataset.Options{}, fmt.Errorf("%w: --format %q: want csv or libsvm", errUsage, f.format)
	}
	if f.weight != "" && f.label == "" {
		return dataset.Options{}, fmt.Errorf("%w: --weight needs --label (a CSV with a header)", errUsage)
	}
	return dataset.Options{Format: f.format, Header: f.label != "", Label: f.label, Weight: f.weight}, nil
}

// parseSet parses --set values "k=v,k2=v2" (the flag may repeat) into a map.
type setFlag map[string]string

func (s setFlag) String() string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + s[k]
	}
	return strings.Join(parts, ",")
}

func (s setFlag) Set(v string) error {
	for _, kv := range strings.Split(v, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, val, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return fmt.Errorf("%q is not name=value", kv)
		}
		if _, dup := s[k]; dup {
			return fmt.Errorf("hyperparameter %q is set twice", k)
		}
		s[k] = strings.TrimSpace(val)
	}
	return nil
}
