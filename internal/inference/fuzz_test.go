package inference

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var fuzzSchemas = []schema{
	{features: 3},
	{features: 3, names: map[string]int{"a": 0, "b": 1, "c": 2}},
}

// checkParse holds every parser to its contract: no panic; a refusal is a 400 *Error; an acceptance
// has at least one row of exactly the schema's width.
func checkParse(t *testing.T, f format, body []byte) {
	for _, s := range fuzzSchemas {
		var m matrix
		err := parse(f, body, s, &m)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 || e.Code != CodeValidation || e.Message == "" {
				t.Fatalf("parse(%q) error %#v, want a 400 *Error", body, err)
			}
			continue
		}
		if m.rows < 1 || m.cols != 3 || len(m.x) != m.rows*m.cols {
			t.Fatalf("parse(%q): %d rows × %d cols, %d values", body, m.rows, m.cols, len(m.x))
		}
		if f == formatJSON && !bytes.Contains(body, []byte("NaN")) && !bytes.Contains(body, []byte("Infinity")) && !json.Valid(body) {
			t.Fatalf("parse accepted %q, which is not JSON", body)
		}
	}
}

func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{"1,2,3", "1,,3\r\n4,5,6\n", "\"1\",2,3", "a,b,c", "1,2", "1e40,-1e40,nan", "\n\n1,2,3\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkParse(t, formatCSV, body) })
}

func FuzzParseLibSVM(f *testing.F) {
	for _, s := range []string{"0 0:1 2:3", "1:2 2:3", "0 qid:3 1:1 # c", "0 5:1", "x", "0 -1:2", "0 1:a"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkParse(t, formatLibSVM, body) })
}

var jsonSeeds = []string{
	`{"instances": [[1,2,3],[4,5,6]]}`, `{"instances": [{"features": [1,2,3]}]}`, `{"features": [1,null,3]}`,
	`[[1,2,3]]`, `[1,2,3]`, `{"dataframe_split": {"index": [0], "columns": ["c","a","b"], "data": [[1,2,3]]}}`,
	`{"dataframe_records": [{"a": 1, "b": "2", "c": true}]}`, `{"inputs": {"a": [1,2], "b": [3,4], "c": [5,6]}}`,
	`{"inputs": [[1,2,3]], "params": {"x": [1, {"y": "\u00e9"}]}}`, `{"instances": [[1,2,3]]} x`, `{"a\u0062": 1}`,
	`[NaN, Infinity, -Infinity]`, `{"instances": [[1,[2],3]]}`, `{"dataframe_split": {"data": [[1,2,3]]}}`,
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkParse(t, formatJSON, body) })
}

func FuzzParseJSONLines(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s + "\n[1,2,3]\n"))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkParse(t, formatJSONLines, body) })
}

func FuzzAccept(f *testing.F) {
	for _, s := range []string{"", "*/*", "text/csv;q=0.5, application/json", "application/*;q=x", ",,;", "text/libsvm"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		got, err := acceptFormat(accept, formatCSV)
		var e *Error
		switch {
		case err == nil && (got == formatCSV || got == formatJSON || got == formatJSONLines):
		case errors.As(err, &e) && e.Status == 415 && strings.Contains(e.Message, TypeJSONLines):
		default:
			t.Fatalf("acceptFormat(%q) = %v, %v", accept, got, err)
		}
	})
}

// FuzzV2ToCSV: a refusal is a 400/413 *Error; an acceptance is rectangular CSV of numbers.
func FuzzV2ToCSV(f *testing.F) {
	for _, s := range []string{
		`{"id": "1", "inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [1,2,3,4,5,6]}]}`,
		`{"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [[1,2,3],[4,null,6]]}]}`,
		`{"inputs": [{"name": "a", "shape": [2], "datatype": "INT64", "data": [1,2]}, {"name": "b", "shape": [2,1], "datatype": "BOOL", "data": [true,false]}]}`,
		`{"inputs": [{"name": "x", "shape": [3], "datatype": "FP32", "data": [1,2,3]}]}`,
		`{"inputs": [{"name": "x", "shape": [1, 1], "datatype": "BYTES", "data": ["a"]}]}`,
		`{"inputs": [{"name": "x", "shape": [9999999999, 9999999999], "datatype": "FP32", "data": []}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		csv, _, err := V2ToCSV(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Status != 400 && e.Status != 413) {
				t.Fatalf("V2ToCSV error %#v", err)
			}
			return
		}
		lines := strings.Split(strings.TrimSuffix(string(csv), "\n"), "\n")
		width := strings.Count(lines[0], ",") + 1
		var m matrix
		if err := parse(formatCSV, csv, schema{features: width}, &m); err != nil || m.rows != len(lines) {
			t.Fatalf("V2ToCSV(%q) = %q, which reads back as %d rows: %v", body, csv, m.rows, err)
		}
	})
}

// FuzzCSVToV2: a refusal is a 424 *Error; an acceptance is JSON.
func FuzzCSVToV2(f *testing.F) {
	for _, s := range []string{"1\n2\n", "0.1,0.9\n0.3,0.7\n", "nan\n", "1,2\n3\n", "", "x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, csv []byte) {
		out, err := CSVToV2("m", "id", csv)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 424 {
				t.Fatalf("CSVToV2 error %#v", err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("CSVToV2(%q) = %q, not JSON", csv, out)
		}
	})
}

// FuzzExtractArchive: whatever the archive, nothing is written outside the model directory.
func FuzzExtractArchive(f *testing.F) {
	tb := &testing.T{}
	f.Add(archive(tb, file("xgboost-model", "x"), file("code/a.py", "print(1)")))
	f.Add(archive(tb, entry{hdrLink("l", "sub/x"), ""}, file("sub/x", "y")))
	f.Add(archive(tb, entry{hdrLink("d", "."), ""}, file("d/x", "y")))
	f.Add(archive(tb, file("../x", "y")))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "model")
		_ = extract(bytes.NewReader(data), dir, 1<<20, 64)
		entries, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() != "model" {
				t.Fatalf("%s was written outside the model directory", e.Name())
			}
		}
		filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode()&os.ModeSymlink != 0 {
				target, _ := filepath.EvalSymlinks(p)
				if target != "" && !strings.HasPrefix(target, dir) {
					t.Fatalf("link %s leads to %s, outside", p, target)
				}
			}
			return nil
		})
	})
}
