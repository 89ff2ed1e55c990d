package awsproxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/slipway-ml/slipway/internal/atomicfile"
	"github.com/slipway-ml/slipway/internal/errs"
)

// Sealer encrypts the CA's private key at rest; identity.Sealer (AES-GCM under the master key)
// is one.
type Sealer interface {
	Seal(plaintext, context string) string
	Open(sealed, context string) (string, error)
}

// The files of the CA in its directory.
const (
	CertFile = "ca.pem"        // the certificate, PEM: what AWS_CA_BUNDLE names (0644)
	KeyFile  = "ca-key.sealed" // the private key, sealed (0600)
)

// CA is the per-install certificate authority that vouches for the AWS hosts the proxy serves.
type CA struct {
	cert     *x509.Certificate
	key      *ecdsa.PrivateKey
	certPath string
	now      func() time.Time

	leafKey *ecdsa.PrivateKey
	mu      sync.Mutex
	leaves  map[string]*tls.Certificate
}

// LoadCA loads the CA kept in dir, or makes one (and writes it there) when there is none, when
// its key does not open with this sealer, or when it expires within 30 days.
func LoadCA(dir string, seal Sealer, now func() time.Time) (*CA, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, errs.E(errs.Internal, "cannot create the job proxy's directory", err)
	}
	ca := &CA{certPath: filepath.Join(dir, CertFile), now: now, leaves: map[string]*tls.Certificate{}}
	if err := ca.load(dir, seal); err != nil {
		if err := ca.create(dir, seal); err != nil {
			return nil, err
		}
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, errs.E(errs.Internal, "cannot make the proxy's key", err)
	}
	ca.leafKey = leafKey
	return ca, nil
}

// CertPath is the file holding the CA certificate in PEM.
func (ca *CA) CertPath() string { return ca.certPath }

// Certificate is the CA certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

func keyContext(certDER []byte) string {
	sum := sha256.Sum256(certDER)
	return "job proxy CA key/" + hex.EncodeToString(sum[:])
}

func (ca *CA) load(dir string, seal Sealer) error {
	certPEM, err := os.ReadFile(ca.certPath)
	if err != nil {
		return err
	}
	sealed, err := os.ReadFile(filepath.Join(dir, KeyFile))
	if err != nil {
		return err
	}
	b, _ := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		return errors.New("no certificate")
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return err
	}
	if ca.now().Add(30 * 24 * time.Hour).After(cert.NotAfter) {
		return errors.New("expires soon")
	}
	text, err := seal.Open(string(sealed), keyContext(b.Bytes))
	if err != nil {
		return err
	}
	der, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return err
	}
	key, err := x509.ParseECPrivateKey(der)
	if err != nil {
		return err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return errors.New("the key is not the certificate's")
	}
	ca.cert, ca.key = cert, key
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n.Add(n, big.NewInt(1))
}

func (ca *CA) create(dir string, seal Sealer) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return errs.E(errs.Internal, "cannot make the job proxy's CA key", err)
	}
	now := ca.now()
	id := serial()
	tmpl := &x509.Certificate{
		SerialNumber:          id,
		Subject:               pkix.Name{Organization: []string{"Slipway"}, CommonName: "Slipway job proxy CA " + hex.EncodeToString(id.Bytes()[:4])},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		// The CA vouches for AWS API hosts and nothing else, even if its key leaks.
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         []string{"amazonaws.com"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return errs.E(errs.Internal, "cannot make the job proxy's CA certificate", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return errs.E(errs.Internal, "cannot read the job proxy's CA certificate", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the job proxy's CA key", err)
	}
	sealed := seal.Seal(base64.StdEncoding.EncodeToString(keyDER), keyContext(der))
	if err := atomicfile.Write(filepath.Join(dir, KeyFile), []byte(sealed), 0o600); err != nil {
		return err
	}
	if err := atomicfile.Write(ca.certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	ca.cert, ca.key = cert, key
	return nil
}

// maxLeaves bounds the cache of host certificates.
const maxLeaves = 4096

// leaf returns a certificate for an AWS host, signed by the CA, from the cache while it has a
// day left.
func (ca *CA) leaf(host string) (*tls.Certificate, error) {
	now := ca.now()
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c, ok := ca.leaves[host]; ok && c.Leaf.NotAfter.After(now.Add(24*time.Hour)) {
		return c, nil
	}
	if !AWSHost(host) {
		return nil, errs.E(errs.AccessDenied, "no certificate for %q: not an AWS API host", clip(host))
	}
	notAfter := now.Add(7 * 24 * time.Hour)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &ca.leafKey.PublicKey, ca.key)
	if err != nil {
		return nil, errs.E(errs.Internal, "cannot make a certificate for %s", host, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, errs.E(errs.Internal, "cannot read a certificate for %s", host, err)
	}
	if len(ca.leaves) >= maxLeaves {
		clear(ca.leaves)
	}
	c := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: ca.leafKey, Leaf: leaf}
	ca.leaves[host] = c
	return c, nil
}
