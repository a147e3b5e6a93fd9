package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestBundleRefusals is SPEC §2 step 9: a bundle that is tampered with,
// truncated, for another space, signed by an untrusted or revoked space, of
// an unsupported schema version, or whose digest does not match, is refused
// with a clear message — and nothing is imported.
func TestBundleRefusals(t *testing.T) {
	p := newPair(t)
	p.release(t)
	file := p.promote(t)
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	prod := func(args ...string) []string { return append([]string{"--space", "Prod Space"}, args...) }
	p.prod.Must(prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
lifecycles: [{name: Production, phases: [{name: Live, environments: [Production]}]}]
`))...)
	dir := t.TempDir()
	n := 0
	refused := func(data []byte, wants ...string) {
		t.Helper()
		n++
		path := filepath.Join(dir, "bad"+strings.Repeat("x", n)+".bundle")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		r := p.prod.Fail(prod("bundle", "import", path)...)
		contains(t, r.Stderr, wants...)
		p.prod.Fail(prod("bundle", "verify", path)...)
	}

	// Flipped bytes: in the payload, the signature, the digest, the envelope.
	var env map[string]any
	if err := json.Unmarshal(good, &env); err != nil {
		t.Fatal(err)
	}
	payloadAt := strings.Index(string(good), `"payload": "`) + len(`"payload": "`)
	for _, at := range []int{payloadAt + 10, payloadAt + 400, len(good) / 2} {
		bad := append([]byte(nil), good...)
		bad[at] ^= 0x01
		refused(bad, "refused")
	}
	sigAt := strings.Index(string(good), `"signature": "`) + len(`"signature": "`) + 20
	bad := append([]byte(nil), good...)
	if bad[sigAt] == 'A' {
		bad[sigAt] = 'B'
	} else {
		bad[sigAt] = 'A'
	}
	refused(bad, "signature", "altered")

	// Truncated anywhere.
	for _, size := range []int{0, 10, len(good) / 3, len(good) - 3} {
		refused(good[:size], "bundle")
	}

	// Digest that does not match the contents.
	refused(mutate(t, good, func(m map[string]any) { m["digest"] = "sha256:" + strings.Repeat("0", 64) }), "digest does not match")

	// Unsupported schema version: both versions named.
	refused(mutate(t, good, func(m map[string]any) { m["schemaVersion"] = 4 }), "schema version 4", "schema versions 2 to 3")

	// Not trusted for releases, then revoked.
	p.prod.Must(prod("remote-space", "update", "DevTest Space", "--trust", "receipts")...)
	refused(good, "not trusted for releases", "remote-space update")
	p.prod.Must(prod("remote-space", "update", "DevTest Space", "--trust", "releases")...)
	p.prod.Must(prod("remote-space", "revoke", "DevTest Space")...)
	refused(good, "revoked")

	// A space that does not know the signer at all.
	p.prod.Must("space", "create", "Stranger Space")
	r := p.prod.Fail("--space", "Stranger Space", "bundle", "import", file)
	contains(t, r.Stderr, "does not know", "remote-space add")

	// A bundle for another space: DevTest promotes to a second space on the
	// prod server, and Prod Space's trusted twin tries to import it.
	other := filepath.Join(dir, "other.pem")
	p.prod.Must("space", "create", "Other Space")
	p.prod.Must("--space", "Other Space", "remote-space", "add", "DevTest Space", "--cert", p.devPEM, "--trust", "releases")
	p.prod.Must("space", "cert", "Other Space", "--out", other)
	p.dev.Must("--space", "DevTest Space", "remote-space", "add", "Other Space", "--cert", other, "--trust", "promote")
	p.dev.Must("--space", "DevTest Space", "apply", "-f", ferrytest.WriteFile(t, "other.yaml", `remoteEnvironments: ["Other Space: Live"]
lifecycles:
  - name: Main
    phases:
      - {name: Dev, environments: [Development]}
      - {name: Test, environments: [Test]}
      - {name: Prod, environments: ["Prod Space: Production", "Other Space: Live"]}
`))
	forOther := filepath.Join(dir, "for-other.bundle")
	p.dev.Must("--space", "DevTest Space", "promote", "My Project", "1.0.0", "--to", "Other Space", "--out", forOther)
	p.prod.Must("space", "create", "Twin Space")
	p.prod.Must("--space", "Twin Space", "remote-space", "add", "DevTest Space", "--cert", p.devPEM, "--trust", "releases")
	r = p.prod.Fail("--space", "Twin Space", "bundle", "import", forOther)
	contains(t, r.Stderr, `this bundle is for space "Other Space"`)

	// Nothing was imported anywhere by any refused attempt.
	for _, space := range []string{"Prod Space", "Stranger Space", "Twin Space"} {
		if out := p.prod.Must("--space", space, "bundle", "list").Stdout; strings.Contains(out, "imported") {
			t.Errorf("space %s lists an imported bundle after refusals:\n%s", space, out)
		}
		if out := p.prod.Must("--space", space, "project", "list").Stdout; strings.Contains(out, "My Project") {
			t.Errorf("space %s has a project after refusals:\n%s", space, out)
		}
	}
	// The right space still imports its own bundle.
	p.prod.Must("--space", "Other Space", "apply", "-f", ferrytest.WriteFile(t, "live.yaml", `environments: [{name: Live}]
lifecycles: [{name: Live, phases: [{name: Live, environments: [Live]}]}]
`))
	contains(t, p.prod.Must("--space", "Other Space", "bundle", "import", forOther).Stdout, "Imported DevTest Space: My Project 1.0.0")
}

func mutate(t *testing.T, data []byte, fn func(map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
