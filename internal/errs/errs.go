// Package errs is Slipway's one error vocabulary: every error that crosses a package boundary
// carries a Kind (what went wrong, in terms a caller can act on), the operation that failed, an
// optional AWS error code chosen by the domain (e.g. "MalformedPolicyDocument"), a message safe
// to show to the user, and the underlying cause for logs.
//
// Only the transport (internal/awsapi) maps kinds and codes to HTTP statuses and wire shapes;
// nothing else knows about HTTP.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error.
type Kind int

// The kinds, from the caller's point of view.
const (
	Other           Kind = iota // unclassified: an internal error
	Invalid                     // the request is malformed or breaks a constraint (400)
	NotFound                    // the named thing does not exist (400 in most AWS APIs, 404 in REST ones)
	Conflict                    // the thing exists already or is in the wrong state (400/409)
	AccessDenied                // authenticated but not allowed (403)
	Unauthenticated             // the signature or credentials are missing, bad or expired (403)
	Throttled                   // too many requests (400/429)
	LimitExceeded               // a quota is reached
	Internal                    // a bug or a failed dependency (500)
	Unavailable                 // try again later (503)
)

var kindNames = [...]string{"Other", "Invalid", "NotFound", "Conflict", "AccessDenied", "Unauthenticated",
	"Throttled", "LimitExceeded", "Internal", "Unavailable"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is the error type every domain package returns.
type Error struct {
	Kind Kind
	Op   string // the operation that failed, e.g. "registry.CreateModelPackage"
	Code string // optional AWS error code, e.g. "ResourceNotFound"; empty lets the transport choose by kind
	Msg  string // user-safe text
	Err  error  // the cause, for logs; never shown to a remote caller

	causeInMsg bool // Msg already spells out Err (E used it as a format argument)
}

// E builds an *Error with a message formatted from msg and args. The first error among args is
// the cause. It is also a format argument when msg has a verb for it (more verbs than the other
// arguments), so both E(k, "cannot open %s", path, err) and E(k, "cannot open %s: %v", path, err)
// read as intended. Use the struct literal when you need Op, or WithCode for an AWS code.
func E(kind Kind, msg string, args ...any) *Error {
	e := &Error{Kind: kind}
	fmtArgs := make([]any, 0, len(args))
	for _, a := range args {
		if err, ok := a.(error); ok && e.Err == nil {
			e.Err = err
			continue
		}
		fmtArgs = append(fmtArgs, a)
	}
	if e.Err != nil && countVerbs(msg) > len(fmtArgs) {
		fmtArgs = args
		e.causeInMsg = true
	}
	if len(fmtArgs) > 0 {
		e.Msg = fmt.Sprintf(msg, fmtArgs...)
	} else {
		e.Msg = msg
	}
	return e
}

// countVerbs counts the formatting verbs of a format string (%% is not one).
func countVerbs(format string) int {
	n := 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		if i+1 < len(format) && format[i+1] == '%' {
			i++
			continue
		}
		n++
	}
	return n
}

// WithCode returns a copy of e carrying the AWS error code.
func (e *Error) WithCode(code string) *Error {
	c := *e
	c.Code = code
	return &c
}

// WithOp returns a copy of e carrying the operation name.
func (e *Error) WithOp(op string) *Error {
	c := *e
	c.Op = op
	return &c
}

func (e *Error) Error() string {
	s := e.Msg
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Err != nil && !e.causeInMsg {
		if s == "" {
			return e.Err.Error()
		}
		return s + ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf reports the kind of the first *Error in err's chain, or Other.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Other
}

// Is reports whether err has the given kind.
func Is(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }

// CodeOf reports the AWS error code of the first *Error in err's chain that has one.
func CodeOf(err error) string {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return ""
		}
		if e.Code != "" {
			return e.Code
		}
		err = e.Err
	}
	return ""
}

// Message returns the user-safe message of err: the Msg of the outermost *Error, or a generic text
// for errors that are not *Error (their detail may leak internals).
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Msg != "" {
		return e.Msg
	}
	return "internal error"
}
