package linear

import (
	"encoding/json"
	"io"
	"math"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/atomicfile"
	"github.com/slipway-ml/slipway/internal/errs"
)

// Format and Version identify a linear model file; a reader refuses other versions.
const (
	Format  = "slipway-linear"
	Version = 1
)

// ModelFile is the model's file name in a model directory (SageMaker's /opt/ml/model).
const ModelFile = "linear-model.json"

// Model is a trained linear model; its JSON form is the model file.
type Model struct {
	Format        string    `json:"format"`
	Version       int       `json:"version"`
	PredictorType string    `json:"predictor_type"`
	Weights       []float64 `json:"weights"`
	Intercept     float64   `json:"intercept"`
	FeatureNames  []string  `json:"feature_names,omitempty"`
	Params        Params    `json:"params"`     // the hyperparameters it was trained with
	Iterations    int       `json:"iterations"` // Newton steps taken (1 for the regressor)
}

// NumFeatures is the number of feature columns the model expects.
func (m *Model) NumFeatures() int { return len(m.Weights) }

// Predict returns one value per row of d: xᵢ·β + b for the regressor, σ(xᵢ·β + b) for the binary
// classifier. d must have NumFeatures columns and no missing values.
func (m *Model) Predict(d *dataset.Dense) ([]float32, error) {
	if d.Cols != len(m.Weights) {
		return nil, errs.E(errs.Invalid, "the input has %d feature columns; the model expects %d", d.Cols, len(m.Weights))
	}
	out := make([]float32, d.Rows)
	for i := range out {
		f := m.Intercept
		for j, v := range d.Row(i) {
			if math.IsNaN(float64(v)) {
				return nil, errs.E(errs.Invalid, "row %d column %d is missing; the linear learner needs complete rows (apply the prep transform)", i+1, j+1)
			}
			f += float64(v) * m.Weights[j]
		}
		if m.PredictorType == BinaryClassifier {
			f = sigmoid(f)
		}
		out[i] = float32(f)
	}
	return out, nil
}

// WriteJSON writes the model as indented JSON.
func (m *Model) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the linear model", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Save writes the model to path atomically: a temporary file in the same directory, synced, then
// renamed over path.
func (m *Model) Save(path string) error {
	return atomicfile.WriteBuffered(path, 0o644, m.WriteJSON)
}

// Load reads a model file.
func Load(path string) (*Model, error) {
	f, err := dataset.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, path)
}

// Read decodes and validates a model; errors are errs.Invalid and name the input.
func Read(r io.Reader, name string) (*Model, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var m Model
	if err := dec.Decode(&m); err != nil {
		return nil, errs.E(errs.Invalid, "%s is not a linear model", name, err)
	}
	switch {
	case m.Format != Format:
		return nil, errs.E(errs.Invalid, "%s: format %q, want %q", name, m.Format, Format)
	case m.Version != Version:
		return nil, errs.E(errs.Invalid, "%s: version %d is not supported (want %d)", name, m.Version, Version)
	case m.PredictorType != Regressor && m.PredictorType != BinaryClassifier:
		return nil, errs.E(errs.Invalid, "%s: predictor_type %q, want %s or %s", name, m.PredictorType, Regressor, BinaryClassifier)
	case len(m.Weights) == 0:
		return nil, errs.E(errs.Invalid, "%s: the model has no weights", name)
	case m.FeatureNames != nil && len(m.FeatureNames) != len(m.Weights):
		return nil, errs.E(errs.Invalid, "%s: %d feature names for %d weights", name, len(m.FeatureNames), len(m.Weights))
	}
	for _, v := range append([]float64{m.Intercept}, m.Weights...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errs.E(errs.Invalid, "%s: the model has a non-finite weight", name)
		}
	}
	return &m, nil
}
