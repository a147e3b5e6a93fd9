package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/envelope"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/receipt"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/signing"
)

// The helpers here build documents as a hostile space would: well formed,
// correctly signed with a real space's key (read from its server's data
// folder), but saying what that space has no right to say.

func fingerprintOf(id *identity.Identity) string { return identity.Fingerprint(id.Cert.Raw) }

func sign(t *testing.T, id *identity.Identity) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) { return signing.Sign(id.Signer, b) }
}

// signReceipt signs one receipt as id.
func signReceipt(t *testing.T, id *identity.Identity, pl receipt.Payload) receipt.Signed {
	t.Helper()
	if pl.Kind == "" {
		pl.Kind, pl.SchemaVersion = receipt.ReceiptKind, receipt.SchemaVersion
	}
	if pl.State == "" {
		pl.State = domain.TaskSuccess
	}
	if pl.DeployedBy == "" {
		pl.DeployedBy = "mallory"
	}
	if pl.Machines == nil && pl.SchemaVersion >= 3 {
		pl.Machines = new(int) // schema 3 says how many targets ran it
	}
	body, err := json.Marshal(pl)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signing.Sign(id.Signer, body)
	if err != nil {
		t.Fatal(err)
	}
	return receipt.Signed{Payload: body, Signature: sig, Signer: string(id.CertPEM)}
}

// receiptFile writes a receipt file exported by id (called exporter) for
// dest, holding receipts, and returns its path.
func receiptFile(t *testing.T, id *identity.Identity, exporter string, dest domain.Space, receipts ...receipt.Signed) string {
	t.Helper()
	fb := receipt.FileBody{Kind: receipt.FileKind, SchemaVersion: receipt.SchemaVersion, CreatedAt: time.Now().UTC(),
		Exporter:    receipt.SpaceRef{Space: exporter, Fingerprint: fingerprintOf(id)},
		Destination: receipt.SpaceRef{Space: dest.Name, Fingerprint: dest.Fingerprint},
		Receipts:    receipts}
	raw, err := json.Marshal(fb)
	if err != nil {
		t.Fatal(err)
	}
	data, err := envelope.Seal(receipt.FileFormat, receipt.SchemaVersion, raw, id.CertPEM, sign(t, id))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "receipts.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// bundlePayload reads the payload of a bundle file.
func bundlePayload(t *testing.T, file string) bundle.Payload {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := bundle.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return p.Payload
}

// bundleFile signs payload bytes as id and writes the bundle file.
func bundleFile(t *testing.T, id *identity.Identity, schemaVersion int, body []byte) string {
	t.Helper()
	data, err := envelope.Seal(bundle.Format, schemaVersion, body, id.CertPEM, sign(t, id))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "forged.bundle")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// forgeBundle signs pl as id.
func forgeBundle(t *testing.T, id *identity.Identity, pl bundle.Payload) string {
	t.Helper()
	body, err := json.Marshal(pl)
	if err != nil {
		t.Fatal(err)
	}
	return bundleFile(t, id, pl.SchemaVersion, body)
}

// digestOf is a release's snapshot digest, as `release show` gives it.
func digestOf(t *testing.T, run func(...string) string, project, version string) string {
	t.Helper()
	var r struct {
		SnapshotDigest string `json:"snapshotDigest"`
	}
	decodeJSON(t, run("release", "show", project, version, "-o", "json"), &r)
	return r.SnapshotDigest
}

// retargeted returns pl with its target snapshot digest recomputed for the
// snapshot it carries, as a source computes it: a forger signs a
// consistent bundle.
func retargeted(pl bundle.Payload) bundle.Payload {
	snap, _ := pl.Snapshot(nil)
	pl.TargetSnapshotDigest = release.Digest(snap)
	return pl
}
