// Package awsapi is Slipway's AWS wire-protocol edge: it verifies Signature Version 4, routes a
// request to a service and operation, decodes the protocol (awsJson1_1, awsQuery, restJson1,
// restXml) into one canonical JSON document validated against the operation's input shape from
// botocore's service model, calls the operation's Handler, and encodes the result or the error in
// the protocol's own shape. It records metrics and hands every call to the Auditor.
//
// Handlers see only canonical JSON in and a Go value out; they never see protocol details. Domain
// packages never import awsapi: handler packages (internal/awsapi/<service>) translate between
// wire shapes and domain types.
//
// # Layout
//
// server.go holds the Server (routing, the per-request pipeline, logging, metrics, audit);
// model.go compiles botocore models embedded from models/*.json (written by models/gen); validate.go
// checks decoded input against shapes and renders AWS's validation messages; codec.go, query.go and
// rest.go are the protocol codecs; errors.go maps an error to its wire code and status: the
// domain's code, else the one the service declares for the kind (Service.Errors, in the
// service's package), else the protocol's generic one; pagetoken.go makes tamper-proof
// pagination tokens; package sigv4 verifies signatures.
//
// # Invariants
//
//   - Every request gets an X-Amzn-RequestId, one metrics sample and exactly one AuditRecord,
//     whether it succeeded, failed validation or failed authentication.
//   - A Handler runs only after the signature, the session token, the key's expiry and the
//     credential scope's service have been verified, and only with input that validated against
//     the operation's input shape. Unknown input members are dropped, not passed on.
//   - Only errs.Message text reaches a caller; internal errors (kinds Other and Internal, panics)
//     answer with a generic message and are logged with their cause. Secrets and signatures are
//     never logged nor echoed.
//   - Outputs carry only members of the output shape; timestamps are epoch seconds in the JSON
//     protocols and ISO 8601 in XML.
//   - Models are read-only after LoadModel; a Server holds no mutable state beyond metrics and
//     a buffer pool, so it is safe for concurrent use.
package awsapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/slipway-ml/slipway/internal/identity"
)

// Caller is the authenticated principal of a request: the domain's identity.Caller, one type
// from authentication to the domain. The server fills its SourceIP from the connection.
type Caller = identity.Caller

// Credential is what an Authenticator knows about an access key.
type Credential struct {
	Secret       string    // the secret access key, in clear, needed to verify the signature
	SessionToken string    // required token for temporary credentials; empty for long-term keys
	Expires      time.Time // zero for long-term keys
	Caller       Caller
}

// Authenticator looks up access keys. It returns an errs.Unauthenticated error for unknown keys.
type Authenticator interface {
	LookupAccessKey(ctx context.Context, accessKeyID string) (Credential, error)
}

// Request is one decoded, authenticated API call as a Handler sees it.
type Request struct {
	Service   string // the service's endpoint prefix, e.g. "sagemaker", "iam"
	Operation string // e.g. "CreateModelPackage"
	Caller    Caller
	Region    string // from the credential scope
	RequestID string
	SourceIP  string
	Secure    bool      // aws:SecureTransport
	Time      time.Time // when the request was received (injected clock)
	// Input is the operation's input as canonical JSON: member names as in the botocore model,
	// timestamps as RFC 3339 strings, blobs as base64 strings. It has been validated against the
	// input shape (types, required members, lengths, ranges, enums, patterns).
	Input json.RawMessage
	// Header and Body are the raw HTTP header and body, for REST operations with a payload.
	Header http.Header
	Body   []byte
	// BodyStream, for operations whose payload streams (S3's PutObject, UploadPart), yields the
	// payload as it arrives, and Body is nil; the payload is not in Input. The payload is
	// verified as it is read (its SHA-256, or its chunk signatures and checksum trailer):
	// Read returns io.EOF only once all of it verified, and any other error means it did not
	// (or the client went away), so a handler must read to io.EOF before it commits anything
	// derived from the payload, and must return the read error as it is (wrapped with %w is
	// fine): it carries the wire error the client should see.
	BodyStream io.Reader
	// Audit is filled by the handler (through the domain) with what the audit trail should say
	// about the resource and the authorization decision.
	Audit *AuditNote
}

// AuditNote is what the domain reports about a call for the audit trail: the resource it acted
// on, "allow" or "deny", and the deciding statement. It is the identity service's Note, so the
// domain writes the decision straight into the call's note the moment it decides; a change's
// audit record, committed inside the change's transaction, then already carries it.
type AuditNote = identity.Note

// Handler runs one operation. It returns a value that encodes (as JSON, with encoding/json) to the
// operation's output shape, with time.Time for timestamps; or an error from package errs.
type Handler func(ctx context.Context, req *Request) (any, error)
