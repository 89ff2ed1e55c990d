package inference

import (
	"bytes"
	"math"
	"strconv"
)

// schema is what a payload parser checks rows against: the model's feature count and, when the model
// carries them, its feature names (for named columns).
type schema struct {
	features int
	names    map[string]int // feature name → column; nil when the model has none
}

// matrix is a parsed payload: rows×cols float32 values, row-major, NaN for a missing value. Parsers
// append to x, so a matrix reused across requests (pooled) stops allocating once it has grown.
type matrix struct {
	x    []float32
	rows int
	cols int
	// mlflow: the payload had one of MLflow's own shapes (dataframe_split, dataframe_records, inputs), so
	// a JSON answer takes MLflow's shape too.
	mlflow bool
}

func (m *matrix) reset(cols int) {
	m.x, m.rows, m.cols, m.mlflow = m.x[:0], 0, cols, false
}

// maxCells bounds the values of one request. A dense payload cannot exceed it (each value takes at least a
// byte of the 6 MB body), but sparse ones (libsvm, records, columns) could otherwise ask for rows×features
// of a wide model from a few bytes per row.
const maxCells = 1 << 24

// addRow appends a row of missing values and returns it; past maxCells values it refuses the request.
func (m *matrix) addRow() ([]float32, error) {
	if (m.rows+1)*max(m.cols, 1) > maxCells {
		return nil, validationf("the request holds more than %d values (%d rows of %d features); send fewer rows", maxCells, m.rows+1, m.cols)
	}
	n := len(m.x)
	if cap(m.x)-n < m.cols {
		grown := make([]float32, n, max(2*cap(m.x), n+m.cols, 64))
		copy(grown, m.x)
		m.x = grown
	}
	m.x = m.x[:n+m.cols]
	row := m.x[n:]
	nan := float32(math.NaN())
	for i := range row {
		row[i] = nan
	}
	m.rows++
	return row, nil
}

// row returns row i.
func (m *matrix) row(i int) []float32 { return m.x[i*m.cols : (i+1)*m.cols] }

// ensureRows extends the matrix to n rows of missing values.
func (m *matrix) ensureRows(n int) error {
	for m.rows < n {
		if _, err := m.addRow(); err != nil {
			return err
		}
	}
	return nil
}

// parse decodes a request body of format f into m.
func parse(f format, body []byte, s schema, m *matrix) error {
	m.reset(s.features)
	if len(bytes.TrimSpace(body)) == 0 {
		return validationf("the request body is empty; send at least one row of %d features", s.features)
	}
	switch f {
	case formatCSV:
		return parseCSV(body, s, m)
	case formatLibSVM:
		return parseLibSVM(body, s, m)
	case formatJSON:
		return parseJSON(body, s, m)
	case formatJSONLines:
		return parseJSONLines(body, s, m)
	}
	return validationf("unknown payload format")
}

// parseNumber parses a decimal number as float32; empty and NaN spellings are a missing value (NaN).
func parseNumber(b []byte) (float32, bool) {
	b = bytes.TrimSpace(b)
	switch string(b) {
	case "", "nan", "NaN", "NAN", "?":
		return float32(math.NaN()), true
	}
	v, err := strconv.ParseFloat(string(b), 32)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return float32(v), true // out of range rounds to ±Inf, as XGBoost's readers do
		}
		return 0, false
	}
	return float32(v), true
}

// quoteCell quotes a refused value for a message, shortened.
func quoteCell(b []byte) string {
	if len(b) > 40 {
		return strconv.Quote(string(b[:40])) + "…"
	}
	return strconv.Quote(string(b))
}

// nextLine splits off the first line of b (without its "\n" or "\r\n").
func nextLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		line, rest = b, nil
	} else {
		line, rest = b[:i], b[i+1:]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

// parseCSV reads text/csv: one row per line, features only (no label, no header), an empty cell is a
// missing value; blank lines are skipped. Every row must have exactly the model's feature count.
func parseCSV(body []byte, s schema, m *matrix) error {
	for lineNo, rest := 1, body; len(rest) > 0; lineNo++ {
		var line []byte
		line, rest = nextLine(rest)
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		n := bytes.Count(line, []byte{','}) + 1
		if n != s.features {
			return validationf("text/csv row %d has %d features; the model expects %d", m.rows+1, n, s.features)
		}
		row, err := m.addRow()
		if err != nil {
			return err
		}
		for j := 0; j < n; j++ {
			cell := line
			if i := bytes.IndexByte(line, ','); i >= 0 {
				cell, line = line[:i], line[i+1:]
			}
			if c := bytes.TrimSpace(cell); len(c) >= 2 && c[0] == '"' && c[len(c)-1] == '"' {
				cell = c[1 : len(c)-1]
			}
			v, ok := parseNumber(cell)
			if !ok {
				return validationf("text/csv row %d column %d: %s is not a number", m.rows, j+1, quoteCell(cell))
			}
			row[j] = v
		}
	}
	if m.rows == 0 {
		return validationf("the request body holds no rows; send at least one row of %d features", s.features)
	}
	return nil
}

// parseLibSVM reads text/libsvm: "[label] index:value ..." per line. A leading token without ':' is a
// label and ignored; indices are XGBoost's (0 is the first feature) and must be below the feature
// count; absent features are missing. Text after '#' is a comment.
func parseLibSVM(body []byte, s schema, m *matrix) error {
	for rest := body; len(rest) > 0; {
		var line []byte
		line, rest = nextLine(rest)
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		row, err := m.addRow()
		if err != nil {
			return err
		}
		for tok, first := 0, true; ; first = false {
			line = bytes.TrimLeft(line, " \t")
			if len(line) == 0 {
				break
			}
			end := bytes.IndexAny(line, " \t")
			if end < 0 {
				end = len(line)
			}
			field := line[:end]
			line = line[end:]
			tok++
			k, v, ok := bytes.Cut(field, []byte{':'})
			if !ok {
				if first {
					if _, num := parseNumber(field); num {
						continue // the label
					}
				}
				return validationf("text/libsvm row %d token %d: %s is not index:value", m.rows, tok, quoteCell(field))
			}
			if string(k) == "qid" {
				continue
			}
			idx, err := strconv.Atoi(string(k))
			if err != nil || idx < 0 {
				return validationf("text/libsvm row %d token %d: feature index %s is not a non-negative integer", m.rows, tok, quoteCell(k))
			}
			if idx >= s.features {
				return validationf("text/libsvm row %d: feature index %d is not below the %d features the model expects", m.rows, idx, s.features)
			}
			f, num := parseNumber(v)
			if !num {
				return validationf("text/libsvm row %d feature %d: %s is not a number", m.rows, idx, quoteCell(v))
			}
			row[idx] = f
		}
	}
	if m.rows == 0 {
		return validationf("the request body holds no rows; send at least one row of %d features", s.features)
	}
	return nil
}
