package awsapi

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/slipway-ml/slipway/internal/awsapi/sigv4"
)

// streamsInput reports whether op's input payload is a streaming member (S3's PutObject and
// UploadPart bodies): such a payload reaches the handler as Request.BodyStream, never buffered.
func streamsInput(op *Operation) bool {
	if op.Input == nil || op.Input.Payload == "" {
		return false
	}
	m := op.Input.MemberByName(op.Input.Payload)
	return m != nil && m.Streaming
}

// openStream prepares a streamed payload before the signature is verified: the raw body, bounded
// by MaxStreamBytes and by a read deadline for its announced size.
func (s *Server) openStream(c *call) *apiError {
	if c.r.ContentLength > s.cfg.MaxStreamBytes {
		return streamTooLarge(s.cfg.MaxStreamBytes)
	}
	size := c.r.ContentLength
	if size < 0 {
		size = s.cfg.MaxStreamBytes
	}
	deadline := s.now().Add(s.cfg.BodyReadTimeout + time.Duration(size/s.cfg.MinBodyRate)*time.Second)
	_ = http.NewResponseController(c.w).SetReadDeadline(deadline)
	c.stream = &limitReader{r: c.r.Body, left: s.cfg.MaxStreamBytes}
	return nil
}

// verifyStream wraps the raw payload in what verifies it, by x-amz-content-sha256: the chunk
// signatures and trailer checksums of an aws-chunked body, the SHA-256 of a plain body, or
// nothing for UNSIGNED-PAYLOAD. Verification completes when the handler reads to io.EOF.
func (s *Server) verifyStream(c *call) *apiError {
	h := c.r.Header.Get("X-Amz-Content-Sha256")
	var r io.Reader
	switch {
	case sigv4.IsStreaming(h):
		cr, err := c.signed.ChunkReader(c.stream, c.r.Header, c.cred.Secret)
		if err != nil {
			return streamAPIError(c, err)
		}
		r = cr
	case h == sigv4.UnsignedPayload || h == "" && c.signed.Presigned:
		r = c.stream
	case len(h) == 64:
		r = sigv4.PayloadHashReader(c.stream, h)
	default:
		return &apiError{Code: "InvalidArgument", Status: 400,
			Message: "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-… or a SHA-256 hex digest for this operation"}
	}
	c.stream = &streamReader{r: r, c: c}
	return nil
}

// limitReader fails, rather than stops, past its limit: a payload over the limit is refused.
type limitReader struct {
	r    io.Reader
	left int64
}

var errStreamTooLarge = errors.New("payload larger than the server accepts")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			return 0, errStreamTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// streamReader turns what goes wrong while a handler reads a streamed payload into the wire
// error the client should see, so a handler that returns the read error (wrapped or not)
// answers as AWS would: BadDigest, IncompleteBody, SignatureDoesNotMatch, EntityTooLarge.
type streamReader struct {
	r   io.Reader
	c   *call
	err error
}

func (s *streamReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = streamAPIError(s.c, err)
		return n, s.err
	}
	return n, err
}

func streamAPIError(c *call, err error) *apiError {
	if errors.Is(err, errStreamTooLarge) {
		return streamTooLarge(0)
	}
	var se *sigv4.Error
	if errors.As(err, &se) {
		switch se.Reason {
		case sigv4.BadBody:
			return &apiError{Code: "IncompleteBody", Status: 400, Message: se.Msg, cause: err}
		case sigv4.BadDigest:
			return &apiError{Code: "BadDigest", Status: 400, Message: se.Msg, cause: err}
		case sigv4.Incomplete:
			return &apiError{Code: "InvalidArgument", Status: 400, Message: se.Msg, cause: err}
		}
		return authError(c.protocol, err)
	}
	return &apiError{Code: "IncompleteBody", Status: 400, Message: "The request body could not be read to its end", cause: err}
}

func streamTooLarge(limit int64) *apiError {
	msg := "Your proposed upload exceeds the maximum allowed size"
	if limit > 0 {
		msg += " (" + strconv.FormatInt(limit, 10) + " bytes)"
	}
	return &apiError{Code: "EntityTooLarge", Status: http.StatusRequestEntityTooLarge, Message: msg}
}
