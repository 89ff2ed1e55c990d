package inference

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/algorithms/linear"
	"github.com/slipway-ml/slipway/internal/algorithms/xgboost"
	"github.com/slipway-ml/slipway/internal/errs"
)

// XGBoostModelFile is the file SageMaker's XGBoost containers write into the model directory.
const XGBoostModelFile = "xgboost-model"

// Signature describes what a loaded model takes and returns (for the Open Inference Protocol's model
// metadata and for messages).
type Signature struct {
	Algorithm    string   // "xgboost" or "linear"
	Features     int      // values per input row
	FeatureNames []string // nil when the model has none
	Outputs      int      // values per output row
}

// Runtime is an in-process model: a payload codec in front of a predictor. It implements Model.
type Runtime struct {
	sig     Signature
	sch     schema
	predict func(m *matrix, out []float32) error
	pool    sync.Pool // *scratch
}

var _ Model = (*Runtime)(nil)

// scratch is the per-request working memory, pooled: the parsed rows and the predictions.
type scratch struct {
	m    matrix
	pred []float32
}

// Signature returns what the model takes and returns.
func (r *Runtime) Signature() Signature { return r.sig }

// Close releases nothing: an in-process model holds only memory.
func (r *Runtime) Close() error { return nil }

// LoadDir loads the model in dir, an extracted model.tar.gz: xgboost-model (a pickled Booster, XGBoost's
// binary, JSON or UBJSON format, told apart by content), else linear-model.json (Slipway's linear
// learner), else a single XGBoost model file at the top level under another name (model.json, model.ubj,
// model.bin, ...). Errors are errs.NotFound (no model) or errs.Invalid (a corrupt or unsupported model),
// with a message fit for an endpoint's FailureReason.
func LoadDir(dir string) (Model, error) {
	path := filepath.Join(dir, XGBoostModelFile)
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return loadXGBoost(path)
	}
	path = filepath.Join(dir, linear.ModelFile)
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		m, err := linear.Load(path)
		if err != nil {
			return nil, relabel(err, dir)
		}
		return NewLinear(m), nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errs.E(errs.NotFound, "the model directory does not exist", err)
		}
		return nil, errs.E(errs.Invalid, "cannot read the model directory", err)
	}
	var candidates []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") && modelExts[ext] {
			candidates = append(candidates, e.Name())
		}
	}
	sort.Strings(candidates)
	switch len(candidates) {
	case 1:
		return loadXGBoost(filepath.Join(dir, candidates[0]))
	case 0:
		return nil, errs.E(errs.NotFound, "the model archive holds neither %s nor %s (nor a single .json, .ubj, .bin, .model, .xgb, .bst or .pkl model file)", XGBoostModelFile, linear.ModelFile)
	}
	return nil, errs.E(errs.Invalid, "the model archive holds several model files (%s) and no %s; name the one to serve %s", strings.Join(candidates, ", "), XGBoostModelFile, XGBoostModelFile)
}

// modelExts are the names under which XGBoost users save a single model.
var modelExts = map[string]bool{".json": true, ".ubj": true, ".bin": true, ".model": true, ".xgb": true, ".bst": true, ".pkl": true, ".pickle": true}

// relabel keeps err's kind and message but drops the machine-local directory from it.
func relabel(err error, dir string) error {
	msg := strings.ReplaceAll(errs.Message(err), dir+string(filepath.Separator), "")
	return &errs.Error{Kind: errs.KindOf(err), Msg: msg, Err: err}
}

func loadXGBoost(path string) (Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errs.E(errs.Invalid, "cannot open %s", filepath.Base(path), err)
	}
	defer f.Close()
	b, err := xgboost.ReadModel(f, filepath.Base(path))
	if err != nil {
		return nil, err
	}
	return NewXGBoost(b)
}

// NewXGBoost serves a validated Booster. It predicts what XGBoost 1.7's Booster.predict does (NaN is
// a missing value); rows of 256 and more go through the blocked, parallel predictor.
func NewXGBoost(b *xgboost.Booster) (*Runtime, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	k := b.OutputsPerRow(xgboost.PredictOptions{})
	r := &Runtime{
		sig: Signature{Algorithm: "xgboost", Features: b.NumFeatures(), FeatureNames: b.FeatureNames, Outputs: k},
		predict: func(m *matrix, out []float32) error {
			if m.rows >= parallelRows {
				d := dataset.Dense{Rows: m.rows, Cols: m.cols, X: m.x}
				return b.PredictInto(&d, xgboost.PredictOptions{}, out)
			}
			for i := 0; i < m.rows; i++ {
				b.PredictRow(m.row(i), out[i*k:(i+1)*k])
			}
			return nil
		},
	}
	r.sch = newSchema(r.sig)
	return r, nil
}

// parallelRows is the batch size from which XGBoost models predict with the blocked, parallel predictor.
const parallelRows = 256

// NewLinear serves a linear learner model. A missing value is refused (400): a linear model has no
// default for it.
func NewLinear(lm *linear.Model) *Runtime {
	r := &Runtime{
		sig: Signature{Algorithm: "linear", Features: lm.NumFeatures(), FeatureNames: lm.FeatureNames, Outputs: 1},
		predict: func(m *matrix, out []float32) error {
			for i := 0; i < m.rows; i++ {
				for j, v := range m.row(i) {
					if v != v {
						return validationf("row %d feature %d is missing; the linear model needs every one of its %d features", i+1, j+1, m.cols)
					}
				}
			}
			d := dataset.Dense{Rows: m.rows, Cols: m.cols, X: m.x}
			p, err := lm.Predict(&d)
			if err != nil {
				return err
			}
			copy(out, p)
			return nil
		},
	}
	r.sch = newSchema(r.sig)
	return r
}

func newSchema(sig Signature) schema {
	s := schema{features: sig.Features}
	if len(sig.FeatureNames) == sig.Features && sig.Features > 0 {
		s.names = make(map[string]int, len(sig.FeatureNames))
		for j, n := range sig.FeatureNames {
			s.names[n] = j
		}
	}
	return s
}

// defaultAccept is the response format when Accept names none: CSV for CSV and libsvm requests, the
// request's own format for JSON and JSON Lines.
func defaultAccept(f format) format {
	if f == formatLibSVM {
		return formatCSV
	}
	return f
}

// Invoke decodes the payload, predicts every row and encodes the predictions as Accept asks. Refusals are
// *Error: 413 over MaxPayloadBytes, 415 for an unsupported Content-Type or Accept, 400 for a malformed
// payload (naming the row and the expected feature count), 424 when the model fails.
func (r *Runtime) Invoke(ctx context.Context, req Request) (resp Response, err error) {
	if len(req.Body) > MaxPayloadBytes {
		return Response{}, &Error{Status: 413, Code: CodePayloadTooLarge,
			Message: fmt.Sprintf("the request body is %d bytes; the limit is %d (6 MB)", len(req.Body), MaxPayloadBytes)}
	}
	in, err := contentFormat(req.ContentType)
	if err != nil {
		return Response{}, err
	}
	out, err := acceptFormat(req.Accept, defaultAccept(in))
	if err != nil {
		return Response{}, err
	}
	if err := ctx.Err(); err != nil {
		return Response{}, err
	}
	sc, _ := r.pool.Get().(*scratch)
	if sc == nil {
		sc = new(scratch)
	}
	defer r.pool.Put(sc)
	if err := parse(in, req.Body, r.sch, &sc.m); err != nil {
		return Response{}, err
	}
	n := sc.m.rows * r.sig.Outputs
	if cap(sc.pred) < n {
		sc.pred = make([]float32, n)
	}
	pred := sc.pred[:n]
	if err := r.safePredict(&sc.m, pred); err != nil {
		return Response{}, err
	}
	body := encode(make([]byte, 0, encodedSize(out, sc.m.rows, r.sig.Outputs)), out, pred, sc.m.rows, r.sig.Outputs, sc.m.mlflow)
	return Response{ContentType: out.mediaType(), Body: body}, nil
}

// safePredict runs the predictor; a panic or an unexpected failure is the model's (424), a refusal of the
// input stays a 400.
func (r *Runtime) safePredict(m *matrix, out []float32) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = modelErrorf("the %s model failed: %v", r.sig.Algorithm, p)
		}
	}()
	err = r.predict(m, out)
	var ie *Error
	switch {
	case err == nil, errors.As(err, &ie):
		return err
	case errs.KindOf(err) == errs.Invalid:
		return validationf("%s", errs.Message(err))
	}
	return modelErrorf("the %s model failed: %s", r.sig.Algorithm, errs.Message(err))
}
