package bundle

import (
	"slices"
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// The source space's view in these tests: it calls the target "Prod Space"
// (fingerprint PROD), a space after Prod in its lifecycle "DR Space" (DR),
// and a third space that is not on the release's path "Audit Space"
// (AUDIT). Its own environments are Development and Test.
var testNames = map[string]string{"Prod Space": "PROD", "DR Space": "DR", "Audit Space": "AUDIT"}

// TestSlicerScope checks how promotion to Prod rewrites a scope: Prod's
// environments get Prod's own names, DR's travel on (the release may go
// there from Prod), and the rest — the source's own environments, Audit's,
// names nobody knows — stays behind (issue 14 item 4: Audit's values
// travelled before, and Prod could read them).
//
// Local names cannot contain ':' (domain.ValidateName), so a local
// environment can never be mistaken for a remote one by its name.
func TestSlicerScope(t *testing.T) {
	sl := newSlicer("PROD", map[string]bool{"DR": true}, testNames)
	tests := []struct {
		name  string
		scope []string
		want  []string
		keep  bool
	}{
		{"unscoped applies everywhere", nil, nil, true},
		{"empty scope is unscoped", []string{}, nil, true},
		{"target environment renamed", []string{"Prod Space: Production"}, []string{"Production"}, true},
		{"all target environments renamed, in order", []string{"Prod Space: DR", "Prod Space: Production"}, []string{"DR", "Production"}, true},
		{"only local environments: left behind", []string{"Development", "Test"}, nil, false},
		{"mixed: only the target's kept", []string{"Development", "Prod Space: Production", "Test"}, []string{"Production"}, true},
		{"a downstream space's environment travels on", []string{"DR Space: Recovery"}, []string{"DR Space: Recovery"}, true},
		{"mixed with a downstream space", []string{"Test", "DR Space: Recovery", "Prod Space: DR"}, []string{"DR Space: Recovery", "DR"}, true},
		{"a third space's environment stays behind", []string{"Audit Space: Live"}, nil, false},
		{"a third space's entry is dropped from a mixed scope", []string{"Audit Space: Live", "Prod Space: Production"}, []string{"Production"}, true},
		{"an unknown space's environment stays behind", []string{"Nowhere: Live"}, nil, false},
		// Prefix edge cases: a space whose name starts with the target's
		// name, or that the target's name starts with, is another space.
		{"space named with the target's name as prefix", []string{"Prod Space West: Production"}, nil, false},
		{"space whose name is a prefix of the target's", []string{"Prod: Production"}, nil, false},
		{"target name without the separator's space", []string{"Prod Space:Production"}, nil, false},
		{"target name alone", []string{"Prod Space"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.scope)
			got, keep := sl.scope(tt.scope)
			if keep != tt.keep || !slices.Equal(got, tt.want) {
				t.Errorf("scope(%q) = %q, %v; want %q, %v", tt.scope, got, keep, tt.want, tt.keep)
			}
			if !slices.Equal(in, tt.scope) {
				t.Errorf("scope(%q) changed its argument to %q", in, tt.scope)
			}
		})
	}
	if table := sl.table(); len(table) != 1 || table[0] != (SpaceRef{Space: "DR Space", Fingerprint: "DR"}) {
		t.Errorf("table of downstream spaces named: %+v", table)
	}
}

// TestSlicerTargetsDiffer checks the same scope sliced for two targets: each
// gets its own environments under its own names.
func TestSlicerTargetsDiffer(t *testing.T) {
	scope := []string{"Development", "Prod Space: Production", "DR Space: Recovery"}
	for target, want := range map[string][]string{
		"PROD": {"Production", "DR Space: Recovery"},
		"DR":   {"Recovery"},
	} {
		sl := newSlicer(target, map[string]bool{"DR": target == "PROD"}, testNames)
		if got, ok := sl.scope(scope); !ok || !slices.Equal(got, want) {
			t.Errorf("for %q: scope(%q) = %q, %v; want %q", target, scope, got, ok, want)
		}
	}
}

// TestSlicerNamesByFingerprint: a relayed release names spaces as its
// origin did; the table it came with says which space each name means,
// whatever this space calls them.
func TestSlicerNamesByFingerprint(t *testing.T) {
	// This space calls DR "Disaster"; the snapshot's table says the
	// origin's "DR Space" is DR, and its "Prod Space" is PROD.
	names := map[string]string{"Disaster": "DR", "Production Site": "PROD", "Prod Space": "PROD", "DR Space": "DR"}
	sl := newSlicer("PROD", map[string]bool{"DR": true}, names)
	got, ok := sl.scope([]string{"Prod Space: Production", "DR Space: Recovery"})
	if !ok || !slices.Equal(got, []string{"Production", "DR Space: Recovery"}) {
		t.Errorf("scope = %q, %v", got, ok)
	}
}

func TestDownstreamOf(t *testing.T) {
	lc := domain.Lifecycle{Phases: []domain.Phase{
		{Name: "Dev", Environments: []string{"Development"}},
		{Name: "QA", Environments: []string{"QA Space: Verify"}},
		{Name: "Prod", Environments: []string{"Prod Space: Production", "Audit Space: Live"}},
		{Name: "DR", Environments: []string{"DR Space"}},
	}}
	remoteOf := map[string]string{"QA Space: Verify": "QA Space", "Prod Space: Production": "Prod Space", "Audit Space: Live": "Audit Space"}
	fp := map[string]string{"QA Space": "QA", "Prod Space": "PROD", "Audit Space": "AUDIT", "DR Space": "DR"}
	get := func(n string) string { return fp[n] }
	for target, want := range map[string][]string{
		"QA Space":   {"AUDIT", "DR", "PROD"},
		"Prod Space": {"DR"},
		"DR Space":   {},
	} {
		var got []string
		for k := range downstreamOf(lc, target, remoteOf, get) {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("after %s: %v; want %v", target, got, want)
		}
	}
}
