package evaluate

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/algorithms/linear"
	"github.com/slipway-ml/slipway/internal/algorithms/xgboost"
	"github.com/slipway-ml/slipway/internal/errs"
)

// Task is what a model predicts, which decides the report.
type Task string

// The tasks.
const (
	TaskRegression Task = "regression"
	TaskBinary     Task = "binary_classification"
	TaskMulticlass Task = "multiclass_classification"
)

// The model file names a model directory holds.
const (
	XGBoostModelFile = "xgboost-model" // SageMaker's XGBoost container writes this name
	LinearModelFile  = linear.ModelFile
)

// Model is a loaded model of either built-in algorithm.
type Model struct {
	Algorithm   string // "xgboost" or "linear"
	Task        Task
	NumClass    int // classes of a multiclass model, else 0
	NumFeatures int

	booster *xgboost.Booster
	linear  *linear.Model
	// margins: binary:logitraw predicts margins, turned into probabilities for the report.
	margins bool
	// argmax: multi:softmax predicts the class index.
	argmax bool
}

// LoadModel loads a model file, telling the algorithms apart by content: a JSON object whose
// "format" is linear.Format is a linear model, anything else is given to xgboost.ReadModel (XGBoost
// models). path may also be a model directory holding xgboost-model or linear-model.json, or a
// gzipped tar archive holding one of them (SageMaker's model.tar.gz).
func LoadModel(path string) (*Model, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		found := ""
		for _, name := range []string{XGBoostModelFile, LinearModelFile} {
			if _, err := os.Stat(filepath.Join(path, name)); err == nil {
				found = filepath.Join(path, name)
				break
			}
		}
		if found == "" {
			return nil, errs.E(errs.NotFound, "model directory %s holds neither %s nor %s", path, XGBoostModelFile, LinearModelFile)
		}
		path = found
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errs.E(errs.NotFound, "%s does not exist", path, err)
		}
		return nil, errs.E(errs.Invalid, "cannot read %s", path, err)
	}
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) { // SageMaker's model.tar.gz
		inner, innerName, err := modelFromTarGz(data, path)
		if err != nil {
			return nil, err
		}
		data, path = inner, innerName
	}
	var probe struct {
		Format string `json:"format"`
	}
	if json.Unmarshal(data, &probe) == nil && probe.Format == linear.Format {
		lm, err := linear.Read(bytes.NewReader(data), path)
		if err != nil {
			return nil, err
		}
		return FromLinear(lm), nil
	}
	b, err := xgboost.ReadModel(bytes.NewReader(data), path)
	if err != nil {
		return nil, err
	}
	return FromBooster(b)
}

// maxModelSize bounds what is read out of a model archive.
const maxModelSize = 1 << 30

// modelFromTarGz returns the model file inside a gzipped tar archive (SageMaker packs a training
// job's /opt/ml/model as model.tar.gz): xgboost-model or linear-model.json, at any depth.
func modelFromTarGz(data []byte, name string) ([]byte, string, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, "", errs.E(errs.Invalid, "%s is not a gzip archive", name, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, "", errs.E(errs.NotFound, "%s holds neither %s nor %s", name, XGBoostModelFile, LinearModelFile)
		}
		if err != nil {
			return nil, "", errs.E(errs.Invalid, "%s is not a valid tar.gz archive", name, err)
		}
		base := filepath.Base(h.Name)
		if h.Typeflag != tar.TypeReg || (base != XGBoostModelFile && base != LinearModelFile) {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxModelSize+1))
		if err != nil {
			return nil, "", errs.E(errs.Invalid, "cannot read %s in %s", h.Name, name, err)
		}
		if len(b) > maxModelSize {
			return nil, "", errs.E(errs.Invalid, "%s in %s is larger than %d bytes", h.Name, name, maxModelSize)
		}
		return b, name + ":" + h.Name, nil
	}
}

// FromLinear wraps a linear model.
func FromLinear(lm *linear.Model) *Model {
	m := &Model{Algorithm: "linear", Task: TaskRegression, NumFeatures: lm.NumFeatures(), linear: lm}
	if lm.PredictorType == linear.BinaryClassifier {
		m.Task = TaskBinary
	}
	return m
}

// FromBooster wraps an XGBoost model; ranking objectives have no report here.
func FromBooster(b *xgboost.Booster) (*Model, error) {
	m := &Model{Algorithm: "xgboost", Task: TaskRegression, NumFeatures: b.NumFeatures(), booster: b}
	switch obj := b.Objective(); obj {
	case "binary:logistic", "binary:hinge":
		m.Task = TaskBinary
	case "binary:logitraw":
		m.Task, m.margins = TaskBinary, true
	case "multi:softprob":
		m.Task, m.NumClass = TaskMulticlass, b.NumClass()
	case "multi:softmax":
		m.Task, m.NumClass, m.argmax = TaskMulticlass, b.NumClass(), true
	case "rank:pairwise", "rank:ndcg", "rank:map":
		return nil, errs.E(errs.Invalid, "objective %s: ranking models cannot be evaluated here", obj)
	}
	return m, nil
}

// OutputsPerRow is the number of values Predict returns per row.
func (m *Model) OutputsPerRow() int {
	if m.booster != nil {
		return m.booster.OutputsPerRow(xgboost.PredictOptions{})
	}
	return 1
}

// Predict returns the model's predictions, row-major, OutputsPerRow per row: values for regression,
// the probability of class 1 for a binary model (the class, 0 or 1, for binary:hinge), class
// probabilities (or, for multi:softmax, the class index) for a multiclass model.
func (m *Model) Predict(d *dataset.Dense) ([]float32, error) {
	if m.linear != nil {
		return m.linear.Predict(d)
	}
	return m.booster.Predict(d, xgboost.PredictOptions{})
}

// Evaluate predicts test, which must be labelled, and computes the report for the model's task.
func Evaluate(m *Model, test *dataset.Dense) (*Report, error) {
	if test.Label == nil {
		return nil, errs.E(errs.Invalid, "the test set has no labels")
	}
	pred, err := m.Predict(test)
	if err != nil {
		return nil, err
	}
	switch m.Task {
	case TaskBinary:
		if m.margins {
			for i, v := range pred {
				pred[i] = float32(1 / (1 + math.Exp(-float64(v))))
			}
		}
		b, err := BinaryMetrics(test.Label, pred)
		if err != nil {
			return nil, err
		}
		return &Report{Binary: b}, nil
	case TaskMulticlass:
		k := m.NumClass
		if m.argmax { // class indexes → one-hot "probabilities"
			probs := make([]float32, len(pred)*k)
			for i, c := range pred {
				if j := int(c); j >= 0 && j < k {
					probs[i*k+j] = 1
				}
			}
			pred = probs
		}
		mc, err := MulticlassMetrics(test.Label, pred, k)
		if err != nil {
			return nil, err
		}
		return &Report{Multiclass: mc}, nil
	}
	r, err := RegressionMetrics(test.Label, pred)
	if err != nil {
		return nil, err
	}
	return &Report{Regression: r}, nil
}
