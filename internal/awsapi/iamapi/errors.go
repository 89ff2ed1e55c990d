package iamapi

import (
	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/errs"
)

// iamErrorCodes is IAM's vocabulary (the query protocol's error.code spellings).
func iamErrorCodes() awsapi.ErrorCodes {
	return awsapi.ErrorCodes{ByKind: map[errs.Kind]awsapi.KindCodes{
		errs.Invalid:       {Default: "ValidationError"},
		errs.NotFound:      {Default: "NoSuchEntity"},
		errs.Conflict:      {Default: "EntityAlreadyExists"},
		errs.LimitExceeded: {Default: "LimitExceeded"},
		errs.AccessDenied:  {Default: "AccessDenied"},
		errs.Throttled:     {Default: "Throttling"},
		errs.Internal:      {Default: "ServiceFailure"},
		errs.Other:         {Default: "ServiceFailure"},
	}}
}

// stsErrorCodes is STS's vocabulary: the query protocol's generic codes (ValidationError,
// AccessDenied, Throttling …) are STS's own, and it models no NotFound nor Conflict, which are
// ValidationError too.
func stsErrorCodes() awsapi.ErrorCodes { return awsapi.ErrorCodes{} }
