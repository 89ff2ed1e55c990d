package logsapi

import (
	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/errs"
)

// CloudWatch Logs' error codes. InvalidSequenceTokenException and DataAlreadyAcceptedException
// are in the model but never answered: PutLogEvents ignores sequence tokens, as CloudWatch Logs
// has since 2023.
const (
	codeInvalid         = "InvalidParameterException"
	codeNotFound        = "ResourceNotFoundException"
	codeExists          = "ResourceAlreadyExistsException"
	codeLimit           = "LimitExceededException"
	codeAborted         = "OperationAbortedException"
	codeUnavailable     = "ServiceUnavailableException"
	codeDenied          = "AccessDeniedException"
	codeThrottled       = "ThrottlingException"
	codeBadSequence     = "InvalidSequenceTokenException"
	codeAlreadyAccepted = "DataAlreadyAcceptedException"
)

// errorCodes is CloudWatch Logs' vocabulary.
func errorCodes() awsapi.ErrorCodes {
	return awsapi.ErrorCodes{ByKind: map[errs.Kind]awsapi.KindCodes{
		errs.Invalid:       {Default: codeInvalid},
		errs.NotFound:      {Default: codeNotFound},
		errs.Conflict:      {Prefer: []string{codeExists}, Default: codeAborted},
		errs.LimitExceeded: {Default: codeLimit},
		errs.AccessDenied:  {Default: codeDenied},
		errs.Throttled:     {Default: codeThrottled},
		errs.Unavailable:   {Default: codeUnavailable},
	}}
}
