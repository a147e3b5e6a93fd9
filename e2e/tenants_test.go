package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// tenantsYAML: Shop deploys untenanted or for tenants; Region is each
// tenant's own value per environment (a sensitive DbPass too), Banner
// differs by tag, and one step runs only for gold tenants, one only for
// acme by name (which stays behind when the release is promoted).
const tenantsYAML = `environments: [{name: Development}, {name: Test}]
remoteEnvironments: ["Prod Space: Production"]
lifecycles:
  - name: Main
    phases:
      - {name: Dev, environments: [Development]}
      - {name: Test, environments: [Test]}
      - {name: Prod, environments: ["Prod Space: Production"]}
projects:
  - name: Shop
    lifecycle: Main
    tenantedDeployments: both
    templates:
      - {name: Region, type: text, required: true}
      - {name: DbPass, type: sensitive, required: true}
    variables:
      - {name: Banner, value: plain}
      - {name: Banner, value: golden, tenantTags: [Tier/Gold]}
    process:
      - name: Hello
        type: script
        script: |
          echo "hello #{Ferry.Tenant.Name} region=#{Region} banner=#{Banner} db=#{DbPass}"
      - name: Gold only
        type: script
        tenantTags: [Tier/Gold]
        script: |
          echo "gold-step #{Ferry.Tenant.Name}"
      - name: Acme only
        type: script
        tenants: [acme]
        script: echo "acme-only-step"
tenants:
  - name: acme
    tags: [Tier/Gold]
    projects: {Shop: [Development, Test]}
  - name: globex
    tags: [Tier/Free]
    projects: {Shop: [Development, Test]}
`

// TestTenantsAcrossSpaces is issue 18 end to end, on two connected servers:
// two tenants with their own values and tag-scoped variables and steps;
// every refusal before anything is queued, all named at once; lifecycle
// progress per tenant; a tenant refused on another space's environment; the
// release promoted without tenants; a Prod tenant deploying the imported
// release; its name in the receipt and on DevTest's dashboard by tenant.
func TestTenantsAcrossSpaces(t *testing.T) {
	p := newConnectedPair(t, func(prod *ferrytest.Server) string { return prod.URL })
	dev := func(args ...string) ferrytest.Result {
		return p.dev.Must(append([]string{"--space", "DevTest Space"}, args...)...)
	}
	devFail := func(args ...string) ferrytest.Result {
		return p.dev.Fail(append([]string{"--space", "DevTest Space"}, args...)...)
	}
	prod := func(args ...string) ferrytest.Result {
		return p.prod.Must(append([]string{"--space", "Prod Space"}, args...)...)
	}
	dev("apply", "-f", ferrytest.WriteFile(t, "tenants.yaml", tenantsYAML))
	dev("tenant", "create", "initech", "--tag", "Tier/Gold")
	for _, tn := range []string{"acme", "globex"} {
		for _, env := range []string{"Development", "Test"} {
			dev("tenant", "var", "set", tn, "Shop", "Region", tn+"-"+strings.ToLower(env[:3]), "--env", env)
		}
	}
	if r := p.dev.RunInput("acme-db-s3cret\n", "--space", "DevTest Space", "tenant", "var", "set", "acme", "Shop", "DbPass", "-", "--env", "Development"); r.Code != 0 {
		t.Fatalf("tenant var set from stdin: %s", r.Out())
	}
	dev("release", "create", "Shop", "--version", "1.0.0")

	// Refusals: an unknown tenant, one not connected, a tag nobody
	// connected has, and a missing (sensitive) value — all at once, and
	// nothing queued.
	r := devFail("deploy", "Shop", "1.0.0", "--to", "Development", "--tenant", "acme", "--tenant", "globex",
		"--tenant", "nosuch", "--tenant", "initech", "--tenant-tag", "Tier/Platinum")
	contains(t, r.Stderr, "nothing was queued", "nosuch", "initech", "not connected", "Tier/Platinum")
	dev("tenant", "connect", "initech", "Shop", "--env", "Development", "--env", "Test")
	r = devFail("deploy", "Shop", "1.0.0", "--to", "Development", "--tenant", "acme", "--tenant", "globex", "--tenant", "initech")
	contains(t, r.Stderr, "tenant globex", "tenant initech", "DbPass", "Region", "ferry tenant var set globex")
	notContains(t, r.Stderr, "tenant acme:")
	var tasks []api0
	decodeJSON(t, dev("task", "list", "-o", "json").Stdout, &tasks)
	if len(tasks) != 0 {
		t.Fatalf("refused deployments queued %d task(s)", len(tasks))
	}

	// Two tenants, one task each, their own values, tag-scoped values and steps.
	p.dev.RunInput("globex-db\n", "--space", "DevTest Space", "tenant", "var", "set", "globex", "Shop", "DbPass", "-", "--env", "Development", "--sensitive")
	r = p.dev.Run("--space", "DevTest Space", "deploy", "Shop", "1.0.0", "--to", "Development", "--tenant", "acme", "--tenant", "globex", "--wait")
	if r.Code != 0 {
		t.Fatalf("deploy for acme and globex: %s", r.Out())
	}
	contains(t, r.Stdout, "hello acme region=acme-dev banner=golden db=***", "gold-step acme", "acme-only-step",
		"hello globex region=globex-dev banner=plain db=***")
	notContains(t, r.Out(), "gold-step globex", "acme-db-s3cret", "globex-db")
	notContains(t, dev("tenant", "show", "acme", "-o", "json").Stdout, "acme-db-s3cret")

	// Lifecycle progress is per tenant: acme and globex may go to Test,
	// initech (never in Development) may not, and neither may untenanted.
	r = devFail("deploy", "Shop", "1.0.0", "--to", "Test", "--tenant", "initech")
	contains(t, r.Stderr, "tenant initech", `requires phase "Dev"`)
	r = devFail("deploy", "Shop", "1.0.0", "--to", "Test")
	contains(t, r.Stderr, `requires phase "Dev"`)
	for _, tn := range []string{"acme", "globex"} {
		p.dev.RunInput(tn+"-test-db\n", "--space", "DevTest Space", "tenant", "var", "set", tn, "Shop", "DbPass", "-", "--env", "Test")
	}
	// Tier/Gold is acme and initech: initech is refused, so nothing goes.
	r = devFail("deploy", "Shop", "1.0.0", "--to", "Test", "--tenant-tag", "Tier/Gold", "--tenant", "globex")
	contains(t, r.Stderr, "tenant initech", `requires phase "Dev"`, "--to \"Development\" --tenant initech`", "nothing was queued")
	notContains(t, r.Stderr, "tenant acme:", "tenant globex:")
	dev("deploy", "Shop", "1.0.0", "--to", "Test", "--tenant", "acme", "--tenant", "globex", "--wait")

	// A tenant is never connected to another space's environment.
	r = devFail("tenant", "connect", "acme", "Shop", "--env", "Prod Space: Production")
	contains(t, r.Stderr, "Prod Space", "tenants belong to the space that deploys")

	// The release travels without tenants.
	file := p.promote0(t, "Shop", "1.0.0")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	whole := string(data) + decodedPayload(t, data)
	notContains(t, whole, "acme", "globex", "initech", "acme-only-step")
	contains(t, whole, "Tier/Gold", "gold-step")
	dev("promote", "Shop", "1.0.0", "--to", "Prod Space", "--wait")

	// In Prod: its own tenant, connected to the remote project.
	prod("tenant", "create", "northwind", "--tag", "Tier/Gold")
	r = p.prod.Fail("--space", "Prod Space", "tenant", "connect", "northwind", "DevTest Space: Shop", "--env", "Nowhere")
	contains(t, r.Stderr, "Nowhere")
	prod("tenant", "connect", "northwind", "DevTest Space: Shop", "--env", "Production")
	r = p.prod.Fail("--space", "Prod Space", "deploy", "DevTest Space: Shop", "1.0.0", "--to", "Production", "--tenant", "northwind")
	contains(t, r.Stderr, "tenant northwind", "Region", "DbPass", "nothing was queued")
	prod("tenant", "var", "set", "northwind", "DevTest Space: Shop", "Region", "nw-prod", "--env", "Production")
	p.prod.RunInput("nw-db\n", "--space", "Prod Space", "tenant", "var", "set", "northwind", "DevTest Space: Shop", "DbPass", "-", "--env", "Production")
	r = prod("deploy", "DevTest Space: Shop", "1.0.0", "--to", "Production", "--tenant", "northwind", "--wait")
	contains(t, r.Stdout, "hello northwind region=nw-prod banner=golden db=***", "gold-step northwind")
	notContains(t, r.Stdout, "acme-only-step")

	// The receipt carries the tenant's name back: DevTest's dashboard by
	// tenant shows Prod's tenant by it.
	var byTenant struct {
		Environments []string
		Tenants      []struct {
			Tenant, Space string
			Cells         []struct{ Environment, Version, State string }
		}
	}
	ferrytest.WaitFor(t, 20*time.Second, "northwind on DevTest's dashboard by tenant", func() bool {
		decodeJSON(t, dev("dashboard", "Shop", "--by-tenant", "-o", "json").Stdout, &byTenant)
		for _, row := range byTenant.Tenants {
			for _, c := range row.Cells {
				if row.Tenant == "northwind" && row.Space == "Prod Space" && c.Environment == "Prod Space: Production" && c.State == "Success" {
					return true
				}
			}
		}
		return false
	})
	text := dev("dashboard", "Shop", "--by-tenant").Stdout
	contains(t, lineWith(t, text, "acme"), "1.0.0")
	contains(t, lineWith(t, text, "northwind (Prod Space)"), "1.0.0")
	contains(t, lineWith(t, text, "initech"), "-")
}

type api0 struct{ ID int64 }

// promote0 writes a bundle of project's version for Prod Space.
func (p *pair) promote0(t *testing.T, project, version string) string {
	out := t.TempDir() + "/shop.bundle"
	p.dev.Must("--space", "DevTest Space", "promote", project, version, "--to", "Prod Space", "--out", out)
	return out
}

// TestHostileBundleCarryingTenants: a bundle correctly signed by a trusted
// space that carries a step scoped to tenants by name is refused, and one
// that carries tenant records is imported without them: no tenant appears.
func TestHostileBundleCarryingTenants(t *testing.T) {
	p := newPair(t)
	p.release(t)
	file := p.promote(t)
	p.prod.Must("--space", "Prod Space", "apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
lifecycles: [{name: Production, phases: [{name: Live, environments: [Production]}]}]
`))
	id := p.dev.SpaceIdentity(t, "DevTest Space")
	pl := bundlePayload(t, file)

	scoped := pl
	scoped.Process = append([]domain.Step{}, pl.Process...)
	scoped.Process[0].Tenants = []string{"victim"}
	for _, f := range []string{forgeBundle(t, id, retargeted(scoped))} {
		r := p.prod.Fail("--space", "Prod Space", "bundle", "import", f)
		contains(t, r.Stderr, "tenants", "never travel")
	}

	// Tenant records smuggled into the payload: ignored, never created.
	body, err := json.Marshal(pl)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	raw["tenants"] = []any{map[string]any{"name": "smuggled", "projects": map[string]any{"DevTest Space: My Project": []string{"Production"}}}}
	raw["tenantValues"] = []any{map[string]any{"tenant": "smuggled", "name": "ConnectionString", "value": "evil"}}
	body, err = json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	if r := p.prod.Run("--space", "Prod Space", "bundle", "import", bundleFile(t, id, pl.SchemaVersion, body)); r.Code != 0 {
		t.Logf("refused: %s", r.Stderr)
	}
	var tenants []struct{ Name string }
	decodeJSON(t, p.prod.Must("--space", "Prod Space", "tenant", "list", "-o", "json").Stdout, &tenants)
	if len(tenants) != 0 {
		t.Fatalf("a bundle created tenants: %+v", tenants)
	}
}

// TestTenantDeleteRefusedWhileUsed: a tenant named by a variable's, a
// step's or a target's scope is not deleted (SPEC §7: a delete that would
// break a reference is refused, naming the referrer); one nothing names
// goes. Tenant and target names complete in the shell.
func TestTenantDeleteRefusedWhileUsed(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "t.yaml", `
environments: [{name: Development}]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Development]}]}]
projects:
  - name: Shop
    lifecycle: Main
    tenantedDeployments: both
    variables: [{name: Greeting, value: hi, tenants: [acme]}]
    process:
      - {name: A, type: script, script: echo, tenants: [acme, initech]}
tenants:
  - {name: acme, projects: {Shop: [Development]}}
  - {name: initech, projects: {Shop: [Development]}}
  - {name: globex, projects: {Shop: [Development]}}
`))
	// deploy --wait -o json gives the deployments as they ended (before:
	// as they were queued, every one "Queued").
	srv.Must("release", "create", "Shop", "--version", "1.0.0")
	r := srv.Run("deploy", "Shop", "1.0.0", "--to", "Development", "--tenant", "acme", "--tenant", "initech", "--wait", "-o", "json")
	var ended []struct{ Tenant, State string }
	if err := json.Unmarshal([]byte(r.Stdout), &ended); err != nil || r.Code != 0 || len(ended) != 2 {
		t.Fatalf("deploy --wait -o json: exit %d, %v\n%s", r.Code, err, r.Out())
	}
	for _, d := range ended {
		if d.State != "Success" {
			t.Errorf("deploy --wait -o json: %s is %s, want Success", d.Tenant, d.State)
		}
	}

	r = srv.Run("tenant", "delete", "acme")
	if r.Code != 6 || !strings.Contains(r.Stderr, "Shop: Greeting") || !strings.Contains(r.Stderr, "Shop: A") {
		t.Errorf("tenant delete acme, named by a variable and a step: exit %d, want 6 naming both\n%s", r.Code, r.Out())
	}
	r = srv.Run("tenant", "delete", "initech", "-o", "json")
	if r.Code != 6 || !strings.Contains(r.Stderr, "Shop: A") {
		t.Errorf("tenant delete initech, named by a step: exit %d, want 6\n%s", r.Code, r.Out())
	}
	srv.Must("tenant", "show", "acme")
	srv.Must("tenant", "delete", "globex")
	if r := srv.Run("tenant", "show", "globex"); r.Code == 0 {
		t.Errorf("globex still there after its delete\n%s", r.Out())
	}
	for _, args := range [][]string{{"tenant", "show", ""}, {"tenant", "var", "list", ""}, {"deploy", "Shop", "1.0", "--tenant", ""}} {
		r := srv.Run(append([]string{"__complete"}, args...)...)
		if !strings.Contains(r.Stdout, "acme\n") || !strings.Contains(r.Stdout, "initech\n") {
			t.Errorf("complete %q: lacks the tenants\n%s", args, r.Out())
		}
	}
}
