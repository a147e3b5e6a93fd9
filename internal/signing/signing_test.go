package signing

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/identity"
)

var payload = []byte(`{"kind":"ferry.bundle","schema":1,"release":"1.2.3","notes":"hello"}`)

type keyring map[string]Signer

func (k keyring) Lookup(fp string) (Signer, bool) {
	s, ok := k[fp]
	return s, ok
}

func newIdentity(t *testing.T, name string) *identity.Identity {
	t.Helper()
	id, err := identity.Generate(name, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func trust(ids ...*identity.Identity) keyring {
	kr := keyring{}
	for _, id := range ids {
		fp := identity.Fingerprint(id.Cert.Raw)
		kr[fp] = Signer{Name: id.Cert.Subject.CommonName, Cert: id.Cert, Fingerprint: fp}
	}
	return kr
}

func mustSign(t *testing.T, id *identity.Identity, p []byte) []byte {
	t.Helper()
	sig, err := Sign(id.Signer, p)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestSignVerify(t *testing.T) {
	id := newIdentity(t, "DevTest")
	for _, p := range [][]byte{payload, nil, {}, bytes.Repeat([]byte("x"), 1<<20)} {
		sig := mustSign(t, id, p)
		if err := Verify(id.Cert, p, sig); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVerifyWrongKey(t *testing.T) {
	a, b := newIdentity(t, "A"), newIdentity(t, "B")
	err := Verify(b.Cert, payload, mustSign(t, a, payload))
	if !errors.Is(err, ErrBadSignature) {
		t.Fatalf("got %v, want ErrBadSignature", err)
	}
}

func TestVerifyAlteredPayload(t *testing.T) {
	id := newIdentity(t, "A")
	sig := mustSign(t, id, payload)
	for _, i := range []int{0, 1, len(payload) / 3, len(payload) / 2, len(payload) - 2, len(payload) - 1} {
		for _, bit := range []byte{0x01, 0x80} {
			mod := bytes.Clone(payload)
			mod[i] ^= bit
			if err := Verify(id.Cert, mod, sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("flip 0x%02x at %d: got %v", bit, i, err)
			}
		}
	}
	for name, mod := range map[string][]byte{
		"appended":  append(bytes.Clone(payload), ' '),
		"truncated": payload[:len(payload)-1],
		"empty":     nil,
	} {
		if err := Verify(id.Cert, mod, sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s payload: got %v", name, err)
		}
	}
}

func TestVerifyMangledSignature(t *testing.T) {
	id := newIdentity(t, "A")
	sig := mustSign(t, id, payload)
	cases := map[string][]byte{
		"empty":           nil,
		"zero-length":     {},
		"one byte":        sig[:1],
		"trailing byte":   append(bytes.Clone(sig), 0),
		"garbage":         bytes.Repeat([]byte{0xff}, len(sig)),
		"zero sequence":   {0x30, 0x00},
		"other signature": mustSign(t, id, []byte("other")),
	}
	for n := 1; n < len(sig); n++ {
		cases[fmt.Sprintf("truncated to %d", n)] = sig[:n]
	}
	for i := range sig {
		mod := bytes.Clone(sig)
		mod[i] ^= 0x01
		cases[fmt.Sprintf("flipped byte %d", i)] = mod
	}
	for name, s := range cases {
		if err := Verify(id.Cert, payload, s); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: got %v, want ErrBadSignature", name, err)
		}
	}
}

func TestVerifyImpostorWithSameName(t *testing.T) {
	// An attacker generates their own identity under the trusted space's
	// name; the keyring (by fingerprint) must tell them apart.
	genuine, impostor := newIdentity(t, "Prod Space"), newIdentity(t, "Prod Space")
	kr := trust(genuine)
	sig := mustSign(t, impostor, payload)

	if _, err := VerifyFrom(kr, impostor.Cert.Raw, payload, sig); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("impostor's own cert: got %v, want ErrUntrusted", err)
	}
	// Claiming the real certificate does not help: the signature is checked
	// against the real key.
	if _, err := VerifyFrom(kr, genuine.Cert.Raw, payload, sig); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("impostor claiming real cert: got %v, want ErrBadSignature", err)
	}
	if err := Verify(genuine.Cert, payload, sig); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Verify: got %v", err)
	}
}

func TestVerifyFrom(t *testing.T) {
	good, revoked, unknown := newIdentity(t, "Good"), newIdentity(t, "Gone"), newIdentity(t, "Stranger")
	kr := trust(good, revoked)
	fpRevoked := identity.Fingerprint(revoked.Cert.Raw)
	s := kr[fpRevoked]
	s.Revoked = true
	kr[fpRevoked] = s

	signer, err := VerifyFrom(kr, good.Cert.Raw, payload, mustSign(t, good, payload))
	if err != nil {
		t.Fatal(err)
	}
	if signer.Name != "Good" || signer.Fingerprint != identity.Fingerprint(good.Cert.Raw) {
		t.Fatalf("signer = %+v", signer)
	}

	fpUnknown := identity.Fingerprint(unknown.Cert.Raw)
	signer, err = VerifyFrom(kr, unknown.Cert.Raw, payload, mustSign(t, unknown, payload))
	if !errors.Is(err, ErrUntrusted) || errors.Is(err, ErrBadSignature) {
		t.Fatalf("unknown: got %v", err)
	}
	if !strings.Contains(err.Error(), fpUnknown) || !strings.Contains(err.Error(), "ferry remote-space add") {
		t.Fatalf("unknown: message lacks fingerprint or remedy: %v", err)
	}
	if signer != (Signer{}) {
		t.Fatalf("unknown: returned signer %+v", signer)
	}

	_, err = VerifyFrom(kr, revoked.Cert.Raw, payload, mustSign(t, revoked, payload))
	if !errors.Is(err, ErrRevoked) || !strings.Contains(err.Error(), `"Gone"`) {
		t.Fatalf("revoked: got %v", err)
	}
	// Revocation is decided before the signature is even looked at.
	if _, err := VerifyFrom(kr, revoked.Cert.Raw, payload, nil); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked, empty signature: got %v", err)
	}
	if _, err := VerifyFrom(kr, unknown.Cert.Raw, payload, nil); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("unknown, empty signature: got %v", err)
	}

	sig := mustSign(t, good, payload)
	_, err = VerifyFrom(kr, good.Cert.Raw, append(bytes.Clone(payload), '!'), sig)
	if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), `"Good"`) {
		t.Fatalf("altered: got %v", err)
	}
	if _, err := VerifyFrom(kr, good.Cert.Raw, payload, sig[:len(sig)-1]); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("truncated: got %v", err)
	}
	if _, err := VerifyFrom(kr, good.Cert.Raw, payload, nil); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("empty: got %v", err)
	}
	for name, der := range map[string][]byte{"nil": nil, "junk": []byte("junk"), "flipped": flip(good.Cert.Raw, 10)} {
		if _, err := VerifyFrom(kr, der, payload, sig); !errors.Is(err, ErrUntrusted) {
			t.Errorf("signer cert %s: got %v", name, err)
		}
	}
	if _, err := VerifyFrom(nil, good.Cert.Raw, payload, sig); err == nil {
		t.Error("nil keyring accepted")
	}
}

func flip(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 1
	return b
}

func TestVerifyFromInconsistentKeyring(t *testing.T) {
	a, b := newIdentity(t, "A"), newIdentity(t, "B")
	// A broken keyring that maps A's fingerprint to B's certificate must
	// not let B's signatures pass as A's.
	kr := keyring{identity.Fingerprint(a.Cert.Raw): {Name: "A", Cert: b.Cert, Fingerprint: identity.Fingerprint(a.Cert.Raw)}}
	if _, err := VerifyFrom(kr, a.Cert.Raw, payload, mustSign(t, b, payload)); err == nil {
		t.Fatal("accepted")
	}
	kr = keyring{identity.Fingerprint(a.Cert.Raw): {Name: "A"}}
	if _, err := VerifyFrom(kr, a.Cert.Raw, payload, mustSign(t, a, payload)); err == nil {
		t.Fatal("accepted a signer with no certificate")
	}
}

func TestEd25519Cert(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Ed"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	sig := ed25519.Sign(priv, payload)
	if err := Verify(cert, payload, sig); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string][]byte{"empty": nil, "truncated": sig[:63], "long": append(bytes.Clone(sig), 0), "flipped": flip(sig, 5)} {
		if err := Verify(cert, payload, s); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	if err := Verify(cert, flip(payload, 3), sig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("altered payload: got %v", err)
	}
}

func TestSignRefusesOtherCurves(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := Sign(k, payload); err == nil {
		t.Fatal("P-384 key accepted")
	}
	if _, err := Sign(nil, payload); err == nil {
		t.Fatal("nil key accepted")
	}
}

// TestOpenSSL checks the promise made to users: openssl alone verifies a
// ferry signature and prints the same certificate fingerprint.
func TestOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not on PATH")
	}
	id := newIdentity(t, "Prod Space")
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	certPath := write("space.pem", id.CertPEM)
	payloadPath := write("bundle.json", payload)
	sigPath := write("bundle.sig", mustSign(t, id, payload))
	run := func(args ...string) (string, error) {
		out, err := exec.Command("openssl", args...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}

	pub, err := run("x509", "-in", certPath, "-noout", "-pubkey")
	if err != nil {
		t.Fatalf("extracting public key: %v\n%s", err, pub)
	}
	pubPath := write("pub.pem", []byte(pub+"\n"))

	out, err := run("dgst", "-sha256", "-verify", pubPath, "-signature", sigPath, payloadPath)
	if err != nil || out != "Verified OK" {
		t.Fatalf("openssl rejected a good signature: %v\n%s", err, out)
	}
	badPath := write("bad.json", flip(payload, 7))
	out, err = run("dgst", "-sha256", "-verify", pubPath, "-signature", sigPath, badPath)
	if err == nil || !strings.Contains(out, "Verification failure") {
		t.Fatalf("openssl accepted an altered payload: %v\n%s", err, out)
	}

	out, err = run("x509", "-in", certPath, "-noout", "-fingerprint", "-sha256")
	if err != nil {
		t.Fatalf("fingerprint: %v\n%s", err, out)
	}
	want := identity.Fingerprint(id.Cert.Raw)
	if _, got, _ := strings.Cut(out, "="); got != want {
		t.Fatalf("openssl printed %q, Fingerprint() = %s", out, want)
	}
}

// TestVerifySumAgreesWithVerify: VerifySum with the payload's own SHA-256
// accepts exactly what Verify accepts (ECDSA and Ed25519, altered payloads
// and signatures, another key); a sum that is not the payload's hash
// never lets an ECDSA signature pass, and Ed25519 ignores the sum.
func TestVerifySumAgreesWithVerify(t *testing.T) {
	id, other := newIdentity(t, "DevTest"), newIdentity(t, "Other")
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Ed"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	edCert, _ := x509.ParseCertificate(der)
	ecSig, edSig := mustSign(t, id, payload), ed25519.Sign(priv, payload)
	type check struct {
		name    string
		cert    *x509.Certificate
		payload []byte
		sig     []byte
	}
	for _, c := range []check{
		{"ecdsa", id.Cert, payload, ecSig},
		{"ecdsa altered payload", id.Cert, flip(payload, 3), ecSig},
		{"ecdsa flipped signature", id.Cert, payload, flip(ecSig, 10)},
		{"ecdsa other key", other.Cert, payload, ecSig},
		{"ecdsa empty signature", id.Cert, payload, nil},
		{"ed25519", edCert, payload, edSig},
		{"ed25519 altered payload", edCert, flip(payload, 3), edSig},
		{"ed25519 flipped signature", edCert, payload, flip(edSig, 5)},
	} {
		want := Verify(c.cert, c.payload, c.sig)
		got := VerifySum(c.cert, c.payload, sha256.Sum256(c.payload), c.sig)
		if (want == nil) != (got == nil) || (want != nil && want.Error() != got.Error()) {
			t.Errorf("%s: Verify %v, VerifySum %v", c.name, want, got)
		}
	}
	if err := VerifySum(id.Cert, payload, sha256.Sum256(flip(payload, 3)), ecSig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("ecdsa with another payload's sum: got %v", err)
	}
	if err := VerifySum(edCert, payload, [32]byte{}, edSig); err != nil {
		t.Errorf("ed25519 must not depend on the sum: got %v", err)
	}
}
