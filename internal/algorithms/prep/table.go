package prep

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/slipway-ml/slipway/internal/algorithms/dataset"
	"github.com/slipway-ml/slipway/internal/errs"
)

// Table is a CSV file read as strings: a header and rows of cells, all rows as wide as the header.
type Table struct {
	Name   string     // the file name, for error messages
	Header []string   // column names, unique and non-empty
	Rows   [][]string // cells, len(Rows[i]) == len(Header)
	Lines  []int      // Lines[i] is the 1-based line on which Rows[i] starts
}

// ReadTableFile reads the CSV file at path; see [ReadTable].
func ReadTableFile(path string) (*Table, error) {
	f, err := dataset.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadTable(f, path)
}

// ReadTable reads a CSV table with a header row. Blank lines are skipped; a leading UTF-8 byte
// order mark is dropped; cells keep their text (surrounding spaces are trimmed). Errors are
// errs.Invalid and name the file and line.
func ReadTable(r io.Reader, name string) (*Table, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, errs.E(errs.Invalid, "cannot read %s", name, err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1 // checked here, to word the error
	t := &Table{Name: name}
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
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if t.Header == nil {
			if err := checkHeader(name, line, rec); err != nil {
				return nil, err
			}
			t.Header = rec
			continue
		}
		if len(rec) != len(t.Header) {
			return nil, errs.E(errs.Invalid, "%s line %d: %d cells, but the header has %d columns", name, line, len(rec), len(t.Header))
		}
		t.Rows = append(t.Rows, rec)
		t.Lines = append(t.Lines, line)
	}
	if t.Header == nil {
		return nil, errs.E(errs.Invalid, "%s is empty: want a header line and rows", name)
	}
	if len(t.Rows) == 0 {
		return nil, errs.E(errs.Invalid, "%s has a header but no rows", name)
	}
	return t, nil
}

func checkHeader(name string, line int, h []string) error {
	seen := make(map[string]int, len(h))
	for i, c := range h {
		if c == "" {
			return errs.E(errs.Invalid, "%s line %d column %d: empty column name in the header", name, line, i+1)
		}
		if j, ok := seen[c]; ok {
			return errs.E(errs.Invalid, "%s line %d: column name %q appears in columns %d and %d", name, line, c, j+1, i+1)
		}
		seen[c] = i
	}
	return nil
}

// Column returns the index of the named column, or -1.
func (t *Table) Column(name string) int {
	for i, c := range t.Header {
		if c == name {
			return i
		}
	}
	return -1
}

// cellError words an error about one cell.
func cellError(file string, line, col int, colName, format string, args ...any) error {
	return errs.E(errs.Invalid, "%s line %d column %d (%q): %s", file, line, col+1, colName, fmt.Sprintf(format, args...))
}

// isMissing reports whether a cell marks a missing value.
func isMissing(s string) bool {
	switch strings.ToLower(s) {
	case "", "na", "nan", "?":
		return true
	}
	return false
}
