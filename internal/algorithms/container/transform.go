package container

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/algorithms/evaluate"
	"github.com/slipway-ml/slipway/internal/atomicfile"
	"github.com/slipway-ml/slipway/internal/batch"
	"github.com/slipway-ml/slipway/internal/errs"
)

// EnvTransformParams is the variable through which the jobs engine hands a transform job's data
// settings (batch.Params as JSON: SplitType, BatchStrategy, MaxPayloadInMB, AssembleWith,
// ContentType, Accept, InputFilter, OutputFilter, JoinSource) to `slipway container transform`.
const EnvTransformParams = "SLIPWAY_TRANSFORM_PARAMS"

// Transform is one batch transform over local files.
type Transform struct {
	ModelDir  string // holds xgboost-model (pickle, binary, JSON or UBJSON) or linear-model.json
	InputDir  string // every regular file below it is an input object
	OutputDir string // each input's output goes to OutputDir/<relative path>.out
	Params    batch.Params
}

// RunTransform loads the model and runs the batch data path (package batch) over every input file,
// predicting in-process. Requests are text/csv (features only) or text/libsvm; responses are
// text/csv (one line per row, class probabilities comma-separated), application/json
// ({"predictions": [{"score": …}, …]}) or application/jsonlines ({"score": …} per line). An output
// file appears only whole (written atomically).
func RunTransform(ctx context.Context, t Transform) error {
	m, err := evaluate.LoadModel(t.ModelDir)
	if err != nil {
		return err
	}
	var files []string
	err = filepath.WalkDir(t.InputDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return errs.E(errs.Invalid, "cannot list the transform input", err)
	}
	sort.Strings(files)
	predict := modelPredict(m)
	for _, f := range files {
		rel, _ := filepath.Rel(t.InputDir, f)
		in, err := os.Open(f)
		if err != nil {
			return errs.E(errs.Invalid, "cannot open input %s", rel, err)
		}
		dst := filepath.Join(t.OutputDir, rel+".out")
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			in.Close()
			return errs.E(errs.Internal, "cannot create the output directory", err)
		}
		var out bytes.Buffer
		err = batch.Run(ctx, in, &out, t.Params, predict)
		in.Close()
		if err != nil {
			return errs.E(errs.KindOf(err), "input %s: %v", rel, err)
		}
		if err := atomicfile.Write(dst, out.Bytes(), 0o644); err != nil {
			return errs.E(errs.Internal, "cannot write %s.out", rel, err)
		}
	}
	return nil
}

// modelPredict answers requests with the model, as the XGBoost image's serving stack does.
func modelPredict(m *evaluate.Model) batch.Predict {
	return func(ctx context.Context, payload []byte, contentType, accept string) ([]byte, error) {
		format, err := DataFormat(contentType)
		if err != nil {
			return nil, err
		}
		d, err := dataset.Read(bytes.NewReader(payload), "request", dataset.Options{Format: format, NoLabel: true, NumCols: m.NumFeatures})
		if err != nil {
			return nil, err
		}
		if format == dataset.FormatCSV && d.Cols != m.NumFeatures {
			return nil, errs.E(errs.Invalid, "the request has %d features; the model takes %d", d.Cols, m.NumFeatures)
		}
		pred, err := m.Predict(d)
		if err != nil {
			return nil, err
		}
		k := m.OutputsPerRow()
		var b bytes.Buffer
		mt, _, _ := strings.Cut(strings.ToLower(accept), ";")
		switch strings.TrimSpace(mt) {
		case "", "text/csv", "csv":
			for i := 0; i < d.Rows; i++ {
				for j := 0; j < k; j++ {
					if j > 0 {
						b.WriteByte(',')
					}
					b.WriteString(strconv.FormatFloat(float64(pred[i*k+j]), 'g', -1, 32))
				}
				b.WriteByte('\n')
			}
		case "application/json", "application/jsonlines", "application/x-jsonlines":
			rows := make([]map[string]any, d.Rows)
			for i := range rows {
				if k == 1 {
					rows[i] = map[string]any{"score": pred[i]}
				} else {
					rows[i] = map[string]any{"scores": pred[i*k : (i+1)*k]}
				}
			}
			if strings.Contains(mt, "lines") {
				for _, r := range rows {
					js, _ := json.Marshal(r)
					b.Write(js)
					b.WriteByte('\n')
				}
			} else {
				js, _ := json.Marshal(map[string]any{"predictions": rows})
				b.Write(js)
			}
		default:
			return nil, errs.E(errs.Invalid, "Accept %q is not supported (text/csv, application/json, application/jsonlines)", accept)
		}
		return b.Bytes(), nil
	}
}

// TransformParamsFromEnv decodes EnvTransformParams ("" = the defaults).
func TransformParamsFromEnv(v string) (batch.Params, error) {
	var p batch.Params
	if v == "" {
		return p, nil
	}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, errs.E(errs.Invalid, "%s is not a JSON object of transform settings", EnvTransformParams, err)
	}
	return p, nil
}

// RunTransformJob runs a transform in the container layout: the model in model/, the input files
// under input/data/input/ (the channel the jobs engine stages; else every channel under
// input/data/), the outputs under output/data/. On failure it writes
// output/failure.
func RunTransformJob(ctx context.Context, p Paths, params batch.Params) error {
	// The jobs engine stages a transform job's input as the channel "input"; each object's
	// output is then OUTPUT/<its key under the input prefix>.out, as SageMaker names it.
	in := p.InputData
	if st, err := os.Stat(p.Channel("input")); err == nil && st.IsDir() {
		in = p.Channel("input")
	}
	err := RunTransform(ctx, Transform{ModelDir: p.Model, InputDir: in, OutputDir: p.OutputData, Params: params})
	if err != nil {
		if werr := p.WriteFailure(failureText(err)); werr != nil {
			return errors.Join(err, werr)
		}
	}
	return err
}
