package container

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/algorithms/xgboost"
	"github.com/slipway-ml/slipway/internal/errs"
)

// XGBoostModelFile is the model's name in the model directory, as the SageMaker XGBoost image writes it.
const XGBoostModelFile = "xgboost-model"

// ModelFormat is how an XGBoost image version saves its model.
type ModelFormat string

// Model formats.
const (
	FormatPickle ModelFormat = "pickle" // pickle.dump(booster): images 0.90-x, 1.0-1, 1.2-x (and the older "xgboost:1")
	FormatBinary ModelFormat = "binary" // booster.save_model("xgboost-model"): images 1.3-1 and later
	FormatJSON   ModelFormat = "json"   // XGBoost's JSON model: the slipway/xgboost image, as `slipway algo train xgboost`
)

// ParseModelFormat checks a model format name.
func ParseModelFormat(s string) (ModelFormat, error) {
	switch f := ModelFormat(s); f {
	case FormatPickle, FormatBinary, FormatJSON:
		return f, nil
	}
	return "", errs.E(errs.Invalid, "model format %q: want pickle, binary or json", s)
}

// XGBoostModelFormat returns the format the SageMaker XGBoost image of the given version tag
// ("1.0-1", "1.7-1", "1") writes; "" is the newest image.
func XGBoostModelFormat(version string) (ModelFormat, error) {
	if version == "" {
		return FormatBinary, nil
	}
	if version == "1" || version == "latest" { // the first-generation built-in algorithm
		return FormatPickle, nil
	}
	v, _, _ := strings.Cut(version, "-")
	maj, min, ok := strings.Cut(v, ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if !ok || err1 != nil || err2 != nil {
		return "", errs.E(errs.Invalid, "XGBoost image version %q is not like 1.7-1", version)
	}
	if a == 0 || (a == 1 && b < 3) {
		return FormatPickle, nil
	}
	return FormatBinary, nil
}

// RunXGBoost trains like SageMaker's XGBoost image in algorithm mode (see the package doc) and
// writes the model in the given format (XGBoostModelFormat gives an image version's). The per-round
// log goes to log. On failure it writes output/failure and returns the error.
func RunXGBoost(ctx context.Context, p Paths, format ModelFormat, log io.Writer) error {
	err := runXGBoost(ctx, p, format, log)
	if err != nil {
		if werr := p.WriteFailure(failureText(err)); werr != nil {
			return errors.Join(err, werr)
		}
	}
	return err
}

// failureText is the user-facing reason: the error's message, prefixed like the image's own
// failures.
func failureText(err error) string {
	var e *errs.Error
	if errors.As(err, &e) && (e.Kind == errs.Invalid || e.Kind == errs.NotFound) {
		return "ClientError: " + err.Error()
	}
	return "AlgorithmError: " + err.Error()
}

func runXGBoost(ctx context.Context, p Paths, format ModelFormat, log io.Writer) error {
	if _, err := ParseModelFormat(string(format)); err != nil {
		return err
	}
	hp, err := ReadHyperparameters(filepath.Join(p.InputConfig, "hyperparameters.json"))
	if err != nil {
		return err
	}
	set := map[string]string{}
	for k, v := range hp {
		if strings.HasPrefix(k, "sagemaker_") || k == "_tuning_objective_metric" {
			continue // set by the SageMaker SDK and the tuner, not by the algorithm
		}
		set[k] = v
	}
	if _, ok := set["num_round"]; !ok {
		return errs.E(errs.Invalid, "hyperparameter num_round is required (an integer ≥ 1)")
	}
	params, err := xgboost.ParseParams(set)
	if err != nil {
		return err
	}
	types, err := readContentTypes(filepath.Join(p.InputConfig, "inputdataconfig.json"))
	if err != nil {
		return err
	}
	train, err := readChannel(p, "train", types["train"], true)
	if err != nil {
		return err
	}
	val, err := readChannel(p, "validation", types["validation"], false)
	if err != nil {
		return err
	}
	if val != nil && val.Cols != train.Cols {
		if types["validation"] == dataset.FormatLibSVM || types["validation"] == "" {
			pad(train, max(train.Cols, val.Cols))
			pad(val, train.Cols)
		} else {
			return errs.E(errs.Invalid, "the validation channel has %d feature columns and the train channel %d; they must match", val.Cols, train.Cols)
		}
	}
	if params.CSVWeights {
		for _, d := range []*dataset.Dense{train, val} {
			if d != nil {
				if err := d.WeightsFromFirstColumn(); err != nil {
					return err
				}
			}
		}
	}
	evals := []xgboost.Eval{{Name: "train", Data: train}}
	if val != nil {
		evals = append(evals, xgboost.Eval{Name: "validation", Data: val})
	}
	b, err := xgboost.Train(ctx, params, train, evals, log)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(p.Model, 0o755); err != nil {
		return errs.E(errs.Internal, "cannot create the model directory %s", p.Model, err)
	}
	path := filepath.Join(p.Model, XGBoostModelFile)
	switch format {
	case FormatJSON:
		return b.SaveModel(path)
	case FormatPickle:
		groups := max(b.NumClass(), 1) * max(b.NumParallelTree, 1)
		best := b.NumTrees()/groups - 1
		if s, ok := b.Attributes["best_iteration"]; ok {
			if n, err := strconv.Atoi(s); err == nil {
				best = n
			}
		}
		return b.SavePickle(path, xgboost.PickleState{BestIteration: best, BestNTreeLimit: (best + 1) * max(b.NumParallelTree, 1)})
	}
	return b.SaveLegacy(path)
}

// ReadHyperparameters reads hyperparameters.json: an object of strings (SageMaker writes every value
// as a string; numbers and booleans are taken in their JSON spelling). A missing file is no
// hyperparameters.
func ReadHyperparameters(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, errs.E(errs.Invalid, "cannot read %s", path, err)
	}
	return ParseHyperparameters(data)
}

// ParseHyperparameters parses the contents of hyperparameters.json (see ReadHyperparameters).
func ParseHyperparameters(data []byte) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, errs.E(errs.Invalid, "hyperparameters.json is not a JSON object", err)
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			out[k] = s
			continue
		}
		var n json.Number
		if err := json.Unmarshal(v, &n); err == nil {
			out[k] = n.String()
			continue
		}
		var b bool
		if err := json.Unmarshal(v, &b); err == nil {
			out[k] = strconv.FormatBool(b)
			continue
		}
		return nil, errs.E(errs.Invalid, "hyperparameter %s=%s: want a string", k, v)
	}
	return out, nil
}

// readContentTypes reads each channel's ContentType from inputdataconfig.json as a dataset format.
func readContentTypes(path string) (map[string]string, error) {
	out := map[string]string{}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, errs.E(errs.Invalid, "cannot read %s", path, err)
	}
	var cfg map[string]struct{ ContentType string }
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, errs.E(errs.Invalid, "inputdataconfig.json is not an object of channels", err)
	}
	for ch, c := range cfg {
		f, err := DataFormat(c.ContentType)
		if err != nil {
			return nil, errs.E(errs.Invalid, "channel %s: %v", ch, err)
		}
		out[ch] = f
	}
	return out, nil
}

// DataFormat maps a channel's ContentType to a dataset format: text/csv or csv (parameters such as
// label_size=1 allowed) → csv; libsvm, text/libsvm, text/x-libsvm or none → libsvm, as the image
// defaults.
func DataFormat(contentType string) (string, error) {
	mt, params, _ := strings.Cut(strings.ToLower(strings.TrimSpace(contentType)), ";")
	mt = strings.TrimSpace(mt)
	switch mt {
	case "text/csv", "csv":
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if k == "label_size" && strings.TrimSpace(v) != "1" {
				return "", errs.E(errs.Invalid, "ContentType %q: label_size must be 1", contentType)
			}
		}
		return dataset.FormatCSV, nil
	case "", "libsvm", "text/libsvm", "text/x-libsvm":
		return dataset.FormatLibSVM, nil
	}
	return "", errs.E(errs.Invalid, "ContentType %q is not supported (text/csv or text/libsvm)", contentType)
}

// readChannel reads every file of a channel directory (recursively, in name order, hidden files
// skipped) into one data set; nil when the channel is absent and not required.
func readChannel(p Paths, name, format string, required bool) (*dataset.Dense, error) {
	if format == "" {
		format = dataset.FormatLibSVM
	}
	dir := p.Channel(name)
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && path != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		if required {
			return nil, errs.E(errs.Invalid, "the %s channel is required: the job has no input channel named %s", name, name)
		}
		return nil, nil
	}
	if err != nil {
		return nil, errs.E(errs.Invalid, "cannot read the %s channel", name, err)
	}
	if len(files) == 0 {
		if required {
			return nil, errs.E(errs.Invalid, "the %s channel holds no files", name)
		}
		return nil, nil
	}
	sort.Strings(files)
	var all *dataset.Dense
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		d, err := dataset.ReadFile(f, dataset.Options{Format: format})
		if err != nil {
			return nil, relabel(err, f, name+"/"+rel)
		}
		if all == nil {
			all = d
			continue
		}
		if d.Cols != all.Cols {
			if format != dataset.FormatLibSVM {
				return nil, errs.E(errs.Invalid, "%s/%s has %d feature columns, the channel's first file %d", name, rel, d.Cols, all.Cols)
			}
			n := max(d.Cols, all.Cols)
			pad(all, n)
			pad(d, n)
		}
		all.X = append(all.X, d.X...)
		all.Label = append(all.Label, d.Label...)
		if (all.Weight == nil) != (d.Weight == nil) {
			all.Weight, d.Weight = ones(all.Weight, all.Rows), ones(d.Weight, d.Rows)
		}
		all.Weight = append(all.Weight, d.Weight...)
		all.Rows += d.Rows
	}
	return all, nil
}

// relabel replaces the host path in a data error by the channel-relative name the user knows.
func relabel(err error, path, name string) error {
	var e *errs.Error
	if errors.As(err, &e) {
		return errs.E(e.Kind, "%s", strings.ReplaceAll(err.Error(), path, name))
	}
	return err
}

func ones(w []float32, n int) []float32 {
	if w != nil {
		return w
	}
	w = make([]float32, n)
	for i := range w {
		w[i] = 1
	}
	return w
}

// pad widens d to cols columns with missing values.
func pad(d *dataset.Dense, cols int) {
	if d.Cols >= cols {
		return
	}
	x := make([]float32, 0, d.Rows*cols)
	nan := float32(math.NaN())
	for i := 0; i < d.Rows; i++ {
		x = append(x, d.Row(i)...)
		for j := d.Cols; j < cols; j++ {
			x = append(x, nan)
		}
	}
	d.X, d.Cols = x, cols
}
