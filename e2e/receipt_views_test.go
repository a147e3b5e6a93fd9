package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/envelope"
	"github.com/ferrydeploy/ferry/internal/ferrytest"
	"github.com/ferrydeploy/ferry/internal/receipt"
)

// receiptProjects lists the origin projects of the receipts in a receipt file.
func receiptProjects(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var env envelope.Envelope
	decodeJSON(t, string(data), &env)
	body, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var fb receipt.FileBody
	if err := json.Unmarshal(body, &fb); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, sg := range fb.Receipts {
		var pl receipt.Payload
		if err := json.Unmarshal(sg.Payload, &pl); err != nil {
			t.Fatal(err)
		}
		out = append(out, pl.Origin.Project)
	}
	slices.Sort(out)
	return out
}

// TestReceiptExportFollowsViews: a deployer limited to one remote project
// exports the receipts for the space it came from. The signed file carries
// only that project's receipts — not those of a project the deployer may
// not view (its versions, environments, tenants, who deployed) — and the
// others stay unsent, for someone who may.
func TestReceiptExportFollowsViews(t *testing.T) {
	bin := ferrytest.Build(t)
	s := bin.StartServer(t)
	s.Must("space", "create", "Ops Space")
	dir := t.TempDir()
	defPEM, opsPEM := filepath.Join(dir, "default.pem"), filepath.Join(dir, "ops.pem")
	s.Must("space", "cert", "Default", "--out", defPEM)
	s.Must("space", "cert", "Ops Space", "--out", opsPEM)
	s.Must("remote-space", "add", "Ops Space", "--cert", opsPEM, "--trust", "promote,receipts")
	ops := func(args ...string) ferrytest.Result {
		return s.Must(append([]string{"--space", "Ops Space"}, args...)...)
	}
	ops("remote-space", "add", "Default", "--cert", defPEM, "--trust", "releases")
	s.Must("apply", "-f", ferrytest.WriteFile(t, "views.yaml", viewsYAML))
	ops("apply", "-f", ferrytest.WriteFile(t, "ops.yaml", `environments: [{name: Live}]
lifecycles: [{name: Ops, phases: [{name: Live, environments: [Live]}]}]
`))
	for _, p := range []string{"Shop", "Secret"} {
		s.Must("release", "create", p, "--version", "1.0.0")
		s.Must("deploy", p, "1.0.0", "--to", "Dev", "--wait")
		file := filepath.Join(dir, p+".bundle")
		s.Must("promote", p, "1.0.0", "--to", "Ops Space", "--out", file)
		ops("bundle", "import", file)
		ops("deploy", "Default: "+p, "1.0.0", "--to", "Live", "--wait")
	}
	ops("user", "create", "bob")
	ops("team", "create", "Shop deployers", "--role", "deployer", "--user", "bob", "--project", "Default: Shop")
	bobKey := strings.TrimSpace(s.Must("user", "apikey", "bob").Stdout)

	bobFile := filepath.Join(dir, "bob.json")
	r := bin.Run(t, "", "--server", s.URL, "--api-key", bobKey, "--space", "Ops Space", "receipt", "export", "--to", "Default", "--out", bobFile)
	if r.Code != 0 {
		t.Fatalf("bob's export: %s", r.Out())
	}
	if got := receiptProjects(t, bobFile); !slices.Equal(got, []string{"Shop"}) {
		t.Errorf("a deployer limited to Shop exported receipts of %v", got)
	}
	r = bin.Run(t, "", "--server", s.URL, "--api-key", bobKey, "--space", "Ops Space", "receipt", "export", "--to", "Default", "--all", "--out", bobFile)
	if got := receiptProjects(t, bobFile); r.Code != 0 || !slices.Equal(got, []string{"Shop"}) {
		t.Errorf("a deployer limited to Shop exported (--all) receipts of %v: %s", got, r.Out())
	}
	adminFile := filepath.Join(dir, "admin.json")
	ops("receipt", "export", "--to", "Default", "--out", adminFile)
	if got := receiptProjects(t, adminFile); !slices.Equal(got, []string{"Secret"}) {
		t.Errorf("after bob's export, the receipts left to send are %v, want Secret's", got)
	}
	contains(t, s.Must("receipt", "import", adminFile).Stdout, "Imported 1 receipt")
}
