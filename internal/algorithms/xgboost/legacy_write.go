package xgboost

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"sort"

	"github.com/slipway-ml/slipway/internal/atomicfile"
	"github.com/slipway-ml/slipway/internal/errs"
)

// WriteLegacy writes b in XGBoost's legacy binary format, the bytes XGBoost 1.7.4's
// Booster.save_model writes for a file name that ends neither in .json nor in .ubj (the SageMaker
// XGBoost containers from 1.3-1 on save "xgboost-model" that way). The layout is the one decodeLegacy
// reads (see legacy.go); a left child's parent carries bit 31, and the objective's configuration is stored as the "objective" attribute.
// Categorical splits and feature names have no place in this format: a model with categorical splits
// is refused.
func (b *Booster) WriteLegacy(w io.Writer) error {
	if err := b.Validate(); err != nil {
		return err
	}
	for i := range b.Trees {
		for _, st := range b.Trees[i].SplitType {
			if st == SplitCategorical {
				return errs.E(errs.Invalid, "tree %d has categorical splits, which XGBoost's binary format cannot hold; save the model as JSON", i)
			}
		}
	}
	var buf bytes.Buffer
	le := binary.LittleEndian
	buf.WriteString("binf")
	mp := make([]byte, legacyLearnerParamSize)
	le.PutUint32(mp[0:], math.Float32bits(b.Learner.BaseScore))
	le.PutUint32(mp[4:], uint32(b.Learner.NumFeature))
	le.PutUint32(mp[8:], uint32(int32(b.Learner.NumClass)))
	le.PutUint32(mp[12:], 1) // contain_extra_attrs: the objective's configuration at least
	le.PutUint32(mp[20:], uint32(XGBoostVersion[0]))
	le.PutUint32(mp[24:], uint32(XGBoostVersion[1]))
	le.PutUint32(mp[28:], uint32(max(b.Learner.NumTarget, 1)))
	if b.Learner.BoostFromAverage {
		le.PutUint32(mp[32:], 1)
	}
	buf.Write(mp)
	putString := func(s string) {
		var n [8]byte
		le.PutUint64(n[:], uint64(len(s)))
		buf.Write(n[:])
		buf.WriteString(s)
	}
	putString(b.Obj.Name)
	name := b.BoosterName
	if name == "" {
		name = "gbtree"
	}
	putString(name)
	gp := make([]byte, legacyGBTreeParamSize)
	le.PutUint32(gp[0:], uint32(len(b.Trees)))
	le.PutUint32(gp[4:], uint32(max(b.NumParallelTree, 1)))
	buf.Write(gp)
	for i := range b.Trees {
		t := &b.Trees[i]
		n := t.NumNodes()
		tp := make([]byte, legacyTreeParamSize)
		le.PutUint32(tp[0:], 1) // deprecated_num_roots
		le.PutUint32(tp[4:], uint32(n))
		le.PutUint32(tp[8:], uint32(t.NumDeleted))
		nf := t.NumFeature
		if nf == 0 {
			nf = b.Learner.NumFeature
		}
		le.PutUint32(tp[16:], uint32(nf))
		buf.Write(tp)
		nodes := make([]byte, n*legacyNodeSize)
		for k := 0; k < n; k++ {
			nd := nodes[k*legacyNodeSize:]
			parent := uint32(t.Parents[k])
			if k == 0 || t.LeftChildren[t.Parents[k]] == int32(k) {
				parent |= 1 << 31 // the root's parent is -1; a left child carries bit 31
			}
			le.PutUint32(nd[0:], parent)
			le.PutUint32(nd[4:], uint32(t.LeftChildren[k]))
			le.PutUint32(nd[8:], uint32(t.RightChildren[k]))
			sindex := uint32(t.SplitIndices[k])
			if t.DefaultLeft[k] {
				sindex |= 1 << 31
			}
			le.PutUint32(nd[12:], sindex)
			le.PutUint32(nd[16:], math.Float32bits(t.SplitConditions[k]))
		}
		buf.Write(nodes)
		stats := make([]byte, n*legacyStatSize)
		for k := 0; k < n; k++ {
			st := stats[k*legacyStatSize:]
			le.PutUint32(st[0:], math.Float32bits(t.LossChanges[k]))
			le.PutUint32(st[4:], math.Float32bits(t.SumHessian[k]))
			le.PutUint32(st[8:], math.Float32bits(t.BaseWeights[k]))
		}
		buf.Write(stats)
	}
	ti := make([]byte, 4*len(b.Trees))
	for i, g := range b.TreeInfo {
		le.PutUint32(ti[4*i:], uint32(int32(g)))
	}
	buf.Write(ti)
	if name == "dart" {
		var n [8]byte
		le.PutUint64(n[:], uint64(len(b.WeightDrop)))
		buf.Write(n[:])
		for _, v := range b.WeightDrop {
			le.PutUint32(n[:4], math.Float32bits(v))
			buf.Write(n[:4])
		}
	}
	attrs := map[string]string{}
	for k, v := range b.Attributes {
		attrs[k] = v
	}
	attrs["objective"] = b.objectiveJSON()
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var n [8]byte
	le.PutUint64(n[:], uint64(len(keys)))
	buf.Write(n[:])
	for _, k := range keys {
		putString(k)
		putString(attrs[k])
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// SaveLegacy writes b in the legacy binary format (WriteLegacy) to path atomically.
func (b *Booster) SaveLegacy(path string) error {
	return atomicfile.WriteFunc(path, 0o644, func(f io.Writer) error {
		w := bufio.NewWriter(f)
		if err := b.WriteLegacy(w); err != nil {
			return err
		}
		return w.Flush()
	})
}

// objectiveJSON is the objective's configuration as XGBoost dumps it: compact, keys sorted.
func (b *Booster) objectiveJSON() string {
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
	e := &jsonWriter{}
	e.raw("{")
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
	e.raw("}")
	return string(e.buf)
}
