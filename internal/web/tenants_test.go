package web

import (
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/tenants"
)

// The tenants pages: the list with tags and projects, a tenant's projects
// and values (a sensitive value never shown), and a project's dashboard by
// tenant with a row for each connected tenant.
func TestTenantPages(t *testing.T) {
	f := newFixture(t)
	c, _ := f.signIn(t)
	ctx := f.env.Ctx
	f.env.Apply("Default", `environments: [{name: Dev}]
lifecycles: [{name: Main, phases: [{name: D, environments: [Dev]}]}]
projects:
  - name: Store
    lifecycle: Main
    templates: [{name: Key, type: sensitive, required: true}]
    process: [{name: S, type: script, script: "true"}]
tenants:
  - {name: acme, tags: [Tier/Gold], projects: {Store: [Dev]}}
  - {name: globex, projects: {Store: [Dev]}}
`)
	if _, err := f.s.Tenants.SetValue(ctx, "Default", "acme", tenants.ValueRequest{Project: "Store", Name: "Key", Value: "acme-S3CRET", Environment: "Dev"}); err != nil {
		t.Fatal(err)
	}
	f.env.Release("Default", "Store", "1.0.0")
	if _, err := f.s.Deploy.DeployTenants(ctx, "Default", deploy.Request{Project: "Store", Version: "1.0.0", Environment: "Dev", Tenants: []string{"acme"}}); err != nil {
		t.Fatal(err)
	}
	base := f.srv.URL + "/spaces/Default"
	for path, wants := range map[string][]string{
		"/tenants":                {"acme", "globex", "Tier/Gold", "Store"},
		"/tenants/acme":           {"Tenant acme", "Tier/Gold", "Key", "sensitive"},
		"/projects/Store/tenants": {"by tenant", "acme", "globex", "1.0.0", "Not deployed"},
	} {
		code, page, _ := get(t, c, base+path)
		if code != 200 {
			t.Fatalf("%s: %d\n%s", path, code, page)
		}
		for _, w := range wants {
			if !strings.Contains(page, w) {
				t.Errorf("%s lacks %q", path, w)
			}
		}
		if strings.Contains(page, "acme-S3CRET") {
			t.Errorf("%s shows a secret", path)
		}
	}
	if code, _, _ := get(t, c, base+"/tenants/nosuch"); code != 404 {
		t.Errorf("an unknown tenant's page: %d", code)
	}
}
