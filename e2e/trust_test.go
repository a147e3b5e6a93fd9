package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
	"github.com/ferrydeploy/ferry/internal/identity"
)

// TestTrust sets up trust between two servers the way people do across an
// air gap: certificate files carried over, fingerprints compared.
func TestTrust(t *testing.T) {
	bin := ferrytest.Build(t)
	a := bin.StartServer(t)
	b := bin.StartServer(t)
	a.Must("space", "create", "DevTest Space")
	b.Must("space", "create", "Prod Space")
	dir := t.TempDir()
	devPEM, prodPEM := filepath.Join(dir, "devtest.pem"), filepath.Join(dir, "prod.pem")

	out := a.Must("space", "cert", "DevTest Space", "--out", devPEM).Stdout
	devFP := fingerprintFromOutput(t, out)
	b.Must("space", "cert", "Prod Space", "--out", prodPEM)

	// The fingerprint ferry prints is the one openssl computes.
	if _, err := exec.LookPath("openssl"); err == nil {
		o, err := exec.Command("openssl", "x509", "-in", devPEM, "-noout", "-fingerprint", "-sha256").Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(o)), "sha256 Fingerprint=")); got != devFP {
			t.Errorf("openssl fingerprint %s, ferry printed %s", got, devFP)
		}
	}
	contains(t, a.Must("space", "list").Stdout, devFP)

	// Each side adds the other, with its own trust directions.
	a.Must("remote-space", "add", "Prod Space", "--cert", prodPEM, "--trust", "promote,receipts", "--space", "DevTest Space")
	r := b.Must("remote-space", "add", "DevTest Space", "--cert", devPEM, "--trust", "releases", "--space", "Prod Space")
	contains(t, r.Stdout, devFP, "trust: releases")
	contains(t, a.Must("remote-space", "list", "--space", "DevTest Space").Stdout, "Prod Space", "receipts,promote", "active")

	// Adding the same certificate again changes nothing.
	contains(t, b.Must("remote-space", "add", "DevTest Space", "--cert", devPEM, "--space", "Prod Space").Stdout, "nothing changed")

	// Remote environments: accepted for a known remote space, refused otherwise.
	remoteYAML := `environments: [{name: Development}, {name: Test}]
remoteEnvironments: ["Prod Space: Production"]
lifecycles:
  - name: Main
    phases:
      - {name: Dev, environments: [Development]}
      - {name: Test, environments: [Test]}
      - {name: Prod, environments: ["Prod Space: Production"]}
`
	a.Must("apply", "--space", "DevTest Space", "-f", ferrytest.WriteFile(t, "remote.yaml", remoteYAML))
	contains(t, a.Must("env", "list", "--space", "DevTest Space").Stdout, "Prod Space: Production", "remote (space Prod Space)")
	r = a.Fail("apply", "--space", "DevTest Space", "-f", ferrytest.WriteFile(t, "unknown.yaml", `remoteEnvironments: ["Mars Space: Production"]`))
	contains(t, r.Stderr, `"Mars Space" is not a remote space`, "remote-space add")
	// A phase may name a whole remote space.
	a.Must("apply", "--space", "DevTest Space", "-f", ferrytest.WriteFile(t, "whole.yaml", `lifecycles:
  - name: Whole
    phases:
      - {name: Dev, environments: [Development]}
      - {name: Prod, environments: ["Prod Space"]}
`))

	// Bad certificates and clashes, each refused with a way forward.
	junk := ferrytest.WriteFile(t, "junk.pem", "this is not a certificate\n")
	contains(t, b.Fail("remote-space", "add", "Junk", "--cert", junk, "--space", "Prod Space").Stderr, "not a PEM certificate")
	expired := writeExpiredCert(t, "Old Space")
	contains(t, b.Fail("remote-space", "add", "Old Space", "--cert", expired, "--space", "Prod Space").Stderr, "expired")
	contains(t, b.Fail("remote-space", "add", "DevTest Space", "--cert", expired, "--space", "Prod Space").Stderr, "expired")
	other := filepath.Join(dir, "other.pem")
	a.Must("space", "cert", "Default", "--out", other)
	r = b.Fail("remote-space", "add", "DevTest Space", "--cert", other, "--space", "Prod Space")
	contains(t, r.Stderr, "already known with fingerprint", "remote-space update")
	contains(t, b.Fail("remote-space", "add", "Myself", "--cert", prodPEM, "--space", "Prod Space").Stderr, "itself")
	contains(t, b.Fail("remote-space", "add", "Far", "--cert", other, "--url", "http://10.1.2.3:8080", "--space", "Prod Space").Stderr, "https")
	contains(t, b.Fail("remote-space", "add", "Bad Trust", "--cert", other, "--trust", "everything", "--space", "Prod Space").Stderr, "unknown trust direction")

	// Rotation is explicit and audited with both fingerprints.
	b.Must("remote-space", "add", "Default Space A", "--cert", other, "--space", "Prod Space")
	b.Must("remote-space", "update", "Default Space A", "--trust", "receipts", "--space", "Prod Space")

	// Revoke: listed as revoked, audited with the fingerprint.
	contains(t, b.Must("remote-space", "revoke", "DevTest Space", "--space", "Prod Space").Stdout, "Revoked")
	contains(t, b.Must("remote-space", "list", "--space", "Prod Space").Stdout, "REVOKED")
	audit := b.Must("audit", "list", "--space", "Prod Space").Stdout
	contains(t, audit, "remote-space.add", "remote-space.revoke", "remote-space.update", devFP, "receipts", "admin")
	contains(t, b.Fail("remote-space", "update", "DevTest Space", "--trust", "releases", "--space", "Prod Space").Stderr, "revoked")
}

func fingerprintFromOutput(t *testing.T, out string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if fp, ok := strings.CutPrefix(line, "SHA-256 fingerprint: "); ok {
			return strings.TrimSpace(fp)
		}
	}
	t.Fatalf("no fingerprint in:\n%s", out)
	return ""
}

// writeExpiredCert makes a genuine ferry space certificate whose validity
// ended years ago.
func writeExpiredCert(t *testing.T, name string) string {
	t.Helper()
	id, err := identity.Generate(name, time.Now().AddDate(-11, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "expired.pem")
	if err := os.WriteFile(p, id.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
