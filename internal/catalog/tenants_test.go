package catalog_test

import (
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/config"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/servicetest"
)

const tenantsYAML = `environments: [{name: Test}, {name: Production}]
remoteEnvironments: ["Prod Space: Live"]
lifecycles:
  - name: Main
    phases: [{name: T, environments: [Test]}, {name: P, environments: [Production]}]
projects:
  - name: Shop
    lifecycle: Main
    tenantedDeployments: both
    templates: [{name: DbUrl, type: sensitive, required: true}]
    variables:
      - {name: Banner, value: gold, tenantTags: [Tier/Gold]}
      - {name: Banner, value: acme, tenants: [acme]}
    process:
      - {name: Gold only, type: script, script: "echo gold", tenantTags: [Tier/Gold]}
tenants:
  - name: acme
    tags: [Tier/Gold, Region/EU]
    projects: {Shop: [Test, Production]}
  - name: globex
    projects: {Shop: [Test]}
`

// TestApplyTenantsRoundTrip: tenants, tenant scopes and
// tenantedDeployments apply, export and apply again without a change.
func TestApplyTenantsRoundTrip(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	env.CreateSpace("Prod Space")
	env.Trust("Dev", "Prod Space", "promote")
	env.Apply("Dev", tenantsYAML)
	tn, err := env.Set.Tenants.Show(env.Ctx, "Dev", "acme")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tn.Tags, ",") != "Region/EU,Tier/Gold" || !tn.ConnectedTo("Shop", "Production") {
		t.Fatalf("acme = %+v", tn)
	}
	doc, err := env.Set.Catalog.Export(env.Ctx, "Dev")
	if err != nil {
		t.Fatal(err)
	}
	out, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tenantedDeployments: both", "tenantTags:", "- Tier/Gold", "name: globex"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("export lacks %q:\n%s", want, out)
		}
	}
	again, err := config.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	res, err := env.Set.Catalog.Apply(env.Ctx, "Dev", again)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 0 {
		t.Fatalf("a round trip changed %v", res.Changes)
	}
}

// TestApplyTenantRefusals: a remote environment, an unknown project, a bad
// name and a bad tag are each refused, naming the problem.
func TestApplyTenantRefusals(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	env.CreateSpace("Prod Space")
	env.Trust("Dev", "Prod Space", "promote")
	env.Apply("Dev", tenantsYAML)
	for _, c := range []struct{ yaml, says string }{
		{"tenants: [{name: acme, projects: {Shop: [\"Prod Space: Live\"]}}]", "tenants belong to the space that deploys"},
		{"tenants: [{name: acme, projects: {Nope: [Test]}}]", `project "Nope" not found`},
		{"tenants: [{name: \"a b\"}]", "not a valid name"},
		{"tenants: [{name: x, tags: [NoSlash]}]", "SET/TAG"},
		{"tenants: [{name: x}, {name: x}]", "listed twice"},
	} {
		doc, err := config.Parse([]byte(c.yaml))
		if err != nil {
			t.Fatal(err)
		}
		_, err = env.Set.Catalog.Apply(env.Ctx, "Dev", doc)
		if domain.KindOf(err) != domain.KindInvalid && domain.KindOf(err) != domain.KindNotFound || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: got %v, want a refusal saying %q", c.yaml, err, c.says)
		}
	}
}
