package orgsapi

import (
	"strings"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/errs"
)

// errorCodes is Organizations' vocabulary. NotFound and Conflict are refined per operation
// (see refine); ByKind holds what an operation that models neither gets.
func errorCodes() awsapi.ErrorCodes {
	return awsapi.ErrorCodes{
		ByKind: map[errs.Kind]awsapi.KindCodes{
			errs.Invalid:       {Default: "InvalidInputException"},
			errs.NotFound:      {Default: "TargetNotFoundException"},
			errs.Conflict:      {Prefer: []string{"ConcurrentModificationException"}, Default: "ConflictException"},
			errs.LimitExceeded: {Default: "ConstraintViolationException"},
			errs.AccessDenied:  {Default: "AccessDeniedException"},
			errs.Throttled:     {Default: "TooManyRequestsException"},
			errs.Internal:      {Default: "ServiceException"},
			errs.Other:         {Default: "ServiceException"},
		},
		Refine: refine,
	}
}

// refine picks the operation's own exception: Organizations names a NotFound per resource
// (AccountNotFoundException, OrganizationalUnitNotFoundException …) and a Duplicate per kind of
// thing; the operation's first one is the code.
func refine(op *awsapi.Operation, kind errs.Kind) string {
	for _, e := range op.Errors {
		if kind == errs.NotFound && strings.HasSuffix(e.Name, "NotFoundException") ||
			kind == errs.Conflict && strings.HasPrefix(e.Name, "Duplicate") {
			return e.Name
		}
	}
	return ""
}
