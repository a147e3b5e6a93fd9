package agentproto

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/identity"
)

// Identity is a certificate and its key, as one side presents it.
type Identity struct {
	Cert        tls.Certificate
	CertPEM     []byte
	Fingerprint string // SHA-256, as `openssl x509 -noout -fingerprint -sha256` prints it
}

// NewIdentity makes an ECDSA P-256 key and a self-signed certificate
// naming name, valid for ten years (an hour backdated against clock skew),
// and returns both as PEM: the certificate, and the key as PKCS #8.
// Neither side checks names or dates: each pins the other's fingerprint.
func NewIdentity(name string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject:      pkix.Name{CommonName: name, Organization: []string{"ferry agent"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{"ferry-agent"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), nil
}

// ParseIdentity reads a certificate and its key (PEM).
func ParseIdentity(certPEM, keyPEM []byte) (Identity, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return Identity{}, fmt.Errorf("read certificate and key: %w", err)
	}
	return Identity{Cert: cert, CertPEM: certPEM, Fingerprint: identity.Fingerprint(cert.Certificate[0])}, nil
}

// MismatchError is a peer whose certificate is not one of those pinned.
// Its message names both fingerprints.
type MismatchError struct {
	Peer      string   // what the peer is: "agent at https://…", "server at …"
	Presented string   // the fingerprint of the certificate it presented
	Expected  []string // the fingerprints pinned
	Hint      string   // what to do, for people
}

func (e *MismatchError) Error() string {
	msg := fmt.Sprintf("refused the %s: it presented a certificate with SHA-256 fingerprint %s, but %s", e.Peer, e.Presented, expected(e.Expected))
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

func expected(pins []string) string {
	switch len(pins) {
	case 0:
		return "none is trusted"
	case 1:
		return "the one trusted is " + pins[0]
	}
	return "the ones trusted are " + strings.Join(pins, ", ")
}

// DialTLS is the TLS of the side that dials — the server reaching a
// listening agent, a polling agent reaching the server: it presents the
// identity id returns, and accepts only a peer whose certificate has one
// of the fingerprints pins returns (both asked at each handshake, so that
// a rotation takes effect at once); otherwise the handshake fails with a
// *MismatchError.
func DialTLS(id func() Identity, peer, hint string, pins func() []string) *tls.Config {
	return &tls.Config{
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c := id().Cert
			return &c, nil
		},
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // no CA: the fingerprint is checked below
		NextProtos:         []string{"h2"},
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return fmt.Errorf("the %s presented no certificate", peer)
			}
			fp, want := identity.Fingerprint(raw[0]), pins()
			if !slices.Contains(want, fp) {
				return &MismatchError{Peer: peer, Presented: fp, Expected: want, Hint: hint}
			}
			return nil
		},
	}
}

// AcceptTLS is the TLS of the side that accepts — a listening agent, the
// server's agent listener: it presents the identity id returns and asks
// for any certificate; TLS 1.3 proves the peer holds its key, and the
// handler checks its fingerprint (PeerFingerprint), so that a refusal is
// an answer naming both fingerprints rather than a bare alert.
func AcceptTLS(id func() Identity, protos ...string) *tls.Config {
	return &tls.Config{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			c := id().Cert
			return &c, nil
		},
		MinVersion: tls.VersionTLS13,
		ClientAuth: tls.RequireAnyClientCert,
		NextProtos: protos,
	}
}

// PeerFingerprint is the fingerprint of the certificate the peer of cs
// presented ("" without one).
func PeerFingerprint(cs *tls.ConnectionState) string {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return ""
	}
	return identity.Fingerprint(cs.PeerCertificates[0].Raw)
}

// Refusal is the answer to a peer whose certificate is not trusted.
type Refusal struct {
	Error     string   `json:"error"`
	Presented string   `json:"presented"`
	Expected  []string `json:"expected,omitempty"`
}

// AsMismatch finds a *MismatchError in err, also inside TLS's wrapping.
func AsMismatch(err error) (*MismatchError, bool) {
	var m *MismatchError
	ok := errors.As(err, &m)
	return m, ok
}
