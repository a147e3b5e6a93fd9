package catalog_test

import (
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/catalog"
	"github.com/ferrydeploy/ferry/internal/config"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/tenants"
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

// TestPrunedTemplateTakesTenantValues: removing a template with apply
// --prune removes the tenants' values of it. Before, the sealed values
// stayed, unseen, and came back for a new template of the same name.
func TestPrunedTemplateTakesTenantValues(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	project := `environments: [{name: Dev}]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: Shop
    lifecycle: Main
    tenantedDeployments: both
    templates: [{name: DbPass, type: sensitive}, {name: Region}]
    process: [{name: A, type: script, script: "true"}]
`
	env.Apply("Dev", project)
	s, ctx := env.Set, env.Ctx
	if _, err := s.Tenants.Create(ctx, "Dev", tenants.CreateRequest{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tenants.Connect(ctx, "Dev", "acme", tenants.ConnectRequest{Project: "Shop", Environments: []string{"Dev"}}); err != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]string{"DbPass": "acme-S3cret", "Region": "eu"} {
		if _, err := s.Tenants.SetValue(ctx, "Dev", "acme", tenants.ValueRequest{Project: "Shop", Name: name, Value: value, Environment: "Dev"}); err != nil {
			t.Fatal(err)
		}
	}
	doc, err := config.Parse([]byte(strings.Replace(project, "{name: DbPass, type: sensitive}, ", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Catalog.ApplyWith(ctx, "Dev", doc, catalog.ApplyOptions{Prune: true}); err != nil {
		t.Fatal(err)
	}
	sp, err := env.Store.Spaces().Get(ctx, "Dev")
	if err != nil {
		t.Fatal(err)
	}
	got, err := env.Store.Tenants().Get(ctx, sp.ID, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Values) != 1 || got.Values[0].Name != "Region" {
		t.Fatalf("after the template DbPass was pruned, tenant acme holds %+v; want only Region", got.Values)
	}
}
