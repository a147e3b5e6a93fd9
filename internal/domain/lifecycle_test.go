package domain

import (
	"slices"
	"testing"
)

// TestBlocker is Octopus's phase rules: every environment of a phase by
// default, a minimum when set, optional phases never block.
func TestBlocker(t *testing.T) {
	lc := Lifecycle{Name: "Main", Phases: []Phase{
		{Name: "Dev", Environments: []string{"Dev A", "Dev B"}},
		{Name: "Test", Environments: []string{"Test", "QA", "UAT"}, MinimumEnvironmentsBeforePromotion: 2},
		{Name: "Staging", Environments: []string{"Staging"}, Optional: true},
		{Name: "Prod", Environments: []string{"Production"}},
	}}
	cases := []struct {
		done    []string
		idx     int
		blocker string
	}{
		{nil, 0, ""},
		{nil, 1, "Dev"},
		{[]string{"Dev A"}, 1, "Dev"},
		{[]string{"Dev A", "Dev B"}, 1, ""},
		{[]string{"Dev A", "Dev B", "Test"}, 2, "Test"},
		{[]string{"Dev A", "Dev B", "Test", "UAT"}, 2, ""},
		{[]string{"Dev A", "Dev B", "Test", "UAT"}, 3, ""}, // Staging is optional
		{[]string{"Dev A", "Test", "UAT"}, 3, "Dev"},
		{[]string{"Dev A", "Dev B", "QA", "UAT", "Staging"}, 3, ""},
	}
	for _, c := range cases {
		ph, blocked := lc.Blocker(c.idx, func(e string) bool { return slices.Contains(c.done, e) })
		if blocked != (c.blocker != "") || ph.Name != c.blocker {
			t.Errorf("done %v, phase %d: blocker %q (%v), want %q", c.done, c.idx, ph.Name, blocked, c.blocker)
		}
	}
}

func TestPhaseValidation(t *testing.T) {
	for _, n := range []int{-1, 3} {
		lc := Lifecycle{Name: "Main", Phases: []Phase{{Name: "Dev", Environments: []string{"A", "B"}, MinimumEnvironmentsBeforePromotion: n}}}
		if err := lc.Validate(); err == nil {
			t.Errorf("minimum %d of 2 environments was accepted", n)
		}
	}
	if got := (Phase{Environments: []string{"A", "B"}, MinimumEnvironmentsBeforePromotion: 2}).Required(); got != 2 {
		t.Errorf("Required = %d", got)
	}
}
