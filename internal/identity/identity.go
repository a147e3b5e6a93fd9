// Package identity creates and checks a space's identity: an ECDSA P-256
// signing key, an age X25519 key for receiving secrets, and a self-signed
// X.509 certificate that carries both public keys.
//
// The age recipient rides in the certificate as a custom extension, and the
// certificate's self-signature covers its extensions, so the one PEM file a
// user exchanges (and whose SHA-256 fingerprint they compare out of band)
// vouches for both the signing key and the encryption key.
package identity

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"filippo.io/age"
)

const (
	// Organization is the subject O of every space certificate.
	Organization = "ferry space"

	// AgeRecipientOID is the certificate extension holding the space's age
	// recipient (a DER UTF8String "age1..."). 1.3.6.1.4.1.59999 is a
	// placeholder private-enterprise arc for ferry, not an IANA assignment;
	// it must be replaced by a registered arc before certificates are
	// issued in earnest, since changing it invalidates existing ones.
	AgeRecipientOID = "1.3.6.1.4.1.59999.1.1"

	// Validity bounds for generated certificates. The hour of backdating
	// absorbs clock skew between air-gapped servers; ten years because
	// rotating trust by hand across an air gap is costly.
	backdate = time.Hour
	lifetime = 10

	// maxSpaceNameLen is the X.520 upper bound for a common name.
	maxSpaceNameLen = 64

	// A well-formed age1 recipient is 62 characters; anything much longer
	// is junk that is not worth echoing into an error message.
	maxRecipientLen = 100

	pemCertificate = "CERTIFICATE"
	pemPrivateKey  = "PRIVATE KEY"
	pemAgeKey      = "AGE SECRET KEY"

	dateFormat = "2006-01-02 15:04:05 MST"
)

// Identity is a space's own identity, including its private keys.
type Identity struct {
	Cert    *x509.Certificate
	CertPEM []byte
	Signer  *ecdsa.PrivateKey
	Age     *age.X25519Identity
}

// Cert is a checked space certificate, usually another space's.
type Cert struct {
	X509         *x509.Certificate
	PEM          []byte // canonical PEM: exactly one CERTIFICATE block
	Fingerprint  string // as `openssl x509 -noout -fingerprint -sha256` prints it
	SpaceName    string
	AgeRecipient *age.X25519Recipient
}

func ageRecipientOID() asn1.ObjectIdentifier {
	return asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 59999, 1, 1}
}

// Generate creates a new identity for a space.
func Generate(spaceName string, now time.Time) (*Identity, error) {
	if err := checkSpaceName(spaceName); err != nil {
		return nil, err
	}
	signer, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating signing key for space %q: %w", spaceName, err)
	}
	ageID, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("generating age key for space %q: %w", spaceName, err)
	}
	ext, err := asn1.MarshalWithParams(ageID.Recipient().String(), "utf8")
	if err != nil {
		return nil, fmt.Errorf("encoding age recipient extension: %w", err)
	}
	serialBytes := make([]byte, 16)
	if _, err := rand.Read(serialBytes); err != nil {
		return nil, fmt.Errorf("generating certificate serial: %w", err)
	}
	// Setting the low bit keeps the serial non-zero, which RFC 5280
	// requires, at the cost of one bit of randomness.
	serialBytes[15] |= 1
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(serialBytes),
		Subject:               pkix.Name{CommonName: spaceName, Organization: []string{Organization}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.AddDate(lifetime, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true, // conventional for a self-signed certificate
		ExtraExtensions: []pkix.Extension{{
			Id:       ageRecipientOID(),
			Critical: false, // so generic X.509 tools (openssl) still accept the certificate
			Value:    ext,
		}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &signer.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("creating certificate for space %q: %w", spaceName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing new certificate for space %q: %w", spaceName, err)
	}
	return &Identity{
		Cert:    cert,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: der}),
		Signer:  signer,
		Age:     ageID,
	}, nil
}

func checkSpaceName(name string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("space name is empty")
	}
	if name != strings.TrimSpace(name) {
		return fmt.Errorf("space name %q has leading or trailing spaces", name)
	}
	if !utf8.ValidString(name) {
		return errors.New("space name is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(name); n > maxSpaceNameLen {
		return fmt.Errorf("space name %q is %d characters; certificates allow at most %d", name, n, maxSpaceNameLen)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("space name %q contains a control character", name)
		}
	}
	return nil
}

// MarshalPrivate serialises the private keys as PEM: a PKCS#8 "PRIVATE KEY"
// block for the signing key and an "AGE SECRET KEY" block whose content is
// the AGE-SECRET-KEY-1... string. The result is a secret: callers seal it
// (secrets.Box) before storing it.
func (id *Identity) MarshalPrivate() ([]byte, error) {
	if id == nil || id.Signer == nil || id.Age == nil {
		return nil, errors.New("marshalling identity: private keys missing")
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(id.Signer)
	if err != nil {
		return nil, fmt.Errorf("marshalling signing key: %w", err)
	}
	var buf bytes.Buffer
	if err := pem.Encode(&buf, &pem.Block{Type: pemPrivateKey, Bytes: pkcs8}); err != nil {
		return nil, fmt.Errorf("encoding signing key: %w", err)
	}
	if err := pem.Encode(&buf, &pem.Block{Type: pemAgeKey, Bytes: []byte(id.Age.String())}); err != nil {
		return nil, fmt.Errorf("encoding age key: %w", err)
	}
	return buf.Bytes(), nil
}

// ParsePrivate rebuilds an identity from its certificate and the output of
// MarshalPrivate, refusing keys that do not belong to the certificate (a
// mix-up there would sign with a key nobody trusts, or publish a recipient
// whose secrets nobody can open). The certificate's validity dates are not
// checked: a server must still be able to load its own expired identity to
// report on it and replace it.
func ParsePrivate(certPEM, priv []byte) (*Identity, error) {
	c, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("loading identity certificate: %w", err)
	}
	if _, ok := c.X509.PublicKey.(*ecdsa.PublicKey); !ok {
		return nil, errors.New("loading identity: the certificate's key is not ECDSA P-256, which is what ferry signs with")
	}
	var signer *ecdsa.PrivateKey
	var ageID *age.X25519Identity
	rest := priv
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case pemPrivateKey:
			if signer != nil {
				return nil, errors.New("loading identity: more than one PRIVATE KEY block")
			}
			key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("loading identity: parsing signing key: %w", err)
			}
			ec, ok := key.(*ecdsa.PrivateKey)
			if !ok || ec.Curve != elliptic.P256() {
				return nil, errors.New("loading identity: signing key is not ECDSA P-256")
			}
			signer = ec
		case pemAgeKey:
			if ageID != nil {
				return nil, errors.New("loading identity: more than one AGE SECRET KEY block")
			}
			// The parse error is not wrapped: it can quote characters of
			// the secret key.
			a, err := age.ParseX25519Identity(strings.TrimSpace(string(block.Bytes)))
			if err != nil {
				return nil, errors.New("loading identity: the AGE SECRET KEY block is not a valid AGE-SECRET-KEY-1 key")
			}
			ageID = a
		default:
			return nil, fmt.Errorf("loading identity: unexpected PEM block %q", block.Type)
		}
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("loading identity: unexpected data after the PEM blocks")
	}
	if signer == nil || ageID == nil {
		return nil, errors.New("loading identity: need both a PRIVATE KEY and an AGE SECRET KEY block")
	}
	if !signer.PublicKey.Equal(c.X509.PublicKey) {
		return nil, fmt.Errorf("loading identity: the signing key does not match the certificate for space %q (fingerprint %s)", c.SpaceName, c.Fingerprint)
	}
	if ageID.Recipient().String() != c.AgeRecipient.String() {
		return nil, fmt.Errorf("loading identity: the age key does not match the certificate for space %q (fingerprint %s)", c.SpaceName, c.Fingerprint)
	}
	return &Identity{Cert: c.X509, CertPEM: c.PEM, Signer: signer, Age: ageID}, nil
}

// ParseCertificate checks a space certificate a user supplied (for example
// with `ferry remote-space add --cert FILE`) and extracts what ferry needs
// from it. Every refusal says what is wrong and, where there is one, what to
// do about it.
func ParseCertificate(pemBytes []byte, now time.Time) (*Cert, error) {
	c, err := parseCert(pemBytes)
	if err != nil {
		return nil, err
	}
	if now.Before(c.X509.NotBefore) {
		return nil, fmt.Errorf("the certificate for space %q is not valid until %s (it is now %s); check the clocks on both servers",
			c.SpaceName, c.X509.NotBefore.UTC().Format(dateFormat), now.UTC().Format(dateFormat))
	}
	if now.After(c.X509.NotAfter) {
		return nil, fmt.Errorf("the certificate for space %q expired on %s (valid from %s; it is now %s); ask its owners for a new certificate",
			c.SpaceName, c.X509.NotAfter.UTC().Format(dateFormat), c.X509.NotBefore.UTC().Format(dateFormat), now.UTC().Format(dateFormat))
	}
	return c, nil
}

// MaxCertPEM bounds a certificate ParseCertificate reads. A space
// certificate is ~700 bytes of PEM; crypto/x509 reads a certificate whole,
// and one given to it can be a bundle's signer that any viewer uploads to
// inspect: 4 MB of one-letter URIs read into 180 MB.
const MaxCertPEM = 64 << 10

// parseCert does every check of ParseCertificate except the validity dates.
func parseCert(pemBytes []byte) (*Cert, error) {
	if len(pemBytes) > MaxCertPEM {
		return nil, fmt.Errorf("the certificate is %d bytes; a space certificate is under 1 kB and may be at most %d", len(pemBytes), MaxCertPEM)
	}
	trimmed := bytes.TrimSpace(pemBytes)
	// pem.Decode silently skips text before a block; refuse it instead, so
	// the file a user inspected is exactly the certificate we store.
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN ")) {
		if len(trimmed) > 0 && trimmed[0] == 0x30 { // an ASN.1 SEQUENCE: most likely a DER certificate
			return nil, errors.New("the file is not a PEM certificate: expected -----BEGIN CERTIFICATE----- (it looks like binary DER; convert it with `openssl x509 -inform der -in FILE -out FILE.pem`)")
		}
		return nil, errors.New("the file is not a PEM certificate: expected -----BEGIN CERTIFICATE-----")
	}
	block, rest := pem.Decode(trimmed)
	if block == nil {
		return nil, errors.New("the file is not a PEM certificate: expected -----BEGIN CERTIFICATE----- (the PEM block is malformed)")
	}
	if block.Type != pemCertificate {
		if strings.Contains(block.Type, "PRIVATE") || strings.Contains(block.Type, "SECRET") {
			return nil, fmt.Errorf("the file holds a %s, not a certificate: keep it secret and export the certificate with `ferry space cert`", block.Type)
		}
		return nil, fmt.Errorf("the file is not a PEM certificate: found -----BEGIN %s-----, expected -----BEGIN CERTIFICATE-----", block.Type)
	}
	if len(block.Headers) != 0 {
		return nil, errors.New("the PEM certificate has headers; expected a plain -----BEGIN CERTIFICATE----- block")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		if next, _ := pem.Decode(rest); next != nil {
			return nil, errors.New("the file holds more than one PEM block; give exactly one space certificate per file")
		}
		return nil, errors.New("the file has unexpected data after the certificate's -----END CERTIFICATE----- line")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the certificate cannot be parsed: %w", err)
	}
	switch pub := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return nil, fmt.Errorf("the certificate's key is ECDSA %s; ferry accepts ECDSA P-256 or Ed25519", pub.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("the certificate's key is %s; ferry accepts ECDSA P-256 or Ed25519", cert.PublicKeyAlgorithm)
	}
	if !bytes.Equal(cert.RawIssuer, cert.RawSubject) {
		return nil, fmt.Errorf("the certificate is issued by %q, not self-signed; a space certificate is self-signed (export it with `ferry space cert`)", cert.Issuer)
	}
	// CheckSignature rather than CheckSignatureFrom: a self-signed identity
	// need not carry CA flags for its signature to prove key possession.
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		return nil, fmt.Errorf("the certificate's self-signature does not verify (the file was altered or is not self-signed): %w", err)
	}
	// RFC 5280: a certificate with a critical extension we do not
	// understand must be rejected.
	var unknown []string
	for _, oid := range cert.UnhandledCriticalExtensions {
		if !oid.Equal(ageRecipientOID()) { // ferry's own extension is understood even if marked critical
			unknown = append(unknown, oid.String())
		}
	}
	if len(unknown) != 0 {
		return nil, fmt.Errorf("the certificate has critical extensions ferry does not understand: %s", strings.Join(unknown, ", "))
	}
	name := cert.Subject.CommonName
	if err := checkSpaceName(name); err != nil {
		return nil, fmt.Errorf("the certificate's subject common name is not a usable space name: %w", err)
	}
	recipient, err := recipientFromCert(cert)
	if err != nil {
		return nil, err
	}
	return &Cert{
		X509:         cert,
		PEM:          pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: cert.Raw}),
		Fingerprint:  Fingerprint(cert.Raw),
		SpaceName:    name,
		AgeRecipient: recipient,
	}, nil
}

func recipientFromCert(cert *x509.Certificate) (*age.X25519Recipient, error) {
	oid := ageRecipientOID()
	var value []byte
	found := false
	for _, e := range cert.Extensions {
		if e.Id.Equal(oid) {
			value, found = e.Value, true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("not a ferry space certificate: %q has no age recipient extension (%s); export it with `ferry space cert`", cert.Subject.CommonName, AgeRecipientOID)
	}
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(value, &raw)
	if err != nil {
		return nil, fmt.Errorf("the certificate's age recipient extension is malformed: %w", err)
	}
	if len(rest) != 0 || raw.Class != asn1.ClassUniversal || raw.Tag != asn1.TagUTF8String || raw.IsCompound {
		return nil, errors.New("the certificate's age recipient extension is malformed: expected a single UTF8String")
	}
	s := string(raw.Bytes)
	if len(s) > maxRecipientLen || !utf8.ValidString(s) {
		return nil, errors.New("the certificate's age recipient extension is malformed: not an age1... recipient")
	}
	r, err := age.ParseX25519Recipient(s)
	if err != nil {
		return nil, fmt.Errorf("the certificate's age recipient extension is malformed: %w", err)
	}
	return r, nil
}

// Fingerprint returns the SHA-256 of a certificate's DER as uppercase hex
// pairs joined by colons: the same text `openssl x509 -noout -fingerprint
// -sha256` prints after "sha256 Fingerprint=", so users can compare the two
// directly.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	b.Grow(len(sum)*3 - 1)
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}
