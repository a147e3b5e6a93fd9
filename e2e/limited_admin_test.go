package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestLimitedSpaceAdminStaysInItsProjects: a space admin limited to one
// project may not decide who delivers another project's releases — which
// would let a space it trusts put code into a project it may not even
// view — nor import releases into one, nor read who delivers it. The
// administrators of the space may.
func TestLimitedSpaceAdminStaysInItsProjects(t *testing.T) {
	p := newPair(t)
	p.release(t)
	file := p.promote(t)
	prod := func(args ...string) string {
		return p.prod.Must(append([]string{"--space", "Prod Space"}, args...)...).Stdout
	}
	prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
lifecycles: [{name: Production, phases: [{name: Live, environments: [Production]}]}]
projects: [{name: Mine, lifecycle: Production, process: [{name: s, type: script, script: echo mine}]}]
`))
	p.dev.Must("space", "create", "Other Space")
	otherPEM := filepath.Join(t.TempDir(), "other.pem")
	p.dev.Must("space", "cert", "Other Space", "--out", otherPEM)
	prod("remote-space", "add", "Other Space", "--cert", otherPEM, "--trust", "releases")
	prod("user", "create", "sam")
	prod("team", "create", "Mine admins", "--role", "space-admin", "--user", "sam", "--project", "Mine")
	key := strings.TrimSpace(p.prod.Must("user", "apikey", "sam").Stdout)
	sam := func(args ...string) ferrytest.Result {
		return ferrytest.Build(t).Run(t, "", append([]string{"--server", p.prod.URL, "--api-key", key, "--space", "Prod Space"}, args...)...)
	}
	refused := func(wants []string, args ...string) {
		t.Helper()
		r := sam(args...)
		if r.Code == 0 {
			t.Fatalf("sam, a space admin of project Mine only, may %v:\n%s", args, r.Out())
		}
		contains(t, r.Stderr, wants...)
		notContains(t, r.Out(), "fingerprint FE", "ALSO DELIVERED BY")
	}

	refused([]string{"administer-space", "DevTest Space: My Project"}, "bundle", "import", file)
	notContains(t, prod("project", "list"), "My Project")
	prod("bundle", "import", file)
	refused([]string{"administer-space", "DevTest Space: My Project"}, "project", "deliverers", "DevTest Space: My Project", "--add", "Other Space")
	refused([]string{"view", "DevTest Space: My Project"}, "project", "deliverers", "DevTest Space: My Project")
	contains(t, prod("project", "deliverers", "DevTest Space: My Project"), "No other space")
	// Nor may it change what reaches every project: environments,
	// lifecycles, trust in other spaces, receipts, the package feed.
	spaceWide := []string{"only for some projects", "whole space"}
	refused(spaceWide, "env", "create", "Staging")
	refused(spaceWide, "apply", "-f", ferrytest.WriteFile(t, "env.yaml", "environments: [{name: Staging}]\n"))
	refused(spaceWide, "remote-space", "add", "Another", "--cert", otherPEM, "--trust", "releases")
	refused(spaceWide, "remote-space", "update", "Other Space", "--trust", "releases,receipts")
	refused(spaceWide, "remote-space", "revoke", "Other Space")
	receipts := filepath.Join(t.TempDir(), "receipts.json")
	p.dev.Must("--space", "DevTest Space", "receipt", "export", "--to", "Prod Space", "--all", "--out", receipts)
	refused(spaceWide, "receipt", "import", receipts)
	contains(t, prod("remote-space", "list"), "Other Space")
	notContains(t, prod("env", "list"), "Staging")
	// Within its project, sam administers as before.
	if r := sam("release", "create", "Mine", "--version", "1"); r.Code != 0 {
		t.Errorf("sam in its own project: %s", r.Out())
	}
}
