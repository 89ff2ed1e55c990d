package rules

import (
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

// lookup follows a path through a decoded JSON value; ok is false when it leads nowhere.
func lookup(v any, path []step) (any, bool) {
	for _, s := range path {
		if s.key != "" {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[s.key]; !ok {
				return nil, false
			}
			continue
		}
		a, ok := v.([]any)
		if !ok || s.index >= len(a) {
			return nil, false
		}
		v = a[s.index]
	}
	return v, true
}

var placeholderRE = regexp.MustCompile(`<([A-Za-z0-9_\-.]+)>`)

// Input builds what a target receives for an event (its envelope as JSON): the constant
// Input, the part InputPath selects, the InputTransformer's template filled in, or the event.
func Input(t Target, envelope []byte, ruleARN, ruleName string) ([]byte, error) {
	switch {
	case t.Input != "":
		return []byte(t.Input), nil
	case t.InputPath != "":
		var ev any
		if err := json.Unmarshal(envelope, &ev); err != nil {
			return nil, err
		}
		path, err := parsePath(t.InputPath)
		if err != nil {
			return nil, err
		}
		v, ok := lookup(ev, path)
		if !ok {
			return []byte("null"), nil
		}
		return json.Marshal(v)
	case t.InputTransformer != nil:
		return transform(t.InputTransformer, envelope, ruleARN, ruleName)
	}
	return envelope, nil
}

// transform fills an InputTemplate: a placeholder <name> becomes the value InputPathsMap
// selects — a string's characters (escaped for JSON, so "<name>" in quotes reads as the
// string), any other value as JSON — or nothing when the path leads nowhere.
func transform(tr *InputTransformer, envelope []byte, ruleARN, ruleName string) ([]byte, error) {
	var ev any
	if err := json.Unmarshal(envelope, &ev); err != nil {
		return nil, err
	}
	values := map[string]string{
		"aws.events.rule-arn":   ruleARN,
		"aws.events.rule-name":  ruleName,
		"aws.events.event.json": string(envelope),
	}
	jsonValued := map[string]bool{"aws.events.event.json": true}
	for k, p := range tr.InputPathsMap {
		path, err := parsePath(p)
		if err != nil {
			return nil, err
		}
		v, ok := lookup(ev, path)
		if !ok {
			values[k] = ""
			continue
		}
		if s, isStr := v.(string); isStr {
			b, _ := json.Marshal(s)
			values[k] = string(b[1 : len(b)-1])
			continue
		}
		b, _ := json.Marshal(v)
		values[k], jsonValued[k] = string(b), true
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
