package trigger_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/config"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/sandbox"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/store"
)

func TestMain(m *testing.M) { sandbox.Main(); m.Run() }

// clock is a settable clock for the services.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(s string) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	c.mu.Lock()
	c.t = t.UTC()
	c.mu.Unlock()
}

const shopYAML = `environments: [{name: Test}, {name: Production}]
lifecycles:
  - name: Main
    phases:
      - {name: Test, environments: [Test]}
      - {name: Prod, environments: [Production]}
projects:
  - name: Shop
    lifecycle: Main
    process: [{name: Hello, type: script, script: echo hello}]
    triggers:
      - {name: Nightly, type: schedule, cron: "0 2 * * *", timezone: Europe/Berlin, sourceEnvironment: Test, environment: Production}
  - name: Api
    lifecycle: Main
    process: [{name: Hello, type: script, script: echo hello}]
    triggers:
      - {name: Nightly, type: schedule, cron: "0 2 * * *", timezone: Europe/Berlin, sourceEnvironment: Test, environment: Production}
`

func newEnv(t *testing.T, c *clock, opts ...servicetest.Option) *servicetest.Env {
	t.Helper()
	c.set("2026-03-02T12:00:00Z")
	env := servicetest.New(t, append([]servicetest.Option{servicetest.Clock(c.now)}, opts...)...)
	env.CreateSpace("Dev")
	env.Apply("Dev", shopYAML)
	return env
}

// deployed lists the deployments of a project to an environment.
func deployed(t *testing.T, env *servicetest.Env, project, to string) []domain.Deployment {
	t.Helper()
	p, err := env.Set.Catalog.Project(env.Ctx, "Dev", project)
	if err != nil {
		t.Fatal(err)
	}
	list, err := env.Set.Deploy.Deployments(env.Ctx, "Dev", store.DeploymentFilter{ProjectID: p.ID, Environment: to})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func tick(t *testing.T, env *servicetest.Env) {
	t.Helper()
	if err := env.Set.Triggers.Tick(env.Ctx); err != nil {
		t.Fatal(err)
	}
}

// TestScheduleFiresOncePerDueTime: on a settable clock, a schedule
// trigger fires at its local due time, once, also when two nodes tick
// together; after downtime it fires once for the latest due time missed;
// a trigger with nothing to deploy records why, visibly.
func TestScheduleFiresOncePerDueTime(t *testing.T) {
	c := &clock{}
	env := newEnv(t, c)
	env.Release("Dev", "Shop", "1.0.0")
	env.Release("Dev", "Shop", "1.1.0")
	if _, err := env.Set.Deploy.Deploy(env.Ctx, "Dev", deploy.Request{Project: "Shop", Version: "1.0.0", Environment: "Test"}); err != nil {
		t.Fatal(err)
	}
	task, err := env.Store.Tasks().Claim(env.Ctx, "test", c.now())
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.Tasks().Finish(env.Ctx, task.ID, domain.TaskSuccess, "", c.now()); err != nil {
		t.Fatal(err)
	}

	c.set("2026-03-03T00:59:59Z") // 01:59:59 in Berlin
	tick(t, env)
	if got := deployed(t, env, "Shop", "Production"); len(got) != 0 {
		t.Fatalf("fired before its time: %+v", got)
	}
	c.set("2026-03-03T01:00:00Z") // 02:00 in Berlin
	var wg sync.WaitGroup
	for range 4 { // four nodes at once
		wg.Go(func() {
			if err := env.Set.Triggers.Tick(env.Ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	tick(t, env)
	got := deployed(t, env, "Shop", "Production")
	if len(got) != 1 || got[0].Version != "1.0.0" || got[0].CreatedBy != "trigger:Nightly" {
		t.Fatalf("after the due time: %+v, want one deployment of 1.0.0 by trigger:Nightly", got)
	}

	// Five days away: one firing for the latest due time, not five.
	c.set("2026-03-08T09:00:00Z")
	tick(t, env)
	tick(t, env)
	if got := deployed(t, env, "Shop", "Production"); len(got) != 2 {
		t.Fatalf("after five days away: %d deployments, want 2", len(got))
	}

	statuses, err := env.Set.Triggers.List(env.Ctx, "Dev", "Shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(statuses) != 1 || statuses[0].Last == nil || !statuses[0].Last.OK || statuses[0].Last.Version != "1.0.0" ||
		statuses[0].NextDue == nil || !statuses[0].NextDue.Equal(time.Date(2026, 3, 9, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("Shop's trigger: %+v", statuses)
	}
	if due := statuses[0].Last.Due; due == nil || !due.Equal(time.Date(2026, 3, 8, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("last due time %v, want 2026-03-08 02:00 Berlin", due)
	}
	// Api never succeeded in Test: its trigger fired, deployed nothing,
	// and says why.
	statuses, err = env.Set.Triggers.List(env.Ctx, "Dev", "Api")
	if err != nil {
		t.Fatal(err)
	}
	if last := statuses[0].Last; last == nil || last.OK || !strings.Contains(last.Result, "no release") {
		t.Errorf("Api's trigger: %+v", last)
	}
	events, err := env.Set.Catalog.Audit(env.Ctx, "Dev", 100)
	if err != nil {
		t.Fatal(err)
	}
	fired := map[string]int{}
	for _, e := range events {
		if e.Action == "trigger.fire" {
			if e.Actor != "trigger:Nightly" {
				t.Errorf("trigger.fire by %q", e.Actor)
			}
			fired[e.Project]++
		}
	}
	if fired["Shop"] != 2 || fired["Api"] != 2 {
		t.Errorf("trigger.fire events per project: %v, want 2 each", fired)
	}
}

// TestScheduleCountsFromWhenItWasSet: a trigger does not fire for due
// times before it existed.
func TestScheduleCountsFromWhenItWasSet(t *testing.T) {
	c := &clock{}
	env := newEnv(t, c)
	env.Release("Dev", "Shop", "1.0.0")
	c.set("2026-03-02T12:30:00Z")
	tick(t, env)
	statuses, err := env.Set.Triggers.List(env.Ctx, "Dev", "Shop")
	if err != nil {
		t.Fatal(err)
	}
	if statuses[0].Last != nil {
		t.Errorf("fired for a time before it was set: %+v", statuses[0].Last)
	}
}

const waitYAML = `projects:
  - name: Gate
    lifecycle: Main
    process:
      - {name: Before, type: script, script: echo before}
      - {name: Sign-off, type: manual-intervention, instructions: Look first., timeoutMinutes: 30}
      - {name: After, type: script, script: echo after}
`

// TestInterventionTimesOut: a wait nobody answers is aborted once its
// timeout passes on the services' clock, and the deployment fails there.
func TestInterventionTimesOut(t *testing.T) {
	c := &clock{}
	env := newEnv(t, c, servicetest.RunTasks(sandbox.Off))
	env.Apply("Dev", waitYAML)
	env.Release("Dev", "Gate", "1.0.0")
	d, err := env.Set.Deploy.Deploy(env.Ctx, "Dev", deploy.Request{Project: "Gate", Version: "1.0.0", Environment: "Test"})
	if err != nil {
		t.Fatal(err)
	}
	state := func(want domain.TaskState) domain.Task {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			task, err := env.Set.Deploy.Task(env.Ctx, "Dev", d.TaskID)
			if err != nil {
				t.Fatal(err)
			}
			if task.State == want {
				return task
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %d is %s, want %s", d.TaskID, task.State, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	task := state(domain.TaskWaiting)
	if task.Intervention == nil || task.Intervention.TimeoutAt == nil || !task.Intervention.TimeoutAt.Equal(c.now().Add(30*time.Minute)) {
		t.Fatalf("waiting task: %+v", task.Intervention)
	}
	c.set("2026-03-02T12:29:59Z")
	tick(t, env)
	state(domain.TaskWaiting)
	c.set("2026-03-02T12:30:00Z")
	tick(t, env)
	task = state(domain.TaskFailed)
	if !strings.Contains(task.Error, "timed out") {
		t.Errorf("error %q does not say it timed out", task.Error)
	}
	_, lines, err := env.Set.Deploy.Log(env.Ctx, "Dev", d.TaskID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	for _, l := range lines {
		log.WriteString(l.Text + "\n")
	}
	if !strings.Contains(log.String(), "timed out") || strings.Contains(log.String(), "echo after") {
		t.Errorf("log:\n%s", log.String())
	}
}

const gateTriggerYAML = `projects:
  - name: Gate
    lifecycle: Main
    process:
      - {name: Hello, type: script, script: echo hello}
      - {name: Sign-off, type: manual-intervention, instructions: Look first., responsibleTeams: [Approvers], preventSelfApproval: true, environments: [Production]}
    triggers:
      - {name: Nightly, type: schedule, cron: "0 2 * * *", timezone: Europe/Berlin, sourceEnvironment: Test, environment: Production}
`

// TestTriggerSetterIsTheDeployer: a trigger's deployments are made on
// behalf of the user who set it, so under four eyes that user may not
// approve them (setting a trigger is not a way round preventSelfApproval);
// another member of the responsible team may. Who set a trigger is the
// server's record: re-applying it unchanged keeps it, changing it makes
// the one applying its setter, and a document cannot name someone else.
func TestTriggerSetterIsTheDeployer(t *testing.T) {
	c := &clock{}
	env := newEnv(t, c, servicetest.RunTasks(sandbox.Off))
	for _, u := range []string{"alice", "bob"} {
		env.User(u, false)
		env.Grant("Dev", u, "project-contributor", nil, nil)
		env.Grant("Dev", u, "deployer", nil, nil)
	}
	_, err := env.Set.Teams.Put(env.Ctx, "Dev", access.TeamRequest{Name: "Approvers", Role: ptr("viewer"), Members: &[]string{"alice", "bob"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	apply := func(ctx context.Context, doc string) {
		t.Helper()
		parsed, err := config.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Set.Catalog.Apply(ctx, "Dev", parsed); err != nil {
			t.Fatal(err)
		}
	}
	setBy := func() string {
		t.Helper()
		statuses, err := env.Set.Triggers.List(env.Ctx, "Dev", "Gate")
		if err != nil || len(statuses) != 1 {
			t.Fatalf("triggers of Gate: %+v %v", statuses, err)
		}
		return statuses[0].SetBy
	}
	apply(env.As("alice"), gateTriggerYAML)
	apply(env.Ctx, gateTriggerYAML) // unchanged: still alice's
	if got := setBy(); got != "alice" {
		t.Fatalf("trigger set by %q, want alice", got)
	}
	// A document cannot name another setter: setBy is not a field of one.
	if _, err := config.Parse([]byte(`{"projects":[{"name":"Gate","lifecycle":"Main","triggers":[{"name":"Nightly","type":"schedule","cron":"0 2 * * *","timezone":"Europe/Berlin","sourceEnvironment":"Test","environment":"Production","setBy":"bob"}]}]}`)); err == nil || !strings.Contains(err.Error(), "setBy") {
		t.Errorf("a document naming the setter: %v", err)
	}
	if got := setBy(); got != "alice" {
		t.Fatalf("a document set the setter to %q", got)
	}

	env.Release("Dev", "Gate", "1.0.0")
	waitFor := func(id int64, want domain.TaskState) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			task, err := env.Set.Deploy.Task(env.Ctx, "Dev", id)
			if err != nil {
				t.Fatal(err)
			}
			if task.State == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %d is %s, want %s", id, task.State, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	d, err := env.Set.Deploy.Deploy(env.Ctx, "Dev", deploy.Request{Project: "Gate", Version: "1.0.0", Environment: "Test"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(d.TaskID, domain.TaskSuccess)
	tick(t, env) // first seen
	c.set("2026-03-03T01:00:00Z")
	tick(t, env)
	got := deployed(t, env, "Gate", "Production")
	if len(got) != 1 || got[0].CreatedBy != "trigger:Nightly" || got[0].OnBehalfOf != "alice" {
		t.Fatalf("the trigger's deployment: %+v", got)
	}
	id := got[0].TaskID
	waitFor(id, domain.TaskWaiting)
	_, err = env.Set.Deploy.Decide(env.As("alice"), "Dev", id, deploy.Decision{Approve: true})
	if domain.KindOf(err) != domain.KindForbidden || !strings.Contains(err.Error(), `set trigger "Nightly"`) {
		t.Fatalf("the trigger's setter approving: %v", err)
	}
	if _, err := env.Set.Deploy.Decide(env.As("bob"), "Dev", id, deploy.Decision{Approve: true, Note: "looked"}); err != nil {
		t.Fatalf("bob approving: %v", err)
	}
	waitFor(id, domain.TaskSuccess)

	// Changed by bob, the trigger acts for bob from now on.
	apply(env.As("bob"), strings.Replace(gateTriggerYAML, "0 2 * * *", "0 3 * * *", 1))
	if got := setBy(); got != "bob" {
		t.Errorf("changed by bob, the trigger is set by %q", got)
	}
}

func ptr[T any](v T) *T { return &v }

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestTriggerStopsWhenSetterLosesDeploy: a trigger deploys on behalf of the
// user who set it, so once that user may no longer deploy the project to
// the trigger's environment — their team no longer covers it, or they left
// the team — the trigger queues nothing, says why on the trigger, and warns
// in the log once, not at every due time; given the permission back, it
// fires again.
func TestTriggerStopsWhenSetterLosesDeploy(t *testing.T) {
	c := &clock{}
	logs := &syncBuffer{}
	env := newEnv(t, c, servicetest.Log(slog.New(slog.NewTextHandler(logs, nil))))
	env.User("alice", false)
	env.Grant("Dev", "alice", "project-contributor", nil, nil)
	env.Grant("Dev", "alice", "deployer", nil, nil)
	parsed, err := config.Parse([]byte(`projects:
  - name: Shop
    lifecycle: Main
    process: [{name: Hello, type: script, script: echo hello}]
    triggers:
      - {name: Nightly, type: schedule, cron: "0 * * * *", timezone: Europe/Berlin, sourceEnvironment: Test, environment: Production}
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Set.Catalog.Apply(env.As("alice"), "Dev", parsed); err != nil {
		t.Fatal(err)
	}
	env.Release("Dev", "Shop", "1.0.0")
	if _, err := env.Set.Deploy.Deploy(env.Ctx, "Dev", deploy.Request{Project: "Shop", Version: "1.0.0", Environment: "Test"}); err != nil {
		t.Fatal(err)
	}
	task, err := env.Store.Tasks().Claim(env.Ctx, "test", c.now())
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.Tasks().Finish(env.Ctx, task.ID, domain.TaskSuccess, "", c.now()); err != nil {
		t.Fatal(err)
	}
	tick(t, env) // first seen
	last := func() *domain.TriggerFiring {
		t.Helper()
		statuses, err := env.Set.Triggers.List(env.Ctx, "Dev", "Shop")
		if err != nil || len(statuses) != 1 {
			t.Fatalf("triggers of Shop: %+v %v", statuses, err)
		}
		return statuses[0].Last
	}
	grant := func(members []string, envs []string) {
		t.Helper()
		req := access.TeamRequest{Name: "alice-deployer", Role: ptr("deployer"), Members: &members, Environments: &envs}
		if _, err := env.Set.Teams.Put(env.Ctx, "Dev", req, false); err != nil {
			t.Fatal(err)
		}
	}
	hour := 13
	due := func() {
		t.Helper()
		c.set(fmt.Sprintf("2026-03-02T%02d:00:00Z", hour))
		hour++
		tick(t, env)
	}
	for _, lose := range []struct {
		name          string
		members, envs []string
	}{
		{"team no longer covers Production", []string{"alice"}, []string{"Test"}},
		{"left the team", []string{}, []string{}},
	} {
		grant(lose.members, lose.envs)
		before := len(deployed(t, env, "Shop", "Production"))
		warned := strings.Count(logs.String(), "level=WARN msg=\"trigger fired\"")
		due()
		due()
		if got := len(deployed(t, env, "Shop", "Production")); got != before {
			t.Fatalf("%s: the trigger queued %d deployments", lose.name, got-before)
		}
		l := last()
		if l == nil || l.OK || !strings.Contains(l.Result, `"alice", who set this trigger, may no longer deploy "Shop" to Production`) {
			t.Errorf("%s: last firing %+v, want why it did not deploy", lose.name, l)
		}
		if n := strings.Count(logs.String(), "level=WARN msg=\"trigger fired\"") - warned; n != 1 {
			t.Errorf("%s: %d warnings for two refused firings, want 1:\n%s", lose.name, n, logs.String())
		}
		grant([]string{"alice"}, []string{})
		due()
		if got := len(deployed(t, env, "Shop", "Production")); got != before+1 {
			t.Fatalf("%s: given deploy back, the trigger made %d deployments, want 1", lose.name, got-before)
		}
	}
	// A deleted setter deploys nothing either.
	if _, err := env.Set.Retention.DeleteUser(env.Ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	before := len(deployed(t, env, "Shop", "Production"))
	due()
	if got := len(deployed(t, env, "Shop", "Production")); got != before {
		t.Fatalf("setter deleted: the trigger queued %d deployments", got-before)
	}
	if l := last(); l == nil || l.OK || !strings.Contains(l.Result, `"alice", who set this trigger, is no longer a user here`) {
		t.Errorf("setter deleted: last firing %+v", l)
	}
}
