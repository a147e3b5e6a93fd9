package catalog_test

import (
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/catalog"
	"github.com/ferrydeploy/ferry/internal/config"
	"github.com/ferrydeploy/ferry/internal/servicetest"
)

const settingsYAML = `environments: [{name: Dev}, {name: Test}, {name: Prod}]
lifecycles:
  - name: Main
    phases:
      - {name: Dev, environments: [Dev]}
      - {name: Test, environments: [Test, Prod], minimumEnvironmentsBeforePromotion: 1}
  - name: Fast
    phases:
      - {name: Prod, environments: [Prod], optional: true}
projects:
  - name: Shop
    lifecycle: Main
    channels:
      - name: Stable
        default: true
        rules: [{package: web, versionRange: "[1.0,2.0)", tag: "^$"}]
      - {name: Hotfix, lifecycle: Fast}
    triggers:
      - {name: Nightly, type: schedule, cron: "0 0 2 * * Mon-Fri", timezone: Europe/Berlin, sourceEnvironment: Dev, environment: Test}
    process:
      - {name: Install, type: deploy-package, package: web, destination: /tmp/web}
      - {name: Sign-off, type: manual-intervention, instructions: Look., responsibleTeams: [Board], preventSelfApproval: true, timeoutMinutes: 60}
`

// TestSettingsRoundTrip: channels, triggers, phase rules and manual
// interventions apply, export and apply again without a change.
func TestSettingsRoundTrip(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	env.Apply("Dev", settingsYAML)
	exported, err := env.Set.Catalog.Export(env.Ctx, "Dev")
	if err != nil {
		t.Fatal(err)
	}
	data, err := exported.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"minimumEnvironmentsBeforePromotion: 1", "optional: true", "versionRange: '[1.0,2.0)'", "tag: ^$",
		"lifecycle: Fast", "cron: 0 0 2 * * Mon-Fri", "timezone: Europe/Berlin", "preventSelfApproval: true", "timeoutMinutes: 60"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("export lacks %q:\n%s", want, data)
		}
	}
	if res, err := apply(env, string(data), catalog.ApplyOptions{}); err != nil || len(res.Changes) != 0 {
		t.Errorf("applying the export changes %v (%v)", res.Changes, err)
	}
	// Without --prune channels and triggers are kept; with it, removed.
	res, err := apply(env, strings.Split(settingsYAML, "    channels:")[0]+"    process:\n      - {name: Install, type: deploy-package, package: web, destination: /tmp/web}\n", catalog.ApplyOptions{DryRun: true, Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	var removed []string
	for _, c := range res.Changes {
		if c.Action == catalog.ActionRemove {
			removed = append(removed, c.Kind+" "+c.Name)
		}
	}
	if got := strings.Join(removed, ", "); !strings.Contains(got, "channel Stable") || !strings.Contains(got, "channel Hotfix") || !strings.Contains(got, "trigger Nightly") || !strings.Contains(got, "step Sign-off") {
		t.Errorf("pruning removes %s", got)
	}
}

// TestSettingsRefused: every kind of mistake in channels, triggers, phases
// and manual interventions is refused with a message that names it, and
// nothing changes.
func TestSettingsRefused(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	env.Apply("Dev", settingsYAML)
	cases := []struct{ from, to, want string }{
		{"default: true\n", "default: false\n", "no channel is the default"},
		{"{name: Hotfix, lifecycle: Fast}", "{name: Hotfix, lifecycle: Fast, default: true}", "all marked default"},
		{"{name: Hotfix, lifecycle: Fast}", "{name: Hotfix, lifecycle: Slow}", `unknown lifecycle "Slow"`},
		{"{name: Hotfix, lifecycle: Fast}", "{name: Stable}", `two channels are named "Stable"`},
		{`versionRange: "[1.0,2.0)"`, `versionRange: "(1.0)"`, "NuGet"},
		{`versionRange: "[1.0,2.0)"`, `versionRange: "[2.0,1.0]"`, "no version is inside it"},
		{`tag: "^$"`, `tag: "(unclosed"`, "not a regular expression"},
		{`package: web,`, `package: api,`, `no deploy-package step deploys`},
		{`package: web, versionRange: "[1.0,2.0)", tag: "^$"`, `package: web`, "neither a versionRange nor a tag"},
		{"cron: \"0 0 2 * * Mon-Fri\"", "cron: \"0 0 25 * * *\"", "cron"},
		{"cron: \"0 0 2 * * Mon-Fri\"", "cron: \"0 0 2 30 2 *\"", "never fires"},
		{"cron: \"0 0 2 * * Mon-Fri\"", "cron: \"* * * * * *\"", "at most once a minute"},
		{"cron: \"0 0 2 * * Mon-Fri\"", "cron: \"@every 10s\"", "at most once a minute"},
		{"timezone: Europe/Berlin", "timezone: Europe/Atlantis", "Europe/Atlantis"},
		{"sourceEnvironment: Dev", "sourceEnvironment: Nowhere", `"Nowhere" is not a local environment`},
		{"{name: Nightly, type: schedule, cron: \"0 0 2 * * Mon-Fri\", timezone: Europe/Berlin, sourceEnvironment: Dev, environment: Test}", "{name: Nightly, type: on-arrival, environment: Test}", "on-arrival"},
		{"type: schedule, cron:", "type: sometimes, cron:", `unknown type "sometimes"`},
		{"minimumEnvironmentsBeforePromotion: 1", "minimumEnvironmentsBeforePromotion: 3", "minimumEnvironmentsBeforePromotion: 3"},
		{"instructions: Look.,", "", "no instructions"},
		{"instructions: Look.,", `instructions: "Look.\e[2J\e[1;1HApproved",`, "control"},
		{"instructions: Look.,", `instructions: "Look \u202eevil",`, "invisible"},
		{"timeoutMinutes: 60", "timeoutMinutes: -1", "timeoutMinutes"},
		{"timeoutMinutes: 60", "timeoutMinutes: 99999999999", "timeoutMinutes"},
		{"responsibleTeams: [Board]", "responsibleTeams: [\"Board: X\"]", "team"},
		{"destination: /tmp/web}", "destination: /tmp/web, instructions: hi}", "belong to manual-intervention steps"},
	}
	for _, c := range cases {
		if !strings.Contains(settingsYAML, c.from) {
			t.Fatalf("case %q: not in the document", c.from)
		}
		_, err := apply(env, strings.Replace(settingsYAML, c.from, c.to, 1), catalog.ApplyOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q → %q: %v, want an error naming %q", c.from, c.to, err, c.want)
		}
	}
}

// TestTriggerNeedsDeploy: a trigger deploys with the server's authority,
// so setting one needs permission to deploy the project where it deploys;
// a project contributor cannot deploy to Production through a trigger.
func TestTriggerNeedsDeploy(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	env.Apply("Dev", settingsYAML)
	contributor := env.AsRole("Dev", "project-contributor")
	doc := `projects:
  - name: Shop
    lifecycle: Main
    triggers: [{name: Sneaky, type: schedule, cron: "* * * * *", sourceEnvironment: Dev, environment: Prod}]
`
	parsed, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.Set.Catalog.Apply(contributor, "Dev", parsed)
	if err == nil || !strings.Contains(err.Error(), `permission "deploy"`) || !strings.Contains(err.Error(), "Sneaky") {
		t.Fatalf("a project contributor set a trigger: %v", err)
	}
	env.User("dora", false)
	env.Grant("Dev", "dora", "project-contributor", nil, nil)
	env.Grant("Dev", "dora", "deployer", []string{"Shop"}, []string{"Prod"})
	if _, err := env.Set.Catalog.Apply(env.As("dora"), "Dev", parsed); err != nil {
		t.Errorf("a contributor who may deploy Shop to Prod: %v", err)
	}
}
