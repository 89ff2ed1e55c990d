package awsapi

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"reflect"
	"strings"
)

// matchPath matches a request path (still percent-encoded) against op's URI template and returns
// the labels, decoded.
func (op *Operation) matchPath(rawPath string) (map[string]string, bool) {
	if op.RequestURI == "" {
		return nil, false
	}
	parts := strings.Split(strings.TrimPrefix(rawPath, "/"), "/")
	if len(op.path) == 0 {
		return nil, rawPath == "/" || rawPath == ""
	}
	labels := map[string]string{}
	for i, seg := range op.path {
		if i >= len(parts) {
			return nil, false
		}
		if seg.greedy {
			v, err := url.PathUnescape(strings.Join(parts[i:], "/"))
			if err != nil || v == "" {
				return nil, false
			}
			labels[seg.label] = v
			return labels, true
		}
		v, err := url.PathUnescape(parts[i])
		if err != nil {
			return nil, false
		}
		if seg.label == "" {
			if v != seg.literal {
				return nil, false
			}
			continue
		}
		if v == "" {
			return nil, false
		}
		labels[seg.label] = v
	}
	return labels, len(parts) == len(op.path)
}

// decodeREST builds the decoded input tree of a restJson1 request from its URI labels, query
// string, headers and body (a JSON document, or the payload member).
func decodeREST(c *checker, op *Operation, labels map[string]string, r *http.Request, body []byte, streamed bool) (any, error) {
	return decodeRESTWith(c, op, labels, r, body, streamed, func(b []byte, _ *Shape) (any, error) { return decodeJSONValue(b) })
}

// decodeRESTWith is decodeREST with the protocol's body document decoder (JSON or XML), which
// is given the shape the document holds. With streamed, the payload goes to the handler as a
// stream and is not decoded.
func decodeRESTWith(c *checker, op *Operation, labels map[string]string, r *http.Request, body []byte, streamed bool,
	document func(body []byte, s *Shape) (any, error)) (any, error) {
	s := op.Input
	out := map[string]any{}
	if s == nil {
		return out, nil
	}
	query := r.URL.Query()
	bodyBound := false
	for _, mem := range s.Members {
		name := mem.wireName()
		switch mem.Location {
		case "uri":
			if v, ok := labels[name]; ok {
				setScalar(c, out, mem, v)
			}
		case "querystring":
			if mem.Shape.Type == "list" {
				if vs, ok := query[name]; ok {
					l := make([]any, 0, len(vs))
					for _, x := range vs {
						if v, ok := scalarFromString(x, mem.Shape.Member.Shape); ok {
							l = append(l, v)
						}
					}
					out[mem.Name] = l
				}
			} else if query.Has(name) {
				setScalar(c, out, mem, query.Get(name))
			}
		case "header":
			if vs := r.Header[mem.headerKey]; len(vs) > 0 {
				setScalar(c, out, mem, strings.Join(vs, ","))
			}
		case "headers":
			prefix := strings.ToLower(name)
			m := map[string]any{}
			for k, vs := range r.Header {
				if lk := strings.ToLower(k); strings.HasPrefix(lk, prefix) && len(vs) > 0 {
					m[lk[len(prefix):]] = vs[0]
				}
			}
			if len(m) > 0 {
				out[mem.Name] = m
			}
		default:
			if mem.Name == s.Payload {
				bodyBound = true
				if streamed {
					continue
				}
				switch mem.Shape.Type {
				case "blob":
					out[mem.Name] = base64.StdEncoding.EncodeToString(body)
				case "string":
					out[mem.Name] = string(body)
				default:
					if len(bytes.TrimSpace(body)) > 0 {
						v, err := document(body, mem.Shape)
						if err != nil {
							return nil, err
						}
						out[mem.Name] = v
					}
				}
			}
		}
	}
	if !bodyBound && s.Payload == "" && len(bytes.TrimSpace(body)) > 0 {
		v, err := document(body, s)
		if err != nil {
			return nil, err
		}
		m, ok := v.(map[string]any)
		if !ok {
			c.wrongType("", "a structure", v)
			return out, nil
		}
		for _, mem := range s.Members {
			if mem.Location == "" {
				if x, ok := m[mem.Name]; ok {
					out[mem.Name] = x
				}
			}
		}
	}
	return out, nil
}

func setScalar(c *checker, out map[string]any, mem *Member, text string) {
	v, ok := scalarFromString(text, mem.Shape)
	if !ok {
		c.wrongType(mem.jsonPath, "a "+mem.Shape.Type, text)
		return
	}
	out[mem.Name] = v
}

// rest encodes a restJson1 response: header-bound members as headers, the payload member (or
// the remaining members as JSON) as the body. It returns the body and its content type.
func (e *encoder) rest(h http.Header, op *Operation, v reflect.Value) (body []byte, contentType string) {
	s := op.Output
	if s == nil {
		return nil, ""
	}
	e.restHeaders(h, s, v)
	if s.Payload != "" {
		mem := s.MemberByName(s.Payload)
		x, ok := e.member(v, s.Payload)
		if mem == nil || !ok {
			return nil, ""
		}
		switch mem.Shape.Type {
		case "blob":
			if e.setStream(x) {
				return nil, "application/octet-stream"
			}
			return blobBytes(x), "application/octet-stream"
		case "string":
			str, _ := leaf(x).(string)
			return []byte(str), "text/plain"
		}
		var buf bytes.Buffer
		e.json(&buf, x, mem.Shape, nil)
		return buf.Bytes(), "application/json"
	}
	var buf bytes.Buffer
	e.json(&buf, v, s, func(mem *Member) bool { return mem.Location != "" })
	return buf.Bytes(), "application/json"
}

// restHeaders writes the header-bound members of output shape s (REST protocols).
func (e *encoder) restHeaders(h http.Header, s *Shape, v reflect.Value) {
	for _, mem := range s.Members {
		x, ok := e.member(v, mem.Name)
		if !ok {
			continue
		}
		switch mem.Location {
		case "header":
			h[mem.headerKey] = []string{scalarText(leaf(x), mem.Shape, true)}
		case "headers":
			for _, en := range e.entries(x) {
				// As sent: S3's user metadata keys are lower case, and clients keep the case
				// they receive (a canonicalized X-Amz-Meta-Run would read back as "Run").
				h[strings.ToLower(mem.wireName()+en.key)] = []string{scalarText(leaf(en.val), mem.Shape.Value.Shape, true)}
			}
		}
	}
}
