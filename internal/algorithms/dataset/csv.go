package dataset

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// column roles in a CSV record.
const (
	roleFeature = iota
	roleLabel
	roleWeight
)

func readCSV(r io.Reader, name string, opt Options) (*Dense, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // ragged rows get our own message
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true

	var (
		d     = &Dense{}
		roles []int // per input column
		width int   // input columns per record
	)
	plan := func(n int, header []string) error {
		width = n
		roles = make([]int, n)
		labelAt, weightAt := -1, -1
		if !opt.NoLabel && opt.Label == "" {
			labelAt = 0
		}
		for i, h := range header {
			h = strings.TrimSpace(h)
			switch {
			case opt.Label != "" && h == opt.Label:
				if labelAt >= 0 {
					return errs.E(errs.Invalid, "%s line 1: label column %q appears twice", name, opt.Label)
				}
				labelAt = i
			case opt.Weight != "" && h == opt.Weight:
				if weightAt >= 0 {
					return errs.E(errs.Invalid, "%s line 1: weight column %q appears twice", name, opt.Weight)
				}
				weightAt = i
			}
		}
		if opt.Label != "" && labelAt < 0 {
			return errs.E(errs.Invalid, "%s line 1: no label column %q in the header", name, opt.Label)
		}
		if opt.Weight != "" && weightAt < 0 {
			return errs.E(errs.Invalid, "%s line 1: no weight column %q in the header", name, opt.Weight)
		}
		if labelAt >= 0 && labelAt == weightAt {
			return errs.E(errs.Invalid, "%s line 1: column %q cannot be both label and weight", name, opt.Weight)
		}
		if labelAt >= 0 {
			roles[labelAt] = roleLabel
		}
		if weightAt >= 0 {
			roles[weightAt] = roleWeight
		}
		for i, role := range roles {
			if role != roleFeature {
				continue
			}
			d.Cols++
			if header != nil {
				d.FeatureNames = append(d.FeatureNames, strings.TrimSpace(header[i]))
			}
		}
		if d.Cols == 0 {
			return errs.E(errs.Invalid, "%s line 1: no feature columns", name)
		}
		return nil
	}

	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, errs.E(errs.Invalid, "%s line %d: %s", name, pe.Line, pe.Err.Error(), err)
			}
			return nil, errs.E(errs.Invalid, "cannot read %s", name, err)
		}
		line, _ := cr.FieldPos(0)
		if roles == nil {
			if opt.Header {
				if err := plan(len(rec), rec); err != nil {
					return nil, err
				}
				continue
			}
			if err := plan(len(rec), nil); err != nil {
				return nil, err
			}
		}
		if len(rec) != width {
			return nil, errs.E(errs.Invalid, "%s line %d: %d columns, want %d like the first line", name, line, len(rec), width)
		}
		for i, cell := range rec {
			v, ok := parseCell(cell)
			if !ok {
				return nil, errs.E(errs.Invalid, "%s line %d column %d: %q is not a number", name, line, i+1, cell)
			}
			switch roles[i] {
			case roleFeature:
				d.X = append(d.X, v)
			case roleLabel:
				if v != v {
					return nil, errs.E(errs.Invalid, "%s line %d column %d: the label is missing", name, line, i+1)
				}
				d.Label = append(d.Label, v)
			case roleWeight:
				if !(v >= 0) {
					return nil, errs.E(errs.Invalid, "%s line %d column %d: weight %q is not a number ≥ 0", name, line, i+1, cell)
				}
				d.Weight = append(d.Weight, v)
			}
		}
		d.Rows++
	}
	if d.Rows == 0 {
		if roles == nil {
			return nil, errs.E(errs.Invalid, "%s: empty input", name)
		}
		return nil, errs.E(errs.Invalid, "%s: no data rows", name)
	}
	return d, nil
}
