package inference

import (
	"strconv"
	"strings"
)

// format is a payload format this package reads or writes.
type format int

const (
	formatNone format = iota
	formatCSV
	formatLibSVM
	formatJSON
	formatJSONLines
)

// The media types, as a response names them.
const (
	TypeCSV       = "text/csv"
	TypeLibSVM    = "text/libsvm"
	TypeJSON      = "application/json"
	TypeJSONLines = "application/jsonlines"
)

// SupportedContentTypes and SupportedAccept list what Invoke reads and writes, for messages and for
// a runtime's metadata.
var (
	SupportedContentTypes = []string{TypeCSV, TypeLibSVM, TypeJSON, TypeJSONLines}
	SupportedAccept       = []string{TypeCSV, TypeJSON, TypeJSONLines}
)

func (f format) mediaType() string {
	switch f {
	case formatCSV:
		return TypeCSV
	case formatLibSVM:
		return TypeLibSVM
	case formatJSON:
		return TypeJSON
	case formatJSONLines:
		return TypeJSONLines
	}
	return ""
}

// mediaFormat maps a media type without parameters (any case) to a format; SageMaker's aliases
// (x-libsvm, x-jsonlines, jsonl) count.
func mediaFormat(mt string) format {
	switch {
	case strings.EqualFold(mt, "text/csv"), strings.EqualFold(mt, "csv"):
		return formatCSV
	case strings.EqualFold(mt, "text/libsvm"), strings.EqualFold(mt, "text/x-libsvm"), strings.EqualFold(mt, "libsvm"):
		return formatLibSVM
	case strings.EqualFold(mt, "application/json"), strings.EqualFold(mt, "json"):
		return formatJSON
	case strings.EqualFold(mt, "application/jsonlines"), strings.EqualFold(mt, "application/x-jsonlines"),
		strings.EqualFold(mt, "application/jsonl"), strings.EqualFold(mt, "jsonlines"):
		return formatJSONLines
	}
	return formatNone
}

// mediaType strips the parameters and surrounding blanks of a Content-Type value.
func mediaType(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// contentFormat is the request's payload format; "" is text/csv (SageMaker's XGBoost default).
func contentFormat(contentType string) (format, error) {
	mt := mediaType(contentType)
	if mt == "" {
		return formatCSV, nil
	}
	if f := mediaFormat(mt); f != formatNone {
		return f, nil
	}
	return formatNone, &Error{Status: 415, Code: CodeUnsupportedMedia,
		Message: "Content-Type " + strconv.Quote(contentType) + " is not supported; use one of " + strings.Join(SupportedContentTypes, ", ")}
}

// acceptFormat negotiates the response format from an Accept header: the acceptable type with the highest
// q-value (the earliest among equals) that this package writes. "", "*/*" and "text/*" give def when def
// matches; a list naming nothing writable is a 415 naming the supported types.
func acceptFormat(accept string, def format) (format, error) {
	if strings.TrimSpace(accept) == "" {
		return def, nil
	}
	best, bestQ := formatNone, -1.0
	for rest := accept; rest != ""; {
		var item string
		item, rest, _ = strings.Cut(rest, ",")
		mt, params, _ := strings.Cut(item, ";")
		mt = strings.TrimSpace(mt)
		q := 1.0
		for params != "" {
			var p string
			p, params, _ = strings.Cut(params, ";")
			k, v, _ := strings.Cut(p, "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if q <= 0 || q <= bestQ {
			continue
		}
		var f format
		switch {
		case mt == "*/*" || mt == "*":
			f = def
		case strings.EqualFold(mt, "text/*"):
			f = formatCSV
		case strings.EqualFold(mt, "application/*"):
			f = formatJSON
			if def == formatJSONLines {
				f = def
			}
		default:
			f = mediaFormat(mt)
			if f == formatLibSVM {
				f = formatNone // read, never written
			}
		}
		if f != formatNone {
			best, bestQ = f, q
		}
	}
	if best == formatNone {
		return formatNone, &Error{Status: 415, Code: CodeUnsupportedMedia,
			Message: "Accept " + strconv.Quote(accept) + " names no supported response type; use one of " + strings.Join(SupportedAccept, ", ")}
	}
	return best, nil
}
