package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/randid"
)

// Invoke calls one of svc's JSON operations in process, as caller: the way an engine acting as
// a role session (identity.EngineSession) uses the same API a client does. The input (any
// value that encodes as the operation's JSON request) is validated against the operation's
// input shape as a request body is; the handler authorizes and audits the call as for any
// other caller; the output is the response body as the wire carries it. An error keeps its
// kind and code (a validation failure is errs.Invalid with the code ValidationException).
func (svc *Service) Invoke(ctx context.Context, caller Caller, region, operation string, input any) (json.RawMessage, error) {
	op := svc.Model.Operations[operation]
	h := svc.Handlers[operation]
	if op == nil || h == nil {
		return nil, errs.E(errs.Invalid, "%s is not an operation of %s", operation, svc.Name).WithCode("UnknownOperationException")
	}
	body, err := json.Marshal(input)
	if err != nil {
		return nil, errs.E(errs.Invalid, "the %s input does not encode", operation, err)
	}
	v, err := decodeJSONValue(body)
	if err != nil {
		return nil, errs.E(errs.Invalid, "the %s input is not JSON: %v", operation, err).WithCode("SerializationException")
	}
	canonical, aerr := validateInput(svc, op, v)
	if aerr != nil {
		return nil, errs.E(errs.Invalid, "%s", aerr.Message).WithCode(aerr.Code)
	}
	req := &Request{
		Service: svc.Name, Operation: op.Name, Caller: caller, Region: region,
		RequestID: randid.UUID(), Secure: true, Time: time.Now(), Input: canonical, Audit: new(AuditNote),
	}
	out, err := h(ctx, req)
	if err != nil {
		return nil, err
	}
	enc := &encoder{fields: &fieldCache{}}
	tree := enc.resolve(reflect.ValueOf(out))
	var buf bytes.Buffer
	enc.json(&buf, tree, op.Output, nil)
	if enc.err != nil {
		return nil, errs.E(errs.Internal, "cannot encode the %s output", operation, enc.err)
	}
	if buf.Len() == 0 {
		return json.RawMessage("{}"), nil
	}
	return buf.Bytes(), nil
}
