package s3api

import (
	"net/http"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/errs"
)

// errorCodes is S3's vocabulary. The domain names most codes itself (NoSuchBucket, NoSuchKey,
// …); S3's model carries no statuses, so they are listed here.
func errorCodes() awsapi.ErrorCodes {
	return awsapi.ErrorCodes{
		ByKind: map[errs.Kind]awsapi.KindCodes{
			errs.Invalid:       {Default: "InvalidArgument"},
			errs.NotFound:      {Default: "NoSuchKey"},
			errs.Conflict:      {Default: "OperationAborted"},
			errs.AccessDenied:  {Default: "AccessDenied"},
			errs.Throttled:     {Default: "SlowDown"},
			errs.LimitExceeded: {Default: "TooManyBuckets"},
			errs.Unavailable:   {Default: "ServiceUnavailable"},
			errs.Internal:      {Default: "InternalError"},
			errs.Other:         {Default: "InternalError"},
		},
		Status: map[string]int{
			"AccessDenied":              http.StatusForbidden,
			"BadDigest":                 http.StatusBadRequest,
			"BadRequest":                http.StatusBadRequest,
			"BucketAlreadyExists":       http.StatusConflict,
			"BucketAlreadyOwnedByYou":   http.StatusConflict,
			"BucketNotEmpty":            http.StatusConflict,
			"EntityTooLarge":            http.StatusBadRequest,
			"EntityTooSmall":            http.StatusBadRequest,
			"IncompleteBody":            http.StatusBadRequest,
			"InternalError":             http.StatusInternalServerError,
			"InvalidArgument":           http.StatusBadRequest,
			"InvalidBucketName":         http.StatusBadRequest,
			"InvalidDigest":             http.StatusBadRequest,
			"InvalidLocationConstraint": http.StatusBadRequest,
			"InvalidPart":               http.StatusBadRequest,
			"InvalidPartNumber":         http.StatusRequestedRangeNotSatisfiable,
			"InvalidPartOrder":          http.StatusBadRequest,
			"InvalidRange":              http.StatusRequestedRangeNotSatisfiable,
			"InvalidRequest":            http.StatusBadRequest,
			"InvalidTag":                http.StatusBadRequest,
			"KeyTooLongError":           http.StatusBadRequest,
			"RequestTimeout":            http.StatusBadRequest,
			"MalformedPolicy":           http.StatusBadRequest,
			"MalformedXML":              http.StatusBadRequest,
			"NoSuchBucket":              http.StatusNotFound,
			"NoSuchBucketPolicy":        http.StatusNotFound,
			"NoSuchKey":                 http.StatusNotFound,
			"NoSuchUpload":              http.StatusNotFound,
			"NotImplemented":            http.StatusNotImplemented,
			"NotModified":               http.StatusNotModified,
			"OperationAborted":          http.StatusConflict,
			"PreconditionFailed":        http.StatusPreconditionFailed,
			"ServiceUnavailable":        http.StatusServiceUnavailable,
			"SlowDown":                  http.StatusServiceUnavailable,
			"TooManyBuckets":            http.StatusBadRequest,
			"XAmzContentSHA256Mismatch": http.StatusBadRequest,
		},
	}
}
