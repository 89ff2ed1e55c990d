package rules

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// step is one step of a JSONPath: a key, or an index when key is "".
type step struct {
	key   string
	index int
}

var pathKeyRE = regexp.MustCompile(`^[A-Za-z0-9_\-]+$`)

// parsePath parses the JSONPath subset targets use: $, $.a.b, $.a[0].b.
func parsePath(p string) ([]step, error) {
	if p == "$" {
		return nil, nil
	}
	rest, ok := strings.CutPrefix(p, "$.")
	if !ok || len(p) > 256 {
		return nil, errs.E(errs.Invalid, "%q must be a JSONPath starting with $.", p)
	}
	var out []step
	for _, part := range strings.Split(rest, ".") {
		key, idx, hasIdx := strings.Cut(part, "[")
		if !pathKeyRE.MatchString(key) {
			return nil, errs.E(errs.Invalid, "%q: %q is not a field name", p, key)
		}
		out = append(out, step{key: key})
		for hasIdx {
			num, after, ok := strings.Cut(idx, "]")
			n, err := strconv.Atoi(num)
			if !ok || err != nil || n < 0 {
				return nil, errs.E(errs.Invalid, "%q: bad index", p)
			}
			out = append(out, step{index: n})
			if after == "" {
				break
			}
			idx, hasIdx = strings.CutPrefix(after, "[")
			if !hasIdx {
				return nil, errs.E(errs.Invalid, "%q: bad index", p)
			}
		}
	}
	return out, nil
}

// lookup follows a path through JSON text and returns the text it leads to, as written
// (member order and number formatting kept); ok is false when it leads nowhere.
func lookup(doc json.RawMessage, path []step) (json.RawMessage, bool) {
	for _, s := range path {
		if s.key != "" {
			var m map[string]json.RawMessage
			if json.Unmarshal(doc, &m) != nil {
				return nil, false
			}
			v, ok := m[s.key]
			if !ok {
				return nil, false
			}
			doc = v
			continue
		}
		var a []json.RawMessage
		if json.Unmarshal(doc, &a) != nil || s.index >= len(a) {
			return nil, false
		}
		doc = a[s.index]
	}
	return doc, true
}

var placeholderRE = regexp.MustCompile(`<([A-Za-z0-9_\-.]+)>`)

// Input builds what a target receives for an event (its envelope as JSON): the constant
// Input, the part InputPath selects, the InputTransformer's template filled in, or the event.
func Input(t Target, envelope []byte, ruleARN, ruleName string) ([]byte, error) {
	switch {
	case t.Input != "":
		return []byte(t.Input), nil
	case t.InputPath != "":
		path, err := parsePath(t.InputPath)
		if err != nil {
			return nil, err
		}
		v, ok := lookup(envelope, path)
		if !ok {
			return []byte("null"), nil
		}
		return v, nil
	case t.InputTransformer != nil:
		return transform(t.InputTransformer, envelope, ruleARN, ruleName)
	}
	return envelope, nil
}

// transform fills an InputTemplate: a placeholder <name> becomes the value InputPathsMap
// selects — a string's characters (escaped for JSON, so "<name>" in quotes reads as the
// string), any other value as JSON — or nothing when the path leads nowhere.
func transform(tr *InputTransformer, envelope []byte, ruleARN, ruleName string) ([]byte, error) {
	values := map[string]string{
		"aws.events.rule-arn":   ruleARN,
		"aws.events.rule-name":  ruleName,
		"aws.events.event.json": string(envelope),
	}
	for k, p := range tr.InputPathsMap {
		path, err := parsePath(p)
		if err != nil {
			return nil, err
		}
		v, ok := lookup(envelope, path)
		if !ok {
			values[k] = ""
			continue
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			enc.Encode(s)
			values[k] = strings.TrimSuffix(b.String(), "\n")
			values[k] = values[k][1 : len(values[k])-1]
			continue
		}
		values[k] = string(v)
	}
	out := placeholderRE.ReplaceAllStringFunc(tr.InputTemplate, func(m string) string {
		name := m[1 : len(m)-1]
		if v, ok := values[name]; ok {
			return v
		}
		return m
	})
	return []byte(out), nil
}
