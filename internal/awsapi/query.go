package awsapi

import (
	"bytes"
	"encoding/xml"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// decodeQuery turns awsQuery parameters into a decoded tree by the input shape: structure members
// as Prefix.Name, lists as Name.member.N (or Name.N when flattened), maps as Name.entry.N.key and
// Name.entry.N.value. Values that do not fit their type are reported on c.
func decodeQuery(c *checker, vals url.Values, s *Shape) map[string]any {
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	qd := &queryDecoder{vals: vals, keys: keys, c: c}
	out, _ := qd.structure("", s, "").(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

type queryDecoder struct {
	vals url.Values
	keys []string // sorted
	c    *checker
}

// has reports whether any parameter is prefix itself or lies under prefix.
func (q *queryDecoder) has(prefix string) bool {
	i := sort.SearchStrings(q.keys, prefix)
	if i < len(q.keys) && q.keys[i] == prefix {
		return true
	}
	dot := prefix + "."
	j := sort.SearchStrings(q.keys, dot)
	return j < len(q.keys) && strings.HasPrefix(q.keys[j], dot)
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func (q *queryDecoder) value(key string, s *Shape, path string) any {
	switch s.Type {
	case "structure":
		return q.structure(key, s, path)
	case "list":
		return q.list(key, s, path)
	case "map":
		return q.mapValue(key, s, path)
	}
	raw, ok := q.vals[key]
	if !ok || len(raw) == 0 {
		return nil
	}
	v, ok := scalarFromString(raw[0], s)
	if !ok {
		q.c.violate(raw[0], path, "Member must be of type "+s.Type)
		return nil
	}
	return v
}

func (q *queryDecoder) structure(prefix string, s *Shape, path string) any {
	out := map[string]any{}
	for _, mem := range s.Members {
		key := join(prefix, mem.wireName())
		if !q.has(key) {
			continue
		}
		if v := q.value(key, mem.Shape, join(path, mem.jsonPath)); v != nil {
			out[mem.Name] = v
		}
	}
	return out
}

func (q *queryDecoder) list(key string, s *Shape, path string) any {
	if v, ok := q.vals[key]; ok && len(v) > 0 && v[0] == "" {
		return []any{} // an explicitly empty list
	}
	elemPrefix := key + ".member"
	if s.Member.LocationName != "" {
		elemPrefix = key + "." + s.Member.LocationName
	}
	if s.Flattened {
		elemPrefix = key
	}
	var out []any
	for n := 1; ; n++ {
		k := elemPrefix + "." + strconv.Itoa(n)
		if !q.has(k) {
			break
		}
		if v := q.value(k, s.Member.Shape, path+"."+strconv.Itoa(n)+".member"); v != nil {
			out = append(out, v)
		}
	}
	if out == nil {
		out = []any{}
	}
	return out
}

func (q *queryDecoder) mapValue(key string, s *Shape, path string) any {
	entry := key + ".entry"
	if s.Flattened {
		entry = key
	}
	keyName, valName := "key", "value"
	if s.Key.LocationName != "" {
		keyName = s.Key.LocationName
	}
	if s.Value.LocationName != "" {
		valName = s.Value.LocationName
	}
	out := map[string]any{}
	for n := 1; ; n++ {
		e := entry + "." + strconv.Itoa(n)
		if !q.has(e) {
			break
		}
		k := q.vals.Get(e + "." + keyName)
		if v := q.value(e+"."+valName, s.Value.Shape, path+".value"); v != nil {
			out[k] = v
		}
	}
	return out
}

// writeQueryResponse encodes an awsQuery response:
// <OpResponse xmlns=NS><OpResult>…</OpResult><ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></OpResponse>.
func (e *encoder) writeQueryResponse(buf *bytes.Buffer, m *Model, op *Operation, v reflect.Value, requestID string) {
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	buf.WriteString("<" + op.Name + "Response xmlns=\"")
	xmlEscape(buf, m.XMLNamespace)
	buf.WriteString("\">\n")
	if op.Output != nil {
		wrapper := op.ResultWrapper
		if wrapper == "" {
			wrapper = op.Name + "Result"
		}
		e.xml(buf, wrapper, v, op.Output)
		buf.WriteByte('\n')
	}
	buf.WriteString("<ResponseMetadata><RequestId>")
	xmlEscape(buf, requestID)
	buf.WriteString("</RequestId></ResponseMetadata>\n</" + op.Name + "Response>\n")
}

// xml writes element name holding v encoded by shape s.
func (e *encoder) xml(buf *bytes.Buffer, name string, v reflect.Value, s *Shape) {
	switch s.Type {
	case "structure":
		buf.WriteString("<" + name + ">")
		if v.IsValid() {
			for _, mem := range s.Members {
				if x, ok := e.member(v, mem.Name); ok {
					e.xmlMember(buf, mem, x)
				}
			}
		}
		buf.WriteString("</" + name + ">")
	case "list":
		elem := "member"
		if s.Member.LocationName != "" {
			elem = s.Member.LocationName
		}
		buf.WriteString("<" + name + ">")
		for _, x := range e.list(v) {
			e.xml(buf, elem, x, s.Member.Shape)
		}
		buf.WriteString("</" + name + ">")
	case "map":
		buf.WriteString("<" + name + ">")
		e.xmlEntries(buf, "entry", v, s)
		buf.WriteString("</" + name + ">")
	default:
		buf.WriteString("<" + name + ">")
		if v.IsValid() {
			xmlEscape(buf, scalarText(leaf(v), s, false))
		}
		buf.WriteString("</" + name + ">")
	}
}

// xmlMember writes one structure member, honouring flattened lists and maps.
func (e *encoder) xmlMember(buf *bytes.Buffer, mem *Member, v reflect.Value) {
	name := mem.wireName()
	s := mem.Shape
	flat := mem.Flattened || s.Flattened
	switch {
	case flat && s.Type == "list":
		for _, x := range e.list(v) {
			e.xml(buf, name, x, s.Member.Shape)
		}
	case flat && s.Type == "map":
		e.xmlEntries(buf, name, v, s)
	default:
		e.xml(buf, name, v, s)
	}
}

func (e *encoder) xmlEntries(buf *bytes.Buffer, entryName string, v reflect.Value, s *Shape) {
	keyName, valName := "key", "value"
	if s.Key.LocationName != "" {
		keyName = s.Key.LocationName
	}
	if s.Value.LocationName != "" {
		valName = s.Value.LocationName
	}
	for _, en := range e.entries(v) {
		buf.WriteString("<" + entryName + ">")
		e.xml(buf, keyName, reflect.ValueOf(en.key), s.Key.Shape)
		e.xml(buf, valName, en.val, s.Value.Shape)
		buf.WriteString("</" + entryName + ">")
	}
}

// writeQueryError encodes an awsQuery error response.
func writeQueryError(buf *bytes.Buffer, ns string, e *apiError, requestID string) {
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<ErrorResponse")
	if ns != "" {
		buf.WriteString(` xmlns="`)
		xmlEscape(buf, ns)
		buf.WriteString(`"`)
	}
	buf.WriteString(">\n  <Error>\n    <Type>")
	if e.receiverFault() {
		buf.WriteString("Receiver")
	} else {
		buf.WriteString("Sender")
	}
	buf.WriteString("</Type>\n    <Code>")
	xmlEscape(buf, e.Code)
	buf.WriteString("</Code>\n    <Message>")
	xmlEscape(buf, e.Message)
	buf.WriteString("</Message>\n  </Error>\n  <RequestId>")
	xmlEscape(buf, requestID)
	buf.WriteString("</RequestId>\n</ErrorResponse>\n")
}

func xmlEscape(buf *bytes.Buffer, s string) {
	_ = xml.EscapeText(buf, []byte(s))
}
