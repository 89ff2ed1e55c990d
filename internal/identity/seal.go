package identity

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Sealer encrypts secrets at rest with AES-256-GCM. Secret access keys cannot be stored hashed:
// verifying a SigV4 signature needs the secret itself, so they are stored sealed under a key
// that lives outside the database (a 0600 file in the data directory).
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, errs.E(errs.Invalid, "the master key must be 32 bytes, not %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errs.E(errs.Internal, "cannot create the cipher", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, errs.E(errs.Internal, "cannot create the cipher", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext, binding it to context (e.g. the access key id) so a sealed value
// cannot be moved to another row.
func (s *Sealer) Seal(plaintext, context string) string {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	out := s.aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return base64.StdEncoding.EncodeToString(out)
}

// Open decrypts a sealed value.
func (s *Sealer) Open(sealed, context string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	n := s.aead.NonceSize()
	if err != nil || len(raw) < n {
		return "", errs.E(errs.Internal, "a sealed secret is corrupt")
	}
	pt, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(context))
	if err != nil {
		return "", errs.E(errs.Internal, "a sealed secret does not open with this master key", err)
	}
	return string(pt), nil
}
