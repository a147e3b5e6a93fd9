package e2e

import (
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// devtestYAML is the README's DevTest space, with Prod's remote
// environment left out (this test has one server).
const devtestYAML = `environments: [{name: Development}, {name: Test}]
lifecycles:
  - name: Main
    phases:
      - {name: Dev, environments: [Development]}
      - {name: Test, environments: [Test]}
projects:
  - name: My Project
    lifecycle: Main
    templates:
      - {name: ConnectionString, type: sensitive, required: true}
    variables:
      - {name: Banner, value: hello}
    process:
      - name: Deploy
        type: script
        script: |
          echo "#{Banner} on #{Ferry.Environment.Name}"
`

// TestReadmeOrderKeepsValues follows the README: apply the file, set the
// per-environment values with var set, then apply the file again (as one
// does after editing it): the values survive, and the release deploys.
func TestReadmeOrderKeepsValues(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	file := ferrytest.WriteFile(t, "devtest.yaml", devtestYAML)
	srv.Must("apply", "-f", file)
	srv.RunInput("Server=dev\n", "var", "set", "My Project", "ConnectionString", "-", "--env", "Development", "--sensitive")
	srv.RunInput("Server=test\n", "var", "set", "My Project", "ConnectionString", "-", "--env", "Test", "--sensitive")
	srv.Must("var", "set", "My Project", "Banner", "hello test", "--env", "Test")

	out := srv.Must("apply", "-f", file).Stdout
	contains(t, out, "0 created, 0 updated",
		`kept variable ConnectionString [Development] of project "My Project"`,
		`kept variable ConnectionString [Test] of project "My Project"`,
		`kept variable Banner [Test] of project "My Project"`, "--prune removes it")
	edited := strings.Replace(devtestYAML, "value: hello}", "value: hello again}", 1)
	contains(t, srv.Must("apply", "-f", ferrytest.WriteFile(t, "edited.yaml", edited)).Stdout, "updated project My Project", "kept variable ConnectionString")
	srv.Must("release", "create", "My Project", "--version", "1.0.0")
	srv.Must("deploy", "My Project", "1.0.0", "--to", "Development", "--wait")
	contains(t, srv.Must("deploy", "My Project", "1.0.0", "--to", "Test", "--wait").Stdout, "hello test on Test")
	// export → apply round trip changes nothing either.
	exported := ferrytest.WriteFile(t, "export.yaml", srv.Must("export").Stdout)
	contains(t, srv.Must("apply", "-f", exported).Stdout, "0 created, 0 updated")
	contains(t, srv.Must("var", "list", "My Project").Stdout, "ConnectionString", "Development", "Test")
}

// TestApplyPruneAndDryRun: apply removes nothing it does not mention;
// --prune removes the steps, templates and values of listed projects the
// file does not list; --dry-run lists every change, removals first, and
// makes none.
func TestApplyPruneAndDryRun(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "shop.yaml", shopYAML))
	srv.Must("var", "set", "Shop", "Extra", "x", "--env", "Production")
	before := srv.Must("var", "list", "Shop").Stdout

	// The file no longer has the Test-scoped Banner, the Test-only step,
	// and project Broken; it changes a script and a value and adds things.
	changed := strings.NewReplacer(
		"      - name: Banner\n        value: test-banner\n        environments: [Test]\n", "",
		"      - name: Test only\n        type: script\n        environments: [Test]\n        script: echo \"only-in-test\"\n", "",
		"value: plain-banner", "value: new-banner",
		`echo "token=#{Token}"`, `echo "token: #{Token}"`,
		"  - name: Production\n", "  - name: Production\n  - name: Staging\n",
	).Replace(shopYAML)
	changed = changed[:strings.Index(changed, "  - name: Broken")]
	file := ferrytest.WriteFile(t, "changed.yaml", changed)

	dry := srv.Must("apply", "-f", file, "--prune", "--dry-run").Stdout
	lines := strings.Split(strings.TrimSpace(dry), "\n")
	want := []string{
		`would remove variable Banner [Test] of project "Shop"`,
		`would remove variable Extra [Production] of project "Shop"`,
		`would remove step Test only of project "Shop"`,
		`would create environment Staging`,
		`would update project Shop`,
		`would update step Announce of project "Shop" (changed: script)`,
		`would update variable Banner (unscoped) of project "Shop" ("plain-banner" → "new-banner")`,
		`nothing was changed`,
	}
	for _, w := range want {
		contains(t, dry, w)
	}
	lastRemove, firstOther := -1, len(lines)
	for i, l := range lines {
		if strings.HasPrefix(l, "would remove") {
			lastRemove = i
		} else if strings.HasPrefix(l, "would ") && i < firstOther {
			firstOther = i
		}
	}
	if lastRemove < 0 || lastRemove > firstOther {
		t.Errorf("removals are not listed first:\n%s", dry)
	}
	notContains(t, dry, "Broken") // projects the file does not list are never removed
	if after := srv.Must("var", "list", "Shop").Stdout; after != before {
		t.Errorf("a dry run changed the variables:\n%s\n---\n%s", before, after)
	}
	if strings.Contains(srv.Must("env", "list").Stdout, "Staging") {
		t.Error("a dry run created an environment")
	}

	// Without --prune, what the file leaves out stays.
	out := srv.Must("apply", "-f", file).Stdout
	contains(t, out, "created environment Staging", `updated step Announce of project "Shop"`,
		`kept variable Banner [Test] of project "Shop"`, `kept step Test only of project "Shop"`, `kept variable Extra [Production]`)
	srv.Must("release", "create", "Shop", "--version", "2.0.0")
	srv.Must("deploy", "Shop", "2.0.0", "--to", "Development", "--wait")
	contains(t, srv.Must("deploy", "Shop", "2.0.0", "--to", "Test", "--wait").Stdout, "test-banner", "only-in-test")
	contains(t, srv.Must("project", "list").Stdout, "Broken")

	// With --prune they go, and only they.
	out = srv.Must("apply", "-f", file, "--prune").Stdout
	contains(t, out, `removed variable Banner [Test] of project "Shop"`, `removed step Test only of project "Shop"`, `removed variable Extra [Production]`)
	vars := srv.Must("var", "list", "Shop").Stdout
	notContains(t, vars, "test-banner", "Extra")
	contains(t, vars, "new-banner", "Token")
	contains(t, srv.Must("apply", "-f", file, "--prune", "--dry-run").Stdout, "0 to create, 0 to update")
	contains(t, srv.Must("project", "list").Stdout, "Broken")
}

// TestExportedSecretMissing: after export → apply on a server that never
// had the secrets (`keep: true`), a release and a deployment that need one
// are refused, naming it and the command that sets it, instead of giving
// scripts "".
func TestExportedSecretMissing(t *testing.T) {
	bin := ferrytest.Build(t)
	a, b := bin.StartServer(t), bin.StartServer(t)
	a.Must("apply", "-f", ferrytest.WriteFile(t, "web.yaml", webYAML+`      - name: Prod only
        type: script
        environments: [Test]
        script: echo "scoped=#{Scoped}"
`))
	a.Must("var", "set", "Web", "Scoped", "sc0ped-S3cret", "--env", "Test", "--sensitive")
	a.Must("var", "set", "Web", "ConnectionString", "conn-dev", "--env", "Development")
	a.Must("var", "set", "Web", "ApiKey", "k3y-dev", "--env", "Development")
	exported := a.Must("export").Stdout
	contains(t, exported, "keep: true")
	notContains(t, exported, "first-T0ken-value", "sc0ped-S3cret", "conn-dev", "k3y-dev")

	r := b.Must("apply", "-f", ferrytest.WriteFile(t, "exported.yaml", exported))
	contains(t, r.Stderr, `sensitive variable "Token"`, "ferry var set Web Token - --sensitive")
	r = b.Fail("release", "create", "Web", "--version", "1.0.0")
	contains(t, r.Stderr, "cannot create release 1.0.0", "Token (unscoped)", "Scoped (Test)",
		"ferry var set Web Token - --sensitive", "ferry var set Web Scoped - --env Test --sensitive")
	b.RunInput("b-T0ken\n", "var", "set", "Web", "Token", "-", "--sensitive")
	r = b.Fail("release", "create", "Web", "--version", "1.0.0")
	contains(t, r.Stderr, "Scoped (Test)")
	notContains(t, r.Stderr, "Token (unscoped)")
	b.RunInput("b-sc0ped\n", "var", "set", "Web", "Scoped", "-", "--env", "Test", "--sensitive")
	b.Must("release", "create", "Web", "--version", "1.0.0")

	// Template values came across as not set too: the deployment is
	// refused, naming them, whether the template is required or not.
	r = b.Fail("deploy", "Web", "1.0.0", "--to", "Development")
	contains(t, r.Stderr, "ConnectionString", "ferry var set Web ConnectionString - --env Development --sensitive")
	b.RunInput("b-conn\n", "var", "set", "Web", "ConnectionString", "-", "--env", "Development")
	r = b.Fail("deploy", "Web", "1.0.0", "--to", "Development")
	contains(t, r.Stderr, "ApiKey", "not set in this space", "ferry var set Web ApiKey - --env Development --sensitive")
	b.RunInput("b-k3y\n", "var", "set", "Web", "ApiKey", "-", "--env", "Development")
	out := b.Must("deploy", "Web", "1.0.0", "--to", "Development", "--wait").Stdout
	contains(t, out, "conn=*** token=***", "conn-sha="+sha("b-conn"))
}
