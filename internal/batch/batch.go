// Package batch is the data path of a SageMaker batch transform, as a pure function over a reader
// and a writer with a predict callback: split the input into records (SplitType), filter each
// record (InputFilter), group records into requests (BatchStrategy, MaxPayloadInMB), split each
// response back into one output per record, join it with its input record (JoinSource), filter
// the result (OutputFilter) and assemble the output (AssembleWith).
//
// Records are CSV lines (ContentType text/csv) or JSON values (application/json,
// application/jsonlines); a filter on a CSV record sees it as an array of its fields, and a CSV
// result is written back as comma-separated fields. Joining appends the output's fields to a CSV
// input record, and stores the output under "SageMakerOutput" in a JSON object record (appends it
// to a JSON array record).
//
// Invariants: the input is read once, in order; predict sees requests in input order, each at most
// MaxPayloadInMB (a record that alone is larger is an error naming it); when outputs are split per
// record (MultiRecord with a join, a filter or Line assembly) a response must hold exactly one line
// per record it was given, else the run fails naming the request; nothing is written for a
// request before its response arrived.
package batch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Params are a TransformJob's data settings.
type Params struct {
	SplitType      string // None (default) | Line
	BatchStrategy  string // MultiRecord | SingleRecord (default)
	MaxPayloadInMB int    // default 6
	AssembleWith   string // None (default) | Line
	ContentType    string // the input's MIME type (TransformInput.ContentType)
	Accept         string // the output's MIME type (TransformOutput.Accept); "" = ContentType
	InputFilter    string // JSONPath, default $
	OutputFilter   string // JSONPath, default $
	JoinSource     string // None (default) | Input
}

// Predict answers one request: payload holds one or more records, newline-separated.
type Predict func(ctx context.Context, payload []byte, contentType, accept string) ([]byte, error)

// Validate checks the settings and fills defaults.
func (p *Params) Validate() error {
	def := func(s *string, d string, allowed ...string) error {
		if *s == "" {
			*s = d
		}
		for _, a := range allowed {
			if *s == a {
				return nil
			}
		}
		return errs.E(errs.Invalid, "%q is not one of %s", *s, strings.Join(allowed, ", "))
	}
	for _, c := range []struct {
		name string
		err  error
	}{
		{"SplitType", def(&p.SplitType, "None", "None", "Line")},
		{"BatchStrategy", def(&p.BatchStrategy, "SingleRecord", "SingleRecord", "MultiRecord")},
		{"AssembleWith", def(&p.AssembleWith, "None", "None", "Line")},
		{"JoinSource", def(&p.JoinSource, "None", "None", "Input")},
	} {
		if c.err != nil {
			return errs.E(errs.Invalid, "%s: %v", c.name, c.err)
		}
	}
	if p.MaxPayloadInMB == 0 {
		p.MaxPayloadInMB = 6
	}
	if p.MaxPayloadInMB < 0 || p.MaxPayloadInMB > 100 {
		return errs.E(errs.Invalid, "MaxPayloadInMB %d must be between 0 and 100", p.MaxPayloadInMB)
	}
	if p.Accept == "" {
		p.Accept = p.ContentType
	}
	if _, err := ParsePath(p.InputFilter); err != nil {
		return errs.E(errs.Invalid, "InputFilter: %v", err)
	}
	if _, err := ParsePath(p.OutputFilter); err != nil {
		return errs.E(errs.Invalid, "OutputFilter: %v", err)
	}
	return nil
}

// kind is a record format.
type kind int

const (
	kindText kind = iota // opaque: no filter, no join
	kindCSV
	kindJSON
)

func kindOf(mime string) kind {
	mt, _, _ := strings.Cut(strings.ToLower(mime), ";")
	switch strings.TrimSpace(mt) {
	case "text/csv", "csv":
		return kindCSV
	case "application/json", "application/jsonlines", "application/x-jsonlines", "application/json-lines":
		return kindJSON
	}
	return kindText
}

// Run transforms the input to the output.
func Run(ctx context.Context, in io.Reader, out io.Writer, p Params, predict Predict) error {
	if err := p.Validate(); err != nil {
		return err
	}
	inFilter, _ := ParsePath(p.InputFilter)
	outFilter, _ := ParsePath(p.OutputFilter)
	inKind, outKind := kindOf(p.ContentType), kindOf(p.Accept)
	if (!inFilter.IsRoot() || p.JoinSource == "Input") && inKind == kindText {
		return errs.E(errs.Invalid, "InputFilter and JoinSource need ContentType text/csv or application/json, not %q", p.ContentType)
	}
	records, err := Split(in, p.SplitType)
	if err != nil {
		return err
	}
	perRecord := p.JoinSource == "Input" || !outFilter.IsRoot() || p.AssembleWith == "Line"
	maxBytes := p.MaxPayloadInMB << 20
	w := bufio.NewWriter(out)
	first := true
	emit := func(b []byte) error {
		if p.AssembleWith == "Line" {
			if !first {
				w.WriteByte('\n')
			}
			first = false
		}
		_, err := w.Write(b)
		return err
	}
	var batch [][]byte // filtered records of the pending request
	var sources [][]byte
	request := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		request++
		payload := bytes.Join(batch, []byte("\n"))
		resp, err := predict(ctx, payload, p.ContentType, p.Accept)
		if err != nil {
			return err
		}
		outs := [][]byte{resp}
		if perRecord {
			if outs, err = splitResponse(resp, len(batch), outKind); err != nil {
				return errs.E(errs.Invalid, "request %d (%d records): %v", request, len(batch), err)
			}
		}
		for i, o := range outs {
			if perRecord {
				if o, err = finish(sources[i], o, p, inKind, outKind, outFilter); err != nil {
					return errs.E(errs.Invalid, "record %d of request %d: %v", i+1, request, err)
				}
			}
			if err := emit(o); err != nil {
				return err
			}
		}
		batch, sources = batch[:0], sources[:0]
		return nil
	}
	size := 0
	for i, rec := range records {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := filterRecord(rec, inFilter, inKind)
		if err != nil {
			return errs.E(errs.Invalid, "record %d: InputFilter: %v", i+1, err)
		}
		if len(f) > maxBytes {
			return errs.E(errs.Invalid, "record %d is %d bytes, more than MaxPayloadInMB (%d MB)", i+1, len(f), p.MaxPayloadInMB)
		}
		if p.BatchStrategy == "SingleRecord" || (len(batch) > 0 && size+1+len(f) > maxBytes) {
			if err := flush(); err != nil {
				return err
			}
			size = 0
		}
		if len(batch) > 0 {
			size++
		}
		batch, sources = append(batch, f), append(sources, rec)
		size += len(f)
	}
	if err := flush(); err != nil {
		return err
	}
	if p.AssembleWith == "Line" && !first {
		w.WriteByte('\n')
	}
	return w.Flush()
}

// maxInput bounds one input object read into memory.
const maxInput = 1 << 30

// Split reads the records of one input object: its non-empty lines for Line (a trailing \r is
// dropped), or the whole object for None.
func Split(r io.Reader, splitType string) ([][]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, errs.E(errs.Invalid, "cannot read the input", err)
	}
	if len(data) > maxInput {
		return nil, errs.E(errs.Invalid, "an input object larger than %d bytes is not supported", maxInput)
	}
	if splitType != "Line" {
		if len(data) == 0 {
			return nil, nil
		}
		return [][]byte{data}, nil
	}
	var out [][]byte
	for _, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) > 0 {
			out = append(out, line)
		}
	}
	return out, nil
}

// filterRecord applies the input filter to one record.
func filterRecord(rec []byte, f *Path, k kind) ([]byte, error) {
	if f.IsRoot() {
		return rec, nil
	}
	v, err := decode(rec, k)
	if err != nil {
		return nil, err
	}
	if v, err = f.Apply(v); err != nil {
		return nil, err
	}
	return encode(v, k)
}

// decode reads a record as a filter sees it: a CSV line as an array of its fields.
func decode(rec []byte, k kind) (any, error) {
	if k == kindCSV {
		r := csv.NewReader(bytes.NewReader(rec))
		r.FieldsPerRecord = -1
		fields, err := r.Read()
		if err != nil {
			return nil, errs.E(errs.Invalid, "not a CSV line", err)
		}
		out := make([]any, len(fields))
		for i, f := range fields {
			out[i] = f
		}
		return out, nil
	}
	v, err := decodeJSON(rec)
	if err != nil {
		return nil, errs.E(errs.Invalid, "not a JSON value", err)
	}
	return v, nil
}

// encode writes a filtered value back in the record's format.
func encode(v any, k kind) ([]byte, error) {
	if k == kindCSV {
		var fields []string
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				fields = append(fields, scalar(e))
			}
		default:
			fields = []string{scalar(x)}
		}
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		if err := w.Write(fields); err != nil {
			return nil, err
		}
		w.Flush()
		return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
	}
	return json.Marshal(v)
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// splitResponse splits a response into one output per record: its lines (a JSON array response to
// several JSON records is split into its elements).
func splitResponse(resp []byte, n int, k kind) ([][]byte, error) {
	trimmed := bytes.TrimSpace(resp)
	if k == kindJSON && n > 1 && len(trimmed) > 0 && trimmed[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(trimmed, &arr); err == nil && len(arr) == n {
			out := make([][]byte, n)
			for i, a := range arr {
				out[i] = a
			}
			return out, nil
		}
	}
	if n == 1 {
		return [][]byte{bytes.TrimRight(resp, "\r\n")}, nil
	}
	lines, _ := Split(bytes.NewReader(resp), "Line")
	if len(lines) != n {
		return nil, errs.E(errs.Invalid, "the response has %d lines for %d records", len(lines), n)
	}
	return lines, nil
}

// finish joins an output with its source record and applies the output filter.
func finish(src, o []byte, p Params, inKind, outKind kind, f *Path) ([]byte, error) {
	k := outKind
	if p.JoinSource == "Input" {
		k = inKind
		switch inKind {
		case kindCSV:
			o = append(append(append([]byte{}, src...), ','), o...)
		case kindJSON:
			sv, err := decodeJSON(src)
			if err != nil {
				return nil, errs.E(errs.Invalid, "the input record is not JSON", err)
			}
			ov, err := decodeJSON(o)
			if err != nil {
				ov = string(o)
			}
			switch x := sv.(type) {
			case map[string]any:
				x["SageMakerOutput"] = ov
				sv = x
			case []any:
				sv = append(x, ov)
			default:
				return nil, errs.E(errs.Invalid, "JoinSource Input needs JSON object or array records")
			}
			if o, err = json.Marshal(sv); err != nil {
				return nil, err
			}
		}
	}
	if f.IsRoot() {
		return o, nil
	}
	if k == kindText {
		return nil, errs.E(errs.Invalid, "OutputFilter needs Accept text/csv or application/json")
	}
	v, err := decode(o, k)
	if err != nil {
		return nil, err
	}
	if v, err = f.Apply(v); err != nil {
		return nil, err
	}
	return encode(v, k)
}
