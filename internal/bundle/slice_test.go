package bundle

import (
	"slices"
	"testing"
)

// TestSlicerScope checks how promotion to "Prod Space" rewrites a scope
// written in the source space, whose environments are Development and Test
// (local), "Prod Space: Production" and "Prod Space: DR" (the target's), and
// "Audit Space: Live" (another remote space's).
//
// Local names cannot contain ':' (domain.ValidateName), so a local
// environment can never be mistaken for a remote one by its name.
func TestSlicerScope(t *testing.T) {
	sl := newSlicer("Prod Space")
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
		// The release may travel on from the target to another space, so
		// scopes naming other spaces' environments travel with it.
		{"another remote space's environment travels on", []string{"Audit Space: Live"}, []string{"Audit Space: Live"}, true},
		{"mixed with another remote space", []string{"Test", "Audit Space: Live", "Prod Space: DR"}, []string{"Audit Space: Live", "DR"}, true},
		// Prefix edge cases: a space whose name starts with the target's
		// name, or that the target's name starts with, is another space.
		{"space named with the target's name as prefix", []string{"Prod Space West: Production"}, []string{"Prod Space West: Production"}, true},
		{"space whose name is a prefix of the target's", []string{"Prod: Production"}, []string{"Prod: Production"}, true},
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
}

// TestSlicerTargetsDiffer checks the same scope sliced for two targets: each
// gets its own environments under its own names.
func TestSlicerTargetsDiffer(t *testing.T) {
	scope := []string{"Development", "Prod Space: Production", "Audit Space: Live"}
	for target, want := range map[string][]string{
		"Prod Space":  {"Production", "Audit Space: Live"},
		"Audit Space": {"Prod Space: Production", "Live"},
	} {
		if got, ok := newSlicer(target).scope(scope); !ok || !slices.Equal(got, want) {
			t.Errorf("for %q: scope(%q) = %q, %v; want %q", target, scope, got, ok, want)
		}
	}
}
