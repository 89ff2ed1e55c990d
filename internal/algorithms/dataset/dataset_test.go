package dataset

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-ml/slipway/internal/errs"
)

var nan = float32(math.NaN())

func TestRead(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		input string
		opt   Options
		want  *Dense
	}{
		{
			name:  "headerless label first",
			file:  "train.csv",
			input: "1,2,3\n0,,nan\n",
			want:  &Dense{Rows: 2, Cols: 2, X: []float32{2, 3, nan, nan}, Label: []float32{1, 0}},
		},
		{
			name:  "crlf and spaces",
			file:  "train.csv",
			input: "1, 2.5 ,3\r\n0,4,5e1\r\n",
			want:  &Dense{Rows: 2, Cols: 2, X: []float32{2.5, 3, 4, 50}, Label: []float32{1, 0}},
		},
		{
			name:  "no label",
			file:  "in.csv",
			input: "1,2\n3,4\n",
			opt:   Options{NoLabel: true},
			want:  &Dense{Rows: 2, Cols: 2, X: []float32{1, 2, 3, 4}},
		},
		{
			name:  "header with label and weight by name",
			file:  "train.csv",
			input: "a,y,b,w\n1,10,2,0.5\n3,20,,1\n",
			opt:   Options{Header: true, Label: "y", Weight: "w"},
			want: &Dense{Rows: 2, Cols: 2, X: []float32{1, 2, 3, nan}, Label: []float32{10, 20},
				Weight: []float32{0.5, 1}, FeatureNames: []string{"a", "b"}},
		},
		{
			name:  "header label first by default",
			file:  "train.csv",
			input: "y,a\n1,2\n",
			opt:   Options{Header: true},
			want:  &Dense{Rows: 1, Cols: 1, X: []float32{2}, Label: []float32{1}, FeatureNames: []string{"a"}},
		},
		{
			name:  "libsvm by extension",
			file:  "train.libsvm",
			input: "1 0:1.5 2:3 # comment\n\n0 qid:3 1:-1\n",
			want:  &Dense{Rows: 2, Cols: 3, X: []float32{1.5, nan, 3, nan, -1, nan}, Label: []float32{1, 0}},
		},
		{
			name:  "libsvm weights and num cols",
			file:  "x",
			input: "1:2 0:1\n0:0.5 3:4\n",
			opt:   Options{Format: "libsvm", NumCols: 5},
			want: &Dense{Rows: 2, Cols: 5, X: []float32{1, nan, nan, nan, nan, nan, nan, nan, 4, nan},
				Label: []float32{1, 0}, Weight: []float32{2, 0.5}},
		},
		{
			name:  "libsvm unlabelled",
			file:  "x.svm",
			input: "0:1 1:2\n1 1:3\n",
			opt:   Options{NoLabel: true},
			want:  &Dense{Rows: 2, Cols: 2, X: []float32{1, 2, nan, 3}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(strings.NewReader(tt.input), tt.file, tt.opt)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateNaNs()); diff != "" {
				t.Errorf("Read mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		input string
		opt   Options
		want  string
	}{
		{"not a number", "train.csv", "1,2\n3,abc\n", Options{}, `train.csv line 2 column 2: "abc" is not a number`},
		{"ragged", "train.csv", "1,2,3\n3,4\n", Options{}, "train.csv line 2: 2 columns, want 3 like the first line"},
		{"empty", "train.csv", "", Options{}, "train.csv: empty input"},
		{"header only", "train.csv", "y,a\n", Options{Header: true}, "train.csv: no data rows"},
		{"missing label", "train.csv", "1,2\n,3\n", Options{}, "train.csv line 2 column 1: the label is missing"},
		{"label not in header", "t.csv", "a,b\n1,2\n", Options{Header: true, Label: "y"}, `t.csv line 1: no label column "y" in the header`},
		{"label needs header", "t.csv", "1,2\n", Options{Label: "y"}, "t.csv: a label or weight column named by name needs a CSV header"},
		{"negative weight", "t.csv", "y,w,a\n1,-1,2\n", Options{Header: true, Label: "y", Weight: "w"}, `t.csv line 2 column 2: weight "-1" is not a number ≥ 0`},
		{"only label", "t.csv", "1\n2\n", Options{}, "t.csv line 1: no feature columns"},
		{"bad quote", "t.csv", "1,\"2\n", Options{}, "t.csv line 1: extraneous or missing \" in quoted-field"},
		{"libsvm bad pair", "t.libsvm", "1 0:1\n1 2\n", Options{}, `t.libsvm line 2 column 2: "2" is not index:value`},
		{"libsvm bad index", "t.libsvm", "1 x:1\n", Options{}, `t.libsvm line 1 column 2: feature index "x" is not an integer in [0, 16777216)`},
		{"libsvm bad value", "t.libsvm", "1 0:1 1:z\n", Options{}, `t.libsvm line 1 column 3: "z" is not a number`},
		{"libsvm bad label", "t.libsvm", "a 0:1\n", Options{}, `t.libsvm line 1 column 1: label "a" is not a number`},
		{"libsvm index over num cols", "t.libsvm", "1 4:1\n", Options{NumCols: 3}, "t.libsvm line 1 column 2: feature index 4 is not below the 3 features"},
		{"libsvm empty", "t.libsvm", "# nothing\n", Options{}, "t.libsvm: empty input"},
		{"unknown format", "t", "1", Options{Format: "parquet"}, `t: unknown data format "parquet" (want csv or libsvm)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tt.input), tt.file, tt.opt)
			if err == nil {
				t.Fatalf("Read succeeded, want error %q", tt.want)
			}
			if got := errs.Message(err); got != tt.want {
				t.Errorf("error = %q, want %q", got, tt.want)
			}
			if !errs.Is(err, errs.Invalid) {
				t.Errorf("kind = %v, want Invalid", errs.KindOf(err))
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.csv")
	if err := os.WriteFile(path, []byte("1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := ReadFile(path, Options{})
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	if d.Rows != 1 || d.Cols != 1 {
		t.Errorf("got %d×%d, want 1×1", d.Rows, d.Cols)
	}
	_, err = ReadFile(filepath.Join(t.TempDir(), "absent.csv"), Options{})
	if !errs.Is(err, errs.NotFound) {
		t.Errorf("absent file: err = %v, want NotFound", err)
	}
}

func TestWriteCSVRoundTrip(t *testing.T) {
	d := &Dense{Rows: 2, Cols: 3, X: []float32{1.5, nan, -3e-7, 0, 1e30, 2}, Label: []float32{7, 0.1}}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, d); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "7,1.5,,-3e-07\n0.1,0,1e+30,2\n"; got != want {
		t.Errorf("WriteCSV = %q, want %q", got, want)
	}
	back, err := Read(&buf, "x.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d, back, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// checkDense asserts the invariants of a Dense returned by Read.
func checkDense(t *testing.T, d *Dense) {
	t.Helper()
	if d.Rows <= 0 || d.Cols <= 0 || len(d.X) != d.Rows*d.Cols {
		t.Fatalf("shape %d×%d with %d values", d.Rows, d.Cols, len(d.X))
	}
	if d.Label != nil && len(d.Label) != d.Rows {
		t.Fatalf("%d labels for %d rows", len(d.Label), d.Rows)
	}
	for _, v := range d.Label {
		if v != v {
			t.Fatalf("NaN label")
		}
	}
	if d.Weight != nil && len(d.Weight) != d.Rows {
		t.Fatalf("%d weights for %d rows", len(d.Weight), d.Rows)
	}
}

// roundTrip checks that WriteCSV and Read reproduce d.
func roundTrip(t *testing.T, d *Dense) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteCSV(&buf, d); err != nil {
		t.Fatal(err)
	}
	opt := Options{NoLabel: d.Label == nil}
	back, err := Read(&buf, "rt.csv", opt)
	if err != nil {
		t.Fatalf("reading back %q: %v", buf.String(), err)
	}
	want := *d
	want.Weight, want.FeatureNames = nil, nil
	if diff := cmp.Diff(&want, back, cmpopts.EquateNaNs()); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
}

func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{"1,2,3\n4,5,6\n", "y,a,w\n1,2,3\n", "1,,nan\n", "\"1\",2\n", "1,2\n3\n", "a\n", "",
		"1e40,-1e-50,inf\n", "0x1p3,1_0\n"} {
		f.Add(s, false, false)
		f.Add(s, true, false)
		f.Add(s, false, true)
	}
	f.Fuzz(func(t *testing.T, input string, header, noLabel bool) {
		opt := Options{Header: header, NoLabel: noLabel}
		d, err := Read(strings.NewReader(input), "f.csv", opt)
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("error of kind %v: %v", errs.KindOf(err), err)
			}
			return
		}
		checkDense(t, d)
		roundTrip(t, d)
	})
}

func FuzzReadLibSVM(f *testing.F) {
	for _, s := range []string{"1 0:1 2:3\n0 1:2\n", "1:0.5 qid:2 3:1 # c\n", "0:1\n", "1 99:1\n", "x 1:1\n", "1 1:\n", ""} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, input string, noLabel bool) {
		d, err := Read(strings.NewReader(input), "f.libsvm", Options{NoLabel: noLabel})
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("error of kind %v: %v", errs.KindOf(err), err)
			}
			return
		}
		checkDense(t, d)
		if len(d.X) <= 1<<16 { // a huge index makes a huge dense row; the round trip adds nothing there
			roundTrip(t, d)
		}
	})
}
