package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

const devTestYAML = `environments:
  - name: Development
  - name: Test
remoteEnvironments:
  - "Prod Space: Production"
lifecycles:
  - name: Main
    phases:
      - {name: Dev, environments: [Development]}
      - {name: Test, environments: [Test]}
      - {name: Prod, environments: ["Prod Space: Production"]}
projects:
  - name: My Project
    lifecycle: Main
    templates:
      - name: ConnectionString
        label: Connection string
        type: text
        required: true
    variables:
      - {name: Greeting, value: hello}
      - {name: Greeting, value: hello-dev-only, environments: [Development]}
      - {name: ProdBanner, value: prod-banner, environments: ["Prod Space: Production"]}
      - {name: Token, value: tok-9Q7Z-secret, sensitive: true}
      - {name: DevSecret, value: dev-only-secret-77, sensitive: true, environments: [Development]}
    process:
      - name: Announce
        type: script
        script: |
          echo "#{Greeting} on #{Ferry.Environment.Name} db=#{ConnectionString} token=#{Token}"
      - name: Prod only
        type: script
        environments: ["Prod Space: Production"]
        script: |
          echo "prod-only-step #{ProdBanner}"
      - name: Dev only
        type: script
        environments: [Development]
        script: |
          echo "dev-only-step #{DevSecret}"
`

// pair is the walkthrough's two servers with trust set up between them.
type pair struct {
	dev, prod       *ferrytest.Server
	devPEM, prodPEM string
}

// newPair starts DevTest Space on one server and Prod Space on another and
// exchanges certificates (SPEC §2 steps 1–2).
func newPair(t *testing.T) *pair {
	bin := ferrytest.Build(t)
	return newPairOn(t, bin, bin)
}

// newPairOn is newPair with DevTest's and Prod's servers running the given
// binaries (one may be the previous release's).
func newPairOn(t *testing.T, devBin, prodBin ferrytest.Binary) *pair {
	p := &pair{dev: devBin.StartServer(t), prod: prodBin.StartServer(t)}
	p.dev.Must("space", "create", "DevTest Space")
	p.prod.Must("space", "create", "Prod Space")
	dir := t.TempDir()
	p.devPEM, p.prodPEM = filepath.Join(dir, "devtest.pem"), filepath.Join(dir, "prod.pem")
	p.dev.Must("space", "cert", "DevTest Space", "--out", p.devPEM)
	p.prod.Must("space", "cert", "Prod Space", "--out", p.prodPEM)
	p.dev.Must("--space", "DevTest Space", "remote-space", "add", "Prod Space", "--cert", p.prodPEM, "--trust", "promote,receipts")
	p.prod.Must("--space", "Prod Space", "remote-space", "add", "DevTest Space", "--cert", p.devPEM, "--trust", "releases")
	return p
}

// release creates release 1.0.0 in DevTest and takes it through Development
// and Test (steps 3–4), checking the lifecycle gate on promotion.
func (p *pair) release(t *testing.T) {
	d := func(args ...string) ferrytest.Result {
		return p.dev.Must(append([]string{"--space", "DevTest Space"}, args...)...)
	}
	d("apply", "-f", ferrytest.WriteFile(t, "devtest.yaml", devTestYAML))
	for _, env := range []string{"Development", "Test"} {
		d("var", "set", "My Project", "ConnectionString", "Server=dev-db", "--env", env)
	}
	d("release", "create", "My Project", "--version", "1.0.0", "--notes", "first")
	out := filepath.Join(t.TempDir(), "early.bundle")
	r := p.dev.Fail("--space", "DevTest Space", "promote", "My Project", "1.0.0", "--to", "Prod Space", "--out", out)
	contains(t, r.Stderr, "cannot be promoted", `phase "Dev"`)
	d("deploy", "My Project", "1.0.0", "--to", "Development", "--wait")
	r = p.dev.Fail("--space", "DevTest Space", "promote", "My Project", "1.0.0", "--to", "Prod Space", "--out", out)
	contains(t, r.Stderr, `phase "Test"`)
	d("deploy", "My Project", "1.0.0", "--to", "Test", "--wait")
}

// promote writes the bundle (step 5) and returns its path.
func (p *pair) promote(t *testing.T) string {
	out := filepath.Join(t.TempDir(), "my-project-1.0.0.bundle")
	r := p.dev.Must("--space", "DevTest Space", "promote", "My Project", "1.0.0", "--to", "Prod Space", "--out", out)
	contains(t, r.Stdout, "Wrote release bundle", "bundle import")
	return out
}

// TestWalkthrough is SPEC §2 steps 1–7 across two servers, through the binary.
func TestWalkthrough(t *testing.T) {
	p := newPair(t)
	p.release(t)
	file := p.promote(t)

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	whole := string(data) + decodedPayload(t, data)
	notContains(t, whole, "tok-9Q7Z-secret", "dev-only-secret-77", "hello-dev-only", "dev-only-step", "Server=dev-db")
	contains(t, whole, "prod-banner", "Prod only")

	prod := func(args ...string) []string { return append([]string{"--space", "Prod Space"}, args...) }
	p.prod.Must(prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
lifecycles: [{name: Production, phases: [{name: Live, environments: [Production]}]}]
`))...)

	// Step 6: preview, then import.
	r := p.prod.Must(prod("bundle", "inspect", file)...)
	contains(t, r.Stdout, "DevTest Space: My Project", "1.0.0", "encrypted to this space", "ConnectionString", "required", "Prod only", "verified  yes", "DevTest Space: Test")
	notContains(t, r.Out(), "tok-9Q7Z-secret")
	contains(t, p.prod.Must(prod("bundle", "verify", file)...).Stdout, "Verified")
	r = p.prod.Must(prod("bundle", "import", file)...)
	contains(t, r.Stdout, `Imported DevTest Space: My Project 1.0.0`, `lifecycle "Production"`, "Before deploying to Production, set: ConnectionString")
	contains(t, p.prod.Must(prod("bundle", "import", file)...).Stdout, "Already imported")
	contains(t, p.prod.Must(prod("bundle", "list")...).Stdout, "imported", "from DevTest Space")
	r = p.prod.Fail(prod("release", "create", "DevTest Space: My Project", "--version", "1.0.1")...)
	contains(t, r.Stderr, "remote project", "promote")

	// Step 7: refused until the template value is set, then deployed with
	// the frozen process, the remote-scoped step and variable, the secret.
	r = p.prod.Fail(prod("deploy", "DevTest Space: My Project", "1.0.0", "--to", "Production")...)
	contains(t, r.Stderr, "ConnectionString", "Production")
	p.prod.Must(prod("var", "set", "DevTest Space: My Project", "ConnectionString", "Server=prod-db", "--env", "Production")...)
	r = p.prod.Must(prod("deploy", "DevTest Space: My Project", "1.0.0", "--to", "Production", "--wait")...)
	contains(t, r.Stdout, "hello on Production db=Server=prod-db token=***", "prod-only-step prod-banner", "Success")
	notContains(t, r.Out(), "tok-9Q7Z-secret", "dev-only-step")

	// The imported release carries its origin's snapshot digest.
	var src, dst struct {
		SnapshotDigest string `json:"snapshotDigest"`
	}
	decodeJSON(t, p.dev.Must("--space", "DevTest Space", "release", "show", "My Project", "1.0.0", "-o", "json").Stdout, &src)
	decodeJSON(t, p.prod.Must(prod("release", "show", "DevTest Space: My Project", "1.0.0", "-o", "json")...).Stdout, &dst)
	if src.SnapshotDigest == "" || src.SnapshotDigest != dst.SnapshotDigest {
		t.Errorf("snapshot digest: source %q, imported %q", src.SnapshotDigest, dst.SnapshotDigest)
	}
	for _, args := range [][]string{
		prod("release", "show", "DevTest Space: My Project", "1.0.0", "-o", "json"),
		prod("var", "list", "DevTest Space: My Project", "-o", "json"),
		prod("task", "log", "1", "-o", "json"),
		prod("audit", "list", "-o", "json"),
	} {
		notContains(t, p.prod.Must(args...).Out(), "tok-9Q7Z-secret")
	}
	p.prod.Stop()
	assertNotInFiles(t, p.prod.Data, "tok-9Q7Z-secret")
}

// TestBundleDecryptsWithAge checks the documented promise: a person holding
// the space's key decrypts a bundle's secret with the standard age tool, and
// checks its signature with openssl alone.
func TestBundleStandardTools(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	p := newPair(t)
	p.release(t)
	file := p.promote(t)
	data, _ := os.ReadFile(file)
	var env struct{ Payload, Signature, Signer string }
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(content), 0o600)
		return path
	}
	payload, _ := base64.StdEncoding.DecodeString(env.Payload)
	sig, _ := base64.StdEncoding.DecodeString(env.Signature)
	payloadFile, sigFile := write("payload.json", string(payload)), write("bundle.sig", string(sig))
	pub, err := exec.Command("openssl", "x509", "-in", p.devPEM, "-noout", "-pubkey").Output()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("openssl", "dgst", "-sha256", "-verify", write("pub.pem", string(pub)), "-signature", sigFile, payloadFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verified OK") {
		t.Fatalf("openssl did not verify the signature: %v\n%s", err, out)
	}
	if _, err := exec.LookPath("age"); err != nil {
		t.Log("age not installed; skipping the decryption check")
		return
	}
	keyFile := filepath.Join(dir, "prod.agekey")
	p.prod.Must("space", "key", "Prod Space", "--out", keyFile)
	var pl struct {
		Variables []struct{ Name, Sealed string }
	}
	json.Unmarshal(payload, &pl)
	for _, v := range pl.Variables {
		if v.Name != "Token" {
			continue
		}
		cmd := exec.Command("age", "-d", "-i", keyFile)
		cmd.Stdin = strings.NewReader(v.Sealed)
		plain, err := cmd.Output()
		if err != nil || string(plain) != "tok-9Q7Z-secret" {
			t.Fatalf("age -d: %v %q", err, plain)
		}
		return
	}
	t.Fatal("no Token in the bundle")
}

func decodedPayload(t *testing.T, data []byte) string {
	t.Helper()
	var env struct{ Payload string }
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatalf("bundle is not JSON: %v", err)
	}
	b, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPromoteOutNamesTheSpaceThere: a remote space known here by another
// name than its own (its certificate's) gets the import hint with its own
// name, and that command works on its server.
func TestPromoteOutNamesTheSpaceThere(t *testing.T) {
	p := newPair(t)
	p.release(t)
	dir := t.TempDir()
	cert := filepath.Join(dir, "real.pem")
	p.prod.Must("space", "create", "Real Name Space")
	p.prod.Must("--space", "Real Name Space", "remote-space", "add", "DevTest Space", "--cert", p.devPEM, "--trust", "releases")
	p.prod.Must("space", "cert", "Real Name Space", "--out", cert)
	p.dev.Must("--space", "DevTest Space", "remote-space", "add", "Alias", "--cert", cert, "--trust", "promote")
	p.dev.Must("--space", "DevTest Space", "apply", "-f", ferrytest.WriteFile(t, "alias.yaml", `remoteEnvironments: ["Alias: Live"]
lifecycles:
  - name: Main
    phases:
      - {name: Dev, environments: [Development]}
      - {name: Test, environments: [Test]}
      - {name: Prod, environments: ["Prod Space: Production", "Alias: Live"]}
`))
	out := filepath.Join(dir, "alias.bundle")
	r := p.dev.Must("--space", "DevTest Space", "promote", "My Project", "1.0.0", "--to", "Alias", "--out", out)
	contains(t, r.Stdout, `ferry bundle import `+out+` --space "Real Name Space"`)
	// The space is found there (and the bundle is for it): what it lacks
	// is only a lifecycle.
	r = p.prod.Fail("bundle", "import", out, "--space", "Real Name Space")
	contains(t, r.Stderr, `space "Real Name Space" has no lifecycle`)
}
