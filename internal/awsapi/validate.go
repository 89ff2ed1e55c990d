package awsapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A decoded value is what encoding/json produces with UseNumber: nil, bool, json.Number, string,
// []any or map[string]any. Every protocol decoder produces such a tree; canonicalize validates it
// against the input shape and rewrites it into canonical form.

// checker collects the outcome of validating one input document.
type checker struct {
	violations []string // constraint failures, AWS's "Value … at … failed to satisfy constraint: …"
	typeErr    string   // the first value of the wrong JSON type (a SerializationException)
}

// validationMessage renders the collected violations as AWS does:
// "2 validation errors detected: …; …".
func (c *checker) validationMessage() string {
	if len(c.violations) == 1 {
		return "1 validation error detected: " + c.violations[0]
	}
	return strconv.Itoa(len(c.violations)) + " validation errors detected: " + strings.Join(c.violations, "; ")
}

func (c *checker) violate(v any, path, constraint string) {
	c.violations = append(c.violations, "Value "+display(v)+" at '"+path+"' failed to satisfy constraint: "+constraint)
}

func (c *checker) wrongType(path, want string, v any) {
	if c.typeErr == "" {
		c.typeErr = fmt.Sprintf("Expected %s at '%s' but found %s", want, path, jsonKind(v))
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "a structure or map"
	}
	return fmt.Sprintf("%T", v)
}

// display renders a value the way AWS's validation messages do.
func display(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return "'" + v + "'"
	case json.Number:
		return "'" + v.String() + "'"
	case bool:
		return "'" + strconv.FormatBool(v) + "'"
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = strings.Trim(display(x), "'")
		}
		return "'[" + strings.Join(parts, ", ") + "]'"
	case map[string]any:
		keys := sortedKeys(v)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + strings.Trim(display(v[k]), "'")
		}
		return "'{" + strings.Join(parts, ", ") + "}'"
	}
	return fmt.Sprint(v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func formatBound(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// canonicalize validates v against shape s at path (AWS's camelCase member path) and returns it in
// canonical form: unknown structure members and nulls dropped, timestamps as RFC 3339 strings,
// numbers as json.Number. Wrong JSON types are recorded in c.typeErr and constraint violations in
// c.violations.
func canonicalize(c *checker, v any, s *Shape, path string) any {
	switch s.Type {
	case "structure":
		m, ok := v.(map[string]any)
		if !ok {
			c.wrongType(path, "a structure", v)
			return nil
		}
		out := make(map[string]any, len(m))
		for _, mem := range s.Members {
			x, present := m[mem.Name]
			p := mem.jsonPath
			if path != "" {
				p = path + "." + mem.jsonPath
			}
			if !present || x == nil {
				if mem.Required {
					c.violate(nil, p, "Member must not be null")
				}
				continue
			}
			if cv := canonicalize(c, x, mem.Shape, p); cv != nil {
				out[mem.Name] = cv
			}
		}
		return out
	case "list":
		l, ok := v.([]any)
		if !ok {
			c.wrongType(path, "a list", v)
			return nil
		}
		checkLength(c, v, float64(len(l)), s, path)
		out := make([]any, 0, len(l))
		for i, x := range l {
			if x == nil {
				continue
			}
			out = append(out, canonicalize(c, x, s.Member.Shape, path+"."+strconv.Itoa(i+1)+".member"))
		}
		return out
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			c.wrongType(path, "a map", v)
			return nil
		}
		checkLength(c, v, float64(len(m)), s, path)
		out := make(map[string]any, len(m))
		for _, k := range sortedKeys(m) {
			canonicalize(c, k, s.Key.Shape, path+".key")
			if m[k] == nil {
				continue
			}
			out[k] = canonicalize(c, m[k], s.Value.Shape, path+".value")
		}
		return out
	case "string":
		str, ok := v.(string)
		if !ok {
			c.wrongType(path, "a string", v)
			return nil
		}
		checkString(c, str, s, path)
		return str
	case "integer", "long":
		n, ok := v.(json.Number)
		if !ok {
			c.wrongType(path, "an integer", v)
			return nil
		}
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil || s.Type == "integer" && (i > math.MaxInt32 || i < math.MinInt32) {
			c.wrongType(path, "an integer", v)
			return nil
		}
		checkRange(c, v, float64(i), s, path)
		return n
	case "float", "double":
		switch n := v.(type) {
		case json.Number:
			f, err := n.Float64()
			if err != nil {
				c.wrongType(path, "a number", v)
				return nil
			}
			checkRange(c, v, f, s, path)
			return n
		case string:
			if n == "NaN" || n == "Infinity" || n == "-Infinity" {
				return n
			}
		}
		c.wrongType(path, "a number", v)
		return nil
	case "boolean":
		if _, ok := v.(bool); !ok {
			c.wrongType(path, "a boolean", v)
			return nil
		}
		return v
	case "timestamp":
		t, ok := parseTimestamp(v)
		if !ok {
			c.wrongType(path, "a timestamp", v)
			return nil
		}
		return t.UTC().Format(time.RFC3339Nano)
	case "blob":
		str, ok := v.(string)
		if !ok {
			c.wrongType(path, "a base64-encoded blob", v)
			return nil
		}
		b, err := base64.StdEncoding.DecodeString(str)
		if err != nil {
			c.wrongType(path, "a base64-encoded blob", v)
			return nil
		}
		checkLength(c, v, float64(len(b)), s, path)
		return str
	}
	// document and unknown types pass through.
	return v
}

func checkString(c *checker, str string, s *Shape, path string) {
	if s.enumSet != nil && !s.enumSet[str] {
		c.violate(str, path, "Member must satisfy enum value set: ["+strings.Join(s.Enum, ", ")+"]")
		return
	}
	if s.HasMin || s.HasMax {
		checkLength(c, str, float64(utf8.RuneCountInString(str)), s, path)
	}
	if s.re != nil && !s.re.MatchString(str) {
		c.violate(str, path, patternConstraint(s.Pattern))
	}
}

func checkLength(c *checker, v any, n float64, s *Shape, path string) {
	if s.HasMin && n < s.Min {
		c.violate(v, path, "Member must have length greater than or equal to "+formatBound(s.Min))
	}
	if s.HasMax && n > s.Max {
		c.violate(v, path, "Member must have length less than or equal to "+formatBound(s.Max))
	}
}

func checkRange(c *checker, v any, f float64, s *Shape, path string) {
	if s.HasMin && f < s.Min {
		c.violate(v, path, "Member must have value greater than or equal to "+formatBound(s.Min))
	}
	if s.HasMax && f > s.Max {
		c.violate(v, path, "Member must have value less than or equal to "+formatBound(s.Max))
	}
}

// parseTimestamp accepts epoch seconds (a number or a numeric string), RFC 3339 / ISO 8601 and
// HTTP dates, as the AWS protocols send them.
func parseTimestamp(v any) (time.Time, bool) {
	switch v := v.(type) {
	case time.Time:
		return v, true
	case json.Number:
		return epochTime(v.String())
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05Z0700", time.RFC1123, time.RFC1123Z} {
			if t, err := time.Parse(layout, v); err == nil {
				return t, true
			}
		}
		return epochTime(v)
	}
	return time.Time{}, false
}

func epochTime(s string) (time.Time, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e3))*1e6).UTC(), true
}

// epochString renders t as epoch seconds with millisecond precision, as awsJson and restJson send.
func epochString(t time.Time) string {
	ms := t.UnixMilli()
	if ms%1000 == 0 {
		return strconv.FormatInt(ms/1000, 10)
	}
	return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)
}
