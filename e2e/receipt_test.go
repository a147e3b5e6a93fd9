package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestReceipts is SPEC §2 step 8 across an air gap: Prod's receipt goes back
// as a file and DevTest's dashboard shows Prod Space: Production.
func TestReceipts(t *testing.T) {
	p := newPair(t)
	p.release(t)
	file := p.promote(t)
	prod := func(args ...string) []string { return append([]string{"--space", "Prod Space"}, args...) }
	p.prod.Must(prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
lifecycles: [{name: Production, phases: [{name: Live, environments: [Production]}]}]
`))...)
	p.prod.Must(prod("bundle", "import", file)...)
	p.prod.Must(prod("var", "set", "DevTest Space: My Project", "ConnectionString", "Server=prod-db", "--env", "Production")...)
	p.prod.Must(prod("deploy", "DevTest Space: My Project", "1.0.0", "--to", "Production", "--wait")...)

	dir := t.TempDir()
	receipts := filepath.Join(dir, "receipts.json")
	p.prod.Must(prod("receipt", "export", "--to", "DevTest Space", "--out", receipts)...)
	dev := func(args ...string) []string { return append([]string{"--space", "DevTest Space"}, args...) }

	// Tampered: refused, nothing written.
	good, _ := os.ReadFile(receipts)
	bad := []byte(strings.Replace(string(good), `"payload": "`, `"payload": "x`, 1))
	r := p.dev.Fail(dev("receipt", "import", ferrytest.WriteFile(t, "bad.json", string(bad)))...)
	contains(t, r.Stderr, "refused")
	notContains(t, lineWith(t, p.dev.Must(dev("dashboard")...).Stdout, "Prod Space: Production"), "1.0.0") // nothing from Prod yet

	r = p.dev.Must(dev("receipt", "import", receipts)...)
	contains(t, r.Stdout, "Imported 1 receipt", `"Prod Space"`)
	contains(t, p.dev.Must(dev("receipt", "import", receipts)...).Stdout, "Imported 0 receipt", "1 already here")

	out := p.dev.Must(dev("dashboard")...).Stdout
	contains(t, out, "My Project", "Development", "Test", "Prod Space: Production")
	line := lineWith(t, out, "Prod Space: Production")
	contains(t, line, "1.0.0", "Success", "admin")
	var d struct {
		Projects []struct {
			Cells []struct{ Environment, Version, State, From string }
		}
	}
	decodeJSON(t, p.dev.Must(dev("dashboard", "My Project", "-o", "json")...).Stdout, &d)
	if len(d.Projects) != 1 || len(d.Projects[0].Cells) != 3 {
		t.Fatalf("dashboard: %+v", d)
	}
	if c := d.Projects[0].Cells[2]; c.Environment != "Prod Space: Production" || c.State != "Success" || !strings.Contains(c.From, "receipt") {
		t.Errorf("Prod cell: %+v", c)
	}

	// A receipt file from a space not trusted for receipts is refused.
	p.dev.Must(dev("remote-space", "update", "Prod Space", "--trust", "promote")...)
	p.prod.Must(prod("receipt", "export", "--to", "DevTest Space", "--all", "--out", receipts)...)
	r = p.dev.Fail(dev("receipt", "import", receipts)...)
	contains(t, r.Stderr, "not trusted for receipts")
	contains(t, p.dev.Must(dev("audit", "list")...).Stdout, "receipt.import")
}

// TestMultiHop is DevTest → QA → Prod, QA promoting onward, and receipts
// travelling back Prod → QA → DevTest with their original signatures.
func TestMultiHop(t *testing.T) {
	bin := ferrytest.Build(t)
	a, b := bin.StartServer(t), bin.StartServer(t)
	a.Must("space", "create", "DevTest Space")
	a.Must("space", "create", "QA Space")
	b.Must("space", "create", "Prod Space")
	dir := t.TempDir()
	cert := func(s *ferrytest.Server, space string) string {
		f := filepath.Join(dir, strings.ReplaceAll(space, " ", "")+".pem")
		s.Must("space", "cert", space, "--out", f)
		return f
	}
	devPEM, qaPEM, prodPEM := cert(a, "DevTest Space"), cert(a, "QA Space"), cert(b, "Prod Space")
	in := func(s *ferrytest.Server, space string) func(...string) ferrytest.Result {
		return func(args ...string) ferrytest.Result { return s.Must(append([]string{"--space", space}, args...)...) }
	}
	dev, qa, prod := in(a, "DevTest Space"), in(a, "QA Space"), in(b, "Prod Space")

	dev("remote-space", "add", "QA Space", "--cert", qaPEM, "--trust", "promote,receipts")
	dev("remote-space", "add", "Prod Space", "--cert", prodPEM) // known by name only: no trust
	qa("remote-space", "add", "DevTest Space", "--cert", devPEM, "--trust", "releases")
	qa("remote-space", "add", "Prod Space", "--cert", prodPEM, "--trust", "promote,receipts")
	prod("remote-space", "add", "QA Space", "--cert", qaPEM, "--trust", "releases")

	dev("apply", "-f", ferrytest.WriteFile(t, "dev.yaml", `environments: [{name: Development}]
remoteEnvironments: ["QA Space: Verify", "Prod Space: Production"]
lifecycles:
  - name: Main
    phases:
      - {name: Dev, environments: [Development]}
      - {name: QA, environments: ["QA Space: Verify"]}
      - {name: Prod, environments: ["Prod Space: Production"]}
projects:
  - name: Api
    lifecycle: Main
    variables:
      - {name: Where, value: everywhere}
      - {name: Where, value: in-prod, environments: ["Prod Space: Production"]}
    process:
      - name: Say
        type: script
        script: |
          echo "api #{Ferry.Release.Number} #{Where} on #{Ferry.Environment.Name}"
`))
	qa("apply", "-f", ferrytest.WriteFile(t, "qa.yaml", `environments: [{name: Verify}]
remoteEnvironments: ["Prod Space: Production"]
lifecycles:
  - name: QA
    phases:
      - {name: Verify, environments: [Verify]}
      - {name: Prod, environments: ["Prod Space: Production"]}
`))
	prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
lifecycles: [{name: Live, phases: [{name: Live, environments: [Production]}]}]
`))

	dev("release", "create", "Api", "--version", "2.0.0")
	dev("deploy", "Api", "2.0.0", "--to", "Development", "--wait")
	toQA := filepath.Join(dir, "to-qa.bundle")
	dev("promote", "Api", "2.0.0", "--to", "QA Space", "--out", toQA)
	qa("bundle", "import", toQA)
	contains(t, qa("deploy", "DevTest Space: Api", "2.0.0", "--to", "Verify", "--wait").Stdout, "api 2.0.0 everywhere on Verify")

	// QA promotes onward; the project keeps its origin's name in Prod.
	toProd := filepath.Join(dir, "to-prod.bundle")
	qa("promote", "DevTest Space: Api", "2.0.0", "--to", "Prod Space", "--out", toProd)
	contains(t, prod("bundle", "inspect", toProd).Stdout, "DevTest Space: Development", "QA Space: Verify", `signed by "QA Space"`)
	contains(t, prod("bundle", "import", toProd).Stdout, "Imported DevTest Space: Api 2.0.0")
	contains(t, prod("deploy", "DevTest Space: Api", "2.0.0", "--to", "Production", "--wait").Stdout, "api 2.0.0 in-prod on Production")

	// Receipts travel back: Prod → QA → DevTest.
	prodToQA := filepath.Join(dir, "prod-to-qa.json")
	prod("receipt", "export", "--to", "QA Space", "--out", prodToQA)
	contains(t, qa("receipt", "import", prodToQA).Stdout, "Imported 1 receipt")
	qaToDev := filepath.Join(dir, "qa-to-dev.json")
	qa("receipt", "export", "--to", "DevTest Space", "--out", qaToDev)
	contains(t, dev("receipt", "import", qaToDev).Stdout, "Imported 2 receipt")

	out := dev("dashboard").Stdout
	contains(t, lineWith(t, out, "Development"), "2.0.0", "Success")
	contains(t, lineWith(t, out, "QA Space: Verify"), "2.0.0", "Success")
	contains(t, lineWith(t, out, "Prod Space: Production"), "2.0.0", "Success")
	contains(t, lineWith(t, qa("dashboard").Stdout, "Prod Space: Production"), "2.0.0", "Success")
	contains(t, dev("lifecycle", "show", "Main").Stdout, "space QA Space", "space Prod Space")
}

func lineWith(t *testing.T, out, sub string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	t.Fatalf("no line with %q in:\n%s", sub, out)
	return ""
}
