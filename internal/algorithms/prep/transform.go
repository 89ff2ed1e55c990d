package prep

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/atomicfile"
	"github.com/slipway-ml/slipway/internal/errs"
)

// TransformFormat and TransformVersion identify transform.json; a reader refuses other versions.
const (
	TransformFormat  = "slipway-prep-transform"
	TransformVersion = 1
)

// Transform is a fitted preprocessing transform; its JSON form is transform.json.
type Transform struct {
	Format  string `json:"format"`  // TransformFormat
	Version int    `json:"version"` // TransformVersion
	// InputColumns are the raw columns in input order, the label included.
	InputColumns []string `json:"input_columns"`
	Label        string   `json:"label"`
	// LabelClasses, when set, encodes a non-numeric label: class LabelClasses[i] becomes i.
	LabelClasses []string            `json:"label_classes,omitempty"`
	Numeric      []NumericColumn     `json:"numeric"`
	Categorical  []CategoricalColumn `json:"categorical"`
	// FeatureNames are the output feature columns (after the label), e.g. "length", "sex=F".
	FeatureNames []string `json:"feature_names"`
}

// NumericColumn is a fitted numeric column: x → (impute(x) - Mean) / Scale.
type NumericColumn struct {
	Name   string  `json:"name"`
	Median float64 `json:"median"` // replaces a missing cell
	Mean   float64 `json:"mean"`
	// Scale is the population standard deviation of the imputed column, or 1 when that is 0.
	Scale float64 `json:"scale"`
}

// CategoricalColumn is a fitted categorical column, one-hot encoded over Categories.
type CategoricalColumn struct {
	Name         string   `json:"name"`
	MostFrequent string   `json:"most_frequent"` // replaces a missing cell
	Categories   []string `json:"categories"`    // sorted; unknown categories encode as all zeros
}

// FitOptions says what to fit.
type FitOptions struct {
	Label       string   // the label column (required)
	Categorical []string // columns to one-hot encode; every other column must be numeric
	// Rows are the indexes of the table rows the statistics are computed on; nil means all rows.
	// Label classes are always gathered from every row, so every row can be encoded.
	Rows []int
}

// Fit fits a transform on t.
func Fit(t *Table, opt FitOptions) (*Transform, error) {
	label := t.Column(opt.Label)
	if opt.Label == "" {
		return nil, errs.E(errs.Invalid, "no label column named: name one of %q", t.Header)
	}
	if label < 0 {
		return nil, errs.E(errs.Invalid, "%s has no label column %q: its columns are %q", t.Name, opt.Label, t.Header)
	}
	isCat := make(map[int]bool)
	for _, c := range opt.Categorical {
		i := t.Column(c)
		switch {
		case i < 0:
			return nil, errs.E(errs.Invalid, "%s has no categorical column %q: its columns are %q", t.Name, c, t.Header)
		case i == label:
			return nil, errs.E(errs.Invalid, "column %q is the label; it cannot also be categorical", c)
		}
		isCat[i] = true
	}
	rows := opt.Rows
	if rows == nil {
		rows = make([]int, len(t.Rows))
		for i := range rows {
			rows[i] = i
		}
	}
	if len(rows) == 0 {
		return nil, errs.E(errs.Invalid, "no rows to fit the transform on")
	}
	tr := &Transform{Format: TransformFormat, Version: TransformVersion, InputColumns: slices.Clone(t.Header), Label: opt.Label}
	classes, err := labelClasses(t, label)
	if err != nil {
		return nil, err
	}
	tr.LabelClasses = classes
	for j, name := range t.Header {
		if j == label || isCat[j] {
			continue
		}
		c, err := fitNumeric(t, j, rows)
		if err != nil {
			return nil, err
		}
		tr.Numeric = append(tr.Numeric, c)
		tr.FeatureNames = append(tr.FeatureNames, name)
	}
	for j, name := range t.Header {
		if !isCat[j] {
			continue
		}
		c, err := fitCategorical(t, j, rows)
		if err != nil {
			return nil, err
		}
		tr.Categorical = append(tr.Categorical, c)
		for _, v := range c.Categories {
			tr.FeatureNames = append(tr.FeatureNames, name+"="+v)
		}
	}
	return tr, nil
}

// labelClasses returns nil for a numeric label, else the sorted distinct classes.
func labelClasses(t *Table, label int) ([]string, error) {
	numeric := true
	set := make(map[string]bool)
	for i, r := range t.Rows {
		v := r[label]
		if isMissing(v) {
			return nil, cellError(t.Name, t.Lines[i], label, t.Header[label], "the label is missing")
		}
		if _, err := parseNumber(v); err != nil {
			numeric = false
		}
		set[v] = true
	}
	if numeric {
		return nil, nil
	}
	classes := make([]string, 0, len(set))
	for v := range set {
		classes = append(classes, v)
	}
	sort.Strings(classes)
	return classes, nil
}

func parseNumber(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, errors.New("not finite")
	}
	return v, nil
}

func fitNumeric(t *Table, j int, rows []int) (NumericColumn, error) {
	name := t.Header[j]
	vals := make([]float64, 0, len(rows))
	for _, i := range rows {
		s := t.Rows[i][j]
		if isMissing(s) {
			continue
		}
		v, err := parseNumber(s)
		if err != nil {
			return NumericColumn{}, cellError(t.Name, t.Lines[i], j, name, "%q is not a number (name the column as categorical if it is one)", s)
		}
		vals = append(vals, v)
	}
	if len(vals) == 0 {
		return NumericColumn{}, errs.E(errs.Invalid, "%s column %d (%q) has no values in the rows the transform is fitted on", t.Name, j+1, name)
	}
	missing := len(rows) - len(vals)
	sum := 0.0
	for _, v := range vals {
		sum += v
	}
	sort.Float64s(vals)
	median := vals[len(vals)/2]
	if len(vals)%2 == 0 {
		median = (vals[len(vals)/2-1] + vals[len(vals)/2]) / 2
	}
	n := float64(len(rows))
	mean := (sum + float64(missing)*median) / n
	ss := float64(missing) * (median - mean) * (median - mean)
	for _, v := range vals {
		ss += (v - mean) * (v - mean)
	}
	scale := math.Sqrt(ss / n)
	if scale == 0 || math.IsNaN(scale) {
		scale = 1
	}
	return NumericColumn{Name: name, Median: median, Mean: mean, Scale: scale}, nil
}

func fitCategorical(t *Table, j int, rows []int) (CategoricalColumn, error) {
	counts := make(map[string]int)
	for _, i := range rows {
		if s := t.Rows[i][j]; !isMissing(s) {
			counts[s]++
		}
	}
	if len(counts) == 0 {
		return CategoricalColumn{}, errs.E(errs.Invalid, "%s column %d (%q) has no values in the rows the transform is fitted on", t.Name, j+1, t.Header[j])
	}
	cats := make([]string, 0, len(counts))
	for v := range counts {
		cats = append(cats, v)
	}
	sort.Strings(cats)
	most := cats[0]
	for _, v := range cats {
		if counts[v] > counts[most] {
			most = v
		}
	}
	return CategoricalColumn{Name: t.Header[j], MostFrequent: most, Categories: cats}, nil
}

// NumFeatures is the number of output feature columns.
func (tr *Transform) NumFeatures() int { return len(tr.FeatureNames) }

// Apply transforms a table whose header names the transform's input columns (in any order; extra
// columns are ignored). When the label column is present the result is labelled.
func (tr *Transform) Apply(t *Table) (*dataset.Dense, error) {
	idx := make(map[string]int, len(t.Header))
	for i, c := range t.Header {
		idx[c] = i
	}
	for _, c := range tr.InputColumns {
		if _, ok := idx[c]; !ok && c != tr.Label {
			return nil, errs.E(errs.Invalid, "%s has no column %q, which the transform needs", t.Name, c)
		}
	}
	return tr.apply(t.Name, t.Rows, t.Lines, idx)
}

// ApplyRecords transforms headerless raw rows whose cells follow InputColumns, either all of them
// (the result is labelled) or all but the label (unlabelled, the inference case). The first line is
// firstLine, for error messages.
func (tr *Transform) ApplyRecords(name string, recs [][]string, firstLine int) (*dataset.Dense, error) {
	lines := make([]int, len(recs))
	for i := range lines {
		lines[i] = firstLine + i
	}
	return tr.applyRecords(name, recs, lines)
}

func (tr *Transform) applyRecords(name string, recs [][]string, lines []int) (*dataset.Dense, error) {
	idx := make(map[string]int, len(tr.InputColumns))
	withLabel := len(tr.InputColumns)
	k := 0
	for _, c := range tr.InputColumns {
		if c == tr.Label && len(recs) > 0 && len(recs[0]) == withLabel-1 {
			continue
		}
		idx[c] = k
		k++
	}
	for i, r := range recs {
		if len(r) != k {
			return nil, errs.E(errs.Invalid, "%s line %d: %d cells, want %d (the input columns %q, the label %q optional)",
				name, lines[i], len(r), k, tr.InputColumns, tr.Label)
		}
	}
	return tr.apply(name, recs, lines, idx)
}

func (tr *Transform) apply(name string, rows [][]string, lines []int, idx map[string]int) (*dataset.Dense, error) {
	cols := tr.NumFeatures()
	d := &dataset.Dense{Rows: len(rows), Cols: cols, X: make([]float32, len(rows)*cols), FeatureNames: slices.Clone(tr.FeatureNames)}
	labelCol, labelled := idx[tr.Label]
	if labelled {
		d.Label = make([]float32, len(rows))
	}
	num := make([]int, len(tr.Numeric))
	for k, c := range tr.Numeric {
		num[k] = idx[c.Name]
	}
	cat := make([]int, len(tr.Categorical))
	for k, c := range tr.Categorical {
		cat[k] = idx[c.Name]
	}
	for i, r := range rows {
		if labelled {
			v, err := tr.encodeLabel(r[labelCol])
			if err != nil {
				return nil, cellError(name, lines[i], labelCol, tr.Label, "%v", err)
			}
			d.Label[i] = float32(v)
		}
		x := d.X[i*cols : (i+1)*cols]
		o := 0
		for k, c := range tr.Numeric {
			s := r[num[k]]
			v := c.Median
			if !isMissing(s) {
				var err error
				if v, err = parseNumber(s); err != nil {
					return nil, cellError(name, lines[i], num[k], c.Name, "%q is not a number", s)
				}
			}
			x[o] = float32((v - c.Mean) / c.Scale)
			o++
		}
		for k, c := range tr.Categorical {
			s := r[cat[k]]
			if isMissing(s) {
				s = c.MostFrequent
			}
			if j, ok := slices.BinarySearch(c.Categories, s); ok {
				x[o+j] = 1
			}
			o += len(c.Categories)
		}
	}
	return d, nil
}

func (tr *Transform) encodeLabel(s string) (float64, error) {
	if isMissing(s) {
		return 0, errors.New("the label is missing")
	}
	if tr.LabelClasses == nil {
		v, err := parseNumber(s)
		if err != nil {
			return 0, errors.New(strconv.Quote(s) + " is not a number")
		}
		return v, nil
	}
	j, ok := slices.BinarySearch(tr.LabelClasses, s)
	if !ok {
		return 0, errors.New(strconv.Quote(s) + " is not one of the label classes seen in fitting")
	}
	return float64(j), nil
}

// WriteJSON writes the transform as indented JSON.
func (tr *Transform) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(tr, "", "  ")
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the transform", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Save writes the transform to path atomically (a temporary file in the same directory, synced,
// then renamed).
func (tr *Transform) Save(path string) error {
	var b bytes.Buffer
	if err := tr.WriteJSON(&b); err != nil {
		return err
	}
	return atomicfile.Write(path, b.Bytes(), 0o644)
}

// LoadTransform reads a transform.json file.
func LoadTransform(path string) (*Transform, error) {
	f, err := dataset.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadTransform(f, path)
}

// ReadTransform decodes and validates a transform; errors are errs.Invalid and name the file.
func ReadTransform(r io.Reader, name string) (*Transform, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var tr Transform
	if err := dec.Decode(&tr); err != nil {
		return nil, errs.E(errs.Invalid, "%s is not a prep transform", name, err)
	}
	if err := tr.validate(); err != nil {
		return nil, errs.E(errs.Invalid, "%s: %s", name, err.Error())
	}
	return &tr, nil
}

// validate checks what Apply relies on, so a hand-edited or corrupt file fails here, not later.
func (tr *Transform) validate() error {
	if tr.Format != TransformFormat {
		return errors.New("format is " + strconv.Quote(tr.Format) + ", want " + strconv.Quote(TransformFormat))
	}
	if tr.Version != TransformVersion {
		return errors.New("version " + strconv.Itoa(tr.Version) + " is not supported (want " + strconv.Itoa(TransformVersion) + ")")
	}
	in := make(map[string]bool, len(tr.InputColumns))
	for _, c := range tr.InputColumns {
		if c == "" || in[c] {
			return errors.New("input_columns must be non-empty and unique")
		}
		in[c] = true
	}
	if !in[tr.Label] {
		return errors.New("the label " + strconv.Quote(tr.Label) + " is not an input column")
	}
	if tr.LabelClasses != nil && (len(tr.LabelClasses) == 0 || !sortedUnique(tr.LabelClasses)) {
		return errors.New("label_classes must be sorted and unique")
	}
	used := map[string]bool{tr.Label: true}
	use := func(name string) error {
		if !in[name] || used[name] {
			return errors.New("column " + strconv.Quote(name) + " is not an input column or is used twice")
		}
		used[name] = true
		return nil
	}
	var names []string
	for _, c := range tr.Numeric {
		if err := use(c.Name); err != nil {
			return err
		}
		for _, v := range []float64{c.Median, c.Mean, c.Scale} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return errors.New("column " + strconv.Quote(c.Name) + " has a non-finite statistic")
			}
		}
		if c.Scale <= 0 {
			return errors.New("column " + strconv.Quote(c.Name) + " has scale <= 0")
		}
		names = append(names, c.Name)
	}
	for _, c := range tr.Categorical {
		if err := use(c.Name); err != nil {
			return err
		}
		if len(c.Categories) == 0 || !sortedUnique(c.Categories) {
			return errors.New("column " + strconv.Quote(c.Name) + ": categories must be non-empty, sorted and unique")
		}
		for _, v := range c.Categories {
			names = append(names, c.Name+"="+v)
		}
	}
	if len(used) != len(in) {
		return errors.New("every input column must be the label, numeric or categorical")
	}
	if !slices.Equal(names, tr.FeatureNames) {
		return errors.New("feature_names do not match the columns")
	}
	return nil
}

func sortedUnique(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

// ApplyCSV reads raw CSV rows and transforms them: a first line that names the input columns (all
// of them, or all but the label) is a header and columns are then matched by name; otherwise the
// rows are headerless and follow InputColumns, with or without the label (see ApplyRecords).
func (tr *Transform) ApplyCSV(r io.Reader, name string) (*dataset.Dense, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, errs.E(errs.Invalid, "cannot read %s", name, err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	var recs [][]string
	var lines []int
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, errs.E(errs.Invalid, "%s line %d column %d: %v", name, pe.Line, pe.Column, pe.Err)
			}
			return nil, errs.E(errs.Invalid, "cannot read %s", name, err)
		}
		line, _ := cr.FieldPos(0)
		lines = append(lines, line)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		return nil, errs.E(errs.Invalid, "%s has no rows", name)
	}
	if tr.isHeader(recs[0]) {
		t := &Table{Name: name, Header: recs[0], Rows: recs[1:], Lines: lines[1:]}
		if err := checkHeader(name, lines[0], t.Header); err != nil {
			return nil, err
		}
		for i, rec := range t.Rows {
			if len(rec) != len(t.Header) {
				return nil, errs.E(errs.Invalid, "%s line %d: %d cells, but the header has %d columns", name, t.Lines[i], len(rec), len(t.Header))
			}
		}
		return tr.Apply(t)
	}
	return tr.applyRecords(name, recs, lines)
}

// isHeader reports whether rec names the input columns, with or without the label.
func (tr *Transform) isHeader(rec []string) bool {
	want := make([]string, 0, len(tr.InputColumns))
	for _, c := range tr.InputColumns {
		if c != tr.Label {
			want = append(want, c)
		}
	}
	set := func(s []string) map[string]bool {
		m := make(map[string]bool, len(s))
		for _, c := range s {
			m[c] = true
		}
		return m
	}
	got := set(rec)
	return (len(rec) == len(tr.InputColumns) && maps.Equal(got, set(tr.InputColumns))) ||
		(len(rec) == len(want) && maps.Equal(got, set(want)))
}
