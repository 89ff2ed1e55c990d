package inference

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// debianPython is the interpreter with XGBoost 1.7.4 (Debian's python3-xgboost).
const debianPython = "/usr/bin/python3"

const abaloneCSV = "../algorithms/testdata/abalone.csv"

// pyModels runs testdata/xgb_models.py once per test binary and returns its output directory.
func pyModels(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(debianPython); err != nil {
		t.Fatalf("%s (Debian's python3 with python3-xgboost 1.7.4 and python3-pandas) is required: %v", debianPython, err)
	}
	dir := t.TempDir()
	cmd := exec.Command(debianPython, "testdata/xgb_models.py", "models", abaloneCSV, dir)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xgb_models.py: %v\n%s", err, out)
	}
	return dir
}

type pyCase struct {
	Name         string   `json:"name"`
	Outputs      int      `json:"outputs"`
	FeatureNames []string `json:"feature_names"`
}

// readRows reads a headerless CSV of numbers; an empty cell is NaN.
func readRows(t testing.TB, path string) [][]float64 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csvRows(raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func csvRows(raw []byte) ([][]float64, error) {
	var rows [][]float64
	for _, line := range strings.Split(strings.TrimRight(string(raw), "\n"), "\n") {
		var row []float64
		for _, c := range strings.Split(line, ",") {
			if c == "" {
				row = append(row, math.NaN())
				continue
			}
			v, err := strconv.ParseFloat(c, 64)
			if err != nil {
				return nil, fmt.Errorf("%q: %v", line, err)
			}
			row = append(row, v)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// tarGz packs files (name → content) as a model.tar.gz.
func tarGz(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// loadArchive extracts a model.tar.gz holding file as xgboost-model and loads it, as an endpoint does.
func loadArchive(t testing.TB, file string) *Runtime {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ExtractArchive(bytes.NewReader(tarGz(t, map[string][]byte{"xgboost-model": data})), dir); err != nil {
		t.Fatalf("ExtractArchive: %v", err)
	}
	m, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir(%s): %v", filepath.Base(file), err)
	}
	return m.(*Runtime)
}

// payload is one way of sending rows.
type payload struct {
	name        string
	contentType string
	build       func(rows [][]float64, names []string) []byte
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "null"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func jsonRow(row []float64) string {
	s := make([]string, len(row))
	for j, v := range row {
		s[j] = num(v)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// colNames are the names a payload uses for the columns: the model's, or made-up positional ones.
func colNames(names []string, n int) []string {
	if len(names) == n {
		return names
	}
	out := make([]string, n)
	for j := range out {
		out[j] = "c" + strconv.Itoa(j)
	}
	return out
}

// order is the order a named payload lists the columns in: reversed when the model has names (so the
// mapping by name is exercised), positional otherwise.
func order(names []string, n int) []int {
	o := make([]int, n)
	for j := range o {
		o[j] = j
		if len(names) == n {
			o[j] = n - 1 - j
		}
	}
	return o
}

var payloads = []payload{
	{"csv", "text/csv", func(rows [][]float64, _ []string) []byte {
		var b strings.Builder
		for _, r := range rows {
			for j, v := range r {
				if j > 0 {
					b.WriteByte(',')
				}
				if !math.IsNaN(v) {
					b.WriteString(num(v))
				}
			}
			b.WriteString("\r\n")
		}
		return []byte(b.String())
	}},
	{"libsvm", "text/libsvm", func(rows [][]float64, _ []string) []byte {
		var b strings.Builder
		for _, r := range rows {
			b.WriteString("0")
			for j, v := range r {
				if !math.IsNaN(v) {
					fmt.Fprintf(&b, " %d:%s", j, num(v))
				}
			}
			b.WriteByte('\n')
		}
		return []byte(b.String())
	}},
	{"json-instances", "application/json", func(rows [][]float64, _ []string) []byte {
		s := make([]string, len(rows))
		for i, r := range rows {
			s[i] = jsonRow(r)
		}
		return []byte(`{"instances": [` + strings.Join(s, ", ") + `]}`)
	}},
	{"json-instances-features", "application/json", func(rows [][]float64, _ []string) []byte {
		s := make([]string, len(rows))
		for i, r := range rows {
			s[i] = `{"features": ` + jsonRow(r) + `}`
		}
		return []byte(`{"instances": [` + strings.Join(s, ",") + `], "configuration": {"k": [1, {"x": "y"}]}}`)
	}},
	{"json-array", "application/json", func(rows [][]float64, _ []string) []byte {
		s := make([]string, len(rows))
		for i, r := range rows {
			s[i] = jsonRow(r)
		}
		return []byte("[" + strings.Join(s, ",") + "]")
	}},
	{"mlflow-dataframe-split", "application/json", func(rows [][]float64, names []string) []byte {
		n := len(rows[0])
		cn, o := colNames(names, n), order(names, n)
		cols := make([]string, n)
		for p, j := range o {
			cols[p] = strconv.Quote(cn[j])
		}
		data := make([]string, len(rows))
		idx := make([]string, len(rows))
		for i, r := range rows {
			v := make([]float64, n)
			for p, j := range o {
				v[p] = r[j]
			}
			data[i] = jsonRow(v)
			idx[i] = strconv.Itoa(i)
		}
		// "data" before "columns", and pandas' "index", as to_json(orient="split") may write them.
		return []byte(`{"dataframe_split": {"index": [` + strings.Join(idx, ",") + `], "data": [` + strings.Join(data, ",") + `], "columns": [` + strings.Join(cols, ",") + `]}}`)
	}},
	{"mlflow-dataframe-records", "application/json", func(rows [][]float64, names []string) []byte {
		n := len(rows[0])
		cn, o := colNames(names, n), order(names, n)
		recs := make([]string, len(rows))
		for i, r := range rows {
			kv := make([]string, n)
			for p, j := range o {
				kv[p] = strconv.Quote(cn[j]) + ": " + num(r[j])
			}
			recs[i] = "{" + strings.Join(kv, ", ") + "}"
		}
		return []byte(`{"dataframe_records": [` + strings.Join(recs, ",") + `]}`)
	}},
	{"mlflow-instances", "application/json", func(rows [][]float64, _ []string) []byte {
		s := make([]string, len(rows))
		for i, r := range rows {
			s[i] = jsonRow(r)
		}
		return []byte(`{"instances": [` + strings.Join(s, ",") + `], "params": {}}`)
	}},
	{"mlflow-inputs", "application/json", func(rows [][]float64, _ []string) []byte {
		s := make([]string, len(rows))
		for i, r := range rows {
			s[i] = jsonRow(r)
		}
		return []byte(`{"inputs": [` + strings.Join(s, ",") + `]}`)
	}},
	{"mlflow-inputs-columns", "application/json", func(rows [][]float64, names []string) []byte {
		n := len(rows[0])
		cn, o := colNames(names, n), order(names, n)
		cols := make([]string, n)
		for p, j := range o {
			v := make([]float64, len(rows))
			for i, r := range rows {
				v[i] = r[j]
			}
			cols[p] = strconv.Quote(cn[j]) + ": " + jsonRow(v)
		}
		return []byte(`{"inputs": {` + strings.Join(cols, ", ") + `}}`)
	}},
	{"jsonlines", "application/jsonlines", func(rows [][]float64, _ []string) []byte {
		var b strings.Builder
		for i, r := range rows {
			if i%2 == 0 {
				b.WriteString(jsonRow(r) + "\n")
			} else {
				b.WriteString(`{"features": ` + jsonRow(r) + "}\n")
			}
		}
		return []byte(b.String())
	}},
}

// decodeAnswer reads a response body of any Accept type into rows of values.
func decodeAnswer(t testing.TB, contentType string, body []byte) [][]float64 {
	t.Helper()
	type pred struct {
		Score  *float64  `json:"score"`
		Scores []float64 `json:"scores"`
	}
	values := func(p pred) []float64 {
		if p.Score != nil {
			return []float64{*p.Score}
		}
		return p.Scores
	}
	var rows [][]float64
	switch contentType {
	case TypeCSV:
		r, err := csvRows(body)
		if err != nil {
			t.Fatalf("text/csv answer: %v", err)
		}
		rows = r
	case TypeJSON:
		var doc struct{ Predictions []json.RawMessage }
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("application/json answer %.200s: %v", body, err)
		}
		for _, raw := range doc.Predictions {
			var p pred
			var row []float64
			var v float64
			switch {
			case json.Unmarshal(raw, &p) == nil && (p.Score != nil || p.Scores != nil): // SageMaker's shape
				rows = append(rows, values(p))
			case json.Unmarshal(raw, &row) == nil: // MLflow's, several outputs
				rows = append(rows, row)
			case json.Unmarshal(raw, &v) == nil: // MLflow's, one output
				rows = append(rows, []float64{v})
			default:
				t.Fatalf("application/json answer %.200s: prediction %s", body, raw)
			}
		}
	case TypeJSONLines:
		for _, line := range strings.Split(strings.TrimRight(string(body), "\n"), "\n") {
			var p pred
			if err := json.Unmarshal([]byte(line), &p); err != nil {
				t.Fatalf("application/jsonlines answer line %q: %v", line, err)
			}
			rows = append(rows, values(p))
		}
	default:
		t.Fatalf("answer Content-Type %q", contentType)
	}
	return rows
}

// maxAbsDiff is the largest absolute difference, +Inf on a shape mismatch or a lone NaN.
func maxAbsDiff(got, want [][]float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range got {
		if len(got[i]) != len(want[i]) {
			return math.Inf(1)
		}
		for j := range got[i] {
			g, w := got[i][j], want[i][j]
			if math.IsNaN(g) != math.IsNaN(w) {
				return math.Inf(1)
			}
			if !math.IsNaN(g) {
				d = max(d, math.Abs(g-w))
			}
		}
	}
	return d
}

func repeatRows[T any](rows []T, n int) []T {
	var out []T
	for range n {
		out = append(out, rows...)
	}
	return out
}

// TestXGBoostInterop: models the real XGBoost 1.7.4 trained and saved in each of the four forms SageMaker's
// XGBoost containers write (pickled Booster, legacy binary, JSON, UBJSON), packed as model.tar.gz,
// extracted and loaded as an endpoint does, predict what XGBoost predicts (max abs diff ≤ 1e-5) for every
// payload format and every Accept type, for one row at a time and for batches (400 rows take the parallel
// predictor), and through the Open Inference Protocol.
func TestXGBoostInterop(t *testing.T) {
	dir := pyModels(t)
	var cases []pyCase
	raw, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) != 3 {
		t.Fatalf("xgb_models.py listed %d cases, want 3", len(cases))
	}
	x := readRows(t, filepath.Join(dir, "X.csv"))
	const tol = 1e-5
	ctx := context.Background()
	for _, c := range cases {
		want := readRows(t, filepath.Join(dir, c.Name+".pred"))
		for _, ext := range []string{"pkl", "bin", "json", "ubj"} {
			t.Run(c.Name+"/"+ext, func(t *testing.T) {
				m := loadArchive(t, filepath.Join(dir, c.Name+"."+ext))
				sig := m.Signature()
				if sig.Features != len(x[0]) || sig.Outputs != c.Outputs {
					t.Fatalf("Signature() = %+v, want %d features, %d outputs", sig, len(x[0]), c.Outputs)
				}
				names := sig.FeatureNames
				if len(c.FeatureNames) > 0 && ext != "bin" && strings.Join(names, ",") != strings.Join(c.FeatureNames, ",") {
					t.Errorf("feature names %v, want %v", names, c.FeatureNames)
				}
				for _, p := range payloads {
					for _, accept := range []string{TypeCSV, TypeJSON, TypeJSONLines} {
						// A batch of 400 rows (the parallel predictor) and single rows (PredictRow).
						resp, err := m.Invoke(ctx, Request{ContentType: p.contentType, Accept: accept, Body: p.build(repeatRows(x, 2), names)})
						if err != nil {
							t.Fatalf("%s → %s: %v", p.name, accept, err)
						}
						if resp.ContentType != accept {
							t.Errorf("%s → %s: answer Content-Type %q", p.name, accept, resp.ContentType)
						}
						if d := maxAbsDiff(decodeAnswer(t, resp.ContentType, resp.Body), repeatRows(want, 2)); d > tol {
							t.Errorf("%s → %s (400 rows): max abs diff from XGBoost %g > %g", p.name, accept, d, tol)
						}
					}
					for i := 0; i < 8; i++ {
						resp, err := m.Invoke(ctx, Request{ContentType: p.contentType, Body: p.build(x[i:i+1], names)})
						if err != nil {
							t.Fatalf("%s row %d: %v", p.name, i, err)
						}
						if d := maxAbsDiff(decodeAnswer(t, resp.ContentType, resp.Body), want[i:i+1]); d > tol {
							t.Errorf("%s row %d alone: max abs diff from XGBoost %g > %g", p.name, i, d, tol)
						}
					}
				}
				// The Open Inference Protocol: one [rows, features] FP32 tensor in, "predict" out.
				v2got := invokeV2(t, m, x)
				if d := maxAbsDiff(v2got, want); d > tol {
					t.Errorf("V2: max abs diff from XGBoost %g > %g", d, tol)
				}
			})
		}
	}
}

// invokeV2 sends rows as an Open Inference Protocol request and decodes the response.
func invokeV2(t testing.TB, m Model, rows [][]float64) [][]float64 {
	t.Helper()
	flat := make([]string, 0, len(rows)*len(rows[0]))
	for _, r := range rows {
		for _, v := range r {
			flat = append(flat, num(v))
		}
	}
	body := fmt.Sprintf(`{"id": "req-1", "inputs": [{"name": "input-0", "shape": [%d, %d], "datatype": "FP32", "data": [%s]}]}`,
		len(rows), len(rows[0]), strings.Join(flat, ","))
	csv, id, err := V2ToCSV([]byte(body))
	if err != nil {
		t.Fatalf("V2ToCSV: %v", err)
	}
	if id != "req-1" {
		t.Errorf("V2ToCSV id = %q", id)
	}
	resp, err := m.Invoke(context.Background(), Request{ContentType: TypeCSV, Accept: TypeCSV, Body: csv})
	if err != nil {
		t.Fatalf("Invoke of the V2 rows: %v", err)
	}
	out, err := CSVToV2("abalone", id, resp.Body)
	if err != nil {
		t.Fatalf("CSVToV2: %v", err)
	}
	var doc struct {
		ModelName string `json:"model_name"`
		ID        string `json:"id"`
		Outputs   []struct {
			Name     string    `json:"name"`
			Shape    []int     `json:"shape"`
			Datatype string    `json:"datatype"`
			Data     []float64 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("CSVToV2 answer %.200s: %v", out, err)
	}
	if doc.ModelName != "abalone" || doc.ID != "req-1" || len(doc.Outputs) != 1 || doc.Outputs[0].Datatype != "FP32" || doc.Outputs[0].Shape[0] != len(rows) {
		t.Fatalf("CSVToV2 answer %.300s", out)
	}
	o := doc.Outputs[0]
	k := 1
	if len(o.Shape) == 2 {
		k = o.Shape[1]
	}
	var got [][]float64
	for i := 0; i < len(rows); i++ {
		got = append(got, o.Data[i*k:(i+1)*k])
	}
	return got
}
