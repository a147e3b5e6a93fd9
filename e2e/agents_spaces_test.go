package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestAgentStaysInItsSpace: an agent registered as a target of one space
// runs another space's steps only when someone who administers both spaces
// added it there. Before, the admin of space Default — with no role in
// space Prod — registered Prod's agent by its thumbprint (which Prod's
// viewers see) as a target of Default, and ran scripts on Prod's machine.
func TestAgentStaysInItsSpace(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	thumbprint := func(b byte) string { return strings.TrimSuffix(strings.Repeat(fmt.Sprintf("%02X:", b), 32), ":") }
	prodAgent, devAgent, sharedAgent := thumbprint(0xA1), thumbprint(0xB2), thumbprint(0xC3)
	srv.Must("space", "create", "Prod")
	srv.Must("--space", "Prod", "env", "create", "Production")
	srv.Must("env", "create", "Development")
	srv.Must("--space", "Prod", "target", "add", "db-1", "--env", "Production", "--role", "db", "--polling", "--thumbprint", prodAgent)
	as := func(user string) func(args ...string) ferrytest.Result {
		srv.Must("user", "create", user)
		return func(args ...string) ferrytest.Result {
			key := strings.TrimSpace(srv.Must("user", "apikey", user).Stdout)
			return bin.Run(t, "", append([]string{"--server", srv.URL, "--api-key", key}, args...)...)
		}
	}
	mallory, pat := as("mallory"), as("pat")
	srv.Must("team", "create", "Dev admins", "--role", "space-admin", "--user", "mallory")
	srv.Must("--space", "Prod", "team", "create", "Prod admins", "--role", "space-admin", "--user", "pat")

	refused := func(r ferrytest.Result, what string) {
		t.Helper()
		exitCode(t, r, 5, what)
		contains(t, r.Stderr, "another space")
	}
	refused(mallory("target", "add", "evil", "--env", "Development", "--role", "x", "--polling", "--thumbprint", prodAgent), "target add")
	refused(mallory("target", "add", "evil", "--env", "Development", "--role", "x", "--url", "https://127.0.0.1:9", "--thumbprint", prodAgent), "target add (listening)")
	doc := ferrytest.WriteFile(t, "targets.yaml", `targets:
  - {name: evil, environments: [Development], roles: [x], polling: true, thumbprint: "`+prodAgent+`"}
`)
	refused(mallory("apply", "-f", doc), "apply")
	if out := srv.Must("target", "list", "-o", "json").Stdout; strings.Contains(out, "evil") {
		t.Fatalf("a refused target was stored: %s", out)
	}

	// The other way round: what one space registered first, the other's
	// admin cannot take either.
	exitCode(t, mallory("target", "add", "dev-1", "--env", "Development", "--role", "x", "--polling", "--thumbprint", devAgent), 0, "target add dev-1")
	refused(pat("--space", "Prod", "target", "add", "grab", "--env", "Production", "--role", "x", "--polling", "--thumbprint", devAgent), "target add in Prod")

	// Someone who administers both spaces may share an agent between them.
	srv.Must("target", "add", "shared", "--env", "Development", "--role", "x", "--polling", "--thumbprint", sharedAgent)
	srv.Must("--space", "Prod", "target", "add", "shared", "--env", "Production", "--role", "x", "--polling", "--thumbprint", sharedAgent)
	srv.Must("target", "add", "db-too", "--env", "Development", "--role", "db", "--polling", "--thumbprint", prodAgent)
}

// TestLimitedAdminManagesNoTarget: a target serves the steps of every
// project of its environments, so adding, disabling, enabling or deleting
// one needs a space-admin grant over the whole space, as targets in
// `apply` did. Before, an admin limited to project Shop added their own
// machine with role db through `target add`, and received project
// Secret's db step — secrets substituted — when Secret deployed.
func TestLimitedAdminManagesNoTarget(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "space.yaml", `environments: [{name: Production}]
lifecycles: [{name: Main, phases: [{name: P, environments: [Production]}]}]
projects:
  - {name: Shop, lifecycle: Main, process: [{name: A, type: script, script: "true"}]}
  - name: Secret
    lifecycle: Main
    variables: [{name: Pw, value: top-S3cret, sensitive: true}]
    process: [{name: Db, type: script, roles: [db], script: "echo connecting with #{Pw}"}]
`))
	srv.Must("user", "create", "erin")
	srv.Must("team", "create", "Shop admins", "--role", "space-admin", "--user", "erin", "--project", "Shop")
	key := strings.TrimSpace(srv.Must("user", "apikey", "erin").Stdout)
	erin := func(args ...string) ferrytest.Result {
		return bin.Run(t, "", append([]string{"--server", srv.URL, "--api-key", key}, args...)...)
	}
	thumbprint := func(b byte) string { return strings.TrimSuffix(strings.Repeat(fmt.Sprintf("%02X:", b), 32), ":") }
	srv.Must("target", "add", "db-1", "--env", "Production", "--role", "db", "--polling", "--thumbprint", thumbprint(0xD1))
	for _, args := range [][]string{
		{"target", "add", "erin-box", "--env", "Production", "--role", "db", "--polling", "--thumbprint", thumbprint(0xE1)},
		{"target", "add", "erin-box", "--env", "Production", "--role", "db", "--url", "https://127.0.0.1:9", "--thumbprint", thumbprint(0xE2)},
		{"target", "disable", "db-1"},
		{"target", "enable", "db-1"},
		{"target", "delete", "db-1"},
	} {
		r := erin(args...)
		exitCode(t, r, 5, strings.Join(args, " "))
		contains(t, r.Stderr, "whole space")
	}
	out := srv.Must("target", "list", "-o", "json").Stdout
	notContains(t, out, "erin-box", `"disabled": true`)
	contains(t, out, "db-1")
}
