package release

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
)

func TestCompareIdentical(t *testing.T) {
	c := Compare(sampleSnapshot(), sampleSnapshot())
	if !c.Empty() {
		t.Fatalf("identical snapshots differ: %+v", c)
	}
	out, _ := json.Marshal(c)
	if string(out) != `{"steps":[],"variables":[],"templates":[]}` {
		t.Errorf("empty changes encode as %s", out)
	}
}

func TestCompare(t *testing.T) {
	old := domain.Snapshot{
		Process: []domain.Step{
			{Name: "A", Type: "script", Script: "echo a\n"},
			{Name: "B", Type: "script", Script: "echo b\n"},
			{Name: "C", Type: "script", Script: "echo c\n"},
			{Name: "Gone", Type: "script", Script: "echo gone\n"},
			{Name: "D", Type: "script", Script: "echo d\n"},
		},
		Variables: []domain.Variable{
			{Name: "Same", Value: "s"},
			{Name: "Banner", Value: "old-banner"},
			{Name: "Banner", Value: "test", Environments: []string{"Test"}},
			{Name: "Token", Value: "old-secret", Sensitive: true},
			{Name: "Key", Value: "same-secret", Sensitive: true},
			{Name: "Dropped", Value: "bye"},
			{Name: "DroppedSecret", Value: "dropped-secret", Sensitive: true},
			{Name: "Exposed", Value: "was-plain"},
		},
		Templates: []domain.Template{
			{Name: "Url", Type: "text", Label: "URL"},
			{Name: "Pw", Type: "sensitive", Default: "old-default"},
			{Name: "Old", Type: "bool"},
		},
	}
	new := domain.Snapshot{
		Process: []domain.Step{
			{Name: "C", Type: "script", Script: "echo c\n"}, // moved to the front
			{Name: "A", Type: "script", Script: "echo a\n"}, // shifted, not moved
			{Name: "New", Type: "script", Script: "echo new\n"},
			{Name: "B", Type: "script", Script: "echo B\n", Environments: []string{"Test"}},
			{Name: "D", Type: "script", Script: "echo d\n"},
		},
		Variables: []domain.Variable{
			{Name: "Same", Value: "s"},
			{Name: "Banner", Value: "new-banner"},
			{Name: "Banner", Value: "test", Environments: []string{"Test"}},
			{Name: "Banner", Value: "prod", Environments: []string{"Production"}},
			{Name: "Token", Value: "new-secret", Sensitive: true},
			{Name: "Key", Value: "same-secret", Sensitive: true},
			{Name: "Added", Value: "added-secret", Sensitive: true},
			{Name: "Exposed", Value: "now-secret", Sensitive: true},
		},
		Templates: []domain.Template{
			{Name: "Url", Type: "text", Label: "Database URL", Required: true},
			{Name: "Pw", Type: "sensitive", Default: "new-default"},
			{Name: "Fresh", Type: "text"},
		},
	}
	c := Compare(old, new)

	type step struct {
		name, change string
		moved        bool
	}
	var steps []step
	for _, s := range c.Steps {
		steps = append(steps, step{s.Name, s.Change, s.Moved})
	}
	wantSteps := []step{{"C", Moved, true}, {"New", Added, false}, {"B", Changed, false}, {"Gone", Removed, false}}
	if len(steps) != len(wantSteps) {
		t.Fatalf("steps: %+v, want %+v", steps, wantSteps)
	}
	for i := range steps {
		if steps[i] != wantSteps[i] {
			t.Errorf("step %d: %+v, want %+v", i, steps[i], wantSteps[i])
		}
	}
	b := c.Steps[2]
	if b.ScriptDiff != "@@ -1 +1 @@\n-echo b\n+echo B\n" || len(b.Fields) != 1 || b.Fields[0].Field != "environments" {
		t.Errorf("step B: %+v", b)
	}
	if c.Steps[0].OldPosition != 3 || c.Steps[0].NewPosition != 1 {
		t.Errorf("moved step C: positions %d → %d", c.Steps[0].OldPosition, c.Steps[0].NewPosition)
	}

	var vars []string
	for _, v := range c.Variables {
		vars = append(vars, v.Name+"["+strings.Join(v.Environments, ",")+"] "+v.Change)
	}
	wantVars := "Added[] added|Banner[] changed|Banner[Production] added|Dropped[] removed|DroppedSecret[] removed|Exposed[] changed|Token[] changed"
	if got := strings.Join(vars, "|"); got != wantVars {
		t.Errorf("variables:\n%s\nwant\n%s", got, wantVars)
	}
	banner := c.Variables[1]
	if *banner.OldValue != "old-banner" || *banner.NewValue != "new-banner" {
		t.Errorf("Banner: %+v", banner)
	}
	exposed := c.Variables[5]
	if exposed.OldValue == nil || *exposed.OldValue != "was-plain" || exposed.NewValue != nil || !exposed.NewSensitive {
		t.Errorf("Exposed (plain → sensitive): %+v", exposed)
	}

	var tmpls []string
	for _, tm := range c.Templates {
		tmpls = append(tmpls, tm.Name+" "+tm.Change)
	}
	if got := strings.Join(tmpls, "|"); got != "Url changed|Pw changed|Fresh added|Old removed" {
		t.Errorf("templates: %s", got)
	}
	if f := c.Templates[1].Fields; len(f) != 1 || !f[0].Hidden || f[0].Old != nil || f[0].New != nil {
		t.Errorf("sensitive template default: %+v", f)
	}

	// No secret leaves Compare.
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"old-secret", "new-secret", "same-secret", "added-secret", "dropped-secret", "now-secret", "old-default", "new-default"} {
		if strings.Contains(string(out), s) {
			t.Errorf("the changes contain secret %q:\n%s", s, out)
		}
	}
}
