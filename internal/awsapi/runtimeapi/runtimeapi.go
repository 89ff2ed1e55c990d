// Package runtimeapi serves the SageMaker Runtime API (restJson1): InvokeEndpoint and its
// relatives. It declares the service, its model and its error codes; its operations come with
// serving, and until then every call is routed, signed and answered as an unknown operation.
package runtimeapi

import "github.com/slipway-ml/slipway/internal/awsapi"

// API holds what the handlers need (nothing yet).
type API struct{}

// Service is the SageMaker Runtime service: its model, its operations and its error codes.
func (a *API) Service() (*awsapi.Service, error) {
	return awsapi.NewService("sagemaker-runtime", map[string]awsapi.Handler{}, errorCodes())
}

// errorCodes is SageMaker Runtime's vocabulary: restJson1's generic codes are its own (a
// missing endpoint, like any bad input, is a ValidationError).
func errorCodes() awsapi.ErrorCodes { return awsapi.ErrorCodes{} }
