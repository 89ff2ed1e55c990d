package xgboost

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"strconv"

	"github.com/slipway-ml/slipway/internal/atomicfile"
	"github.com/slipway-ml/slipway/internal/errs"
)

// A pickled Booster is what Python's pickle.dump(booster) writes for an xgboost.Booster: the class
// xgboost.core.Booster rebuilt with NEWOBJ from an empty tuple, then BUILD with the state
// Booster.__getstate__ returns — a dict whose "handle" is a bytearray holding the model as
// XGBoosterSerializeToBuffer writes it (XGBoost 1.6+: UBJSON {"Config": …, "Model": …}), beside plain
// attributes such as best_iteration and best_ntree_limit. The SageMaker XGBoost containers before 1.3-1
// save their model that way, and the classic evaluate.py reads it with pickle.load.
//
// WritePickle writes exactly that shape with pickle protocol 3 (the default of the Pythons those
// containers ran); ReadPickle reads that shape only — protocols 2 to 5, the opcodes pickle uses for it —
// and refuses anything else: it is not an unpickler and never imports or calls anything.

// PickleState is the plain state a pickled Booster carries beside its model.
type PickleState struct {
	BestIteration  int // best_iteration: the last round (or the best one with early stopping)
	BestNTreeLimit int // best_ntree_limit: (best_iteration+1) × num_parallel_tree
}

// Serialize returns the model as Booster.__getstate__ holds it in "handle": XGBoost 1.7's UBJSON
// serialization, {"Config": the learner configuration, "Model": the JSON model}.
func (b *Booster) Serialize() ([]byte, error) {
	var model bytes.Buffer
	if err := b.WriteJSON(&model); err != nil {
		return nil, err
	}
	var doc bytes.Buffer
	doc.WriteString(`{"Config":`)
	doc.WriteString(b.configJSON())
	doc.WriteString(`,"Model":`)
	doc.Write(model.Bytes())
	doc.WriteString(`}`)
	return jsonToUBJSON(doc.Bytes())
}

// configJSON is the learner configuration XGBoost needs to rebuild a learner for prediction.
func (b *Booster) configJSON() string {
	name := b.BoosterName
	if name == "" {
		name = "gbtree"
	}
	e := &jsonWriter{}
	e.raw(`{"learner":{"generic_param":{"fail_on_invalid_gpu_id":"0","gpu_id":"-1","n_jobs":"0","nthread":"0","random_state":"0","seed":"0","seed_per_iteration":"0","validate_parameters":"1"},"gradient_booster":{`)
	if name == "dart" {
		e.raw(`"dart_train_param":{"one_drop":"0","rate_drop":"0","normalize_type":"tree","sample_type":"uniform","skip_drop":"0"},"gbtree":{`)
	}
	e.raw(`"gbtree_model_param":{"num_parallel_tree":`)
	e.str(strconv.Itoa(max(b.NumParallelTree, 1)))
	e.raw(`,"num_trees":`)
	e.str(strconv.Itoa(len(b.Trees)))
	e.raw(`,"size_leaf_vector":"0"},"gbtree_train_param":{"predictor":"auto","process_type":"default","tree_method":"hist","updater":"grow_quantile_histmaker","updater_seq":"grow_quantile_histmaker"},"name":"gbtree","specified_updater":false,"updater":{}}`)
	if name == "dart" {
		e.raw(`,"name":"dart"}`)
	}
	b.writeLearnerModelParam(e)
	e.raw(`},"learner_train_param":{"booster":`)
	e.str(name)
	e.raw(`,"disable_default_eval_metric":"0","dsplit":"auto","objective":`)
	e.str(b.Obj.Name)
	e.raw(`},"metrics":[],"objective":`)
	e.raw(b.objectiveJSON())
	e.raw(`},"version":[1,7,4]}`)
	return string(e.buf)
}

// WritePickle writes b as pickle.dump(booster, f, protocol=3) does in XGBoost 1.7.
func (b *Booster) WritePickle(w io.Writer, st PickleState) error {
	handle, err := b.Serialize()
	if err != nil {
		return err
	}
	var p []byte
	p = append(p, 0x80, 3) // PROTO 3
	p = append(p, "cxgboost.core\nBooster\n"...)
	p = append(p, 'q', 0, ')', 0x81, 'q', 1, '}', 'q', 2, '(') // BINPUT, EMPTY_TUPLE, NEWOBJ, BINPUT, EMPTY_DICT, BINPUT, MARK
	p = pickleUnicode(p, "handle")
	p = append(p, 'q', 3)
	p = append(p, "cbuiltins\nbytearray\n"...)
	p = append(p, 'q', 4, 'B')
	p = binary.LittleEndian.AppendUint32(p, uint32(len(handle)))
	p = append(p, handle...)
	p = append(p, 'q', 5, 0x85, 'q', 6, 'R', 'q', 7) // TUPLE1, REDUCE
	p = pickleUnicode(p, "best_iteration")
	p = append(p, 'q', 8)
	p = pickleInt(p, st.BestIteration)
	p = pickleUnicode(p, "best_ntree_limit")
	p = append(p, 'q', 9)
	p = pickleInt(p, st.BestNTreeLimit)
	p = append(p, 'u', 'b', '.') // SETITEMS, BUILD, STOP
	_, err = w.Write(p)
	return err
}

// SavePickle writes b as a pickled Booster (WritePickle) to path atomically.
func (b *Booster) SavePickle(path string, st PickleState) error {
	return atomicfile.WriteFunc(path, 0o644, func(f io.Writer) error {
		w := bufio.NewWriter(f)
		if err := b.WritePickle(w, st); err != nil {
			return err
		}
		return w.Flush()
	})
}

func pickleUnicode(p []byte, s string) []byte {
	p = append(p, 'X')
	p = binary.LittleEndian.AppendUint32(p, uint32(len(s)))
	return append(p, s...)
}

func pickleInt(p []byte, v int) []byte {
	switch {
	case v >= 0 && v < 256:
		return append(p, 'K', byte(v))
	case v >= 0 && v < 65536:
		return binary.LittleEndian.AppendUint16(append(p, 'M'), uint16(v))
	}
	return binary.LittleEndian.AppendUint32(append(p, 'J'), uint32(int32(v)))
}

// IsPickle reports whether data starts like a pickle (protocol 2 or later).
func IsPickle(data []byte) bool {
	return len(data) >= 2 && data[0] == 0x80 && data[1] >= 2 && data[1] <= 5
}

// ReadPickle reads a pickled xgboost.Booster (see WritePickle) and returns its model. Only that shape is
// accepted: any other class, opcode or state is an errs.Invalid error.
func ReadPickle(data []byte) (*Booster, error) {
	handle, err := pickleHandle(data)
	if err != nil {
		return nil, err
	}
	return decodeSerialized(handle)
}

// decodeSerialized reads what XGBoosterSerializeToBuffer writes: UBJSON or JSON {"Config", "Model"}, or
// (XGBoost 1.0 to 1.5) "CONFIG-offset:" + the legacy binary model + the JSON configuration, or (before
// 1.0) the legacy binary model alone.
func decodeSerialized(h []byte) (*Booster, error) {
	const header = "CONFIG-offset:"
	switch {
	case bytes.HasPrefix(h, []byte(header)):
		if len(h) < len(header)+8 {
			return nil, errs.E(errs.Invalid, "the pickled model is truncated")
		}
		off := binary.LittleEndian.Uint64(h[len(header):])
		rest := h[len(header)+8:]
		if off == 0 || off > uint64(len(rest)) {
			return nil, errs.E(errs.Invalid, "the pickled model's configuration offset %d is out of range", off)
		}
		return decodeLegacy(rest[:off])
	case len(h) > 1 && h[0] == '{':
		js := h
		if h[1] != '"' && h[1] != ' ' && h[1] != '\n' {
			var err error
			if js, err = ubjsonToJSON(h); err != nil {
				return nil, err
			}
		}
		var doc struct{ Model json.RawMessage }
		if err := json.Unmarshal(quoteNonFinite(js), &doc); err != nil || len(doc.Model) == 0 {
			return nil, errs.E(errs.Invalid, "the pickled model holds no \"Model\" document")
		}
		return decodeModel(doc.Model)
	}
	return decodeLegacy(h)
}

// pickleHandle walks the opcodes of a pickled Booster and returns the bytes of its "handle".
func pickleHandle(data []byte) ([]byte, error) {
	r := &pickleReader{data: data}
	bad := func(what string) error {
		return errs.E(errs.Invalid, "not a pickled xgboost Booster: %s at byte %d", what, r.off)
	}
	if !IsPickle(data) {
		return nil, bad("no pickle protocol 2-5 header")
	}
	r.off = 2
	// The stack holds only strings, bytes, a few markers and the class; the memo is irrelevant
	// because every value is used once.
	type item struct {
		kind string // "str", "bytes", "global", "mark", "tuple", "obj", "dict", "num", "none", "bytearray-class", "codecs-encode", "latin1"
		s    string
		b    []byte
	}
	var stack []item
	pop := func() (item, bool) {
		if len(stack) == 0 {
			return item{}, false
		}
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		return it, true
	}
	var handle []byte
	seenObj, built := false, false
	for {
		op, ok := r.byte()
		if !ok {
			return nil, bad("truncated")
		}
		switch op {
		case 0x95: // FRAME
			if _, ok := r.take(8); !ok {
				return nil, bad("truncated frame")
			}
		case 'q', 0x94: // BINPUT, MEMOIZE
			if op == 'q' {
				if _, ok := r.take(1); !ok {
					return nil, bad("truncated")
				}
			}
		case 'r': // LONG_BINPUT
			if _, ok := r.take(4); !ok {
				return nil, bad("truncated")
			}
		case 'c': // GLOBAL module\nname\n
			mod, ok1 := r.line()
			name, ok2 := r.line()
			if !ok1 || !ok2 {
				return nil, bad("truncated global")
			}
			stack = append(stack, item{kind: "global", s: mod + "." + name})
		case 0x93: // STACK_GLOBAL
			name, ok1 := pop()
			mod, ok2 := pop()
			if !ok1 || !ok2 || name.kind != "str" || mod.kind != "str" {
				return nil, bad("malformed global")
			}
			stack = append(stack, item{kind: "global", s: mod.s + "." + name.s})
		case 'X', 0x8c, 0x8d: // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
			b, ok := r.counted(op)
			if !ok {
				return nil, bad("truncated string")
			}
			stack = append(stack, item{kind: "str", s: string(b)})
		case 'B', 'C', 0x8e, 0x96: // BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
			b, ok := r.counted(op)
			if !ok {
				return nil, bad("truncated bytes")
			}
			kind := "bytes"
			if op == 0x96 {
				kind = "bytearray"
			}
			stack = append(stack, item{kind: kind, b: b})
		case ')':
			stack = append(stack, item{kind: "tuple"})
		case 0x85: // TUPLE1
			v, ok := pop()
			if !ok {
				return nil, bad("empty stack")
			}
			stack = append(stack, item{kind: "tuple", b: v.b, s: v.kind})
		case 0x86: // TUPLE2: _codecs.encode(str, "latin1") in protocol 2
			enc, ok1 := pop()
			v, ok2 := pop()
			if !ok1 || !ok2 || enc.kind != "str" || enc.s != "latin1" || v.kind != "str" {
				return nil, bad("unexpected tuple")
			}
			stack = append(stack, item{kind: "tuple", b: latin1(v.s), s: "bytes"})
		case 0x81: // NEWOBJ
			args, ok1 := pop()
			cls, ok2 := pop()
			if !ok1 || !ok2 || args.kind != "tuple" || args.s != "" || cls.kind != "global" || cls.s != "xgboost.core.Booster" || seenObj {
				return nil, bad("not an xgboost.core.Booster")
			}
			seenObj = true
			stack = append(stack, item{kind: "obj"})
		case '}':
			stack = append(stack, item{kind: "dict"})
		case '(':
			stack = append(stack, item{kind: "mark"})
		case 'R': // REDUCE: bytearray(bytes) or _codecs.encode(...)
			args, ok1 := pop()
			fn, ok2 := pop()
			if !ok1 || !ok2 || args.kind != "tuple" || fn.kind != "global" {
				return nil, bad("unexpected call")
			}
			switch {
			case (fn.s == "builtins.bytearray" || fn.s == "__builtin__.bytearray") && (args.s == "bytes" || args.s == "tuple" || args.s == "latin1"):
				stack = append(stack, item{kind: "bytearray", b: args.b})
			case fn.s == "_codecs.encode" && args.s == "bytes":
				stack = append(stack, item{kind: "bytes", b: args.b})
			default:
				return nil, bad("call of " + fn.s)
			}
		case 'K':
			if _, ok := r.take(1); !ok {
				return nil, bad("truncated")
			}
			stack = append(stack, item{kind: "num"})
		case 'M':
			if _, ok := r.take(2); !ok {
				return nil, bad("truncated")
			}
			stack = append(stack, item{kind: "num"})
		case 'J':
			if _, ok := r.take(4); !ok {
				return nil, bad("truncated")
			}
			stack = append(stack, item{kind: "num"})
		case 'G': // BINFLOAT (best_score)
			if _, ok := r.take(8); !ok {
				return nil, bad("truncated")
			}
			stack = append(stack, item{kind: "num"})
		case 'N', 0x88, 0x89: // None, True, False
			stack = append(stack, item{kind: "none"})
		case 'u', 's': // SETITEMS, SETITEM
			var pairs []item
			for {
				v, ok := pop()
				if !ok {
					return nil, bad("unbalanced items")
				}
				if op == 'u' && v.kind == "mark" {
					break
				}
				pairs = append(pairs, v)
				if op == 's' && len(pairs) == 2 {
					break
				}
			}
			if len(pairs)%2 != 0 {
				return nil, bad("odd number of dict items")
			}
			d, ok := pop()
			if !ok || d.kind != "dict" {
				return nil, bad("items without a dict")
			}
			for i := len(pairs) - 1; i > 0; i -= 2 {
				k, v := pairs[i], pairs[i-1]
				if k.kind != "str" {
					return nil, bad("non-string state key")
				}
				if k.s == "handle" {
					if v.kind != "bytearray" && v.kind != "bytes" {
						return nil, bad("handle is not bytes")
					}
					handle = v.b
				}
			}
			stack = append(stack, d)
		case 'b': // BUILD
			st, ok1 := pop()
			obj, ok2 := pop()
			if !ok1 || !ok2 || st.kind != "dict" || obj.kind != "obj" || built {
				return nil, bad("unexpected BUILD")
			}
			built = true
			stack = append(stack, obj)
		case '.': // STOP
			if !built || len(stack) != 1 || handle == nil {
				return nil, bad("no Booster state with a handle")
			}
			return handle, nil
		default:
			return nil, bad("unexpected opcode " + strconv.Quote(string(rune(op))))
		}
		if len(stack) > 64 {
			return nil, bad("stack too deep")
		}
	}
}

// latin1 maps each rune of s (all below 256, as pickle protocol 2 writes bytes) to one byte.
func latin1(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		out = append(out, byte(r))
	}
	return out
}

type pickleReader struct {
	data []byte
	off  int
}

func (r *pickleReader) byte() (byte, bool) {
	if r.off >= len(r.data) {
		return 0, false
	}
	r.off++
	return r.data[r.off-1], true
}

func (r *pickleReader) take(n int) ([]byte, bool) {
	if n < 0 || n > len(r.data)-r.off {
		return nil, false
	}
	b := r.data[r.off : r.off+n]
	r.off += n
	return b, true
}

func (r *pickleReader) line() (string, bool) {
	i := bytes.IndexByte(r.data[r.off:], '\n')
	if i < 0 || i > 256 {
		return "", false
	}
	s := string(r.data[r.off : r.off+i])
	r.off += i + 1
	return s, true
}

// counted reads the length-prefixed payload of a string or bytes opcode.
func (r *pickleReader) counted(op byte) ([]byte, bool) {
	var n uint64
	switch op {
	case 0x8c, 'C': // 1-byte length
		b, ok := r.take(1)
		if !ok {
			return nil, false
		}
		n = uint64(b[0])
	case 'X', 'B': // 4-byte length
		b, ok := r.take(4)
		if !ok {
			return nil, false
		}
		n = uint64(binary.LittleEndian.Uint32(b))
	default: // 8-byte length
		b, ok := r.take(8)
		if !ok {
			return nil, false
		}
		n = binary.LittleEndian.Uint64(b)
	}
	if n > uint64(len(r.data)) {
		return nil, false
	}
	return r.take(int(n))
}

// jsonToUBJSON transcodes JSON text written by this package (compact, with XGBoost's bare NaN and
// Infinity) into UBJSON as XGBoost's reader takes it: objects with int64-length keys, strings as 'S',
// numbers with a fraction or exponent as float32 ('d'), others as int64 ('L'), untyped arrays. XGBoost's
// JSON text parser types numbers the same way, so the UBJSON document loads as the JSON text would.
func jsonToUBJSON(js []byte) ([]byte, error) {
	t := &ubjWriter{in: js, out: make([]byte, 0, len(js))}
	if err := t.value(0); err != nil {
		return nil, err
	}
	if t.off != len(js) {
		return nil, errs.E(errs.Internal, "json to ubjson: data after the document at byte %d", t.off)
	}
	return t.out, nil
}

type ubjWriter struct {
	in  []byte
	off int
	out []byte
}

func (t *ubjWriter) fail() error {
	return errs.E(errs.Internal, "json to ubjson: unexpected input at byte %d", t.off)
}

func (t *ubjWriter) putLen(n int) {
	t.out = append(t.out, 'L')
	t.out = binary.BigEndian.AppendUint64(t.out, uint64(n))
}

func (t *ubjWriter) str() (string, error) {
	start := t.off
	if t.off >= len(t.in) || t.in[t.off] != '"' {
		return "", t.fail()
	}
	for t.off++; t.off < len(t.in); t.off++ {
		switch t.in[t.off] {
		case '\\':
			t.off++
		case '"':
			t.off++
			var s string
			if err := json.Unmarshal(t.in[start:t.off], &s); err != nil {
				return "", t.fail()
			}
			return s, nil
		}
	}
	return "", t.fail()
}

func (t *ubjWriter) value(depth int) error {
	if t.off >= len(t.in) || depth > maxUBJSONDepth {
		return t.fail()
	}
	switch c := t.in[t.off]; {
	case c == '{':
		t.off++
		t.out = append(t.out, '{')
		for t.off < len(t.in) && t.in[t.off] != '}' {
			k, err := t.str()
			if err != nil {
				return err
			}
			t.putLen(len(k))
			t.out = append(t.out, k...)
			if t.off >= len(t.in) || t.in[t.off] != ':' {
				return t.fail()
			}
			t.off++
			if err := t.value(depth + 1); err != nil {
				return err
			}
			if t.off < len(t.in) && t.in[t.off] == ',' {
				t.off++
			}
		}
		if t.off >= len(t.in) {
			return t.fail()
		}
		t.off++
		t.out = append(t.out, '}')
	case c == '[':
		t.off++
		t.out = append(t.out, '[')
		for t.off < len(t.in) && t.in[t.off] != ']' {
			if err := t.value(depth + 1); err != nil {
				return err
			}
			if t.off < len(t.in) && t.in[t.off] == ',' {
				t.off++
			}
		}
		if t.off >= len(t.in) {
			return t.fail()
		}
		t.off++
		t.out = append(t.out, ']')
	case c == '"':
		s, err := t.str()
		if err != nil {
			return err
		}
		t.out = append(t.out, 'S')
		t.putLen(len(s))
		t.out = append(t.out, s...)
	case bytes.HasPrefix(t.in[t.off:], []byte("true")):
		t.off += 4
		t.out = append(t.out, 'T')
	case bytes.HasPrefix(t.in[t.off:], []byte("false")):
		t.off += 5
		t.out = append(t.out, 'F')
	case bytes.HasPrefix(t.in[t.off:], []byte("null")):
		t.off += 4
		t.out = append(t.out, 'Z')
	default:
		end := t.off
		for end < len(t.in) && !bytes.ContainsRune([]byte(",]}"), rune(t.in[end])) {
			end++
		}
		tok := string(t.in[t.off:end])
		t.off = end
		var f float64
		switch tok {
		case "NaN":
			f = math.NaN()
		case "Infinity":
			f = math.Inf(1)
		case "-Infinity":
			f = math.Inf(-1)
		default:
			if !bytes.ContainsAny([]byte(tok), ".eE") {
				n, err := strconv.ParseInt(tok, 10, 64)
				if err != nil {
					return t.fail()
				}
				t.out = append(t.out, 'L')
				t.out = binary.BigEndian.AppendUint64(t.out, uint64(n))
				return nil
			}
			var err error
			if f, err = strconv.ParseFloat(tok, 32); err != nil {
				return t.fail()
			}
		}
		t.out = append(t.out, 'd')
		t.out = binary.BigEndian.AppendUint32(t.out, math.Float32bits(float32(f)))
	}
	return nil
}
