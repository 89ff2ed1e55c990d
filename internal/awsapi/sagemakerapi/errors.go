package sagemakerapi

import (
	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/errs"
)

// errorCodes is SageMaker's vocabulary. It has no NotFound exception for most operations:
// a missing resource is a ValidationException unless the operation models ResourceNotFound.
func errorCodes() awsapi.ErrorCodes {
	return awsapi.ErrorCodes{ByKind: map[errs.Kind]awsapi.KindCodes{
		errs.Invalid:       {Default: "ValidationException"},
		errs.NotFound:      {Prefer: []string{"ResourceNotFound"}, Default: "ValidationException"},
		errs.Conflict:      {Prefer: []string{"ConflictException", "ResourceInUse"}, Default: "ResourceInUse"},
		errs.LimitExceeded: {Default: "ResourceLimitExceeded"},
		errs.AccessDenied:  {Default: "AccessDeniedException"},
		errs.Throttled:     {Default: "ThrottlingException"},
	}}
}
