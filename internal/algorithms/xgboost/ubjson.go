package xgboost

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/slipway-ml/slipway/internal/errs"
)

// XGBoost's UBJSON model format (save_model("model.ubj")) holds the same document as the JSON format in
// Universal Binary JSON: big-endian typed numbers ('i' int8, 'U' uint8, 'I' int16, 'l' int32, 'L' int64,
// 'd' float32, 'D' float64), 'S' strings with a length, objects whose keys are a length and bytes, and
// arrays that may carry an element count ('#') and one element type ('$') instead of markers and ']'.
// ubjsonToJSON transcodes it to JSON text for the JSON decoder.

// maxUBJSONDepth bounds nesting (XGBoost's documents are 6 deep).
const maxUBJSONDepth = 64

type ubjReader struct {
	data []byte
	off  int
	out  []byte
}

func (r *ubjReader) fail(what string) error {
	return errs.E(errs.Invalid, "the UBJSON model is truncated or corrupt at byte %d (%s)", r.off, what)
}

func (r *ubjReader) take(n int, what string) ([]byte, error) {
	if n < 0 || n > len(r.data)-r.off {
		return nil, r.fail(what)
	}
	b := r.data[r.off : r.off+n]
	r.off += n
	return b, nil
}

func (r *ubjReader) marker(what string) (byte, error) {
	b, err := r.take(1, what)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// ubjsonToJSON transcodes an XGBoost UBJSON model into JSON.
func ubjsonToJSON(data []byte) ([]byte, error) {
	r := &ubjReader{data: data, out: make([]byte, 0, 2*len(data))}
	m, err := r.marker("value")
	if err != nil {
		return nil, err
	}
	if err := r.value(m, 0); err != nil {
		return nil, err
	}
	if r.off != len(data) {
		return nil, r.fail("data after the document")
	}
	return r.out, nil
}

// integer reads the number after marker m as an int64, or reports that m is not an integer type.
func (r *ubjReader) integer(m byte) (int64, bool, error) {
	var size int
	switch m {
	case 'i', 'U':
		size = 1
	case 'I':
		size = 2
	case 'l':
		size = 4
	case 'L':
		size = 8
	default:
		return 0, false, nil
	}
	b, err := r.take(size, "integer")
	if err != nil {
		return 0, true, err
	}
	switch m {
	case 'i':
		return int64(int8(b[0])), true, nil
	case 'U':
		return int64(b[0]), true, nil
	case 'I':
		return int64(int16(binary.BigEndian.Uint16(b))), true, nil
	case 'l':
		return int64(int32(binary.BigEndian.Uint32(b))), true, nil
	}
	return int64(binary.BigEndian.Uint64(b)), true, nil
}

func (r *ubjReader) length(what string) (int, error) {
	m, err := r.marker(what)
	if err != nil {
		return 0, err
	}
	n, ok, err := r.integer(m)
	if err != nil {
		return 0, err
	}
	if !ok || n < 0 || n > int64(len(r.data)) {
		return 0, r.fail(what)
	}
	return int(n), nil
}

func (r *ubjReader) str(what string) error {
	n, err := r.length(what)
	if err != nil {
		return err
	}
	b, err := r.take(n, what)
	if err != nil {
		return err
	}
	r.out = strconv.AppendQuote(r.out, string(b))
	return nil
}

// value transcodes the value whose marker m has been read.
func (r *ubjReader) value(m byte, depth int) error {
	if depth > maxUBJSONDepth {
		return r.fail("nested too deeply")
	}
	if n, ok, err := r.integer(m); ok {
		if err != nil {
			return err
		}
		r.out = strconv.AppendInt(r.out, n, 10)
		return nil
	}
	switch m {
	case 'd':
		b, err := r.take(4, "float32")
		if err != nil {
			return err
		}
		r.out = appendJSONFloat(r.out, float64(math.Float32frombits(binary.BigEndian.Uint32(b))), 32)
	case 'D':
		b, err := r.take(8, "float64")
		if err != nil {
			return err
		}
		r.out = appendJSONFloat(r.out, math.Float64frombits(binary.BigEndian.Uint64(b)), 64)
	case 'S':
		return r.str("string")
	case 'T':
		r.out = append(r.out, "true"...)
	case 'F':
		r.out = append(r.out, "false"...)
	case 'Z':
		r.out = append(r.out, "null"...)
	case '{':
		r.out = append(r.out, '{')
		for first := true; ; first = false {
			if r.off < len(r.data) && r.data[r.off] == '}' {
				r.off++
				break
			}
			if !first {
				r.out = append(r.out, ',')
			}
			if err := r.str("object key"); err != nil {
				return err
			}
			r.out = append(r.out, ':')
			vm, err := r.marker("object value")
			if err != nil {
				return err
			}
			if err := r.value(vm, depth+1); err != nil {
				return err
			}
		}
		r.out = append(r.out, '}')
	case '[':
		return r.array(depth)
	default:
		r.off-- // report the marker's own position
		return r.fail("unknown marker " + strconv.QuoteRune(rune(m)))
	}
	return nil
}

func (r *ubjReader) array(depth int) error {
	var elem byte // the element type of a typed array
	count := -1
	if r.off < len(r.data) && r.data[r.off] == '$' {
		r.off++
		m, err := r.marker("array type")
		if err != nil {
			return err
		}
		elem = m
	}
	if r.off < len(r.data) && r.data[r.off] == '#' {
		r.off++
		n, err := r.length("array count")
		if err != nil {
			return err
		}
		count = n
	} else if elem != 0 {
		return r.fail("typed array without a count")
	}
	r.out = append(r.out, '[')
	for i := 0; count < 0 || i < count; i++ {
		m := elem
		if m == 0 {
			var err error
			if m, err = r.marker("array element"); err != nil {
				return err
			}
			if count < 0 && m == ']' {
				break
			}
		}
		if i > 0 {
			r.out = append(r.out, ',')
		}
		if err := r.value(m, depth+1); err != nil {
			return err
		}
	}
	r.out = append(r.out, ']')
	return nil
}

// appendJSONFloat writes v in the JSON text the model decoder reads, with NaN and ±Infinity as XGBoost's
// JSON writer spells them.
func appendJSONFloat(b []byte, v float64, bits int) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "Infinity"...)
	case math.IsInf(v, -1):
		return append(b, "-Infinity"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, bits)
}
