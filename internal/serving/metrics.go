package serving

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/inference"
)

// Invocation is one InvokeEndpoint as an endpoint's metrics count it (SageMaker's
// Invocations, Invocation4XXErrors, Invocation5XXErrors, ModelLatency and OverheadLatency,
// by endpoint and variant).
type Invocation struct {
	Account, Endpoint string
	// Variant is the variant that answered; "" when none was reached (no healthy instance).
	Variant string
	// Class is "" for a success, "4xx" for a refusal of the request or of the model with a
	// 4xx status, "5xx" for a failure of the model or of the endpoint.
	Class string
	// Model is the time spent in the model's instances; Overhead the rest of the invocation,
	// from its authorization to the model's answer (reading the request off the wire and
	// writing the response are the API server's, in slipway_api_request_duration_seconds).
	Model, Overhead time.Duration
}

// Meter records invocations (the composition root exports them on /metrics). It is called
// from every invocation's goroutine: it must be quick.
type Meter interface {
	Invocation(Invocation)
	// Forget drops an endpoint's series once it is deleted.
	Forget(account, endpoint string)
}

type modelTimeKey struct{}

// AddModelTime adds d to the model latency of the invocation ctx belongs to. The fleet's
// observer calls it for each instance that served (or failed) the request.
func AddModelTime(ctx context.Context, d time.Duration) {
	if ctx == nil {
		return
	}
	if t, ok := ctx.Value(modelTimeKey{}).(*atomic.Int64); ok {
		t.Add(int64(d))
	}
}

// errorClass classifies an invocation's outcome as its HTTP status would: "", "4xx" or "5xx".
func errorClass(err error) string {
	if err == nil {
		return ""
	}
	var ie *inference.Error
	if errors.As(err, &ie) {
		if ie.Status >= 500 {
			return "5xx"
		}
		return "4xx"
	}
	for _, k := range []errs.Kind{errs.Invalid, errs.NotFound, errs.AccessDenied, errs.Conflict, errs.LimitExceeded, errs.Throttled} {
		if errs.Is(err, k) {
			return "4xx"
		}
	}
	return "5xx"
}

// meter records an invocation of e that began at began.
func (s *Service) meter(e Endpoint, variant string, model *atomic.Int64, began time.Time, err error) {
	if s.metrics == nil {
		return
	}
	total, m := time.Since(began), time.Duration(model.Load())
	s.metrics.Invocation(Invocation{Account: e.Account, Endpoint: e.Name, Variant: variant, Class: errorClass(err),
		Model: m, Overhead: max(total-m, 0)})
}
