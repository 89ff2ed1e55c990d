package app

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

// FuzzParseMasterKey: whatever a key file or variable holds, parseMasterKey returns a 32-byte
// key or an error, never panics, and reads the three documented forms of the same key alike.
func FuzzParseMasterKey(f *testing.F) {
	key := bytes.Repeat([]byte{0xA5}, 32)
	for _, seed := range [][]byte{key, []byte(hex.EncodeToString(key) + "\n"), []byte(base64.StdEncoding.EncodeToString(key)), []byte(""), []byte("zz")} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := parseMasterKey(data)
		if err != nil {
			return
		}
		if len(k) != 32 {
			t.Fatalf("accepted a %d-byte key from %q", len(k), data)
		}
		for _, form := range [][]byte{k, []byte(hex.EncodeToString(k)), []byte(base64.StdEncoding.EncodeToString(k))} {
			if again, err := parseMasterKey(form); err != nil || !bytes.Equal(again, k) {
				t.Fatalf("the key read from %q does not read back from %q: %v", data, form, err)
			}
		}
	})
}
