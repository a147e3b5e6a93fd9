package identity

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mustGenerate(t *testing.T, name string) *Identity {
	t.Helper()
	id, err := Generate(name, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// makeCert builds a self-signed certificate with arbitrary contents, for
// certificates Generate would never make.
func makeCert(t *testing.T, key any, pub any, mutate func(*x509.Certificate)) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: "Plain Space"},
		NotBefore:    testNow.Add(-time.Hour),
		NotAfter:     testNow.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if mutate != nil {
		mutate(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func recipientExt(t *testing.T, s string) []pkix.Extension {
	t.Helper()
	v, err := asn1.MarshalWithParams(s, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	return []pkix.Extension{{Id: ageRecipientOID(), Value: v}}
}

func wantErr(t *testing.T, err error, substr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", substr)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %q does not contain %q", err, substr)
	}
}

func TestGenerateCertificateContents(t *testing.T) {
	id := mustGenerate(t, "DevTest Space")
	c := id.Cert
	if c.Subject.CommonName != "DevTest Space" || len(c.Subject.Organization) != 1 || c.Subject.Organization[0] != Organization {
		t.Errorf("subject = %v", c.Subject)
	}
	if !c.NotBefore.Equal(testNow.Add(-time.Hour)) || !c.NotAfter.Equal(testNow.AddDate(10, 0, 0)) {
		t.Errorf("validity = %v .. %v", c.NotBefore, c.NotAfter)
	}
	if c.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign || !c.IsCA || !c.BasicConstraintsValid {
		t.Errorf("key usage %v, CA %v", c.KeyUsage, c.IsCA)
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 || c.SerialNumber.BitLen() < 64 {
		t.Errorf("serial %v is not a random positive 128-bit number", c.SerialNumber)
	}
	if c.Version != 3 {
		t.Errorf("version %d", c.Version)
	}
	var found bool
	for _, e := range c.Extensions {
		if e.Id.String() == AgeRecipientOID {
			found = true
			if e.Critical {
				t.Error("age extension is critical")
			}
		}
	}
	if !found {
		t.Error("age extension missing")
	}
	other := mustGenerate(t, "DevTest Space")
	if other.Cert.SerialNumber.Cmp(c.SerialNumber) == 0 {
		t.Error("two certificates share a serial")
	}
}

func TestGenerateRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", "  ", " x", "x ", "a\nb", strings.Repeat("n", 65), "\xff"} {
		if _, err := Generate(name, testNow); err == nil {
			t.Errorf("Generate(%q) succeeded", name)
		}
	}
}

func TestParseCertificateRoundTrip(t *testing.T) {
	id := mustGenerate(t, "Prod Space")
	c, err := ParseCertificate(id.CertPEM, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if c.SpaceName != "Prod Space" {
		t.Errorf("name %q", c.SpaceName)
	}
	if c.AgeRecipient.String() != id.Age.Recipient().String() {
		t.Errorf("recipient %s, want %s", c.AgeRecipient, id.Age.Recipient())
	}
	if c.Fingerprint != Fingerprint(id.Cert.Raw) || !bytes.Equal(c.PEM, id.CertPEM) {
		t.Error("fingerprint or PEM differ")
	}
	if !c.X509.Equal(id.Cert) {
		t.Error("certificate differs")
	}
	// Surrounding whitespace and CRLF line endings are harmless.
	crlf := bytes.ReplaceAll(id.CertPEM, []byte("\n"), []byte("\r\n"))
	for _, in := range [][]byte{append([]byte("\n\n"), id.CertPEM...), append(bytes.Clone(id.CertPEM), "\n\n"...), crlf} {
		if _, err := ParseCertificate(in, testNow); err != nil {
			t.Errorf("%q: %v", in[:10], err)
		}
	}
	// Valid at both ends of its window.
	for _, now := range []time.Time{id.Cert.NotBefore, id.Cert.NotAfter} {
		if _, err := ParseCertificate(id.CertPEM, now); err != nil {
			t.Errorf("at %v: %v", now, err)
		}
	}
}

func TestParseCertificateDates(t *testing.T) {
	id := mustGenerate(t, "Prod Space")
	_, err := ParseCertificate(id.CertPEM, testNow.AddDate(11, 0, 0))
	wantErr(t, err, "expired on 2036-03-01 12:00:00 UTC")
	_, err = ParseCertificate(id.CertPEM, testNow.Add(-2*time.Hour))
	wantErr(t, err, "not valid until 2026-03-01 11:00:00 UTC")
}

func TestParseCertificateRejectsJunk(t *testing.T) {
	id := mustGenerate(t, "Prod Space")
	other := mustGenerate(t, "Other")
	priv, _ := id.MarshalPrivate()
	block, _ := pem.Decode(id.CertPEM)

	flipped := bytes.Clone(block.Bytes)
	flipped[len(flipped)/2] ^= 0x01 // inside the TBS or signature
	sigFlipped := bytes.Clone(block.Bytes)
	sigFlipped[len(sigFlipped)-3] ^= 0x01

	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "expected -----BEGIN CERTIFICATE-----"},
		{"text", []byte("hello world"), "the file is not a PEM certificate: expected -----BEGIN CERTIFICATE-----"},
		{"der", block.Bytes, "binary DER"},
		{"leading text", append([]byte("subject=CN=x\n"), id.CertPEM...), "not a PEM certificate"},
		{"private key", priv, "PRIVATE KEY, not a certificate"},
		{"public key", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}}), "found -----BEGIN PUBLIC KEY-----"},
		{"two certs", append(bytes.Clone(id.CertPEM), other.CertPEM...), "more than one PEM block"},
		{"trailing junk", append(bytes.Clone(id.CertPEM), "junk"...), "unexpected data after"},
		{"broken base64", []byte("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"), "PEM block is malformed"},
		{"not DER", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("nope")}), "cannot be parsed"},
		{"headers", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: block.Bytes}), "headers"},
		{"tampered", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: flipped}), ""},
		{"tampered signature", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sigFlipped}), "self-signature does not verify"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCertificate(tc.in, testNow)
			wantErr(t, err, tc.want)
		})
	}
}

func TestParseCertificateRejectsForeignCerts(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rcpt := mustGenerate(t, "x").Age.Recipient().String()

	t.Run("no extension", func(t *testing.T) {
		// What `openssl req -x509 -newkey ec ...` produces: a valid
		// self-signed certificate with no ferry extension.
		_, err := ParseCertificate(makeCert(t, p256, &p256.PublicKey, nil), testNow)
		wantErr(t, err, "not a ferry space certificate")
		wantErr(t, err, "ferry space cert")
	})
	t.Run("ed25519 accepted", func(t *testing.T) {
		c, err := ParseCertificate(makeCert(t, edPriv, edPub, func(c *x509.Certificate) { c.ExtraExtensions = recipientExt(t, rcpt) }), testNow)
		if err != nil {
			t.Fatal(err)
		}
		if c.AgeRecipient.String() != rcpt || c.SpaceName != "Plain Space" {
			t.Fatalf("got %v %q", c.AgeRecipient, c.SpaceName)
		}
	})
	t.Run("critical own extension accepted", func(t *testing.T) {
		_, err := ParseCertificate(makeCert(t, p256, &p256.PublicKey, func(c *x509.Certificate) {
			c.ExtraExtensions = recipientExt(t, rcpt)
			c.ExtraExtensions[0].Critical = true
		}), testNow)
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("p384", func(t *testing.T) {
		_, err := ParseCertificate(makeCert(t, p384, &p384.PublicKey, func(c *x509.Certificate) { c.ExtraExtensions = recipientExt(t, rcpt) }), testNow)
		wantErr(t, err, "ECDSA P-384; ferry accepts ECDSA P-256 or Ed25519")
	})
	t.Run("rsa", func(t *testing.T) {
		_, err := ParseCertificate(makeCert(t, rsaKey, &rsaKey.PublicKey, func(c *x509.Certificate) { c.ExtraExtensions = recipientExt(t, rcpt) }), testNow)
		wantErr(t, err, "RSA; ferry accepts ECDSA P-256 or Ed25519")
	})
	t.Run("not self-signed", func(t *testing.T) {
		issuer := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Some CA"}, NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
		leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Leaf"}, NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour), ExtraExtensions: recipientExt(t, rcpt)}
		der, err := x509.CreateCertificate(rand.Reader, leaf, issuer, &p256.PublicKey, p384)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ParseCertificate(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), testNow)
		wantErr(t, err, "not self-signed")
	})
	t.Run("signed by another key", func(t *testing.T) {
		// Same subject and issuer, but the signature is by a key other than
		// the one in the certificate.
		_, err := ParseCertificate(makeCert(t, p384, &p256.PublicKey, func(c *x509.Certificate) { c.ExtraExtensions = recipientExt(t, rcpt) }), testNow)
		wantErr(t, err, "self-signature does not verify")
	})
	t.Run("unknown critical extension", func(t *testing.T) {
		_, err := ParseCertificate(makeCert(t, p256, &p256.PublicKey, func(c *x509.Certificate) {
			c.ExtraExtensions = append(recipientExt(t, rcpt), pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Critical: true, Value: []byte{5, 0}})
		}), testNow)
		wantErr(t, err, "critical extensions ferry does not understand: 1.2.3.4")
	})
	malformed := map[string][]byte{
		"not a recipient": mustMarshal(t, "age1notarecipient", "utf8"),
		"secret key":      mustMarshal(t, mustGenerate(t, "y").Age.String(), "utf8"),
		"printable":       mustMarshal(t, rcpt, "printable"),
		"integer":         mustMarshal(t, 7, ""),
		"trailing":        append(mustMarshal(t, rcpt, "utf8"), 0),
		"garbage":         {0xff, 0x01},
		"too long":        mustMarshal(t, strings.Repeat("a", 500), "utf8"),
	}
	for name, v := range malformed {
		t.Run("recipient "+name, func(t *testing.T) {
			_, err := ParseCertificate(makeCert(t, p256, &p256.PublicKey, func(c *x509.Certificate) {
				c.ExtraExtensions = []pkix.Extension{{Id: ageRecipientOID(), Value: v}}
			}), testNow)
			wantErr(t, err, "age recipient extension is malformed")
		})
	}
	t.Run("no common name", func(t *testing.T) {
		_, err := ParseCertificate(makeCert(t, p256, &p256.PublicKey, func(c *x509.Certificate) {
			c.Subject = pkix.Name{Organization: []string{"x"}}
			c.ExtraExtensions = recipientExt(t, rcpt)
		}), testNow)
		wantErr(t, err, "common name")
	})
}

func mustMarshal(t *testing.T, v any, params string) []byte {
	t.Helper()
	b, err := asn1.MarshalWithParams(v, params)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPrivateRoundTrip(t *testing.T) {
	id := mustGenerate(t, "Prod Space")
	priv, err := id.MarshalPrivate()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(priv, []byte("-----BEGIN PRIVATE KEY-----")) || !bytes.Contains(priv, []byte("-----BEGIN AGE SECRET KEY-----")) {
		t.Fatalf("unexpected private PEM:\n%s", priv)
	}
	got, err := ParsePrivate(id.CertPEM, priv)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Signer.Equal(id.Signer) || got.Age.String() != id.Age.String() || !got.Cert.Equal(id.Cert) || !bytes.Equal(got.CertPEM, id.CertPEM) {
		t.Fatal("round trip changed the identity")
	}
	// An expired identity still loads: the server must be able to replace it.
	if _, err := ParsePrivate(mustGenerateAt(t, testNow.AddDate(-20, 0, 0)).pair()); err != nil {
		t.Fatal(err)
	}
}

type pair struct{ cert, priv []byte }

func (p pair) pair() ([]byte, []byte) { return p.cert, p.priv }

func mustGenerateAt(t *testing.T, now time.Time) pair {
	t.Helper()
	id, err := Generate("Old", now)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := id.MarshalPrivate()
	if err != nil {
		t.Fatal(err)
	}
	return pair{id.CertPEM, priv}
}

func TestParsePrivateRefusesMismatch(t *testing.T) {
	a := mustGenerate(t, "A")
	b := mustGenerate(t, "B")
	aPriv, _ := a.MarshalPrivate()
	aBlocks := splitPEM(t, aPriv)
	bBlocks := splitPEM(t, mustMarshalPrivate(t, b))

	_, err := ParsePrivate(b.CertPEM, aPriv)
	wantErr(t, err, "signing key does not match")

	// A's signing key with B's age key: only the age key is wrong.
	_, err = ParsePrivate(a.CertPEM, join(aBlocks[0], bBlocks[1]))
	wantErr(t, err, "age key does not match")

	for name, in := range map[string][]byte{
		"only signer":   join(aBlocks[0]),
		"only age":      join(aBlocks[1]),
		"duplicate":     join(aBlocks[0], aBlocks[0], aBlocks[1]),
		"extra block":   join(aBlocks[0], aBlocks[1], &pem.Block{Type: "CERTIFICATE", Bytes: a.Cert.Raw}),
		"trailing junk": append(bytes.Clone(aPriv), "junk"...),
		"bad age key":   join(aBlocks[0], &pem.Block{Type: "AGE SECRET KEY", Bytes: []byte("AGE-SECRET-KEY-1XYZ")}),
		"bad pkcs8":     join(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}, aBlocks[1]),
		"empty":         nil,
	} {
		if _, err := ParsePrivate(a.CertPEM, in); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "1XYZ") || strings.Contains(err.Error(), a.Age.String()) {
			t.Errorf("%s: error leaks key material: %v", name, err)
		}
	}
	if _, err := ParsePrivate([]byte("junk"), aPriv); err == nil {
		t.Error("junk certificate accepted")
	}
}

func mustMarshalPrivate(t *testing.T, id *Identity) []byte {
	t.Helper()
	b, err := id.MarshalPrivate()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func splitPEM(t *testing.T, data []byte) []*pem.Block {
	t.Helper()
	var blocks []*pem.Block
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return blocks
		}
		blocks = append(blocks, b)
	}
}

func join(blocks ...*pem.Block) []byte {
	var out []byte
	for _, b := range blocks {
		out = append(out, pem.EncodeToMemory(b)...)
	}
	return out
}

func TestFingerprintFormat(t *testing.T) {
	// SHA-256 of the empty string, in openssl's layout.
	want := "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55"
	if got := Fingerprint(nil); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// TestOpenSSLAgrees checks the claims users rely on: openssl reads the
// certificate, prints the same fingerprint, and shows the age recipient.
func TestOpenSSLAgrees(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not on PATH")
	}
	id, err := Generate("Prod Space", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "space.pem")
	if err := os.WriteFile(path, id.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("openssl", "x509", "-in", path, "-noout", "-fingerprint", "-sha256").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	line := strings.TrimSpace(string(out))
	_, got, ok := strings.Cut(line, "=")
	if !ok || got != Fingerprint(id.Cert.Raw) {
		t.Fatalf("openssl printed %q, Fingerprint = %s", line, Fingerprint(id.Cert.Raw))
	}
	text, err := exec.Command("openssl", "x509", "-in", path, "-noout", "-text").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, text)
	}
	for _, want := range []string{"CN=Prod Space", AgeRecipientOID, id.Age.Recipient().String(), "CA:TRUE"} {
		if !strings.Contains(strings.ReplaceAll(string(text), " = ", "="), want) {
			t.Errorf("openssl -text output lacks %q:\n%s", want, text)
		}
	}
	// A certificate made by openssl itself has no ferry extension.
	keyPath := filepath.Join(t.TempDir(), "k.pem")
	plain := filepath.Join(t.TempDir(), "plain.pem")
	if out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
		"-nodes", "-keyout", keyPath, "-out", plain, "-subj", "/CN=Plain", "-days", "1").CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(plain)
	_, err = ParseCertificate(data, time.Now())
	wantErr(t, err, "not a ferry space certificate")
}

// Make sure age's own parser round-trips the recipient text stored in
// certificates (the extension holds exactly what `age -r` accepts).
func TestRecipientIsAgeSyntax(t *testing.T) {
	id := mustGenerate(t, "x")
	c, err := ParseCertificate(id.CertPEM, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := age.ParseX25519Recipient(c.AgeRecipient.String()); err != nil {
		t.Fatal(err)
	}
}

// TestParseCertificateBoundsItsSize: a certificate far larger than a space
// certificate is refused before crypto/x509 reads it. A bundle's signer is
// one (bundle inspect, open to any viewer), and x509 reads every subject
// alternative name: 200,000 one-letter URIs (800 kB) took ~40 MB.
func TestParseCertificateBoundsItsSize(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	uris := make([]*url.URL, 200_000)
	for i := range uris {
		uris[i] = &url.URL{Scheme: "a"}
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Big"}, NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour), URIs: uris}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	uris, tmpl = nil, nil
	text := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = ParseCertificate(text, testNow)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "may be at most") {
		t.Errorf("a certificate of %d kB: %v, want refused for its size", len(text)>>10, err)
	}
	if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > 4 {
		t.Errorf("refusing a certificate of %d kB allocated %d MB", len(text)>>10, mb)
	}
}
