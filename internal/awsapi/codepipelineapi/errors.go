package codepipelineapi

import (
	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/errs"
)

// errorCodes is CodePipeline's vocabulary; package delivery sets the specific codes
// (PipelineNotFoundException, InvalidApprovalTokenException, …) on its errors.
func errorCodes() awsapi.ErrorCodes {
	return awsapi.ErrorCodes{ByKind: map[errs.Kind]awsapi.KindCodes{
		errs.Invalid:       {Default: "ValidationException"},
		errs.NotFound:      {Prefer: []string{"PipelineNotFoundException"}, Default: "PipelineNotFoundException"},
		errs.Conflict:      {Prefer: []string{"PipelineNameInUseException"}, Default: "ConflictException"},
		errs.LimitExceeded: {Default: "LimitExceededException"},
		errs.AccessDenied:  {Default: "AccessDeniedException"},
		errs.Throttled:     {Default: "ThrottlingException"},
		errs.Unavailable:   {Default: "ServiceUnavailableException"},
	}}
}
