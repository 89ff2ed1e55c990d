package inference

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/algorithms/linear"
	"github.com/slipway-ml/slipway/internal/errs"
)

// smallModel is XGBoost's binary:logistic model over features a, b, c (package xgboost's test model).
const smallModel = "../algorithms/xgboost/testdata/small.json"

func loadFile(t testing.TB, src, as string) Model {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, as), data, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	return m
}

func linearModel(t testing.TB, names []string) Model {
	t.Helper()
	lm := &linear.Model{Format: linear.Format, Version: linear.Version, PredictorType: linear.Regressor,
		Weights: []float64{0.5, -2, 4}, Intercept: 1, FeatureNames: names, Params: linear.DefaultParams()}
	dir := t.TempDir()
	if err := lm.Save(filepath.Join(dir, linear.ModelFile)); err != nil {
		t.Fatal(err)
	}
	m, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	return m
}

func TestLinearFormatsAgree(t *testing.T) {
	m := linearModel(t, []string{"x", "y", "z"})
	// 1 + 0.5·2 − 2·1 + 4·0.25 = 1, and 1 + 0.5·(−4) − 2·0 + 4·1 = 3
	want := [][]float64{{1}, {3}}
	rows := [][]float64{{2, 1, 0.25}, {-4, 0, 1}}
	for _, p := range payloads {
		for _, accept := range []string{"", TypeCSV, TypeJSON, TypeJSONLines} {
			resp, err := m.Invoke(context.Background(), Request{ContentType: p.contentType, Accept: accept, Body: p.build(rows, []string{"x", "y", "z"})})
			if err != nil {
				t.Fatalf("%s → %q: %v", p.name, accept, err)
			}
			if d := maxAbsDiff(decodeAnswer(t, resp.ContentType, resp.Body), want); d > 1e-6 {
				t.Errorf("%s → %q: %s differs from %v by %g", p.name, accept, resp.Body, want, d)
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	xgb := loadFile(t, smallModel, XGBoostModelFile)
	lin := linearModel(t, nil)
	big := bytes.Repeat([]byte("1,2,3\n"), MaxPayloadBytes/6+1)
	tests := []struct {
		name        string
		model       Model
		req         Request
		status      int
		code        string
		msgContains []string
	}{
		{"content type", xgb, Request{ContentType: "application/x-recordio-protobuf", Body: []byte("1,2,3")}, 415, CodeUnsupportedMedia,
			[]string{"application/x-recordio-protobuf", "text/csv, text/libsvm, application/json, application/jsonlines"}},
		{"accept", xgb, Request{ContentType: "text/csv", Accept: "application/xml", Body: []byte("1,2,3")}, 415, CodeUnsupportedMedia,
			[]string{"application/xml", "text/csv, application/json, application/jsonlines"}},
		{"accept libsvm", xgb, Request{ContentType: "text/csv", Accept: "text/libsvm", Body: []byte("1,2,3")}, 415, CodeUnsupportedMedia, []string{"Accept"}},
		{"accept q=0", xgb, Request{ContentType: "text/csv", Accept: "text/csv;q=0", Body: []byte("1,2,3")}, 415, CodeUnsupportedMedia, []string{"Accept"}},
		{"too large", xgb, Request{ContentType: "text/csv", Body: big}, 413, CodePayloadTooLarge, []string{"6 MB"}},
		{"empty", xgb, Request{ContentType: "text/csv"}, 400, CodeValidation, []string{"empty", "3 features"}},
		{"blank", xgb, Request{ContentType: "application/json", Body: []byte(" \n\t")}, 400, CodeValidation, []string{"empty"}},
		{"csv too many", xgb, Request{ContentType: "text/csv", Body: []byte("1,2,3\n1,2,3,4\n")}, 400, CodeValidation, []string{"row 2", "4 features", "expects 3"}},
		{"csv too few", xgb, Request{ContentType: "text/csv; charset=utf-8", Body: []byte("1,2\n")}, 400, CodeValidation, []string{"row 1", "2 features", "expects 3"}},
		{"csv non-numeric", xgb, Request{ContentType: "text/csv", Body: []byte("1,2,3\n1,abc,3")}, 400, CodeValidation, []string{"row 2 column 2", `"abc"`, "not a number"}},
		{"csv header", lin, Request{ContentType: "text/csv", Body: []byte("a,b,c\n1,2,3")}, 400, CodeValidation, []string{"row 1 column 1", `"a"`}},
		{"libsvm index", xgb, Request{ContentType: "text/libsvm", Body: []byte("0 0:1 5:2")}, 400, CodeValidation, []string{"row 1", "index 5", "3 features"}},
		{"libsvm value", xgb, Request{ContentType: "text/libsvm", Body: []byte("0 0:1\n0 1:x")}, 400, CodeValidation, []string{"row 2 feature 1", `"x"`}},
		{"libsvm token", xgb, Request{ContentType: "text/libsvm", Body: []byte("0 1:1 oops")}, 400, CodeValidation, []string{"row 1 token 3", "index:value"}},
		{"json count", xgb, Request{ContentType: "application/json", Body: []byte(`{"instances": [[1,2,3],[1,2]]}`)}, 400, CodeValidation, []string{"row 2 has 2 features", "expects 3"}},
		{"json too many", xgb, Request{ContentType: "application/json", Body: []byte(`{"features": [1,2,3,4,5]}`)}, 400, CodeValidation, []string{"row 1 has 5 features", "expects 3"}},
		{"json string", xgb, Request{ContentType: "application/json", Body: []byte(`{"instances": [[1,"two",3]]}`)}, 400, CodeValidation, []string{"row 1 feature 2", `"two"`}},
		{"json nested", xgb, Request{ContentType: "application/json", Body: []byte(`{"instances": [[1,[2],3]]}`)}, 400, CodeValidation, []string{"row 1 feature 2", "nested"}},
		{"json syntax", xgb, Request{ContentType: "application/json", Body: []byte(`{"instances": [[1,2,3]`)}, 400, CodeValidation, []string{"not valid JSON"}},
		{"json trailing", xgb, Request{ContentType: "application/json", Body: []byte(`[1,2,3] x`)}, 400, CodeValidation, []string{"not valid JSON"}},
		{"json shape", xgb, Request{ContentType: "application/json", Body: []byte(`{"rows": [[1,2,3]]}`)}, 400, CodeValidation, []string{"instances", "dataframe_split"}},
		{"json two shapes", xgb, Request{ContentType: "application/json", Body: []byte(`{"instances": [[1,2,3]], "inputs": [[1,2,3]]}`)}, 400, CodeValidation, []string{"both"}},
		{"json no rows", xgb, Request{ContentType: "application/json", Body: []byte(`{"instances": []}`)}, 400, CodeValidation, []string{"no rows"}},
		{"record name", xgb, Request{ContentType: "application/json", Body: []byte(`{"dataframe_records": [{"a": 1, "zz": 2}]}`)}, 400, CodeValidation, []string{`"zz"`, "feature names"}},
		{"split columns", lin, Request{ContentType: "application/json", Body: []byte(`{"dataframe_split": {"columns": ["p", "q"], "data": [[1, 2]]}}`)}, 400, CodeValidation, []string{"2 columns", "expects 3"}},
		{"split row", xgb, Request{ContentType: "application/json", Body: []byte(`{"dataframe_split": {"columns": ["c", "a", "b"], "data": [[1, 2, 3], [1, 2]]}}`)}, 400, CodeValidation, []string{"row 2", "2 values for 3 columns"}},
		{"jsonlines", xgb, Request{ContentType: "application/jsonlines", Body: []byte("[1,2,3]\n[1,2,\n")}, 400, CodeValidation, []string{"not valid JSON"}},
		{"jsonlines count", xgb, Request{ContentType: "application/jsonlines", Body: []byte("[1,2,3]\n{\"features\": [1]}\n")}, 400, CodeValidation, []string{"row 2 has 1 features", "expects 3"}},
		{"linear missing", lin, Request{ContentType: "text/csv", Body: []byte("1,2,3\n1,,3")}, 400, CodeValidation, []string{"row 2 feature 2 is missing"}},
		{"linear null", lin, Request{ContentType: "application/json", Body: []byte(`[1,null,3]`)}, 400, CodeValidation, []string{"row 1 feature 2 is missing"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.model.Invoke(context.Background(), tc.req)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Invoke error = %v, want *Error %d", err, tc.status)
			}
			if e.Status != tc.status || e.Code != tc.code {
				t.Errorf("got %d %s (%s), want %d %s", e.Status, e.Code, e.Message, tc.status, tc.code)
			}
			for _, s := range tc.msgContains {
				if !strings.Contains(e.Message, s) {
					t.Errorf("message %q does not contain %q", e.Message, s)
				}
			}
		})
	}
}

// TestModelError: a predictor that fails or panics is the model's failure, 424 ModelError, with
// the 500 a model server would have answered as its original status.
func TestModelError(t *testing.T) {
	for name, predict := range map[string]func(*matrix, []float32) error{
		"error": func(*matrix, []float32) error { return errs.E(errs.Internal, "the forest is on fire") },
		"panic": func(*matrix, []float32) error { panic("index out of range") },
	} {
		t.Run(name, func(t *testing.T) {
			r := &Runtime{sig: Signature{Algorithm: "xgboost", Features: 1, Outputs: 1}, sch: schema{features: 1}, predict: predict}
			_, err := r.Invoke(context.Background(), Request{Body: []byte("1\n")})
			var e *Error
			if !errors.As(err, &e) || e.Status != 424 || e.Code != CodeModel || e.OriginalStatus != 500 || e.OriginalMessage == "" {
				t.Fatalf("Invoke error = %#v, want 424 ModelError whose original status is 500", err)
			}
		})
	}
}

func TestAcceptNegotiation(t *testing.T) {
	tests := []struct {
		accept string
		def    format
		want   format
	}{
		{"", formatJSON, formatJSON},
		{"*/*", formatCSV, formatCSV},
		{"text/csv", formatJSON, formatCSV},
		{"TEXT/CSV; charset=utf-8", formatJSON, formatCSV},
		{"application/json", formatCSV, formatJSON},
		{"application/x-jsonlines", formatCSV, formatJSONLines},
		{"text/csv;q=0.5, application/json", formatCSV, formatJSON},
		{"application/xml, text/csv;q=0.2", formatJSON, formatCSV},
		{"text/html, */*;q=0.1", formatJSONLines, formatJSONLines},
		{"application/*", formatCSV, formatJSON},
		{"text/*", formatJSON, formatCSV},
		{"application/json;q=0.9, application/jsonlines;q=0.9", formatCSV, formatJSON},
	}
	for _, tc := range tests {
		got, err := acceptFormat(tc.accept, tc.def)
		if err != nil || got != tc.want {
			t.Errorf("acceptFormat(%q, %v) = %v, %v; want %v", tc.accept, tc.def, got, err, tc.want)
		}
	}
}

func TestDefaultAccept(t *testing.T) {
	m := loadFile(t, smallModel, XGBoostModelFile)
	for ct, want := range map[string]string{"": TypeCSV, "text/csv": TypeCSV, "text/libsvm": TypeCSV,
		"application/json": TypeJSON, "application/jsonlines": TypeJSONLines} {
		body := "1,2,3"
		switch ct {
		case "text/libsvm":
			body = "0 0:1 1:2 2:3"
		case "application/json", "application/jsonlines":
			body = "[1,2,3]"
		}
		resp, err := m.Invoke(context.Background(), Request{ContentType: ct, Body: []byte(body)})
		if err != nil || resp.ContentType != want {
			t.Errorf("Content-Type %q without Accept: %q, %v; want %s", ct, resp.ContentType, err, want)
		}
	}
}

func TestLoadDirRefusals(t *testing.T) {
	write := func(files map[string][]byte) string {
		dir := t.TempDir()
		for n, b := range files {
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	marker := filepath.Join(t.TempDir(), "pwned")
	cmd := "touch " + marker
	// pickle protocol 2: GLOBAL posix.system, the command, TUPLE1, REDUCE — os.system(cmd) if executed.
	evil := append([]byte("\x80\x02cposix\nsystem\nX"), binary.LittleEndian.AppendUint32(nil, uint32(len(cmd)))...)
	evil = append(append(evil, cmd...), "\x85R."...)
	small, err := os.ReadFile(smallModel)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files map[string][]byte
		kind  errs.Kind
		msg   string
	}{
		{"empty", nil, errs.NotFound, "neither xgboost-model nor linear-model.json"},
		{"corrupt", map[string][]byte{"xgboost-model": []byte("\x00\x01garbage")}, errs.Invalid, "xgboost-model"},
		{"truncated json", map[string][]byte{"xgboost-model": small[:len(small)/2]}, errs.Invalid, "truncated"},
		{"not a booster pickle", map[string][]byte{"xgboost-model": evil}, errs.Invalid, "xgboost-model"},
		{"bad linear", map[string][]byte{"linear-model.json": []byte(`{"format": "slipway-linear", "version": 9}`)}, errs.Invalid, "version 9"},
		{"two models", map[string][]byte{"a.json": small, "b.json": small}, errs.Invalid, "a.json, b.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := write(tc.files)
			_, err := LoadDir(dir)
			if errs.KindOf(err) != tc.kind || !strings.Contains(errs.Message(err), tc.msg) {
				t.Fatalf("LoadDir = %v (kind %v), want %v containing %q", err, errs.KindOf(err), tc.kind, tc.msg)
			}
			if strings.Contains(errs.Message(err), dir) {
				t.Errorf("message %q shows the local directory", errs.Message(err))
			}
		})
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("loading the pickle ran its code")
	}
	// A single model file under another name is served.
	if _, err := LoadDir(write(map[string][]byte{"model.json": small, "README": []byte("hi")})); err != nil {
		t.Errorf("LoadDir of model.json: %v", err)
	}
}

// TestNoAllocationPerRow: an invocation allocates the same whatever its row count (the pooled scratch
// is reused; only the response body is new), for every payload format.
func TestNoAllocationPerRow(t *testing.T) {
	m := loadFile(t, smallModel, XGBoostModelFile)
	ctx := context.Background()
	rows := func(n int) [][]float64 {
		r := make([][]float64, n)
		for i := range r {
			r[i] = []float64{float64(i) * 0.25, 1.5, -3}
		}
		return r
	}
	for _, p := range payloads {
		allocs := func(n int) float64 {
			req := Request{ContentType: p.contentType, Accept: TypeCSV, Body: p.build(rows(n), []string{"a", "b", "c"})}
			if _, err := m.Invoke(ctx, req); err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			return testing.AllocsPerRun(20, func() { m.Invoke(ctx, req) })
		}
		one, many := allocs(1), allocs(200)
		t.Logf("%s: %v allocations for 1 row, %v for 200", p.name, one, many)
		switch {
		case raceEnabled && many > one+10: // a dropped pooled buffer regrows in a few doublings, not per row
			t.Errorf("%s: %v allocations for 1 row, %v for 200 rows under -race; want at most 10 more", p.name, one, many)
		case !raceEnabled && (many > one || one > 4):
			t.Errorf("%s: %v allocations for 1 row, %v for 200 rows; want the same, at most 4", p.name, one, many)
		}
	}
}

// TestSparseAmplification: a few bytes per row cannot ask for rows × features of a wide model.
func TestSparseAmplification(t *testing.T) {
	s := schema{features: 1 << 22, names: map[string]int{"f": 0}}
	for name, body := range map[format]string{
		formatLibSVM:    strings.Repeat("0\n", 100),
		formatJSONLines: strings.Repeat("{}\n", 100),
		formatJSON:      `{"inputs": {"f": [` + strings.Repeat("1,", 99) + `1]}}`,
	} {
		var m matrix
		err := parse(name, []byte(body), s, &m)
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || !strings.Contains(e.Message, "more than") {
			t.Errorf("%s: parse = %v, want a 400 refusing the size", name.mediaType(), err)
		}
		if len(m.x) > maxCells {
			t.Errorf("%s: %d values allocated", name.mediaType(), len(m.x))
		}
	}
}

func TestV2MetadataAndError(t *testing.T) {
	m := loadFile(t, smallModel, XGBoostModelFile)
	got := string(V2Metadata("churn", "slipway-xgboost", m))
	want := `{"name":"churn","versions":[],"platform":"slipway-xgboost","inputs":[{"name":"input-0","datatype":"FP32","shape":[-1,3]}],"outputs":[{"name":"predict","datatype":"FP32","shape":[-1]}]}`
	if got != want {
		t.Errorf("V2Metadata = %s\nwant %s", got, want)
	}
	_, err := m.Invoke(context.Background(), Request{Body: []byte("1,2")})
	if status, body := V2Error(err); status != 400 || !strings.Contains(string(body), `"error":"text/csv row 1 has 2 features; the model expects 3"`) {
		t.Errorf("V2Error = %d %s", status, body)
	}
	if status, body := V2Error(errors.New("disk on fire at /srv/x")); status != 500 || strings.Contains(string(body), "/srv") {
		t.Errorf("V2Error of an internal error = %d %s", status, body)
	}
}

func TestV2ToCSV(t *testing.T) {
	tests := []struct {
		name, body, csv, msg string
	}{
		{"flat", `{"id":"a","inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,6]}]}`, "1,2,3\n4,5,6\n", ""},
		{"nested with missing", `{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP64","data":[[1.5,null],[3,4]]}]}`, "1.5,\n3,4\n", ""},
		{"columns", `{"inputs":[{"name":"a","shape":[2],"datatype":"INT32","data":[1,2]},{"name":"b","shape":[2,2],"datatype":"BOOL","data":[true,false,false,true]}]}`, "1,1,0\n2,0,1\n", ""},
		{"one row", `{"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[7,8,9]}]}`, "7,8,9\n", ""},
		{"bytes", `{"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["a"]}]}`, "", `datatype "BYTES"`},
		{"count", `{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3]}]}`, "", "has 3 values; its shape [2 3] needs 6"},
		{"rows", `{"inputs":[{"name":"a","shape":[2],"datatype":"FP32","data":[1,2]},{"name":"b","shape":[3],"datatype":"FP32","data":[1,2,3]}]}`, "", `input 1 ("b") has 3 rows; input 0 has 2`},
		{"shape", `{"inputs":[{"name":"x","shape":[1,1,3],"datatype":"FP32","data":[1,2,3]}]}`, "", "shape [1 1 3]"},
		{"huge", `{"inputs":[{"name":"x","shape":[99999999,99999999],"datatype":"FP32","data":[]}]}`, "", "at most"},
		{"string", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":["1"]}]}`, "", "value 1"},
		{"no inputs", `{"id":"a"}`, "", "no inputs"},
		{"not json", `inputs`, "", "not a JSON object"},
		{"empty", ``, "", "empty"},
	}
	for _, tc := range tests {
		csv, _, err := V2ToCSV([]byte(tc.body))
		if tc.msg == "" {
			if err != nil || string(csv) != tc.csv {
				t.Errorf("%s: V2ToCSV = %q, %v; want %q", tc.name, csv, err, tc.csv)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: V2ToCSV error %v, want 400 containing %q", tc.name, err, tc.msg)
		}
	}
	for _, bad := range []string{"1,2\n3\n", "x\n", "", "nan\n"} {
		var e *Error
		if _, err := CSVToV2("m", "", []byte(bad)); !errors.As(err, &e) || e.Status != 424 {
			t.Errorf("CSVToV2(%q) = %v, want 424", bad, err)
		}
	}
}

// TestJSONAnswerShapes: SageMaker's request shapes get SageMaker's answer, MLflow's get MLflow's.
func TestJSONAnswerShapes(t *testing.T) {
	m := linearModel(t, []string{"x", "y", "z"})
	for body, want := range map[string]string{
		`{"instances": [[2, 1, 0.25]]}`: `{"predictions":[{"score":1}]}`,
		`{"features": [2, 1, 0.25]}`:    `{"predictions":[{"score":1}]}`,
		`[[2, 1, 0.25], [-4, 0, 1]]`:    `{"predictions":[{"score":1},{"score":3}]}`,
		`{"dataframe_split": {"columns": ["x","y","z"], "data": [[2, 1, 0.25]]}}`: `{"predictions":[1]}`,
		`{"dataframe_records": [{"z": 1, "y": 0, "x": -4}]}`:                      `{"predictions":[3]}`,
		`{"index": [0], "columns": ["z", "y", "x"], "data": [[1, 0, -4]]}`:        `{"predictions":[3]}`,
		`{"inputs": [[2, 1, 0.25], [-4, 0, 1]]}`:                                  `{"predictions":[1,3]}`,
	} {
		resp, err := m.Invoke(context.Background(), Request{ContentType: TypeJSON, Body: []byte(body)})
		if err != nil || string(resp.Body) != want || resp.ContentType != TypeJSON {
			t.Errorf("%s → %s %s, %v; want %s", body, resp.ContentType, resp.Body, err, want)
		}
	}
}

// TestConcurrentInvoke: invocations of different sizes and formats in parallel share the pooled scratch
// memory without mixing their rows (run with -race).
func TestConcurrentInvoke(t *testing.T) {
	m := loadFile(t, smallModel, XGBoostModelFile)
	ctx := context.Background()
	type call struct {
		req  Request
		want string
	}
	var calls []call
	for n := 1; n <= 300; n += 37 {
		rows := make([][]float64, n)
		for i := range rows {
			rows[i] = []float64{float64(i%7) - 3, float64(n % 5), float64(i) / 10}
		}
		for _, p := range payloads[:4] {
			req := Request{ContentType: p.contentType, Accept: TypeCSV, Body: p.build(rows, nil)}
			resp, err := m.Invoke(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			calls = append(calls, call{req, string(resp.Body)})
		}
	}
	errc := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 60; i++ {
				c := calls[(g*7+i)%len(calls)]
				resp, err := m.Invoke(ctx, c.req)
				if err == nil && string(resp.Body) != c.want {
					err = errors.New("a concurrent invocation answered differently")
				}
				if err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for range 8 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

// TestLargeCSV: a body large enough for the parallel CSV reader predicts what row-by-row invocations do,
// and a bad row deep inside it is named by its number.
func TestLargeCSV(t *testing.T) {
	m := loadFile(t, smallModel, XGBoostModelFile)
	ctx := context.Background()
	var b strings.Builder
	for i := 0; b.Len() < 2*parallelParseBytes; i++ {
		fmtRow(&b, i)
		if i%1000 == 0 {
			b.WriteString("\n") // a blank line is skipped
		}
	}
	body := []byte(b.String())
	resp, err := m.Invoke(ctx, Request{Body: body})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(resp.Body), "\n"), "\n")
	lines := strings.Split(strings.TrimSuffix(strings.ReplaceAll(string(body), "\n\n", "\n"), "\n"), "\n")
	if len(got) != len(lines) {
		t.Fatalf("%d answers for %d rows", len(got), len(lines))
	}
	for _, i := range []int{0, 1, len(lines) / 3, len(lines) / 2, len(lines) - 1} {
		one, err := m.Invoke(ctx, Request{Body: []byte(lines[i])})
		if err != nil || strings.TrimSpace(string(one.Body)) != got[i] {
			t.Errorf("row %d: alone %q (%v), in the batch %q", i+1, one.Body, err, got[i])
		}
	}
	bad := strings.Replace(string(body), lines[len(lines)-5]+"\n", "1,2\n", 1)
	_, err = m.Invoke(ctx, Request{Body: []byte(bad)})
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Message, "row "+strconv.Itoa(len(lines)-4)+" has 2 features") {
		t.Errorf("a short row near the end: %v", err)
	}
}

func fmtRow(b *strings.Builder, i int) {
	b.WriteString(strconv.FormatFloat(float64(i)/7, 'g', -1, 32) + "," + strconv.Itoa(i%5) + ",")
	if i%11 != 0 {
		b.WriteString(strconv.FormatFloat(float64(i%13)-6.5, 'g', -1, 32))
	}
	b.WriteString("\n")
}

func TestSageMakerSparseJSON(t *testing.T) {
	m := linearModel(t, nil)
	ctx := context.Background()
	// 1 + 0.5·2 + 4·0.25 = 3 (feature 1 absent: 0)
	body := `{"instances": [{"data": {"features": {"values": [2, 0.25], "shape": [3], "keys": [0, 2]}}, "label": 1}, {"label": 7, "features": [2, 1, 0.25]}]}`
	resp, err := m.Invoke(ctx, Request{ContentType: TypeJSON, Accept: TypeCSV, Body: []byte(body)})
	if err != nil || string(resp.Body) != "3\n1\n" {
		t.Fatalf("sparse JSON: %q, %v; want 3 and 1", resp.Body, err)
	}
	for body, msg := range map[string]string{
		`{"instances": [{"data": {"features": {"keys": [0], "shape": [4], "values": [1]}}}]}`:    "shape [4]; the model expects 3",
		`{"instances": [{"data": {"features": {"keys": [5], "shape": [3], "values": [1]}}}]}`:    "sparse key",
		`{"instances": [{"data": {"features": {"keys": [0, 1], "shape": [3], "values": [1]}}}]}`: "different numbers",
		`{"instances": [{"data": {"features": {"keys": [0], "values": [1]}}}]}`:                  "needs",
	} {
		_, err := m.Invoke(ctx, Request{ContentType: TypeJSON, Body: []byte(body)})
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || !strings.Contains(e.Message, msg) {
			t.Errorf("%s: %v, want 400 containing %q", body, err, msg)
		}
	}
}
