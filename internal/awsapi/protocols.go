package awsapi

import (
	"bytes"
	"net/http"
	"net/url"
	"reflect"
)

// A codec is one wire protocol: how a request becomes the operation's decoded input, and how a
// result and an error go back on the wire. The Server holds one per protocol and picks it when it
// routes a request; nothing else in the request pipeline knows which protocol it speaks.
type codec interface {
	// decode returns the request's input as a decoded JSON-like tree for validation. skip
	// reports an operation without input, whose canonical input is "{}". Member-level type and
	// constraint problems go to ck; a body that cannot be read at all is an error.
	decode(ck *checker, c *call, labels map[string]string, form url.Values, body []byte) (v any, skip bool, aerr *apiError)
	// encodeOutput writes the handler's resolved result into buf and its headers into h, and
	// returns the HTTP status of success.
	encodeOutput(enc *encoder, buf *bytes.Buffer, h http.Header, c *call, tree reflect.Value) int
	// encodeError writes e into buf and h. svc is nil when the request never reached a service.
	encodeError(buf *bytes.Buffer, h http.Header, svc *Service, e *apiError, requestID string)
}

// codecs are the protocols the Server speaks, by Model.Protocol.
var codecs = map[string]codec{
	ProtocolJSON:     jsonCodec{},
	ProtocolQuery:    queryCodec{},
	ProtocolRESTJSON: restJSONCodec{},
	ProtocolRESTXML:  restXMLCodec{},
}

// setProtocol records which protocol a request speaks, and so which codec answers it.
func (c *call) setProtocol(p string) {
	c.protocol, c.codec = p, codecs[p]
}

// jsonCodec is awsJson1_0 / awsJson1_1: the operation in X-Amz-Target, JSON in and out.
type jsonCodec struct{}

func (jsonCodec) decode(_ *checker, _ *call, _ map[string]string, _ url.Values, body []byte) (any, bool, *apiError) {
	v, err := decodeJSONValue(body)
	if err != nil {
		return nil, false, &apiError{Code: "SerializationException", Status: 400, Message: "The request body is not valid JSON", cause: err}
	}
	return v, false, nil
}

func (jsonCodec) encodeOutput(enc *encoder, buf *bytes.Buffer, h http.Header, c *call, tree reflect.Value) int {
	h.Set("Content-Type", "application/x-amz-json-"+jsonVersion(c.svc.Model))
	enc.json(buf, tree, c.op.Output, nil)
	return http.StatusOK
}

func (jsonCodec) encodeError(buf *bytes.Buffer, h http.Header, svc *Service, e *apiError, _ string) {
	v := "1.1"
	if svc != nil {
		v = jsonVersion(svc.Model)
	}
	h.Set("Content-Type", "application/x-amz-json-"+v)
	h.Set("X-Amzn-ErrorType", e.Code)
	if svc != nil && svc.Model.QueryCompatible {
		// awsQueryCompatible: SDKs take the code (the query protocol's) from this header.
		fault := "Sender"
		if e.Status >= 500 {
			fault = "Receiver"
		}
		h.Set("X-Amzn-Query-Error", e.Code+";"+fault)
	}
	buf.WriteString(`{"__type":`)
	writeString(buf, e.Code)
	buf.WriteString(`,"message":`)
	writeString(buf, e.Message)
	writeErrorMembers(buf, e)
	buf.WriteString("}")
}

// writeErrorMembers appends the error shape's other members to a JSON error body.
func writeErrorMembers(buf *bytes.Buffer, e *apiError) {
	for _, m := range e.Members {
		buf.WriteByte(',')
		writeString(buf, m.Name)
		buf.WriteByte(':')
		buf.Write(m.Value)
	}
}

func jsonVersion(m *Model) string {
	if m.JSONVersion == "" {
		return "1.0"
	}
	return m.JSONVersion
}

// queryCodec is awsQuery: Action and parameters in a form or the URL, XML out.
type queryCodec struct{}

func (queryCodec) decode(ck *checker, c *call, _ map[string]string, form url.Values, _ []byte) (any, bool, *apiError) {
	if c.op.Input == nil {
		return nil, true, nil
	}
	return decodeQuery(ck, form, c.op.Input), false, nil
}

func (queryCodec) encodeOutput(enc *encoder, buf *bytes.Buffer, h http.Header, c *call, tree reflect.Value) int {
	h.Set("Content-Type", "text/xml")
	enc.writeQueryResponse(buf, c.svc.Model, c.op, tree, c.id)
	return http.StatusOK
}

func (queryCodec) encodeError(buf *bytes.Buffer, h http.Header, svc *Service, e *apiError, requestID string) {
	ns := ""
	if svc != nil {
		ns = svc.Model.XMLNamespace
	}
	h.Set("Content-Type", "text/xml")
	writeQueryError(buf, ns, e, requestID)
}

// restJSONCodec is restJson1: input bound to the URI, query, headers and a JSON or raw body.
type restJSONCodec struct{}

func (restJSONCodec) decode(ck *checker, c *call, labels map[string]string, _ url.Values, body []byte) (any, bool, *apiError) {
	v, err := decodeREST(ck, c.op, labels, c.r, body, c.stream != nil)
	if err != nil {
		return nil, false, &apiError{Code: "SerializationException", Status: 400, Message: "The request body is not valid JSON", cause: err}
	}
	return v, false, nil
}

func (restJSONCodec) encodeOutput(enc *encoder, buf *bytes.Buffer, h http.Header, c *call, tree reflect.Value) int {
	b, ct := enc.rest(h, c.op, tree)
	if ct != "" && h.Get("Content-Type") == "" {
		h.Set("Content-Type", ct)
	}
	buf.Write(b)
	return c.op.ResponseCode
}

func (restJSONCodec) encodeError(buf *bytes.Buffer, h http.Header, _ *Service, e *apiError, _ string) {
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", e.Code)
	buf.WriteString(`{"message":`)
	writeString(buf, e.Message)
	writeErrorMembers(buf, e)
	buf.WriteString("}")
}
