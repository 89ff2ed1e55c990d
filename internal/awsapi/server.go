package awsapi

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"

	"github.com/slipway-ml/slipway/internal/awsapi/sigv4"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/randid"
)

// DefaultMaxBodyBytes bounds request bodies when Config.MaxBodyBytes is zero.
const DefaultMaxBodyBytes = 8 << 20

// Service is one AWS service the Server speaks: its model and the handlers of the operations it
// implements. Operations in the model without a handler answer as unknown operations.
type Service struct {
	// Name is the service's endpoint prefix as handlers, metrics and the audit trail name it,
	// e.g. "sagemaker", "iam", "sagemaker-runtime". The signing name comes from the model.
	Name     string
	Model    *Model
	Handlers map[string]Handler
	// Errors is the service's error vocabulary; kinds it leaves out get the protocol's
	// generic codes.
	Errors ErrorCodes
	// DataPlane names the operations whose calls are the service's data plane (invocations):
	// their audit records say so (AuditRecord.DataPlane), so that the auditor may aggregate
	// the allowed ones.
	DataPlane map[string]bool

	errorsByCode map[string]*Shape
}

// NewService is how a service package declares the service it serves: the embedded model of
// name (see LoadModel), the handlers of the operations it implements and its error vocabulary.
func NewService(name string, handlers map[string]Handler, codes ErrorCodes) (*Service, error) {
	m, err := LoadModel(name)
	if err != nil {
		return nil, errs.E(errs.Internal, "cannot load the %s model", name, err)
	}
	return &Service{Name: name, Model: m, Handlers: handlers, Errors: codes}, nil
}

// Config configures a Server.
type Config struct {
	Services []*Service
	Auth     Authenticator
	Audit    Auditor               // optional
	Now      func() time.Time      // default time.Now
	Logger   *slog.Logger          // default slog.Default()
	Metrics  prometheus.Registerer // optional
	// Region is the one region the server answers for (default "us-east-1"). Requests to
	// regional (json and REST) services must be signed for it, as AWS rejects a credential
	// scoped to another region; query services (IAM, STS) are global and accept any. Handlers
	// see it as Request.Region.
	Region       string
	MaxBodyBytes int64 // default DefaultMaxBodyBytes
	// MaxInFlightBodyBytes caps the memory all requests being read at once may hold in bodies
	// (default DefaultMaxInFlightBodyBytes). A request that does not fit waits up to
	// BodyWaitTimeout, then is answered 503 so that the client retries.
	MaxInFlightBodyBytes int64
	BodyWaitTimeout      time.Duration // default 5s
	// BodyReadTimeout is how long a client has to send a body, on top of one second per
	// MinBodyRate bytes (default 30s and 64 KiB/s): a client trickling a body cannot hold a
	// connection and its memory forever.
	BodyReadTimeout time.Duration
	MinBodyRate     int64
	// MaxStreamBytes bounds a streamed payload (operations whose input payload is a streaming
	// member, such as S3's PutObject): default DefaultMaxStreamBytes.
	MaxStreamBytes int64
}

// DefaultMaxStreamBytes is the largest streamed payload, S3's limit for one PUT.
const DefaultMaxStreamBytes = 5 << 30

// DefaultMaxInFlightBodyBytes bounds the memory held by request bodies being read at once.
const DefaultMaxInFlightBodyBytes = 64 << 20

// Server serves the AWS wire protocols of its services over HTTP. It is an http.Handler.
type Server struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	metrics  *metrics
	byTarget map[string]*Service  // json services by X-Amz-Target prefix
	bySigner map[string]*Service  // query services by signing name
	rest     []*Service           // REST services (restJson1, restXml), in configuration order
	routers  map[*Service]*router // their HTTP routes
	bodyMem  *semaphore.Weighted  // bytes of request bodies in flight
	bufs     sync.Pool
	fields   fieldCache // JSON field names of handler result types
}

var _ http.Handler = (*Server)(nil)

// NewServer builds a Server. It panics on a configuration that cannot work (no Authenticator, a
// service without a model, two services claiming the same route, metrics that cannot register):
// those are programming errors in the composition root.
func NewServer(cfg Config) *Server {
	if cfg.Auth == nil {
		panic("awsapi: Config.Auth is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxInFlightBodyBytes <= 0 {
		cfg.MaxInFlightBodyBytes = DefaultMaxInFlightBodyBytes
	}
	if cfg.MaxInFlightBodyBytes < cfg.MaxBodyBytes {
		cfg.MaxInFlightBodyBytes = cfg.MaxBodyBytes
	}
	if cfg.BodyWaitTimeout <= 0 {
		cfg.BodyWaitTimeout = 5 * time.Second
	}
	if cfg.BodyReadTimeout <= 0 {
		cfg.BodyReadTimeout = 30 * time.Second
	}
	if cfg.MinBodyRate <= 0 {
		cfg.MinBodyRate = 64 << 10
	}
	if cfg.MaxStreamBytes <= 0 {
		cfg.MaxStreamBytes = DefaultMaxStreamBytes
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		panic("awsapi: metrics: " + err.Error())
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger.With("component", "awsapi"), now: cfg.Now, metrics: m,
		byTarget: map[string]*Service{}, bySigner: map[string]*Service{}, routers: map[*Service]*router{},
		bodyMem: semaphore.NewWeighted(cfg.MaxInFlightBodyBytes),
		bufs:    sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
	for _, svc := range cfg.Services {
		if svc.Model == nil {
			panic("awsapi: service " + svc.Name + " has no model")
		}
		if svc.Name == "" {
			svc.Name = svc.Model.Name
		}
		svc.errorsByCode = map[string]*Shape{}
		for _, sh := range svc.Model.Shapes {
			if sh.Exception {
				svc.errorsByCode[sh.ErrorCode] = sh
			}
		}
		if n := len(svc.Model.SkippedPatterns); n > 0 {
			s.log.Info("model patterns Go cannot compile are not enforced", "service", svc.Name, "count", n, "shapes", svc.Model.SkippedPatterns)
		}
		if n := len(svc.Model.RelaxedPatterns); n > 0 {
			s.log.Debug("model patterns enforced in a relaxed form", "service", svc.Name, "count", n, "shapes", svc.Model.RelaxedPatterns)
		}
		protocols := svc.Model.Protocols
		if len(protocols) == 0 {
			protocols = []string{svc.Model.Protocol}
		}
		for _, p := range protocols {
			s.register(svc, p)
		}
	}
	return s
}

// register routes the requests of svc that speak protocol p.
func (s *Server) register(svc *Service, p string) {
	var key string
	var table map[string]*Service
	switch p {
	case ProtocolJSON:
		key, table = svc.Model.TargetPrefix, s.byTarget
	case ProtocolQuery:
		key, table = svc.Model.SigningName, s.bySigner
	case ProtocolRESTJSON, ProtocolRESTXML:
		rr := newRouter(svc.Model.Operations)
		for _, pair := range rr.ambiguous() {
			_, h0 := svc.Handlers[pair[0]]
			_, h1 := svc.Handlers[pair[1]]
			if h0 && h1 {
				panic("awsapi: service " + svc.Name + ": operations " + pair[0] + " and " + pair[1] + " have the same HTTP binding")
			}
		}
		s.rest = append(s.rest, svc)
		s.routers[svc] = rr
		return
	default:
		panic("awsapi: service " + svc.Name + ": protocol " + p + " is not supported")
	}
	if _, dup := table[key]; dup {
		panic("awsapi: two services claim " + key)
	}
	table[key] = svc
}

// call is the state of one request as it passes through the Server.
type call struct {
	w        http.ResponseWriter
	r        *http.Request
	id       string
	start    time.Time
	protocol string
	codec    codec // the protocol's codec, once routed
	svc      *Service
	opName   string
	op       *Operation
	signed   *sigv4.Signed
	signErr  error // from parsing the signature, once parsed
	parsed   bool
	cred     Credential // the access key's credential, once looked up
	payload  []byte     // an aws-chunked body decoded and verified by verifySignature, else nil
	stream   io.Reader  // the verifying reader of a streamed payload, else nil
	caller   Caller
	// keyID is what the log and audit trail say about the access key: a short prefix until the
	// key is found among ours, the whole id after.
	keyID   string
	note    AuditNote
	status  int
	errCode string
	// bytesIn and bytesOut are the lengths of the request's and the response's bodies.
	bytesIn, bytesOut int64
	// committed reports whether a transaction of the call committed its audit record.
	committed func() bool
}

// ServeHTTP serves one AWS API request: route, read the body, verify SigV4, decode and validate
// the input, run the handler, encode the output or the error, then log, count and audit.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, id: randid.UUID(), start: s.now()}
	w.Header().Set("X-Amzn-RequestId", c.id)
	if r.ContentLength == 0 && r.ProtoAtLeast(1, 1) && strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		// Go's server says "100 Continue" only before reading a body, so never for an empty
		// one; botocore before 1.29.x (Debian's boto3 and aws CLI) then takes the final answer
		// in its place and misreads the next response on the connection, hanging a minute.
		w.WriteHeader(http.StatusContinue)
	}
	var aerr *apiError
	func() {
		defer func() {
			if p := recover(); p != nil {
				aerr = &apiError{Code: "InternalFailure", Status: 500, Message: "We encountered an internal error. Please try again.",
					cause: fmt.Errorf("panic: %v", p)}
			}
		}()
		aerr = s.serve(c)
	}()
	if aerr != nil {
		s.writeError(c, aerr)
	}
	s.finish(c, aerr)
}

// serve does the work of ServeHTTP up to writing a successful response.
func (s *Server) serve(c *call) *apiError {
	r := c.r
	labels, restOp := s.routeREST(c)
	if c.svc == nil {
		if t := r.Header.Get("X-Amz-Target"); t != "" {
			c.setProtocol(ProtocolJSON)
			prefix, op, _ := strings.Cut(t, ".")
			c.opName = op
			c.svc = s.byTarget[prefix]
			if c.svc == nil {
				return unknownOperation(ProtocolJSON, t, "")
			}
			c.op = c.svc.Model.Operations[op] // nil for unknown operations, reported after authentication
		} else {
			c.setProtocol(ProtocolQuery)
		}
	}

	// Everything about the signature that does not need the body is checked before the body is
	// read, so an anonymous client cannot make the server buffer bodies.
	if aerr := s.authenticateHeaders(c); aerr != nil {
		return aerr
	}
	var body []byte
	if c.op != nil && streamsInput(c.op) {
		// The payload is handed to the handler as it arrives, verified as it is read.
		if aerr := s.openStream(c); aerr != nil {
			return aerr
		}
	} else {
		var release func()
		var aerr *apiError
		if body, release, aerr = s.readBody(c); aerr != nil {
			return aerr
		}
		defer release()
	}
	var form url.Values
	if c.protocol == ProtocolQuery {
		var aerr *apiError
		if form, aerr = queryParams(r, body); aerr != nil {
			return aerr
		}
		c.opName = form.Get("Action")
	}

	if aerr := s.verifySignature(c, body); aerr != nil {
		return aerr
	}
	if c.payload != nil {
		body = c.payload
	}
	c.bytesIn = int64(len(body))
	if c.protocol == ProtocolQuery {
		// Query services are told apart by the credential scope's service.
		c.svc = s.bySigner[c.signed.Service]
		if c.svc == nil {
			return &apiError{Code: "InvalidAction", Status: 400, Message: "The service " + c.signed.Service + " is not available at this endpoint"}
		}
		if v := form.Get("Version"); v != "" && v != c.svc.Model.APIVersion {
			return unknownOperation(ProtocolQuery, c.opName, v)
		}
	}
	if c.op == nil {
		c.op = c.svc.Model.Operations[c.opName]
	}
	h := c.svc.Handlers[c.opName]
	if c.op == nil || h == nil {
		return unknownOperation(c.protocol, c.opName, c.svc.Model.APIVersion)
	}
	if restOp != nil && c.op != restOp {
		return unknownOperation(c.protocol, c.opName, "")
	}

	input, aerr := s.decode(c, labels, form, body)
	if aerr != nil {
		return aerr
	}
	req := &Request{
		Service: c.svc.Name, Operation: c.op.Name, Caller: c.caller, Region: s.cfg.Region,
		RequestID: c.id, SourceIP: sourceIP(r), Secure: r.TLS != nil, Time: c.start,
		Input: input, Header: r.Header, Body: body, BodyStream: c.stream, Audit: &c.note,
	}
	ctx := r.Context()
	if ta, ok := s.cfg.Audit.(TxAuditor); ok {
		ctx, c.committed = ta.Begin(ctx, func() AuditRecord { return s.auditRecord(c) })
	}
	out, err := h(ctx, req)
	if err != nil {
		return toAPIError(c.svc, c.op, err)
	}
	return s.writeOutput(c, out)
}

// routeREST finds the REST operation a request is for: among the services the credential
// scope names (all REST services when the request carries no readable scope), the most specific
// binding by method, path template, query literals and required query parameters and headers.
func (s *Server) routeREST(c *call) (map[string]string, *Operation) {
	if len(s.rest) == 0 {
		return nil, nil
	}
	scope := ""
	if c.signed, c.signErr = sigv4.Parse(c.r); c.signErr == nil {
		scope = c.signed.Service
	}
	c.parsed = true
	for pass := 0; pass < 2; pass++ {
		if pass == 1 && scope != "" && c.r.URL.Query().Has("Action") {
			// A query-protocol call signed for its own service (a presigned STS GET /) is not
			// another scope's REST operation (S3's ListBuckets).
			break
		}
		for _, svc := range s.rest {
			if pass == 0 && svc.Model.SigningName != scope || pass == 1 && svc.Model.SigningName == scope {
				continue
			}
			if op, labels := s.routers[svc].find(c.r); op != nil {
				c.svc, c.op, c.opName = svc, op, op.Name
				c.setProtocol(svc.Model.Protocol)
				return labels, op
			}
		}
	}
	return nil, nil
}

// readBody reads the request body within the server's memory and time bounds. The caller must
// call release once it no longer holds the body.
func (s *Server) readBody(c *call) (body []byte, release func(), aerr *apiError) {
	if c.r.ContentLength > s.cfg.MaxBodyBytes {
		return nil, nil, tooLarge(s.cfg.MaxBodyBytes)
	}
	want := c.r.ContentLength
	if want < 0 { // unknown length (chunked): reserve the most it may be
		want = s.cfg.MaxBodyBytes
	}
	if want > 0 && !s.bodyMem.TryAcquire(want) { // the common case takes no timer
		ctx, cancel := context.WithTimeout(c.r.Context(), s.cfg.BodyWaitTimeout)
		err := s.bodyMem.Acquire(ctx, want)
		cancel()
		if err != nil {
			s.metrics.bodyWaitRejected.Inc()
			return nil, nil, &apiError{Code: "ServiceUnavailable", Status: http.StatusServiceUnavailable,
				Message: "The server is busy receiving other requests; please retry", cause: err}
		}
	}
	release = func() {
		if want > 0 {
			s.bodyMem.Release(want)
		}
	}
	// A deadline for the body: a base allowance plus time at a minimum rate for its size.
	deadline := s.now().Add(s.cfg.BodyReadTimeout + time.Duration(want/s.cfg.MinBodyRate)*time.Second)
	_ = http.NewResponseController(c.w).SetReadDeadline(deadline) // unsupported by test recorders
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		release()
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, nil, tooLarge(s.cfg.MaxBodyBytes)
		}
		return nil, nil, &apiError{Code: "IncompleteBody", Status: 400, Message: "The request body could not be read", cause: err}
	}
	return body, release, nil
}

func tooLarge(limit int64) *apiError {
	return &apiError{Code: "RequestEntityTooLarge", Status: http.StatusRequestEntityTooLarge,
		Message: "Request body must not exceed " + strconv.FormatInt(limit, 10) + " bytes"}
}

// queryParams merges the URL's query with a form-encoded body, as the query protocol allows both.
func queryParams(r *http.Request, body []byte) (url.Values, *apiError) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &apiError{Code: "MalformedQueryString", Status: 400, Message: "The query string is malformed", cause: err}
	}
	if len(body) > 0 {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct != "application/x-www-form-urlencoded" {
			return nil, &apiError{Code: "MalformedQueryString", Status: 400, Message: "Content-Type must be application/x-www-form-urlencoded"}
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, &apiError{Code: "MalformedQueryString", Status: 400, Message: "The request body is not a valid form", cause: err}
		}
		for k, v := range form {
			vals[k] = append(vals[k], v...)
		}
	}
	return vals, nil
}

// authenticateHeaders checks what it can of the request's signature before the body is read: the
// Authorization header or presigned query parses, the time is current, the credential scope names
// this service and region, the access key exists, its session token matches and it has not
// expired. It does not verify the signature itself, which covers the body.
func (s *Server) authenticateHeaders(c *call) *apiError {
	if !c.parsed {
		c.signed, c.signErr = sigv4.Parse(c.r)
	}
	signed, err := c.signed, c.signErr
	if err != nil {
		return authError(c.protocol, err)
	}
	c.signed = signed
	c.keyID = keyPrefix(signed.AccessKeyID)
	now := s.now()
	if err := signed.CheckTime(now); err != nil {
		return authError(c.protocol, err)
	}
	if c.svc != nil && signed.Service != c.svc.Model.SigningName {
		return authError(c.protocol, &sigv4.Error{Reason: sigv4.Mismatch,
			Msg: "Credential should be scoped to correct service: '" + c.svc.Model.SigningName + "'. "})
	}
	if c.protocol != ProtocolQuery && signed.Region != s.cfg.Region {
		return authError(c.protocol, &sigv4.Error{Reason: sigv4.Mismatch,
			Msg: "Credential should be scoped to a valid region: '" + s.cfg.Region + "'. "})
	}
	cred, err := s.cfg.Auth.LookupAccessKey(c.r.Context(), signed.AccessKeyID)
	if err != nil {
		if errs.KindOf(err) != errs.Unauthenticated && errs.KindOf(err) != errs.NotFound {
			s.log.Error("access key lookup failed", "request_id", c.id, "err", err)
			return &apiError{Code: "InternalFailure", Status: 500, Message: "We encountered an internal error. Please try again.", cause: err}
		}
		return authError(c.protocol, err)
	}
	if subtle.ConstantTimeCompare([]byte(cred.SessionToken), []byte(signed.SecurityToken)) != 1 {
		return authError(c.protocol, errs.E(errs.Unauthenticated, "session token does not match the access key"))
	}
	if !cred.Expires.IsZero() && !now.Before(cred.Expires) {
		return expiredToken(c.protocol)
	}
	c.cred = cred
	c.keyID = signed.AccessKeyID // a key of ours: its id is bounded and worth recording
	return nil
}

// verifySignature verifies the signature over the request and its body and fills c.caller.
func (s *Server) verifySignature(c *call, body []byte) *apiError {
	opt := sigv4.Options{S3: c.signed.Service == "s3", DeferPayloadHash: c.stream != nil}
	if err := c.signed.Verify(c.r, body, c.cred.Secret, opt); err != nil {
		return authError(c.protocol, err)
	}
	if c.stream != nil {
		if aerr := s.verifyStream(c); aerr != nil {
			return aerr
		}
	} else if sigv4.IsStreaming(c.r.Header.Get("X-Amz-Content-Sha256")) {
		var aerr *apiError
		if c.payload, aerr = streamingPayload(c, c.signed, body, c.cred.Secret); aerr != nil {
			return aerr
		}
	}
	c.caller = c.cred.Caller
	c.caller.SourceIP = sourceIP(c.r)
	if c.caller.AccessKeyID == "" {
		c.caller.AccessKeyID = c.signed.AccessKeyID
	}
	if c.caller.SessionToken == "" {
		c.caller.SessionToken = c.cred.SessionToken
	}
	if c.caller.PrincipalARN == "" {
		c.caller.PrincipalARN = c.caller.ARN
	}
	return nil
}

// streamingPayload decodes an aws-chunked body (x-amz-content-sha256 STREAMING-…): each chunk's
// signature, the framing, the decoded length and the checksum trailer are verified, and a body
// that fails any of them is refused whole, so the handler never sees it.
func streamingPayload(c *call, signed *sigv4.Signed, body []byte, secret string) ([]byte, *apiError) {
	if c.protocol == ProtocolQuery { // its form was read from the body before authentication
		return nil, &apiError{Code: "InvalidRequest", Status: 400, Message: "Query APIs do not accept a streaming (aws-chunked) body"}
	}
	cr, err := signed.ChunkReader(bytes.NewReader(body), c.r.Header, secret)
	if err == nil {
		var payload []byte
		if payload, err = io.ReadAll(cr); err == nil {
			return payload, nil
		}
	}
	var se *sigv4.Error
	if errors.As(err, &se) {
		switch se.Reason {
		case sigv4.BadBody:
			return nil, &apiError{Code: "IncompleteBody", Status: 400, Message: se.Msg, cause: err}
		case sigv4.BadDigest:
			return nil, &apiError{Code: "BadDigest", Status: 400, Message: se.Msg, cause: err}
		case sigv4.Incomplete:
			return nil, &apiError{Code: "InvalidArgument", Status: 400, Message: se.Msg, cause: err}
		}
	}
	return nil, authError(c.protocol, err) // a chunk or trailer signature that does not match
}

// decode turns the request into the operation's canonical input.
func (s *Server) decode(c *call, labels map[string]string, form url.Values, body []byte) (input []byte, aerr *apiError) {
	var ck checker
	v, skip, aerr := c.codec.decode(&ck, c, labels, form, body)
	if aerr != nil || skip {
		return []byte("{}"), aerr
	}
	if ck.typeErr != "" {
		return nil, serializationError(c.svc, c.op, ck.typeErr)
	}
	if len(ck.violations) > 0 {
		return nil, validationError(c.svc, c.op, ck.validationMessage())
	}
	return validateInput(c.svc, c.op, v)
}

// writeOutput encodes the handler's result in the protocol's shape.
func (s *Server) writeOutput(c *call, out any) *apiError {
	enc := &encoder{fields: &s.fields}
	tree := enc.resolve(reflect.ValueOf(out))
	buf := s.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer s.bufs.Put(buf)
	h := c.w.Header()
	status := c.codec.encodeOutput(enc, buf, h, c, tree)
	if enc.err != nil {
		for k := range h {
			if k != "X-Amzn-Requestid" {
				delete(h, k)
			}
		}
		return &apiError{Code: "InternalFailure", Status: 500, Message: "We encountered an internal error. Please try again.",
			cause: fmt.Errorf("encode %s output: %w", c.op.Name, enc.err)}
	}
	if sc, ok := out.(interface{ HTTPStatus() int }); ok && sc.HTTPStatus() != 0 {
		status = sc.HTTPStatus() // S3's 206 Partial Content for a ranged GetObject
	}
	c.status = status
	if enc.stream != nil {
		// A streamed payload: its length is whatever the handler's ContentLength header said.
		c.w.WriteHeader(status)
		if _, err := io.Copy(c.w, enc.stream); err != nil {
			s.log.Warn("streaming a response body failed", "request_id", c.id, "err", err)
		}
		if cl, ok := enc.stream.(io.Closer); ok {
			_ = cl.Close()
		}
		return nil
	}
	if c.r.Method != http.MethodHead || h.Get("Content-Length") == "" {
		// A HEAD answer's Content-Length, when the output binds one, is the resource's size.
		h.Set("Content-Length", strconv.Itoa(buf.Len()))
	}
	c.bytesOut = int64(buf.Len())
	c.w.WriteHeader(status)
	_, _ = c.w.Write(buf.Bytes())
	return nil
}

// writeError encodes e in the protocol's error shape.
func (s *Server) writeError(c *call, e *apiError) {
	e.Message = bound(e.Message, maxErrorMessage)
	if e.Resource == "" && c.protocol == ProtocolRESTXML {
		e.Resource = bound(c.r.URL.Path, maxErrorMessage)
	}
	c.status, c.errCode = e.Status, e.Code
	buf := s.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer s.bufs.Put(buf)
	h := c.w.Header()
	cd := c.codec
	if cd == nil { // not routed far enough to know: JSON, as AWS answers an unknown request
		cd = codecs[ProtocolJSON]
	}
	cd.encodeError(buf, h, c.svc, e, c.id)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	c.bytesOut = int64(buf.Len())
	c.w.WriteHeader(e.Status)
	_, _ = c.w.Write(buf.Bytes())
}

// finish logs, counts and audits the call.
func (s *Server) finish(c *call, aerr *apiError) {
	elapsed := s.now().Sub(c.start)
	svcName, opName := "unknown", "unknown"
	if c.svc != nil {
		svcName = c.svc.Name
		if c.op != nil {
			opName = c.op.Name
		}
	}
	s.metrics.observe(svcName, opName, c.status, elapsed.Seconds())

	if aerr != nil || s.log.Enabled(c.r.Context(), slog.LevelDebug) {
		attrs := []any{"request_id", c.id, "service", svcName, "operation", opName, "status", c.status,
			"duration", elapsed, "access_key", c.keyID, "principal", c.caller.ARN}
		switch {
		case aerr == nil:
			s.log.Debug("api call", attrs...)
		case aerr.Status >= 500 && c.r.Context().Err() != nil:
			// The client hung up (a follow that ended, a killed CLI): nothing failed here.
			s.log.Info("api call abandoned by the client", append(attrs, "err", aerr.cause)...)
		case aerr.Status >= 500:
			s.log.Error("api call failed", append(attrs, "code", aerr.Code, "err", aerr.cause)...)
		default:
			attrs = append(attrs, "code", aerr.Code, "message", aerr.Message)
			if aerr.cause != nil && aerr.cause.Error() != aerr.Message {
				attrs = append(attrs, "err", bound(aerr.cause.Error(), maxErrorMessage))
			}
			s.log.Info("api call rejected", attrs...)
		}
	}

	if s.cfg.Audit == nil || (c.committed != nil && c.committed() && aerr == nil) {
		return // the change's transaction committed the record
	}
	rec := s.auditRecord(c)
	rec.Latency = elapsed
	if err := s.cfg.Audit.RecordCall(context.WithoutCancel(c.r.Context()), rec); err != nil {
		s.log.Error("audit record failed", "request_id", c.id, "err", err)
	}
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
