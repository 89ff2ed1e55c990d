package xgboost

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/atomicfile"
	"github.com/slipway-ml/slipway/internal/errs"
)

// maxModelBytes bounds what ReadModel reads, so a hostile file cannot exhaust memory.
const maxModelBytes = 2 << 30

// The wire shapes of XGBoost's JSON model. Numbers XGBoost writes as strings are strings here.
type jsonModel struct {
	Learner *jsonLearner `json:"learner"`
	Version []int        `json:"version"`
}

type jsonLearner struct {
	Attributes        map[string]string            `json:"attributes"`
	FeatureNames      []string                     `json:"feature_names"`
	FeatureTypes      []string                     `json:"feature_types"`
	GradientBooster   *jsonGradientBooster         `json:"gradient_booster"`
	LearnerModelParam map[string]string            `json:"learner_model_param"`
	Objective         map[string]json.RawMessage   `json:"objective"`
	objectiveParams   map[string]map[string]string // decoded from Objective
}

type jsonGradientBooster struct {
	Name       string               `json:"name"`
	Model      *jsonGBTree          `json:"model"`  // gbtree
	GBTree     *jsonGradientBooster `json:"gbtree"` // dart
	WeightDrop jfloats              `json:"weight_drop"`
}

type jsonGBTree struct {
	Param    map[string]string `json:"gbtree_model_param"`
	Trees    []jsonTree        `json:"trees"`
	TreeInfo []int             `json:"tree_info"`
}

type jsonTree struct {
	BaseWeights        jfloats           `json:"base_weights"`
	Categories         []int32           `json:"categories"`
	CategoriesNodes    []int32           `json:"categories_nodes"`
	CategoriesSegments []int64           `json:"categories_segments"`
	CategoriesSizes    []int64           `json:"categories_sizes"`
	DefaultLeft        []flag            `json:"default_left"`
	ID                 int               `json:"id"`
	LeftChildren       []int32           `json:"left_children"`
	LossChanges        jfloats           `json:"loss_changes"`
	Parents            []int32           `json:"parents"`
	RightChildren      []int32           `json:"right_children"`
	SplitConditions    jfloats           `json:"split_conditions"`
	SplitIndices       []int32           `json:"split_indices"`
	SplitType          []uint8           `json:"split_type"`
	SumHessian         jfloats           `json:"sum_hessian"`
	TreeParam          map[string]string `json:"tree_param"`
}

// jfloats is an array of floats as XGBoost writes it, where NaN and ±Infinity appear as bare words;
// quoteNonFinite has quoted them before encoding/json sees the input.
type jfloats []float32

func (f *jfloats) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*f = nil
		return nil
	}
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return fmt.Errorf("%.20s is not an array of numbers", b)
	}
	b = bytes.TrimSpace(b[1 : len(b)-1])
	out := make([]float32, 0, bytes.Count(b, []byte(","))+1)
	for len(b) > 0 {
		tok := b
		if i := bytes.IndexByte(b, ','); i >= 0 {
			tok, b = b[:i], b[i+1:]
			if len(bytes.TrimSpace(b)) == 0 {
				return fmt.Errorf("trailing comma in an array of numbers")
			}
		} else {
			b = nil
		}
		tok = bytes.TrimSpace(tok)
		var v float64
		var err error
		switch string(tok) {
		case `"NaN"`:
			v = math.NaN()
		case `"Infinity"`:
			v = math.Inf(1)
		case `"-Infinity"`:
			v = math.Inf(-1)
		default:
			if len(tok) == 0 || tok[0] == '"' {
				return fmt.Errorf("%q is not a number", tok)
			}
			v, err = strconv.ParseFloat(string(tok), 32)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return fmt.Errorf("%q is not a number", tok)
			}
		}
		out = append(out, float32(v))
	}
	*f = out
	return nil
}

// quoteNonFinite quotes the bare NaN, Infinity and -Infinity that XGBoost writes for non-finite floats,
// which are not JSON; data is returned unchanged when it has none.
func quoteNonFinite(data []byte) []byte {
	var out []byte
	inString, last := false, 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			continue
		}
		var word string
		for _, w := range []string{"NaN", "Infinity", "-Infinity"} {
			if c == w[0] && bytes.HasPrefix(data[i:], []byte(w)) {
				word = w
				break
			}
		}
		if word == "" {
			continue
		}
		out = append(out, data[last:i]...)
		out = append(out, '"')
		out = append(out, word...)
		out = append(out, '"')
		i += len(word) - 1
		last = i + 1
	}
	if out == nil {
		return data
	}
	return append(out, data[last:]...)
}

// flag is a default_left entry: XGBoost 1.6+ writes 0/1, older versions true/false.
type flag bool

func (f *flag) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "1", "true":
		*f = true
	case "0", "false":
		*f = false
	default:
		return fmt.Errorf("default_left entry %s is not 0, 1, true or false", b)
	}
	return nil
}

// LoadModel reads an XGBoost JSON model file.
func LoadModel(path string) (*Booster, error) {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, errs.E(errs.NotFound, "model file %s does not exist", path, err)
		}
		return nil, errs.E(errs.Invalid, "cannot open model file %s", path, err)
	}
	defer f.Close()
	return ReadModel(f, path)
}

// ReadModel reads an XGBoost 1.x model in any format XGBoost 1.7's save_model writes: JSON ("m.json"),
// UBJSON ("m.ubj") or the legacy binary format (any other name), or a pickled Booster (ReadPickle); name identifies the input in errors. Anything else — another format, a truncated file, an inconsistent tree — is an
// errs.Invalid error naming the input and the fault.
func ReadModel(r io.Reader, name string) (*Booster, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxModelBytes+1))
	if err != nil {
		return nil, errs.E(errs.Invalid, "cannot read model %s", name, err)
	}
	if len(data) > maxModelBytes {
		return nil, errs.E(errs.Invalid, "model %s is larger than %d bytes", name, maxModelBytes)
	}
	b, err := decodeModel(data)
	if err != nil {
		return nil, invalidf(err, "%s is not a usable XGBoost model: ", name)
	}
	return b, nil
}

func decodeModel(data []byte) (*Booster, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errs.E(errs.Invalid, "the file is empty")
	}
	switch {
	case IsPickle(data): // a pickled xgboost.Booster (SageMaker XGBoost images before 1.3-1)
		return ReadPickle(data)
	case bytes.HasPrefix(data, []byte("binf")):
		return decodeLegacy(data)
	case trimmed[0] != '{':
		b, err := decodeLegacy(data)
		if err != nil {
			return nil, invalidf(err, "it is neither JSON nor XGBoost's legacy binary format: ")
		}
		return b, nil
	case len(data) > 1 && data[0] == '{' && (data[1] == 'L' || data[1] == 'i' || data[1] == 'U' || data[1] == 'l' || data[1] == 'I'):
		js, err := ubjsonToJSON(data) // XGBoost's UBJSON format; the same document in binary
		if err != nil {
			return nil, err
		}
		data = js
	}
	var m jsonModel
	if err := json.Unmarshal(quoteNonFinite(data), &m); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se) && se.Error() == "unexpected end of JSON input", errors.Is(err, io.ErrUnexpectedEOF):
			return nil, errs.E(errs.Invalid, "the JSON is truncated", err)
		case errors.As(err, &se):
			return nil, errs.E(errs.Invalid, "JSON syntax error at byte %d: %s", se.Offset, se.Error(), err)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, errs.E(errs.Invalid, "field %s holds a JSON %s, want %s", te.Field, te.Value, te.Type.String(), err)
		}
		return nil, errs.E(errs.Invalid, "%s", err.Error(), err)
	}
	if len(m.Version) != 3 {
		return nil, errs.E(errs.Invalid, "no version [major, minor, patch] at the top level")
	}
	if m.Version[0] != 1 {
		return nil, errs.E(errs.Invalid, "model version %d.%d.%d is not supported (XGBoost 1.x models only)",
			m.Version[0], m.Version[1], m.Version[2])
	}
	l := m.Learner
	if l == nil {
		return nil, errs.E(errs.Invalid, "no learner")
	}
	b := &Booster{
		Version:      [3]int{m.Version[0], m.Version[1], m.Version[2]},
		Attributes:   l.Attributes,
		FeatureNames: l.FeatureNames,
		FeatureTypes: l.FeatureTypes,
	}
	if len(b.FeatureNames) == 0 {
		b.FeatureNames = nil
	}
	if len(b.FeatureTypes) == 0 {
		b.FeatureTypes = nil
	}
	var err error
	p := l.LearnerModelParam
	if p == nil {
		return nil, errs.E(errs.Invalid, "no learner_model_param")
	}
	if b.Learner.BaseScore, err = paramFloat(p, "learner_model_param", "base_score", true); err != nil {
		return nil, err
	}
	if b.Learner.NumClass, err = paramInt(p, "learner_model_param", "num_class", true); err != nil {
		return nil, err
	}
	if b.Learner.NumFeature, err = paramInt(p, "learner_model_param", "num_feature", true); err != nil {
		return nil, err
	}
	if b.Learner.NumTarget, err = paramInt(p, "learner_model_param", "num_target", false); err != nil {
		return nil, err
	}
	b.Learner.NumTarget = max(b.Learner.NumTarget, 1)
	bfa, err := paramInt(p, "learner_model_param", "boost_from_average", false)
	if err != nil {
		return nil, err
	}
	b.Learner.BoostFromAverage = bfa != 0 || p["boost_from_average"] == ""

	if b.Obj, err = decodeObjective(l.Objective); err != nil {
		return nil, err
	}

	gb := l.GradientBooster
	if gb == nil {
		return nil, errs.E(errs.Invalid, "no gradient_booster")
	}
	b.BoosterName = gb.Name
	switch gb.Name {
	case "gbtree":
	case "dart":
		b.WeightDrop = gb.WeightDrop
		if b.WeightDrop == nil {
			b.WeightDrop = []float32{}
		}
		if gb.GBTree == nil {
			return nil, errs.E(errs.Invalid, "dart booster without gbtree")
		}
		gb = gb.GBTree
	default:
		return nil, errs.E(errs.Invalid, "gradient booster %q is not supported (gbtree or dart)", gb.Name)
	}
	if gb.Model == nil {
		return nil, errs.E(errs.Invalid, "no gradient_booster model")
	}
	gm := gb.Model
	numTrees, err := paramInt(gm.Param, "gbtree_model_param", "num_trees", true)
	if err != nil {
		return nil, err
	}
	if numTrees != len(gm.Trees) {
		return nil, errs.E(errs.Invalid, "gbtree_model_param.num_trees is %d but there are %d trees", numTrees, len(gm.Trees))
	}
	if b.NumParallelTree, err = paramInt(gm.Param, "gbtree_model_param", "num_parallel_tree", false); err != nil {
		return nil, err
	}
	b.NumParallelTree = max(b.NumParallelTree, 1)
	if slv, _ := paramInt(gm.Param, "gbtree_model_param", "size_leaf_vector", false); slv != 0 {
		return nil, errs.E(errs.Invalid, "vector leaves (size_leaf_vector %d) are not supported", slv)
	}
	b.TreeInfo = gm.TreeInfo
	if b.TreeInfo == nil {
		b.TreeInfo = []int{}
	}
	b.Trees = make([]Tree, len(gm.Trees))
	for i := range gm.Trees {
		jt := &gm.Trees[i]
		t := &b.Trees[i]
		*t = Tree{
			ID:                 jt.ID,
			LeftChildren:       jt.LeftChildren,
			RightChildren:      jt.RightChildren,
			Parents:            jt.Parents,
			SplitIndices:       jt.SplitIndices,
			SplitConditions:    jt.SplitConditions,
			BaseWeights:        jt.BaseWeights,
			LossChanges:        jt.LossChanges,
			SumHessian:         jt.SumHessian,
			SplitType:          jt.SplitType,
			Categories:         jt.Categories,
			CategoriesNodes:    jt.CategoriesNodes,
			CategoriesSegments: jt.CategoriesSegments,
			CategoriesSizes:    jt.CategoriesSizes,
		}
		t.DefaultLeft = make([]bool, len(jt.DefaultLeft))
		for k, f := range jt.DefaultLeft {
			t.DefaultLeft[k] = bool(f)
		}
		if jt.TreeParam == nil {
			return nil, errs.E(errs.Invalid, "tree %d has no tree_param", i)
		}
		nodes, err := paramInt(jt.TreeParam, "tree_param", "num_nodes", true)
		if err != nil {
			return nil, invalidf(err, "tree %d: ", i)
		}
		if nodes != len(t.LeftChildren) {
			return nil, errs.E(errs.Invalid, "tree %d: num_nodes is %d but left_children has %d entries", i, nodes, len(t.LeftChildren))
		}
		if t.NumFeature, err = paramInt(jt.TreeParam, "tree_param", "num_feature", false); err != nil {
			return nil, invalidf(err, "tree %d: ", i)
		}
		if t.NumDeleted, err = paramInt(jt.TreeParam, "tree_param", "num_deleted", false); err != nil {
			return nil, invalidf(err, "tree %d: ", i)
		}
		if slv, _ := paramInt(jt.TreeParam, "tree_param", "size_leaf_vector", false); slv != 0 {
			return nil, errs.E(errs.Invalid, "tree %d: vector leaves are not supported", i)
		}
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return b, nil
}

func decodeObjective(raw map[string]json.RawMessage) (Objective, error) {
	var o Objective
	if raw == nil {
		return o, errs.E(errs.Invalid, "no objective")
	}
	if err := json.Unmarshal(raw["name"], &o.Name); err != nil || o.Name == "" {
		return o, errs.E(errs.Invalid, "the objective has no name")
	}
	o.Params = map[string]map[string]string{}
	for k, v := range raw {
		if k == "name" {
			continue
		}
		var sec map[string]string
		if err := json.Unmarshal(v, &sec); err != nil {
			return o, errs.E(errs.Invalid, "objective parameters %q are not an object of strings", k)
		}
		o.Params[k] = sec
	}
	return o, nil
}

func paramInt(p map[string]string, section, key string, required bool) (int, error) {
	s, ok := p[key]
	if !ok {
		if required {
			return 0, errs.E(errs.Invalid, "%s has no %s", section, key)
		}
		return 0, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v > math.MaxInt32 {
		return 0, errs.E(errs.Invalid, "%s.%s %q is not a non-negative integer", section, key, s)
	}
	return v, nil
}

func paramFloat(p map[string]string, section, key string, required bool) (float32, error) {
	s, ok := p[key]
	if !ok {
		if required {
			return 0, errs.E(errs.Invalid, "%s has no %s", section, key)
		}
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		return 0, errs.E(errs.Invalid, "%s.%s %q is not a number", section, key, s)
	}
	return float32(v), nil
}

// SaveModel writes b as an XGBoost JSON model to path atomically: it writes a temporary file in the same
// directory, syncs it and renames it over path, so path holds either the old or the whole new model.
func (b *Booster) SaveModel(path string) error {
	if err := b.Validate(); err != nil {
		return err
	}
	return atomicfile.WriteFunc(path, 0o644, func(f io.Writer) error {
		w := bufio.NewWriterSize(f, 256*1024)
		if err := b.WriteJSON(w); err != nil {
			return errs.E(errs.Internal, "cannot save model %s", path, err)
		}
		return w.Flush()
	})
}

// WriteJSON writes b in the JSON form XGBoost 1.7.4's save_model writes: compact, keys sorted, floats in
// XGBoost's shortest "1.5E-1" notation, learner parameters as strings. A model read from XGBoost is written
// back byte for byte (apart from the version, which is always XGBoostVersion). When Obj.Params is nil,
// XGBoost's default parameter sections for the objective are written (XGBoost needs them to load it).
func (b *Booster) WriteJSON(w io.Writer) error {
	if err := b.Validate(); err != nil {
		return err
	}
	e := &jsonWriter{buf: make([]byte, 0, 64*1024), w: w}
	e.raw(`{"learner":{"attributes":`)
	e.stringMap(b.Attributes)
	e.raw(`,"feature_names":`)
	e.stringList(b.FeatureNames)
	e.raw(`,"feature_types":`)
	e.stringList(b.FeatureTypes)
	e.raw(`,"gradient_booster":{`)
	if b.BoosterName == "dart" {
		e.raw(`"gbtree":{`)
	}
	e.raw(`"model":{"gbtree_model_param":{"num_parallel_tree":`)
	e.str(strconv.Itoa(max(b.NumParallelTree, 1)))
	e.raw(`,"num_trees":`)
	e.str(strconv.Itoa(len(b.Trees)))
	e.raw(`,"size_leaf_vector":"0"},"tree_info":[`)
	for i, g := range b.TreeInfo {
		if i > 0 {
			e.raw(",")
		}
		e.int(int64(g))
	}
	e.raw(`],"trees":[`)
	for i := range b.Trees {
		if i > 0 {
			e.raw(",")
		}
		e.tree(&b.Trees[i], i, b.Learner.NumFeature)
		if err := e.flush(false); err != nil {
			return err
		}
	}
	e.raw(`]},"name":"gbtree"}`)
	if b.BoosterName == "dart" {
		e.raw(`,"name":"dart","weight_drop":`)
		e.floats(b.WeightDrop)
		e.raw(`}`)
	}
	b.writeLearnerModelParam(e)
	e.raw(`},"objective":{`)
	params := b.Obj.Params
	if params == nil {
		params = DefaultObjectiveParams(b.Obj.Name, b.Learner.NumClass)
	}
	keys := make([]string, 0, len(params)+1)
	keys = append(keys, "name")
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			e.raw(",")
		}
		e.str(k)
		e.raw(":")
		if k == "name" {
			e.str(b.Obj.Name)
		} else {
			e.stringMap(params[k])
		}
	}
	e.raw(`}},"version":[`)
	for i, v := range [3]int{1, 7, 4} { // XGBoostVersion
		if i > 0 {
			e.raw(",")
		}
		e.int(int64(v))
	}
	e.raw("]}")
	return e.flush(true)
}

type jsonWriter struct {
	buf []byte
	w   io.Writer
}

func (e *jsonWriter) flush(force bool) error {
	if !force && len(e.buf) < 48*1024 {
		return nil
	}
	_, err := e.w.Write(e.buf)
	e.buf = e.buf[:0]
	if err != nil {
		return fmt.Errorf("cannot write model: %w", err)
	}
	return nil
}

func (e *jsonWriter) raw(s string) { e.buf = append(e.buf, s...) }
func (e *jsonWriter) int(v int64)  { e.buf = strconv.AppendInt(e.buf, v, 10) }

// str writes a JSON string escaped the way XGBoost's writer escapes it. Invalid UTF-8 (possible in names
// read from a binary model) becomes U+FFFD, as JSON readers would read it.
func (e *jsonWriter) str(s string) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	e.buf = append(e.buf, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			e.buf = append(e.buf, `\"`...)
		case '\\':
			e.buf = append(e.buf, `\\`...)
		case '\b':
			e.buf = append(e.buf, `\b`...)
		case '\f':
			e.buf = append(e.buf, `\f`...)
		case '\n':
			e.buf = append(e.buf, `\n`...)
		case '\r':
			e.buf = append(e.buf, `\r`...)
		case '\t':
			e.buf = append(e.buf, `\t`...)
		default:
			if c < 0x20 {
				e.buf = fmt.Appendf(e.buf, `\u%04x`, c)
			} else {
				e.buf = append(e.buf, c)
			}
		}
	}
	e.buf = append(e.buf, '"')
}

func (e *jsonWriter) stringList(l []string) {
	e.raw("[")
	for i, s := range l {
		if i > 0 {
			e.raw(",")
		}
		e.str(s)
	}
	e.raw("]")
}

func (e *jsonWriter) stringMap(m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	e.raw("{")
	for i, k := range keys {
		if i > 0 {
			e.raw(",")
		}
		e.str(k)
		e.raw(":")
		e.str(m[k])
	}
	e.raw("}")
}

func (e *jsonWriter) floats(l []float32) {
	e.raw("[")
	for i, v := range l {
		if i > 0 {
			e.raw(",")
		}
		e.buf = appendFloat(e.buf, v)
	}
	e.raw("]")
}

func (e *jsonWriter) ints32(l []int32) {
	e.raw("[")
	for i, v := range l {
		if i > 0 {
			e.raw(",")
		}
		e.int(int64(v))
	}
	e.raw("]")
}

func (e *jsonWriter) ints64(l []int64) {
	e.raw("[")
	for i, v := range l {
		if i > 0 {
			e.raw(",")
		}
		e.int(v)
	}
	e.raw("]")
}

func (e *jsonWriter) tree(t *Tree, id, numFeature int) {
	n := len(t.LeftChildren)
	e.raw(`{"base_weights":`)
	e.floats(t.BaseWeights)
	e.raw(`,"categories":`)
	e.ints32(t.Categories)
	e.raw(`,"categories_nodes":`)
	e.ints32(t.CategoriesNodes)
	e.raw(`,"categories_segments":`)
	e.ints64(t.CategoriesSegments)
	e.raw(`,"categories_sizes":`)
	e.ints64(t.CategoriesSizes)
	e.raw(`,"default_left":[`)
	for i, d := range t.DefaultLeft {
		if i > 0 {
			e.raw(",")
		}
		if d {
			e.raw("1")
		} else {
			e.raw("0")
		}
	}
	e.raw(`],"id":`)
	e.int(int64(id))
	e.raw(`,"left_children":`)
	e.ints32(t.LeftChildren)
	e.raw(`,"loss_changes":`)
	e.floats(t.LossChanges)
	e.raw(`,"parents":`)
	e.ints32(t.Parents)
	e.raw(`,"right_children":`)
	e.ints32(t.RightChildren)
	e.raw(`,"split_conditions":`)
	e.floats(t.SplitConditions)
	e.raw(`,"split_indices":`)
	e.ints32(t.SplitIndices)
	e.raw(`,"split_type":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			e.raw(",")
		}
		if t.SplitType != nil {
			e.int(int64(t.SplitType[i]))
		} else {
			e.raw("0")
		}
	}
	e.raw(`],"sum_hessian":`)
	e.floats(t.SumHessian)
	e.raw(`,"tree_param":{"num_deleted":`)
	e.str(strconv.Itoa(t.NumDeleted))
	e.raw(`,"num_feature":`)
	nf := t.NumFeature
	if nf == 0 {
		nf = numFeature
	}
	e.str(strconv.Itoa(nf))
	e.raw(`,"num_nodes":`)
	e.str(strconv.Itoa(n))
	e.raw(`,"size_leaf_vector":"0"}}`)
}

// formatFloat formats v the way XGBoost's JSON writer does (shortest round-trip digits, "E" exponent
// without sign or leading zeros: 0.5 is "5E-1", 50 is "5E1", 0 is "0E0").
func formatFloat(v float32) string { return string(appendFloat(nil, v)) }

func appendFloat(b []byte, v float32) []byte {
	start := len(b)
	b = strconv.AppendFloat(b, float64(v), 'E', -1, 32)
	// Go writes "5E-01" / "5E+01"; XGBoost writes "5E-1" / "5E1".
	i := bytes.IndexByte(b[start:], 'E')
	if i < 0 { // NaN, ±Inf: XGBoost writes NaN, Infinity, -Infinity
		switch {
		case v != v:
			return append(b[:start], "NaN"...)
		case v > 0:
			return append(b[:start], "Infinity"...)
		}
		return append(b[:start], "-Infinity"...)
	}
	i += start + 1
	j := i
	if b[j] == '+' {
		j++
	} else if b[j] == '-' {
		i++
		j++
	}
	for j < len(b)-1 && b[j] == '0' {
		j++
	}
	return append(b[:i], b[j:]...)
}

// writeLearnerModelParam writes `,"learner_model_param":{…` (left open): the learner's base score,
// class, feature and target counts, as both the JSON model and the pickled config hold them.
func (b *Booster) writeLearnerModelParam(e *jsonWriter) {
	e.raw(`,"learner_model_param":{"base_score":`)
	e.str(formatFloat(b.Learner.BaseScore))
	e.raw(`,"boost_from_average":`)
	if b.Learner.BoostFromAverage {
		e.str("1")
	} else {
		e.str("0")
	}
	e.raw(`,"num_class":`)
	e.str(strconv.Itoa(b.Learner.NumClass))
	e.raw(`,"num_feature":`)
	e.str(strconv.Itoa(b.Learner.NumFeature))
	e.raw(`,"num_target":`)
	e.str(strconv.Itoa(max(b.Learner.NumTarget, 1)))
}
