package e2e

import (
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestPermissions: a deployer limited to one project and one environment
// can deploy exactly that and is refused everything else with a message
// naming the missing permission; the audit log shows who did what.
func TestPermissions(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "space.yaml", shopYAML))
	srv.Must("release", "create", "Shop", "--version", "1.0.0")
	srv.Must("release", "create", "Broken", "--version", "1")
	srv.Must("deploy", "Shop", "1.0.0", "--to", "Development", "--wait")
	srv.Must("space", "create", "Other")

	srv.Must("user", "create", "bob")
	srv.Must("team", "create", "Test deployers", "--role", "deployer", "--user", "bob", "--project", "Shop", "--env", "Test")
	key := strings.TrimSpace(srv.Must("user", "apikey", "bob", "--name", "laptop").Stdout)
	if !strings.HasPrefix(key, "ferry_") || strings.Contains(key, "\n") {
		t.Fatalf("user apikey printed %q, want only the key", key)
	}
	bob := func(args ...string) ferrytest.Result {
		return bin.Run(t, "", append([]string{"--server", srv.URL, "--api-key", key}, args...)...)
	}
	if r := bob("deploy", "Shop", "1.0.0", "--to", "Test", "--wait"); r.Code != 0 {
		t.Fatalf("bob's allowed deployment failed:\n%s", r.Out())
	}
	refused := func(want []string, args ...string) {
		t.Helper()
		r := bob(args...)
		if r.Code == 0 {
			t.Fatalf("bob may %v, but should be refused", args)
		}
		contains(t, r.Stderr, want...)
	}
	refused([]string{`permission "deploy"`, `environment "Production"`, "deployer"}, "deploy", "Shop", "1.0.0", "--to", "Production")
	refused([]string{`permission "deploy"`, `project "Broken"`}, "deploy", "Broken", "1", "--to", "Test")
	refused([]string{`permission "create-release"`}, "release", "create", "Shop", "--version", "2.0.0")
	refused([]string{`permission "edit-project"`}, "var", "set", "Shop", "Banner", "x")
	refused([]string{`permission "administer-space"`}, "remote-space", "add", "X", "--cert", "/dev/null")
	refused([]string{`permission "administer-space"`}, "apply", "-f", ferrytest.WriteFile(t, "env.yaml", "environments: [{name: Sneaky}]"))
	refused([]string{"system administrator"}, "user", "create", "mallory")
	refused([]string{"system administrator"}, "user", "list")
	refused([]string{"system administrator"}, "space", "create", "Mine")
	// A space bob is not a member of answers as one that does not exist.
	other, none := bob("--space", "Other", "project", "list"), bob("--space", "Nowhere", "project", "list")
	if other.Code != 4 || none.Code != 4 || strings.ReplaceAll(other.Stderr, "Other", "X") != strings.ReplaceAll(none.Stderr, "Nowhere", "X") {
		t.Errorf("a space bob is not in (%d):\n%s\nno such space (%d):\n%s", other.Code, other.Stderr, none.Code, none.Stderr)
	}
	contains(t, other.Stderr, `no space "Other" (or you are not a member of it)`, "Known spaces: Default")
	if a, b := bob("--space", "Other", "release", "show", "Shop", "1.0.0"), bob("--space", "Nowhere", "release", "show", "Shop", "1.0.0"); a.Code != b.Code || strings.ReplaceAll(a.Stderr, "Other", "X") != strings.ReplaceAll(b.Stderr, "Nowhere", "X") {
		t.Errorf("release show in a space bob is not in (%d):\n%s\nin none (%d):\n%s", a.Code, a.Stderr, b.Code, b.Stderr)
	}
	// A user in no team is not told that there are no spaces.
	srv.Must("user", "create", "carol")
	carolKey := strings.TrimSpace(srv.Must("user", "apikey", "carol", "--name", "laptop").Stdout)
	carol := bin.Run(t, "", "--server", srv.URL, "--api-key", carolKey, "--space", "Other", "project", "list")
	contains(t, carol.Stderr, `no space "Other" (or you are not a member of it)`, "you are not a member of any space")
	notContains(t, carol.Stderr, "there are no spaces")
	contains(t, bob("space", "list").Stdout, "Default")
	notContains(t, bob("space", "list").Stdout, "Other")
	notContains(t, bob("project", "list").Stdout, "Broken")

	// A revoked key is refused as unknown (401).
	contains(t, srv.Must("user", "keys", "bob").Stdout, "laptop", "active")
	srv.Must("user", "revoke-key", "bob", "2")
	r := bob("space", "list")
	if r.Code == 0 {
		t.Fatal("a revoked key still works")
	}
	contains(t, r.Stderr, "unknown or revoked")

	audit := srv.Must("audit", "list").Stdout
	contains(t, lineWith(t, audit, "Deploy Shop 1.0.0 to Test"), "bob", "deployment.create")
	contains(t, audit, "team.create")
}

// TestRemoteProjectPermissions: a team in the target space scoped to a
// remote project can deploy it.
func TestRemoteProjectPermissions(t *testing.T) {
	p := newPair(t)
	p.release(t)
	file := p.promote(t)
	prod := func(args ...string) []string { return append([]string{"--space", "Prod Space"}, args...) }
	p.prod.Must(prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}, {name: Staging}]
lifecycles: [{name: Production, phases: [{name: Live, environments: [Staging, Production]}]}]
`))...)
	p.prod.Must(prod("bundle", "import", file)...)
	p.prod.Must(prod("var", "set", "DevTest Space: My Project", "ConnectionString", "Server=prod", "--env", "Production")...)
	p.prod.Must("user", "create", "carol")
	p.prod.Must(prod("team", "create", "Ops", "--role", "deployer", "--user", "carol", "--project", "DevTest Space: My Project", "--env", "Production")...)
	key := strings.TrimSpace(p.prod.Must("user", "apikey", "carol").Stdout)
	carol := func(args ...string) ferrytest.Result {
		return ferrytest.Build(t).Run(t, "", append([]string{"--server", p.prod.URL, "--api-key", key, "--space", "Prod Space"}, args...)...)
	}
	if r := carol("deploy", "DevTest Space: My Project", "1.0.0", "--to", "Production", "--wait"); r.Code != 0 {
		t.Fatalf("carol may deploy the remote project to Production:\n%s", r.Out())
	}
	r := carol("bundle", "import", file)
	if r.Code == 0 {
		t.Fatal("carol may import bundles")
	}
	contains(t, r.Stderr, `permission "administer-space"`)
}
