package awsapi

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
)

// maxXMLDepth bounds the nesting of an XML request body, as maxJSONDepth bounds JSON.
const maxXMLDepth = 64

// restXMLCodec is restXml (S3): input bound to the URI, query and headers, and an XML or raw
// payload; output the same way back; errors as S3 writes them.
type restXMLCodec struct{}

func (restXMLCodec) decode(ck *checker, c *call, labels map[string]string, _ url.Values, body []byte) (any, bool, *apiError) {
	v, err := decodeRESTWith(ck, c.op, labels, c.r, body, c.stream != nil, func(b []byte, s *Shape) (any, error) { return decodeXMLDocument(ck, b, s) })
	if err != nil {
		return nil, false, &apiError{Code: "MalformedXML", Status: 400,
			Message: "The XML you provided was not well-formed or did not validate against our published schema", cause: err}
	}
	return v, false, nil
}

func (restXMLCodec) encodeOutput(enc *encoder, buf *bytes.Buffer, h http.Header, c *call, tree reflect.Value) int {
	s := c.op.Output
	if s == nil {
		return c.op.ResponseCode
	}
	enc.restHeaders(h, s, tree)
	if s.Payload != "" {
		mem := s.MemberByName(s.Payload)
		x, ok := enc.member(tree, s.Payload)
		if mem == nil || !ok {
			return c.op.ResponseCode
		}
		switch mem.Shape.Type {
		case "blob":
			setDefault(h, "Content-Type", "application/octet-stream")
			if !enc.setStream(x) {
				buf.Write(blobBytes(x))
			}
		case "string":
			str, _ := leaf(x).(string)
			setDefault(h, "Content-Type", "text/plain")
			buf.WriteString(str)
		default:
			setDefault(h, "Content-Type", "application/xml")
			buf.WriteString(xml.Header)
			name := mem.LocationName
			if name == "" {
				name = mem.Shape.Name
			}
			enc.xmlRoot(buf, name, mem.XMLNamespace, x, mem.Shape, func(*Member) bool { return false })
		}
		return c.op.ResponseCode
	}
	if !hasBodyMembers(s) {
		return c.op.ResponseCode
	}
	setDefault(h, "Content-Type", "application/xml")
	buf.WriteString(xml.Header)
	name := s.LocationName
	if name == "" {
		name = strings.TrimSuffix(s.Name, "Output")
	}
	enc.xmlRoot(buf, name, s.XMLNamespace, tree, s, func(m *Member) bool { return m.Location != "" })
	return c.op.ResponseCode
}

func (restXMLCodec) encodeError(buf *bytes.Buffer, h http.Header, _ *Service, e *apiError, requestID string) {
	h.Set("Content-Type", "application/xml")
	buf.WriteString(xml.Header + "<Error><Code>")
	xmlEscape(buf, e.Code)
	buf.WriteString("</Code><Message>")
	xmlEscape(buf, e.Message)
	buf.WriteString("</Message>")
	if e.Resource != "" {
		buf.WriteString("<Resource>")
		xmlEscape(buf, e.Resource)
		buf.WriteString("</Resource>")
	}
	buf.WriteString("<RequestId>")
	xmlEscape(buf, requestID)
	buf.WriteString("</RequestId></Error>\n")
}

func setDefault(h http.Header, k, v string) {
	if h.Get(k) == "" {
		h.Set(k, v)
	}
}

func hasBodyMembers(s *Shape) bool {
	for _, m := range s.Members {
		if m.Location == "" {
			return true
		}
	}
	return false
}

// xmlRoot writes the root element name (with namespace ns) of structure s, skipping members skip
// says are bound elsewhere.
func (e *encoder) xmlRoot(buf *bytes.Buffer, name, ns string, v reflect.Value, s *Shape, skip func(*Member) bool) {
	if s.Type != "structure" {
		e.xml(buf, name, v, s)
		return
	}
	buf.WriteString("<" + name)
	if ns != "" {
		buf.WriteString(` xmlns="`)
		xmlEscape(buf, ns)
		buf.WriteString(`"`)
	}
	buf.WriteString(">")
	if v.IsValid() {
		for _, mem := range s.Members {
			if skip(mem) {
				continue
			}
			if x, ok := e.member(v, mem.Name); ok {
				e.xmlMember(buf, mem, x)
			}
		}
	}
	buf.WriteString("</" + name + ">")
}

// decodeXMLDocument parses an XML body into a decoded tree shaped by s: structures as maps by
// member name, lists (wrapped or flattened) and maps as JSON-like values, scalars converted from
// their text. The root element's name is not checked, as AWS does not check it. Unknown
// elements are skipped.
func decodeXMLDocument(ck *checker, body []byte, s *Shape) (any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				return nil, errors.New("no root element")
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			v, err := xmlValue(ck, d, s, "", 1)
			if err != nil {
				return nil, err
			}
			// Nothing but whitespace, comments and processing instructions may follow.
			for {
				tok, err := d.Token()
				if err == io.EOF {
					return v, nil
				}
				if err != nil {
					return nil, err
				}
				switch x := tok.(type) {
				case xml.CharData:
					if len(bytes.TrimSpace(x)) > 0 {
						return nil, errors.New("data after the root element")
					}
				case xml.StartElement:
					return nil, errors.New("a second root element")
				}
			}
		case xml.Directive:
			return nil, errors.New("XML directives (DOCTYPE) are not accepted")
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("text before the root element")
			}
		}
	}
}

// xmlValue decodes the element whose start was just read, as shape s.
func xmlValue(ck *checker, d *xml.Decoder, s *Shape, path string, depth int) (any, error) {
	if depth > maxXMLDepth {
		return nil, errors.New("XML nested too deeply")
	}
	switch s.Type {
	case "structure":
		out := map[string]any{}
		err := xmlChildren(d, func(child xml.StartElement) error {
			mem := xmlMemberByName(s, child.Name.Local)
			if mem == nil {
				return d.Skip()
			}
			p := joinPath(path, mem.Name)
			if (mem.Flattened || mem.Shape.Flattened) && (mem.Shape.Type == "list" || mem.Shape.Type == "map") {
				if mem.Shape.Type == "list" {
					v, err := xmlValue(ck, d, mem.Shape.Member.Shape, p, depth+1)
					if err != nil {
						return err
					}
					l, _ := out[mem.Name].([]any)
					out[mem.Name] = append(l, v)
					return nil
				}
				m, _ := out[mem.Name].(map[string]any)
				if m == nil {
					m = map[string]any{}
				}
				if err := xmlEntry(ck, d, mem.Shape, m, p, depth+1); err != nil {
					return err
				}
				out[mem.Name] = m
				return nil
			}
			v, err := xmlValue(ck, d, mem.Shape, p, depth+1)
			if err != nil {
				return err
			}
			out[mem.Name] = v
			return nil
		})
		return out, err
	case "list":
		elem := "member"
		if s.Member.LocationName != "" {
			elem = s.Member.LocationName
		}
		out := []any{}
		err := xmlChildren(d, func(child xml.StartElement) error {
			if child.Name.Local != elem {
				return d.Skip()
			}
			v, err := xmlValue(ck, d, s.Member.Shape, path, depth+1)
			if err != nil {
				return err
			}
			out = append(out, v)
			return nil
		})
		return out, err
	case "map":
		out := map[string]any{}
		err := xmlChildren(d, func(child xml.StartElement) error {
			if child.Name.Local != "entry" {
				return d.Skip()
			}
			return xmlEntry(ck, d, s, out, path, depth+1)
		})
		return out, err
	default:
		var text strings.Builder
		for {
			tok, err := d.Token()
			if err != nil {
				return nil, err
			}
			switch t := tok.(type) {
			case xml.CharData:
				text.Write(t)
			case xml.StartElement:
				return nil, errors.New("element <" + t.Name.Local + "> inside a value")
			case xml.EndElement:
				v, ok := scalarFromString(text.String(), s)
				if !ok {
					ck.wrongType(path, "a "+s.Type, text.String())
					return nil, nil
				}
				return v, nil
			}
		}
	}
}

// xmlEntry decodes one map entry (<key>…</key><value>…</value>) into out.
func xmlEntry(ck *checker, d *xml.Decoder, s *Shape, out map[string]any, path string, depth int) error {
	keyName, valName := "key", "value"
	if s.Key.LocationName != "" {
		keyName = s.Key.LocationName
	}
	if s.Value.LocationName != "" {
		valName = s.Value.LocationName
	}
	var key, val any
	err := xmlChildren(d, func(child xml.StartElement) error {
		var err error
		switch child.Name.Local {
		case keyName:
			key, err = xmlValue(ck, d, s.Key.Shape, path, depth+1)
		case valName:
			val, err = xmlValue(ck, d, s.Value.Shape, path, depth+1)
		default:
			err = d.Skip()
		}
		return err
	})
	if k, ok := key.(string); ok && err == nil {
		out[k] = val
	}
	return err
}

// xmlChildren calls f for each child element of the element whose start was just read (f must
// consume the child through its end), and returns after that element's end.
func xmlChildren(d *xml.Decoder, f func(xml.StartElement) error) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := f(t); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

func xmlMemberByName(s *Shape, name string) *Member {
	for _, m := range s.Members {
		if m.Location == "" && m.wireName() == name {
			return m
		}
	}
	return nil
}

func joinPath(path, name string) string {
	if path == "" {
		return lowerFirst(name)
	}
	return path + "." + lowerFirst(name)
}
