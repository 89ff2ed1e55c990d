package awsapi

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
)

// TestInvoke: an in-process call is validated against the operation's input shape like a
// request body, reaches the handler with its caller, and comes back encoded by the output shape.
func TestInvoke(t *testing.T) {
	var got *Request
	svc, err := NewService("sagemaker", map[string]Handler{
		"DescribePipeline": func(ctx context.Context, req *Request) (any, error) {
			got = req
			return map[string]any{"PipelineName": "p", "CreationTime": time.Unix(1700000000, 0), "NotInTheShape": 1}, nil
		},
	}, ErrorCodes{})
	if err != nil {
		t.Fatal(err)
	}
	caller := identity.Caller{Account: "111122223333", ARN: "arn:aws:sts::111122223333:assumed-role/r/s"}
	out, err := svc.Invoke(context.Background(), caller, "us-east-1", "DescribePipeline", map[string]any{"PipelineName": "p"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil || m["PipelineName"] != "p" || m["CreationTime"] != 1.7e9 || m["NotInTheShape"] != nil {
		t.Errorf("output %s (%v); want the shape's members, the time in epoch seconds", out, err)
	}
	if got == nil || got.Caller.ARN != caller.ARN || string(got.Input) != `{"PipelineName":"p"}` || got.Operation != "DescribePipeline" {
		t.Errorf("the handler got %+v", got)
	}
	got = nil
	_, err = svc.Invoke(context.Background(), caller, "us-east-1", "DescribePipeline", map[string]any{"PipelineName": ""})
	if !errs.Is(err, errs.Invalid) || errs.CodeOf(err) != "ValidationException" || got != nil {
		t.Errorf("an input the shape refuses: %v (code %q); the handler ran: %v", err, errs.CodeOf(err), got != nil)
	}
	if _, err := svc.Invoke(context.Background(), caller, "us-east-1", "DeletePipeline", map[string]any{}); !errs.Is(err, errs.Invalid) {
		t.Errorf("an operation without a handler: %v", err)
	}
}
