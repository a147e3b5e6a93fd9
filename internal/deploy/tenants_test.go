package deploy_test

import (
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/tenants"
)

// mustTenant creates a tenant (with tags) connected to project in envs.
func mustTenant(t *testing.T, env *servicetest.Env, name, project string, envs ...string) {
	t.Helper()
	mustTagged(t, env, name, nil, project, envs...)
}

func mustTagged(t *testing.T, env *servicetest.Env, name string, tags []string, project string, envs ...string) {
	t.Helper()
	if _, err := env.Set.Tenants.Create(env.Ctx, "Dev", tenants.CreateRequest{Name: name, Tags: tags}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Set.Tenants.Connect(env.Ctx, "Dev", name, tenants.ConnectRequest{Project: project, Environments: envs}); err != nil {
		t.Fatal(err)
	}
}

func tenantValue(t *testing.T, env *servicetest.Env, tenant, project, name, value, in string) {
	t.Helper()
	if _, err := env.Set.Tenants.SetValue(env.Ctx, "Dev", tenant, tenants.ValueRequest{Project: project, Name: name, Value: value, Environment: in}); err != nil {
		t.Fatal(err)
	}
}

// TestDeployTenantsRefusesEverythingAtOnce: unknown tenants, tenants not
// connected, tags no connected tenant has and missing tenant values are
// all named in one refusal, and nothing is queued.
func TestDeployTenantsRefusesEverythingAtOnce(t *testing.T) {
	env := newShop(t)
	mustTenant(t, env, "acme", "Shop", "Dev")
	mustTenant(t, env, "globex", "Shop", "Dev")
	mustTenant(t, env, "initech", "Api", "Dev")
	_, err := env.Set.Deploy.DeployTenants(env.Ctx, "Dev", deploy.Request{Project: "Shop", Version: "1.0.0", Environment: "Dev",
		Tenants: []string{"acme", "nosuch", "initech", "ghost"}, TenantTags: []string{"Region/Mars"}})
	wantRefused(t, err, domain.KindInvalid, "nosuch", "ghost", "initech", "not connected", "Region/Mars", "nothing was queued")
	wantNoTasks(t, env)

	// Known and connected, but a value is missing for one of them.
	env.Apply("Dev", `projects:
  - name: Portal
    lifecycle: Main
    templates: [{name: Url, type: text, required: true}, {name: Key, type: sensitive, required: true}]
    process: [{name: S, type: script, script: "echo #{Url}"}]
`)
	env.Release("Dev", "Portal", "1.0.0")
	for _, n := range []string{"acme", "globex"} {
		if _, err := env.Set.Tenants.Connect(env.Ctx, "Dev", n, tenants.ConnectRequest{Project: "Portal", Environments: []string{"Dev"}}); err != nil {
			t.Fatal(err)
		}
	}
	tenantValue(t, env, "acme", "Portal", "Url", "https://acme", "Dev")
	tenantValue(t, env, "acme", "Portal", "Key", "acme-key", "Dev")
	tenantValue(t, env, "globex", "Portal", "Url", "https://globex", "Dev")
	_, err = env.Set.Deploy.DeployTenants(env.Ctx, "Dev", deploy.Request{Project: "Portal", Version: "1.0.0", Environment: "Dev", Tenants: []string{"acme", "globex"}})
	wantRefused(t, err, domain.KindInvalid, "tenant globex", "Key", "ferry tenant var set globex", "--sensitive")
	if strings.Contains(err.Error(), "tenant acme") {
		t.Errorf("acme has its value, yet was named: %v", err)
	}
	wantNoTasks(t, env)

	// Unknown tenant alone, and two more kinds of bad names.
	for _, bad := range []string{"nosuch", "x y", "-rf"} {
		_, err = env.Set.Deploy.DeployTenants(env.Ctx, "Dev", deploy.Request{Project: "Shop", Version: "1.0.0", Environment: "Dev", Tenants: []string{bad}})
		wantRefused(t, err, domain.KindInvalid, "tenant")
	}
	wantNoTasks(t, env)
}

func wantNoTasks(t *testing.T, env *servicetest.Env) {
	t.Helper()
	list, err := env.Set.Deploy.Tasks(env.Ctx, "Dev", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Fatalf("a refused deployment queued %d task(s)", len(list))
	}
}

// TestDeployTenantsOneTaskEach: a tag and a name give one task per tenant,
// each deployment naming its tenant; lifecycle progress is per tenant.
func TestDeployTenantsOneTaskEach(t *testing.T) {
	env := newShop(t)
	mustTagged(t, env, "acme", []string{"Tier/Gold"}, "Api", "Dev", "Test")
	mustTagged(t, env, "globex", []string{"Tier/Gold"}, "Api", "Dev", "Test")
	mustTagged(t, env, "initech", []string{"Tier/Free"}, "Api", "Dev", "Test")
	list, err := env.Set.Deploy.DeployTenants(env.Ctx, "Dev", deploy.Request{Project: "Api", Version: "1.0.0", Environment: "Dev",
		Tenants: []string{"initech"}, TenantTags: []string{"tier/gold"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range list {
		names = append(names, d.Tenant)
	}
	if strings.Join(names, ",") != "initech,acme,globex" {
		t.Fatalf("deployed for %v", names)
	}
	succeed(t, env) // initech succeeds in Dev; acme and globex stay queued
	if _, err := env.Set.Deploy.DeployTenants(env.Ctx, "Dev", deploy.Request{Project: "Api", Version: "1.0.0", Environment: "Test", Tenants: []string{"initech"}}); err != nil {
		t.Fatalf("initech succeeded in Dev: %v", err)
	}
	_, err = env.Set.Deploy.DeployTenants(env.Ctx, "Dev", deploy.Request{Project: "Api", Version: "1.0.0", Environment: "Test", Tenants: []string{"acme", "globex"}})
	wantRefused(t, err, domain.KindInvalid, "tenant acme", "tenant globex", `requires phase "Dev"`)
	// Untenanted progress is its own too.
	_, err = deployTo(env, env.Ctx, "Api", "Test")
	wantRefused(t, err, domain.KindInvalid, `requires phase "Dev"`)
}

// TestDeployTenantsUnknownDoesNotHideMissingValues: an unknown tenant, a
// tenant not connected and a tag nobody has are named in the same refusal
// as the missing values of the tenants that are known, so one correction
// is enough (before, the unknown tenant hid the rest).
func TestDeployTenantsUnknownDoesNotHideMissingValues(t *testing.T) {
	env := newShop(t)
	env.Apply("Dev", `projects:
  - name: Portal
    lifecycle: Main
    templates: [{name: Url, type: text, required: true}]
    process: [{name: S, type: script, script: "echo #{Url}"}]
`)
	env.Release("Dev", "Portal", "1.0.0")
	mustTenant(t, env, "acme", "Portal", "Dev")
	mustTenant(t, env, "initech", "Shop", "Dev")
	for _, tc := range []struct {
		tenants, tags []string
		other         string
	}{
		{[]string{"acme", "ghost"}, nil, "ghost"},
		{[]string{"acme", "initech"}, nil, "initech"},
		{[]string{"acme"}, []string{"Region/Mars"}, "Region/Mars"},
	} {
		_, err := env.Set.Deploy.DeployTenants(env.Ctx, "Dev", deploy.Request{Project: "Portal", Version: "1.0.0", Environment: "Dev", Tenants: tc.tenants, TenantTags: tc.tags})
		wantRefused(t, err, domain.KindInvalid, tc.other, "tenant acme", "Url", "ferry tenant var set acme", "nothing was queued")
	}
	wantNoTasks(t, env)
}

// TestTenantDeleteNeedsEveryProjectOfTheTenant: deleting a tenant removes
// its connections and values for every project, so a space administrator
// whose team is limited to another project, or to some environments, may
// not (before, any space-admin grant was enough).
func TestTenantDeleteNeedsEveryProjectOfTheTenant(t *testing.T) {
	env := newShop(t)
	mustTenant(t, env, "acme", "Shop", "Dev")
	mustTenant(t, env, "globex", "Api", "Dev")
	env.User("apiadmin", false)
	env.Grant("Dev", "apiadmin", "space-admin", []string{"Api"}, nil)
	env.User("devadmin", false)
	env.Grant("Dev", "devadmin", "space-admin", nil, []string{"Dev"})
	for _, who := range []string{"apiadmin", "devadmin"} {
		if _, err := env.Set.Tenants.Delete(env.As(who), "Dev", "acme"); domain.KindOf(err) != domain.KindForbidden {
			t.Errorf("%s deleting acme (connected to Shop): %v, want forbidden", who, err)
		}
	}
	if _, err := env.Set.Tenants.Show(env.Ctx, "Dev", "acme"); err != nil {
		t.Fatalf("acme gone: %v", err)
	}
	if _, err := env.Set.Tenants.Delete(env.As("apiadmin"), "Dev", "globex"); err != nil {
		t.Errorf("apiadmin deleting globex (connected to Api only): %v", err)
	}
}
