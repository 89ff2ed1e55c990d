package identity

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"sync"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Sealer encrypts secrets at rest with AES-256-GCM. Secret access keys cannot be stored hashed:
// verifying a SigV4 signature needs the secret itself, so they are stored sealed under a key
// that lives outside the database (a 0600 file in the data directory).
type Sealer struct {
	aead cipher.AEAD
	// opened caches what Open returned, by sealed value and context: every signed request opens
	// its key's secret. The plaintext is no more exposed than before (the master key is in the
	// same memory); the cache is dropped whole when it reaches openedMax entries.
	mu     sync.Mutex
	opened map[[2]string]string
}

const openedMax = 4096

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
	k := [2]string{sealed, context}
	s.mu.Lock()
	pt, ok := s.opened[k]
	s.mu.Unlock()
	if ok {
		return pt, nil
	}
	pt, err := s.open(sealed, context)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if s.opened == nil || len(s.opened) >= openedMax {
		s.opened = make(map[[2]string]string)
	}
	s.opened[k] = pt
	s.mu.Unlock()
	return pt, nil
}

func (s *Sealer) open(sealed, context string) (string, error) {
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
