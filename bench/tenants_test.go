package bench

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/dashboard"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/tenants"
)

// tenantSpace is a space with project Shop (Development → Production,
// tenanted deployments) and n tenants tagged Tier/All, each connected to
// Shop in both environments with its own Region value in each.
func tenantSpace(b *testing.B, n int) *servicetest.Env {
	b.Helper()
	env := servicetest.New(b)
	env.CreateSpace("Default")
	var y strings.Builder
	y.WriteString(`environments: [{name: Development}, {name: Production}]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Development]}, {name: Prod, environments: [Production]}]}]
projects:
  - name: Shop
    lifecycle: Main
    tenantedDeployments: tenanted
    templates: [{name: Region, type: text, required: true}]
    process: [{name: Hello, type: script, script: "echo hi"}]
tenants:
`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&y, "  - {name: tenant-%03d, tags: [Tier/All], projects: {Shop: [Development, Production]}}\n", i)
	}
	env.Apply("Default", y.String())
	for i := 0; i < n; i++ {
		for _, e := range []string{"Development", "Production"} {
			if _, err := env.Set.Tenants.SetValue(env.Ctx, "Default", fmt.Sprintf("tenant-%03d", i),
				tenants.ValueRequest{Project: "Shop", Name: "Region", Value: "r" + e, Environment: e}); err != nil {
				b.Fatal(err)
			}
		}
	}
	return env
}

// BenchmarkDeployTenants measures queueing one release for 500 tenants
// (SPEC §6: every check for every tenant, then 500 tasks, in one
// transaction), by tag and by 500 names; "baseline" queues the same 500
// deployments as 500 separate requests of one tenant each (what a script
// calling `ferry deploy --tenant T` in a loop does). Each iteration deploys
// a new release, so the history grows as it would.
//
//	go test -run x -bench DeployTenants -benchtime 5x ./bench/
func BenchmarkDeployTenants(b *testing.B) {
	const n = 500
	env := tenantSpace(b, n)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("tenant-%03d", i)
	}
	version := 0
	release := func() string {
		version++
		v := fmt.Sprintf("1.0.%d", version)
		env.Release("Default", "Shop", v)
		return v
	}
	run := func(name string, deployAll func(v string)) {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				v := release()
				b.StartTimer()
				deployAll(v)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/tenant")
		})
	}
	req := func(v string) deploy.Request {
		return deploy.Request{Project: "Shop", Version: v, Environment: "Development"}
	}
	run("by-tag", func(v string) {
		r := req(v)
		r.TenantTags = []string{"Tier/All"}
		if list, err := env.Set.Deploy.DeployTenants(env.Ctx, "Default", r); err != nil || len(list) != n {
			b.Fatalf("%d deployments, %v", len(list), err)
		}
	})
	run("by-name", func(v string) {
		r := req(v)
		r.Tenants = names
		if _, err := env.Set.Deploy.DeployTenants(env.Ctx, "Default", r); err != nil {
			b.Fatal(err)
		}
	})
	run("baseline-one-request-each", func(v string) {
		for _, t := range names {
			r := req(v)
			r.Tenant = t
			if _, err := env.Set.Deploy.Deploy(env.Ctx, "Default", r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTenantDashboard measures `ferry dashboard Shop --by-tenant`
// with 500 tenants (500 rows × 2 environments, every cell filled: 20
// releases deployed to every tenant in Development and Production, 20,000
// deployments, all finished); "baseline" is the project's ordinary
// dashboard row (dashboard.Service.Get of Shop) over the same data.
//
//	go test -run x -bench TenantDashboard -benchtime 20x ./bench/
func BenchmarkTenantDashboard(b *testing.B) {
	const n = 500
	env := tenantSpace(b, n)
	for r := 1; r <= 20; r++ {
		v := fmt.Sprintf("2.0.%d", r)
		env.Release("Default", "Shop", v)
		for _, e := range []string{"Development", "Production"} {
			if _, err := env.Set.Deploy.DeployTenants(env.Ctx, "Default", deploy.Request{Project: "Shop", Version: v, Environment: e, TenantTags: []string{"Tier/All"}}); err != nil {
				b.Fatal(err)
			}
			finishAll(b, env)
		}
	}
	b.Run("by-tenant", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			d, err := env.Set.Dashboard.ByTenant(env.Ctx, "Default", "Shop")
			if err != nil || len(d.Tenants) != n {
				b.Fatalf("%d rows, %v", len(d.Tenants), err)
			}
		}
	})
	b.Run("baseline-project-row", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := env.Set.Dashboard.Get(env.Ctx, "Default", "Shop", dashboard.Page{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// finishAll marks every queued task succeeded, as a runner would.
func finishAll(b *testing.B, env *servicetest.Env) {
	b.Helper()
	for {
		t, err := env.Store.Tasks().Claim(env.Ctx, "bench", time.Now())
		if errors.Is(err, domain.ErrNotFound) {
			return
		}
		if err != nil {
			b.Fatal(err)
		}
		if err := env.Store.Tasks().Finish(env.Ctx, t.ID, domain.TaskSuccess, "", time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
