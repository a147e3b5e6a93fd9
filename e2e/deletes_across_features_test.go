package e2e

import (
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestDeletesReachLaterFeatures: deleting an environment, a lifecycle, a
// team or a project minds what tenants, targets, triggers, channels and
// manual interventions hold of it. Before, an environment went while a
// target and a trigger still named it, a lifecycle while a channel
// deployed through it (its releases then could not deploy at all), a team
// while a manual-intervention step waited for it (the project's
// deployments were then refused), and a project or environment left its
// tenant connections and sealed tenant values behind — to come back,
// secrets included, for a new project or environment of the same name.
func TestDeletesReachLaterFeatures(t *testing.T) {
	srv := ferrytest.Build(t).StartServer(t)
	space := `environments: [{name: Dev}, {name: Stage}, {name: Spare}]
lifecycles:
  - {name: Main, phases: [{name: Dev, environments: [Dev]}]}
  - {name: Hotfix, phases: [{name: Dev, environments: [Dev]}]}
projects:
  - name: Shop
    lifecycle: Main
    tenantedDeployments: both
    templates: [{name: DbPass, type: sensitive}]
    process: [{name: A, type: script, script: "true"}]
`
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "space.yaml", space))
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "cron.yaml", `projects:
  - name: Cron
    lifecycle: Main
    channels: [{name: Stable, default: true}, {name: Hot, lifecycle: Hotfix}]
    triggers: [{name: Nightly, type: schedule, cron: "0 0 2 * * *", sourceEnvironment: Dev, environment: Spare}]
    process:
      - {name: A, type: script, script: "true"}
      - {name: Gate, type: manual-intervention, instructions: Look., responsibleTeams: [Board]}
`))
	srv.Must("team", "create", "Board", "--role", "viewer")
	srv.Must("target", "add", "web-1", "--env", "Spare", "--role", "web", "--url", "https://127.0.0.1:9",
		"--thumbprint", strings.TrimSuffix(strings.Repeat("AB:", 32), ":"))
	fail := func(code int, args ...string) string {
		t.Helper()
		r := srv.Run(args...)
		exitCode(t, r, code, strings.Join(args, " "))
		return r.Stderr
	}
	contains(t, fail(6, "env", "delete", "Spare"), `target "web-1"`, `trigger "Cron: Nightly"`, "in-use", "ferry target delete")
	contains(t, fail(6, "lifecycle", "delete", "Hotfix"), `channel "Cron: Hot"`, "in-use")
	contains(t, fail(6, "team", "delete", "Board"), `step "Cron: Gate"`, "in-use")
	srv.Must("target", "delete", "web-1")
	srv.Must("project", "delete", "Cron")
	srv.Must("team", "delete", "Board")
	srv.Must("env", "delete", "Spare")
	srv.Must("lifecycle", "delete", "Hotfix")

	// Tenant connections and values go with the environment or project
	// they are for, and the delete says so.
	srv.Must("tenant", "create", "acme")
	srv.Must("tenant", "connect", "acme", "Shop", "--env", "Dev", "--env", "Stage")
	for _, env := range []string{"Dev", "Stage"} {
		r := srv.RunInput("dev-S3cret-"+env, "tenant", "var", "set", "acme", "Shop", "DbPass", "-", "--env", env, "--sensitive")
		exitCode(t, r, 0, "tenant var set")
	}
	contains(t, srv.Must("env", "delete", "Stage").Stdout, "1 tenant connection", "1 value")
	srv.Must("env", "create", "Stage")
	shown := srv.Must("tenant", "show", "acme", "-o", "json").Stdout
	notContains(t, shown, "Stage")
	contains(t, shown, "Dev")

	contains(t, srv.Must("project", "delete", "Shop").Stdout, "1 tenant connection", "1 value")
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "space.yaml", space))
	shown = srv.Must("tenant", "show", "acme", "-o", "json").Stdout
	notContains(t, shown, "Shop", "DbPass")
	srv.Must("tenant", "delete", "acme") // nothing was left behind that names it
}
