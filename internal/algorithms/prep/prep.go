package prep

import (
	"bytes"
	"os"
	"path/filepath"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/atomicfile"
	"github.com/slipway-ml/slipway/internal/errs"
)

// Options configure [Run].
type Options struct {
	Label       string    // the label column (required)
	Categorical []string  // columns to one-hot encode
	Split       Fractions // train, validation, test shares
	Seed        uint64
	Stratify    bool // split each label class separately (classification labels)
}

// The files Run writes in its output directory.
const (
	TrainFile      = "train.csv"
	ValidationFile = "validation.csv"
	TestFile       = "test.csv"
	TransformFile  = "transform.json"
)

// Result tells what Run wrote.
type Result struct {
	Transform *Transform
	Rows      [3]int   // rows in train, validation and test
	Files     []string // paths written, transform.json last
}

// Run splits t, fits the transform on the train part, and writes train.csv, validation.csv and
// test.csv (headerless, label first; a part whose fraction is 0 is not written) and transform.json
// into dir, which is created if needed.
func Run(t *Table, opt Options, dir string) (*Result, error) {
	label := t.Column(opt.Label)
	if label < 0 {
		// Fit words this error; fail before splitting.
		_, err := Fit(t, FitOptions{Label: opt.Label, Categorical: opt.Categorical})
		return nil, err
	}
	var strata []string
	if opt.Stratify {
		strata = make([]string, len(t.Rows))
		for i, r := range t.Rows {
			strata[i] = r[label]
		}
	}
	parts, err := Split(len(t.Rows), opt.Split, opt.Seed, strata)
	if err != nil {
		return nil, err
	}
	names := [3]string{TrainFile, ValidationFile, TestFile}
	for p, idx := range parts {
		if opt.Split[p] > 0 && len(idx) == 0 {
			return nil, errs.E(errs.Invalid, "split %v of %d rows leaves %s empty", opt.Split[:], len(t.Rows), names[p])
		}
	}
	tr, err := Fit(t, FitOptions{Label: opt.Label, Categorical: opt.Categorical, Rows: parts[0]})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, errs.E(errs.Internal, "cannot create %s", dir, err)
	}
	res := &Result{Transform: tr}
	for p, idx := range parts {
		if opt.Split[p] == 0 {
			continue
		}
		sub := &Table{Name: t.Name, Header: t.Header, Rows: make([][]string, len(idx)), Lines: make([]int, len(idx))}
		for k, i := range idx {
			sub.Rows[k], sub.Lines[k] = t.Rows[i], t.Lines[i]
		}
		d, err := tr.Apply(sub)
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := dataset.WriteCSV(&b, d); err != nil {
			return nil, errs.E(errs.Internal, "cannot encode %s", names[p], err)
		}
		path := filepath.Join(dir, names[p])
		if err := atomicfile.Write(path, b.Bytes(), 0o644); err != nil {
			return nil, err
		}
		res.Rows[p] = len(idx)
		res.Files = append(res.Files, path)
	}
	path := filepath.Join(dir, TransformFile)
	if err := tr.Save(path); err != nil {
		return nil, err
	}
	res.Files = append(res.Files, path)
	return res, nil
}
