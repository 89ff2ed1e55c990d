package inference

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// The Open Inference Protocol (KServe V2) carries tensors: {"id": ..., "inputs": [{"name", "shape",
// "datatype", "data"}, ...]}. A tabular model reads them as rows: one input of shape [rows, features]
// (data flat in row-major order or nested), or several inputs of shape [rows] or [rows, k], one per
// column group, joined left to right; a lone input of shape [features] is one row.

// v2Request is an inference request of the Open Inference Protocol.
type v2Request struct {
	ID     string    `json:"id"`
	Inputs []v2Input `json:"inputs"`
}

type v2Input struct {
	Name     string          `json:"name"`
	Shape    []int64         `json:"shape"`
	Datatype string          `json:"datatype"`
	Data     json.RawMessage `json:"data"`
}

// maxV2Values bounds the values a request may declare (a 6 MB payload holds fewer than this).
const maxV2Values = MaxPayloadBytes

// V2ToCSV converts an Open Inference Protocol request into text/csv rows for a model's Invoke and
// returns the request's id. Refusals are *Error 400 naming the input and what is wrong; a body over
// MaxPayloadBytes is a 413.
func V2ToCSV(body []byte) (csv []byte, id string, err error) {
	if len(body) > MaxPayloadBytes {
		return nil, "", &Error{Status: 413, Code: CodePayloadTooLarge, Message: fmt.Sprintf("the request body is %d bytes; the limit is %d (6 MB)", len(body), MaxPayloadBytes)}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, "", validationf("the inference request is empty; send {\"inputs\": [{\"name\", \"shape\", \"datatype\", \"data\"}]}")
	}
	var req v2Request
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, "", validationf("the inference request is not a JSON object of the Open Inference Protocol: %s", jsonProblem(err))
	}
	if len(req.Inputs) == 0 {
		return nil, "", validationf("the inference request has no inputs")
	}
	type block struct {
		vals []float64
		cols int
	}
	blocks := make([]block, len(req.Inputs))
	rows := int64(-1)
	for i, in := range req.Inputs {
		what := fmt.Sprintf("input %d (%q)", i, in.Name)
		if !numericDatatype(in.Datatype) {
			return nil, "", validationf("%s has datatype %q; a tabular model takes BOOL, INT8-64, UINT8-64, FP16, FP32 or FP64", what, in.Datatype)
		}
		var r, c int64
		switch {
		case len(in.Shape) == 1 && len(req.Inputs) == 1:
			r, c = 1, in.Shape[0]
		case len(in.Shape) == 1:
			r, c = in.Shape[0], 1
		case len(in.Shape) == 2:
			r, c = in.Shape[0], in.Shape[1]
		default:
			return nil, "", validationf("%s has shape %v; want [rows, features], [rows] or [features]", what, in.Shape)
		}
		if r < 1 || c < 1 || r > maxV2Values || c > maxV2Values || r*c > maxV2Values {
			return nil, "", validationf("%s has shape %v; every dimension must be at least 1 and the total at most %d", what, in.Shape, maxV2Values)
		}
		if rows >= 0 && r != rows {
			return nil, "", validationf("%s has %d rows; input 0 has %d", what, r, rows)
		}
		rows = r
		vals := make([]float64, 0, r*c)
		var err error
		if vals, err = flatten(in.Data, vals, 0); err != nil {
			return nil, "", validationf("%s: %s", what, err.Error())
		}
		if int64(len(vals)) != r*c {
			return nil, "", validationf("%s has %d values; its shape %v needs %d", what, len(vals), in.Shape, r*c)
		}
		blocks[i] = block{vals: vals, cols: int(c)}
	}
	out := make([]byte, 0, 16*len(blocks)*int(rows))
	for row := 0; row < int(rows); row++ {
		for bi, b := range blocks {
			for j, v := range b.vals[row*b.cols : (row+1)*b.cols] {
				if bi > 0 || j > 0 {
					out = append(out, ',')
				}
				if !math.IsNaN(v) {
					out = strconv.AppendFloat(out, v, 'g', -1, 64)
				}
			}
		}
		out = append(out, '\n')
	}
	return out, req.ID, nil
}

func numericDatatype(t string) bool {
	switch t {
	case "BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "FP16", "FP32", "FP64":
		return true
	}
	return false
}

// flatten appends the numbers of a (possibly nested) JSON array in row-major order; null is missing.
func flatten(raw json.RawMessage, dst []float64, depth int) ([]float64, error) {
	if depth > 4 {
		return nil, fmt.Errorf("data nests deeper than 4 levels")
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, fmt.Errorf("has no data")
	}
	if raw[0] != '[' {
		return nil, fmt.Errorf("data is not an array")
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, fmt.Errorf("data is not a JSON array: %s", jsonProblem(err))
	}
	for _, e := range elems {
		if len(dst) > maxV2Values {
			return nil, fmt.Errorf("data has more than %d values", maxV2Values)
		}
		e = bytes.TrimSpace(e)
		switch {
		case len(e) > 0 && e[0] == '[':
			var err error
			if dst, err = flatten(e, dst, depth+1); err != nil {
				return nil, err
			}
		case string(e) == "null":
			dst = append(dst, math.NaN())
		case string(e) == "true":
			dst = append(dst, 1)
		case string(e) == "false":
			dst = append(dst, 0)
		default:
			v, err := strconv.ParseFloat(string(e), 64)
			if err != nil || !validNumber(e) {
				return nil, fmt.Errorf("value %d, %s, is not a number", len(dst)+1, quoteCell(e))
			}
			dst = append(dst, v)
		}
	}
	return dst, nil
}

// jsonProblem is encoding/json's complaint without its package prefix.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%s holds a JSON %s, want %s", orTop(te.Field), te.Value, te.Type.String())
	}
	return err.Error()
}

func orTop(field string) string {
	if field == "" {
		return "the document"
	}
	return "field " + strconv.Quote(field)
}

// v2Response is an inference response of the Open Inference Protocol.
type v2Response struct {
	ModelName string     `json:"model_name"`
	ID        string     `json:"id,omitempty"`
	Outputs   []v2Output `json:"outputs"`
}

type v2Output struct {
	Name     string    `json:"name"`
	Shape    []int     `json:"shape"`
	Datatype string    `json:"datatype"`
	Data     []float64 `json:"data"`
}

// CSVToV2 converts a model's text/csv answer (one line per row, values comma-separated) into an Open
// Inference Protocol response with one FP32 output "predict" of shape [rows] (one value per row) or
// [rows, k]. An answer that is not such a CSV (the model answered in another type, or rows differ in
// length) is a 424 ModelError: the model, not the caller, broke the contract.
func CSVToV2(modelName, id string, csvOut []byte) ([]byte, error) {
	var data []float64
	rows, k := 0, -1
	for rest := csvOut; len(rest) > 0; {
		var line []byte
		line, rest = nextLine(rest)
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		n := 0
		for cells := line; ; n++ {
			cell := cells
			i := bytes.IndexByte(cells, ',')
			if i >= 0 {
				cell, cells = cells[:i], cells[i+1:]
			}
			v, err := csvValue(cell)
			if err != nil {
				return nil, modelErrorf("the model's text/csv answer row %d column %d: %s is not a number", rows+1, n+1, quoteCell(cell))
			}
			data = append(data, v)
			if i < 0 {
				break
			}
		}
		n++
		if k >= 0 && n != k {
			return nil, modelErrorf("the model's text/csv answer has %d values in row %d and %d in row 1", n, rows+1, k)
		}
		k = n
		rows++
	}
	if rows == 0 {
		return nil, modelErrorf("the model's answer holds no rows")
	}
	shape := []int{rows}
	if k > 1 {
		shape = append(shape, k)
	}
	for i, v := range data { // JSON has no NaN; the protocol's FP32 data cannot carry one either
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, modelErrorf("the model answered a non-finite value (%v) at value %d", v, i+1)
		}
	}
	b, err := json.Marshal(v2Response{ModelName: modelName, ID: id, Outputs: []v2Output{{Name: "predict", Shape: shape, Datatype: "FP32", Data: data}}})
	if err != nil {
		return nil, modelErrorf("cannot encode the answer: %v", err)
	}
	return b, nil
}

func csvValue(cell []byte) (float64, error) {
	c := bytes.TrimSpace(cell)
	if len(c) >= 2 && c[0] == '"' && c[len(c)-1] == '"' {
		c = c[1 : len(c)-1]
	}
	return strconv.ParseFloat(string(c), 64)
}

// v2Tensor is a tensor's metadata in the Open Inference Protocol; -1 is a variable dimension.
type v2Tensor struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"`
}

// V2Metadata is the Open Inference Protocol's model metadata (GET /v2/models/{name}) for m: one FP32
// input of shape [-1, features] and one FP32 output "predict" of shape [-1] or [-1, outputs] when m is an
// in-process model (it has a Signature), [-1, -1] tensors otherwise (a container's model does not say).
func V2Metadata(modelName, platform string, m Model) []byte {
	in, out := []int{-1, -1}, []int{-1, -1}
	if s, ok := m.(interface{ Signature() Signature }); ok {
		sig := s.Signature()
		in[1] = sig.Features
		if sig.Outputs == 1 {
			out = []int{-1}
		} else {
			out[1] = sig.Outputs
		}
	}
	b, _ := json.Marshal(struct {
		Name     string     `json:"name"`
		Versions []string   `json:"versions"`
		Platform string     `json:"platform"`
		Inputs   []v2Tensor `json:"inputs"`
		Outputs  []v2Tensor `json:"outputs"`
	}{modelName, []string{}, platform, []v2Tensor{{"input-0", "FP32", in}}, []v2Tensor{{"predict", "FP32", out}}})
	return b
}

// V2Error is an error's Open Inference Protocol answer: the status (an *Error's own, else 500) and the
// body {"error": "message"}. Only an *Error's message is shown; any other error is reported as internal.
func V2Error(err error) (status int, body []byte) {
	status, msg := 500, "internal error"
	var e *Error
	if errors.As(err, &e) {
		status, msg = e.Status, e.Message
	}
	body, _ = json.Marshal(map[string]string{"error": msg})
	return status, body
}
