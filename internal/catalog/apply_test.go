package catalog_test

import (
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/catalog"
	"github.com/ferrydeploy/ferry/internal/config"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/servicetest"
)

const spaceYAML = `environments: [{name: Dev}, {name: Test}]
lifecycles:
  - {name: Main, phases: [{name: Dev, environments: [Dev]}, {name: Test, environments: [Test]}]}
projects:
  - name: Shop
    lifecycle: Main
    variables:
      - {name: Greeting, value: hello}
      - {name: Greeting, value: hi, environments: [Test]}
    process:
      - {name: Hello, type: script, script: "echo #{Greeting}"}
`

func apply(env *servicetest.Env, yaml string, opts catalog.ApplyOptions) (catalog.ApplyResult, error) {
	doc, err := config.Parse([]byte(yaml))
	if err != nil {
		return catalog.ApplyResult{}, err
	}
	return env.Set.Catalog.ApplyWith(env.Ctx, "Dev", doc, opts)
}

func TestApplyCreatesThenChangesNothing(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	res := env.Apply("Dev", spaceYAML)
	if len(res.Created) != 4 {
		t.Errorf("created %v", res.Created)
	}
	again, err := apply(env, spaceYAML, catalog.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Created)+len(again.Updated)+len(again.Changes) != 0 || again.Unchanged == 0 {
		t.Errorf("re-applying the same file: %+v", again)
	}
	exported, err := env.Set.Catalog.Export(env.Ctx, "Dev")
	if err != nil {
		t.Fatal(err)
	}
	data, err := exported.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if res, err := apply(env, string(data), catalog.ApplyOptions{}); err != nil || len(res.Changes) != 0 {
		t.Errorf("applying the export changes %v (%v)", res.Changes, err)
	}
}

func TestApplyReportsEveryProblemWithItsLine(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	_, err := apply(env, `environments: [{name: Dev}]
lifecycles:
  - {name: Main, phases: [{name: Dev, environments: [Nowhere]}]}
projects:
  - {name: Shop, lifecycle: Missing}
  - {name: Shop, lifecycle: Main}
`, catalog.ApplyOptions{})
	if err == nil || domain.KindOf(err) != domain.KindInvalid {
		t.Fatalf("apply of a bad document: %v", err)
	}
	for _, want := range []string{"problems; nothing was changed", `line 3: lifecycle "Main", phase "Dev": unknown environment "Nowhere"`, `line 5: project "Shop": unknown lifecycle "Missing"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	envs, _ := env.Set.Catalog.Environments(env.Ctx, "Dev")
	if len(envs) != 0 {
		t.Errorf("a refused apply created %v", envs)
	}
}

func TestApplyKeepsWhatItDoesNotMention(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	env.Apply("Dev", spaceYAML)
	if _, err := env.Set.Catalog.SetVariable(env.Ctx, "Dev", "Shop", catalog.VariableChange{Name: "Password", Value: "pw", Sensitive: true, Environments: []string{"Dev"}}); err != nil {
		t.Fatal(err)
	}
	res, err := apply(env, spaceYAML, catalog.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Kept) != 1 || res.Kept[0].Kind != "variable" || !strings.Contains(res.Kept[0].Name, "Password") {
		t.Errorf("kept %+v", res.Kept)
	}
	p, _ := env.Set.Catalog.Project(env.Ctx, "Dev", "Shop")
	if len(p.Variables) != 3 {
		t.Errorf("after re-applying, Shop has %d values, want the 2 listed and the one set", len(p.Variables))
	}
	// Removal takes --prune, and --dry-run lists removals first.
	dry, err := apply(env, strings.Replace(spaceYAML, "      - {name: Greeting, value: hi, environments: [Test]}\n", "", 1), catalog.ApplyOptions{Prune: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !dry.DryRun || len(dry.Changes) != 3 || dry.Changes[0].Action != "remove" || dry.Changes[1].Action != "remove" || dry.Changes[2].Action != "update" {
		t.Errorf("dry run with --prune: %+v", dry.Changes)
	}
	if p, _ := env.Set.Catalog.Project(env.Ctx, "Dev", "Shop"); len(p.Variables) != 3 {
		t.Errorf("a dry run changed the project: %+v", p.Variables)
	}
}

func TestApplyRemoteEnvironmentsNameKnownSpaces(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	env.CreateSpace("Prod")
	doc := `remoteEnvironments: ["Prod: Production"]`
	_, err := apply(env, doc, catalog.ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "Prod") {
		t.Fatalf("a remote environment of a space Dev does not know: %v", err)
	}
	r := env.Trust("Dev", "Prod", "promote")
	if _, err := apply(env, doc, catalog.ApplyOptions{}); err != nil {
		t.Fatalf("once Dev knows Prod: %v", err)
	}
	if _, err := env.Set.Trust.Revoke(env.Ctx, "Dev", r.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := apply(env, `remoteEnvironments: ["Prod: Staging"]`, catalog.ApplyOptions{}); err == nil {
		t.Error("a new remote environment of a revoked space was accepted")
	}
}

func TestApplyNeedsTheRightRole(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	env.Apply("Dev", spaceYAML)
	doc, _ := config.Parse([]byte(spaceYAML))
	if _, err := env.Set.Catalog.Apply(env.AsRole("Dev", "viewer"), "Dev", doc); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("a viewer applies: %v", err)
	}
	// A project contributor edits projects, not the space's environments.
	contributor := env.AsRole("Dev", "project-contributor")
	projectOnly, _ := config.Parse([]byte(spaceYAML[strings.Index(spaceYAML, "projects:"):]))
	if _, err := env.Set.Catalog.Apply(contributor, "Dev", projectOnly); err != nil {
		t.Errorf("a project contributor applies a project: %v", err)
	}
	withEnv, _ := config.Parse([]byte("environments: [{name: Staging}]\n"))
	if _, err := env.Set.Catalog.Apply(contributor, "Dev", withEnv); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("a project contributor adds an environment: %v", err)
	}
}

func TestCreateSpaceGivesItAnIdentity(t *testing.T) {
	env := servicetest.New(t)
	sp := env.CreateSpace("Dev")
	id, err := env.Set.Trust.Identity(env.Ctx, sp.ID)
	if err != nil || sp.Fingerprint == "" || identity.Fingerprint(id.Cert.Raw) != sp.Fingerprint {
		t.Errorf("new space's fingerprint %q, identity %v", sp.Fingerprint, err)
	}
	if _, err := env.Set.Catalog.CreateSpace(env.AsRole("Dev", "space-admin"), "Other"); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("a space admin creates a space: %v", err)
	}
	if _, err := env.Set.Catalog.CreateSpace(env.Ctx, "Dev"); domain.KindOf(err) != domain.KindConflict {
		t.Errorf("a second space Dev: %v", err)
	}
	spaces, err := env.Set.Catalog.Spaces(env.AsRole("Dev", "viewer"))
	if err != nil || len(spaces) != 1 || spaces[0].Name != "Dev" {
		t.Errorf("a viewer of Dev lists %v (%v)", spaces, err)
	}
}

func TestSetVariableNeverTurnsASecretPlain(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	env.Apply("Dev", spaceYAML)
	set := func(c catalog.VariableChange) (domain.Project, error) {
		return env.Set.Catalog.SetVariable(env.Ctx, "Dev", "Shop", c)
	}
	if _, err := set(catalog.VariableChange{Name: "Password", Value: "one", Sensitive: true}); err != nil {
		t.Fatal(err)
	}
	p, err := set(catalog.VariableChange{Name: "Password", Value: "two", Environments: []string{"Test"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range p.Variables {
		if v.Name == "Password" && !v.Sensitive {
			t.Errorf("a value of a sensitive name was stored plain: %+v", v)
		}
	}
	if _, err := set(catalog.VariableChange{Name: "Empty", Sensitive: true}); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("an empty secret: %v", err)
	}
	if _, err := set(catalog.VariableChange{Name: "X", Value: "y", Environments: []string{"Nowhere"}}); domain.KindOf(err) != domain.KindNotFound {
		t.Errorf("a value for an unknown environment: %v", err)
	}
}

// TestApplySaysHowALifecycleChanged: the old and the new phases are told
// apart. Before, both were joined by the arrow that joins phases, so
// adding a phase read as "Dev [Dev] → Test [Test] → Dev [Dev] → Test
// [Test] → Prod [Prod]", a lifecycle that repeats its phases.
func TestApplySaysHowALifecycleChanged(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	env.Apply("Dev", spaceYAML)
	res, err := apply(env, `environments: [{name: Prod}]
lifecycles:
  - name: Main
    phases: [{name: Dev, environments: [Dev]}, {name: Test, environments: [Test]}, {name: Prod, environments: [Prod]}]
`, catalog.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "update lifecycle Main (was Dev [Dev] → Test [Test]; now Dev [Dev] → Test [Test] → Prod [Prod])"
	for _, c := range res.Changes {
		if c.Kind == "lifecycle" {
			if got := c.String(); got != want {
				t.Errorf("the change reads %q, want %q", got, want)
			}
			return
		}
	}
	t.Errorf("no lifecycle change in %v", res.Changes)
}

// A step's timeoutSeconds is at most 24 hours: larger values are refused
// at apply, naming the step and the cap; the cap itself and 1 are fine.
func TestApplyRefusesStepTimeoutOverCap(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	doc := func(timeout string) string {
		return `environments: [{name: Test}]
lifecycles: [{name: Main, phases: [{name: Test, environments: [Test]}]}]
projects:
  - name: Shop
    lifecycle: Main
    process:
      - {name: Long one, type: script, script: "sleep 1", timeoutSeconds: ` + timeout + `}
`
	}
	for _, bad := range []string{"86401", "31536000", "2147483647", "-1"} {
		_, err := apply(env, doc(bad), catalog.ApplyOptions{})
		if err == nil || !strings.Contains(err.Error(), `step "Long one"`) || !strings.Contains(err.Error(), "86400") {
			t.Errorf("timeoutSeconds %s: %v, want a refusal naming the step and the cap 86400", bad, err)
		}
	}
	for _, good := range []string{"86400", "1"} {
		if _, err := apply(env, doc(good), catalog.ApplyOptions{}); err != nil {
			t.Errorf("timeoutSeconds %s: %v", good, err)
		}
	}
}
