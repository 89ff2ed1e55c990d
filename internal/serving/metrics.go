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
	// Class is "" for a success, "4xx" when the model answered a 4xx (or a built-in runtime
	// refused the payload), "5xx" when it answered a 5xx or no status, or the endpoint could not
	// serve (errorClass). Requests the platform refused are not invocations.
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

// errorClass classifies an invocation's outcome as SageMaker's endpoint metrics do; counted is
// false for a request the platform refused before any model saw it, which is no invocation of
// the endpoint's model:
//   - the model's own failure (a ModelError) counts by the status the model answered:
//     Invocation4XXErrors for a 4xx, Invocation5XXErrors for a 5xx, and 5xx too when the model
//     gave no status (it timed out, answered too much, or a built-in runtime failed);
//   - a built-in runtime's refusal of the payload (ValidationError 400, 413, 415) is that
//     model's 4xx, as a model server's 4xx would be;
//   - the endpoint failing to serve — no healthy instance, an internal failure — is a 5xx;
//   - a refusal by the platform (bad input, no such variant, access, throttling) is not
//     counted: the request never reached a model.
func errorClass(err error) (class string, counted bool) {
	if err == nil {
		return "", true
	}
	var ie *inference.Error
	if errors.As(err, &ie) {
		if ie.Code == inference.CodeModel {
			if ie.OriginalStatus >= 400 && ie.OriginalStatus < 500 {
				return "4xx", true
			}
			return "5xx", true
		}
		if ie.Status >= 500 {
			return "5xx", true
		}
		return "4xx", true
	}
	switch errs.KindOf(err) {
	case errs.Invalid, errs.NotFound, errs.AccessDenied, errs.Unauthenticated, errs.Conflict, errs.LimitExceeded, errs.Throttled:
		return "", false
	}
	return "5xx", true
}

// meter records an invocation of e that began at began.
func (s *Service) meter(e Endpoint, variant string, model *atomic.Int64, began time.Time, err error) {
	if s.metrics == nil {
		return
	}
	class, counted := errorClass(err)
	if !counted {
		return
	}
	total, m := time.Since(began), time.Duration(model.Load())
	s.metrics.Invocation(Invocation{Account: e.Account, Endpoint: e.Name, Variant: variant, Class: class,
		Model: m, Overhead: max(total-m, 0)})
}
