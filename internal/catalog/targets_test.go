package catalog_test

import (
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/catalog"
	"github.com/ferrydeploy/ferry/internal/config"
	"github.com/ferrydeploy/ferry/internal/servicetest"
)

const (
	fpA = "AA:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F"
	fpB = "bb0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
)

const targetsYAML = `environments: [{name: Dev}]
targets:
  - {name: web-1, environments: [Dev], roles: [web], thumbprint: "` + fpA + `", url: "https://127.0.0.1:1"}
  - {name: db-1, environments: [Dev], roles: [db, backup], thumbprint: "` + fpB + `", polling: true}
`

// Targets in apply YAML (SPEC §5): created, re-applied unchanged,
// exported and applied back alike, changed by a new registration.
func TestApplyTargets(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	res := env.Apply("Dev", targetsYAML)
	if !strings.Contains(strings.Join(res.Created, ","), "target web-1") || !strings.Contains(strings.Join(res.Created, ","), "target db-1") {
		t.Fatalf("created %v", res.Created)
	}
	list, err := env.Set.Targets.List(env.Ctx, "Dev")
	if err != nil || len(list) != 2 || list[0].Name != "db-1" || list[0].Mode != "polling" || list[0].Thumbprint != strings.ToUpper(strings.Join(pairs(fpB), ":")) {
		t.Fatalf("stored: %+v %v", list, err)
	}
	again, err := apply(env, targetsYAML, catalog.ApplyOptions{})
	if err != nil || len(again.Changes) != 0 {
		t.Errorf("re-applying: %+v %v", again, err)
	}
	doc, err := env.Set.Catalog.Export(env.Ctx, "Dev")
	if err != nil || len(doc.Targets) != 2 || !doc.Targets[0].Polling || doc.Targets[1].URL != "https://127.0.0.1:1" {
		t.Fatalf("export: %+v %v", doc.Targets, err)
	}
	data, _ := doc.Marshal()
	if res, err := apply(env, string(data), catalog.ApplyOptions{}); err != nil || len(res.Changes) != 0 {
		t.Errorf("applying the export changes %v (%v)", res.Changes, err)
	}
	if _, err := env.Set.Targets.SetDisabled(env.Ctx, "Dev", "web-1", true); err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(targetsYAML, "roles: [web]", "roles: [web, api]", 1)
	res, err = apply(env, changed, catalog.ApplyOptions{})
	if err != nil || len(res.Updated) != 1 {
		t.Fatalf("a new registration: %+v %v", res, err)
	}
	web, _ := env.Set.Targets.Show(env.Ctx, "Dev", "web-1")
	if strings.Join(web.Roles, ",") != "api,web" || !web.Disabled {
		t.Errorf("after apply: %+v (a disabled target stays disabled)", web)
	}
}

func pairs(hex string) []string {
	var out []string
	for i := 0; i < len(hex); i += 2 {
		out = append(out, hex[i:i+2])
	}
	return out
}

// Every kind of bad target is refused with its line, and nothing is
// written.
func TestApplyTargetsRefused(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	trust, err := env.Set.Targets.TrustInfo(env.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ target, want string }{
		{`{name: w, environments: [Dev], roles: [web], thumbprint: "12:34", url: "https://h:1"}`, "not a SHA-256 fingerprint"},
		{`{name: w, environments: [Dev], roles: [web], thumbprint: "` + fpA + `"}`, "--url https://HOST:PORT"},
		{`{name: w, environments: [Dev], roles: [web], thumbprint: "` + fpA + `", url: "http://h:1"}`, "must be https://HOST:PORT"},
		{`{name: w, environments: [Dev], roles: [web], thumbprint: "` + fpA + `", url: "https://h:1", polling: true}`, "polling agent"},
		{`{name: w, environments: [Nowhere], roles: [web], thumbprint: "` + fpA + `", polling: true}`, `environment "Nowhere"`},
		{`{name: w, environments: [Dev], roles: [], thumbprint: "` + fpA + `", polling: true}`, "at least one role"},
		{`{name: "../w", environments: [Dev], roles: [web], thumbprint: "` + fpA + `", polling: true}`, "machine"},
		{`{name: w, environments: [Dev], roles: ["a;rm -rf /"], thumbprint: "` + fpA + `", polling: true}`, "role"},
		{`{name: w, environments: [Dev], roles: [web], thumbprint: "` + trust.Fingerprint + `", polling: true}`, "own agent identity"},
		{`{name: w, environments: [Dev], roles: [web], tenants: ["Acme Corp"], thumbprint: "` + fpA + `", polling: true}`, "not a valid name"},
	} {
		yaml := "environments: [{name: Dev}]\ntargets:\n  - " + c.target + "\n"
		_, err := apply(env, yaml, catalog.ApplyOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "line 3") {
			t.Errorf("%s: %v, want %q at line 3", c.target, err, c.want)
		}
	}
	twice := "environments: [{name: Dev}]\ntargets:\n" +
		`  - {name: a, environments: [Dev], roles: [web], thumbprint: "` + fpA + `", polling: true}` + "\n" +
		`  - {name: b, environments: [Dev], roles: [web], thumbprint: "` + fpA + `", polling: true}` + "\n" +
		`  - {name: a, environments: [Dev], roles: [web], thumbprint: "` + fpB + `", polling: true}` + "\n"
	if _, err := apply(env, twice, catalog.ApplyOptions{}); err == nil || !strings.Contains(err.Error(), "same thumbprint") || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("a name and a thumbprint twice: %v", err)
	}
	if list, _ := env.Set.Targets.List(env.Ctx, "Dev"); len(list) != 0 {
		t.Errorf("a refused apply wrote targets: %+v", list)
	}
	// An agent that is already a target of the space, under a name the
	// file does not list, is not registered a second time (as `target
	// add` refuses it); listed, it may change.
	if _, err := apply(env, "environments: [{name: Dev}]\ntargets:\n  - {name: a, environments: [Dev], roles: [web], thumbprint: \""+fpA+"\", polling: true}\n", catalog.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{
		`  - {name: b, environments: [Dev], roles: [db], thumbprint: "` + fpA + `", polling: true}` + "\n",
		`  - {name: b, environments: [Dev], roles: [db], thumbprint: "` + strings.ToLower(fpA) + `", polling: true}` + "\n",
	} {
		_, err := apply(env, "environments: [{name: Dev}]\ntargets:\n"+doc, catalog.ApplyOptions{})
		if err == nil || !strings.Contains(err.Error(), `target "a" of this space is already the agent`) {
			t.Errorf("a second target for one agent: %v", err)
		}
	}
	moved := "environments: [{name: Dev}]\ntargets:\n" +
		`  - {name: a, environments: [Dev], roles: [web], thumbprint: "` + fpB + `", polling: true}` + "\n" +
		`  - {name: b, environments: [Dev], roles: [db], thumbprint: "` + fpA + `", polling: true}` + "\n"
	if _, err := apply(env, moved, catalog.ApplyOptions{}); err != nil {
		t.Errorf("handing an agent from one listed target to another: %v", err)
	}
	// Targets are the space administrators' business.
	env.User("dev", false)
	env.Grant("Dev", "dev", "project-contributor", nil, nil)
	_, err = env.Set.Catalog.Apply(env.As("dev"), "Dev", mustParse(t, targetsYAML))
	if err == nil {
		t.Error("a contributor applied targets")
	}
}

func mustParse(t *testing.T, yaml string) *config.Document {
	t.Helper()
	doc, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestApplyHandsAgentsBetweenListedTargets: a file whose targets end up
// one agent each is applied whatever order it lists them in and however
// their agents move between them — two machines swapped, or an agent
// handed to a target listed before the one giving it up. Before, each
// target was written in turn, so a target taking an agent another listed
// target still held met the space's one-target-per-agent rule half way
// ("another target of this space has thumbprint …", nothing applied).
func TestApplyHandsAgentsBetweenListedTargets(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	const fpC = "cc0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	target := func(name, fp string) string {
		return `  - {name: ` + name + `, environments: [Dev], roles: [web], thumbprint: "` + fp + `", polling: true}` + "\n"
	}
	for _, c := range []struct{ name, doc string }{
		{"first", target("a", fpA) + target("b", fpB)},
		{"swapped", target("a", fpB) + target("b", fpA)},
		{"taken before given up", target("a", fpC) + target("b", fpB)},
		{"new target takes a listed one's agent", target("c", fpC) + target("a", fpA) + target("b", fpB)},
		{"taken by the first listed", target("b", fpC) + target("c", fpA) + target("a", fpB)},
	} {
		if _, err := apply(env, "environments: [{name: Dev}]\ntargets:\n"+c.doc, catalog.ApplyOptions{}); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	list, err := env.Set.Targets.List(env.Ctx, "Dev")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tg := range list {
		got[tg.Name] = tg.Thumbprint
	}
	if len(got) != 3 || got["b"] != "CC:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F" || got["c"] != fpA {
		t.Errorf("targets after the applies: %v", got)
	}
}
