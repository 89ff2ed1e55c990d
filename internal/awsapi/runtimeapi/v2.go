package runtimeapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/inference"
	"github.com/slipway-ml/slipway/internal/serving"
)

// The Open Inference Protocol (KServe V2) beside InvokeEndpoint, on the same server and signed
// the same way (SigV4, service name "sagemaker"): an endpoint is a V2 model named by the
// endpoint's name.
//
//	POST /v2/models/{EndpointName}/infer   tensors in, tensors out (the endpoint's model reads rows)
//	GET  /v2/models/{EndpointName}         model metadata
//	GET  /v2/models/{EndpointName}/ready   200 when the endpoint answers invocations, else 400
//
// All three are authorized as sagemaker:InvokeEndpoint on the endpoint. The server's liveness and
// readiness, /v2/health/live and /v2/health/ready, are unsigned (Health) and say nothing about
// any account. The model's refusals answer in the protocol's shape, {"error": "..."} with the
// status of the refusal; refusals of the caller (authentication, authorization, an unknown
// endpoint) keep SageMaker Runtime's error shape.

// v2Model is the operations of the protocol, in botocore's model format, added to SageMaker
// Runtime's model (awsapi.ExtendModel) so that they are routed, authenticated and audited as
// InvokeEndpoint is.
const v2Model = `{
 "operations": {
  "V2Infer": {"name": "V2Infer", "http": {"method": "POST", "requestUri": "/v2/models/{EndpointName}/infer"},
   "input": {"shape": "V2InferInput"}, "output": {"shape": "V2Output"}},
  "V2ModelMetadata": {"name": "V2ModelMetadata", "http": {"method": "GET", "requestUri": "/v2/models/{EndpointName}"},
   "input": {"shape": "V2ModelInput"}, "output": {"shape": "V2Output"}},
  "V2ModelReady": {"name": "V2ModelReady", "http": {"method": "GET", "requestUri": "/v2/models/{EndpointName}/ready"},
   "input": {"shape": "V2ModelInput"}, "output": {"shape": "V2Output"}}
 },
 "shapes": {
  "V2InferInput": {"type": "structure", "required": ["EndpointName", "Body"], "payload": "Body", "members": {
   "EndpointName": {"shape": "EndpointName", "location": "uri", "locationName": "EndpointName"},
   "Body": {"shape": "BodyBlob"}}},
  "V2ModelInput": {"type": "structure", "required": ["EndpointName"], "members": {
   "EndpointName": {"shape": "EndpointName", "location": "uri", "locationName": "EndpointName"}}},
  "V2Output": {"type": "structure", "payload": "Body", "members": {
   "Body": {"shape": "BodyBlob"},
   "ContentType": {"shape": "Header", "location": "header", "locationName": "Content-Type"},
   "InvokedProductionVariant": {"shape": "Header", "location": "header", "locationName": "x-Amzn-Invoked-Production-Variant"}}}
 }
}`

// Readier says whether an endpoint answers invocations, authorized as sagemaker:InvokeEndpoint
// (serving.Service implements it).
type Readier interface {
	Ready(ctx context.Context, c identity.Call, name string) (serving.Endpoint, bool, error)
}

type v2In struct {
	EndpointName string
}

// v2Out is an answer of the protocol; Status, when set, is its HTTP status (a refusal).
type v2Out struct {
	Body                     []byte
	ContentType              string
	InvokedProductionVariant string `json:",omitempty"`
	Status                   int    `json:"-"`
}

func (o v2Out) HTTPStatus() int { return o.Status }

func v2Refusal(err error) (any, error) {
	var ie *inference.Error
	if !errors.As(err, &ie) {
		return nil, err
	}
	status, body := inference.V2Error(err)
	return v2Out{Body: body, ContentType: "application/json", Status: status}, nil
}

func (a *API) v2Infer(ctx context.Context, req *awsapi.Request, in *v2In) (any, error) {
	if len(req.Body) > inference.MaxPayloadBytes {
		return v2Refusal(&inference.Error{Status: http.StatusRequestEntityTooLarge, Code: inference.CodePayloadTooLarge,
			Message: "the request payload is larger than the 6 MB an invocation accepts"})
	}
	csv, id, err := inference.V2ToCSV(req.Body)
	if err != nil {
		return v2Refusal(err)
	}
	variant, resp, err := a.Serving.Invoke(ctx, apicall.Call(req), in.EndpointName, "", inference.Request{
		ContentType: "text/csv", Accept: "text/csv", InferenceID: id, Body: csv})
	req.Audit.Variant = variant
	if err != nil {
		return v2Refusal(err)
	}
	body, err := inference.CSVToV2(in.EndpointName, id, resp.Body)
	if err != nil {
		return v2Refusal(err)
	}
	return v2Out{Body: body, ContentType: "application/json", InvokedProductionVariant: variant}, nil
}

func (a *API) v2Ready(ctx context.Context, req *awsapi.Request, in *v2In) (any, error) {
	_, ready, err := a.Ready.Ready(ctx, apicall.Call(req), in.EndpointName)
	if err != nil {
		return nil, err
	}
	if !ready {
		return v2Out{Body: []byte(`{"ready":false}`), ContentType: "application/json", Status: http.StatusBadRequest}, nil
	}
	return v2Out{Body: []byte(`{"ready":true}`), ContentType: "application/json"}, nil
}

func (a *API) v2Metadata(ctx context.Context, req *awsapi.Request, in *v2In) (any, error) {
	e, _, err := a.Ready.Ready(ctx, apicall.Call(req), in.EndpointName)
	if err != nil {
		return nil, err
	}
	platform := "slipway"
	if len(e.Variants) > 0 && len(e.Variants[0].DeployedImages) > 0 {
		platform = e.Variants[0].DeployedImages[0].SpecifiedImage
	}
	// The deployed model's signature is the fleet's, not the endpoint record's: tensors are
	// described with variable dimensions.
	return v2Out{Body: inference.V2Metadata(e.Name, platform, nil), ContentType: "application/json"}, nil
}

// Health serves the protocol's server liveness and readiness (GET /v2/health/live and
// /v2/health/ready): unsigned, as the orchestrators probing them are, and saying only that the
// server answers.
func Health() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		switch r.URL.Path {
		case "/v2/health/live":
			_, _ = w.Write([]byte(`{"live":true}`))
		case "/v2/health/ready":
			_, _ = w.Write([]byte(`{"ready":true}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"not found"}`))
		}
	})
}
