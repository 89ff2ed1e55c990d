// Package runtimeapi serves the SageMaker Runtime API (restJson1): InvokeEndpoint. It decodes
// the invocation, hands it to the serving domain (which authorizes sagemaker:InvokeEndpoint and
// routes it to the endpoint's deployed model) and writes the model's answer, or its refusal in
// SageMaker Runtime's error shape.
package runtimeapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/inference"
)

// Invoker sends an invocation to an endpoint of the caller's account, authorized there
// (serving.Service implements it).
type Invoker interface {
	Invoke(ctx context.Context, c identity.Call, endpoint, targetVariant string, req inference.Request) (variant string, resp inference.Response, err error)
}

// API holds what the handlers need.
type API struct {
	Serving Invoker
	// Ready answers the Open Inference Protocol's model readiness and metadata (v2.go); nil
	// leaves the protocol's routes out.
	Ready Readier
}

// Service is the SageMaker Runtime service: its model, its operations and its error codes.
func (a *API) Service() (*awsapi.Service, error) {
	h := map[string]awsapi.Handler{}
	if a.Serving != nil {
		h["InvokeEndpoint"] = apicall.Handle(a.invoke)
	}
	if a.Serving != nil && a.Ready != nil {
		h["V2Infer"] = apicall.Handle(a.v2Infer)
		h["V2ModelMetadata"] = apicall.Handle(a.v2Metadata)
		h["V2ModelReady"] = apicall.Handle(a.v2Ready)
	}
	m, err := awsapi.ExtendModel("sagemaker-runtime", []byte(v2Model))
	if err != nil {
		return nil, err
	}
	// Every operation here is the data plane: an allowed call may be audited in aggregate.
	dp := map[string]bool{}
	for _, o := range Operations() {
		dp[o.Operation] = true
	}
	return &awsapi.Service{Name: "sagemaker-runtime", Model: m, Handlers: h, Errors: errorCodes(), DataPlane: dp}, nil
}

// Operations declares the action and resources each operation is authorized on.
func Operations() []awsapi.Authz {
	return []awsapi.Authz{
		// The endpoint's name is lower case in its ARN, as SageMaker writes it.
		{Operation: "InvokeEndpoint", Action: "sagemaker:InvokeEndpoint", Resources: []string{"arn:aws:sagemaker:{Region}:{Account}:endpoint/{EndpointName}"}},
		// The Open Inference Protocol (v2.go) is the same data plane.
		{Operation: "V2Infer", Action: "sagemaker:InvokeEndpoint", Resources: []string{"arn:aws:sagemaker:{Region}:{Account}:endpoint/{EndpointName}"}},
		{Operation: "V2ModelMetadata", Action: "sagemaker:InvokeEndpoint", Resources: []string{"arn:aws:sagemaker:{Region}:{Account}:endpoint/{EndpointName}"}},
		{Operation: "V2ModelReady", Action: "sagemaker:InvokeEndpoint", Resources: []string{"arn:aws:sagemaker:{Region}:{Account}:endpoint/{EndpointName}"}},
	}
}

// errorCodes is SageMaker Runtime's vocabulary: restJson1's generic codes are its own (a
// missing endpoint, like any bad input, is a ValidationError). A payload too large or of a
// type the model does not speak keeps SageMaker's HTTP status.
func errorCodes() awsapi.ErrorCodes {
	return awsapi.ErrorCodes{Status: map[string]int{
		inference.CodePayloadTooLarge:  http.StatusRequestEntityTooLarge,
		inference.CodeUnsupportedMedia: http.StatusUnsupportedMediaType,
	}}
}

type invokeIn struct {
	EndpointName            string
	ContentType             string
	Accept                  string
	CustomAttributes        string
	TargetVariant           string
	InferenceId             string
	TargetModel             string
	TargetContainerHostname string
	InferenceComponentName  string
	SessionId               string
	EnableExplanations      string
}

type invokeOut struct {
	Body                     []byte
	ContentType              string
	CustomAttributes         string `json:",omitempty"`
	InvokedProductionVariant string
}

func (a *API) invoke(ctx context.Context, req *awsapi.Request, in *invokeIn) (any, error) {
	switch {
	case in.TargetModel != "":
		return nil, errs.E(errs.Invalid, "TargetModel is not supported: this endpoint is not a multi-model endpoint")
	case in.TargetContainerHostname != "":
		return nil, errs.E(errs.Invalid, "TargetContainerHostname is not supported: endpoints here serve one container")
	case in.InferenceComponentName != "":
		return nil, errs.E(errs.Invalid, "InferenceComponentName is not supported")
	case in.SessionId != "":
		return nil, errs.E(errs.Invalid, "SessionId is not supported: invocations are stateless here")
	case in.EnableExplanations != "":
		return nil, errs.E(errs.Invalid, "EnableExplanations is not supported")
	}
	if len(req.Body) > inference.MaxPayloadBytes {
		return nil, errs.E(errs.Invalid, "The request payload is %d bytes; InvokeEndpoint accepts at most %d.", len(req.Body), inference.MaxPayloadBytes).WithCode(inference.CodePayloadTooLarge)
	}
	variant, resp, err := a.Serving.Invoke(ctx, apicall.Call(req), in.EndpointName, in.TargetVariant, inference.Request{
		ContentType: in.ContentType, Accept: in.Accept, CustomAttributes: in.CustomAttributes, InferenceID: in.InferenceId, Body: req.Body,
	})
	req.Audit.Variant = variant
	if err != nil {
		return nil, invokeError(err)
	}
	return invokeOut{Body: resp.Body, ContentType: resp.ContentType, CustomAttributes: resp.CustomAttributes, InvokedProductionVariant: variant}, nil
}

// invokeError is the wire form of an invocation's failure: the model's refusal keeps its code
// and status, and a ModelError says what the model answered, as SageMaker Runtime's does — the
// model's own status in OriginalStatusCode (when it gave one) and its body in OriginalMessage,
// while the call's status is 424 whether the model answered a 4xx or a 5xx.
func invokeError(err error) error {
	var ie *inference.Error
	if !errors.As(err, &ie) {
		return err
	}
	kind := errs.Invalid
	if ie.Status >= 500 {
		kind = errs.Internal
	}
	wire := error(errs.E(kind, "%s", ie.Message).WithCode(ie.Code))
	if ie.Code != inference.CodeModel {
		return wire
	}
	var members []awsapi.ErrorMember
	if ie.OriginalStatus != 0 {
		members = append(members, awsapi.ErrorMember{Name: "OriginalStatusCode", Value: ie.OriginalStatus})
	}
	if ie.OriginalMessage != "" {
		members = append(members, awsapi.ErrorMember{Name: "OriginalMessage", Value: ie.OriginalMessage})
	}
	return awsapi.WithErrorMembers(wire, members...)
}
