// Package randid makes random identifiers from crypto/rand: version-4 UUIDs (request and event
// ids) and strings over an alphabet (access keys, secrets, account and resource ids). It is the
// only place Slipway draws identifiers, so their shape and their randomness are decided once.
package randid

import (
	"crypto/rand"
	"encoding/hex"
	"math/big"
)

// UUID returns a random (version 4, variant 10) UUID in its 36-character text form.
func UUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:16])
	return string(out[:])
}

// String returns n characters drawn uniformly and independently from alphabet.
func String(n int, alphabet string) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand does not fail on Linux
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}
