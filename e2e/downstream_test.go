package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
	"github.com/ferrydeploy/ferry/internal/seal"
)

// path is three spaces a release travels through, DevTest on one server,
// Prod and DR on another, each with its certificates exchanged as the test
// needs, plus QA, a space DevTest knows that is not on the path.
type path struct {
	a, b          *ferrytest.Server
	pem           map[string]string
	dev, prod, dr func(args ...string) string
}

func newPath(t *testing.T) *path {
	bin := ferrytest.Build(t)
	p := &path{a: bin.StartServer(t), b: bin.StartServer(t), pem: map[string]string{}}
	dir := t.TempDir()
	for _, s := range []struct {
		srv   *ferrytest.Server
		space string
	}{{p.a, "DevTest Space"}, {p.a, "QA Space"}, {p.b, "Prod Space"}, {p.b, "DR Space"}} {
		s.srv.Must("space", "create", s.space)
		p.pem[s.space] = filepath.Join(dir, strings.ReplaceAll(s.space, " ", "")+".pem")
		s.srv.Must("space", "cert", s.space, "--out", p.pem[s.space])
	}
	in := func(s *ferrytest.Server, space string) func(...string) string {
		return func(args ...string) string { return s.Must(append([]string{"--space", space}, args...)...).Stdout }
	}
	p.dev, p.prod, p.dr = in(p.a, "DevTest Space"), in(p.b, "Prod Space"), in(p.b, "DR Space")
	return p
}

// TestSecretsOnlyWhereNeeded is issue 14 item 4: a bundle carries only what
// its target needs and what spaces the release goes on to from the target
// need — their secrets sealed to them, not to the target, and passed on
// unchanged — and nothing scoped only to a space that is neither.
func TestSecretsOnlyWhereNeeded(t *testing.T) {
	p := newPath(t)
	out := t.TempDir()
	p.dev("remote-space", "add", "Prod Space", "--cert", p.pem["Prod Space"], "--trust", "promote,receipts")
	p.dev("remote-space", "add", "DR Space", "--cert", p.pem["DR Space"]) // known, for sealing to it
	p.dev("remote-space", "add", "QA Space", "--cert", p.pem["QA Space"], "--trust", "promote")
	// Prod names DR its own way: names are local, fingerprints are not.
	p.prod("remote-space", "add", "DevTest Space", "--cert", p.pem["DevTest Space"], "--trust", "releases")
	p.prod("remote-space", "add", "Disaster Space", "--cert", p.pem["DR Space"], "--trust", "promote,receipts")
	p.dr("remote-space", "add", "Prod Space", "--cert", p.pem["Prod Space"], "--trust", "releases")

	p.dev("apply", "-f", ferrytest.WriteFile(t, "dev.yaml", `environments: [{name: Development}]
remoteEnvironments: ["Prod Space: Production", "DR Space: Recovery", "QA Space: Staging"]
lifecycles:
  - name: Main
    phases:
      - {name: Dev, environments: [Development]}
      - {name: Prod, environments: ["Prod Space: Production"]}
      - {name: DR, environments: ["DR Space: Recovery"]}
  - name: Side
    phases:
      - {name: QA, environments: ["QA Space: Staging"]}
projects:
  - name: Shop
    lifecycle: Main
    variables:
      - {name: Token, value: token-everywhere-1, sensitive: true}
      - {name: ProdSecret, value: prod-secret-2, sensitive: true, environments: ["Prod Space: Production"]}
      - {name: DRSecret, value: dr-secret-3, sensitive: true, environments: ["DR Space: Recovery"]}
      - {name: DRBanner, value: dr-banner-4, environments: ["DR Space: Recovery"]}
      - {name: QASecret, value: qa-secret-5, sensitive: true, environments: ["QA Space: Staging"]}
      - {name: QAPlain, value: qa-plain-6, environments: ["QA Space: Staging"]}
      - {name: Mixed, value: mixed-secret-7, sensitive: true, environments: ["QA Space: Staging", "Development"]}
    process:
      - name: Hash
        type: script
        script: |
          printf '%s' "#{Token}" | sha256sum > `+out+`/token-#{Ferry.Environment.Name}
      - {name: Prod only, type: script, environments: ["Prod Space: Production"], script: "printf '%s' \"#{ProdSecret}\" | sha256sum > `+out+`/prod"}
      - {name: DR only, type: script, environments: ["DR Space: Recovery"], script: "printf '%s %s' \"#{DRSecret}\" \"#{DRBanner}\" | sha256sum > `+out+`/dr"}
      - {name: QA only, type: script, environments: ["QA Space: Staging"], script: "echo qa-step-8"}
`))
	p.prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
remoteEnvironments: ["Disaster Space: Recovery"]
lifecycles: [{name: Live, phases: [{name: Live, environments: [Production]}, {name: DR, environments: ["Disaster Space: Recovery"]}]}]
`))
	p.dr("apply", "-f", ferrytest.WriteFile(t, "dr.yaml", `environments: [{name: Recovery}]
lifecycles: [{name: DR, phases: [{name: DR, environments: [Recovery]}]}]
`))
	p.dev("release", "create", "Shop", "--version", "1.0.0")
	p.dev("deploy", "Shop", "1.0.0", "--to", "Development", "--wait")
	toProd := filepath.Join(t.TempDir(), "to-prod.bundle")
	p.dev("promote", "Shop", "1.0.0", "--to", "Prod Space", "--out", toProd)

	// What went to Prod: nothing of QA's, DR's secret only sealed to DR.
	data, _ := os.ReadFile(toProd)
	whole := string(data) + decodedPayload(t, data)
	notContains(t, whole, "QASecret", "QAPlain", "qa-plain-6", "QA only", "qa-step-8", "Mixed", "QA Space")
	contains(t, whole, "DRSecret", "dr-banner-4", "DR only", "ProdSecret", "Token")
	pl := bundlePayload(t, toProd)
	if pl.SchemaVersion < 2 || pl.Downstream == nil || len(pl.Downstream.Sealed) != 1 {
		t.Fatalf("downstream of the bundle to Prod: schema %d, %+v", pl.SchemaVersion, pl.Downstream)
	}
	drSealed := pl.Downstream.Sealed[0]
	prodKey, drKey := p.b.SpaceIdentity(t, "Prod Space"), p.b.SpaceIdentity(t, "DR Space")
	if drSealed.Name != "DRSecret" || drSealed.For != fingerprintOf(drKey) {
		t.Errorf("sealed for downstream: %+v", drSealed)
	}
	if _, err := seal.Open(prodKey.Age, drSealed.Sealed); err == nil {
		t.Error("Prod can decrypt the secret meant for DR")
	}
	if plain, err := seal.Open(drKey.Age, drSealed.Sealed); err != nil || string(plain) != "dr-secret-3" {
		t.Errorf("DR cannot decrypt its secret: %v %q", err, plain)
	}
	for _, v := range pl.Variables {
		if v.Sensitive {
			if plain, err := seal.Open(prodKey.Age, v.Sealed); err != nil || strings.Contains(string(plain), "dr-secret") {
				t.Errorf("variable %s sealed to Prod: %v %q", v.Name, err, plain)
			}
		}
	}

	// Prod deploys with its own and passes DR's on, unread.
	p.prod("bundle", "import", toProd)
	p.prod("deploy", "DevTest Space: Shop", "1.0.0", "--to", "Production", "--wait")
	toDR := filepath.Join(t.TempDir(), "to-dr.bundle")
	p.prod("promote", "DevTest Space: Shop", "1.0.0", "--to", "Disaster Space", "--out", toDR)
	data, _ = os.ReadFile(toDR)
	notContains(t, string(data)+decodedPayload(t, data), "ProdSecret", "QASecret", "Prod only")
	p.dr("bundle", "import", toDR)
	contains(t, p.dr("deploy", "DevTest Space: Shop", "1.0.0", "--to", "Recovery", "--wait"), "Success")

	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:])
	}
	for file, want := range map[string]string{
		"token-Production": hash("token-everywhere-1"), "token-Recovery": hash("token-everywhere-1"),
		"prod": hash("prod-secret-2"), "dr": hash("dr-secret-3 dr-banner-4"),
	} {
		got, err := os.ReadFile(filepath.Join(out, file))
		if err != nil || !strings.HasPrefix(string(got), want) {
			t.Errorf("%s: the step saw another value (%v): %s", file, err, got)
		}
	}
}

// TestRelayedReceiptVisible is issue 14 item 19: a receipt that came back
// from a third space through Prod shows on the dashboard, in `release
// show`, on the release page and in the deployments API.
func TestRelayedReceiptVisible(t *testing.T) {
	p := newPath(t)
	p.dev("remote-space", "add", "Prod Space", "--cert", p.pem["Prod Space"], "--trust", "promote,receipts")
	p.dev("remote-space", "add", "DR Space", "--cert", p.pem["DR Space"]) // known by certificate only
	p.prod("remote-space", "add", "DevTest Space", "--cert", p.pem["DevTest Space"], "--trust", "releases")
	p.prod("remote-space", "add", "DR Space", "--cert", p.pem["DR Space"], "--trust", "promote,receipts")
	p.dr("remote-space", "add", "Prod Space", "--cert", p.pem["Prod Space"], "--trust", "releases")
	p.dev("apply", "-f", ferrytest.WriteFile(t, "dev.yaml", `environments: [{name: Development}]
remoteEnvironments: ["Prod Space: Production"]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Development]}, {name: Prod, environments: ["Prod Space: Production"]}]}]
projects: [{name: Api, lifecycle: Main, process: [{name: Say, type: script, script: "echo api on #{Ferry.Environment.Name}"}]}]
`))
	p.prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
remoteEnvironments: ["DR Space: Recovery"]
lifecycles: [{name: Live, phases: [{name: Live, environments: [Production]}, {name: DR, environments: ["DR Space: Recovery"]}]}]
`))
	p.dr("apply", "-f", ferrytest.WriteFile(t, "dr.yaml", `environments: [{name: Recovery}]
lifecycles: [{name: DR, phases: [{name: DR, environments: [Recovery]}]}]
`))
	dir := t.TempDir()
	file := func(name string) string { return filepath.Join(dir, name) }
	p.dev("release", "create", "Api", "--version", "1.0.0")
	p.dev("deploy", "Api", "1.0.0", "--to", "Development", "--wait")
	p.dev("promote", "Api", "1.0.0", "--to", "Prod Space", "--out", file("prod.bundle"))
	p.prod("bundle", "import", file("prod.bundle"))
	p.prod("deploy", "DevTest Space: Api", "1.0.0", "--to", "Production", "--wait")
	p.prod("promote", "DevTest Space: Api", "1.0.0", "--to", "DR Space", "--out", file("dr.bundle"))
	p.dr("bundle", "import", file("dr.bundle"))
	p.dr("deploy", "DevTest Space: Api", "1.0.0", "--to", "Recovery", "--wait")
	p.dr("receipt", "export", "--to", "Prod Space", "--out", file("dr-receipts.json"))
	p.prod("receipt", "import", file("dr-receipts.json"))
	p.prod("receipt", "export", "--to", "DevTest Space", "--out", file("prod-receipts.json"))
	contains(t, p.dev("receipt", "import", file("prod-receipts.json")), "Imported 2 receipt")

	// The dashboard.
	contains(t, lineWith(t, p.dev("dashboard"), "DR Space: Recovery"), "1.0.0", "Success")
	// release show, text and JSON.
	show := p.dev("release", "show", "Api", "1.0.0")
	contains(t, lineWith(t, show, "DR Space: Recovery"), "Success", "relayed by Prod Space")
	contains(t, lineWith(t, show, "Prod Space: Production"), "Success")
	var shown struct {
		Deployments []struct{ Environment, State, Space, ReceivedFrom string }
	}
	decodeJSON(t, p.dev("release", "show", "Api", "1.0.0", "-o", "json"), &shown)
	found := false
	for _, d := range shown.Deployments {
		found = found || (d.Environment == "DR Space: Recovery" && d.State == "Success" && d.Space == "DR Space" && d.ReceivedFrom == "Prod Space")
	}
	if !found {
		t.Errorf("release show -o json lacks DR's deployment: %+v", shown.Deployments)
	}
	// The deployments API and the release page.
	get := func(path string) string { return apiGet(t, p.a, path) }
	space := "/spaces/" + url.PathEscape("DevTest Space")
	contains(t, get("/api"+space+"/deployments"), `"environment": "DR Space: Recovery"`, `"receivedFrom": "Prod Space"`)
	contains(t, get("/api"+space+"/deployments?project=Api&version=1.0.0"), `"environment": "DR Space: Recovery"`)
	contains(t, get(space+"/projects/Api/releases/1.0.0"), "DR Space: Recovery", "relayed by Prod Space")
}
