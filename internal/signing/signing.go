// Package signing makes and checks detached signatures over documents such as
// release bundles and deployment receipts, and decides whether a signer is
// trusted.
//
// Signatures use only formats openssl understands (ASN.1 DER ECDSA over
// SHA-256, or pure Ed25519), so a user can check one without ferry.
// Signatures cover the payload bytes only: each payload must name its own
// kind and schema, so a signature over one kind of document cannot be
// replayed as another.
package signing

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/ferrydeploy/ferry/internal/identity"
)

// Sentinel errors; callers branch on them with errors.Is (and show the
// wrapping error, which names the signer).
var (
	ErrBadSignature = errors.New("signature does not verify")
	ErrUntrusted    = errors.New("signer is not trusted")
	ErrRevoked      = errors.New("signer's trust has been revoked")
)

// Signer is a space this server knows, as the trust service records it.
type Signer struct {
	Name        string
	Cert        *x509.Certificate
	Fingerprint string
	Revoked     bool
}

// Keyring finds a known space by its certificate fingerprint (the format of
// identity.Fingerprint).
type Keyring interface {
	Lookup(fingerprint string) (Signer, bool)
}

// Sign returns an ASN.1 DER ECDSA signature over SHA-256(payload): exactly
// what `openssl dgst -sha256 -verify pub.pem -signature sig.bin payload`
// checks.
func Sign(key *ecdsa.PrivateKey, payload []byte) ([]byte, error) {
	if key == nil {
		return nil, errors.New("signing: no signing key")
	}
	// Only P-256 is accepted on the verifying side, so refuse to make a
	// signature nobody would accept.
	if key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("signing: key is on curve %s, want P-256", key.Curve.Params().Name)
	}
	digest := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return sig, nil
}

// Verify checks sig over payload against the certificate's public key:
// ECDSA P-256 with SHA-256 (DER signature), or pure Ed25519 over the
// payload. A signature that does not verify is an error wrapping
// ErrBadSignature.
func Verify(cert *x509.Certificate, payload, sig []byte) error {
	return verify(cert, payload, nil, sig)
}

// VerifySum is Verify for a payload whose SHA-256 the caller has already
// computed from these same bytes (envelope.Opened.Sum: the digest check
// hashed them): an ECDSA signature is checked against sum without
// hashing payload again. The signature and what it covers are unchanged
// (openssl checks it the same way); Ed25519 signs the payload itself, so
// it still reads payload. A sum that is not payload's hash makes a valid
// ECDSA signature fail, never a wrong one pass against payload.
func VerifySum(cert *x509.Certificate, payload []byte, sum [32]byte, sig []byte) error {
	return verify(cert, payload, &sum, sig)
}

func verify(cert *x509.Certificate, payload []byte, sum *[32]byte, sig []byte) error {
	if cert == nil {
		return errors.New("verifying signature: no certificate")
	}
	switch pub := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return fmt.Errorf("verifying signature: certificate key is ECDSA %s, want P-256", pub.Curve.Params().Name)
		}
		if sum == nil {
			digest := sha256.Sum256(payload)
			sum = &digest
		}
		// VerifyASN1 rejects empty, truncated and non-DER input.
		if !ecdsa.VerifyASN1(pub, sum[:], sig) {
			return fmt.Errorf("verifying ECDSA signature by %q: the document was altered or signed by another key: %w", cert.Subject.CommonName, ErrBadSignature)
		}
		return nil
	case ed25519.PublicKey:
		// ed25519.Verify panics on a wrong-sized key, so check first.
		if len(pub) != ed25519.PublicKeySize {
			return fmt.Errorf("verifying signature: Ed25519 key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
		}
		if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, payload, sig) {
			return fmt.Errorf("verifying Ed25519 signature by %q: the document was altered or signed by another key: %w", cert.Subject.CommonName, ErrBadSignature)
		}
		return nil
	default:
		return fmt.Errorf("verifying signature: certificate key is %s; ferry accepts ECDSA P-256 or Ed25519", cert.PublicKeyAlgorithm)
	}
}

// VerifyFrom checks that a document was signed by a trusted, unrevoked space.
// signerCertDER is the certificate the document says signed it; it is used
// only to compute a fingerprint, and the signature is checked against the
// keyring's copy of the certificate, so nothing the sender supplies is
// trusted on its own. Cheap refusals come first: unknown signer
// (ErrUntrusted), revoked signer (ErrRevoked), then the signature
// (ErrBadSignature). On any error the returned Signer is zero.
func VerifyFrom(kr Keyring, signerCertDER []byte, payload, sig []byte) (Signer, error) {
	if kr == nil {
		return Signer{}, errors.New("verifying signature: no keyring")
	}
	if len(signerCertDER) == 0 {
		return Signer{}, fmt.Errorf("verifying signature: the document names no signer certificate: %w", ErrUntrusted)
	}
	fp := identity.Fingerprint(signerCertDER)
	s, ok := kr.Lookup(fp)
	if !ok {
		return Signer{}, fmt.Errorf("verifying signature: the signing space (certificate fingerprint %s) is not known here; after comparing fingerprints with its owners, add it with `ferry remote-space add NAME --cert FILE`: %w", fp, ErrUntrusted)
	}
	if s.Revoked {
		return Signer{}, fmt.Errorf("verifying signature: the signing space %q (fingerprint %s) has been revoked: %w", s.Name, fp, ErrRevoked)
	}
	// Fingerprint equality already implies this; checking the bytes guards
	// against a keyring that indexes certificates inconsistently.
	if s.Cert == nil || !bytes.Equal(s.Cert.Raw, signerCertDER) {
		return Signer{}, fmt.Errorf("verifying signature: the keyring's certificate for space %q does not match fingerprint %s: %w", s.Name, fp, ErrUntrusted)
	}
	if err := Verify(s.Cert, payload, sig); err != nil {
		return Signer{}, fmt.Errorf("document claiming to be from space %q (fingerprint %s): %w", s.Name, fp, err)
	}
	return s, nil
}
