package cfnapi

import (
	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/errs"
)

// errorCodes is CloudFormation's vocabulary: a stack that does not exist is a ValidationError
// ("Stack with id X does not exist"), as the waiters expect; the domain names the other codes
// (AlreadyExistsException, InsufficientCapabilitiesException, ChangeSetNotFound …) itself.
func errorCodes() awsapi.ErrorCodes {
	return awsapi.ErrorCodes{ByKind: map[errs.Kind]awsapi.KindCodes{
		errs.Invalid:       {Default: "ValidationError"},
		errs.NotFound:      {Default: "ValidationError"},
		errs.Conflict:      {Default: "ValidationError"},
		errs.LimitExceeded: {Default: "LimitExceededException"},
		errs.AccessDenied:  {Default: "AccessDenied"},
		errs.Throttled:     {Default: "Throttling"},
	}}
}
