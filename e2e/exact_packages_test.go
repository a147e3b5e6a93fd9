package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/envelope"
	"github.com/ferrydeploy/ferry/internal/ferrytest"
	"github.com/ferrydeploy/ferry/internal/identity"
)

// resign replaces the payload of a signed file with edit(payload), signed
// again by id, as a space that signs whatever it likes would.
func resign(t *testing.T, data []byte, id *identity.Identity, edit func(string) string) []byte {
	t.Helper()
	var env envelope.Envelope
	decodeJSON(t, string(data), &env)
	o, err := envelope.Open(data, env.Format, env.SchemaVersion, 1<<30, "file")
	if err != nil {
		t.Fatal(err)
	}
	body := edit(string(o.Body))
	if body == string(o.Body) {
		t.Fatalf("the edit changed nothing in %s", o.Body)
	}
	out, err := envelope.Seal(env.Format, env.SchemaVersion, []byte(body), id.CertPEM, sign(t, id))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPackageDocumentsDecodedExactly is issue 14 item 5 for the signed
// files of package transfer: an inventory and a transfer file's header,
// correctly signed, with a name twice, a name differing only in case, or a
// name ferry does not know, are refused naming the rule.
func TestPackageDocumentsDecodedExactly(t *testing.T) {
	p := newPair(t)
	dir := t.TempDir()
	dev := func(args ...string) []string { return append([]string{"--space", "DevTest Space"}, args...) }
	prod := func(args ...string) []string { return append([]string{"--space", "Prod Space"}, args...) }
	devKey, prodKey := p.dev.SpaceIdentity(t, "DevTest Space"), p.prod.SpaceIdentity(t, "Prod Space")
	edits := map[string]func(string) string{
		"a name twice":         func(s string) string { return strings.Replace(s, `"kind":`, `"kind":"x","kind":`, 1) },
		"a name in other case": func(s string) string { return strings.Replace(s, `"kind":`, `"Kind":"x","kind":`, 1) },
		"an unknown name":      func(s string) string { return strings.Replace(s, `"kind":`, `"extra":1,"kind":`, 1) },
	}

	// A release that deploys a package, promoted to Prod.
	zipFile := filepath.Join(dir, "web.zip")
	writeZip(t, zipFile, appFiles(1, 3))
	p.dev.Must(dev("package", "push", zipFile, "--id", "web", "--version", "1.0.0")...)
	p.dev.Must(dev("apply", "-f", ferrytest.WriteFile(t, "pkg.yaml", `remoteEnvironments: ["Prod Space: Production"]
lifecycles: [{name: Direct, phases: [{name: Prod, environments: ["Prod Space: Production"]}]}]
projects:
  - name: Web
    lifecycle: Direct
    process: [{name: Install, type: deploy-package, package: web, destination: /srv/web}]
`))...)
	p.dev.Must(dev("release", "create", "Web", "--version", "1.0.0", "--package", "web:1.0.0")...)
	p.dev.Must(dev("promote", "Web", "1.0.0", "--to", "Prod Space", "--out", filepath.Join(dir, "web.bundle"))...)

	inv := filepath.Join(dir, "inventory.json")
	p.prod.Must(prod("package", "inventory", "--out", inv)...)
	data, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range edits {
		forged := filepath.Join(dir, "forged-inventory.json")
		os.WriteFile(forged, resign(t, data, prodKey, edit), 0o600)
		r := p.dev.Fail(dev("package", "export", "--to", "Prod Space", "--inventory", forged, "--out", filepath.Join(dir, "x.ferry"))...)
		contains(t, r.Stderr, "refused [exact-encoding]")
		if t.Failed() {
			t.Fatalf("inventory with %s: %s", name, r.Stderr)
		}
	}

	file := filepath.Join(dir, "packages.ferry")
	p.dev.Must(dev("package", "export", "--to", "Prod Space", "--out", file)...)
	data, err = os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range edits {
		forged := filepath.Join(dir, "forged.ferry")
		os.WriteFile(forged, retar(t, data, func(h *tar.Header, b []byte) []byte {
			if h.Name != "ferry-transfer.json" {
				return b
			}
			return resign(t, b, devKey, edit)
		}), 0o600)
		r := p.prod.Fail(prod("package", "import", forged)...)
		contains(t, r.Stderr, "refused [exact-encoding]")
		if t.Failed() {
			t.Fatalf("transfer file with %s: %s", name, r.Stderr)
		}
	}

	// The header's envelope written otherwise than ferry writes it, its
	// payload and signature unchanged: a server reading the header as it
	// arrives refuses it as one reading it whole did (issue 24).
	var env envelope.Envelope
	retar(t, data, func(h *tar.Header, b []byte) []byte {
		if h.Name == "ferry-transfer.json" {
			decodeJSON(t, string(b), &env)
		}
		return b
	})
	body, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil || len(body) < 10 {
		t.Fatalf("the header's payload: %v", err)
	}
	split := len(body) - len(body)%3 - 2 // its base64 ends in "=="
	for name, c := range map[string]struct {
		edit func([]byte) []byte
		rule string
	}{
		"a wrapped payload": {func(b []byte) []byte {
			return bytes.Replace(b, []byte(env.Payload[:8]), []byte(env.Payload[:4]+`\n`+env.Payload[4:8]), 1)
		}, "exact-encoding"},
		"a space before the payload": {func(b []byte) []byte { return bytes.Replace(b, []byte(`"payload": "`), []byte(`"payload":  "`), 1) }, "exact-encoding"},
		"a payload in two padded pieces": {func(b []byte) []byte {
			return bytes.Replace(b, []byte(env.Payload), []byte(base64.StdEncoding.EncodeToString(body[:split])+base64.StdEncoding.EncodeToString(body[split:])), 1)
		}, "payload-digest"},
		"an escaped payload": {func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"payload": "`+env.Payload[:1]), []byte(`"payload": "\u00`+fmt.Sprintf("%x", env.Payload[0])), 1)
		}, "exact-encoding"},
	} {
		forged := filepath.Join(dir, "forged.ferry")
		os.WriteFile(forged, retar(t, data, func(h *tar.Header, b []byte) []byte {
			if h.Name != "ferry-transfer.json" {
				return b
			}
			return c.edit(b)
		}), 0o600)
		r := p.prod.Fail(prod("package", "import", forged)...)
		contains(t, r.Stderr, "refused ["+c.rule+"]")
		if t.Failed() {
			t.Fatalf("transfer file with %s: %s", name, r.Stderr)
		}
	}
	contains(t, p.prod.Must(prod("package", "list", "-o", "json")...).Stdout, "[]")
}

// retar rewrites a tar stream, each entry's contents through edit.
func retar(t *testing.T, data []byte, edit func(*tar.Header, []byte) []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	tr, tw := tar.NewReader(bytes.NewReader(data)), tar.NewWriter(&out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		b = edit(h, b)
		h.Size = int64(len(b))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(b)
	}
	tw.Close()
	return out.Bytes()
}
