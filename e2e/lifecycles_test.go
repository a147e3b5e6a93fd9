package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
	"github.com/ferrydeploy/ferry/internal/store/pgtest"
)

// Issue 19: channels, manual intervention, triggers and lifecycle phases as
// Octopus has them, through the binary.

const channelsYAML = `environments:
  - name: Development
  - name: Test
  - name: Production
lifecycles:
  - name: Main
    phases:
      - {name: Dev, environments: [Development]}
      - {name: Test, environments: [Test]}
      - {name: Prod, environments: [Production]}
  - name: Hotfix
    phases:
      - {name: Test, environments: [Test]}
      - {name: Prod, environments: [Production]}
projects:
  - name: Shop
    lifecycle: Main
    channels:
      - name: Stable
        default: true
        rules:
          - {package: shop-web, versionRange: "[1.0,2.0)", tag: "^$"}
      - name: Hotfix
        lifecycle: Hotfix
        rules:
          - {package: shop-web, tag: "^hotfix"}
    process:
      - name: Install
        type: deploy-package
        package: shop-web
        destination: DEST/#{Ferry.Environment.Name}
`

// TestChannels: a channel's version rules refuse and accept packages,
// naming the rule a package breaks; a release remembers its channel and
// follows the channel's lifecycle.
func TestChannels(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	dest := t.TempDir()
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "shop.yaml", strings.ReplaceAll(channelsYAML, "DEST", dest)))
	for _, v := range []string{"1.5.0", "2.0.0", "1.6.0-beta.1", "1.5.1-hotfix.1", "0.9.0"} {
		zip := filepath.Join(t.TempDir(), "shop-web."+v+".zip")
		writeZip(t, zip, map[string][]byte{"index.html": []byte("shop " + v)})
		srv.Must("package", "push", zip, "--id", "shop-web", "--version", v)
	}

	refused := func(wants []string, args ...string) {
		t.Helper()
		r := srv.Fail(args...)
		if r.Code != 3 {
			t.Errorf("ferry %v: exit %d, want 3 (invalid)", args, r.Code)
		}
		contains(t, r.Stderr, wants...)
	}
	// The default channel (Stable) applies when none is named.
	refused([]string{`channel "Stable"`, "shop-web 2.0.0", `versionRange "[1.0,2.0)"`}, "release", "create", "Shop", "--version", "1.0.0", "--package", "shop-web:2.0.0")
	refused([]string{`channel "Stable"`, "shop-web 0.9.0", `[1.0,2.0)`}, "release", "create", "Shop", "--version", "1.0.0", "--package", "shop-web:0.9.0")
	refused([]string{`channel "Stable"`, "shop-web 1.6.0-beta.1", `tag "^$"`}, "release", "create", "Shop", "--version", "1.0.0", "--package", "shop-web:1.6.0-beta.1")
	refused([]string{`channel "Hotfix"`, "shop-web 1.5.0", `tag "^hotfix"`}, "release", "create", "Shop", "--version", "1.0.1", "--channel", "Hotfix", "--package", "shop-web:1.5.0")
	refused([]string{`no channel "Nightly"`, "Stable", "Hotfix"}, "release", "create", "Shop", "--version", "1.0.1", "--channel", "Nightly", "--package", "shop-web:1.5.0")

	srv.Must("release", "create", "Shop", "--version", "1.0.0", "--package", "shop-web:1.5.0")
	srv.Must("release", "create", "Shop", "--version", "1.0.1", "--channel", "Hotfix", "--package", "shop-web:1.5.1-hotfix.1")
	list := srv.Must("release", "list", "Shop").Stdout
	contains(t, list, "CHANNEL")
	contains(t, lineWith(t, list, "1.0.0"), "Stable")
	contains(t, lineWith(t, list, "1.0.1"), "Hotfix")
	var rels []struct{ Version, Channel string }
	decodeJSON(t, srv.Must("release", "list", "Shop", "-o", "json").Stdout, &rels)
	if len(rels) != 2 || rels[0].Channel != "Hotfix" || rels[1].Channel != "Stable" {
		t.Fatalf("release list -o json = %+v", rels)
	}

	// Stable follows the project's lifecycle: Development first.
	r := srv.Fail("deploy", "Shop", "1.0.0", "--to", "Test")
	contains(t, r.Stderr, `lifecycle "Main"`, `phase "Dev"`)
	// Hotfix follows its own: Test first, Development is not in it.
	r = srv.Fail("deploy", "Shop", "1.0.1", "--to", "Development")
	contains(t, r.Stderr, `lifecycle "Hotfix"`)
	r = srv.Fail("deploy", "Shop", "1.0.1", "--to", "Production")
	contains(t, r.Stderr, `lifecycle "Hotfix"`, `phase "Test"`)
	srv.Must("deploy", "Shop", "1.0.1", "--to", "Test", "--wait")
	srv.Must("deploy", "Shop", "1.0.1", "--to", "Production", "--wait")
	contains(t, srv.Must("release", "show", "Shop", "1.0.1").Stdout, "Hotfix")
}

const interventionYAML = `environments:
  - name: Production
lifecycles:
  - name: Main
    phases:
      - {name: Prod, environments: [Production]}
projects:
  - name: Shop
    lifecycle: Main
    process:
      - name: Before
        type: script
        script: echo before-the-wait
      - name: Sign-off
        type: manual-intervention
        instructions: Check the change ticket, then approve.
        responsibleTeams: [Approvers]
        preventSelfApproval: true
      - name: After
        type: script
        script: echo after-the-wait
`

// deployed is what `release show -o json` says of a release's deployments.
type deployed struct {
	Deployments []struct{ Environment, State, CreatedBy string }
}

type waitingTask struct {
	ID           int64
	State        string
	Error        string
	Intervention *struct {
		Step                string
		Instructions        string
		ResponsibleTeams    []string
		PreventSelfApproval bool
		Deployer            string
	}
}

// TestManualIntervention: a deployment waits for approval; the deployer
// who started it may not approve (four eyes), nor may someone outside the
// responsible teams; a team member approves with a note and the deployment
// goes on. The wait survives a restart; abort and cancel end it.
func TestManualIntervention(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "shop.yaml", interventionYAML))
	srv.Must("release", "create", "Shop", "--version", "1.0.0")
	// release show says what the wait is, not an empty script.
	contains(t, srv.Must("release", "show", "Shop", "1.0.0").Stdout, "Sign-off [manual-intervention]",
		"waits for approval by: Approvers (or a space administrator)", "the deployer may not approve it",
		"| Check the change ticket, then approve.")
	for _, u := range []string{"alice", "bob", "carol"} {
		srv.Must("user", "create", u)
	}
	srv.Must("team", "create", "Deployers", "--role", "deployer", "--user", "alice", "--user", "carol")
	srv.Must("team", "create", "Approvers", "--role", "viewer", "--user", "alice", "--user", "bob")
	as := map[string]func(args ...string) ferrytest.Result{}
	for _, u := range []string{"alice", "bob", "carol"} {
		key := strings.TrimSpace(srv.Must("user", "apikey", u).Stdout)
		as[u] = func(args ...string) ferrytest.Result {
			return bin.Run(t, "", append([]string{"--server", srv.URL, "--api-key", key}, args...)...)
		}
	}

	deploy := func() int64 {
		t.Helper()
		r := as["alice"]("deploy", "Shop", "1.0.0", "--to", "Production", "-o", "json")
		if r.Code != 0 {
			t.Fatalf("deploy: %s", r.Out())
		}
		var d struct{ TaskID int64 }
		decodeJSON(t, r.Stdout, &d)
		if d.TaskID == 0 {
			t.Fatalf("deploy -o json has no taskId: %s", r.Stdout)
		}
		return d.TaskID
	}
	waitState := func(id int64, state string) {
		t.Helper()
		ferrytest.WaitFor(t, 30*time.Second, "task "+strconv.FormatInt(id, 10)+" "+state, func() bool {
			var tk waitingTask
			decodeJSON(t, srv.Must("task", "show", strconv.FormatInt(id, 10), "-o", "json").Stdout, &tk)
			return tk.State == state
		})
	}
	id := deploy()
	sid := strconv.FormatInt(id, 10)
	waitState(id, "Waiting")

	var waiting []waitingTask
	decodeJSON(t, srv.Must("task", "list", "--waiting", "-o", "json").Stdout, &waiting)
	if len(waiting) != 1 || waiting[0].ID != id || waiting[0].Intervention == nil {
		t.Fatalf("task list --waiting = %+v", waiting)
	}
	iv := waiting[0].Intervention
	if iv.Step != "Sign-off" || iv.Deployer != "alice" || !iv.PreventSelfApproval || len(iv.ResponsibleTeams) != 1 || !strings.Contains(iv.Instructions, "change ticket") {
		t.Errorf("intervention = %+v", iv)
	}
	contains(t, srv.Must("task", "list", "--waiting").Stdout, "Waiting", "Deploy Shop 1.0.0 to Production")
	log := srv.Must("task", "log", sid).Stdout
	contains(t, log, "before-the-wait", "Check the change ticket", "Approvers")
	notContains(t, log, "after-the-wait")

	// Four eyes: alice, in Approvers, started it and may not approve it.
	r := as["alice"]("task", "approve", sid)
	if r.Code != 5 {
		t.Errorf("alice approving her own deployment: exit %d, want 5\n%s", r.Code, r.Out())
	}
	contains(t, r.Stderr, "started this deployment")
	// carol may deploy, but is not in a responsible team.
	r = as["carol"]("task", "approve", sid)
	if r.Code != 5 {
		t.Errorf("carol approving: exit %d, want 5\n%s", r.Code, r.Out())
	}
	contains(t, r.Stderr, "Approvers")

	// Nothing waits in memory: the wait outlives the server.
	srv.Stop()
	srv.Restart()
	waitState(id, "Waiting")

	// A responsible team decides only where its own grant reaches: limited
	// to another project, Approvers does not decide Shop's step, even for
	// bob, who views Shop through Watchers.
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "elsewhere.yaml", "projects: [{name: Elsewhere, lifecycle: Main}]\n"))
	srv.Must("team", "create", "Watchers", "--role", "viewer", "--user", "bob")
	srv.Must("team", "update", "Approvers", "--project", "Elsewhere")
	r = as["bob"]("task", "approve", sid)
	if r.Code == 0 {
		t.Fatalf("bob approved through a team limited to another project: %s", r.Out())
	}
	contains(t, r.Stderr, "Approvers", `does not cover project "Shop"`)
	srv.Must("team", "update", "Approvers", "--project", "Shop")

	r = as["bob"]("task", "approve", sid, "--note", "ticket CHG-42 checked")
	if r.Code != 0 {
		t.Fatalf("bob approving: %s", r.Out())
	}
	waitState(id, "Success")
	log = srv.Must("task", "log", sid).Stdout
	contains(t, log, "after-the-wait", "approved by bob", "ticket CHG-42 checked")
	if strings.Count(log, "before-the-wait") != 1 {
		t.Errorf("the step before the wait ran again after approval:\n%s", log)
	}
	audit := srv.Must("audit", "list").Stdout
	contains(t, lineWith(t, audit, "task.approve"), "bob")
	var events []struct {
		Actor, Action string
		Details       map[string]string
	}
	decodeJSON(t, srv.Must("audit", "list", "-o", "json").Stdout, &events)
	found := false
	for _, e := range events {
		if e.Action == "task.approve" && e.Actor == "bob" && e.Details["note"] == "ticket CHG-42 checked" && e.Details["task"] == sid {
			found = true
		}
	}
	if !found {
		t.Errorf("no task.approve audit event by bob with the note: %+v", events)
	}
	r = as["bob"]("task", "approve", sid)
	if r.Code != 6 {
		t.Errorf("approving a finished task: exit %d, want 6 (conflict)\n%s", r.Code, r.Out())
	}

	// Abort: the deployment fails there, naming who and why.
	id2 := deploy()
	waitState(id2, "Waiting")
	as["bob"]("task", "abort", strconv.FormatInt(id2, 10), "--note", "wrong window")
	waitState(id2, "Failed")
	log = srv.Must("task", "log", strconv.FormatInt(id2, 10)).Stdout
	contains(t, log, "aborted by bob", "wrong window")
	notContains(t, log, "after-the-wait")
	// The deployer may abort her own deployment, and cancel it.
	id3 := deploy()
	waitState(id3, "Waiting")
	if r := as["alice"]("task", "cancel", strconv.FormatInt(id3, 10)); r.Code != 0 {
		t.Fatalf("cancel a waiting task: %s", r.Out())
	}
	waitState(id3, "Cancelled")
	decodeJSON(t, srv.Must("task", "list", "--waiting", "-o", "json").Stdout, &waiting)
	if len(waiting) != 0 {
		t.Errorf("task list --waiting after every decision = %+v", waiting)
	}
}

// TestOnArrivalTrigger: Prod sets an on-arrival trigger on the remote
// project with apply; the next release it imports is deployed to
// Production as it arrives. A trigger that cannot deploy is visible, and
// the import still succeeds.
func TestOnArrivalTrigger(t *testing.T) {
	p := newPair(t)
	p.release(t)
	prod := func(args ...string) ferrytest.Result {
		return p.prod.Must(append([]string{"--space", "Prod Space"}, args...)...)
	}
	prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Staging}, {name: Production}]
lifecycles:
  - name: Production
    phases:
      - {name: Staging, environments: [Staging], optional: true}
      - {name: Live, environments: [Production]}
`))
	prod("bundle", "import", p.promote(t), "--lifecycle", "Production")
	remote := "DevTest Space: My Project"
	prod("var", "set", remote, "ConnectionString", "Server=prod-db", "--env", "Production")
	// Triggers are the deploying space's: set on the imported project.
	prod("apply", "-f", ferrytest.WriteFile(t, "triggers.yaml", `projects:
  - name: "`+remote+`"
    triggers:
      - {name: Deploy on arrival, type: on-arrival, environment: Production}
      - {name: Stage on arrival, type: on-arrival, environment: Staging}
`))
	r := p.prod.Fail("--space", "Prod Space", "apply", "-f", ferrytest.WriteFile(t, "process.yaml", `projects:
  - name: "`+remote+`"
    process: [{name: Sneak, type: script, script: echo hi}]
`))
	contains(t, r.Stderr, "read-only")

	d := func(args ...string) ferrytest.Result {
		return p.dev.Must(append([]string{"--space", "DevTest Space"}, args...)...)
	}
	d("release", "create", "My Project", "--version", "1.0.1")
	d("deploy", "My Project", "1.0.1", "--to", "Development", "--wait")
	d("deploy", "My Project", "1.0.1", "--to", "Test", "--wait")
	file := filepath.Join(t.TempDir(), "1.0.1.bundle")
	d("promote", "My Project", "1.0.1", "--to", "Prod Space", "--out", file)
	prod("bundle", "import", file)

	var shown deployed
	ferrytest.WaitFor(t, 60*time.Second, "the trigger's deployment to succeed", func() bool {
		decodeJSON(t, prod("release", "show", remote, "1.0.1", "-o", "json").Stdout, &shown)
		for _, dep := range shown.Deployments {
			if dep.Environment == "Production" && dep.State == "Success" {
				return true
			}
		}
		return false
	})
	for _, dep := range shown.Deployments {
		if dep.Environment == "Production" && dep.CreatedBy != "trigger:Deploy on arrival" {
			t.Errorf("the trigger's deployment was created by %q", dep.CreatedBy)
		}
	}
	audit := prod("audit", "list").Stdout
	contains(t, lineWith(t, audit, "trigger.fire"), "trigger:")
	triggers := prod("trigger", "list", remote).Stdout
	contains(t, lineWith(t, triggers, "Deploy on arrival"), "1.0.1", "Production")
	// Staging lacks ConnectionString: the firing failed, and says why.
	contains(t, lineWith(t, triggers, "Stage on arrival"), "failed", "ConnectionString")
	var statuses []struct {
		Name string
		Last *struct {
			OK      bool
			Version string
			Result  string
		}
	}
	decodeJSON(t, prod("trigger", "list", remote, "-o", "json").Stdout, &statuses)
	for _, s := range statuses {
		if s.Last == nil || s.Last.Version != "1.0.1" || s.Last.OK != (s.Name == "Deploy on arrival") {
			t.Errorf("trigger %q last firing = %+v", s.Name, s.Last)
		}
	}
	// What apply set on the remote project is exported; its process is not.
	exported := prod("export").Stdout
	contains(t, exported, remote, "Deploy on arrival")
	notContains(t, exported, "Sneak", "Announce")
}

// TestScheduleTrigger: a schedule trigger (cron "* * * * *", each minute,
// the most often a schedule may fire) deploys the latest successful
// release of Test to Production, as a system actor naming the trigger.
// The server polls its triggers every 100ms here (FERRY_SCHEDULER_POLL);
// the exact once-per-due-time rules run on a settable clock in
// internal/trigger's tests. Schedules that never fire or fire more than
// once a minute are refused.
func TestScheduleTrigger(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t, "FERRY_SCHEDULER_POLL=100ms")
	const base = `environments: [{name: Test}, {name: Production}]
lifecycles:
  - name: Main
    phases:
      - {name: Test, environments: [Test]}
      - {name: Prod, environments: [Production]}
projects:
  - name: Shop
    lifecycle: Main
    process: [{name: Hello, type: script, script: echo hello}]
`
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "shop.yaml", base))
	for _, bad := range []struct{ cron, tz, want string }{
		{"61 * * * *", "UTC", `cron "61 * * * *"`},
		{"0 2 * * *", "Mars/Olympus", `timezone "Mars/Olympus"`},
		{"0 2 * * * * *", "", "cron"},
		{"0 0 30 2 *", "", "never fires"},
		{"0 0 31 11 *", "Europe/Berlin", "never fires"},
		{"* * * * * *", "", "at most once a minute"},
		{"*/10 * * * * *", "", "at most once a minute"},
		{"@every 5s", "", "at most once a minute"},
	} {
		r := srv.Fail("apply", "-f", ferrytest.WriteFile(t, "bad.yaml", `projects:
  - name: Shop
    lifecycle: Main
    triggers: [{name: Bad, type: schedule, cron: "`+bad.cron+`", timezone: "`+bad.tz+`", sourceEnvironment: Test, environment: Production}]
`))
		if r.Code != 3 {
			t.Errorf("cron %q: exit %d, want 3 (invalid)", bad.cron, r.Code)
		}
		contains(t, r.Stderr, bad.want, `trigger "Bad"`)
	}

	srv.Must("release", "create", "Shop", "--version", "1.0.0")
	srv.Must("release", "create", "Shop", "--version", "1.1.0")
	srv.Must("deploy", "Shop", "1.0.0", "--to", "Test", "--wait")
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "trigger.yaml", base+`    triggers:
      - name: Nightly
        type: schedule
        cron: "* * * * *"
        timezone: Europe/Berlin
        sourceEnvironment: Test
        environment: Production
`))
	var shown deployed
	ferrytest.WaitFor(t, 150*time.Second, "the schedule trigger to deploy 1.0.0 to Production (at the next minute)", func() bool {
		decodeJSON(t, srv.Must("release", "show", "Shop", "1.0.0", "-o", "json").Stdout, &shown)
		for _, d := range shown.Deployments {
			if d.Environment == "Production" && d.State == "Success" {
				return true
			}
		}
		return false
	})
	for _, d := range shown.Deployments {
		if d.Environment == "Production" && d.CreatedBy != "trigger:Nightly" {
			t.Errorf("scheduled deployment %+v, want one by trigger:Nightly", d)
		}
	}
	var later deployed
	decodeJSON(t, srv.Must("release", "show", "Shop", "1.1.0", "-o", "json").Stdout, &later)
	if len(later.Deployments) != 0 {
		t.Errorf("1.1.0 never reached Test, yet was deployed: %+v", later.Deployments)
	}
	contains(t, lineWith(t, srv.Must("trigger", "list", "Shop").Stdout, "Nightly"), "1.0.0", "Production")
	var events []struct{ Actor, Action string }
	decodeJSON(t, srv.Must("audit", "list", "-o", "json").Stdout, &events)
	fired := false
	for _, e := range events {
		fired = fired || e.Action == "trigger.fire" && e.Actor == "trigger:Nightly"
	}
	if !fired {
		t.Errorf("no trigger.fire event by trigger:Nightly")
	}
}

const phasesYAML = `environments:
  - name: Dev A
  - name: Dev B
  - name: Test
  - name: QA
  - name: Staging
  - name: Security
  - name: Production
lifecycles:
  - name: Main
    phases:
      - {name: Dev, environments: [Dev A, Dev B]}
      - {name: Test, environments: [Test, QA], minimumEnvironmentsBeforePromotion: 1}
      - {name: Staging, environments: [Staging], optional: true}
      - {name: Prod, environments: [Production]}
projects:
  - name: Shop
    lifecycle: Main
    process: [{name: Hello, type: script, script: echo hello}]
`

// TestPhaseRules: every environment of a phase by default, a minimum when
// set, optional phases skipped, and the inserted-phase redeploy.
func TestPhaseRules(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "phases.yaml", phasesYAML))
	srv.Must("release", "create", "Shop", "--version", "1.0.0")
	deploy := func(v, env string) { srv.Must("deploy", "Shop", v, "--to", env, "--wait") }

	deploy("1.0.0", "Dev A")
	r := srv.Fail("deploy", "Shop", "1.0.0", "--to", "Test")
	contains(t, r.Stderr, `phase "Dev"`, "Dev B")
	deploy("1.0.0", "Dev B")
	deploy("1.0.0", "Test") // QA is not needed: a minimum of one
	// Staging is optional: Production opens without it.
	deploy("1.0.0", "Production")
	contains(t, srv.Fail("apply", "-f", ferrytest.WriteFile(t, "min.yaml", strings.Replace(phasesYAML, "minimumEnvironmentsBeforePromotion: 1", "minimumEnvironmentsBeforePromotion: 3", 1))).Stderr,
		"minimumEnvironmentsBeforePromotion", "3")

	// A phase inserted before Production: 1.0.0 may go there again, a new
	// release may not until it passed the new phase.
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "inserted.yaml", strings.Replace(phasesYAML,
		"      - {name: Prod,", "      - {name: Security, environments: [Security]}\n      - {name: Prod,", 1)))
	deploy("1.0.0", "Production")
	srv.Must("release", "create", "Shop", "--version", "1.1.0")
	for _, env := range []string{"Dev A", "Dev B", "QA"} {
		deploy("1.1.0", env)
	}
	r = srv.Fail("deploy", "Shop", "1.1.0", "--to", "Production")
	contains(t, r.Stderr, `phase "Security"`)
	deploy("1.1.0", "Security")
	deploy("1.1.0", "Production")

	// The lifecycle shows its rules.
	contains(t, srv.Must("lifecycle", "show", "Main").Stdout, "Dev  (all must succeed)", "Test  (1 of 2 must succeed)", "Staging  (optional: may be skipped)")
	var lcs []struct {
		Phases []struct {
			Name                               string
			Optional                           bool
			MinimumEnvironmentsBeforePromotion int
		}
	}
	decodeJSON(t, srv.Must("lifecycle", "list", "-o", "json").Stdout, &lcs)
	if len(lcs) != 1 || len(lcs[0].Phases) != 5 || !lcs[0].Phases[2].Optional || lcs[0].Phases[1].MinimumEnvironmentsBeforePromotion != 1 {
		t.Errorf("lifecycle list = %+v", lcs)
	}
}

// TestHAManualIntervention: with two nodes on PostgreSQL, a deployment
// waits at a manual intervention without holding either node; the node
// that ran it dies; the approval, given through the other node, lets that
// node go on with it.
func TestHAManualIntervention(t *testing.T) {
	bin := ferrytest.Build(t)
	cluster := pgtest.Start(t)
	dbURL := cluster.NewDatabase(t)
	data := filepath.Join(t.TempDir(), "data")
	cfg := func(node string) ferrytest.ServerConfig {
		return ferrytest.ServerConfig{Data: data, Env: []string{
			"FERRY_DATABASE_URL=" + dbURL, "FERRY_NODE=" + node,
			"FERRY_HEARTBEAT_INTERVAL=200ms", "FERRY_NODE_TIMEOUT=1s",
		}}
	}
	nodes := bin.StartServers(t, cfg("node-a"), cfg("node-b"))
	a, b := nodes[0], nodes[1]
	a.Must("apply", "-f", ferrytest.WriteFile(t, "gate.yaml", strings.Replace(interventionYAML, "        responsibleTeams: [Approvers]\n        preventSelfApproval: true\n", "", 1)))
	a.Must("release", "create", "Shop", "--version", "1.0.0")
	var d struct{ TaskID int64 }
	decodeJSON(t, a.Must("deploy", "Shop", "1.0.0", "--to", "Production", "-o", "json").Stdout, &d)
	id := strconv.FormatInt(d.TaskID, 10)
	state := func(s *ferrytest.Server, want string) {
		t.Helper()
		ferrytest.WaitFor(t, 60*time.Second, "task "+id+" "+want, func() bool {
			var tk waitingTask
			decodeJSON(t, s.Must("task", "show", id, "-o", "json").Stdout, &tk)
			return tk.State == want
		})
	}
	state(b, "Waiting")
	for _, s := range nodes {
		if h := health(t, s); h.Queue.Executing != 0 {
			t.Errorf("%s: %d tasks executing while the only one waits", h.Node, h.Queue.Executing)
		}
	}
	a.Kill()
	b.Must("task", "approve", id, "--note", "approved through node-b")
	state(b, "Success")
	log := b.Must("task", "log", id).Stdout
	contains(t, log, "after-the-wait", "approved by admin", "approved through node-b")
}

// TestChannelAcrossSpaces: a bundle carries its release's channel name;
// in the target space a channel of that name on the remote project (set
// with apply, a lifecycle and no rules) chooses the lifecycle the release
// follows there.
func TestChannelAcrossSpaces(t *testing.T) {
	p := newPair(t)
	d := func(args ...string) ferrytest.Result {
		return p.dev.Must(append([]string{"--space", "DevTest Space"}, args...)...)
	}
	yaml := strings.Replace(devTestYAML, "projects:\n", `  - name: Hotfix
    phases:
      - {name: Prod, environments: ["Prod Space: Production"]}
projects:
`, 1) + `    channels:
      - {name: Stable, default: true}
      - {name: Hotfix, lifecycle: Hotfix}
    triggers:
      - {name: NightlyDevToTest, type: schedule, cron: "0 2 * * *", sourceEnvironment: Development, environment: Test}
`
	d("apply", "-f", ferrytest.WriteFile(t, "devtest.yaml", yaml))
	d("release", "create", "My Project", "--version", "1.0.0")
	d("release", "create", "My Project", "--version", "1.0.1-hotfix", "--channel", "Hotfix")
	// The hotfix goes straight to Prod Space; the stable release may not.
	r := p.dev.Fail("--space", "DevTest Space", "promote", "My Project", "1.0.0", "--to", "Prod Space", "--out", filepath.Join(t.TempDir(), "x"))
	contains(t, r.Stderr, `lifecycle "Main"`)
	file := filepath.Join(t.TempDir(), "hotfix.bundle")
	d("promote", "My Project", "1.0.1-hotfix", "--to", "Prod Space", "--out", file)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	payload := decodedPayload(t, data)
	contains(t, payload, `"channel":"Hotfix"`)
	notContains(t, payload, "NightlyDevToTest", "trigger")

	prod := func(args ...string) ferrytest.Result {
		return p.prod.Must(append([]string{"--space", "Prod Space"}, args...)...)
	}
	prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Staging}, {name: Production}]
lifecycles:
  - {name: Production, phases: [{name: Staging, environments: [Staging]}, {name: Live, environments: [Production]}]}
  - {name: Straight, phases: [{name: Live, environments: [Production]}]}
`))
	remote := "DevTest Space: My Project"
	prod("bundle", "import", file, "--lifecycle", "Production")
	prod("var", "set", remote, "ConnectionString", "Server=prod-db", "--env", "Production")
	var rel struct{ Channel string }
	decodeJSON(t, prod("release", "show", remote, "1.0.1-hotfix", "-o", "json").Stdout, &rel)
	if rel.Channel != "Hotfix" {
		t.Errorf("the imported release's channel is %q, want Hotfix", rel.Channel)
	}
	// No Hotfix channel here yet: the remote project's lifecycle applies.
	r = p.prod.Fail("--space", "Prod Space", "deploy", remote, "1.0.1-hotfix", "--to", "Production")
	contains(t, r.Stderr, `lifecycle "Production"`, `phase "Staging"`)
	r = p.prod.Fail("--space", "Prod Space", "apply", "-f", ferrytest.WriteFile(t, "rules.yaml", `projects:
  - name: "`+remote+`"
    channels: [{name: Hotfix, lifecycle: Straight, default: true, rules: [{package: x, tag: "^$"}]}]
`))
	contains(t, r.Stderr, "version rules", "DevTest Space")
	prod("apply", "-f", ferrytest.WriteFile(t, "channels.yaml", `projects:
  - name: "`+remote+`"
    channels:
      - {name: Stable, default: true}
      - {name: Hotfix, lifecycle: Straight}
`))
	prod("deploy", remote, "1.0.1-hotfix", "--to", "Production", "--wait")
	contains(t, prod("export").Stdout, remote, "lifecycle: Straight")
}
