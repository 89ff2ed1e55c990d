// Package apicall is the thin glue every service handler package shares: it decodes a
// request's canonical JSON input into the handler's wire struct, hands the authenticated
// caller (already the domain's identity.Caller) and the request's facts to the domain, and
// carries the authorization decision the domain makes back into the request's audit note.
package apicall

import (
	"context"
	"encoding/json"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
)

// Handle adapts a typed handler to awsapi.Handler: it decodes the input into In and lets the
// domain record its decision in the request's audit note.
func Handle[In any](fn func(ctx context.Context, req *awsapi.Request, in *In) (any, error)) awsapi.Handler {
	return func(ctx context.Context, req *awsapi.Request) (any, error) {
		in := new(In)
		if len(req.Input) > 0 {
			if err := json.Unmarshal(req.Input, in); err != nil {
				return nil, errs.E(errs.Invalid, "the request does not match the %s input shape: %v", req.Operation, err)
			}
		}
		note := req.Audit
		if note == nil {
			note = new(identity.Note)
		}
		// The domain records its decision in the call's own note as it decides, before it
		// writes: the audit record committed with a change must say who was allowed and why.
		out, err := fn(identity.WithNote(ctx, note), req, in)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = struct{}{}
		}
		return out, nil
	}
}

// Context returns the request facts that global condition keys need.
func Context(req *awsapi.Request) identity.RequestContext {
	return identity.RequestContext{Region: req.Region, Secure: req.Secure, Time: req.Time}
}

// Call is the request as the identity service sees it: the caller and the request's facts.
func Call(req *awsapi.Request) identity.Call {
	return identity.Call{Caller: req.Caller, Context: Context(req)}
}

// Tag is the wire shape of a tag in every service here.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// TagMap turns a tag list into a map; a repeated key is an error.
func TagMap(tags []Tag) (map[string]string, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		if _, dup := m[t.Key]; dup {
			return nil, errs.E(errs.Invalid, "tag key %q appears more than once", t.Key)
		}
		m[t.Key] = t.Value
	}
	return m, nil
}
