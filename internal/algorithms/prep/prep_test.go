package prep

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-ml/slipway/internal/errs"
)

const small = `a,b,c,y
1,x,10,5
3,,20,6
,y,,7
4,x,30,8
`

func mustTable(t testing.TB, s string) *Table {
	t.Helper()
	tab, err := ReadTable(strings.NewReader(s), "in.csv")
	if err != nil {
		t.Fatalf("ReadTable: %v", err)
	}
	return tab
}

func TestFitHandComputed(t *testing.T) {
	tab := mustTable(t, small)
	tr, err := Fit(tab, FitOptions{Label: "y", Categorical: []string{"b"}})
	if err != nil {
		t.Fatal(err)
	}
	// a: values 1,3,4 → median 3; imputed 1,3,3,4 → mean 2.75, variance 4.75/4.
	// c: values 10,20,30 → median 20; imputed 10,20,20,30 → mean 20, variance 200/4.
	// b: x twice, y once → most frequent x.
	want := &Transform{
		Format: TransformFormat, Version: TransformVersion,
		InputColumns: []string{"a", "b", "c", "y"}, Label: "y",
		Numeric: []NumericColumn{
			{Name: "a", Median: 3, Mean: 2.75, Scale: math.Sqrt(4.75 / 4)},
			{Name: "c", Median: 20, Mean: 20, Scale: math.Sqrt(50)},
		},
		Categorical:  []CategoricalColumn{{Name: "b", MostFrequent: "x", Categories: []string{"x", "y"}}},
		FeatureNames: []string{"a", "c", "b=x", "b=y"},
	}
	if diff := cmp.Diff(want, tr, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Fatalf("Fit (-want +got):\n%s", diff)
	}
	d, err := tr.Apply(tab)
	if err != nil {
		t.Fatal(err)
	}
	sa, sc := math.Sqrt(4.75/4), math.Sqrt(50)
	wantX := []float64{
		(1 - 2.75) / sa, (10 - 20) / sc, 1, 0,
		(3 - 2.75) / sa, 0, 1, 0, // b missing → x
		(3 - 2.75) / sa, 0, 0, 1, // a, c missing → medians
		(4 - 2.75) / sa, (30 - 20) / sc, 1, 0,
	}
	if diff := cmp.Diff(wantX, f64(d.X), cmpopts.EquateApprox(0, 1e-6)); diff != "" {
		t.Errorf("X (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float64{5, 6, 7, 8}, f64(d.Label)); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
}

func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func TestFitStatistics(t *testing.T) {
	tests := []struct {
		name                string
		cells               []string
		median, mean, scale float64
	}{
		{"odd count", []string{"5", "1", "3"}, 3, 3, math.Sqrt(8.0 / 3)},
		{"even count median averages the middle two", []string{"1", "2", "3", "10"}, 2.5, 4, math.Sqrt((9 + 4 + 1 + 36) / 4.0)},
		{"missing markers", []string{"2", "NA", "nan", "?", "", "4"}, 3, 3, math.Sqrt(2.0 / 6)},
		{"constant column is only centred", []string{"7", "7"}, 7, 7, 1},
		{"negative and exponent", []string{"-1e1", "2.5E0", "0"}, 0, -2.5, math.Sqrt((56.25 + 25 + 6.25) / 3)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := "v,y\n"
			for _, c := range tc.cells {
				s += c + ",1\n"
			}
			tr, err := Fit(mustTable(t, s), FitOptions{Label: "y"})
			if err != nil {
				t.Fatal(err)
			}
			got := tr.Numeric[0]
			want := NumericColumn{Name: "v", Median: tc.median, Mean: tc.mean, Scale: tc.scale}
			if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMostFrequentTieGoesToSmallest(t *testing.T) {
	tr, err := Fit(mustTable(t, "c,y\nb,1\na,1\nb,1\na,1\n,1\n"), FitOptions{Label: "y", Categorical: []string{"c"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Categorical[0].MostFrequent; got != "a" {
		t.Errorf("most frequent = %q, want %q", got, "a")
	}
}

func TestApplyRecords(t *testing.T) {
	tr, err := Fit(mustTable(t, small), FitOptions{Label: "y", Categorical: []string{"b"}})
	if err != nil {
		t.Fatal(err)
	}
	sa, sc := math.Sqrt(4.75/4), math.Sqrt(50)
	tests := []struct {
		name      string
		recs      [][]string
		wantX     []float64
		wantLabel []float64
	}{
		{"with label", [][]string{{"4", "y", "30", "9"}}, []float64{(4 - 2.75) / sa, 10 / sc, 0, 1}, []float64{9}},
		{"without label", [][]string{{"4", "y", "30"}}, []float64{(4 - 2.75) / sa, 10 / sc, 0, 1}, nil},
		{"unknown category is all zeros", [][]string{{"3", "zebra", "20"}}, []float64{0.25 / sa, 0, 0, 0}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tr.ApplyRecords("rows.csv", tc.recs, 1)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantX, f64(d.X), cmpopts.EquateApprox(0, 1e-6)); diff != "" {
				t.Errorf("X (-want +got):\n%s", diff)
			}
			var gotLabel []float64
			if d.Label != nil {
				gotLabel = f64(d.Label)
			}
			if diff := cmp.Diff(tc.wantLabel, gotLabel); diff != "" {
				t.Errorf("label (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLabelClasses(t *testing.T) {
	tab := mustTable(t, "x,y\n1,no\n2,yes\n3,no\n4,maybe\n")
	tr, err := Fit(tab, FitOptions{Label: "y"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"maybe", "no", "yes"}, tr.LabelClasses); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	d, err := tr.Apply(tab)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float64{1, 2, 1, 0}, f64(d.Label)); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	_, err = tr.ApplyRecords("rows.csv", [][]string{{"1", "never"}}, 7)
	if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), `rows.csv line 7 column 2 ("y")`) {
		t.Errorf("unknown class: got %v, want an Invalid error naming rows.csv line 7 column 2", err)
	}
}

func TestErrorsNameFileLineColumn(t *testing.T) {
	tests := []struct {
		name, csv string
		opt       FitOptions
		want      string
	}{
		{"not a number", "a,y\n1,2\nabc,3\n", FitOptions{Label: "y"}, `in.csv line 3 column 1 ("a"): "abc" is not a number`},
		{"infinite", "a,y\ninf,2\n", FitOptions{Label: "y"}, `in.csv line 2 column 1 ("a"): "inf" is not a number`},
		{"missing label", "a,y\n1,\n", FitOptions{Label: "y"}, `in.csv line 2 column 2 ("y"): the label is missing`},
		{"no such label", "a,y\n1,2\n", FitOptions{Label: "z"}, `in.csv has no label column "z"`},
		{"no such categorical", "a,y\n1,2\n", FitOptions{Label: "y", Categorical: []string{"q"}}, `no categorical column "q"`},
		{"label is categorical", "a,y\n1,2\n", FitOptions{Label: "y", Categorical: []string{"y"}}, `is the label`},
		{"all missing", "a,y\n,2\nNA,3\n", FitOptions{Label: "y"}, `in.csv column 1 ("a") has no values`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Fit(mustTable(t, tc.csv), tc.opt)
			if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an Invalid error containing %q", err, tc.want)
			}
		})
	}
}

func TestReadTableErrors(t *testing.T) {
	tests := []struct{ name, csv, want string }{
		{"empty", "", "in.csv is empty"},
		{"header only", "a,b\n", "has a header but no rows"},
		{"ragged", "a,b\n1,2\n3\n", "in.csv line 3: 1 cells, but the header has 2 columns"},
		{"duplicate column", "a,a\n1,2\n", `column name "a" appears in columns 1 and 2`},
		{"empty column name", "a,\n1,2\n", "in.csv line 1 column 2: empty column name"},
		{"bad quote", "a,b\n1,\"2\n", "in.csv line 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadTable(strings.NewReader(tc.csv), "in.csv")
			if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an Invalid error containing %q", err, tc.want)
			}
		})
	}
}

func TestReadTableTrimsAndSkipsBOM(t *testing.T) {
	tab := mustTable(t, "\xef\xbb\xbfa, b\n\n 1 ,2\n")
	if diff := cmp.Diff([]string{"a", "b"}, tab.Header); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{{"1", "2"}}, tab.Rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{3}, tab.Lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		f      Fractions
		strata func(i int) string
		sizes  [3]int
	}{
		{"abalone", 4177, Fractions{0.7, 0.15, 0.15}, nil, [3]int{2924, 627, 626}},
		{"no validation", 10, Fractions{0.8, 0, 0.2}, nil, [3]int{8, 0, 2}},
		{"no test", 10, Fractions{0.75, 0.25, 0}, nil, [3]int{8, 2, 0}},
		{"all train", 3, Fractions{1, 0, 0}, nil, [3]int{3, 0, 0}},
		{"stratified", 100, Fractions{0.6, 0.2, 0.2}, func(i int) string {
			if i%10 == 0 {
				return "rare"
			}
			return "common"
		}, [3]int{60, 20, 20}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var strata []string
			if tc.strata != nil {
				strata = make([]string, tc.n)
				for i := range strata {
					strata[i] = tc.strata(i)
				}
			}
			parts, err := Split(tc.n, tc.f, 42, strata)
			if err != nil {
				t.Fatal(err)
			}
			seen := make([]int, tc.n)
			for p := range parts {
				if got := len(parts[p]); got != tc.sizes[p] {
					t.Errorf("part %d has %d rows, want %d", p, got, tc.sizes[p])
				}
				for _, i := range parts[p] {
					seen[i]++
				}
			}
			for i, c := range seen {
				if c != 1 {
					t.Fatalf("row %d is in %d parts, want 1", i, c)
				}
			}
			again, err := Split(tc.n, tc.f, 42, strata)
			if err != nil {
				t.Fatalf("the second Split: %v", err)
			}
			if diff := cmp.Diff(parts, again); diff != "" {
				t.Errorf("same seed, different split (-first +second):\n%s", diff)
			}
			if strata != nil {
				// 10 rare rows split 6/2/2, 90 common ones 54/18/18.
				for p, want := range []int{6, 2, 2} {
					got := 0
					for _, i := range parts[p] {
						if strata[i] == "rare" {
							got++
						}
					}
					if got != want {
						t.Errorf("part %d has %d rare rows, want %d", p, got, want)
					}
				}
			}
		})
	}
	a, errA := Split(50, Fractions{0.5, 0.25, 0.25}, 1, nil)
	b, errB := Split(50, Fractions{0.5, 0.25, 0.25}, 2, nil)
	if errA != nil || errB != nil {
		t.Fatalf("Split with seeds 1 and 2: %v, %v", errA, errB)
	}
	if cmp.Equal(a, b) {
		t.Errorf("seeds 1 and 2 gave the same split")
	}
	// The seed's split is pinned: a change to the shuffle would silently change every user's splits.
	c, err := Split(8, Fractions{0.5, 0.25, 0.25}, 42, nil)
	if err != nil {
		t.Fatalf("Split of 8 rows: %v", err)
	}
	if diff := cmp.Diff([3][]int{{7, 2, 4, 3}, {5, 0}, {1, 6}}, c); diff != "" {
		t.Errorf("pinned split (-want +got):\n%s", diff)
	}
}

func TestSplitRejectsBadFractions(t *testing.T) {
	for _, f := range []Fractions{{0.5, 0.5, 0.5}, {0, 0.5, 0.5}, {-0.1, 0.6, 0.5}, {math.NaN(), 0, 1}} {
		if _, err := Split(10, f, 1, nil); !errs.Is(err, errs.Invalid) {
			t.Errorf("Split(%v): got %v, want Invalid", f, err)
		}
	}
}

func TestRunAbalone(t *testing.T) {
	tab, err := ReadTableFile("../testdata/abalone.csv")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res, err := Run(tab, Options{Label: "rings", Categorical: []string{"sex"}, Split: Fractions{0.7, 0.15, 0.15}, Seed: 42}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([3]int{2924, 627, 626}, res.Rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	wantNames := []string{"length", "diameter", "height", "whole weight", "shucked weight", "viscera weight", "shell weight", "sex=F", "sex=I", "sex=M"}
	if diff := cmp.Diff(wantNames, res.Transform.FeatureNames); diff != "" {
		t.Errorf("features (-want +got):\n%s", diff)
	}
	train, err := os.ReadFile(filepath.Join(dir, TrainFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(train)), "\n")
	if len(lines) != 2924 || strings.Count(lines[0], ",") != 10 {
		t.Fatalf("train.csv: %d lines, first %q; want 2924 lines of 11 cells", len(lines), lines[0])
	}
	// A second run gives identical bytes.
	dir2 := t.TempDir()
	if _, err := Run(tab, Options{Label: "rings", Categorical: []string{"sex"}, Split: Fractions{0.7, 0.15, 0.15}, Seed: 42}, dir2); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{TrainFile, ValidationFile, TestFile, TransformFile} {
		a, _ := os.ReadFile(filepath.Join(dir, f))
		b, _ := os.ReadFile(filepath.Join(dir2, f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs with the same seed", f)
		}
	}
	// transform.json read back applies exactly as the fitted transform.
	tr, err := LoadTransform(filepath.Join(dir, TransformFile))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(res.Transform, tr); diff != "" {
		t.Errorf("loaded transform (-fitted +loaded):\n%s", diff)
	}
}

// TestMatchesScikitLearn fits SimpleImputer(median)+StandardScaler and OneHotEncoder on the same
// rows with scikit-learn and compares the transformed matrices.
func TestMatchesScikitLearn(t *testing.T) {
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Fatalf("%s is needed (Debian's python3 with python3-sklearn): %v", py, err)
	}
	// Abalone's first rows with holes punched in them.
	src := `sex,length,diameter,height,rings
M,0.455,0.365,0.095,15
M,,0.265,0.09,7
F,0.53,0.42,,9
,0.44,0.365,0.125,10
I,0.33,,0.08,7
I,0.425,0.3,0.095,8
F,0.53,0.415,0.15,20
F,0.545,0.425,0.125,16
`
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
import json, sys
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
df = pd.read_csv(sys.argv[1])
num = ["length", "diameter", "height"]
ct = ColumnTransformer([
    ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num),
    ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), ["sex"]),
], sparse_threshold=0)
x = ct.fit_transform(df)
print(json.dumps(x.tolist()))
`
	cmd := exec.Command(py, "-c", script, path)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scikit-learn reference: %v", err)
	}
	var want [][]float64
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	tab := mustTable(t, src)
	tr, err := Fit(tab, FitOptions{Label: "rings", Categorical: []string{"sex"}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := tr.Apply(tab)
	if err != nil {
		t.Fatal(err)
	}
	got := make([][]float64, d.Rows)
	for i := range got {
		got[i] = f64(d.Row(i))
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-6)); diff != "" {
		t.Errorf("(-sklearn +prep):\n%s", diff)
	}
}

func TestReadTransformRejects(t *testing.T) {
	tab := mustTable(t, small)
	tr, err := Fit(tab, FitOptions{Label: "y", Categorical: []string{"b"}})
	if err != nil {
		t.Fatal(err)
	}
	var good bytes.Buffer
	if err := tr.WriteJSON(&good); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, from, to, want string }{
		{"version", `"version": 1`, `"version": 2`, "version 2 is not supported"},
		{"format", `"format": "slipway-prep-transform"`, `"format": "x"`, `format is "x"`},
		{"unknown field", `"version": 1`, `"version": 1, "extra": true`, "not a prep transform"},
		{"zero scale", `"scale": 7.0710678118654755`, `"scale": 0`, "scale <= 0"},
		{"unsorted categories", `"x",
        "y"`, `"y",
        "x"`, "sorted"},
		{"feature names", `"b=y"`, `"b=z"`, "feature_names"},
		{"label not an input", `"label": "y"`, `"label": "q"`, "not an input column"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := good.String()
			if !strings.Contains(s, tc.from) {
				t.Fatalf("test bug: %q not in\n%s", tc.from, s)
			}
			s = strings.Replace(s, tc.from, tc.to, 1)
			_, err := ReadTransform(strings.NewReader(s), "transform.json")
			if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "transform.json") {
				t.Errorf("got %v, want an Invalid error naming transform.json containing %q", err, tc.want)
			}
		})
	}
}

func FuzzReadTable(f *testing.F) {
	for _, s := range []string{small, "a\n1\n", "a,b\n\"x,y\",2\n", "a,b\n1\n", "\xef\xbb\xbfa\n\"\n", ",\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tab, err := ReadTable(strings.NewReader(s), "fuzz.csv")
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("error of kind %v: %v", errs.KindOf(err), err)
			}
			return
		}
		if len(tab.Rows) == 0 || len(tab.Rows) != len(tab.Lines) {
			t.Fatalf("%d rows, %d lines", len(tab.Rows), len(tab.Lines))
		}
		for _, r := range tab.Rows {
			if len(r) != len(tab.Header) {
				t.Fatalf("row of %d cells, header of %d", len(r), len(tab.Header))
			}
		}
		// Fitting with the last column as the label either works or fails as Invalid.
		tr, err := Fit(tab, FitOptions{Label: tab.Header[len(tab.Header)-1]})
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("Fit error of kind %v: %v", errs.KindOf(err), err)
			}
			return
		}
		if _, err := tr.Apply(tab); err != nil {
			t.Fatalf("Apply on the fitted table: %v", err)
		}
	})
}

func FuzzReadTransform(f *testing.F) {
	tr, err := Fit(mustTable(f, small), FitOptions{Label: "y", Categorical: []string{"b"}})
	if err != nil {
		f.Fatal(err)
	}
	var b bytes.Buffer
	if err := tr.WriteJSON(&b); err != nil {
		f.Fatal(err)
	}
	f.Add(b.String(), "1,x,10")
	f.Add(`{"format":"slipway-prep-transform","version":1,"input_columns":["y"],"label":"y","numeric":null,"categorical":null,"feature_names":null}`, "")
	f.Add(`{"format":"slipway-prep-transform","version":1}`, "a")
	f.Add(`[]`, "")
	f.Fuzz(func(t *testing.T, js, row string) {
		tr, err := ReadTransform(strings.NewReader(js), "fuzz.json")
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("error of kind %v: %v", errs.KindOf(err), err)
			}
			return
		}
		var out bytes.Buffer
		if err := tr.WriteJSON(&out); err != nil {
			t.Fatal(err)
		}
		again, err := ReadTransform(&out, "again.json")
		if err != nil {
			t.Fatalf("a transform that loaded does not load after writing: %v", err)
		}
		if diff := cmp.Diff(tr, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		if _, err := tr.ApplyCSV(strings.NewReader(row), "raw.csv"); err != nil && !errs.Is(err, errs.Invalid) {
			t.Fatalf("ApplyCSV error of kind %v: %v", errs.KindOf(err), err)
		}
		d, err := tr.ApplyRecords("row.csv", [][]string{strings.Split(row, ",")}, 1)
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("ApplyRecords error of kind %v: %v", errs.KindOf(err), err)
			}
			return
		}
		if d.Cols != tr.NumFeatures() || len(d.X) != d.Rows*d.Cols {
			t.Fatalf("dense %dx%d with %d values, want %d columns", d.Rows, d.Cols, len(d.X), tr.NumFeatures())
		}
	})
}

func TestApplyCSV(t *testing.T) {
	tr, err := Fit(mustTable(t, small), FitOptions{Label: "y", Categorical: []string{"b"}})
	if err != nil {
		t.Fatal(err)
	}
	sa, sc := math.Sqrt(4.75/4), math.Sqrt(50)
	row := []float64{(4 - 2.75) / sa, 10 / sc, 0, 1}
	tests := []struct {
		name, csv string
		labelled  bool
	}{
		{"header in another order, no label", "c,b,a\n30,y,4\n", false},
		{"header with label", "y,a,b,c\n9,4,y,30\n", true},
		{"headerless without label", "4,y,30\n", false},
		{"headerless with label", "\n4,y,30,9\n", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tr.ApplyCSV(strings.NewReader(tc.csv), "raw.csv")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(row, f64(d.X), cmpopts.EquateApprox(0, 1e-6)); diff != "" {
				t.Errorf("X (-want +got):\n%s", diff)
			}
			if got := d.Label != nil; got != tc.labelled {
				t.Errorf("labelled = %v, want %v", got, tc.labelled)
			}
		})
	}
	_, err = tr.ApplyCSV(strings.NewReader("a,b,c\n1,x,2\n\n1,x,zz\n"), "raw.csv")
	if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), `raw.csv line 4 column 3 ("c"): "zz" is not a number`) {
		t.Errorf("got %v, want an error naming raw.csv line 4 column 3", err)
	}
}

// TestStratifiedSplitKeepsTotalsAndProportions: with many small strata the totals stay those of the
// unstratified split, and each stratum's share of every part is within one row of its proportion.
func TestStratifiedSplitKeepsTotalsAndProportions(t *testing.T) {
	for _, n := range []int{50, 301, 4177} {
		strata := make([]string, n)
		size := map[string]int{}
		for i := range strata {
			strata[i] = strconv.Itoa((i * i) % 23) // 23 strata of uneven sizes
			size[strata[i]]++
		}
		f := Fractions{0.7, 0.15, 0.15}
		parts, err := Split(n, f, 3, strata)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := Split(n, f, 3, nil)
		if err != nil {
			t.Fatalf("unstratified Split of %d rows: %v", n, err)
		}
		for p := range parts {
			if len(parts[p]) != len(plain[p]) {
				t.Errorf("n=%d part %d: %d rows stratified, %d plain; want equal", n, p, len(parts[p]), len(plain[p]))
			}
			count := map[string]int{}
			for _, i := range parts[p] {
				count[strata[i]]++
			}
			for k, m := range size {
				if want := float64(m) * f[p]; math.Abs(float64(count[k])-want) > 1.0001 {
					t.Errorf("n=%d part %d stratum %s: %d of %d rows, want %.2f ± 1", n, p, k, count[k], m, want)
				}
			}
		}
	}
}
