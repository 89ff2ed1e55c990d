package awsapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"
)

// decodeJSONValue parses one JSON document into a decoded tree (numbers as json.Number). Empty
// input is the empty structure.
func decodeJSONValue(body []byte) (any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON document")
	}
	return v, nil
}

// validateInput canonicalizes a decoded input tree against op's input shape and renders it as
// canonical JSON, or returns the protocol's validation or serialization error.
func validateInput(svc *Service, op *Operation, v any) (json.RawMessage, *apiError) {
	if op.Input == nil {
		return json.RawMessage("{}"), nil
	}
	var c checker
	out := canonicalize(&c, v, op.Input, "")
	if c.typeErr != "" {
		return nil, serializationError(svc, op, c.typeErr)
	}
	if len(c.violations) > 0 {
		return nil, validationError(svc, op, c.validationMessage())
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, &apiError{Code: "InternalFailure", Status: 500, Message: "We encountered an internal error. Please try again.", cause: err}
	}
	return b, nil
}

// json encodes v by shape s as awsJson/restJson bodies carry it: members named as in the model,
// members the shape does not know and nils omitted, timestamps as epoch seconds. skip names
// structure members bound elsewhere (REST headers, path, payload); it applies at the top level.
func (e *encoder) json(buf *bytes.Buffer, v reflect.Value, s *Shape, skip func(*Member) bool) {
	if s == nil {
		buf.WriteString("{}")
		return
	}
	if !v.IsValid() {
		if s.Type == "structure" {
			buf.WriteString("{}")
		} else {
			buf.WriteString("null")
		}
		return
	}
	switch s.Type {
	case "structure":
		buf.WriteByte('{')
		first := true
		for _, mem := range s.Members {
			if skip != nil && skip(mem) {
				continue
			}
			x, ok := e.member(v, mem.Name)
			if !ok {
				continue
			}
			if !first {
				buf.WriteByte(',')
			}
			first = false
			writeString(buf, mem.Name)
			buf.WriteByte(':')
			e.json(buf, x, mem.Shape, nil)
		}
		buf.WriteByte('}')
	case "list":
		buf.WriteByte('[')
		for i, x := range e.list(v) {
			if i > 0 {
				buf.WriteByte(',')
			}
			e.json(buf, x, s.Member.Shape, nil)
		}
		buf.WriteByte(']')
	case "map":
		buf.WriteByte('{')
		for i, en := range e.entries(v) {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, en.key)
			buf.WriteByte(':')
			e.json(buf, en.val, s.Value.Shape, nil)
		}
		buf.WriteByte('}')
	case "timestamp":
		if t, ok := parseTimestamp(leaf(v)); ok {
			buf.WriteString(epochString(t))
		} else {
			buf.WriteString("null")
		}
	case "integer", "long", "float", "double":
		switch n := leaf(v).(type) {
		case json.Number:
			buf.WriteString(n.String())
		case string:
			if _, err := strconv.ParseFloat(n, 64); err == nil {
				buf.WriteString(n) // a number held in a string
			} else {
				writeString(buf, n) // NaN, Infinity
			}
		default:
			buf.WriteString("null")
		}
	case "boolean":
		if b, ok := leaf(v).(bool); ok {
			buf.WriteString(strconv.FormatBool(b))
		} else {
			buf.WriteString("null")
		}
	default: // string, blob, document
		switch x := leaf(v).(type) {
		case string:
			writeString(buf, x)
		default:
			b, err := json.Marshal(x)
			if err != nil && e.err == nil {
				e.err = err
			}
			buf.Write(b)
		}
	}
}

// writeString writes s as a JSON string, escaping as encoding/json does (HTML characters
// included, invalid UTF-8 replaced by U+FFFD).
func writeString(buf *bytes.Buffer, s string) {
	const hexdig = "0123456789abcdef"
	buf.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			buf.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				buf.WriteByte('\\')
				buf.WriteByte(c)
			case '\n':
				buf.WriteString(`\n`)
			case '\r':
				buf.WriteString(`\r`)
			case '\t':
				buf.WriteString(`\t`)
			default:
				buf.WriteString(`\u00`)
				buf.WriteByte(hexdig[c>>4])
				buf.WriteByte(hexdig[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			buf.WriteString(s[start:i])
			switch r {
			case utf8.RuneError:
				buf.WriteString(`\ufffd`)
			case '\u2028':
				buf.WriteString(`\u2028`)
			default:
				buf.WriteString(`\u2029`)
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	buf.WriteString(s[start:])
	buf.WriteByte('"')
}

// scalarFromString converts a string from a query parameter, header or URI label into the decoded
// form of shape s. ok is false when the text does not fit the type.
func scalarFromString(str string, s *Shape) (v any, ok bool) {
	switch s.Type {
	case "integer", "long":
		if _, err := strconv.ParseInt(str, 10, 64); err != nil {
			return nil, false
		}
		return json.Number(str), true
	case "float", "double":
		if str == "NaN" || str == "Infinity" || str == "-Infinity" {
			return str, true
		}
		if _, err := strconv.ParseFloat(str, 64); err != nil {
			return nil, false
		}
		return json.Number(str), true
	case "boolean":
		switch str {
		case "true":
			return true, true
		case "false":
			return false, true
		}
		return nil, false
	case "timestamp":
		t, ok := parseTimestamp(str)
		if !ok {
			return nil, false
		}
		return t.UTC().Format(time.RFC3339Nano), true
	case "blob", "string":
		return str, true
	}
	return nil, false
}

// scalarText renders a decoded scalar for XML bodies and HTTP headers: timestamps in ISO 8601
// (or the HTTP date format when httpDate), booleans lower-case.
func scalarText(v any, s *Shape, httpDate bool) string {
	if rv, ok := v.(reflect.Value); ok {
		v = leaf(rv)
	}
	switch s.Type {
	case "timestamp":
		t, ok := parseTimestamp(v)
		if !ok {
			return ""
		}
		t = t.UTC()
		if httpDate {
			return t.Format("Mon, 02 Jan 2006 15:04:05 GMT") // HTTP-date (RFC 9110)
		}
		if t.Nanosecond() == 0 {
			return t.Format("2006-01-02T15:04:05Z")
		}
		return t.Format("2006-01-02T15:04:05.000Z")
	case "boolean":
		if b, ok := v.(bool); ok {
			return strconv.FormatBool(b)
		}
	}
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// blobBytes returns a blob's bytes: a []byte as is, a string as base64 (or, failing that, its
// text).
func blobBytes(v reflect.Value) []byte {
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
		return v.Bytes()
	}
	s, _ := leaf(v).(string)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return []byte(s)
	}
	return b
}
