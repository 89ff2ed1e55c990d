package awsapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
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

// outputTree turns a handler's result into a decoded tree by way of encoding/json, so handlers
// may return structs, maps or json.RawMessage.
func outputTree(out any) (any, error) {
	var b []byte
	switch o := out.(type) {
	case nil:
		return map[string]any{}, nil
	case json.RawMessage:
		b = o
	case []byte:
		b = o
	default:
		var err error
		if b, err = json.Marshal(out); err != nil {
			return nil, err
		}
	}
	return decodeJSONValue(b)
}

// writeJSON encodes v by shape s as awsJson/restJson bodies carry it: members named as in the
// model, members the shape does not know and nulls omitted, timestamps as epoch seconds. skip
// names structure members bound elsewhere (REST headers, path, payload); it applies at the top
// level only.
func writeJSON(buf *bytes.Buffer, v any, s *Shape, skip func(*Member) bool) {
	if s == nil {
		buf.WriteString("{}")
		return
	}
	switch s.Type {
	case "structure":
		m, _ := v.(map[string]any)
		buf.WriteByte('{')
		first := true
		for _, mem := range s.Members {
			x, ok := m[mem.Name]
			if !ok || x == nil || skip != nil && skip(mem) {
				continue
			}
			if !first {
				buf.WriteByte(',')
			}
			first = false
			writeString(buf, mem.Name)
			buf.WriteByte(':')
			writeJSON(buf, x, mem.Shape, nil)
		}
		buf.WriteByte('}')
	case "list":
		l, _ := v.([]any)
		buf.WriteByte('[')
		for i, x := range l {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSON(buf, x, s.Member.Shape, nil)
		}
		buf.WriteByte(']')
	case "map":
		m, _ := v.(map[string]any)
		buf.WriteByte('{')
		for i, k := range sortedKeys(m) {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, k)
			buf.WriteByte(':')
			writeJSON(buf, m[k], s.Value.Shape, nil)
		}
		buf.WriteByte('}')
	case "timestamp":
		if t, ok := parseTimestamp(v); ok {
			buf.WriteString(epochString(t))
		} else {
			buf.WriteString("null")
		}
	case "integer", "long", "float", "double":
		switch n := v.(type) {
		case json.Number:
			buf.WriteString(n.String())
		case string:
			writeString(buf, n) // NaN, Infinity
		default:
			buf.WriteString("null")
		}
	case "boolean":
		if b, ok := v.(bool); ok {
			buf.WriteString(strconv.FormatBool(b))
		} else {
			buf.WriteString("null")
		}
	default: // string, blob, document
		if str, ok := v.(string); ok {
			writeString(buf, str)
			return
		}
		b, _ := json.Marshal(v)
		buf.Write(b)
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
	switch s.Type {
	case "timestamp":
		t, ok := parseTimestamp(v)
		if !ok {
			return ""
		}
		t = t.UTC()
		if httpDate {
			return t.Format(time.RFC1123)
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

// blobBytes decodes a canonical blob (base64) or returns nil.
func blobBytes(v any) []byte {
	s, _ := v.(string)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return []byte(s)
	}
	return b
}
