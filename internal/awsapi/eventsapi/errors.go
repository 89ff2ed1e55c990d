package eventsapi

import (
	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/errs"
)

// errorCodes is EventBridge's vocabulary; package rules sets the specific codes
// (InvalidEventPatternException, ResourceNotFoundException, …) on its errors.
func errorCodes() awsapi.ErrorCodes {
	return awsapi.ErrorCodes{ByKind: map[errs.Kind]awsapi.KindCodes{
		errs.Invalid:       {Default: "ValidationException"},
		errs.NotFound:      {Default: "ResourceNotFoundException"},
		errs.Conflict:      {Prefer: []string{"ResourceAlreadyExistsException"}, Default: "ConcurrentModificationException"},
		errs.LimitExceeded: {Default: "LimitExceededException"},
		errs.AccessDenied:  {Default: "AccessDeniedException"},
		errs.Throttled:     {Default: "ThrottlingException"},
		errs.Unavailable:   {Default: "InternalException"},
	}}
}
