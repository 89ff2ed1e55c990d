package audit

import "testing"

func TestHashChainsEveryField(t *testing.T) {
	base := Hash("prev", 7, []byte(`{"a":1}`))
	for name, h := range map[string]string{
		"previous hash": Hash("prev2", 7, []byte(`{"a":1}`)),
		"sequence":      Hash("prev", 8, []byte(`{"a":1}`)),
		"body":          Hash("prev", 7, []byte(`{"a":2}`)),
		"boundary":      Hash("prev7", 0, []byte(`{"a":1}`)),
	} {
		if h == base {
			t.Errorf("changing the %s does not change the hash", name)
		}
	}
	if len(base) != 64 {
		t.Errorf("hash %q is not hex SHA-256", base)
	}
}
