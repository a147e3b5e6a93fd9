package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// previousRelease is the commit of the release before this one: the
// ferry that spaces which have not upgraded yet run. It writes and reads
// schema version 2 (and 1); this release reads 2 and 3 (receipts say how
// many targets ran the deployment).
const previousRelease = "3e6c86f"

// TestUpgradeOneSpaceAtATime is SPEC §4 "spaces upgrade one at a time"
// (issue 14 item 21), with the previous release's own binary: DevTest and
// Prod run it and go through the walkthrough; DevTest's data folder is then
// upgraded in place and everything it held still works; the upgraded
// DevTest promotes to, and reads receipts from, the Prod that still runs
// the previous release — with files, and connected (including a space it
// meets for the first time, learnt by the handshake); finally Prod's data
// folder is upgraded too and what it imported before still deploys.
func TestUpgradeOneSpaceAtATime(t *testing.T) {
	old := ferrytest.BuildAt(t, previousRelease)
	cur := ferrytest.Build(t)
	p := newPairOn(t, old, old)
	p.release(t)
	file := p.promote(t)
	prodIn := func(s *ferrytest.Server) func(...string) string {
		return func(args ...string) string {
			return s.Must(append([]string{"--space", "Prod Space"}, args...)...).Stdout
		}
	}
	devIn := func(s *ferrytest.Server) func(...string) string {
		return func(args ...string) string {
			return s.Must(append([]string{"--space", "DevTest Space"}, args...)...).Stdout
		}
	}
	prod, dev := prodIn(p.prod), devIn(p.dev)
	prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}, {name: Live}]
lifecycles: [{name: Production, phases: [{name: Live, environments: [Production]}]}]
`))
	prod("bundle", "import", file)
	prod("var", "set", "DevTest Space: My Project", "ConnectionString", "Server=prod-db", "--env", "Production")
	prod("deploy", "DevTest Space: My Project", "1.0.0", "--to", "Production", "--wait")
	dir := t.TempDir()
	receipts := filepath.Join(dir, "receipts-1.json")
	prod("receipt", "export", "--to", "DevTest Space", "--out", receipts)
	dev("receipt", "import", receipts)

	// DevTest upgrades in place.
	p.dev.Stop()
	p.dev = cur.StartServers(t, ferrytest.ServerConfig{Data: p.dev.Data})[0]
	dev = devIn(p.dev)
	contains(t, lineWith(t, dev("dashboard"), "Prod Space: Production"), "1.0.0", "Success")
	contains(t, dev("release", "show", "My Project", "1.0.0"), "Release 1.0.0 of My Project", "Prod Space: Production")
	contains(t, dev("deploy", "My Project", "1.0.0", "--to", "Development", "--wait"), "Success")
	contains(t, dev("remote-space", "list"), "Prod Space")

	// It promotes to the old Prod with a file, in the version Prod reads,
	// and reads Prod's receipts.
	dev("release", "create", "My Project", "--version", "1.1.0")
	dev("deploy", "My Project", "1.1.0", "--to", "Development", "--wait")
	dev("deploy", "My Project", "1.1.0", "--to", "Test", "--wait")
	file11 := filepath.Join(dir, "1.1.0.bundle")
	contains(t, dev("promote", "My Project", "1.1.0", "--to", "Prod Space", "--out", file11), "schema version 2")
	contains(t, prod("bundle", "import", file11), "Imported DevTest Space: My Project 1.1.0")
	contains(t, prod("deploy", "DevTest Space: My Project", "1.1.0", "--to", "Production", "--wait"), "prod-only-step prod-banner", "Success")
	receipts = filepath.Join(dir, "receipts-2.json")
	prod("receipt", "export", "--to", "DevTest Space", "--out", receipts)
	contains(t, dev("receipt", "import", receipts), "Imported 1 receipt")
	contains(t, lineWith(t, dev("dashboard"), "Prod Space: Production"), "1.1.0", "Success")
	// A bundle of the new version is refused by the old server, clearly.
	file2 := filepath.Join(dir, "v3.bundle")
	dev("promote", "My Project", "1.1.0", "--to", "Prod Space", "--out", file2, "--schema-version", "3")
	contains(t, p.prod.Fail("--space", "Prod Space", "bundle", "import", file2).Stderr, "schema version 3", "Upgrade ferry")

	// A space made on the upgraded server, which knows nothing of what the
	// old Prod reads, writes what every server of the last two releases
	// reads.
	p.dev.Must("space", "create", "New Dev")
	newPEM := filepath.Join(dir, "newdev.pem")
	p.dev.Must("space", "cert", "New Dev", "--out", newPEM)
	p.dev.Must("--space", "New Dev", "remote-space", "add", "Prod Space", "--cert", p.prodPEM, "--trust", "promote")
	prod("remote-space", "add", "New Dev", "--cert", newPEM, "--trust", "releases")
	p.dev.Must("--space", "New Dev", "apply", "-f", ferrytest.WriteFile(t, "newdev.yaml", `remoteEnvironments: ["Prod Space: Production"]
lifecycles: [{name: Main, phases: [{name: Prod, environments: ["Prod Space: Production"]}]}]
projects: [{name: Web, lifecycle: Main, process: [{name: Say, type: script, script: "echo web on #{Ferry.Environment.Name}"}]}]
`))
	p.dev.Must("--space", "New Dev", "release", "create", "Web", "--version", "1.0.0")
	webFile := filepath.Join(dir, "web.bundle")
	contains(t, p.dev.Must("--space", "New Dev", "promote", "Web", "1.0.0", "--to", "Prod Space", "--out", webFile).Stdout, "schema version 2")
	prod("bundle", "import", webFile)
	contains(t, prod("deploy", "New Dev: Web", "1.0.0", "--to", "Production", "--wait"), "web on Production")

	// Connected: the old Prod, and a space of its server DevTest meets for
	// the first time (what it reads is asked by the handshake).
	p.prod.Must("space", "create", "Prod Two")
	twoPEM := filepath.Join(dir, "two.pem")
	p.prod.Must("space", "cert", "Prod Two", "--out", twoPEM)
	p.prod.Must("--space", "Prod Two", "remote-space", "add", "DevTest Space", "--cert", p.devPEM, "--trust", "releases", "--url", p.dev.URL)
	p.prod.Must("--space", "Prod Two", "apply", "-f", ferrytest.WriteFile(t, "two.yaml", `environments: [{name: Live}]
lifecycles: [{name: Live, phases: [{name: Live, environments: [Live]}]}]
`))
	prod("remote-space", "update", "DevTest Space", "--url", p.dev.URL)
	dev("remote-space", "update", "Prod Space", "--url", p.prod.URL)
	dev("remote-space", "add", "Prod Two", "--cert", twoPEM, "--trust", "promote,receipts", "--url", p.prod.URL)
	dev("apply", "-f", ferrytest.WriteFile(t, "two.yaml", `remoteEnvironments: ["Prod Two: Live"]
lifecycles:
  - name: Main
    phases:
      - {name: Dev, environments: [Development]}
      - {name: Test, environments: [Test]}
      - {name: Prod, environments: ["Prod Space: Production", "Prod Two: Live"]}
`))
	dev("release", "create", "My Project", "--version", "1.2.0")
	dev("deploy", "My Project", "1.2.0", "--to", "Development", "--wait")
	dev("deploy", "My Project", "1.2.0", "--to", "Test", "--wait")
	for _, to := range []string{"Prod Space", "Prod Two"} {
		out := dev("promote", "My Project", "1.2.0", "--to", to, "--wait")
		contains(t, out, "schema version 2", "imported as DevTest Space: My Project 1.2.0")
	}
	p.prod.Must("--space", "Prod Two", "var", "set", "DevTest Space: My Project", "ConnectionString", "Server=two", "--env", "Live")
	p.prod.Must("--space", "Prod Two", "deploy", "DevTest Space: My Project", "1.2.0", "--to", "Live", "--wait")
	prod("deploy", "DevTest Space: My Project", "1.2.0", "--to", "Production", "--wait")
	// The old servers send their receipts back by themselves.
	ferrytest.WaitFor(t, 30*time.Second, "receipts from the old Prod servers", func() bool {
		out := dev("dashboard")
		return strings.Contains(lineWith(t, out, "Prod Two: Live"), "1.2.0") && strings.Contains(lineWith(t, out, "Prod Space: Production"), "1.2.0")
	})

	// Prod upgrades in place: what it imported from the old DevTest still
	// deploys, bound to the space that delivered it.
	p.prod.Stop()
	p.prod = cur.StartServers(t, ferrytest.ServerConfig{Data: p.prod.Data})[0]
	prod = prodIn(p.prod)
	dev("remote-space", "update", "Prod Space", "--url", p.prod.URL) // it listens on another port now
	contains(t, prod("deploy", "DevTest Space: My Project", "1.0.0", "--to", "Production", "--wait"), "Success")
	contains(t, prod("project", "deliverers", "DevTest Space: My Project"), `origin "DevTest Space"`)
	contains(t, prod("release", "show", "DevTest Space: My Project", "1.1.0"), "Release 1.1.0")
	// Both upgraded: the next promotion, connected, learns from the
	// handshake that Prod reads 3 (the previous release has the handshake).
	dev("release", "create", "My Project", "--version", "1.3.0")
	dev("deploy", "My Project", "1.3.0", "--to", "Development", "--wait")
	dev("deploy", "My Project", "1.3.0", "--to", "Test", "--wait")
	contains(t, dev("promote", "My Project", "1.3.0", "--to", "Prod Space", "--wait"), "schema version 3", "imported as")
	contains(t, dev("promote", "My Project", "1.3.0", "--to", "Prod Space", "--wait", "--timeout", "30s"), "schema version 3", "delivered")
}
