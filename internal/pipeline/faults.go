package pipeline

import (
	"context"
	"fmt"
	"slices"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/pipeline/definition"
)

// The exception types of the server's own faults, as RetryPolicies name them.
const (
	ServiceFault = "Step.SERVICE_FAULT"
	Throttling   = "Step.THROTTLING"
)

// faultType names the exception type of a server fault (an error that is not the caller's).
func faultType(err error) string {
	if errs.Is(err, errs.Throttled) {
		return Throttling
	}
	return ServiceFault
}

// onFault handles a server fault of the call that makes a step's job, model or model package.
// When one of the step's RetryPolicies names the fault's type, the fault counts as a failed
// attempt against that policy (retried after its interval, or the step fails when the policy is
// spent); otherwise the error goes back to the reconcile runtime, which retries it with its
// backoff (a fault of this server is most often passing: a busy database, a lost lease).
func (r *run) onFault(ctx context.Context, s Step, sd *definition.Step, call string, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, err
	}
	ft := faultType(err)
	if !slices.ContainsFunc(sd.Retry, func(p definition.RetryPolicy) bool { return slices.Contains(p.ExceptionTypes, ft) }) {
		return false, err
	}
	return r.retryOrFail(ctx, s, sd, ft, fmt.Sprintf("%s: %s (%s)", call, errs.Message(err), ft), nil)
}
