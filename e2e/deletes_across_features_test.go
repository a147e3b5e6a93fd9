package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestTeamDeleteMindsWaitingDeployments: a deployment of an older release
// waiting on a team keeps the team, though the project's process no
// longer names it: the step is frozen in the release. Before, the team
// went, and whoever created a team of that name next decided the step.
func TestTeamDeleteMindsWaitingDeployments(t *testing.T) {
	srv := ferrytest.Build(t).StartServer(t)
	doc := func(process string) string {
		return `environments: [{name: Dev}]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: Shop
    lifecycle: Main
    process: ` + process + "\n"
	}
	srv.Must("team", "create", "Board", "--role", "viewer")
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "v1.yaml", doc(`[{name: Gate, type: manual-intervention, instructions: Look., responsibleTeams: [Board]}]`)))
	srv.Must("release", "create", "Shop", "--version", "1.0.0")
	var d struct{ TaskID int64 }
	decodeJSON(t, srv.Must("deploy", "Shop", "1.0.0", "--to", "Dev", "-o", "json").Stdout, &d)
	id := strconv.FormatInt(d.TaskID, 10)
	ferrytest.WaitFor(t, 30*time.Second, "task "+id+" waiting", func() bool {
		var tk struct{ State string }
		decodeJSON(t, srv.Must("task", "show", id, "-o", "json").Stdout, &tk)
		return tk.State == "Waiting"
	})
	srv.Must("apply", "--prune", "-f", ferrytest.WriteFile(t, "v2.yaml", doc(`[{name: A, type: script, script: "true"}]`)))

	r := srv.Run("team", "delete", "Board")
	exitCode(t, r, 6, "team delete Board")
	contains(t, r.Stderr, `task "`+id+`"`, `step "Gate"`, "in-use", "ferry task approve|abort|cancel")
	srv.Must("task", "abort", id)
	srv.Must("team", "delete", "Board")
}
