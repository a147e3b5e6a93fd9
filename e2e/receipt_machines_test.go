package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestReceiptMachinesOlderReceiver: a receipt of schema 3 says how many
// targets ran the deployment ("machines"), and Prod writes it only for an
// origin known to read 3. An origin on the previous release (reads 1 and
// 2) still gets receipts it reads; one on this release sees "on 1 target"
// on its dashboard and release page. One Prod, with one agent, serves
// both; "New Dev" lives on Prod's server (spaces of one server are as
// separate as spaces of two).
func TestReceiptMachinesOlderReceiver(t *testing.T) {
	old := ferrytest.BuildAt(t, previousRelease)
	cur := ferrytest.Build(t)
	listen := ferrytest.FreePort(t)
	prodSrv := cur.StartServer(t, "FERRY_AGENT_LISTEN="+listen)
	oldSrv := old.StartServer(t)
	dir := t.TempDir()
	prod := func(args ...string) string {
		return prodSrv.Must(append([]string{"--space", "Prod Space"}, args...)...).Stdout
	}
	prodSrv.Must("space", "create", "Prod Space")
	prodPEM := filepath.Join(dir, "prod.pem")
	prodSrv.Must("space", "cert", "Prod Space", "--out", prodPEM)
	prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
lifecycles: [{name: Production, phases: [{name: Live, environments: [Production]}]}]
`))
	var trust struct{ Fingerprint string }
	decodeJSON(t, prod("target", "trust-info", "-o", "json"), &trust)
	agent := cur.StartAgent(t, ferrytest.AgentConfig{Trust: []string{trust.Fingerprint}})
	prod("target", "add", "web-1", "--env", "Production", "--role", "web", "--url", agent.URL, "--thumbprint", agent.Fingerprint)
	ferrytest.WaitFor(t, 60e9, "web-1 healthy", func() bool {
		return prodSrv.Run("--space", "Prod Space", "target", "check", "web-1").Code == 0
	})

	// origin makes space name on s, promotes Web 1.0.0 to Prod in schema
	// version schema, deploys it there and returns Prod's receipt file.
	origin := func(s *ferrytest.Server, name, schema string) string {
		in := func(args ...string) string { return s.Must(append([]string{"--space", name}, args...)...).Stdout }
		s.Must("space", "create", name)
		pem := filepath.Join(dir, name+".pem")
		s.Must("space", "cert", name, "--out", pem)
		in("remote-space", "add", "Prod Space", "--cert", prodPEM, "--trust", "promote,receipts")
		prod("remote-space", "add", name, "--cert", pem, "--trust", "releases")
		in("apply", "-f", ferrytest.WriteFile(t, name+".yaml", `remoteEnvironments: ["Prod Space: Production"]
lifecycles: [{name: Main, phases: [{name: Prod, environments: ["Prod Space: Production"]}]}]
projects:
  - name: Web
    lifecycle: Main
    process:
      - {name: On web, type: script, roles: [web], script: "echo on #{Ferry.Machine.Name}"}
      - {name: On server, type: script, script: "echo on the server"}
`))
		in("release", "create", "Web", "--version", "1.0.0")
		bundle := filepath.Join(dir, name+".bundle")
		in("promote", "Web", "1.0.0", "--to", "Prod Space", "--out", bundle, "--schema-version", schema)
		prod("bundle", "import", bundle)
		contains(t, prod("deploy", name+": Web", "1.0.0", "--to", "Production", "--wait"), "Success")
		receipts := filepath.Join(dir, name+"-receipts.json")
		prod("receipt", "export", "--to", name, "--out", receipts)
		return receipts
	}

	// The previous release: a receipt of version 2, without machines.
	file := origin(oldSrv, "Old Dev", "2")
	if got := receiptsIn(t, file); len(got) != 1 || !strings.Contains(got[0], `"schemaVersion":2`) || strings.Contains(got[0], "machines") {
		t.Errorf("the receipt for a space that reads 2 is not of version 2 without machines: %q", got)
	}
	contains(t, oldSrv.Must("--space", "Old Dev", "receipt", "import", file).Stdout, "Imported 1 receipt")
	contains(t, lineWith(t, oldSrv.Must("--space", "Old Dev", "dashboard").Stdout, "Prod Space: Production"), "1.0.0", "Success")

	// This release: version 3, on 1 target.
	file = origin(prodSrv, "New Dev", "3")
	contains(t, prodSrv.Must("--space", "New Dev", "receipt", "import", file).Stdout, "Imported 1 receipt")
	contains(t, prodSrv.Must("--space", "New Dev", "release", "show", "Web", "1.0.0").Stdout, "receipt from Prod Space, on 1 target")
	var d struct {
		Projects []struct {
			Cells []struct {
				Environment string
				Machines    *int
			}
		}
	}
	decodeJSON(t, prodSrv.Must("--space", "New Dev", "dashboard", "Web", "-o", "json").Stdout, &d)
	if len(d.Projects) != 1 || len(d.Projects[0].Cells) != 1 || d.Projects[0].Cells[0].Machines == nil || *d.Projects[0].Cells[0].Machines != 1 {
		t.Errorf("New Dev's dashboard: %+v", d)
	}
	if got := receiptsIn(t, file); len(got) != 1 || !strings.Contains(got[0], `"schemaVersion":3`) || !strings.Contains(got[0], `"machines":1`) {
		t.Errorf("the receipt for a space that reads 3: %q", got)
	}
}

// receiptsIn returns the signed receipts of a receipt file, as JSON.
func receiptsIn(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Receipts []struct{ Payload []byte } }
	if err := json.Unmarshal([]byte(decodedPayload(t, data)), &body); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range body.Receipts {
		out = append(out, string(r.Payload))
	}
	return out
}
