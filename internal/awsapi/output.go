package awsapi

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Handlers return plain Go values (structs with json tags, maps, slices, time.Time, []byte,
// json.RawMessage …). The encoders walk those values by reflection, following encoding/json's
// naming rules (json tags, omitempty, "-", embedded structs), so that a result is never marshalled
// and parsed again just to be re-encoded by shape. Values whose type has its own MarshalJSON are
// the exception: they are marshalled and parsed.

var (
	timeType      = reflect.TypeFor[time.Time]()
	numberType    = reflect.TypeFor[json.Number]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
)

// fieldCache maps struct types to their JSON member names. It is owned by a Server.
type fieldCache struct{ m sync.Map } // reflect.Type → map[string]fieldInfo

type fieldInfo struct {
	index     []int
	omitEmpty bool
}

func (fc *fieldCache) fields(t reflect.Type) map[string]fieldInfo {
	if f, ok := fc.m.Load(t); ok {
		return f.(map[string]fieldInfo)
	}
	f := map[string]fieldInfo{}
	collectFields(t, nil, f, map[reflect.Type]bool{})
	fc.m.Store(t, f)
	return f
}

// collectFields adds t's JSON-visible fields to out; names found at a shallower depth win, as
// encoding/json's rules say.
func collectFields(t reflect.Type, index []int, out map[string]fieldInfo, seen map[reflect.Type]bool) {
	if seen[t] {
		return
	}
	seen[t] = true
	var embedded []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, sf)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if _, dup := out[name]; dup {
			continue
		}
		idx := append(append([]int(nil), index...), i)
		out[name] = fieldInfo{index: idx, omitEmpty: strings.Contains(","+opts+",", ",omitempty,")}
	}
	for _, sf := range embedded {
		ft := sf.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		sub := map[string]fieldInfo{}
		collectFields(ft, append(append([]int(nil), index...), sf.Index[0]), sub, seen)
		for k, v := range sub {
			if _, dup := out[k]; !dup {
				out[k] = v
			}
		}
	}
}

// encoder encodes one handler result. err records the first value that could not be encoded.
type encoder struct {
	fields *fieldCache
	err    error
	// stream is a payload the handler gave as an io.Reader, written after the headers.
	stream io.Reader
}

// setStream records x as the streamed payload if it is an io.Reader.
func (e *encoder) setStream(x reflect.Value) bool {
	if !x.IsValid() || !x.CanInterface() {
		return false
	}
	if r, ok := x.Interface().(io.Reader); ok {
		e.stream = r
		return true
	}
	return false
}

// resolve follows pointers and interfaces, and turns values with their own MarshalJSON into
// decoded trees. It returns the zero Value for nil.
func (e *encoder) resolve(v reflect.Value) reflect.Value {
	for v.IsValid() {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if v.IsNil() {
				return reflect.Value{}
			}
			v = v.Elem()
			continue
		}
		t := v.Type()
		if t == timeType || t == numberType || !t.Implements(marshalerType) {
			return v
		}
		b, err := v.Interface().(json.Marshaler).MarshalJSON()
		if err != nil {
			if e.err == nil {
				e.err = err
			}
			return reflect.Value{}
		}
		tree, err := decodeJSONValue(b)
		if err != nil {
			if e.err == nil {
				e.err = err
			}
			return reflect.Value{}
		}
		if tree == nil {
			return reflect.Value{}
		}
		v = reflect.ValueOf(tree)
		if v.Type().Implements(marshalerType) && v.Type() != numberType {
			return v // cannot happen for decoded trees; avoids looping
		}
	}
	return v
}

// member returns the structure member name of v, resolved; ok is false when it is absent, nil or
// an empty omitempty field.
func (e *encoder) member(v reflect.Value, name string) (reflect.Value, bool) {
	switch v.Kind() {
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return reflect.Value{}, false
		}
		mv := v.MapIndex(reflect.ValueOf(name).Convert(v.Type().Key()))
		if !mv.IsValid() {
			return mv, false
		}
		if r, ok := readerOf(mv); ok {
			return r, true
		}
		mv = e.resolve(mv)
		return mv, mv.IsValid()
	case reflect.Struct:
		fi, ok := e.fields.fields(v.Type())[name]
		if !ok {
			return reflect.Value{}, false
		}
		fv, err := v.FieldByIndexErr(fi.index)
		if err != nil || fi.omitEmpty && isEmptyValue(fv) {
			return reflect.Value{}, false
		}
		if r, ok := readerOf(fv); ok {
			return r, true
		}
		fv = e.resolve(fv)
		return fv, fv.IsValid()
	}
	return reflect.Value{}, false
}

// isEmptyValue is encoding/json's omitempty test.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// list returns the resolved elements of a slice or array (not of a []byte).
func (e *encoder) list(v reflect.Value) []reflect.Value {
	if k := v.Kind(); k != reflect.Slice && k != reflect.Array {
		return nil
	}
	out := make([]reflect.Value, 0, v.Len())
	for i := 0; i < v.Len(); i++ {
		out = append(out, e.resolve(v.Index(i)))
	}
	return out
}

type entry struct {
	key string
	val reflect.Value
}

// entries returns a map's entries sorted by key, values resolved; nil values are dropped.
func (e *encoder) entries(v reflect.Value) []entry {
	if v.Kind() != reflect.Map || v.Type().Key().Kind() != reflect.String {
		return nil
	}
	out := make([]entry, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		if val := e.resolve(it.Value()); val.IsValid() {
			out = append(out, entry{it.Key().String(), val})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// leaf converts a resolved scalar into the decoded-tree form the scalar writers take: string,
// json.Number, bool or time.Time; []byte becomes its base64 text.
func leaf(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		if v.Type() == numberType {
			return json.Number(v.String())
		}
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return json.Number(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return json.Number(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		switch {
		case math.IsNaN(f):
			return "NaN"
		case math.IsInf(f, 1):
			return "Infinity"
		case math.IsInf(f, -1):
			return "-Infinity"
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
	case reflect.Struct:
		if v.Type() == timeType {
			return v.Interface().(time.Time)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return base64.StdEncoding.EncodeToString(v.Bytes())
		}
	}
	return v.Interface()
}

// readerOf returns the io.Reader an interface value holds (a streamed payload), unresolved.
func readerOf(v reflect.Value) (reflect.Value, bool) {
	if v.Kind() != reflect.Interface || v.IsNil() {
		return reflect.Value{}, false
	}
	if _, ok := v.Interface().(io.Reader); ok {
		return v.Elem(), true
	}
	return reflect.Value{}, false
}
