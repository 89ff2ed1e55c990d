package inference

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
)

// A hand-written JSON reader: it walks the payload in place and writes numbers straight into the
// matrix, so a request costs no allocation per row (encoding/json would build a tree first).

// scanner reads JSON values from b at i; what names the payload in messages.
type scanner struct {
	b    []byte
	i    int
	what string
}

// maxDepth bounds the nesting of skipped values.
const maxDepth = 64

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next significant byte, 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) syntax(want string) *Error {
	if s.i >= len(s.b) {
		return validationf("%s is not valid JSON: it ends where %s was expected", s.what, want)
	}
	return validationf("%s is not valid JSON: %s expected at byte %d, found %s", s.what, want, s.i, quoteCell(s.b[s.i:min(s.i+10, len(s.b))]))
}

// begin consumes the opening c ('{' or '[').
func (s *scanner) begin(c byte) error {
	if s.peek() != c {
		return s.syntax(strconv.QuoteRune(rune(c)))
	}
	s.i++
	return nil
}

// more reports whether another member or element follows in the object or array closed by end,
// consuming the separating comma or the closing byte; *first tracks the first member.
func (s *scanner) more(end byte, first *bool) (bool, error) {
	c := s.peek()
	if c == end {
		s.i++
		return false, nil
	}
	if !*first {
		if c != ',' {
			return false, s.syntax("',' or " + strconv.QuoteRune(rune(end)))
		}
		s.i++
		s.ws()
	}
	*first = false
	return true, nil
}

// str reads a string and returns its raw contents (escapes not decoded) and whether it has escapes.
func (s *scanner) str() ([]byte, bool, error) {
	if s.peek() != '"' {
		return nil, false, s.syntax("a string")
	}
	start := s.i + 1
	esc := false
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '\\':
			esc = true
			j++
			if j >= len(s.b) {
				break
			}
			switch s.b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(s.b) || !isHex4(s.b[j+1:j+5]) {
					s.i = j
					return nil, false, s.syntax("four hex digits after \\u")
				}
				j += 4
			default:
				s.i = j
				return nil, false, s.syntax("a valid escape")
			}
		case c == '"':
			s.i = j + 1
			return s.b[start:j], esc, nil
		case c < 0x20:
			s.i = j
			return nil, false, s.syntax("a string without control characters")
		}
	}
	s.i = len(s.b)
	return nil, false, s.syntax("the end of a string")
}

// key reads an object key and the colon after it, decoding escapes (rare, so allowed to allocate).
func (s *scanner) key() ([]byte, error) {
	k, esc, err := s.str()
	if err != nil {
		return nil, err
	}
	if esc {
		var d string
		if json.Unmarshal(s.b[s.i-len(k)-2:s.i], &d) != nil {
			return nil, validationf("%s: the key %s has a bad escape", s.what, quoteCell(k))
		}
		k = []byte(d)
	}
	if s.peek() != ':' {
		return nil, s.syntax("':'")
	}
	s.i++
	return k, nil
}

// skip skips one value of any kind, keeping the open containers on a fixed stack.
func (s *scanner) skip() error {
	var stack [maxDepth]byte
	depth := 0
	for {
		switch c := s.peek(); c {
		case '{', '[':
			if depth == maxDepth {
				return validationf("%s nests deeper than %d levels", s.what, maxDepth)
			}
			s.i++
			if s.peek() == c+2 { // '}' and ']' are two after '{' and '['
				s.i++
				break
			}
			stack[depth] = c
			depth++
			if c == '{' {
				if _, err := s.key(); err != nil {
					return err
				}
			}
			continue
		case '"':
			if _, _, err := s.str(); err != nil {
				return err
			}
		case 0:
			return s.syntax("a value")
		default:
			if err := s.scalar(); err != nil {
				return err
			}
		}
		// After a value: a comma continues the innermost container, its closer ends it.
		for depth > 0 {
			c := s.peek()
			if c == ',' {
				s.i++
				if stack[depth-1] == '{' {
					if _, err := s.key(); err != nil {
						return err
					}
				}
				break
			}
			if c != stack[depth-1]+2 {
				return s.syntax("',' or " + strconv.QuoteRune(rune(stack[depth-1]+2)))
			}
			s.i++
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// literal consumes the bytes of a number or a bare word and returns them.
func (s *scanner) literal() []byte {
	s.ws()
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '[' || c == '{' || c == ':' {
			break
		}
		s.i++
	}
	return s.b[start:s.i]
}

// scalar skips a number, true, false or null.
func (s *scanner) scalar() error {
	lit := s.literal()
	switch string(lit) {
	case "true", "false", "null", "NaN", "Infinity", "-Infinity":
		return nil
	}
	if !validNumber(lit) {
		if len(lit) == 0 {
			return s.syntax("a value")
		}
		return validationf("%s is not valid JSON: %s at byte %d is not a value", s.what, quoteCell(lit), s.i-len(lit))
	}
	return nil
}

// validNumber reports whether b is a JSON number.
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if n := digits(); n == 0 || (n > 1 && b[i-n] == '0') {
		return false // no digits, or a leading zero
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}

// value reads one feature value: a number, null (missing), true/false (1/0), Python's NaN/Infinity,
// or a string holding a number (pandas sometimes writes them). row and col name it in messages.
func (s *scanner) value(row, col int) (float32, error) {
	switch s.peek() {
	case '"':
		v, _, err := s.str()
		if err != nil {
			return 0, err
		}
		f, ok := parseNumber(v)
		if !ok {
			return 0, validationf("%s row %d feature %d: %s is not a number", s.what, row, col, quoteCell(v))
		}
		return f, nil
	case '[', '{':
		return 0, validationf("%s row %d feature %d: a nested %s where a number was expected", s.what, row, col, kindName(s.b[s.i]))
	case 0:
		return 0, s.syntax("a number")
	}
	lit := s.literal()
	switch string(lit) {
	case "null", "NaN":
		return float32(math.NaN()), nil
	case "true":
		return 1, nil
	case "false":
		return 0, nil
	case "Infinity":
		return float32(math.Inf(1)), nil
	case "-Infinity":
		return float32(math.Inf(-1)), nil
	}
	if !validNumber(lit) {
		if len(lit) == 0 {
			return 0, s.syntax("a number")
		}
		return 0, validationf("%s row %d feature %d: %s is not a number", s.what, row, col, quoteCell(lit))
	}
	f, _ := parseNumber(lit)
	return f, nil
}

func kindName(c byte) string {
	if c == '[' {
		return "array"
	}
	return "object"
}

// jsonReader decodes the row shapes of SageMaker's and MLflow's JSON payloads into a matrix.
type jsonReader struct {
	s   scanner
	sch schema
	m   *matrix
}

// rowArray reads [v, v, ...] as a new row of exactly the model's feature count.
func (r *jsonReader) rowArray() error {
	if err := r.s.begin('['); err != nil {
		return err
	}
	row, err := r.m.addRow()
	if err != nil {
		return err
	}
	n := 0
	for first := true; ; {
		ok, err := r.s.more(']', &first)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if n >= len(row) {
			if err := r.s.skip(); err != nil {
				return err
			}
			n++
			continue
		}
		v, err := r.s.value(r.m.rows, n+1)
		if err != nil {
			return err
		}
		row[n] = v
		n++
	}
	if n != len(row) {
		return validationf("%s row %d has %d features; the model expects %d", r.s.what, r.m.rows, n, len(row))
	}
	return nil
}

// column maps a feature name to its column: by the model's feature names when it has them, else by
// position (pos) among the row's names.
func (r *jsonReader) column(name []byte, pos int) (int, error) {
	if r.sch.names != nil {
		j, ok := r.sch.names[string(name)]
		if !ok {
			return 0, validationf("%s row %d: %s is not one of the model's %d feature names", r.s.what, max(r.m.rows, 1), quoteCell(name), r.sch.features)
		}
		return j, nil
	}
	if pos >= r.sch.features {
		return 0, validationf("%s row %d has more than the %d features the model expects", r.s.what, max(r.m.rows, 1), r.sch.features)
	}
	return pos, nil
}

// record reads {"name": v, ...} as a new row (MLflow's records); a feature it does not name is missing.
func (r *jsonReader) record() error {
	if err := r.s.begin('{'); err != nil {
		return err
	}
	row, err := r.m.addRow()
	if err != nil {
		return err
	}
	n := 0
	for first := true; ; {
		ok, err := r.s.more('}', &first)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		k, err := r.s.key()
		if err != nil {
			return err
		}
		j, err := r.column(k, n)
		if err != nil {
			return err
		}
		if row[j], err = r.s.value(r.m.rows, j+1); err != nil {
			return err
		}
		n++
	}
	if r.sch.names == nil && n != len(row) {
		return validationf("%s row %d has %d features; the model expects %d", r.s.what, r.m.rows, n, len(row))
	}
	return nil
}

// instance reads one instance: an array of numbers, SageMaker's {"features": [...]}, or a record.
func (r *jsonReader) instance() error {
	switch r.s.peek() {
	case '[':
		return r.rowArray()
	case '{':
		save := r.s.i
		r.s.i++
		if r.s.peek() == '"' {
			k, err := r.s.key()
			if err != nil {
				return err
			}
			if _, named := r.sch.names["features"]; string(k) == "features" && !named && r.s.peek() == '[' {
				if err := r.rowArray(); err != nil {
					return err
				}
				if c := r.s.peek(); c != '}' {
					return validationf("%s row %d: an instance holds \"features\" and nothing else", r.s.what, r.m.rows)
				}
				r.s.i++
				return nil
			}
		}
		r.s.i = save
		return r.record()
	}
	return validationf("%s row %d: an instance is an array of %d numbers, {\"features\": [...]} or an object of named features", r.s.what, r.m.rows+1, r.sch.features)
}

// instances reads [instance, ...].
func (r *jsonReader) instances() error {
	if err := r.s.begin('['); err != nil {
		return err
	}
	for first := true; ; {
		ok, err := r.s.more(']', &first)
		if err != nil || !ok {
			return err
		}
		if err := r.instance(); err != nil {
			return err
		}
	}
}

// columns reads {"name": [v, ...], ...}: one array of values per feature (MLflow's columnar inputs).
func (r *jsonReader) columns() error {
	if err := r.s.begin('{'); err != nil {
		return err
	}
	pos := 0
	for first := true; ; pos++ {
		ok, err := r.s.more('}', &first)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		k, err := r.s.key()
		if err != nil {
			return err
		}
		j, err := r.column(k, pos)
		if err != nil {
			return err
		}
		if r.s.peek() != '[' { // a scalar: one row
			if err := r.m.ensureRows(1); err != nil {
				return err
			}
			if r.m.row(0)[j], err = r.s.value(1, j+1); err != nil {
				return err
			}
			continue
		}
		r.s.i++
		for i, f := 0, true; ; i++ {
			ok, err := r.s.more(']', &f)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if err := r.m.ensureRows(i + 1); err != nil {
				return err
			}
			if r.m.row(i)[j], err = r.s.value(i+1, j+1); err != nil {
				return err
			}
		}
	}
	if r.sch.names == nil && pos != r.sch.features {
		return validationf("%s has %d feature columns; the model expects %d", r.s.what, pos, r.sch.features)
	}
	return nil
}

// split reads MLflow's {"columns": [...], "index": [...], "data": [[...], ...]} in any key order.
func (r *jsonReader) split() error {
	if err := r.s.begin('{'); err != nil {
		return err
	}
	dataAt, colsAt := -1, -1
	for first := true; ; {
		ok, err := r.s.more('}', &first)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		k, err := r.s.key()
		if err != nil {
			return err
		}
		switch string(k) {
		case "data":
			dataAt = r.s.i
		case "columns":
			colsAt = r.s.i
		}
		if err := r.s.skip(); err != nil {
			return err
		}
	}
	end := r.s.i
	if dataAt < 0 {
		return validationf("%s: dataframe_split has no \"data\"", r.s.what)
	}
	// cols[p] is the feature column of the split's column p; nil means positional.
	var cols []int
	if colsAt >= 0 {
		r.s.i = colsAt
		if err := r.s.begin('['); err != nil {
			return err
		}
		for first := true; ; {
			ok, err := r.s.more(']', &first)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			name, _, err := r.s.str()
			if err != nil {
				return err
			}
			j, err := r.column(name, len(cols))
			if err != nil {
				return err
			}
			cols = append(cols, j)
		}
		if r.sch.names == nil && len(cols) != r.sch.features {
			return validationf("%s: dataframe_split has %d columns; the model expects %d", r.s.what, len(cols), r.sch.features)
		}
	}
	r.s.i = dataAt
	if cols == nil {
		if err := r.instancesOfArrays(); err != nil {
			return err
		}
	} else if err := r.splitRows(cols); err != nil {
		return err
	}
	r.s.i = end
	return nil
}

// instancesOfArrays reads [[v, ...], ...].
func (r *jsonReader) instancesOfArrays() error {
	if err := r.s.begin('['); err != nil {
		return err
	}
	for first := true; ; {
		ok, err := r.s.more(']', &first)
		if err != nil || !ok {
			return err
		}
		if err := r.rowArray(); err != nil {
			return err
		}
	}
}

// splitRows reads [[v, ...], ...] whose values are in the order of cols.
func (r *jsonReader) splitRows(cols []int) error {
	if err := r.s.begin('['); err != nil {
		return err
	}
	for first := true; ; {
		ok, err := r.s.more(']', &first)
		if err != nil || !ok {
			return err
		}
		if err := r.s.begin('['); err != nil {
			return err
		}
		row, err := r.m.addRow()
		if err != nil {
			return err
		}
		n := 0
		for f := true; ; n++ {
			ok, err := r.s.more(']', &f)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if n >= len(cols) {
				return validationf("%s row %d has more values than the %d columns", r.s.what, r.m.rows, len(cols))
			}
			if row[cols[n]], err = r.s.value(r.m.rows, cols[n]+1); err != nil {
				return err
			}
		}
		if n != len(cols) {
			return validationf("%s row %d has %d values for %d columns", r.s.what, r.m.rows, n, len(cols))
		}
	}
}

// jsonShapes names the accepted application/json shapes, for messages.
const jsonShapes = `{"instances": [...]}, {"features": [...]}, {"inputs": ...}, {"dataframe_split": {...}}, {"dataframe_records": [...]} or an array of rows`

// document reads one whole payload value.
func (r *jsonReader) document() error {
	switch r.s.peek() {
	case '[':
		save := r.s.i
		r.s.i++
		c := r.s.peek()
		r.s.i = save
		if c == '[' || c == '{' {
			if err := r.instances(); err != nil {
				return err
			}
		} else if err := r.rowArray(); err != nil { // one row
			return err
		}
	case '{':
		if err := r.object(); err != nil {
			return err
		}
	default:
		return validationf("%s must be %s", r.s.what, jsonShapes)
	}
	if r.s.peek() != 0 {
		return r.s.syntax("the end of the document")
	}
	return nil
}

// object reads the top-level object: exactly one of the known keys holds the rows; others are skipped.
func (r *jsonReader) object() error {
	if err := r.s.begin('{'); err != nil {
		return err
	}
	var found []byte
	for first := true; ; {
		ok, err := r.s.more('}', &first)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		k, err := r.s.key()
		if err != nil {
			return err
		}
		known := true
		switch string(k) {
		case "instances", "inputs":
			if c := r.s.peek(); c == '{' {
				err = r.columns()
			} else {
				err = r.instances()
			}
		case "features":
			err = r.rowArray()
		case "dataframe_split":
			err = r.split()
		case "dataframe_records":
			err = r.instances()
		default:
			known = false
			err = r.s.skip()
		}
		if err != nil {
			return err
		}
		if known {
			switch string(k) {
			case "dataframe_split", "dataframe_records", "inputs":
				r.m.mlflow = true
			}
			if found != nil {
				return validationf("%s holds both %s and %s; send one", r.s.what, strconv.Quote(string(found)), strconv.Quote(string(k)))
			}
			found = k
		}
	}
	if found == nil {
		return validationf("%s must be %s", r.s.what, jsonShapes)
	}
	return nil
}

// parseJSON reads application/json: SageMaker's {"instances": [...]} (rows as arrays or
// {"features": [...]}) and {"features": [...]}, MLflow's dataframe_split, dataframe_records,
// instances and inputs (rows, records, or columns by name), or a bare array of rows or one row.
func parseJSON(body []byte, s schema, m *matrix) error {
	r := jsonReader{s: scanner{b: body, what: "application/json"}, sch: s, m: m}
	if err := r.document(); err != nil {
		return err
	}
	if m.rows == 0 {
		return validationf("the request body holds no rows; send at least one row of %d features", s.features)
	}
	return nil
}

// parseJSONLines reads application/jsonlines: one JSON value per line, each an instance (an array,
// {"features": [...]} or a record) or a document of several rows.
func parseJSONLines(body []byte, s schema, m *matrix) error {
	r := jsonReader{s: scanner{what: "application/jsonlines"}, sch: s, m: m}
	for rest := body; len(rest) > 0; {
		var line []byte
		line, rest = nextLine(rest)
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		r.s.b, r.s.i = line, 0
		var err error
		if r.isDocument() {
			err = r.document()
		} else {
			err = r.instance()
		}
		if err == nil && r.s.peek() != 0 {
			err = r.s.syntax("the end of the line")
		}
		if err != nil {
			return err
		}
	}
	if m.rows == 0 {
		return validationf("the request body holds no rows; send at least one row of %d features", s.features)
	}
	return nil
}

// isDocument reports whether the value at the scanner is a whole payload (an array of rows, or an
// object whose first key is one of the payload keys) rather than one instance.
func (r *jsonReader) isDocument() bool {
	save := r.s.i
	defer func() { r.s.i = save }()
	switch r.s.peek() {
	case '[':
		r.s.i++
		c := r.s.peek()
		return c == '[' || c == '{'
	case '{':
		r.s.i++
		if r.s.peek() != '"' {
			return false
		}
		k, err := r.s.key()
		if err != nil {
			return false
		}
		switch string(k) {
		case "instances", "inputs", "dataframe_split", "dataframe_records":
			_, named := r.sch.names[string(k)]
			return !named
		}
	}
	return false
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return len(b) == 4
}
