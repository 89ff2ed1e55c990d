package awsapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/slipway-ml/slipway/internal/awsapi/sigv4"
	"github.com/slipway-ml/slipway/internal/errs"
)

// apiError is an error as it goes on the wire: the protocol's code, the HTTP status and a message
// safe to show. cause is for logs only.
type apiError struct {
	Code    string
	Status  int
	Message string
	// Resource is what S3's <Error> names as the resource: the request's path.
	Resource string
	// Members are the error shape's members besides the message (WithErrorMembers), as JSON
	// values: the JSON protocols write them.
	Members []wireMember
	cause   error
}

type wireMember struct {
	Name  string
	Value []byte
}

// ErrorMember is a member of a modelled error shape besides its message: SageMaker Runtime's
// ModelError carries OriginalStatusCode and OriginalMessage, the model's own answer.
type ErrorMember struct {
	Name  string
	Value any
}

// WithErrorMembers returns err carrying members of its error shape. The JSON protocols write
// those the shape declares beside the message; a member it does not declare, or a value that
// does not encode, is left out.
func WithErrorMembers(err error, members ...ErrorMember) error {
	return &memberError{err: err, members: members}
}

type memberError struct {
	err     error
	members []ErrorMember
}

func (e *memberError) Error() string { return e.err.Error() }
func (e *memberError) Unwrap() error { return e.err }

func (e *apiError) Error() string {
	s := e.Code + ": " + e.Message
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// receiverFault reports whether the query protocol should say <Type>Receiver</Type>.
func (e *apiError) receiverFault() bool { return e.Status >= 500 }

// ErrorCodes is a service's error vocabulary: the wire code for an error whose domain did not
// choose one. Each service package declares its own; the core knows only the protocols' generic
// codes (see codeFor) for the kinds a vocabulary leaves out.
type ErrorCodes struct {
	// ByKind chooses a code per kind.
	ByKind map[errs.Kind]KindCodes
	// Refine, when set, may pick a code from the operation's modelled errors before ByKind is
	// consulted (Organizations names a NotFound per resource); "" leaves the choice to ByKind.
	Refine func(op *Operation, kind errs.Kind) string
	// Status gives the HTTP status of codes the model does not (S3's models carry none).
	Status map[string]int
}

// KindCodes is the code for one kind: the first of Prefer that the operation's model lists
// among its errors, else Default.
type KindCodes struct {
	Prefer  []string
	Default string
}

// codeFor chooses the wire code for an error of kind in op of svc: the service's vocabulary
// first, then the protocol's generic code.
func codeFor(svc *Service, op *Operation, kind errs.Kind) string {
	if op != nil && svc.Errors.Refine != nil {
		if code := svc.Errors.Refine(op, kind); code != "" {
			return code
		}
	}
	if kc, ok := svc.Errors.ByKind[kind]; ok {
		if op != nil {
			for _, want := range kc.Prefer {
				for _, e := range op.Errors {
					if e.Name == want || e.ErrorCode == want {
						return want
					}
				}
			}
		}
		return kc.Default
	}
	query := svc.Model.Protocol == ProtocolQuery
	switch kind {
	case errs.Invalid, errs.NotFound, errs.Conflict:
		if query || svc.Model.Protocol == ProtocolRESTJSON {
			return "ValidationError"
		}
		return "ValidationException"
	case errs.AccessDenied:
		if query {
			return "AccessDenied"
		}
		return "AccessDeniedException"
	case errs.Throttled:
		if query {
			return "Throttling"
		}
		return "ThrottlingException"
	case errs.LimitExceeded:
		return "LimitExceededException"
	case errs.Unauthenticated:
		if query {
			return "InvalidClientTokenId"
		}
		return "UnrecognizedClientException"
	case errs.Unavailable:
		return "ServiceUnavailable"
	}
	return "InternalFailure"
}

// statusFor is the HTTP status of code: the model's error.httpStatusCode when the model knows the
// code, else a default by kind.
func statusFor(svc *Service, code string, kind errs.Kind) int {
	if st, ok := svc.Errors.Status[code]; ok {
		return st
	}
	if s := svc.errorShape(code); s != nil && s.HTTPStatus != 0 {
		return s.HTTPStatus
	}
	switch kind {
	case errs.Invalid, errs.NotFound, errs.Conflict, errs.Throttled, errs.LimitExceeded:
		return http.StatusBadRequest
	case errs.AccessDenied:
		if svc.Model.Protocol == ProtocolQuery {
			return http.StatusForbidden
		}
		return http.StatusBadRequest
	case errs.Unauthenticated:
		return http.StatusForbidden
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// wireCode translates a code the domain chose into the protocol's spelling: the query protocol
// uses error.code ("NoSuchEntity"), the JSON protocols the shape name ("ResourceNotFound").
func (svc *Service) wireCode(code string) string {
	s := svc.errorShape(code)
	if s == nil {
		return code
	}
	if svc.Model.Protocol == ProtocolQuery {
		return s.ErrorCode
	}
	return s.Name
}

// errorShape finds the model's exception shape by name or by error code.
func (svc *Service) errorShape(code string) *Shape {
	if s, ok := svc.Model.Shapes[code]; ok && s.Exception {
		return s
	}
	return svc.errorsByCode[code]
}

// toAPIError maps a handler's error to the wire. Only errs.Message reaches the caller; internal
// errors get a generic message.
func toAPIError(svc *Service, op *Operation, err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	kind := errs.KindOf(err)
	code := errs.CodeOf(err)
	if code == "" {
		code = codeFor(svc, op, kind)
	} else {
		code = svc.wireCode(code)
	}
	msg := errs.Message(err)
	if kind == errs.Other || kind == errs.Internal {
		msg = "We encountered an internal error. Please try again."
	}
	if kind == errs.Unavailable {
		msg = "Service is unavailable. Please try again later."
		if m := errs.Message(err); m != "internal error" {
			msg = m
		}
	}
	ae = &apiError{Code: code, Status: statusFor(svc, code, kind), Message: msg, cause: err}
	var me *memberError
	if shape := svc.errorShape(code); shape != nil && errors.As(err, &me) {
		for _, m := range me.members {
			sm := shape.MemberByName(m.Name)
			if sm == nil || m.Name == "Message" || m.Name == "message" {
				continue
			}
			if b, err := json.Marshal(m.Value); err == nil {
				ae.Members = append(ae.Members, wireMember{Name: sm.wireName(), Value: b})
			}
		}
	}
	return ae
}

// authError maps a SigV4 or credential failure to the protocol's code and status. S3 (restXml)
// answers with its own codes.
func authError(protocol string, err error) *apiError {
	if protocol == ProtocolRESTXML {
		return s3AuthError(err)
	}
	query := protocol == ProtocolQuery
	pick := func(jsonCode, queryCode string) string {
		if query {
			return queryCode
		}
		return jsonCode
	}
	var se *sigv4.Error
	if errors.As(err, &se) {
		switch se.Reason {
		case sigv4.Missing:
			msg := "Missing Authentication Token"
			if query {
				msg = "Request is missing Authentication Token"
			}
			return &apiError{Code: pick("MissingAuthenticationTokenException", "MissingAuthenticationToken"), Status: 403, Message: msg, cause: err}
		case sigv4.Incomplete:
			return &apiError{Code: pick("IncompleteSignatureException", "IncompleteSignature"), Status: 400, Message: se.Msg, cause: err}
		case sigv4.PresignExpired:
			if query {
				return &apiError{Code: "RequestExpired", Status: 400, Message: se.Msg, cause: err}
			}
			return &apiError{Code: "InvalidSignatureException", Status: 403, Message: se.Msg, cause: err}
		default: // Mismatch, Skewed
			return &apiError{Code: pick("InvalidSignatureException", "SignatureDoesNotMatch"), Status: 403, Message: se.Msg, cause: err}
		}
	}
	return &apiError{Code: pick("UnrecognizedClientException", "InvalidClientTokenId"), Status: 403,
		Message: "The security token included in the request is invalid.", cause: err}
}

// s3AuthError is authError in S3's vocabulary.
func s3AuthError(err error) *apiError {
	var se *sigv4.Error
	if errors.As(err, &se) {
		switch se.Reason {
		case sigv4.Missing:
			return &apiError{Code: "AccessDenied", Status: 403, Message: "Access Denied", cause: err}
		case sigv4.Incomplete:
			return &apiError{Code: "AuthorizationHeaderMalformed", Status: 400, Message: se.Msg, cause: err}
		case sigv4.PresignExpired:
			return &apiError{Code: "AccessDenied", Status: 403, Message: "Request has expired", cause: err}
		case sigv4.Skewed:
			return &apiError{Code: "RequestTimeTooSkewed", Status: 403, Message: se.Msg, cause: err}
		case sigv4.PayloadMismatch:
			return &apiError{Code: "XAmzContentSHA256Mismatch", Status: 400, Message: se.Msg, cause: err}
		default:
			return &apiError{Code: "SignatureDoesNotMatch", Status: 403, Message: se.Msg, cause: err}
		}
	}
	return &apiError{Code: "InvalidAccessKeyId", Status: 403,
		Message: "The AWS Access Key Id you provided does not exist in our records.", cause: err}
}

// expiredToken is the error for temporary credentials past their expiry.
func expiredToken(protocol string) *apiError {
	code := "ExpiredTokenException"
	if protocol == ProtocolQuery {
		code = "ExpiredToken"
	}
	return &apiError{Code: code, Status: 403, Message: "The security token included in the request is expired"}
}

// unknownOperation is the error for an operation the server does not serve.
func unknownOperation(protocol, op, version string) *apiError {
	if protocol == ProtocolQuery {
		return &apiError{Code: "InvalidAction", Status: 400, Message: "Could not find operation " + op + " for version " + version}
	}
	return &apiError{Code: "UnknownOperationException", Status: 400, Message: "Unknown operation " + op}
}

// validationError is the error for input that breaks the input shape's constraints.
func validationError(svc *Service, op *Operation, msg string) *apiError {
	code := codeFor(svc, op, errs.Invalid)
	return &apiError{Code: code, Status: statusFor(svc, code, errs.Invalid), Message: msg}
}

// serializationError is the error for input that cannot be parsed or has the wrong types.
func serializationError(svc *Service, op *Operation, msg string) *apiError {
	if svc.Model.Protocol == ProtocolQuery {
		return validationError(svc, op, msg)
	}
	return &apiError{Code: "SerializationException", Status: 400, Message: msg}
}
