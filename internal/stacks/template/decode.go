package template

// Decode reads a template body (JSON, or YAML with the short-form tags turned into their
// intrinsic functions) into the generic JSON values, without checking its structure: a caller
// that rewrites a template (adding tags to its resources) marshals the result back as JSON.
func Decode(body []byte) (any, error) { return decode(body) }
