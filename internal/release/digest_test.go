package release

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ferrydeploy/ferry/internal/domain"
)

const secret = "hunter2-very-secret"

func sampleSnapshot() domain.Snapshot {
	return domain.Snapshot{
		Process: []domain.Step{
			{Name: "Announce", Type: "script", Script: "echo \"#{Banner}\"\n"},
			{Name: "Prod only", Type: "script", Environments: []string{"Prod Space: Production", "Test"}, Script: "echo live", TimeoutSeconds: 30},
		},
		Variables: []domain.Variable{
			{Name: "Token", Value: secret, Sensitive: true},
			{Name: "Banner", Value: "test", Environments: []string{"Test"}},
			{Name: "Banner", Value: "plain"},
		},
		Templates: []domain.Template{
			{Name: "DbUrl", Type: "sensitive", Required: true, Default: "postgres://secret-default"},
			{Name: "Colour", Type: "select", Options: []string{"red", "blue"}, Default: "red"},
		},
	}
}

func TestCanonicalForm(t *testing.T) {
	want := `{"format":"ferry-snapshot/1",` +
		`"process":[` +
		`{"environments":[],"name":"Announce","script":"echo \"#{Banner}\"\n","timeoutSeconds":0,"type":"script"},` +
		`{"environments":["Prod Space: Production","Test"],"name":"Prod only","script":"echo live","timeoutSeconds":30,"type":"script"}],` +
		`"templates":[` +
		`{"default":"red","help":"","label":"","name":"Colour","options":["red","blue"],"required":false,"type":"select"},` +
		`{"defaultSet":true,"help":"","label":"","name":"DbUrl","options":[],"required":true,"type":"sensitive"}],` +
		`"variables":[` +
		`{"environments":[],"name":"Banner","sensitive":false,"value":"plain"},` +
		`{"environments":["Test"],"name":"Banner","sensitive":false,"value":"test"},` +
		`{"environments":[],"name":"Token","sensitive":true,"set":true}]}`
	got := string(Canonical(sampleSnapshot()))
	if got != want {
		t.Fatalf("canonical form:\n%s\nwant:\n%s", got, want)
	}
	if !json.Valid([]byte(got)) {
		t.Error("canonical form is not valid JSON")
	}
}

func TestCanonicalStrings(t *testing.T) {
	cases := map[string]string{
		"plain":           `"plain"`,
		"q\"b\\":          `"q\"b\\"`,
		"\b\t\n\f\r":      `"\b\t\n\f\r"`,
		"\x00\x1f\x7f":    `"\u0000\u001f` + "\x7f" + `"`,
		"<&> é 日本 \u2028": `"<&> é 日本 ` + "\u2028" + `"`,
		"bad \xff utf8":   `"bad ` + "\uFFFD" + ` utf8"`,
		"emoji 🚢 ferry":   `"emoji 🚢 ferry"`,
	}
	for in, want := range cases {
		var b bytes.Buffer
		writeString(&b, in)
		if b.String() != want {
			t.Errorf("writeString(%q) = %s, want %s", in, b.String(), want)
		}
		var back string
		if err := json.Unmarshal(b.Bytes(), &back); err != nil || (back != in && utf8.ValidString(in)) {
			t.Errorf("writeString(%q) does not decode back: %q, %v", in, back, err)
		}
	}
}

func TestDigest(t *testing.T) {
	snap := sampleSnapshot()
	d := Digest(snap)
	if !strings.HasPrefix(d, "sha256:") || len(d) != len("sha256:")+64 || strings.ToLower(d) != d {
		t.Fatalf("digest %q is not sha256:<64 lowercase hex>", d)
	}

	// What does not matter: the order of variables, templates and scopes, a
	// copy through Freeze, duplicate scope entries, and the secret's value
	// (an imported release has it re-encrypted; only the plaintext matters,
	// and the digest leaves even that out).
	same := sampleSnapshot()
	same.Variables[0], same.Variables[2] = same.Variables[2], same.Variables[0]
	same.Templates[0], same.Templates[1] = same.Templates[1], same.Templates[0]
	same.Process[1].Environments = []string{"Test", "Prod Space: Production", "Test"}
	same = Freeze(domain.Project{Process: same.Process, Variables: same.Variables, Templates: same.Templates})
	if got := Digest(same); got != d {
		t.Errorf("an equivalent snapshot has digest %s, want %s", got, d)
	}

	// What matters: each of these changes the digest.
	changes := map[string]func(*domain.Snapshot){
		"step order":         func(s *domain.Snapshot) { s.Process[0], s.Process[1] = s.Process[1], s.Process[0] },
		"script":             func(s *domain.Snapshot) { s.Process[0].Script += " " },
		"step scope":         func(s *domain.Snapshot) { s.Process[0].Environments = []string{"Test"} },
		"timeout":            func(s *domain.Snapshot) { s.Process[1].TimeoutSeconds = 31 },
		"plain value":        func(s *domain.Snapshot) { s.Variables[2].Value = "plain!" },
		"variable scope":     func(s *domain.Snapshot) { s.Variables[1].Environments = nil },
		"secret made plain":  func(s *domain.Snapshot) { s.Variables[0].Sensitive = false },
		"secret unset":       func(s *domain.Snapshot) { s.Variables[0].Value = "" },
		"new variable":       func(s *domain.Snapshot) { s.Variables = append(s.Variables, domain.Variable{Name: "X"}) },
		"template option":    func(s *domain.Snapshot) { s.Templates[1].Options = []string{"blue", "red"} },
		"template required":  func(s *domain.Snapshot) { s.Templates[0].Required = false },
		"removed template":   func(s *domain.Snapshot) { s.Templates = s.Templates[:1] },
		"value into a field": func(s *domain.Snapshot) { s.Variables[2].Value, s.Variables[2].Name = "Banner", "plain" },
	}
	for name, change := range changes {
		s := sampleSnapshot()
		change(&s)
		if Digest(s) == d {
			t.Errorf("%s: digest unchanged", name)
		}
	}

	// Secret values are not part of the digest: neither in the canonical
	// form nor able to change it.
	if strings.Contains(string(Canonical(snap)), secret) || strings.Contains(string(Canonical(snap)), "secret-default") {
		t.Error("the canonical form contains a secret")
	}
	s := sampleSnapshot()
	s.Variables[0].Value = "another secret"
	s.Templates[0].Default = "another default"
	if Digest(s) != d {
		t.Error("the digest depends on a secret value, so it can be used to guess it")
	}
}

// TestDigestCoversApprovals: who must approve a manual intervention, and
// how, is part of the digest; the order of the teams is not.
func TestDigestCoversApprovals(t *testing.T) {
	step := domain.Step{Name: "Sign-off", Type: domain.StepManualIntervention, Instructions: "Look.",
		ResponsibleTeams: []string{"Board", "Ops"}, PreventSelfApproval: true, TimeoutMinutes: 60}
	base := Digest(domain.Snapshot{Process: []domain.Step{step}})
	for name, change := range map[string]func(*domain.Step){
		"instructions": func(s *domain.Step) { s.Instructions = "Look away." },
		"teams":        func(s *domain.Step) { s.ResponsibleTeams = []string{"Board"} },
		"four eyes":    func(s *domain.Step) { s.PreventSelfApproval = false },
		"timeout":      func(s *domain.Step) { s.TimeoutMinutes = 0 },
		"scope":        func(s *domain.Step) { s.Environments = []string{"Prod"} },
	} {
		changed := step
		changed.ResponsibleTeams = append([]string(nil), step.ResponsibleTeams...)
		change(&changed)
		if Digest(domain.Snapshot{Process: []domain.Step{changed}}) == base {
			t.Errorf("changing the %s leaves the digest as it was", name)
		}
	}
	swapped := step
	swapped.ResponsibleTeams = []string{"Ops", "Board"}
	if Digest(domain.Snapshot{Process: []domain.Step{swapped}}) != base {
		t.Error("the order of responsible teams changes the digest")
	}
	withPackages := domain.Snapshot{Process: []domain.Step{step, {Name: "Install", Type: domain.StepDeployPackage, Package: "web", Destination: "/srv"}},
		Packages: []domain.PackageRef{{ID: "web", Version: "1.0", SHA256: "ab", Size: 1}}}
	if !strings.Contains(string(Canonical(withPackages)), `"preventSelfApproval":true`) {
		t.Errorf("the package form leaves the intervention out: %s", Canonical(withPackages))
	}
}

// TestDigestCoversTenantScopes: a step's tenant scope decides which
// deployments run it, so it is part of the digest in every form a step
// takes — a space relaying a release cannot scope a manual intervention to
// a tenant nobody deploys to (skipping it), or unscope a tenant's step.
func TestDigestCoversTenantScopes(t *testing.T) {
	pkgs := []domain.PackageRef{{ID: "web", Version: "1.0", SHA256: "ab", Size: 1}}
	for name, snap := range map[string]domain.Snapshot{
		"script":              {Process: []domain.Step{{Name: "Run", Type: domain.StepScript, Script: "echo"}}},
		"script, packages":    {Process: []domain.Step{{Name: "Run", Type: domain.StepScript, Script: "echo"}}, Packages: pkgs},
		"deploy-package":      {Process: []domain.Step{{Name: "Install", Type: domain.StepDeployPackage, Package: "web", Destination: "/srv"}}, Packages: pkgs},
		"manual-intervention": {Process: []domain.Step{{Name: "Sign-off", Type: domain.StepManualIntervention, Instructions: "Look.", PreventSelfApproval: true}}},
		"manual-intervention, packages": {Process: []domain.Step{{Name: "Sign-off", Type: domain.StepManualIntervention, Instructions: "Look."},
			{Name: "Install", Type: domain.StepDeployPackage, Package: "web", Destination: "/srv"}}, Packages: pkgs},
	} {
		base := Digest(snap)
		for scope, change := range map[string]func(*domain.Step){
			"tenants":    func(s *domain.Step) { s.Tenants = []string{"Nobody"} },
			"tenantTags": func(s *domain.Step) { s.TenantTags = []string{"Tier/None"} },
		} {
			changed := snap
			changed.Process = append([]domain.Step(nil), snap.Process...)
			change(&changed.Process[0])
			if Digest(changed) == base {
				t.Errorf("%s: scoping the step by %s leaves the digest as it was: %s", name, scope, Canonical(changed))
			}
		}
	}
}
