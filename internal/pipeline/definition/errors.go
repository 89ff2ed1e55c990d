package definition

import (
	"fmt"
	"strconv"
	"strings"
)

// Error is what Parse, Validate, ParameterValues and Resolve return for a definition or value
// that is wrong. Its message names the step (when there is one) and the JSON path of the
// offending value, so an API can return it as a ValidationException unchanged.
type Error struct {
	Step string // the step the problem is in; empty for pipeline-level problems
	Path string // JSON path of the offending value, e.g. $.Steps[2].Arguments.Conditions[0].Type
	Msg  string // what is wrong
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Step != "" {
		fmt.Fprintf(&b, "step %q: ", e.Step)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func errorf(step, path, format string, args ...any) *Error {
	return &Error{Step: step, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// jpath builds JSON paths ($.Steps[0].Arguments.X) as a parser descends.
type jpath string

const root jpath = "$"

func (p jpath) key(k string) jpath {
	if isIdent(k) {
		return p + "." + jpath(k)
	}
	return p + "[" + jpath(strconv.Quote(k)) + "]"
}

func (p jpath) idx(i int) jpath { return p + "[" + jpath(strconv.Itoa(i)) + "]" }

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == ':' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
