package deploy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/catalog"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/sandbox"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/store"
)

// shopYAML: Shop goes Dev → Test → Prod, and needs a sensitive DbPassword
// in each; "QA Space: Staging" is another space's environment.
const shopYAML = `environments: [{name: Dev}, {name: Test}, {name: Prod}, {name: Elsewhere}]
remoteEnvironments: ["QA Space: Staging"]
lifecycles:
  - name: Main
    phases:
      - {name: Dev, environments: [Dev]}
      - {name: Test, environments: [Test, "QA Space: Staging"]}
      - {name: Prod, environments: [Prod]}
projects:
  - name: Shop
    lifecycle: Main
    templates:
      - {name: DbPassword, type: sensitive, required: true}
    variables:
      - {name: Token, value: tok-S3CRET, sensitive: true}
    process:
      - {name: Hello, type: script, script: "echo hello #{Token} #{DbPassword} in #{Ferry.Environment.Name}"}
  - name: Api
    lifecycle: Main
    process:
      - {name: Call, type: script, script: "echo api"}
`

func newShop(t *testing.T, opts ...servicetest.Option) *servicetest.Env {
	t.Helper()
	env := servicetest.New(t, opts...)
	env.CreateSpace("Dev")
	env.CreateSpace("QA Space")
	env.Trust("Dev", "QA Space", "promote")
	env.Apply("Dev", shopYAML)
	for _, e := range []string{"Dev", "Test", "Prod"} {
		setSecret(t, env, "Shop", "DbPassword", "db-"+e, e)
	}
	env.Release("Dev", "Shop", "1.0.0")
	env.Release("Dev", "Api", "1.0.0")
	return env
}

func setSecret(t *testing.T, env *servicetest.Env, project, name, value, scope string) {
	t.Helper()
	c := catalog.VariableChange{Name: name, Value: value, Sensitive: true, Environments: []string{scope}}
	if _, err := env.Set.Catalog.SetVariable(env.Ctx, "Dev", project, c); err != nil {
		t.Fatal(err)
	}
}

func deployTo(env *servicetest.Env, ctx context.Context, project, to string) (domain.Deployment, error) {
	return env.Set.Deploy.Deploy(ctx, "Dev", deploy.Request{Project: project, Version: "1.0.0", Environment: to})
}

// succeed marks the oldest queued task succeeded, as a runner would.
func succeed(t *testing.T, env *servicetest.Env) {
	t.Helper()
	task, err := env.Store.Tasks().Claim(env.Ctx, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.Tasks().Finish(env.Ctx, task.ID, domain.TaskSuccess, "", time.Now()); err != nil {
		t.Fatal(err)
	}
}

func wantRefused(t *testing.T, err error, kind domain.Kind, says ...string) {
	t.Helper()
	if err == nil || domain.KindOf(err) != kind {
		t.Fatalf("got %v, want a %s error", err, kind)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}

func TestDeployFollowsTheLifecycle(t *testing.T) {
	env := newShop(t)
	_, err := deployTo(env, env.Ctx, "Shop", "Test")
	wantRefused(t, err, domain.KindInvalid, `requires phase "Dev"`, "ferry deploy")
	if _, err := deployTo(env, env.Ctx, "Shop", "Dev"); err != nil {
		t.Fatal(err)
	}
	// Queued is not succeeded.
	_, err = deployTo(env, env.Ctx, "Shop", "Test")
	wantRefused(t, err, domain.KindInvalid, `requires phase "Dev"`)
	succeed(t, env)
	if _, err := deployTo(env, env.Ctx, "Shop", "Test"); err != nil {
		t.Fatalf("after Dev succeeded: %v", err)
	}
	// As in Octopus, a phase is done when every one of its environments
	// is: Test succeeding leaves QA Space's Staging (a receipt) to come.
	_, err = deployTo(env, env.Ctx, "Shop", "Prod")
	wantRefused(t, err, domain.KindInvalid, `requires phase "Test"`)
	succeed(t, env)
	_, err = deployTo(env, env.Ctx, "Shop", "Prod")
	wantRefused(t, err, domain.KindInvalid, `requires phase "Test"`, "all 2 of its environments", "not yet: QA Space: Staging")
	// A minimum of one lets Prod follow Test alone.
	env.Apply("Dev", strings.Replace(shopYAML, `"QA Space: Staging"]}`, `"QA Space: Staging"], minimumEnvironmentsBeforePromotion: 1}`, 1))
	if _, err := deployTo(env, env.Ctx, "Shop", "Prod"); err != nil {
		t.Fatalf("after Test succeeded, with a minimum of one: %v", err)
	}
}

func TestDeployRefusesWhatCannotRunHere(t *testing.T) {
	env := newShop(t)
	for _, c := range []struct {
		name, project, to string
		kind              domain.Kind
		says              []string
	}{
		{"another space's environment", "Shop", "QA Space: Staging", domain.KindInvalid, []string{`environment of space "QA Space"`, "ferry promote"}},
		{"an environment outside the lifecycle", "Shop", "Elsewhere", domain.KindInvalid, []string{`not in lifecycle "Main"`}},
		{"an unknown environment", "Shop", "Nowhere", domain.KindNotFound, nil},
		{"an unknown project", "Nope", "Dev", domain.KindNotFound, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := deployTo(env, env.Ctx, c.project, c.to)
			wantRefused(t, err, c.kind, c.says...)
		})
	}
	tasks, err := env.Set.Deploy.Tasks(env.Ctx, "Dev", 0)
	if err != nil || len(tasks) != 0 {
		t.Errorf("refusals queued %d tasks (%v)", len(tasks), err)
	}
}

func TestDeployNeedsEveryRequiredValue(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	env.Apply("Dev", `environments: [{name: Dev}]
lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: Shop
    lifecycle: L
    templates:
      - {name: DbPassword, type: sensitive, required: true}
      - {name: Region, type: text, required: true, default: eu}
    process: [{name: S, type: script, script: "true"}]
`)
	env.Release("Dev", "Shop", "1.0.0")
	_, err := deployTo(env, env.Ctx, "Shop", "Dev")
	wantRefused(t, err, domain.KindInvalid, "DbPassword", "ferry var set", "--sensitive")
	if strings.Contains(err.Error(), "Region") {
		t.Errorf("a required template with a default was named missing: %v", err)
	}
	// Template values are read when deploying, not frozen by the release.
	setSecret(t, env, "Shop", "DbPassword", "s3cret", "Dev")
	if _, err := deployTo(env, env.Ctx, "Shop", "Dev"); err != nil {
		t.Fatal(err)
	}
}

func TestDeployTenantIsAPlainWord(t *testing.T) {
	env := newShop(t)
	for _, tenant := range []string{"$(id>x)", "a;b", "`x`", "a b", "x\ny"} {
		_, err := env.Set.Deploy.Deploy(env.Ctx, "Dev", deploy.Request{Project: "Api", Version: "1.0.0", Environment: "Dev", Tenant: tenant})
		wantRefused(t, err, domain.KindInvalid, "tenant")
	}
	mustTenant(t, env, "Acme-1", "Api", "Dev")
	if _, err := env.Set.Deploy.Deploy(env.Ctx, "Dev", deploy.Request{Project: "Api", Version: "1.0.0", Environment: "Dev", Tenant: "Acme-1"}); err != nil {
		t.Fatal(err)
	}
}

func TestDeployPermissionsFollowTheGrant(t *testing.T) {
	env := newShop(t)
	env.User("dana", false)
	env.Grant("Dev", "dana", "deployer", []string{"Shop"}, []string{"Dev"})
	dana := env.As("dana")
	if _, err := deployTo(env, dana, "Shop", "Dev"); err != nil {
		t.Fatalf("a deployer of Shop in Dev: %v", err)
	}
	_, err := deployTo(env, dana, "Api", "Dev")
	wantRefused(t, err, domain.KindForbidden, `lacks permission "deploy"`, `project "Api"`)
	succeed(t, env)
	_, err = deployTo(env, dana, "Shop", "Test")
	wantRefused(t, err, domain.KindForbidden, `environment "Test"`)
	_, err = deployTo(env, env.AsRole("Dev", "viewer"), "Shop", "Dev")
	wantRefused(t, err, domain.KindForbidden, "deployer")
}

func TestTasksFollowViewPermissions(t *testing.T) {
	env := newShop(t)
	shop, err := deployTo(env, env.Ctx, "Shop", "Dev")
	if err != nil {
		t.Fatal(err)
	}
	api, err := deployTo(env, env.Ctx, "Api", "Dev")
	if err != nil {
		t.Fatal(err)
	}
	env.User("vic", false)
	env.Grant("Dev", "vic", "viewer", []string{"Api"}, nil)
	vic := env.As("vic")
	tasks, err := env.Set.Deploy.Tasks(vic, "Dev", 0)
	if err != nil || len(tasks) != 1 || tasks[0].ID != api.TaskID {
		t.Errorf("a viewer of Api lists %+v (%v), want only task %d", tasks, err, api.TaskID)
	}
	_, err = env.Set.Deploy.Task(vic, "Dev", shop.TaskID)
	wantRefused(t, err, domain.KindForbidden, "Shop")
	_, _, err = env.Set.Deploy.Log(vic, "Dev", shop.TaskID, 0)
	wantRefused(t, err, domain.KindForbidden)
	ds, err := env.Set.Deploy.Deployments(vic, "Dev", store.DeploymentFilter{})
	if err != nil || len(ds) != 1 || ds[0].Project != "Api" {
		t.Errorf("a viewer of Api lists deployments %+v (%v)", ds, err)
	}
}

func TestCancelAQueuedTask(t *testing.T) {
	env := newShop(t)
	d, err := deployTo(env, env.Ctx, "Api", "Dev")
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.Set.Deploy.Cancel(env.AsRole("Dev", "viewer"), "Dev", d.TaskID)
	wantRefused(t, err, domain.KindForbidden)
	task, err := env.Set.Deploy.Cancel(env.Ctx, "Dev", d.TaskID)
	if err != nil || task.State != domain.TaskCancelled {
		t.Fatalf("cancel a queued task: %+v, %v", task, err)
	}
	_, err = env.Set.Deploy.Cancel(env.Ctx, "Dev", d.TaskID)
	wantRefused(t, err, domain.KindConflict, fmt.Sprintf("task %d already ended Cancelled at ", d.TaskID), "; nothing to cancel")
	_, err = env.Set.Deploy.Task(env.Ctx, "Dev", 9999)
	wantRefused(t, err, domain.KindNotFound)
}

// TestRunnerRunsAndMasks runs a deployment with the production runner:
// the script sees the values for its environment, and the log never
// shows a secret.
func TestRunnerRunsAndMasks(t *testing.T) {
	env := newShop(t, servicetest.RunTasks(sandbox.Off))
	d, err := deployTo(env, env.Ctx, "Shop", "Dev")
	if err != nil {
		t.Fatal(err)
	}
	var task domain.Task
	var lines []domain.LogLine
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		task, lines, err = env.Set.Deploy.Log(env.Ctx, "Dev", d.TaskID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if task.State.Done() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task still %s", task.State)
		}
	}
	var log strings.Builder
	for _, l := range lines {
		log.WriteString(l.Text + "\n")
	}
	if task.State != domain.TaskSuccess || !strings.Contains(log.String(), "hello ") || !strings.Contains(log.String(), " in Dev") {
		t.Fatalf("task %s, log:\n%s", task.State, log.String())
	}
	for _, secret := range []string{"tok-S3CRET", "db-Dev"} {
		if strings.Contains(log.String(), secret) {
			t.Errorf("the log shows %q:\n%s", secret, log.String())
		}
	}
}

// TestRedeployPastAChangedLifecycle: as in Octopus, a release may go again
// where it already succeeded, after a phase was inserted before the
// environment or the environment left the lifecycle; a release that never
// succeeded there follows the lifecycle as it is now, and a deployment
// that failed there opens nothing.
func TestRedeployPastAChangedLifecycle(t *testing.T) {
	env := newShop(t)
	min1 := strings.Replace(shopYAML, `"QA Space: Staging"]}`, `"QA Space: Staging"], minimumEnvironmentsBeforePromotion: 1}`, 1)
	env.Apply("Dev", min1)
	for _, to := range []string{"Dev", "Test", "Prod"} {
		if _, err := deployTo(env, env.Ctx, "Shop", to); err != nil {
			t.Fatalf("deploy to %s: %v", to, err)
		}
		succeed(t, env)
	}
	env.Release("Dev", "Shop", "1.1.0")
	deploy11 := func(to string) error {
		_, err := env.Set.Deploy.Deploy(env.Ctx, "Dev", deploy.Request{Project: "Shop", Version: "1.1.0", Environment: to})
		return err
	}
	// A phase (Elsewhere) inserted before Prod.
	inserted := strings.Replace(min1, "      - {name: Prod,", "      - {name: Gate, environments: [Elsewhere]}\n      - {name: Prod,", 1)
	env.Apply("Dev", inserted)
	if _, err := deployTo(env, env.Ctx, "Shop", "Prod"); err != nil {
		t.Fatalf("redeploy after a phase was inserted: %v", err)
	}
	succeed(t, env)
	for _, to := range []string{"Dev", "Test"} {
		if err := deploy11(to); err != nil {
			t.Fatal(err)
		}
		succeed(t, env)
	}
	wantRefused(t, deploy11("Prod"), domain.KindInvalid, `requires phase "Gate"`)
	// A failed deployment to Elsewhere opens nothing.
	setSecret(t, env, "Shop", "DbPassword", "db-Elsewhere", "Elsewhere")
	if err := deploy11("Elsewhere"); err != nil {
		t.Fatal(err)
	}
	task, err := env.Store.Tasks().Claim(env.Ctx, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.Tasks().Finish(env.Ctx, task.ID, domain.TaskFailed, "boom", time.Now()); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, deploy11("Prod"), domain.KindInvalid, `requires phase "Gate"`)

	// Prod leaves the lifecycle: 1.0.0 may still go again, 1.1.0 not at all.
	env.Apply("Dev", strings.Replace(min1, "      - {name: Prod, environments: [Prod]}\n", "", 1))
	if _, err := deployTo(env, env.Ctx, "Shop", "Prod"); err != nil {
		t.Fatalf("redeploy after the environment left the lifecycle: %v", err)
	}
	wantRefused(t, deploy11("Prod"), domain.KindInvalid, `environment "Prod" is not in lifecycle "Main"`)
}

// TestDeployRefusesOutputsAcrossAWait: output variables live in the run's
// memory, and a manual intervention ends the run (it resumes from the
// store, perhaps on another node after a restart). A step after the wait
// that reads an output of a step before it is refused before anything is
// queued, in every spelling; reading outputs of steps on the same side of
// the wait is fine.
func TestDeployRefusesOutputsAcrossAWait(t *testing.T) {
	env := newShop(t)
	for i, c := range []struct {
		read    string
		refused bool
	}{
		{"#{Ferry.Action[Make].Output.Color}", true},
		{"#{ octopus.action[make].Output[web-1].Color | ToUpper }", true},
		{"#{if Octopus.Action[Make].Output.Color}x#{/if}", true},
		{"#{Ferry.Action[After].Output.Color}", false},
		{"#{Ferry.Environment.Name}", false},
	} {
		project := fmt.Sprintf("Waits%d", i)
		env.Apply("Dev", fmt.Sprintf(`projects:
  - name: %s
    lifecycle: Main
    process:
      - {name: Make, type: script, script: "set_ferryvariable Color blue"}
      - {name: Approve, type: manual-intervention, instructions: Look}
      - {name: After, type: script, script: "set_ferryvariable Color red"}
      - {name: Use, type: script, script: "echo '%s'"}
`, project, c.read))
		env.Release("Dev", project, "1.0.0")
		_, err := deployTo(env, env.Ctx, project, "Dev")
		if c.refused {
			wantRefused(t, err, domain.KindInvalid, `step "Use" reads an output variable of step "Make"`, `manual intervention "Approve"`)
		} else if err != nil {
			t.Errorf("%s: %v", c.read, err)
		}
	}
}

// TestCancelDoesNotEndAClaimedTask races cancelling a queued deployment
// with a runner claiming it: a task the runner claimed runs its steps, so
// it must not be finished as "cancelled before it started" (with a signed
// receipt saying so) by a cancel that read it queued a moment before; the
// runner ends it at its next check. Before, Cancel decided from the state
// it read outside its transaction.
func TestCancelDoesNotEndAClaimedTask(t *testing.T) {
	env := newShop(t)
	for i := range 60 {
		d, err := deployTo(env, env.Ctx, "Api", "Dev")
		if err != nil {
			t.Fatal(err)
		}
		claimed := make(chan int64, 1)
		go func() {
			task, err := env.Store.Tasks().Claim(env.Ctx, "test", time.Now())
			if err != nil {
				claimed <- 0
				return
			}
			claimed <- task.ID
		}()
		_, cerr := env.Set.Deploy.Cancel(env.Ctx, "Dev", d.TaskID)
		id := <-claimed
		task, err := env.Store.Tasks().Get(env.Ctx, d.TaskID)
		if err != nil {
			t.Fatal(err)
		}
		if id == d.TaskID && task.Error == "cancelled before it started" {
			t.Fatalf("round %d: the runner claimed task %d, and cancel ended it as %s (%q; cancel: %v)", i, id, task.State, task.Error, cerr)
		}
		if id == d.TaskID {
			if err := env.Store.Tasks().Finish(env.Ctx, id, domain.TaskCancelled, "cancelled by its runner", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
}
