// Package dataset reads and writes the tabular inputs of Slipway's built-in algorithms: CSV (headerless with
// the label first, as SageMaker's built-in XGBoost expects, or with a header naming the label and weight
// columns) and libsvm. Every reader returns a Dense, a row-major float32 matrix in which NaN marks a missing
// value.
//
// Invariants of a Dense returned by Read: len(X) == Rows*Cols; Label is nil or has Rows values, none NaN;
// Weight is nil or has Rows values, none NaN or negative; FeatureNames is nil or has Cols names. Every
// error about the input is an errs.Invalid whose message names the input, the line and, where it applies,
// the column, e.g. `train.csv line 3 column 2: "abc" is not a number`.
package dataset

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Dense is a row-major float32 matrix with optional labels and weights. NaN marks a missing value.
type Dense struct {
	Rows, Cols   int
	X            []float32 // len Rows*Cols
	Label        []float32 // len Rows, or nil when unlabelled
	Weight       []float32 // len Rows, or nil (all weights 1)
	FeatureNames []string  // len Cols, or nil
}

// Row returns the features of row i, sharing storage with d.X.
func (d *Dense) Row(i int) []float32 { return d.X[i*d.Cols : (i+1)*d.Cols : (i+1)*d.Cols] }

// Options says how to read an input.
type Options struct {
	Format  string // "csv" or "libsvm"; "" = by file extension (.libsvm/.svm → libsvm), else csv
	Header  bool   // CSV has a header row
	Label   string // label column name (needs Header); "" with !NoLabel = first column is the label (SageMaker convention)
	NoLabel bool   // every column is a feature (prediction input)
	Weight  string // optional instance-weight column name (needs Header)
	NumCols int    // libsvm: number of features if known (0 = 1 + max index seen)
}

// Formats.
const (
	FormatCSV    = "csv"
	FormatLibSVM = "libsvm"
)

// ReadFile reads the file at path; see Read.
func ReadFile(path string, opt Options) (*Dense, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, path, opt)
}

// Open opens an input file of the algorithms (data, models, transforms): a missing file is
// errs.NotFound, any other failure errs.Invalid, both naming the path.
func Open(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errs.E(errs.NotFound, "%s does not exist", path, err)
		}
		return nil, errs.E(errs.Invalid, "cannot open %s", path, err)
	}
	return f, nil
}

// Read reads one input; name identifies it in error messages and chooses the format when opt.Format is "".
func Read(r io.Reader, name string, opt Options) (*Dense, error) {
	format := opt.Format
	if format == "" {
		switch strings.ToLower(filepath.Ext(name)) {
		case ".libsvm", ".svm":
			format = FormatLibSVM
		default:
			format = FormatCSV
		}
	}
	if (opt.Label != "" || opt.Weight != "") && !opt.Header {
		return nil, errs.E(errs.Invalid, "%s: a label or weight column named by name needs a CSV header", name)
	}
	if opt.Label != "" && opt.NoLabel {
		return nil, errs.E(errs.Invalid, "%s: label column %q given for unlabelled input", name, opt.Label)
	}
	if opt.NumCols < 0 {
		return nil, errs.E(errs.Invalid, "%s: number of columns %d is negative", name, opt.NumCols)
	}
	switch format {
	case FormatCSV:
		return readCSV(r, name, opt)
	case FormatLibSVM:
		if opt.Header {
			return nil, errs.E(errs.Invalid, "%s: libsvm input has no header", name)
		}
		return readLibSVM(r, name, opt)
	}
	return nil, errs.E(errs.Invalid, "%s: unknown data format %q (want csv or libsvm)", name, format)
}

// parseCell parses one numeric cell; "" and NaN spellings are missing.
func parseCell(s string) (float32, bool) {
	s = strings.TrimSpace(s)
	switch s {
	case "", "nan", "NaN", "NAN", "?":
		return float32(math.NaN()), true
	}
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		// Out-of-range values round to ±Inf like XGBoost's reader; anything else is not a number.
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return float32(v), true
		}
		return 0, false
	}
	return float32(v), true
}

// WriteCSV writes d as headerless CSV with the label first (if any); missing values are empty cells.
func WriteCSV(w io.Writer, d *Dense) error {
	if len(d.X) != d.Rows*d.Cols || (d.Label != nil && len(d.Label) != d.Rows) {
		return errs.E(errs.Internal, "dataset: inconsistent matrix (%d×%d, %d values, %d labels)",
			d.Rows, d.Cols, len(d.X), len(d.Label))
	}
	buf := make([]byte, 0, 64*1024)
	for i := 0; i < d.Rows; i++ {
		start := len(buf)
		first := true
		if d.Label != nil {
			buf = appendCell(buf, d.Label[i])
			first = false
		}
		for _, v := range d.Row(i) {
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = appendCell(buf, v)
		}
		if len(buf) == start {
			buf = append(buf, "nan"...) // a blank line would be skipped by readers
		}
		buf = append(buf, '\n')
		if len(buf) > 60*1024 {
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("cannot write CSV: %w", err)
			}
			buf = buf[:0]
		}
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("cannot write CSV: %w", err)
	}
	return nil
}

func appendCell(b []byte, v float32) []byte {
	if v != v {
		return b
	}
	return strconv.AppendFloat(b, float64(v), 'g', -1, 32)
}
