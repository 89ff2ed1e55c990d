package inference

import (
	"context"
	"fmt"
)

// Request is one invocation as the runtime API hands it over: the body is read-only and may be
// retained by no one beyond the call (a Model never copies it).
type Request struct {
	ContentType      string // the payload's media type; "" means text/csv
	Accept           string // the wanted response type(s); "" or "*/*" means the model's default
	CustomAttributes string // passed through to the model, opaque to Slipway
	// InferenceID is InvokeEndpoint's InferenceId: not sent to the model, recorded by data capture.
	InferenceID string
	Body        []byte
}

// Response is a model's answer.
type Response struct {
	ContentType      string
	CustomAttributes string
	Body             []byte
}

// Model is a loaded model serving invocations. Invoke is safe for concurrent use; a refusal of the
// input or a failure of the model is an *Error.
type Model interface {
	Invoke(ctx context.Context, req Request) (Response, error)
	Close() error
}

// MaxPayloadBytes is SageMaker's limit on an InvokeEndpoint request body (6 MB).
const MaxPayloadBytes = 6 << 20

// Error codes, as sagemaker-runtime names them.
const (
	CodeValidation       = "ValidationError"      // 400: the payload is malformed
	CodeModel            = "ModelError"           // 424: the model failed
	CodeUnsupportedMedia = "UnsupportedMediaType" // 415: a Content-Type or Accept the model does not speak
	CodePayloadTooLarge  = "PayloadTooLarge"      // 413: over MaxPayloadBytes
)

// Error is a refusal with SageMaker's HTTP status: 400 ValidationError (names the row and the expected
// feature count), 413 (payload over 6 MB), 415 (names the supported types), 424 ModelError (the model
// failed). The transport writes Status, Code and Message as they are; Message is safe to show.
//
// A ModelError says what the model itself answered, as SageMaker Runtime's ModelError does:
// OriginalStatus is the model's own HTTP status (a model server's 4xx or 5xx; 500 when a
// built-in runtime's predictor fails; 0 when the model gave no answer, e.g. it timed out) and
// OriginalMessage its body. The status decides whether the invocation counts as one of the
// model's 4xx or 5xx errors.
type Error struct {
	Status  int
	Code    string
	Message string

	OriginalStatus  int
	OriginalMessage string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message) }

func validationf(format string, args ...any) *Error {
	return &Error{Status: 400, Code: CodeValidation, Message: fmt.Sprintf(format, args...)}
}

// modelErrorf is a failure of a built-in runtime's model: what a model server would answer
// with a 500.
func modelErrorf(format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Status: 424, Code: CodeModel, Message: msg, OriginalStatus: 500, OriginalMessage: msg}
}
