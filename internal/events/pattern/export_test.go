package pattern

// DecodeForTest exposes decode to the fuzz test.
func DecodeForTest(data []byte) (any, error) { return decode(data) }
