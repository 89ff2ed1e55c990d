package dataset

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// maxLibSVMIndex bounds feature indices so a hostile file cannot make Read allocate without limit.
const maxLibSVMIndex = 1 << 24

type sparseEntry struct {
	col int
	v   float32
}

// readLibSVM reads "label[:weight] [qid:n] index:value ..." lines. Indices are used as given (XGBoost's
// default), so index 0 is the first feature; absent entries are missing values. Text after '#' is a comment.
// With opt.NoLabel a leading token without ':' is taken for a label and dropped.
func readLibSVM(r io.Reader, name string, opt Options) (*Dense, error) {
	br := bufio.NewReaderSize(r, 64*1024)
	var (
		rows       [][]sparseEntry
		labels     []float32
		weights    []float32
		anyWeights bool
		maxCol     = -1
	)
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, errs.E(errs.Invalid, "cannot read %s", name, err)
		}
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) > 0 {
			col := 1
			label, weight := float32(0), float32(1)
			hasWeight := false
			if !opt.NoLabel || !strings.Contains(fields[0], ":") {
				tok := fields[0]
				ls, ws, wok := strings.Cut(tok, ":")
				v, ok := parseCell(ls)
				if !ok || v != v {
					return nil, errs.E(errs.Invalid, "%s line %d column 1: label %q is not a number", name, lineNo, ls)
				}
				label = v
				if wok {
					w, ok := parseCell(ws)
					if !ok || !(w >= 0) {
						return nil, errs.E(errs.Invalid, "%s line %d column 1: weight %q is not a number ≥ 0", name, lineNo, ws)
					}
					weight, hasWeight = w, true
				}
				fields = fields[1:]
				col++
			}
			var row []sparseEntry
			for _, f := range fields {
				k, vs, ok := strings.Cut(f, ":")
				if !ok {
					return nil, errs.E(errs.Invalid, "%s line %d column %d: %q is not index:value", name, lineNo, col, f)
				}
				if k == "qid" {
					col++
					continue
				}
				idx, err := strconv.Atoi(k)
				if err != nil || idx < 0 || idx >= maxLibSVMIndex {
					return nil, errs.E(errs.Invalid, "%s line %d column %d: feature index %q is not an integer in [0, %d)",
						name, lineNo, col, k, maxLibSVMIndex)
				}
				if opt.NumCols > 0 && idx >= opt.NumCols {
					return nil, errs.E(errs.Invalid, "%s line %d column %d: feature index %d is not below the %d features",
						name, lineNo, col, idx, opt.NumCols)
				}
				v, ok := parseCell(vs)
				if !ok {
					return nil, errs.E(errs.Invalid, "%s line %d column %d: %q is not a number", name, lineNo, col, vs)
				}
				row = append(row, sparseEntry{idx, v})
				maxCol = max(maxCol, idx)
				col++
			}
			rows = append(rows, row)
			if !opt.NoLabel {
				labels = append(labels, label)
			}
			weights = append(weights, weight)
			anyWeights = anyWeights || hasWeight
		}
		if err == io.EOF {
			break
		}
	}
	if len(rows) == 0 {
		return nil, errs.E(errs.Invalid, "%s: empty input", name)
	}
	d := &Dense{Rows: len(rows), Cols: maxCol + 1}
	if opt.NumCols > 0 {
		d.Cols = opt.NumCols
	}
	if d.Cols == 0 {
		return nil, errs.E(errs.Invalid, "%s: no features in any line", name)
	}
	if d.Rows*d.Cols > 1<<31 {
		return nil, errs.E(errs.Invalid, "%s: %d rows × %d features is too large for a dense matrix", name, d.Rows, d.Cols)
	}
	d.X = make([]float32, d.Rows*d.Cols)
	nan := float32(math.NaN())
	for i := range d.X {
		d.X[i] = nan
	}
	for i, row := range rows {
		for _, e := range row {
			d.X[i*d.Cols+e.col] = e.v
		}
	}
	if !opt.NoLabel {
		d.Label = labels
	}
	if anyWeights {
		d.Weight = weights
	}
	return d, nil
}
