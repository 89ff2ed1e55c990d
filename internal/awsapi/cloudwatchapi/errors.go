package cloudwatchapi

import (
	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/errs"
)

// errorCodes is CloudWatch's vocabulary (the query protocol's codes: the service is
// awsQueryCompatible, so its JSON answers carry them too).
func errorCodes() awsapi.ErrorCodes {
	return awsapi.ErrorCodes{ByKind: map[errs.Kind]awsapi.KindCodes{
		errs.Invalid:       {Default: "InvalidParameterValue"},
		errs.NotFound:      {Default: "ResourceNotFound"},
		errs.Conflict:      {Default: "ConcurrentModificationException"},
		errs.LimitExceeded: {Default: "LimitExceeded"},
		errs.AccessDenied:  {Default: "AccessDenied"},
		errs.Throttled:     {Default: "Throttling"},
		errs.Unavailable:   {Default: "ServiceUnavailable"},
	}}
}
