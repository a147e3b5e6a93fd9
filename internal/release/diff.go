package release

import (
	"crypto/subtle"
	"slices"
	"strings"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// Kinds of change.
const (
	Added   = "added"
	Removed = "removed"
	Changed = "changed"
	Moved   = "moved" // only the step's place in the process changed
)

// Changes is what differs between two snapshots; unchanged steps, variables
// and templates are left out. Sensitive values are compared in plaintext
// here, on the server, and only the fact that they changed leaves it.
type Changes struct {
	Steps     []StepChange     `json:"steps"`
	Variables []VariableChange `json:"variables"`
	Templates []TemplateChange `json:"templates"`
	Packages  []PackageChange  `json:"packages,omitempty"`
}

// Empty reports whether the snapshots are the same, secrets included.
func (c Changes) Empty() bool {
	return len(c.Steps) == 0 && len(c.Variables) == 0 && len(c.Templates) == 0 && len(c.Packages) == 0
}

// StepChange is one step that was added, removed, changed or moved. Steps
// are matched by name (unique within a process).
type StepChange struct {
	Name   string `json:"name"`
	Change string `json:"change"`
	// OldPosition and NewPosition are 1-based places in each process; 0
	// (left out) on the side where the step does not exist.
	OldPosition int `json:"oldPosition,omitempty"`
	NewPosition int `json:"newPosition,omitempty"`
	// Moved is set when the step's order relative to the other steps of
	// both processes changed (steps merely shifted by an insertion are not
	// moved).
	Moved bool `json:"moved,omitempty"`
	// Step is the whole step when it was added or removed.
	Step *domain.Step `json:"step,omitempty"`
	// Fields lists changed fields other than the script.
	Fields []FieldChange `json:"fields,omitempty"`
	// ScriptDiff is a unified diff of the script (hunks only).
	ScriptDiff string `json:"scriptDiff,omitempty"`
}

// FieldChange is one field's old and new value. Hidden is set, and Old and
// New left out, when the value is a secret.
type FieldChange struct {
	Field  string `json:"field"`
	Old    any    `json:"old,omitempty"`
	New    any    `json:"new,omitempty"`
	Hidden bool   `json:"hidden,omitempty"`
}

// VariableChange is one variable value, identified by name and scope, that
// was added, removed or changed. Values are shown only when they are not
// sensitive on that side; OldSensitive/NewSensitive say which side hides it.
type VariableChange struct {
	Name         string   `json:"name"`
	Environments []string `json:"environments,omitempty"`
	Change       string   `json:"change"`
	OldValue     *string  `json:"oldValue,omitempty"`
	NewValue     *string  `json:"newValue,omitempty"`
	OldSensitive bool     `json:"oldSensitive,omitempty"`
	NewSensitive bool     `json:"newSensitive,omitempty"`
}

// TemplateChange is one variable template that was added, removed or
// changed (matched by name).
type TemplateChange struct {
	Name     string        `json:"name"`
	Change   string        `json:"change"`
	Type     string        `json:"type"`
	Required bool          `json:"required,omitempty"`
	Fields   []FieldChange `json:"fields,omitempty"`
}

// Compare returns what changed from old to new. It is pure: it needs the
// plaintext of sensitive values (as the store returns them) only to tell
// whether they changed.
func Compare(old, new domain.Snapshot) Changes {
	return Changes{
		Steps:     compareSteps(old.Process, new.Process),
		Variables: compareVariableSets(old.Variables, new.Variables),
		Templates: compareTemplates(old.Templates, new.Templates),
		Packages:  comparePackageSets(old.Packages, new.Packages),
	}
}

func compareSteps(old, new []domain.Step) []StepChange {
	oldAt := map[string]int{}
	for i, s := range old {
		oldAt[s.Name] = i
	}
	newAt := map[string]int{}
	for i, s := range new {
		newAt[s.Name] = i
	}
	// Steps on both sides, in each side's order; those outside a longest
	// common subsequence of the two orders are the ones that moved.
	var oldCommon, newCommon []string
	for _, s := range old {
		if _, ok := newAt[s.Name]; ok {
			oldCommon = append(oldCommon, s.Name)
		}
	}
	for _, s := range new {
		if _, ok := oldAt[s.Name]; ok {
			newCommon = append(newCommon, s.Name)
		}
	}
	moved := map[string]bool{}
	for _, e := range editScript(oldCommon, newCommon) {
		if e.kind == '+' {
			moved[e.item] = true
		}
	}

	out := []StepChange{}
	for j, n := range new {
		i, ok := oldAt[n.Name]
		if !ok {
			out = append(out, StepChange{Name: n.Name, Change: Added, NewPosition: j + 1, Step: &n})
			continue
		}
		o := old[i]
		c := StepChange{Name: n.Name, OldPosition: i + 1, NewPosition: j + 1, Moved: moved[n.Name]}
		if o.Type != n.Type {
			c.Fields = append(c.Fields, FieldChange{Field: "type", Old: o.Type, New: n.Type})
		}
		if os, ns := scopeSet(o.Environments), scopeSet(n.Environments); !slices.Equal(os, ns) {
			c.Fields = append(c.Fields, FieldChange{Field: "environments", Old: nonNil(os), New: nonNil(ns)})
		}
		if o.TimeoutSeconds != n.TimeoutSeconds {
			c.Fields = append(c.Fields, FieldChange{Field: "timeoutSeconds", Old: o.TimeoutSeconds, New: n.TimeoutSeconds})
		}
		c.Fields = append(c.Fields, packageStepChanges(o, n)...)
		c.Fields = append(c.Fields, interventionChanges(o, n)...)
		c.ScriptDiff = LineDiff(o.Script, n.Script, 3)
		switch {
		case len(c.Fields) > 0 || c.ScriptDiff != "":
			c.Change = Changed
		case c.Moved:
			c.Change = Moved
		default:
			continue
		}
		out = append(out, c)
	}
	for i, o := range old {
		if _, ok := newAt[o.Name]; !ok {
			out = append(out, StepChange{Name: o.Name, Change: Removed, OldPosition: i + 1, Step: &o})
		}
	}
	return out
}

// compareVariableSets matches variable values by name and scope.
func compareVariableSets(old, new []domain.Variable) []VariableChange {
	key := func(v domain.Variable) string {
		return v.Name + "\x00" + strings.Join(scopeSet(v.Environments), "\x00")
	}
	// Sorted as the canonical form sorts them, so that duplicates (which
	// apply and var set never make) still pair up deterministically.
	old = slices.SortedStableFunc(slices.Values(old), compareVariables)
	new = slices.SortedStableFunc(slices.Values(new), compareVariables)
	pending := map[string][]domain.Variable{}
	for _, v := range old {
		pending[key(v)] = append(pending[key(v)], v)
	}
	out := []VariableChange{}
	for _, n := range new {
		k := key(n)
		c := VariableChange{Name: n.Name, Environments: scopeSet(n.Environments), NewSensitive: n.Sensitive}
		if !n.Sensitive {
			c.NewValue = &n.Value
		}
		olds := pending[k]
		if len(olds) == 0 {
			c.Change = Added
			out = append(out, c)
			continue
		}
		o := olds[0]
		pending[k] = olds[1:]
		if !variableChanged(o, n) {
			continue
		}
		c.Change, c.OldSensitive = Changed, o.Sensitive
		if !o.Sensitive {
			c.OldValue = &o.Value
		}
		out = append(out, c)
	}
	for _, o := range old {
		k := key(o)
		if len(pending[k]) == 0 {
			continue
		}
		o = pending[k][0]
		pending[k] = pending[k][1:]
		c := VariableChange{Name: o.Name, Environments: scopeSet(o.Environments), Change: Removed, OldSensitive: o.Sensitive}
		if !o.Sensitive {
			c.OldValue = &o.Value
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(x, y VariableChange) int {
		return compareVariables(domain.Variable{Name: x.Name, Environments: x.Environments}, domain.Variable{Name: y.Name, Environments: y.Environments})
	})
	return out
}

func variableChanged(o, n domain.Variable) bool {
	if o.Sensitive != n.Sensitive || o.HasValue() != n.HasValue() {
		return true
	}
	if o.Sensitive {
		// Equal lengths are not secret here (the outcome is shown anyway);
		// the compare keeps the content out of timing.
		return subtle.ConstantTimeCompare([]byte(o.Value), []byte(n.Value)) != 1
	}
	return o.Value != n.Value
}

func compareTemplates(old, new []domain.Template) []TemplateChange {
	oldBy := map[string]domain.Template{}
	for _, t := range old {
		oldBy[t.Name] = t
	}
	newBy := map[string]bool{}
	out := []TemplateChange{}
	for _, n := range new {
		newBy[n.Name] = true
		o, ok := oldBy[n.Name]
		if !ok {
			out = append(out, TemplateChange{Name: n.Name, Change: Added, Type: n.Type, Required: n.Required})
			continue
		}
		var fields []FieldChange
		add := func(field string, ov, nv any, changed bool) {
			if changed {
				fields = append(fields, FieldChange{Field: field, Old: ov, New: nv})
			}
		}
		add("label", o.Label, n.Label, o.Label != n.Label)
		add("help", o.Help, n.Help, o.Help != n.Help)
		add("type", o.Type, n.Type, o.Type != n.Type)
		add("required", o.Required, n.Required, o.Required != n.Required)
		if o.Default != n.Default {
			if o.Type == domain.TemplateSensitive || n.Type == domain.TemplateSensitive {
				fields = append(fields, FieldChange{Field: "default", Hidden: true})
			} else {
				fields = append(fields, FieldChange{Field: "default", Old: o.Default, New: n.Default})
			}
		}
		add("options", nonNil(o.Options), nonNil(n.Options), !slices.Equal(o.Options, n.Options))
		if len(fields) > 0 {
			out = append(out, TemplateChange{Name: n.Name, Change: Changed, Type: n.Type, Required: n.Required, Fields: fields})
		}
	}
	for _, o := range old {
		if !newBy[o.Name] {
			out = append(out, TemplateChange{Name: o.Name, Change: Removed, Type: o.Type, Required: o.Required})
		}
	}
	return out
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// interventionChanges lists the manual-intervention fields that differ.
func interventionChanges(o, n domain.Step) []FieldChange {
	var out []FieldChange
	if o.Instructions != n.Instructions {
		out = append(out, FieldChange{Field: "instructions", Old: o.Instructions, New: n.Instructions})
	}
	if ot, nt := scopeSet(o.ResponsibleTeams), scopeSet(n.ResponsibleTeams); !slices.Equal(ot, nt) {
		out = append(out, FieldChange{Field: "responsibleTeams", Old: nonNil(ot), New: nonNil(nt)})
	}
	if o.PreventSelfApproval != n.PreventSelfApproval {
		out = append(out, FieldChange{Field: "preventSelfApproval", Old: o.PreventSelfApproval, New: n.PreventSelfApproval})
	}
	if o.TimeoutMinutes != n.TimeoutMinutes {
		out = append(out, FieldChange{Field: "timeoutMinutes", Old: o.TimeoutMinutes, New: n.TimeoutMinutes})
	}
	return out
}
